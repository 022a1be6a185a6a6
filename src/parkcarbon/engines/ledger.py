"""Full recompute of the monthly activity ledger from interval readings: one job, several engines.

The job (:class:`LedgerJob`) groups 15-minute interval readings stored in Parquet by enterprise ×
carrier × Asia/Shanghai month and counts their quality, so every total has its coverage
(DESIGN.md §3–4, RELIABILITY.md R3–R4, R12). Engines (``engine=``):

* ``"duckdb"`` (default) — DuckDB over the Parquet files, embedded, no server;
* ``"numpy"`` — load into dense per-meter arrays on the fixed grid, then a reduce kernel
  (:mod:`parkcarbon.engines.dense`): the fastest when the arrays stay in memory and are recomputed;
* ``"python"`` — a row-by-row pure-Python reference (small data, tests).

All engines give identical counts and totals equal up to floating-point summation order.

Parquet layout of interval readings (one row per meter × interval, natural key
``(meter_id, ts_s)`` unique — the store guarantees it):

==========  ==============  =====================================================================
column      type            meaning
==========  ==============  =====================================================================
meter_id    int or string   the meter; mapped to enterprise and carrier by ``LedgerJob.meters``
ts_s        int64           interval start, UTC epoch seconds [s], on the ``interval_s`` grid
value       float64 (null)  quantity of the interval [carrier canonical unit]; null/NaN/inf = missing
quality     uint8           :class:`parkcarbon.core.metering.QualityCode`
==========  ==============  =====================================================================

Measured, edited and estimated values are summed; suspect and missing are not. An absent row is
a missing interval; a null/NaN/inf value is missing and a negative value suspect, whatever the flag. A month with nothing summed has quantity ``NaN`` and is still listed.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from parkcarbon.core.activity import ActivityRecord, Flow, Quality
from parkcarbon.core.carriers import carrier as lookup_carrier
from parkcarbon.core.metering import DEFAULT_INTERVAL_S, PeriodLevel, period_end, period_label, period_start
from parkcarbon.errors import CalculationError, InputError, Location, PeriodError
from parkcarbon.periods import Month

__all__ = [
    "ENGINES",
    "LedgerJob",
    "LedgerTable",
    "MeterInfo",
    "recompute_ledger",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class MeterInfo:
    """Which enterprise and carrier a meter's readings belong to (计量点档案)."""

    meter_id: int | str
    enterprise_id: str
    carrier: str

    def __post_init__(self) -> None:
        lookup_carrier(self.carrier)  # raises UnknownCarrierError


@dataclass(frozen=True)
class LedgerJob:
    """A ledger recompute: readings (Parquet paths or a glob), meter register, months, grid.

    ``start_s``/``end_s`` must be Asia/Shanghai month boundaries [s]; readings outside are
    ignored. Use :meth:`for_months` to build one from :class:`~parkcarbon.periods.Month` values.
    """

    readings: tuple[str, ...]
    meters: tuple[MeterInfo, ...]
    start_s: int
    end_s: int
    interval_s: int = DEFAULT_INTERVAL_S

    def __post_init__(self) -> None:
        if not self.readings:
            raise InputError("a ledger job needs readings", message_zh="台账重算任务缺少读数文件")
        if not self.meters:
            raise InputError("a ledger job needs a meter register", message_zh="台账重算任务缺少计量点档案")
        ids = [m.meter_id for m in self.meters]
        if len(set(ids)) != len(ids):
            raise InputError("meter ids repeat in the meter register", message_zh="计量点档案中表号重复")
        if len({type(i) for i in ids}) != 1:
            raise InputError(
                "meter ids must all be integers or all strings", message_zh="表号必须全为整数或全为字符串"
            )
        if 86400 % self.interval_s:
            raise PeriodError(
                f"interval {self.interval_s} s does not divide a day",
                message_zh=f"间隔 {self.interval_s} 秒不能整除一天",
            )
        if self.end_s <= self.start_s:
            raise PeriodError("job window is empty", message_zh="任务时间窗口为空")
        for edge in (self.start_s, self.end_s):
            if int(period_start(np.array([edge]), PeriodLevel.MONTH)[0]) != edge:
                raise PeriodError(
                    f"job window edge {edge} is not the start of an Asia/Shanghai month",
                    message_zh=f"任务时间窗口边界 {edge} 不是北京时间月初",
                    hint="use LedgerJob.for_months(first, last, ...)",
                    hint_zh="请使用 LedgerJob.for_months(起始月, 结束月, ...)",
                )

    @classmethod
    def for_months(
        cls,
        readings: str | Path | Iterable[str | Path],
        meters: Iterable[MeterInfo],
        first: Month,
        last: Month,
        *,
        interval_s: int = DEFAULT_INTERVAL_S,
    ) -> LedgerJob:
        paths = (str(readings),) if isinstance(readings, str | Path) else tuple(str(p) for p in readings)
        return cls(paths, tuple(meters), int(first.start_utc.timestamp()), int(last.end_utc.timestamp()), interval_s)

    def files(self) -> list[str]:
        """The Parquet files: each entry is a file, a directory (its ``*.parquet``) or a glob."""
        out: list[str] = []
        for entry in self.readings:
            p = Path(entry)
            if p.is_dir():
                out.extend(sorted(str(f) for f in p.glob("*.parquet")))
            elif any(ch in entry for ch in "*?["):
                out.extend(sorted(glob.glob(entry)))
            elif p.exists():
                out.append(str(p))
            else:
                raise InputError(
                    f"readings file {entry} does not exist",
                    message_zh=f"读数文件 {entry} 不存在",
                    location=Location(file=entry),
                )
        if not out:
            raise InputError(
                f"no Parquet files match {', '.join(self.readings)}",
                message_zh=f"没有匹配 {', '.join(self.readings)} 的 Parquet 文件",
            )
        return out

    def month_starts(self) -> I64:
        """Start of every month of the window [s]."""
        out = [self.start_s]
        while True:
            nxt = int(period_end(np.array([out[-1]]), PeriodLevel.MONTH)[0])
            if nxt >= self.end_s:
                break
            out.append(nxt)
        return np.array(out, dtype=np.int64)

    def groups(self) -> tuple[list[tuple[str, str]], I64]:
        """Sorted (enterprise, carrier) groups and each meter's group index (in ``meters`` order)."""
        keys = sorted({(m.enterprise_id, m.carrier) for m in self.meters})
        pos = {k: i for i, k in enumerate(keys)}
        return keys, np.array([pos[(m.enterprise_id, m.carrier)] for m in self.meters], dtype=np.int64)


@dataclass(frozen=True, eq=False)
class LedgerTable:
    """Monthly ledger totals with coverage: one row per enterprise × carrier × month.

    Sorted by (enterprise, carrier, month). ``quantity`` [carrier canonical unit] is ``NaN``
    where nothing was summed. ``n_expected`` = meters of the group × intervals of the month.
    ``engine`` names the engine that computed it.
    """

    enterprise_id: tuple[str, ...]
    carrier: tuple[str, ...]
    month_start_s: I64
    quantity: F64
    n_expected: I64
    n_measured: I64
    n_edited: I64
    n_estimated: I64
    n_suspect: I64
    n_missing: I64
    engine: str
    n_unmapped_readings: int = 0

    @property
    def n_rows(self) -> int:
        return int(self.month_start_s.shape[0])

    def coverage_frac(self) -> F64:
        """(measured + edited + estimated) / expected [-]."""
        return ((self.n_measured + self.n_edited + self.n_estimated) / self.n_expected).astype(np.float64)

    def month(self, i: int) -> Month:
        lab = period_label(int(self.month_start_s[i]), PeriodLevel.MONTH)
        return Month(int(lab[:4]), int(lab[5:7]))

    def to_activity_records(self, *, flow: Flow = Flow.CONSUMED, source: str = "meter-aggregate") -> tuple[
        ActivityRecord, ...
    ]:
        """Ledger rows as :class:`ActivityRecord` (quality: missing if nothing summed, estimated if any
        estimate, edited if any edit, else measured). Coverage stays in this table."""
        out = []
        for i in range(self.n_rows):
            m = self.month(i)
            q = float(self.quantity[i])
            if not np.isfinite(q):
                quality, qty = Quality.MISSING, None
            elif self.n_estimated[i]:
                quality, qty = Quality.ESTIMATED, q
            elif self.n_edited[i]:
                quality, qty = Quality.EDITED, q
            else:
                quality, qty = Quality.MEASURED, q
            if qty is not None and qty < 0:
                raise CalculationError(
                    f"negative monthly total {qty} for {self.enterprise_id[i]} {self.carrier[i]} {m}",
                    message_zh=f"{self.enterprise_id[i]} {self.carrier[i]} {m} 月度合计为负数 {qty}",
                    hint="check the meters' flow direction (export meters belong to flow 'exported')",
                    hint_zh="请检查表计方向（外送电量应记为“外供”）",
                )
            rid = f"{source}:{self.enterprise_id[i]}:{self.carrier[i]}:{m}"
            cov = float(self.coverage_frac()[i])
            out.append(
                ActivityRecord(
                    rid, self.enterprise_id[i], m, self.carrier[i], flow, qty,
                    source=f"{source} (coverage {cov:.1%})", quality=quality,
                )
            )
        return tuple(out)

    def equals(self, other: LedgerTable, *, rel_tol: float = 1e-9) -> bool:
        """Same rows, identical counts, quantities equal within ``rel_tol`` (NaN equals NaN)."""
        same_keys = (
            self.enterprise_id == other.enterprise_id
            and self.carrier == other.carrier
            and np.array_equal(self.month_start_s, other.month_start_s)
        )
        if not same_keys:
            return False
        for a, b in (
            (self.n_expected, other.n_expected), (self.n_measured, other.n_measured),
            (self.n_edited, other.n_edited), (self.n_estimated, other.n_estimated),
            (self.n_suspect, other.n_suspect), (self.n_missing, other.n_missing),
        ):
            if not np.array_equal(a, b):
                return False
        if self.n_unmapped_readings != other.n_unmapped_readings:
            return False
        return bool(np.allclose(self.quantity, other.quantity, rtol=rel_tol, atol=0.0, equal_nan=True))


def build_table(
    job: LedgerJob,
    meter_month_sum: F64,
    meter_month_counts: dict[int, I64],
    engine: str,
    n_unmapped: int,
) -> LedgerTable:
    """Group per-meter × month results (arrays ``[n_meters, n_months]`` in ``job.meters`` order)
    into the ledger table. ``meter_month_counts`` maps quality code → count array."""
    keys, gidx = job.groups()
    months = job.month_starts()
    n_g, n_m = len(keys), months.shape[0]
    ends = period_end(months, PeriodLevel.MONTH)
    slots = ((ends - months) // job.interval_s).astype(np.int64)
    counts = {
        code: np.zeros((n_g, n_m), dtype=np.int64) for code in range(5)
    }
    for code, arr in meter_month_counts.items():
        np.add.at(counts[code], gidx, arr.astype(np.int64))
    summed_n = counts[0] + counts[1] + counts[2]
    per_meter_present = sum(meter_month_counts[c] for c in range(5) if c != 3)
    if (np.asarray(per_meter_present) > slots[None, :]).any():
        bad = np.argwhere(np.asarray(per_meter_present) > slots[None, :])[0]
        raise CalculationError(
            f"meter {job.meters[int(bad[0])].meter_id} has more readings than intervals in "
            f"{period_label(int(months[int(bad[1])]), PeriodLevel.MONTH)}: duplicate (meter_id, ts_s) keys",
            message_zh=f"表 {job.meters[int(bad[0])].meter_id} 在 "
            f"{period_label(int(months[int(bad[1])]), PeriodLevel.MONTH)} 的读数多于时段数：存在重复键",
            location=Location(record=str(job.meters[int(bad[0])].meter_id)),
        )
    qty = np.zeros((n_g, n_m))
    np.add.at(qty, gidx, np.where(np.isfinite(meter_month_sum), meter_month_sum, 0.0))
    qty[summed_n == 0] = np.nan
    meters_per_group = np.bincount(gidx, minlength=n_g).astype(np.int64)
    expected = meters_per_group[:, None] * slots[None, :]
    n_missing = expected - summed_n - counts[4]
    return LedgerTable(
        tuple(k[0] for k in keys for _ in range(n_m)),
        tuple(k[1] for k in keys for _ in range(n_m)),
        np.tile(months, n_g),
        qty.reshape(-1),
        expected.reshape(-1),
        counts[0].reshape(-1),
        counts[2].reshape(-1),
        counts[1].reshape(-1),
        counts[4].reshape(-1),
        n_missing.reshape(-1),
        engine,
        int(n_unmapped),
    )


def _engines() -> dict[str, Callable[[LedgerJob], LedgerTable]]:
    from parkcarbon.engines.dense import recompute_numpy
    from parkcarbon.engines.duckdb_engine import recompute_duckdb
    from parkcarbon.engines.reference import recompute_python

    return {"duckdb": recompute_duckdb, "numpy": recompute_numpy, "python": recompute_python}


#: engine names accepted by :func:`recompute_ledger`
ENGINES: Sequence[str] = ("duckdb", "numpy", "python")


def recompute_ledger(job: LedgerJob, engine: str = "duckdb") -> LedgerTable:
    """Recompute the monthly ledger of ``job`` with the chosen engine (see module docstring)."""
    table = _engines().get(engine)
    if table is None:
        raise InputError(
            f"unknown ledger engine {engine!r}",
            message_zh=f"未知的计算引擎 {engine!r}",
            hint=f"use one of {', '.join(ENGINES)}",
            hint_zh=f"请使用 {', '.join(ENGINES)} 之一",
        )
    return table(job)


def meter_index(job: LedgerJob, ids: npt.NDArray[np.generic]) -> I64:
    """Position of each meter id in ``job.meters`` (−1 for meters not in the register)."""
    known = [m.meter_id for m in job.meters]
    if isinstance(known[0], int) and ids.dtype.kind in "iu":
        ref = np.array(known, dtype=np.int64)
        order = np.argsort(ref)
        sorted_ref = ref[order]
        arr = ids.astype(np.int64)
        pos = np.minimum(np.searchsorted(sorted_ref, arr), len(known) - 1)
        hit = sorted_ref[pos] == arr
        return np.where(hit, order[pos], -1).astype(np.int64)
    lookup = {str(k): i for i, k in enumerate(known)}
    return np.array([lookup.get(str(x), -1) for x in ids.tolist()], dtype=np.int64)


def from_day_groups(
    job: LedgerJob,
    meter_ids: npt.NDArray[np.generic],
    local_day: I64,
    quality: I64,
    count: I64,
    total: F64,
    engine: str,
) -> LedgerTable:
    """Build the ledger from rows grouped by (meter, Asia/Shanghai local day number, quality).

    ``local_day`` = local wall-clock seconds // 86 400; ``total`` is the sum of values of the group.
    """
    from parkcarbon.core.metering import utc_offsets

    months = job.month_starts()
    month_local = months + utc_offsets(months)
    midx = np.searchsorted(month_local, local_day.astype(np.int64) * 86400, side="right") - 1
    mi = meter_index(job, meter_ids)
    known = mi >= 0
    n_unmapped = int(count[~known].sum())
    mi, midx, q, n, s = mi[known], midx[known], quality[known], count[known], total[known]
    shape = (len(job.meters), months.shape[0])
    flat = mi * shape[1] + midx
    size = shape[0] * shape[1]
    counts = {
        code: np.bincount(flat[q == code], weights=n[q == code], minlength=size).astype(np.int64).reshape(shape)
        for code in range(5)
    }
    summed = q <= 2
    sums = np.bincount(flat[summed], weights=s[summed], minlength=size).reshape(shape).astype(np.float64)
    return build_table(job, sums, counts, engine, n_unmapped)
