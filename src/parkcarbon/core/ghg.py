"""Greenhouse-gas emissions of an industrial enterprise (GB/T 32150-2015《工业企业温室气体排放核算和报告通则》).

Implements NOTES §2.2 exactly::

    E_total = E_combustion + E_process + E_purchased_elec + E_purchased_heat
              − E_exported_elec − E_exported_heat

    E_combustion,i = FC_i × NCV_i × CC_i × OF_i × 44/12        FC_i = consumed − non-energy use
    E_process,k    = M_k × EF_k × F_k                          carbonates, F_k = calcination fraction
    E_elec         = AD_elec [MWh] × EF_grid [tCO2/MWh]
    E_heat         = AD_heat [GJ] × EF_heat [tCO2/GJ]          steam: t × enthalpy [GJ/t] × EF_heat

Rules and documented decisions:

* Scope 1 = combustion + process; scope 2 = purchased electricity + purchased heat/steam
  (gross, location-based grid factor); exported electricity/heat is a separate deduction
  (GB/T 32150-2015 source "输出的电力、热力对应的排放", NOTES §2.1), so
  ``total = scope1 + scope2 − exported``.
  Market-based scope 2 is in :mod:`parkcarbon.core.scope2`.
* Biomass combustion CO2 is a memo item (``biomass_co2_tco2``), never in the total.
* Non-energy use (原料用途) is excluded from combustion; its process emissions, if any, must be
  entered as process activity.
* ``ONSITE_GENERATED`` electricity/heat has no emission line: on-site PV is zero and fuel-fired
  generation is already in combustion.
* Energy-consuming media (耗能工质) have no direct line: their emissions are those of the
  electricity/fuel used to make them (in-house) or outside the boundary (purchased).
* CO2 only (GWP 1); CH4/N2O/F-gases are not yet covered.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from parkcarbon.core.activity import ActivityRecord, Flow, Quality
from parkcarbon.core.carriers import CarrierKind, carrier
from parkcarbon.core.checks import (
    Coverage,
    check_months_in_year,
    check_records,
    factor_value,
    missing_factor,
    sorted_records,
)
from parkcarbon.core.factorset import AccountingFactors, FuelParameters
from parkcarbon.core.trace import FactorRef, TraceStep
from parkcarbon.errors import CalculationError, ConflictError, FactorDataError, Location, QuantityError
from parkcarbon.periods import Month
from parkcarbon.units import CO2_PER_C, conversion_factor

__all__ = [
    "CarbonateInput",
    "EmissionLine",
    "GhgResult",
    "SourceCategory",
    "combustion_emissions_tco2",
    "ghg_emissions",
]

METHOD = "GB/T 32150-2015"
MWH_PER_KWH = conversion_factor("kWh", "MWh")

# plausible ranges, in the units fixed by core.factorset
NCV_RANGES = {"t": (5.0, 60.0), "m3": (0.002, 0.06)}  # [GJ/t], [GJ/m3]
CARBON_CONTENT_RANGE = (0.005, 0.12)  # [tC/GJ]
OXIDATION_RANGE = (0.5, 1.0)  # [fraction]
GRID_EF_RANGE = (0.0, 1.5)  # [tCO2/MWh]
HEAT_EF_RANGE = (0.0, 0.3)  # [tCO2/GJ]
STEAM_ENTHALPY_RANGE = (1.5, 4.0)  # [GJ/t]
CARBONATE_EF_RANGE = (0.1, 0.7)  # [tCO2/t]


class SourceCategory(StrEnum):
    """Emission source categories of GB/T 32150-2015."""

    FUEL_COMBUSTION = "fuel_combustion"  # 燃料燃烧排放, scope 1
    PROCESS = "process"  # 工业生产过程排放 (carbonates), scope 1
    PURCHASED_ELECTRICITY = "purchased_electricity"  # 购入电力, scope 2
    PURCHASED_HEAT = "purchased_heat"  # 购入热力/蒸汽, scope 2
    EXPORTED_ELECTRICITY = "exported_electricity"  # 输出电力, deducted
    EXPORTED_HEAT = "exported_heat"  # 输出热力, deducted
    BIOMASS_COMBUSTION = "biomass_combustion"  # 生物质燃烧, memo only

    @property
    def scope(self) -> int | None:
        """GHG Protocol scope of the category; ``None`` for deductions and memo items."""
        return {
            SourceCategory.FUEL_COMBUSTION: 1,
            SourceCategory.PROCESS: 1,
            SourceCategory.PURCHASED_ELECTRICITY: 2,
            SourceCategory.PURCHASED_HEAT: 2,
        }.get(self)


@dataclass(frozen=True)
class CarbonateInput:
    """Carbonate consumed in a process (碳酸盐分解), e.g. limestone in a lime kiln.

    Attributes
    ----------
    record_id, enterprise_id, month : as for activity records.
    mineral : key of ``AccountingFactors.carbonate_factors`` (e.g. ``CaCO3``).
    quantity_t : mass of carbonate [t]; ``None`` when missing (``quality`` MISSING).
    calcination_frac : calcined fraction F_k [fraction, 0..1]; stated explicitly (the
        guideline default 1 is UNVERIFIED, NOTES §2.2).
    """

    record_id: str
    enterprise_id: str
    month: Month
    mineral: str
    quantity_t: float | None
    calcination_frac: float
    source: str = ""
    quality: Quality = Quality.MEASURED

    def __post_init__(self) -> None:
        loc = Location(record=self.record_id, value=self.quantity_t)
        q = self.quantity_t
        if q is None:
            if self.quality is not Quality.MISSING:
                raise QuantityError("a carbonate input without a quantity must be flagged 'missing'",
                                    message_zh="无数量的碳酸盐记录必须标记为“缺失”", location=loc)
        elif isinstance(q, bool) or not isinstance(q, int | float) or not math.isfinite(q) or q < 0:
            raise QuantityError(f"carbonate quantity must be a finite number ≥ 0, got {q!r}",
                                message_zh=f"碳酸盐用量必须是非负有限数值，实际为 {q!r}", location=loc)
        f = self.calcination_frac
        if isinstance(f, bool) or not isinstance(f, int | float) or not 0.0 <= f <= 1.0:
            raise QuantityError(
                f"calcination fraction must be within 0..1, got {f!r}",
                message_zh=f"煅烧比例必须在 0 到 1 之间，实际为 {f!r}",
                hint="give a fraction (0.98), not a percentage (98)",
                hint_zh="请填写小数（如 0.98），不要填写百分数（98）",
                location=Location(record=self.record_id, value=f),
            )


@dataclass(frozen=True)
class EmissionLine:
    """One emission source of one enterprise in one month.

    ``emissions_tco2`` is positive for every category; deductions (exports) enter totals with
    a minus sign (:attr:`signed_tco2`). ``None`` when an activity record is missing.
    """

    enterprise_id: str
    month: Month
    category: SourceCategory
    source_key: str
    activity: float | None
    activity_unit: str
    emission_factor: float | None
    emission_factor_unit: str
    emissions_tco2: float | None
    factors: tuple[FactorRef, ...]
    records: tuple[str, ...]
    missing_records: tuple[str, ...]
    formula: str

    @property
    def scope(self) -> int | None:
        return self.category.scope

    @property
    def signed_tco2(self) -> float | None:
        if self.emissions_tco2 is None:
            return None
        deducted = self.category in (SourceCategory.EXPORTED_ELECTRICITY, SourceCategory.EXPORTED_HEAT)
        return -self.emissions_tco2 if deducted else self.emissions_tco2

    @property
    def trace(self) -> TraceStep:
        return TraceStep(
            method=f"{METHOD} {self.category.value}: {self.formula}",
            result=self.emissions_tco2 if self.emissions_tco2 is not None else math.nan,
            result_unit="tCO2",
            records=self.records,
            factors=self.factors,
            note=f"{self.enterprise_id} {self.month} {self.source_key}"
            + (" (missing: " + ", ".join(self.missing_records) + ")" if self.missing_records else ""),
            inputs=(
                (f"activity_{self.activity_unit}", self.activity if self.activity is not None else math.nan),
                (f"ef_{self.emission_factor_unit}",
                 self.emission_factor if self.emission_factor is not None else math.nan),
            ),
        )


def _sum(lines: Iterable[EmissionLine], *cats: SourceCategory) -> float:
    return math.fsum(ln.emissions_tco2 for ln in lines if ln.category in cats and ln.emissions_tco2 is not None)


@dataclass(frozen=True)
class GhgResult:
    """Emissions of the given activity, by source line, with the GB/T 32150 totals [tCO2].

    ``total_tco2 = scope1_tco2 + scope2_tco2 − exported_tco2``; biomass CO2 is a memo item.
    Totals are partial when ``coverage`` is incomplete (lines with missing data have no value).
    """

    lines: tuple[EmissionLine, ...]
    coverage: Coverage

    @property
    def combustion_tco2(self) -> float:
        return _sum(self.lines, SourceCategory.FUEL_COMBUSTION)

    @property
    def process_tco2(self) -> float:
        return _sum(self.lines, SourceCategory.PROCESS)

    @property
    def scope1_tco2(self) -> float:
        return _sum(self.lines, SourceCategory.FUEL_COMBUSTION, SourceCategory.PROCESS)

    @property
    def purchased_electricity_tco2(self) -> float:
        return _sum(self.lines, SourceCategory.PURCHASED_ELECTRICITY)

    @property
    def purchased_heat_tco2(self) -> float:
        return _sum(self.lines, SourceCategory.PURCHASED_HEAT)

    @property
    def scope2_tco2(self) -> float:
        """Scope 2, location-based, gross of exports [tCO2]."""
        return _sum(self.lines, SourceCategory.PURCHASED_ELECTRICITY, SourceCategory.PURCHASED_HEAT)

    @property
    def exported_tco2(self) -> float:
        return _sum(self.lines, SourceCategory.EXPORTED_ELECTRICITY, SourceCategory.EXPORTED_HEAT)

    @property
    def total_tco2(self) -> float:
        """GB/T 32150 total: scope 1 + scope 2 − exported electricity and heat [tCO2]."""
        return math.fsum((self.scope1_tco2, self.scope2_tco2, -self.exported_tco2))

    @property
    def energy_related_tco2(self) -> float:
        """Total without process emissions (combustion + net electricity/heat) [tCO2]."""
        return math.fsum((self.combustion_tco2, self.scope2_tco2, -self.exported_tco2))

    @property
    def biomass_co2_tco2(self) -> float:
        """Biomass combustion CO2, reported separately, not in the total [tCO2]."""
        return _sum(self.lines, SourceCategory.BIOMASS_COMBUSTION)

    @property
    def complete(self) -> bool:
        return self.coverage.complete

    @property
    def trace(self) -> tuple[TraceStep, ...]:
        return (*(ln.trace for ln in self.lines), TraceStep(
            method=f"{METHOD}: scope1 + scope2 − exported",
            result=self.total_tco2,
            result_unit="tCO2",
            records=self.coverage.records,
            note="complete" if self.complete else "partial: missing " + ", ".join(self.coverage.missing_records),
        ))

    def by_category(self) -> dict[SourceCategory, float]:
        return {c: _sum(self.lines, c) for c in SourceCategory if any(ln.category is c for ln in self.lines)}

    def subset(self, *, enterprise_id: str | None = None, months: Iterable[Month] | None = None) -> GhgResult:
        wanted = None if months is None else set(months)
        lines = tuple(
            ln for ln in self.lines
            if (enterprise_id is None or ln.enterprise_id == enterprise_id)
            and (wanted is None or ln.month in wanted)
        )
        return _result(lines)


def _result(lines: Sequence[EmissionLine]) -> GhgResult:
    return GhgResult(
        lines=tuple(lines),
        coverage=Coverage(
            records=tuple(sorted({r for ln in lines for r in ln.records})),
            missing_records=tuple(sorted({r for ln in lines for r in ln.missing_records})),
        ),
    )


def combustion_emissions_tco2(
    fuel_consumed: float, ncv_gj_per_unit: float, carbon_content_tc_per_gj: float, oxidation_frac: float
) -> float:
    """FC × NCV × CC × OF × 44/12 [tCO2] (GB/T 32150-2015; NOTES §2.2).

    fuel_consumed [t or m3], ncv [GJ/t or GJ/m3], carbon content [tC/GJ], oxidation [fraction].
    """
    return fuel_consumed * ncv_gj_per_unit * carbon_content_tc_per_gj * oxidation_frac * CO2_PER_C


def _fuel_parameters(code: str, subtype: str | None, factors: AccountingFactors,
                     record: str) -> tuple[FuelParameters, float, float, float]:
    params = factors.fuels.get(f"{code}:{subtype}") if subtype else None
    if params is None:
        params = factors.fuels.get(code)
    if params is None:
        raise missing_factor("fuel parameters (NCV, carbon content, oxidation)", code, record=record)
    unit = carrier(code).unit
    bounds = NCV_RANGES.get(unit)
    if bounds is None:
        raise FactorDataError(
            f"no plausible NCV range is defined for fuels measured in {unit}",
            message_zh=f"未定义以 {unit} 计量的燃料低位发热量合理范围",
            hint="add the range to parkcarbon.core.ghg.NCV_RANGES with the new carrier",
            hint_zh="新增品种时请在 NCV_RANGES 中补充合理范围",
            location=Location(record=params.ncv.factor_id, value=params.ncv.value),
        )
    low, high = bounds
    ncv = factor_value(params.ncv, f"GJ/{unit}", low, high, f"net calorific value of {code}")
    cc = factor_value(params.carbon_content, "tC/GJ", *CARBON_CONTENT_RANGE, f"carbon content of {code}")
    of = factor_value(params.oxidation, "1", *OXIDATION_RANGE, f"oxidation rate of {code}")
    return params, ncv, cc, of


def _records_line(
    key: tuple[str, Month, str, str | None],
    recs: Sequence[ActivityRecord],
    factors: AccountingFactors,
) -> list[EmissionLine]:
    enterprise_id, month, code, subtype = key
    c = carrier(code)
    qty: dict[Flow, float | None] = {r.flow: r.quantity for r in recs}
    rec_of: dict[Flow, str] = {r.flow: r.record_id for r in recs}
    source_key = f"{code}:{subtype}" if subtype else code

    def line(category: SourceCategory, flows: Sequence[Flow], activity: float | None, unit: str,
             ef: float, ef_unit: str, refs: tuple[FactorRef, ...], formula: str) -> EmissionLine:
        ids = tuple(sorted(rec_of[f] for f in flows if f in rec_of))
        missing = tuple(sorted(rec_of[f] for f in flows if f in rec_of and qty[f] is None))
        return EmissionLine(
            enterprise_id=enterprise_id, month=month, category=category, source_key=source_key,
            activity=activity, activity_unit=unit, emission_factor=ef, emission_factor_unit=ef_unit,
            emissions_tco2=None if activity is None else activity * ef,
            factors=refs, records=ids, missing_records=missing, formula=formula,
        )

    out: list[EmissionLine] = []
    if c.kind is CarrierKind.MEDIUM:
        return out
    if c.kind is CarrierKind.ELECTRICITY:
        ef = factor_value(factors.grid_ef_location, "tCO2/MWh", *GRID_EF_RANGE, "grid emission factor")
        for flow, cat in ((Flow.PURCHASED, SourceCategory.PURCHASED_ELECTRICITY),
                          (Flow.EXPORTED, SourceCategory.EXPORTED_ELECTRICITY)):
            if flow in qty:
                v = qty[flow]
                out.append(line(cat, (flow,), None if v is None else v * MWH_PER_KWH, "MWh", ef,
                                "tCO2/MWh", (factors.grid_ef_location,), "AD [MWh] × EF_grid [tCO2/MWh]"))
        return out
    if c.kind is CarrierKind.HEAT:
        if not (Flow.PURCHASED in qty or Flow.EXPORTED in qty):
            return out
        hef = factor_value(factors.heat_ef, "tCO2/GJ", *HEAT_EF_RANGE, "heat emission factor")
        refs: tuple[FactorRef, ...]
        if c.unit == "GJ":
            ef, ef_unit, refs = hef, "tCO2/GJ", (factors.heat_ef,)
            formula = "AD [GJ] × EF_heat [tCO2/GJ]"
        else:  # steam in t
            enthalpy = factor_value(factors.steam_enthalpy, "GJ/t", *STEAM_ENTHALPY_RANGE, "steam enthalpy")
            ef, ef_unit, refs = enthalpy * hef, "tCO2/t", (factors.steam_enthalpy, factors.heat_ef)
            formula = "steam [t] × enthalpy [GJ/t] × EF_heat [tCO2/GJ]"
        for flow, cat in ((Flow.PURCHASED, SourceCategory.PURCHASED_HEAT),
                          (Flow.EXPORTED, SourceCategory.EXPORTED_HEAT)):
            if flow in qty:
                out.append(line(cat, (flow,), qty[flow], c.unit, ef, ef_unit, refs, formula))
        return out
    # fuels and biomass: combustion of consumed − non-energy use
    if Flow.CONSUMED not in qty and Flow.NON_ENERGY_USE not in qty:
        return out
    first = min(rec_of.values())
    params, ncv, cc, of = _fuel_parameters(code, subtype, factors, first)
    consumed, non_energy = qty.get(Flow.CONSUMED, 0.0), qty.get(Flow.NON_ENERGY_USE, 0.0)
    fc: float | None = None
    if consumed is not None and non_energy is not None:
        if non_energy > consumed:
            raise CalculationError(
                f"{enterprise_id} non-energy use of {code} in {month} exceeds its consumption",
                message_zh=f"{enterprise_id} {month} {c.name_zh}的非能源用途量超过消费量",
                location=Location(record=first, value=non_energy),
            )
        fc = consumed - non_energy
    cat = SourceCategory.BIOMASS_COMBUSTION if c.kind is CarrierKind.BIOMASS else SourceCategory.FUEL_COMBUSTION
    out.append(line(
        cat, (Flow.CONSUMED, Flow.NON_ENERGY_USE), fc, c.unit,
        combustion_emissions_tco2(1.0, ncv, cc, of), f"tCO2/{c.unit}",
        (params.ncv, params.carbon_content, params.oxidation),
        "(consumed − non_energy_use) × NCV × CC × OF × 44/12",
    ))
    return out


def _carbonate_line(item: CarbonateInput, factors: AccountingFactors) -> EmissionLine:
    ref = factors.carbonate_factors.get(item.mineral)
    if ref is None:
        raise missing_factor("carbonate emission factor", item.mineral, record=item.record_id)
    ef = factor_value(ref, "tCO2/t", *CARBONATE_EF_RANGE, f"emission factor of {item.mineral}")
    activity = None if item.quantity_t is None else item.quantity_t * item.calcination_frac
    return EmissionLine(
        enterprise_id=item.enterprise_id, month=item.month, category=SourceCategory.PROCESS,
        source_key=item.mineral, activity=activity, activity_unit="t", emission_factor=ef,
        emission_factor_unit="tCO2/t", emissions_tco2=None if activity is None else activity * ef,
        factors=(ref,), records=(item.record_id,),
        missing_records=(item.record_id,) if item.quantity_t is None else (),
        formula=f"M [t] × F ({item.calcination_frac:g}) × EF [tCO2/t]",
    )


def ghg_emissions(
    records: Iterable[ActivityRecord],
    factors: AccountingFactors,
    *,
    carbonates: Iterable[CarbonateInput] = (),
) -> GhgResult:
    """GB/T 32150-2015 CO2 emissions of the given ledger rows and carbonate inputs.

    Raises
    ------
    ConflictError : duplicate records (ledger or carbonate inputs).
    FactorNotFoundError : a fuel without parameters, a carbonate without a factor.
    UnitError, FactorDataError : a factor in the wrong unit or out of range.
    CalculationError : non-energy use above consumption; activity of another year.
    """
    recs = sorted_records(records)
    check_records(recs)
    items = sorted(carbonates, key=lambda i: (i.enterprise_id, i.month, i.mineral, i.record_id))
    seen: dict[object, str] = {}
    for i in items:
        for k in (("id", i.record_id), ("key", i.enterprise_id, i.month, i.mineral)):
            if k in seen:
                raise ConflictError(
                    f"carbonate inputs {seen[k]!r} and {i.record_id!r} duplicate each other",
                    message_zh=f"碳酸盐记录 {seen[k]!r} 与 {i.record_id!r} 重复",
                    hint="keep one row per enterprise, month and mineral",
                    hint_zh="每个企业、月份、矿物只保留一行",
                    location=Location(record=i.record_id),
                )
            seen[k] = i.record_id
    check_months_in_year([*(r.month for r in recs), *(i.month for i in items)], factors.year, "activity data")
    groups: dict[tuple[str, Month, str, str | None], list[ActivityRecord]] = {}
    for r in recs:
        groups.setdefault((r.enterprise_id, r.month, r.carrier, r.subtype), []).append(r)
    lines: list[EmissionLine] = []
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[2], k[3] or "")):
        lines.extend(_records_line(key, groups[key], factors))
    lines.extend(_carbonate_line(i, factors) for i in items)
    lines.sort(key=lambda ln: (ln.enterprise_id, ln.month, ln.category.value, ln.source_key))
    return _result(lines)
