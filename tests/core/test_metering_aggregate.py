"""Aggregation interval → hour → day → month in Asia/Shanghai, with coverage; incremental roll-up."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parkcarbon.core.metering import (
    IntervalSeries,
    PeriodLevel,
    QualityCode,
    aggregate,
    aggregate_slots,
    interval_values_to_grid,
    period_end,
    period_label,
    period_start,
    replace_periods,
    rollup,
    to_epoch_seconds,
    touched_periods,
    utc_offsets,
)
from parkcarbon.errors import CalculationError, ConflictError, PeriodError
from parkcarbon.periods import REPORTING_TZ

Q = 900
T0 = 1_740_758_400  # 2025-03-01 00:00 Asia/Shanghai = 2025-02-28T16:00Z


def utc(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


def local(*args: int) -> int:
    return int(datetime(*args, tzinfo=REPORTING_TZ).timestamp())


# ------------------------------------------------------------------- time


def test_local_day_starts_at_16_utc() -> None:
    assert period_start([utc(2025, 3, 1, 15, 59, 59)], "day").tolist() == [utc(2025, 2, 28, 16)]
    assert period_start([utc(2025, 3, 1, 16)], "day").tolist() == [utc(2025, 3, 1, 16)]
    assert period_start([utc(2025, 3, 31, 16)], "month").tolist() == [utc(2025, 3, 31, 16)]  # 1 April local
    assert period_start([utc(2025, 3, 31, 15, 59)], "month").tolist() == [T0]
    assert period_end([T0], "month").tolist() == [utc(2025, 3, 31, 16)]
    assert period_end([T0], "day").tolist() == [T0 + 86400]
    assert period_start([utc(2025, 3, 1, 7, 30)], "hour").tolist() == [utc(2025, 3, 1, 7)]
    assert period_label(T0, "month") == "2025-03" and period_label(T0, "day") == "2025-03-01"
    assert period_label(T0 + 3600 * 8, "hour") == "2025-03-01T08"


def test_historical_dst_uses_tz_database() -> None:
    """1986–1991 China used DST: a summer day of 1988 starts at 15:00 UTC, not 16:00 (ING-05)."""
    ts = utc(1988, 7, 1, 12)
    assert period_start([ts], "day").tolist() == [local(1988, 7, 1)] == [utc(1988, 6, 30, 15)]
    assert utc_offsets([ts]).tolist() == [9 * 3600]
    assert period_start([ts], "month").tolist() == [local(1988, 7, 1)]
    # 1988-04-17 local had 23 hours (92 fifteen-minute slots), 1988-09-11 had 25 (100)
    start = local(1988, 4, 17)
    assert (period_end([start], "day")[0] - start) // Q == 92
    assert aggregate(IntervalSeries.empty(start, 92), "day").n_expected.tolist() == [92]
    autumn = local(1988, 9, 11)
    assert period_start([autumn + 24 * 3600], "day").tolist() == [autumn]
    assert aggregate(IntervalSeries.empty(autumn, 100), "day").n_expected.tolist() == [100]
    hours = aggregate(IntervalSeries.empty(autumn, 100), "hour")
    assert hours.n_periods == 25 and (hours.n_expected == 4).all()


def test_to_epoch_seconds() -> None:
    aware = datetime(2025, 3, 1, tzinfo=REPORTING_TZ)
    assert to_epoch_seconds([aware]).tolist() == [T0]
    assert to_epoch_seconds(np.array(["2025-02-28T16:00"], dtype="datetime64[s]")).tolist() == [T0]
    assert to_epoch_seconds(np.array([T0], dtype=np.int32 if T0 < 2**31 else np.int64)).tolist() == [T0]
    with pytest.raises(PeriodError):
        to_epoch_seconds([datetime(2025, 3, 1)])
    with pytest.raises(PeriodError):
        to_epoch_seconds(["2025-03-01"])


# ------------------------------------------------------------------- aggregation


def test_aggregate_day_hand_computed() -> None:
    ts = [T0, T0 + Q, T0 + 2 * Q, T0 + 96 * Q]
    s = interval_values_to_grid(ts, [1.0, 2.0, -1.0, 5.0], grid_start_s=T0, n_slots=2 * 96, meter_id="M")
    d = aggregate(s, "day")
    assert d.period_start_s.tolist() == [T0, T0 + 86400]
    assert d.total.tolist() == [3.0, 5.0]
    assert d.n_expected.tolist() == [96, 96]
    assert d.n_measured.tolist() == [2, 1]
    assert d.n_suspect.tolist() == [1, 0]
    assert d.n_missing.tolist() == [93, 95]
    assert d.coverage_frac().tolist() == [2 / 96, 1 / 96]
    m = aggregate(s, "month")
    assert m.n_expected.tolist() == [31 * 96] and m.total.tolist() == [8.0] and m.label(0) == "2025-03"


def test_period_with_nothing_summed_is_nan_not_zero() -> None:
    s = IntervalSeries.empty(T0, 96)
    d = aggregate(s, "day")
    assert math.isnan(d.total[0]) and d.n_missing.tolist() == [96] and d.grand_total() is None


def _random_series(seed: int, n: int, start: int = T0) -> IntervalSeries:
    rng = np.random.default_rng(seed)
    v = rng.integers(0, 100, n).astype(float)
    q = rng.choice(np.array([0, 0, 0, 1, 2, 3, 4], dtype=np.uint8), n)
    v[q >= 3] = np.nan
    return IntervalSeries(start, Q, v, q, np.zeros(n, dtype=np.uint8))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 96 * 70), offset=st.integers(-96 * 40, 96 * 40))
def test_sum_over_months_equals_sum_of_increments(seed: int, n: int, offset: int) -> None:
    s = _random_series(seed, n, T0 + offset * Q)
    total = s.total()
    for level in PeriodLevel:
        agg = aggregate(s, level)
        assert agg.grand_total() == total  # integer-valued floats: exact
        assert int(agg.n_measured.sum() + agg.n_edited.sum() + agg.n_estimated.sum()) == int(s.summed_mask().sum())
        assert (agg.n_missing + agg.n_measured + agg.n_edited + agg.n_estimated + agg.n_suspect == agg.n_expected).all()
        # day boundaries at 16:00 UTC (Asia/Shanghai, no DST since 1992)
        if level is not PeriodLevel.HOUR:
            assert ((agg.period_start_s - 16 * 3600) % 86400 == 0).all()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 96 * 40))
def test_order_independence(seed: int, n: int) -> None:
    s = _random_series(seed, n)
    perm = np.random.default_rng(seed + 1).permutation(n)
    ts = s.slot_starts()
    for level in ("hour", "day", "month"):
        a = aggregate_slots(ts, s.value, s.quality, interval_s=Q, level=level)
        b = aggregate_slots(ts[perm], s.value[perm], s.quality[perm], interval_s=Q, level=level)
        assert np.array_equal(a.total, b.total, equal_nan=True)
        for f in ("n_measured", "n_estimated", "n_edited", "n_suspect", "n_missing", "period_start_s"):
            assert np.array_equal(getattr(a, f), getattr(b, f))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 96 * 70))
def test_rollup_equals_direct_aggregation(seed: int, n: int) -> None:
    s = _random_series(seed, n, T0 + 37 * Q)
    hour = aggregate(s, "hour")
    for lvl in ("day", "month"):
        direct, rolled = aggregate(s, lvl), rollup(hour, lvl)
        assert np.array_equal(direct.total, rolled.total, equal_nan=True)
        for f in ("period_start_s", "period_end_s", "n_expected", "n_measured", "n_missing", "n_suspect"):
            assert np.array_equal(getattr(direct, f), getattr(rolled, f))
    assert np.array_equal(rollup(aggregate(s, "day"), "month").n_missing, aggregate(s, "month").n_missing)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_new=st.integers(1, 500))
def test_incremental_update_equals_full_recompute(seed: int, n_new: int) -> None:
    n = 96 * 65
    old = _random_series(seed, n)
    rng = np.random.default_rng(seed)
    idx = rng.choice(n, size=n_new, replace=False)
    value, quality = old.value.copy(), old.quality.copy()
    value[idx] = rng.integers(0, 100, n_new)
    quality[idx] = QualityCode.MEASURED
    new = IntervalSeries(T0, Q, value, quality, old.method)
    for lvl in ("day", "month"):
        existing = aggregate(old, lvl)
        touched = touched_periods(new.slot_starts()[idx], lvl)
        fresh = aggregate(new, lvl, periods=touched)
        assert fresh.n_periods == touched.shape[0]
        merged = replace_periods(existing, fresh)
        full = aggregate(new, lvl)
        assert np.array_equal(merged.total, full.total, equal_nan=True)
        assert np.array_equal(merged.period_start_s, full.period_start_s)
        assert np.array_equal(merged.n_measured, full.n_measured)
        assert np.array_equal(merged.n_missing, full.n_missing)


def test_aggregate_refusals() -> None:
    with pytest.raises(ConflictError):
        aggregate_slots([T0, T0], [1.0, 1.0], [0, 0], interval_s=Q, level="day")
    with pytest.raises(CalculationError):
        aggregate_slots([T0], [1.0], [0], interval_s=7 * 60, level="day")
    with pytest.raises(CalculationError):
        rollup(aggregate(IntervalSeries.empty(T0, 4), "day"), "hour")
    with pytest.raises(CalculationError):
        replace_periods(aggregate(IntervalSeries.empty(T0, 4), "day"), aggregate(IntervalSeries.empty(T0, 4), "month"))


@settings(max_examples=300, deadline=None)
@given(st.integers(-1_000_000_000, 4_000_000_000))
def test_scalar_day_helpers_equal_period_start(s: int) -> None:
    """The scalar day helpers (fast path since 1992) agree with the vectorised tz-database rule,
    including the daylight-saving years 1986–1991."""
    from parkcarbon.core.metering import local_day_end, local_day_start, period_end, period_start

    start = int(period_start(np.array([s]), "day")[0])
    assert local_day_start(s) == start
    assert local_day_end(start) == int(period_end(np.array([start]), "day")[0])


def test_epoch_helpers_round_trip_and_refuse_naive_times() -> None:
    from parkcarbon.core.metering import epoch_s, utc_datetime

    t = datetime(2025, 3, 1, 16, 0, 30, 999_999, tzinfo=UTC)
    assert epoch_s(t) == int(t.timestamp()) and utc_datetime(epoch_s(t)) == t.replace(microsecond=0)
    assert epoch_s(datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC)) == -1  # floor, not truncation
    with pytest.raises(PeriodError):
        epoch_s(datetime(2025, 3, 1))
