"""Energy-carbon inventories (能源与碳排放清单) of an enterprise and of a park.

An enterprise inventory puts together, for one accounting year (or some of its months):

* comprehensive energy consumption (:mod:`parkcarbon.core.energy`, GB/T 2589-2020);
* GHG emissions (:mod:`parkcarbon.core.ghg`, GB/T 32150-2015), scope 1 and 2;
* scope 2 location- and market-based (:mod:`parkcarbon.core.scope2`); purchased heat is the
  same under both methods and is added to both;
* indicators (:mod:`parkcarbon.core.indicators`).

A **park inventory is exactly the sum of its enterprises**: each enterprise is computed by
:func:`enterprise_inventory` (the same code path), and every additive park total is the
correctly rounded sum (:func:`math.fsum`) of the enterprise totals, so it does not depend on the
order of enterprises or records. Park indicators are ratios of park totals (never sums of
ratios). Intra-park transfers cancel: an enterprise's export is deducted where it is counted as
another's purchase. Certificates are checked for double claims across the whole park.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields

from parkcarbon.core.activity import ActivityRecord
from parkcarbon.core.checks import Coverage, check_months_in_year, check_records
from parkcarbon.core.energy import EnergyResult, MediaRule, comprehensive_energy
from parkcarbon.core.factorset import AccountingFactors, ConversionBasis
from parkcarbon.core.ghg import CarbonateInput, GhgResult, ghg_emissions
from parkcarbon.core.indicators import (
    Change,
    EconomicData,
    Indicator,
    energy_shares,
    ratio,
    year_on_year,
)
from parkcarbon.core.scope2 import Instruments, MarketMethod, Scope2Result, check_instruments, scope2_dual
from parkcarbon.core.trace import TraceStep
from parkcarbon.errors import CalculationError
from parkcarbon.periods import Month

__all__ = [
    "Inventory",
    "InventoryOptions",
    "InventoryTotals",
    "ParkInventory",
    "compare_inventories",
    "enterprise_inventory",
    "park_inventory",
]


@dataclass(frozen=True)
class InventoryOptions:
    """Method choices of an inventory run (all explicit, all recorded in the result).

    market_method : scope 2 market-based method (:class:`~parkcarbon.core.scope2.MarketMethod`).
    basis : electricity conversion basis for 综合能耗 (当量值 by default).
    media_rule : treatment of 耗能工质.
    grid_non_fossil_share_frac, grid_renewable_share_frac : optional share of non-fossil /
        renewable power in grid electricity for the energy shares (``None``: counted as fossil).
    """

    market_method: MarketMethod
    basis: ConversionBasis = ConversionBasis.CALORIFIC
    media_rule: MediaRule = MediaRule.PURCHASED_COUNTED
    grid_non_fossil_share_frac: float | None = None
    grid_renewable_share_frac: float | None = None


@dataclass(frozen=True)
class InventoryTotals:
    """Additive totals of an inventory (a park's are the fsum of its enterprises').

    Energy [tce], emissions [tCO2], electricity [kWh]. ``complete`` is False when any input
    record was missing (totals are then partial: sums of the lines with data).
    """

    energy_tce: float
    non_energy_use_tce: float
    non_fossil_tce: float | None
    renewable_tce: float | None
    clean_tce: float | None
    combustion_tco2: float
    process_tco2: float
    scope1_tco2: float
    purchased_electricity_location_tco2: float
    purchased_electricity_market_tco2: float
    purchased_heat_tco2: float
    scope2_location_tco2: float
    scope2_market_tco2: float
    exported_tco2: float
    total_location_tco2: float
    total_market_tco2: float
    energy_related_location_tco2: float
    energy_related_market_tco2: float
    biomass_co2_tco2: float
    purchased_electricity_kwh: float
    green_electricity_kwh: float
    excess_claims_kwh: float
    complete: bool

    @staticmethod
    def sum(parts: Iterable[InventoryTotals]) -> InventoryTotals:
        """Field-wise correctly rounded sum; ``None`` in any part → ``None``."""
        items = list(parts)
        values: dict[str, object] = {}
        for f in fields(InventoryTotals):
            if f.name == "complete":
                values[f.name] = all(p.complete for p in items)
                continue
            xs = [getattr(p, f.name) for p in items]
            values[f.name] = None if any(x is None for x in xs) else math.fsum(xs)
        return InventoryTotals(**values)  # type: ignore[arg-type]


def _indicators(t: InventoryTotals, economic: EconomicData, energy_total_complete: bool) -> tuple[Indicator, ...]:
    comp = economic.comparable_added_value_10k_cny
    av_reason = economic.missing_reason()
    ok = t.complete and energy_total_complete

    def per_av(name: str, value: float, unit: str, label: str) -> Indicator:
        if comp is None:
            return Indicator(name, None, unit, av_reason)
        return ratio(name, value, comp, unit, numerator_label=label,
                     denominator_label="added_value_comparable_10k_cny", complete=ok)

    out = [
        per_av("energy_intensity_added_value", t.energy_tce, "tce/10k CNY", "energy_tce"),
        ratio("energy_intensity_added_value_current_prices", t.energy_tce, economic.added_value_10k_cny,
              "tce/10k CNY", numerator_label="energy_tce", denominator_label="added_value_10k_cny", complete=ok),
        per_av("carbon_intensity_added_value_location", t.total_location_tco2, "tCO2/10k CNY",
               "total_location_tco2"),
        per_av("carbon_intensity_added_value_market", t.total_market_tco2, "tCO2/10k CNY", "total_market_tco2"),
        ratio("carbon_per_energy_location", t.energy_related_location_tco2, t.energy_tce, "tCO2/tce",
              numerator_label="energy_related_location_tco2", denominator_label="energy_tce", complete=ok),
        ratio("carbon_per_energy_market", t.energy_related_market_tco2, t.energy_tce, "tCO2/tce",
              numerator_label="energy_related_market_tco2", denominator_label="energy_tce", complete=ok),
        ratio("non_fossil_share", t.non_fossil_tce, t.energy_tce, "fraction",
              numerator_label="non_fossil_tce", denominator_label="energy_tce", complete=ok),
        ratio("renewable_share", t.renewable_tce, t.energy_tce, "fraction",
              numerator_label="renewable_tce", denominator_label="energy_tce", complete=ok),
        ratio("clean_share", t.clean_tce, t.energy_tce, "fraction",
              numerator_label="clean_tce", denominator_label="energy_tce", complete=ok),
    ]
    for product, qty, unit in economic.outputs:
        out.append(ratio(f"energy_per_unit_product:{product}", t.energy_tce, qty, f"tce/{unit}",
                         numerator_label="energy_tce", denominator_label=f"output_{unit}", complete=ok))
        out.append(ratio(f"carbon_per_unit_product_location:{product}", t.total_location_tco2, qty,
                         f"tCO2/{unit}", numerator_label="total_location_tco2",
                         denominator_label=f"output_{unit}", complete=ok))
    return tuple(out)


@dataclass(frozen=True)
class Inventory:
    """Inventory of one enterprise for the months covered."""

    enterprise_id: str
    year: int
    months: tuple[Month, ...]
    options: InventoryOptions
    factors_region: str
    energy: EnergyResult
    ghg: GhgResult
    scope2: Scope2Result
    economic: EconomicData
    totals: InventoryTotals
    indicators: tuple[Indicator, ...]
    months_without_records: tuple[Month, ...] = ()

    @property
    def coverage(self) -> Coverage:
        return Coverage.merge((self.energy.coverage, self.ghg.coverage, self.scope2.coverage))

    def indicator(self, name: str) -> Indicator:
        for ind in self.indicators:
            if ind.name == name:
                return ind
        raise KeyError(name)

    @property
    def trace(self) -> tuple[TraceStep, ...]:
        return (*self.energy.trace, *self.ghg.trace, *self.scope2.trace)


@dataclass(frozen=True)
class ParkInventory:
    """Inventory of a park: its enterprises' inventories and their exact sum."""

    park_id: str
    year: int
    months: tuple[Month, ...]
    options: InventoryOptions
    enterprises: tuple[Inventory, ...]
    economic: EconomicData
    totals: InventoryTotals
    indicators: tuple[Indicator, ...]

    @property
    def coverage(self) -> Coverage:
        return Coverage.merge(tuple(e.coverage for e in self.enterprises))

    def indicator(self, name: str) -> Indicator:
        for ind in self.indicators:
            if ind.name == name:
                return ind
        raise KeyError(name)

    def enterprise(self, enterprise_id: str) -> Inventory:
        for e in self.enterprises:
            if e.enterprise_id == enterprise_id:
                return e
        raise KeyError(enterprise_id)


def _select_months(months: Iterable[Month] | None, year: int) -> frozenset[Month] | None:
    if months is None:
        return None
    chosen = frozenset(months)
    check_months_in_year(chosen, year, "inventory months")
    if not chosen:
        raise CalculationError("an inventory needs at least one month", message_zh="清单至少需要一个月份")
    return chosen


def enterprise_inventory(
    enterprise_id: str,
    records: Iterable[ActivityRecord],
    factors: AccountingFactors,
    options: InventoryOptions,
    *,
    carbonates: Iterable[CarbonateInput] = (),
    instruments: Instruments = Instruments(),
    economic: EconomicData | None = None,
    months: Iterable[Month] | None = None,
) -> Inventory:
    """Energy + GHG + scope 2 (both methods) + indicators of one enterprise.

    ``records``, ``carbonates`` and ``instruments`` may hold other enterprises' rows: only
    ``enterprise_id``'s are used. ``months`` restricts the inventory (a monthly inventory is
    ``months=[m]``); by default all months present. A requested month in which the enterprise has
    no activity record at all is unknown, not zero: it is listed in ``months_without_records`` and
    the totals are partial (``complete`` False, ratios not given). ``economic`` is for the same
    months.
    """
    wanted = _select_months(months, factors.year)

    def keep(ent: str, m: Month) -> bool:
        return ent == enterprise_id and (wanted is None or m in wanted)

    recs = [r for r in records if keep(r.enterprise_id, r.month)]
    items = [c for c in carbonates if keep(c.enterprise_id, c.month)]
    inst = instruments.for_enterprise(enterprise_id)
    inst = Instruments(
        contracts=tuple(c for c in inst.contracts if wanted is None or c.month in wanted),
        certificates=tuple(c for c in inst.certificates if wanted is None or c.claim_month in wanted),
        direct_supply=tuple(d for d in inst.direct_supply if wanted is None or d.month in wanted),
    )
    energy = comprehensive_energy(recs, factors, basis=options.basis, media_rule=options.media_rule)
    ghg = ghg_emissions(recs, factors, carbonates=items)
    s2 = scope2_dual(recs, inst, factors, options.market_method)
    shares = energy_shares(energy, s2.green_electricity_kwh,
                           grid_non_fossil_share_frac=options.grid_non_fossil_share_frac,
                           grid_renewable_share_frac=options.grid_renewable_share_frac)
    heat = ghg.purchased_heat_tco2
    scope2_loc = math.fsum((s2.location_tco2, heat))
    scope2_mkt = math.fsum((s2.market_tco2, heat))
    # requested months without any activity record are unknown, not zero: the total is partial
    absent = () if wanted is None else tuple(sorted(wanted - {r.month for r in recs}))
    complete = energy.complete and ghg.complete and s2.complete and not absent
    totals = InventoryTotals(
        energy_tce=energy.total_tce,
        non_energy_use_tce=energy.non_energy_use_tce,
        non_fossil_tce=shares.non_fossil_tce,
        renewable_tce=shares.renewable_tce,
        clean_tce=shares.clean_tce,
        combustion_tco2=ghg.combustion_tco2,
        process_tco2=ghg.process_tco2,
        scope1_tco2=ghg.scope1_tco2,
        purchased_electricity_location_tco2=s2.location_tco2,
        purchased_electricity_market_tco2=s2.market_tco2,
        purchased_heat_tco2=heat,
        scope2_location_tco2=scope2_loc,
        scope2_market_tco2=scope2_mkt,
        exported_tco2=ghg.exported_tco2,
        total_location_tco2=math.fsum((ghg.scope1_tco2, scope2_loc, -ghg.exported_tco2)),
        total_market_tco2=math.fsum((ghg.scope1_tco2, scope2_mkt, -ghg.exported_tco2)),
        energy_related_location_tco2=math.fsum((ghg.combustion_tco2, scope2_loc, -ghg.exported_tco2)),
        energy_related_market_tco2=math.fsum((ghg.combustion_tco2, scope2_mkt, -ghg.exported_tco2)),
        biomass_co2_tco2=ghg.biomass_co2_tco2,
        purchased_electricity_kwh=s2.purchased_kwh,
        green_electricity_kwh=s2.green_electricity_kwh,
        excess_claims_kwh=s2.excess_kwh,
        complete=complete,
    )
    econ = economic or EconomicData()
    present = {r.month for r in recs} | {c.month for c in items} | set(inst.months())
    return Inventory(
        enterprise_id=enterprise_id,
        year=factors.year,
        months=tuple(sorted(wanted if wanted is not None else present)),
        options=options,
        factors_region=factors.region,
        energy=energy,
        ghg=ghg,
        scope2=s2,
        economic=econ,
        totals=totals,
        indicators=_indicators(totals, econ, energy.complete and not absent),
        months_without_records=absent,
    )


def park_inventory(
    park_id: str,
    records: Iterable[ActivityRecord],
    factors: AccountingFactors,
    options: InventoryOptions,
    *,
    enterprise_ids: Iterable[str] | None = None,
    carbonates: Iterable[CarbonateInput] = (),
    instruments: Instruments = Instruments(),
    economic: dict[str, EconomicData] | None = None,
    months: Iterable[Month] | None = None,
) -> ParkInventory:
    """Inventory of a park = the exact sum of its enterprises' inventories.

    enterprise_ids : the park's enterprises (default: all that appear in the inputs); rows of
        other enterprises are refused (they would silently fall outside the park total).
    economic : per-enterprise economic data; park added value and outputs are their sums.
    """
    recs = list(records)
    items = list(carbonates)
    check_records(recs)
    check_instruments(instruments)  # a certificate claimed by two enterprises of the park
    present = ({r.enterprise_id for r in recs} | {c.enterprise_id for c in items}
               | set(instruments.enterprises()) | set((economic or {}).keys()))
    if enterprise_ids is None:
        members = sorted(present)
    else:
        members = sorted(set(enterprise_ids))
        outside = sorted(present - set(members))
        if outside:
            raise CalculationError(
                f"rows of enterprises outside park {park_id}: {', '.join(outside[:5])}",
                message_zh=f"存在不属于园区 {park_id} 的企业数据：{', '.join(outside[:5])}",
                hint="pass only the park's enterprises' rows, or list them in enterprise_ids",
                hint_zh="请只传入本园区企业的数据，或在 enterprise_ids 中列出这些企业",
            )
    chosen = None if months is None else tuple(months)
    parts = tuple(
        enterprise_inventory(e, recs, factors, options, carbonates=items, instruments=instruments,
                             economic=(economic or {}).get(e), months=chosen)
        for e in members
    )
    totals = InventoryTotals.sum(p.totals for p in parts)
    econ = EconomicData.combine(tuple(p.economic for p in parts))
    all_months = tuple(sorted({m for p in parts for m in p.months}))
    energy_complete = all(p.energy.complete and not p.months_without_records for p in parts)
    return ParkInventory(
        park_id=park_id,
        year=factors.year,
        months=all_months,
        options=options,
        enterprises=parts,
        economic=econ,
        totals=totals,
        indicators=_indicators(totals, econ, energy_complete),
    )


def compare_inventories(current: Inventory | ParkInventory, previous: Inventory | ParkInventory) -> dict[str, Change]:
    """Year-on-year changes 同比 of every total and indicator (by name)."""
    out: dict[str, Change] = {}
    for f in fields(InventoryTotals):
        if f.name == "complete":
            continue
        cur, prev = getattr(current.totals, f.name), getattr(previous.totals, f.name)
        if not current.totals.complete:
            cur = None
        if not previous.totals.complete:
            prev = None
        out[f.name] = year_on_year(cur, prev)
    prev_ind = {i.name: i for i in previous.indicators}
    for ind in current.indicators:
        out[ind.name] = year_on_year(ind, prev_ind.get(ind.name))
    return out

