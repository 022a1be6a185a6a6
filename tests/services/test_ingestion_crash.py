"""ING-07 (reduced): the ingest process is killed with SIGKILL mid-batch, then re-run.

Paths: (c) a CSV upload (all-or-nothing: after a kill the rows are all there or none), and
(b) HTTP batches with an Idempotency-Key, retried by the client after the crash. After every
iteration the SQLite store must pass ``PRAGMA integrity_check``, and after the re-run the
stored readings equal the client's ledger exactly: 0 lost, 0 duplicated.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.t2

_SETUP = textwrap.dedent("""
    import sys
    from parkcarbon.settings import Settings
    from parkcarbon.storage import open_store
    st = open_store(f"sqlite:///{sys.argv[1]}", settings=Settings(data_dir=sys.argv[2]))
    with st.transaction() as repo:
        repo.add_enterprise(name="e", enterprise_id="E01")
        for code in ("M1", "M2"):
            repo.add_meter(tenant_id="E01", enterprise_id="E01", code=code, carrier="electricity", unit="kWh",
                           kind="cumulative", interval_s=900, role="grid_import")
""")

_CSV = textwrap.dedent("""
    import sys
    from datetime import datetime, timedelta, timezone
    from parkcarbon.settings import Settings
    from parkcarbon.storage import open_store
    from parkcarbon.services.ingestion import import_readings
    settings = Settings(data_dir=sys.argv[2])
    st = open_store(f"sqlite:///{sys.argv[1]}", settings=settings)
    t0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
    lines = ["表计编号,时间,读数"]
    for code in ("M1", "M2"):
        lines += [f"{code},{(t0 + timedelta(minutes=15 * i)).isoformat()},{1000 + 2.5 * i}" for i in range(N_ROWS)]
    import_readings(st, ("\\n".join(lines) + "\\n").encode(), "big.csv", tenant_id="E01", uploader="t",
                    settings=settings, now=datetime(2026, 1, 1, tzinfo=timezone.utc))
    print("done")
""")

_HTTP = textwrap.dedent("""
    import json, sys
    from datetime import datetime, timedelta, timezone
    from parkcarbon.settings import Settings
    from parkcarbon.storage import open_store
    from parkcarbon.services.ingestion import ingest_http_batch
    settings = Settings(data_dir=sys.argv[2])
    st = open_store(f"sqlite:///{sys.argv[1]}", settings=settings)
    t0 = datetime(2025, 6, 1, tzinfo=timezone.utc)
    for b in range(N_BATCHES):
        body = json.dumps({"readings": [{"meter": "M2", "ts": (t0 + timedelta(minutes=15 * (b * 100 + i))).isoformat(),
                                         "value": float(b * 100 + i)} for i in range(100)]}).encode()
        res = ingest_http_batch(st, "E01", f"key-{b}", body, settings=settings,
                                now=datetime(2026, 1, 1, tzinfo=timezone.utc))
        assert res.status in (200, 201), res
    print("done")
""")


def _run(script: str, db: Path, data: Path, *, kill_after_s: float | None = None) -> bool:
    """Run a script; with ``kill_after_s``, SIGKILL it then. True if it finished by itself."""
    proc = subprocess.Popen([sys.executable, "-c", script, str(db), str(data)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if kill_after_s is None:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        return True
    time.sleep(kill_after_s)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    return proc.returncode == 0


def _check(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = dict(con.execute("SELECT m.code, count(*) FROM raw_reading r JOIN meter m ON m.id = r.meter_id "
                                "GROUP BY m.code").fetchall())
        dup = con.execute("SELECT count(*) FROM (SELECT meter_id, ts_utc, channel FROM raw_reading "
                          "GROUP BY 1, 2, 3 HAVING count(*) > 1)").fetchone()[0]
        assert dup == 0
        return rows
    finally:
        con.close()


def test_kill9_during_csv_upload_and_http_batches(tmp_path):
    rng = random.Random(7)
    n_rows, n_batches = 6000, 30
    db, data = tmp_path / "store.sqlite", tmp_path / "data"
    _run(_SETUP, db, data)
    csv_script = _CSV.replace("N_ROWS", str(n_rows))
    partial = []
    for _ in range(3):  # (c) CSV upload killed at a random moment: all or nothing
        _run(csv_script, db, data, kill_after_s=rng.uniform(0.5, 3.0))
        rows = _check(db)
        got = (rows.get("M1", 0), rows.get("M2", 0))
        partial.append(got)
        assert got in ((0, 0), (n_rows, n_rows)), f"partial upload committed: {got}"
    _run(csv_script, db, data)  # the retry completes (or is a no-op)
    assert _check(db) == {"M1": n_rows, "M2": n_rows}
    http_script = _HTTP.replace("N_BATCHES", str(n_batches))
    for _ in range(3):  # (b) HTTP batches, client retries everything after the crash
        _run(http_script, db, data, kill_after_s=rng.uniform(0.5, 3.0))
        rows = _check(db)
        assert (rows.get("M2", 0) - n_rows) % 100 == 0  # whole batches only
    _run(http_script, db, data)
    assert _check(db) == {"M1": n_rows, "M2": n_rows + 100 * n_batches}  # 0 lost, 0 duplicated
    con = sqlite3.connect(db)
    keys = con.execute("SELECT count(*), count(DISTINCT idempotency_key) FROM ingest_batch WHERE kind = 'http'").fetchone()
    con.close()
    assert keys == (n_batches, n_batches)
    print(f"ING-07 reduced: CSV states after kills {partial}; HTTP {n_batches} batches exactly once")
