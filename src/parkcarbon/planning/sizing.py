"""Capacity planning (光伏/储能容量配置) and scenario comparison (方案比选).

:func:`optimise_sizing` solves one LP in which PV capacity [kWp] and battery energy [kWh] and
power [kW] are variables, priced at their annualised capex (capital recovery factor) plus fixed
O&M, against the operating cost of the representative horizon scaled to one year. It also solves
the baseline (same problem, no new capacity) and reports savings, NPV, simple payback and the
effect on the park's indicators (emissions, clean-electricity share, self-sufficiency).

In the sizing LP the PV-surplus export rule is relaxed to ``export ≤ PV`` (the surplus depends on
the unknown capacity); the chosen capacities are therefore re-evaluated by an exact dispatch with
the capacities fixed, and all reported schedules, costs and economics come from that dispatch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from parkcarbon.planning.dispatch import check_status, optimise_dispatch
from parkcarbon.planning.economics import (
    Component,
    capital_recovery_factor,
    net_present_value,
    simple_payback_years,
)
from parkcarbon.planning.model import build_sizing_model
from parkcarbon.planning.problem import DispatchProblem, SizingProblem
from parkcarbon.planning.results import DispatchResult
from parkcarbon.planning.solver import SolverOptions, solve

__all__ = [
    "InvestmentEconomics",
    "ScenarioRow",
    "SizingResult",
    "compare_scenarios",
    "optimise_sizing",
    "scenario_row",
    "solve_scenarios",
]


@dataclass(frozen=True)
class InvestmentEconomics:
    """Economics of the sized investment against the baseline [CNY, CNY/a, a]."""

    capex_cny: float
    annualised_capex_cny_per_year: float
    fixed_om_cny_per_year: float
    baseline_operating_cost_cny_per_year: float
    operating_cost_cny_per_year: float
    operating_savings_cny_per_year: float
    net_savings_cny_per_year: float
    npv_cny: float
    simple_payback_years: float | None
    analysis_years: int
    discount_rate_frac: float


@dataclass(frozen=True)
class SizingResult:
    """Optimal capacities, their dispatch, the baseline and the economics.

    Annual figures are the horizon's figures × ``year_weight`` (8760 h / horizon).
    """

    pv_capacity_kwp: float | None
    battery_energy_kwh: float | None
    battery_power_kw: float | None
    dispatch: DispatchResult
    baseline: DispatchResult
    economics: InvestmentEconomics
    year_weight: float
    objective_cny_per_year: float

    def indicators(self) -> dict[str, Any]:
        """Annual indicators before → after (effect on the park's indicators)."""
        w = self.year_weight

        def ann(v: float | None) -> float | None:
            return None if v is None else v * w

        b, d = self.baseline, self.dispatch
        return {
            "emissions_location_tco2_per_year": (ann(b.emissions.location_tco2), ann(d.emissions.location_tco2)),
            "emissions_market_tco2_per_year": (ann(b.emissions.market_tco2), ann(d.emissions.market_tco2)),
            "grid_import_kwh_per_year": (ann(b.energy.grid_import_kwh), ann(d.energy.grid_import_kwh)),
            "clean_electricity_share_frac": (b.energy.clean_electricity_share_frac,
                                             d.energy.clean_electricity_share_frac),
            "self_sufficiency_frac": (b.energy.self_sufficiency_frac, d.energy.self_sufficiency_frac),
            "peak_import_kw": (b.energy.peak_import_kw, d.energy.peak_import_kw),
        }


def optimise_sizing(problem: SizingProblem, options: SolverOptions | None = None,
                    baseline: DispatchResult | None = None) -> SizingResult:
    """Solve the sizing LP and the baseline; return capacities, dispatch and economics.

    ``baseline``: the already solved dispatch of ``problem.dispatch`` (saves a solve when several
    sizing scenarios share it).
    """
    if baseline is None:
        baseline = optimise_dispatch(problem.dispatch, options)
    model = build_sizing_model(problem)
    out = solve(model, options)
    check_status(out, problem.dispatch, model)
    assert out.x is not None and out.objective is not None
    x = out.x
    kwp = energy = power = None
    capex = 0.0
    fixed_om = 0.0
    components: list[Component] = []
    pv_avail = None
    base_pv = problem.dispatch.pv_available_kw
    if problem.pv is not None:
        kwp = max(float(x[model.columns["pv_capacity"][0]]), 0.0)
        y = np.asarray(problem.pv.yield_kw_per_kwp, dtype=np.float64) * np.ones(problem.dispatch.steps)
        pv_avail = y * kwp + (base_pv if base_pv is not None else 0.0)
        capex += kwp * problem.pv.capex_per_kwp
        fixed_om += kwp * problem.pv.fixed_om_per_kwp_year
        components.append(Component("pv", kwp * problem.pv.capex_per_kwp, problem.pv.lifetime_years))
    if problem.battery is not None:
        inv = problem.battery
        name = inv.template.name
        energy = max(float(x[model.columns[f"{name}.energy_capacity"][0]]), 0.0)
        power = max(float(x[model.columns[f"{name}.power_capacity"][0]]), 0.0)
        bat_capex = energy * inv.capex_per_kwh + power * inv.capex_per_kw
        capex += bat_capex
        fixed_om += energy * inv.fixed_om_per_kwh_year
        components.append(Component("battery", bat_capex, inv.lifetime_years))
    # evaluate the chosen capacities exactly: dispatch with them fixed (export bound from real PV surplus)
    batteries = list(problem.dispatch.batteries)
    if problem.battery is not None and energy is not None and power is not None:
        tpl = problem.battery.template
        batteries.append(replace(tpl, energy_kwh=energy, charge_power_kw=power, discharge_power_kw=power,
                                 initial_soc_kwh=None, final_soc_kwh=None))
    fixed = replace(problem.dispatch, pv_available_kw=pv_avail if pv_avail is not None else base_pv,
                    batteries=tuple(batteries))
    result = optimise_dispatch(fixed, options)
    w = problem.year_weight
    r = problem.discount_rate
    annualised = sum(c.capex_cny * capital_recovery_factor(r, c.lifetime_years) for c in components)
    base_op = baseline.cost.total_cny * w
    op = result.cost.total_cny * w
    savings = base_op - op
    net = savings - fixed_om
    years = max((c.lifetime_years for c in components), default=1)
    econ = InvestmentEconomics(
        capex_cny=capex,
        annualised_capex_cny_per_year=annualised,
        fixed_om_cny_per_year=fixed_om,
        baseline_operating_cost_cny_per_year=base_op,
        operating_cost_cny_per_year=op,
        operating_savings_cny_per_year=savings,
        net_savings_cny_per_year=net,
        npv_cny=net_present_value(components, net, r, years),
        simple_payback_years=simple_payback_years(capex, net),
        analysis_years=years,
        discount_rate_frac=r,
    )
    return SizingResult(kwp, energy, power, result, baseline, econ, w, float(out.objective))


@dataclass(frozen=True)
class ScenarioRow:
    """One line of a side-by-side scenario comparison (annual figures)."""

    name: str
    pv_capacity_kwp: float | None
    battery_energy_kwh: float | None
    battery_power_kw: float | None
    operating_cost_cny_per_year: float
    annualised_capex_cny_per_year: float
    total_cost_cny_per_year: float
    emissions_location_tco2_per_year: float | None
    emissions_market_tco2_per_year: float | None
    clean_electricity_share_frac: float | None
    self_consumption_frac: float | None
    npv_cny: float | None
    simple_payback_years: float | None


def scenario_row(name: str, result: DispatchResult | SizingResult, horizon_h: float) -> ScenarioRow:
    """One comparison row from a dispatch result (no investment) or a sizing result."""
    if isinstance(result, SizingResult):
        d, w, e = result.dispatch, result.year_weight, result.economics
        return ScenarioRow(
            name, result.pv_capacity_kwp, result.battery_energy_kwh, result.battery_power_kw,
            e.operating_cost_cny_per_year, e.annualised_capex_cny_per_year,
            e.operating_cost_cny_per_year + e.annualised_capex_cny_per_year + e.fixed_om_cny_per_year,
            None if d.emissions.location_tco2 is None else d.emissions.location_tco2 * w,
            None if d.emissions.market_tco2 is None else d.emissions.market_tco2 * w,
            d.energy.clean_electricity_share_frac, d.energy.self_consumption_frac, e.npv_cny, e.simple_payback_years)
    w = 8760.0 / horizon_h
    return ScenarioRow(
        name, None, sum((b.energy_capacity_kwh for b in result.batteries), 0.0) or None,
        sum((b.power_capacity_kw for b in result.batteries), 0.0) or None,
        result.cost.total_cny * w, 0.0, result.cost.total_cny * w,
        None if result.emissions.location_tco2 is None else result.emissions.location_tco2 * w,
        None if result.emissions.market_tco2 is None else result.emissions.market_tco2 * w,
        result.energy.clean_electricity_share_frac, result.energy.self_consumption_frac, None, None)


def solve_scenarios(scenarios: Mapping[str, DispatchProblem | SizingProblem],
                    options: SolverOptions | None = None) -> dict[str, DispatchResult | SizingResult]:
    """Solve each named scenario (dispatch or sizing), in order."""
    out: dict[str, DispatchResult | SizingResult] = {}
    baselines: dict[int, DispatchResult] = {}  # scenarios sharing one dispatch problem share its baseline
    for name, sc in scenarios.items():
        if isinstance(sc, SizingProblem):
            base = baselines.get(id(sc.dispatch))
            res = optimise_sizing(sc, options, baseline=base)
            baselines[id(sc.dispatch)] = res.baseline
            out[name] = res
        else:
            res_d = optimise_dispatch(sc, options)
            baselines[id(sc)] = res_d
            out[name] = res_d
    return out


def compare_scenarios(scenarios: Mapping[str, DispatchProblem | SizingProblem],
                      options: SolverOptions | None = None) -> tuple[ScenarioRow, ...]:
    """Solve each named scenario and return one comparable row per scenario (same order)."""
    results = solve_scenarios(scenarios, options)
    return tuple(scenario_row(name, results[name],
                              (sc.dispatch if isinstance(sc, SizingProblem) else sc).horizon_h)
                 for name, sc in scenarios.items())
