"""Interval series on a fixed grid: gaps, completeness, estimation and supersession (VEE).

Stage "normalise" of the meter-data pipeline (DESIGN.md §3): interval values land on a dense
fixed grid (15 min by default) as an :class:`IntervalSeries`. A slot without data is ``NaN`` with
quality ``missing`` — never 0 (RELIABILITY.md R4; zero-filling an offline hour is the MyEMS
anti-pattern). Estimation (数据估算/补录) is an explicit, separate step: it returns a new series in
which every estimated slot is flagged ``estimated`` with a method id, and a tuple of
:class:`GapEstimate` records (method, inputs, author); when real data arrives,
:func:`merge_real_over_estimates` puts it over the estimates and lists which were superseded.

Basis: RELIABILITY.md R4, R12, ING-04; EU MRR 2018/2066 Art. 66 (conservative estimates for
missing data, 缺失数据的保守估算); VEE practice (validation, estimation, editing).

Quality codes of the arrays (:class:`QualityCode`) mirror :class:`parkcarbon.core.activity.Quality`.
Summed into totals: measured, estimated, edited. Never summed: missing, suspect.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum

import numpy as np
import numpy.typing as npt

from parkcarbon.core.activity import Quality
from parkcarbon.core.metering_time import DEFAULT_INTERVAL_S, PeriodLevel
from parkcarbon.errors import ConflictError, InputError, Location, PeriodError

__all__ = [
    "COMPLETENESS_THRESHOLD_FRAC",
    "Completeness",
    "EstimationMethod",
    "EstimationResult",
    "Gap",
    "GapEstimate",
    "GapReport",
    "IntervalSeries",
    "QualityCode",
    "SupersededSlot",
    "SupersessionResult",
    "completeness",
    "estimate_gaps",
    "expected_vs_found",
    "find_gaps",
    "interval_values_to_grid",
    "merge_real_over_estimates",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]

#: completeness below this fraction of expected intervals raises a warning (R12) [-]
COMPLETENESS_THRESHOLD_FRAC = 0.9


class QualityCode(IntEnum):
    """Per-slot quality code (``uint8`` in arrays and Parquet); mirrors :class:`Quality`."""

    MEASURED = 0
    ESTIMATED = 1
    EDITED = 2
    MISSING = 3
    SUSPECT = 4

    @property
    def quality(self) -> Quality:
        return Quality(self.name.lower())

    @classmethod
    def of(cls, quality: Quality | str) -> QualityCode:
        return cls[Quality(quality).name]


#: codes whose values are summed into totals
SUMMED_CODES = (QualityCode.MEASURED, QualityCode.ESTIMATED, QualityCode.EDITED)
#: codes of real (not estimated) usable data
REAL_CODES = (QualityCode.MEASURED, QualityCode.EDITED)


class EstimationMethod(StrEnum):
    """Method id of an estimated value (估算方法). ``code`` is the value in ``IntervalSeries.method``."""

    LINEAR_INTERPOLATION = "linear_interpolation"
    """short gap: straight line between the neighbouring real values (线性插值)."""
    WEEKDAY_PROFILE = "same_weekday_profile"
    """long gap: mean of the same slot on the same weekday of the previous (else following) weeks."""
    CONSERVATIVE_UPPER_BOUND = "conservative_upper_bound"
    """conservative: a declared physical upper bound per interval (e.g. rated capacity × interval)."""
    CONSERVATIVE_OBSERVED_MAX = "conservative_observed_max"
    """conservative: the largest real value in the reference window around the gap."""
    PRORATED_LUMP = "prorated_register_lump"
    """a measured register increment spanning several slots, spread over them pro rata by time."""

    @property
    def code(self) -> int:
        return _METHOD_CODES[self]

    @classmethod
    def from_code(cls, code: int) -> EstimationMethod:
        return _METHODS_BY_CODE[int(code)]


_METHOD_CODES: dict[EstimationMethod, int] = {m: i + 1 for i, m in enumerate(EstimationMethod)}
_METHODS_BY_CODE: dict[int, EstimationMethod] = {v: k for k, v in _METHOD_CODES.items()}


@dataclass(frozen=True, eq=False)
class IntervalSeries:
    """One meter's values on a dense fixed grid (等间隔时序).

    Attributes
    ----------
    start_s : start of slot 0, UTC epoch seconds [s].
    interval_s : grid step [s] (900 = 15 min).
    value : quantity per slot [``unit``]; ``NaN`` where quality is missing or suspect.
    quality : :class:`QualityCode` per slot (``uint8``).
    method : :class:`EstimationMethod` code per slot, 0 where not estimated (``uint8``).
    unit : unit of ``value`` (the carrier's canonical unit, e.g. ``kWh``).
    meter_id : the meter, for traces and findings.

    Slot ``i`` is the half-open interval ``[start_s + i·interval_s, start_s + (i+1)·interval_s)``.
    """

    start_s: int
    interval_s: int
    value: F64
    quality: U8
    method: U8
    unit: str = ""
    meter_id: str = ""

    def __post_init__(self) -> None:
        if self.interval_s <= 0:
            raise PeriodError(
                f"grid interval must be positive, got {self.interval_s} s",
                message_zh=f"时间间隔必须为正数，实际为 {self.interval_s} 秒",
            )
        n = self.value.shape[0]
        if self.value.ndim != 1 or self.quality.shape != (n,) or self.method.shape != (n,):
            raise InputError(
                "value, quality and method arrays must be 1-D and of equal length",
                message_zh="数值、质量、方法数组必须是等长的一维数组",
                location=Location(record=self.meter_id or None),
            )

    @classmethod
    def empty(
        cls, start_s: int, n_slots: int, interval_s: int = DEFAULT_INTERVAL_S, *, unit: str = "", meter_id: str = ""
    ) -> IntervalSeries:
        """A series of ``n_slots`` missing slots."""
        return cls(
            int(start_s),
            int(interval_s),
            np.full(n_slots, np.nan),
            np.full(n_slots, QualityCode.MISSING, dtype=np.uint8),
            np.zeros(n_slots, dtype=np.uint8),
            unit,
            meter_id,
        )

    @property
    def n_slots(self) -> int:
        return int(self.value.shape[0])

    @property
    def end_s(self) -> int:
        """Exclusive end of the last slot [s]."""
        return self.start_s + self.n_slots * self.interval_s

    def slot_starts(self) -> I64:
        """UTC epoch seconds of every slot start [s]."""
        return self.start_s + np.arange(self.n_slots, dtype=np.int64) * self.interval_s

    def summed_mask(self) -> npt.NDArray[np.bool_]:
        """Slots whose value counts in totals (measured, estimated, edited)."""
        return self.quality <= QualityCode.EDITED

    def total(self) -> float | None:
        """Sum of summed slots [``unit``]; ``None`` if no slot is summed (missing is not zero)."""
        mask = self.summed_mask()
        if not mask.any():
            return None
        return float(self.value[mask].sum())

    def count(self, code: QualityCode) -> int:
        """Number of slots with quality ``code``."""
        return int(np.count_nonzero(self.quality == code))


@dataclass(frozen=True)
class Gap:
    """A run of consecutive missing slots (缺测区间): ``[start_s, end_s)``, ``n_intervals`` slots."""

    start_s: int
    end_s: int
    n_intervals: int
    first_slot: int


@dataclass(frozen=True)
class GapReport:
    """Expected vs found intervals of a window (应采/实采)."""

    expected: int
    found: int
    gaps: tuple[Gap, ...]

    @property
    def missing(self) -> int:
        return self.expected - self.found


@dataclass(frozen=True)
class Completeness:
    """Completeness of one meter in one period (数据完整率, R12).

    ``complete_frac`` = (measured + edited + estimated) / expected; ``measured_frac`` counts real
    data only. ``warning`` is set when ``measured_frac`` < threshold; then ``message`` /
    ``message_zh`` say so (code ``DQ-COMPLETENESS``).
    """

    meter_id: str
    level: PeriodLevel
    period_start_s: int
    expected: int
    measured: int
    edited: int
    estimated: int
    missing: int
    suspect: int
    measured_frac: float
    complete_frac: float
    threshold_frac: float
    warning: bool
    message: str = ""
    message_zh: str = ""
    code: str = "DQ-COMPLETENESS"


@dataclass(frozen=True)
class GapEstimate:
    """One gap filled by estimation: what, how, from what, by whom (R4, MRR Art. 66).

    ``values`` are the estimates per slot [unit]; ``inputs`` name the numbers used
    (neighbour values, upper bound, reference window, number of profile weeks…).
    """

    meter_id: str
    gap: Gap
    method: EstimationMethod
    values: tuple[float, ...]
    inputs: tuple[tuple[str, float], ...]
    author: str
    conservative: bool

    @property
    def total(self) -> float:
        return float(sum(self.values))


@dataclass(frozen=True)
class EstimationResult:
    """Output of :func:`estimate_gaps`: the new series (input untouched), the estimates, and the
    gaps that could not be estimated (no usable reference data) and stay missing."""

    series: IntervalSeries
    estimates: tuple[GapEstimate, ...]
    unestimated: tuple[Gap, ...]


@dataclass(frozen=True)
class SupersededSlot:
    """An estimate replaced by real data (kept as history)."""

    slot: int
    slot_start_s: int
    estimated_value: float
    method: EstimationMethod | None
    real_value: float
    real_quality: QualityCode


@dataclass(frozen=True)
class SupersessionResult:
    """Output of :func:`merge_real_over_estimates`."""

    series: IntervalSeries
    superseded: tuple[SupersededSlot, ...]
    filled_slots: tuple[int, ...] = field(default=())


# --------------------------------------------------------------------------- grid building


def interval_values_to_grid(
    ts_s: npt.ArrayLike,
    value: npt.ArrayLike,
    quality: npt.ArrayLike | None = None,
    *,
    grid_start_s: int,
    n_slots: int,
    interval_s: int = DEFAULT_INTERVAL_S,
    source_interval_s: int | None = None,
    unit: str = "",
    meter_id: str = "",
) -> IntervalSeries:
    """Put interval-meter values (quantity per interval, labelled by interval start) on a grid.

    Parameters
    ----------
    ts_s : interval starts, UTC epoch seconds [s]; any order; must be aligned to
        ``source_interval_s`` from ``grid_start_s``; duplicates are refused (the store keeps
        conflicts, R2). Values outside ``[grid_start_s, grid_start_s + n_slots·interval_s)`` belong
        to another window and are ignored.
    value : quantity per source interval [unit]; NaN/inf = no value (missing); a negative value
        is flagged suspect and never summed (R5).
    quality : optional :class:`QualityCode` per value (default measured).
    source_interval_s : interval of the input (default ``interval_s``); must divide ``interval_s``
        (e.g. 1-min data on the 15-min grid). A slot is summed only when all its sub-intervals are
        usable; if any is missing the slot is missing, else if any is suspect it is suspect.
        Estimated wins over edited over measured for the slot's flag.

    Gaps stay ``NaN`` with quality ``missing``: never zero-filled.
    """
    src = int(source_interval_s or interval_s)
    if src <= 0 or interval_s % src != 0:
        raise PeriodError(
            f"source interval {src} s does not divide the grid interval {interval_s} s",
            message_zh=f"源数据间隔 {src} 秒不能整除网格间隔 {interval_s} 秒",
            hint="aggregate to a grid that is a multiple of the meter's interval",
            hint_zh="请选择计量间隔整数倍的网格",
        )
    ts = np.asarray(ts_s, dtype=np.int64)
    val = np.asarray(value, dtype=np.float64)
    q = (
        np.zeros(ts.shape, dtype=np.uint8)
        if quality is None
        else np.asarray(quality, dtype=np.uint8).copy()
    )
    if ts.shape != val.shape or ts.shape != q.shape or ts.ndim != 1:
        raise InputError(
            "timestamps, values and qualities must be 1-D arrays of equal length",
            message_zh="时间戳、数值、质量必须是等长的一维数组",
            location=Location(record=meter_id or None),
        )
    if q.size and int(q.max()) > QualityCode.SUSPECT:
        bad = int(np.argmax(q > QualityCode.SUSPECT))
        raise InputError(
            f"unknown quality code {int(q[bad])}",
            message_zh=f"未知质量代码 {int(q[bad])}",
            location=Location(row=bad + 1, record=meter_id or None, value=int(q[bad])),
        )
    end_s = grid_start_s + n_slots * interval_s
    inside = (ts >= grid_start_s) & (ts < end_s)
    ts, val, q = ts[inside], val[inside], q[inside]
    offset = ts - grid_start_s
    misaligned = offset % src != 0
    if misaligned.any():
        i = int(np.argmax(misaligned))
        raise PeriodError(
            f"interval start {int(ts[i])} is not on the {src}-second grid from {grid_start_s}",
            message_zh=f"区间起点 {int(ts[i])} 不在以 {grid_start_s} 为起点、间隔 {src} 秒的网格上",
            hint="label interval values by the start of their interval",
            hint_zh="区间数据请以区间起点为标签",
            location=Location(record=meter_id or None, value=int(ts[i])),
        )
    sub = offset // src
    order = np.argsort(sub, kind="stable")
    dup = np.diff(sub[order]) == 0
    if dup.any():
        i = int(order[int(np.argmax(dup)) + 1])
        raise ConflictError(
            f"two values for interval start {int(ts[i])}",
            message_zh=f"区间起点 {int(ts[i])} 有两个数值",
            hint="deduplicate readings in the store before normalising (conflicts are kept there)",
            hint_zh="请先在存储层去重（冲突记录保留在存储层）",
            location=Location(record=meter_id or None, value=int(ts[i])),
        )
    # a NaN or infinite value is missing whatever its flag; a negative quantity is suspect
    q = np.where(np.isfinite(val), q, np.uint8(QualityCode.MISSING)).astype(np.uint8)
    q = np.where((val < 0) & (q <= QualityCode.EDITED), np.uint8(QualityCode.SUSPECT), q).astype(np.uint8)
    k = interval_s // src
    slot = (sub // k).astype(np.int64)
    usable = q <= QualityCode.EDITED
    n_usable = np.bincount(slot[usable], minlength=n_slots)
    n_suspect = np.bincount(slot[q == QualityCode.SUSPECT], minlength=n_slots)
    n_est = np.bincount(slot[q == QualityCode.ESTIMATED], minlength=n_slots)
    n_edit = np.bincount(slot[q == QualityCode.EDITED], minlength=n_slots)
    sums = np.bincount(slot[usable], weights=val[usable], minlength=n_slots)
    complete = n_usable == k
    out_q = np.full(n_slots, QualityCode.MISSING, dtype=np.uint8)
    out_q[(n_suspect > 0) & (n_usable + n_suspect == k)] = QualityCode.SUSPECT
    out_q[complete] = QualityCode.MEASURED
    out_q[complete & (n_edit > 0)] = QualityCode.EDITED
    out_q[complete & (n_est > 0)] = QualityCode.ESTIMATED
    out_v = np.where(complete, sums, np.nan)
    return IntervalSeries(
        int(grid_start_s), int(interval_s), out_v.astype(np.float64), out_q,
        np.zeros(n_slots, dtype=np.uint8), unit, meter_id,
    )


# --------------------------------------------------------------------------- gaps, completeness


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Half-open index runs ``[a, b)`` where ``mask`` is true."""
    if mask.size == 0:
        return []
    m = np.concatenate(([False], mask, [False])).astype(np.int8)
    d = np.diff(m)
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def find_gaps(series: IntervalSeries, *, include_suspect: bool = False) -> tuple[Gap, ...]:
    """Runs of missing slots (and suspect ones if ``include_suspect``), in order."""
    mask = series.quality == QualityCode.MISSING
    if include_suspect:
        mask |= series.quality == QualityCode.SUSPECT
    return tuple(
        Gap(series.start_s + a * series.interval_s, series.start_s + b * series.interval_s, b - a, a)
        for a, b in _runs(mask)
    )


def expected_vs_found(
    ts_s: npt.ArrayLike, *, start_s: int, end_s: int, interval_s: int = DEFAULT_INTERVAL_S
) -> GapReport:
    """Gap detection on raw interval timestamps: expected slots of ``[start_s, end_s)`` vs found.

    ``end_s − start_s`` must be a multiple of ``interval_s``; off-grid timestamps are refused.
    Duplicated timestamps count once.
    """
    if (end_s - start_s) % interval_s != 0 or end_s < start_s:
        raise PeriodError(
            f"window [{start_s}, {end_s}) is not a whole number of {interval_s}-second intervals",
            message_zh=f"窗口 [{start_s}, {end_s}) 不是 {interval_s} 秒的整数倍",
        )
    n = (end_s - start_s) // interval_s
    ts = np.asarray(ts_s, dtype=np.int64)
    ts = ts[(ts >= start_s) & (ts < end_s)]
    off = ts - start_s
    if (off % interval_s != 0).any():
        i = int(np.argmax(off % interval_s != 0))
        raise PeriodError(
            f"timestamp {int(ts[i])} is not on the {interval_s}-second grid",
            message_zh=f"时间戳 {int(ts[i])} 不在 {interval_s} 秒网格上",
            location=Location(value=int(ts[i])),
        )
    present = np.zeros(n, dtype=np.bool_)
    present[off // interval_s] = True
    gaps = tuple(
        Gap(start_s + a * interval_s, start_s + b * interval_s, b - a, a) for a, b in _runs(~present)
    )
    return GapReport(int(n), int(present.sum()), gaps)


def completeness(
    series: IntervalSeries,
    level: PeriodLevel | str = PeriodLevel.DAY,
    *,
    threshold_frac: float = COMPLETENESS_THRESHOLD_FRAC,
) -> tuple[Completeness, ...]:
    """Completeness per Asia/Shanghai day or month of every period the series touches (R12).

    Expected intervals are those of the whole period (a period only partly inside the series
    window counts its outside slots as missing). Warns when real data (measured + edited)
    is below ``threshold_frac`` (default 90 %).
    """
    from parkcarbon.core.metering_aggregate import aggregate

    lvl = PeriodLevel(level)
    totals = aggregate(series, lvl)
    out: list[Completeness] = []
    for i in range(totals.n_periods):
        exp = int(totals.n_expected[i])
        meas, edit = int(totals.n_measured[i]), int(totals.n_edited[i])
        est = int(totals.n_estimated[i])
        real_frac = (meas + edit) / exp if exp else 0.0
        comp_frac = (meas + edit + est) / exp if exp else 0.0
        warn = real_frac < threshold_frac
        msg = msg_zh = ""
        if warn:
            msg = (
                f"meter {series.meter_id}: {lvl.value} {totals.label(i)} has {real_frac:.1%} of expected "
                f"intervals measured (< {threshold_frac:.0%})"
            )
            msg_zh = (
                f"计量点 {series.meter_id}：{totals.label(i)} 实测数据完整率 {real_frac:.1%}，"
                f"低于 {threshold_frac:.0%}"
            )
        out.append(
            Completeness(
                series.meter_id, lvl, int(totals.period_start_s[i]), exp, meas, edit, est,
                int(totals.n_missing[i]), int(totals.n_suspect[i]), real_frac, comp_frac,
                threshold_frac, warn, msg, msg_zh,
            )
        )
    return tuple(out)


# --------------------------------------------------------------------------- estimation


def estimate_gaps(
    series: IntervalSeries,
    *,
    max_linear_gap: int = 4,
    profile_weeks: int = 4,
    conservative: bool = False,
    upper_bound_per_interval: float | None = None,
    estimate_suspect: bool = False,
    author: str = "parkcarbon",
) -> EstimationResult:
    """Fill gaps with flagged estimates (数据估算); the input series is not changed.

    Methods (``EstimationMethod``), for each run of missing slots:

    * non-conservative (default):
      - a gap of at most ``max_linear_gap`` slots with real values on both sides →
        ``linear_interpolation`` between those two values;
      - otherwise → ``same_weekday_profile``: each slot gets the mean of the real values of the
        same slot 1..``profile_weeks`` weeks earlier (if none, weeks later); weeks are 7×24 h
        (Asia/Shanghai has no DST since 1992).
    * ``conservative=True`` (for emission-relevant quantities, MRR Art. 66 — never under-estimate):
      - if ``upper_bound_per_interval`` [unit per interval] is declared (e.g. rated capacity ×
        interval) → every slot gets it (``conservative_upper_bound``): never below a physically
        possible true value;
      - else → the largest real value within ``profile_weeks`` weeks either side of the gap
        (``conservative_observed_max``); this is ≥ every non-conservative estimate of the same gap.

    Gaps without any usable reference value stay missing and are returned in ``unestimated``.
    Only real data (measured/edited) is used as input, never other estimates.
    """
    if max_linear_gap < 0 or profile_weeks < 1:
        raise InputError(
            "max_linear_gap must be ≥ 0 and profile_weeks ≥ 1",
            message_zh="max_linear_gap 必须 ≥ 0，profile_weeks 必须 ≥ 1",
        )
    if upper_bound_per_interval is not None and not (
        np.isfinite(upper_bound_per_interval) and upper_bound_per_interval >= 0
    ):
        raise InputError(
            f"upper bound per interval must be a finite non-negative number, got {upper_bound_per_interval!r}",
            message_zh=f"每间隔上限必须是非负有限数，实际为 {upper_bound_per_interval!r}",
        )
    value = series.value.copy()
    quality = series.quality.copy()
    method = series.method.copy()
    real = (series.quality == QualityCode.MEASURED) | (series.quality == QualityCode.EDITED)
    real_vals = np.where(real, series.value, np.nan)
    week = (7 * 86400) // series.interval_s if (7 * 86400) % series.interval_s == 0 else 0
    n = series.n_slots
    estimates: list[GapEstimate] = []
    unestimated: list[Gap] = []
    for gap in find_gaps(series, include_suspect=estimate_suspect):
        a, b = gap.first_slot, gap.first_slot + gap.n_intervals
        est: F64 | None = None
        inputs: list[tuple[str, float]] = []
        meth: EstimationMethod | None = None
        if conservative:
            if upper_bound_per_interval is not None:
                est = np.full(b - a, float(upper_bound_per_interval))
                meth = EstimationMethod.CONSERVATIVE_UPPER_BOUND
                inputs = [("upper_bound_per_interval", float(upper_bound_per_interval))]
            else:
                span = profile_weeks * week if week else max(max_linear_gap, 1)
                lo, hi = max(0, a - span), min(n, b + span)
                window = real_vals[lo:hi]
                if np.isfinite(window).any():
                    vmax = float(np.nanmax(window))
                    est = np.full(b - a, vmax)
                    meth = EstimationMethod.CONSERVATIVE_OBSERVED_MAX
                    inputs = [
                        ("observed_max", vmax),
                        ("window_start_s", float(series.start_s + lo * series.interval_s)),
                        ("window_end_s", float(series.start_s + hi * series.interval_s)),
                    ]
        else:
            before = float(real_vals[a - 1]) if a > 0 else np.nan
            after = float(real_vals[b]) if b < n else np.nan
            if b - a <= max_linear_gap and np.isfinite(before) and np.isfinite(after):
                k = np.arange(1, b - a + 1, dtype=np.float64)
                est = before + (after - before) * k / (b - a + 1)
                meth = EstimationMethod.LINEAR_INTERPOLATION
                inputs = [("before", before), ("after", after)]
            elif week:
                est, weeks_used = _weekday_profile(real_vals, a, b, week, profile_weeks)
                if est is not None:
                    meth = EstimationMethod.WEEKDAY_PROFILE
                    inputs = [("profile_weeks", float(profile_weeks)), ("reference_values", float(weeks_used))]
        if est is None or meth is None:
            unestimated.append(gap)
            continue
        value[a:b] = est
        quality[a:b] = QualityCode.ESTIMATED
        method[a:b] = meth.code
        estimates.append(
            GapEstimate(
                series.meter_id, gap, meth, tuple(float(x) for x in est), tuple(inputs), author, conservative
            )
        )
    out = replace(series, value=value, quality=quality, method=method)
    return EstimationResult(out, tuple(estimates), tuple(unestimated))


def _weekday_profile(real_vals: F64, a: int, b: int, week: int, weeks: int) -> tuple[F64 | None, int]:
    n = real_vals.shape[0]
    idx = np.arange(a, b)
    for direction in (-1, 1):
        stack = []
        for w in range(1, weeks + 1):
            j = idx + direction * w * week
            ok = (j >= 0) & (j < n)
            col = np.full(b - a, np.nan)
            col[ok] = real_vals[j[ok]]
            stack.append(col)
        arr = np.vstack(stack)
        counts = np.isfinite(arr).sum(axis=0)
        if (counts > 0).all():
            mean = np.nansum(arr, axis=0) / counts
            return mean.astype(np.float64), int(counts.sum())
    return None, 0


def merge_real_over_estimates(current: IntervalSeries, real: IntervalSeries) -> SupersessionResult:
    """Put newly arrived real data over a series (supersession, 估算值被实测值替代, R4).

    ``real`` must share the grid (same interval, aligned start) and lie inside ``current``.
    For each slot where ``real`` is measured or edited:

    * ``current`` estimated → replaced; listed in ``superseded`` (history kept by the caller);
    * ``current`` missing or suspect → filled (``filled_slots``);
    * ``current`` measured/edited with the same value → unchanged; with a different value →
      :class:`ConflictError` (real data is never silently overwritten, R2).

    Neither input is changed.
    """
    if real.interval_s != current.interval_s or (real.start_s - current.start_s) % current.interval_s:
        raise PeriodError(
            "real data is not on the grid of the current series",
            message_zh="实测数据与现有序列的时间网格不一致",
            location=Location(record=current.meter_id or None),
        )
    off = (real.start_s - current.start_s) // current.interval_s
    if off < 0 or off + real.n_slots > current.n_slots:
        raise PeriodError(
            "real data lies outside the window of the current series",
            message_zh="实测数据超出现有序列的时间窗口",
            location=Location(record=current.meter_id or None),
        )
    value = current.value.copy()
    quality = current.quality.copy()
    method = current.method.copy()
    superseded: list[SupersededSlot] = []
    filled: list[int] = []
    real_ok = np.flatnonzero(real.quality <= QualityCode.EDITED)
    real_ok = real_ok[real.quality[real_ok] != QualityCode.ESTIMATED]
    for j in real_ok.tolist():
        i = off + j
        rv, rq = float(real.value[j]), QualityCode(int(real.quality[j]))
        cq = QualityCode(int(quality[i]))
        if cq is QualityCode.ESTIMATED:
            mcode = int(method[i])
            superseded.append(
                SupersededSlot(
                    i, current.start_s + i * current.interval_s, float(value[i]),
                    EstimationMethod.from_code(mcode) if mcode else None, rv, rq,
                )
            )
        elif cq in (QualityCode.MISSING, QualityCode.SUSPECT):
            filled.append(i)
        elif float(value[i]) == rv:
            continue
        else:
            raise ConflictError(
                f"slot {current.start_s + i * current.interval_s} already holds real value {float(value[i])}, "
                f"new real value {rv}",
                message_zh=f"时段 {current.start_s + i * current.interval_s} 已有实测值 {float(value[i])}，"
                f"新实测值 {rv} 与之冲突",
                hint="resolve the conflict in the store (both values are kept there)",
                hint_zh="请在存储层处理冲突（两个值均已保留）",
                location=Location(record=current.meter_id or None, value=rv),
            )
        value[i] = rv
        quality[i] = rq
        method[i] = 0
    out = replace(current, value=value, quality=quality, method=method)
    return SupersessionResult(out, tuple(superseded), tuple(filled))
