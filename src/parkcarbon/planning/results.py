"""Result reader: solver output → frozen, traceable dispatch results (调度结果).

Every total is recomputed from the schedules and the problem data (not taken from the
objective), so the cost breakdown, the emissions and the shares can be checked
independently of the solver. Arrays in results are read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from parkcarbon.core.trace import FactorRef, TraceStep
from parkcarbon.errors import PlanningError
from parkcarbon.planning.model import LinearModel
from parkcarbon.planning.problem import DispatchProblem, EmissionBasis, GreenContractKind
from parkcarbon.planning.solver import SolverOutput, SolveStatus

__all__ = [
    "BatterySchedule",
    "CostBreakdown",
    "DispatchResult",
    "EmissionSummary",
    "EnergySummary",
    "SolverReport",
    "read_dispatch",
]

FloatArray = npt.NDArray[np.float64]

METHOD_LOCATION = "GB/T 32150-2015 net purchased electricity (import − export) × grid average EF; location-based"
METHOD_MARKET = ("net purchased electricity less grid-traded green power (绿电交易) × residual/market EF; "
                 "market-based (GHG Protocol Scope 2 Guidance 2015)")


def _ro(a: npt.ArrayLike) -> FloatArray:
    out = np.array(a, dtype=np.float64)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class BatterySchedule:
    """Schedule of one battery: charge/discharge [kW], state of charge at step end [kWh]."""

    name: str
    charge_kw: FloatArray
    discharge_kw: FloatArray
    soc_kwh: FloatArray
    initial_soc_kwh: float
    energy_capacity_kwh: float
    power_capacity_kw: float
    losses_kwh: float
    discharged_kwh: float

    @property
    def net_charge_kw(self) -> FloatArray:
        """charge − discharge per step [kW] (positive = charging)."""
        return _ro(self.charge_kw - self.discharge_kw)

    @property
    def equivalent_full_cycles(self) -> float | None:
        """Discharged energy / capacity [cycles] over the horizon."""
        return None if self.energy_capacity_kwh <= 0 else self.discharged_kwh / self.energy_capacity_kwh


@dataclass(frozen=True)
class CostBreakdown:
    """Electricity cost over the horizon [CNY] (电费构成). ``total_cny`` is net of export revenue."""

    energy_import_cny: float
    energy_import_by_period_cny: tuple[tuple[str, float], ...]
    export_revenue_cny: float
    demand_charge_cny: float
    green_contract_cny: float
    battery_throughput_cny: float
    carbon_cost_cny: float
    total_cny: float


@dataclass(frozen=True)
class EnergySummary:
    """Energy totals over the horizon [kWh] and shares [fraction].

    self_consumption_frac : on-site-used PV / PV generated (自发自用比例); ``None`` without PV.
    self_sufficiency_frac : 1 − grid import / load (自给率).
    clean_electricity_share_frac : (PV used on site + green contracts) / load (清洁电力消费占比,
        electricity part of the zero-carbon park 清洁能源消费占比 indicator).
    simultaneous_import_export_kwh : Σ min(import, export) — non-zero only where the LP relaxation
        buys and sells in the same step (feed-in price above the import price); should be ~0.
    """

    load_kwh: float
    grid_import_kwh: float
    grid_export_kwh: float
    pv_available_kwh: float
    pv_generated_kwh: float
    pv_curtailed_kwh: float
    pv_self_consumed_kwh: float
    green_direct_kwh: float
    green_grid_kwh: float
    battery_losses_kwh: float
    simultaneous_import_export_kwh: float
    peak_import_kw: float
    self_consumption_frac: float | None
    self_sufficiency_frac: float | None
    clean_electricity_share_frac: float | None


@dataclass(frozen=True)
class EmissionSummary:
    """Scope 2 emissions of the schedule [tCO2]; ``None`` when no factor was given (never 0)."""

    location_tco2: float | None
    market_tco2: float | None
    market_uses_location_factor: bool
    factors: tuple[FactorRef, ...]


@dataclass(frozen=True)
class SolverReport:
    """How the LP was solved."""

    solver: str
    status: str
    objective: float
    solve_time_s: float
    iterations: int
    num_col: int
    num_row: int
    num_nz: int


@dataclass(frozen=True)
class DispatchResult:
    """Optimal schedule and its indicators. Powers are step averages [kW]."""

    step_h: float
    timestamps: npt.NDArray[np.datetime64] | None
    load_kw: FloatArray
    grid_import_kw: FloatArray
    grid_export_kw: FloatArray
    pv_generation_kw: FloatArray
    pv_curtailed_kw: FloatArray
    batteries: tuple[BatterySchedule, ...]
    green_supply_kw: tuple[tuple[str, FloatArray], ...]
    peak_import_by_month_kw: tuple[tuple[int, float], ...]
    cost: CostBreakdown
    energy: EnergySummary
    emissions: EmissionSummary
    solver: SolverReport
    max_balance_residual_kw: float
    trace: tuple[TraceStep, ...]

    @property
    def site_balance_kw(self) -> FloatArray:
        """import − export per step [kW] (positive = import)."""
        return _ro(self.grid_import_kw - self.grid_export_kw)

    def summary(self) -> dict[str, Any]:
        """Plain mapping of the totals (for JSON files and the dashboard)."""
        e, c, m = self.energy, self.cost, self.emissions
        return {
            "steps": int(self.load_kw.size),
            "step_h": self.step_h,
            "cost": {k: getattr(c, k) for k in c.__dataclass_fields__ if k != "energy_import_by_period_cny"}
            | {"energy_import_by_period_cny": dict(c.energy_import_by_period_cny)},
            "energy": {k: getattr(e, k) for k in e.__dataclass_fields__},
            "emissions": {
                "location_tco2": m.location_tco2,
                "market_tco2": m.market_tco2,
                "market_uses_location_factor": m.market_uses_location_factor,
                "factors": [f.__dict__ for f in m.factors],
            },
            "batteries": [
                {"name": b.name, "energy_capacity_kwh": b.energy_capacity_kwh,
                 "power_capacity_kw": b.power_capacity_kw, "losses_kwh": b.losses_kwh,
                 "discharged_kwh": b.discharged_kwh, "equivalent_full_cycles": b.equivalent_full_cycles}
                for b in self.batteries
            ],
            "peak_import_by_month_kw": dict(self.peak_import_by_month_kw),
            "solver": self.solver.__dict__,
            "max_balance_residual_kw": self.max_balance_residual_kw,
            "trace": [{"method": s.method, "result": s.result, "result_unit": s.result_unit,
                       "inputs": dict(s.inputs), "factors": [f.factor_id for f in s.factors], "note": s.note}
                      for s in self.trace],
        }


def _col(model: LinearModel, x: FloatArray, name: str) -> FloatArray:
    a, b = model.columns[name]
    return _ro(np.maximum(x[a:b], 0.0))


def read_dispatch(problem: DispatchProblem, model: LinearModel, out: SolverOutput,
                  capacities: Mapping[str, tuple[float, float]] | None = None,
                  pv_available_kw: FloatArray | None = None) -> DispatchResult:
    """Read an optimal solution of ``model`` (built from ``problem``) into a :class:`DispatchResult`.

    ``capacities`` maps a sized battery's name to (energy kWh, power kW); ``pv_available_kw``
    overrides the PV availability (sizing: existing + yield × sized kWp).
    """
    if out.status is not SolveStatus.OPTIMAL or out.x is None or out.objective is None:
        raise PlanningError(f"cannot read a solution with status {out.status}",
                            message_zh=f"求解状态为 {out.status}，无法读取结果")
    x = out.x
    p = problem
    dt = p.step_h
    T = p.steps
    imp = _col(model, x, "grid_import")
    exp_ = _col(model, x, "grid_export")
    pv = _col(model, x, "pv")
    avail = pv_available_kw if pv_available_kw is not None else (
        p.pv_available_kw if p.pv_available_kw is not None else np.zeros(T))
    curtailed = _ro(np.maximum(avail - pv, 0.0))
    caps = capacities or {}

    batteries: list[BatterySchedule] = []
    net_batt = np.zeros(T)
    for spec in model.batteries:
        bat = spec.battery
        ch = _col(model, x, f"{bat.name}.charge")
        dis = _col(model, x, f"{bat.name}.discharge")
        soc = _col(model, x, f"{bat.name}.soc")
        if f"{bat.name}.soc0" in model.columns:
            init = float(x[model.columns[f"{bat.name}.soc0"][0]])
        else:
            init = float(bat.initial_soc_kwh or 0.0)
        e_cap, p_cap = caps.get(bat.name, (bat.energy_kwh, float(bat.charge_power_kw)))
        losses = float(((1 - bat.charge_efficiency) * ch + (1 / bat.discharge_efficiency - 1) * dis).sum() * dt)
        batteries.append(BatterySchedule(bat.name, ch, dis, soc, init, e_cap, p_cap, losses, float(dis.sum() * dt)))
        net_batt += dis - ch

    green: list[tuple[str, FloatArray]] = []
    g_direct = np.zeros(T)
    g_grid = np.zeros(T)
    green_cost = 0.0
    for c in p.green_contracts:
        g = _col(model, x, f"{c.name}.supply")
        green.append((c.name, g))
        green_cost += float(c.price_per_kwh * g.sum() * dt)
        if c.kind is GreenContractKind.DIRECT:
            g_direct += g
        else:
            g_grid += g

    residual = imp - exp_ + pv + net_batt + g_direct - p.load_kw
    max_residual = float(np.abs(residual).max()) if T else 0.0

    # cost breakdown
    tariff_kwh = np.maximum(imp - g_grid, 0.0) * dt
    energy_cost_steps = p.import_price_per_kwh * tariff_kwh
    labels = p.period_labels
    by_period: dict[str, float] = {}
    if labels is not None:
        lab = np.asarray(labels)
        for name in dict.fromkeys(labels):
            by_period[str(name)] = float(energy_cost_steps[lab == name].sum())
    energy_cost = float(energy_cost_steps.sum())
    export_revenue = float((np.asarray(p.export_price_per_kwh) * exp_).sum() * dt)
    peaks: list[tuple[int, float]] = []
    demand = 0.0
    if model.billing_months and p.billing_month is not None:
        for m in model.billing_months:
            peak = float(imp[p.billing_month == m].max())
            peaks.append((m, peak))
            demand += p.demand_charge_per_kw_month * peak
    throughput = float(sum(b.throughput_cost_per_kwh * s.discharged_kwh
                           for b, s in zip((sp.battery for sp in model.batteries), batteries, strict=True)))

    # emissions (net purchased electricity, GB/T 32150)
    factors: list[FactorRef] = []
    trace: list[TraceStep] = []
    loc = mkt = None
    net_kwh = (imp - exp_) * dt
    if p.grid_ef_location is not None:
        loc = float((p.grid_ef_location * net_kwh).sum() / 1000.0)
        ef_m = p.grid_ef_market if p.grid_ef_market is not None else p.grid_ef_location
        mkt = float((ef_m * (net_kwh - g_grid * dt)).sum() / 1000.0)
        refs_l = (p.grid_ef_location_ref,) if p.grid_ef_location_ref else ()
        refs_m = (p.grid_ef_market_ref,) if p.grid_ef_market_ref else refs_l
        factors.extend(refs_l)
        if p.grid_ef_market_ref:
            factors.append(p.grid_ef_market_ref)
        ins = (("grid_import_kwh", float(imp.sum() * dt)), ("grid_export_kwh", float(exp_.sum() * dt)),
               ("green_grid_kwh", float(g_grid.sum() * dt)))
        trace.append(TraceStep(METHOD_LOCATION, loc, "tCO2", factors=refs_l, inputs=ins[:2]))
        trace.append(TraceStep(METHOD_MARKET, mkt, "tCO2", factors=refs_m, inputs=ins,
                               note="market factor missing: location factor used (flagged)"
                               if p.market_ef_is_fallback else ""))
    carbon_cost = 0.0
    if p.carbon_price_per_t > 0 and loc is not None:
        basis = loc if p.carbon_basis is EmissionBasis.LOCATION else mkt
        carbon_cost = p.carbon_price_per_t * float(basis or 0.0)
    total = energy_cost + demand + green_cost + throughput + carbon_cost - export_revenue
    cost = CostBreakdown(energy_cost, tuple(by_period.items()), export_revenue, demand, green_cost, throughput,
                         carbon_cost, total)
    trace.append(TraceStep("electricity cost = Σ TOU price × tariff kWh + demand charge + green contracts "
                           "+ battery throughput + carbon cost − export revenue", total, "CNY",
                           inputs=(("energy_import_cny", energy_cost), ("demand_charge_cny", demand),
                                   ("green_contract_cny", green_cost), ("export_revenue_cny", export_revenue))))

    load_kwh = float(p.load_kw.sum() * dt)
    pv_gen = float(pv.sum() * dt)
    pv_self = float(np.maximum(pv - exp_, 0.0).sum() * dt)
    gd = float(g_direct.sum() * dt)
    gg = float(g_grid.sum() * dt)
    imp_kwh = float(imp.sum() * dt)
    energy = EnergySummary(
        load_kwh=load_kwh,
        grid_import_kwh=imp_kwh,
        grid_export_kwh=float(exp_.sum() * dt),
        pv_available_kwh=float(avail.sum() * dt),
        pv_generated_kwh=pv_gen,
        pv_curtailed_kwh=float(curtailed.sum() * dt),
        pv_self_consumed_kwh=pv_self,
        green_direct_kwh=gd,
        green_grid_kwh=gg,
        battery_losses_kwh=float(sum(b.losses_kwh for b in batteries)),
        simultaneous_import_export_kwh=float(np.minimum(imp, exp_).sum() * dt),
        peak_import_kw=float(imp.max()) if T else 0.0,
        self_consumption_frac=None if pv_gen <= 1e-9 else min(1.0, pv_self / pv_gen),
        self_sufficiency_frac=None if load_kwh <= 0 else float(np.clip(1.0 - imp_kwh / load_kwh, 0.0, 1.0)),
        clean_electricity_share_frac=None if load_kwh <= 0 else min(1.0, (pv_self + gd + gg) / load_kwh),
    )
    trace.append(TraceStep("clean electricity share = (PV used on site + green contracts) / load",
                           energy.clean_electricity_share_frac if energy.clean_electricity_share_frac is not None
                           else float("nan"), "fraction",
                           inputs=(("pv_self_consumed_kwh", pv_self), ("green_direct_kwh", gd),
                                   ("green_grid_kwh", gg), ("load_kwh", load_kwh))))
    emissions = EmissionSummary(loc, mkt, p.market_ef_is_fallback, tuple(factors))
    report = SolverReport(out.solver, out.status.value, out.objective, out.solve_time_s, out.iterations,
                          model.num_col, model.num_row, model.num_nz)
    return DispatchResult(
        step_h=dt,
        timestamps=p.timestamps,
        load_kw=p.load_kw,
        grid_import_kw=imp,
        grid_export_kw=exp_,
        pv_generation_kw=pv,
        pv_curtailed_kw=curtailed,
        batteries=tuple(batteries),
        green_supply_kw=tuple(green),
        peak_import_by_month_kw=tuple(peaks),
        cost=cost,
        energy=energy,
        emissions=emissions,
        solver=report,
        max_balance_residual_kw=max_residual,
        trace=tuple(trace),
    )
