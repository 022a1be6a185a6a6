"""Dispatch features: infeasibility explanations, green contracts, demand charge, objectives, export rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from parkcarbon.core.trace import FactorRef
from parkcarbon.errors import InfeasibleError, InputError, PlanningError, QuantityError
from parkcarbon.planning.dispatch import optimise_dispatch
from parkcarbon.planning.model import build_dispatch_model
from parkcarbon.planning.problem import (
    Battery,
    DispatchProblem,
    EmissionBasis,
    GreenContract,
    GreenContractKind,
    Objective,
    ObjectiveKind,
)
from parkcarbon.planning.solver import SolverOptions, SolveStatus, solve

EF_REF = FactorRef("test:grid", "grid_ef", 0.5, "tCO2/MWh", "test", "C")


def simple(**kw: object) -> DispatchProblem:
    base: dict[str, object] = {
        "step_h": 1.0,
        "load_kw": np.array([100.0, 100.0, 100.0, 100.0]),
        "import_price_per_kwh": np.array([0.3, 0.3, 1.0, 1.0]),
        "grid_ef_location": 0.5,
        "grid_ef_location_ref": EF_REF,
    }
    base.update(kw)
    return DispatchProblem(**base)  # type: ignore[arg-type]


class TestInfeasible:
    def test_power_deficit_names_the_step_without_solving(self) -> None:
        p = simple(grid_import_limit_kw=80.0, pv_available_kw=np.array([0, 30, 0, 0.0]))
        with pytest.raises(InfeasibleError) as ei:
            optimise_dispatch(p)
        e = ei.value
        assert e.code == "E-PLAN-INFEASIBLE"
        assert "step 0" in e.message and "import limit 80.0 kW" in e.message and "(3 such steps)" in e.message
        assert "第 0 个时段" in e.message_zh and e.hint

    def test_battery_runs_empty(self) -> None:
        bat = Battery("b", energy_kwh=30, charge_power_kw=50, charge_efficiency=1, discharge_efficiency=1,
                      initial_soc_kwh=30, final_soc_kwh=0)
        p = simple(grid_import_limit_kw=80.0, batteries=(bat,))
        with pytest.raises(InfeasibleError) as ei:
            optimise_dispatch(p)
        assert "batteries run empty at step 1" in ei.value.message
        assert "储能电量耗尽" in ei.value.message_zh

    def test_final_soc_unreachable(self) -> None:
        bat = Battery("b", energy_kwh=100, charge_power_kw=10, initial_soc_kwh=0, final_soc_kwh=100,
                      charge_efficiency=1, discharge_efficiency=1)
        with pytest.raises(InfeasibleError) as ei:
            optimise_dispatch(simple(batteries=(bat,)))
        assert "cannot reach its final state of charge 100.0 kWh: at most 40.0 kWh" in ei.value.message

    def test_cannot_discharge_without_export(self) -> None:
        bat = Battery("b", energy_kwh=1000, charge_power_kw=500, initial_soc_kwh=1000, final_soc_kwh=0)
        with pytest.raises(InfeasibleError) as ei:
            optimise_dispatch(simple(batteries=(bat,)))
        assert "battery energy may not be exported" in ei.value.message
        # allowing battery export (wholesale arbitrage) makes it feasible
        r = optimise_dispatch(simple(batteries=(bat,), export_pv_surplus_only=False))
        assert r.batteries[0].soc_kwh[-1] == pytest.approx(0.0, abs=1e-6)

    def test_min_take_too_large(self) -> None:
        c = GreenContract("ppa", GreenContractKind.DIRECT, 50.0, 0.4, min_energy_kwh=1000.0)
        with pytest.raises(InfeasibleError) as ei:
            optimise_dispatch(simple(green_contracts=(c,)))
        assert "minimum take 1000.0 kWh exceeds what it can deliver (200.0 kWh)" in ei.value.message

    def test_carbon_cap_below_minimum(self) -> None:
        with pytest.raises(InfeasibleError) as ei:
            optimise_dispatch(simple(carbon_cap_t=0.1))
        assert "carbon cap 0.100 tCO2 (location-based) is below the minimum achievable 0.200 tCO2" in ei.value.message

    def test_carbon_cap_binding_shifts_to_green(self) -> None:
        c = GreenContract("direct", GreenContractKind.DIRECT, 100.0, 2.0)
        free = optimise_dispatch(simple(green_contracts=(c,)))
        assert free.energy.green_direct_kwh == pytest.approx(0.0)
        capped = optimise_dispatch(simple(green_contracts=(c,), carbon_cap_t=0.1))
        assert capped.emissions.location_tco2 == pytest.approx(0.1, rel=1e-9)
        assert capped.energy.green_direct_kwh == pytest.approx(200.0, rel=1e-9)

    def test_unbounded_negative_price(self) -> None:
        p = simple(import_price_per_kwh=np.array([-1.0, 0.3, 0.3, 0.3]), export_price_per_kwh=np.zeros(4),
                   export_pv_surplus_only=False)
        with pytest.raises(PlanningError, match="unbounded"):
            optimise_dispatch(p)


class TestInputValidation:
    def test_nan_load_is_rejected_with_step(self) -> None:
        with pytest.raises(QuantityError) as ei:
            simple(load_kw=np.array([1.0, np.nan, 2.0, 3.0]))
        assert ei.value.location is not None and ei.value.location.row == 1

    def test_length_mismatch(self) -> None:
        with pytest.raises(InputError, match="expected 4 values"):
            simple(pv_available_kw=np.ones(3))

    def test_bad_efficiency(self) -> None:
        with pytest.raises(QuantityError):
            Battery("b", energy_kwh=1, charge_power_kw=1, charge_efficiency=1.2)

    def test_initial_soc_outside_window(self) -> None:
        with pytest.raises(QuantityError):
            Battery("b", energy_kwh=100, charge_power_kw=1, soc_min_frac=0.1, initial_soc_kwh=5)

    def test_demand_charge_needs_months(self) -> None:
        with pytest.raises(InputError, match="billing_month"):
            simple(demand_charge_per_kw_month=30.0)

    def test_emission_objective_needs_factor(self) -> None:
        with pytest.raises(InputError, match="grid emission factors"):
            simple(grid_ef_location=None, objective=Objective(ObjectiveKind.EMISSIONS))

    def test_weighted_needs_a_weight(self) -> None:
        with pytest.raises(InputError):
            Objective(ObjectiveKind.WEIGHTED, cost_weight=0.0).weights()

    def test_duplicate_names(self) -> None:
        b = Battery("x", energy_kwh=1, charge_power_kw=1)
        with pytest.raises(InputError, match="unique"):
            simple(batteries=(b, b))


class TestFeatures:
    def test_arbitrage_shifts_to_cheap_hours(self) -> None:
        bat = Battery("b", energy_kwh=100, charge_power_kw=100, charge_efficiency=1, discharge_efficiency=1)
        r = optimise_dispatch(simple(batteries=(bat,)))
        np.testing.assert_allclose(r.grid_import_kw.sum(), 400.0)
        assert r.cost.total_cny == pytest.approx(0.3 * 200 + 0.3 * 100 + 1.0 * 100, rel=1e-9)
        assert r.cost.energy_import_by_period_cny == ()

    def test_demand_charge_shaves_peak(self) -> None:
        load = np.array([50.0, 150.0, 50.0, 150.0])
        bat = Battery("b", energy_kwh=200, charge_power_kw=100, charge_efficiency=1, discharge_efficiency=1)
        p = simple(load_kw=load, import_price_per_kwh=np.full(4, 0.5), batteries=(bat,),
                   demand_charge_per_kw_month=40.0, billing_month=np.zeros(4, dtype=np.int64))
        r = optimise_dispatch(p)
        assert r.energy.peak_import_kw == pytest.approx(100.0, rel=1e-9)
        assert r.cost.demand_charge_cny == pytest.approx(4000.0, rel=1e-9)
        assert r.peak_import_by_month_kw == ((0, pytest.approx(100.0)),)

    def test_grid_traded_green_is_market_zero_location_grid(self) -> None:
        ppa = GreenContract("ppa", GreenContractKind.GRID_TRADED, 60.0, 0.2)
        p = simple(green_contracts=(ppa,), grid_ef_market=0.6,
                   grid_ef_market_ref=FactorRef("t:m", "grid_ef", 0.6, "tCO2/MWh", "t", "C"))
        r = optimise_dispatch(p)
        assert r.energy.green_grid_kwh == pytest.approx(240.0)
        assert r.emissions.location_tco2 == pytest.approx(400 * 0.5 / 1000)
        assert r.emissions.market_tco2 == pytest.approx((400 - 240) * 0.6 / 1000)
        assert r.energy.clean_electricity_share_frac == pytest.approx(0.6)
        assert r.cost.green_contract_cny == pytest.approx(240 * 0.2)
        assert r.cost.energy_import_cny == pytest.approx(40 * 0.3 * 2 + 40 * 1.0 * 2)
        assert not r.emissions.market_uses_location_factor

    def test_direct_green_bypasses_grid_limit(self) -> None:
        d = GreenContract("line", GreenContractKind.DIRECT, 50.0, 0.4)
        r = optimise_dispatch(simple(green_contracts=(d,), grid_import_limit_kw=60.0))
        assert (r.grid_import_kw <= 60 + 1e-9).all()
        assert r.emissions.location_tco2 == pytest.approx(r.energy.grid_import_kwh * 0.5 / 1000)

    def test_pv_surplus_export_only(self) -> None:
        pv = np.array([0.0, 300.0, 0.0, 0.0])
        p = simple(pv_available_kw=pv, export_price_per_kwh=np.full(4, 0.39), grid_export_limit_kw=150.0)
        r = optimise_dispatch(p)
        np.testing.assert_allclose(r.grid_export_kw, [0, 150, 0, 0], atol=1e-9)
        np.testing.assert_allclose(r.pv_curtailed_kw, [0, 50, 0, 0], atol=1e-9)
        assert r.energy.self_consumption_frac == pytest.approx(100 / 250)
        assert r.energy.simultaneous_import_export_kwh == pytest.approx(0.0)

    def test_cycle_limit_caps_throughput(self) -> None:
        bat = Battery("b", energy_kwh=100, charge_power_kw=100, charge_efficiency=1, discharge_efficiency=1,
                      max_cycles_per_day=3.0)
        n = 8
        p = simple(step_h=1.0, load_kw=np.full(n, 100.0), import_price_per_kwh=np.tile([0.1, 1.0], n // 2),
                   grid_ef_location=None, grid_ef_location_ref=None, batteries=(bat,))
        r = optimise_dispatch(p)
        assert r.batteries[0].discharged_kwh == pytest.approx(3.0 * 8 / 24 * 100, rel=1e-9)
        assert r.batteries[0].equivalent_full_cycles == pytest.approx(1.0)

    def test_emission_and_self_consumption_objectives(self) -> None:
        pv = np.array([0.0, 200.0, 200.0, 0.0])
        bat = Battery("b", energy_kwh=200, charge_power_kw=100, charge_efficiency=1, discharge_efficiency=1)
        base = {"pv_available_kw": pv, "batteries": (bat,), "export_price_per_kwh": np.full(4, 2.0)}
        cost = optimise_dispatch(simple(**base))
        selfc = optimise_dispatch(simple(**base, objective=Objective(ObjectiveKind.SELF_CONSUMPTION)))
        assert cost.energy.grid_export_kwh == pytest.approx(200.0)  # export pays 2.0 > any import price
        assert selfc.energy.grid_export_kwh == pytest.approx(0.0)
        assert selfc.energy.self_consumption_frac == pytest.approx(1.0)
        em = optimise_dispatch(simple(**base, objective=Objective(ObjectiveKind.EMISSIONS)))
        assert em.emissions.location_tco2 == pytest.approx((400 - 400) * 0.5 / 1000, abs=1e-9)
        w = optimise_dispatch(simple(**base, objective=Objective(ObjectiveKind.WEIGHTED, cost_weight=1.0,
                                                                  emissions_weight=100.0,
                                                                  emission_basis=EmissionBasis.MARKET)))
        assert w.cost.total_cny >= cost.cost.total_cny - 1e-9

    def test_carbon_price_in_cost(self) -> None:
        r = optimise_dispatch(simple(carbon_price_per_t=100.0))
        assert r.cost.carbon_cost_cny == pytest.approx(100.0 * 0.2)
        assert r.emissions.market_uses_location_factor
        assert r.trace[0].factors == (EF_REF,)

    def test_emissions_are_none_without_factor(self) -> None:
        r = optimise_dispatch(simple(grid_ef_location=None, grid_ef_location_ref=None))
        assert r.emissions.location_tco2 is None and r.emissions.market_tco2 is None

    def test_solver_options_and_raw_model(self) -> None:
        p = simple(batteries=(Battery("b", energy_kwh=50, charge_power_kw=50),))
        m = build_dispatch_model(p)
        for method in ("simplex", "ipm"):
            out = solve(m, SolverOptions(method=method))
            assert out.status is SolveStatus.OPTIMAL
            assert out.objective == pytest.approx(optimise_dispatch(p).solver.objective, rel=1e-7)
        with pytest.raises(PlanningError):
            SolverOptions(method="magic")
        assert math.isinf(m.col_upper[m.col("grid_import")][0])

    def test_result_arrays_are_read_only(self) -> None:
        r = optimise_dispatch(simple())
        with pytest.raises(ValueError):
            r.grid_import_kw[0] = 1.0
        s = r.summary()
        assert s["emissions"]["location_tco2"] == pytest.approx(0.2)
        assert s["solver"]["status"] == "optimal"
