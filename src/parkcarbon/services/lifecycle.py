"""Reporting-period lifecycle (报告期流程, R7/R8; MRR Art. 63/64, ISO 14064-3).

``draft → submitted → (returned) → verified → locked``, one enterprise-month at a time:

=============  ==========================================  =======================================
transition     who                                         rule
=============  ==========================================  =======================================
submit         enterprise manager, park administrator      ledger rows exist; results are pinned
return         assigned verifier, park administrator       a comment (why) is required
verify         assigned verifier of that reporting year    verifier ≠ submitter and ≠ any preparer
lock           park administrator                          locker ≠ submitter (four-eyes)
=============  ==========================================  =======================================

A submitted, verified or locked period cannot be changed in place (DB triggers). A change is a
**correction** (更正): a new version of the period with reason, root cause, the proposed ledger
rows and any replacement evidence, requested by its preparer and applied only when a park
administrator *other than the preparer* approves it (:func:`approve_correction`); the old ledger
rows stay as ``superseded`` and the result snapshot gets a new version. Every step is audited.
Verifiers write only their findings (:func:`add_finding`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select

from parkcarbon.core.activity import ActivityRecord, Flow, Quality
from parkcarbon.core.carriers import carrier as carrier_info
from parkcarbon.errors import (
    ConflictError,
    InputError,
    Location,
    LockedPeriodError,
    ParkcarbonError,
    PermissionDeniedError,
)
from parkcarbon.periods import Month, parse_month
from parkcarbon.services.accounting import FactorConfig
from parkcarbon.services.audit import audit
from parkcarbon.services.recalculation import FROZEN_STATUSES, pin_results
from parkcarbon.services.tenancy import Scope, not_found
from parkcarbon.storage import Repository
from parkcarbon.storage.models import (
    ActivityRecordRow,
    Enterprise,
    EvidenceFile,
    ReportingPeriod,
    new_id,
    utc_now,
)
from parkcarbon.storage.models_auth import (
    PeriodCorrection,
    PeriodEvent,
    User,
    VerificationFinding,
    VerifierAssignment,
)

__all__ = [
    "CorrectionRecord",
    "add_finding",
    "approve_correction",
    "assign_verifier",
    "list_corrections",
    "list_periods",
    "reject_correction",
    "request_correction",
    "revoke_verifier",
    "transition",
]


def _month(text: str) -> Month:
    try:
        return parse_month(str(text))
    except ParkcarbonError:
        raise
    except Exception as exc:  # parse_month raises PeriodError for bad text; anything else is bad input too
        raise InputError(f"bad month {text!r}", message_zh=f"月份格式错误：{text!r}",
                         location=Location(column="month", value=text)) from exc


def _status_row(repo: Repository, enterprise_id: str, month: str) -> ReportingPeriod | None:
    return repo.session.scalar(select(ReportingPeriod).where(
        ReportingPeriod.enterprise_id == enterprise_id, ReportingPeriod.month == month))


def _submitter(repo: Repository, enterprise_id: str, month: str) -> str | None:
    return repo.session.scalar(select(PeriodEvent.by).where(
        PeriodEvent.enterprise_id == enterprise_id, PeriodEvent.month == month, PeriodEvent.to_status == "submitted")
        .order_by(PeriodEvent.at.desc()).limit(1))


def _preparers(repo: Repository, enterprise_id: str, month: str) -> set[str]:
    rows = repo.session.scalars(select(ActivityRecordRow.created_by).where(
        ActivityRecordRow.enterprise_id == enterprise_id, ActivityRecordRow.month == month).distinct())
    return {r for r in rows if r}


def _four_eyes(actor: str, preparers: set[str], what: str) -> None:
    if actor in preparers:
        raise PermissionDeniedError(
            f"{actor} prepared or submitted this period and cannot {what} it (four-eyes)",
            message_zh=f"{actor} 编制或提交了该报告期，不能{what}（四眼原则）", code="E-FOUR-EYES",
            hint="another person must approve", hint_zh="须由另一人审批")


def transition(repo: Repository, scope: Scope, enterprise_id: str, month: str, action: str, *,
               comment: str | None = None, config: FactorConfig | None = None,
               request_id: str | None = None) -> ReportingPeriod:
    """Apply ``action`` (``submit`` | ``return`` | ``verify`` | ``lock``) to one enterprise-month."""
    m = _month(month)
    ms = str(m)
    needed = {"submit": "write", "return": "read", "verify": "read", "lock": "admin"}.get(action)
    if needed is None:
        raise InputError(f"unknown period action {action!r}", message_zh=f"未知的报告期操作 {action!r}",
                         location=Location(column="action", value=action))
    ent = scope.enterprise(repo, enterprise_id, action=needed, year=m.year)
    if action == "return":
        scope.require(scope.can_verify(ent.id, m.year) or scope.can_admin_park(ent.park_id), action, f"period {ms}")
        if not comment or not comment.strip():
            raise InputError("returning a period needs a comment saying why", message_zh="退回报告期必须说明原因",
                             location=Location(column="comment"))
    if action == "verify":
        scope.require(scope.can_verify(ent.id, m.year), action, f"period {ms}")
        _four_eyes(scope.username, _preparers(repo, ent.id, ms) | {_submitter(repo, ent.id, ms) or ""}, "verify")
    if action == "lock":
        _four_eyes(scope.username, {_submitter(repo, ent.id, ms) or ""}, "lock")
    row = _status_row(repo, ent.id, ms)
    old = "draft" if row is None else row.status
    target = {"submit": "submitted", "return": "returned", "verify": "verified", "lock": "locked"}[action]
    if action == "submit" and old in ("draft", "returned"):
        # pin the results first: the snapshot must exist before the period freezes (R10)
        pin_results(repo, ent, [m], config or FactorConfig(), actor=scope.username, request_id=request_id)
    new = repo.set_period_status(ent.id, m, target, by=scope.username)
    repo.session.add(PeriodEvent(tenant_id=ent.tenant_id, enterprise_id=ent.id, month=ms, from_status=old,
                                 to_status=target, by=scope.username, comment=comment))
    audit(repo.session, actor=scope.username, action=f"period.{action}", object_type="reporting_period",
          object_id=f"{ent.id}:{ms}", tenant_id=ent.tenant_id, old={"status": old}, new={"status": target},
          reason=comment, request_id=request_id)
    repo.session.flush()
    return new


@dataclass(frozen=True)
class PeriodView:
    """Status of an enterprise-month with its last change."""

    enterprise_id: str
    month: str
    status: str
    changed_by: str | None
    changed_at: Any


def list_periods(repo: Repository, scope: Scope, enterprise_id: str, year: int) -> list[PeriodView]:
    """The 12 months of ``year`` with their status (a month never touched is ``draft``)."""
    ent = scope.enterprise(repo, enterprise_id, year=year)
    rows = {r.month: r for r in repo.session.scalars(select(ReportingPeriod).where(
        ReportingPeriod.enterprise_id == ent.id, ReportingPeriod.month >= f"{year:04d}-01",
        ReportingPeriod.month <= f"{year:04d}-12"))}
    out = []
    for mo in range(1, 13):
        key = f"{year:04d}-{mo:02d}"
        r = rows.get(key)
        out.append(PeriodView(ent.id, key, "draft" if r is None else r.status, None if r is None else r.changed_by,
                              None if r is None else r.changed_at))
    return out


# ---------------------------------------------------------------------------------------------
# corrections (new versions of frozen periods)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorrectionRecord:
    """One proposed ledger row of a correction [carrier canonical unit]."""

    carrier: str
    flow: str
    quantity: float | None
    quality: str = "measured"
    subtype: str | None = None
    source: str = ""


def _check_records(ent: Enterprise, m: Month, records: list[CorrectionRecord]) -> list[ActivityRecord]:
    if not records:
        raise InputError("a correction needs at least one ledger row", message_zh="更正至少需要一行台账数据",
                         location=Location(column="records"))
    out = []
    for i, r in enumerate(records, start=1):
        try:
            flow = Flow(r.flow)
            quality = Quality(r.quality)
        except ValueError as exc:
            raise InputError(f"record {i}: {exc}", message_zh=f"第 {i} 条记录：{exc}",
                             location=Location(row=i, column="flow/quality")) from exc
        out.append(ActivityRecord(record_id=f"correction-{i}", enterprise_id=ent.id, month=m, carrier=r.carrier,
                                  flow=flow, quantity=r.quantity, source=r.source or "correction",
                                  quality=quality, subtype=r.subtype))
    return out


def request_correction(repo: Repository, scope: Scope, enterprise_id: str, month: str, *, reason: str,
                       root_cause: str, records: list[CorrectionRecord], evidence_ids: list[str] | None = None,
                       request_id: str | None = None) -> PeriodCorrection:
    """Request a new version of a submitted/verified/locked period (preparer = the caller)."""
    m = _month(month)
    ms = str(m)
    ent = scope.enterprise(repo, enterprise_id, action="write", year=m.year)
    status = repo.period_status(ent.id, m)
    if status not in FROZEN_STATUSES:
        raise ConflictError(f"period {ms} is {status}: change it directly, no correction is needed",
                            message_zh=f"报告期 {ms} 状态为 {status}，可直接修改，无需更正", code="E-STATE")
    if not (reason or "").strip() or not (root_cause or "").strip():
        raise InputError("a correction needs a reason and a root cause", message_zh="更正必须填写原因和根本原因",
                         location=Location(column="reason/root_cause"))
    _check_records(ent, m, records)
    for eid in evidence_ids or []:
        ev = repo.session.get(EvidenceFile, eid) if isinstance(eid, str) else None
        if ev is None or ev.tenant_id != ent.tenant_id:
            raise not_found("evidence file", "存证文件", eid)
    version = 1 + int(repo.session.scalar(select(func.count()).select_from(PeriodCorrection).where(
        PeriodCorrection.enterprise_id == ent.id, PeriodCorrection.month == ms,
        PeriodCorrection.status == "applied")) or 0) + 1
    corr = PeriodCorrection(tenant_id=ent.tenant_id, enterprise_id=ent.id, month=ms, version=version,
                            reason=reason.strip(), root_cause=root_cause.strip(),
                            records_json=json.dumps({"records": [r.__dict__ for r in records],
                                                     "evidence": []}, ensure_ascii=False),
                            status="requested", prepared_by=scope.username, period_status=status)
    repo.session.add(corr)
    repo.session.flush()
    audit(repo.session, actor=scope.username, action="correction.request", object_type="period_correction",
          object_id=corr.id, tenant_id=ent.tenant_id, new={"month": ms, "version": version,
                                                           "records": [r.__dict__ for r in records]},
          reason=f"{reason.strip()} | root cause: {root_cause.strip()}", request_id=request_id)
    return corr


def _correction(repo: Repository, scope: Scope, correction_id: str, action: str) -> tuple[PeriodCorrection, Enterprise]:
    corr = repo.session.get(PeriodCorrection, correction_id) if isinstance(correction_id, str) else None
    if corr is None:
        raise not_found("correction", "更正", correction_id)
    try:
        ent = scope.enterprise(repo, corr.enterprise_id, action=action, year=int(corr.month[:4]))
    except PermissionDeniedError:
        raise
    except ParkcarbonError:
        raise not_found("correction", "更正", correction_id) from None
    return corr, ent


def attach_correction_evidence(repo: Repository, corr: PeriodCorrection, stored: dict[str, Any]) -> None:
    """Add a stored (not yet recorded) evidence file to a requested correction (see services.evidence)."""
    if corr.status != "requested":
        raise ConflictError(f"correction {corr.id} is {corr.status}", message_zh=f"更正 {corr.id} 状态为 {corr.status}",
                            code="E-STATE")
    data = json.loads(corr.records_json)
    data["evidence"].append(stored)
    corr.records_json = json.dumps(data, ensure_ascii=False)


def approve_correction(repo: Repository, scope: Scope, correction_id: str, *, config: FactorConfig | None = None,
                       request_id: str | None = None) -> PeriodCorrection:
    """Apply a requested correction: park administrator ≠ preparer; old rows kept as superseded."""
    corr, ent = _correction(repo, scope, correction_id, "admin")
    if corr.status != "requested":
        raise ConflictError(f"correction {corr.id} is {corr.status}", message_zh=f"更正 {corr.id} 状态为 {corr.status}",
                            code="E-STATE")
    _four_eyes(scope.username, {corr.prepared_by}, "approve")
    m = _month(corr.month)
    data = json.loads(corr.records_json)
    records = _check_records(ent, m, [CorrectionRecord(**r) for r in data["records"]])
    corr.status = "applying"  # opens the DB guard for this period inside this transaction only
    repo.session.flush()
    old_rows: list[dict[str, Any]] = []
    new_rows: list[dict[str, Any]] = []
    for rec in records:
        key_sub = rec.subtype or ""
        cur = repo.session.scalar(select(ActivityRecordRow).where(
            ActivityRecordRow.enterprise_id == ent.id, ActivityRecordRow.month == corr.month,
            ActivityRecordRow.carrier == rec.carrier, ActivityRecordRow.flow == str(rec.flow),
            ActivityRecordRow.subtype == key_sub, ActivityRecordRow.status == "current"))
        version = 1
        if cur is not None:
            old_rows.append({"id": cur.id, "carrier": cur.carrier, "flow": cur.flow, "quantity": cur.quantity,
                             "version": cur.version})
            cur.status = "superseded"
            version = cur.version + 1
            repo.session.flush()
        row = ActivityRecordRow(id=new_id(), tenant_id=ent.tenant_id, enterprise_id=ent.id, month=corr.month,
                                carrier=rec.carrier, flow=str(rec.flow), subtype=key_sub, quantity=rec.quantity,
                                unit=carrier_info(rec.carrier).unit, source=rec.source[:300],
                                quality=str(rec.quality), status="current", version=version,
                                created_by=corr.prepared_by)
        repo.session.add(row)
        new_rows.append({"id": row.id, "carrier": row.carrier, "flow": row.flow, "quantity": row.quantity,
                         "version": version})
    repo.session.flush()
    for ev in data.get("evidence", []):
        repo.session.add(EvidenceFile(
            tenant_id=ent.tenant_id, enterprise_id=ent.id, month=corr.month, sha256=ev["sha256"],
            size_bytes=ev["size_bytes"], original_name=ev["original_name"], stored_name=ev["stored_name"],
            title=ev.get("title"), uploader=ev["uploader"], replaces_id=ev.get("replaces_id")))
    repo.session.flush()
    pin_results(repo, ent, [m], config or FactorConfig(), actor=scope.username, request_id=request_id)
    corr.status = "applied"
    corr.approved_by = scope.username
    corr.decided_at = utc_now()
    repo.session.add(PeriodEvent(tenant_id=ent.tenant_id, enterprise_id=ent.id, month=corr.month,
                                 from_status=corr.period_status, to_status=repo.period_status(ent.id, m),
                                 by=scope.username, comment=f"correction v{corr.version} applied: {corr.reason}"))
    repo.session.flush()
    audit(repo.session, actor=scope.username, action="correction.approve", object_type="period_correction",
          object_id=corr.id, tenant_id=ent.tenant_id, old={"rows": old_rows}, new={"rows": new_rows,
                                                                                  "version": corr.version},
          reason=f"{corr.reason} | root cause: {corr.root_cause}", request_id=request_id)
    return corr


def reject_correction(repo: Repository, scope: Scope, correction_id: str, *, reason: str,
                      request_id: str | None = None) -> PeriodCorrection:
    """Reject a requested correction (park administrator; reason required)."""
    corr, ent = _correction(repo, scope, correction_id, "admin")
    if corr.status != "requested":
        raise ConflictError(f"correction {corr.id} is {corr.status}", message_zh=f"更正 {corr.id} 状态为 {corr.status}",
                            code="E-STATE")
    if not (reason or "").strip():
        raise InputError("a rejection needs a reason", message_zh="驳回必须说明原因", location=Location(column="reason"))
    corr.status = "rejected"
    corr.approved_by = scope.username
    corr.decided_at = utc_now()
    audit(repo.session, actor=scope.username, action="correction.reject", object_type="period_correction",
          object_id=corr.id, tenant_id=ent.tenant_id, old={"status": "requested"}, new={"status": "rejected"},
          reason=reason, request_id=request_id)
    return corr


def list_corrections(repo: Repository, scope: Scope, enterprise_id: str) -> list[PeriodCorrection]:
    ent = scope.enterprise(repo, enterprise_id)
    q = select(PeriodCorrection).where(PeriodCorrection.enterprise_id == ent.id)
    years = None if scope.can_write_enterprise(ent.id, ent.park_id) or ent.id in scope.viewed_enterprises \
        or scope.can_admin_park(ent.park_id) else scope.verifier_years(ent.id)
    rows = list(repo.session.scalars(q.order_by(PeriodCorrection.prepared_at)))
    return [r for r in rows if years is None or int(r.month[:4]) in years]


# ---------------------------------------------------------------------------------------------
# verifiers: engagements and findings
# ---------------------------------------------------------------------------------------------


def assign_verifier(repo: Repository, scope: Scope, *, user_id: str, enterprise_id: str, year: int,
                    starts_on: date, ends_on: date, request_id: str | None = None) -> VerifierAssignment:
    """Engage a verifier for enterprise × reporting year (park administrator)."""
    ent = scope.enterprise(repo, enterprise_id, action="admin")
    user = repo.session.get(User, user_id) if isinstance(user_id, str) else None
    if user is None:
        raise not_found("user", "用户", user_id)
    if ends_on < starts_on:
        raise InputError("the engagement ends before it starts", message_zh="核查委托的结束日期早于开始日期",
                         location=Location(column="ends_on", value=str(ends_on)))
    a = VerifierAssignment(tenant_id=ent.tenant_id, user_id=user.id, enterprise_id=ent.id, year=year,
                           starts_on=starts_on, ends_on=ends_on, created_by=scope.username)
    repo.session.add(a)
    repo.session.flush()
    audit(repo.session, actor=scope.username, action="verifier.assign", object_type="verifier_assignment",
          object_id=a.id, tenant_id=ent.tenant_id,
          new={"user": user.username, "enterprise_id": ent.id, "year": year, "starts_on": starts_on,
               "ends_on": ends_on}, request_id=request_id)
    return a


def revoke_verifier(repo: Repository, scope: Scope, assignment_id: str, *, request_id: str | None = None) -> VerifierAssignment:
    """End an engagement now; the verifier loses access at its next request (sessions included)."""
    a = repo.session.get(VerifierAssignment, assignment_id) if isinstance(assignment_id, str) else None
    if a is None:
        raise not_found("verifier assignment", "核查委托", assignment_id)
    try:
        scope.enterprise(repo, a.enterprise_id, action="admin")
    except PermissionDeniedError:
        raise
    except ParkcarbonError:
        raise not_found("verifier assignment", "核查委托", assignment_id) from None
    if a.revoked_at is None:
        a.revoked_at = utc_now()
        a.revoked_by = scope.username
        audit(repo.session, actor=scope.username, action="verifier.revoke", object_type="verifier_assignment",
              object_id=a.id, tenant_id=a.tenant_id, old={"revoked": False}, new={"revoked": True},
              request_id=request_id)
    return a


def add_finding(repo: Repository, scope: Scope, enterprise_id: str, *, year: int, month: str | None, kind: str,
                text: str, request_id: str | None = None) -> VerificationFinding:
    """A verifier's opinion or finding (the only object a verifier writes)."""
    ent = scope.enterprise(repo, enterprise_id, action="verify", year=year)
    if kind not in ("opinion", "finding"):
        raise InputError(f"kind must be 'opinion' or 'finding', got {kind!r}",
                         message_zh=f"类型须为 opinion 或 finding，实际为 {kind!r}", location=Location(column="kind"))
    if month is not None and _month(month).year != year:
        raise InputError("the month is outside the engagement year", message_zh="月份不在核查年度内",
                         location=Location(column="month", value=month))
    f = VerificationFinding(tenant_id=ent.tenant_id, enterprise_id=ent.id, year=year, month=month, kind=kind,
                            text=text, author=scope.username)
    repo.session.add(f)
    repo.session.flush()
    audit(repo.session, actor=scope.username, action="finding.add", object_type="verification_finding",
          object_id=f.id, tenant_id=ent.tenant_id, new={"year": year, "month": month, "kind": kind, "text": text},
          request_id=request_id)
    return f


def list_findings(repo: Repository, scope: Scope, enterprise_id: str) -> list[VerificationFinding]:
    ent = scope.enterprise(repo, enterprise_id)
    rows = list(repo.session.scalars(select(VerificationFinding).where(VerificationFinding.enterprise_id == ent.id)
                                     .order_by(VerificationFinding.created_at)))
    full = scope.can_write_enterprise(ent.id, ent.park_id) or ent.id in scope.viewed_enterprises \
        or scope.can_admin_park(ent.park_id)
    years = scope.verifier_years(ent.id)
    return [r for r in rows if full or r.year in years]


def ensure_not_frozen(repo: Repository, enterprise_id: str, month: str) -> None:
    """Raise LockedPeriodError when the period is submitted/verified/locked."""
    status = repo.period_status(enterprise_id, month)
    if status in FROZEN_STATUSES:
        raise LockedPeriodError(
            f"period {month} of enterprise {enterprise_id} is {status}: it cannot be changed in place",
            message_zh=f"企业 {enterprise_id} 的 {month} 报告期状态为 {status}，不能直接修改",
            hint="request a correction", hint_zh="请提交更正申请", location=Location(record=f"{enterprise_id}:{month}"))
