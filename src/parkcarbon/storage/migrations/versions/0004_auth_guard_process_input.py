"""auth service: DB guards for process_input (R7 frozen-period triggers; R13 RLS on PostgreSQL)

``process_input`` (carbonates, added in 0003) belongs to an enterprise-month like the ledger:
its rows cannot change once the period is submitted, verified or locked (except while an
approved correction is applied), and on PostgreSQL it gets the tenant policy with FORCE RLS.
Uses the guard function created by ``0002_auth``.

Revision ID: 0004_auth_process
Revises: 0003_process
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004_auth_process"
down_revision: str | None = "0003_process"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "process_input"
# same predicate as 0002_auth (copied: migrations never import each other)
TENANT_POLICY = (
    "coalesce(current_setting('app.all_tenants', true), '') = 'on' OR tenant_id IN "
    "(SELECT unnest(string_to_array(coalesce(current_setting('app.tenant_ids', true), ''), ',')))"
)
_FROZEN = (
    "EXISTS (SELECT 1 FROM reporting_period p WHERE p.enterprise_id = {r}.enterprise_id AND p.month = {r}.month "
    "AND p.status IN ('submitted','verified','locked')) "
    "AND NOT EXISTS (SELECT 1 FROM period_correction c WHERE c.enterprise_id = {r}.enterprise_id "
    "AND c.month = {r}.month AND c.status = 'applying')"
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        msg = f"E-LOCKED: {TABLE} rows of a submitted/verified/locked period cannot be changed in place"
        for op_name, row in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD")):
            op.execute(f"CREATE TRIGGER trg_{TABLE}_frozen_{op_name.lower()} BEFORE {op_name} ON {TABLE} "
                       f"WHEN {_FROZEN.format(r=row)} BEGIN SELECT RAISE(ABORT, '{msg}'); END")
    elif dialect == "postgresql":
        op.execute(f"CREATE TRIGGER trg_{TABLE}_frozen BEFORE INSERT OR UPDATE OR DELETE ON {TABLE} "
                   "FOR EACH ROW EXECUTE FUNCTION parkcarbon_guard_period_rows()")
        op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY parkcarbon_tenant ON {TABLE} USING ({TENANT_POLICY}) WITH CHECK ({TENANT_POLICY})")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for o in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_{TABLE}_frozen_{o}")
    elif dialect == "postgresql":
        op.execute(f"DROP POLICY IF EXISTS parkcarbon_tenant ON {TABLE}")
        op.execute(f"ALTER TABLE {TABLE} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {TABLE} DISABLE ROW LEVEL SECURITY")
        op.execute(f"DROP TRIGGER IF EXISTS trg_{TABLE}_frozen ON {TABLE}")
