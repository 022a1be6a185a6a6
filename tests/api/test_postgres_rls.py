"""SEC-04: PostgreSQL row-level security backstop with a non-owner application role, and the API on it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.postgres

ADMIN = os.environ.get("PARKCARBON_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def pg_app() -> Iterator[dict[str, Any]]:
    """A scratch database migrated by the owner, plus an application role (dropped afterwards)."""
    try:
        import psycopg

        with psycopg.connect(ADMIN.replace("+psycopg", ""), connect_timeout=3):
            pass
    except Exception:
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    from parkcarbon.services.tenancy import provision_app_role
    from parkcarbon.storage import open_store

    tag = uuid.uuid4().hex[:8]
    db, role = f"h7_rls_{tag}", f"h7_app_{tag}"
    admin = ADMIN.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    base = ADMIN.rsplit("/", 1)[0]
    owner = open_store(f"{base}/{db}")
    try:
        provision_app_role(owner, role, password="app-secret")
        app_url = f"postgresql+psycopg://{role}:app-secret@127.0.0.1:5432/{db}"
        yield {"owner": owner, "app_url": app_url, "role": role, "db": db}
    finally:
        owner.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def _seed(owner: Any) -> dict[str, str]:
    from parkcarbon.core.activity import ActivityRecord, Flow
    from parkcarbon.periods import Month

    with owner.transaction() as repo:
        p = repo.add_park(code="P", name="p", province="江苏")
        e1 = repo.add_enterprise(name="E1", park_id=p.id, province="江苏")
        e2 = repo.add_enterprise(name="E2", park_id=p.id, province="江苏")
        for e in (e1, e2):
            repo.put_activity_records([ActivityRecord(str(uuid.uuid4()), e.id, Month(2024, 1), "electricity",
                                                      Flow.PURCHASED, 1000.0)])
    return {"park": p.id, "e1": e1.id, "e2": e2.id}


def test_rls_backstop(pg_app):
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DBAPIError

    owner = pg_app["owner"]
    ids = _seed(owner)
    role = pg_app["role"]
    with owner.engine.connect() as conn:
        r = conn.execute(text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role}).one()
        assert tuple(r) == (False, False)
        owned = conn.execute(text("SELECT count(*) FROM pg_tables WHERE tableowner = :r"), {"r": role}).scalar()
        assert owned == 0
        # meta-test: every table with tenant_id / enterprise_id has RLS enabled + forced + a policy
        tables = [t for (t,) in conn.execute(text(
            "SELECT DISTINCT table_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND column_name IN ('tenant_id', 'enterprise_id')"))]
        unguarded = []
        for t in tables:
            rls, force = conn.execute(text("SELECT relrowsecurity, relforcerowsecurity FROM pg_class "
                                           "WHERE relname = :t AND relkind = 'r'"), {"t": t}).one()
            policies = conn.execute(text("SELECT count(*) FROM pg_policies WHERE tablename = :t"), {"t": t}).scalar()
            if not (rls and force and policies):
                unguarded.append(t)
        assert len(tables) >= 20 and unguarded == []
        print({"test_id": "SEC-04", "tables_checked": len(tables), "tables_without_policy": len(unguarded)})
    app = create_engine(pg_app["app_url"])
    try:
        with app.begin() as conn:  # no tenant set: nothing visible
            assert conn.execute(text("SELECT count(*) FROM activity_record")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM enterprise")).scalar() == 0
        with app.begin() as conn:
            conn.execute(text("SELECT set_config('app.tenant_ids', :t, true)"), {"t": ids["e1"]})
            assert conn.execute(text("SELECT count(*) FROM activity_record")).scalar() == 1
            assert conn.execute(text("SELECT DISTINCT tenant_id FROM activity_record")).scalar() == ids["e1"]
        with pytest.raises(DBAPIError) as exc:  # cross-tenant insert refused by WITH CHECK
            with app.begin() as conn:
                conn.execute(text("SELECT set_config('app.tenant_ids', :t, true)"), {"t": ids["e1"]})
                conn.execute(text(
                    "INSERT INTO activity_record (id, tenant_id, enterprise_id, month, carrier, flow, subtype, quantity, "
                    "unit, source, quality, status, version, created_at) VALUES ('x', :t, :t, '2024-02', 'electricity', "
                    "'purchased', '', 1, 'kWh', 'sql', 'measured', 'current', 1, now())"), {"t": ids["e2"]})
        assert "row-level security" in str(exc.value)
        with pytest.raises(DBAPIError) as exc:  # a row cannot be moved to another tenant
            with app.begin() as conn:
                conn.execute(text("SELECT set_config('app.tenant_ids', :t, true)"), {"t": ids["e1"]})
                conn.execute(text("UPDATE activity_record SET tenant_id = :o"), {"o": ids["e2"]})
        assert "row-level security" in str(exc.value)
        with app.begin() as conn:  # the audit trail is append-only for the app role too
            conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)"))
            n = conn.execute(text("SELECT count(*) FROM audit_log")).scalar()
        assert n == 0
    finally:
        app.dispose()


def test_api_runs_as_the_application_role(pg_app, tmp_path):
    from argon2 import PasswordHasher
    from fastapi.testclient import TestClient

    from parkcarbon.api import create_app
    from parkcarbon.services import auth as auth_module
    from parkcarbon.services.auth import create_api_token, create_user
    from parkcarbon.services.scoped import grant_role
    from parkcarbon.services.tenancy import scoped_transaction, system_scope
    from parkcarbon.settings import get_settings
    from parkcarbon.storage import open_store

    owner = pg_app["owner"]
    ids = _seed(owner)
    hasher = auth_module._HASHER
    auth_module._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        with scoped_transaction(owner, system_scope()) as repo:
            tokens = {}
            for name, eid in (("m1", ids["e1"]), ("m2", ids["e2"])):
                u = create_user(repo.session, username=name, password="correct horse battery")
                grant_role(repo, system_scope(), u.id, role="enterprise_manager", park_id=None, enterprise_id=eid)
                tokens[name] = create_api_token(repo.session, u, name="t").secret
    finally:
        auth_module._HASHER = hasher
    settings = get_settings(data_dir=tmp_path, database_url=pg_app["app_url"])
    store = open_store(pg_app["app_url"], settings=settings)
    try:
        app = create_app(store, settings=settings)
        with TestClient(app, base_url="https://testserver") as c:
            h1 = {"Authorization": f"Bearer {tokens['m1']}"}
            r = c.get("/api/v1/enterprises", headers=h1)
            assert r.status_code == 200 and [e["id"] for e in r.json()] == [ids["e1"]]
            assert c.get(f"/api/v1/enterprises/{ids['e2']}/ledger", headers=h1).status_code == 404
            led = c.get(f"/api/v1/enterprises/{ids['e1']}/ledger", headers=h1)
            assert led.status_code == 200 and len(led.json()) == 1
            r = c.post(f"/api/v1/enterprises/{ids['e1']}/meters", headers=h1,
                       json={"code": "M1", "carrier": "electricity", "unit": "kWh", "kind": "interval"})
            assert r.status_code == 201, r.text
            r = c.post(f"/api/v1/enterprises/{ids['e1']}/periods/2024-01/submit", headers=h1, json={})
            assert r.status_code == 200, r.text
            assert c.get(f"/api/v1/enterprises/{ids['e1']}/results?year=2024", headers=h1).json()[0]["month"] == "2024-01"
    finally:
        store.dispose()


def test_provincial_operator_gets_park_totals_under_rls(pg_app, tmp_path):
    """The RLS backstop hides enterprise rows from the provincial operator; the park's totals are
    computed under the system scope after the park-level check, so they are not a silent zero."""
    from argon2 import PasswordHasher
    from fastapi.testclient import TestClient

    from parkcarbon.api import create_app
    from parkcarbon.services import auth as auth_module
    from parkcarbon.services.auth import create_api_token, create_user
    from parkcarbon.services.scoped import grant_role
    from parkcarbon.services.tenancy import scoped_transaction, system_scope
    from parkcarbon.settings import get_settings
    from parkcarbon.storage import open_store

    owner = pg_app["owner"]
    ids = _seed(owner)
    hasher = auth_module._HASHER
    auth_module._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        with scoped_transaction(owner, system_scope()) as repo:
            u = create_user(repo.session, username="prov", password="correct horse battery")
            grant_role(repo, system_scope(), u.id, role="provincial_operator", park_id=None, enterprise_id=None)
            token = create_api_token(repo.session, u, name="t").secret
    finally:
        auth_module._HASHER = hasher
    settings = get_settings(data_dir=tmp_path, database_url=pg_app["app_url"])
    store = open_store(pg_app["app_url"], settings=settings)
    try:
        with TestClient(create_app(store, settings=settings), base_url="https://testserver") as c:
            h = {"Authorization": f"Bearer {token}"}
            r = c.get(f"/api/v1/parks/{ids['park']}/inventory?year=2024", headers=h)
            assert r.status_code == 200, r.text
            # 2 enterprises × 1 000 kWh × 0.1229 kgce/kWh
            assert r.json()["totals"]["energy_tce"] == pytest.approx(2 * 1000 * 0.0001229, rel=1e-12)
            assert c.get(f"/api/v1/enterprises/{ids['e1']}/ledger", headers=h).status_code in (403, 404)
    finally:
        store.dispose()
