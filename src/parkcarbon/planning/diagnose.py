"""Why is a dispatch problem infeasible? (不可行原因诊断)

HiGHS only says "infeasible". These checks find the usual causes and say them in words a
park engineer understands:

* ``balance`` — at some step the load exceeds everything that can supply it (grid import
  limit + available PV + direct green supply + battery discharge power);
* ``battery_energy`` — the batteries run empty: charging greedily from every surplus (the
  schedule that keeps the most energy stored) still cannot cover a deficit;
* ``final_soc`` — the required final state of charge cannot be reached (not enough surplus to
  charge, or nowhere to discharge: battery energy may only serve the load, within the cycle limit);
* ``min_take`` — a take-or-pay minimum is larger than the contract can deliver;
* ``carbon_cap`` — the cap is below the minimum achievable emissions (found by a second solve
  minimising emissions without the cap).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from parkcarbon.errors import InfeasibleError
from parkcarbon.planning.model import build_dispatch_model
from parkcarbon.planning.problem import DispatchProblem, GreenContractKind, Objective, ObjectiveKind
from parkcarbon.planning.solver import SolveStatus, solve

__all__ = [
    "Diagnosis",
    "explain_infeasible",
    "find_power_deficits",
    "greedy_discharge_check",
    "greedy_energy_check",
    "infeasible_error",
]


@dataclass(frozen=True)
class Diagnosis:
    """One reason for infeasibility. ``step`` is the 0-based step index when it applies."""

    constraint_class: str
    message: str
    message_zh: str
    step: int | None = None


def _when(p: DispatchProblem, t: int) -> str:
    if p.timestamps is not None:
        return f"step {t} ({np.datetime_as_string(p.timestamps[t], unit='m')} UTC)"
    return f"step {t}"


def _direct_green(p: DispatchProblem) -> np.ndarray:
    out = np.zeros(p.steps)
    for c in p.green_contracts:
        if c.kind is GreenContractKind.DIRECT:
            out += p.contract_available_kw(c)
    return out


def find_power_deficits(p: DispatchProblem) -> list[Diagnosis]:
    """Steps where load > import limit + PV + direct green + Σ battery discharge power."""
    if math.isinf(p.grid_import_limit_kw):
        return []
    pv = p.pv_available_kw if p.pv_available_kw is not None else np.zeros(p.steps)
    green = _direct_green(p)
    dis = sum(float(b.discharge_power_kw or 0.0) for b in p.batteries)
    supply = p.grid_import_limit_kw + pv + green + dis
    bad = np.flatnonzero(p.load_kw > supply + 1e-6)
    if bad.size == 0:
        return []
    t = int(bad[0])
    msg = (f"load {p.load_kw[t]:.1f} kW cannot be met at {_when(p, t)}: import limit "
           f"{p.grid_import_limit_kw:.1f} kW + PV {pv[t]:.1f} kW + direct green {green[t]:.1f} kW "
           f"+ battery discharge power {dis:.1f} kW = {supply[t]:.1f} kW ({bad.size} such steps)")
    msg_zh = (f"第 {t} 个时段负荷 {p.load_kw[t]:.1f} kW 无法满足：进线限额 {p.grid_import_limit_kw:.1f} kW + 光伏 "
              f"{pv[t]:.1f} kW + 直连绿电 {green[t]:.1f} kW + 储能最大放电 {dis:.1f} kW = {supply[t]:.1f} kW"
              f"（共 {bad.size} 个时段）")
    return [Diagnosis("balance", msg, msg_zh, t)]


def greedy_energy_check(p: DispatchProblem) -> list[Diagnosis]:
    """Simulate the max-stored-energy strategy; report the first step where batteries run empty.

    For one battery this is exact (no schedule keeps more energy stored); with several it is
    the natural explanation of an infeasible status.
    """
    if not p.batteries:
        return []
    dt = p.step_h
    pv = p.pv_available_kw if p.pv_available_kw is not None else np.zeros(p.steps)
    net = p.grid_import_limit_kw + pv + _direct_green(p) - p.load_kw  # surplus (+) / deficit (−) [kW]
    bats = list(p.batteries)
    soc = [b.soc_max_frac * b.energy_kwh if b.initial_soc_kwh is None else b.initial_soc_kwh for b in bats]
    lo = [b.soc_min_frac * b.energy_kwh for b in bats]
    hi = [b.soc_max_frac * b.energy_kwh for b in bats]
    for t in range(p.steps):
        s = float(net[t])
        if s >= 0:
            for i, b in enumerate(bats):
                c = min(float(b.charge_power_kw), s, (hi[i] - soc[i]) / (b.charge_efficiency * dt))
                soc[i] += c * b.charge_efficiency * dt
                s -= c
        else:
            need = -s
            for i, b in enumerate(bats):
                d = min(float(b.discharge_power_kw or 0.0), need,
                        max(soc[i] - lo[i], 0.0) * b.discharge_efficiency / dt)
                soc[i] -= d / b.discharge_efficiency * dt
                need -= d
            if need > 1e-6:
                stored = sum(soc[i] - lo[i] for i in range(len(bats)))
                return [Diagnosis(
                    "battery_energy",
                    f"batteries run empty at {_when(p, t)}: load {p.load_kw[t]:.1f} kW exceeds import limit "
                    f"{p.grid_import_limit_kw:.1f} kW + PV {pv[t]:.1f} kW by {-net[t]:.1f} kW and only "
                    f"{stored:.1f} kWh usable energy is left even when charging at every earlier surplus",
                    f"第 {t} 个时段储能电量耗尽：负荷 {p.load_kw[t]:.1f} kW 超过进线限额 {p.grid_import_limit_kw:.1f} kW"
                    f" + 光伏 {pv[t]:.1f} kW 共 {-net[t]:.1f} kW，即使此前每个富余时段都充电，可用电量也只剩 {stored:.1f} kWh",
                    t)]
    out: list[Diagnosis] = []
    for i, b in enumerate(bats):
        if b.initial_soc_kwh is None:
            continue
        final = b.final_soc_kwh if b.final_soc_kwh is not None else b.initial_soc_kwh
        if soc[i] < final - 1e-6:
            out.append(Diagnosis(
                "final_soc",
                f"battery {b.name!r} cannot reach its final state of charge {final:.1f} kWh: "
                f"at most {soc[i]:.1f} kWh with every surplus charged",
                f"储能 {b.name!r} 无法达到期末电量 {final:.1f} kWh：即使充满所有富余电量也最多 {soc[i]:.1f} kWh",
            ))
    return out


def greedy_discharge_check(p: DispatchProblem) -> list[Diagnosis]:
    """Can each battery get rid of enough energy to end at its final SOC?

    Discharge is only useful into the load (export of battery energy is not allowed when
    ``export_pv_surplus_only``), and the cycle limit caps discharged energy. Simulates the
    lowest-stored-energy strategy (discharge whenever possible, never charge).
    """
    dt = p.step_h
    out: list[Diagnosis] = []
    sink = p.load_kw.copy()
    if not p.export_pv_surplus_only:
        sink = sink + p.grid_export_limit_kw
    for b in p.batteries:
        if b.initial_soc_kwh is None:
            continue
        final = b.final_soc_kwh if b.final_soc_kwh is not None else b.initial_soc_kwh
        soc = b.initial_soc_kwh
        lo = b.soc_min_frac * b.energy_kwh
        budget = math.inf if b.max_cycles_per_day is None else b.max_cycles_per_day * p.horizon_h / 24 * b.energy_kwh
        for t in range(p.steps):
            d = min(float(b.discharge_power_kw or 0.0), float(sink[t]), max(soc - lo, 0.0) * b.discharge_efficiency / dt,
                    budget / dt)
            soc -= d / b.discharge_efficiency * dt
            budget -= d * dt
            sink[t] -= d
        if soc > final + 1e-6:
            why = "the cycle limit" if budget <= 1e-9 else "the load (battery energy may not be exported)"
            why_zh = "循环次数限制" if budget <= 1e-9 else "负荷（储能电量不得上网）"
            out.append(Diagnosis(
                "final_soc",
                f"battery {b.name!r} cannot discharge from {b.initial_soc_kwh:.1f} kWh down to its final state of "
                f"charge {final:.1f} kWh: at least {soc:.1f} kWh remain, limited by {why}",
                f"储能 {b.name!r} 无法从 {b.initial_soc_kwh:.1f} kWh 放电至期末电量 {final:.1f} kWh：受{why_zh}限制，"
                f"至少剩余 {soc:.1f} kWh"))
    return out


def _min_take(p: DispatchProblem) -> list[Diagnosis]:
    out = []
    for c in p.green_contracts:
        can = float(p.contract_available_kw(c).sum() * p.step_h)
        if c.min_energy_kwh > can + 1e-6:
            out.append(Diagnosis(
                "min_take",
                f"contract {c.name!r}: minimum take {c.min_energy_kwh:.1f} kWh exceeds what it can deliver ({can:.1f} kWh)",
                f"合同 {c.name!r}：最低消纳量 {c.min_energy_kwh:.1f} kWh 超过其可供电量 {can:.1f} kWh"))
        elif c.min_energy_kwh > 0 and c.kind is GreenContractKind.GRID_TRADED:
            usable = float(np.minimum(p.contract_available_kw(c), p.load_kw).sum() * p.step_h)
            if c.min_energy_kwh > usable + 1e-6:
                out.append(Diagnosis(
                    "min_take",
                    f"contract {c.name!r}: minimum take {c.min_energy_kwh:.1f} kWh exceeds the load it can serve "
                    f"({usable:.1f} kWh; grid-traded green power must be consumed, not re-exported)",
                    f"合同 {c.name!r}：最低消纳量 {c.min_energy_kwh:.1f} kWh 超过可消纳负荷 {usable:.1f} kWh"))
    return out


def _carbon_cap(p: DispatchProblem) -> list[Diagnosis]:
    if p.carbon_cap_t is None:
        return []
    relaxed = replace(p, carbon_cap_t=None, carbon_price_per_t=0.0,
                      objective=Objective(ObjectiveKind.EMISSIONS, emission_basis=p.carbon_basis))
    out = solve(build_dispatch_model(relaxed))
    if out.status is SolveStatus.OPTIMAL and out.objective is not None and out.objective > p.carbon_cap_t + 1e-9:
        return [Diagnosis(
            "carbon_cap",
            f"carbon cap {p.carbon_cap_t:.3f} tCO2 ({p.carbon_basis.value}-based) is below the minimum "
            f"achievable {out.objective:.3f} tCO2 with these assets",
            f"碳排放上限 {p.carbon_cap_t:.3f} tCO2 低于现有设施可达到的最低排放 {out.objective:.3f} tCO2")]
    return []


def explain_infeasible(p: DispatchProblem) -> list[Diagnosis]:
    """All diagnoses that apply, most specific first; empty when none of the checks fires."""
    found = find_power_deficits(p)
    if not found:
        found = greedy_energy_check(p)
    found += greedy_discharge_check(p) + _min_take(p)
    if not found:
        found = _carbon_cap(p)
    return found


def infeasible_error(diagnoses: list[Diagnosis], model_classes: list[str] | None = None) -> InfeasibleError:
    """An :class:`InfeasibleError` whose message lists the diagnoses."""
    if diagnoses:
        msg = "; ".join(d.message for d in diagnoses)
        msg_zh = "；".join(d.message_zh for d in diagnoses)
    else:
        classes = ", ".join(model_classes or [])
        msg = f"the dispatch problem has no feasible solution (none of the standard checks fired; constraint classes: {classes})"
        msg_zh = f"调度问题无可行解（常规检查未发现原因；约束类别：{classes}）"
    return InfeasibleError(
        msg, message_zh=msg_zh,
        hint="raise the grid import limit, add PV/storage, relax SOC targets, the carbon cap or the minimum take",
        hint_zh="请提高进线容量、增加光伏或储能，或放宽荷电状态目标、碳排放上限或最低消纳量",
    )
