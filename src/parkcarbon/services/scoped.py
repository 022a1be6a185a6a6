"""Scoped use cases of the service (范围内的数据访问): organisation, users, meters, ledger, quality, dashboards.

Every function takes the caller's :class:`~parkcarbon.services.tenancy.Scope` and a repository
opened by :func:`~parkcarbon.services.tenancy.scoped_transaction` / ``scoped_reader``; objects are
loaded through the scope (404 for foreign or missing ids, 403 for a forbidden action) and every
list is filtered by it. Server-owned fields (tenant, status, approver, factor values, role) are
set here, never taken from the client (R13). Mutations are audited in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select

from parkcarbon.errors import InputError, Location, NotFoundError, PermissionDeniedError
from parkcarbon.services.audit import audit
from parkcarbon.services.auth import bump_epoch, create_user
from parkcarbon.services.tenancy import ALL, Scope, not_found
from parkcarbon.storage import Repository
from parkcarbon.storage.models import (
    ActivityRecordRow,
    Enterprise,
    Meter,
    Park,
    QuarantinedReading,
    RawReading,
    ReadingConflict,
    ReportingPeriod,
)
from parkcarbon.storage.models_auth import ROLES, AuditRecord, Membership, ResultSnapshot, User

__all__ = [
    "add_enterprise",
    "add_meter",
    "add_park",
    "audit_records",
    "enterprise_dashboard",
    "grant_role",
    "ledger",
    "list_enterprises",
    "list_meters",
    "list_parks",
    "list_users",
    "park_dashboard",
    "quality_summary",
    "readings",
    "register_user",
    "revoke_role",
]

MAX_PAGE = 1000
SHANGHAI = ZoneInfo("Asia/Shanghai")


def list_parks(repo: Repository, scope: Scope) -> list[Park]:
    parks = repo.list_parks()
    return [p for p in parks if scope.can_read_park(p.id)
            or any(pid == p.id for pid in scope.park_enterprises.values())
            or any(e.park_id == p.id for e in _visible_enterprises(repo, scope))]


def _visible_enterprises(repo: Repository, scope: Scope) -> list[Enterprise]:
    if scope.all_tenants:
        return repo.list_enterprises()
    ids = set(scope.tenants)
    if not ids:
        return []
    return list(repo.session.scalars(select(Enterprise).where(Enterprise.id.in_(sorted(ids))).order_by(Enterprise.id)))


def add_park(repo: Repository, scope: Scope, *, code: str, name: str, name_en: str | None, province: str | None,
             city: str | None, request_id: str | None = None) -> Park:
    """Register a park (platform administrator)."""
    scope.require(scope.all_tenants, "create", "parks")
    park = repo.add_park(code=code, name=name, name_en=name_en, province=province, city=city)
    audit(repo.session, actor=scope.username, action="park.create", object_type="park", object_id=park.id,
          new={"code": code, "name": name, "province": province}, request_id=request_id)
    return park


def list_enterprises(repo: Repository, scope: Scope, *, park_id: str | None = None) -> list[Enterprise]:
    ents = _visible_enterprises(repo, scope)
    if park_id is not None:
        if not scope.can_read_park(park_id) and not any(e.park_id == park_id for e in ents):
            raise not_found("park", "园区", park_id)
        return [e for e in ents if e.park_id == park_id]
    return ents


def add_enterprise(repo: Repository, scope: Scope, *, park_id: str, name: str, credit_code: str | None,
                   industry_code: str | None, province: str | None, key_energy_unit: bool,
                   name_en: str | None = None, request_id: str | None = None) -> Enterprise:
    """Register an enterprise in a park (park administrator); its tenant is its own new id."""
    park = scope.park(repo, park_id, action="admin")
    ent = repo.add_enterprise(name=name, park_id=park.id, credit_code=credit_code, industry_code=industry_code,
                              province=province or park.province, key_energy_unit=key_energy_unit, name_en=name_en)
    audit(repo.session, actor=scope.username, action="enterprise.create", object_type="enterprise", object_id=ent.id,
          tenant_id=ent.tenant_id, new={"name": name, "park_id": park.id, "credit_code": ent.credit_code},
          request_id=request_id)
    return ent


def add_meter(repo: Repository, scope: Scope, enterprise_id: str, *, code: str, carrier: str, unit: str, kind: str,
              name: str | None, multiplier: float, register_max: float | None, interval_s: int | None,
              role: str, request_id: str | None = None) -> Meter:
    ent = scope.enterprise(repo, enterprise_id, action="write")
    meter = repo.add_meter(tenant_id=ent.tenant_id, enterprise_id=ent.id, code=code, carrier=carrier, unit=unit,
                           kind=kind, name=name, multiplier=multiplier, register_max=register_max,
                           interval_s=interval_s, role=role)
    audit(repo.session, actor=scope.username, action="meter.create", object_type="meter", object_id=meter.id,
          tenant_id=ent.tenant_id, new={"code": code, "carrier": carrier, "unit": unit, "kind": kind, "role": role},
          request_id=request_id)
    return meter


def list_meters(repo: Repository, scope: Scope, enterprise_id: str) -> list[Meter]:
    ent = scope.enterprise(repo, enterprise_id)
    return repo.list_meters(tenant_id=ent.tenant_id, enterprise_id=ent.id)


def get_meter(repo: Repository, scope: Scope, meter_id: str) -> Meter:
    meter = repo.session.get(Meter, meter_id) if isinstance(meter_id, str) else None
    if meter is None or meter.enterprise_id is None:
        raise not_found("meter", "表计", meter_id)
    try:
        scope.enterprise(repo, meter.enterprise_id)
    except PermissionDeniedError:
        raise
    except Exception:
        raise not_found("meter", "表计", meter_id) from None
    return meter


def readings(repo: Repository, scope: Scope, meter_id: str, *, start_utc: datetime | None, end_utc: datetime | None,
             limit: int) -> list[RawReading]:
    """Raw readings of a meter, oldest first, at most ``limit`` (≤ 1000)."""
    meter = get_meter(repo, scope, meter_id)
    assert meter.enterprise_id is not None
    q = select(RawReading).where(RawReading.meter_id == meter.id)
    if start_utc is not None:
        q = q.where(RawReading.ts_utc >= start_utc)
    if end_utc is not None:
        q = q.where(RawReading.ts_utc < end_utc)
    ent = repo.session.get(Enterprise, meter.enterprise_id)
    rows = list(repo.session.scalars(q.order_by(RawReading.ts_utc).limit(min(limit, MAX_PAGE))))
    if ent is not None and not (scope.all_tenants or ent.id in scope.viewed_enterprises
                                or scope.can_admin_park(ent.park_id)):
        years = scope.verifier_years(ent.id)  # a verifier sees its engagement years only
        rows = [r for r in rows if r.ts_utc.astimezone(SHANGHAI).year in years]
    return rows


def ledger(repo: Repository, scope: Scope, enterprise_id: str, *, first: str | None, last: str | None,
           include_superseded: bool) -> list[ActivityRecordRow]:
    """Ledger rows of an enterprise (verifiers: engagement years only)."""
    ent = scope.enterprise(repo, enterprise_id)
    rows = repo.activity_rows(enterprise_ids=[ent.id], first=first, last=last, include_superseded=include_superseded)
    return [r for r in rows if scope.can_read_year(ent.id, ent.park_id, int(r.month[:4]))]


@dataclass(frozen=True)
class QualitySummary:
    """Open reading conflicts and quarantined readings of an enterprise's tenant."""

    enterprise_id: str
    conflicts_open: int
    conflicts_in_correction_queue: int
    quarantined: int
    conflicts: list[ReadingConflict]


def quality_summary(repo: Repository, scope: Scope, enterprise_id: str) -> QualitySummary:
    ent = scope.enterprise(repo, enterprise_id)
    meter_ids = [m.id for m in repo.list_meters(tenant_id=ent.tenant_id, enterprise_id=ent.id)]
    conflicts = list(repo.session.scalars(select(ReadingConflict).where(
        ReadingConflict.meter_id.in_(meter_ids)).order_by(ReadingConflict.received_at).limit(MAX_PAGE))) \
        if meter_ids else []
    quarantined = int(repo.session.scalar(select(func.count()).select_from(QuarantinedReading).where(
        QuarantinedReading.tenant_id == ent.tenant_id)) or 0)
    return QualitySummary(ent.id, sum(c.status == "open" for c in conflicts),
                          sum(c.status == "correction_queue" for c in conflicts), quarantined, conflicts)


# ---------------------------------------------------------------------------------------------
# dashboards (read models for the dashboard and the park's large screen)
# ---------------------------------------------------------------------------------------------


def park_dashboard(repo: Repository, scope: Scope, park_id: str, year: int) -> dict[str, Any]:
    """Park overview for ``year`` from the pinned results: totals, period statuses, per enterprise.

    A provincial operator gets the park totals only (no enterprise rows).
    """
    park = scope.park(repo, park_id)
    first, last = f"{year:04d}-01", f"{year:04d}-12"
    rows = repo.session.execute(
        select(ResultSnapshot.enterprise_id, func.sum(ResultSnapshot.energy_tce),
               func.sum(ResultSnapshot.total_location_tco2), func.count())
        .join(Enterprise, Enterprise.id == ResultSnapshot.enterprise_id)
        .where(Enterprise.park_id == park.id, ResultSnapshot.status == "current",
               ResultSnapshot.month >= first, ResultSnapshot.month <= last)
        .group_by(ResultSnapshot.enterprise_id)).all()
    statuses = dict(repo.session.execute(
        select(ReportingPeriod.status, func.count()).join(Enterprise, Enterprise.id == ReportingPeriod.enterprise_id)
        .where(Enterprise.park_id == park.id, ReportingPeriod.month >= first, ReportingPeriod.month <= last)
        .group_by(ReportingPeriod.status)).all())
    n_ent = int(repo.session.scalar(select(func.count()).select_from(Enterprise).where(Enterprise.park_id == park.id)) or 0)
    names = dict(repo.session.execute(select(Enterprise.id, Enterprise.name).where(Enterprise.park_id == park.id)).all())
    per = [{"enterprise_id": eid, "name": names.get(eid, ""), "energy_tce": float(e or 0.0),
            "total_location_tco2": float(c or 0.0), "months_pinned": int(n)} for eid, e, c, n in rows]
    detail = scope.can_admin_park(park.id)
    return {
        "park_id": park.id, "year": year, "enterprises": n_ent,
        "enterprises_reporting": len(per),
        "energy_tce": sum(p["energy_tce"] for p in per) if per else None,
        "total_location_tco2": sum(p["total_location_tco2"] for p in per) if per else None,
        "periods_by_status": {str(k): int(v) for k, v in statuses.items()},
        "per_enterprise": sorted(per, key=lambda p: -p["total_location_tco2"]) if detail else [],
    }


def enterprise_dashboard(repo: Repository, scope: Scope, enterprise_id: str, year: int) -> dict[str, Any]:
    """Monthly status, pinned totals and ledger row counts of an enterprise for ``year``."""
    ent = scope.enterprise(repo, enterprise_id, year=year)
    first, last = f"{year:04d}-01", f"{year:04d}-12"
    status = dict(repo.session.execute(select(ReportingPeriod.month, ReportingPeriod.status).where(
        ReportingPeriod.enterprise_id == ent.id, ReportingPeriod.month >= first, ReportingPeriod.month <= last)).all())
    snaps = {s.month: s for s in repo.session.scalars(select(ResultSnapshot).where(
        ResultSnapshot.enterprise_id == ent.id, ResultSnapshot.status == "current",
        ResultSnapshot.month >= first, ResultSnapshot.month <= last))}
    counts = dict(repo.session.execute(select(ActivityRecordRow.month, func.count()).where(
        ActivityRecordRow.enterprise_id == ent.id, ActivityRecordRow.status == "current",
        ActivityRecordRow.month >= first, ActivityRecordRow.month <= last).group_by(ActivityRecordRow.month)).all())
    months = []
    for mo in range(1, 13):
        key = f"{year:04d}-{mo:02d}"
        s = snaps.get(key)
        months.append({"month": key, "status": status.get(key, "draft"), "ledger_rows": int(counts.get(key, 0)),
                       "energy_tce": None if s is None else s.energy_tce,
                       "total_location_tco2": None if s is None else s.total_location_tco2})
    return {"enterprise_id": ent.id, "name": ent.name, "year": year, "months": months}


# ---------------------------------------------------------------------------------------------
# users and roles
# ---------------------------------------------------------------------------------------------


def register_user(repo: Repository, scope: Scope, *, username: str, password: str, display_name: str | None,
                  request_id: str | None = None) -> User:
    """Create an account (platform or park administrator); roles are granted separately."""
    scope.require(scope.all_tenants or bool(scope.park_admin_parks), "create", "users")
    return create_user(repo.session, username=username, password=password, display_name=display_name,
                       actor=scope.username, request_id=request_id)


def list_users(repo: Repository, scope: Scope) -> list[User]:
    """Platform admin: every user; park admin: users holding a role in their parks' enterprises or parks."""
    scope.require(scope.all_tenants or bool(scope.park_admin_parks), "list", "users")
    if scope.all_tenants:
        return list(repo.session.scalars(select(User).order_by(User.username)))
    ents = [e for e, p in scope.park_enterprises.items() if p in scope.park_admin_parks]
    q = select(Membership.user_id).where(Membership.revoked_at.is_(None), or_(
        Membership.park_id.in_(sorted(scope.park_admin_parks)), Membership.enterprise_id.in_(sorted(ents))))
    ids = set(repo.session.scalars(q))
    return list(repo.session.scalars(select(User).where(User.id.in_(sorted(ids))).order_by(User.username))) if ids else []


def _user(repo: Repository, user_id: str) -> User:
    user = repo.session.get(User, user_id) if isinstance(user_id, str) else None
    if user is None:
        raise not_found("user", "用户", user_id)
    return user


def grant_role(repo: Repository, scope: Scope, user_id: str, *, role: str, park_id: str | None,
               enterprise_id: str | None, request_id: str | None = None) -> Membership:
    """Grant a role; every existing session and token of the user is invalidated (role change, SEC-06)."""
    if role not in ROLES:
        raise InputError(f"role must be one of {ROLES}, got {role!r}", message_zh=f"角色须为 {ROLES} 之一",
                         location=Location(column="role", value=role))
    if role in ("platform_admin", "provincial_operator"):
        scope.require(scope.all_tenants, "grant", role)
        if park_id or enterprise_id:
            raise InputError(f"{role} is not bound to a park or an enterprise", message_zh=f"{role} 不绑定园区或企业",
                             location=Location(column="park_id/enterprise_id"))
    elif role == "park_admin":
        if not park_id or enterprise_id:
            raise InputError("park_admin needs park_id (and no enterprise_id)", message_zh="园区管理员须指定 park_id",
                             location=Location(column="park_id"))
        scope.park(repo, park_id, action="admin")
    else:
        if not enterprise_id or park_id:
            raise InputError(f"{role} needs enterprise_id (and no park_id)", message_zh=f"{role} 须指定 enterprise_id",
                             location=Location(column="enterprise_id"))
        scope.enterprise(repo, enterprise_id, action="admin")
    user = _user(repo, user_id)
    m = Membership(user_id=user.id, role=role, park_id=park_id, enterprise_id=enterprise_id, created_by=scope.username)
    repo.session.add(m)
    repo.session.flush()
    audit(repo.session, actor=scope.username, action="role.grant", object_type="membership", object_id=m.id,
          new={"user": user.username, "role": role, "park_id": park_id, "enterprise_id": enterprise_id},
          request_id=request_id)
    bump_epoch(repo.session, user, actor=scope.username, reason=f"role granted: {role}", request_id=request_id)
    return m


def revoke_role(repo: Repository, scope: Scope, membership_id: str, *, request_id: str | None = None) -> Membership:
    """Revoke a membership (same rights as granting it); the user's sessions and tokens die."""
    m = repo.session.get(Membership, membership_id) if isinstance(membership_id, str) else None
    if m is None:
        raise not_found("membership", "角色授权", membership_id)
    gone = not_found("membership", "角色授权", membership_id)
    try:  # visible → 403 when not allowed; invisible → the same 404 as a missing id
        if m.role in ("platform_admin", "provincial_operator"):
            scope.require(scope.all_tenants, "revoke", "this membership")
        elif m.role == "park_admin":
            if m.park_id is None or not (scope.can_admin_park(m.park_id) or scope.can_read_park(m.park_id)):
                raise gone
            scope.park(repo, m.park_id, action="admin")
        else:
            if m.enterprise_id is None:
                raise gone
            scope.enterprise(repo, m.enterprise_id, action="admin")
    except PermissionDeniedError:
        raise
    except NotFoundError:
        raise gone from None
    if m.revoked_at is None:
        from parkcarbon.storage.models import utc_now

        m.revoked_at = utc_now()
        user = _user(repo, m.user_id)
        audit(repo.session, actor=scope.username, action="role.revoke", object_type="membership", object_id=m.id,
              old={"user": user.username, "role": m.role}, new={"revoked": True}, request_id=request_id)
        bump_epoch(repo.session, user, actor=scope.username, reason=f"role revoked: {m.role}", request_id=request_id)
    return m


def memberships_of(repo: Repository, user_id: str) -> list[Membership]:
    return list(repo.session.scalars(select(Membership).where(Membership.user_id == user_id)
                                     .order_by(Membership.created_at)))


# ---------------------------------------------------------------------------------------------
# audit trail reads
# ---------------------------------------------------------------------------------------------


def audit_records(repo: Repository, scope: Scope, *, enterprise_id: str | None, limit: int,
                  offset: int) -> list[AuditRecord]:
    """Audit records the caller may read: its tenants' records (platform admin: all)."""
    q = select(AuditRecord)
    if enterprise_id is not None:
        ent = scope.enterprise(repo, enterprise_id)
        q = q.where(AuditRecord.tenant_id == ent.tenant_id)
    else:
        tenants = scope.readable_tenants
        scope.require(tenants == ALL or bool(scope.park_admin_parks) or bool(scope.engagements)
                      or bool(scope.viewed_enterprises), "read", "the audit trail")
        if tenants != ALL:
            allowed: Sequence[str] = sorted(tenants)
            q = q.where(AuditRecord.tenant_id.in_(allowed))
    return list(repo.session.scalars(q.order_by(AuditRecord.seq.desc()).offset(offset).limit(min(limit, MAX_PAGE))))


def periods_grouped(rows: list[ReportingPeriod]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        out[r.status].append(r.month)
    return dict(out)
