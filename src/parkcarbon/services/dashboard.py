"""Page data of the dashboards (驾驶舱 / 大屏): the park overview, an enterprise's view, the
energy-flow diagram (能流图).

Every number here is read from the same :class:`~parkcarbon.services.accounting.AccountingRun`
objects that the reports (:mod:`parkcarbon.services.reporting`,
:mod:`parkcarbon.services.enterprise_report`) and the API serve, and the targets from
:func:`parkcarbon.services.targets.target_progress`; nothing is recomputed differently for
display. Missing stays ``None`` (shown "—"), never 0; every total carries its coverage.

Results are frozen dataclasses with a ``to_json()`` that the web pages hand to Apache ECharts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from sqlalchemy import func, select

from parkcarbon.core.activity import Flow
from parkcarbon.core.budget import BudgetKind
from parkcarbon.core.carriers import CarrierKind, carrier
from parkcarbon.core.inventory import Inventory
from parkcarbon.core.targets import ProgressStatus
from parkcarbon.errors import FactorNotFoundError, InputError, Location, NotFoundError
from parkcarbon.periods import Month
from parkcarbon.services.accounting import AccountingRun, FactorConfig, account_park_year
from parkcarbon.services.enterprise_report import EnterpriseRun
from parkcarbon.services.reporting import indicator_value, key_unit_class, onsite_generation_kwh
from parkcarbon.services.targets import (
    ParkSeries,
    budget_plan,
    budget_warnings,
    series_from_store,
    target_progress,
)
from parkcarbon.storage import Store
from parkcarbon.storage.models import ActivityRecordRow, Enterprise, ProductionRecord

__all__ = [
    "DEFAULT_TARGET_SET",
    "BudgetStatus",
    "CarrierShare",
    "EnergyFlow",
    "EnterpriseRow",
    "EnterpriseView",
    "FlowLink",
    "GreenPower",
    "IndustryRow",
    "LedgerCell",
    "ParkOverview",
    "TargetStatus",
    "YearPoint",
    "accountable_years",
    "energy_flow",
    "enterprise_view",
    "ledger_fingerprint",
    "ledger_years",
    "park_budget_status",
    "park_overview",
    "park_runs",
    "park_series",
    "park_targets",
]

_R = TypeVar("_R")

DEFAULT_TARGET_SET = "carbon_peak_pilot"
"""Target set checked on the overview (``factors/data/evaluation/target_sets.csv``)."""


def ledger_fingerprint(store: Store, *, park_id: str | None = None, enterprise_id: str | None = None) -> str:
    """A cheap fingerprint of the stored ledger and production data of a park or an enterprise:
    changes whenever a row is added or superseded (pages cache their accounting runs under it)."""
    with store.reader() as repo:
        parts = []
        for model in (ActivityRecordRow, ProductionRecord):
            q = select(func.count(), func.max(model.created_at), func.sum(model.version))
            if enterprise_id is not None:
                q = q.where(model.enterprise_id == enterprise_id)
            elif park_id is not None:
                q = q.where(model.enterprise_id.in_(select(Enterprise.id).where(Enterprise.park_id == park_id)))
            parts.append("|".join(str(x) for x in repo.session.execute(q).one()))
    return "/".join(parts)


def ledger_years(store: Store, *, park_id: str | None = None, enterprise_id: str | None = None) -> tuple[int, ...]:
    """Years that have current ledger rows for the park or the enterprise (ascending)."""
    with store.reader() as repo:
        q = select(func.substr(ActivityRecordRow.month, 1, 4)).where(ActivityRecordRow.status == "current")
        if enterprise_id is not None:
            q = q.where(ActivityRecordRow.enterprise_id == enterprise_id)
        elif park_id is not None:
            q = q.where(ActivityRecordRow.enterprise_id.in_(
                select(Enterprise.id).where(Enterprise.park_id == park_id)))
        return tuple(sorted({int(y) for (y,) in repo.session.execute(q.distinct())}))


def park_runs(store: Store, park_id: str, years: Iterable[int],
              config: FactorConfig | None = None) -> tuple[AccountingRun, ...]:
    """Account the park for each year (ordered) exactly as the API does: same
    :class:`~parkcarbon.services.accounting.FactorConfig` (fallback policy, grid calibre,
    registry, method options) passed to :func:`~parkcarbon.services.accounting.account_park_year`."""
    cfg = config or FactorConfig()
    return tuple(account_park_year(store, park_id, y, cfg)
                 for y in sorted(set(years)))


def accountable_years(account: Callable[[int], _R], years: Iterable[int]) -> tuple[tuple[_R, ...], tuple[str, ...]]:
    """Run ``account(year)`` for each year; a year whose factors cannot be resolved under the
    declared policy is left out (never shown as zero) and named in the returned notes."""
    done: list[_R] = []
    notes: list[str] = []
    for y in sorted(set(years)):
        try:
            done.append(account(y))
        except FactorNotFoundError as exc:
            notes.append(f"{y}: not accounted — {exc.message} / {y} 年未核算：{exc.message_zh}")
    return tuple(done), tuple(notes)


# ---------------------------------------------------------------------------------------------
# result types
# ---------------------------------------------------------------------------------------------


class _Json:
    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = _jsonable(asdict(self))  # type: ignore[call-overload]
        return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, Month):
        return str(obj)
    return obj


@dataclass(frozen=True)
class YearPoint(_Json):
    """One year of the park or an enterprise: energy [tce], emissions [tCO2]; ``complete``."""

    year: int
    energy_tce: float
    total_location_tco2: float
    total_market_tco2: float
    complete: bool


@dataclass(frozen=True)
class CarrierShare(_Json):
    """Energy by carrier (能源消费结构) [tce] and share of the total [fraction]."""

    code: str
    name_zh: str
    name_en: str
    energy_tce: float
    share_frac: float | None


@dataclass(frozen=True)
class EnterpriseRow(_Json):
    """An enterprise in the park's list: energy [tce], emissions [tCO2], coverage [fraction]."""

    enterprise_id: str
    name: str
    industry_code: str
    energy_tce: float
    total_location_tco2: float
    total_market_tco2: float
    covered_frac: float | None
    complete: bool
    key_unit: str


@dataclass(frozen=True)
class IndustryRow(_Json):
    """An industry (GB/T 4754-2017 class) of the park: energy [tce], emissions [tCO2]."""

    industry_code: str
    enterprises: int
    energy_tce: float
    total_location_tco2: float
    share_frac: float | None


@dataclass(frozen=True)
class GreenPower(_Json):
    """PV generation and green power (光伏与绿电) [kWh]; shares [fraction], ``None`` when undefined.

    green_share_frac : green electricity credited / purchased electricity.
    onsite_share_frac : on-site generation / (purchased + on-site generation).
    """

    onsite_generation_kwh: float | None
    purchased_electricity_kwh: float
    green_electricity_kwh: float
    green_share_frac: float | None
    onsite_share_frac: float | None
    pv_capacity_kwp: float | None


@dataclass(frozen=True)
class TargetStatus(_Json):
    """A park target with its latest progress and warning level (目标进度与预警).

    ttm_value : trailing-twelve-month value at ``as_of`` [unit]; path_value : the target path.
    warning_level : ``green`` (on track), ``red`` (off track) or ``none`` (no data).
    milestone_met : the last milestone checked (``None`` = not checked yet or no data).
    """

    target_id: str
    indicator: str
    as_of: str | None
    ttm_value: float | None
    path_value: float | None
    gap: float | None
    status: str
    warning_level: str
    milestone_year: int | None
    milestone_value: float | None
    milestone_actual: float | None
    milestone_met: bool | None


@dataclass(frozen=True)
class BudgetStatus(_Json):
    """An enterprise against its energy budget (用能预算预警) at ``as_of`` [tce]."""

    enterprise_id: str
    name: str
    as_of: str
    budget_tce: float
    forecast_tce: float | None
    ratio_frac: float | None
    grade: str
    grade_zh: str


@dataclass(frozen=True)
class FlowLink(_Json):
    """A link of the energy-flow diagram [tce]."""

    source: str
    target: str
    value_tce: float


@dataclass(frozen=True)
class EnergyFlow(_Json):
    """Energy-flow diagram (能流图): supply → carrier → enterprise [tce].

    The links into each carrier add up to the carrier's counted energy, the links out of it to
    the same total (flows balance at every node but the first and the last).
    """

    year: int
    nodes: tuple[str, ...]
    links: tuple[FlowLink, ...]


@dataclass(frozen=True)
class ParkOverview(_Json):
    """Everything the park overview page (大屏) shows for ``year``."""

    park_id: str
    park_name: str
    province: str
    year: int
    years: tuple[int, ...]
    energy_tce: float
    scope1_tco2: float
    scope2_location_tco2: float
    scope2_market_tco2: float
    total_location_tco2: float
    total_market_tco2: float
    complete: bool
    covered_frac: float | None
    missing_records: int
    energy_intensity_tce_per_10k_cny: float | None
    carbon_per_energy_location_tco2_per_tce: float | None
    trend: tuple[YearPoint, ...]
    monthly_energy_tce: tuple[tuple[str, float | None], ...]
    structure: tuple[CarrierShare, ...]
    enterprises: tuple[EnterpriseRow, ...]
    industries: tuple[IndustryRow, ...]
    green: GreenPower
    targets: tuple[TargetStatus, ...] = ()
    budgets: tuple[BudgetStatus, ...] = ()
    flow: EnergyFlow | None = None
    factor_notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LedgerCell(_Json):
    """One ledger value (台账): enterprise-month × carrier × flow in the carrier's unit."""

    month: str
    carrier: str
    flow: str
    quantity: float | None
    unit: str
    quality: str
    source: str
    record_id: str


@dataclass(frozen=True)
class EnterpriseView(_Json):
    """Everything an enterprise's page shows for ``year``."""

    enterprise_id: str
    name: str
    industry_code: str
    park_id: str
    year: int
    energy_tce: float
    scope1_tco2: float
    scope2_location_tco2: float
    scope2_market_tco2: float
    total_location_tco2: float
    total_market_tco2: float
    green_electricity_kwh: float
    complete: bool
    covered_frac: float | None
    missing_records: tuple[str, ...]
    key_unit: str
    indicators: tuple[tuple[str, float | None, str], ...]
    trend: tuple[YearPoint, ...]
    months: tuple[str, ...]
    energy_by_month_carrier: Mapping[str, tuple[float | None, ...]]
    ledger: tuple[LedgerCell, ...]
    structure: tuple[CarrierShare, ...]
    budget: BudgetStatus | None = None
    quality_counts: Mapping[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# builders
# ---------------------------------------------------------------------------------------------


def _structure(invs: Sequence[Inventory]) -> tuple[CarrierShare, ...]:
    acc: dict[str, float] = defaultdict(float)
    for inv in invs:
        for code, value in inv.energy.by_carrier().items():
            if value is not None:
                acc[code] += value
    total = math.fsum(acc.values())
    rows = [CarrierShare(c, carrier(c).name_zh, carrier(c).name_en, v, v / total if total > 0 else None)
            for c, v in acc.items()]
    return tuple(sorted(rows, key=lambda r: -r.energy_tce))


def _year_point(year: int, inv: Any) -> YearPoint:
    t = inv.totals
    return YearPoint(year, t.energy_tce, t.total_location_tco2, t.total_market_tco2, t.complete)


def _monthly_energy(invs: Sequence[Inventory], year: int) -> tuple[tuple[str, float | None], ...]:
    """Counted energy per month [tce]; a month with a missing record is ``None`` (not partial)."""
    out: list[tuple[str, float | None]] = []
    for mo in range(1, 13):
        m = Month(year, mo)
        lines = [ln for inv in invs for ln in inv.energy.lines if ln.month == m and ln.counted]
        if not lines:
            out.append((str(m), None))
            continue
        vals = [ln.energy_tce for ln in lines]
        out.append((str(m), None if any(v is None for v in vals) else math.fsum(v for v in vals if v is not None)))
    return tuple(out)


def _green(invs: Sequence[Inventory], purchased_kwh: float, green_kwh: float,
           pv_capacity_kwp: float | None) -> GreenPower:
    onsite = onsite_generation_kwh(invs)
    return GreenPower(
        onsite_generation_kwh=onsite,
        purchased_electricity_kwh=purchased_kwh,
        green_electricity_kwh=green_kwh,
        green_share_frac=green_kwh / purchased_kwh if purchased_kwh > 0 else None,
        onsite_share_frac=None if onsite is None or purchased_kwh + onsite <= 0 else onsite / (purchased_kwh + onsite),
        pv_capacity_kwp=pv_capacity_kwp,
    )


def _supply_node(code: str) -> tuple[str, str]:
    kind = carrier(code).kind
    if kind in (CarrierKind.FOSSIL_SOLID, CarrierKind.FOSSIL_LIQUID, CarrierKind.FOSSIL_GAS):
        return "fossil", "化石能源 Fossil fuels"
    if kind is CarrierKind.HEAT:
        return "heat", "外购热力 Purchased heat"
    if kind is CarrierKind.BIOMASS:
        return "biomass", "生物质 Biomass"
    if kind is CarrierKind.MEDIUM:
        return "media", "耗能工质 Energy media"
    return "grid", "电网购电 Grid electricity"


def energy_flow(run: AccountingRun, *, top_n: int = 12) -> EnergyFlow:
    """The park's energy-flow diagram for the run's year: supply → carrier → enterprise [tce].

    Electricity is split into grid purchase and on-site generation (光伏自发) in proportion to
    the purchased and generated kWh of each enterprise-month; enterprises beyond the ``top_n``
    largest are merged into "其他企业 Other enterprises". Lines without a value (missing records)
    are left out — the overview shows the coverage next to the diagram.
    """
    if top_n < 1:
        raise InputError("top_n must be at least 1", message_zh="top_n 至少为 1", location=Location(value=top_n))
    ents = sorted(run.inventory.enterprises, key=lambda e: -e.totals.energy_tce)
    shown = {e.enterprise_id for e in ents[:top_n]}
    supply: dict[tuple[str, str], float] = defaultdict(float)
    use: dict[tuple[str, str], float] = defaultdict(float)
    for e in ents:
        label = (f"{e.enterprise_id} {run.enterprise_names.get(e.enterprise_id, '')}".strip()
                 if e.enterprise_id in shown else "其他企业 Other enterprises")
        for ln in e.energy.lines:
            if not ln.counted or ln.energy_tce is None or ln.energy_tce <= 0:
                continue
            c = carrier(ln.carrier)
            cnode = f"{c.name_zh} {c.name_en}"
            use[(cnode, label)] += ln.energy_tce
            if ln.carrier == "electricity":
                bought = ln.quantity(Flow.PURCHASED) or 0.0
                made = ln.quantity(Flow.ONSITE_GENERATED) or 0.0
                pv_frac = made / (bought + made) if bought + made > 0 else 0.0
                if pv_frac > 0:
                    supply[("光伏自发 On-site PV", cnode)] += ln.energy_tce * pv_frac
                if pv_frac < 1:
                    supply[("电网购电 Grid electricity", cnode)] += ln.energy_tce * (1 - pv_frac)
            else:
                supply[(_supply_node(ln.carrier)[1], cnode)] += ln.energy_tce
    links = [FlowLink(s, t, v) for (s, t), v in sorted(supply.items())]
    links += [FlowLink(s, t, v) for (s, t), v in sorted(use.items(), key=lambda kv: (kv[0][0], -kv[1]))]
    nodes = tuple(dict.fromkeys([lk.source for lk in links] + [lk.target for lk in links]))
    return EnergyFlow(run.year, nodes, tuple(links))


def park_series(store: Store, park_id: str, runs: Sequence[AccountingRun]) -> ParkSeries:
    """Monthly series of the park's enterprises for targets and budgets, consistent with the
    inventories ``runs`` (:func:`parkcarbon.services.targets.series_from_store`: same ledger,
    factors, process inputs and credited green electricity)."""
    return series_from_store(store, park_id, runs)


def park_targets(ps: ParkSeries, through: Month, *, set_id: str = DEFAULT_TARGET_SET) -> tuple[TargetStatus, ...]:
    """The park's targets of ``set_id`` with progress at ``through`` (the last month with data)."""
    out = []
    for target_id, (progress, checks) in sorted(target_progress(ps, set_id, through).items()):
        last = progress[-1] if progress else None
        check = checks[-1] if checks else None
        status = last.status if last is not None else ProgressStatus.NO_DATA
        level = {ProgressStatus.ON_TRACK: "green", ProgressStatus.OFF_TRACK: "red"}.get(status, "none")
        out.append(TargetStatus(
            target_id=target_id,
            indicator=last.ttm.indicator if last is not None else target_id,
            as_of=str(last.month) if last is not None else None,
            ttm_value=last.ttm.value if last is not None else None,
            path_value=last.path_value if last is not None else None,
            gap=last.gap if last is not None else None,
            status=status.value,
            warning_level=level,
            milestone_year=check.year if check is not None else None,
            milestone_value=check.target_value if check is not None else None,
            milestone_actual=check.actual.value if check is not None else None,
            milestone_met=check.met if check is not None else None,
        ))
    return tuple(out)


def park_budget_status(ps: ParkSeries, park_energy_budget_tce: float, as_of: Month) -> tuple[BudgetStatus, ...]:
    """Allocate the park's energy budget of ``as_of.year`` by history and grade each enterprise
    (:func:`~parkcarbon.services.targets.budget_plan`, :func:`~parkcarbon.services.targets.budget_warnings`)."""
    if not park_energy_budget_tce > 0:
        raise InputError("the park's energy budget must be positive", message_zh="园区用能预算必须为正数",
                         location=Location(column="park_energy_budget_tce", value=park_energy_budget_tce))
    plan = budget_plan(ps, as_of.year, park_energy_budget_tce, kind=BudgetKind.ENERGY)
    report = budget_warnings(ps, plan, as_of, kind=BudgetKind.ENERGY)
    out = []
    for w in report.warnings:
        out.append(BudgetStatus(
            enterprise_id=w.enterprise_id, name=ps.names.get(w.enterprise_id, ""), as_of=str(as_of),
            budget_tce=w.budget_qty, forecast_tce=w.forecast.year_end,
            ratio_frac=None if w.ratio_frac is None or math.isnan(w.ratio_frac) else w.ratio_frac,
            grade=w.grade.value, grade_zh=w.grade.name_zh))
    return tuple(out)


def park_overview(
    runs: Sequence[AccountingRun],
    *,
    year: int | None = None,
    pv_capacity_kwp: float | None = None,
    targets: Sequence[TargetStatus] = (),
    budgets: Sequence[BudgetStatus] = (),
    top_n: int = 12,
) -> ParkOverview:
    """The park overview of ``year`` (default: the last run), with the trend over all ``runs``."""
    if not runs:
        raise InputError("no accounting run given", message_zh="没有核算结果")
    ordered = sorted(runs, key=lambda r: r.year)
    by_year = {r.year: r for r in ordered}
    year = ordered[-1].year if year is None else year
    if year not in by_year:
        raise NotFoundError(f"no inventory for {year}", message_zh=f"没有 {year} 年的清单",
                            location=Location(value=year))
    run = by_year[year]
    inv = run.inventory
    t = inv.totals
    ents = list(inv.enterprises)
    rows = tuple(sorted((EnterpriseRow(
        e.enterprise_id, run.enterprise_names.get(e.enterprise_id, ""),
        run.enterprise_industries.get(e.enterprise_id, ""), e.totals.energy_tce, e.totals.total_location_tco2,
        e.totals.total_market_tco2, e.coverage.covered_frac, e.totals.complete,
        key_unit_class(e.totals.energy_tce if e.totals.complete else None, year)) for e in ents),
        key=lambda r: -r.energy_tce))
    ind: dict[str, list[EnterpriseRow]] = defaultdict(list)
    for r in rows:
        ind[r.industry_code or "—"].append(r)
    total_energy = t.energy_tce
    industries = tuple(sorted((IndustryRow(code, len(items), math.fsum(r.energy_tce for r in items),
                                           math.fsum(r.total_location_tco2 for r in items),
                                           math.fsum(r.energy_tce for r in items) / total_energy
                                           if total_energy > 0 else None)
                               for code, items in ind.items()), key=lambda r: -r.energy_tce))
    cov = inv.coverage
    return ParkOverview(
        park_id=run.park_id, park_name=run.park_name, province=run.province, year=year,
        years=tuple(r.year for r in ordered),
        energy_tce=t.energy_tce, scope1_tco2=t.scope1_tco2, scope2_location_tco2=t.scope2_location_tco2,
        scope2_market_tco2=t.scope2_market_tco2, total_location_tco2=t.total_location_tco2,
        total_market_tco2=t.total_market_tco2, complete=t.complete, covered_frac=cov.covered_frac,
        missing_records=len(cov.missing_records),
        energy_intensity_tce_per_10k_cny=indicator_value(inv, "energy_intensity_added_value"),
        carbon_per_energy_location_tco2_per_tce=indicator_value(inv, "carbon_per_energy_location"),
        trend=tuple(_year_point(r.year, r.inventory) for r in ordered),
        monthly_energy_tce=_monthly_energy(ents, year),
        structure=_structure(ents),
        enterprises=rows,
        industries=industries,
        green=_green(ents, t.purchased_electricity_kwh, t.green_electricity_kwh, pv_capacity_kwp),
        targets=tuple(targets),
        budgets=tuple(budgets),
        flow=energy_flow(run, top_n=top_n),
        factor_notes=tuple(run.factor_notes),
    )


def enterprise_view(
    runs: Sequence[EnterpriseRun],
    *,
    year: int | None = None,
    ledger: Sequence[Any] = (),
    budgets: Sequence[BudgetStatus] = (),
) -> EnterpriseView:
    """An enterprise's page for ``year`` (default: the last run) from its yearly runs
    (:func:`parkcarbon.services.enterprise_report.account_enterprise`, the API's numbers).

    ``ledger``: the enterprise's stored activity records of the year
    (:class:`~parkcarbon.core.activity.ActivityRecord`), shown month × carrier × flow.
    """
    ordered = sorted(runs, key=lambda r: r.year)
    if not ordered:
        raise InputError("no accounting run given", message_zh="没有核算结果")
    year = ordered[-1].year if year is None else year
    run = next((r for r in ordered if r.year == year), None)
    if run is None:
        raise NotFoundError(f"no inventory for {year}", message_zh=f"没有 {year} 年的清单",
                            location=Location(value=year))
    enterprise_id = run.enterprise_id
    inv = run.inventory
    t = inv.totals
    trend = [_year_point(r.year, r.inventory) for r in ordered]
    months = tuple(str(Month(year, mo)) for mo in range(1, 13))
    grid: dict[str, list[float | None]] = {}
    per: dict[tuple[str, str], list[float | None]] = defaultdict(list)
    for ln in inv.energy.lines:
        if ln.counted:
            per[(ln.carrier, str(ln.month))].append(ln.energy_tce)
    for c in sorted({c for c, _ in per}):
        col: list[float | None] = []
        for m in months:
            vals = per.get((c, m))
            col.append(None if not vals or any(v is None for v in vals)
                       else math.fsum(v for v in vals if v is not None))
        grid[c] = col
    cells = tuple(LedgerCell(str(r.month), r.carrier, str(r.flow.value), r.quantity, carrier(r.carrier).unit,
                             str(r.quality.value), r.source, r.record_id)
                  for r in sorted(ledger, key=lambda r: (str(r.month), r.carrier, str(r.flow.value))))
    quality: dict[str, int] = defaultdict(int)
    for cell in cells:
        quality[cell.quality if cell.quantity is not None else "missing"] += 1
    indicators = (
        ("energy_intensity_added_value", indicator_value(inv, "energy_intensity_added_value"), "tce/10k CNY"),
        ("carbon_intensity_added_value_location", indicator_value(inv, "carbon_intensity_added_value_location"),
         "tCO2/10k CNY"),
        ("carbon_per_energy_location", indicator_value(inv, "carbon_per_energy_location"), "tCO2/tce"),
        ("carbon_per_energy_market", indicator_value(inv, "carbon_per_energy_market"), "tCO2/tce"),
        ("non_fossil_share", indicator_value(inv, "non_fossil_share"), "fraction"),
        ("clean_share", indicator_value(inv, "clean_share"), "fraction"),
    )
    cov = inv.coverage
    return EnterpriseView(
        enterprise_id=enterprise_id, name=run.name, industry_code=run.industry_code, park_id=run.park_id,
        year=year,
        energy_tce=t.energy_tce, scope1_tco2=t.scope1_tco2, scope2_location_tco2=t.scope2_location_tco2,
        scope2_market_tco2=t.scope2_market_tco2, total_location_tco2=t.total_location_tco2,
        total_market_tco2=t.total_market_tco2, green_electricity_kwh=t.green_electricity_kwh, complete=t.complete,
        covered_frac=cov.covered_frac, missing_records=tuple(cov.missing_records),
        key_unit=key_unit_class(t.energy_tce if t.complete else None, year),
        indicators=indicators, trend=tuple(trend), months=months,
        energy_by_month_carrier={c: tuple(v) for c, v in grid.items()}, ledger=cells,
        structure=_structure([inv]),
        budget=next((b for b in budgets if b.enterprise_id == enterprise_id), None),
        quality_counts=dict(quality),
    )
