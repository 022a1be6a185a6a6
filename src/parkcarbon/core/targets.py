"""Park and enterprise targets (目标管理) and their monthly progress tracking.

A park is judged on its targets: a carbon-peak pilot park (碳达峰试点园区) commits to, e.g.,
energy per unit of industrial added value (单位工业增加值能耗) −18 % from 2020 to 2025 and −15 %
more by 2030, a non-fossil energy share (非化石能源消费占比) of 14 % then 20 %, and solid-waste
utilisation (工业固体废物综合利用率) ≥ 90 %; a zero-carbon park (零碳园区, 发改环资〔2025〕910号)
commits to 单位能耗碳排放 ≤ 0.2 tCO2/tce and five guiding indicators (NOTES §4.2).

This module is pure. It computes indicators as ratios of sums over a window of months from
plain monthly series (``{quantity code: {Month: value | None}}``), resolves milestone values
(absolute or a reduction against a reference year, chained), and tracks progress every month:
the trailing-twelve-month (TTM) value against a linear path from the base year to each
milestone. Missing is never zero: a window with a missing month has value ``None`` and lists the
missing months.

Quantity codes and units (the inputs an indicator may need)
-----------------------------------------------------------
=====================================  ============================================  ==========
code                                   meaning                                       unit
=====================================  ============================================  ==========
``energy_tce``                         综合能源消费量 (GB/T 2589-2020)                  [tce]
``emissions_tco2``                     CO2 emissions (scope 1 + 2)                   [tCO2]
``direct_emissions_tco2``              scope 1 CO2 emissions (直接排放)                  [tCO2]
``energy_emissions_tco2``              energy-related CO2 (total without process)    [tCO2]
``purchased_electricity_mwh``          purchased grid electricity (外购电力)             [MWh]
``added_value_10k_cny``                工业增加值 (comparable prices)                  [10k CNY]
``output_value_10k_cny``               工业总产值                                       [10k CNY]
``non_fossil_energy_tce``              非化石能源消费量                                  [tce]
``clean_energy_tce``                   清洁能源消费量                                    [tce]
``renewable_energy_tce``               可再生能源消费量                                   [tce]
``solid_waste_generated_t``            一般工业固废产生量                                 [t]
``solid_waste_utilised_t``             综合利用量 (incl. from storage of past years)     [t]
``solid_waste_from_storage_t``         综合利用往年贮存量                                 [t]
``water_reused_m3``                    重复利用水量                                      [m3]
``water_fresh_m3``                     新鲜水取用量                                      [m3]
``waste_heat_utilised_gj``             余热/余冷/余压 已利用量                              [GJ]
``waste_heat_recoverable_gj``          可回收资源量                                      [GJ]
=====================================  ============================================  ==========
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise

from parkcarbon.core.trace import TraceStep
from parkcarbon.errors import InputError, Location
from parkcarbon.periods import Month, month_range

__all__ = [
    "INDICATORS",
    "QUANTITIES",
    "Direction",
    "IndicatorDefinition",
    "IndicatorValue",
    "Milestone",
    "ProgressPoint",
    "ProgressStatus",
    "Target",
    "TargetCheck",
    "annual_indicator",
    "check_target",
    "compute_indicator",
    "indicator_definition",
    "path_value",
    "required_quantities",
    "resolve_base_value",
    "target_value",
    "track_progress",
    "ttm_months",
    "year_months",
]

EntitySeries = Mapping[str, Mapping[Month, float | None]]
"""Monthly series of one entity (park or enterprise): quantity code → month → value."""

QUANTITIES: dict[str, str] = {
    "energy_tce": "tce",
    "emissions_tco2": "tCO2",
    "direct_emissions_tco2": "tCO2",
    "energy_emissions_tco2": "tCO2",
    "purchased_electricity_mwh": "MWh",
    "added_value_10k_cny": "10k CNY",
    "output_value_10k_cny": "10k CNY",
    "non_fossil_energy_tce": "tce",
    "clean_energy_tce": "tce",
    "renewable_energy_tce": "tce",
    "solid_waste_generated_t": "t",
    "solid_waste_utilised_t": "t",
    "solid_waste_from_storage_t": "t",
    "water_reused_m3": "m3",
    "water_fresh_m3": "m3",
    "waste_heat_utilised_gj": "GJ",
    "waste_heat_recoverable_gj": "GJ",
}


class Direction(StrEnum):
    """Which way is better for an indicator."""

    LOWER_IS_BETTER = "lower_is_better"  # totals, intensities (逆向指标)
    HIGHER_IS_BETTER = "higher_is_better"  # shares, utilisation rates (正向指标)


@dataclass(frozen=True)
class IndicatorDefinition:
    """How an indicator is computed: Σ numerator / Σ denominator over a window.

    ``denominator`` empty means the indicator is a total (the numerator sum).
    """

    code: str
    name_en: str
    name_zh: str
    unit: str
    direction: Direction
    numerator: tuple[str, ...]
    denominator: tuple[str, ...] = ()
    clause: str = ""


_L, _H = Direction.LOWER_IS_BETTER, Direction.HIGHER_IS_BETTER
INDICATORS: dict[str, IndicatorDefinition] = {
    d.code: d
    for d in (
        IndicatorDefinition("energy_total_tce", "total energy consumption", "综合能源消费总量", "tce", _L,
                            ("energy_tce",), (), "GB/T 2589-2020 §3; 能耗双控 total"),
        IndicatorDefinition("emissions_total_tco2", "total CO2 emissions", "二氧化碳排放总量", "tCO2", _L,
                            ("emissions_tco2",), (), "碳排放双控 total; GB/T 32150-2015"),
        IndicatorDefinition("energy_intensity_tce_per_10k_cny", "energy consumption per unit industrial added value",
                            "单位工业增加值能耗", "tce/10k CNY", _L, ("energy_tce",), ("added_value_10k_cny",),
                            "GB/T 2589-2020 单位产值综合能耗; carbon-peak pilot target"),
        IndicatorDefinition("carbon_intensity_tco2_per_10k_cny", "CO2 emissions per unit industrial added value",
                            "单位工业增加值二氧化碳排放", "tCO2/10k CNY", _L, ("emissions_tco2",),
                            ("added_value_10k_cny",), "碳排放强度; MIIT green park 2025 (NOTES §5.1)"),
        IndicatorDefinition("carbon_per_energy_tco2_per_tce", "CO2 emissions per unit of energy consumption",
                            "单位能耗碳排放", "tCO2/tce", _L, ("energy_emissions_tco2",), ("energy_tce",),
                            "发改环资〔2025〕910号 core indicator (NOTES §4.3); energy-related CO2 "
                            "(combustion + net purchased electricity and heat, location-based), as "
                            "core.inventory's carbon_per_energy_location"),
        IndicatorDefinition("non_fossil_share_frac", "share of non-fossil energy in energy consumption",
                            "非化石能源消费占比", "fraction", _H, ("non_fossil_energy_tce",), ("energy_tce",),
                            "carbon-peak pilot target"),
        IndicatorDefinition("clean_energy_share_frac", "share of clean energy in energy consumption",
                            "清洁能源消费占比", "fraction", _H, ("clean_energy_tce",), ("energy_tce",),
                            "发改环资〔2025〕910号 guiding indicator (NOTES §4.3)"),
        IndicatorDefinition("renewable_share_frac", "share of renewable energy in energy consumption",
                            "可再生能源使用比例", "fraction", _H, ("renewable_energy_tce",), ("energy_tce",),
                            "MIIT green park EG2; GB/T 36132-2025 可再生能源利用率"),
        IndicatorDefinition("energy_per_output_tce_per_10k_cny", "energy consumption per unit output value",
                            "单位产值综合能耗", "tce/10k CNY", _L, ("energy_tce",), ("output_value_10k_cny",),
                            "GB/T 2589-2020; GB/T 36132-2025 能源低碳化"),
        IndicatorDefinition("carbon_per_output_tco2_per_10k_cny", "CO2 emissions per unit output value",
                            "单位产值碳排放量", "tCO2/10k CNY", _L, ("emissions_tco2",), ("output_value_10k_cny",),
                            "GB/T 36132-2025 能源低碳化"),
        IndicatorDefinition("water_per_output_m3_per_10k_cny", "fresh water withdrawal per unit output value",
                            "单位产值取水量", "m3/10k CNY", _L, ("water_fresh_m3",), ("output_value_10k_cny",),
                            "GB/T 36132-2025 资源高效化"),
        IndicatorDefinition("energy_productivity_10k_cny_per_tce", "energy productivity (added value per unit energy)",
                            "能源产出率", "10k CNY/tce", _H, ("added_value_10k_cny",), ("energy_tce",),
                            "MIIT green park EG1 (NOTES §5.1)"),
        IndicatorDefinition("water_productivity_10k_cny_per_m3", "water productivity (added value per fresh water)",
                            "水资源产出率", "10k CNY/m3", _H, ("added_value_10k_cny",), ("water_fresh_m3",),
                            "MIIT green park RG4 (NOTES §5.1); ×10 000 for 元/m³"),
        IndicatorDefinition("solid_waste_utilisation_frac", "comprehensive utilisation rate of industrial solid waste",
                            "工业固体废物综合利用率", "fraction", _H, ("solid_waste_utilised_t",),
                            ("solid_waste_generated_t", "solid_waste_from_storage_t"),
                            "综合利用量/(产生量+综合利用往年贮存量) (NOTES §4.3)"),
        IndicatorDefinition("solid_waste_intensity_t_per_10k_cny", "industrial solid waste generated per unit added value",
                            "单位工业增加值固体废物产生量", "t/10k CNY", _L, ("solid_waste_generated_t",),
                            ("added_value_10k_cny",), "MIIT green park resource indicator"),
        IndicatorDefinition("water_reuse_frac", "industrial water reuse rate", "工业用水重复利用率", "fraction", _H,
                            ("water_reused_m3",), ("water_reused_m3", "water_fresh_m3"),
                            "重复利用水量/(重复利用水量+新鲜水取用量) (NOTES §4.3)"),
        IndicatorDefinition("waste_heat_utilisation_frac", "waste heat/cold/pressure utilisation rate",
                            "余热/余冷/余压综合利用率", "fraction", _H, ("waste_heat_utilised_gj",),
                            ("waste_heat_recoverable_gj",), "已利用量/可回收资源量 (NOTES §4.3)"),
    )
}


def indicator_definition(code: str) -> IndicatorDefinition:
    """The definition of an indicator code; raises :class:`InputError` if unknown."""
    try:
        return INDICATORS[code]
    except KeyError:
        raise InputError(
            f"unknown indicator {code!r}",
            message_zh=f"未知指标 {code!r}",
            hint=f"use one of: {', '.join(sorted(INDICATORS))}",
            hint_zh="请使用已定义的指标代码",
            location=Location(value=code),
        ) from None


def required_quantities(indicators: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The activity data (quantity codes of :data:`QUANTITIES`) each indicator needs."""
    out = {}
    for code in indicators:
        d = indicator_definition(code)
        out[code] = tuple(dict.fromkeys((*d.numerator, *d.denominator)))
    return out


@dataclass(frozen=True)
class IndicatorValue:
    """An indicator over a window of months.

    value : [definition unit] or ``None`` when a month is missing or the denominator is 0.
    numerator, denominator : the sums [their quantity units], ``None`` when incomplete.
    coverage_frac : share of (quantity, month) cells that were present [fraction].
    missing : ``(quantity, month)`` cells that were absent or ``None``.
    """

    indicator: str
    entity_id: str
    first: Month
    last: Month
    value: float | None
    numerator: float | None
    denominator: float | None
    coverage_frac: float
    missing: tuple[tuple[str, Month], ...]
    unit: str
    trace: tuple[TraceStep, ...]


def year_months(year: int, through: Month | None = None) -> list[Month]:
    """Months of ``year`` from January to December, or to ``through`` (year-to-date)."""
    last = Month(year, 12) if through is None else through
    if last.year != year:
        raise InputError(f"month {last} is not in year {year}", message_zh=f"月份 {last} 不在 {year} 年内")
    return month_range(Month(year, 1), last)


def ttm_months(last: Month) -> list[Month]:
    """The trailing twelve months ending with ``last`` (滚动12个月)."""
    first = last
    for _ in range(11):
        first = first.previous()
    return month_range(first, last)


def _check_value(q: str, m: Month, v: float | None, entity_id: str) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
        raise InputError(
            f"{q} for {entity_id} in {m} must be a finite non-negative number, got {v!r}",
            message_zh=f"{entity_id} {m} 的 {q} 必须为非负有限数值，实际为 {v!r}",
            location=Location(record=f"{entity_id}:{q}:{m}", column=q, value=v),
        )
    return float(v)


def _window_sum(
    data: EntitySeries, quantities: Sequence[str], months: Sequence[Month], entity_id: str
) -> tuple[float | None, list[tuple[str, Month]], int]:
    total = 0.0
    missing: list[tuple[str, Month]] = []
    for q in quantities:
        series = data.get(q, {})
        for m in months:
            v = _check_value(q, m, series.get(m), entity_id)
            if v is None:
                missing.append((q, m))
            else:
                total += v
    return (None if missing else total), missing, len(quantities) * len(months)


def compute_indicator(
    indicator: str, data: EntitySeries, months: Sequence[Month], entity_id: str = "park"
) -> IndicatorValue:
    """Compute ``indicator`` as Σnumerator/Σdenominator over ``months``.

    Parameters
    ----------
    indicator : an :data:`INDICATORS` code.
    data : monthly series of the entity, see the module docstring for codes and units.
    months : the window (e.g. a calendar year or the trailing twelve months).
    entity_id : for messages and traces.
    """
    d = indicator_definition(indicator)
    if not months:
        raise InputError("an indicator window needs at least one month", message_zh="指标计算窗口至少需要一个月")
    ordered = sorted(set(months))
    num, miss_n, cells_n = _window_sum(data, d.numerator, ordered, entity_id)
    den_q = tuple(q for q in d.denominator)
    den, miss_d, cells_d = _window_sum(data, den_q, ordered, entity_id) if den_q else (None, [], 0)
    missing = tuple(dict.fromkeys(miss_n + miss_d))
    cells = cells_n + cells_d
    coverage = 1.0 - len(missing) / cells if cells else 0.0
    value: float | None
    note = ""
    if num is None or (den_q and den is None):
        value = None
        note = f"{len(missing)} missing cell(s): value not computed (missing is not zero)"
    elif not den_q:
        value = num
    elif den == 0.0:
        value = None
        note = "denominator is zero: value undefined"
    else:
        assert den is not None
        value = num / den
    inputs: list[tuple[str, float]] = []
    if num is not None:
        inputs.append(("numerator", num))
    if den is not None:
        inputs.append(("denominator", den))
    step = TraceStep(
        method=f"{d.code} = Σ{'+'.join(d.numerator)}" + (f" / Σ({'+'.join(d.denominator)})" if den_q else "")
        + f" over {ordered[0]}..{ordered[-1]} [{d.clause}]",
        result=math.nan if value is None else value,
        result_unit=d.unit,
        records=(f"{entity_id}:{ordered[0]}..{ordered[-1]}",),
        note=note,
        inputs=tuple(inputs),
    )
    return IndicatorValue(
        indicator=d.code, entity_id=entity_id, first=ordered[0], last=ordered[-1], value=value,
        numerator=num, denominator=den, coverage_frac=coverage, missing=missing, unit=d.unit, trace=(step,),
    )


def annual_indicator(indicator: str, data: EntitySeries, year: int, entity_id: str = "park") -> IndicatorValue:
    """The indicator over calendar ``year`` (Jan–Dec, reporting months)."""
    return compute_indicator(indicator, data, year_months(year), entity_id)


@dataclass(frozen=True)
class Milestone:
    """A target value for one year.

    Exactly one of ``value`` (absolute, [indicator unit]) or ``reduction_frac`` (reduction
    against the value at ``reference_year``, [fraction], e.g. 0.18 for −18 %) is given.
    ``reference_year`` defaults to the target's base year; it may be an earlier milestone's year
    (chained targets: −15 % more by 2030 *versus 2025*).
    """

    year: int
    value: float | None = None
    reduction_frac: float | None = None
    reference_year: int | None = None

    def __post_init__(self) -> None:
        if (self.value is None) == (self.reduction_frac is None):
            raise InputError(
                f"milestone {self.year}: give exactly one of value or reduction_frac",
                message_zh=f"{self.year} 年节点目标：绝对值与下降率必须二选一",
                location=Location(record=str(self.year)),
            )
        if self.reduction_frac is not None and not -1.0 < self.reduction_frac < 1.0:
            raise InputError(
                f"milestone {self.year}: reduction_frac {self.reduction_frac} outside (-1, 1)",
                message_zh=f"{self.year} 年节点目标：下降率 {self.reduction_frac} 超出 (-1, 1)",
                hint="write −18 % as 0.18", hint_zh="下降18%请写作 0.18",
                location=Location(record=str(self.year), value=self.reduction_frac),
            )


@dataclass(frozen=True)
class Target:
    """A target of a park or an enterprise on one indicator.

    target_id : stable id.
    indicator : an :data:`INDICATORS` code (defines unit and direction).
    entity_id : ``"park"`` or an enterprise id.
    base_year : base year (基准年).
    base_value : the base-year value [indicator unit]; ``None`` = compute it from data.
    milestones : yearly milestones, increasing years.
    source, grade : where the target comes from and its evidence grade.
    """

    target_id: str
    indicator: str
    entity_id: str
    base_year: int
    milestones: tuple[Milestone, ...]
    base_value: float | None = None
    source: str = ""
    grade: str = ""

    def __post_init__(self) -> None:
        indicator_definition(self.indicator)
        years = [m.year for m in self.milestones]
        if not years or years != sorted(set(years)) or years[0] < self.base_year:
            raise InputError(
                f"target {self.target_id}: milestones must be non-empty, strictly increasing and not before the base year",
                message_zh=f"目标 {self.target_id}：节点年份必须非空、递增且不早于基准年",
                location=Location(record=self.target_id, value=years),
            )
        known = {self.base_year, *years}
        for m in self.milestones:
            ref = self.base_year if m.reference_year is None else m.reference_year
            if m.reduction_frac is not None and (ref not in known or ref >= m.year):
                raise InputError(
                    f"target {self.target_id}: milestone {m.year} refers to year {ref}, "
                    "which is neither the base year nor an earlier milestone",
                    message_zh=f"目标 {self.target_id}：{m.year} 年节点引用的 {ref} 年既非基准年也非更早节点",
                    location=Location(record=self.target_id, value=ref),
                )

    @property
    def definition(self) -> IndicatorDefinition:
        return INDICATORS[self.indicator]


def resolve_base_value(target: Target, data: EntitySeries | None = None) -> IndicatorValue | float:
    """The base-year value: the declared one, or computed from the base year's data."""
    if target.base_value is not None:
        return target.base_value
    if data is None:
        raise InputError(
            f"target {target.target_id} has no base value and no data to compute it",
            message_zh=f"目标 {target.target_id} 缺少基准值，且无数据可计算",
            hint="give base_value or the base year's monthly data",
            hint_zh="请填写基准值或提供基准年月度数据",
            location=Location(record=target.target_id),
        )
    return annual_indicator(target.indicator, data, target.base_year, target.entity_id)


def _base_number(target: Target, base: IndicatorValue | float) -> float | None:
    if isinstance(base, IndicatorValue):
        return base.value
    return float(base)


def target_value(target: Target, year: int, base_value: float | None) -> float | None:
    """The milestone value of ``target`` for a milestone ``year`` [indicator unit].

    Reduction milestones are resolved in chain: value = value(reference year) × (1 − reduction).
    ``None`` when a needed base value is unknown.
    """
    resolved: dict[int, float | None] = {target.base_year: base_value}
    for m in target.milestones:
        if m.value is not None:
            resolved[m.year] = m.value
        else:
            assert m.reduction_frac is not None
            ref = resolved[target.base_year if m.reference_year is None else m.reference_year]
            resolved[m.year] = None if ref is None else ref * (1.0 - m.reduction_frac)
        if m.year == year:
            return resolved[m.year]
    raise InputError(
        f"target {target.target_id} has no milestone in {year}",
        message_zh=f"目标 {target.target_id} 在 {year} 年无节点目标",
        location=Location(record=target.target_id, value=year),
    )


def path_value(target: Target, t_year: float, base_value: float | None) -> float | None:
    """The target path at (fractional) year ``t_year`` [indicator unit].

    Linear between the base year (base value) and successive milestones; after the last
    milestone the last value holds. A milestone with an absolute value and no base value
    gives a flat path at the first milestone value before it.
    """
    points: list[tuple[float, float | None]] = [(float(target.base_year), base_value)]
    points += [(float(m.year), target_value(target, m.year, base_value)) for m in target.milestones]
    if points[0][1] is None:
        points = [(points[0][0], points[1][1]), *points[1:]]
    if t_year <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in pairwise(points):
        if t_year <= x1:
            if y0 is None or y1 is None:
                return None
            return y0 + (y1 - y0) * (t_year - x0) / (x1 - x0)
    return points[-1][1]


def _meets(direction: Direction, actual: float, target: float) -> bool:
    if direction is Direction.LOWER_IS_BETTER:
        return actual <= target + 1e-12 * max(1.0, abs(target))
    return actual >= target - 1e-12 * max(1.0, abs(target))


class ProgressStatus(StrEnum):
    """Monthly status of a target (进度状态)."""

    ON_TRACK = "on_track"
    OFF_TRACK = "off_track"
    NO_DATA = "no_data"


@dataclass(frozen=True)
class ProgressPoint:
    """Progress of a target at the end of ``month``.

    ttm : indicator over the trailing twelve months ending ``month``.
    ytd : indicator over the year to date.
    path_value : the target path for the TTM window [indicator unit].
    gap : ``ttm − path`` [indicator unit] (positive = above the path).
    """

    month: Month
    ttm: IndicatorValue
    ytd: IndicatorValue
    path_value: float | None
    gap: float | None
    status: ProgressStatus


def track_progress(
    target: Target, data: EntitySeries, months: Iterable[Month], base_value: float | None = None
) -> tuple[ProgressPoint, ...]:
    """Track a target every month (逐月跟踪).

    For each month the TTM value is compared with the target path evaluated at the middle of
    the TTM window expressed in "year value" coordinates (a calendar year's value sits at the
    year itself: the TTM ending December of Y is compared with the path at Y).
    """
    base = base_value
    if base is None:
        base = _base_number(target, resolve_base_value(target, data))
    out: list[ProgressPoint] = []
    for m in sorted(months):
        ttm = compute_indicator(target.indicator, data, ttm_months(m), target.entity_id)
        ytd = compute_indicator(target.indicator, data, year_months(m.year, m), target.entity_id)
        t = m.year - 1 + m.month / 12.0
        pv = path_value(target, t, base)
        if ttm.value is None or pv is None:
            out.append(ProgressPoint(m, ttm, ytd, pv, None, ProgressStatus.NO_DATA))
            continue
        status = ProgressStatus.ON_TRACK if _meets(target.definition.direction, ttm.value, pv) else ProgressStatus.OFF_TRACK
        out.append(ProgressPoint(m, ttm, ytd, pv, ttm.value - pv, status))
    return tuple(out)


@dataclass(frozen=True)
class TargetCheck:
    """A target checked for one calendar year: the milestone against the actual annual value."""

    target_id: str
    year: int
    actual: IndicatorValue
    target_value: float | None
    met: bool | None
    change_vs_base_frac: float | None


def check_target(target: Target, data: EntitySeries, year: int, base_value: float | None = None) -> TargetCheck:
    """Check a milestone year: is the annual value at or better than the milestone?

    ``change_vs_base_frac`` is (actual − base)/base [fraction], e.g. −0.19 for −19 %.
    """
    base = base_value if base_value is not None else _base_number(target, resolve_base_value(target, data))
    tv = target_value(target, year, base)
    actual = annual_indicator(target.indicator, data, year, target.entity_id)
    met = None if actual.value is None or tv is None else _meets(target.definition.direction, actual.value, tv)
    change = None
    if actual.value is not None and base not in (None, 0.0):
        assert base is not None
        change = actual.value / base - 1.0
    return TargetCheck(target.target_id, year, actual, tv, met, change)

