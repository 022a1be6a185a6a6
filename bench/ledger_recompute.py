"""Benchmark: full recompute of the monthly ledger from 15-minute interval readings in Parquet.

Generates a synthetic park (default 200 enterprises × 5 meters × 1 year ≈ 35 M rows; ``--full``:
2 000 × 5 × 1 year ≈ 350 M rows) and times, in the same run and on the same Parquet file:

* ``parkcarbon``  — :func:`parkcarbon.engines.ledger.recompute_ledger` with the DuckDB engine
  (sums + quality counts + expected intervals, enterprise × carrier × Asia/Shanghai month);
* ``duckdb-bare`` — one bare DuckDB SQL group-by (join meter register, sum per enterprise ×
  carrier × month) with no coverage counts;
* ``pandas``      — ``read_parquet`` + merge + ``groupby`` (skipped at ``--full``: 350 M rows do not
  fit in memory next to the others);
* ``numpy-load`` / ``numpy-kernel`` — loading the dense per-meter arrays, then the dense kernel alone.

Each step runs in its own spawned process so that its peak memory (``ru_maxrss``, minus the
process's baseline after imports) is its own; for parkcarbon and the numpy kernel a second,
untimed run reports the Python-side peak (``tracemalloc``). Run: ``python -m bench.ledger_recompute [--full]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STEPS = ("parkcarbon", "duckdb-bare", "pandas", "numpy")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _traced(fn: Any) -> float:
    """Peak Python-side allocation (tracemalloc: Python objects and numpy buffers) of a second,
    untimed run of ``fn`` [MiB]; native DuckDB memory is not traced (see peak RSS)."""
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _job(path: str, n_ent: int, n_met: int, months: int) -> Any:
    from parkcarbon.engines.ledger import LedgerJob
    from parkcarbon.engines.synthetic import synthetic_meters
    from parkcarbon.periods import Month

    first = Month(2025, 1)
    last = first
    for _ in range(months - 1):
        last = last.next()
    return LedgerJob.for_months(path, synthetic_meters(n_ent, n_met), first, last)


def _run_step(step: str, args: tuple[str, int, int, int, int], out: Any) -> None:
    path, n_ent, n_met, months, threads = args
    import duckdb
    import numpy as np
    import pandas as pd

    from parkcarbon.engines.dense import load_dense, monthly_kernel
    from parkcarbon.engines.duckdb_engine import recompute_duckdb

    job = _job(path, n_ent, n_met, months)
    base = _rss_mb()
    res: dict[str, Any] = {"step": step}
    if step == "parkcarbon":
        t = time.perf_counter()
        table = recompute_duckdb(job, threads=threads)
        res["seconds"] = time.perf_counter() - t
        res["total"] = float(np.nansum(table.quantity))
        res["rows_out"] = table.n_rows
        res["py_peak_mb"] = _traced(lambda: recompute_duckdb(job, threads=threads))
    elif step == "duckdb-bare":
        con = duckdb.connect()
        con.execute(f"SET threads = {threads}")
        meters = pd.DataFrame(
            {
                "meter_id": [int(m.meter_id) for m in job.meters],
                "enterprise_id": [m.enterprise_id for m in job.meters],
                "carrier": [m.carrier for m in job.meters],
            }
        )
        con.register("meters", meters)
        sql = (
            "SELECT m.enterprise_id, m.carrier, "
            "date_trunc('month', make_timestamp((r.ts_s + 28800) * 1000000)) AS month, sum(r.value) AS q "
            "FROM read_parquet(?) r JOIN meters m USING (meter_id) "
            "WHERE r.quality <= 2 AND r.ts_s >= ? AND r.ts_s < ? GROUP BY ALL"
        )
        t = time.perf_counter()
        rows = con.execute(sql, [path, job.start_s, job.end_s]).fetchall()
        res["seconds"] = time.perf_counter() - t
        res["total"] = float(sum(r[3] for r in rows if r[3] is not None))
        res["rows_out"] = len(rows)
    elif step == "pandas":
        meters = pd.DataFrame(
            {
                "meter_id": np.array([int(m.meter_id) for m in job.meters], dtype=np.int32),
                "enterprise_id": [m.enterprise_id for m in job.meters],
                "carrier": [m.carrier for m in job.meters],
            }
        )
        t = time.perf_counter()
        df = pd.read_parquet(path, columns=["meter_id", "ts_s", "value", "quality"])
        df = df[(df["ts_s"] >= job.start_s) & (df["ts_s"] < job.end_s)]
        df = df.merge(meters, on="meter_id", how="inner")
        df["month"] = (df["ts_s"].to_numpy() + 28800).astype("datetime64[s]").astype("datetime64[M]")
        df["summed"] = np.where(df["quality"].to_numpy() <= 2, df["value"].to_numpy(), np.nan)
        g = df.groupby(["enterprise_id", "carrier", "month"]).agg(
            q=("summed", "sum"), n=("quality", "size")
        )
        res["seconds"] = time.perf_counter() - t
        res["total"] = float(g["q"].sum())
        res["rows_out"] = len(g)
    elif step == "numpy":
        t = time.perf_counter()
        dense = load_dense(job)
        res["load_seconds"] = time.perf_counter() - t
        months_s = job.month_starts()
        t = time.perf_counter()
        sums, _counts = monthly_kernel(dense, months_s)
        res["seconds"] = time.perf_counter() - t
        res["total"] = float(sums.sum())
        res["rows_out"] = int(sums.size)  # meter × month cells (grouping not included)
        res["py_peak_mb"] = _traced(lambda: monthly_kernel(dense, months_s))
    res["peak_rss_mb"] = _rss_mb() - base
    res["peak_rss_abs_mb"] = _rss_mb()
    out.put(res)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="2 000 enterprises (≈350 M rows) instead of 200")
    ap.add_argument("--enterprises", type=int, default=None)
    ap.add_argument("--meters", type=int, default=5, help="meters per enterprise")
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    ap.add_argument("--dir", type=str, default=None, help="where to write the Parquet file (default: temp)")
    ap.add_argument("--keep", action="store_true", help="keep the generated Parquet file")
    ap.add_argument("--skip", action="append", default=[], choices=STEPS, help="skip a step")
    ap.add_argument("--json", type=str, default=None, help="append the figures as one JSON line to this file")
    a = ap.parse_args(argv)
    n_ent = a.enterprises or (2000 if a.full else 200)
    skip = set(a.skip)
    if a.full and "pandas" not in skip:
        print("pandas skipped at --full: 350 M rows as a DataFrame need > 20 GB next to the others")
        skip.add("pandas")

    from parkcarbon.engines.synthetic import write_synthetic_readings
    from parkcarbon.periods import Month

    workdir = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="parkcarbon-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"readings_{n_ent}x{a.meters}x{a.months}.parquet"
    first = Month(2025, 1)
    last = first
    for _ in range(a.months - 1):
        last = last.next()
    t = time.perf_counter()
    if not path.exists():
        write_synthetic_readings(
            path, n_enterprises=n_ent, meters_per_enterprise=a.meters, first=first, last=last, seed=42
        )
    gen_s = time.perf_counter() - t
    import pyarrow.parquet as pq

    n_rows = pq.ParquetFile(path).metadata.num_rows
    size_mb = path.stat().st_size / 2**20
    print(f"data: {n_ent} enterprises × {a.meters} meters × {a.months} months = {n_rows:,} rows, "
          f"{size_mb:,.0f} MiB Parquet ({gen_s:.1f} s to generate) in {path}")

    ctx = mp.get_context("spawn")
    results: dict[str, dict[str, Any]] = {}
    for step in STEPS:
        if step in skip:
            continue
        q = ctx.Queue()
        p = ctx.Process(target=_run_step, args=(step, (str(path), n_ent, a.meters, a.months, a.threads), q))
        p.start()
        res = q.get()
        p.join()
        results[step] = res
        extra = f", load {res['load_seconds']:.2f} s" if "load_seconds" in res else ""
        if "py_peak_mb" in res:
            extra += f", Python-side peak {res['py_peak_mb']:,.1f} MiB"
        print(f"{step:12s} {res['seconds']:8.2f} s{extra}  peak RSS {res['peak_rss_abs_mb']:,.0f} MiB "
              f"(+{res['peak_rss_mb']:,.0f} over imports)  "
              f"total {res['total']:.6e}  rows {res['rows_out']}")

    figures: dict[str, Any] = {
        "bench": "ledger_recompute", "rows": n_rows, "enterprises": n_ent, "meters": n_ent * a.meters,
        "months": a.months, "threads": a.threads, "results": results,
    }
    pc = results.get("parkcarbon")
    if pc:
        if "duckdb-bare" in results:
            r = pc["seconds"] / results["duckdb-bare"]["seconds"]
            figures["parkcarbon_over_duckdb_bare"] = r
            print(f"parkcarbon / bare DuckDB = {r:.2f}× (goal ≤ 1.5×)")
        if "pandas" in results:
            r = results["pandas"]["seconds"] / pc["seconds"]
            figures["pandas_over_parkcarbon"] = r
            print(f"pandas / parkcarbon = {r:.1f}× (goal ≥ 4×)")
        if "numpy" in results:
            r = pc["seconds"] / results["numpy"]["seconds"]
            figures["parkcarbon_over_numpy_kernel"] = r
            print(f"parkcarbon (DuckDB) / numpy dense kernel = {r:.1f}×")
        totals = {k: v["total"] for k, v in results.items()}
        spread = max(totals.values()) / min(totals.values()) - 1 if min(totals.values()) else float("nan")
        figures["total_rel_spread"] = spread
        print(f"grand totals agree within {spread:.1e} (relative)")
    if a.json:
        with open(a.json, "a", encoding="utf-8") as f:
            f.write(json.dumps(figures) + "\n")
    if not a.keep and not a.dir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
