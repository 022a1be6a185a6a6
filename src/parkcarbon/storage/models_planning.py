"""Stored plan results (规划结果): PV / dispatch / sizing runs of an enterprise or the park.

DDL in the Alembic revision ``0005_planning`` (``revision = "0005_plans"``), with the tenant
row-level-security policy on PostgreSQL (R13). ``tenant_id`` is the enterprise's tenant for an
enterprise plan and ``park:<park id>`` for a park plan (:func:`park_tenant`), so a park plan is
never visible through an enterprise's tenant.

The schedule (one row per step: load, PV, battery, grid) is stored as gzip-compressed JSON in
``schedule_gz`` (a year at hourly resolution is ~100 kB compressed); ``summary_json`` holds the
KPIs and ``params_json`` the validated input parameters of the run.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from parkcarbon.storage.models import Base, UtcDateTime, _id, utc_now

__all__ = ["PLAN_KINDS", "PLAN_STATUSES", "PlanResultRow", "park_tenant"]

#: kinds of plan (规划类型): PV yield, battery dispatch, PV + storage sizing
PLAN_KINDS = ("pv", "dispatch", "sizing")
#: a stored run either completed or was proven infeasible (with its explanation in the summary)
PLAN_STATUSES = ("completed", "infeasible")


def park_tenant(park_id: str) -> str:
    """The tenant id of park-level rows (园区级数据的租户标识)."""
    return f"park:{park_id}"


class PlanResultRow(Base):
    """One stored planning run (规划运行结果) and its schedule."""

    __tablename__ = "plan_result"
    __table_args__ = (
        CheckConstraint("kind IN ('pv','dispatch','sizing')", name="kind"),
        CheckConstraint("status IN ('completed','infeasible')", name="status"),
        CheckConstraint("load_source IN ('store','upload','none')", name="load_source"),
        CheckConstraint("step_minutes > 0 AND steps >= 0", name="steps_positive"),
        Index("ix_plan_result_park_created", "park_id", "created_at"),
        Index("ix_plan_result_enterprise_created", "enterprise_id", "created_at"),
    )

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    park_id: Mapped[str | None] = mapped_column(ForeignKey("park.id"))
    enterprise_id: Mapped[str | None] = mapped_column(ForeignKey("enterprise.id"))
    kind: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12), default="completed")
    load_source: Mapped[str] = mapped_column(String(12))
    horizon_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    horizon_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    step_minutes: Mapped[int] = mapped_column(Integer)
    steps: Mapped[int] = mapped_column(Integer)
    params_json: Mapped[str] = mapped_column(Text)
    summary_json: Mapped[str] = mapped_column(Text)
    schedule_gz: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
