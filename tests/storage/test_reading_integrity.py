"""Referential integrity of raw readings (migration ``0008_reading_integrity``), SQLite and PostgreSQL.

SQLite keeps raw_reading's two foreign keys. PostgreSQL replaces them by a statement-level
trigger (one anti-join per INSERT/COPY statement) and by guards on ``meter`` / ``ingest_batch``;
the tests write with plain SQL and ``COPY``, bypassing the repository, and check both what the
foreign keys refused before (orphan readings, deleting or renaming a referenced parent) and that
row-level security does not blind the checks (they must see every tenant's rows, as a foreign
key's check does, and must not leave ``app.all_tenants`` switched on).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import delete, event, insert, text, update
from sqlalchemy.exc import IntegrityError

from parkcarbon.storage import ReadingIn, open_store
from parkcarbon.storage.models import IngestBatch, Meter, RawReading

T0 = datetime(2025, 3, 1, 16, 0, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
PG_ADMIN = os.environ.get("PARKCARBON_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
COLS = "meter_id, ts_utc, channel, tenant_id, value, received_at, batch_id"
FKS = {"fk_raw_reading_batch_id_ingest_batch", "fk_raw_reading_meter_id_meter"}
TRIGGERS = {"trg_raw_reading_refs_insert", "trg_raw_reading_refs_update", "trg_meter_reading_guard",
            "trg_ingest_batch_reading_guard"}


def _seed(store: Any) -> tuple[str, str]:
    """A meter with one reading in one batch; returns (meter id, batch id)."""
    with store.transaction() as repo:
        repo.add_enterprise(name="e", enterprise_id="E")
        m = repo.add_meter(tenant_id="E", code="M1", carrier="electricity", unit="kWh", kind="interval")
        b = repo.create_batch(tenant_id="E", kind="test")
        assert repo.write_readings("E", [ReadingIn(m.id, T0, 1.0)], batch_id=b.id).inserted == 1
    return m.id, b.id


def _raw_write(store: Any, meter_id: str, batch_id: str, how: str, slot: int = 1) -> None:
    """One raw_reading row, bypassing the repository: by an SQL INSERT, or by the driver's bulk
    load (``COPY`` on PostgreSQL, ``executemany`` of the sqlite3 driver on SQLite)."""
    ts = T0 + timedelta(minutes=15 * slot)
    with store.engine.begin() as conn:
        if how == "copy" and store.backend == "postgresql":
            with conn.connection.driver_connection.cursor() as cur, \
                    cur.copy(f"COPY raw_reading ({COLS}) FROM STDIN") as cp:
                cp.write_row((meter_id, ts, "", "E", 2.0, NOW, batch_id))
        elif how == "copy":
            cur = conn.connection.driver_connection.cursor()
            cur.executemany(f"INSERT INTO raw_reading ({COLS}) VALUES (?, ?, '', 'E', 2.0, ?, ?)",
                            [(meter_id, ts.replace(tzinfo=None).isoformat(" "), NOW.replace(tzinfo=None).isoformat(" "),
                              batch_id)])
        else:
            conn.execute(insert(RawReading.__table__).values(
                meter_id=meter_id, ts_utc=ts, channel="", tenant_id="E", value=2.0, received_at=NOW,
                batch_id=batch_id))


def _is_fk_violation(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) == "23503" or "FOREIGN KEY constraint failed" in str(orig)


@pytest.mark.parametrize("how", ["insert", "copy"])
@pytest.mark.parametrize("missing", ["meter", "batch"])
def test_reading_of_a_missing_meter_or_batch_is_refused(store, how, missing):
    meter_id, batch_id = _seed(store)
    _raw_write(store, meter_id, batch_id, how)  # the same statement with existing parents is accepted
    with pytest.raises(Exception) as exc:  # the driver's error (bulk load) or SQLAlchemy's IntegrityError
        _raw_write(store, "no-such-meter" if missing == "meter" else meter_id,
                   "no-such-batch" if missing == "batch" else batch_id, how, slot=2)
    assert _is_fk_violation(exc.value), exc.value
    if store.backend == "postgresql":  # the message names the missing id
        assert ("no-such-meter" if missing == "meter" else "no-such-batch") in str(exc.value)
    with store.reader() as repo:
        assert repo.count_readings("E") == 2


@pytest.mark.parametrize("change", ["delete meter", "rename meter", "delete batch", "rename batch"])
def test_a_referenced_meter_or_batch_cannot_be_deleted_or_renamed(store, change):
    meter_id, batch_id = _seed(store)
    model, key = (Meter, meter_id) if change.endswith("meter") else (IngestBatch, batch_id)
    stmt = delete(model) if change.startswith("delete") else update(model).values(id="renamed")
    with pytest.raises(IntegrityError) as exc, store.engine.begin() as conn:
        conn.execute(stmt.where(model.id == key))
    assert _is_fk_violation(exc.value), exc.value
    with store.transaction() as repo:
        spare = repo.add_meter(tenant_id="E", code="M2", carrier="electricity", unit="kWh", kind="interval")
    with store.engine.begin() as conn:  # changing other columns, or an unreferenced row, is fine
        conn.execute(update(Meter).where(Meter.id == meter_id).values(name="renamed only by name"))
        conn.execute(delete(Meter).where(Meter.id == spare.id))
    with store.reader() as repo:
        assert repo.count_readings("E") == 1 and repo.get_meter(meter_id).name == "renamed only by name"


def _pg_schema(store: Any) -> tuple[set[str], set[str]]:
    with store.engine.connect() as conn:
        fks = {r[0] for r in conn.execute(text(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'raw_reading'::regclass AND contype = 'f'"))}
        trg = {r[0] for r in conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND "
                                               "tgname = ANY(:names)"), {"names": sorted(TRIGGERS)})}
    return fks, trg


def test_downgrade_restores_the_foreign_keys_and_upgrade_replaces_them(store):
    meter_id, batch_id = _seed(store)
    below = ScriptDirectory.from_config(store.alembic_config()).get_revision("0008_reading_integrity").down_revision
    assert isinstance(below, str)
    if store.backend == "postgresql":
        assert _pg_schema(store) == (set(), TRIGGERS)
    store.downgrade(below)
    try:
        if store.backend == "postgresql":
            assert _pg_schema(store) == (FKS, set())  # the foreign keys of 0001, same names
        with pytest.raises(IntegrityError):
            _raw_write(store, "no-such-meter", batch_id, "insert")
    finally:
        store.upgrade("head")
    assert store.current_revision() == store.head_revision()
    if store.backend == "postgresql":
        assert _pg_schema(store) == (set(), TRIGGERS)
    with pytest.raises(Exception) as exc:
        _raw_write(store, "no-such-meter", batch_id, "copy")
    assert _is_fk_violation(exc.value)
    _raw_write(store, meter_id, batch_id, "copy")
    with store.reader() as repo:
        assert repo.count_readings("E") == 2


# ---------------------------------------------------------------------------------------------
# PostgreSQL under FORCE ROW LEVEL SECURITY: a non-superuser owner migrates, the app role writes
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def pg_rls() -> Iterator[dict[str, Any]]:
    """A database owned and migrated by a non-superuser role (so FORCE RLS applies to the owner
    too), seeded by the superuser, plus the application role; dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    admin = PG_ADMIN.replace("+psycopg", "")
    try:
        with psycopg.connect(admin, connect_timeout=3):
            pass
    except Exception:
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    from parkcarbon.services.tenancy import provision_app_role

    tag = uuid.uuid4().hex[:8]
    db, owner, app = f"h3a_integrity_{tag}", f"h3a_owner_{tag}", f"h3a_app_{tag}"
    base = PG_ADMIN.rsplit("/", 1)[0]
    stores: list[Any] = []
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE \"{owner}\" LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD 'owner-secret'")
        conn.execute(f'CREATE DATABASE "{db}" OWNER "{owner}"')
    try:
        with psycopg.connect(f"{admin.rsplit('/', 1)[0]}/{db}", autocommit=True) as conn:
            conn.execute(f'ALTER SCHEMA public OWNER TO "{owner}"')
        owner_url = f"postgresql+psycopg://{owner}:owner-secret@127.0.0.1:5432/{db}"
        stores.append(open_store(owner_url))  # migrates as the owner
        su = open_store(f"{base}/{db}", migrate=False)
        stores.append(su)
        provision_app_role(su, app, password="app-secret")
        with su.transaction() as repo:  # superuser: sees and writes every tenant
            for t in ("E", "F"):
                repo.add_enterprise(name=t, enterprise_id=t)
            me = repo.add_meter(tenant_id="E", code="ME", carrier="electricity", unit="kWh", kind="interval")
            mf = repo.add_meter(tenant_id="F", code="MF", carrier="electricity", unit="kWh", kind="interval")
            be = repo.create_batch(tenant_id="E", kind="test")
            # a reading of tenant E on tenant F's meter (a shared meter): the references cross tenants
            repo.write_readings("E", [ReadingIn(me.id, T0, 1.0)], batch_id=be.id)
        with su.engine.begin() as conn:
            conn.execute(insert(RawReading.__table__).values(meter_id=mf.id, ts_utc=T0, channel="", tenant_id="E",
                                                             value=1.0, received_at=NOW, batch_id=be.id))
        yield {"su": su, "db": db, "owner_url": owner_url, "meter_e": me.id, "meter_f": mf.id, "batch_e": be.id,
               "app_url": f"postgresql+psycopg://{app}:app-secret@127.0.0.1:5432/{db}"}
    finally:
        for st in stores:
            st.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{app}"')
            conn.execute(f'DROP ROLE IF EXISTS "{owner}"')


@pytest.mark.postgres
@pytest.mark.parametrize("role", ["owner", "app"])
def test_checks_see_every_tenant_under_forced_rls(pg_rls, role):
    import psycopg

    url = pg_rls["owner_url" if role == "owner" else "app_url"].replace("+psycopg", "")
    mf, be = pg_rls["meter_f"], pg_rls["batch_e"]
    ins = f"INSERT INTO raw_reading ({COLS}) VALUES (%s, %s, '', 'E', 1.0, now(), %s)"
    with psycopg.connect(url) as conn:
        with conn.transaction(force_rollback=True):
            conn.execute("SELECT set_config('app.tenant_ids', 'E', true)")
            assert conn.execute("SELECT row_security_active('raw_reading')").fetchone() == (True,)
            assert conn.execute("SELECT count(*) FROM meter WHERE id = %s", (mf,)).fetchone() == (0,)  # hidden
            conn.execute(ins, (mf, T0 + timedelta(minutes=15), be))  # yet the check finds it, like a FK
            assert conn.execute("SELECT current_setting('app.all_tenants', true)").fetchone()[0] != "on"
        with pytest.raises(psycopg.errors.ForeignKeyViolation), conn.transaction():
            conn.execute("SELECT set_config('app.tenant_ids', 'E', true)")
            conn.execute(ins, ("no-such-meter", T0 + timedelta(minutes=15), be))
        with pytest.raises(psycopg.errors.ForeignKeyViolation) as exc, conn.transaction():
            conn.execute("SELECT set_config('app.tenant_ids', 'F', true)")  # E's readings are hidden
            conn.execute("DELETE FROM meter WHERE id = %s", (mf,))
        assert mf in str(exc.value)
        with conn.transaction():
            conn.execute("SELECT set_config('app.tenant_ids', 'F', true)")
            assert conn.execute("SELECT current_setting('app.all_tenants', true)").fetchone()[0] != "on"
            assert conn.execute("SELECT count(*) FROM meter WHERE id = %s", (mf,)).fetchone() == (1,)


@pytest.mark.postgres
def test_service_ingest_as_the_application_role(pg_rls):
    """Under RLS PostgreSQL refuses COPY FROM into raw_reading: the repository loads a temporary
    table and inserts from it; the result is the same (and a resend is all duplicates)."""
    from parkcarbon.ingest.readings import ParsedReading
    from parkcarbon.services.ingestion import ingest_readings

    app = open_store(pg_rls["app_url"], migrate=False)
    try:
        @event.listens_for(app.engine, "begin")
        def _tenant(conn: Any) -> None:
            conn.exec_driver_sql("SELECT set_config('app.tenant_ids', 'E', true)")

        readings = [ParsedReading("ME", T0 + timedelta(minutes=15 * i), 10.0 + i) for i in range(1, 50)]
        res = ingest_readings(app, "E", readings, kind="test", now=NOW, derive=False)
        assert (res.inserted, res.duplicates, res.conflicts) == (49, 0, 0)
        res = ingest_readings(app, "E", [*readings[:10], ParsedReading("ME", T0, 99.0)], kind="test", now=NOW,
                              derive=False)
        assert (res.inserted, res.duplicates, res.conflicts) == (0, 10, 1)
    finally:
        app.dispose()
    with pg_rls["su"].reader() as repo:
        assert len(repo.raw_readings(pg_rls["meter_e"])) == 50
