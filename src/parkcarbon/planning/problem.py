"""Planning problems as plain data (源网荷储 优化问题的数据描述).

Formulation ≠ solving ≠ storage: the classes here only *describe* a dispatch or sizing
problem (arrays and numbers with units). :mod:`parkcarbon.planning.model` turns a problem
into LP matrices, :mod:`parkcarbon.planning.solver` calls HiGHS, and
:mod:`parkcarbon.planning.results` reads the solution back into frozen results.

Conventions
-----------
* Power in kW, energy in kWh, money in CNY (any currency works if used consistently),
  emission factors in tCO2/MWh (= kgCO2/kWh), emissions in tCO2.
* A step ``t`` covers the half-open interval ``[timestamps[t], timestamps[t] + step_h)``;
  powers are averages over the step, so energy = power × ``step_h``.
* Sign convention of the site balance: import positive, export negative.
* Batteries: ``soc[t]`` is the stored energy at the *end* of step ``t``;
  ``soc[t] = soc[t-1] + step_h × (charge_efficiency × charge[t] − discharge[t] / discharge_efficiency)``.
  Power limits apply on the grid side (charge power drawn, discharge power delivered).
* Emissions follow the net-purchased-electricity rule of GB/T 32150-2015 (净购入电力 =
  purchased − exported): location-based = EF_location × (import − export); market-based =
  EF_market × (import − export − grid-traded green power); direct green supply (绿电直连) and
  on-site PV are zero-emission in both.

Validation happens at construction: bad input raises :class:`parkcarbon.errors.InputError`
subclasses with a bilingual message and a hint; missing is never silently zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from parkcarbon.core.trace import FactorRef
from parkcarbon.errors import InputError, Location, QuantityError

__all__ = [
    "Battery",
    "BatteryInvestment",
    "DispatchProblem",
    "EmissionBasis",
    "GreenContract",
    "GreenContractKind",
    "Objective",
    "ObjectiveKind",
    "PVInvestment",
    "SizingProblem",
    "as_series",
]

FloatArray = npt.NDArray[np.float64]


def _bad(name: str, value: Any, why: str, why_zh: str, hint: str, hint_zh: str) -> QuantityError:
    return QuantityError(
        f"{name}: {why}",
        message_zh=f"{name}：{why_zh}",
        hint=hint,
        hint_zh=hint_zh,
        location=Location(column=name, value=value),
    )


def _finite(name: str, value: float, *, minimum: float | None = 0.0, allow_inf: bool = False) -> float:
    """Check a scalar: finite (or +inf when allowed) and ≥ ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise _bad(name, value, "must be a number", "必须是数值", "give a number", "请填写数值")
    v = float(value)
    if math.isnan(v) or (math.isinf(v) and not (allow_inf and v > 0)):
        raise _bad(name, value, "must be finite", "必须是有限数值", "give a finite number", "请填写有限数值")
    if minimum is not None and v < minimum:
        raise _bad(name, value, f"must be ≥ {minimum}", f"必须 ≥ {minimum}",
                   "check the sign and unit of the value", "请检查数值的正负和单位")
    return v


def as_series(name: str, values: float | Sequence[float] | npt.ArrayLike, steps: int, *,
              minimum: float | None = 0.0) -> FloatArray:
    """Turn a scalar or a sequence into a read-only float array of length ``steps``.

    Raises :class:`QuantityError` naming the first bad step (NaN, infinite, below ``minimum``)
    and :class:`InputError` when the length does not match.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(steps, float(arr))
    if arr.ndim != 1 or arr.shape[0] != steps:
        raise InputError(
            f"{name}: expected {steps} values (one per step), got shape {arr.shape}",
            message_zh=f"{name}：应有 {steps} 个数值（每个时段一个），实际形状为 {arr.shape}",
            hint="give one value per time step, on the same time grid as the load",
            hint_zh="请按负荷的时间网格为每个时段提供一个数值",
            location=Location(column=name),
        )
    bad = ~np.isfinite(arr)
    if minimum is not None:
        bad |= arr < minimum
    if bad.any():
        t = int(np.flatnonzero(bad)[0])
        raise QuantityError(
            f"{name}: step {t} has an invalid value {arr[t]!r} (must be finite"
            + (f" and ≥ {minimum})" if minimum is not None else ")"),
            message_zh=f"{name}：第 {t} 个时段的数值 {arr[t]!r} 无效（须为有限数值"
            + (f"且 ≥ {minimum}）" if minimum is not None else "）"),
            hint="a missing interval is not zero: fill or exclude gaps before planning",
            hint_zh="缺测时段不等于零：规划前请补齐或剔除缺测数据",
            location=Location(column=name, row=t, value=float(arr[t])),
        )
    out = arr.copy()
    out.setflags(write=False)
    return out


class ObjectiveKind(StrEnum):
    """What the optimiser minimises (优化目标)."""

    COST = "cost"  # 用电成本最低 [CNY]
    EMISSIONS = "emissions"  # 碳排放最低 [tCO2]
    SELF_CONSUMPTION = "self_consumption"  # 自发自用最大: minimise exported + curtailed PV [kWh]
    WEIGHTED = "weighted"  # 加权多目标


class EmissionBasis(StrEnum):
    """Which Scope 2 method a carbon price, carbon cap or emission objective uses."""

    LOCATION = "location"  # 基于位置
    MARKET = "market"  # 基于市场


@dataclass(frozen=True)
class Objective:
    """Objective of a dispatch or sizing run.

    For ``WEIGHTED``: minimise ``cost_weight × cost [CNY] + emissions_weight × emissions [tCO2]
    + self_consumption_weight × (exported + curtailed PV) [kWh]``; the weights carry the units
    that make the sum commensurable (e.g. ``emissions_weight`` in CNY/tCO2).
    ``emission_basis`` selects location- or market-based emissions for the objective.
    """

    kind: ObjectiveKind = ObjectiveKind.COST
    cost_weight: float = 1.0
    emissions_weight: float = 0.0
    self_consumption_weight: float = 0.0
    emission_basis: EmissionBasis = EmissionBasis.LOCATION

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ObjectiveKind(self.kind))
        object.__setattr__(self, "emission_basis", EmissionBasis(self.emission_basis))
        for name in ("cost_weight", "emissions_weight", "self_consumption_weight"):
            _finite(name, getattr(self, name))

    def weights(self) -> tuple[float, float, float]:
        """(cost, emissions, self-consumption) weights actually applied."""
        if self.kind is ObjectiveKind.COST:
            return (1.0, 0.0, 0.0)
        if self.kind is ObjectiveKind.EMISSIONS:
            return (0.0, 1.0, 0.0)
        if self.kind is ObjectiveKind.SELF_CONSUMPTION:
            return (0.0, 0.0, 1.0)
        if self.cost_weight == self.emissions_weight == self.self_consumption_weight == 0.0:
            raise InputError(
                "weighted objective needs at least one non-zero weight",
                message_zh="加权目标至少需要一个非零权重",
                hint="set cost_weight, emissions_weight or self_consumption_weight",
                hint_zh="请设置成本、排放或自发自用权重",
            )
        return (self.cost_weight, self.emissions_weight, self.self_consumption_weight)


@dataclass(frozen=True)
class Battery:
    """An electrochemical storage unit (储能电站).

    Attributes
    ----------
    name : identifier.
    energy_kwh : usable nameplate energy [kWh].
    charge_power_kw, discharge_power_kw : power limits, grid side [kW]; discharge defaults to charge.
    charge_efficiency, discharge_efficiency : one-way efficiencies [fraction]; their product is the
        round-trip efficiency. ``charge_efficiency=0.9, discharge_efficiency=1.0`` puts the whole
        loss on charging (energy-py-linear convention).
    soc_min_frac, soc_max_frac : state-of-charge window [fraction of ``energy_kwh``].
    initial_soc_kwh : stored energy before the first step [kWh]; ``None`` = cyclic (the optimiser
        chooses it and the final state must equal it).
    final_soc_kwh : required stored energy after the last step [kWh]; ``None`` = same as initial.
    max_cycles_per_day : limit on discharged energy, in equivalent full cycles per day [1/d];
        ``None`` = no limit.
    throughput_cost_per_kwh : degradation cost per kWh discharged [CNY/kWh].
    """

    name: str
    energy_kwh: float
    charge_power_kw: float
    discharge_power_kw: float | None = None
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    soc_min_frac: float = 0.0
    soc_max_frac: float = 1.0
    initial_soc_kwh: float | None = None
    final_soc_kwh: float | None = None
    max_cycles_per_day: float | None = None
    throughput_cost_per_kwh: float = 0.0

    def __post_init__(self) -> None:
        _finite("energy_kwh", self.energy_kwh)
        _finite("charge_power_kw", self.charge_power_kw)
        if self.discharge_power_kw is None:
            object.__setattr__(self, "discharge_power_kw", float(self.charge_power_kw))
        _finite("discharge_power_kw", self.discharge_power_kw or 0.0)
        for name in ("charge_efficiency", "discharge_efficiency"):
            v = _finite(name, getattr(self, name))
            if not 0.0 < v <= 1.0:
                raise _bad(name, v, "must be in (0, 1]", "必须在 (0, 1] 之间",
                           "give the one-way efficiency as a fraction, e.g. 0.95",
                           "单向效率请用小数表示，如 0.95")
        lo = _finite("soc_min_frac", self.soc_min_frac)
        hi = _finite("soc_max_frac", self.soc_max_frac)
        if not 0.0 <= lo <= hi <= 1.0:
            raise _bad("soc_min_frac/soc_max_frac", (lo, hi), "need 0 ≤ min ≤ max ≤ 1",
                       "需满足 0 ≤ 下限 ≤ 上限 ≤ 1", "state-of-charge limits are fractions of the energy",
                       "荷电状态上下限是额定能量的比例")
        for name in ("initial_soc_kwh", "final_soc_kwh"):
            v = getattr(self, name)
            if v is not None:
                v = _finite(name, v)
                if not lo * self.energy_kwh - 1e-9 <= v <= hi * self.energy_kwh + 1e-9:
                    raise _bad(name, v, f"must lie in the SOC window [{lo * self.energy_kwh}, {hi * self.energy_kwh}] kWh",
                               f"必须在荷电状态范围 [{lo * self.energy_kwh}, {hi * self.energy_kwh}] kWh 内",
                               "give stored energy in kWh inside the SOC limits", "请以 kWh 填写，且在荷电状态范围内")
        if self.initial_soc_kwh is None and self.final_soc_kwh is not None:
            raise InputError(
                "final_soc_kwh given without initial_soc_kwh",
                message_zh="给出了期末电量但未给出期初电量",
                hint="give both, or neither for a cyclic schedule",
                hint_zh="请同时给出期初和期末电量，或都不填（循环调度）",
            )
        if self.max_cycles_per_day is not None:
            _finite("max_cycles_per_day", self.max_cycles_per_day)
        _finite("throughput_cost_per_kwh", self.throughput_cost_per_kwh)

    @property
    def round_trip_efficiency(self) -> float:
        """Round-trip efficiency [fraction]."""
        return self.charge_efficiency * self.discharge_efficiency


class GreenContractKind(StrEnum):
    """How contracted green power reaches the site."""

    DIRECT = "direct"  # 绿电直连: dedicated line, not through the grid connection
    GRID_TRADED = "grid_traded"  # 绿电交易: delivered through the public grid, certificate-backed


@dataclass(frozen=True)
class GreenContract:
    """A green power contract (绿电交易合同 / 绿电直连).

    available_kw : deliverable power per step [kW] (scalar or one value per step).
    price_per_kwh : all-in delivered price [CNY/kWh]. For ``GRID_TRADED`` it replaces the tariff
        energy price for the contracted kWh (the contracted kWh still pass the grid connection and
        its import limit).
    min_energy_kwh : take-or-pay minimum over the horizon [kWh].
    """

    name: str
    kind: GreenContractKind
    available_kw: float | Sequence[float] | npt.ArrayLike
    price_per_kwh: float
    min_energy_kwh: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", GreenContractKind(self.kind))
        _finite("price_per_kwh", self.price_per_kwh, minimum=None)
        _finite("min_energy_kwh", self.min_energy_kwh)


@dataclass(frozen=True)
class PVInvestment:
    """PV capacity as a decision variable (光伏装机规模).

    yield_kw_per_kwp : AC output per kWp installed, per step [kW/kWp] (from :mod:`planning.pv`).
    capex_per_kwp [CNY/kWp], fixed_om_per_kwp_year [CNY/(kWp·a)], lifetime_years [a].
    min_kwp / max_kwp : bounds [kWp] (e.g. roof area × packing density).
    """

    yield_kw_per_kwp: float | Sequence[float] | npt.ArrayLike
    capex_per_kwp: float
    fixed_om_per_kwp_year: float
    lifetime_years: int
    min_kwp: float = 0.0
    max_kwp: float = math.inf

    def __post_init__(self) -> None:
        _finite("capex_per_kwp", self.capex_per_kwp)
        _finite("fixed_om_per_kwp_year", self.fixed_om_per_kwp_year)
        _finite("lifetime_years", self.lifetime_years, minimum=1)
        _finite("min_kwp", self.min_kwp)
        _finite("max_kwp", self.max_kwp, allow_inf=True)
        if self.max_kwp < self.min_kwp:
            raise _bad("max_kwp", self.max_kwp, "is below min_kwp", "小于 min_kwp",
                       "check the capacity bounds", "请检查容量上下限")


@dataclass(frozen=True)
class BatteryInvestment:
    """Battery energy and power as decision variables (储能配置).

    ``template`` gives efficiencies, SOC window, cycle limit and throughput cost (its own
    ``energy_kwh``/power are ignored); a sized battery is always cyclic over the horizon.
    ``duration_h`` fixes energy = duration × power (e.g. 2 h systems); ``None`` sizes both.
    """

    template: Battery
    capex_per_kwh: float
    capex_per_kw: float
    fixed_om_per_kwh_year: float
    lifetime_years: int
    max_energy_kwh: float = math.inf
    max_power_kw: float = math.inf
    duration_h: float | None = None

    def __post_init__(self) -> None:
        for name in ("capex_per_kwh", "capex_per_kw", "fixed_om_per_kwh_year"):
            _finite(name, getattr(self, name))
        _finite("lifetime_years", self.lifetime_years, minimum=1)
        _finite("max_energy_kwh", self.max_energy_kwh, allow_inf=True)
        _finite("max_power_kw", self.max_power_kw, allow_inf=True)
        if self.duration_h is not None and _finite("duration_h", self.duration_h) <= 0:
            raise _bad("duration_h", self.duration_h, "must be > 0", "必须大于 0",
                       "give the storage duration in hours", "请以小时填写储能时长")


@dataclass(frozen=True)
class DispatchProblem:
    """One dispatch problem over ``steps`` intervals of ``step_h`` hours.

    Attributes
    ----------
    step_h : interval length [h] (0.25 for 15-minute data, 1.0 for hourly).
    load_kw : measured site load per step [kW] (负荷).
    import_price_per_kwh : energy price of grid import per step [CNY/kWh] (分时电价).
    export_price_per_kwh : price received for export [CNY/kWh]; ``None`` = same as import.
    pv_available_kw : available PV AC output per step [kW]; curtailment is allowed.
    batteries : storage units.
    green_contracts : green power contracts.
    grid_import_limit_kw / grid_export_limit_kw : limits at the grid connection [kW]
        (``inf`` = unlimited, export 0 = no export allowed, 防逆流).
    export_pv_surplus_only : only surplus PV is fed in (余电上网): export[t] ≤ max(PV[t] − load[t], 0)
        (sizing: export[t] ≤ PV[t]); behind-the-meter batteries do not export. ``False`` lets any
        energy be exported (wholesale-style arbitrage, as in the energy-py-linear examples).
        An LP cannot forbid simultaneous import and export; when the feed-in price exceeds the
        import price the result reports it as ``simultaneous_import_export_kwh``.
    demand_charge_per_kw_month : demand charge [CNY/(kW·month)] on the monthly maximum import
        (需量电费); needs ``billing_month`` (an integer label per step).
    grid_ef_location / grid_ef_market : grid emission factors per step [tCO2/MWh];
        market defaults to location when ``None`` (flagged in the result).
    grid_ef_location_ref / grid_ef_market_ref : factor provenance for traces.
    carbon_price_per_t : internal or market carbon price [CNY/tCO2], added to cost.
    carbon_cap_t : upper bound on emissions over the horizon [tCO2].
    carbon_basis : which emissions price and cap refer to.
    objective : :class:`Objective`.
    period_labels : TOU period label per step (for the cost breakdown), optional.
    timestamps : UTC start of each step (``datetime64[ns]``), optional, for reports.
    """

    step_h: float
    load_kw: FloatArray
    import_price_per_kwh: FloatArray
    export_price_per_kwh: FloatArray | None = None
    pv_available_kw: FloatArray | None = None
    batteries: tuple[Battery, ...] = ()
    green_contracts: tuple[GreenContract, ...] = ()
    grid_import_limit_kw: float = math.inf
    grid_export_limit_kw: float = math.inf
    export_pv_surplus_only: bool = True
    demand_charge_per_kw_month: float = 0.0
    billing_month: npt.NDArray[np.int64] | None = None
    grid_ef_location: FloatArray | None = None
    grid_ef_market: FloatArray | None = None
    grid_ef_location_ref: FactorRef | None = None
    grid_ef_market_ref: FactorRef | None = None
    carbon_price_per_t: float = 0.0
    carbon_cap_t: float | None = None
    carbon_basis: EmissionBasis = EmissionBasis.LOCATION
    objective: Objective = field(default_factory=Objective)
    period_labels: tuple[str, ...] | None = None
    timestamps: npt.NDArray[np.datetime64] | None = None

    def __post_init__(self) -> None:
        step = _finite("step_h", self.step_h)
        if step <= 0:
            raise _bad("step_h", step, "must be > 0", "必须大于 0", "use 0.25 for 15-minute data",
                       "15 分钟数据请填 0.25")
        load = np.asarray(self.load_kw, dtype=np.float64)
        if load.ndim != 1 or load.size == 0:
            raise InputError("load_kw must be a non-empty one-dimensional series",
                             message_zh="负荷序列必须是非空的一维序列",
                             hint="give one load value per step [kW]", hint_zh="请为每个时段提供一个负荷值 [kW]")
        n = load.size
        set_ = object.__setattr__
        set_(self, "load_kw", as_series("load_kw", load, n))
        set_(self, "import_price_per_kwh", as_series("import_price_per_kwh", self.import_price_per_kwh, n,
                                                     minimum=None))
        set_(self, "export_price_per_kwh",
             self.import_price_per_kwh if self.export_price_per_kwh is None
             else as_series("export_price_per_kwh", self.export_price_per_kwh, n, minimum=None))
        if self.pv_available_kw is not None:
            set_(self, "pv_available_kw", as_series("pv_available_kw", self.pv_available_kw, n))
        set_(self, "batteries", tuple(self.batteries))
        set_(self, "green_contracts", tuple(self.green_contracts))
        names = [b.name for b in self.batteries] + [g.name for g in self.green_contracts]
        if len(set(names)) != len(names):
            raise InputError("battery and contract names must be unique", message_zh="储能和合同名称不能重复",
                             hint="rename the duplicates", hint_zh="请修改重复的名称")
        _finite("grid_import_limit_kw", self.grid_import_limit_kw, allow_inf=True)
        _finite("grid_export_limit_kw", self.grid_export_limit_kw, allow_inf=True)
        _finite("demand_charge_per_kw_month", self.demand_charge_per_kw_month)
        if self.demand_charge_per_kw_month > 0:
            if self.billing_month is None:
                raise InputError("a demand charge needs billing_month (one month label per step)",
                                 message_zh="需量电费需要每个时段所属的计费月份",
                                 hint="pass billing_month, e.g. year*12+month of each step",
                                 hint_zh="请提供每个时段的计费月份编号")
            bm = np.asarray(self.billing_month, dtype=np.int64)
            if bm.shape != (n,):
                raise InputError(f"billing_month: expected {n} labels, got shape {bm.shape}",
                                 message_zh=f"计费月份应有 {n} 个，实际形状为 {bm.shape}")
            set_(self, "billing_month", bm)
        if self.grid_ef_location is not None:
            set_(self, "grid_ef_location", as_series("grid_ef_location", self.grid_ef_location, n, minimum=None))
        if self.grid_ef_market is not None:
            set_(self, "grid_ef_market", as_series("grid_ef_market", self.grid_ef_market, n, minimum=None))
        _finite("carbon_price_per_t", self.carbon_price_per_t)
        if self.carbon_cap_t is not None:
            _finite("carbon_cap_t", self.carbon_cap_t, minimum=None)
        set_(self, "carbon_basis", EmissionBasis(self.carbon_basis))
        needs_ef = (self.carbon_price_per_t > 0 or self.carbon_cap_t is not None
                    or self.objective.weights()[1] > 0)
        if needs_ef and self.grid_ef_location is None:
            raise InputError(
                "carbon price, carbon cap or emission objective given without grid emission factors",
                message_zh="设置了碳价、碳排放上限或排放目标，但未提供电网排放因子",
                hint="pass grid_ef_location [tCO2/MWh] (e.g. the MEE provincial average)",
                hint_zh="请提供电网排放因子 [tCO2/MWh]（如生态环境部公布的省级平均因子）",
            )
        if self.period_labels is not None and len(self.period_labels) != n:
            raise InputError(f"period_labels: expected {n} labels, got {len(self.period_labels)}",
                             message_zh=f"时段标签应有 {n} 个，实际为 {len(self.period_labels)} 个")
        if self.timestamps is not None and len(self.timestamps) != n:
            raise InputError(f"timestamps: expected {n}, got {len(self.timestamps)}",
                             message_zh=f"时间戳应有 {n} 个，实际为 {len(self.timestamps)} 个")
        for c in self.green_contracts:
            as_series(f"{c.name}.available_kw", c.available_kw, n)

    @property
    def steps(self) -> int:
        """Number of intervals."""
        return int(self.load_kw.size)

    @property
    def horizon_h(self) -> float:
        """Length of the horizon [h]."""
        return self.steps * self.step_h

    def contract_available_kw(self, contract: GreenContract) -> FloatArray:
        """Availability of one contract as a per-step array [kW]."""
        return as_series(f"{contract.name}.available_kw", contract.available_kw, self.steps)

    @property
    def market_ef_is_fallback(self) -> bool:
        """True when market-based emissions use the location factor (no residual mix given)."""
        return self.grid_ef_market is None and self.grid_ef_location is not None


@dataclass(frozen=True)
class SizingProblem:
    """Capacity planning (容量配置): a representative dispatch problem plus investment options.

    The operating cost of ``dispatch`` is scaled to one year by ``8760 / horizon_h`` and added to
    the annualised capex (capital recovery factor at ``discount_rate``) and fixed O&M, all in the
    ``cost`` objective. Existing PV/batteries in ``dispatch`` stay as they are.
    """

    dispatch: DispatchProblem
    pv: PVInvestment | None = None
    battery: BatteryInvestment | None = None
    discount_rate: float = 0.06

    def __post_init__(self) -> None:
        r = _finite("discount_rate", self.discount_rate)
        if r >= 1.0:
            raise _bad("discount_rate", r, "must be a fraction below 1", "应为小于 1 的小数",
                       "write 6 % as 0.06", "6% 请填 0.06")
        if self.pv is not None:
            as_series("yield_kw_per_kwp", self.pv.yield_kw_per_kwp, self.dispatch.steps)
        if self.pv is None and self.battery is None:
            raise InputError("sizing needs a PV or a battery investment option",
                             message_zh="容量配置至少需要光伏或储能投资选项之一",
                             hint="give pv=PVInvestment(...) and/or battery=BatteryInvestment(...)",
                             hint_zh="请提供光伏或储能投资参数")

    @property
    def year_weight(self) -> float:
        """Factor scaling the horizon's operating cost to one year [-]."""
        return 8760.0 / self.dispatch.horizon_h
