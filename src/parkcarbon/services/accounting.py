"""Accounting use cases: read the ledger from the store, resolve factors, run the pure core.

Every reported number is a pure function of (activity ledger, factor set version, method):
this module gathers the three and calls :func:`parkcarbon.core.inventory.park_inventory` /
:func:`~parkcarbon.core.inventory.enterprise_inventory`. Factor fallbacks happen only through
the declared :class:`~parkcarbon.factors.FallbackPolicy` and are returned with the result
(``AccountingRun.factor_notes``) so reports can print them.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from parkcarbon.core.factorset import AccountingFactors
from parkcarbon.core.ghg import CarbonateInput
from parkcarbon.core.indicators import EconomicData
from parkcarbon.core.inventory import (
    Inventory,
    InventoryOptions,
    ParkInventory,
    enterprise_inventory,
    park_inventory,
)
from parkcarbon.core.scope2 import (
    AllocationRule,
    DirectSupply,
    GreenCertificate,
    GreenPowerContract,
    Instruments,
    MarketMethod,
)
from parkcarbon.factors import FactorRegistry, FallbackPolicy, GridCalibre, accounting_factors
from parkcarbon.periods import Month
from parkcarbon.storage import Repository, Store
from parkcarbon.storage.models import ProductionRecord

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_OPTIONS",
    "FIRST_MEE_GRID_YEAR",
    "AccountingRun",
    "FactorConfig",
    "account_enterprise_year",
    "account_park_year",
    "account_park_years",
    "certificate_serials",
    "economic_data",
    "instruments",
    "year_months",
]

DEFAULT_OPTIONS = InventoryOptions(market_method=MarketMethod(AllocationRule.GHGP_HIERARCHY))
"""Default method choices: 当量值; market-based per the GHG Protocol hierarchy (instruments 0,
remainder at the MEE "excluding market-traded non-fossil" factor where published, else the grid
average, flagged)."""


FIRST_MEE_GRID_YEAR = 2021
"""First data year of the MEE/NBS statistical grid factors (公告2024年第12号)."""


@dataclass(frozen=True)
class FactorConfig:
    """The declared factor and method choices of accounting runs (recorded with every result).

    policy : fallback policy of every factor lookup (default ``REGION_THEN_YEAR``, NOTES §3.5
        rule 1: the consumption year first — province, its regional grid, national — then each
        earlier published year; every fallback is warned and recorded).
    grid_calibre : location-based grid factor calibre from ``ets_before_year`` on.
    ets_before_year : years before it have no MEE/NBS statistical factor, so they use the ETS
        reporting factor in force for them (0.5810 tCO2/MWh for 2019–2021); ``None`` disables this.
    registry : ``None`` = the packaged factor sets; a registry with a user set is how a new
        factor version enters (recalculation proposals).
    options : inventory method choices (当量值/等价值, market-based rule, media rule).
    """

    policy: FallbackPolicy = FallbackPolicy.REGION_THEN_YEAR
    grid_calibre: GridCalibre = GridCalibre.PROVINCIAL
    ets_before_year: int | None = FIRST_MEE_GRID_YEAR
    registry: FactorRegistry | None = None
    options: InventoryOptions = DEFAULT_OPTIONS

    def calibre_for(self, year: int) -> GridCalibre:
        """The grid calibre used for ``year``."""
        if self.ets_before_year is not None and year < self.ets_before_year:
            return GridCalibre.ETS_REGULATORY
        return self.grid_calibre

    def factors(self, province: str, year: int) -> AccountingFactors:
        """All factors of one (province, year) run; fallback notes kept in the result, not printed."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # recorded in AccountingFactors.warnings instead
            return accounting_factors(province, year, grid_calibre=self.calibre_for(year), policy=self.policy,
                                      basis=self.options.basis, registry=self.registry)

    @property
    def method(self) -> str:
        """One line naming the method choices (stored with pinned results)."""
        ets = f"; ets<{self.ets_before_year}" if self.ets_before_year is not None else ""
        return (f"GB/T 2589-2020 + GB/T 32150-2015 inventory; basis={self.options.basis}; "
                f"market={self.options.market_method.rule}; grid={self.grid_calibre}{ets}; "
                f"fallback={self.policy}")[:200]


DEFAULT_CONFIG = FactorConfig()


@dataclass(frozen=True)
class AccountingRun:
    """A park's inventory for one year, with the factors and the fallback notes it used."""

    park_id: str
    park_name: str
    province: str
    year: int
    inventory: ParkInventory
    factors: AccountingFactors
    config: FactorConfig
    enterprise_names: dict[str, str]
    enterprise_industries: dict[str, str]

    @property
    def factor_notes(self) -> tuple[str, ...]:
        return self.factors.warnings

    @property
    def policy(self) -> FallbackPolicy:
        return self.config.policy


def economic_data(repo: Repository, enterprise_ids: Sequence[str], year: int) -> dict[str, EconomicData]:
    """Added value and product output per enterprise for ``year`` from the store.

    Monthly rows are summed over the year; a yearly row is used when there are no monthly
    rows. Comparable-price rows (可比价) carry a price index of 1 to their base year;
    current-price rows carry no index, so comparable-price intensities stay ``None``
    (missing, never guessed) until a deflator is supplied.
    """
    rows = repo.production_records(enterprise_ids=enterprise_ids, first=f"{year:04d}", last=f"{year:04d}-12")
    by_ent: dict[str, list[ProductionRecord]] = defaultdict(list)
    for r in rows:
        by_ent[r.enterprise_id].append(r)
    out: dict[str, EconomicData] = {}
    for ent, items in by_ent.items():
        chosen = [r for r in items if r.period_kind == "month"] or [r for r in items if r.period_kind == "year"]
        values = [r.added_value_10k_cny for r in chosen]
        added = None if not values or any(v is None for v in values) else math.fsum(v for v in values if v is not None)
        bases = {r.price_basis for r in chosen}
        base_years = {r.base_year for r in chosen}
        comparable = bases == {"comparable"} and len(base_years) == 1
        outputs: dict[tuple[str, str], float] = defaultdict(float)
        for r in chosen:
            if r.product_output is not None and r.product_unit and r.product_name:
                outputs[(r.product_name, r.product_unit)] += r.product_output
        out[ent] = EconomicData(
            added_value_10k_cny=added,
            price_index_frac=1.0 if comparable else None,
            base_year=next(iter(base_years)) if comparable else None,
            outputs=tuple((name, qty, unit) for (name, unit), qty in sorted(outputs.items())),
        )
    return out


def instruments(repo: Repository, enterprise_ids: Sequence[str], year: int) -> Instruments:
    """Green power contracts, direct supply and certificates of ``year`` from the store."""
    first, last = f"{year:04d}-01", f"{year:04d}-12"
    contracts: list[GreenPowerContract] = []
    direct: list[DirectSupply] = []
    for g in repo.green_power(enterprise_ids=enterprise_ids, first=first, last=last):
        if g.kind == "direct_supply":
            direct.append(DirectSupply(f"{g.contract_id}:{g.month}", g.enterprise_id, g.month, g.energy_kwh,
                                       plant=g.counterparty, technology=g.technology or ""))
        else:
            contracts.append(GreenPowerContract(f"{g.contract_id}:{g.month}", g.enterprise_id, g.month,
                                                g.energy_kwh, counterparty=g.counterparty, plant=g.counterparty,
                                                technology=g.technology or ""))
    certs = tuple(
        GreenCertificate(serial=serial, enterprise_id=c.enterprise_id, claim_month=_month(c.claimed_month),
                         vintage=_month(c.vintage), technology=c.technology or "")
        for c in repo.green_certificates(enterprise_ids=enterprise_ids, claimed_first=first, claimed_last=last)
        if c.claimed_month is not None
        for serial in certificate_serials(c.serial, c.count)
    )
    return Instruments(contracts=tuple(contracts), certificates=certs, direct_supply=tuple(direct))


def certificate_serials(serial_first: str, count: int) -> list[str]:
    """The serials of a batch of ``count`` certificates starting at ``serial_first``.

    Certificates are issued with consecutive numbers: the trailing digits are incremented
    keeping their width (``GEC2024000000100`` × 3 → …100, …101, …102), so overlapping batches
    share serials and are caught as double claims.
    """
    head = serial_first.rstrip("0123456789")
    digits = serial_first[len(head):]
    if not digits:
        return [serial_first] if count == 1 else [f"{serial_first}-{i:06d}" for i in range(count)]
    start, width = int(digits), len(digits)
    return [f"{head}{start + i:0{width}d}" for i in range(count)]


def _month(value: object) -> Month:
    if isinstance(value, Month):
        return value
    text = str(value)
    return Month(int(text[:4]), int(text[5:7]))


def _carbonates(repo: Repository, enterprise_ids: Sequence[str], year: int) -> list[CarbonateInput]:
    return repo.process_inputs(enterprise_ids=enterprise_ids, first=f"{year:04d}-01", last=f"{year:04d}-12")


def year_months(year: int) -> list[Month]:
    """The twelve months of ``year``: an annual inventory expects data in each of them."""
    return [Month(year, k) for k in range(1, 13)]


def account_park_year(store: Store, park_id: str, year: int, config: FactorConfig = DEFAULT_CONFIG) -> AccountingRun:
    """The park's inventory for ``year``: the exact sum of its enterprises' inventories.

    Every enterprise of the park is expected to have activity data in every month of the year; a
    month without any record is reported as missing (the totals are then partial), never as 0.
    """
    with store.reader() as repo:
        park = repo.get_park(park_id)
        ents = repo.list_enterprises(park_id=park_id)
        ids = [e.id for e in ents]
        records = repo.activity_records(park_id=park_id, first=f"{year:04d}-01", last=f"{year:04d}-12")
        econ = economic_data(repo, ids, year)
        inst = instruments(repo, ids, year)
        carbonates = _carbonates(repo, ids, year)
        names = {e.id: e.name for e in ents}
        industries = {e.id: e.industry_code or "" for e in ents}
    factors = config.factors(park.province, year)
    inv = park_inventory(park_id, records, factors, config.options, enterprise_ids=ids, carbonates=carbonates,
                         instruments=inst, economic=econ, months=year_months(year))
    return AccountingRun(park_id, park.name, park.province, year, inv, factors, config, names, industries)


def account_park_years(store: Store, park_id: str, years: Iterable[int],
                       config: FactorConfig = DEFAULT_CONFIG) -> list[AccountingRun]:
    """:func:`account_park_year` for several years (same declared choices)."""
    return [account_park_year(store, park_id, y, config) for y in years]


def account_enterprise_year(
    store: Store,
    enterprise_id: str,
    year: int,
    config: FactorConfig = DEFAULT_CONFIG,
    *,
    months: Iterable[Month] | None = None,
    tenant_id: str | None = None,
) -> Inventory:
    """One enterprise's inventory for ``year`` (or some of its months).

    ``tenant_id`` scopes the lookup: an enterprise of another tenant is not found (404).
    """
    with store.reader() as repo:
        ent = repo.get_enterprise(enterprise_id, tenant_id=tenant_id)
        records = repo.activity_records(enterprise_ids=[enterprise_id], first=f"{year:04d}-01",
                                        last=f"{year:04d}-12")
        econ = economic_data(repo, [enterprise_id], year).get(enterprise_id)
        inst = instruments(repo, [enterprise_id], year)
        carbonates = _carbonates(repo, [enterprise_id], year)
    factors = config.factors(ent.province or "", year)
    return enterprise_inventory(enterprise_id, records, factors, config.options, carbonates=carbonates,
                                instruments=inst, economic=econ,
                                months=year_months(year) if months is None else months)
