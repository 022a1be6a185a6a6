"""MRV-03 (b, c): the audit log is append-only and every tampering is detected by the chain."""

from __future__ import annotations

import random
import shutil
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from parkcarbon.services.audit import audit, load_chain, verify_chain
from parkcarbon.storage import open_store


def _fill(store, n: int) -> None:
    with store.session() as sess:
        for i in range(n):
            audit(sess, actor=f"user{i % 3}", action="test.change", object_type="thing", object_id=str(i),
                  tenant_id=f"t{i % 2}", old={"v": i}, new={"v": i + 1}, reason="because", request_id=f"r{i}")


def test_update_and_delete_are_refused(store):
    _fill(store, 3)
    for sql in ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", "DELETE FROM audit_log WHERE seq = 3"):
        with pytest.raises(DBAPIError) as exc:
            with store.engine.begin() as conn:
                conn.execute(text(sql))
        assert "E-AUDIT-APPEND-ONLY" in str(exc.value)
    with store.session(write=False) as sess:
        rep = verify_chain(load_chain(sess))
    assert rep.ok and rep.records == 3


def _tampered_copy(src, dst, kind: str, rng: random.Random) -> None:
    """Tamper like an attacker with file access: triggers dropped, then one change."""
    shutil.copyfile(src, dst)
    con = sqlite3.connect(dst)
    try:
        con.execute("DROP TRIGGER trg_audit_log_no_update")
        con.execute("DROP TRIGGER trg_audit_log_no_delete")
        n = con.execute("SELECT max(seq) FROM audit_log").fetchone()[0]
        seq = rng.randint(1, n)
        if kind == "flip":
            col = rng.choice(["actor", "action", "object_id", "old_json", "new_json", "reason", "request_id"])
            val = con.execute(f"SELECT {col} FROM audit_log WHERE seq = ?", (seq,)).fetchone()[0] or "x"
            i = rng.randrange(len(val))
            flipped = val[:i] + chr((ord(val[i]) ^ 1) or 65) + val[i + 1:]
            con.execute(f"UPDATE audit_log SET {col} = ? WHERE seq = ?", (flipped, seq))
        elif kind == "delete":
            con.execute("DELETE FROM audit_log WHERE seq = ?", (seq,))
        else:  # reorder: swap the contents of two rows (keeping their seq)
            other = seq % n + 1
            cols = "ts, actor, tenant_id, action, object_type, object_id, old_json, new_json, reason, request_id, " \
                   "ip, outcome, prev_hash, hash"
            a = con.execute(f"SELECT {cols} FROM audit_log WHERE seq = ?", (seq,)).fetchone()
            b = con.execute(f"SELECT {cols} FROM audit_log WHERE seq = ?", (other,)).fetchone()
            sets = ", ".join(f"{c.strip()} = ?" for c in cols.split(","))
            con.execute(f"UPDATE audit_log SET {sets} WHERE seq = ?", (*b, seq))
            con.execute(f"UPDATE audit_log SET {sets} WHERE seq = ?", (*a, other))
        con.commit()
    finally:
        con.close()


def test_tampering_is_detected(sqlite_store, tmp_path):
    """100 tampered copies (byte flips, deletions, reorders): every one detected; no false alarm."""
    _fill(sqlite_store, 40)
    src = sqlite_store.sqlite_path
    with sqlite_store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    rng = random.Random(7)
    detected = 0
    for i in range(100):
        kind = ("flip", "delete", "reorder")[i % 3]
        dst = tmp_path / f"copy{i}.sqlite"
        _tampered_copy(src, dst, kind, rng)
        st_ = open_store(f"sqlite:///{dst}", migrate=False)
        with st_.session(write=False) as sess:
            detected += not verify_chain(load_chain(sess)).ok
        st_.dispose()
    assert detected == 100
    with sqlite_store.session(write=False) as sess:
        assert verify_chain(load_chain(sess)).ok


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=20), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)),
                min_size=1, max_size=8))
def test_chain_verifies_for_any_content(tmp_path_factory, items):
    """Property: any sequence of appended records (any text, any JSON) verifies; seq has no gaps."""
    path = tmp_path_factory.mktemp("chain") / "a.sqlite"
    st_ = open_store(f"sqlite:///{path}")
    try:
        with st_.session() as sess:
            for actor, new in items:
                audit(sess, actor=actor or "?", action="x", object_type="y", new=new)
        with st_.session(write=False) as sess:
            chain = load_chain(sess)
        assert verify_chain(chain).ok
        assert [r.seq for r in chain] == list(range(1, len(items) + 1))
    finally:
        st_.dispose()
