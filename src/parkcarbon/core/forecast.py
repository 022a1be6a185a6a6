"""Year-end forecast of an enterprise's energy or carbon (年度用能/排放预测) with an error band.

Two seasonal models over monthly series (``{Month: value | None}``, any unit — tce or tCO2):

* ``SEASONAL_RATIO`` (default) — ratio to the seasonal profile: the share of each calendar month
  in the annual total is averaged over up to ``history_years`` previous complete years; the
  year-end total is ``Σ known YTD values / Σ their seasonal shares``. With one history year this
  is "seasonal naive × year-to-date ratio". Months missing in the year to date are estimated from
  the profile and flagged (missing is never zero).
* ``HOLT_WINTERS`` — statsmodels exponential smoothing (ETS: additive damped trend,
  multiplicative seasonality, period 12) fitted on the contiguous history up to the as-of month;
  the year-end total is the YTD actual plus the forecast of the remaining months.

The error band is empirical: :func:`backtest` re-runs the forecast at every month of past years
and collects relative errors ``actual/forecast − 1`` by months elapsed; :class:`ErrorBand` holds
their quantiles and turns a point forecast into ``[low, high]``. The backtest reports MAPE by
months elapsed and the out-of-sample coverage of the band (rolling origin: the band used for
year Y is calibrated on years before Y only).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from parkcarbon.core.trace import TraceStep
from parkcarbon.errors import CalculationError, InputError, Location
from parkcarbon.periods import Month

__all__ = [
    "BacktestCase",
    "BacktestReport",
    "ErrorBand",
    "ForecastMethod",
    "YearEndForecast",
    "backtest",
    "forecast_year_end",
    "seasonal_profile",
]

MonthlySeries = Mapping[Month, float | None]


class ForecastMethod(StrEnum):
    """Forecast model."""

    SEASONAL_RATIO = "seasonal_ratio"
    HOLT_WINTERS = "holt_winters"


def _value(series: MonthlySeries, m: Month, entity_id: str) -> float | None:
    v = series.get(m)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
        raise InputError(
            f"value of {entity_id} in {m} must be a finite non-negative number, got {v!r}",
            message_zh=f"{entity_id} {m} 的数值必须为非负有限数，实际为 {v!r}",
            location=Location(record=f"{entity_id}:{m}", value=v),
        )
    return float(v)


def seasonal_profile(
    series: MonthlySeries, years: Sequence[int], entity_id: str = ""
) -> tuple[np.ndarray, tuple[int, ...]] | None:
    """Mean monthly shares of the annual total over the complete years among ``years``.

    Returns ``(shares[12], years_used)`` with shares summing to 1, or ``None`` when no year is
    complete (all 12 months present) with a positive total.
    """
    rows: list[np.ndarray] = []
    used: list[int] = []
    for y in years:
        vals = [_value(series, Month(y, k), entity_id) for k in range(1, 13)]
        if any(v is None for v in vals):
            continue
        arr = np.array(vals, dtype=float)
        total = float(arr.sum())
        if total <= 0.0:
            continue
        rows.append(arr / total)
        used.append(y)
    if not rows:
        return None
    prof = np.mean(np.vstack(rows), axis=0)
    return prof / prof.sum(), tuple(used)


@dataclass(frozen=True)
class ErrorBand:
    """Empirical error band from backtests.

    quantiles : months elapsed (1..11) → (low, high) quantiles of ``actual/forecast − 1``.
    coverage_frac : nominal coverage of the band (e.g. 0.9 for 5 %–95 %).
    n_cases : months elapsed → number of backtest cases behind the quantiles.
    """

    coverage_frac: float
    quantiles: Mapping[int, tuple[float, float]]
    n_cases: Mapping[int, int] = field(default_factory=dict)

    @classmethod
    def calibrate(cls, cases: Sequence[BacktestCase], coverage_frac: float = 0.9, min_cases: int = 5) -> ErrorBand:
        """Quantiles of the relative errors of ``cases`` per months elapsed.

        Months elapsed with fewer than ``min_cases`` cases get no band.
        """
        if not 0.0 < coverage_frac < 1.0:
            raise InputError(f"coverage_frac must be in (0, 1), got {coverage_frac}",
                             message_zh=f"覆盖率必须在 (0,1) 之间，实际为 {coverage_frac}")
        by: dict[int, list[float]] = {}
        for c in cases:
            if c.error_frac is not None:
                by.setdefault(c.months_elapsed, []).append(c.error_frac)
        lo_q, hi_q = (1.0 - coverage_frac) / 2.0, 1.0 - (1.0 - coverage_frac) / 2.0
        q: dict[int, tuple[float, float]] = {}
        n: dict[int, int] = {}
        for k, errs in sorted(by.items()):
            if len(errs) >= min_cases:
                arr = np.array(errs)
                q[k] = (float(np.quantile(arr, lo_q)), float(np.quantile(arr, hi_q)))
                n[k] = len(errs)
        return cls(coverage_frac=coverage_frac, quantiles=q, n_cases=n)

    def apply(self, point: float, months_elapsed: int) -> tuple[float, float] | None:
        """``(low, high)`` around ``point``, or ``None`` when no band exists for that month."""
        if months_elapsed >= 12:
            return (point, point)
        q = self.quantiles.get(months_elapsed)
        if q is None:
            return None
        return (point * (1.0 + q[0]), point * (1.0 + q[1]))


@dataclass(frozen=True)
class YearEndForecast:
    """A year-end forecast made at the end of month ``through``.

    ytd_actual : sum of the known year-to-date values [series unit].
    year_end : forecast annual total [series unit]; low/high: error band or ``None``.
    estimated_months : year-to-date months that were missing and estimated.
    flags : notes on fallbacks (no history → flat profile, HW fallback …).
    """

    entity_id: str
    year: int
    through: Month
    method: ForecastMethod
    ytd_actual: float
    year_end: float
    low: float | None
    high: float | None
    months_elapsed: int
    estimated_months: tuple[Month, ...]
    history_years: tuple[int, ...]
    flags: tuple[str, ...]
    trace: tuple[TraceStep, ...]

    @property
    def remaining(self) -> float:
        """Forecast of the rest of the year [series unit] (incl. estimated missing YTD months)."""
        return self.year_end - self.ytd_actual


def _flat_profile(year: int) -> np.ndarray:
    days = np.array([Month(year, k).days for k in range(1, 13)], dtype=float)
    out: np.ndarray = days / float(days.sum())
    return out


def _seasonal_ratio(
    series: MonthlySeries, year: int, through: Month, history_years: int, entity_id: str
) -> tuple[float, float, list[Month], tuple[int, ...], list[str]]:
    flags: list[str] = []
    hist = seasonal_profile(series, list(range(year - history_years, year)), entity_id)
    used: tuple[int, ...]
    if hist is None:
        prof, used = _flat_profile(year), ()
        flags.append("no complete history year: flat (calendar-day) profile used")
    else:
        prof, used = hist
    known_sum, known_share = 0.0, 0.0
    missing: list[Month] = []
    for k in range(1, through.month + 1):
        v = _value(series, Month(year, k), entity_id)
        if v is None:
            missing.append(Month(year, k))
        else:
            known_sum += v
            known_share += float(prof[k - 1])
    if known_share <= 0.0:
        raise CalculationError(
            f"{entity_id}: no usable year-to-date data in {year} through {through}",
            message_zh=f"{entity_id}：{year} 年截至 {through} 无可用的年初至今数据",
            hint="upload the monthly data of this year", hint_zh="请上传本年度月度数据",
            location=Location(record=entity_id),
        )
    year_end = known_sum / known_share
    if missing:
        flags.append(f"{len(missing)} missing year-to-date month(s) estimated from the seasonal profile")
    return known_sum, year_end, missing, used, flags


def _holt_winters(
    series: MonthlySeries, year: int, through: Month, entity_id: str
) -> tuple[float, float, tuple[int, ...], list[str]] | None:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    # contiguous history ending at `through`
    vals: list[float] = []
    m = through
    first = through
    while True:
        v = _value(series, m, entity_id)
        if v is None:
            break
        vals.append(v)
        first = m
        if m.year <= 1900 and m.month == 1:
            break
        m = m.previous()
    vals.reverse()
    if len(vals) < 24:
        return None
    y = np.array(vals, dtype=float)
    seasonal = "mul" if float(y.min()) > 0.0 else "add"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ExponentialSmoothing(y, trend="add", damped_trend=True, seasonal=seasonal, seasonal_periods=12,
                                     initialization_method="estimated")
        fit = model.fit(optimized=True)
        fc = np.asarray(fit.forecast(12 - through.month), dtype=float)
    fc = np.clip(fc, 0.0, None)
    ytd = float(sum(vals[-through.month:]))
    used = tuple(range(first.year, year))
    return ytd, ytd + float(fc.sum()), used, [f"ETS fitted on {len(vals)} months ({seasonal} seasonality)"]


def forecast_year_end(
    series: MonthlySeries,
    year: int,
    through: Month,
    *,
    method: ForecastMethod = ForecastMethod.SEASONAL_RATIO,
    history_years: int = 3,
    band: ErrorBand | None = None,
    entity_id: str = "",
) -> YearEndForecast:
    """Forecast the annual total of ``year`` at the end of month ``through``.

    Parameters
    ----------
    series : monthly values [tce or tCO2]; ``None`` or absent = missing.
    year : the year to forecast.
    through : last month with data (as-of month), in ``year``.
    method : :class:`ForecastMethod`. Holt-Winters needs ≥ 24 contiguous months ending at
        ``through``; otherwise it falls back to the seasonal ratio (flagged).
    history_years : previous years used for the seasonal profile.
    band : an :class:`ErrorBand` from :func:`backtest`; without it ``low``/``high`` are ``None``.
    """
    if through.year != year:
        raise InputError(f"as-of month {through} is not in {year}", message_zh=f"截至月份 {through} 不在 {year} 年内",
                         location=Location(record=entity_id, value=str(through)))
    if history_years < 1:
        raise InputError("history_years must be ≥ 1", message_zh="历史年数必须 ≥ 1")
    flags: list[str] = []
    estimated: list[Month] = []
    used_method = method
    result = None
    if method is ForecastMethod.HOLT_WINTERS and through.month < 12:
        result = _holt_winters(series, year, through, entity_id)
        if result is None:
            flags.append("Holt-Winters needs 24 contiguous months: fell back to the seasonal ratio")
            used_method = ForecastMethod.SEASONAL_RATIO
    if result is not None:
        ytd, year_end, used, f = result
        flags += f
    else:
        if method is ForecastMethod.HOLT_WINTERS and through.month == 12:
            used_method = ForecastMethod.SEASONAL_RATIO
        ytd, year_end, estimated, used, f = _seasonal_ratio(series, year, through, history_years, entity_id)
        flags += f
    if through.month == 12 and not estimated:
        year_end = ytd
    low = high = None
    if band is not None:
        lh = band.apply(year_end, through.month)
        if lh is None:
            flags.append(f"no error band for {through.month} month(s) elapsed")
        else:
            low, high = lh
    step = TraceStep(
        method=f"year-end forecast ({used_method.value}) at {through}",
        result=year_end,
        result_unit="series unit",
        records=(f"{entity_id}:{year}-01..{through}",),
        note="; ".join(flags),
        inputs=(("ytd_actual", ytd), ("history_years", float(len(used)))),
    )
    return YearEndForecast(
        entity_id=entity_id, year=year, through=through, method=used_method, ytd_actual=ytd, year_end=year_end,
        low=low, high=high, months_elapsed=through.month, estimated_months=tuple(estimated),
        history_years=used, flags=tuple(flags), trace=(step,),
    )


@dataclass(frozen=True)
class BacktestCase:
    """One backtest forecast: made after ``months_elapsed`` months of ``year``.

    error_frac : ``actual/forecast − 1`` [fraction]; ``ape_frac``: |forecast − actual|/actual.
    inside_band : whether the actual fell inside the out-of-sample band (``None``: no band yet).
    """

    entity_id: str
    year: int
    months_elapsed: int
    forecast: float
    actual: float
    error_frac: float | None
    ape_frac: float | None
    inside_band: bool | None = None


@dataclass(frozen=True)
class BacktestReport:
    """Forecast accuracy (预测精度) over past years.

    mape_by_months_elapsed : mean absolute percentage error [fraction] per months elapsed.
    mape_frac : over all cases [fraction].
    coverage_frac : share of out-of-sample cases inside the band (nominal ``band.coverage_frac``),
        ``None`` when no case had a band yet.
    band : band calibrated on all cases, to be used for live forecasts.
    """

    method: ForecastMethod
    years: tuple[int, ...]
    cases: tuple[BacktestCase, ...]
    mape_by_months_elapsed: Mapping[int, float]
    mape_frac: float | None
    coverage_frac: float | None
    n_band_cases: int
    band: ErrorBand


def _actual_year(series: MonthlySeries, year: int, entity_id: str) -> float | None:
    vals = [_value(series, Month(year, k), entity_id) for k in range(1, 13)]
    if any(v is None for v in vals):
        return None
    return float(sum(v for v in vals if v is not None))


def backtest(
    series_by_entity: Mapping[str, MonthlySeries],
    years: Sequence[int],
    *,
    method: ForecastMethod = ForecastMethod.SEASONAL_RATIO,
    history_years: int = 3,
    months_elapsed: Sequence[int] = tuple(range(1, 12)),
    coverage_frac: float = 0.9,
    min_cases: int = 5,
) -> BacktestReport:
    """Re-run the year-end forecast on past ``years`` and measure its accuracy.

    For every entity, year (with a complete actual year and at least one history year) and
    months elapsed, forecast the year-end and compare it with the actual annual total. The band
    checked for year Y is calibrated on the cases of earlier years only (rolling origin), so the
    coverage is out-of-sample.
    """
    if not years:
        raise InputError("backtest needs at least one year", message_zh="回测至少需要一个年份")
    raw: list[BacktestCase] = []
    for eid, series in sorted(series_by_entity.items()):
        for y in sorted(years):
            actual = _actual_year(series, y, eid)
            if actual is None or actual <= 0.0:
                continue
            for k in months_elapsed:
                if not 1 <= k <= 11:
                    raise InputError(f"months elapsed must be 1..11, got {k}", message_zh=f"已过月数必须为 1..11，实际为 {k}")
                try:
                    fc = forecast_year_end(series, y, Month(y, k), method=method, history_years=history_years,
                                           entity_id=eid)
                except CalculationError:
                    continue
                if not fc.history_years:
                    continue
                err = actual / fc.year_end - 1.0 if fc.year_end > 0 else None
                raw.append(BacktestCase(eid, y, k, fc.year_end, actual, err, abs(fc.year_end - actual) / actual))
    cases: list[BacktestCase] = []
    inside_n = band_n = 0
    for y in sorted(set(years)):
        prior = [c for c in raw if c.year < y]
        band = ErrorBand.calibrate(prior, coverage_frac, min_cases) if prior else None
        for c in (c for c in raw if c.year == y):
            inside: bool | None = None
            if band is not None:
                lh = band.apply(c.forecast, c.months_elapsed)
                if lh is not None:
                    inside = lh[0] <= c.actual <= lh[1]
                    band_n += 1
                    inside_n += int(inside)
            cases.append(BacktestCase(c.entity_id, c.year, c.months_elapsed, c.forecast, c.actual,
                                      c.error_frac, c.ape_frac, inside))
    by: dict[int, list[float]] = {}
    for c in cases:
        if c.ape_frac is not None:
            by.setdefault(c.months_elapsed, []).append(c.ape_frac)
    mape_by = {k: float(np.mean(v)) for k, v in sorted(by.items())}
    all_ape = [c.ape_frac for c in cases if c.ape_frac is not None]
    return BacktestReport(
        method=method,
        years=tuple(sorted(set(years))),
        cases=tuple(cases),
        mape_by_months_elapsed=mape_by,
        mape_frac=float(np.mean(all_ape)) if all_ape else None,
        coverage_frac=inside_n / band_n if band_n else None,
        n_band_cases=band_n,
        band=ErrorBand.calibrate(cases, coverage_frac, min_cases),
    )
