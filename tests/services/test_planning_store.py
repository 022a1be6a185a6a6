"""Stored planning runs: run from stored load or an uploaded CSV, scope (404/403), audit, bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from parkcarbon.errors import (
    InfeasibleError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    UploadRejectedError,
)
from parkcarbon.services.planning_store import (
    BatteryParams,
    PlanParams,
    PVParams,
    get_plan,
    list_plans,
    plan_schedule,
    run_plan,
    schedule_csv,
)
from parkcarbon.services.tenancy import Scope, system_scope

START = datetime(2024, 3, 31, 16, tzinfo=UTC)  # 2024-04-01 00:00 Asia/Shanghai
PV = PVParams(latitude_deg=32.0, longitude_deg=118.8, tilt_deg=25.0, capacity_kwp=200.0)


def load_csv(hours: int = 48, kw: float = 400.0) -> str:
    """An hourly load CSV with offsets (what a user uploads)."""
    lines = ["timestamp,load_kw"]
    t0 = datetime(2024, 4, 1, 0, 0)
    for i in range(hours):
        ts = (t0 + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%S+08:00")
        lines.append(f"{ts},{kw + 100 * np.sin(i / 24 * 2 * np.pi):.3f}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def world(sqlite_store):  # type: ignore[no-untyped-def]
    """Park P (E1 with a day of 15-min metered load) and park Q (E2 and F1, without meters)."""
    with sqlite_store.transaction() as repo:
        p = repo.add_park(code="P", name="园区P", province="江苏")
        q = repo.add_park(code="Q", name="园区Q", province="江苏")
        e1 = repo.add_enterprise(name="企业1", park_id=p.id, province="江苏")
        e2 = repo.add_enterprise(name="企业2", park_id=q.id, province="江苏")
        f1 = repo.add_enterprise(name="企业F", park_id=q.id, province="江苏")
        m = repo.add_meter(tenant_id=e1.tenant_id, code="M-IMP", carrier="electricity", unit="kWh", kind="interval",
                           interval_s=900, enterprise_id=e1.id, role="grid_import")
        rows = [{"start_utc": START + timedelta(minutes=15 * i), "end_utc": START + timedelta(minutes=15 * (i + 1)),
                 "energy": 100.0, "quality": "measured", "method_id": None} for i in range(96)]
        repo.replace_increments({m.id: m}, {m.id: (START, START + timedelta(days=1))}, {m.id: rows},
                                code_version="test")
        ids = {"P": p.id, "Q": q.id, "E1": e1.id, "E2": e2.id, "F1": f1.id}
    return sqlite_store, ids


def manager(eid: str) -> Scope:
    return Scope(user_id="u-m", username="manager", managed_enterprises=frozenset({eid}),
                 viewed_enterprises=frozenset({eid}), tenants={eid: eid})


def viewer(eid: str) -> Scope:
    return Scope(user_id="u-v", username="viewer", viewed_enterprises=frozenset({eid}), tenants={eid: eid})


def park_admin(ids: dict[str, str]) -> Scope:
    return Scope(user_id="u-a", username="admin", park_admin_parks=frozenset({ids["P"]}),
                 park_enterprises={ids["E1"]: ids["P"]}, tenants={ids["E1"]: ids["E1"]})


PROVINCE = Scope(user_id="u-p", username="province", provincial=True)


def test_dispatch_from_stored_load_is_stored_scoped_and_audited(world) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from parkcarbon.storage.models_auth import AuditRecord

    store, ids = world
    params = PlanParams(start=date(2024, 4, 1), end=date(2024, 4, 2),
                        battery=BatteryParams(energy_kwh=200.0, power_kw=100.0))
    plan = run_plan(store, manager(ids["E1"]), "dispatch", params, enterprise_id=ids["E1"], actor="manager",
                    request_id="r-1")
    assert plan.status == "completed" and plan.load_source == "store" and plan.steps == 24
    assert plan.horizon_start == START and plan.park_id == ids["P"]
    k = plan.kpis
    assert k["load_kwh"] == pytest.approx(24 * 400.0)
    assert k["cost_total_cny"] > 0 and k["emissions_location_tco2"] > 0
    sched = plan_schedule(store, viewer(ids["E1"]), plan.id)
    assert len(sched["timestamp_utc"]) == 24 and sched["load_kw"][0] == pytest.approx(400.0)
    assert "battery_soc_kwh" in sched
    text = schedule_csv(sched)
    assert text.splitlines()[0].startswith("timestamp_utc,load_kw,pv_kw") and len(text.splitlines()) == 25
    # read back by the viewer and the park admin; listed newest first
    assert get_plan(store, viewer(ids["E1"]), plan.id).kpis == k
    assert [p.id for p in list_plans(store, park_admin(ids), enterprise_id=ids["E1"])] == [plan.id]
    # foreign: same 404 as a missing id; read-only role cannot run
    for scope in (manager(ids["E2"]), PROVINCE):
        with pytest.raises(NotFoundError):
            get_plan(store, scope, plan.id)
    with pytest.raises(NotFoundError):
        get_plan(store, viewer(ids["E1"]), "00000000-0000-4000-8000-000000000000")
    with pytest.raises(PermissionDeniedError):
        run_plan(store, viewer(ids["E1"]), "dispatch", params, enterprise_id=ids["E1"], actor="viewer")
    with pytest.raises(NotFoundError):
        run_plan(store, manager(ids["E2"]), "dispatch", params, enterprise_id=ids["E1"], actor="other")
    with store.reader() as repo:
        rec = repo.session.scalars(select(AuditRecord).where(AuditRecord.action == "plan.run")).one()
    assert rec.object_id == plan.id and rec.tenant_id == ids["E1"] and rec.request_id == "r-1"


def test_csv_only_without_measured_load(world) -> None:  # type: ignore[no-untyped-def]
    store, ids = world
    plan = run_plan(store, manager(ids["E2"]), "dispatch", PlanParams(load_csv=load_csv(), pv=PV),
                    enterprise_id=ids["E2"], actor="m2")
    assert plan.load_source == "upload" and plan.steps == 48 and plan.kpis["pv_generated_kwh"] > 0
    with pytest.raises(InputError, match="measured interval load"):  # E1 has metered data on 2024-04-01
        run_plan(store, manager(ids["E1"]), "dispatch", PlanParams(load_csv=load_csv(24)), enterprise_id=ids["E1"],
                 actor="m1")
    with pytest.raises(InputError, match="start and end"):
        run_plan(store, manager(ids["E2"]), "dispatch", PlanParams(), enterprise_id=ids["E2"], actor="m2")


def test_infeasible_is_stored_with_its_explanation(world) -> None:  # type: ignore[no-untyped-def]
    store, ids = world
    params = PlanParams(start=date(2024, 4, 1), end=date(2024, 4, 2), import_limit_kw=100.0)
    with pytest.raises(InfeasibleError) as ei:
        run_plan(store, manager(ids["E1"]), "dispatch", params, enterprise_id=ids["E1"], actor="manager")
    [stored] = list_plans(store, manager(ids["E1"]), enterprise_id=ids["E1"])
    assert stored.status == "infeasible" and stored.summary["explanation"] == ei.value.message
    assert plan_schedule(store, manager(ids["E1"]), stored.id) == {}


def test_park_plans_sizing_and_pv(world) -> None:  # type: ignore[no-untyped-def]
    store, ids = world
    admin = park_admin(ids)
    sized = run_plan(store, admin, "sizing", PlanParams(start=date(2024, 4, 1), end=date(2024, 4, 2), pv=PV),
                     park_id=ids["P"], actor="admin")
    assert sized.enterprise_id is None and sized.load_source == "store"
    assert {"npv_cny", "pv_capacity_kwp", "battery_energy_kwh"} <= set(sized.kpis)
    assert len(sized.summary["scenarios"]) == 4
    pv = run_plan(store, admin, "pv", PlanParams(pv=PV, year=2024), park_id=ids["P"], actor="admin")
    assert pv.steps == 8784 and pv.kpis["pv_energy_kwh"] > 0
    # the province reads park plans, never runs them; another park's admin sees nothing
    assert {p.id for p in list_plans(store, PROVINCE, park_id=ids["P"])} == {sized.id, pv.id}
    assert get_plan(store, PROVINCE, pv.id).kpis == pv.kpis
    with pytest.raises(PermissionDeniedError):
        run_plan(store, PROVINCE, "pv", PlanParams(pv=PV, year=2024), park_id=ids["P"], actor="province")
    with pytest.raises(NotFoundError):
        get_plan(store, manager(ids["E1"]), pv.id)
    with pytest.raises(NotFoundError):
        list_plans(store, admin, park_id=ids["Q"])
    assert list_plans(store, system_scope(), park_id=ids["Q"]) == []
    with pytest.raises(InputError, match="no electricity meters"):  # not a 404: the park is visible
        run_plan(store, system_scope(), "dispatch", PlanParams(start=date(2024, 4, 1), end=date(2024, 4, 2)),
                 park_id=ids["Q"], actor="root")


def test_bounds(world) -> None:  # type: ignore[no-untyped-def]
    store, ids = world
    admin = park_admin(ids)
    with pytest.raises(UploadRejectedError) as ei:
        run_plan(store, admin, "sizing", PlanParams(start=date(2024, 1, 1), end=date(2024, 12, 31), pv=PV),
                 park_id=ids["P"], actor="admin")
    assert ei.value.code == "E-PLAN-SIZE"
    with pytest.raises(InputError, match="step_minutes"):
        run_plan(store, admin, "dispatch", PlanParams(step_minutes=7, start=date(2024, 4, 1), end=date(2024, 4, 2)),
                 park_id=ids["P"], actor="admin")
    with pytest.raises(InputError, match="unknown plan kind"):
        run_plan(store, admin, "nuclear", PlanParams(), park_id=ids["P"], actor="admin")


@pytest.mark.postgres
def test_park_plans_under_row_level_security(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL as the non-owner application role: park plans are written and read through the
    park tenant (``park:<id>``) only by the scopes that may see that park; raw SQL sees nothing else."""
    import os
    import uuid

    from sqlalchemy import text

    from parkcarbon.services.tenancy import provision_app_role, scoped_reader
    from parkcarbon.storage import open_store
    from parkcarbon.storage.models_planning import PlanResultRow

    psycopg = pytest.importorskip("psycopg")
    admin = os.environ.get("PARKCARBON_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    try:
        with psycopg.connect(admin.replace("+psycopg", ""), connect_timeout=3):
            pass
    except Exception:
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    tag = uuid.uuid4().hex[:8]
    db, role = f"h9_plan_{tag}", f"h9_app_{tag}"
    with psycopg.connect(admin.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    base = admin.rsplit("/", 1)[0]
    owner = open_store(f"{base}/{db}")
    app = None
    try:
        provision_app_role(owner, role, password="app-secret")
        with owner.transaction() as repo:
            p = repo.add_park(code="P", name="园区P", province="江苏")
            e1 = repo.add_enterprise(name="企业1", park_id=p.id, province="江苏")
        ids = {"P": p.id, "E1": e1.id}
        app = open_store(f"postgresql+psycopg://{role}:app-secret@127.0.0.1:5432/{db}")
        admin_scope = Scope(user_id="u-a", username="admin", park_admin_parks=frozenset({p.id}),
                            park_enterprises={e1.id: p.id}, tenants={e1.id: e1.id})
        plan = run_plan(app, admin_scope, "pv", PlanParams(pv=PV, year=2024), park_id=p.id, actor="admin")
        ent_plan = run_plan(app, manager(e1.id), "pv", PlanParams(pv=PV, year=2024), enterprise_id=e1.id, actor="m")
        assert get_plan(app, PROVINCE, plan.id).kpis == plan.kpis
        assert [x.id for x in list_plans(app, admin_scope, park_id=ids["P"])] == [plan.id]
        with pytest.raises(NotFoundError):
            get_plan(app, manager(e1.id), plan.id)
        with scoped_reader(app, manager(e1.id)) as repo:  # the RLS backstop: only the enterprise's own row
            assert [r.id for r in repo.session.query(PlanResultRow)] == [ent_plan.id]
        with app.engine.begin() as conn:  # no tenant set: nothing at all
            assert conn.execute(text("SELECT count(*) FROM plan_result")).scalar() == 0
    finally:
        if app is not None:
            app.dispose()
        owner.dispose()
        with psycopg.connect(admin.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')
