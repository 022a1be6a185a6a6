"""Planning through the API: run → stored → listed → read (JSON + CSV schedule), infeasible → 422 with
the explanation, oversized → 422 E-PLAN-SIZE, foreign → 404, unknown fields → 422, audit record."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest


def _csv(hours: int = 48, kw: float = 300.0) -> str:
    t0 = datetime(2024, 4, 1)
    rows = [f"{(t0 + timedelta(hours=i)).strftime('%Y-%m-%dT%H:%M:%S+08:00')},{kw + (i % 24) * 5:.1f}"
            for i in range(hours)]
    return "timestamp,load_kw\n" + "\n".join(rows) + "\n"


PV = {"latitude_deg": 32.0, "longitude_deg": 118.8, "tilt_deg": 25.0, "capacity_kwp": 150.0}


def test_dispatch_plan_round_trip(api) -> None:  # type: ignore[no-untyped-def]
    w = api.world
    eid = w.enterprises["A1"]
    body = {"label": "储能方案", "load_csv": _csv(), "pv": PV, "battery": {"energy_kwh": 200, "power_kw": 100}}
    r = api.post(f"/api/v1/enterprises/{eid}/plans/dispatch", "manager_a1", json=body)
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["status"] == "completed" and plan["load_source"] == "upload" and plan["steps"] == 48
    assert plan["label"] == "储能方案" and plan["created_by"] == "manager_a1"
    k = plan["kpis"]
    assert k["load_kwh"] == pytest.approx(sum(300.0 + (i % 24) * 5 for i in range(48)))
    assert k["cost_total_cny"] > 0 and k["pv_generated_kwh"] > 0 and 0 < k["clean_electricity_share_frac"] < 1
    assert plan["summary"]["dispatch"]["energy"]["load_kwh"] == k["load_kwh"]
    # the viewer and the verifier read it; listed newest first
    got = api.get(f"/api/v1/plans/{plan['id']}", "viewer_a1").json()
    assert got["kpis"] == k and got["params"]["battery"]["energy_kwh"] == 200
    listed = api.get(f"/api/v1/enterprises/{eid}/plans", "verifier_a1").json()
    assert listed[0]["id"] == plan["id"] and "summary" not in listed[0]
    sched = api.get(f"/api/v1/plans/{plan['id']}/schedule", "viewer_a1").json()["columns"]
    assert len(sched["timestamp_utc"]) == 48 and sched["timestamp_utc"][0] == "2024-03-31T16:00:00Z"
    assert sum(sched["load_kw"]) == pytest.approx(k["load_kwh"])
    csv = api.get(f"/api/v1/plans/{plan['id']}/schedule", "viewer_a1", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv") and len(csv.text.splitlines()) == 49
    # foreign: 404, same as missing; audit record with the request id
    assert api.get(f"/api/v1/plans/{plan['id']}", "manager_a2").status_code == 404
    assert api.get(f"/api/v1/plans/{plan['id']}/schedule", "province").status_code == 404
    audit = api.get("/api/v1/audit", "manager_a1", params={"enterprise_id": eid}).json()
    assert any(a["action"] == "plan.run" and a["object_id"] == plan["id"] for a in audit)


def test_infeasible_plan_is_422_with_explanation_and_stored(api) -> None:  # type: ignore[no-untyped-def]
    eid = api.world.enterprises["A2"]
    r = api.post(f"/api/v1/enterprises/{eid}/plans/dispatch", "admin_a",
                 json={"load_csv": _csv(24), "import_limit_kw": 100.0})
    assert r.status_code == 422, r.text
    p = r.json()
    assert p["code"] == "E-PLAN-INFEASIBLE" and r.headers["content-type"].startswith("application/problem+json")
    assert "import" in p["detail"].lower() and p["message_zh"]
    [stored] = [x for x in api.get(f"/api/v1/enterprises/{eid}/plans", "admin_a").json() if x["kind"] == "dispatch"]
    assert stored["status"] == "infeasible"
    full = api.get(f"/api/v1/plans/{stored['id']}", "manager_a2").json()
    assert full["summary"]["explanation"] == p["detail"]


def test_bounds_and_validation(api) -> None:  # type: ignore[no-untyped-def]
    w = api.world
    park = w.parks["A"]
    r = api.post(f"/api/v1/parks/{park}/plans/sizing", "admin_a",
                 json={"start": "2024-01-01", "end": "2024-12-31", "pv": PV})
    assert r.status_code == 422 and r.json()["code"] == "E-PLAN-SIZE"
    r = api.post(f"/api/v1/parks/{park}/plans/dispatch", "admin_a", json={"tenant_id": "x"})
    assert r.status_code == 422 and r.json()["code"] == "E-VALIDATION"
    r = api.post(f"/api/v1/parks/{park}/plans/nuclear", "admin_a", json={})
    assert r.status_code == 422
    r = api.post(f"/api/v1/parks/{park}/plans/dispatch", "admin_a", json={"start": "2024-04-01", "end": "2024-04-02"})
    assert r.status_code == 422, r.text  # the seeded meters have no interval data: never read as zero
    # park-level plans: the province reads them, cannot run them
    assert api.get(f"/api/v1/parks/{park}/plans", "province").status_code == 200
    assert api.post(f"/api/v1/parks/{park}/plans/pv", "province",
                    json={"pv": PV, "year": 2024}).status_code == 403
