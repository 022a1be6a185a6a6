"""Process inputs: carbonates consumed in industrial processes (工业生产过程 碳酸盐分解).

Kept apart from the energy ledger because a carbonate is not an energy carrier: it has no
standard-coal coefficient, only a stoichiometric CO2 factor (GB/T 32150-2015; NOTES §2.5).
Versioned like the ledger: a new value for (enterprise, month, mineral) supersedes the old row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parkcarbon.storage.models import Base, UtcDateTime, _id, utc_now

__all__ = ["ProcessInputRow"]


class ProcessInputRow(Base):
    """Mass of a carbonate consumed by an enterprise in a month [t], versioned."""

    __tablename__ = "process_input"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "month", "mineral", "version"),
        Index("ix_process_input_current", "enterprise_id", "month", "status"),
        CheckConstraint("status IN ('current','superseded')", name="status"),
        CheckConstraint("quality IN ('measured','estimated','edited','missing','suspect')", name="quality"),
        CheckConstraint("quantity_t IS NULL OR quantity_t >= 0", name="quantity_nonnegative"),
        CheckConstraint("quantity_t IS NOT NULL OR quality = 'missing'", name="null_is_missing"),
        CheckConstraint("calcination_frac >= 0 AND calcination_frac <= 1", name="calcination_range"),
    )

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64))
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprise.id"))
    month: Mapped[str] = mapped_column(String(7))
    mineral: Mapped[str] = mapped_column(String(40))
    quantity_t: Mapped[float | None] = mapped_column(Float)
    calcination_frac: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(300), default="")
    quality: Mapped[str] = mapped_column(String(12), default="measured")
    status: Mapped[str] = mapped_column(String(12), default="current")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
