"""Sizing LP, economics and scenario comparison."""

from __future__ import annotations

import math

import numpy as np
import pytest

from parkcarbon.errors import InputError, PlanningError, QuantityError
from parkcarbon.planning.economics import (
    Component,
    capital_recovery_factor,
    net_present_value,
    simple_payback_years,
)
from parkcarbon.planning.model import build_sizing_model
from parkcarbon.planning.problem import (
    Battery,
    BatteryInvestment,
    DispatchProblem,
    PVInvestment,
    SizingProblem,
)
from parkcarbon.planning.sizing import compare_scenarios, optimise_sizing

DAY = 24


def day_problem(days: int = 2) -> DispatchProblem:
    h = np.tile(np.arange(DAY), days)
    load = np.where((h >= 8) & (h < 20), 150.0, 80.0)
    price = np.where((h >= 8) & (h < 22), 1.0, 0.3)
    return DispatchProblem(step_h=1.0, load_kw=load, import_price_per_kwh=price,
                           export_price_per_kwh=np.full(h.size, 0.39), grid_ef_location=0.58)


def pv_shape(days: int = 2) -> np.ndarray:
    h = np.tile(np.arange(DAY), days)
    return np.clip(np.sin((h - 6) / 12 * math.pi), 0, None) * 0.8  # kW per kWp


class TestEconomics:
    def test_crf_known_values(self) -> None:
        assert capital_recovery_factor(0.0, 10) == pytest.approx(0.1)
        # textbook: 8 %, 20 years → 0.10185
        assert capital_recovery_factor(0.08, 20) == pytest.approx(0.1018522, rel=1e-6)
        with pytest.raises(QuantityError):
            capital_recovery_factor(1.5, 10)

    def test_npv_and_payback(self) -> None:
        comps = [Component("pv", 1000.0, 25)]
        # annuity check: savings = capex × CRF gives NPV 0
        s = 1000.0 * capital_recovery_factor(0.06, 25)
        assert net_present_value(comps, s, 0.06, 25) == pytest.approx(0.0, abs=1e-9)
        # replacement of a 10-year component within 25 years: capex at years 0, 10, 20
        npv = net_present_value([Component("b", 100.0, 10)], 0.0, 0.0, 25)
        assert npv == pytest.approx(-300.0)
        assert simple_payback_years(1000.0, 250.0) == pytest.approx(4.0)
        assert simple_payback_years(1000.0, -1.0) is None


class TestSizing:
    def test_pv_sized_to_roof_when_profitable(self) -> None:
        p = day_problem()
        inv = PVInvestment(pv_shape(), capex_per_kwp=3000, fixed_om_per_kwp_year=40, lifetime_years=25, max_kwp=100)
        r = optimise_sizing(SizingProblem(p, pv=inv))
        assert r.pv_capacity_kwp == pytest.approx(100.0, rel=1e-6)
        e = r.economics
        assert e.capex_cny == pytest.approx(300_000.0, rel=1e-6)
        assert e.operating_savings_cny_per_year > 0
        assert e.net_savings_cny_per_year == pytest.approx(e.operating_savings_cny_per_year - 4000.0, rel=1e-9)
        assert e.simple_payback_years == pytest.approx(300_000 / e.net_savings_cny_per_year)
        assert r.year_weight == pytest.approx(8760 / 48)
        ind = r.indicators()
        before, after = ind["emissions_location_tco2_per_year"]
        assert after < before

    def test_pv_not_built_when_too_expensive(self) -> None:
        inv = PVInvestment(pv_shape(), capex_per_kwp=1e6, fixed_om_per_kwp_year=0, lifetime_years=25, max_kwp=100)
        r = optimise_sizing(SizingProblem(day_problem(), pv=inv))
        assert r.pv_capacity_kwp == pytest.approx(0.0, abs=1e-6)
        assert r.economics.operating_savings_cny_per_year == pytest.approx(0.0, abs=1e-3)

    def test_battery_sizing_with_fixed_duration(self) -> None:
        tpl = Battery("storage", energy_kwh=0, charge_power_kw=0, charge_efficiency=0.95, discharge_efficiency=0.95)
        inv = BatteryInvestment(tpl, capex_per_kwh=50, capex_per_kw=10, fixed_om_per_kwh_year=1, lifetime_years=10,
                                duration_h=2.0, max_energy_kwh=1000)
        r = optimise_sizing(SizingProblem(day_problem(), battery=inv))
        assert r.battery_energy_kwh is not None and r.battery_power_kw is not None
        assert r.battery_energy_kwh > 0
        assert r.battery_energy_kwh == pytest.approx(2.0 * r.battery_power_kw, rel=1e-6)
        sched = r.dispatch.batteries[0]
        assert sched.energy_capacity_kwh == pytest.approx(r.battery_energy_kwh)
        assert sched.soc_kwh.max() <= r.battery_energy_kwh + 1e-6

    def test_sizing_objective_matches_annual_cost(self) -> None:
        p = day_problem()
        tpl = Battery("storage", energy_kwh=0, charge_power_kw=0)
        inv_b = BatteryInvestment(tpl, 80, 20, 2, 12, max_energy_kwh=500)
        inv_pv = PVInvestment(pv_shape(), 3000, 40, 25, max_kwp=80)
        r = optimise_sizing(SizingProblem(p, pv=inv_pv, battery=inv_b, discount_rate=0.05))
        e = r.economics
        annual = e.operating_cost_cny_per_year + e.annualised_capex_cny_per_year + e.fixed_om_cny_per_year
        # the exact re-evaluated dispatch can only be at least as good as the sizing LP's relaxed export rule
        assert annual == pytest.approx(r.objective_cny_per_year, rel=1e-3)

    def test_scenarios_side_by_side(self) -> None:
        p = day_problem()
        inv = PVInvestment(pv_shape(), 3000, 40, 25, max_kwp=100)
        rows = compare_scenarios({"baseline": p, "pv": SizingProblem(p, pv=inv)})
        assert [r.name for r in rows] == ["baseline", "pv"]
        assert rows[0].npv_cny is None and rows[1].npv_cny is not None
        assert rows[1].emissions_location_tco2_per_year < rows[0].emissions_location_tco2_per_year  # type: ignore[operator]
        assert rows[1].clean_electricity_share_frac > 0  # type: ignore[operator]

    def test_validation(self) -> None:
        with pytest.raises(InputError):
            SizingProblem(day_problem())
        with pytest.raises(QuantityError):
            PVInvestment(pv_shape(), 3000, 40, 25, min_kwp=10, max_kwp=5)
        tpl = Battery("b", energy_kwh=1, charge_power_kw=1)
        with pytest.raises(PlanningError, match="clashes"):
            build_sizing_model(SizingProblem(DispatchProblem(step_h=1.0, load_kw=np.ones(2),
                                                             import_price_per_kwh=np.ones(2), batteries=(tpl,)),
                                             battery=BatteryInvestment(tpl, 1, 1, 1, 1)))

    def test_unbounded_pv_needs_a_roof_limit(self) -> None:
        inv = PVInvestment(pv_shape(), capex_per_kwp=100, fixed_om_per_kwp_year=0, lifetime_years=25)
        with pytest.raises(PlanningError, match="maximum capacity"):
            optimise_sizing(SizingProblem(day_problem(), pv=inv))
