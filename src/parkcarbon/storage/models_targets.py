"""Stored targets, budgets and early warnings (目标、用能/碳排放预算与预警).

DDL in the Alembic revision ``0006_targets``; every table has ``tenant_id`` and, on
PostgreSQL, the tenant row-level-security policy (R13). Park-level rows (targets of the park,
budgets, thresholds, webhook subscriptions) carry the park tenant ``park:<park id>``
(:func:`parkcarbon.storage.models_planning.park_tenant`); rows about one enterprise (its
targets, its budget allocation, its warning events) carry that enterprise's tenant, so an
enterprise user reads its own allocation and warnings and nothing else.

Webhook secrets (``webhook_subscription.secret``) are stored as given: an HMAC signature needs
the secret itself (a hash cannot sign). They are never returned by the API after creation
(only a SHA-256 fingerprint), never logged, and the table is under RLS to the park tenant.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from parkcarbon.storage.models import Base, UtcDateTime, _id, utc_now

__all__ = [
    "DELIVERY_STATUSES",
    "BudgetAllocationRow",
    "BudgetRow",
    "TargetRow",
    "WarningConfigRow",
    "WarningEventRow",
    "WebhookSubscriptionRow",
]

#: delivery status of a warning event: not to be sent (unchanged or below the minimum grade),
#: delivered, failed after all retries, or no subscription configured
DELIVERY_STATUSES = ("not_sent", "delivered", "failed", "no_subscription")


class TargetRow(Base):
    """A stored target (目标) of the park (``enterprise_id`` NULL) or one enterprise.

    milestones_json : ``[{"year", "value" | "reduction_frac", "reference_year"}]``.
    base_value : [indicator unit]; NULL = computed from the data of the base year.
    """

    __tablename__ = "target"
    __table_args__ = (Index("ix_target_park_indicator", "park_id", "indicator"),)

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    park_id: Mapped[str] = mapped_column(ForeignKey("park.id"))
    enterprise_id: Mapped[str | None] = mapped_column(ForeignKey("enterprise.id"))
    indicator: Mapped[str] = mapped_column(String(60))
    base_year: Mapped[int] = mapped_column(Integer)
    base_value: Mapped[float | None] = mapped_column(Float)
    milestones_json: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(500))
    set_id: Mapped[str | None] = mapped_column(String(60))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class BudgetRow(Base):
    """A park budget (园区用能/碳排放预算) for one year and kind [tce | tCO2]; one per park × year × kind."""

    __tablename__ = "budget"
    __table_args__ = (
        UniqueConstraint("park_id", "year", "kind"),
        CheckConstraint("kind IN ('energy','carbon')", name="kind"),
        CheckConstraint("method IN ('history','benchmark','output')", name="method"),
        CheckConstraint("park_budget_qty > 0", name="positive"),
    )

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    park_id: Mapped[str] = mapped_column(ForeignKey("park.id"))
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    park_budget_qty: Mapped[float] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(12))
    reserve_frac: Mapped[float] = mapped_column(Float, default=0.0)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class BudgetAllocationRow(Base):
    """One enterprise's share of a park budget [kind unit] with its monthly phasing (``monthly_json``: month → qty)."""

    __tablename__ = "budget_allocation"
    __table_args__ = (UniqueConstraint("budget_id", "enterprise_id"),)

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    budget_id: Mapped[str] = mapped_column(ForeignKey("budget.id", ondelete="CASCADE"))
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprise.id"))
    budget_qty: Mapped[float] = mapped_column(Float)
    share_frac: Mapped[float] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float)
    monthly_json: Mapped[str] = mapped_column(Text)


class WarningConfigRow(Base):
    """Warning thresholds of a park (预警阈值) on forecast / budget [fraction]."""

    __tablename__ = "warning_config"
    __table_args__ = (
        UniqueConstraint("park_id"),
        CheckConstraint("yellow_frac > 0 AND yellow_frac <= orange_frac AND orange_frac <= red_frac", name="ordered"),
        CheckConstraint("basis IN ('central','upper')", name="basis"),
    )

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    park_id: Mapped[str] = mapped_column(ForeignKey("park.id"))
    yellow_frac: Mapped[float] = mapped_column(Float)
    orange_frac: Mapped[float] = mapped_column(Float)
    red_frac: Mapped[float] = mapped_column(Float)
    basis: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(500))
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class WebhookSubscriptionRow(Base):
    """A webhook subscription of a park (预警推送订阅): URL, HMAC secret, minimum grade."""

    __tablename__ = "webhook_subscription"
    __table_args__ = (CheckConstraint("min_grade IN ('green','yellow','orange','red')", name="min_grade"),)

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    park_id: Mapped[str] = mapped_column(ForeignKey("park.id"))
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(200))
    min_grade: Mapped[str] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class WarningEventRow(Base):
    """A graded warning of one enterprise at the end of ``as_of`` (预警事件) and its delivery.

    forecast_qty / low_qty / high_qty / budget_qty : [kind unit]; ratio_frac : forecast / budget.
    """

    __tablename__ = "warning_event"
    __table_args__ = (
        UniqueConstraint("park_id", "enterprise_id", "kind", "as_of"),
        CheckConstraint("grade IN ('green','yellow','orange','red')", name="grade"),
        CheckConstraint("delivery_status IN ('not_sent','delivered','failed','no_subscription')",
                        name="delivery_status"),
        Index("ix_warning_event_park_asof", "park_id", "as_of"),
    )

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    park_id: Mapped[str] = mapped_column(ForeignKey("park.id"))
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprise.id"))
    year: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[str] = mapped_column(String(7))
    kind: Mapped[str] = mapped_column(String(10))
    grade: Mapped[str] = mapped_column(String(10))
    previous_grade: Mapped[str | None] = mapped_column(String(10))
    forecast_qty: Mapped[float] = mapped_column(Float)
    low_qty: Mapped[float | None] = mapped_column(Float)
    high_qty: Mapped[float | None] = mapped_column(Float)
    budget_qty: Mapped[float] = mapped_column(Float)
    ratio_frac: Mapped[float] = mapped_column(Float)
    ytd_actual_qty: Mapped[float] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text)
    message_zh: Mapped[str] = mapped_column(Text)
    delivery_status: Mapped[str] = mapped_column(String(16))
    delivery_id: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
