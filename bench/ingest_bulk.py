"""Bulk ingest of interval readings: parkcarbon vs the backend's own raw bulk load; incremental update.

1. ``bulk``: N readings (``--meters`` × rows each) are stored through parkcarbon's service
   (:func:`parkcarbon.services.ingestion.ingest_readings`: meter lookup, future-time quarantine,
   duplicate/conflict check against the store, insert, batch record — derivation off), in
   batches of ``--batch`` rows, one transaction each; and the same rows by the backend's own
   raw bulk load into a bare table in the same run (SQLite: ``executemany`` in one transaction
   per batch with the same pragmas; PostgreSQL: ``COPY``). Printed: rows/s of each and the
   ratio (goal ≥ 0.5).
2. ``incremental``: a park of ``--park-meters`` cumulative 15-min meters with one day of
   history; then one new day arrives and the incremental update (increments → hour/day/month
   aggregates → ledger, only the touched meters and periods) is timed (goal < 1 s).

    python -m bench.ingest_bulk                        # SQLite and PostgreSQL (if reachable)
    python -m bench.ingest_bulk --backend sqlite --meters 100 --rows-per-meter 1000
    python -m bench.ingest_bulk --park-meters 2000 --json figures.jsonl
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

T0 = datetime(2025, 3, 1, 16, 0, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _readings(n_meters: int, per_meter: int) -> list[tuple[str, datetime, float]]:
    return [(f"M{m:05d}", T0 + timedelta(minutes=15 * i), 1000.0 + 1.25 * i)
            for m in range(n_meters) for i in range(per_meter)]


def _setup_meters(store, n_meters: int, *, kind: str = "interval") -> None:  # type: ignore[no-untyped-def]
    with store.transaction() as repo:
        repo.add_enterprise(name="bench", enterprise_id="E")
        for m in range(n_meters):
            repo.add_meter(tenant_id="E", enterprise_id="E", code=f"M{m:05d}", carrier="electricity", unit="kWh",
                           kind=kind, interval_s=900, role="grid_import", register_max=99_999_999.99
                           if kind == "cumulative" else None)


def _parkcarbon_bulk(url: str, rows: list[tuple[str, datetime, float]], n_meters: int, batch: int,
                     settings) -> float:  # type: ignore[no-untyped-def]
    from parkcarbon.ingest.readings import ParsedReading
    from parkcarbon.services.ingestion import ingest_readings
    from parkcarbon.storage import open_store

    store = open_store(url, settings=settings)
    _setup_meters(store, n_meters)
    parsed = [ParsedReading(c, t, v) for c, t, v in rows]
    # untimed warm-up on one reading a year earlier (imports, prepared statements), as the raw
    # baselines have none to do; it is counted in the row check below
    ingest_readings(store, "E", [ParsedReading(rows[0][0], rows[0][1] - timedelta(days=365), 0.0)], kind="bench",
                    settings=settings, now=NOW, derive=False)
    t = time.perf_counter()
    for i in range(0, len(parsed), batch):
        ingest_readings(store, "E", parsed[i:i + batch], kind="bench", settings=settings, now=NOW, derive=False)
    dt = time.perf_counter() - t
    with store.reader() as repo:
        assert repo.count_readings("E") == len(rows) + 1
    store.dispose()
    return len(rows) / dt


def _sqlite_raw(path: Path, rows: list[tuple[str, datetime, float]], batch: int) -> float:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE r (meter TEXT, ts TEXT, value REAL, PRIMARY KEY (meter, ts))")
    t = time.perf_counter()
    for i in range(0, len(rows), batch):
        con.execute("BEGIN")
        con.executemany("INSERT INTO r VALUES (?, ?, ?)",
                        [(c, ts.isoformat(), v) for c, ts, v in rows[i:i + batch]])
        con.execute("COMMIT")
    dt = time.perf_counter() - t
    con.close()
    return len(rows) / dt


def _pg_raw(url: str, rows: list[tuple[str, datetime, float]], batch: int) -> float:
    import psycopg

    with psycopg.connect(url) as con:
        con.execute("CREATE TABLE r (meter text, ts timestamptz, value float8, PRIMARY KEY (meter, ts))")
        con.commit()
        t = time.perf_counter()
        for i in range(0, len(rows), batch):
            with con.cursor() as cur, cur.copy("COPY r (meter, ts, value) FROM STDIN") as cp:
                for r in rows[i:i + batch]:
                    cp.write_row(r)
            con.commit()
        dt = time.perf_counter() - t
    return len(rows) / dt


def _pg_db() -> tuple[str, str] | None:
    try:
        import psycopg

        name = f"h3a_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return name, PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    except Exception:
        return None


def _pg_drop(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bulk(backend: str, n_meters: int, per_meter: int, batch: int, tmp: Path) -> dict[str, object]:
    from parkcarbon.settings import Settings

    rows = _readings(n_meters, per_meter)
    settings = Settings(data_dir=tmp / "data")
    if backend == "sqlite":
        pc = _parkcarbon_bulk(f"sqlite:///{tmp / 'pc.sqlite'}", rows, n_meters, batch, settings)
        raw = _sqlite_raw(tmp / "raw.sqlite", rows, batch)
        raw_name = "sqlite executemany"
    else:
        a, b = _pg_db(), _pg_db()
        if a is None or b is None:
            return {"backend": backend, "skipped": "PostgreSQL not reachable"}
        try:
            pc = _parkcarbon_bulk(a[1], rows, n_meters, batch, settings)
            raw = _pg_raw(b[1], rows, batch)
        finally:
            _pg_drop(a[0])
            _pg_drop(b[0])
        raw_name = "COPY"
    return {"bench": "ingest_bulk", "backend": backend, "rows": len(rows), "batch": batch,
            "parkcarbon_rows_per_s": round(pc), "raw": raw_name, "raw_rows_per_s": round(raw),
            "ratio": round(pc / raw, 3), "goal_ratio": 0.5}


def incremental(backend: str, n_meters: int, tmp: Path) -> dict[str, object]:
    from parkcarbon.ingest.readings import ParsedReading
    from parkcarbon.services.derivation import derive_touched
    from parkcarbon.services.ingestion import ingest_readings
    from parkcarbon.settings import Settings
    from parkcarbon.storage import open_store

    settings = Settings(data_dir=tmp / "data")
    pg = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'inc.sqlite'}"
    else:
        pg = _pg_db()
        if pg is None:
            return {"backend": backend, "skipped": "PostgreSQL not reachable"}
        url = pg[1]
    try:
        store = open_store(url, settings=settings)
        _setup_meters(store, n_meters, kind="cumulative")

        def day(d: int) -> list[ParsedReading]:
            start = T0 + timedelta(days=d)
            return [ParsedReading(f"M{m:05d}", start + timedelta(minutes=15 * i), 1000.0 + (d * 96 + i) * 1.25)
                    for m in range(n_meters) for i in range(96)]

        ingest_readings(store, "E", day(0), kind="bench", settings=settings, now=NOW, derive=True)
        res = ingest_readings(store, "E", day(1), kind="bench", settings=settings, now=NOW, derive=False)
        # the incremental update of the new day only (raw insert measured by the bulk benchmark)
        with store.transaction() as repo:
            t = time.perf_counter()
            touched = {m.id: (T0 + timedelta(days=1), T0 + timedelta(days=1, hours=23, minutes=45))
                       for m in repo.list_meters(tenant_id="E")}
            out = derive_touched(repo, touched)
            dt = time.perf_counter() - t
        store.dispose()
    finally:
        if pg is not None:
            _pg_drop(pg[0])
    return {"bench": "ingest_incremental", "backend": backend, "meters": n_meters, "new_readings": res.inserted,
            "increments_written": out.increments_written, "update_s": round(dt, 3), "goal_s": 1.0,
            "per_meter_ms": round(1000 * dt / n_meters, 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.ingest_bulk", description=__doc__.split("\n")[0])
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--meters", type=int, default=100)
    ap.add_argument("--rows-per-meter", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=20_000)
    ap.add_argument("--park-meters", type=int, default=2000, help="meters of the incremental-update park")
    ap.add_argument("--skip-incremental", action="store_true")
    ap.add_argument("--json", type=Path, help="append the figures as JSON lines")
    args = ap.parse_args(argv)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    figures = []
    with tempfile.TemporaryDirectory(prefix="h3a-bench-") as d:
        for be in backends:
            tmp = Path(d) / be
            tmp.mkdir()
            figures.append(bulk(be, args.meters, args.rows_per_meter, args.batch, tmp))
            print(json.dumps(figures[-1]), flush=True)
            if not args.skip_incremental:
                figures.append(incremental(be, args.park_meters, tmp))
                print(json.dumps(figures[-1]), flush=True)
    if args.json:
        with args.json.open("a", encoding="utf-8") as fh:
            for f in figures:
                fh.write(json.dumps(f) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
