"""Opening the store: pragmas, corrupt-store refusal (OPS-06), backup (R18), migrations up/down (OPS-01)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from parkcarbon.errors import StoreCorruptError, StoreError
from parkcarbon.storage import open_store
from parkcarbon.storage.models import Base


def test_sqlite_pragmas(sqlite_store):
    with sqlite_store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def _write_something(st):
    with st.transaction() as repo:
        park = repo.add_park(code="P", name="p")
        for i in range(200):
            repo.add_enterprise(name=f"enterprise {i} " + "x" * 100, park_id=park.id)


def test_corrupt_page_is_refused_not_replaced(tmp_path: Path):
    """OPS-06: a corrupted page → StoreCorruptError; the file is left as it was."""
    path = tmp_path / "s.sqlite"
    st = open_store(f"sqlite:///{path}")
    _write_something(st)
    with st.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    st.dispose()
    data = bytearray(path.read_bytes())
    page = 4096
    for off in range(2 * page, len(data), page):  # scribble over every page but the header pages
        data[off:off + 64] = b"\xde\xad\xbe\xef" * 16
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    with pytest.raises(StoreCorruptError) as exc:
        open_store(f"sqlite:///{path}")
    assert "restore from backup" in str(exc.value) and exc.value.code == "E-STORE-CORRUPT"
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("s.sqlite")) == ["s.sqlite"]


@pytest.mark.parametrize("how", ["truncate_half", "truncate_zero", "garbage"])
def test_truncated_or_garbage_store_is_refused(tmp_path: Path, how: str):
    path = tmp_path / "s.sqlite"
    st = open_store(f"sqlite:///{path}")
    _write_something(st)
    with st.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    st.dispose()
    data = path.read_bytes()
    path.write_bytes({"truncate_half": data[: len(data) // 2], "truncate_zero": b"",
                      "garbage": b"not a database" * 100}[how])
    with pytest.raises(StoreCorruptError):
        open_store(f"sqlite:///{path}")


def test_missing_store_not_created_without_create(tmp_path: Path):
    with pytest.raises(StoreError):
        open_store(f"sqlite:///{tmp_path / 'none.sqlite'}", create=False)
    assert not (tmp_path / "none.sqlite").exists()


def test_backup_sqlite_is_consistent(sqlite_store, tmp_path: Path):
    _write_something(sqlite_store)
    out = sqlite_store.backup(tmp_path / "bk" / "backup.sqlite")
    con = sqlite3.connect(out)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT count(*) FROM enterprise").fetchone()[0] == 200
    con.close()
    with pytest.raises(StoreError):
        sqlite_store.backup(out)  # never overwrites


@pytest.mark.postgres
def test_backup_postgres_pg_dump(pg_url, tmp_path: Path):
    import shutil

    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump not installed")
    st = open_store(pg_url)
    try:
        out = st.backup(tmp_path / "park.dump")
        assert out.stat().st_size > 0 and out.read_bytes()[:5] == b"PGDMP"
    finally:
        st.dispose()


def test_models_match_migrations(store):
    """The Alembic head creates exactly the schema of the ORM models (no drift)."""
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    if store.backend == "postgresql":
        # Documented difference (migration 0008_reading_integrity): on PostgreSQL raw_reading's two
        # foreign keys are replaced by set-based triggers (one check per statement, not per row);
        # the model keeps its ForeignKey declarations, which SQLite still enforces.
        diff = [d for d in diff if not (d[0] == "add_fk" and d[1].parent.name == "raw_reading"
                                        and d[1].name in ("fk_raw_reading_meter_id_meter",
                                                          "fk_raw_reading_batch_id_ingest_batch"))]
    assert diff == []


def test_migrations_down_and_up(store):
    """OPS-01: head → base → head on both backends; data written after is readable."""
    assert store.current_revision() == store.head_revision()
    store.downgrade("base")
    assert store.table_names() == ["alembic_version"]
    store.upgrade("head")
    assert store.current_revision() == store.head_revision()
    with store.transaction() as repo:
        repo.add_park(code="P", name="p")
    with store.reader() as repo:
        assert [p.code for p in repo.list_parks()] == ["P"]
