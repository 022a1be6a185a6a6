"""Year-end forecasts: seasonal ratio, Holt-Winters, empirical error band and backtests."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parkcarbon.core.forecast import (
    BacktestCase,
    ErrorBand,
    ForecastMethod,
    backtest,
    forecast_year_end,
    seasonal_profile,
)
from parkcarbon.errors import CalculationError, InputError
from parkcarbon.periods import Month

SEASON = np.array([0.86, 0.78, 1.00, 1.01, 1.02, 1.04, 1.10, 1.11, 1.03, 1.01, 1.01, 1.03])


def series(levels: dict[int, float], noise: float = 0.0, seed: int = 0) -> dict[Month, float | None]:
    rng = np.random.default_rng(seed)
    out: dict[Month, float | None] = {}
    for y, level in levels.items():
        for k in range(12):
            out[Month(y, k + 1)] = float(level * SEASON[k] * (1 + noise * rng.standard_normal()))
    return out


def test_seasonal_ratio_is_exact_for_a_scaled_seasonal_year() -> None:
    s = series({2022: 100.0, 2023: 100.0, 2024: 100.0, 2025: 110.0})
    actual = 110.0 * SEASON.sum()
    for k in range(1, 12):
        fc = forecast_year_end(s, 2025, Month(2025, k), entity_id="E1")
        assert fc.year_end == pytest.approx(actual, rel=1e-12)
        assert fc.history_years == (2022, 2023, 2024)
        assert fc.remaining == pytest.approx(110.0 * SEASON[k:].sum())
    dec = forecast_year_end(s, 2025, Month(2025, 12))
    assert dec.year_end == pytest.approx(actual) and dec.remaining == pytest.approx(0.0)


def test_missing_ytd_month_is_estimated_and_flagged_not_zero() -> None:
    s = series({2024: 100.0, 2025: 120.0})
    s[Month(2025, 2)] = None
    fc = forecast_year_end(s, 2025, Month(2025, 4))
    assert fc.estimated_months == (Month(2025, 2),)
    assert fc.year_end == pytest.approx(120.0 * SEASON.sum())  # not (SEASON.sum() − Feb share) × 120
    assert any("missing" in f for f in fc.flags)
    assert fc.ytd_actual == pytest.approx(120.0 * (SEASON[0] + SEASON[2] + SEASON[3]))


def test_no_history_uses_flat_profile_flagged_and_no_data_raises() -> None:
    s = {Month(2025, k): 31.0 * 10 for k in (1,)}
    fc = forecast_year_end(s, 2025, Month(2025, 1))
    assert fc.history_years == () and "flat" in fc.flags[0]
    assert fc.year_end == pytest.approx(3650.0)
    with pytest.raises(CalculationError):
        forecast_year_end({Month(2025, 1): None}, 2025, Month(2025, 1))
    with pytest.raises(InputError):
        forecast_year_end(s, 2024, Month(2025, 1))
    with pytest.raises(InputError):
        forecast_year_end({Month(2025, 1): -1.0}, 2025, Month(2025, 1))


def test_seasonal_profile_skips_incomplete_years() -> None:
    s = series({2023: 50.0, 2024: 100.0})
    s[Month(2023, 7)] = None
    prof = seasonal_profile(s, [2023, 2024])
    assert prof is not None
    shares, used = prof
    assert used == (2024,) and shares.sum() == pytest.approx(1.0)
    assert shares == pytest.approx(SEASON / SEASON.sum())
    assert seasonal_profile(s, [2019]) is None


def test_holt_winters_tracks_a_trending_seasonal_series() -> None:
    s = {}
    for i in range(72):
        m = Month(2020 + i // 12, i % 12 + 1)
        s[m] = 100.0 * (1 + 0.004 * i) * SEASON[i % 12]
    actual = sum(v for m, v in s.items() if m.year == 2025)
    fc = forecast_year_end(s, 2025, Month(2025, 5), method=ForecastMethod.HOLT_WINTERS)
    assert fc.method is ForecastMethod.HOLT_WINTERS
    assert abs(fc.year_end / actual - 1) < 0.02
    short = {m: v for m, v in s.items() if m >= Month(2024, 6)}
    fb = forecast_year_end(short, 2025, Month(2025, 5), method=ForecastMethod.HOLT_WINTERS)
    assert fb.method is ForecastMethod.SEASONAL_RATIO and "fell back" in fb.flags[0]


def test_error_band_calibration_and_application() -> None:
    cases = [BacktestCase("e", 2024, 3, 100.0, 100.0 + d, d / 100.0, abs(d) / (100.0 + d)) for d in range(-10, 11)]
    band = ErrorBand.calibrate(cases, coverage_frac=0.8, min_cases=5)
    lo, hi = band.quantiles[3]
    assert lo == pytest.approx(-0.08) and hi == pytest.approx(0.08)
    assert band.apply(1000.0, 3) == pytest.approx((920.0, 1080.0))
    assert band.apply(1000.0, 4) is None  # no cases for 4 months elapsed
    assert band.apply(1000.0, 12) == (1000.0, 1000.0)
    with pytest.raises(InputError):
        ErrorBand.calibrate(cases, coverage_frac=1.5)


def _noisy_park(n: int = 15) -> dict[str, dict[Month, float | None]]:
    rng = np.random.default_rng(42)
    out = {}
    for i in range(n):
        g = 1 + rng.uniform(-0.05, 0.1)
        levels = {y: 100.0 * (i + 1) * g ** (y - 2020) for y in range(2020, 2026)}
        out[f"E{i:02d}"] = series(levels, noise=0.04, seed=i)
    return out


def test_backtest_reports_mape_and_out_of_sample_coverage() -> None:
    rep = backtest(_noisy_park(), [2021, 2022, 2023, 2024, 2025], coverage_frac=0.9)
    assert rep.mape_frac is not None and rep.mape_frac < 0.08
    assert rep.mape_by_months_elapsed[11] < rep.mape_by_months_elapsed[1]  # more data, better forecast
    assert rep.coverage_frac is not None and 0.7 <= rep.coverage_frac <= 1.0
    assert rep.n_band_cases > 0
    assert all(c.inside_band is None for c in rep.cases if c.year == 2021)  # no earlier year to calibrate on
    assert set(rep.band.quantiles) == set(range(1, 12))
    with pytest.raises(InputError):
        backtest(_noisy_park(2), [])


@settings(max_examples=25, deadline=None)
@given(st.floats(10, 1e5), st.floats(0.5, 2.0), st.integers(1, 11))
def test_forecast_scales_linearly(level: float, scale: float, k: int) -> None:
    s = series({2023: level, 2024: level * 1.05, 2025: level * 0.9}, noise=0.05, seed=3)
    scaled = {m: (v * scale if v is not None else None) for m, v in s.items()}
    a = forecast_year_end(s, 2025, Month(2025, k)).year_end
    b = forecast_year_end(scaled, 2025, Month(2025, k)).year_end
    assert b == pytest.approx(a * scale, rel=1e-9)
