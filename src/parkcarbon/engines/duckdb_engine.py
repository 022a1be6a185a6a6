"""The DuckDB engine of the ledger recompute (default): SQL over the Parquet files, embedded.

One pass groups the window's readings by meter × Asia/Shanghai local day × quality (a hash
aggregation on integer keys); the small result is mapped to enterprise × carrier × month in
numpy (:func:`parkcarbon.engines.ledger.from_day_groups`). Since 1992 the local day is integer
arithmetic on UTC epoch seconds (UTC+8, no DST); older windows use DuckDB's ICU time zones.
A row with a null, NaN or infinite value counts as missing whatever its quality flag, a negative
value as suspect (R5: negative quantities are never summed). (Written
as ``NOT isfinite(value)``: DuckDB 1.x/2.0 folds ``isnan(value)`` to false when the Parquet
column statistics, which leave NaN out, show a finite min/max.)
"""

from __future__ import annotations

import duckdb
import numpy as np

from parkcarbon.core.metering import DST_FREE_FROM_S, REPORTING_OFFSET_S
from parkcarbon.engines.ledger import LedgerJob, LedgerTable, from_day_groups

__all__ = ["day_groups_sql", "recompute_duckdb"]


def day_groups_sql(job: LedgerJob) -> str:
    """The SQL of the grouping pass (parameters: file list, window start, window end)."""
    if job.start_s >= DST_FREE_FROM_S:
        day = f"(ts_s + {REPORTING_OFFSET_S}) // 86400"
    else:
        day = "epoch(date_trunc('day', timezone('Asia/Shanghai', to_timestamp(ts_s))))::BIGINT // 86400"
    return (
        f"SELECT meter_id, {day} AS day, "
        "CASE WHEN value IS NULL OR NOT isfinite(value) THEN 3 "
        "WHEN value < 0 AND quality <= 2 THEN 4 ELSE quality END::INTEGER AS q, "
        "count(*) AS n, sum(value) AS s "
        "FROM read_parquet(?) WHERE ts_s >= ? AND ts_s < ? GROUP BY ALL"
    )


def recompute_duckdb(
    job: LedgerJob, *, connection: duckdb.DuckDBPyConnection | None = None, threads: int | None = None
) -> LedgerTable:
    """Recompute the ledger of ``job`` on DuckDB (an in-memory connection unless one is given)."""
    con = connection if connection is not None else duckdb.connect()
    try:
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        if job.start_s < DST_FREE_FROM_S:
            con.execute("SET TimeZone = 'UTC'")
        res = con.execute(day_groups_sql(job), [job.files(), job.start_s, job.end_s]).fetchnumpy()
    finally:
        if connection is None:
            con.close()
    total = np.ma.filled(np.ma.asarray(res["s"], dtype=np.float64), 0.0)
    return from_day_groups(
        job,
        np.asarray(res["meter_id"]),
        np.asarray(res["day"], dtype=np.int64),
        np.asarray(res["q"], dtype=np.int64),
        np.asarray(res["n"], dtype=np.int64),
        total,
        "duckdb",
    )
