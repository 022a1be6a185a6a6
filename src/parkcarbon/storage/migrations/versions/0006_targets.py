"""targets: stored targets, budgets, allocations, warning thresholds, webhooks, warning events

Tables of :mod:`parkcarbon.storage.models_targets`. Park-level rows carry the tenant
``park:<park id>``, enterprise rows the enterprise's tenant; on PostgreSQL every table gets the
tenant policy with FORCE RLS (same predicate as ``0002_auth``). Webhook secrets are stored as
given (HMAC signing needs them) and never returned by the API.

Revision ID: 0006_targets
Revises: 0005_plans
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_targets"
down_revision: str | None = "0005_plans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("warning_event", "webhook_subscription", "warning_config", "budget_allocation", "budget", "target")
# same predicate as 0002_auth (copied: migrations never import each other)
TENANT_POLICY = (
    "coalesce(current_setting('app.all_tenants', true), '') = 'on' OR tenant_id IN "
    "(SELECT unnest(string_to_array(coalesce(current_setting('app.tenant_ids', true), ''), ',')))"
)


def _common(table: str) -> list[sa.schema.SchemaItem]:
    return [sa.Column("id", sa.String(length=36), nullable=False),
            sa.Column("tenant_id", sa.String(length=64), nullable=False)]


def _pk_park(table: str) -> list[sa.schema.SchemaItem]:
    return [sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.ForeignKeyConstraint(["park_id"], ["park.id"], name=op.f(f"fk_{table}_park_id_park"))]


def upgrade() -> None:
    op.create_table(
        "target", *_common("target"),
        sa.Column("park_id", sa.String(length=36), nullable=False),
        sa.Column("enterprise_id", sa.String(length=36), nullable=True),
        sa.Column("indicator", sa.String(length=60), nullable=False),
        sa.Column("base_year", sa.Integer(), nullable=False),
        sa.Column("base_value", sa.Float(), nullable=True),
        sa.Column("milestones_json", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("set_id", sa.String(length=60), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_pk_park("target"),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"], name=op.f("fk_target_enterprise_id_enterprise")),
    )
    op.create_index("ix_target_park_indicator", "target", ["park_id", "indicator"])
    op.create_table(
        "budget", *_common("budget"),
        sa.Column("park_id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("park_budget_qty", sa.Float(), nullable=False),
        sa.Column("method", sa.String(length=12), nullable=False),
        sa.Column("reserve_frac", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_pk_park("budget"),
        sa.UniqueConstraint("park_id", "year", "kind", name=op.f("uq_budget_park_id_year_kind")),
        sa.CheckConstraint("kind IN ('energy','carbon')", name=op.f("ck_budget_kind")),
        sa.CheckConstraint("method IN ('history','benchmark','output')", name=op.f("ck_budget_method")),
        sa.CheckConstraint("park_budget_qty > 0", name=op.f("ck_budget_positive")),
    )
    op.create_table(
        "budget_allocation", *_common("budget_allocation"),
        sa.Column("budget_id", sa.String(length=36), nullable=False),
        sa.Column("enterprise_id", sa.String(length=36), nullable=False),
        sa.Column("budget_qty", sa.Float(), nullable=False),
        sa.Column("share_frac", sa.Float(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("monthly_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_allocation")),
        sa.ForeignKeyConstraint(["budget_id"], ["budget.id"], ondelete="CASCADE",
                                name=op.f("fk_budget_allocation_budget_id_budget")),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"],
                                name=op.f("fk_budget_allocation_enterprise_id_enterprise")),
        sa.UniqueConstraint("budget_id", "enterprise_id", name=op.f("uq_budget_allocation_budget_id_enterprise_id")),
    )
    op.create_table(
        "warning_config", *_common("warning_config"),
        sa.Column("park_id", sa.String(length=36), nullable=False),
        sa.Column("yellow_frac", sa.Float(), nullable=False),
        sa.Column("orange_frac", sa.Float(), nullable=False),
        sa.Column("red_frac", sa.Float(), nullable=False),
        sa.Column("basis", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        *_pk_park("warning_config"),
        sa.UniqueConstraint("park_id", name=op.f("uq_warning_config_park_id")),
        sa.CheckConstraint("yellow_frac > 0 AND yellow_frac <= orange_frac AND orange_frac <= red_frac",
                           name=op.f("ck_warning_config_ordered")),
        sa.CheckConstraint("basis IN ('central','upper')", name=op.f("ck_warning_config_basis")),
    )
    op.create_table(
        "webhook_subscription", *_common("webhook_subscription"),
        sa.Column("park_id", sa.String(length=36), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("min_grade", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_pk_park("webhook_subscription"),
        sa.CheckConstraint("min_grade IN ('green','yellow','orange','red')",
                           name=op.f("ck_webhook_subscription_min_grade")),
    )
    op.create_table(
        "warning_event", *_common("warning_event"),
        sa.Column("park_id", sa.String(length=36), nullable=False),
        sa.Column("enterprise_id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.String(length=7), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("grade", sa.String(length=10), nullable=False),
        sa.Column("previous_grade", sa.String(length=10), nullable=True),
        sa.Column("forecast_qty", sa.Float(), nullable=False),
        sa.Column("low_qty", sa.Float(), nullable=True),
        sa.Column("high_qty", sa.Float(), nullable=True),
        sa.Column("budget_qty", sa.Float(), nullable=False),
        sa.Column("ratio_frac", sa.Float(), nullable=False),
        sa.Column("ytd_actual_qty", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("message_zh", sa.Text(), nullable=False),
        sa.Column("delivery_status", sa.String(length=16), nullable=False),
        sa.Column("delivery_id", sa.String(length=64), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_pk_park("warning_event"),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"],
                                name=op.f("fk_warning_event_enterprise_id_enterprise")),
        sa.UniqueConstraint("park_id", "enterprise_id", "kind", "as_of",
                            name=op.f("uq_warning_event_park_id_enterprise_id_kind_as_of")),
        sa.CheckConstraint("grade IN ('green','yellow','orange','red')", name=op.f("ck_warning_event_grade")),
        sa.CheckConstraint("delivery_status IN ('not_sent','delivered','failed','no_subscription')",
                           name=op.f("ck_warning_event_delivery_status")),
    )
    op.create_index("ix_warning_event_park_asof", "warning_event", ["park_id", "as_of"])
    for table in TABLES:
        op.create_index(op.f(f"ix_{table}_tenant_id"), table, ["tenant_id"])
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY parkcarbon_tenant ON {table} USING ({TENANT_POLICY}) WITH CHECK ({TENANT_POLICY})")


def downgrade() -> None:
    for table in TABLES:
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP POLICY IF EXISTS parkcarbon_tenant ON {table}")
        op.drop_index(op.f(f"ix_{table}_tenant_id"), table_name=table)
    op.drop_index("ix_warning_event_park_asof", table_name="warning_event")
    op.drop_index("ix_target_park_indicator", table_name="target")
    for table in TABLES:
        op.drop_table(table)
