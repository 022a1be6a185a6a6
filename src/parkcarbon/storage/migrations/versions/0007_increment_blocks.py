"""increment blocks: 15-minute increments stored columnar, one row per meter and local day

Also ``derivation_queue``: readings stored with derivation deferred, derived later in one pass.

``interval_increment`` (one row per slot) becomes ``increment_block`` (one row per meter and
Asia/Shanghai day, the day's slots as packed little-endian arrays: energy float64 with NaN for
no value, quality uint8, estimation method uint8) plus ``superseded_estimate`` (the estimates
that real data replaced, R4). Hourly totals are computed from the blocks on read, so the stored
``hour`` rows of ``meter_aggregate`` are removed. Existing increments are converted, not
recomputed; the downgrade converts back (hour rows rebuilt from the blocks).

Revision ID: 0007_increment_blocks
Revises: 0006_targets
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from alembic import op

revision: str = "0007_increment_blocks"
down_revision: str | None = "0006_targets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# same predicate as 0002_auth (copied: migrations never import each other)
TENANT_POLICY = (
    "coalesce(current_setting('app.all_tenants', true), '') = 'on' OR tenant_id IN "
    "(SELECT unnest(string_to_array(coalesce(current_setting('app.tenant_ids', true), ''), ',')))"
)
# quality codes and estimation-method codes as of this revision (core.metering, copied)
QUALITY = ("measured", "estimated", "edited", "missing", "suspect")
METHODS = ("linear_interpolation", "same_weekday_profile", "conservative_upper_bound",
           "conservative_observed_max", "prorated_register_lump")
TZ = ZoneInfo("Asia/Shanghai")
_MISSING = QUALITY.index("missing")


def _rls(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY parkcarbon_tenant ON {table} USING ({TENANT_POLICY}) WITH CHECK ({TENANT_POLICY})")


def _aware(ts: Any) -> datetime:
    out: datetime = datetime.fromisoformat(ts) if isinstance(ts, str) else ts
    return out.replace(tzinfo=UTC) if out.tzinfo is None else out.astimezone(UTC)


def _day(ts: datetime) -> tuple[datetime, datetime]:
    local = ts.astimezone(TZ)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=1, hours=2)).replace(hour=0)  # also right on the DST days before 1992
    return start.astimezone(UTC), end.astimezone(UTC)


def _bind_ts(ts: datetime) -> Any:
    """SQLite: SQLAlchemy's DATETIME text (always with microseconds, so text order = time order)."""
    return ts.replace(tzinfo=None).isoformat(" ", "microseconds") if op.get_bind().dialect.name == "sqlite" else ts


def _select(sql: str) -> list[Any]:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("SET LOCAL app.all_tenants = 'on'")
    return list(bind.exec_driver_sql(sql))


def upgrade() -> None:
    op.create_table(
        "increment_block",
        sa.Column("meter_id", sa.String(length=36), nullable=False),
        sa.Column("day_start_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("interval_s", sa.Integer(), nullable=False),
        sa.Column("n_slots", sa.Integer(), nullable=False),
        sa.Column("energy", sa.LargeBinary(), nullable=False),
        sa.Column("quality", sa.LargeBinary(), nullable=False),
        sa.Column("method", sa.LargeBinary(), nullable=False),
        sa.Column("code_version", sa.String(length=20), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["meter_id"], ["meter.id"], name=op.f("fk_increment_block_meter_id_meter")),
        sa.PrimaryKeyConstraint("meter_id", "day_start_utc", name=op.f("pk_increment_block")),
    )
    op.create_index(op.f("ix_increment_block_tenant_id"), "increment_block", ["tenant_id"])
    op.create_table(
        "superseded_estimate",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("meter_id", sa.String(length=36), nullable=False),
        sa.Column("start_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("energy", sa.Float(), nullable=True),
        sa.Column("method_id", sa.String(length=60), nullable=True),
        sa.Column("replaced_by_quality", sa.String(length=12), nullable=False),
        sa.Column("code_version", sa.String(length=20), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["meter_id"], ["meter.id"], name=op.f("fk_superseded_estimate_meter_id_meter")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_superseded_estimate")),
    )
    op.create_index(op.f("ix_superseded_estimate_tenant_id"), "superseded_estimate", ["tenant_id"])
    op.create_index("ix_superseded_estimate_meter_start", "superseded_estimate", ["meter_id", "start_utc"])
    op.create_table(
        "derivation_queue",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("meter_id", sa.String(length=36), nullable=False),
        sa.Column("first_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["meter_id"], ["meter.id"], name=op.f("fk_derivation_queue_meter_id_meter")),
        sa.ForeignKeyConstraint(["batch_id"], ["ingest_batch.id"], name=op.f("fk_derivation_queue_batch_id_ingest_batch")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_derivation_queue")),
    )
    op.create_index(op.f("ix_derivation_queue_tenant_id"), "derivation_queue", ["tenant_id"])
    for table in ("increment_block", "superseded_estimate", "derivation_queue"):
        _rls(table)
    _convert_rows_to_blocks()
    op.execute("DELETE FROM meter_aggregate WHERE granularity = 'hour'")
    op.drop_index("ix_interval_increment_meter_start", table_name="interval_increment")
    op.drop_table("interval_increment")


def _convert_rows_to_blocks() -> None:
    rows = _select("SELECT i.tenant_id, i.meter_id, i.start_utc, i.end_utc, i.energy, i.quality, i.method_id, "
                   "i.superseded_by, i.code_version, i.computed_at, n.quality FROM interval_increment i "
                   "LEFT JOIN interval_increment n ON n.id = i.superseded_by ORDER BY i.meter_id, i.start_utc, i.id")
    blocks: dict[tuple[str, datetime], dict[str, Any]] = {}
    history: list[dict[str, Any]] = []
    for tenant, meter, start, end, energy, quality, method, sup_by, version, computed, new_q in rows:
        start, end = _aware(start), _aware(end)
        if sup_by is not None:
            history.append({"tenant_id": tenant, "meter_id": meter, "start_utc": _bind_ts(start),
                            "end_utc": _bind_ts(end), "energy": energy, "method_id": method,
                            "replaced_by_quality": new_q or "measured", "code_version": version,
                            "superseded_at": _bind_ts(_aware(computed))})
            continue
        d0, d1 = _day(start)
        ivl = int((end - start).total_seconds())
        b = blocks.get((meter, d0))
        if b is None:
            n = int((d1 - d0).total_seconds()) // ivl
            b = blocks[(meter, d0)] = {
                "tenant_id": tenant, "interval_s": ivl, "n_slots": n, "code_version": version,
                "energy": np.full(n, np.nan), "quality": np.full(n, _MISSING, dtype=np.uint8),
                "method": np.zeros(n, dtype=np.uint8), "computed_at": _aware(computed)}
        i = int((start - d0).total_seconds()) // b["interval_s"]
        if 0 <= i < b["n_slots"]:
            b["energy"][i] = np.nan if energy is None else energy
            b["quality"][i] = QUALITY.index(quality)
            b["method"][i] = METHODS.index(method) + 1 if method in METHODS else 0
    table = sa.table("increment_block", *[sa.column(c) for c in (
        "meter_id", "day_start_utc", "tenant_id", "interval_s", "n_slots", "energy", "quality", "method",
        "code_version", "computed_at")])
    out = [{"meter_id": m, "day_start_utc": _bind_ts(d0), "tenant_id": b["tenant_id"], "interval_s": b["interval_s"],
            "n_slots": b["n_slots"], "energy": b["energy"].astype("<f8").tobytes(), "quality": b["quality"].tobytes(),
            "method": b["method"].tobytes(), "code_version": b["code_version"],
            "computed_at": _bind_ts(b["computed_at"])} for (m, d0), b in blocks.items()]
    if out:
        op.bulk_insert(table, out, multiinsert=True)
    if history:
        op.bulk_insert(sa.table("superseded_estimate", *[sa.column(c) for c in history[0]]), history)


def downgrade() -> None:
    op.create_table(
        "interval_increment",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("meter_id", sa.String(length=36), nullable=False),
        sa.Column("start_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("energy", sa.Float(), nullable=True),
        sa.Column("quality", sa.String(length=12), nullable=False),
        sa.Column("classification", sa.String(length=20), nullable=True),
        sa.Column("method_id", sa.String(length=60), nullable=True),
        sa.Column("superseded_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("code_version", sa.String(length=20), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["meter_id"], ["meter.id"], name=op.f("fk_interval_increment_meter_id_meter")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interval_increment")),
    )
    op.create_index("ix_interval_increment_meter_start", "interval_increment", ["meter_id", "start_utc"])
    _rls("interval_increment")
    _convert_blocks_to_rows()
    op.drop_index(op.f("ix_derivation_queue_tenant_id"), table_name="derivation_queue")
    op.drop_table("derivation_queue")
    op.drop_index("ix_superseded_estimate_meter_start", table_name="superseded_estimate")
    op.drop_index(op.f("ix_superseded_estimate_tenant_id"), table_name="superseded_estimate")
    op.drop_table("superseded_estimate")
    op.drop_index(op.f("ix_increment_block_tenant_id"), table_name="increment_block")
    op.drop_table("increment_block")


def _convert_blocks_to_rows() -> None:
    bind = op.get_bind()
    inc = sa.table("interval_increment", *[sa.column(c) for c in (
        "tenant_id", "meter_id", "start_utc", "end_utc", "energy", "quality", "method_id", "superseded_by",
        "code_version", "computed_at")])
    agg_cols = ("meter_id", "granularity", "period_start_utc", "tenant_id", "energy", "n_expected", "n_measured",
                "n_edited", "n_estimated", "n_suspect", "interval_s", "quality", "computed_at")
    agg = sa.table("meter_aggregate", *[sa.column(c) for c in agg_cols])
    rows: list[dict[str, Any]] = []
    hours: list[dict[str, Any]] = []
    for meter, day, tenant, ivl, n, energy, quality, method, version, computed in _select(
            "SELECT meter_id, day_start_utc, tenant_id, interval_s, n_slots, energy, quality, method, code_version, "
            "computed_at FROM increment_block ORDER BY meter_id, day_start_utc"):
        d0, computed = _aware(day), _bind_ts(_aware(computed))
        e = np.frombuffer(bytes(energy), dtype="<f8")
        q = np.frombuffer(bytes(quality), dtype=np.uint8)
        mth = np.frombuffer(bytes(method), dtype=np.uint8)
        by_hour: dict[datetime, list[int]] = defaultdict(list)
        for i in range(int(n)):
            start = d0 + timedelta(seconds=i * int(ivl))
            by_hour[start.replace(minute=0, second=0, microsecond=0)].append(i)
            if q[i] == _MISSING:
                continue
            rows.append({"tenant_id": tenant, "meter_id": meter, "start_utc": _bind_ts(start),
                         "end_utc": _bind_ts(start + timedelta(seconds=int(ivl))),
                         "energy": None if np.isnan(e[i]) else float(e[i]), "quality": QUALITY[q[i]],
                         "method_id": METHODS[mth[i] - 1] if mth[i] else None, "superseded_by": None,
                         "code_version": version, "computed_at": computed})
        for h0, idx in by_hour.items():
            counts = [int(np.count_nonzero(q[idx] == c)) for c in range(len(QUALITY))]
            summed = [i for i in idx if q[i] <= 2]
            n_sum = counts[0] + counts[1] + counts[2]
            total = float(np.sum(e[summed])) if n_sum else None
            qual = ("missing" if n_sum == 0 else "estimated" if counts[1] else
                    "suspect" if n_sum < 3600 // int(ivl) else "measured")
            hours.append(dict(zip(agg_cols, (meter, "hour", _bind_ts(h0), tenant, total, 3600 // int(ivl), counts[0],
                                             counts[2], counts[1], counts[4], int(ivl), qual, computed), strict=True)))
    if rows:
        op.bulk_insert(inc, rows, multiinsert=True)
    if hours:
        op.bulk_insert(agg, hours, multiinsert=True)
    history = _select("SELECT tenant_id, meter_id, start_utc, end_utc, energy, method_id, code_version, superseded_at "
                      "FROM superseded_estimate ORDER BY id")
    for tenant, meter, start, end, energy, method, version, at in history:
        current = bind.execute(sa.text("SELECT min(id) FROM interval_increment WHERE meter_id = :m AND start_utc = :s "
                                       "AND superseded_by IS NULL"), {"m": meter, "s": start}).scalar()
        bind.execute(inc.insert().values(tenant_id=tenant, meter_id=meter, start_utc=start, end_utc=end, energy=energy,
                                         quality="estimated", method_id=method, superseded_by=current,
                                         code_version=version, computed_at=at))
