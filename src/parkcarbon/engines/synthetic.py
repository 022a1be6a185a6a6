"""Synthetic 15-minute interval readings in Parquet, for tests and benchmarks (no downloaded data).

A park of ``n_enterprises`` × ``meters_per_enterprise`` meters (carriers cycle through
electricity, natural gas, steam and fresh water) with a daily load shape and noise; a fraction
of intervals is absent (missing), has a null value, or is flagged estimated or suspect. Written
in row groups so that the full-size benchmark (350 M rows) never holds all rows in memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from parkcarbon.core.metering import DEFAULT_INTERVAL_S, QualityCode
from parkcarbon.engines.ledger import LedgerJob, MeterInfo
from parkcarbon.periods import Month

__all__ = ["READINGS_SCHEMA", "synthetic_meters", "write_synthetic_readings"]

READINGS_SCHEMA = pa.schema(
    [
        ("meter_id", pa.int32()),
        ("ts_s", pa.int64()),
        ("value", pa.float64()),
        ("quality", pa.uint8()),
    ]
)

_CARRIERS = ("electricity", "electricity", "natural_gas", "steam", "fresh_water")


def synthetic_meters(n_enterprises: int, meters_per_enterprise: int) -> tuple[MeterInfo, ...]:
    """Meter register of the synthetic park: meter ``k`` of enterprise ``e`` has id ``e·m + k``."""
    return tuple(
        MeterInfo(e * meters_per_enterprise + k, f"E{e:05d}", _CARRIERS[k % len(_CARRIERS)])
        for e in range(n_enterprises)
        for k in range(meters_per_enterprise)
    )


def write_synthetic_readings(
    path: str | Path,
    *,
    n_enterprises: int,
    meters_per_enterprise: int,
    first: Month,
    last: Month,
    interval_s: int = DEFAULT_INTERVAL_S,
    seed: int = 0,
    absent_frac: float = 0.01,
    null_frac: float = 0.001,
    estimated_frac: float = 0.005,
    suspect_frac: float = 0.001,
    meters_per_batch: int = 100,
) -> LedgerJob:
    """Write readings to one Parquet file and return the matching :class:`LedgerJob`.

    Rows are ordered by meter, then time (as a store export would be).
    """
    meters = synthetic_meters(n_enterprises, meters_per_enterprise)
    job = LedgerJob.for_months(str(path), meters, first, last, interval_s=interval_s)
    # the file does not exist yet: LedgerJob only checks its window here
    rng = np.random.default_rng(seed)
    n_slots = (job.end_s - job.start_s) // interval_s
    ts = job.start_s + np.arange(n_slots, dtype=np.int64) * interval_s
    hour = ((ts + 8 * 3600) % 86400) / 3600.0
    shape = (1.0 + 0.4 * np.sin((hour - 8.0) / 24.0 * 2 * np.pi)).astype(np.float64)
    with pq.ParquetWriter(str(path), READINGS_SCHEMA, compression="snappy") as writer:
        for b0 in range(0, len(meters), meters_per_batch):
            batch = meters[b0 : b0 + meters_per_batch]
            n_m = len(batch)
            base = rng.lognormal(mean=3.0, sigma=1.0, size=(n_m, 1))
            value = (base * shape[None, :] * rng.uniform(0.8, 1.2, size=(n_m, n_slots))).round(3)
            u = rng.random((n_m, n_slots))
            quality = np.zeros((n_m, n_slots), dtype=np.uint8)
            quality[u < estimated_frac + suspect_frac] = QualityCode.ESTIMATED
            quality[u < suspect_frac] = QualityCode.SUSPECT
            present = rng.random((n_m, n_slots)) >= absent_frac
            nulls = rng.random((n_m, n_slots)) < null_frac
            ids = np.repeat(np.array([int(m.meter_id) for m in batch], dtype=np.int32), n_slots)
            flat_present = present.reshape(-1)
            val_arr = pa.array(value.reshape(-1)[flat_present], mask=nulls.reshape(-1)[flat_present])
            table = pa.Table.from_arrays(
                [
                    pa.array(ids[flat_present]),
                    pa.array(np.tile(ts, n_m)[flat_present]),
                    val_arr,
                    pa.array(quality.reshape(-1)[flat_present]),
                ],
                schema=READINGS_SCHEMA,
            )
            writer.write_table(table, row_group_size=1_000_000)
    return job
