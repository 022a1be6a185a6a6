"""planning: stored plan results (规划结果) with tenant RLS on PostgreSQL

``plan_result`` holds one PV / dispatch / sizing run of an enterprise or of the park
(:mod:`parkcarbon.storage.models_planning`): input parameters, result summary, the schedule
(gzip-compressed JSON), who ran it and when. ``tenant_id`` is the enterprise's tenant for an
enterprise plan and ``park:<park id>`` for a park plan; on PostgreSQL the table gets the tenant
policy with FORCE RLS (same predicate as ``0002_auth``).

Revision ID: 0005_plans
Revises: 0004_auth_process
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_plans"
down_revision: str | None = "0004_auth_process"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "plan_result"
# same predicate as 0002_auth (copied: migrations never import each other)
TENANT_POLICY = (
    "coalesce(current_setting('app.all_tenants', true), '') = 'on' OR tenant_id IN "
    "(SELECT unnest(string_to_array(coalesce(current_setting('app.tenant_ids', true), ''), ',')))"
)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("park_id", sa.String(length=36), nullable=True),
        sa.Column("enterprise_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("load_source", sa.String(length=12), nullable=False),
        sa.Column("horizon_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("horizon_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("step_minutes", sa.Integer(), nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("params_json", sa.Text(), nullable=False),
        sa.Column("summary_json", sa.Text(), nullable=False),
        sa.Column("schedule_gz", sa.LargeBinary(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('pv','dispatch','sizing')", name=op.f("ck_plan_result_kind")),
        sa.CheckConstraint("status IN ('completed','infeasible')", name=op.f("ck_plan_result_status")),
        sa.CheckConstraint("load_source IN ('store','upload','none')", name=op.f("ck_plan_result_load_source")),
        sa.CheckConstraint("step_minutes > 0 AND steps >= 0", name=op.f("ck_plan_result_steps_positive")),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"],
                                name=op.f("fk_plan_result_enterprise_id_enterprise")),
        sa.ForeignKeyConstraint(["park_id"], ["park.id"], name=op.f("fk_plan_result_park_id_park")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_result")),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_result_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_plan_result_park_created", ["park_id", "created_at"], unique=False)
        batch_op.create_index("ix_plan_result_enterprise_created", ["enterprise_id", "created_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY parkcarbon_tenant ON {TABLE} USING ({TENANT_POLICY}) WITH CHECK ({TENANT_POLICY})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP POLICY IF EXISTS parkcarbon_tenant ON {TABLE}")
        op.execute(f"ALTER TABLE {TABLE} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {TABLE} DISABLE ROW LEVEL SECURITY")
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index("ix_plan_result_enterprise_created")
        batch_op.drop_index("ix_plan_result_park_created")
        batch_op.drop_index(batch_op.f("ix_plan_result_tenant_id"))
    op.drop_table(TABLE)
