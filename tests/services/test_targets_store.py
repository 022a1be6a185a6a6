"""Stored targets, budgets and warnings: allocation stored and scoped, warning check stored, webhook
delivered to a real HTTP server once per new or escalated grade (never for an unchanged one), audit."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from webhook_recorder import Recorder, recording_server

from parkcarbon.core.budget import WarningGrade, WarningThresholds
from parkcarbon.core.targets import Milestone
from parkcarbon.errors import InputError, NotFoundError
from parkcarbon.periods import Month
from parkcarbon.services import targets_store as ts
from parkcarbon.services.demo import load_demo_park
from parkcarbon.services.demo_park import build_demo_park
from parkcarbon.services.targets import ParkSeries
from parkcarbon.services.tenancy import Scope, system_scope
from parkcarbon.services.warnings import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from parkcarbon.storage import Store, open_store
from parkcarbon.storage.models_auth import AuditRecord

SECRET = "s3cret-for-tests-0123"


@dataclass
class Demo:
    path: Path
    park_id: str
    tenants: dict[str, str]
    series: ParkSeries


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    path = tmp_path_factory.mktemp("targets-store") / "demo.sqlite"
    store = open_store(f"sqlite:///{path}")
    pid = load_demo_park(store, build_demo_park())
    with store.reader() as repo:
        tenants = {e.id: e.tenant_id for e in repo.list_enterprises(park_id=pid)}
    series = ts.park_series(store, pid, 2025)
    store.dispose()
    return Demo(path, pid, tenants, series)


@pytest.fixture()
def store(demo: Demo, tmp_path: Path) -> Iterator[Store]:
    dest = tmp_path / "copy.sqlite"
    shutil.copy(demo.path, dest)
    s = open_store(f"sqlite:///{dest}")
    yield s
    s.dispose()


def admin(demo: Demo) -> Scope:
    return Scope("u-admin", "admin", park_admin_parks=frozenset({demo.park_id}), tenants=dict(demo.tenants),
                 park_enterprises=dict.fromkeys(demo.tenants, demo.park_id))


def manager(demo: Demo, eid: str) -> Scope:
    return Scope("u-mgr", "mgr", managed_enterprises=frozenset({eid}), viewed_enterprises=frozenset({eid}),
                 tenants={eid: demo.tenants[eid]})


@pytest.fixture()
def server() -> Iterator[tuple[str, Recorder]]:
    with recording_server() as (url, rec):
        yield url, rec


def _budget(demo: Demo) -> float:
    total = math.fsum(demo.series.annual(e, "energy_tce", 2024) or 0.0 for e in demo.series.enterprises)
    return total * 1.10


def test_budget_is_allocated_stored_and_scoped(demo: Demo, store: Store) -> None:
    a = admin(demo)
    b = ts.set_budget(store, a, demo.park_id, 2025, _budget(demo), actor="admin", series=demo.series)
    assert b.unit == "tce" and len(b.allocations) == len(demo.tenants)
    assert math.isclose(math.fsum(x.budget_qty for x in b.allocations), _budget(demo), rel_tol=1e-12)
    for x in b.allocations:
        assert len(x.monthly) == 12 and math.isclose(math.fsum(x.monthly.values()), x.budget_qty, rel_tol=1e-12)
    assert ts.stored_budget_qty(store, demo.park_id, 2025) == pytest.approx(_budget(demo))
    # replacing keeps one budget per park × year × kind
    b2 = ts.set_budget(store, a, demo.park_id, 2025, _budget(demo) * 0.9, actor="admin", series=demo.series)
    [listed] = ts.list_budgets(store, a, demo.park_id)
    assert listed.id == b2.id and listed.park_budget_qty == pytest.approx(_budget(demo) * 0.9)
    # an enterprise manager sees the park figure and only its own allocation, cannot set a budget
    eid = sorted(demo.tenants)[0]
    m = manager(demo, eid)
    [mine] = ts.list_budgets(store, m, demo.park_id)
    assert [x.enterprise_id for x in mine.allocations] == [eid]
    assert [x.enterprise_id for x in ts.enterprise_budgets(store, m, eid)[0].allocations] == [eid]
    with pytest.raises(NotFoundError):
        ts.set_budget(store, m, demo.park_id, 2025, 1.0, actor="mgr", series=demo.series)
    with pytest.raises(NotFoundError):
        ts.enterprise_budgets(store, m, sorted(demo.tenants)[1])
    with store.reader() as repo:
        actions = [r.action for r in repo.session.scalars(select(AuditRecord).order_by(AuditRecord.seq))]
    assert actions.count("budget.set") == 2


def test_warning_check_delivers_once_per_new_or_escalated_grade(demo: Demo, store: Store,
                                                                 server: tuple[str, Recorder]) -> None:
    url, rec = server
    a = admin(demo)
    pid = demo.park_id
    with pytest.raises(InputError) as exc:
        ts.run_warning_check(store, a, pid, Month(2025, 3), actor="admin", series=demo.series)
    assert exc.value.code == "E-BUDGET-MISSING"
    ts.set_budget(store, a, pid, 2025, _budget(demo), actor="admin", series=demo.series)
    hook = ts.add_webhook(store, a, pid, url, SECRET, min_grade=WarningGrade.YELLOW, actor="admin")
    assert SECRET not in repr(hook) and len(hook.secret_fingerprint) == 12
    # lenient thresholds: everybody green → stored, nothing sent
    ts.set_thresholds(store, a, pid, WarningThresholds(1.5, 1.6, 1.7, source="test"), actor="admin")
    r1 = ts.run_warning_check(store, a, pid, Month(2025, 3), actor="admin", series=demo.series)
    assert {e.grade for e in r1.events} == {"green"} and rec.requests == [] and r1.deliveries == ()
    assert {e.delivery_status for e in r1.events} == {"not_sent"}
    # default thresholds: the yellow-or-worse grades are new → one signed POST with exactly them
    ts.set_thresholds(store, a, pid, WarningThresholds(), actor="admin")
    r2 = ts.run_warning_check(store, a, pid, Month(2025, 4), actor="admin", series=demo.series)
    hot = {e.enterprise_id for e in r2.events if WarningGrade(e.grade).severity >= 1}
    assert hot, "the demo park has enterprises above 90 % of a +10 % budget"
    assert len(rec.requests) == 1 and set(r2.notified) == hot
    headers, body = rec.requests[0]
    assert verify_signature(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    payload = json.loads(body)
    assert {w["enterprise_id"] for w in payload["warnings"]} == hot and payload["as_of"] == "2025-04"
    by_ent = {e.enterprise_id: e for e in r2.events}
    assert all(by_ent[e].delivery_status == "delivered" and by_ent[e].delivered_at is not None for e in hot)
    assert all(by_ent[e].previous_grade == "green" for e in hot)
    # the same month again: unchanged grades are never re-delivered, the delivery record stays
    r3 = ts.run_warning_check(store, a, pid, Month(2025, 4), actor="admin", series=demo.series)
    assert len(rec.requests) == 1 and r3.notified == ()
    assert {e.enterprise_id for e in r3.events if e.delivery_status == "delivered"} == hot
    # next month: only grades more severe than April's are sent
    r4 = ts.run_warning_check(store, a, pid, Month(2025, 5), actor="admin", series=demo.series)
    escalated = {e.enterprise_id for e in r4.events
                 if WarningGrade(e.grade).severity > WarningGrade(by_ent[e.enterprise_id].grade).severity
                 and WarningGrade(e.grade).severity >= 1}
    assert set(r4.notified) == escalated and len(rec.requests) == 1 + (1 if escalated else 0)
    # events: park admin sees all, a manager only its own; audited
    from sqlalchemy import select

    from parkcarbon.storage.models_auth import AuditRecord

    with store.reader() as repo:
        checks = list(repo.session.scalars(select(AuditRecord).where(AuditRecord.action == "warning.check")))
    assert len(checks) == 4 and all(c.actor == "admin" and c.object_id == pid and c.new_json for c in checks)
    assert len(ts.list_warnings(store, a, park_id=pid)) == 3 * len(demo.tenants)
    eid = sorted(hot)[0]
    mine = ts.list_warnings(store, manager(demo, eid), park_id=pid)
    assert {e.enterprise_id for e in mine} == {eid} and len(mine) == 3
    assert ts.list_warnings(store, manager(demo, eid), enterprise_id=eid) == mine
    with pytest.raises(NotFoundError):
        ts.run_warning_check(store, manager(demo, eid), pid, Month(2025, 5), actor="mgr", series=demo.series)
    with store.reader() as repo:
        checks = list(repo.session.scalars(select(AuditRecord).where(AuditRecord.action == "warning.check")))
    assert len(checks) == 4 and all(SECRET not in (c.new_json or "") for c in checks)


def test_targets_stored_tracked_and_deleted(demo: Demo, store: Store) -> None:
    a = admin(demo)
    pid = demo.park_id
    imported = ts.import_target_set(store, a, pid, "carbon_peak_pilot", target_year=2030, actor="admin")
    assert imported and all(t.set_id == "carbon_peak_pilot" and t.source for t in imported)
    own = ts.set_target(store, a, pid, indicator="energy_total_tce", base_year=2022,
                        milestones=[Milestone(2025, reduction_frac=0.02)], source="园区节能规划 2023", actor="admin")
    assert [t.id for t in ts.list_targets(store, a, pid)][-1] == own.id
    prog = ts.progress(store, a, pid, Month(2025, 6), series=demo.series)
    _st, points, _checks = prog[own.id]
    assert points[0].month == Month(2023, 1) and points[-1].month == Month(2025, 6)
    base = demo.series.park()
    assert all(p.path_value is not None for p in points)
    assert points[-1].ttm.value == pytest.approx(math.fsum(
        base["energy_tce"][Month(y, k)] or 0.0 for y, k in [(2024, m) for m in range(7, 13)] + [
            (2025, m) for m in range(1, 7)]))
    with pytest.raises(InputError):
        ts.set_target(store, a, pid, indicator="nope", base_year=2022, milestones=[Milestone(2025, 1.0)],
                      source="x", actor="admin")
    other = Scope("u-x", "x", park_admin_parks=frozenset({"elsewhere"}))
    with pytest.raises(NotFoundError):
        ts.delete_target(store, other, pid, own.id, actor="x")
    ts.delete_target(store, a, pid, own.id, actor="admin")
    assert own.id not in {t.id for t in ts.list_targets(store, a, pid)}
    with pytest.raises(NotFoundError):
        ts.delete_target(store, system_scope(), pid, own.id, actor="system")


PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.mark.postgres
def test_budget_and_warnings_under_postgres_rls_with_the_app_role() -> None:
    """The whole flow as the non-owner application role: RLS lets the park administrator write the
    enterprises' rows and an enterprise's transaction read only its own allocation and events."""
    import os
    import uuid

    from sqlalchemy import text

    from parkcarbon.core.activity import ActivityRecord, Flow
    from parkcarbon.services.tenancy import provision_app_role, scoped_reader
    from parkcarbon.storage.models_targets import WarningEventRow

    psycopg = pytest.importorskip("psycopg")
    admin_url = os.environ.get("PARKCARBON_TEST_PG_ADMIN", PG_ADMIN).replace("+psycopg", "")
    try:
        with psycopg.connect(admin_url, connect_timeout=3):
            pass
    except Exception:
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    tag = uuid.uuid4().hex[:8]
    db, role = f"h10_targets_{tag}", f"h10_app_{tag}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    base = admin_url.rsplit("/", 1)[0]
    owner = open_store(f"{base}/{db}")
    app: Store | None = None
    try:
        provision_app_role(owner, role, password="app-secret")
        with owner.transaction() as repo:
            p = repo.add_park(code="P", name="p", province="江苏")
            ents = [repo.add_enterprise(name=f"E{i}", park_id=p.id, province="江苏") for i in (1, 2)]
            recs = [ActivityRecord(str(uuid.uuid4()), e.id, Month(y, k), "electricity", Flow.PURCHASED,
                                   (1000.0 + 10 * k) * (i + 1) * (1.3 if (i, y) == (1, 2024) else 1.0))
                    for i, e in enumerate(ents) for y in (2021, 2022, 2023, 2024) for k in range(1, 13)
                    if (y, k) <= (2024, 4)]
            repo.put_activity_records(recs)
            tenants = {e.id: e.tenant_id for e in ents}
        app = open_store(f"postgresql+psycopg://{role}:app-secret@127.0.0.1:5432/{db}", migrate=False)
        a = Scope("u-a", "admin", park_admin_parks=frozenset({p.id}), tenants=dict(tenants),
                  park_enterprises=dict.fromkeys(tenants, p.id))
        e1, e2 = sorted(tenants)
        ts.set_budget(app, a, p.id, 2024, 3.0 * 12 * 1100.0 * 0.123 * 1.05, actor="admin")
        res = ts.run_warning_check(app, a, p.id, Month(2024, 4), actor="admin")
        assert {e.enterprise_id for e in res.events} == {e1, e2}
        m = Scope("u-m", "mgr", managed_enterprises=frozenset({e1}), viewed_enterprises=frozenset({e1}),
                  tenants={e1: tenants[e1]})
        assert {e.enterprise_id for e in ts.list_warnings(app, m, park_id=p.id)} == {e1}
        assert [x.enterprise_id for x in ts.list_budgets(app, m, p.id)[0].allocations] == [e1]
        with scoped_reader(app, m) as repo:  # the backstop: even an unfiltered query sees only e1's rows
            assert {r.enterprise_id for r in repo.session.scalars(select(WarningEventRow))} == {e1}
            assert repo.session.execute(text("SELECT count(*) FROM budget")).scalar() == 0
    finally:
        if app is not None:
            app.dispose()
        owner.dispose()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')
