"""Model builder: turn a planning problem into LP matrices (线性规划模型构建).

The builder is pure: it reads a :class:`~parkcarbon.planning.problem.DispatchProblem` (or a
:class:`~parkcarbon.planning.problem.SizingProblem`) and returns a :class:`LinearModel` —
``min c·x + offset  s.t.  row_lower ≤ A x ≤ row_upper,  col_lower ≤ x ≤ col_upper`` with ``A``
in compressed sparse column form, exactly what HiGHS' matrix API (``passModel``) takes.
Everything is vectorised with numpy; no per-step Python loop.

Variables (blocks of ``T`` columns unless stated)::

    grid_import [kW]   grid_export [kW]   pv [kW]
    <battery>.charge [kW]  <battery>.discharge [kW]  <battery>.soc [kWh]  (<battery>.soc0 if cyclic)
    <contract>.supply [kW]
    peak_import [kW] (one per billing month, demand charge only)
    pv_capacity [kWp], <battery>.energy_capacity [kWh], <battery>.power_capacity [kW] (sizing only)

Row classes (used to explain infeasibility): ``balance`` (energy balance per step, 功率平衡),
``<battery>.soc`` (SOC continuity), ``<battery>.cycles``, ``<battery>.final``, ``green_link``
(grid-traded green ≤ grid import: contracted kWh arrive through the meter), ``<contract>.min_take``, ``demand_peak``, ``export_source`` (sizing: export ≤ PV), ``carbon_cap``,
``pv_capacity``, ``<battery>.power_charge/power_discharge/soc_max/soc_min`` (sizing).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import sparse

from parkcarbon.errors import PlanningError
from parkcarbon.planning.economics import capital_recovery_factor
from parkcarbon.planning.problem import (
    Battery,
    DispatchProblem,
    EmissionBasis,
    GreenContractKind,
    SizingProblem,
)

__all__ = ["BatteryModelSpec", "LinearModel", "build_dispatch_model", "build_sizing_model"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class BatteryModelSpec:
    """A battery as the builder sees it (existing or sized)."""

    battery: Battery
    sized: bool = False
    duration_h: float | None = None
    max_energy_kwh: float = math.inf
    max_power_kw: float = math.inf


@dataclass(frozen=True)
class LinearModel:
    """An LP in HiGHS matrix form, with the map from names to column and row ranges.

    ``columns[name]`` / ``rows[name]`` are ``(start, stop)`` index ranges. ``a_start``,
    ``a_index``, ``a_value`` are the CSC arrays of ``A`` (int32/float64, as HiGHS wants).
    ``objective_parts`` keeps the separate objective vectors (cost [CNY], location and market
    emissions [tCO2], spilled PV [kWh]) so a reader can evaluate them independently.
    """

    num_col: int
    num_row: int
    col_cost: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray
    a_start: npt.NDArray[np.int32]
    a_index: npt.NDArray[np.int32]
    a_value: FloatArray
    offset: float
    columns: Mapping[str, tuple[int, int]]
    rows: Mapping[str, tuple[int, int]]
    batteries: tuple[BatteryModelSpec, ...] = ()
    billing_months: tuple[int, ...] = ()
    year_weight: float = 1.0
    notes: tuple[str, ...] = field(default=())

    @property
    def has_investment(self) -> bool:
        """True when capacities are variables (a sizing model)."""
        return "pv_capacity" in self.columns or any(s.sized for s in self.batteries)

    @property
    def num_nz(self) -> int:
        return int(self.a_value.size)

    def col(self, name: str) -> slice:
        a, b = self.columns[name]
        return slice(a, b)

    def to_csc(self) -> sparse.csc_array:
        """``A`` as a scipy CSC array (for checks and other solvers)."""
        return sparse.csc_array((self.a_value, self.a_index, self.a_start), shape=(self.num_row, self.num_col))


class _Builder:
    """Accumulates columns and COO triplets."""

    def __init__(self) -> None:
        self.n_col = 0
        self.n_row = 0
        self.columns: dict[str, tuple[int, int]] = {}
        self.rows: dict[str, tuple[int, int]] = {}
        self.lower: list[FloatArray] = []
        self.upper: list[FloatArray] = []
        self.r_i: list[IntArray] = []
        self.r_j: list[IntArray] = []
        self.r_v: list[FloatArray] = []
        self.row_lo: list[FloatArray] = []
        self.row_hi: list[FloatArray] = []

    def add_cols(self, name: str, lower: FloatArray | float, upper: FloatArray | float, size: int) -> IntArray:
        start = self.n_col
        self.n_col += size
        self.columns[name] = (start, self.n_col)
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (size,)))
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (size,)))
        return np.arange(start, self.n_col, dtype=np.int64)

    def add_rows(self, name: str, lower: FloatArray | float, upper: FloatArray | float, size: int) -> IntArray:
        start = self.n_row
        self.n_row += size
        self.rows[name] = (start, self.n_row)
        self.row_lo.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (size,)))
        self.row_hi.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (size,)))
        return np.arange(start, self.n_row, dtype=np.int64)

    def coef(self, rows: IntArray, cols: IntArray, values: FloatArray | float) -> None:
        rows, cols = np.broadcast_arrays(rows, cols)
        self.r_i.append(rows.ravel())
        self.r_j.append(cols.ravel())
        self.r_v.append(np.broadcast_to(np.asarray(values, dtype=np.float64), rows.shape).ravel())


def build_dispatch_model(problem: DispatchProblem) -> LinearModel:
    """Build the dispatch LP of ``problem`` (no investment variables)."""
    specs = tuple(BatteryModelSpec(b) for b in problem.batteries)
    return _build(problem, specs, pv_invest=None, year_weight=1.0, discount_rate=0.0)


def build_sizing_model(problem: SizingProblem) -> LinearModel:
    """Build the capacity-planning LP: dispatch of ``problem.dispatch`` plus capacity variables."""
    specs = [BatteryModelSpec(b) for b in problem.dispatch.batteries]
    if problem.battery is not None:
        inv = problem.battery
        tpl = inv.template
        sized = Battery(
            name=tpl.name, energy_kwh=0.0, charge_power_kw=0.0, discharge_power_kw=0.0,
            charge_efficiency=tpl.charge_efficiency, discharge_efficiency=tpl.discharge_efficiency,
            soc_min_frac=tpl.soc_min_frac, soc_max_frac=tpl.soc_max_frac,
            max_cycles_per_day=tpl.max_cycles_per_day, throughput_cost_per_kwh=tpl.throughput_cost_per_kwh,
        )
        if any(b.name == tpl.name for b in problem.dispatch.batteries):
            raise PlanningError(f"sized battery name {tpl.name!r} clashes with an existing battery",
                                message_zh=f"待配置储能名称 {tpl.name!r} 与已有储能重名",
                                hint="give the investment template another name", hint_zh="请为待配置储能另取名称")
        specs.append(BatteryModelSpec(sized, sized=True, duration_h=inv.duration_h,
                                      max_energy_kwh=inv.max_energy_kwh, max_power_kw=inv.max_power_kw))
    return _build(problem.dispatch, tuple(specs), pv_invest=problem, year_weight=problem.year_weight,
                  discount_rate=problem.discount_rate)


def _build(p: DispatchProblem, specs: tuple[BatteryModelSpec, ...], *, pv_invest: SizingProblem | None,
           year_weight: float, discount_rate: float) -> LinearModel:
    T = p.steps
    dt = p.step_h
    b = _Builder()
    w_cost, w_em, w_self = p.objective.weights()
    zeros = np.zeros(T)

    # objective parts, filled per block
    cost: dict[str, FloatArray] = {}
    em_loc: dict[str, FloatArray] = {}
    em_mkt: dict[str, FloatArray] = {}
    spill: dict[str, FloatArray] = {}

    ef_loc = p.grid_ef_location if p.grid_ef_location is not None else zeros
    ef_mkt = p.grid_ef_market if p.grid_ef_market is not None else ef_loc
    to_t = dt / 1000.0  # kW over one step → MWh; × tCO2/MWh → tCO2

    imp = b.add_cols("grid_import", 0.0, p.grid_import_limit_kw, T)
    cost["grid_import"] = p.import_price_per_kwh * dt
    em_loc["grid_import"] = ef_loc * to_t
    em_mkt["grid_import"] = ef_mkt * to_t
    pv_avail = p.pv_available_kw if p.pv_available_kw is not None else zeros
    sized_pv = pv_invest is not None and pv_invest.pv is not None
    export_hi: FloatArray | float = p.grid_export_limit_kw
    if p.export_pv_surplus_only:
        potential = pv_avail
        if sized_pv:  # bound by the surplus at the largest capacity (exact when the optimum is at it)
            assert pv_invest is not None and pv_invest.pv is not None
            y_max = np.asarray(pv_invest.pv.yield_kw_per_kwp, dtype=np.float64) * np.ones(T)
            potential = pv_avail + (y_max * pv_invest.pv.max_kwp if math.isfinite(pv_invest.pv.max_kwp)
                                    else np.where(y_max > 0, np.inf, 0.0))
        export_hi = np.minimum(p.grid_export_limit_kw, np.maximum(potential - p.load_kw, 0.0))
    exp_ = b.add_cols("grid_export", 0.0, export_hi, T)
    cost["grid_export"] = -np.asarray(p.export_price_per_kwh) * dt
    em_loc["grid_export"] = -ef_loc * to_t
    em_mkt["grid_export"] = -ef_mkt * to_t
    spill["grid_export"] = np.full(T, dt)

    pv = b.add_cols("pv", 0.0, np.inf if sized_pv else pv_avail, T)
    if p.export_pv_surplus_only and sized_pv:
        rr = b.add_rows("export_source", -np.inf, 0.0, T)
        b.coef(rr, exp_, 1.0)
        b.coef(rr, pv, -1.0)
    spill["pv"] = np.full(T, -dt)
    spill_offset = float(pv_avail.sum() * dt)

    # energy balance: import − export + pv + Σ discharge − Σ charge + Σ direct green = load
    bal = b.add_rows("balance", p.load_kw, p.load_kw, T)
    b.coef(bal, imp, 1.0)
    b.coef(bal, exp_, -1.0)
    b.coef(bal, pv, 1.0)

    notes: list[str] = []

    for spec in specs:
        bat = spec.battery
        nm = bat.name
        e_cap = bat.energy_kwh
        if spec.sized:
            ch = b.add_cols(f"{nm}.charge", 0.0, np.inf, T)
            dis = b.add_cols(f"{nm}.discharge", 0.0, np.inf, T)
            soc = b.add_cols(f"{nm}.soc", 0.0, np.inf, T)
        else:
            ch = b.add_cols(f"{nm}.charge", 0.0, bat.charge_power_kw, T)
            dis = b.add_cols(f"{nm}.discharge", 0.0, float(bat.discharge_power_kw or 0.0), T)
            soc_hi = np.full(T, bat.soc_max_frac * e_cap)
            soc_lo = np.full(T, bat.soc_min_frac * e_cap)
            if bat.initial_soc_kwh is not None:
                final = bat.final_soc_kwh if bat.final_soc_kwh is not None else bat.initial_soc_kwh
                soc_lo[-1] = soc_hi[-1] = final
            soc = b.add_cols(f"{nm}.soc", soc_lo, soc_hi, T)
        cost[f"{nm}.discharge"] = np.full(T, bat.throughput_cost_per_kwh * dt)
        b.coef(bal, ch, -1.0)
        b.coef(bal, dis, 1.0)
        # SOC continuity: soc[t] − soc[t−1] − dt·ηc·ch[t] + dt/ηd·dis[t] = 0 (t=0: = initial)
        rhs = np.zeros(T)
        cyclic = spec.sized or bat.initial_soc_kwh is None
        if not cyclic:
            rhs[0] = float(bat.initial_soc_kwh or 0.0)
        r = b.add_rows(f"{nm}.soc", rhs, rhs, T)
        b.coef(r, soc, 1.0)
        b.coef(r[1:], soc[:-1], -1.0)
        b.coef(r, ch, -dt * bat.charge_efficiency)
        b.coef(r, dis, dt / bat.discharge_efficiency)
        if cyclic:
            soc0 = b.add_cols(f"{nm}.soc0", 0.0 if spec.sized else bat.soc_min_frac * e_cap,
                              np.inf if spec.sized else bat.soc_max_frac * e_cap, 1)
            b.coef(r[:1], soc0, -1.0)
            rf = b.add_rows(f"{nm}.final", 0.0, 0.0, 1)
            b.coef(rf, soc[-1:], 1.0)
            b.coef(rf, soc0, -1.0)
        days = T * dt / 24.0
        if spec.sized:
            e_col = b.add_cols(f"{nm}.energy_capacity", 0.0, spec.max_energy_kwh, 1)
            p_col = b.add_cols(f"{nm}.power_capacity", 0.0, spec.max_power_kw, 1)
            inv = pv_invest.battery if pv_invest is not None else None
            assert inv is not None
            crf = capital_recovery_factor(discount_rate, inv.lifetime_years)
            cost[f"{nm}.energy_capacity"] = np.array([inv.capex_per_kwh * crf + inv.fixed_om_per_kwh_year])
            cost[f"{nm}.power_capacity"] = np.array([inv.capex_per_kw * crf])
            for kind, col in (("power_charge", ch), ("power_discharge", dis)):
                rr = b.add_rows(f"{nm}.{kind}", -np.inf, 0.0, T)
                b.coef(rr, col, 1.0)
                b.coef(rr, np.repeat(p_col, T), -1.0)
            rr = b.add_rows(f"{nm}.soc_max", -np.inf, 0.0, T + 1)
            b.coef(rr[:T], soc, 1.0)
            b.coef(rr[T:], soc0, 1.0)
            b.coef(rr, np.repeat(e_col, T + 1), -bat.soc_max_frac)
            if bat.soc_min_frac > 0:
                rr = b.add_rows(f"{nm}.soc_min", 0.0, np.inf, T + 1)
                b.coef(rr[:T], soc, 1.0)
                b.coef(rr[T:], soc0, 1.0)
                b.coef(rr, np.repeat(e_col, T + 1), -bat.soc_min_frac)
            if spec.duration_h is not None:
                rr = b.add_rows(f"{nm}.duration", 0.0, 0.0, 1)
                b.coef(rr, e_col, 1.0)
                b.coef(rr, p_col, -spec.duration_h)
            if bat.max_cycles_per_day is not None:
                rr = b.add_rows(f"{nm}.cycles", -np.inf, 0.0, 1)
                b.coef(np.repeat(rr, T), dis, dt)
                b.coef(rr, e_col, -bat.max_cycles_per_day * days)
        elif bat.max_cycles_per_day is not None:
            limit = bat.max_cycles_per_day * days * e_cap
            rr = b.add_rows(f"{nm}.cycles", -np.inf, limit, 1)
            b.coef(np.repeat(rr, T), dis, dt)

    grid_green: list[IntArray] = []
    for c in p.green_contracts:
        avail = p.contract_available_kw(c)
        g = b.add_cols(f"{c.name}.supply", 0.0, avail, T)
        if c.kind is GreenContractKind.DIRECT:
            b.coef(bal, g, 1.0)
            cost[f"{c.name}.supply"] = np.full(T, c.price_per_kwh * dt)
        else:
            grid_green.append(g)
            # contracted kWh replace tariff kWh inside the metered import
            cost[f"{c.name}.supply"] = (c.price_per_kwh - p.import_price_per_kwh) * dt
            em_mkt[f"{c.name}.supply"] = -ef_mkt * to_t
        if c.min_energy_kwh > 0:
            rr = b.add_rows(f"{c.name}.min_take", c.min_energy_kwh, np.inf, 1)
            b.coef(np.repeat(rr, T), g, dt)
    if grid_green:
        link = b.add_rows("green_link", -np.inf, 0.0, T)
        for g in grid_green:
            b.coef(link, g, 1.0)
        b.coef(link, imp, -1.0)

    months: tuple[int, ...] = ()
    if p.demand_charge_per_kw_month > 0:
        assert p.billing_month is not None
        uniq, inverse = np.unique(p.billing_month, return_inverse=True)
        months = tuple(int(m) for m in uniq)
        peak = b.add_cols("peak_import", 0.0, np.inf, len(months))
        cost["peak_import"] = np.full(len(months), p.demand_charge_per_kw_month)
        rr = b.add_rows("demand_peak", -np.inf, 0.0, T)
        b.coef(rr, imp, 1.0)
        b.coef(rr, peak[inverse], -1.0)

    if sized_pv:
        assert pv_invest is not None and pv_invest.pv is not None
        inv_pv = pv_invest.pv
        y = np.asarray(inv_pv.yield_kw_per_kwp, dtype=np.float64) * np.ones(T)
        kwp = b.add_cols("pv_capacity", inv_pv.min_kwp, inv_pv.max_kwp, 1)
        crf = capital_recovery_factor(discount_rate, inv_pv.lifetime_years)
        cost["pv_capacity"] = np.array([inv_pv.capex_per_kwp * crf + inv_pv.fixed_om_per_kwp_year])
        spill["pv_capacity"] = np.array([float(y.sum() * dt)])
        rr = b.add_rows("pv_capacity", -np.inf, pv_avail, T)
        b.coef(rr, pv, 1.0)
        b.coef(rr, np.repeat(kwp, T), -y)
        notes.append("operating cost scaled to one year by 8760 h / horizon")

    # carbon price and cap
    basis_em = em_loc if p.carbon_basis is EmissionBasis.LOCATION else em_mkt
    if p.carbon_cap_t is not None:
        rr = b.add_rows("carbon_cap", -np.inf, p.carbon_cap_t, 1)
        for name, vec in basis_em.items():
            a, z = b.columns[name]
            b.coef(np.repeat(rr, z - a), np.arange(a, z), vec)

    n = b.n_col
    c_cost = np.zeros(n)
    c_em = np.zeros(n)
    c_spill = np.zeros(n)
    obj_em = em_loc if p.objective.emission_basis is EmissionBasis.LOCATION else em_mkt
    investment_cols = {"pv_capacity"} | {f"{s.battery.name}.{k}" for s in specs if s.sized
                                         for k in ("energy_capacity", "power_capacity")}
    for name, vec in cost.items():
        a, z = b.columns[name]
        c_cost[a:z] += vec if name in investment_cols else vec * year_weight
    if p.carbon_price_per_t > 0:
        for name, vec in basis_em.items():
            a, z = b.columns[name]
            c_cost[a:z] += p.carbon_price_per_t * vec * year_weight
    for name, vec in obj_em.items():
        a, z = b.columns[name]
        c_em[a:z] += vec
    for name, vec in spill.items():
        a, z = b.columns[name]
        c_spill[a:z] += vec
    col_cost = w_cost * c_cost + w_em * c_em + w_self * c_spill
    offset = w_self * spill_offset  # constant of the spill objective: Σ available PV × dt

    rows_i = np.concatenate(b.r_i) if b.r_i else np.zeros(0, dtype=np.int64)
    rows_j = np.concatenate(b.r_j) if b.r_j else np.zeros(0, dtype=np.int64)
    vals = np.concatenate(b.r_v) if b.r_v else np.zeros(0)
    a_mat = sparse.csc_array((vals, (rows_i, rows_j)), shape=(b.n_row, n))
    a_mat.sum_duplicates()
    a_mat.sort_indices()
    return LinearModel(
        num_col=n,
        num_row=b.n_row,
        col_cost=col_cost,
        col_lower=np.concatenate(b.lower),
        col_upper=np.concatenate(b.upper),
        row_lower=np.concatenate(b.row_lo) if b.row_lo else np.zeros(0),
        row_upper=np.concatenate(b.row_hi) if b.row_hi else np.zeros(0),
        a_start=a_mat.indptr.astype(np.int32),
        a_index=a_mat.indices.astype(np.int32),
        a_value=a_mat.data.astype(np.float64),
        offset=float(offset),
        columns=dict(b.columns),
        rows=dict(b.rows),
        batteries=specs,
        billing_months=months,
        year_weight=year_weight,
        notes=tuple(notes),
    )
