"""OPS-01 (migrations with data) and OPS-02 (online backup and a real restore) for the service tables."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
import uuid
from pathlib import Path

import pytest
from api_helpers import World
from sqlalchemy import func, select, text

from parkcarbon.services.audit import audit, load_chain, verify_chain
from parkcarbon.storage import open_store
from parkcarbon.storage.models import EvidenceFile
from parkcarbon.storage.models_auth import AuditRecord, ResultSnapshot


def _counts(store) -> dict[str, int]:
    with store.reader() as repo:
        return {m.__tablename__: int(repo.session.scalar(select(func.count()).select_from(m)))
                for m in (AuditRecord, ResultSnapshot, EvidenceFile)}


def test_sqlite_backup_under_writes_and_restore(world_template: World, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(world_template.data_dir, data)
    store = open_store(f"sqlite:///{data / 'parkcarbon.sqlite'}")
    before = _counts(store)
    stop = threading.Event()
    written = 0

    def writer() -> None:
        nonlocal written
        while not stop.is_set():
            with store.session() as sess:
                audit(sess, actor="load", action="test.write", object_type="x", new={"i": written})
            written += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        while written < 5:
            pass
        backup = store.backup(tmp_path / "backup.sqlite")
    finally:
        stop.set()
        t.join()
    # restore: a fresh directory with the backup as the store and the (immutable) evidence files
    restored_dir = tmp_path / "restored"
    restored_dir.mkdir()
    shutil.copyfile(backup, restored_dir / "parkcarbon.sqlite")
    shutil.copytree(data / "evidence", restored_dir / "evidence")
    restored = open_store(f"sqlite:///{restored_dir / 'parkcarbon.sqlite'}")
    try:
        assert restored.integrity_check() == ["ok"]
        assert restored.current_revision() == restored.head_revision()
        got = _counts(restored)
        assert before["audit_log"] <= got["audit_log"] <= before["audit_log"] + written
        assert got["result_snapshot"] == before["result_snapshot"] and got["evidence_file"] == before["evidence_file"]
        with restored.session(write=False) as sess:
            assert verify_chain(load_chain(sess)).ok
            for ev in sess.scalars(select(EvidenceFile)):
                blob = (restored_dir / "evidence" / ev.stored_name).read_bytes()
                assert hashlib.sha256(blob).hexdigest() == ev.sha256
        # the restored store keeps its guards and accepts new writes
        with restored.session() as sess:
            audit(sess, actor="after-restore", action="test.write", object_type="x")
        with pytest.raises(Exception, match="E-AUDIT-APPEND-ONLY"):
            with restored.engine.begin() as conn:
                conn.execute(text("DELETE FROM audit_log"))
        print({"test_id": "OPS-02", "backend": "sqlite", "backup_bytes": os.path.getsize(backup),
               "rows_written_during_backup": written})
    finally:
        restored.dispose()
        store.dispose()


def test_upgrade_from_previous_revision_keeps_data_and_installs_guards(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.sqlite'}", migrate=False)
    try:
        store.upgrade("0001")
        with store.transaction() as repo:
            repo.add_park(code="OLD", name="before the service tables")
        store.upgrade("head")
        with store.session() as sess:
            audit(sess, actor="a", action="b", object_type="c")
        with store.reader() as repo:
            assert [p.code for p in repo.list_parks()] == ["OLD"]
        with store.session(write=False) as sess:
            assert verify_chain(load_chain(sess)).ok
        with pytest.raises(Exception, match="E-AUDIT-APPEND-ONLY"):
            with store.engine.begin() as conn:
                conn.execute(text("UPDATE audit_log SET actor = 'x'"))
        store.downgrade("0001")
        assert "audit_log" not in store.table_names() and "park" in store.table_names()
        store.upgrade("head")
        assert "audit_log" in store.table_names()
    finally:
        store.dispose()


@pytest.mark.postgres
def test_postgres_dump_and_restore(tmp_path: Path) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump / pg_restore not installed")
    import psycopg

    admin = os.environ.get("PARKCARBON_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    plain = admin.replace("+psycopg", "")
    try:
        psycopg.connect(plain, connect_timeout=3).close()
    except Exception:
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    tag = uuid.uuid4().hex[:8]
    src_db, dst_db = f"h7_bk_{tag}", f"h7_rs_{tag}"
    base = admin.rsplit("/", 1)[0]
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{src_db}"')
        conn.execute(f'CREATE DATABASE "{dst_db}"')
    src = dst = None
    try:
        src = open_store(f"{base}/{src_db}")
        with src.transaction() as repo:
            repo.add_park(code="P", name="p")
        with src.session() as sess:
            for i in range(20):
                audit(sess, actor="u", action="a", object_type="o", new={"i": i})
        dump = src.backup(tmp_path / "park.dump")
        proc = subprocess.run(["pg_restore", "--dbname", f"{base.replace('+psycopg', '')}/{dst_db}", str(dump)],
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        dst = open_store(f"{base}/{dst_db}")
        assert dst.current_revision() == src.current_revision()
        with dst.session(write=False) as sess:
            rep = verify_chain(load_chain(sess))
        assert rep.ok and rep.records == 20
        with pytest.raises(Exception, match="E-AUDIT-APPEND-ONLY"):
            with dst.engine.begin() as conn:
                conn.execute(text("DELETE FROM audit_log"))
    finally:
        for st in (src, dst):
            if st is not None:
                st.dispose()
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{src_db}" WITH (FORCE)')
            conn.execute(f'DROP DATABASE IF EXISTS "{dst_db}" WITH (FORCE)')
