"""Interval grid, gaps, completeness, estimation and supersession (ING-04, R4, R12)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parkcarbon.core.activity import Quality
from parkcarbon.core.metering import (
    EstimationMethod,
    Gap,
    IntervalSeries,
    QualityCode,
    completeness,
    estimate_gaps,
    expected_vs_found,
    find_gaps,
    interval_values_to_grid,
    merge_real_over_estimates,
)
from parkcarbon.errors import ConflictError, InputError, PeriodError

T0 = 1_740_758_400  # 2025-03-01 00:00 Asia/Shanghai (a Saturday)
Q = 900
DAY = 96
WEEK = 7 * DAY
N_SLOTS = 6 * WEEK  # six weeks: room for 2 000-slot gaps with profile weeks around them


def clean_values(n: int = N_SLOTS, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    slot = np.arange(n)
    shape = 1.0 + 0.5 * np.sin(2 * np.pi * (slot % DAY) / DAY)
    return np.round(10.0 * shape * rng.uniform(0.9, 1.1, n), 3)


CLEAN = clean_values()
CLEAN_TS = T0 + np.arange(N_SLOTS, dtype=np.int64) * Q


# ------------------------------------------------------------------- grid building


def test_interval_values_to_grid_gaps_stay_missing() -> None:
    s = interval_values_to_grid([T0, T0 + Q, T0 + 3 * Q], [1.0, 2.0, 4.0], grid_start_s=T0, n_slots=5, unit="kWh")
    assert s.value[:2].tolist() == [1.0, 2.0] and s.value[3] == 4.0
    assert math.isnan(s.value[2]) and math.isnan(s.value[4])
    assert s.quality.tolist() == [0, 0, 3, 0, 3]
    assert s.total() == 7.0 and s.unit == "kWh"
    assert QualityCode(3).quality is Quality.MISSING and QualityCode.of("estimated") is QualityCode.ESTIMATED


def test_interval_values_negative_and_nan() -> None:
    s = interval_values_to_grid([T0, T0 + Q, T0 + 2 * Q], [1.0, -2.0, float("nan")], grid_start_s=T0, n_slots=3)
    assert s.quality.tolist() == [QualityCode.MEASURED, QualityCode.SUSPECT, QualityCode.MISSING]
    assert s.total() == 1.0


def test_interval_values_sub_intervals() -> None:
    # 1-minute data onto the 15-minute grid: slot 0 complete, slot 1 one minute missing, slot 2 one estimated
    ts = [T0 + 60 * i for i in range(45) if i != 20]
    vals = [1.0] * len(ts)
    q = [QualityCode.ESTIMATED if t == T0 + 60 * 40 else QualityCode.MEASURED for t in ts]
    s = interval_values_to_grid(ts, vals, q, grid_start_s=T0, n_slots=3, source_interval_s=60)
    assert s.value[0] == 15.0 and math.isnan(s.value[1]) and s.value[2] == 15.0
    assert s.quality.tolist() == [QualityCode.MEASURED, QualityCode.MISSING, QualityCode.ESTIMATED]


def test_interval_values_refusals() -> None:
    with pytest.raises(PeriodError):
        interval_values_to_grid([T0 + 7], [1.0], grid_start_s=T0, n_slots=2)
    with pytest.raises(ConflictError):
        interval_values_to_grid([T0, T0], [1.0, 1.0], grid_start_s=T0, n_slots=2)
    with pytest.raises(PeriodError):
        interval_values_to_grid([T0], [1.0], grid_start_s=T0, n_slots=2, source_interval_s=7 * 60)
    with pytest.raises(InputError):
        interval_values_to_grid([T0], [1.0], [9], grid_start_s=T0, n_slots=2)
    with pytest.raises(InputError):
        interval_values_to_grid([T0], [1.0, 2.0], grid_start_s=T0, n_slots=2)


def test_values_outside_window_belong_to_another_window() -> None:
    s = interval_values_to_grid([T0 - Q, T0, T0 + 2 * Q], [5.0, 1.0, 9.0], grid_start_s=T0, n_slots=2)
    assert s.total() == 1.0 and s.count(QualityCode.MISSING) == 1


# ------------------------------------------------------------------- ING-04


def _series_with_gap(a: int, length: int) -> tuple[IntervalSeries, np.ndarray, np.ndarray]:
    keep = np.ones(N_SLOTS, dtype=bool)
    keep[a : a + length] = False
    ts, vals = CLEAN_TS[keep], CLEAN[keep]
    ts_copy, vals_copy = ts.copy(), vals.copy()
    s = interval_values_to_grid(ts, vals, grid_start_s=T0, n_slots=N_SLOTS, meter_id="M1", unit="kWh")
    assert np.array_equal(ts, ts_copy) and np.array_equal(vals, vals_copy)  # raw data unchanged
    return s, ts, vals


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_ing04_gaps_detected_estimated_and_superseded(data: st.DataObject) -> None:
    _ing04(data)


@pytest.mark.t3
@settings(max_examples=2000, deadline=None)
@given(data=st.data())
def test_ing04_t3(data: st.DataObject) -> None:
    _ing04(data)


def _ing04(data: st.DataObject) -> None:
    length = data.draw(st.integers(1, 2000), label="gap length")
    a = data.draw(st.integers(0, N_SLOTS - length), label="gap start")
    s, ts, _ = _series_with_gap(a, length)
    raw_value, raw_quality = s.value.copy(), s.quality.copy()

    # gaps detected exactly: expected vs found, on raw timestamps and on the grid
    report = expected_vs_found(ts, start_s=T0, end_s=T0 + N_SLOTS * Q)
    injected = Gap(T0 + a * Q, T0 + (a + length) * Q, length, a)
    assert report.gaps == (injected,) and report.missing == length and report.expected == N_SLOTS
    assert find_gaps(s) == (injected,)

    # completeness per day, warning below 90 %
    for c in completeness(s, "day"):
        day_slot0 = (c.period_start_s - T0) // Q
        lost = max(0, min(day_slot0 + DAY, a + length) - max(day_slot0, a))
        assert c.expected == DAY and c.missing == lost
        assert c.warning == ((DAY - lost) / DAY < 0.9)
        assert bool(c.message_zh) == c.warning

    # estimation: explicit, flagged, with method id and inputs; input series unchanged
    est = estimate_gaps(s, author="tester")
    assert np.array_equal(s.value, raw_value, equal_nan=True) and np.array_equal(s.quality, raw_quality)
    e = est.series
    for g in est.estimates:
        sl = slice(g.gap.first_slot, g.gap.first_slot + g.gap.n_intervals)
        assert (e.quality[sl] == QualityCode.ESTIMATED).all()
        assert (e.method[sl] == g.method.code).all()
        assert g.inputs and g.author == "tester" and not g.conservative
        if length <= 4 and 0 < a and a + length < N_SLOTS:
            assert g.method is EstimationMethod.LINEAR_INTERPOLATION
        else:
            assert g.method is EstimationMethod.WEEKDAY_PROFILE
    assert sum(g.gap.n_intervals for g in est.estimates) + sum(g.n_intervals for g in est.unestimated) == length
    assert e.count(QualityCode.ESTIMATED) == sum(g.gap.n_intervals for g in est.estimates)

    # real data arrives: estimates superseded, history listed, series equals the clean one
    real = interval_values_to_grid(CLEAN_TS, CLEAN, grid_start_s=T0, n_slots=N_SLOTS, meter_id="M1")
    merged = merge_real_over_estimates(e, real)
    assert sorted(x.slot for x in merged.superseded) == np.flatnonzero(e.quality == QualityCode.ESTIMATED).tolist()
    assert all(x.method is not None for x in merged.superseded)
    assert sorted(merged.filled_slots) == np.flatnonzero(e.quality == QualityCode.MISSING).tolist()
    assert np.array_equal(merged.series.value, CLEAN)
    assert (merged.series.quality == QualityCode.MEASURED).all() and not merged.series.method.any()
    assert e.count(QualityCode.ESTIMATED) == len(merged.superseded)  # estimate history intact


@settings(max_examples=80, deadline=None)
@given(
    values=st.lists(st.floats(0, 500, allow_nan=False), min_size=1, max_size=300),
    data=st.data(),
    bound_extra=st.floats(0, 50),
)
def test_ing04_conservative_never_below_truth(values: list[float], data: st.DataObject, bound_extra: float) -> None:
    """Conservative mode with a declared upper bound (rated capacity × interval): no estimate
    is below the true value (count of non-conservative estimates = 0)."""
    truth = np.array(values)
    bound = float(truth.max()) + bound_extra  # physically: truth never exceeds the rating
    n = truth.shape[0]
    a = data.draw(st.integers(0, n - 1))
    length = data.draw(st.integers(1, n - a))
    q = np.zeros(n, dtype=np.uint8)
    q[a : a + length] = QualityCode.MISSING
    v = truth.copy()
    v[a : a + length] = np.nan
    s = IntervalSeries(T0, Q, v, q, np.zeros(n, dtype=np.uint8))
    est = estimate_gaps(s, conservative=True, upper_bound_per_interval=bound)
    filled = est.series.value[a : a + length]
    assert (est.series.quality[a : a + length] == QualityCode.ESTIMATED).all()
    assert int((filled < truth[a : a + length]).sum()) == 0
    assert all(g.method is EstimationMethod.CONSERVATIVE_UPPER_BOUND and g.conservative for g in est.estimates)


@settings(max_examples=60, deadline=None)
@given(a=st.integers(0, N_SLOTS - 1), length=st.integers(1, 600), seed=st.integers(0, 10))
def test_conservative_observed_max_dominates_and_covers_periodic_truth(a: int, length: int, seed: int) -> None:
    """Without a declared bound the conservative estimate is ≥ the ordinary estimate of every slot,
    and ≥ the truth when the truth repeats weekly (the reference window holds the same slots)."""
    length = min(length, N_SLOTS - a)
    week = clean_values(WEEK, seed)
    truth = np.tile(week, N_SLOTS // WEEK)
    keep = np.ones(N_SLOTS, dtype=bool)
    keep[a : a + length] = False
    s = interval_values_to_grid(CLEAN_TS[keep], truth[keep], grid_start_s=T0, n_slots=N_SLOTS)
    normal = estimate_gaps(s)
    cons = estimate_gaps(s, conservative=True)
    sl = slice(a, a + length)
    assert (cons.series.quality[sl] == QualityCode.ESTIMATED).all()
    ok = normal.series.quality[sl] == QualityCode.ESTIMATED
    assert (cons.series.value[sl][ok] >= normal.series.value[sl][ok] - 1e-9).all()
    assert (cons.series.value[sl] >= truth[sl]).all()
    assert all(g.method is EstimationMethod.CONSERVATIVE_OBSERVED_MAX for g in cons.estimates)


def test_linear_interpolation_hand_computed() -> None:
    s = interval_values_to_grid([T0, T0 + 4 * Q], [2.0, 10.0], grid_start_s=T0, n_slots=5, meter_id="M")
    est = estimate_gaps(s, max_linear_gap=3)
    assert est.series.value.tolist() == [2.0, 4.0, 6.0, 8.0, 10.0]
    (g,) = est.estimates
    assert g.method is EstimationMethod.LINEAR_INTERPOLATION
    assert dict(g.inputs) == {"before": 2.0, "after": 10.0} and g.total == 18.0


def test_weekday_profile_hand_computed() -> None:
    n = 3 * WEEK
    v = np.full(n, np.nan)
    q = np.full(n, QualityCode.MISSING, dtype=np.uint8)
    v[:WEEK], q[:WEEK] = 4.0, QualityCode.MEASURED
    v[WEEK : 2 * WEEK], q[WEEK : 2 * WEEK] = 6.0, QualityCode.MEASURED
    s = IntervalSeries(T0, Q, v, q, np.zeros(n, dtype=np.uint8))
    est = estimate_gaps(s, profile_weeks=2)
    assert (est.series.value[2 * WEEK :] == 5.0).all()  # mean of the two previous weeks
    assert est.estimates[0].method is EstimationMethod.WEEKDAY_PROFILE


def test_gap_without_reference_stays_missing() -> None:
    s = IntervalSeries.empty(T0, 10)
    est = estimate_gaps(s)
    assert est.estimates == () and est.unestimated == find_gaps(s)
    assert est.series.count(QualityCode.MISSING) == 10
    est = estimate_gaps(s, conservative=True)
    assert est.estimates == ()


def test_estimation_parameter_errors() -> None:
    s = IntervalSeries.empty(T0, 4)
    with pytest.raises(InputError):
        estimate_gaps(s, profile_weeks=0)
    with pytest.raises(InputError):
        estimate_gaps(s, conservative=True, upper_bound_per_interval=-1.0)


def test_estimate_suspect_slots_on_request() -> None:
    s = interval_values_to_grid([T0, T0 + Q, T0 + 2 * Q], [2.0, -1.0, 4.0], grid_start_s=T0, n_slots=3)
    assert estimate_gaps(s).estimates == ()
    est = estimate_gaps(s, estimate_suspect=True)
    assert est.series.value.tolist() == [2.0, 3.0, 4.0]


def test_merge_conflicting_real_values_raise() -> None:
    a = interval_values_to_grid([T0], [1.0], grid_start_s=T0, n_slots=2)
    b = interval_values_to_grid([T0], [2.0], grid_start_s=T0, n_slots=2)
    with pytest.raises(ConflictError):
        merge_real_over_estimates(a, b)
    same = merge_real_over_estimates(a, a)
    assert same.superseded == () and same.filled_slots == ()


def test_merge_grid_mismatch_raises() -> None:
    a = IntervalSeries.empty(T0, 4)
    with pytest.raises(PeriodError):
        merge_real_over_estimates(a, IntervalSeries.empty(T0 + 1, 2))
    with pytest.raises(PeriodError):
        merge_real_over_estimates(a, IntervalSeries.empty(T0 + 3 * Q, 2))


def test_merge_subwindow_supersedes_only_inside() -> None:
    s = interval_values_to_grid([T0, T0 + 3 * Q], [1.0, 4.0], grid_start_s=T0, n_slots=4)
    e = estimate_gaps(s).series
    real = interval_values_to_grid([T0 + Q], [2.5], grid_start_s=T0 + Q, n_slots=1)
    m = merge_real_over_estimates(e, real)
    assert [x.slot for x in m.superseded] == [1]
    assert m.superseded[0].estimated_value == 2.0 and m.superseded[0].real_value == 2.5
    assert m.series.quality.tolist() == [0, 0, 1, 0]


def test_series_validation() -> None:
    with pytest.raises(PeriodError):
        IntervalSeries(T0, 0, np.zeros(1), np.zeros(1, np.uint8), np.zeros(1, np.uint8))
    with pytest.raises(InputError):
        IntervalSeries(T0, Q, np.zeros(2), np.zeros(1, np.uint8), np.zeros(2, np.uint8))
    with pytest.raises(PeriodError):
        expected_vs_found([T0 + 1], start_s=T0, end_s=T0 + Q)
    with pytest.raises(PeriodError):
        expected_vs_found([], start_s=T0, end_s=T0 + 100)


def test_completeness_month_and_threshold() -> None:
    s = interval_values_to_grid(CLEAN_TS[:DAY], CLEAN[:DAY], grid_start_s=T0, n_slots=DAY, meter_id="M9")
    (c,) = completeness(s, "month")
    assert c.expected == 31 * DAY and c.measured == DAY and c.warning
    assert "M9" in c.message and "2025-03" in c.message and c.code == "DQ-COMPLETENESS"
    (d,) = completeness(s, "day")
    assert not d.warning and d.measured_frac == 1.0
