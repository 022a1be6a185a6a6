"""process inputs: carbonates consumed in industrial processes (碳酸盐分解)

Revision ID: 0003_process
Revises: 0002_auth
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_process"
down_revision: str | None = "0002_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "process_input",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("enterprise_id", sa.String(length=36), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("mineral", sa.String(length=40), nullable=False),
        sa.Column("quantity_t", sa.Float(), nullable=True),
        sa.Column("calcination_frac", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("quality", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('current','superseded')", name=op.f("ck_process_input_status")),
        sa.CheckConstraint("quality IN ('measured','estimated','edited','missing','suspect')",
                           name=op.f("ck_process_input_quality")),
        sa.CheckConstraint("quantity_t IS NULL OR quantity_t >= 0", name=op.f("ck_process_input_quantity_nonnegative")),
        sa.CheckConstraint("quantity_t IS NOT NULL OR quality = 'missing'", name=op.f("ck_process_input_null_is_missing")),
        sa.CheckConstraint("calcination_frac >= 0 AND calcination_frac <= 1",
                           name=op.f("ck_process_input_calcination_range")),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"],
                                name=op.f("fk_process_input_enterprise_id_enterprise")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_input")),
        sa.UniqueConstraint("enterprise_id", "month", "mineral", "version",
                            name=op.f("uq_process_input_enterprise_id_month_mineral_version")),
    )
    with op.batch_alter_table("process_input", schema=None) as batch_op:
        batch_op.create_index("ix_process_input_current", ["enterprise_id", "month", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("process_input", schema=None) as batch_op:
        batch_op.drop_index("ix_process_input_current")
    op.drop_table("process_input")
