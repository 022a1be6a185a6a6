"""Tables of the multi-user service (多用户服务数据表): accounts, tenancy, audit, MRV workflow.

Owned by the service part (issue 4); the DDL is in the Alembic revision
``0002_auth_service`` (with the DB-level guards: SQLite triggers; PostgreSQL triggers, FORCE
row-level security and policies). Conventions as in :mod:`parkcarbon.storage.models`: UUID
string ids, UTC-aware times, ``tenant_id`` on every row owned by an enterprise (R13).

* accounts (R14): :class:`User` (Argon2id ``password_hash``, ``auth_epoch`` bumped on logout-all,
  password or role change so every older session and token dies), :class:`Membership` (role ×
  park or enterprise), :class:`VerifierAssignment` (enterprise × reporting year × dates,
  revocable, SEC-05), :class:`UserSession` (server-side browser session + CSRF token),
  :class:`ApiToken` (gateway / integration tokens, only their SHA-256 is stored),
  :class:`LoginAttempt` (throttling, security log R16);
* audit (R9): :class:`AuditRecord`, append-only and hash-chained (``seq`` order);
* lifecycle (R7/R8/R11): :class:`PeriodEvent` (history of status changes, who prepared and who
  approved), :class:`PeriodCorrection` (a change to a submitted/verified/locked period: a new
  version with reason, root cause, preparer and approver), :class:`VerificationFinding`;
* results and recalculation (R10): :class:`ResultSnapshot` (a period's result pinned to the
  factor rows and versions it used), :class:`RecalculationProposal` and
  :class:`RecalculationItem` (Δ per period, applied only on approval, never to locked periods).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from parkcarbon.storage.models import Base, UtcDateTime, new_id, utc_now

__all__ = [
    "ROLES",
    "ApiToken",
    "AuditRecord",
    "LoginAttempt",
    "Membership",
    "PeriodCorrection",
    "PeriodEvent",
    "RecalculationItem",
    "RecalculationProposal",
    "ResultSnapshot",
    "User",
    "UserSession",
    "VerificationFinding",
    "VerifierAssignment",
]

#: Roles of a membership (角色). ``verifier`` access comes from :class:`VerifierAssignment`.
ROLES = ("platform_admin", "park_admin", "enterprise_manager", "enterprise_viewer", "provincial_operator")


def _id() -> Mapped[str]:
    return mapped_column(String(36), primary_key=True, default=new_id)


class User(Base):
    """A person's account (用户). ``password_hash`` is an Argon2id PHC string (R14)."""

    __tablename__ = "app_user"

    id: Mapped[str] = _id()
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    auth_epoch: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    password_changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class Membership(Base):
    """A role of a user on a park or an enterprise (or platform-wide / province-wide)."""

    __tablename__ = "membership"
    __table_args__ = (
        CheckConstraint(
            "role IN ('platform_admin','park_admin','enterprise_manager','enterprise_viewer','provincial_operator')",
            name="role"),
    )

    id: Mapped[str] = _id()
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    park_id: Mapped[str | None] = mapped_column(ForeignKey("park.id"))
    enterprise_id: Mapped[str | None] = mapped_column(ForeignKey("enterprise.id"))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class VerifierAssignment(Base):
    """A verification engagement (核查委托): enterprise × reporting year, between two dates (SEC-05)."""

    __tablename__ = "verifier_assignment"

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"), index=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprise.id"))
    year: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(100))


class UserSession(Base):
    """A server-side browser session (会话); the cookie holds a random token, the DB its SHA-256."""

    __tablename__ = "user_session"

    id: Mapped[str] = _id()
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"), index=True)
    auth_epoch: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))


class ApiToken(Base):
    """A revocable API token (接口令牌) for gateways and integrations; header only, never a cookie."""

    __tablename__ = "api_token"

    id: Mapped[str] = _id()
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_prefix: Mapped[str] = mapped_column(String(16))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    auth_epoch: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class LoginAttempt(Base):
    """One login attempt (登录记录): throttling input and security log (R14, R16)."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_username_ts", "username", "ts"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    username: Mapped[str] = mapped_column(String(100))
    ts: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    success: Mapped[bool] = mapped_column(Boolean)
    ip: Mapped[str | None] = mapped_column(String(64))


class AuditRecord(Base):
    """One audit-trail record (审计追踪), append-only and hash-chained (R9).

    ``hash`` = SHA-256 over ``prev_hash`` and the canonical JSON of every other field, so a
    changed byte, a deleted row (a gap in ``seq`` / a broken link) or two swapped rows are
    detected by :func:`parkcarbon.services.audit.verify_chain`. UPDATE and DELETE are refused
    by triggers.
    """

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    ts: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    tenant_id: Mapped[str | None] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(100))
    old_json: Mapped[str | None] = mapped_column(Text)
    new_json: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(12), default="success")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class PeriodEvent(Base):
    """A status change of a reporting period (报告期状态变更记录): who, when, from, to, comment."""

    __tablename__ = "period_event"
    __table_args__ = (Index("ix_period_event_period", "enterprise_id", "month"),)

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprise.id"))
    month: Mapped[str] = mapped_column(String(7))
    from_status: Mapped[str] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    by: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    comment: Mapped[str | None] = mapped_column(Text)


class PeriodCorrection(Base):
    """A correction of a submitted/verified/locked period (更正): a new version, four-eyes approved.

    ``records_json`` the proposed ledger rows; ``status``: ``requested`` → ``applied`` (approved
    and written, ``applying`` only inside the approving transaction: the DB guard lets ledger
    and evidence writes through for that period while it is ``applying``) or ``rejected``.
    """

    __tablename__ = "period_correction"
    __table_args__ = (
        CheckConstraint("status IN ('requested','applying','applied','rejected')", name="status"),
        Index("ix_period_correction_period", "enterprise_id", "month", "status"),
    )

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprise.id"))
    month: Mapped[str] = mapped_column(String(7))
    version: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    root_cause: Mapped[str] = mapped_column(Text)
    records_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="requested")
    prepared_by: Mapped[str] = mapped_column(String(100))
    prepared_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    approved_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    period_status: Mapped[str] = mapped_column(String(12))


class VerificationFinding(Base):
    """A verifier's opinion or finding (核查意见/发现) on an enterprise-year or month."""

    __tablename__ = "verification_finding"

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprise.id"))
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[str | None] = mapped_column(String(7))
    kind: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class ResultSnapshot(Base):
    """The accounting result of an enterprise-month, pinned to its factors (核算结果快照, R10).

    ``totals_json`` the inventory totals [tce, tCO2, kWh]; ``factors_json`` every factor row used
    (id, key, value, unit, set version, source); ``records_json`` the ledger row ids;
    ``content_sha256`` over the three. ``status``: ``current`` or ``superseded`` (a
    recalculation); rows of a submitted/verified/locked period cannot change (DB guard).
    """

    __tablename__ = "result_snapshot"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "month", "version"),
        CheckConstraint("status IN ('current','superseded')", name="status"),
        Index("ix_result_snapshot_current", "enterprise_id", "month", "status"),
    )

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprise.id"))
    month: Mapped[str] = mapped_column(String(7))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="current")
    method: Mapped[str] = mapped_column(String(200))
    totals_json: Mapped[str] = mapped_column(Text)
    factors_json: Mapped[str] = mapped_column(Text)
    records_json: Mapped[str] = mapped_column(Text)
    total_location_tco2: Mapped[float] = mapped_column(Float)
    energy_tce: Mapped[float] = mapped_column(Float)
    content_sha256: Mapped[str] = mapped_column(String(64))
    code_version: Mapped[str] = mapped_column(String(20))
    computed_by: Mapped[str] = mapped_column(String(100))
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    proposal_id: Mapped[str | None] = mapped_column(String(36))


class RecalculationProposal(Base):
    """A recalculation proposal (重算提议) after a factor change: Δ per period, applied on approval."""

    __tablename__ = "recalculation_proposal"
    __table_args__ = (CheckConstraint("status IN ('open','approved','rejected')", name="status"),)

    id: Mapped[str] = _id()
    park_id: Mapped[str | None] = mapped_column(ForeignKey("park.id"))
    year: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    threshold_frac: Mapped[float] = mapped_column(Float)
    factor_change_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    approved_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RecalculationItem(Base):
    """One period of a proposal: old and new total, Δ, and what happens to it.

    ``action``: ``apply`` (draft/returned period, |Δ| ≥ threshold), ``below_threshold``,
    ``frozen`` (submitted/verified/locked period: never changed by a factor update).
    ``delta_frac`` = new/old − 1 [-], None when the old total is 0.
    """

    __tablename__ = "recalculation_item"

    id: Mapped[str] = _id()
    proposal_id: Mapped[str] = mapped_column(ForeignKey("recalculation_proposal.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprise.id"))
    month: Mapped[str] = mapped_column(String(7))
    period_status: Mapped[str] = mapped_column(String(12))
    old_snapshot_id: Mapped[str | None] = mapped_column(String(36))
    old_total_location_tco2: Mapped[float | None] = mapped_column(Float)
    new_total_location_tco2: Mapped[float] = mapped_column(Float)
    delta_tco2: Mapped[float | None] = mapped_column(Float)
    delta_frac: Mapped[float | None] = mapped_column(Float)
    action: Mapped[str] = mapped_column(String(20))
    applied: Mapped[bool] = mapped_column(Boolean, default=False)
    new_result_json: Mapped[str] = mapped_column(Text)
