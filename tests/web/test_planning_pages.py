"""Planning pages: run a plan from the form (CSRF, uploaded load), the page shows the API's numbers,
infeasible plans show their explanation, roles (province reads park plans; foreign → 404)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from webdemo import ENTERPRISE, OTHER_ENTERPRISE, PARK_ID, login


def _as(web_app, role: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(web_app)
    login(c, role)
    return c


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert m
    return m.group(1)


def load_csv(hours: int = 48) -> bytes:
    t0 = datetime(2025, 6, 2)
    rows = [f"{(t0 + timedelta(hours=i)).strftime('%Y-%m-%dT%H:%M:%S+08:00')},{500 + 40 * (i % 24):.1f}"
            for i in range(hours)]
    return ("timestamp,load_kw\n" + "\n".join(rows) + "\n").encode()


FORM = {"kind": "dispatch", "label": "储能试算", "latitude_deg": "31.2", "longitude_deg": "121.5", "tilt_deg": "20",
        "capacity_kwp": "300", "battery_energy_kwh": "400", "battery_power_kw": "200", "objective": "cost"}


def test_run_from_the_form_and_numbers_equal_the_api(web_app) -> None:  # type: ignore[no-untyped-def]
    c = _as(web_app, "enterprise_manager")
    ent_page = c.get(f"/web/enterprises/{ENTERPRISE}")
    assert f'href="/web/enterprises/{ENTERPRISE}/plans"' in ent_page.text
    page = c.get(f"/web/enterprises/{ENTERPRISE}/plans")
    assert page.status_code == 200 and 'data-testid="plan-form"' in page.text
    # without the CSRF token: refused
    r = c.post(f"/web/enterprises/{ENTERPRISE}/plans", data={**FORM, "csrf_token": "x"},
               files={"load_file": ("load.csv", load_csv(), "text/csv")}, follow_redirects=False)
    assert r.status_code == 403
    r = c.post(f"/web/enterprises/{ENTERPRISE}/plans", data={**FORM, "csrf_token": _csrf(page.text)},
               files={"load_file": ("load.csv", load_csv(), "text/csv")}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    plan_id = r.headers["location"].split("plan=")[1]
    html = c.get(r.headers["location"]).text
    api = c.get(f"/api/v1/plans/{plan_id}").json()
    shown = dict(re.findall(r'data-testid="kpi-([a-z0-9_]+)" data-value="([^"]+)"', html))
    assert {"cost_total_cny", "emissions_location_tco2", "self_consumption_frac",
            "clean_electricity_share_frac"} <= set(shown)
    for key, text in shown.items():
        want = api["kpis"][key]
        assert (text == "null") if want is None else float(text) == want, key
    assert 'data-plan-chart="power"' in html and 'data-plan-chart="soc"' in html and 'id="plan-data"' in html
    assert "储能试算" in html
    # a read-only role sees the plan but no form; another enterprise's manager gets 404
    v = _as(web_app, "verifier")
    vpage = v.get(f"/web/enterprises/{ENTERPRISE}/plans?plan={plan_id}")
    assert vpage.status_code == 200 and plan_id in vpage.text and 'data-testid="plan-form"' not in vpage.text
    assert _as(web_app, "other_manager").get(f"/web/enterprises/{ENTERPRISE}/plans").status_code == 404
    assert _as(web_app, "other_manager").get(
        f"/web/enterprises/{OTHER_ENTERPRISE}/plans?plan={plan_id}").status_code in (404, 422)


def test_infeasible_plan_shows_the_explanation(web_app) -> None:  # type: ignore[no-untyped-def]
    c = _as(web_app, "enterprise_manager")
    page = c.get(f"/web/enterprises/{ENTERPRISE}/plans")
    r = c.post(f"/web/enterprises/{ENTERPRISE}/plans",
               data={"kind": "dispatch", "import_limit_kw": "50", "csrf_token": _csrf(page.text)},
               files={"load_file": ("load.csv", load_csv(24), "text/csv")}, follow_redirects=False)
    assert r.status_code == 422
    assert 'data-testid="plan-error"' in r.text and "E-PLAN-INFEASIBLE" in r.text
    assert 'data-testid="plan-explanation"' in r.text and 'value="50"' in r.text  # the form keeps its values


def test_park_plans_for_admin_and_province(web_app) -> None:  # type: ignore[no-untyped-def]
    admin = _as(web_app, "park_admin")
    assert f'href="/web/parks/{PARK_ID}/plans"' in admin.get(f"/web/parks/{PARK_ID}").text
    page = admin.get(f"/web/parks/{PARK_ID}/plans")
    assert page.status_code == 200 and 'data-testid="plan-form"' in page.text
    r = admin.post(f"/web/parks/{PARK_ID}/plans",
                   data={"kind": "pv", "year": "2025", "latitude_deg": "31.2", "longitude_deg": "121.5",
                         "tilt_deg": "20", "capacity_kwp": "5000", "csrf_token": _csrf(page.text)},
                   follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    prov = _as(web_app, "provincial_operator")
    html = prov.get(r.headers["location"]).text
    assert 'data-testid="kpi-pv_energy_kwh"' in html and 'data-testid="plan-form"' not in html
    assert _as(web_app, "enterprise_manager").get(f"/web/parks/{PARK_ID}/plans").status_code == 404
