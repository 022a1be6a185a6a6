"""ledger guard per statement: the period lock of activity_record checked once per statement

On PostgreSQL ``activity_record`` carried the row-level trigger ``trg_activity_record_frozen``
(0002): each inserted, updated or deleted ledger row called ``parkcarbon_period_frozen`` — a
``SECURITY DEFINER`` function with its own ``search_path``, so never inlined — about 30 µs per
row, most of the time of a meter-derived ledger write (thousands of rows a day for a park). It is
replaced by the same rule checked once per statement: ``AFTER INSERT / UPDATE / DELETE …
REFERENCING NEW|OLD TABLE … FOR EACH STATEMENT`` triggers look up each distinct (enterprise,
month) of the statement's rows and raise the same ``E-LOCKED`` error if any is frozen, which
aborts the statement (nothing it wrote stays). As before, inserts are checked on the new rows,
updates and deletes on the old ones. SQLite and the other guarded tables are unchanged.

Revision ID: 0009_ledger_guard_per_statement
Revises: 0008_reading_integrity
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009_ledger_guard_per_statement"
down_revision: str | None = "0008_reading_integrity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FUNCTION = """CREATE FUNCTION parkcarbon_guard_period_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  hit record;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT k.enterprise_id, k.month INTO hit FROM (SELECT DISTINCT enterprise_id, month FROM new_rows) k
     WHERE parkcarbon_period_frozen(k.enterprise_id, k.month) LIMIT 1;
  ELSE
    SELECT k.enterprise_id, k.month INTO hit FROM (SELECT DISTINCT enterprise_id, month FROM old_rows) k
     WHERE parkcarbon_period_frozen(k.enterprise_id, k.month) LIMIT 1;
  END IF;
  IF FOUND THEN
    RAISE EXCEPTION 'E-LOCKED: % rows of a submitted/verified/locked period cannot be changed in place',
      TG_TABLE_NAME USING DETAIL = format('enterprise %s, month %s', hit.enterprise_id, hit.month);
  END IF;
  RETURN NULL;
END $$"""

_TRIGGERS = (
    ("insert", "INSERT", "NEW TABLE AS new_rows"),
    ("update", "UPDATE", "OLD TABLE AS old_rows"),
    ("delete", "DELETE", "OLD TABLE AS old_rows"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS trg_activity_record_frozen ON activity_record")
    op.execute(_FUNCTION)
    for name, event, ref in _TRIGGERS:
        op.execute(f"CREATE TRIGGER trg_activity_record_frozen_{name} AFTER {event} ON activity_record "
                   f"REFERENCING {ref} FOR EACH STATEMENT EXECUTE FUNCTION parkcarbon_guard_period_statement()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _event, _ref in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS trg_activity_record_frozen_{name} ON activity_record")
    op.execute("DROP FUNCTION IF EXISTS parkcarbon_guard_period_statement()")
    op.execute("CREATE TRIGGER trg_activity_record_frozen BEFORE INSERT OR UPDATE OR DELETE ON activity_record "
               "FOR EACH ROW EXECUTE FUNCTION parkcarbon_guard_period_rows()")
