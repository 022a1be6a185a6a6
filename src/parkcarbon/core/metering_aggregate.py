"""Aggregation interval → hour → day → month in Asia/Shanghai, with coverage (汇总与覆盖率).

Stage "aggregate" of the meter-data pipeline (DESIGN.md §3). Periods are Asia/Shanghai local
hours, days and months, half-open, labelled by their start, stored as UTC epoch seconds.
Every total carries its coverage: how many of the period's expected intervals were measured,
edited, estimated, suspect or missing (RELIABILITY.md R4, R12). A period with nothing summed has
total ``NaN`` (missing is not zero).

Incremental roll-up (DESIGN.md §4 "new data never forces a rescan of the year"):
:func:`touched_periods` names the periods that new or changed slots fall in; the caller
re-aggregates only those (:func:`aggregate` with ``periods=``) and merges them into the existing
totals with :func:`replace_periods`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from parkcarbon.core.activity import Quality
from parkcarbon.core.metering_series import IntervalSeries, QualityCode
from parkcarbon.core.metering_time import PeriodLevel, period_end, period_label, period_start
from parkcarbon.errors import CalculationError, ConflictError, InputError, Location

__all__ = [
    "BlockTotals",
    "PeriodTotals",
    "aggregate",
    "aggregate_blocks",
    "aggregate_slots",
    "period_quality",
    "replace_periods",
    "rollup",
    "touched_periods",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

_ORDER = {PeriodLevel.HOUR: 0, PeriodLevel.DAY: 1, PeriodLevel.MONTH: 2}


@dataclass(frozen=True, eq=False)
class PeriodTotals:
    """Totals of one meter (or virtual meter) per period, with quality counts.

    Arrays are aligned and sorted by ``period_start_s``. ``total`` [``unit``] sums measured,
    edited and estimated slots; ``NaN`` when none. ``n_expected`` = slots of the whole period
    (``(end − start) / interval_s``); ``n_missing`` = expected − all other counts (slots absent
    from the input are missing).
    """

    level: PeriodLevel
    interval_s: int
    period_start_s: I64
    period_end_s: I64
    total: F64
    n_expected: I64
    n_measured: I64
    n_edited: I64
    n_estimated: I64
    n_suspect: I64
    n_missing: I64
    unit: str = ""
    meter_id: str = ""

    @property
    def n_periods(self) -> int:
        return int(self.period_start_s.shape[0])

    def label(self, i: int) -> str:
        """Local label of period ``i`` (``2025-03``, ``2025-03-01``, ``2025-03-01T08``)."""
        return period_label(int(self.period_start_s[i]), self.level)

    def coverage_frac(self) -> F64:
        """(measured + edited + estimated) / expected per period [-]."""
        return ((self.n_measured + self.n_edited + self.n_estimated) / self.n_expected).astype(np.float64)

    def measured_frac(self) -> F64:
        """(measured + edited) / expected per period: real data only [-]."""
        return ((self.n_measured + self.n_edited) / self.n_expected).astype(np.float64)

    def grand_total(self) -> float | None:
        """Sum of all period totals [unit]; ``None`` if nothing was summed."""
        ok = np.isfinite(self.total)
        return float(self.total[ok].sum()) if ok.any() else None

    def select(self, mask: npt.NDArray[np.bool_]) -> PeriodTotals:
        """The periods where ``mask`` is true."""
        return PeriodTotals(
            self.level, self.interval_s, self.period_start_s[mask], self.period_end_s[mask],
            self.total[mask], self.n_expected[mask], self.n_measured[mask], self.n_edited[mask],
            self.n_estimated[mask], self.n_suspect[mask], self.n_missing[mask], self.unit, self.meter_id,
        )


@dataclass(frozen=True, eq=False)
class BlockTotals:
    """Totals of many blocks of slots at once, one row per block (a meter's day, or its hours).

    Same meaning as :class:`PeriodTotals` (``total`` NaN when nothing was summed; ``n_expected``
    = slots per block), without period bookkeeping: the caller knows what each row is.
    """

    total: F64
    n_expected: I64
    n_measured: I64
    n_edited: I64
    n_estimated: I64
    n_suspect: I64
    n_missing: I64


def aggregate_blocks(value: npt.ArrayLike, quality: npt.ArrayLike) -> BlockTotals:
    """Sum a 2-D array of slots (rows = blocks, e.g. days of many meters) in one vectorised step.

    ``value`` [unit] and ``quality`` (:class:`QualityCode`) have shape (blocks, slots); every slot
    of a block is present (gaps are ``MISSING``). Row ``i`` equals :func:`aggregate_slots` of
    block ``i`` over the period the block covers.
    """
    val = np.asarray(value, dtype=np.float64)
    q = np.asarray(quality, dtype=np.uint8)
    if val.shape != q.shape or val.ndim != 2:
        raise InputError("values and qualities must be 2-D arrays of equal shape",
                         message_zh="数值与质量必须是同形状的二维数组")
    summed = q <= QualityCode.EDITED
    total = np.where(summed, val, 0.0).sum(axis=1)
    counts = {code: np.count_nonzero(q == code, axis=1).astype(np.int64) for code in QualityCode}
    n_summed = counts[QualityCode.MEASURED] + counts[QualityCode.EDITED] + counts[QualityCode.ESTIMATED]
    total[n_summed == 0] = np.nan
    return BlockTotals(total, np.full(val.shape[0], val.shape[1], dtype=np.int64), counts[QualityCode.MEASURED],
                       counts[QualityCode.EDITED], counts[QualityCode.ESTIMATED], counts[QualityCode.SUSPECT],
                       counts[QualityCode.MISSING])


def period_quality(n_expected: int, n_measured: int, n_edited: int, n_estimated: int) -> Quality:
    """Quality of a period total from its slot counts (R4, R12): nothing summed → missing; any
    estimate → estimated; fewer slots summed than expected → suspect (a partial total); else
    measured."""
    n_sum = n_measured + n_edited + n_estimated
    if n_sum == 0:
        return Quality.MISSING
    if n_estimated > 0:
        return Quality.ESTIMATED
    if n_sum < n_expected:
        return Quality.SUSPECT
    return Quality.MEASURED


def touched_periods(ts_s: npt.ArrayLike, level: PeriodLevel | str) -> I64:
    """Sorted unique starts [s] of the Asia/Shanghai periods containing the given instants."""
    return np.unique(period_start(np.asarray(ts_s, dtype=np.int64), level))


def aggregate_slots(
    slot_start_s: npt.ArrayLike,
    value: npt.ArrayLike,
    quality: npt.ArrayLike,
    *,
    interval_s: int,
    level: PeriodLevel | str,
    periods: npt.ArrayLike | None = None,
    unit: str = "",
    meter_id: str = "",
) -> PeriodTotals:
    """Aggregate one meter's slots (any order, no duplicates) to Asia/Shanghai periods.

    Parameters
    ----------
    slot_start_s : slot starts, UTC epoch seconds [s]; each slot lies inside one period
        (``interval_s`` divides an hour).
    value : quantity per slot [unit]; ignored unless quality is measured/edited/estimated.
    quality : :class:`QualityCode` per slot.
    periods : restrict to these period starts [s] (incremental re-aggregation); default: every
        period containing a slot.

    The result does not depend on the order of the slots (up to floating-point summation order).
    """
    lvl = PeriodLevel(level)
    ts = np.asarray(slot_start_s, dtype=np.int64)
    val = np.asarray(value, dtype=np.float64)
    q = np.asarray(quality, dtype=np.uint8)
    if ts.shape != val.shape or ts.shape != q.shape or ts.ndim != 1:
        raise InputError(
            "slot starts, values and qualities must be 1-D arrays of equal length",
            message_zh="时段起点、数值、质量必须是等长的一维数组",
            location=Location(record=meter_id or None),
        )
    if 3600 % interval_s != 0:
        raise CalculationError(
            f"interval {interval_s} s does not divide an hour",
            message_zh=f"间隔 {interval_s} 秒不能整除一小时",
        )
    if np.unique(ts).shape[0] != ts.shape[0]:
        raise ConflictError(
            "duplicate slot starts in one meter's series",
            message_zh="同一计量点的时段起点重复",
            location=Location(record=meter_id or None),
        )
    p_of_slot = period_start(ts, lvl)
    starts = np.unique(p_of_slot) if periods is None else np.unique(np.asarray(periods, dtype=np.int64))
    n_p = starts.shape[0]
    idx = np.searchsorted(starts, p_of_slot)
    idx_clip = np.minimum(idx, max(n_p - 1, 0))
    keep = (idx < n_p) & (starts[idx_clip] == p_of_slot) if n_p else np.zeros(ts.shape, dtype=np.bool_)
    idx, val, q = idx[keep], val[keep], q[keep]
    ends = period_end(starts, lvl)
    summed = q <= QualityCode.EDITED
    totals = np.bincount(idx[summed], weights=val[summed], minlength=n_p).astype(np.float64)
    counts = {code: np.bincount(idx[q == code], minlength=n_p).astype(np.int64) for code in QualityCode}
    n_expected = ((ends - starts) // interval_s).astype(np.int64)
    n_summed = counts[QualityCode.MEASURED] + counts[QualityCode.EDITED] + counts[QualityCode.ESTIMATED]
    totals[n_summed == 0] = np.nan
    n_missing = n_expected - n_summed - counts[QualityCode.SUSPECT]
    return PeriodTotals(
        lvl, int(interval_s), starts, ends, totals, n_expected,
        counts[QualityCode.MEASURED], counts[QualityCode.EDITED], counts[QualityCode.ESTIMATED],
        counts[QualityCode.SUSPECT], n_missing, unit, meter_id,
    )


def aggregate(
    series: IntervalSeries, level: PeriodLevel | str, *, periods: npt.ArrayLike | None = None
) -> PeriodTotals:
    """Aggregate a grid series to Asia/Shanghai hours, days or months (see :func:`aggregate_slots`)."""
    return aggregate_slots(
        series.slot_starts(), series.value, series.quality, interval_s=series.interval_s, level=level,
        periods=periods, unit=series.unit, meter_id=series.meter_id,
    )


def rollup(totals: PeriodTotals, level: PeriodLevel | str) -> PeriodTotals:
    """Roll finer totals up to a coarser level (hour → day → month), keeping the counts.

    ``rollup(aggregate(s, "hour"), "day")`` equals ``aggregate(s, "day")``. Sub-periods absent
    from ``totals`` count as missing in the coarser period.
    """
    lvl = PeriodLevel(level)
    if _ORDER[lvl] < _ORDER[totals.level]:
        raise CalculationError(
            f"cannot roll {totals.level.value} totals down to {lvl.value}",
            message_zh=f"不能把 {totals.level.value} 汇总拆分到 {lvl.value}",
        )
    p_of = period_start(totals.period_start_s, lvl)
    starts, idx = np.unique(p_of, return_inverse=True)
    n_p = starts.shape[0]
    ends = period_end(starts, lvl)

    def s(a: I64) -> I64:
        return np.bincount(idx, weights=a, minlength=n_p).astype(np.int64)

    ok = np.isfinite(totals.total)
    tot = np.bincount(idx[ok], weights=totals.total[ok], minlength=n_p).astype(np.float64)
    meas, edit, est, sus = s(totals.n_measured), s(totals.n_edited), s(totals.n_estimated), s(totals.n_suspect)
    n_summed = meas + edit + est
    tot[n_summed == 0] = np.nan
    n_expected = ((ends - starts) // totals.interval_s).astype(np.int64)
    return PeriodTotals(
        lvl, totals.interval_s, starts, ends, tot, n_expected, meas, edit, est, sus,
        n_expected - n_summed - sus, totals.unit, totals.meter_id,
    )


def replace_periods(existing: PeriodTotals, fresh: PeriodTotals) -> PeriodTotals:
    """Merge re-aggregated periods into existing totals: rows of ``fresh`` replace rows of
    ``existing`` with the same period start; all other existing rows are kept unchanged."""
    if existing.level is not fresh.level or existing.interval_s != fresh.interval_s:
        raise CalculationError(
            "cannot merge totals of different levels or grids",
            message_zh="不同汇总层级或时间网格的汇总结果不能合并",
        )
    keep = ~np.isin(existing.period_start_s, fresh.period_start_s)
    old = existing.select(keep)
    order = np.argsort(np.concatenate((old.period_start_s, fresh.period_start_s)), kind="stable")

    def cat(a: npt.NDArray[np.generic], b: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
        return np.concatenate((a, b))[order]

    return PeriodTotals(
        existing.level, existing.interval_s,
        cat(old.period_start_s, fresh.period_start_s).astype(np.int64),
        cat(old.period_end_s, fresh.period_end_s).astype(np.int64),
        cat(old.total, fresh.total).astype(np.float64),
        cat(old.n_expected, fresh.n_expected).astype(np.int64),
        cat(old.n_measured, fresh.n_measured).astype(np.int64),
        cat(old.n_edited, fresh.n_edited).astype(np.int64),
        cat(old.n_estimated, fresh.n_estimated).astype(np.int64),
        cat(old.n_suspect, fresh.n_suspect).astype(np.int64),
        cat(old.n_missing, fresh.n_missing).astype(np.int64),
        existing.unit, existing.meter_id,
    )
