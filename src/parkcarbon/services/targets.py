"""Targets, budgets, early warnings, evaluations, key units, MACC, pathways and project assessment.

Use cases for the park administration (园区管委会能碳办), on monthly series per enterprise:

* :func:`series_from_ledger` / :func:`series_from_demo_park` / :func:`series_from_csv` build a
  :class:`ParkSeries` — per enterprise, per quantity code of :mod:`parkcarbon.core.targets`, a
  monthly series — from the activity ledger through the accounting core (energy GB/T 2589,
  GB/T 32150 CO2, energy shares), from the demo park, or from a long CSV file.
* :func:`budget_plan` allocates and phases a park budget; :func:`budget_warnings` forecasts
  every enterprise's year-end, grades it against its budget and reports the backtest accuracy
  of the forecast; :func:`warning_timeline` replays the year month by month to show how early
  each overrun was flagged.
* :func:`target_progress`, :func:`zero_carbon_report`, :func:`green_factory`,
  :func:`green_park`, :func:`key_units`, :func:`measure_options_macc`, :func:`pathway_from_series`,
  :func:`assess_project_in_park` wrap the pure core with the shipped reference data.

Emissions from the ledger are the GB/T 32150 total (scope 1 + location-based scope 2 −
exports). Green electricity (contracts, direct supply, certificates) is credited in the
non-fossil and clean energy quantities, not in ``emissions_tco2`` (stated in ``notes``).
"""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from parkcarbon.core.activity import ActivityRecord, Flow
from parkcarbon.core.budget import (
    AllocationBasis,
    AllocationMethod,
    BudgetAllocation,
    BudgetKind,
    BudgetWarning,
    WarningGrade,
    WarningThresholds,
    allocate_budget,
    budget_warning,
    phase_budget,
)
from parkcarbon.core.energy import comprehensive_energy
from parkcarbon.core.evaluation import (
    GreenFactoryScore,
    GreenParkIndex,
    ProductEnergyCheck,
    Verdict,
    ZeroCarbonParkReport,
    assess_scored,
    evaluate_zero_carbon_park,
    green_factory_score,
    green_park_index,
)
from parkcarbon.core.factorset import AccountingFactors
from parkcarbon.core.forecast import (
    BacktestReport,
    ForecastMethod,
    backtest,
    forecast_year_end,
    seasonal_profile,
)
from parkcarbon.core.ghg import CarbonateInput, SourceCategory, ghg_emissions
from parkcarbon.core.indicators import energy_shares
from parkcarbon.core.measures import (
    CarrierParameters,
    EnterprisePlan,
    KeyUnitResult,
    KeyUnitThresholds,
    MaccPoint,
    MeasureOption,
    MeasureResult,
    PlanItemProgress,
    build_plan,
    evaluate_measure,
    identify_key_units,
    macc,
    track_plan,
)
from parkcarbon.core.pathways import PathwayBase, PathwayResult, Scenario, project_pathway
from parkcarbon.core.project_assessment import ParkTotals, ProjectAssessment, ProjectInputs, assess_project
from parkcarbon.core.scope2 import Instruments, MarketMethod, scope2_dual
from parkcarbon.core.targets import (
    INDICATORS,
    QUANTITIES,
    EntitySeries,
    ProgressPoint,
    TargetCheck,
    annual_indicator,
    check_target,
    track_progress,
)
from parkcarbon.core.trace import FactorRef
from parkcarbon.errors import InputError, Location, TemplateError
from parkcarbon.factors import FallbackPolicy, GridCalibre, accounting_factors
from parkcarbon.factors.evaluation_data import (
    load_key_unit_thresholds,
    load_measure_catalogue,
    load_scored_indicators,
    load_target_set,
    load_zero_carbon_criteria,
)
from parkcarbon.periods import Month, parse_month
from parkcarbon.services.accounting import DEFAULT_CONFIG, DEFAULT_OPTIONS, AccountingRun
from parkcarbon.services.accounting import instruments as instruments_from_store
from parkcarbon.services.reporting import TargetRow
from parkcarbon.storage import Store

__all__ = [
    "BudgetPlan",
    "ParkSeries",
    "WarningReport",
    "WarningTimelineRow",
    "assess_project_in_park",
    "budget_plan",
    "budget_warnings",
    "carrier_parameters",
    "compute_sum",
    "enterprise_plan",
    "green_factory",
    "green_park",
    "key_units",
    "measure_options_macc",
    "park_target_rows",
    "pathway_from_series",
    "series_from_csv",
    "series_from_demo_park",
    "series_from_ledger",
    "series_from_store",
    "target_progress",
    "warning_timeline",
    "zero_carbon_report",
]


# --- park series --------------------------------------------------------------------------


@dataclass(frozen=True)
class ParkSeries:
    """Monthly series of every enterprise of a park.

    series : enterprise id → quantity code → month → value (``None`` = missing).
    names : enterprise id → display name.
    notes : how the series were made (factor calibre, fallbacks, emission basis).
    """

    park_id: str
    series: Mapping[str, EntitySeries]
    names: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def enterprises(self) -> tuple[str, ...]:
        return tuple(sorted(self.series))

    @property
    def months(self) -> tuple[Month, ...]:
        return tuple(sorted({m for s in self.series.values() for q in s.values() for m in q}))

    def quantity(self, code: str) -> dict[str, dict[Month, float | None]]:
        """Enterprise → month → value of one quantity (enterprises without it are left out)."""
        return {e: dict(s[code]) for e, s in sorted(self.series.items()) if code in s}

    def park(self) -> dict[str, dict[Month, float | None]]:
        """Park totals = Σ enterprises, month by month; a month missing for any enterprise that
        reports the quantity makes the park value missing (never a silent partial sum)."""
        out: dict[str, dict[Month, float | None]] = {}
        months = self.months
        for q in sorted({q for s in self.series.values() for q in s}):
            per = [s[q] for s in self.series.values() if q in s]
            col: dict[Month, float | None] = {}
            for m in months:
                vals = [p.get(m) for p in per]
                col[m] = None if any(v is None for v in vals) else math.fsum(v for v in vals if v is not None)
            out[q] = col
        return out

    def annual(self, enterprise_id: str, code: str, year: int) -> float | None:
        """Annual sum of a quantity of one enterprise (``None`` if a month is missing)."""
        s = self.series[enterprise_id].get(code, {})
        vals = [s.get(Month(year, k)) for k in range(1, 13)]
        return None if any(v is None for v in vals) else math.fsum(v for v in vals if v is not None)


def _known_sum(values: Iterable[float | None]) -> float | None:
    vals = list(values)
    return None if any(v is None for v in vals) else math.fsum(v for v in vals if v is not None)


def _put(out: dict[str, dict[str, dict[Month, float | None]]], e: str, q: str, m: Month, v: float | None) -> None:
    out.setdefault(e, {}).setdefault(q, {})[m] = v


def _credited_green_by_month(records: Sequence[ActivityRecord], instruments: Instruments,
                             factors: AccountingFactors, method: MarketMethod) -> dict[tuple[str, Month], float]:
    """Scope 2 credited green kWh of one year, spread over each window's months by purchased kWh."""
    year = factors.year
    inst = Instruments(
        contracts=tuple(c for c in instruments.contracts if c.month.year == year),
        certificates=tuple(c for c in instruments.certificates if c.claim_month.year == year),
        direct_supply=tuple(d for d in instruments.direct_supply if d.month.year == year),
    )
    purchased: dict[tuple[str, Month], float] = {}
    for r in records:
        if r.carrier == "electricity" and r.flow is Flow.PURCHASED and r.quantity is not None:
            purchased[(r.enterprise_id, r.month)] = purchased.get((r.enterprise_id, r.month), 0.0) + r.quantity
    out: dict[tuple[str, Month], float] = {}
    for w in scope2_dual(records, inst, factors, method).windows:
        if w.credited_kwh <= 0:
            continue
        weights = {m: purchased.get((w.enterprise_id, m), 0.0) for m in w.months}
        total = math.fsum(weights.values())
        for m, wt in weights.items():
            share = wt / total if total > 0 else 1.0 / len(weights)
            out[(w.enterprise_id, m)] = out.get((w.enterprise_id, m), 0.0) + w.credited_kwh * share
    return out


def series_from_ledger(
    records: Iterable[ActivityRecord],
    economics: Iterable[tuple[str, Month, float | None, float | None]],
    *,
    region: str,
    park_id: str = "park",
    green_electricity_kwh: Mapping[tuple[str, Month], float] | None = None,
    grid_calibre: GridCalibre = GridCalibre.ETS_REGULATORY,
    policy: FallbackPolicy = FallbackPolicy.LATEST_PUBLISHED_YEAR,
    names: Mapping[str, str] | None = None,
    factors_by_year: Mapping[int, AccountingFactors] | None = None,
    carbonates: Iterable[CarbonateInput] = (),
    instruments: Instruments | None = None,
    market_method: MarketMethod | None = None,
) -> ParkSeries:
    """Monthly series per enterprise from the activity ledger through the accounting core.

    economics : ``(enterprise, month, added value [10k CNY], output value [10k CNY])`` rows.
    green_electricity_kwh : green electricity credited per (enterprise, month) [kWh].
    grid_calibre, policy : grid factor calibre and fallback policy (recorded in ``notes``). The
        default ETS regulatory factor is fixed per reporting year for 2018–2025, which gives a
        consistent multi-year series; use ``PROVINCIAL`` for reporting.
    factors_by_year : the factors of each year's inventory (e.g. ``AccountingRun.factors``); when
        given they are used instead of resolving ``grid_calibre``/``policy``, so the series add up
        to the inventories exactly.
    carbonates : process inputs; their emissions enter ``emissions_tco2`` and
        ``direct_emissions_tco2`` as in the inventory (GB/T 32150 total).
    instruments : green power contracts, direct supply and certificates; when given (instead of
        ``green_electricity_kwh``) the green electricity is the scope 2 *credited* kWh of each
        matching window (:func:`parkcarbon.core.scope2.scope2_dual` with ``market_method``, after
        the cap at purchased kWh and the certificate rules), spread over the window's months in
        proportion to purchased electricity — so annual non-fossil energy equals the inventory's.
    """
    green = dict(green_electricity_kwh or {})
    by_year: dict[int, list[ActivityRecord]] = {}
    for r in records:
        by_year.setdefault(r.month.year, []).append(r)
    carbonates_by_year: dict[int, list[CarbonateInput]] = {}
    for c in carbonates:
        carbonates_by_year.setdefault(c.month.year, []).append(c)
    out: dict[str, dict[str, dict[Month, float | None]]] = {}
    given = dict(factors_by_year or {})
    notes = [("factors of the inventories (one AccountingFactors per year)" if given else
              f"grid factor calibre {grid_calibre.value}, fallback policy {policy.value}"),
             "emissions_tco2 = GB/T 32150 total (scope 1 + location-based scope 2 − exports); green electricity "
             "credited in non-fossil/clean energy only"]
    for year, recs in sorted(by_year.items()):
        if year in given:
            af = given[year]
        else:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                af = accounting_factors(region, year, grid_calibre=grid_calibre, policy=policy)
            notes += [f"{year}: {w.message}" for w in caught]
        notes += [f"{year}: {w}" for w in af.warnings]
        energy = comprehensive_energy(recs, af)
        ghg = ghg_emissions(recs, af, carbonates=carbonates_by_year.get(year, ()))
        if instruments is not None:
            green.update(_credited_green_by_month(recs, instruments, af, market_method or DEFAULT_OPTIONS.market_method))
        for e in energy.enterprises():
            e_res = energy.subset(enterprise_id=e)
            g_res = ghg.subset(enterprise_id=e)
            for m in e_res.months():
                sub = e_res.subset(months=[m])
                lines = [ln for ln in sub.lines if ln.counted]
                tce = None if any(ln.energy_tce is None for ln in lines) else math.fsum(
                    ln.energy_tce for ln in lines if ln.energy_tce is not None)
                _put(out, e, "energy_tce", m, tce)
                gl = [ln for ln in g_res.lines if ln.month == m and ln.category is not SourceCategory.BIOMASS_COMBUSTION]
                _put(out, e, "emissions_tco2", m, _known_sum(ln.signed_tco2 for ln in gl))
                _put(out, e, "direct_emissions_tco2", m, _known_sum(ln.signed_tco2 for ln in gl if ln.scope == 1))
                _put(out, e, "energy_emissions_tco2", m, _known_sum(
                    ln.signed_tco2 for ln in gl if ln.category is not SourceCategory.PROCESS))
                el = [ln for ln in sub.lines if ln.carrier == "electricity"]
                if el:
                    _put(out, e, "purchased_electricity_mwh", m, _known_sum(
                        None if ln.quantity(Flow.PURCHASED) is None else (ln.quantity(Flow.PURCHASED) or 0.0) / 1000.0
                        for ln in el))
                sh = energy_shares(sub, green.get((e, m), 0.0))
                _put(out, e, "non_fossil_energy_tce", m, sh.non_fossil_tce)
                _put(out, e, "renewable_energy_tce", m, sh.renewable_tce)
                _put(out, e, "clean_energy_tce", m, sh.clean_tce)
                water = [ln for ln in sub.lines if ln.carrier == "fresh_water"]
                if water:
                    q = [ln.quantity(Flow.CONSUMED) for ln in water]
                    _put(out, e, "water_fresh_m3", m, None if any(v is None for v in q) else math.fsum(
                        v for v in q if v is not None))
    for e, m, av, ov in economics:
        _put(out, e, "added_value_10k_cny", m, av)
        if ov is not None:
            _put(out, e, "output_value_10k_cny", m, ov)
    return ParkSeries(park_id, out, dict(names or {}), tuple(dict.fromkeys(notes)))


def series_from_store(store: Store, park_id: str, runs: Sequence[AccountingRun]) -> ParkSeries:
    """Monthly series of a stored park, consistent with its yearly inventories ``runs``.

    The ledger, process inputs, monthly production and green power instruments come from the
    store — the same inputs :func:`parkcarbon.services.accounting.account_park_year` reads — and
    each year uses the factors and the market method of that year's inventory, so the annual
    sums of ``energy_tce``, ``emissions_tco2`` and ``non_fossil_energy_tce`` equal the
    inventories' energy, location-based total and non-fossil energy.
    """
    factors_by_year = {r.year: r.factors for r in runs}
    years = sorted(factors_by_year)
    first, last = f"{years[0]:04d}-01", f"{years[-1]:04d}-12"
    with store.reader() as repo:
        park = repo.get_park(park_id)
        ents = repo.list_enterprises(park_id=park_id)
        ids = [e.id for e in ents]
        records = repo.activity_records(park_id=park_id, first=first, last=last)
        carbonates = repo.process_inputs(enterprise_ids=ids, first=first, last=last)
        prod = repo.production_records(enterprise_ids=ids, first=first, last=last, period_kind="month")
        parts = [instruments_from_store(repo, ids, y) for y in years]
        names = {e.id: e.name for e in ents}
        province = park.province
    inst = Instruments(contracts=tuple(c for p in parts for c in p.contracts),
                       certificates=tuple(c for p in parts for c in p.certificates),
                       direct_supply=tuple(d for p in parts for d in p.direct_supply))
    econ = [(p.enterprise_id, parse_month(p.period), p.added_value_10k_cny, p.gross_output_value_10k_cny)
            for p in prod]
    return series_from_ledger(records, econ, region=province, park_id=park_id, names=names,
                              factors_by_year=factors_by_year, carbonates=carbonates, instruments=inst,
                              market_method=runs[-1].inventory.options.market_method)


def series_from_demo_park(seed: int = 2025) -> ParkSeries:
    """Series of the demo park (:mod:`parkcarbon.services.demo_park`) through the accounting core,
    with the demo's declared factor choices — the same numbers ``parkcarbon demo`` reports."""
    from parkcarbon.services.demo_park import build_demo_park, demo_carbonates, demo_instruments

    park = build_demo_park(seed)
    econ = [(p.enterprise_id, p.month, p.added_value_10k_cny, p.output_value_10k_cny) for p in park.production]
    years = sorted({r.month.year for r in park.records})
    factors = {y: DEFAULT_CONFIG.factors(park.province, y) for y in years}
    ps = series_from_ledger(park.records, econ, region=park.province, park_id=park.park_id,
                            names={e.enterprise_id: e.name_zh for e in park.enterprises}, factors_by_year=factors,
                            carbonates=demo_carbonates(park), instruments=demo_instruments(park))
    return ParkSeries(ps.park_id, ps.series, ps.names, (*ps.notes, f"demo park seed {seed}"))

def series_from_csv(path: Path, park_id: str = "park") -> ParkSeries:
    """Read a long CSV: ``enterprise_id, month`` and any quantity columns of
    :data:`parkcarbon.core.targets.QUANTITIES` (empty cell = missing, never 0)."""
    try:
        fh = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise TemplateError(f"cannot read {path}: {exc}", message_zh=f"无法读取 {path}", location=Location(file=str(path))) from exc
    out: dict[str, dict[str, dict[Month, float | None]]] = {}
    names: dict[str, str] = {}
    with fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        if "enterprise_id" not in header or "month" not in header:
            raise TemplateError("CSV needs columns enterprise_id and month", message_zh="CSV 需包含 enterprise_id 和 month 列",
                                hint=f"quantity columns: {', '.join(QUANTITIES)}", location=Location(file=str(path), row=1))
        qcols = [c for c in header if c in QUANTITIES]
        unknown = [c for c in header if c not in QUANTITIES and c not in ("enterprise_id", "month", "name")]
        if unknown:
            raise TemplateError(f"unknown columns {unknown}", message_zh=f"未知列 {unknown}",
                                hint=f"quantity columns: {', '.join(QUANTITIES)}", location=Location(file=str(path), row=1))
        for i, row in enumerate(reader, start=2):
            e = (row.get("enterprise_id") or "").strip()
            if not e:
                raise TemplateError("empty enterprise_id", message_zh="企业编号为空",
                                    location=Location(file=str(path), row=i, column="enterprise_id"))
            m = parse_month(row.get("month") or "")
            if row.get("name"):
                names[e] = row["name"]
            for q in qcols:
                text = (row.get(q) or "").strip()
                if text == "":
                    _put(out, e, q, m, None)
                    continue
                try:
                    v = float(text)
                except ValueError:
                    raise InputError(f"{q} is not a number: {text!r}", message_zh=f"{q} 不是数值：{text!r}",
                                     location=Location(file=str(path), row=i, column=q, value=text)) from None
                if not math.isfinite(v) or v < 0:
                    raise InputError(f"{q} must be a finite non-negative number", message_zh=f"{q} 必须为非负有限数",
                                     location=Location(file=str(path), row=i, column=q, value=text))
                if m in out.get(e, {}).get(q, {}):
                    raise InputError(f"duplicate row for {e} {m}", message_zh=f"{e} {m} 重复",
                                     location=Location(file=str(path), row=i))
                _put(out, e, q, m, v)
    return ParkSeries(park_id, out, names, (f"read from {path.name}",))


# --- budgets and warnings -----------------------------------------------------------------


@dataclass(frozen=True)
class BudgetPlan:
    """Annual allocations and their monthly phasing (enterprise → month → [kind unit])."""

    year: int
    kind: BudgetKind
    park_budget_qty: float
    allocations: tuple[BudgetAllocation, ...]
    monthly: Mapping[str, Mapping[Month, float]]

    @property
    def annual(self) -> dict[str, float]:
        return {a.enterprise_id: a.budget_qty for a in self.allocations}


def _qty(kind: BudgetKind) -> str:
    return "energy_tce" if kind is BudgetKind.ENERGY else "emissions_tco2"


def budget_plan(
    ps: ParkSeries,
    year: int,
    park_budget_qty: float,
    *,
    method: AllocationMethod = AllocationMethod.HISTORY,
    kind: BudgetKind = BudgetKind.ENERGY,
    history_years: int = 3,
    reserve_frac: float = 0.0,
    benchmarks: Mapping[str, float] | None = None,
) -> BudgetPlan:
    """Allocate ``park_budget_qty`` for ``year`` and phase it by each enterprise's seasonal profile.

    History = mean annual use over the complete years among the ``history_years`` before
    ``year``; output = added value of the previous year; benchmark = that output × the
    enterprise's benchmark intensity (``benchmarks``: enterprise → [unit/10k CNY]).
    """
    q = _qty(kind)
    bases = []
    prev = [year - k for k in range(1, history_years + 1)]
    for e in ps.enterprises:
        hist_vals = [v for v in (ps.annual(e, q, y) for y in prev) if v is not None]
        hist = math.fsum(hist_vals) / len(hist_vals) if hist_vals else None
        out = ps.annual(e, "added_value_10k_cny", year - 1)
        bases.append(AllocationBasis(e, hist, out, (benchmarks or {}).get(e)))
    allocs = allocate_budget(park_budget_qty, bases, method, year=year, kind=kind, reserve_frac=reserve_frac)
    monthly = {}
    for a in allocs:
        prof = seasonal_profile(ps.series[a.enterprise_id].get(q, {}), prev, a.enterprise_id)
        monthly[a.enterprise_id] = phase_budget(a.budget_qty, year, None if prof is None else prof[0])
    return BudgetPlan(year, kind, park_budget_qty, allocs, monthly)


@dataclass(frozen=True)
class WarningReport:
    """Graded warnings of all enterprises at ``as_of``, most severe first, with forecast accuracy."""

    year: int
    as_of: Month
    kind: BudgetKind
    warnings: tuple[BudgetWarning, ...]
    accuracy: BacktestReport | None
    thresholds: WarningThresholds

    def count(self, grade: WarningGrade) -> int:
        return sum(w.grade is grade for w in self.warnings)


def budget_warnings(
    ps: ParkSeries,
    budgets: Mapping[str, float] | BudgetPlan,
    as_of: Month,
    *,
    kind: BudgetKind = BudgetKind.ENERGY,
    thresholds: WarningThresholds = WarningThresholds(),
    method: ForecastMethod = ForecastMethod.SEASONAL_RATIO,
    history_years: int = 3,
    backtest_years: Sequence[int] | None = None,
    accuracy: BacktestReport | None = None,
) -> WarningReport:
    """Forecast each budgeted enterprise's year-end at ``as_of`` and grade it (预警).

    The error band and the reported accuracy come from a backtest on ``backtest_years``
    (default: every earlier year with ≥ 2 years of history), using only data before ``as_of.year``; pass
    ``accuracy`` to reuse a backtest already run for this year.
    """
    q = _qty(kind)
    year = as_of.year
    annual = budgets.annual if isinstance(budgets, BudgetPlan) else dict(budgets)
    monthly = budgets.monthly if isinstance(budgets, BudgetPlan) else None
    series = ps.quantity(q)
    unknown = sorted(set(annual) - set(series))
    if unknown:
        raise InputError(f"budgets for enterprises without data: {unknown}", message_zh=f"以下企业有预算但无数据：{unknown}",
                         location=Location(value=unknown))
    years = sorted({m.year for m in ps.months if m.year < year})
    # default: earlier years with at least two years of history before them (a single history
    # year — e.g. a pandemic year — makes a poor seasonal profile), else at least one
    bt_years = list(backtest_years) if backtest_years is not None else (years[2:] if len(years) >= 3 else years[1:])
    past = {e: {m: v for m, v in s.items() if m.year < year} for e, s in series.items()}
    rep = accuracy
    if rep is None and bt_years:
        rep = backtest(past, bt_years, method=method, history_years=history_years)
    out = []
    for e, b in sorted(annual.items()):
        fc = forecast_year_end(series[e], year, as_of, method=method, history_years=history_years,
                               band=rep.band if rep else None, entity_id=e)
        out.append(budget_warning(fc, b, kind=kind, monthly_budget=monthly.get(e) if monthly else None,
                                  thresholds=thresholds))
    out.sort(key=lambda w: (-w.grade.severity, -w.ratio_frac, w.enterprise_id))
    return WarningReport(year, as_of, kind, tuple(out), rep, thresholds)


@dataclass(frozen=True)
class WarningTimelineRow:
    """When an enterprise was first flagged, and whether it really overran.

    grades : month → grade as the forecast stood at the end of that month.
    first_red, first_orange : first month graded red / orange-or-worse.
    actual_qty : the actual annual total [kind unit], ``None`` if the year is incomplete.
    """

    enterprise_id: str
    budget_qty: float
    grades: Mapping[Month, WarningGrade]
    first_red: Month | None
    first_orange: Month | None
    actual_qty: float | None
    overran: bool | None

    @property
    def months_ahead(self) -> int | None:
        """Months between the first red warning and the end of the year (December)."""
        return None if self.first_red is None else 12 - self.first_red.month


def warning_timeline(
    ps: ParkSeries,
    budgets: Mapping[str, float] | BudgetPlan,
    year: int,
    *,
    last: Month | None = None,
    kind: BudgetKind = BudgetKind.ENERGY,
    thresholds: WarningThresholds = WarningThresholds(),
    method: ForecastMethod = ForecastMethod.SEASONAL_RATIO,
) -> tuple[WarningTimelineRow, ...]:
    """Replay the warnings at the end of every month of ``year`` (January … ``last``, default
    November) and compare with the actual year-end: how many months ahead was an overrun seen?"""
    end = last or Month(year, 11)
    first = budget_warnings(ps, budgets, Month(year, 1), kind=kind, thresholds=thresholds, method=method)
    reports = [first] + [budget_warnings(ps, budgets, Month(year, k), kind=kind, thresholds=thresholds, method=method,
                                         accuracy=first.accuracy) for k in range(2, end.month + 1)]
    annual = budgets.annual if isinstance(budgets, BudgetPlan) else dict(budgets)
    rows = []
    for e, b in sorted(annual.items()):
        grades = {r.as_of: next(w.grade for w in r.warnings if w.enterprise_id == e) for r in reports}
        red = next((m for m, g in grades.items() if g is WarningGrade.RED), None)
        orange = next((m for m, g in grades.items() if g.severity >= WarningGrade.ORANGE.severity), None)
        actual = ps.annual(e, _qty(kind), year)
        rows.append(WarningTimelineRow(e, b, grades, red, orange, actual, None if actual is None else actual > b))
    return tuple(rows)


# --- targets and evaluations --------------------------------------------------------------


def target_progress(
    ps: ParkSeries, set_id: str, through: Month, *, target_year: int | None = None, entity_id: str = "park",
) -> dict[str, tuple[tuple[ProgressPoint, ...], tuple[TargetCheck, ...]]]:
    """Monthly progress (Jan of the year after the base year … ``through``) and milestone checks
    of a shipped target set, for the park or one enterprise."""
    data = ps.park() if entity_id == "park" else ps.series[entity_id]
    out = {}
    for t in load_target_set(set_id, entity_id=entity_id, target_year=target_year):
        months = [m for m in ps.months if Month(t.base_year + 1, 1) <= m <= through]
        base = annual_indicator(t.indicator, data, t.base_year, entity_id).value if t.base_value is None else t.base_value
        prog = track_progress(t, data, months, base_value=base) if base is not None else ()
        checks = tuple(check_target(t, data, m.year, base_value=base) for m in t.milestones
                       if Month(m.year, 12) <= through) if base is not None else ()
        out[t.target_id] = (prog, checks)
    return out


def zero_carbon_report(
    ps: ParkSeries,
    year: int,
    *,
    product_checks: Sequence[ProductEnergyCheck] | None = None,
    not_applicable: Mapping[str, str] | None = None,
) -> ZeroCarbonParkReport:
    """Zero-carbon park "1 + 5" report of the park for ``year`` with the shipped thresholds."""
    return evaluate_zero_carbon_park(ps.park(), year, load_zero_carbon_criteria(), product_checks=product_checks,
                                     not_applicable=not_applicable)


def green_factory(
    ps: ParkSeries, enterprise_id: str, year: int, *, values: Mapping[str, float | None] | None = None,
    qualitative_frac: float | None = None, indicators_path: Path | None = None,
) -> GreenFactoryScore:
    """GB/T 36132-2025 self-assessment of one enterprise: platform data + user values."""
    if enterprise_id not in ps.series:
        raise InputError(f"unknown enterprise {enterprise_id!r}", message_zh=f"未知企业 {enterprise_id!r}",
                         location=Location(record=enterprise_id))
    defs = load_scored_indicators("green_factory", indicators_path)
    q = assess_scored(defs, year=year, data=ps.series[enterprise_id], values=values, entity_id=enterprise_id)
    return green_factory_score(q, qualitative_frac)


def green_park(ps: ParkSeries, year: int, *, values: Mapping[str, float | None] | None = None) -> GreenParkIndex:
    """MIIT green park composite index for the park."""
    return green_park_index(load_scored_indicators("green_park"), year=year, data=ps.park(), values=values)


def key_units(ps: ParkSeries, year: int, thresholds: KeyUnitThresholds | None = None) -> tuple[KeyUnitResult, ...]:
    """Classify every enterprise by its annual 综合能源消费量 of ``year``."""
    th = thresholds or load_key_unit_thresholds()
    return identify_key_units({e: ps.annual(e, "energy_tce", year) for e in ps.enterprises}, year, th)


# --- measures, pathways, projects ---------------------------------------------------------


def carrier_parameters(
    region: str, year: int, prices_cny_per_unit: Mapping[str, float], *,
    grid_calibre: GridCalibre = GridCalibre.PROVINCIAL, policy: FallbackPolicy = FallbackPolicy.REGION_THEN_YEAR,
) -> dict[str, CarrierParameters]:
    """Coal coefficients and CO2 factors per canonical unit from the factor package, with prices.

    Electricity: grid factor [tCO2/MWh] / 1000 → [tCO2/kWh]; fuels: NCV × carbon content ×
    oxidation × 44/12 [tCO2/unit]; steam: enthalpy × heat factor [tCO2/t].
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        af = accounting_factors(region, year, grid_calibre=grid_calibre, policy=policy)
    out: dict[str, CarrierParameters] = {}
    for code, price in prices_cny_per_unit.items():
        coal = af.coal_coefficients.get(code)
        if coal is None:
            raise InputError(f"no coal coefficient for carrier {code!r}", message_zh=f"能源品种 {code!r} 无折标系数",
                             location=Location(value=code))
        if code == "electricity":
            g = af.grid_ef_location
            ef = FactorRef(g.factor_id, g.key, g.value / 1000.0, "tCO2/kWh", g.source, g.grade, g.region, g.year,
                           g.set_version, g.fallback_note)
        elif code in af.fuels:
            f = af.fuels[code]
            v = f.ncv.value * f.carbon_content.value * f.oxidation.value * 44.0 / 12.0
            ef = FactorRef(f"{f.ncv.factor_id}+{f.carbon_content.factor_id}", f"co2.{code}", v, "tCO2/unit",
                           "; ".join((f.ncv.source, f.carbon_content.source)), "D", af.region, year)
        elif code == "steam":
            v = af.steam_enthalpy.value * af.heat_ef.value
            ef = FactorRef(f"{af.steam_enthalpy.factor_id}+{af.heat_ef.factor_id}", "co2.steam", v, "tCO2/t",
                           "; ".join((af.steam_enthalpy.source, af.heat_ef.source)), "D", af.region, year)
        else:
            raise InputError(f"no emission factor rule for carrier {code!r}", message_zh=f"能源品种 {code!r} 无排放因子规则",
                             location=Location(value=code))
        out[code] = CarrierParameters(code, coal, ef, float(price), "user-supplied price")
    return out


def measure_options_macc(
    options: Sequence[tuple[str, str, str, float]],
    carriers: Mapping[str, CarrierParameters],
    *,
    discount_rate_frac: float = 0.06,
    catalogue_path: Path | None = None,
) -> tuple[tuple[MeasureResult, ...], tuple[MaccPoint, ...]]:
    """Evaluate ``(option_id, enterprise_id, measure_id, size)`` options from the catalogue and
    build the MACC."""
    cat = {m.measure_id: m for m in load_measure_catalogue(catalogue_path)}
    results = []
    for oid, e, mid, size in options:
        if mid not in cat:
            raise InputError(f"unknown measure {mid!r}", message_zh=f"未知措施 {mid!r}", hint=f"known: {', '.join(cat)}",
                             location=Location(record=oid, value=mid))
        results.append(evaluate_measure(MeasureOption(oid, e, cat[mid], size), carriers, discount_rate_frac))
    return tuple(results), macc(results)


def enterprise_plan(
    enterprise_id: str,
    items: Sequence[tuple[str, str, float, Month]],
    carriers: Mapping[str, CarrierParameters],
    *,
    measured_saving_tce: Mapping[str, Mapping[Month, float | None]] | None = None,
    through: Month | None = None,
    discount_rate_frac: float = 0.06,
    catalogue_path: Path | None = None,
) -> tuple[EnterprisePlan, tuple[PlanItemProgress, ...]]:
    """一企一策: build an enterprise's plan from ``(option_id, measure_id, size, start month)`` items
    and, with ``through``, track it against the measured monthly savings [tce]."""
    results, _ = measure_options_macc([(oid, enterprise_id, mid, size) for oid, mid, size, _ in items], carriers,
                                      discount_rate_frac=discount_rate_frac, catalogue_path=catalogue_path)
    plan = build_plan(enterprise_id, results, {oid: start for oid, _, _, start in items})
    progress = track_plan(plan, measured_saving_tce or {}, through) if through is not None else ()
    return plan, progress


def pathway_from_series(
    ps: ParkSeries, base_year: int, scenario: Scenario, *, set_id: str = "carbon_peak_pilot",
) -> PathwayResult:
    """Project the park from its actual ``base_year`` totals and check the intensity and
    non-fossil targets of a target set year by year (needs ``direct_emissions_tco2`` and
    ``purchased_electricity_mwh`` series, e.g. from :func:`series_from_ledger`)."""
    data = ps.park()
    e = annual_indicator("energy_total_tce", data, base_year).value
    direct = compute_sum(data, "direct_emissions_tco2", base_year)
    elec = compute_sum(data, "purchased_electricity_mwh", base_year)
    av = annual_indicator("energy_intensity_tce_per_10k_cny", data, base_year).denominator
    nf_v = annual_indicator("non_fossil_share_frac", data, base_year).numerator
    if e is None or direct is None or elec is None or av is None:
        raise InputError(f"base year {base_year} is incomplete (energy, direct emissions, purchased electricity, "
                         "added value needed)", message_zh=f"基准年 {base_year} 数据不完整（需能耗、直接排放、外购电、增加值）",
                         location=Location(value=base_year))
    base = PathwayBase(base_year, e, direct, elec, av, nf_v or 0.0)
    targets = []
    for t in load_target_set(set_id):
        if t.indicator not in ("energy_intensity_tce_per_10k_cny", "non_fossil_share_frac",
                               "carbon_intensity_tco2_per_10k_cny"):
            continue
        tb = annual_indicator(t.indicator, data, t.base_year).value if t.base_value is None else t.base_value
        targets.append(replace(t, base_value=tb) if tb is not None else t)
    return project_pathway(base, scenario, targets)


def compute_sum(data: EntitySeries, quantity: str, year: int) -> float | None:
    """Annual sum of one quantity (``None`` when absent or a month is missing)."""
    s = data.get(quantity)
    if s is None:
        return None
    return _known_sum(s.get(Month(year, k)) for k in range(1, 13))


def assess_project_in_park(
    ps: ParkSeries, year: int, project: ProjectInputs, *, set_id: str | None = "carbon_peak_pilot",
    remaining_energy_budget_tce: float | None = None,
) -> ProjectAssessment:
    """Assess a new project against the park's actual totals of ``year`` and its targets."""
    data = ps.park()
    e = annual_indicator("energy_total_tce", data, year)
    c = annual_indicator("emissions_total_tco2", data, year).value
    av = annual_indicator("energy_intensity_tce_per_10k_cny", data, year).denominator
    nf = annual_indicator("non_fossil_share_frac", data, year).numerator
    if e.value is None or c is None or av is None:
        raise InputError(f"park data of {year} are incomplete", message_zh=f"园区 {year} 年数据不完整",
                         location=Location(value=year))
    targets = []
    if set_id:
        for t in load_target_set(set_id):
            if t.indicator not in ("energy_intensity_tce_per_10k_cny", "non_fossil_share_frac"):
                continue
            base = annual_indicator(t.indicator, data, t.base_year).value
            if base is not None:
                targets.append(replace(t, base_value=base))
    return assess_project(project, ParkTotals(year, e.value, c, av, nf or 0.0), targets=targets,
                          remaining_energy_budget_tce=remaining_energy_budget_tce)


def park_target_rows(series: ParkSeries, through: Month, *, set_id: str = "carbon_peak_pilot") -> tuple[TargetRow, ...]:
    """Report rows (目标进展): the milestones of target set ``set_id`` checked up to ``through`` and the
    zero-carbon park "1 + 5" indicators of ``through.year``, from the same series the dashboard tracks."""
    rows: list[TargetRow] = []
    targets = {t.target_id: t for t in load_target_set(set_id, target_year=through.year)}
    park = series.park()
    for target_id, (_progress, checks) in target_progress(series, set_id, through).items():
        target = targets[target_id]
        d = INDICATORS[target.indicator]
        base = annual_indicator(target.indicator, park, target.base_year).value if target.base_value is None \
            else target.base_value
        rows.extend(TargetRow(d.name_zh, d.name_en, d.unit, chk.year, base, chk.target_value, chk.actual.value,
                              chk.met, f"{target.source} [{target.grade}]") for chk in checks)
    report = zero_carbon_report(series, through.year)
    for cr in (report.core, *report.guiding):
        crit = cr.criterion
        met = {Verdict.PASS: True, Verdict.FAIL: False}.get(cr.verdict)
        rows.append(TargetRow(f"零碳园区 {cr.name_zh}", cr.indicator, cr.unit, through.year, None,
                              crit.threshold if crit else None, cr.value, met,
                              (f"{crit.source} [{crit.grade}]" if crit else "") + (f" — {cr.note}" if cr.note else "")))
    return tuple(rows)
