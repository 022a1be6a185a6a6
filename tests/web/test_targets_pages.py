"""Targets & warnings pages: set the budget and run the check from the forms (CSRF), the page shows the
API's numbers, the park overview uses the stored budget, roles (enterprise: own panel only; province:
park figures, no forms; foreign → 404)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from webdemo import ENTERPRISE, OTHER_ENTERPRISE, PARK_ID, login

BASE = f"/web/parks/{PARK_ID}/targets"


def _as(web_app, role: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(web_app)
    login(c, role)
    return c


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert m
    return m.group(1)


def _overview_budgets(html: str) -> dict[str, float]:
    """Enterprise → budget [tce] of the park overview's budget table."""
    rows = re.findall(r'\?year=2025">(E\d+) [^<]*</a></td><td class="num">([\d,.]+)</td><td class="num">', html)
    assert rows, "the park overview shows a budget table"
    return {e: float(v.replace(",", "")) for e, v in rows}


def test_budget_and_check_from_the_forms_equal_the_api(web_app) -> None:  # type: ignore[no-untyped-def]
    c = _as(web_app, "park_admin")
    park = c.get(f"/web/parks/{PARK_ID}?year=2025")
    assert f'href="{BASE}"' in park.text
    before = _overview_budgets(park.text)  # from mount_web's in-memory budget (280 000 tce)
    page = c.get(BASE)
    assert page.status_code == 200 and 'data-testid="no-budget"' in page.text and 'data-testid="budget-form"' in page.text
    token = _csrf(page.text)
    assert c.post(f"{BASE}/budget", data={"csrf_token": "x", "year": "2025", "park_budget_tce": "140000"},
                  follow_redirects=False).status_code == 403
    r = c.post(f"{BASE}/budget", data={"csrf_token": token, "year": "2025", "park_budget_tce": "140000",
                                       "method": "history", "reserve_frac": "0"}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    # the park overview now reads the stored budget (half of the in-memory one)
    after = _overview_budgets(c.get(f"/web/parks/{PARK_ID}?year=2025").text)
    common = set(before) & set(after)
    assert common and all(after[e] == pytest.approx(before[e] / 2, rel=2e-3) for e in common)
    bad = c.post(f"{BASE}/check", data={"csrf_token": token, "as_of": "2025-13"}, follow_redirects=False)
    assert bad.status_code == 422 and 'data-testid="targets-error"' in bad.text
    r = c.post(f"{BASE}/check", data={"csrf_token": token, "as_of": "2025-04"}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    html = c.get(r.headers["location"]).text
    api_budget = c.get(f"/api/v1/parks/{PARK_ID}/budgets", params={"year": 2025}).json()[0]
    shown = re.search(r'data-testid="park-budget" data-value="([^"]+)"', html)
    assert shown and float(shown.group(1)) == api_budget["park_budget_qty"] == 140000.0
    for a in api_budget["allocations"][:5]:
        m = re.search(rf'data-testid="alloc-{a["enterprise_id"]}"><td>[^<]*</td><td class="num" data-value="([^"]+)"',
                      html)
        assert m and float(m.group(1)) == a["budget_qty"]
    events = c.get(f"/api/v1/parks/{PARK_ID}/warnings", params={"year": 2025}).json()
    assert events and {e["as_of"] for e in events} == {"2025-04"}
    for e in events:
        row = re.search(rf'data-testid="warning-{e["enterprise_id"]}">(.*?)</tr>', html, re.S)
        assert row, e["enterprise_id"]
        assert f'data-testid="grade-{e["enterprise_id"]}"' in row.group(1) and f'badge {e["grade"]}' in row.group(1)
        assert f'data-field="forecast" data-value="{e["forecast_qty"]}"' in row.group(1)
        assert f'data-field="ratio" data-value="{e["ratio_frac"]}"' in row.group(1)
    counts = {g: sum(e["grade"] == g for e in events) for g in ("green", "yellow", "orange", "red")}
    for g, n in counts.items():
        assert f'data-testid="count-{g}" data-value="{n}"' in html
    # the enterprise manager: own panel equal to the API, nothing else
    m = _as(web_app, "enterprise_manager")
    own = m.get(f"/web/enterprises/{ENTERPRISE}/targets")
    assert own.status_code == 200
    mine = m.get(f"/api/v1/enterprises/{ENTERPRISE}/warnings").json()
    assert [e["enterprise_id"] for e in mine] == [ENTERPRISE]
    assert f'data-value="{mine[0]["forecast_qty"]}"' in own.text and f'badge {mine[0]["grade"]}' in own.text
    alloc = m.get(f"/api/v1/enterprises/{ENTERPRISE}/budgets").json()[0]["allocations"][0]
    assert f'data-value="{alloc["budget_qty"]}"' in own.text
    assert f'href="/web/enterprises/{ENTERPRISE}/targets"' in m.get(f"/web/enterprises/{ENTERPRISE}").text
    assert m.get(BASE).status_code == 404
    assert m.get(f"/web/enterprises/{OTHER_ENTERPRISE}/targets").status_code == 404
    # the province: park figures, no enterprise rows, no forms
    p = _as(web_app, "provincial_operator").get(BASE)
    assert p.status_code == 200 and 'data-testid="park-budget"' in p.text
    assert 'data-testid="budget-form"' not in p.text and 'data-testid="alloc-' not in p.text
    assert 'data-testid="warning-' not in p.text
