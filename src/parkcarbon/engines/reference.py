"""The pure-Python reference engine of the ledger recompute: row by row, for tests on small data.

It shares no arithmetic with the other engines: months come from ``zoneinfo`` via
:meth:`parkcarbon.periods.Month.of`, sums are plain Python ``math.fsum`` per group.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime

import numpy as np
import pyarrow.dataset as ds

from parkcarbon.engines.ledger import LedgerJob, LedgerTable
from parkcarbon.errors import CalculationError, ConflictError, Location, PeriodError
from parkcarbon.periods import Month

__all__ = ["recompute_python"]


def recompute_python(job: LedgerJob) -> LedgerTable:
    """Recompute the ledger of ``job`` row by row (slow: small data only)."""
    rows = ds.dataset(job.files(), format="parquet").to_table(
        columns=["meter_id", "ts_s", "value", "quality"]
    ).to_pylist()
    info = {m.meter_id: m for m in job.meters}
    months: list[Month] = []
    m = Month.of(datetime.fromtimestamp(job.start_s, UTC))
    while int(m.start_utc.timestamp()) < job.end_s:
        months.append(m)
        m = m.next()
    groups = sorted({(x.enterprise_id, x.carrier) for x in job.meters})
    values: dict[tuple[str, str, Month], list[float]] = defaultdict(list)
    counts: dict[tuple[str, str, Month, int], int] = defaultdict(int)
    seen: set[tuple[object, int]] = set()
    unmapped = 0
    for r in rows:
        ts = int(r["ts_s"])
        if not job.start_s <= ts < job.end_s:
            continue
        meter = info.get(r["meter_id"])
        if meter is None:
            unmapped += 1
            continue
        if (ts - job.start_s) % job.interval_s:
            raise PeriodError(
                f"reading at {ts} is not on the grid", message_zh=f"时刻 {ts} 的读数不在时间网格上",
                location=Location(record=str(r["meter_id"]), value=ts),
            )
        key = (r["meter_id"], ts)
        if key in seen:
            raise ConflictError(
                "duplicate (meter_id, ts_s) keys in the readings",
                message_zh="读数中存在重复的（表号，时间）键",
                location=Location(record=str(r["meter_id"]), value=ts),
            )
        seen.add(key)
        month = Month.of(datetime.fromtimestamp(ts, UTC))
        v = r["value"]
        q = 3 if v is None or not math.isfinite(v) else int(r["quality"])
        if q <= 2 and v < 0:
            q = 4  # a negative quantity is never summed
        counts[(meter.enterprise_id, meter.carrier, month, q)] += 1
        if q <= 2:
            values[(meter.enterprise_id, meter.carrier, month)].append(float(v))
    n_meters: dict[tuple[str, str], int] = defaultdict(int)
    for x in job.meters:
        n_meters[(x.enterprise_id, x.carrier)] += 1
    ent, car, start, qty = [], [], [], []
    cols: dict[str, list[int]] = {k: [] for k in ("exp", "meas", "edit", "est", "sus", "miss")}
    for e, c in groups:
        for month in months:
            slots = int((month.end_utc - month.start_utc).total_seconds()) // job.interval_s
            expected = n_meters[(e, c)] * slots
            meas, est, edit, sus = (counts[(e, c, month, q)] for q in (0, 1, 2, 4))
            vals = values.get((e, c, month))
            ent.append(e)
            car.append(c)
            start.append(int(month.start_utc.timestamp()))
            qty.append(math.fsum(vals) if vals else math.nan)
            if meas + est + edit + sus > expected:
                raise CalculationError("more readings than intervals", message_zh="读数多于时段数")
            for k, v in zip(
                ("exp", "meas", "edit", "est", "sus", "miss"),
                (expected, meas, edit, est, sus, expected - meas - est - edit - sus),
                strict=True,
            ):
                cols[k].append(v)
    i64 = np.int64
    return LedgerTable(
        tuple(ent), tuple(car), np.array(start, dtype=i64), np.array(qty, dtype=np.float64),
        np.array(cols["exp"], dtype=i64), np.array(cols["meas"], dtype=i64), np.array(cols["edit"], dtype=i64),
        np.array(cols["est"], dtype=i64), np.array(cols["sus"], dtype=i64), np.array(cols["miss"], dtype=i64),
        "python", unmapped,
    )
