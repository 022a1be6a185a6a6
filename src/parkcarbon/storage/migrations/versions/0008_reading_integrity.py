"""reading integrity: raw_reading's references checked once per statement on PostgreSQL

On PostgreSQL the two foreign keys of ``raw_reading`` (``meter_id`` → ``meter``, ``batch_id`` →
``ingest_batch``) fired one referential-integrity trigger per inserted row, about 70 % of the
server time of a bulk load. They are replaced by the same guarantees, checked set-wise:

* ``trg_raw_reading_refs_insert`` / ``_update`` — ``AFTER INSERT`` (and ``AFTER UPDATE``)
  ``… REFERENCING NEW TABLE … FOR EACH STATEMENT`` (``COPY`` fires it too): one pass over the
  statement's new rows collects the meters and batches they reference, which are locked ``FOR
  KEY SHARE`` (as a foreign key's check does, so a concurrent delete waits, then fails), then
  one anti-join per parent table; a missing parent raises SQLSTATE 23503
  (``foreign_key_violation``) naming the id, so drivers report an integrity error as before;
* ``trg_meter_reading_guard`` / ``trg_ingest_batch_reading_guard`` — ``BEFORE DELETE OR UPDATE
  OF id … FOR EACH ROW`` on the parents (rare writes): a meter or batch that readings reference
  cannot be deleted or have its id changed (23503 again). ``TRUNCATE`` of a parent alone is
  still refused by the other foreign keys that reference ``meter`` and ``ingest_batch``.
  One gap the foreign key did not have: a delete running under REPEATABLE READ that waits for a
  concurrent first insert of the meter's readings does not see them once it proceeds (a foreign
  key checks with a cross-check snapshot, which PL/pgSQL cannot take). READ COMMITTED (what
  parkcarbon uses) and SERIALIZABLE catch it; parkcarbon never deletes meters or batches.

Row-level security: ``meter``, ``ingest_batch`` and ``raw_reading`` have FORCE RLS with the tenant
policy, which binds the table owner too (only superusers and BYPASSRLS roles escape it), so a
``SECURITY DEFINER`` function alone would see only the caller's tenants. The check functions
therefore switch ``app.all_tenants`` on for their own queries and restore the caller's value
before returning (``set_config(…, true)``; on an error the aborted (sub)transaction restores it).
A ``SET app.all_tenants`` clause on the function would do the same but needs a superuser to
create. So the checks see every tenant's rows, whichever role writes — as a foreign key's check
does. The ORM model keeps its ``ForeignKey`` declarations (SQLite keeps the real foreign keys);
the schema comparison test excludes exactly this difference.

Revision ID: 0008_reading_integrity
Revises: 0007_increment_blocks
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008_reading_integrity"
down_revision: str | None = "0007_increment_blocks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the foreign keys of raw_reading as 0001 created them: name → (column, parent table)
FOREIGN_KEYS = {
    "fk_raw_reading_meter_id_meter": ("meter_id", "meter"),
    "fk_raw_reading_batch_id_ingest_batch": ("batch_id", "ingest_batch"),
}

_FUNCTIONS = [
    """CREATE FUNCTION parkcarbon_raw_reading_refs() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  meter_ids varchar[];
  batch_ids varchar[];
  missing varchar;
  prev text := current_setting('app.all_tenants', true);
BEGIN
  -- one pass over the statement's new rows: the distinct parents they reference
  SELECT array_agg(DISTINCT k.meter_id), array_agg(DISTINCT k.batch_id) INTO meter_ids, batch_ids
    FROM (SELECT DISTINCT n.meter_id, n.batch_id FROM new_rows n) k;
  IF meter_ids IS NULL THEN
    RETURN NULL;
  END IF;
  PERFORM set_config('app.all_tenants', 'on', true);
  -- lock the parents as a foreign key's check does, so a concurrent delete waits for this
  -- transaction (and then fails in its guard) or, having committed first, is seen below
  PERFORM 1 FROM meter m WHERE m.id = ANY (meter_ids) FOR KEY SHARE;
  SELECT x INTO missing FROM unnest(meter_ids) x WHERE NOT EXISTS (SELECT 1 FROM meter m WHERE m.id = x) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = format('E-READING-REF: raw_reading references meter %L, which does not exist', missing),
      DETAIL = format('读数引用的表计 %s 不存在', missing);
  END IF;
  PERFORM 1 FROM ingest_batch b WHERE b.id = ANY (batch_ids) FOR KEY SHARE;
  SELECT x INTO missing FROM unnest(batch_ids) x
   WHERE NOT EXISTS (SELECT 1 FROM ingest_batch b WHERE b.id = x) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = format('E-READING-REF: raw_reading references ingest batch %L, which does not exist', missing),
      DETAIL = format('读数引用的接入批次 %s 不存在', missing);
  END IF;
  PERFORM set_config('app.all_tenants', coalesce(prev, ''), true);
  RETURN NULL;
END $$""",
    """CREATE FUNCTION parkcarbon_reading_parent_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  prev text := current_setting('app.all_tenants', true);
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.id IS NOT DISTINCT FROM OLD.id THEN
    RETURN NEW;
  END IF;
  PERFORM set_config('app.all_tenants', 'on', true);
  IF TG_TABLE_NAME = 'meter' THEN
    PERFORM 1 FROM raw_reading r WHERE r.meter_id = OLD.id LIMIT 1;
  ELSE
    PERFORM 1 FROM raw_reading r WHERE r.batch_id = OLD.id LIMIT 1;
  END IF;
  IF FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = format('E-READING-REF: %s %L is referenced by raw readings and cannot be deleted or renamed',
                       TG_TABLE_NAME, OLD.id),
      DETAIL = format('%s %s 仍被原始读数引用，不能删除或修改编号', TG_TABLE_NAME, OLD.id);
  END IF;
  PERFORM set_config('app.all_tenants', coalesce(prev, ''), true);
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END $$""",
]

_TRIGGERS = [
    # one trigger per event: PostgreSQL allows transition tables only on single-event triggers
    "CREATE TRIGGER trg_raw_reading_refs_insert AFTER INSERT ON raw_reading REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION parkcarbon_raw_reading_refs()",
    "CREATE TRIGGER trg_raw_reading_refs_update AFTER UPDATE ON raw_reading REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION parkcarbon_raw_reading_refs()",
    "CREATE TRIGGER trg_meter_reading_guard BEFORE DELETE OR UPDATE OF id ON meter "
    "FOR EACH ROW EXECUTE FUNCTION parkcarbon_reading_parent_guard()",
    "CREATE TRIGGER trg_ingest_batch_reading_guard BEFORE DELETE OR UPDATE OF id ON ingest_batch "
    "FOR EACH ROW EXECUTE FUNCTION parkcarbon_reading_parent_guard()",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite keeps its foreign keys (checked per row by SQLite itself, cheaply)
    for name in FOREIGN_KEYS:
        op.drop_constraint(op.f(name), "raw_reading", type_="foreignkey")
    for stmt in (*_FUNCTIONS, *_TRIGGERS):
        op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS trg_raw_reading_refs_insert ON raw_reading")
    op.execute("DROP TRIGGER IF EXISTS trg_raw_reading_refs_update ON raw_reading")
    op.execute("DROP TRIGGER IF EXISTS trg_meter_reading_guard ON meter")
    op.execute("DROP TRIGGER IF EXISTS trg_ingest_batch_reading_guard ON ingest_batch")
    op.execute("DROP FUNCTION IF EXISTS parkcarbon_raw_reading_refs()")
    op.execute("DROP FUNCTION IF EXISTS parkcarbon_reading_parent_guard()")
    for name, (column, parent) in FOREIGN_KEYS.items():
        op.create_foreign_key(op.f(name), "raw_reading", parent, [column], ["id"])
