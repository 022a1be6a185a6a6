"""Bulk ingest of interval readings: parkcarbon vs the backend's own raw bulk load; incremental update.

1. ``bulk``: N readings (``--meters`` × rows each) are stored through parkcarbon's service
   (:func:`parkcarbon.services.ingestion.ingest_readings`: meter lookup, future-time quarantine,
   duplicate/conflict check against the store, insert, batch record — derivation off), in
   batches of ``--batch`` rows, one transaction each; and the same rows by the backend's own
   raw bulk load in the same run, same batches (SQLite: ``executemany`` in one transaction per
   batch with the same pragmas; PostgreSQL: ``COPY``), into two tables created by plain DDL:
   a bare table (meter, ts, value; the headline ``ratio``, goal ≥ 0.5), and a table with
   exactly ``raw_reading``'s columns, types and primary key, loaded with the very tuples
   parkcarbon stored (read back from its store; PostgreSQL: binary ``COPY``) —
   ``ratio_same_schema``: what the service costs on top of storing its rows at all.
2. ``incremental``: a park of ``--park-meters`` cumulative 15-min meters, five per enterprise,
   with ``--history-days`` of stored and derived history; one new day arrives as one batch per
   enterprise (stored with derivation deferred), then the park-wide incremental update
   (:func:`parkcarbon.services.derivation.derive_pending`: increments → day blocks → day/month
   totals → ledger, only the touched meters and periods) is timed (goal < 1 s).

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


#: raw_reading's columns, types and primary key as the migrations create them (plain DDL, no
#: foreign keys: the baseline database has no meters or batches)
RAW_COLS = ("meter_id", "ts_utc", "channel", "tenant_id", "value", "source_offset_min", "gateway_id", "gateway_seq",
            "received_at", "batch_id")
SQLITE_RAW_DDL = """CREATE TABLE raw_reading (
    meter_id VARCHAR(36) NOT NULL, ts_utc DATETIME NOT NULL, channel VARCHAR(40) NOT NULL,
    tenant_id VARCHAR(64) NOT NULL, value FLOAT NOT NULL, source_offset_min INTEGER, gateway_id VARCHAR(100),
    gateway_seq BIGINT, received_at DATETIME NOT NULL, batch_id VARCHAR(36) NOT NULL,
    CONSTRAINT pk_raw_reading PRIMARY KEY (meter_id, ts_utc, channel))"""
PG_RAW_DDL = """CREATE TABLE raw_reading (
    meter_id varchar(36) NOT NULL, ts_utc timestamptz NOT NULL, channel varchar(40) NOT NULL,
    tenant_id varchar(64) NOT NULL, value float8 NOT NULL, source_offset_min integer, gateway_id varchar(100),
    gateway_seq bigint, received_at timestamptz NOT NULL, batch_id varchar(36) NOT NULL,
    CONSTRAINT pk_raw_reading PRIMARY KEY (meter_id, ts_utc, channel))"""
PG_RAW_TYPES = ("varchar", "timestamptz", "varchar", "varchar", "float8", "int4", "varchar", "int8", "timestamptz",
                "varchar")
#: the readings parkcarbon stored in the timed run (not the warm-up one), in the order it got them
STORED_SQL = (f"SELECT {', '.join('r.' + c for c in RAW_COLS)} FROM raw_reading r JOIN meter m ON m.id = r.meter_id "
              "WHERE r.ts_utc >= {p} ORDER BY m.code, r.ts_utc, r.channel")


def _sqlite_stored(path: Path) -> list[tuple[object, ...]]:
    con = sqlite3.connect(path)
    try:
        ts0 = T0.replace(tzinfo=None).isoformat(" ", "microseconds")
        return con.execute(STORED_SQL.format(p="?"), (ts0,)).fetchall()
    finally:
        con.close()


def _pg_stored(url: str) -> list[tuple[object, ...]]:
    import psycopg

    with psycopg.connect(url.replace("+psycopg", "")) as con:
        return con.execute(STORED_SQL.format(p="%s"), (T0,)).fetchall()


def _sqlite_raw_same_schema(path: Path, stored: list[tuple[object, ...]], batch: int) -> float:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute(SQLITE_RAW_DDL)
    sql = f"INSERT INTO raw_reading ({', '.join(RAW_COLS)}) VALUES ({', '.join('?' * len(RAW_COLS))})"
    t = time.perf_counter()
    for i in range(0, len(stored), batch):
        con.execute("BEGIN")
        con.executemany(sql, stored[i:i + batch])
        con.execute("COMMIT")
    dt = time.perf_counter() - t
    con.close()
    return len(stored) / dt


def _pg_raw_same_schema(url: str, stored: list[tuple[object, ...]], batch: int) -> float:
    import psycopg

    with psycopg.connect(url) as con:
        con.execute(PG_RAW_DDL)
        con.commit()
        t = time.perf_counter()
        for i in range(0, len(stored), batch):
            with con.cursor() as cur, cur.copy(f"COPY raw_reading ({', '.join(RAW_COLS)}) FROM STDIN "
                                               "(FORMAT BINARY)") as cp:
                cp.set_types(PG_RAW_TYPES)
                for r in stored[i:i + batch]:
                    cp.write_row(r)
            con.commit()
        dt = time.perf_counter() - t
    return len(stored) / dt


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
        stored = _sqlite_stored(tmp / "pc.sqlite")
        raw = _sqlite_raw(tmp / "raw.sqlite", rows, batch)
        same = _sqlite_raw_same_schema(tmp / "raw_same.sqlite", stored, batch)
        raw_name = "sqlite executemany"
        same_name = "sqlite executemany, raw_reading's columns and primary key"
    else:
        a, b, c = _pg_db(), _pg_db(), _pg_db()
        try:
            if a is None or b is None or c is None:
                return {"backend": backend, "skipped": "PostgreSQL not reachable"}
            pc = _parkcarbon_bulk(a[1], rows, n_meters, batch, settings)
            stored = _pg_stored(a[1])
            raw = _pg_raw(b[1], rows, batch)
            same = _pg_raw_same_schema(c[1], stored, batch)
        finally:
            for db in (a, b, c):
                if db is not None:
                    _pg_drop(db[0])
        raw_name = "COPY"
        same_name = "COPY (binary), raw_reading's columns and primary key"
    assert len(stored) == len(rows)
    return {"bench": "ingest_bulk", "backend": backend, "rows": len(rows), "batch": batch,
            "parkcarbon_rows_per_s": round(pc), "raw": raw_name, "raw_rows_per_s": round(raw),
            "ratio": round(pc / raw, 3), "raw_same_schema": same_name, "raw_same_schema_rows_per_s": round(same),
            "ratio_same_schema": round(pc / same, 3), "goal_ratio": 0.5}


ROLES = ("grid_import", "grid_import", "consumption", "consumption", "onsite_generation")


def _setup_park(store, n_meters: int) -> list[str]:  # type: ignore[no-untyped-def]
    """A park of ``n_meters`` cumulative 15-min electricity meters, five per enterprise (own tenant)."""
    tenants = []
    with store.transaction() as repo:
        park = repo.add_park(code="BENCH", name="bench park")
        for e in range(-(-n_meters // 5)):
            ent = repo.add_enterprise(name=f"enterprise {e}", park_id=park.id, enterprise_id=f"E{e:04d}")
            tenants.append(ent.tenant_id)
            for k in range(min(5, n_meters - 5 * e)):
                repo.add_meter(tenant_id=ent.tenant_id, enterprise_id=ent.id, code=f"M{5 * e + k:05d}",
                               carrier="electricity", unit="kWh", kind="cumulative", interval_s=900, role=ROLES[k],
                               register_max=99_999_999.99)
    return tenants


def incremental(backend: str, n_meters: int, history_days: int, tmp: Path) -> dict[str, object]:
    """One new day for the park: every enterprise's gateway batch is stored (derivation deferred),
    then the park-wide incremental update (:func:`derive_pending`) is timed."""
    from parkcarbon.ingest.readings import ParsedReading
    from parkcarbon.services.derivation import derive_pending
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
        tenants = _setup_park(store, n_meters)

        def day(d: int, e: int) -> list[ParsedReading]:
            start = T0 + timedelta(days=d)
            return [ParsedReading(f"M{m:05d}", start + timedelta(minutes=15 * i), 1000.0 + (d * 96 + i) * 1.25 * (1 + m % 7))
                    for m in range(5 * e, min(5 * e + 5, n_meters)) for i in range(96)]

        def store_day(d: int) -> int:
            n = 0
            for e, tenant in enumerate(tenants):
                n += ingest_readings(store, tenant, day(d, e), kind="bench", settings=settings, now=NOW,
                                     derive=False).inserted
            return n

        for d in range(history_days):  # history, derived day by day (untimed)
            store_day(d)
            with store.transaction() as repo:
                derive_pending(repo)
        t = time.perf_counter()
        new_readings = store_day(history_days)
        t_store = time.perf_counter() - t
        t = time.perf_counter()
        with store.transaction() as repo:  # timed with its commit: the update is durable when it returns
            out = derive_pending(repo)
        dt = time.perf_counter() - t
        with store.reader() as repo:  # the ledger now has the month of the new day for every enterprise
            assert len(repo.activity_rows(park_id=repo.list_parks()[0].id)) >= len(tenants)
        store.dispose()
    finally:
        if pg is not None:
            _pg_drop(pg[0])
    return {"bench": "ingest_incremental", "backend": backend, "meters": n_meters, "enterprises": len(tenants),
            "history_days": history_days, "new_readings": new_readings, "store_batches_s": round(t_store, 3),
            "increments_written": out.increments_written, "ledger_records": out.ledger_records,
            "update_s": round(dt, 3), "goal_s": 1.0, "per_meter_ms": round(1000 * dt / n_meters, 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.ingest_bulk", description=__doc__.split("\n")[0])
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--meters", type=int, default=100)
    ap.add_argument("--rows-per-meter", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=20_000)
    ap.add_argument("--park-meters", type=int, default=2000, help="meters of the incremental-update park")
    ap.add_argument("--history-days", type=int, default=3, help="days stored and derived before the new day")
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
                figures.append(incremental(be, args.park_meters, args.history_days, tmp))
                print(json.dumps(figures[-1]), flush=True)
    if args.json:
        with args.json.open("a", encoding="utf-8") as fh:
            for f in figures:
                fh.write(json.dumps(f) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
