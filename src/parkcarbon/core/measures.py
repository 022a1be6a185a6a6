"""Key energy-consuming units (重点用能单位), the measure catalogue, MACC and 一企一策 plans.

* :func:`classify_key_unit` — identify key energy-consuming units by annual comprehensive energy
  consumption (NOTES §7.1): ≥ 10 000 tce 重点用能单位 (节约能源法 / 重点用能单位节能管理办法,
  A/B); 5 000–10 000 tce may be designated by the provincial authority (A/B); a local threshold
  (e.g. 3 000 tce) may be set by city/county authorities — the 3 000 tce value itself is a
  GB/T 36132-2025 scoring tier, not a verified key-unit rule (UNVERIFIED), so it is a parameter.
* :func:`evaluate_measure` — energy saving [tce/yr], abatement [tCO2/yr], capex, annualised
  cost and cost per tonne [CNY/tCO2] of a measure (节能降碳措施) applied at a size.
* :func:`macc` — the marginal abatement cost curve (边际减排成本曲线): measures sorted by cost per
  tonne, with cumulative abatement.
* :func:`build_plan` / :func:`track_plan` — a per-enterprise plan (一企一策) with a timetable,
  tracked against measured savings month by month.

Cost per tonne = (annualised capex + O&M − energy cost saved) / abatement, with the capital
recovery factor ``r(1+r)^n / ((1+r)^n − 1)``; negative values are measures that pay for
themselves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from parkcarbon.core.trace import FactorRef, TraceStep
from parkcarbon.errors import InputError, Location
from parkcarbon.periods import Month, month_range

__all__ = [
    "CarrierParameters",
    "EnterprisePlan",
    "KeyUnitClass",
    "KeyUnitResult",
    "KeyUnitThresholds",
    "MaccPoint",
    "MeasureDefinition",
    "MeasureOption",
    "MeasureResult",
    "PlanItem",
    "PlanItemProgress",
    "PlanStatus",
    "build_plan",
    "capital_recovery_factor",
    "classify_key_unit",
    "evaluate_measure",
    "identify_key_units",
    "macc",
    "track_plan",
]


# --- key energy-consuming units ------------------------------------------------------------


class KeyUnitClass(StrEnum):
    """Classification by annual comprehensive energy consumption (NOTES §7.1)."""

    KEY = "key"  # 重点用能单位 ≥ 10 000 tce
    DESIGNATED = "designated"  # 5 000–10 000 tce: may be designated by the province (省级指定)
    LOCAL = "local"  # ≥ local threshold: local (city/county) management scope
    NONE = "none"
    UNKNOWN = "unknown"  # annual energy incomplete


@dataclass(frozen=True)
class KeyUnitThresholds:
    """Thresholds [tce/yr]. ``local_tce=None`` disables the local tier."""

    key_tce: float = 10_000.0
    designated_tce: float = 5_000.0
    local_tce: float | None = 3_000.0
    source: str = "NOTES §7.1: 10 000 / 5 000 tce A/B (DB41/T 2192-2021 §3.1); local tier a parameter (UNVERIFIED)"

    def __post_init__(self) -> None:
        ok = 0 < self.designated_tce <= self.key_tce and (self.local_tce is None or 0 < self.local_tce <= self.designated_tce)
        if not ok:
            raise InputError(
                f"key-unit thresholds must satisfy 0 < local ≤ designated ≤ key, got "
                f"{self.local_tce}/{self.designated_tce}/{self.key_tce}",
                message_zh="重点用能单位阈值须满足 0 < 地方 ≤ 省级指定 ≤ 重点",
                location=Location(value=(self.local_tce, self.designated_tce, self.key_tce)),
            )


@dataclass(frozen=True)
class KeyUnitResult:
    """An enterprise's class; ``energy_tce`` is its annual 综合能源消费量 [tce] or ``None``."""

    enterprise_id: str
    year: int
    energy_tce: float | None
    classification: KeyUnitClass
    threshold_tce: float | None
    note: str = ""


def classify_key_unit(
    enterprise_id: str, year: int, energy_tce: float | None, thresholds: KeyUnitThresholds = KeyUnitThresholds()
) -> KeyUnitResult:
    """Classify one enterprise by its annual energy [tce] (missing → ``UNKNOWN``, never 'none')."""
    if energy_tce is None:
        return KeyUnitResult(enterprise_id, year, None, KeyUnitClass.UNKNOWN, None,
                             "annual energy incomplete: cannot classify (missing is not zero)")
    if isinstance(energy_tce, bool) or not math.isfinite(energy_tce) or energy_tce < 0:
        raise InputError(f"annual energy of {enterprise_id} must be ≥ 0, got {energy_tce!r}",
                         message_zh=f"{enterprise_id} 年综合能耗必须 ≥ 0，实际为 {energy_tce!r}",
                         location=Location(record=enterprise_id, value=energy_tce))
    if energy_tce >= thresholds.key_tce:
        return KeyUnitResult(enterprise_id, year, energy_tce, KeyUnitClass.KEY, thresholds.key_tce)
    if energy_tce >= thresholds.designated_tce:
        return KeyUnitResult(enterprise_id, year, energy_tce, KeyUnitClass.DESIGNATED, thresholds.designated_tce,
                             "may be designated by the provincial energy-saving authority")
    if thresholds.local_tce is not None and energy_tce >= thresholds.local_tce:
        return KeyUnitResult(enterprise_id, year, energy_tce, KeyUnitClass.LOCAL, thresholds.local_tce,
                             "local management threshold (parameter; 3 000 tce rule UNVERIFIED)")
    return KeyUnitResult(enterprise_id, year, energy_tce, KeyUnitClass.NONE, None)


def identify_key_units(
    annual_energy_tce: Mapping[str, float | None], year: int, thresholds: KeyUnitThresholds = KeyUnitThresholds()
) -> tuple[KeyUnitResult, ...]:
    """Classify every enterprise; sorted by energy, largest first (unknown last)."""
    res = [classify_key_unit(e, year, v, thresholds) for e, v in annual_energy_tce.items()]
    return tuple(sorted(res, key=lambda r: (r.energy_tce is None, -(r.energy_tce or 0.0), r.enterprise_id)))


# --- measure catalogue and evaluation ------------------------------------------------------


@dataclass(frozen=True)
class MeasureDefinition:
    """A catalogue measure (节能降碳措施目录 row).

    size_unit : what ``size`` counts (``kW``, ``kWp``, ``kVA``, ``MWh/yr``…).
    carrier_saved : carrier code whose use falls (``electricity``, ``natural_gas``, ``steam``…).
    baseline_per_size : annual use of ``carrier_saved`` by the addressed system per size unit
        [carrier canonical unit / yr / size unit]; a measured baseline may replace it.
    saving_frac : share of that baseline saved [fraction].
    carrier_added, added_per_size : a carrier whose use rises (fuel switch, e.g. heat pump
        electricity) [carrier canonical unit / yr / size unit].
    reduces_energy : ``False`` when the measure replaces the source, not the use (rooftop PV,
        green power): emissions fall, 综合能耗 does not.
    saves_energy_cost : ``False`` when the replaced energy is still paid for (green power: the
        premium is the O&M cost).
    capex_cny_per_size, om_cny_per_size_yr : [CNY / size unit], [CNY / yr / size unit].
    lifetime_yr : economic life [yr].
    """

    measure_id: str
    name_en: str
    name_zh: str
    category: str
    size_unit: str
    carrier_saved: str
    baseline_per_size: float
    saving_frac: float
    capex_cny_per_size: float
    om_cny_per_size_yr: float
    lifetime_yr: float
    source: str
    grade: str
    carrier_added: str | None = None
    added_per_size: float = 0.0
    reduces_energy: bool = True
    saves_energy_cost: bool = True
    note: str = ""

    def __post_init__(self) -> None:
        nums = {"baseline_per_size": self.baseline_per_size, "capex_cny_per_size": self.capex_cny_per_size,
                "om_cny_per_size_yr": self.om_cny_per_size_yr, "added_per_size": self.added_per_size}
        for k, v in nums.items():
            if not math.isfinite(v) or v < 0:
                raise InputError(f"measure {self.measure_id}: {k} must be ≥ 0, got {v}",
                                 message_zh=f"措施 {self.measure_id}：{k} 必须 ≥ 0，实际为 {v}",
                                 location=Location(record=self.measure_id, column=k, value=v))
        if not 0.0 <= self.saving_frac <= 1.0:
            raise InputError(f"measure {self.measure_id}: saving_frac must be in [0, 1], got {self.saving_frac}",
                             message_zh=f"措施 {self.measure_id}：节能率必须在 [0,1] 内",
                             location=Location(record=self.measure_id, column="saving_frac", value=self.saving_frac))
        if not self.lifetime_yr > 0:
            raise InputError(f"measure {self.measure_id}: lifetime must be > 0", message_zh=f"措施 {self.measure_id}：寿命必须 > 0",
                             location=Location(record=self.measure_id, column="lifetime_yr", value=self.lifetime_yr))


@dataclass(frozen=True)
class MeasureOption:
    """A measure proposed for an enterprise at a size.

    baseline_use : measured annual use of the addressed system [carrier_saved unit / yr]; when
        given it replaces ``size × baseline_per_size``.
    """

    option_id: str
    enterprise_id: str
    measure: MeasureDefinition
    size: float
    baseline_use: float | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.size) or self.size <= 0:
            raise InputError(f"option {self.option_id}: size must be > 0, got {self.size}",
                             message_zh=f"方案 {self.option_id}：规模必须 > 0，实际为 {self.size}",
                             location=Location(record=self.option_id, column="size", value=self.size))
        if self.baseline_use is not None and (not math.isfinite(self.baseline_use) or self.baseline_use < 0):
            raise InputError(f"option {self.option_id}: baseline_use must be ≥ 0",
                             message_zh=f"方案 {self.option_id}：基准用量必须 ≥ 0",
                             location=Location(record=self.option_id, column="baseline_use", value=self.baseline_use))


@dataclass(frozen=True)
class CarrierParameters:
    """Per-carrier factors for measure evaluation.

    coal_coefficient : tce per canonical unit (当量值, GB/T 2589-2020) [tce/unit].
    emission_factor : tCO2 per canonical unit [tCO2/unit] (electricity: grid factor / 1000).
    price_cny_per_unit : energy price [CNY/unit]; ``price_source`` says where it comes from.
    """

    carrier: str
    coal_coefficient: FactorRef
    emission_factor: FactorRef
    price_cny_per_unit: float
    price_source: str = ""


@dataclass(frozen=True)
class MeasureResult:
    """Annual effect and cost of a :class:`MeasureOption`.

    energy_saving_tce_per_yr [tce/yr], abatement_tco2_per_yr [tCO2/yr], capex_cny [CNY],
    annualised_capex_cny_per_yr, om_cny_per_yr, energy_cost_saving_cny_per_yr,
    net_annual_cost_cny_per_yr [CNY/yr], cost_per_tco2_cny [CNY/tCO2] (``None`` without
    abatement), simple_payback_yr [yr] (``None`` without net saving).
    """

    option: MeasureOption
    carrier_saved_per_yr: float
    carrier_added_per_yr: float
    energy_saving_tce_per_yr: float
    abatement_tco2_per_yr: float
    capex_cny: float
    annualised_capex_cny_per_yr: float
    om_cny_per_yr: float
    energy_cost_saving_cny_per_yr: float
    net_annual_cost_cny_per_yr: float
    cost_per_tco2_cny: float | None
    simple_payback_yr: float | None
    trace: tuple[TraceStep, ...]


def capital_recovery_factor(discount_rate_frac: float, lifetime_yr: float) -> float:
    """CRF = r(1+r)^n / ((1+r)^n − 1) [1/yr]; 1/n when r = 0."""
    if not 0.0 <= discount_rate_frac < 1.0 or lifetime_yr <= 0:
        raise InputError(f"discount rate must be in [0, 1) and lifetime > 0, got {discount_rate_frac}, {lifetime_yr}",
                         message_zh="折现率须在 [0,1) 内且寿命 > 0")
    if discount_rate_frac == 0.0:
        return 1.0 / lifetime_yr
    g = float((1.0 + discount_rate_frac) ** lifetime_yr)
    return float(discount_rate_frac * g / (g - 1.0))


def _params(carriers: Mapping[str, CarrierParameters], code: str, option_id: str) -> CarrierParameters:
    try:
        return carriers[code]
    except KeyError:
        raise InputError(
            f"no factors/price for carrier {code!r} needed by option {option_id}",
            message_zh=f"方案 {option_id} 需要能源品种 {code!r} 的系数与价格，但未提供",
            hint="pass CarrierParameters for this carrier", hint_zh="请提供该能源品种的折标系数、排放因子和价格",
            location=Location(record=option_id, value=code),
        ) from None


def evaluate_measure(
    option: MeasureOption, carriers: Mapping[str, CarrierParameters], discount_rate_frac: float = 0.06
) -> MeasureResult:
    """Savings, abatement and costs of one option (see module docstring for the formulas)."""
    m = option.measure
    baseline = option.baseline_use if option.baseline_use is not None else option.size * m.baseline_per_size
    saved = baseline * m.saving_frac
    added = option.size * m.added_per_size if m.carrier_added else 0.0
    ps = _params(carriers, m.carrier_saved, option.option_id)
    pa = _params(carriers, m.carrier_added, option.option_id) if m.carrier_added else None
    energy = 0.0
    if m.reduces_energy:
        energy = saved * ps.coal_coefficient.value - (added * pa.coal_coefficient.value if pa else 0.0)
    abatement = saved * ps.emission_factor.value - (added * pa.emission_factor.value if pa else 0.0)
    cost_saving = 0.0
    if m.saves_energy_cost:
        cost_saving = saved * ps.price_cny_per_unit - (added * pa.price_cny_per_unit if pa else 0.0)
    capex = option.size * m.capex_cny_per_size
    ann = capex * capital_recovery_factor(discount_rate_frac, m.lifetime_yr)
    om = option.size * m.om_cny_per_size_yr
    net = ann + om - cost_saving
    cpt = net / abatement if abatement > 0 else None
    payback = capex / (cost_saving - om) if cost_saving - om > 0 else None
    factors = (ps.coal_coefficient, ps.emission_factor) + ((pa.coal_coefficient, pa.emission_factor) if pa else ())
    steps = (
        TraceStep(method=f"{m.measure_id}: saved = baseline × saving_frac ({m.saving_frac})", result=saved,
                  result_unit=f"{m.carrier_saved} unit/yr", records=(option.option_id,),
                  inputs=(("baseline", baseline), ("size", option.size)), note=f"{m.source} [{m.grade}]"),
        TraceStep(method="energy saving = saved × coal coefficient − added × coal coefficient"
                  + ("" if m.reduces_energy else " (source switch: 0)"), result=energy, result_unit="tce/yr",
                  records=(option.option_id,), factors=factors),
        TraceStep(method="abatement = saved × EF − added × EF", result=abatement, result_unit="tCO2/yr",
                  records=(option.option_id,), factors=factors),
        TraceStep(method=f"cost per tonne = (capex × CRF(r={discount_rate_frac}, n={m.lifetime_yr}) + O&M − energy cost saved)"
                  " / abatement", result=math.nan if cpt is None else cpt, result_unit="CNY/tCO2",
                  records=(option.option_id,), inputs=(("capex", capex), ("om", om), ("cost_saving", cost_saving))),
    )
    return MeasureResult(option, saved, added, energy, abatement, capex, ann, om, cost_saving, net, cpt, payback, steps)


@dataclass(frozen=True)
class MaccPoint:
    """One bar of the MACC: width = abatement [tCO2/yr], height = cost [CNY/tCO2]."""

    result: MeasureResult
    cost_per_tco2_cny: float
    abatement_tco2_per_yr: float
    cumulative_start_tco2_per_yr: float
    cumulative_end_tco2_per_yr: float


def macc(results: Sequence[MeasureResult]) -> tuple[MaccPoint, ...]:
    """Marginal abatement cost curve: options with positive abatement, cheapest first."""
    ok = sorted((r for r in results if r.cost_per_tco2_cny is not None),
                key=lambda r: (r.cost_per_tco2_cny, r.option.option_id))
    out: list[MaccPoint] = []
    cum = 0.0
    for r in ok:
        assert r.cost_per_tco2_cny is not None
        out.append(MaccPoint(r, r.cost_per_tco2_cny, r.abatement_tco2_per_yr, cum, cum + r.abatement_tco2_per_yr))
        cum += r.abatement_tco2_per_yr
    return tuple(out)


# --- one-enterprise-one-policy plans -------------------------------------------------------


@dataclass(frozen=True)
class PlanItem:
    """A measure in a plan with its timetable: in service from ``start`` (投运月份)."""

    result: MeasureResult
    start: Month

    @property
    def expected_saving_tce_per_month(self) -> float:
        return self.result.energy_saving_tce_per_yr / 12.0

    @property
    def expected_abatement_tco2_per_month(self) -> float:
        return self.result.abatement_tco2_per_yr / 12.0


@dataclass(frozen=True)
class EnterprisePlan:
    """一企一策: an enterprise's measures with timetable and the totals they promise."""

    enterprise_id: str
    items: tuple[PlanItem, ...]
    energy_saving_tce_per_yr: float
    abatement_tco2_per_yr: float
    capex_cny: float


def build_plan(enterprise_id: str, results: Sequence[MeasureResult], starts: Mapping[str, Month]) -> EnterprisePlan:
    """Build the plan of one enterprise; ``starts`` maps option id → in-service month."""
    items = []
    for r in results:
        if r.option.enterprise_id != enterprise_id:
            raise InputError(f"option {r.option.option_id} belongs to {r.option.enterprise_id}, not {enterprise_id}",
                             message_zh=f"方案 {r.option.option_id} 属于 {r.option.enterprise_id}，不属于 {enterprise_id}",
                             location=Location(record=r.option.option_id))
        if r.option.option_id not in starts:
            raise InputError(f"no start month for option {r.option.option_id}",
                             message_zh=f"方案 {r.option.option_id} 未设定投运月份",
                             location=Location(record=r.option.option_id))
        items.append(PlanItem(r, starts[r.option.option_id]))
    items.sort(key=lambda i: (i.start, i.result.option.option_id))
    return EnterprisePlan(
        enterprise_id, tuple(items),
        math.fsum(i.result.energy_saving_tce_per_yr for i in items),
        math.fsum(i.result.abatement_tco2_per_yr for i in items),
        math.fsum(i.result.capex_cny for i in items),
    )


class PlanStatus(StrEnum):
    """Status of a plan item (实施跟踪)."""

    NOT_STARTED = "not_started"
    ON_TRACK = "on_track"  # measured ≥ on_track_frac × expected
    BEHIND = "behind"
    NO_DATA = "no_data"  # a measured month is missing


@dataclass(frozen=True)
class PlanItemProgress:
    """Expected vs measured cumulative energy saving of one item [tce] through ``through``."""

    option_id: str
    through: Month
    months_in_service: int
    expected_saving_tce: float
    measured_saving_tce: float | None
    achievement_frac: float | None
    status: PlanStatus
    missing_months: tuple[Month, ...]


def track_plan(
    plan: EnterprisePlan,
    measured_saving_tce: Mapping[str, Mapping[Month, float | None]],
    through: Month,
    on_track_frac: float = 0.9,
) -> tuple[PlanItemProgress, ...]:
    """Compare measured monthly savings (M&V, sub-metering) with the plan, per item.

    ``measured_saving_tce``: option id → month → measured saving [tce] (``None`` = missing).
    """
    out = []
    for item in plan.items:
        oid = item.result.option.option_id
        if through < item.start:
            out.append(PlanItemProgress(oid, through, 0, 0.0, None, None, PlanStatus.NOT_STARTED, ()))
            continue
        months = month_range(item.start, through)
        expected = item.expected_saving_tce_per_month * len(months)
        series = measured_saving_tce.get(oid, {})
        missing = tuple(m for m in months if series.get(m) is None)
        if missing:
            out.append(PlanItemProgress(oid, through, len(months), expected, None, None, PlanStatus.NO_DATA, missing))
            continue
        measured = math.fsum(float(series[m] or 0.0) for m in months)
        ach = measured / expected if expected > 0 else None
        status = PlanStatus.ON_TRACK if ach is None or ach >= on_track_frac else PlanStatus.BEHIND
        out.append(PlanItemProgress(oid, through, len(months), expected, measured, ach, status, ()))
    return tuple(out)
