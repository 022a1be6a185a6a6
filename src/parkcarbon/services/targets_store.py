"""Stored targets, budgets and graded early warnings (目标、预算与分级预警) of a park — scoped and audited.

Use cases (the park administrator — 园区管委会能碳办 — writes, see :mod:`parkcarbon.services.tenancy`):

* :func:`set_target` / :func:`import_target_set` / :func:`list_targets` / :func:`delete_target`:
  targets of the park or of one enterprise on an indicator of :data:`parkcarbon.core.targets.INDICATORS`
  (base year, base value, milestones, source); :func:`progress` tracks them monthly (TTM vs path).
* :func:`set_budget`: the park's energy [tce] or carbon [tCO2] budget for a year, allocated by
  :func:`parkcarbon.services.targets.budget_plan` (history / benchmark / output) and phased monthly;
  :func:`allocations` reads it back (an enterprise user sees only its own row).
* :func:`set_thresholds`, :func:`add_webhook`, :func:`list_webhooks`, :func:`delete_webhook`.
* :func:`run_warning_check`: forecast every budgeted enterprise's year-end at ``as_of``
  (:func:`parkcarbon.services.targets.budget_warnings`), store one event per enterprise × month,
  and deliver by webhook (:func:`parkcarbon.services.warnings.deliver_warnings`, HMAC-signed) only
  the warnings that are **new or escalated** versus the last stored event of the year — an
  unchanged or lower grade is never re-delivered. :func:`list_warnings` reads the events.

The monthly series comes from :func:`parkcarbon.services.targets.series_from_store` with the
inventories of :func:`parkcarbon.services.accounting.account_park_year`, so budget figures equal
the park's inventories.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import delete, select

from parkcarbon.core.budget import AllocationMethod, BudgetKind, WarningGrade, WarningThresholds
from parkcarbon.core.evaluation import GreenFactoryScore, ZeroCarbonParkReport
from parkcarbon.core.measures import KeyUnitResult
from parkcarbon.core.targets import (
    INDICATORS,
    Milestone,
    ProgressPoint,
    Target,
    TargetCheck,
    annual_indicator,
    check_target,
    track_progress,
)
from parkcarbon.errors import InputError, Location, NotFoundError
from parkcarbon.factors.evaluation_data import load_target_set
from parkcarbon.periods import Month
from parkcarbon.services.accounting import account_park_year
from parkcarbon.services.audit import audit
from parkcarbon.services.targets import (
    ParkSeries,
    WarningReport,
    budget_plan,
    budget_warnings,
    green_factory,
    key_units,
    series_from_store,
    zero_carbon_report,
)
from parkcarbon.services.tenancy import (
    Scope,
    not_found,
    scoped_reader,
    scoped_transaction,
    system_scope,
    tenant_context,
)
from parkcarbon.services.warnings import DeliveryResult, WebhookConfig, deliver_warnings
from parkcarbon.storage import Repository, Store
from parkcarbon.storage.models import utc_now
from parkcarbon.storage.models_planning import park_tenant
from parkcarbon.storage.models_targets import (
    BudgetAllocationRow,
    BudgetRow,
    TargetRow,
    WarningConfigRow,
    WarningEventRow,
    WebhookSubscriptionRow,
)

__all__ = [
    "HISTORY_YEARS",
    "Allocation",
    "CheckResult",
    "StoredBudget",
    "StoredTarget",
    "WarningEvent",
    "Webhook",
    "add_webhook",
    "allocations",
    "delete_target",
    "delete_webhook",
    "enterprise_budgets",
    "green_factory_assessment",
    "import_target_set",
    "json_ready",
    "key_energy_units",
    "list_budgets",
    "list_targets",
    "list_warnings",
    "list_webhooks",
    "park_series",
    "progress",
    "run_warning_check",
    "set_budget",
    "set_target",
    "set_thresholds",
    "stored_budget_qty",
    "thresholds_of",
    "zero_carbon",
]

#: years of history read before the budget year (allocation basis, seasonal profile, backtest)
HISTORY_YEARS = 3


@dataclass(frozen=True)
class StoredTarget:
    """A stored target; ``entity_id`` is ``"park"`` or the enterprise id."""

    id: str
    park_id: str
    enterprise_id: str | None
    indicator: str
    base_year: int
    base_value: float | None
    milestones: tuple[dict[str, Any], ...]
    source: str
    set_id: str | None
    created_by: str
    created_at: datetime

    @property
    def entity_id(self) -> str:
        return self.enterprise_id or "park"

    def target(self) -> Target:
        ms = tuple(Milestone(int(m["year"]), m.get("value"), m.get("reduction_frac"), m.get("reference_year"))
                   for m in self.milestones)
        return Target(self.id, self.indicator, self.entity_id, self.base_year, ms, self.base_value, self.source)


@dataclass(frozen=True)
class Allocation:
    """One enterprise's annual budget [kind unit], share [fraction] and monthly phasing (month → qty)."""

    enterprise_id: str
    budget_qty: float
    share_frac: float
    weight: float
    monthly: dict[str, float]


@dataclass(frozen=True)
class StoredBudget:
    """A park budget for ``year`` [``kind`` unit] and the allocations the caller may see."""

    id: str
    park_id: str
    year: int
    kind: str
    unit: str
    park_budget_qty: float
    method: str
    reserve_frac: float
    created_by: str
    created_at: datetime
    allocations: tuple[Allocation, ...]


@dataclass(frozen=True)
class Webhook:
    """A webhook subscription; the secret is never returned, only its SHA-256 fingerprint (first 12 hex)."""

    id: str
    park_id: str
    url: str
    min_grade: str
    active: bool
    secret_fingerprint: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class WarningEvent:
    """A stored warning of one enterprise at the end of ``as_of`` and its delivery.

    forecast_qty / low_qty / high_qty / budget_qty / ytd_actual_qty : [``kind`` unit].
    """

    id: str
    park_id: str
    enterprise_id: str
    year: int
    as_of: str
    kind: str
    grade: str
    previous_grade: str | None
    forecast_qty: float
    low_qty: float | None
    high_qty: float | None
    budget_qty: float
    ratio_frac: float
    ytd_actual_qty: float
    message: str
    message_zh: str
    delivery_status: str
    delivery_id: str | None
    delivered_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one warning check: the report, the stored events, the webhook deliveries."""

    report: WarningReport
    events: tuple[WarningEvent, ...]
    notified: tuple[str, ...]  # enterprise ids whose new / escalated warning was delivered
    deliveries: tuple[DeliveryResult, ...]


def json_ready(obj: Any) -> Any:
    """JSON-ready form of a result dataclass (enums → values, months → ``YYYY-MM``, NaN/inf → null),
    shared by the API and the dashboard so both show the same numbers."""
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, Month):
        return str(obj)
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: json_ready(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, dict):
        return {str(json_ready(k)): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [json_ready(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, date | datetime):
        return obj.isoformat()
    return obj


# ---------------------------------------------------------------------------------------------
# scope helpers
# ---------------------------------------------------------------------------------------------


def _wide(repo: Repository, scope: Scope, park_id: str) -> Scope:
    """``scope`` plus the park tenant (park-level rows) when the caller may read the park."""
    if scope.all_tenants or not (scope.can_read_park(park_id)):
        return scope
    return replace(scope, tenants={**scope.tenants, park_tenant(park_id): park_tenant(park_id)})


@contextmanager
def _park_tx(store: Store, scope: Scope, park_id: str, *, write: bool) -> Iterator[tuple[Repository, Scope]]:
    """A transaction on ``park_id``; ``write`` needs the park administrator (404 before 403)."""
    with scoped_reader(store, scope) as repo:
        scope.park(repo, park_id, action="admin" if write else "read")
        wide = _wide(repo, scope, park_id)
    ctx = scoped_transaction if write else scoped_reader
    with ctx(store, wide) as repo:
        yield repo, wide


def _enterprise_park(store: Store, scope: Scope, enterprise_id: str) -> tuple[str, str]:
    """(park id, tenant id) of an enterprise the caller may read."""
    with scoped_reader(store, scope) as repo:
        ent = scope.enterprise(repo, enterprise_id)
        if ent.park_id is None:
            raise not_found("enterprise", "企业", enterprise_id)
        return str(ent.park_id), ent.tenant_id


def _tenants_of(repo: Repository, park_id: str) -> dict[str, str]:
    return {e.id: e.tenant_id for e in repo.list_enterprises(park_id=park_id)}


# ---------------------------------------------------------------------------------------------
# series
# ---------------------------------------------------------------------------------------------


def park_series(store: Store, park_id: str, year: int, *, history_years: int = HISTORY_YEARS) -> ParkSeries:
    """The park's monthly series over ``year − history_years`` … ``year`` (system read, no scope:
    callers check the scope first)."""
    with tenant_context(system_scope("targets")):  # RLS: a system read of the whole park (PostgreSQL)
        runs = [account_park_year(store, park_id, y) for y in range(year - history_years, year + 1)]
        return series_from_store(store, park_id, runs)


# ---------------------------------------------------------------------------------------------
# targets
# ---------------------------------------------------------------------------------------------


def _target_out(r: TargetRow) -> StoredTarget:
    return StoredTarget(r.id, r.park_id, r.enterprise_id, r.indicator, r.base_year, r.base_value,
                        tuple(json.loads(r.milestones_json)), r.source, r.set_id, r.created_by, r.created_at)


def _milestone_json(m: Milestone) -> dict[str, Any]:
    return {"year": m.year, "value": m.value, "reduction_frac": m.reduction_frac, "reference_year": m.reference_year}


def set_target(store: Store, scope: Scope, park_id: str, *, indicator: str, base_year: int,
               milestones: Sequence[Milestone], base_value: float | None = None, source: str,
               enterprise_id: str | None = None, set_id: str | None = None, actor: str,
               request_id: str | None = None, ip: str | None = None) -> StoredTarget:
    """Store a target of the park (or of one of its enterprises); validated by :class:`Target`."""
    if indicator not in INDICATORS:
        raise InputError(f"unknown indicator {indicator!r}", message_zh=f"未知指标 {indicator!r}",
                         hint=f"one of {', '.join(sorted(INDICATORS))}", location=Location(column="indicator",
                                                                                          value=indicator))
    if not source.strip():
        raise InputError("a target needs its source (document, clause)", message_zh="目标须注明来源（文件、条款）",
                         location=Location(column="source"))
    Target("new", indicator, enterprise_id or "park", base_year, tuple(milestones), base_value, source)
    with _park_tx(store, scope, park_id, write=True) as (repo, _wide):
        tenant = park_tenant(park_id)
        if enterprise_id is not None:
            tenants = _tenants_of(repo, park_id)
            if enterprise_id not in tenants:
                raise not_found("enterprise", "企业", enterprise_id)
            tenant = tenants[enterprise_id]
        row = TargetRow(tenant_id=tenant, park_id=park_id, enterprise_id=enterprise_id, indicator=indicator,
                        base_year=base_year, base_value=base_value,
                        milestones_json=json.dumps([_milestone_json(m) for m in milestones]), source=source,
                        set_id=set_id, created_by=actor)
        repo.session.add(row)
        repo.session.flush()
        audit(repo.session, actor=actor, action="target.set", object_type="target", object_id=row.id,
              tenant_id=tenant, new={"indicator": indicator, "base_year": base_year, "base_value": base_value,
                                     "milestones": json.loads(row.milestones_json), "enterprise_id": enterprise_id,
                                     "source": source, "set_id": set_id}, request_id=request_id, ip=ip)
        return _target_out(row)


def import_target_set(store: Store, scope: Scope, park_id: str, set_id: str, *, target_year: int | None = None,
                      actor: str, request_id: str | None = None, ip: str | None = None) -> list[StoredTarget]:
    """Store the park targets of a packaged target set (e.g. ``carbon_peak_pilot``)."""
    out = []
    for t in load_target_set(set_id, entity_id="park", target_year=target_year):
        out.append(set_target(store, scope, park_id, indicator=t.indicator, base_year=t.base_year,
                              milestones=t.milestones, base_value=t.base_value,
                              source=t.source or f"packaged target set {set_id}", set_id=set_id, actor=actor,
                              request_id=request_id, ip=ip))
    return out


def list_targets(store: Store, scope: Scope, park_id: str) -> list[StoredTarget]:
    """Targets of the park and of the enterprises the caller may read."""
    with _park_tx(store, scope, park_id, write=False) as (repo, _wide):
        rows = repo.session.scalars(select(TargetRow).where(TargetRow.park_id == park_id)
                                    .order_by(TargetRow.created_at, TargetRow.id))
        return [_target_out(r) for r in rows]


def delete_target(store: Store, scope: Scope, park_id: str, target_id: str, *, actor: str,
                  request_id: str | None = None, ip: str | None = None) -> None:
    """Delete a target of the park (park administrator)."""
    with _park_tx(store, scope, park_id, write=True) as (repo, _wide):
        row = repo.session.get(TargetRow, target_id)
        if row is None or row.park_id != park_id:
            raise not_found("target", "目标", target_id)
        old = _target_out(row)
        audit(repo.session, actor=actor, action="target.delete", object_type="target", object_id=target_id,
              tenant_id=row.tenant_id, old={"indicator": old.indicator, "base_year": old.base_year,
                                            "milestones": list(old.milestones), "source": old.source},
              request_id=request_id, ip=ip)
        repo.session.delete(row)


def progress(store: Store, scope: Scope, park_id: str, through: Month, *, series: ParkSeries | None = None
             ) -> dict[str, tuple[StoredTarget, tuple[ProgressPoint, ...], tuple[TargetCheck, ...]]]:
    """Monthly progress (TTM vs target path, Jan of base year + 1 … ``through``) and milestone checks
    of the stored targets (目标进度)."""
    targets = list_targets(store, scope, park_id)
    if not targets:
        return {}
    first = min(t.base_year for t in targets)
    ps = series or park_series(store, park_id, through.year, history_years=max(0, through.year - first))
    out = {}
    for st in targets:
        t = st.target()
        data = ps.park() if st.enterprise_id is None else ps.series.get(st.enterprise_id, {})
        base = (annual_indicator(t.indicator, data, t.base_year, t.entity_id).value
                if t.base_value is None else t.base_value)
        months = [m for m in ps.months if Month(t.base_year + 1, 1) <= m <= through]
        prog = track_progress(t, data, months, base_value=base) if base is not None else ()
        checks = tuple(check_target(t, data, m.year, base_value=base) for m in t.milestones
                       if Month(m.year, 12) <= through) if base is not None else ()
        out[st.id] = (st, prog, checks)
    return out


# ---------------------------------------------------------------------------------------------
# budgets
# ---------------------------------------------------------------------------------------------


def _budget_out(b: BudgetRow, rows: Sequence[BudgetAllocationRow]) -> StoredBudget:
    allocs = tuple(Allocation(a.enterprise_id, a.budget_qty, a.share_frac, a.weight, json.loads(a.monthly_json))
                   for a in sorted(rows, key=lambda a: a.enterprise_id))
    return StoredBudget(b.id, b.park_id, b.year, b.kind, BudgetKind(b.kind).unit, b.park_budget_qty, b.method,
                        b.reserve_frac, b.created_by, b.created_at, allocs)


def set_budget(store: Store, scope: Scope, park_id: str, year: int, park_budget_qty: float, *,
               kind: BudgetKind = BudgetKind.ENERGY, method: AllocationMethod = AllocationMethod.HISTORY,
               reserve_frac: float = 0.0, benchmarks: dict[str, float] | None = None, actor: str,
               series: ParkSeries | None = None, request_id: str | None = None,
               ip: str | None = None) -> StoredBudget:
    """Set (or replace) the park budget for ``year`` and allocate it with :func:`budget_plan`.

    ``park_budget_qty`` [tce | tCO2]. The previous budget of the same year and kind is replaced
    (the audit record keeps its old figures).
    """
    with scoped_reader(store, scope) as repo:
        scope.park(repo, park_id, action="admin")
    ps = series or park_series(store, park_id, year)
    plan = budget_plan(ps, year, park_budget_qty, method=method, kind=kind, reserve_frac=reserve_frac,
                       benchmarks=benchmarks, history_years=HISTORY_YEARS)
    with _park_tx(store, scope, park_id, write=True) as (repo, _wide):
        tenants = _tenants_of(repo, park_id)
        old = repo.session.scalars(select(BudgetRow).where(BudgetRow.park_id == park_id, BudgetRow.year == year,
                                                           BudgetRow.kind == kind.value)).first()
        old_json = None
        if old is not None:
            old_json = {"park_budget_qty": old.park_budget_qty, "method": old.method, "reserve_frac": old.reserve_frac}
            repo.session.execute(delete(BudgetAllocationRow).where(BudgetAllocationRow.budget_id == old.id))
            repo.session.delete(old)
            repo.session.flush()
        b = BudgetRow(tenant_id=park_tenant(park_id), park_id=park_id, year=year, kind=kind.value,
                      park_budget_qty=float(park_budget_qty), method=method.value, reserve_frac=reserve_frac,
                      created_by=actor)
        repo.session.add(b)
        repo.session.flush()
        rows = []
        for a in plan.allocations:
            monthly = {str(m): float(v) for m, v in sorted(plan.monthly[a.enterprise_id].items())}
            rows.append(BudgetAllocationRow(tenant_id=tenants[a.enterprise_id], budget_id=b.id,
                                            enterprise_id=a.enterprise_id, budget_qty=a.budget_qty,
                                            share_frac=a.share_frac, weight=a.weight,
                                            monthly_json=json.dumps(monthly)))
        repo.session.add_all(rows)
        repo.session.flush()
        audit(repo.session, actor=actor, action="budget.set", object_type="budget", object_id=b.id,
              tenant_id=b.tenant_id, old=old_json,
              new={"year": year, "kind": kind.value, "park_budget_qty": park_budget_qty, "method": method.value,
                   "reserve_frac": reserve_frac, "allocations": {r.enterprise_id: r.budget_qty for r in rows}},
              request_id=request_id, ip=ip)
        return _budget_out(b, rows)


def _visible_enterprises(store: Store, scope: Scope, park_id: str) -> frozenset[str] | None:
    """Enterprises of ``park_id`` whose detail the caller may read: ``None`` = all (park administrator,
    platform); the provincial operator sees park figures only (empty set); an enterprise user its
    own enterprises; nothing at all → NotFoundError (same as a missing park)."""
    with scoped_reader(store, scope) as repo:
        if scope.can_admin_park(park_id):
            scope.park(repo, park_id)
            return None
        ents = [e.id for e in repo.list_enterprises(park_id=park_id)]
        own = frozenset(e for e in ents if scope.can_read_enterprise(e, park_id) and e in scope.tenants)
        if own:
            return own
        scope.park(repo, park_id)  # 404 unless the provincial operator
        return frozenset()


def _park_reader_scope(scope: Scope, park_id: str) -> Scope:
    """``scope`` plus the park tenant, for reading park-level rows after the checks above."""
    if scope.all_tenants:
        return scope
    return replace(scope, tenants={**scope.tenants, park_tenant(park_id): park_tenant(park_id)})


def allocations(store: Store, scope: Scope, park_id: str, year: int, kind: BudgetKind = BudgetKind.ENERGY
                ) -> StoredBudget:
    """The stored budget of ``year`` and the allocations the caller may read.

    An enterprise user of the park sees the park figure and only its own allocation; the
    provincial operator the park figure only. No budget → NotFoundError.
    """
    own = _visible_enterprises(store, scope, park_id)
    with scoped_reader(store, _park_reader_scope(scope, park_id)) as repo:
        b = repo.session.scalars(select(BudgetRow).where(BudgetRow.park_id == park_id, BudgetRow.year == year,
                                                         BudgetRow.kind == kind.value)).first()
        if b is None:
            raise not_found("budget", "预算", f"{park_id}/{year}/{kind.value}")
        rows = [a for a in repo.session.scalars(select(BudgetAllocationRow).where(
            BudgetAllocationRow.budget_id == b.id)) if own is None or a.enterprise_id in own]
        return _budget_out(b, rows)


def list_budgets(store: Store, scope: Scope, park_id: str, *, year: int | None = None) -> list[StoredBudget]:
    """Stored budgets of the park (newest year first) with the allocations the caller may read."""
    own = _visible_enterprises(store, scope, park_id)
    with scoped_reader(store, _park_reader_scope(scope, park_id)) as repo:
        q = select(BudgetRow).where(BudgetRow.park_id == park_id)
        if year is not None:
            q = q.where(BudgetRow.year == year)
        out = []
        for b in repo.session.scalars(q.order_by(BudgetRow.year.desc(), BudgetRow.kind)):
            rows = [a for a in repo.session.scalars(select(BudgetAllocationRow).where(
                BudgetAllocationRow.budget_id == b.id)) if own is None or a.enterprise_id in own]
            out.append(_budget_out(b, rows))
        return out


def enterprise_budgets(store: Store, scope: Scope, enterprise_id: str, *, year: int | None = None) -> list[StoredBudget]:
    """The budgets of the enterprise's park with only this enterprise's allocation (企业预算)."""
    park_id, _tenant = _enterprise_park(store, scope, enterprise_id)
    with scoped_reader(store, _park_reader_scope(scope, park_id)) as repo:
        q = select(BudgetRow).where(BudgetRow.park_id == park_id)
        if year is not None:
            q = q.where(BudgetRow.year == year)
        out = []
        for b in repo.session.scalars(q.order_by(BudgetRow.year.desc(), BudgetRow.kind)):
            rows = list(repo.session.scalars(select(BudgetAllocationRow).where(
                BudgetAllocationRow.budget_id == b.id, BudgetAllocationRow.enterprise_id == enterprise_id)))
            out.append(_budget_out(b, rows))
        return out


def zero_carbon(store: Store, scope: Scope, park_id: str, year: int) -> ZeroCarbonParkReport:
    """Zero-carbon park "1 + 5" report of the stored park for ``year`` (park administrator, province)."""
    with scoped_reader(store, scope) as repo:
        scope.park(repo, park_id)
    return zero_carbon_report(park_series(store, park_id, year, history_years=0), year)


def key_energy_units(store: Store, scope: Scope, park_id: str, year: int) -> tuple[KeyUnitResult, ...]:
    """Key energy-consuming units (重点用能单位) of the park for ``year`` (park administrator: the list
    names enterprises, which the provincial operator does not see)."""
    with scoped_reader(store, scope) as repo:
        scope.park(repo, park_id, action="admin")
    return key_units(park_series(store, park_id, year, history_years=0), year)


def green_factory_assessment(store: Store, scope: Scope, enterprise_id: str, year: int) -> GreenFactoryScore:
    """GB/T 36132-2025 green factory self-assessment of one enterprise from platform data (read)."""
    park_id, _tenant = _enterprise_park(store, scope, enterprise_id)
    return green_factory(park_series(store, park_id, year, history_years=0), enterprise_id, year)


def stored_budget_qty(store: Store, park_id: str, year: int | None,
                      kind: BudgetKind = BudgetKind.ENERGY) -> float | None:
    """The park budget [tce | tCO2] stored for ``year`` (``None`` = the newest stored year), ``None``
    if none (system read: the dashboard's park overview, whose caller was checked already)."""
    with tenant_context(system_scope("targets")), store.reader() as repo:
        q = select(BudgetRow).where(BudgetRow.park_id == park_id, BudgetRow.kind == kind.value)
        if year is not None:
            q = q.where(BudgetRow.year == year)
        b = repo.session.scalars(q.order_by(BudgetRow.year.desc()).limit(1)).first()
        return None if b is None else float(b.park_budget_qty)


# ---------------------------------------------------------------------------------------------
# thresholds and webhooks
# ---------------------------------------------------------------------------------------------


def set_thresholds(store: Store, scope: Scope, park_id: str, thresholds: WarningThresholds, *, actor: str,
                   request_id: str | None = None, ip: str | None = None) -> WarningThresholds:
    """Store the park's warning thresholds (validated by :class:`WarningThresholds`)."""
    with _park_tx(store, scope, park_id, write=True) as (repo, _wide):
        row = repo.session.scalars(select(WarningConfigRow).where(WarningConfigRow.park_id == park_id)).first()
        old = None if row is None else {"yellow_frac": row.yellow_frac, "orange_frac": row.orange_frac,
                                        "red_frac": row.red_frac, "basis": row.basis}
        if row is None:
            row = WarningConfigRow(tenant_id=park_tenant(park_id), park_id=park_id)
            repo.session.add(row)
        row.yellow_frac, row.orange_frac, row.red_frac = (thresholds.yellow_frac, thresholds.orange_frac,
                                                          thresholds.red_frac)
        row.basis, row.source, row.updated_by, row.updated_at = thresholds.basis, thresholds.source, actor, utc_now()
        repo.session.flush()
        audit(repo.session, actor=actor, action="warning.thresholds", object_type="warning_config", object_id=row.id,
              tenant_id=row.tenant_id, old=old, new={"yellow_frac": thresholds.yellow_frac,
                                                     "orange_frac": thresholds.orange_frac,
                                                     "red_frac": thresholds.red_frac, "basis": thresholds.basis},
              request_id=request_id, ip=ip)
    return thresholds


def thresholds_of(store: Store, park_id: str) -> WarningThresholds:
    """The park's stored thresholds, else the packaged defaults (system read)."""
    with tenant_context(system_scope("targets")), store.reader() as repo:
        row = repo.session.scalars(select(WarningConfigRow).where(WarningConfigRow.park_id == park_id)).first()
        if row is None:
            return WarningThresholds()
        return WarningThresholds(row.yellow_frac, row.orange_frac, row.red_frac, row.basis, row.source)


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]


def _webhook_out(r: WebhookSubscriptionRow) -> Webhook:
    return Webhook(r.id, r.park_id, r.url, r.min_grade, r.active, _fingerprint(r.secret), r.created_by, r.created_at)


def add_webhook(store: Store, scope: Scope, park_id: str, url: str, secret: str, *,
                min_grade: WarningGrade = WarningGrade.YELLOW, actor: str, request_id: str | None = None,
                ip: str | None = None) -> Webhook:
    """Subscribe ``url`` to the park's warnings (validated by :class:`WebhookConfig`)."""
    WebhookConfig(url, secret, min_grade=min_grade)
    with _park_tx(store, scope, park_id, write=True) as (repo, _wide):
        row = WebhookSubscriptionRow(tenant_id=park_tenant(park_id), park_id=park_id, url=url, secret=secret,
                                     min_grade=min_grade.value, active=True, created_by=actor)
        repo.session.add(row)
        repo.session.flush()
        audit(repo.session, actor=actor, action="webhook.add", object_type="webhook_subscription", object_id=row.id,
              tenant_id=row.tenant_id, new={"url": url, "min_grade": min_grade.value,
                                            "secret_fingerprint": _fingerprint(secret)},
              request_id=request_id, ip=ip)
        return _webhook_out(row)


def list_webhooks(store: Store, scope: Scope, park_id: str) -> list[Webhook]:
    """The park's webhook subscriptions (park administrator)."""
    with _park_tx(store, scope, park_id, write=False) as (repo, _wide):
        scope.park(repo, park_id, action="admin")
        rows = repo.session.scalars(select(WebhookSubscriptionRow).where(WebhookSubscriptionRow.park_id == park_id)
                                    .order_by(WebhookSubscriptionRow.created_at))
        return [_webhook_out(r) for r in rows]


def delete_webhook(store: Store, scope: Scope, park_id: str, webhook_id: str, *, actor: str,
                   request_id: str | None = None, ip: str | None = None) -> None:
    """Remove a subscription of the park."""
    with _park_tx(store, scope, park_id, write=True) as (repo, _wide):
        row = repo.session.get(WebhookSubscriptionRow, webhook_id)
        if row is None or row.park_id != park_id:
            raise not_found("webhook", "推送订阅", webhook_id)
        audit(repo.session, actor=actor, action="webhook.delete", object_type="webhook_subscription",
              object_id=row.id, tenant_id=row.tenant_id, old={"url": row.url, "min_grade": row.min_grade},
              request_id=request_id, ip=ip)
        repo.session.delete(row)


# ---------------------------------------------------------------------------------------------
# warnings
# ---------------------------------------------------------------------------------------------


def _event_out(r: WarningEventRow) -> WarningEvent:
    return WarningEvent(r.id, r.park_id, r.enterprise_id, r.year, r.as_of, r.kind, r.grade, r.previous_grade,
                        r.forecast_qty, r.low_qty, r.high_qty, r.budget_qty, r.ratio_frac, r.ytd_actual_qty,
                        r.message, r.message_zh, r.delivery_status, r.delivery_id, r.delivered_at, r.created_at)


def run_warning_check(store: Store, scope: Scope, park_id: str, as_of: Month, *,
                      kind: BudgetKind = BudgetKind.ENERGY, actor: str, series: ParkSeries | None = None,
                      deliver_kw: dict[str, Any] | None = None, request_id: str | None = None,
                      ip: str | None = None) -> CheckResult:
    """Monthly warning check (月度预警) as of the end of ``as_of`` against the stored budget.

    Stores (or updates, on a re-run) one event per budgeted enterprise for ``as_of``, commits, then
    delivers (no transaction is held during HTTP retries) and records the outcome. A warning is delivered
    to every active subscription whose ``min_grade`` it reaches **only** when its grade is new
    (no earlier event this year) or more severe than the latest earlier event of the year; an
    unchanged or lower grade is stored with ``delivery_status = 'not_sent'``.
    ``deliver_kw`` is passed to :func:`deliver_warnings` (e.g. ``sleep`` in tests).
    """
    with scoped_reader(store, scope) as repo:
        scope.park(repo, park_id, action="admin")
    try:
        budget = allocations(store, scope, park_id, as_of.year, kind)
    except NotFoundError:
        raise InputError(f"no {kind.value} budget stored for {as_of.year}", message_zh=f"尚未设置 {as_of.year} 年预算",
                         code="E-BUDGET-MISSING", hint="set and allocate the budget first",
                         hint_zh="请先设置并分配预算", location=Location(record=park_id, value=as_of.year)) from None
    if not budget.allocations:
        raise InputError("the budget has no allocations", message_zh="预算尚未分配到企业",
                         location=Location(record=budget.id))
    thresholds = thresholds_of(store, park_id)
    ps = series or park_series(store, park_id, as_of.year)
    annual = {a.enterprise_id: a.budget_qty for a in budget.allocations if a.budget_qty > 0}
    report = budget_warnings(ps, annual, as_of, kind=kind, thresholds=thresholds, history_years=HISTORY_YEARS)
    with _park_tx(store, scope, park_id, write=True) as (repo, _wide):
        tenants = _tenants_of(repo, park_id)
        hooks = list(repo.session.scalars(select(WebhookSubscriptionRow).where(
            WebhookSubscriptionRow.park_id == park_id, WebhookSubscriptionRow.active.is_(True))))
        prev: dict[str, str] = {}
        for ev in repo.session.scalars(select(WarningEventRow).where(
                WarningEventRow.park_id == park_id, WarningEventRow.kind == kind.value,
                WarningEventRow.year == as_of.year, WarningEventRow.as_of < str(as_of))
                .order_by(WarningEventRow.as_of)):
            prev[ev.enterprise_id] = ev.grade
        # a re-run of the same month updates its rows; the grade it compares with is the one
        # already stored for this month (unless that one never reached the receiver)
        same = {ev.enterprise_id: ev for ev in repo.session.scalars(select(WarningEventRow).where(
            WarningEventRow.park_id == park_id, WarningEventRow.kind == kind.value,
            WarningEventRow.as_of == str(as_of)))}
        rows: dict[str, WarningEventRow] = {}
        fresh = []
        for w in report.warnings:
            before = prev.get(w.enterprise_id)
            row = same.pop(w.enterprise_id, None)
            compare = before
            if row is not None and row.delivery_status != "failed":
                compare = row.grade
            if compare is None or w.grade.severity > WarningGrade(compare).severity:
                fresh.append(w)
            if row is None:
                row = WarningEventRow(tenant_id=tenants[w.enterprise_id], park_id=park_id,
                                      enterprise_id=w.enterprise_id, year=w.year, as_of=str(as_of), kind=kind.value,
                                      delivery_status="not_sent" if hooks else "no_subscription")
                repo.session.add(row)
            row.grade, row.previous_grade = w.grade.value, before
            row.forecast_qty, row.low_qty, row.high_qty = w.forecast.year_end, w.forecast.low, w.forecast.high
            row.budget_qty, row.ratio_frac, row.ytd_actual_qty = w.budget_qty, w.ratio_frac, w.forecast.ytd_actual
            row.message, row.message_zh, row.created_by, row.created_at = w.message, w.message_zh, actor, utc_now()
            if row.delivery_status == "no_subscription" and hooks:
                row.delivery_status = "not_sent"
            rows[w.enterprise_id] = row
        for stale in same.values():  # enterprises no longer budgeted this month
            repo.session.delete(stale)
        repo.session.flush()
        row_ids = {e: r.id for e, r in rows.items()}
        grades = {e: r.grade for e, r in rows.items()}
        configs = [WebhookConfig(h.url, h.secret, min_grade=WarningGrade(h.min_grade)) for h in hooks]
    # deliver after the events are committed: no database transaction is held during HTTP retries
    deliveries: list[DeliveryResult] = []
    sent: list[tuple[DeliveryResult, tuple[str, ...]]] = []
    for cfg in configs:
        sub = replace(report, warnings=tuple(w for w in fresh if w.grade.severity >= cfg.min_grade.severity))
        res = deliver_warnings(sub, cfg, **(deliver_kw or {}))
        if res is not None:
            deliveries.append(res)
            sent.append((res, tuple(w.enterprise_id for w in sub.warnings)))
    notified: set[str] = set()
    with _park_tx(store, scope, park_id, write=True) as (repo, _wide):
        by_id = {r.id: r for r in repo.session.scalars(select(WarningEventRow).where(
            WarningEventRow.id.in_(sorted(row_ids.values()))))}
        for res, ents in sent:
            for e in ents:
                row = by_id[row_ids[e]]
                if res.delivered:
                    row.delivery_status, row.delivery_id, row.delivered_at = "delivered", res.delivery_id, utc_now()
                    notified.add(e)
                elif row.delivery_status != "delivered":
                    row.delivery_status, row.delivery_id = "failed", res.delivery_id
        repo.session.flush()
        audit(repo.session, actor=actor, action="warning.check", object_type="park", object_id=park_id,
              tenant_id=park_tenant(park_id),
              new={"as_of": str(as_of), "kind": kind.value, "grades": grades, "notified": sorted(notified),
                   "deliveries": [{"id": d.delivery_id, "delivered": d.delivered, "status": d.status}
                                  for d in deliveries]},
              request_id=request_id, ip=ip)
        events = tuple(_event_out(by_id[row_ids[e]]) for e in sorted(row_ids))
    return CheckResult(report, events, tuple(sorted(notified)), tuple(deliveries))


def list_warnings(store: Store, scope: Scope, *, park_id: str | None = None, enterprise_id: str | None = None,
                  year: int | None = None, limit: int = 500) -> list[WarningEvent]:
    """Warning events, newest month first: of a park (enterprise users: only their own rows) or
    of one enterprise."""
    if (park_id is None) == (enterprise_id is None):
        raise InputError("give a park or an enterprise", message_zh="请指定园区或企业（二选一）")
    if enterprise_id is not None:
        park_id, _tenant = _enterprise_park(store, scope, enterprise_id)
        own: frozenset[str] | None = frozenset({enterprise_id})
    else:
        assert park_id is not None
        own = _visible_enterprises(store, scope, park_id)
    with scoped_reader(store, _park_reader_scope(scope, park_id)) as repo:
        q = select(WarningEventRow).where(WarningEventRow.park_id == park_id)
        if own is not None:
            q = q.where(WarningEventRow.enterprise_id.in_(sorted(own)))
        if year is not None:
            q = q.where(WarningEventRow.year == year)
        q = q.order_by(WarningEventRow.as_of.desc(), WarningEventRow.enterprise_id).limit(min(max(limit, 1), 5000))
        return [_event_out(r) for r in repo.session.scalars(q)]


