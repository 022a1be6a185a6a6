"""Comprehensive energy consumption 综合能耗 (GB/T 2589-2020《综合能耗计算通则》).

Pure functions over the activity ledger (:class:`~parkcarbon.core.activity.ActivityRecord`)
and the coefficients of :class:`~parkcarbon.core.factorset.AccountingFactors`. One *line* is one
carrier (variant) of one enterprise in one month; totals are correctly rounded sums
(:func:`math.fsum`) of lines, so they do not depend on the input order and a park total is
exactly the sum of its enterprises.

Counting rules (GB/T 2589-2020 ch. 4 计算原则, ch. 6 计算范围, ch. 8 折算为标准煤; clause
wording not retrieved — NOTES §1.1):

=====================  ==========================================================  ==========
carrier kind           counted quantity                                           coefficient
=====================  ==========================================================  ==========
electricity            PURCHASED + ONSITE_GENERATED − EXPORTED                     当量值 (or
                                                                                   等价值, see
                                                                                   ``basis``)
heat, steam            PURCHASED + ONSITE_GENERATED − EXPORTED                     Appendix A
fossil fuels, biomass  CONSUMED − NON_ENERGY_USE; non-energy use (原料用能) is       Appendix A
                       reported separately (``non_energy_use_tce``)
media 耗能工质           see :class:`MediaRule`                                      Appendix B
=====================  ==========================================================  ==========

* Exported energy (外供) is deducted; exports larger than the supply of a month raise
  :class:`~parkcarbon.errors.CalculationError`.
* ``ONSITE_GENERATED`` means generation from primary non-fuel sources (rooftop PV, wind);
  electricity or heat made on site from fuels already in the ledger must not be recorded as
  ``ONSITE_GENERATED`` (the fuel is counted; counting the product too would double count).
* PURCHASED / EXPORTED / ONSITE_GENERATED rows of a *fuel* are stock and transfer data: they
  are kept on the line for information and not counted (consumption is the CONSUMED row).
* Biomass is counted in energy (its CO2 is a memo item in :mod:`parkcarbon.core.ghg`).
* ``basis=PRIMARY_INPUT`` (等价值) changes electricity only (the yearly coal rate of thermal
  power supply, ``AccountingFactors.electricity_primary_input``); heat and steam keep their
  Appendix-A coefficient.
* A line with a missing record (``quantity is None``) has no value and is left out of the
  total, which is then partial: :attr:`EnergyResult.coverage` lists the missing records.
  An absent row (no record for a flow) means the flow did not occur.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from parkcarbon.core.activity import ActivityRecord, Flow
from parkcarbon.core.carriers import CarrierKind, carrier
from parkcarbon.core.checks import (
    Coverage,
    check_months_in_year,
    check_records,
    factor_value,
    missing_factor,
    sorted_records,
)
from parkcarbon.core.factorset import AccountingFactors, ConversionBasis
from parkcarbon.core.trace import FactorRef, TraceStep
from parkcarbon.errors import CalculationError, FactorDataError, Location
from parkcarbon.periods import Month

__all__ = [
    "COEFFICIENT_RANGES",
    "EnergyLine",
    "EnergyResult",
    "MediaRule",
    "coefficient_for",
    "comprehensive_energy",
]

METHOD = "GB/T 2589-2020"


class MediaRule(StrEnum):
    """How energy-consuming media (耗能工质: water, compressed air, oxygen…) are treated.

    * ``PURCHASED_COUNTED`` (default) — media bought from outside the boundary (外购) are counted
      at their Appendix-B coefficient (等价值: the energy used to make them elsewhere); media
      produced in-house (``ONSITE_GENERATED``) or their use (``CONSUMED``) are reported but not
      counted, because the electricity/fuel used to make them is already in the total; media
      supplied outside (``EXPORTED``) are deducted.
    * ``EXCLUDED`` — media are reported only, never counted (e.g. public-institution energy
      statistics, where water is a resource, not energy).
    """

    PURCHASED_COUNTED = "purchased_counted"
    EXCLUDED = "excluded"


# Plausible coefficient ranges [tce per canonical unit]; a ×1000 kgce/tce mix-up falls outside.
COEFFICIENT_RANGES: dict[tuple[CarrierKind, str], tuple[float, float]] = {
    (CarrierKind.ELECTRICITY, "kWh"): (1.0e-4, 1.5e-4),  # 当量值 0.1229 kgce/kWh
    (CarrierKind.HEAT, "GJ"): (0.02, 0.05),  # 0.03412 kgce/MJ
    (CarrierKind.HEAT, "t"): (0.05, 0.2),  # steam 0.0786–0.1314 kgce/kg
    (CarrierKind.FOSSIL_SOLID, "t"): (0.1, 2.5),
    (CarrierKind.FOSSIL_LIQUID, "t"): (0.1, 2.5),
    (CarrierKind.FOSSIL_GAS, "t"): (0.1, 2.5),
    (CarrierKind.FOSSIL_GAS, "m3"): (1.0e-4, 5.0e-3),  # producer gas 0.1786 … 1.33 kgce/m3
    (CarrierKind.BIOMASS, "t"): (0.1, 2.5),
    (CarrierKind.MEDIUM, "t"): (1.0e-5, 5.0e-3),  # fresh water 0.2571 kgce/t
    (CarrierKind.MEDIUM, "m3"): (1.0e-5, 1.0e-2),  # compressed air 0.04, oxygen 0.4 kgce/m3
}
PRIMARY_INPUT_RANGE = (2.0e-4, 4.5e-4)  # 等价值 [tce/kWh], yearly coal rate ~0.30 kgce/kWh


@dataclass(frozen=True)
class EnergyLine:
    """One carrier (variant) of one enterprise in one month.

    Attributes
    ----------
    enterprise_id, month, carrier, subtype : the key.
    unit : canonical unit of the quantities.
    quantities : ``(flow, quantity)`` for each recorded flow; ``None`` = missing.
    counted_quantity : quantity entering the total [unit] (negative only for media exports).
    coefficient : the factor used (``None`` when not needed and not available).
    energy_tce : counted energy [tce]; ``None`` when a record is missing; ``0.0`` when the
        line is reported only (``counted`` False).
    non_energy_use_tce : raw-material use of a fuel, reported separately [tce].
    exported_tce : deducted exports [tce].
    reported_tce : energy of a reported-only line (media produced in-house or excluded) [tce].
    counted : whether the line enters the total.
    note : how the line was treated.
    records, missing_records : record ids.
    """

    enterprise_id: str
    month: Month
    carrier: str
    subtype: str | None
    unit: str
    quantities: tuple[tuple[Flow, float | None], ...]
    counted_quantity: float | None
    coefficient: FactorRef | None
    energy_tce: float | None
    non_energy_use_tce: float | None
    exported_tce: float | None
    reported_tce: float | None
    counted: bool
    note: str
    records: tuple[str, ...]
    missing_records: tuple[str, ...]

    def quantity(self, flow: Flow) -> float | None:
        """Recorded quantity of ``flow`` [unit]; ``0.0`` if no row, ``None`` if missing."""
        for f, q in self.quantities:
            if f is flow:
                return q
        return 0.0

    @property
    def trace(self) -> TraceStep:
        value = self.energy_tce if self.energy_tce is not None else math.nan
        return TraceStep(
            method=f"{METHOD}: {self.note}",
            result=value,
            result_unit="tce",
            records=self.records,
            factors=(self.coefficient,) if self.coefficient is not None else (),
            note=f"{self.enterprise_id} {self.month} {self.carrier}"
            + (f":{self.subtype}" if self.subtype else "")
            + (" (missing: " + ", ".join(self.missing_records) + ")" if self.missing_records else ""),
            inputs=tuple((f"{f.value}_{self.unit}", q if q is not None else math.nan) for f, q in self.quantities),
        )


def _fsum_known(values: Iterable[float | None]) -> float:
    return math.fsum(v for v in values if v is not None)


@dataclass(frozen=True)
class EnergyResult:
    """Comprehensive energy consumption of the lines given.

    Attributes
    ----------
    basis : electricity conversion basis (当量值 / 等价值).
    media_rule : :class:`MediaRule` used.
    lines : per (enterprise, month, carrier, subtype), in canonical order.
    total_tce : Σ counted lines that have a value [tce] — partial when ``coverage`` is incomplete.
    non_energy_use_tce : raw-material use of fuels, not in ``total_tce`` [tce].
    exported_tce : exports deducted in ``total_tce`` [tce].
    reported_only_tce : media reported but not counted [tce].
    coverage : records used and missing.
    """

    basis: ConversionBasis
    media_rule: MediaRule
    lines: tuple[EnergyLine, ...]
    total_tce: float
    non_energy_use_tce: float
    exported_tce: float
    reported_only_tce: float
    coverage: Coverage

    @property
    def complete(self) -> bool:
        return self.coverage.complete

    @property
    def total_incl_non_energy_use_tce(self) -> float:
        """Total including raw-material use (GB/T 2589 counts it; 双控 policy deducts it) [tce]."""
        return math.fsum((self.total_tce, self.non_energy_use_tce))

    @property
    def trace(self) -> tuple[TraceStep, ...]:
        steps = [line.trace for line in self.lines]
        steps.append(
            TraceStep(
                method=f"{METHOD}: Σ counted lines ({self.basis.value})",
                result=self.total_tce,
                result_unit="tce",
                records=self.coverage.records,
                note="partial: missing " + ", ".join(self.coverage.missing_records)
                if self.coverage.missing_records
                else "complete",
            )
        )
        return tuple(steps)

    def by_carrier(self) -> dict[str, float | None]:
        """Counted energy per carrier [tce]; ``None`` when a line of that carrier is missing."""
        out: dict[str, list[float | None]] = {}
        for line in self.lines:
            if line.counted:
                out.setdefault(line.carrier, []).append(line.energy_tce)
        return {c: (None if any(v is None for v in vs) else math.fsum(v for v in vs if v is not None))
                for c, vs in sorted(out.items())}

    def structure_frac(self) -> dict[str, float] | None:
        """Energy structure 能源消费结构: share of each carrier in the total [fraction].

        ``None`` when the total is partial or zero (a share of a partial total would mislead).
        """
        if not self.complete or self.total_tce <= 0:
            return None
        return {c: (v or 0.0) / self.total_tce for c, v in self.by_carrier().items()}

    def subset(self, *, enterprise_id: str | None = None, months: Iterable[Month] | None = None) -> EnergyResult:
        """The same result restricted to one enterprise and/or some months (same summation)."""
        wanted = None if months is None else set(months)
        lines = [
            ln for ln in self.lines
            if (enterprise_id is None or ln.enterprise_id == enterprise_id)
            and (wanted is None or ln.month in wanted)
        ]
        return _result(self.basis, self.media_rule, lines)

    def months(self) -> tuple[Month, ...]:
        return tuple(sorted({ln.month for ln in self.lines}))

    def enterprises(self) -> tuple[str, ...]:
        return tuple(sorted({ln.enterprise_id for ln in self.lines}))


def _result(basis: ConversionBasis, rule: MediaRule, lines: Sequence[EnergyLine]) -> EnergyResult:
    counted = [ln for ln in lines if ln.counted]
    return EnergyResult(
        basis=basis,
        media_rule=rule,
        lines=tuple(lines),
        total_tce=_fsum_known(ln.energy_tce for ln in counted),
        non_energy_use_tce=_fsum_known(ln.non_energy_use_tce for ln in lines),
        exported_tce=_fsum_known(ln.exported_tce for ln in lines),
        reported_only_tce=_fsum_known(ln.reported_tce for ln in lines if not ln.counted),
        coverage=Coverage(
            records=tuple(sorted(r for ln in lines for r in ln.records)),
            missing_records=tuple(sorted(r for ln in lines for r in ln.missing_records)),
        ),
    )


def coefficient_for(
    carrier_code: str,
    subtype: str | None,
    factors: AccountingFactors,
    basis: ConversionBasis = ConversionBasis.CALORIFIC,
    *,
    required: bool = True,
    record: str | None = None,
) -> tuple[FactorRef | None, float | None, str]:
    """Standard-coal coefficient of a carrier [tce per canonical unit], checked for unit and range.

    Returns ``(ref, value, note)``; ``note`` says when the default variant stood in for a
    subtype. With ``required=False`` a missing coefficient gives ``(None, None, note)``.
    """
    c = carrier(carrier_code)
    required_unit = f"tce/{c.unit}"
    if c.kind is CarrierKind.ELECTRICITY and basis is ConversionBasis.PRIMARY_INPUT:
        ref = factors.electricity_primary_input
        if ref is None:
            if not required:
                return None, None, "no 等价值 coefficient"
            raise missing_factor(
                "electricity primary-input coefficient (等价值)", carrier_code, record=record,
                hint="set AccountingFactors.electricity_primary_input (yearly coal rate, tce/kWh) or use basis CALORIFIC",
                hint_zh="请设置 electricity_primary_input（当年供电煤耗，tce/kWh），或改用当量值",
            )
        low, high = PRIMARY_INPUT_RANGE
        return ref, factor_value(ref, required_unit, low, high, "等价值 coefficient"), "等价值"
    note = ""
    ref = None
    if subtype:
        ref = factors.coal_coefficients.get(f"{carrier_code}:{subtype}")
        if ref is None:
            note = f"no coefficient for {carrier_code}:{subtype}; default variant {carrier_code} used"
    if ref is None:
        ref = factors.coal_coefficients.get(carrier_code)
    if ref is None:
        if not required:
            return None, None, f"no standard-coal coefficient for {carrier_code}"
        raise missing_factor("standard-coal coefficient (折标准煤系数)", carrier_code, record=record)
    bounds = COEFFICIENT_RANGES.get((c.kind, c.unit))
    if bounds is None:
        raise FactorDataError(
            f"no plausible range is defined for standard-coal coefficients of {c.kind.value} carriers in {c.unit}",
            message_zh=f"未定义{c.kind.value}类品种（单位 {c.unit}）折标准煤系数的合理范围",
            hint="add the range to parkcarbon.core.energy.COEFFICIENT_RANGES with the new carrier",
            hint_zh="新增品种时请在 COEFFICIENT_RANGES 中补充合理范围",
            location=Location(record=ref.factor_id, value=ref.value),
        )
    low, high = bounds
    return ref, factor_value(ref, required_unit, low, high, f"standard-coal coefficient of {carrier_code}"), note


_SUPPLY_FLOWS = {Flow.PURCHASED, Flow.ONSITE_GENERATED, Flow.EXPORTED}
_FUEL_FLOWS = {Flow.CONSUMED, Flow.NON_ENERGY_USE}


def _bad_flow(rec: ActivityRecord, allowed: set[Flow]) -> CalculationError:
    names = ", ".join(sorted(f.value for f in allowed))
    return CalculationError(
        f"{rec.carrier} cannot be recorded with flow {rec.flow.value!r}",
        message_zh=f"{rec.carrier} 不能使用流向 {rec.flow.value!r} 填报",
        hint=f"use one of: {names}",
        hint_zh=f"请使用以下流向之一：{names}",
        location=Location(record=rec.record_id, value=rec.flow.value),
    )


def _line(
    key: tuple[str, Month, str, str | None],
    recs: Sequence[ActivityRecord],
    factors: AccountingFactors,
    basis: ConversionBasis,
    rule: MediaRule,
) -> EnergyLine:
    enterprise_id, month, code, subtype = key
    c = carrier(code)
    qty: dict[Flow, float | None] = {r.flow: r.quantity for r in recs}
    missing = tuple(sorted(r.record_id for r in recs if r.quantity is None))
    ids = tuple(sorted(r.record_id for r in recs))

    def q(flow: Flow) -> float | None:
        return qty.get(flow, 0.0)

    def known(*flows: Flow) -> bool:
        return all(q(f) is not None for f in flows)

    def val(flow: Flow) -> float:
        v = q(flow)
        return 0.0 if v is None else v

    kind = c.kind
    counted = True
    note: str
    counted_qty: float | None
    reported_qty: float | None = None
    if kind in (CarrierKind.ELECTRICITY, CarrierKind.HEAT):
        for r in recs:
            if r.flow not in _SUPPLY_FLOWS:
                raise _bad_flow(r, _SUPPLY_FLOWS)
        note = "(purchased + onsite_generated − exported) × coefficient"
        if known(*_SUPPLY_FLOWS):
            supply = math.fsum((val(Flow.PURCHASED), val(Flow.ONSITE_GENERATED)))
            if val(Flow.EXPORTED) > supply:
                raise CalculationError(
                    f"{enterprise_id} exports {val(Flow.EXPORTED):g} {c.unit} of {code} in {month} "
                    f"but its supply is only {supply:g} {c.unit}",
                    message_zh=f"{enterprise_id} {month} 外供{c.name_zh} {val(Flow.EXPORTED):g} {c.unit}，"
                    f"超过购入与自产之和 {supply:g} {c.unit}",
                    hint="check the exported and purchased quantities (units? months?)",
                    hint_zh="请核对外供量与购入量（单位、月份是否一致）",
                    location=Location(record=",".join(ids), value=val(Flow.EXPORTED)),
                )
            counted_qty = supply - val(Flow.EXPORTED)
        else:
            counted_qty = None
    elif kind is CarrierKind.MEDIUM:
        if Flow.NON_ENERGY_USE in qty:
            raise _bad_flow(next(r for r in recs if r.flow is Flow.NON_ENERGY_USE),
                            {Flow.PURCHASED, Flow.ONSITE_GENERATED, Flow.CONSUMED, Flow.EXPORTED})
        in_house = Flow.CONSUMED if Flow.CONSUMED in qty else Flow.ONSITE_GENERATED
        if rule is MediaRule.EXCLUDED:
            counted, counted_qty = False, 0.0
            note = "medium reported only (media rule: excluded)"
            if Flow.CONSUMED in qty:
                reported_qty = q(Flow.CONSUMED)
            elif known(*_SUPPLY_FLOWS):
                reported_qty = math.fsum((val(Flow.PURCHASED), val(Flow.ONSITE_GENERATED))) - val(Flow.EXPORTED)
        elif Flow.PURCHASED in qty or Flow.EXPORTED in qty:
            if known(*_SUPPLY_FLOWS) and val(Flow.EXPORTED) > math.fsum(
                (val(Flow.PURCHASED), val(Flow.ONSITE_GENERATED))
            ):
                raise CalculationError(
                    f"{enterprise_id} exports more {code} in {month} than it buys and produces",
                    message_zh=f"{enterprise_id} {month} 外供{c.name_zh}超过外购与自产之和",
                    hint="check the exported, purchased and produced quantities",
                    hint_zh="请核对外供、外购与自产量",
                    location=Location(record=",".join(ids), value=val(Flow.EXPORTED)),
                )
            note = "(purchased − exported) × coefficient (等价值); in-house media not counted"
            counted_qty = val(Flow.PURCHASED) - val(Flow.EXPORTED) if known(Flow.PURCHASED, Flow.EXPORTED) else None
        else:
            counted, counted_qty = False, 0.0
            note = "medium produced in-house: reported only (its energy is in electricity/fuels)"
            reported_qty = q(in_house)
    else:  # fossil fuels and biomass
        note = "(consumed − non_energy_use) × coefficient"
        ignored = sorted(f.value for f in qty if f not in _FUEL_FLOWS)
        if ignored:
            note += f"; {', '.join(ignored)} kept for information, not counted"
        if known(Flow.CONSUMED, Flow.NON_ENERGY_USE):
            if val(Flow.NON_ENERGY_USE) > val(Flow.CONSUMED):
                raise CalculationError(
                    f"{enterprise_id} non-energy use of {code} in {month} ({val(Flow.NON_ENERGY_USE):g} "
                    f"{c.unit}) exceeds its consumption ({val(Flow.CONSUMED):g} {c.unit})",
                    message_zh=f"{enterprise_id} {month} {c.name_zh}的非能源用途量超过消费量",
                    hint="non-energy use is the part of consumption used as raw material",
                    hint_zh="非能源用途量是消费量中用作原料的部分，不能大于消费量",
                    location=Location(record=",".join(ids), value=val(Flow.NON_ENERGY_USE)),
                )
            counted_qty = val(Flow.CONSUMED) - val(Flow.NON_ENERGY_USE)
        else:
            counted_qty = None

    ref, coef, coef_note = coefficient_for(
        code, subtype, factors, basis, required=counted, record=ids[0] if ids else None
    )
    if ref is not None and coef_note and coef_note != "等价值":
        note += f"; {coef_note}"
    if not counted and not reported_qty:
        ref, coef = None, None  # nothing to convert: do not cite a factor that was not used

    def tce(x: float | None) -> float | None:
        return None if x is None or coef is None else x * coef

    return EnergyLine(
        enterprise_id=enterprise_id,
        month=month,
        carrier=code,
        subtype=subtype,
        unit=c.unit,
        quantities=tuple(sorted(qty.items(), key=lambda p: p[0].value)),
        counted_quantity=counted_qty,
        coefficient=ref,
        energy_tce=tce(counted_qty) if counted else 0.0,
        non_energy_use_tce=tce(q(Flow.NON_ENERGY_USE)) if Flow.NON_ENERGY_USE in qty else None,
        exported_tce=tce(q(Flow.EXPORTED)) if Flow.EXPORTED in qty and counted else None,
        reported_tce=None if counted else tce(reported_qty),
        counted=counted,
        note=note,
        records=ids,
        missing_records=missing,
    )


def comprehensive_energy(
    records: Iterable[ActivityRecord],
    factors: AccountingFactors,
    *,
    basis: ConversionBasis = ConversionBasis.CALORIFIC,
    media_rule: MediaRule = MediaRule.PURCHASED_COUNTED,
) -> EnergyResult:
    """Comprehensive energy consumption 综合能耗 of the given ledger rows [tce].

    Parameters
    ----------
    records : activity records (any enterprises and months of ``factors.year``).
    factors : coefficients; ``coal_coefficients`` in tce per canonical unit.
    basis : electricity at 当量值 (``CALORIFIC``, default) or 等价值 (``PRIMARY_INPUT``).
    media_rule : treatment of 耗能工质, see :class:`MediaRule`.

    Raises
    ------
    ConflictError : duplicate record ids or natural keys.
    CalculationError : exports above supply, non-energy use above consumption, wrong flow,
        activity of another year than ``factors.year``.
    FactorNotFoundError : a counted carrier without a coefficient.
    UnitError, FactorDataError : a coefficient in the wrong unit or out of range.
    """
    recs = sorted_records(records)
    check_records(recs)
    check_months_in_year((r.month for r in recs), factors.year, "activity data")
    groups: dict[tuple[str, Month, str, str | None], list[ActivityRecord]] = {}
    for r in recs:
        groups.setdefault((r.enterprise_id, r.month, r.carrier, r.subtype), []).append(r)
    lines = [
        _line(key, grp, factors, basis, media_rule)
        for key, grp in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], kv[0][3] or ""))
    ]
    per_month: dict[tuple[str, Month], list[float | None]] = {}
    for ln in lines:
        if ln.counted:
            per_month.setdefault((ln.enterprise_id, ln.month), []).append(ln.energy_tce)
    for (ent, m), values in per_month.items():
        total = _fsum_known(values)
        if total < 0:
            raise CalculationError(
                f"{ent} has a negative comprehensive energy consumption in {m} ({total:g} tce)",
                message_zh=f"{ent} {m} 综合能耗为负（{total:g} tce）",
                hint="exports of media exceed the energy the enterprise used: check the exported rows",
                hint_zh="外供耗能工质超过企业用能，请核对外供数据",
            )
    return _result(basis, media_rule, lines)
