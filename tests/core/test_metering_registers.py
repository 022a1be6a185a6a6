"""ING-03: reset, rollover and glitch classification of cumulative registers (table-driven).

Each case gives readings, the hand-computed increment of every reading (``None`` = not summed)
and its classification. In no case is a recovery slot silently zeroed (MyEMS anti-pattern).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parkcarbon.core.metering import (
    EstimationMethod,
    IncrementKind,
    MeterReplacement,
    QualityCode,
    RegisterSpec,
    register_increments,
    register_increments_to_grid,
    regular_register_grid,
)
from parkcarbon.errors import ConflictError, InputError, QuantityError

T0 = 1_740_758_400  # 2025-03-01 00:00 Asia/Shanghai
Q = 900
K = IncrementKind
B, N, RO, RE, NC, D, Z, G, S, OOR, INV = (
    K.BASELINE, K.NORMAL, K.ROLLOVER, K.METER_REPLACEMENT, K.NEW_CYCLE, K.SUSPECT_DIP,
    K.ZERO_READING, K.GLITCH, K.SPIKE, K.OUT_OF_RANGE, K.INVALID,
)
NAN = float("nan")
R8 = RegisterSpec.digits(8, 2)  # 99 999 999.99 kWh
C16 = RegisterSpec.counter_bits(16)
C32 = RegisterSpec.counter_bits(32)


@dataclass
class Case:
    name: str
    values: list[float]
    incs: list[float | None]
    kinds: list[IncrementKind]
    ts: list[int] | None = None
    opts: dict[str, Any] = field(default_factory=dict)
    gap_intervals: list[int] | None = None
    lost: list[int] | None = None
    anomaly: list[bool] | None = None


def _t(*slots: int) -> list[int]:
    return [T0 + s * Q for s in slots]


CASES = [
    Case("monotonic", [100, 110, 125, 125, 140], [None, 10, 15, 0, 15], [B, N, N, N, N]),
    Case("all equal", [50, 50, 50], [None, 0, 0], [B, N, N]),
    Case("single reading is only a baseline", [42], [None], [B]),
    Case("HA drop below 90 % = new cycle", [1000, 1010, 50, 70], [None, 10, 50, 20], [B, N, NC, N]),
    Case("HA drop to exactly 90 % is a dip", [1000, 900, 1005], [None, None, 5], [B, D, N]),
    Case("HA small dip then recovery", [500, 510, 505, 520], [None, 10, None, 10], [B, N, D, N]),
    Case("persisting dip counts from the reference", [1000, 980, 990, 1000, 1010], [None, None, None, 0, 10],
         [B, D, D, N, N]),
    Case("negative delta never summed: new cycle from zero", [200, 150, 160], [None, 150, 10], [B, NC, N]),
    Case("dip then new cycle", [1000, 950, 100, 110], [None, None, 100, 10], [B, D, NC, N]),
    Case("rollover at 99 999 999.99", [99_999_990.0, 99_999_998.5, 3.25, 10.0], [None, 8.5, 4.75, 6.75],
         [B, N, RO, N], opts={"register": R8}),
    Case("rollover of 16-bit counter to exactly 0", [65500, 65535, 0, 20], [None, 35, 1, 20], [B, N, RO, N],
         opts={"register": C16}),
    Case("rollover of 16-bit counter", [60000, 64000, 1500, 5000], [None, 4000, 3036, 3500], [B, N, RO, N],
         opts={"register": C16}),
    Case("rollover of 32-bit counter", [4_294_967_000, 4_294_967_290, 100, 400], [None, 290, 106, 300],
         [B, N, RO, N], opts={"register": C32}),
    Case("undeclared register: wrap looks like a new cycle", [99_999_990.0, 99_999_998.5, 3.25, 10.0],
         [None, 8.5, 3.25, 6.75], [B, N, NC, N]),
    Case("large drop far from max is not a rollover", [5_000_000, 5_000_100, 200, 300], [None, 100, 200, 100],
         [B, N, NC, N], opts={"register": R8}),
    Case("rollover refused by max rate: new cycle", [60000, 60900, 500], [None, 900, 500], [B, N, NC],
         opts={"register": C16, "max_rate_per_h": 4000}),
    Case("rollover then glitch", [99_999_995.0, 2.0, 1.5, 5.0], [None, 7.0, None, 3.0], [B, RO, G, N],
         opts={"register": R8}),
    Case("reading above register max is out of range", [99000, 99500, 150000, 99800], [None, 500, None, 300],
         [B, N, OOR, N], opts={"register": RegisterSpec.digits(5)}),
    Case("negative reading is out of range", [100, -5, 110], [None, None, 10], [B, OOR, N]),
    Case("NaN reading is invalid", [100, NAN, 120], [None, None, 20], [B, INV, N]),
    Case("invalid first reading: baseline is the first valid", [NAN, 100, 110], [None, None, 10], [INV, B, N]),
    Case("declared replacement with non-zero start", [1000, 1010, 1020, 505, 515], [None, 10, 10, 10, 10],
         [B, N, N, RE, N],
         opts={"replacements": [MeterReplacement(T0 + 3 * Q - 300, 1025, 500)]}),
    Case("declared replacement, new meter from zero", [2000, 2010, 3, 8], [None, 10, 5, 5], [B, N, RE, N],
         opts={"replacements": [MeterReplacement(T0 + 2 * Q, 2012, 0)]}),
    Case("undeclared replacement with non-zero start: counted from zero (HA)", [2000, 2010, 505, 515],
         [None, 10, 505, 10], [B, N, NC, N]),
    Case("look-ahead stops at a declared replacement", [0, 1, 0], [None, 1, 0], [B, N, RE],
         opts={"replacements": [MeterReplacement(T0 + 2 * Q - 60, 1, 0)]}),
    Case("replacement inside a gap", [1000, 1010, 30], [None, 10, 70], [B, N, RE], ts=_t(0, 1, 9),
         opts={"replacements": [MeterReplacement(T0 + 5 * Q, 1050, 0)], "expected_interval_s": Q},
         gap_intervals=[0, 1, 8]),
    Case("newly added used meter: non-zero first reading", [123456.5, 123460.0, 123470.0], [None, 3.5, 10],
         [B, N, N]),
    Case("MyEMS disconnected for hours: one flagged lump", [100, 110, 430, 440], [None, 10, 320, 10],
         [B, N, N, N], ts=_t(0, 1, 33, 34), opts={"expected_interval_s": Q}, gap_intervals=[0, 1, 32, 1]),
    Case("MyEMS hi-limit value then small value", [100, 110, 99_999_999.99, 120, 130], [None, 10, None, 10, 10],
         [B, N, S, N, N], opts={"register": R8}),
    Case("MyEMS hi-limit value without register spec", [100, 110, 99_999_999.0, 120, 130],
         [None, 10, None, 10, 10], [B, N, S, N, N]),
    Case("MyEMS recovery from bad zeros", [1000, 1010, 0, 0, 1030, 1040], [None, 10, None, None, 20, 10],
         [B, N, Z, Z, N, N]),
    Case("bad zero then recovery after a gap", [1000, 0, 1060], [None, None, 60], [B, Z, N], ts=_t(0, 1, 4),
         opts={"expected_interval_s": Q}, gap_intervals=[0, 1, 4]),
    Case("genuine reset to zero then counting", [1000, 1010, 0, 5, 12], [None, 10, None, 5, 7],
         [B, N, Z, NC, N]),
    Case("zero baseline", [0, 0, 5, 12], [None, 0, 5, 7], [B, N, N, N]),
    Case("single low glitch", [1000, 1010, 3, 1020], [None, 10, None, 10], [B, N, G, N]),
    Case("two low glitches", [1000, 1010, 3, 4, 1025], [None, 10, None, None, 15], [B, N, G, G, N]),
    Case("glitch longer than the look-ahead becomes a new cycle", [1000, 1010, 3, 4, 1025],
         [None, 10, 3, 1, 1021], [B, N, NC, N, N], opts={"glitch_lookahead": 1}),
    Case("spike above max rate", [500, 510, 900, 520], [None, 10, None, 10], [B, N, S, N],
         opts={"max_rate_per_h": 100}),
    Case("gap lump within max rate", [500, 510, 850], [None, 10, 340], [B, N, N], ts=_t(0, 1, 17),
         opts={"max_rate_per_h": 100, "expected_interval_s": Q}, gap_intervals=[0, 1, 16]),
    Case("unsorted input is sorted by time", [140, 125, 100, 110, 125], [None, 10, 15, 0, 15], [B, N, N, N, N],
         ts=_t(4, 2, 0, 1, 3)),
    Case("seq: contiguous numbers change nothing", [1000, 1010, 50, 70], [None, 10, 50, 20], [B, N, NC, N],
         opts={"seq": [1, 2, 3, 4]}, lost=[0, 0, 0, 0], anomaly=[False] * 4),
    Case("seq: lost readings flag the lump", [100, 110, 140, 150], [None, 10, 30, 10], [B, N, N, N],
         opts={"seq": [10, 11, 14, 15]}, lost=[0, 0, 2, 0]),
    Case("seq: wrap at modulus is not a loss", [100, 110, 120, 130], [None, 10, 10, 10], [B, N, N, N],
         opts={"seq": [65534, 65535, 0, 1], "seq_modulus": 65536}, lost=[0, 0, 0, 0], anomaly=[False] * 4),
    Case("seq: gateway restart is an anomaly", [100, 110, 120, 130], [None, 10, 10, 10], [B, N, N, N],
         opts={"seq": [100, 101, 5, 6]}, lost=[0, 0, 0, 0], anomaly=[False, False, True, False]),
    Case("seq: rollover with sequence numbers", [65500, 65535, 0, 20], [None, 35, 1, 20], [B, N, RO, N],
         opts={"register": C16, "seq": [7, 8, 9, 10]}, lost=[0, 0, 0, 0]),
    Case("seq: reset with lost readings", [1000, 1010, 50, 70], [None, 10, 50, 20], [B, N, NC, N],
         opts={"seq": [1, 2, 5, 6]}, lost=[0, 0, 2, 0]),
    Case("seq: bad zeros with sequence numbers", [1000, 1010, 0, 1030], [None, 10, None, 20], [B, N, Z, N],
         opts={"seq": [1, 2, 3, 4]}, lost=[0, 0, 0, 0]),
]


def test_case_count() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_ing03_case(case: Case) -> None:
    ts = case.ts if case.ts is not None else _t(*range(len(case.values)))
    r = register_increments(ts, case.values, **case.opts)
    order = np.argsort(ts)
    got = [None if math.isnan(x) else x for x in r.increment.tolist()]
    assert len(got) == len(case.incs)
    for g, e in zip(got, case.incs, strict=True):
        assert (g is None) == (e is None), (got, case.incs)
        if e is not None:
            assert g == pytest.approx(e, rel=1e-12, abs=1e-9)
    assert list(r.kind) == case.kinds
    assert np.array_equal(r.ts_s, np.sort(np.asarray(ts)))
    assert np.array_equal(r.reading, np.asarray(case.values, dtype=float)[order], equal_nan=True)
    # negative increments are never summed
    assert (r.increment[np.isfinite(r.increment)] >= 0).all()
    assert r.total() == pytest.approx(sum(e for e in case.incs if e is not None), abs=1e-9)
    if case.gap_intervals is not None:
        assert r.gap_intervals.tolist() == case.gap_intervals
    if case.lost is not None:
        assert r.lost_readings.tolist() == case.lost
    if case.anomaly is not None:
        assert r.seq_anomaly.tolist() == case.anomaly
    # every non-normal row is an event with a bilingual message
    flagged = [i for i, k in enumerate(r.kind) if k not in (B, N)]
    assert [e.index for e in r.events] == flagged
    assert all(e.message and e.message_zh for e in r.events)


def test_suspect_rows_do_not_move_the_reference() -> None:
    r = register_increments(_t(0, 1, 2, 3), [1000, 1010, 0, 1030])
    # the recovery increment spans from the last counted reading, over the bad zero
    assert r.start_s.tolist() == [T0, T0, T0 + Q, T0 + Q]
    assert r.lumps().tolist() == [False, False, False, False]


def test_lumps_flagged_from_gaps_and_lost_readings() -> None:
    r = register_increments(_t(0, 1, 5), [10, 20, 60], expected_interval_s=Q)
    assert r.lumps().tolist() == [False, False, True]
    r = register_increments(_t(0, 1, 2), [10, 20, 60], seq=[1, 2, 4])
    assert r.lumps().tolist() == [False, False, True]


def test_replacement_inconsistent_with_readings_raises() -> None:
    with pytest.raises(QuantityError) as err:
        register_increments(_t(0, 1, 2), [1000, 1010, 5], replacements=[MeterReplacement(T0 + 2 * Q, 1005, 0)])
    assert err.value.code == "E-QTY" and err.value.message_zh


def test_two_replacements_in_one_span_raise() -> None:
    reps = [MeterReplacement(T0 + Q + 100, 1015, 0), MeterReplacement(T0 + Q + 200, 3, 0)]
    with pytest.raises(InputError):
        register_increments(_t(0, 1, 2), [1000, 1010, 5], replacements=reps)


def test_duplicate_timestamps_are_a_conflict() -> None:
    with pytest.raises(ConflictError):
        register_increments([T0, T0], [1, 2])


def test_bad_inputs() -> None:
    with pytest.raises(InputError):
        register_increments([], [])
    with pytest.raises(InputError):
        register_increments([T0], [1, 2])
    with pytest.raises(InputError):
        register_increments([T0, T0 + Q], [1, 2], seq=[1])
    with pytest.raises(QuantityError):
        RegisterSpec(-1.0)


def test_register_spec_constructors() -> None:
    assert RegisterSpec.digits(8, 2).max_value == 99_999_999.99
    assert RegisterSpec.digits(8, 2).modulus == pytest.approx(100_000_000.0)
    assert RegisterSpec.counter_bits(16).modulus == 65536
    assert RegisterSpec.counter_bits(32).max_value == 4_294_967_295


# ------------------------------------------------------------------- register increments → grid


def test_to_grid_aligned_readings_are_measured() -> None:
    r = register_increments(_t(0, 1, 2, 3), [100, 110, 125, 130])
    g = register_increments_to_grid(r, grid_start_s=T0, n_slots=5)
    assert g.value[:3].tolist() == [10, 15, 5]
    assert math.isnan(g.value[3]) and math.isnan(g.value[4])
    assert g.quality.tolist() == [0, 0, 0, QualityCode.MISSING, QualityCode.MISSING]


def test_to_grid_lump_is_spread_and_flagged_never_zeroed() -> None:
    r = register_increments(_t(0, 1, 5, 6), [100, 110, 150, 152], expected_interval_s=Q)
    g = register_increments_to_grid(r, grid_start_s=T0, n_slots=6)
    assert g.value.tolist() == [10, 10, 10, 10, 10, 2]
    assert g.quality.tolist() == [0, 1, 1, 1, 1, 0]
    assert g.method[1:5].tolist() == [EstimationMethod.PRORATED_LUMP.code] * 4
    assert g.total() == r.total()


def test_to_grid_over_bad_zero_conserves_energy() -> None:
    r = register_increments(_t(0, 1, 2, 3, 4), [1000, 1010, 0, 1030, 1040])
    g = register_increments_to_grid(r, grid_start_s=T0, n_slots=4)
    assert g.value.tolist() == [10, 10, 10, 10]
    assert g.quality.tolist() == [0, 1, 1, 0]
    assert g.total() == 40


def test_to_grid_snaps_jittered_readings() -> None:
    ts = [T0 + 20, T0 + Q - 30, T0 + 2 * Q + 5]
    r = register_increments(ts, [0, 3, 7])
    g = register_increments_to_grid(r, grid_start_s=T0, n_slots=2, snap_tolerance_s=60)
    assert g.value.tolist() == [3, 4]
    assert g.quality.tolist() == [0, 0]
    g = register_increments_to_grid(r, grid_start_s=T0, n_slots=2, snap_tolerance_s=0)
    # not snapped: first slot only partly covered → missing; second spread pro rata
    assert g.quality[0] == QualityCode.MISSING


def test_to_grid_no_counted_increment_is_all_missing() -> None:
    r = register_increments(_t(0), [5])
    g = register_increments_to_grid(r, grid_start_s=T0, n_slots=3)
    assert g.count(QualityCode.MISSING) == 3 and g.total() is None


# ------------------------------------------------------------------- properties


_CONSERVATION = given(
    start=st.integers(0, 65535),
    steps=st.lists(st.integers(0, 6553), min_size=1, max_size=60),
    replace_at=st.one_of(st.none(), st.integers(0, 59)),
    new_start=st.integers(0, 1000),
    seq_start=st.integers(0, 65535),
)


@pytest.mark.t3
@settings(max_examples=5000, deadline=None)
@_CONSERVATION
def test_energy_conservation_t3(
    start: int, steps: list[int], replace_at: int | None, new_start: int, seq_start: int
) -> None:
    test_energy_conserved_across_rollovers_and_replacements.hypothesis.inner_test(  # type: ignore[attr-defined]
        start, steps, replace_at, new_start, seq_start
    )


@settings(max_examples=150, deadline=None)
@given(
    start=st.integers(0, 65535),
    steps=st.lists(st.integers(0, 6553), min_size=1, max_size=60),
    replace_at=st.one_of(st.none(), st.integers(0, 59)),
    new_start=st.integers(0, 1000),
    seq_start=st.integers(0, 65535),
)
def test_energy_conserved_across_rollovers_and_replacements(
    start: int, steps: list[int], replace_at: int | None, new_start: int, seq_start: int
) -> None:
    """Σ counted increments == true energy for a 16-bit counter with rollovers and a declared
    replacement (increments ≤ 10 % of the range, as the rollover rule requires)."""
    reg = [start]
    reps = []
    for i, d in enumerate(steps, start=1):
        if replace_at is not None and i - 1 == replace_at:
            # the old meter gets d//2 more, then is replaced; the new one counts the rest
            old_final = (reg[-1] + d // 2) % 65536
            if old_final < reg[-1]:  # the old meter would wrap during the change: skip the event
                reg.append((reg[-1] + d) % 65536)
                continue
            reps.append(MeterReplacement(T0 + i * Q - 60, old_final, new_start))
            reg.append(new_start + (d - d // 2))
        else:
            reg.append((reg[-1] + d) % 65536)
    seq = [(seq_start + i) % 65536 for i in range(len(reg))]
    r = register_increments(
        _t(*range(len(reg))), reg, register=C16, replacements=reps, seq=seq, seq_modulus=65536
    )
    assert r.total() == sum(steps)
    assert all(k in (B, N, RO, RE) for k in r.kind)
    assert not r.seq_anomaly.any() and not r.lost_readings.any()


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(st.floats(-10, 1e9, allow_nan=False), st.just(float("nan")), st.just(0.0)),
        min_size=1, max_size=40,
    )
)
def test_no_negative_sum_and_counted_chain(values: list[float]) -> None:
    """For any readings: no negative increment is summed, and counted increments form a chain
    (each starts at the previous counted reading), so energy on the grid is conserved."""
    ts = _t(*range(len(values)))
    r = register_increments(ts, values, register=R8)
    counted = np.flatnonzero(r.counted_mask())
    assert (r.increment[counted] >= 0).all()
    base = [i for i, k in enumerate(r.kind) if k is B]
    if counted.size:
        chain_starts = r.start_s[counted]
        prev_ends = np.concatenate(([r.ts_s[base[0]]], r.ts_s[counted[:-1]]))
        assert np.array_equal(chain_starts, prev_ends)
        g = register_increments_to_grid(r, grid_start_s=T0, n_slots=len(values))
        assert g.total() == pytest.approx(r.total(), rel=1e-9, abs=1e-6)


# --- regular fast path: identical to the general functions, or declines ------------------------


@st.composite
def _register_run(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int, bool]:
    """Register readings that are regular (on the grid, one step apart, never decreasing,
    consecutive sequence numbers) or, half of the time, perturbed in one of those respects."""
    n = draw(st.integers(2, 40))
    grid = draw(st.sampled_from([900, 1800, 3600]))
    regular = draw(st.booleans())
    t0 = draw(st.integers(0, 10_000)) * grid + (0 if regular else draw(st.sampled_from([0, 30, 120])))
    steps = [grid] * (n - 1) if regular else draw(st.lists(st.sampled_from([grid, grid, 2 * grid, grid - 30]),
                                                             min_size=n - 1, max_size=n - 1))
    ts = t0 + np.concatenate(([0], np.cumsum(steps))).astype(np.int64)
    low = 0.0 if regular else -5.0
    incs = draw(st.lists(st.floats(low, 50.0, allow_nan=False), min_size=n - 1, max_size=n - 1))
    val = np.concatenate(([draw(st.floats(0.0, 99_000.0))], np.asarray(incs))).cumsum()
    seq = None if draw(st.booleans()) else np.arange(n, dtype=np.int64) + (
        0 if regular else draw(st.sampled_from([0, 1])) * (np.arange(n) >= n // 2))
    return ts, val, seq, grid, regular and bool(val[-1] <= 99_999.99)


@settings(max_examples=300, deadline=None)
@given(_register_run())
def test_regular_fast_path_equals_general_path(run: tuple[Any, Any, Any, int, bool]) -> None:
    ts, val, seq, grid, regular = run
    spec = RegisterSpec(99_999.99, 0.01)
    fast = regular_register_grid(ts, val, interval_s=grid, seq=seq, register=spec, unit="kWh", meter_id="m")
    if regular:
        assert fast is not None
    if fast is None:
        return
    general = register_increments_to_grid(
        register_increments(ts, val, seq=seq, register=spec, expected_interval_s=grid, meter_id="m", unit="kWh"),
        grid_start_s=int(ts[0]), n_slots=len(ts) - 1, interval_s=grid)
    assert fast.start_s == general.start_s and fast.interval_s == general.interval_s
    assert np.array_equal(fast.quality, general.quality)
    assert np.array_equal(fast.method, general.method)
    assert np.array_equal(fast.value, general.value)  # bit-identical, not approximately equal


def test_regular_fast_path_declines_irregular_readings() -> None:
    ts = 900 * np.arange(5, dtype=np.int64)
    ok = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert regular_register_grid(ts, ok, interval_s=900) is not None
    assert regular_register_grid(ts, np.array([1.0, 2.0, 1.5, 4.0, 5.0]), interval_s=900) is None  # dip / reset
    assert regular_register_grid(ts + 30, ok, interval_s=900) is None  # off the grid
    assert regular_register_grid(np.r_[ts[:2], ts[3:]], ok[:4], interval_s=900) is None  # a gap
    assert regular_register_grid(ts, np.r_[ok[:4], np.nan], interval_s=900) is None
    assert regular_register_grid(ts, ok * 1e6, interval_s=900, register=RegisterSpec(99_999.99, 0.01)) is None
    assert regular_register_grid(ts, ok, interval_s=900, seq=np.array([1, 2, 4, 5, 6])) is None  # a lost reading
    assert regular_register_grid(ts[:1], ok[:1], interval_s=900) is None
