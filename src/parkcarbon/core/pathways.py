"""Carbon-peak pathways to 2030 (碳达峰路径情景) checked against the targets year by year.

A scenario projects the park from a base year:

* added value grows by ``added_value_growth_frac`` a year; business-as-usual energy follows
  added value times an autonomous intensity improvement ``(1 − improvement)^t``; the base-year
  split of energy between purchased electricity and the rest, and direct emissions per tce,
  are held;
* measures (from a :mod:`parkcarbon.core.measures` plan or typed in) cut energy, purchased
  electricity and direct emissions from their start year;
* rooftop PV (capacity additions × specific yield) replaces purchased electricity; green power
  (绿电交易/绿证) is deducted from market-based electricity emissions. Neither reduces 综合能耗;
  both add non-fossil energy at ``electricity_tce_per_mwh`` (当量值 0.1229 tce/MWh by default
  caller choice — the basis for non-fossil shares is a stated parameter, NOTES §4.3 open points);
* the grid factor follows a yearly trajectory; a year without a value keeps the last one and is
  flagged (explicit fallback, never silent).

Emissions [tCO2] = direct × (E_bau/E_base) − direct abatement + max(grid − green, 0) × EF_y,
with grid = purchased electricity after measures and PV [MWh].
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from parkcarbon.core.targets import Target, path_value
from parkcarbon.core.trace import TraceStep
from parkcarbon.errors import InputError, Location

__all__ = [
    "PathwayBase",
    "PathwayCheck",
    "PathwayMeasure",
    "PathwayResult",
    "PathwayYear",
    "PvAddition",
    "Scenario",
    "project_pathway",
]


@dataclass(frozen=True)
class PathwayBase:
    """Base-year park totals.

    energy_tce [tce]; direct_emissions_tco2 (scope 1) [tCO2]; purchased_electricity_mwh [MWh];
    added_value_10k_cny [10k CNY]; non_fossil_energy_tce [tce].
    """

    year: int
    energy_tce: float
    direct_emissions_tco2: float
    purchased_electricity_mwh: float
    added_value_10k_cny: float
    non_fossil_energy_tce: float = 0.0

    def __post_init__(self) -> None:
        for k in ("energy_tce", "direct_emissions_tco2", "purchased_electricity_mwh", "added_value_10k_cny",
                  "non_fossil_energy_tce"):
            v = getattr(self, k)
            if not math.isfinite(v) or v < 0:
                raise InputError(f"pathway base {k} must be ≥ 0, got {v}", message_zh=f"路径基准 {k} 必须 ≥ 0",
                                 location=Location(column=k, value=v))
        if self.energy_tce <= 0 or self.added_value_10k_cny <= 0:
            raise InputError("base energy and added value must be positive", message_zh="基准年能耗与增加值必须为正")


@dataclass(frozen=True)
class PathwayMeasure:
    """A measure's yearly effect from ``start_year`` on.

    energy_saving_tce_per_yr [tce/yr]; electricity_saving_mwh_per_yr [MWh/yr] (part of the
    energy saving that is purchased electricity); direct_abatement_tco2_per_yr [tCO2/yr].
    """

    name: str
    start_year: int
    energy_saving_tce_per_yr: float
    electricity_saving_mwh_per_yr: float = 0.0
    direct_abatement_tco2_per_yr: float = 0.0


@dataclass(frozen=True)
class PvAddition:
    """Rooftop PV commissioned in ``year``: capacity [kWp] × specific yield [kWh/kWp/yr]."""

    year: int
    capacity_kwp: float
    yield_kwh_per_kwp: float


@dataclass(frozen=True)
class Scenario:
    """A pathway scenario (情景).

    added_value_growth_frac : yearly growth [fraction], or per year.
    intensity_improvement_frac : autonomous yearly energy-intensity improvement [fraction].
    grid_ef_tco2_per_mwh : year → grid factor [tCO2/MWh] (base year required).
    green_power_mwh : year → green power bought [MWh].
    electricity_tce_per_mwh : conversion used for non-fossil electricity [tce/MWh].
    """

    name: str
    end_year: int
    added_value_growth_frac: float | Mapping[int, float]
    intensity_improvement_frac: float
    grid_ef_tco2_per_mwh: Mapping[int, float]
    measures: Sequence[PathwayMeasure] = ()
    pv: Sequence[PvAddition] = ()
    green_power_mwh: Mapping[int, float] = field(default_factory=dict)
    electricity_tce_per_mwh: float = 0.1229


@dataclass(frozen=True)
class PathwayYear:
    """Projected park totals for one year (see :class:`PathwayBase` for units)."""

    year: int
    added_value_10k_cny: float
    energy_tce: float
    purchased_electricity_mwh: float
    pv_mwh: float
    green_power_mwh: float
    direct_emissions_tco2: float
    electricity_emissions_tco2: float
    emissions_tco2: float
    non_fossil_energy_tce: float
    grid_ef_tco2_per_mwh: float
    flags: tuple[str, ...] = ()

    def indicator(self, code: str) -> float:
        """Value of a park indicator code of :mod:`parkcarbon.core.targets` for this year."""
        values = {
            "energy_total_tce": self.energy_tce,
            "emissions_total_tco2": self.emissions_tco2,
            "energy_intensity_tce_per_10k_cny": self.energy_tce / self.added_value_10k_cny,
            "carbon_intensity_tco2_per_10k_cny": self.emissions_tco2 / self.added_value_10k_cny,
            "carbon_per_energy_tco2_per_tce": self.emissions_tco2 / self.energy_tce if self.energy_tce else math.nan,
            "non_fossil_share_frac": self.non_fossil_energy_tce / self.energy_tce if self.energy_tce else math.nan,
        }
        if code not in values:
            raise InputError(f"indicator {code!r} is not projected by pathways", message_zh=f"路径情景不预测指标 {code!r}",
                             hint=f"use one of {', '.join(values)}", location=Location(value=code))
        return values[code]


@dataclass(frozen=True)
class PathwayCheck:
    """A target checked in one projected year against its path (linear to the milestones)."""

    target_id: str
    year: int
    projected: float
    required: float | None
    met: bool | None


@dataclass(frozen=True)
class PathwayResult:
    """A projected scenario with its target checks and peak year (达峰年)."""

    scenario: str
    years: tuple[PathwayYear, ...]
    checks: tuple[PathwayCheck, ...]
    peak_year: int
    peak_emissions_tco2: float
    trace: tuple[TraceStep, ...]

    def first_failure(self, target_id: str) -> int | None:
        """First year a target is missed, or ``None``."""
        return next((c.year for c in self.checks if c.target_id == target_id and c.met is False), None)


def _growth(s: Scenario, year: int) -> float:
    g = s.added_value_growth_frac
    if isinstance(g, Mapping):
        if year not in g:
            raise InputError(f"scenario {s.name}: no added-value growth for {year}",
                             message_zh=f"情景 {s.name}：缺少 {year} 年增加值增速", location=Location(value=year))
        return float(g[year])
    return float(g)


def project_pathway(base: PathwayBase, scenario: Scenario, targets: Sequence[Target] = ()) -> PathwayResult:
    """Project ``scenario`` from ``base.year`` to ``scenario.end_year`` and check ``targets``.

    Target base values are taken from the target (``base_value``) or, when absent and the
    target's base year is the pathway base year, from the projected base year.
    """
    if scenario.end_year <= base.year:
        raise InputError("scenario end year must be after the base year", message_zh="情景终止年须晚于基准年")
    if base.year not in scenario.grid_ef_tco2_per_mwh:
        raise InputError(f"scenario {scenario.name}: grid factor of base year {base.year} is required",
                         message_zh=f"情景 {scenario.name}：须提供基准年 {base.year} 的电网排放因子")
    if not 0.0 <= scenario.intensity_improvement_frac < 1.0:
        raise InputError("intensity_improvement_frac must be in [0, 1)", message_zh="强度自然下降率须在 [0,1) 内")
    years: list[PathwayYear] = []
    av = base.added_value_10k_cny
    ef = scenario.grid_ef_tco2_per_mwh[base.year]
    direct_per_tce = base.direct_emissions_tco2 / base.energy_tce
    elec_per_tce = base.purchased_electricity_mwh / base.energy_tce
    nf_per_tce = base.non_fossil_energy_tce / base.energy_tce
    for y in range(base.year, scenario.end_year + 1):
        flags: list[str] = []
        if y > base.year:
            av *= 1.0 + _growth(scenario, y)
        if y in scenario.grid_ef_tco2_per_mwh:
            ef = scenario.grid_ef_tco2_per_mwh[y]
        else:
            flags.append(f"grid factor of {y} not given: last known value {ef} tCO2/MWh held")
        t = y - base.year
        e_bau = base.energy_tce * (av / base.added_value_10k_cny) * (1.0 - scenario.intensity_improvement_frac) ** t
        active = [m for m in scenario.measures if m.start_year <= y]
        e = max(e_bau - math.fsum(m.energy_saving_tce_per_yr for m in active), 0.0)
        elec = max(e_bau * elec_per_tce - math.fsum(m.electricity_saving_mwh_per_yr for m in active), 0.0)
        direct = max(e_bau * direct_per_tce - math.fsum(m.direct_abatement_tco2_per_yr for m in active), 0.0)
        pv = math.fsum(p.capacity_kwp * p.yield_kwh_per_kwp / 1000.0 for p in scenario.pv if p.year <= y)
        pv_used = min(pv, elec)
        if pv > elec:
            flags.append("PV generation exceeds purchased electricity: surplus not credited")
        grid = elec - pv_used
        green = min(scenario.green_power_mwh.get(y, 0.0), grid)
        if scenario.green_power_mwh.get(y, 0.0) > grid:
            flags.append("green power exceeds grid purchase: capped")
        elec_em = (grid - green) * ef
        nf = e_bau * nf_per_tce + (pv_used + green) * scenario.electricity_tce_per_mwh
        years.append(PathwayYear(y, av, e, grid, pv_used, green, direct, elec_em, direct + elec_em, min(nf, e), ef,
                                 tuple(flags)))
    checks: list[PathwayCheck] = []
    for tgt in targets:
        base_val = tgt.base_value
        if base_val is None and tgt.base_year == base.year:
            base_val = years[0].indicator(tgt.indicator)
        for py in years:
            if py.year < tgt.base_year:
                continue
            req = path_value(tgt, float(py.year), base_val)
            val = py.indicator(tgt.indicator)
            met = None
            if req is not None:
                lower = tgt.definition.direction.value == "lower_is_better"
                tol = 1e-12 * max(1.0, abs(req))
                met = val <= req + tol if lower else val >= req - tol
            checks.append(PathwayCheck(tgt.target_id, py.year, val, req, met))
    peak = max(years, key=lambda p: (p.emissions_tco2, -p.year))
    step = TraceStep(method=f"pathway '{scenario.name}' {base.year}–{scenario.end_year}: E = E0·(AV/AV0)·(1−i)^t − "
                     "measures; CO2 = direct + (grid − green)·EF", result=peak.emissions_tco2, result_unit="tCO2",
                     records=(f"park:{base.year}",), note=f"peak year {peak.year}")
    return PathwayResult(scenario.name, tuple(years), tuple(checks), peak.year, peak.emissions_tco2, (step,))
