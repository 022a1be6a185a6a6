"""Cumulative register readings → interval increments, with explicit classification (R5, ING-03).

An energy meter's register (累计读数, 表底数) only grows; the energy of a span is the difference of
two readings. Real registers also roll over at their maximum, get replaced, reset, glitch and dip.
:func:`register_increments` classifies every reading (one row per reading) as one of
:class:`IncrementKind` and counts only the trustworthy increments; energy is conserved across
rollovers and meter replacements; a negative increment is never summed (RELIABILITY.md R5).

Rules, in order, for a valid reading ``v`` against the reference ``r`` (the last counted reading;
suspect readings never move the reference, so the next counted increment spans them):

1. a declared :class:`MeterReplacement` at or before this reading → ``meter_replacement``,
   increment ``(old_final − r) + (v − new_start)``;
2. ``v ≥ r`` → ``normal``, increment ``v − r`` — unless the next valid reading falls back to
   ``[r, 0.9·v)`` (a lone high value, e.g. a hi-limit code, MyEMS) → ``spike`` (suspect), or the
   increment exceeds ``max_rate_per_h × span`` → ``spike``;
3. ``v ≥ 0.9·r`` → ``suspect_dip`` (Home Assistant: a drop within 10 % is not a reset), not summed;
4. a declared register with ``r ≥ 90 %`` and ``v ≤ 10 %`` of its maximum → ``rollover``,
   increment ``(max + resolution − r) + v``;
5. ``v == 0`` → ``zero_reading`` (a bad zero from an offline device, MyEMS), not summed;
6. one of the next ``glitch_lookahead`` valid readings returns to ``≥ r`` → ``glitch``, not summed;
7. otherwise → ``new_cycle`` (Home Assistant: drop to < 90 % = new meter cycle), increment ``v``
   counted from zero; the energy between ``r`` and the undeclared reset is unknown (declare the
   replacement to keep it).

Readings that are NaN/inf → ``invalid``; negative or above the declared maximum →
``out_of_range``. The first valid reading is the ``baseline`` (a newly added used meter with a
non-zero register contributes nothing before it).

Gaps: the increment spanning a gap is kept as **one flagged lump** (``gap_intervals`` > 1 with
``expected_interval_s``, or ``lost_readings`` > 0 from gateway sequence numbers); it is never
zero-filled. :func:`register_increments_to_grid` then spreads a lump over the slots it spans pro
rata by time, flagging those slots ``estimated`` with method ``prorated_register_lump`` (the sum is
measured; only its distribution in time is estimated).

Gateway sequence numbers (网关序号), where given, detect lost messages (a step > 1 →
``lost_readings``) and out-of-order or restarted gateways (``seq_anomaly``); readings are ordered
by timestamp.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from parkcarbon.core.metering_series import EstimationMethod, IntervalSeries, QualityCode
from parkcarbon.core.metering_time import DEFAULT_INTERVAL_S
from parkcarbon.errors import ConflictError, InputError, Location, QuantityError

__all__ = [
    "COUNTED_KINDS",
    "IncrementKind",
    "MeterReplacement",
    "RegisterEvent",
    "RegisterIncrements",
    "RegisterSpec",
    "register_increments",
    "register_increments_to_grid",
    "regular_register_grid",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


class IncrementKind(StrEnum):
    """Classification of one register reading (累计读数分类)."""

    BASELINE = "baseline"
    NORMAL = "normal"
    ROLLOVER = "rollover"
    METER_REPLACEMENT = "meter_replacement"
    NEW_CYCLE = "new_cycle"
    SUSPECT_DIP = "suspect_dip"
    ZERO_READING = "zero_reading"
    GLITCH = "glitch"
    SPIKE = "spike"
    OUT_OF_RANGE = "out_of_range"
    INVALID = "invalid"


#: kinds whose increment is summed
COUNTED_KINDS = frozenset(
    {IncrementKind.NORMAL, IncrementKind.ROLLOVER, IncrementKind.METER_REPLACEMENT, IncrementKind.NEW_CYCLE}
)

_MSG: dict[IncrementKind, tuple[str, str]] = {
    IncrementKind.ROLLOVER: ("register rolled over at its maximum", "表底数达到最大值后翻转归零"),
    IncrementKind.METER_REPLACEMENT: ("declared meter replacement", "已登记的换表"),
    IncrementKind.NEW_CYCLE: (
        "register dropped below 90 % of the previous value: new meter cycle, counted from zero",
        "读数降至上次读数的 90% 以下：按新计量周期从零起算",
    ),
    IncrementKind.SUSPECT_DIP: (
        "register dropped by less than 10 %: suspect dip, not summed",
        "读数下降不足 10%：可疑回落，不计入",
    ),
    IncrementKind.ZERO_READING: ("register read zero: bad reading, not summed", "读数为零：无效读数，不计入"),
    IncrementKind.GLITCH: (
        "low reading followed by a return to the previous level: glitch, not summed",
        "读数短暂偏低后恢复：毛刺，不计入",
    ),
    IncrementKind.SPIKE: ("implausibly high reading: spike, not summed", "读数异常偏高：尖峰，不计入"),
    IncrementKind.OUT_OF_RANGE: (
        "reading outside the register's range: not summed",
        "读数超出表计量程：不计入",
    ),
    IncrementKind.INVALID: ("reading is not a number: not summed", "读数不是有效数值：不计入"),
}


@dataclass(frozen=True)
class RegisterSpec:
    """A register's range: it shows ``0 … max_value`` in steps of ``resolution`` and then wraps.

    ``RegisterSpec.digits(8, 2)`` = 99 999 999.99 kWh; ``RegisterSpec.counter_bits(16)`` = 65 535.
    """

    max_value: float
    resolution: float = 1.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.max_value) and self.max_value > 0 and 0 < self.resolution <= self.max_value):
            raise QuantityError(
                f"invalid register range max={self.max_value!r}, resolution={self.resolution!r}",
                message_zh=f"表计量程无效：最大值 {self.max_value!r}，分辨率 {self.resolution!r}",
            )

    @property
    def modulus(self) -> float:
        """The value at which the register wraps to zero [unit]."""
        return self.max_value + self.resolution

    @classmethod
    def digits(cls, integer_digits: int, decimals: int = 0) -> RegisterSpec:
        """A decimal register with ``integer_digits`` before and ``decimals`` after the point."""
        res = 10.0**-decimals
        return cls(round(10.0**integer_digits - res, decimals), res)

    @classmethod
    def counter_bits(cls, bits: int) -> RegisterSpec:
        """An unsigned ``bits``-bit pulse/energy counter (16 → 65 535, 32 → 4 294 967 295)."""
        return cls(float(2**bits - 1), 1.0)


@dataclass(frozen=True)
class MeterReplacement:
    """A declared meter replacement (换表记录): readings at or after ``ts_s`` come from the new meter.

    ``old_final_value`` : the old meter's last register value [unit];
    ``new_start_value`` : the new meter's register value when installed [unit].
    """

    ts_s: int
    old_final_value: float
    new_start_value: float
    note: str = ""


@dataclass(frozen=True)
class RegisterEvent:
    """A reading that is not a plain ``normal`` increment, for review (bilingual message)."""

    index: int
    ts_s: int
    kind: IncrementKind
    reading: float
    reference: float
    increment: float | None
    message: str
    message_zh: str


@dataclass(frozen=True, eq=False)
class RegisterIncrements:
    """One row per register reading, sorted by time (stage "normalise", R3: input kept as is).

    Attributes
    ----------
    ts_s : reading instants, UTC epoch seconds [s].
    reading : register values [unit].
    start_s : start of the span of the row's increment: the reference (last counted) reading [s];
        equals ``ts_s`` for the baseline and for readings before it.
    increment : energy of ``[start_s, ts_s)`` [unit]; ``NaN`` when not counted.
    kind : :class:`IncrementKind` per row.
    gap_intervals : expected intervals spanned by the row (``round(span / expected_interval_s)``),
        0 when no expected interval was given.
    lost_readings : readings lost in transit according to gateway sequence numbers.
    seq_anomaly : sequence number not increasing in time order (reorder, clock jump, restart).
    events : every row that is not ``normal`` / ``baseline``.
    """

    meter_id: str
    unit: str
    ts_s: I64
    reading: F64
    start_s: I64
    increment: F64
    kind: tuple[IncrementKind, ...]
    gap_intervals: I64
    lost_readings: I64
    seq_anomaly: npt.NDArray[np.bool_]
    events: tuple[RegisterEvent, ...]

    @property
    def n(self) -> int:
        return int(self.ts_s.shape[0])

    def counted_mask(self) -> npt.NDArray[np.bool_]:
        return np.isfinite(self.increment)

    def total(self) -> float:
        """Sum of counted increments [unit] (0.0 when only a baseline: no span was measured)."""
        return float(self.increment[self.counted_mask()].sum())

    def lumps(self) -> npt.NDArray[np.bool_]:
        """Counted rows that span a gap (more than one expected interval, or lost readings)."""
        return self.counted_mask() & ((self.gap_intervals > 1) | (self.lost_readings > 0))


def register_increments(
    ts_s: npt.ArrayLike,
    value: npt.ArrayLike,
    *,
    seq: npt.ArrayLike | None = None,
    seq_modulus: int | None = None,
    register: RegisterSpec | None = None,
    replacements: Sequence[MeterReplacement] = (),
    reset_threshold_frac: float = 0.9,
    max_rate_per_h: float | None = None,
    expected_interval_s: int | None = None,
    glitch_lookahead: int = 3,
    meter_id: str = "",
    unit: str = "",
) -> RegisterIncrements:
    """Classify cumulative register readings and compute their increments (see module rules).

    Parameters
    ----------
    ts_s : reading instants, UTC epoch seconds [s]; any order; duplicates are refused.
    value : register values [unit].
    seq : gateway sequence numbers aligned with ``ts_s`` (optional).
    seq_modulus : sequence numbers wrap at this value (e.g. 65 536).
    register : the register's range, needed to recognise rollovers.
    replacements : declared meter replacements.
    reset_threshold_frac : a drop to below this fraction of the reference is a reset/new cycle,
        a smaller drop is a suspect dip (Home Assistant: 0.9) [-].
    max_rate_per_h : physical maximum increase per hour (e.g. rated power [kW] for kWh) [unit/h];
        larger increments are spikes.
    expected_interval_s : reading interval, to size gap lumps [s].
    glitch_lookahead : valid readings looked at to tell a glitch from a reset (rule 6).
    """
    ts = np.asarray(ts_s, dtype=np.int64)
    val = np.asarray(value, dtype=np.float64)
    if ts.ndim != 1 or ts.shape != val.shape:
        raise InputError(
            "timestamps and register values must be 1-D arrays of equal length",
            message_zh="时间戳与表底数必须是等长的一维数组",
            location=Location(record=meter_id or None),
        )
    if ts.size == 0:
        raise InputError(
            "no register readings",
            message_zh="没有表底数读数",
            location=Location(record=meter_id or None),
        )
    if not 0 < reset_threshold_frac < 1:
        raise InputError(
            f"reset threshold must be in (0, 1), got {reset_threshold_frac}",
            message_zh=f"复位阈值必须在 0 与 1 之间，实际为 {reset_threshold_frac}",
        )
    order = np.argsort(ts, kind="stable")
    ts, val = ts[order], val[order]
    dup = np.diff(ts) == 0
    if dup.any():
        i = int(np.argmax(dup)) + 1
        raise ConflictError(
            f"two register readings at {int(ts[i])}",
            message_zh=f"时刻 {int(ts[i])} 有两个表底数读数",
            hint="deduplicate readings in the store before normalising (conflicts are kept there)",
            hint_zh="请先在存储层去重（冲突记录保留在存储层）",
            location=Location(record=meter_id or None, value=int(ts[i])),
        )
    n = ts.shape[0]
    lost = np.zeros(n, dtype=np.int64)
    anomaly = np.zeros(n, dtype=np.bool_)
    if seq is not None:
        sq = np.asarray(seq, dtype=np.int64)
        if sq.shape != (n,):
            raise InputError(
                "sequence numbers must align with the readings",
                message_zh="网关序号必须与读数一一对应",
                location=Location(record=meter_id or None),
            )
        sq = sq[order]
        step = np.diff(sq)
        if seq_modulus:
            step = np.mod(step, seq_modulus)
            bad = (step == 0) | (step > seq_modulus // 2)
        else:
            bad = step <= 0
        anomaly[1:] = bad
        lost[1:] = np.where(bad, 0, step - 1)

    valid = np.isfinite(val) & (val >= 0)
    if register is not None:
        valid &= val <= register.max_value
    reps = sorted(replacements, key=lambda r: r.ts_s)
    reps = [r for r in reps if int(ts[0]) < r.ts_s <= int(ts[-1])]

    increment = np.full(n, np.nan)
    start = ts.copy()
    kinds: list[IncrementKind] = [IncrementKind.INVALID] * n
    events: list[RegisterEvent] = []
    first_valid = int(np.argmax(valid)) if valid.any() else n
    for i in range(first_valid):
        kinds[i] = IncrementKind.INVALID if not np.isfinite(val[i]) else IncrementKind.OUT_OF_RANGE
        events.append(_event(i, ts, val, kinds[i], float("nan"), None))

    if first_valid < n:
        kinds[first_valid] = IncrementKind.BASELINE
        diffs = np.diff(val[first_valid:])
        fast = (
            bool(valid[first_valid:].all())
            and bool((diffs >= 0).all())
            and not reps
            and (
                max_rate_per_h is None
                or bool((diffs <= max_rate_per_h * np.diff(ts[first_valid:]) / 3600.0).all())
            )
        )
        if fast:
            increment[first_valid + 1 :] = diffs
            start[first_valid + 1 :] = ts[first_valid:-1]
            kinds[first_valid + 1 :] = [IncrementKind.NORMAL] * (n - first_valid - 1)
        else:
            _classify_loop(
                ts, val, valid, first_valid, reps, register, reset_threshold_frac, max_rate_per_h,
                glitch_lookahead, increment, start, kinds, events, meter_id,
            )
    gap = np.zeros(n, dtype=np.int64)
    if expected_interval_s:
        gap = np.rint((ts - start) / float(expected_interval_s)).astype(np.int64)
    events.sort(key=lambda e: e.index)
    return RegisterIncrements(
        meter_id, unit, ts, val, start, increment, tuple(kinds), gap, lost, anomaly, tuple(events)
    )


def _event(
    i: int, ts: I64, val: F64, kind: IncrementKind, ref: float, inc: float | None
) -> RegisterEvent:
    msg, msg_zh = _MSG[kind]
    return RegisterEvent(i, int(ts[i]), kind, float(val[i]), ref, inc, msg, msg_zh)


def _classify_loop(
    ts: I64,
    val: F64,
    valid: npt.NDArray[np.bool_],
    first: int,
    reps: list[MeterReplacement],
    register: RegisterSpec | None,
    thr: float,
    max_rate_per_h: float | None,
    lookahead: int,
    increment: F64,
    start: I64,
    kinds: list[IncrementKind],
    events: list[RegisterEvent],
    meter_id: str,
) -> None:
    n = ts.shape[0]
    tsl: list[int] = ts.tolist()
    vl: list[float] = val.tolist()
    validl: list[bool] = valid.tolist()
    valid_idx: list[int] = np.flatnonzero(valid).tolist()
    pos = {j: k for k, j in enumerate(valid_idx)}
    ref_v, ref_t = vl[first], tsl[first]
    rep_k = 0

    def next_valid(i: int, count: int) -> list[float]:
        """The next ``count`` valid readings of the same meter (not past a declared replacement)."""
        k = pos[i] + 1
        until = reps[rep_k].ts_s if rep_k < len(reps) else None
        return [vl[j] for j in valid_idx[k : k + count] if until is None or tsl[j] < until]

    for i in range(first + 1, n):
        v = vl[i]
        start[i] = ref_t
        if not validl[i]:
            kinds[i] = IncrementKind.INVALID if not np.isfinite(v) else IncrementKind.OUT_OF_RANGE
            events.append(_event(i, ts, val, kinds[i], ref_v, None))
            continue
        pending = []
        while rep_k < len(reps) and reps[rep_k].ts_s <= tsl[i]:
            pending.append(reps[rep_k])
            rep_k += 1
        span_h = (tsl[i] - ref_t) / 3600.0
        limit = None if max_rate_per_h is None else max_rate_per_h * span_h
        kind: IncrementKind
        inc: float | None = None
        if pending:
            if len(pending) > 1:
                raise InputError(
                    "two meter replacements between consecutive readings",
                    message_zh="相邻两次读数之间登记了两次换表",
                    location=Location(record=meter_id or None, value=tsl[i]),
                )
            rep = pending[0]
            if rep.old_final_value < ref_v or v < rep.new_start_value:
                raise QuantityError(
                    f"meter replacement at {rep.ts_s} does not fit the readings: old final "
                    f"{rep.old_final_value} vs previous reading {ref_v}, new start {rep.new_start_value} "
                    f"vs next reading {v}",
                    message_zh=f"换表记录（{rep.ts_s}）与读数不符：旧表止码 {rep.old_final_value}，"
                    f"上次读数 {ref_v}；新表起码 {rep.new_start_value}，下次读数 {v}",
                    hint="check the old meter's final and the new meter's start register values",
                    hint_zh="请核对旧表止码与新表起码",
                    location=Location(record=meter_id or None, value=rep.ts_s),
                )
            kind = IncrementKind.METER_REPLACEMENT
            inc = (rep.old_final_value - ref_v) + (v - rep.new_start_value)
        elif v >= ref_v:
            nxt = next_valid(i, 1)
            if (nxt and ref_v <= nxt[0] < thr * v) or (limit is not None and v - ref_v > limit):
                kind = IncrementKind.SPIKE
            else:
                kind, inc = IncrementKind.NORMAL, v - ref_v
        elif v >= thr * ref_v:
            kind = IncrementKind.SUSPECT_DIP
        elif (
            register is not None
            and ref_v >= thr * register.max_value
            and v <= (1 - thr) * register.max_value
            and (limit is None or register.modulus - ref_v + v <= limit)
        ):
            kind, inc = IncrementKind.ROLLOVER, (register.modulus - ref_v) + v
        elif v == 0:
            kind = IncrementKind.ZERO_READING
        elif any(x >= ref_v for x in next_valid(i, lookahead)):
            kind = IncrementKind.GLITCH
        elif limit is not None and v > limit:
            kind = IncrementKind.SPIKE
        else:
            kind, inc = IncrementKind.NEW_CYCLE, v
        kinds[i] = kind
        if inc is not None:
            increment[i] = inc
            if kind is not IncrementKind.NORMAL:
                events.append(_event(i, ts, val, kind, ref_v, inc))
            ref_v, ref_t = v, tsl[i]
        else:
            events.append(_event(i, ts, val, kind, ref_v, None))


def register_increments_to_grid(
    incs: RegisterIncrements,
    *,
    grid_start_s: int,
    n_slots: int,
    interval_s: int = DEFAULT_INTERVAL_S,
    snap_tolerance_s: int = 60,
) -> IntervalSeries:
    """Put counted register increments on a fixed grid (15 min default).

    Counted increments form a chain in time (each starts where the previous counted one ends), so
    the cumulative energy is a piecewise-linear function of time with knots at the counted
    readings. A reading within ``snap_tolerance_s`` of a grid boundary is taken to be on it.

    * a slot bounded by two consecutive knots is ``measured`` (exactly one reading interval);
    * a slot covered by counted spans but not so bounded (a gap lump, a span over suspect readings,
      off-grid readings) gets its pro-rata share, ``estimated`` with method
      ``prorated_register_lump`` — the sum over the span is conserved;
    * a slot not fully covered (before the baseline, after the last counted reading) stays
      ``missing`` (``NaN``). Nothing is zero-filled.
    """
    counted = incs.counted_mask()
    out = IntervalSeries.empty(grid_start_s, n_slots, interval_s, unit=incs.unit, meter_id=incs.meter_id)
    if not counted.any():
        return out
    first = int(np.flatnonzero(counted)[0])
    t = np.concatenate(([incs.start_s[first]], incs.ts_s[counted])).astype(np.int64)
    energy = np.concatenate(([0.0], np.cumsum(incs.increment[counted])))
    g = grid_start_s + np.arange(n_slots + 1, dtype=np.int64) * interval_s
    # snap knots to the grid where close, keeping them strictly increasing
    nearest = grid_start_s + np.rint((t - grid_start_s) / interval_s).astype(np.int64) * interval_s
    snapped = np.where(np.abs(t - nearest) <= snap_tolerance_s, nearest, t)
    while True:
        clash = np.flatnonzero(np.diff(snapped) <= 0)
        if clash.size == 0:
            break
        snapped[clash] = t[clash]
        snapped[clash + 1] = t[clash + 1]
    e_g = np.interp(g.astype(np.float64), snapped.astype(np.float64), energy)
    inside = (g >= snapped[0]) & (g <= snapped[-1])
    ok = inside[:-1] & inside[1:]
    vals = np.diff(e_g)
    p = np.searchsorted(snapped, g)
    pc = np.minimum(p, snapped.shape[0] - 1)
    is_knot = snapped[pc] == g
    measured = ok & is_knot[:-1] & is_knot[1:] & (p[1:] == p[:-1] + 1)
    estimated = ok & ~measured
    value = np.where(ok, vals, np.nan).astype(np.float64)
    quality = np.full(n_slots, QualityCode.MISSING, dtype=np.uint8)
    quality[measured] = QualityCode.MEASURED
    quality[estimated] = QualityCode.ESTIMATED
    method = np.zeros(n_slots, dtype=np.uint8)
    method[estimated] = EstimationMethod.PRORATED_LUMP.code
    return IntervalSeries(int(grid_start_s), int(interval_s), value, quality, method, incs.unit, incs.meter_id)


def regular_register_grid(
    ts_s: npt.ArrayLike,
    value: npt.ArrayLike,
    *,
    interval_s: int,
    seq: npt.ArrayLike | None = None,
    register: RegisterSpec | None = None,
    unit: str = "",
    meter_id: str = "",
) -> IntervalSeries | None:
    """Fast path of :func:`register_increments` + :func:`register_increments_to_grid` for the
    regular case, or ``None`` when the readings are not regular.

    Regular: at least two readings, sorted, exactly one grid step apart and on the grid
    (``ts % interval_s == 0``), every value finite, ≥ 0 and within the register, never
    decreasing, and gateway sequence numbers (if given) consecutive. Then every slot between
    the first and last reading is ``measured`` with the register difference, computed the same
    way as the general path (cumulated, then differenced), so the result is identical to
    ``register_increments_to_grid(register_increments(...), grid_start_s=ts[0], n_slots=n-1)``.
    Anything else returns ``None`` and the caller uses the general functions (rollovers, resets,
    gaps, glitches, off-grid readings are classified there).
    """
    ts = np.asarray(ts_s, dtype=np.int64)
    val = np.asarray(value, dtype=np.float64)
    if ts.ndim != 1 or ts.shape != val.shape or ts.shape[0] < 2 or int(ts[0]) % interval_s:
        return None
    if not (np.diff(ts) == interval_s).all() or not np.isfinite(val).all() or (val < 0).any():
        return None
    if register is not None and (val > register.max_value).any():
        return None
    if seq is not None and not (np.diff(np.asarray(seq, dtype=np.int64)) == 1).all():
        return None
    inc = np.diff(val)
    if (inc < 0).any():
        return None
    n = inc.shape[0]
    energy = np.concatenate(([0.0], np.cumsum(inc)))
    return IntervalSeries(int(ts[0]), int(interval_s), np.diff(energy), np.full(n, QualityCode.MEASURED, dtype=np.uint8),
                          np.zeros(n, dtype=np.uint8), unit, meter_id)
