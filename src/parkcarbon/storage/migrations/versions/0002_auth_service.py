"""auth service: accounts, tenancy, audit trail, MRV workflow, DB-level guards

Tables of :mod:`parkcarbon.storage.models_auth` plus the database-level guards of the service
(issue 4):

* R7 — ledger rows (``activity_record``), evidence files and pinned results of a submitted,
  verified or locked period cannot be inserted, updated or deleted, not even by raw SQL, unless
  an approved correction of that period is being applied (``period_correction.status =
  'applying'``); evidence rows are never updated in place (R11); a locked period's status row
  cannot change;
* R9 — the audit log refuses UPDATE and DELETE;
* R13 (PostgreSQL only) — row-level security, ENABLE + FORCE, with a policy on every table
  that carries ``tenant_id`` (and on ``membership``); the visible tenants are set per
  transaction by the service in ``app.tenant_ids`` / ``app.all_tenants`` / ``app.user_id``
  (``parkcarbon.services.tenancy``). The application connects as a non-owner role without
  BYPASSRLS (``parkcarbon serve --provision-app-role`` creates it); the migrating owner is
  not subject to it.

Revision ID: 0002_auth
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_auth"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: tables whose rows belong to one enterprise-month (R7 guard)
PERIOD_TABLES = ("activity_record", "evidence_file", "result_snapshot")

#: tables with a tenant_id column (R13 policies on PostgreSQL)
TENANT_TABLES = (
    "enterprise", "site", "reporting_period", "meter", "ingest_batch", "raw_reading", "reading_conflict",
    "quarantined_reading", "interval_increment", "meter_aggregate", "activity_record", "production_record",
    "energy_asset", "green_power_contract", "green_power_delivery", "green_certificate", "evidence_file",
    "verifier_assignment", "period_event", "period_correction", "verification_finding", "result_snapshot",
    "recalculation_item", "audit_log",
)

#: the RLS predicate: all tenants (system jobs, platform admins) or a listed tenant. The list is
#: an uncorrelated sub-select, so PostgreSQL hashes it once per query (not once per row).
TENANT_POLICY = (
    "coalesce(current_setting('app.all_tenants', true), '') = 'on' OR tenant_id IN "
    "(SELECT unnest(string_to_array(coalesce(current_setting('app.tenant_ids', true), ''), ',')))"
)

_FROZEN_SQLITE = (
    "EXISTS (SELECT 1 FROM reporting_period p WHERE p.enterprise_id = {r}.enterprise_id AND p.month = {r}.month "
    "AND p.status IN ('submitted','verified','locked')) "
    "AND NOT EXISTS (SELECT 1 FROM period_correction c WHERE c.enterprise_id = {r}.enterprise_id "
    "AND c.month = {r}.month AND c.status = 'applying')"
)


def _sqlite_triggers() -> list[str]:
    out: list[str] = []
    for table in PERIOD_TABLES:
        msg = f"E-LOCKED: {table} rows of a submitted/verified/locked period cannot be changed in place"
        for op_name, row in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD")):
            if table == "evidence_file" and op_name == "UPDATE":
                continue
            out.append(
                f"CREATE TRIGGER trg_{table}_frozen_{op_name.lower()} BEFORE {op_name} ON {table} "
                f"WHEN {_FROZEN_SQLITE.format(r=row)} BEGIN SELECT RAISE(ABORT, '{msg}'); END")
    out.append("CREATE TRIGGER trg_evidence_file_no_update BEFORE UPDATE ON evidence_file BEGIN "
               "SELECT RAISE(ABORT, 'E-EVIDENCE-IMMUTABLE: evidence files are never replaced in place'); END")
    out.append("CREATE TRIGGER trg_audit_log_no_update BEFORE UPDATE ON audit_log BEGIN "
               "SELECT RAISE(ABORT, 'E-AUDIT-APPEND-ONLY: the audit log is append-only'); END")
    out.append("CREATE TRIGGER trg_audit_log_no_delete BEFORE DELETE ON audit_log BEGIN "
               "SELECT RAISE(ABORT, 'E-AUDIT-APPEND-ONLY: the audit log is append-only'); END")
    out.append("CREATE TRIGGER trg_reporting_period_locked BEFORE UPDATE ON reporting_period "
               "WHEN OLD.status = 'locked' BEGIN "
               "SELECT RAISE(ABORT, 'E-LOCKED: a locked period cannot change status'); END")
    out.append("CREATE TRIGGER trg_reporting_period_no_delete BEFORE DELETE ON reporting_period "
               "WHEN OLD.status <> 'draft' BEGIN "
               "SELECT RAISE(ABORT, 'E-LOCKED: a reporting period past draft cannot be deleted'); END")
    return out


_SQLITE_TRIGGER_NAMES = (
    [f"trg_{t}_frozen_{o}" for t in PERIOD_TABLES for o in ("insert", "update", "delete")
     if not (t == "evidence_file" and o == "update")]
    + ["trg_evidence_file_no_update", "trg_audit_log_no_update", "trg_audit_log_no_delete",
       "trg_reporting_period_locked", "trg_reporting_period_no_delete"]
)

_PG_FUNCTIONS = [
    """CREATE FUNCTION parkcarbon_tenant_visible(t varchar) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT coalesce(current_setting('app.all_tenants', true), '') = 'on'
      OR t = ANY(string_to_array(coalesce(current_setting('app.tenant_ids', true), ''), ','))
$$""",
    """CREATE FUNCTION parkcarbon_period_frozen(ent varchar, mon varchar) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
  SELECT EXISTS (SELECT 1 FROM reporting_period p WHERE p.enterprise_id = ent AND p.month = mon
                 AND p.status IN ('submitted','verified','locked'))
     AND NOT EXISTS (SELECT 1 FROM period_correction c WHERE c.enterprise_id = ent AND c.month = mon
                     AND c.status = 'applying')
$$""",
    """CREATE FUNCTION parkcarbon_guard_period_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'evidence_file' THEN
    RAISE EXCEPTION 'E-EVIDENCE-IMMUTABLE: evidence files are never replaced in place';
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    IF parkcarbon_period_frozen(OLD.enterprise_id, OLD.month) THEN
      RAISE EXCEPTION 'E-LOCKED: % rows of a submitted/verified/locked period cannot be changed in place',
        TG_TABLE_NAME;
    END IF;
  END IF;
  IF TG_OP = 'INSERT' THEN
    IF parkcarbon_period_frozen(NEW.enterprise_id, NEW.month) THEN
      RAISE EXCEPTION 'E-LOCKED: % rows of a submitted/verified/locked period cannot be changed in place',
        TG_TABLE_NAME;
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$""",
    """CREATE FUNCTION parkcarbon_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'E-AUDIT-APPEND-ONLY: the audit log is append-only';
END $$""",
    """CREATE FUNCTION parkcarbon_guard_reporting_period() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF OLD.status = 'locked' THEN
      RAISE EXCEPTION 'E-LOCKED: a locked period cannot change status';
    END IF;
    RETURN NEW;
  END IF;
  IF OLD.status <> 'draft' THEN
    RAISE EXCEPTION 'E-LOCKED: a reporting period past draft cannot be deleted';
  END IF;
  RETURN OLD;
END $$""",
    """CREATE FUNCTION parkcarbon_audit_tail() RETURNS TABLE(seq bigint, hash varchar)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
  SELECT a.seq::bigint, a.hash FROM audit_log a ORDER BY a.seq DESC LIMIT 1
$$""",
]


def _pg_statements() -> list[str]:
    out = list(_PG_FUNCTIONS)
    for table in PERIOD_TABLES:
        out.append(f"CREATE TRIGGER trg_{table}_frozen BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION parkcarbon_guard_period_rows()")
    out.append("CREATE TRIGGER trg_audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
               "FOR EACH ROW EXECUTE FUNCTION parkcarbon_audit_append_only()")
    out.append("CREATE TRIGGER trg_reporting_period_guard BEFORE UPDATE OR DELETE ON reporting_period "
               "FOR EACH ROW EXECUTE FUNCTION parkcarbon_guard_reporting_period()")
    for table in TENANT_TABLES:
        out.append(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        out.append(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        check = "true" if table == "audit_log" else TENANT_POLICY
        out.append(f"CREATE POLICY parkcarbon_tenant ON {table} USING ({TENANT_POLICY}) WITH CHECK ({check})")
    out.append("ALTER TABLE membership ENABLE ROW LEVEL SECURITY")
    out.append("ALTER TABLE membership FORCE ROW LEVEL SECURITY")
    out.append("CREATE POLICY parkcarbon_tenant ON membership USING ("
               "coalesce(current_setting('app.all_tenants', true), '') = 'on' "
               "OR user_id = current_setting('app.user_id', true)) "
               "WITH CHECK (coalesce(current_setting('app.all_tenants', true), '') = 'on')")
    return out


def _pg_drop_statements() -> list[str]:
    out: list[str] = []
    for table in (*TENANT_TABLES, "membership"):
        out.append(f"DROP POLICY IF EXISTS parkcarbon_tenant ON {table}")
        out.append(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        out.append(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    for table in PERIOD_TABLES:
        out.append(f"DROP TRIGGER IF EXISTS trg_{table}_frozen ON {table}")
    out.append("DROP TRIGGER IF EXISTS trg_audit_log_append_only ON audit_log")
    out.append("DROP TRIGGER IF EXISTS trg_reporting_period_guard ON reporting_period")
    for fn in ("parkcarbon_guard_period_rows()", "parkcarbon_audit_append_only()",
               "parkcarbon_guard_reporting_period()", "parkcarbon_audit_tail()",
               "parkcarbon_period_frozen(varchar, varchar)", "parkcarbon_tenant_visible(varchar)"):
        out.append(f"DROP FUNCTION IF EXISTS {fn}")
    return out


def upgrade() -> None:
    op.create_table('app_user',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('auth_epoch', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('username', name=op.f('uq_app_user_username'))
    )
    op.create_table('audit_log',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('object_id', sa.String(length=100), nullable=True),
    sa.Column('old_json', sa.Text(), nullable=True),
    sa.Column('new_json', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_tenant_id'), 'audit_log', ['tenant_id'], unique=False)
    op.create_table('login_attempt',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempt'))
    )
    op.create_index('ix_login_attempt_username_ts', 'login_attempt', ['username', 'ts'], unique=False)
    op.create_table('api_token',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_prefix', sa.String(length=16), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('auth_epoch', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_api_token_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_api_token_token_sha256'))
    )
    op.create_index(op.f('ix_api_token_user_id'), 'api_token', ['user_id'], unique=False)
    op.create_table('recalculation_proposal',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('park_id', sa.String(length=36), nullable=True),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('threshold_frac', sa.Float(), nullable=False),
    sa.Column('factor_change_json', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approved_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open','approved','rejected')", name=op.f('ck_recalculation_proposal_status')),
    sa.ForeignKeyConstraint(['park_id'], ['park.id'], name=op.f('fk_recalculation_proposal_park_id_park')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recalculation_proposal'))
    )
    op.create_table('user_session',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('auth_epoch', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_user_session_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_session')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_user_session_token_sha256'))
    )
    op.create_index(op.f('ix_user_session_user_id'), 'user_session', ['user_id'], unique=False)
    op.create_table('membership',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('park_id', sa.String(length=36), nullable=True),
    sa.Column('enterprise_id', sa.String(length=36), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('platform_admin','park_admin','enterprise_manager','enterprise_viewer','provincial_operator')", name=op.f('ck_membership_role')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_membership_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['park_id'], ['park.id'], name=op.f('fk_membership_park_id_park')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_membership_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership'))
    )
    op.create_index(op.f('ix_membership_user_id'), 'membership', ['user_id'], unique=False)
    op.create_table('period_correction',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('enterprise_id', sa.String(length=36), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('root_cause', sa.Text(), nullable=False),
    sa.Column('records_json', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('prepared_by', sa.String(length=100), nullable=False),
    sa.Column('prepared_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approved_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('period_status', sa.String(length=12), nullable=False),
    sa.CheckConstraint("status IN ('requested','applying','applied','rejected')", name=op.f('ck_period_correction_status')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_period_correction_enterprise_id_enterprise')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_period_correction'))
    )
    op.create_index('ix_period_correction_period', 'period_correction', ['enterprise_id', 'month', 'status'], unique=False)
    op.create_index(op.f('ix_period_correction_tenant_id'), 'period_correction', ['tenant_id'], unique=False)
    op.create_table('period_event',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('enterprise_id', sa.String(length=36), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('from_status', sa.String(length=12), nullable=False),
    sa.Column('to_status', sa.String(length=12), nullable=False),
    sa.Column('by', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_period_event_enterprise_id_enterprise')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_period_event'))
    )
    op.create_index('ix_period_event_period', 'period_event', ['enterprise_id', 'month'], unique=False)
    op.create_index(op.f('ix_period_event_tenant_id'), 'period_event', ['tenant_id'], unique=False)
    op.create_table('recalculation_item',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('proposal_id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('enterprise_id', sa.String(length=36), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('period_status', sa.String(length=12), nullable=False),
    sa.Column('old_snapshot_id', sa.String(length=36), nullable=True),
    sa.Column('old_total_location_tco2', sa.Float(), nullable=True),
    sa.Column('new_total_location_tco2', sa.Float(), nullable=False),
    sa.Column('delta_tco2', sa.Float(), nullable=True),
    sa.Column('delta_frac', sa.Float(), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('applied', sa.Boolean(), nullable=False),
    sa.Column('new_result_json', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_recalculation_item_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['proposal_id'], ['recalculation_proposal.id'], name=op.f('fk_recalculation_item_proposal_id_recalculation_proposal')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recalculation_item'))
    )
    op.create_index(op.f('ix_recalculation_item_proposal_id'), 'recalculation_item', ['proposal_id'], unique=False)
    op.create_index(op.f('ix_recalculation_item_tenant_id'), 'recalculation_item', ['tenant_id'], unique=False)
    op.create_table('result_snapshot',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('enterprise_id', sa.String(length=36), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('method', sa.String(length=200), nullable=False),
    sa.Column('totals_json', sa.Text(), nullable=False),
    sa.Column('factors_json', sa.Text(), nullable=False),
    sa.Column('records_json', sa.Text(), nullable=False),
    sa.Column('total_location_tco2', sa.Float(), nullable=False),
    sa.Column('energy_tce', sa.Float(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('code_version', sa.String(length=20), nullable=False),
    sa.Column('computed_by', sa.String(length=100), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('proposal_id', sa.String(length=36), nullable=True),
    sa.CheckConstraint("status IN ('current','superseded')", name=op.f('ck_result_snapshot_status')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_result_snapshot_enterprise_id_enterprise')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_result_snapshot')),
    sa.UniqueConstraint('enterprise_id', 'month', 'version', name=op.f('uq_result_snapshot_enterprise_id_month_version'))
    )
    op.create_index('ix_result_snapshot_current', 'result_snapshot', ['enterprise_id', 'month', 'status'], unique=False)
    op.create_index(op.f('ix_result_snapshot_tenant_id'), 'result_snapshot', ['tenant_id'], unique=False)
    op.create_table('verification_finding',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('enterprise_id', sa.String(length=36), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('author', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_verification_finding_enterprise_id_enterprise')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_finding'))
    )
    op.create_index(op.f('ix_verification_finding_tenant_id'), 'verification_finding', ['tenant_id'], unique=False)
    op.create_table('verifier_assignment',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('enterprise_id', sa.String(length=36), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_verifier_assignment_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_verifier_assignment_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verifier_assignment'))
    )
    op.create_index(op.f('ix_verifier_assignment_tenant_id'), 'verifier_assignment', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_verifier_assignment_user_id'), 'verifier_assignment', ['user_id'], unique=False)

    dialect = op.get_bind().dialect.name
    statements = _sqlite_triggers() if dialect == "sqlite" else _pg_statements() if dialect == "postgresql" else []
    for stmt in statements:
        op.execute(stmt)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in _SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == "postgresql":
        for stmt in _pg_drop_statements():
            op.execute(stmt)
    op.drop_index(op.f('ix_verifier_assignment_user_id'), table_name='verifier_assignment')
    op.drop_index(op.f('ix_verifier_assignment_tenant_id'), table_name='verifier_assignment')
    op.drop_table('verifier_assignment')
    op.drop_index(op.f('ix_verification_finding_tenant_id'), table_name='verification_finding')
    op.drop_table('verification_finding')
    op.drop_index(op.f('ix_result_snapshot_tenant_id'), table_name='result_snapshot')
    op.drop_index('ix_result_snapshot_current', table_name='result_snapshot')
    op.drop_table('result_snapshot')
    op.drop_index(op.f('ix_recalculation_item_tenant_id'), table_name='recalculation_item')
    op.drop_index(op.f('ix_recalculation_item_proposal_id'), table_name='recalculation_item')
    op.drop_table('recalculation_item')
    op.drop_index(op.f('ix_period_event_tenant_id'), table_name='period_event')
    op.drop_index('ix_period_event_period', table_name='period_event')
    op.drop_table('period_event')
    op.drop_index(op.f('ix_period_correction_tenant_id'), table_name='period_correction')
    op.drop_index('ix_period_correction_period', table_name='period_correction')
    op.drop_table('period_correction')
    op.drop_index(op.f('ix_membership_user_id'), table_name='membership')
    op.drop_table('membership')
    op.drop_index(op.f('ix_user_session_user_id'), table_name='user_session')
    op.drop_table('user_session')
    op.drop_table('recalculation_proposal')
    op.drop_index(op.f('ix_api_token_user_id'), table_name='api_token')
    op.drop_table('api_token')
    op.drop_index('ix_login_attempt_username_ts', table_name='login_attempt')
    op.drop_table('login_attempt')
    op.drop_index(op.f('ix_audit_log_tenant_id'), table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_table('app_user')
