"""Scope 2 electricity emissions, location-based and market-based side by side (范围二 双重报告).

Location-based: purchased electricity [MWh] × grid average factor (MEE/NBS 电力二氧化碳排放因子,
NOTES §3.5 rule 1). Market-based: contractual instruments first, then the remainder at a
factor chosen by a *named, configurable* allocation rule, because the Chinese usage rule for the
MEE "excluding market-traded non-fossil" factor is unsettled (NOTES §3.5 rule 3, §10 item 7):

=========================  ===============================================================
:class:`AllocationRule`    market-based factors
=========================  ===============================================================
``RESIDUAL_EXCL_MARKET``   instruments 0; remainder at the MEE "excl. market-traded
                           non-fossil" factor (``grid_ef_residual``, required)
``GHGP_HIERARCHY``         instruments 0; remainder at the residual mix if available, else
                           the grid average (flagged) — GHG Protocol Scope 2 Guidance hierarchy
``THINK_TANK_SPLIT``       green power (contracts, direct supply) 0; certificate kWh at the
                           excl. factor; remaining kWh at the fossil-power factor (NOTES §3.5)
=========================  ===============================================================

Instruments (all in kWh of the enterprise's purchased electricity):

* :class:`GreenPowerContract` 绿电交易 — grid-delivered green power bought under a contract;
  the GECs transferred with it (证电合一) are listed and cannot be claimed again.
* :class:`GreenCertificate` 绿证 (GEC) — 1 GEC = 1 000 kWh (``units.KWH_PER_GREEN_CERTIFICATE``);
  serial, vintage (generation month), technology, plant and claim (retirement) month kept.
  A serial can be claimed once: :func:`find_double_claims` reports a serial claimed twice
  (across enterprises or months, or both unbundled and with a contract) and
  :func:`scope2_dual` refuses to run on one. A certificate older than
  ``MarketMethod.certificate_validity_months`` at the claim month (24: GEC validity of two
  years, 国能发新能规〔2024〕67号) or claimed before its vintage is not credited (listed).
* :class:`DirectSupply` 绿电直连 — electricity delivered by a direct line from a named plant;
  it is part of the PURCHASED electricity rows of the ledger.
* On-site PV self-consumption is ``ONSITE_GENERATED``, not purchased: it has no scope 2 at all
  (reported as ``onsite_generated_kwh`` for information).

Claims are matched to purchased electricity per enterprise and matching window
(:class:`MatchingPeriod`, default the year); credited kWh never exceed purchased kWh: the
excess is reported (``excess_kwh``), not credited. Order of crediting: direct supply, then
contracts, then certificates (bundled before unbundled), each in id order.

Documented decisions: location-based applies the grid average to all purchased electricity,
including direct-line supply (conservative; GHG Protocol practice for direct lines is an open
point); exports are not netted here (GB/T 32150 netting is in :mod:`parkcarbon.core.ghg`);
purchased heat is identical under both methods and is added by the inventory.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from parkcarbon.core.activity import ActivityRecord, Flow
from parkcarbon.core.checks import (
    Coverage,
    check_months_in_year,
    check_records,
    factor_value,
    missing_factor,
    sorted_records,
)
from parkcarbon.core.factorset import AccountingFactors
from parkcarbon.core.ghg import GRID_EF_RANGE, MWH_PER_KWH
from parkcarbon.core.trace import FactorRef, TraceStep
from parkcarbon.errors import ConflictError, Location, QuantityError
from parkcarbon.periods import Month
from parkcarbon.units import KWH_PER_GREEN_CERTIFICATE

__all__ = [
    "AllocationRule",
    "DirectSupply",
    "DoubleClaim",
    "GreenCertificate",
    "GreenPowerContract",
    "Instruments",
    "MarketMethod",
    "MatchingPeriod",
    "Scope2Result",
    "Scope2Window",
    "check_instruments",
    "find_double_claims",
    "scope2_dual",
]

METHOD = "Scope 2 dual reporting (GHG Protocol Scope 2 Guidance; MEE/NBS factors)"


class AllocationRule(StrEnum):
    """Market-based allocation rule (see module docstring)."""

    RESIDUAL_EXCL_MARKET = "residual_excl_market"
    GHGP_HIERARCHY = "ghgp_hierarchy"
    THINK_TANK_SPLIT = "think_tank_split"


class MatchingPeriod(StrEnum):
    """Window within which claims are matched to purchased electricity."""

    MONTH = "month"
    YEAR = "year"


@dataclass(frozen=True)
class MarketMethod:
    """Market-based method configuration.

    rule : :class:`AllocationRule`.
    matching : :class:`MatchingPeriod` (default ``YEAR``: instruments are usually retired yearly).
    certificate_validity_months : a GEC is credited only when the claim month is less than this
        many months after its vintage month; ``None`` disables the check.
    """

    rule: AllocationRule
    matching: MatchingPeriod = MatchingPeriod.YEAR
    certificate_validity_months: int | None = 24


def _check_kwh(kwh: float, ident: str) -> None:
    if isinstance(kwh, bool) or not isinstance(kwh, int | float) or not math.isfinite(kwh) or kwh < 0:
        raise QuantityError(
            f"instrument {ident}: kWh must be a finite number ≥ 0, got {kwh!r}",
            message_zh=f"交易凭证 {ident}：电量必须是非负有限数值，实际为 {kwh!r}",
            location=Location(record=ident, value=kwh),
        )


@dataclass(frozen=True)
class GreenPowerContract:
    """Green power trading 绿电交易: settled kWh of one month under a contract.

    kwh [kWh]; counterparty and plant identify the seller; ``certificate_serials`` are the
    GECs transferred with the power (证电合一), which cannot be claimed separately.
    """

    contract_id: str
    enterprise_id: str
    month: Month
    kwh: float
    counterparty: str
    plant: str
    technology: str = ""
    certificate_serials: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_kwh(self.kwh, self.contract_id)


@dataclass(frozen=True)
class GreenCertificate:
    """One green electricity certificate 绿证 (GEC) = 1 000 kWh.

    serial : certificate serial number; vintage : month of generation; claim_month : month it
    is retired/claimed for the enterprise's consumption.
    """

    serial: str
    enterprise_id: str
    claim_month: Month
    vintage: Month
    technology: str
    plant: str = ""

    @property
    def kwh(self) -> float:
        """[kWh]"""
        return KWH_PER_GREEN_CERTIFICATE


@dataclass(frozen=True)
class DirectSupply:
    """Green power direct supply 绿电直连: kWh delivered in a month by a direct line from a plant."""

    supply_id: str
    enterprise_id: str
    month: Month
    kwh: float
    plant: str
    technology: str = ""

    def __post_init__(self) -> None:
        _check_kwh(self.kwh, self.supply_id)


@dataclass(frozen=True)
class Instruments:
    """All market instruments of an accounting run."""

    contracts: tuple[GreenPowerContract, ...] = ()
    certificates: tuple[GreenCertificate, ...] = ()
    direct_supply: tuple[DirectSupply, ...] = ()

    def for_enterprise(self, enterprise_id: str) -> Instruments:
        return Instruments(
            contracts=tuple(c for c in self.contracts if c.enterprise_id == enterprise_id),
            certificates=tuple(c for c in self.certificates if c.enterprise_id == enterprise_id),
            direct_supply=tuple(d for d in self.direct_supply if d.enterprise_id == enterprise_id),
        )

    def enterprises(self) -> tuple[str, ...]:
        ids = {c.enterprise_id for c in self.contracts} | {c.enterprise_id for c in self.certificates}
        return tuple(sorted(ids | {d.enterprise_id for d in self.direct_supply}))

    def months(self) -> tuple[Month, ...]:
        ms = {c.month for c in self.contracts} | {c.claim_month for c in self.certificates}
        return tuple(sorted(ms | {d.month for d in self.direct_supply}))


@dataclass(frozen=True)
class DoubleClaim:
    """A certificate serial claimed more than once; ``claims`` are ``(enterprise, month, via)``."""

    serial: str
    claims: tuple[tuple[str, str, str], ...]


def find_double_claims(instruments: Instruments) -> tuple[DoubleClaim, ...]:
    """Serials claimed more than once (as certificates or with a contract), across enterprises/months."""
    seen: dict[str, list[tuple[str, str, str]]] = {}
    for cert in instruments.certificates:
        seen.setdefault(cert.serial, []).append((cert.enterprise_id, str(cert.claim_month), "certificate"))
    for con in instruments.contracts:
        for s in con.certificate_serials:
            seen.setdefault(s, []).append((con.enterprise_id, str(con.month), f"contract {con.contract_id}"))
    return tuple(DoubleClaim(s, tuple(sorted(c))) for s, c in sorted(seen.items()) if len(c) > 1)


def check_instruments(instruments: Instruments) -> None:
    """Refuse double-claimed certificates and repeated contract / direct-supply ids (ConflictError)."""
    doubles = find_double_claims(instruments)
    if doubles:
        shown = "; ".join(
            f"{d.serial}: " + ", ".join(f"{e} {m} ({v})" for e, m, v in d.claims) for d in doubles[:5]
        )
        raise ConflictError(
            f"{len(doubles)} green certificate(s) claimed more than once: {shown}",
            message_zh=f"{len(doubles)} 张绿证被重复申领：{shown}",
            hint="a certificate can be claimed once: remove the duplicate claims",
            hint_zh="每张绿证只能申领一次，请删除重复申领",
            location=Location(record=doubles[0].serial),
        )
    for label, ids in (
        ("contract", [c.contract_id for c in instruments.contracts]),
        ("direct supply", [d.supply_id for d in instruments.direct_supply]),
    ):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ConflictError(
                f"{label} id(s) {', '.join(dup)} occur more than once",
                message_zh=f"{label} 编号 {', '.join(dup)} 重复",
                location=Location(record=dup[0]),
            )


@dataclass(frozen=True)
class Scope2Window:
    """Scope 2 electricity of one enterprise in one matching window.

    Quantities [kWh]; emissions [tCO2]; ``None`` when the purchased electricity is missing.
    ``*_credited_kwh`` are after capping at purchased kWh; ``excess_kwh`` was claimed but not
    credited.
    """

    enterprise_id: str
    period: str
    months: tuple[Month, ...]
    purchased_kwh: float | None
    onsite_generated_kwh: float | None
    direct_supply_credited_kwh: float
    green_power_credited_kwh: float
    certificate_credited_kwh: float
    claimed_kwh: float
    excess_kwh: float | None
    residual_kwh: float | None
    location_tco2: float | None
    market_tco2: float | None
    market_note: str
    factors: tuple[FactorRef, ...]
    instruments: tuple[str, ...]
    records: tuple[str, ...]
    missing_records: tuple[str, ...]
    flags: tuple[str, ...] = ()

    @property
    def credited_kwh(self) -> float:
        return math.fsum((self.direct_supply_credited_kwh, self.green_power_credited_kwh,
                          self.certificate_credited_kwh))

    @property
    def trace(self) -> tuple[TraceStep, TraceStep]:
        inputs = (("purchased_kwh", self.purchased_kwh if self.purchased_kwh is not None else math.nan),
                  ("credited_kwh", self.credited_kwh))
        return (
            TraceStep(method=f"{METHOD}: location-based, purchased [MWh] × grid average",
                      result=self.location_tco2 if self.location_tco2 is not None else math.nan,
                      result_unit="tCO2", records=self.records, factors=self.factors[:1],
                      note=f"{self.enterprise_id} {self.period}", inputs=inputs),
            TraceStep(method=f"{METHOD}: market-based, {self.market_note}",
                      result=self.market_tco2 if self.market_tco2 is not None else math.nan,
                      result_unit="tCO2", records=self.records + self.instruments, factors=self.factors,
                      note=f"{self.enterprise_id} {self.period}" + (f"; {'; '.join(self.flags)}" if self.flags else ""),
                      inputs=inputs),
        )


@dataclass(frozen=True)
class Scope2Result:
    """Location- and market-based scope 2 electricity emissions [tCO2] per window, with totals."""

    method: MarketMethod
    windows: tuple[Scope2Window, ...]
    not_credited: tuple[tuple[str, str], ...] = field(default=())

    @property
    def location_tco2(self) -> float:
        """Σ location-based over windows with data [tCO2] (partial when coverage incomplete)."""
        return math.fsum(w.location_tco2 for w in self.windows if w.location_tco2 is not None)

    @property
    def market_tco2(self) -> float:
        return math.fsum(w.market_tco2 for w in self.windows if w.market_tco2 is not None)

    @property
    def purchased_kwh(self) -> float:
        return math.fsum(w.purchased_kwh for w in self.windows if w.purchased_kwh is not None)

    @property
    def credited_kwh(self) -> float:
        return math.fsum(w.credited_kwh for w in self.windows)

    @property
    def green_electricity_kwh(self) -> float:
        """Credited green electricity (direct supply + contracts + certificates) [kWh]."""
        return self.credited_kwh

    @property
    def excess_kwh(self) -> float:
        return math.fsum(w.excess_kwh for w in self.windows if w.excess_kwh is not None)

    @property
    def coverage(self) -> Coverage:
        return Coverage(
            records=tuple(sorted({r for w in self.windows for r in w.records})),
            missing_records=tuple(sorted({r for w in self.windows for r in w.missing_records})),
        )

    @property
    def complete(self) -> bool:
        return self.coverage.complete

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(sorted({f for w in self.windows for f in w.flags}))

    @property
    def trace(self) -> tuple[TraceStep, ...]:
        return tuple(s for w in self.windows for s in w.trace)

    def subset(self, *, enterprise_id: str) -> Scope2Result:
        return Scope2Result(
            method=self.method,
            windows=tuple(w for w in self.windows if w.enterprise_id == enterprise_id),
            not_credited=tuple(n for n in self.not_credited if n[0].startswith(f"{enterprise_id}:")),
        )


@dataclass
class _Slot:
    """Mutable collector of one (enterprise, window) while building the result."""

    months: set[Month] = field(default_factory=set)
    purchased: list[ActivityRecord] = field(default_factory=list)
    onsite: list[ActivityRecord] = field(default_factory=list)
    direct: list[DirectSupply] = field(default_factory=list)
    contracts: list[GreenPowerContract] = field(default_factory=list)
    certificates: list[GreenCertificate] = field(default_factory=list)


def _sum_known(recs: list[ActivityRecord]) -> float | None:
    """Σ quantities [kWh]; ``None`` if one is missing; ``0.0`` if there are no rows."""
    values = [r.quantity for r in recs]
    if any(v is None for v in values):
        return None
    return math.fsum(v for v in values if v is not None)


def _window_key(m: Month, matching: MatchingPeriod) -> str:
    return str(m) if matching is MatchingPeriod.MONTH else f"{m.year:04d}"


def _months_between(a: Month, b: Month) -> int:
    return (b.year - a.year) * 12 + (b.month - a.month)


def scope2_dual(
    records: Iterable[ActivityRecord],
    instruments: Instruments,
    factors: AccountingFactors,
    method: MarketMethod,
) -> Scope2Result:
    """Location-based and market-based scope 2 electricity emissions, per enterprise and window.

    Parameters
    ----------
    records : ledger rows; electricity PURCHASED (and ONSITE_GENERATED, for information) are used.
    instruments : green power contracts, certificates, direct supply.
    factors : ``grid_ef_location`` [tCO2/MWh]; ``grid_ef_residual`` / ``grid_ef_fossil`` as the
        rule needs.
    method : :class:`MarketMethod`.

    Raises
    ------
    ConflictError : a certificate claimed twice, duplicate ids or ledger rows.
    FactorNotFoundError : the rule needs a factor that is absent.
    """
    recs = [r for r in sorted_records(records) if r.carrier == "electricity"]
    check_records(recs)
    check_instruments(instruments)
    check_months_in_year([*(r.month for r in recs), *instruments.months()], factors.year, "scope 2 data")

    grid = factor_value(factors.grid_ef_location, "tCO2/MWh", *GRID_EF_RANGE, "grid average emission factor")
    residual_ref, fossil_ref = factors.grid_ef_residual, factors.grid_ef_fossil
    rule = method.rule
    if rule in (AllocationRule.RESIDUAL_EXCL_MARKET, AllocationRule.THINK_TANK_SPLIT) and residual_ref is None:
        raise missing_factor("grid factor excluding market-traded non-fossil power (grid_ef_residual)",
                             f"{factors.region} {factors.year}", hint=f"rule {rule.value} needs it")
    if rule is AllocationRule.THINK_TANK_SPLIT and fossil_ref is None:
        raise missing_factor("fossil-power grid factor (grid_ef_fossil)", f"{factors.region} {factors.year}",
                             hint=f"rule {rule.value} needs it")
    residual = (None if residual_ref is None
                else factor_value(residual_ref, "tCO2/MWh", *GRID_EF_RANGE, "residual grid factor"))
    fossil = (None if fossil_ref is None
              else factor_value(fossil_ref, "tCO2/MWh", *GRID_EF_RANGE, "fossil-power grid factor"))

    # eligibility of certificates
    not_credited: list[tuple[str, str]] = []
    certs: list[GreenCertificate] = []
    for cert in sorted(instruments.certificates, key=lambda c: (c.enterprise_id, c.claim_month, c.serial)):
        age = _months_between(cert.vintage, cert.claim_month)
        if age < 0:
            not_credited.append((f"{cert.enterprise_id}:{cert.serial}", "claimed before its vintage month"))
        elif method.certificate_validity_months is not None and age >= method.certificate_validity_months:
            not_credited.append((f"{cert.enterprise_id}:{cert.serial}",
                                 f"vintage {cert.vintage} older than {method.certificate_validity_months} "
                                 f"months at claim {cert.claim_month}"))
        else:
            certs.append(cert)

    windows: dict[tuple[str, str], _Slot] = {}

    def slot(ent: str, m: Month) -> _Slot:
        return windows.setdefault((ent, _window_key(m, method.matching)), _Slot())

    for r in recs:
        s = slot(r.enterprise_id, r.month)
        s.months.add(r.month)
        if r.flow is Flow.PURCHASED:
            s.purchased.append(r)
        elif r.flow is Flow.ONSITE_GENERATED:
            s.onsite.append(r)
    for d in instruments.direct_supply:
        slot(d.enterprise_id, d.month).direct.append(d)
    for con in instruments.contracts:
        slot(con.enterprise_id, con.month).contracts.append(con)
    for cert in certs:
        slot(cert.enterprise_id, cert.claim_month).certificates.append(cert)

    out: list[Scope2Window] = []
    for (ent, period), s in sorted(windows.items(), key=lambda kv: kv[0]):
        direct = sorted(s.direct, key=lambda d: d.supply_id)
        contracts = sorted(s.contracts, key=lambda c: c.contract_id)
        wcerts = sorted(s.certificates, key=lambda c: c.serial)
        both = s.purchased + s.onsite
        missing = tuple(sorted(r.record_id for r in both if r.quantity is None))
        record_ids = tuple(sorted(r.record_id for r in both))
        purchased = _sum_known(s.purchased)
        onsite = _sum_known(s.onsite)
        direct_kwh = math.fsum(d.kwh for d in direct)
        contract_kwh = math.fsum(c.kwh for c in contracts)
        cert_kwh = math.fsum(c.kwh for c in wcerts)
        claimed = math.fsum((direct_kwh, contract_kwh, cert_kwh))
        inst_ids = tuple([d.supply_id for d in direct] + [c.contract_id for c in contracts]
                         + [c.serial for c in wcerts])
        flags: list[str] = []
        refs: list[FactorRef] = [factors.grid_ef_location]
        months = tuple(sorted(s.months | {d.month for d in direct} | {c.month for c in contracts}
                              | {c.claim_month for c in wcerts}))
        if purchased is None:
            out.append(Scope2Window(
                enterprise_id=ent, period=period, months=months, purchased_kwh=None, onsite_generated_kwh=onsite,
                direct_supply_credited_kwh=0.0, green_power_credited_kwh=0.0, certificate_credited_kwh=0.0,
                claimed_kwh=claimed, excess_kwh=None, residual_kwh=None, location_tco2=None, market_tco2=None,
                market_note="purchased electricity missing", factors=tuple(refs), instruments=inst_ids,
                records=record_ids,
                missing_records=missing, flags=("purchased electricity missing",),
            ))
            continue
        left = purchased
        direct_cr = min(direct_kwh, left)
        left -= direct_cr
        contract_cr = min(contract_kwh, left)
        left -= contract_cr
        cert_cr = min(cert_kwh, left)
        left -= cert_cr
        excess = claimed - (direct_cr + contract_cr + cert_cr)
        if excess > 0:
            flags.append(f"claims exceed purchased electricity by {excess:g} kWh (not credited)")
        location = purchased * MWH_PER_KWH * grid
        if rule is AllocationRule.THINK_TANK_SPLIT:
            assert residual is not None and fossil is not None and residual_ref is not None and fossil_ref is not None
            market = (cert_cr * residual + left * fossil) * MWH_PER_KWH
            note = "green power 0, certificate kWh × excl. factor, remainder × fossil factor"
            refs += [residual_ref, fossil_ref]
        elif residual is not None and residual_ref is not None:
            market = left * MWH_PER_KWH * residual
            note = "instruments 0, remainder × residual (excl. market non-fossil) factor"
            refs.append(residual_ref)
        else:
            market = left * MWH_PER_KWH * grid
            note = "instruments 0, remainder × grid average (no residual mix available)"
            flags.append("grid average used for the remainder: no residual mix factor")
        out.append(Scope2Window(
            enterprise_id=ent, period=period, months=months, purchased_kwh=purchased, onsite_generated_kwh=onsite,
            direct_supply_credited_kwh=direct_cr, green_power_credited_kwh=contract_cr,
            certificate_credited_kwh=cert_cr, claimed_kwh=claimed, excess_kwh=excess, residual_kwh=left,
            location_tco2=location, market_tco2=market, market_note=f"{rule.value}: {note}",
            factors=tuple(refs), instruments=inst_ids,
            records=record_ids,
            missing_records=missing, flags=tuple(flags),
        ))
    return Scope2Result(method=method, windows=tuple(out), not_credited=tuple(sorted(not_credited)))

