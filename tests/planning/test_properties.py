"""Property tests: every optimal schedule keeps the energy balance and SOC continuity at every step."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parkcarbon.errors import InfeasibleError
from parkcarbon.planning.dispatch import optimise_dispatch
from parkcarbon.planning.model import build_dispatch_model
from parkcarbon.planning.problem import (
    Battery,
    DispatchProblem,
    GreenContract,
    GreenContractKind,
    Objective,
    ObjectiveKind,
)
from parkcarbon.planning.results import DispatchResult
from parkcarbon.planning.solver import SolveStatus, solve

TOL = 1e-6


@st.composite
def problems(draw: st.DrawFn) -> DispatchProblem:
    n = draw(st.integers(2, 30))
    step = draw(st.sampled_from([0.25, 0.5, 1.0]))
    floats = st.floats(0, 500, allow_nan=False, allow_infinity=False)
    load = np.asarray(draw(st.lists(floats, min_size=n, max_size=n)))
    price = np.asarray(draw(st.lists(st.floats(0.05, 1.5), min_size=n, max_size=n)))
    pv = np.asarray(draw(st.lists(floats, min_size=n, max_size=n))) if draw(st.booleans()) else None
    bats = []
    for i in range(draw(st.integers(0, 2))):
        e = draw(st.floats(1, 400))
        lo = draw(st.floats(0, 0.3))
        hi = draw(st.floats(0.7, 1.0))
        cyclic = draw(st.booleans())
        init = None if cyclic else draw(st.floats(lo, hi)) * e
        final = None if cyclic or draw(st.booleans()) else draw(st.floats(lo, hi)) * e
        bats.append(Battery(f"b{i}", energy_kwh=e, charge_power_kw=draw(st.floats(1, 300)),
                            discharge_power_kw=draw(st.floats(1, 300)),
                            charge_efficiency=draw(st.floats(0.8, 1.0)), discharge_efficiency=draw(st.floats(0.8, 1.0)),
                            soc_min_frac=lo, soc_max_frac=hi, initial_soc_kwh=init, final_soc_kwh=final,
                            max_cycles_per_day=draw(st.none() | st.floats(0.5, 3))))
    contracts = []
    if draw(st.booleans()):
        contracts.append(GreenContract("direct", GreenContractKind.DIRECT, draw(st.floats(0, 200)),
                                       draw(st.floats(0.1, 1.0))))
    if draw(st.booleans()):
        contracts.append(GreenContract("ppa", GreenContractKind.GRID_TRADED, draw(st.floats(0, 200)),
                                       draw(st.floats(0.1, 1.0))))
    kind = draw(st.sampled_from(list(ObjectiveKind)))
    obj = Objective(kind, cost_weight=1.0, emissions_weight=draw(st.floats(0, 200)), self_consumption_weight=0.01)
    return DispatchProblem(
        step_h=step, load_kw=load, import_price_per_kwh=price,
        export_price_per_kwh=price * draw(st.floats(0.0, 1.0)),
        pv_available_kw=pv, batteries=tuple(bats), green_contracts=tuple(contracts),
        grid_ef_location=np.full(n, 0.58), grid_ef_market=np.full(n, 0.61),
        demand_charge_per_kw_month=draw(st.sampled_from([0.0, 30.0])), billing_month=np.zeros(n, dtype=np.int64),
        export_pv_surplus_only=draw(st.booleans()), objective=obj,
    )


def check_invariants(p: DispatchProblem, r: DispatchResult) -> None:
    dt = p.step_h
    direct = sum((g for name, g in r.green_supply_kw if name == "direct"), np.zeros(p.steps))
    net_batt = sum((b.discharge_kw - b.charge_kw for b in r.batteries), np.zeros(p.steps))
    residual = r.grid_import_kw - r.grid_export_kw + r.pv_generation_kw + net_batt + direct - p.load_kw
    assert np.abs(residual).max() <= TOL * max(1.0, float(p.load_kw.max()))  # energy balance at every step
    assert r.max_balance_residual_kw <= TOL * max(1.0, float(p.load_kw.max()))
    for bat, s in zip(p.batteries, r.batteries, strict=True):
        prev = np.concatenate([[s.initial_soc_kwh], s.soc_kwh[:-1]])
        expected = prev + dt * (bat.charge_efficiency * s.charge_kw - s.discharge_kw / bat.discharge_efficiency)
        np.testing.assert_allclose(s.soc_kwh, expected, atol=1e-5 * max(1.0, bat.energy_kwh))  # SOC continuity
        assert (s.soc_kwh >= bat.soc_min_frac * bat.energy_kwh - 1e-6).all()
        assert (s.soc_kwh <= bat.soc_max_frac * bat.energy_kwh + 1e-6).all()
        assert (s.charge_kw <= bat.charge_power_kw + 1e-6).all()
        assert (s.discharge_kw <= (bat.discharge_power_kw or 0) + 1e-6).all()
        final = s.initial_soc_kwh if bat.final_soc_kwh is None else bat.final_soc_kwh
        assert abs(s.soc_kwh[-1] - final) <= 1e-5 * max(1.0, bat.energy_kwh)
        if bat.max_cycles_per_day is not None:
            assert s.discharged_kwh <= bat.max_cycles_per_day * p.horizon_h / 24 * bat.energy_kwh + 1e-5
    if p.pv_available_kw is not None:
        assert (r.pv_generation_kw <= p.pv_available_kw + 1e-6).all()
        if p.export_pv_surplus_only:
            assert (r.grid_export_kw <= np.maximum(p.pv_available_kw - p.load_kw, 0) + 1e-6).all()
    elif p.export_pv_surplus_only:
        assert (r.grid_export_kw <= 1e-9).all()
    for name, g in r.green_supply_kw:
        c = next(c for c in p.green_contracts if c.name == name)
        assert (g <= p.contract_available_kw(c) + 1e-6).all()
        if c.kind is GreenContractKind.GRID_TRADED:
            assert (g <= r.grid_import_kw + 1e-6).all()


def solve_or_explain(p: DispatchProblem) -> DispatchResult | None:
    """Optimal result, or None when infeasible — then the error must name a specific reason."""
    try:
        return optimise_dispatch(p)
    except InfeasibleError as exc:
        assert "none of the standard checks fired" not in exc.message, exc.message
        assert exc.message_zh != exc.message
        return None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_balance_and_soc_hold_at_every_step(p: DispatchProblem) -> None:
    r = solve_or_explain(p)
    if r is not None:
        check_invariants(p, r)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_cost_breakdown_equals_objective(p: DispatchProblem) -> None:
    """For the cost objective, the independently recomputed bill equals the solver's objective."""
    p = replace(p, objective=Objective(ObjectiveKind.COST))
    r = solve_or_explain(p)
    if r is None:
        return
    assert abs(r.cost.total_cny - r.solver.objective) <= 1e-6 * max(1.0, abs(r.solver.objective))
    # with cyclic batteries, idling them and ignoring the contracts is feasible: the optimum is never worse
    if all(b.initial_soc_kwh is None for b in p.batteries):
        base = solve_or_explain(replace(p, batteries=(), green_contracts=()))
        assert base is not None
        assert r.cost.total_cny <= base.cost.total_cny + 1e-6 * max(1.0, abs(base.cost.total_cny))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_model_matrix_is_consistent(p: DispatchProblem) -> None:
    """A x stays within the row bounds at the solution, and the CSC arrays are well formed."""
    m = build_dispatch_model(p)
    assert m.a_start.size == m.num_col + 1 and m.a_start[-1] == m.num_nz
    assert m.a_index.dtype == np.int32 and (m.a_index < m.num_row).all()
    out = solve(m)
    if out.x is None:
        assert out.status is SolveStatus.INFEASIBLE
        return
    act = m.to_csc() @ out.x
    scale = 1e-6 * max(1.0, float(np.abs(m.row_upper[np.isfinite(m.row_upper)]).max(initial=1.0)))
    assert (act >= m.row_lower - scale).all() and (act <= m.row_upper + scale).all()
