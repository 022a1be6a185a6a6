"""Targets, budgets and warnings through the API: targets CRUD, budget allocation read back (enterprise
users: own row), thresholds, webhook secrets never returned, warning check stored and listed,
foreign ids → 404, problem+json on bad input."""

from __future__ import annotations

from typing import Any

import pytest

from parkcarbon.periods import Month
from parkcarbon.services import targets_store as ts
from parkcarbon.services.targets import ParkSeries
from parkcarbon.services.tenancy import system_scope


def _history(enterprises: list[str]) -> ParkSeries:
    """Synthetic 2021–2023 history (energy [tce]) for the allocation basis."""
    series: dict[str, Any] = {}
    for i, e in enumerate(sorted(enterprises)):
        series[e] = {"energy_tce": {Month(y, k): 10.0 * (i + 1) for y in (2021, 2022, 2023) for k in range(1, 13)}}
    return ParkSeries("park", series)


def test_targets_crud_and_webhooks(api) -> None:  # type: ignore[no-untyped-def]
    w = api.world
    pa = w.parks["A"]
    body = {"indicator": "emissions_total_tco2", "base_year": 2023, "source": "园区碳达峰方案 §3",
            "milestones": [{"year": 2025, "reduction_frac": 0.05}, {"year": 2030, "value": 800.0}]}
    r = api.post(f"/api/v1/parks/{pa}/targets", "admin_a", json=body)
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["indicator"] == "emissions_total_tco2" and t["milestones"][0]["reduction_frac"] == 0.05
    listed = api.get(f"/api/v1/parks/{pa}/targets", "province").json()
    assert t["id"] in {x["id"] for x in listed}
    bad = api.post(f"/api/v1/parks/{pa}/targets", "admin_a", json={**body, "indicator": "nope"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert api.post(f"/api/v1/parks/{pa}/targets", "admin_a", json={**body, "tenant_id": "x"}).status_code == 422
    assert api.delete(f"/api/v1/parks/{w.parks['B']}/targets/{t['id']}", "root").status_code == 404
    assert api.delete(f"/api/v1/parks/{pa}/targets/{t['id']}", "admin_a").status_code == 204
    # webhooks: the secret is write-only
    secret = "a-very-secret-shared-key"
    h = api.post(f"/api/v1/parks/{pa}/webhooks", "admin_a", json={"url": "https://example.org/hook", "secret": secret,
                                                                 "min_grade": "orange"})
    assert h.status_code == 201 and secret not in h.text and h.json()["min_grade"] == "orange"
    hooks = api.get(f"/api/v1/parks/{pa}/webhooks", "admin_a")
    assert secret not in hooks.text and h.json()["id"] in {x["id"] for x in hooks.json()}
    assert api.post(f"/api/v1/parks/{pa}/webhooks", "admin_a",
                    json={"url": "ftp://x.org/h", "secret": secret}).status_code == 422
    th = api.client.put(f"/api/v1/parks/{pa}/warning-thresholds", headers=api.h("admin_a"),
                        json={"yellow_frac": 0.97, "orange_frac": 0.9, "red_frac": 1.0, "source": "x"})
    assert th.status_code == 422  # yellow > orange


def test_budget_and_warning_check_through_the_api(api) -> None:  # type: ignore[no-untyped-def]
    w = api.world
    pa = w.parks["A"]
    a1, a2 = w.enterprises["A1"], w.enterprises["A2"]
    # no budget yet: the check is refused with a clear code
    r = api.post(f"/api/v1/parks/{pa}/warnings/check", "admin_a", json={"as_of": "2024-03"})
    assert r.status_code == 422 and r.json()["code"] == "E-BUDGET-MISSING"
    ts.set_budget(api.store, system_scope(), pa, 2024, 90.0, actor="seed", series=_history([a1, a2]))
    full = api.get(f"/api/v1/parks/{pa}/budgets", "admin_a").json()
    assert [b["year"] for b in full] == [2024] and full[0]["park_budget_qty"] == 90.0
    shares = {x["enterprise_id"]: x["budget_qty"] for x in full[0]["allocations"]}
    assert shares == pytest.approx({a1 if a1 < a2 else a2: 30.0, a2 if a1 < a2 else a1: 60.0})
    own = api.get(f"/api/v1/parks/{pa}/budgets", "manager_a1").json()
    assert [x["enterprise_id"] for x in own[0]["allocations"]] == [a1]
    assert api.get(f"/api/v1/enterprises/{a1}/budgets", "viewer_a1").json()[0]["allocations"][0]["budget_qty"] == \
        pytest.approx(shares[a1])
    assert api.get(f"/api/v1/enterprises/{a2}/budgets", "manager_a1").status_code == 404
    assert api.get(f"/api/v1/parks/{w.parks['B']}/budgets", "manager_a1").status_code == 404
    chk = api.post(f"/api/v1/parks/{pa}/warnings/check", "admin_a", json={"as_of": "2024-03"})
    assert chk.status_code == 200, chk.text
    out = chk.json()
    assert {e["enterprise_id"] for e in out["events"]} == {a1, a2} and sum(out["counts"].values()) == 2
    for e in out["events"]:
        assert e["ratio_frac"] == pytest.approx(e["forecast_qty"] / e["budget_qty"])
    listed = api.get(f"/api/v1/parks/{pa}/warnings", "admin_a").json()
    assert {(e["enterprise_id"], e["grade"], e["forecast_qty"]) for e in listed} == {
        (e["enterprise_id"], e["grade"], e["forecast_qty"]) for e in out["events"]}
    mine = api.get(f"/api/v1/enterprises/{a1}/warnings", "viewer_a1").json()
    assert [e["enterprise_id"] for e in mine] == [a1]
    assert [e["enterprise_id"] for e in api.get(f"/api/v1/parks/{pa}/warnings", "manager_a1").json()] == [a1]
    # park-level audit records carry the park tenant ``park:<id>`` (read by the platform administrator)
    audit = api.get("/api/v1/audit", "root").json()
    assert any(x["action"] == "warning.check" and x["object_id"] == pa for x in audit)
