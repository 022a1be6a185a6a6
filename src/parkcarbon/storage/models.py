"""SQLAlchemy 2 ORM models of the parkcarbon store (数据存储模型).

The same schema runs on SQLite (embedded default) and PostgreSQL; the DDL is owned by the
Alembic migrations in :mod:`parkcarbon.storage.migrations` (a test checks that models and
migrations agree). Conventions:

* ids are UUID strings (36 characters, not enumerable), except for high-volume meter
  tables (readings, increment blocks, aggregates) keyed by their natural key;
* every time is stored UTC and timezone-aware (:class:`UtcDateTime`); reporting months are
  ``'YYYY-MM'`` strings in Asia/Shanghai (:class:`parkcarbon.periods.Month`);
* every row owned by an enterprise or park carries ``tenant_id`` (the data owner, R13);
* quantities have a unit suffix in the column name or a ``unit`` column beside them;
  unknown is NULL plus a quality flag, never 0 (R4);
* raw readings are append-only (R3); a duplicate key with a different value goes to
  :class:`ReadingConflict` (R2).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import DateTime, TypeDecorator

__all__ = [
    "ActivityRecordRow",
    "AggregateRow",
    "Base",
    "DerivationQueue",
    "EnergyAsset",
    "Enterprise",
    "EvidenceFile",
    "GreenCertificate",
    "GreenPowerContract",
    "GreenPowerDelivery",
    "IncrementBlock",
    "IngestBatch",
    "Meter",
    "Park",
    "ProductionRecord",
    "QuarantinedReading",
    "RawReading",
    "ReadingConflict",
    "ReportingPeriod",
    "Site",
    "SupersededEstimate",
    "UtcDateTime",
    "new_id",
    "utc_now",
]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    """A new random UUID string."""
    return str(uuid.uuid4())


def utc_now() -> datetime:
    """The current time, UTC-aware."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always stored and returned as UTC-aware ``datetime``.

    Naive datetimes are refused (never guessed, R6). On SQLite the value is stored as
    ISO text in UTC, so text order equals time order.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored; give a time zone")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with a fixed constraint naming convention (stable migrations)."""

    metadata = MetaData(naming_convention=NAMING)


def _id() -> Mapped[str]:
    return mapped_column(String(36), primary_key=True, default=new_id)


# ---------------------------------------------------------------------------------------------
# organisation
# ---------------------------------------------------------------------------------------------


class Park(Base):
    """An industrial park (工业园区)."""

    __tablename__ = "park"

    id: Mapped[str] = _id()
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    province: Mapped[str | None] = mapped_column(String(50))
    city: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class Enterprise(Base):
    """An enterprise (企业, reporting entity 报告主体) in a park.

    ``industry_code``: GB/T 4754-2017 class (国民经济行业分类); ``credit_code``: the 18-character
    unified social credit code (统一社会信用代码); ``key_energy_unit``: 重点用能单位 flag;
    ``green_factory_level``: 绿色工厂 level (national / provincial / municipal) or NULL.
    """

    __tablename__ = "enterprise"

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    park_id: Mapped[str | None] = mapped_column(ForeignKey("park.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    industry_code: Mapped[str | None] = mapped_column(String(8))
    province: Mapped[str | None] = mapped_column(String(50))
    key_energy_unit: Mapped[bool] = mapped_column(Boolean, default=False)
    green_factory_level: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class Site(Base):
    """A physical site (厂区) of an enterprise or of the park (substation, utilities)."""

    __tablename__ = "site"

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    park_id: Mapped[str | None] = mapped_column(ForeignKey("park.id"))
    enterprise_id: Mapped[str | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class ReportingPeriod(Base):
    """Status of an enterprise-month (报告期): draft → submitted → (returned) → verified → locked (R7).

    Ledger writes are refused unless the period is ``draft`` or ``returned`` (absent = draft).
    """

    __tablename__ = "reporting_period"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "month"),
        CheckConstraint("status IN ('draft','submitted','returned','verified','locked')", name="status"),
    )

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprise.id"))
    month: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(12), default="draft")
    changed_by: Mapped[str | None] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


# ---------------------------------------------------------------------------------------------
# meters and readings
# ---------------------------------------------------------------------------------------------


class Meter(Base):
    """A meter (计量器具).

    ``kind``: ``cumulative`` (register, 累计读数) or ``interval`` (energy per interval);
    ``virtual``: a virtual meter computed by ``formula`` over other meter codes (e.g. ``"M1 - M2"``).
    ``multiplier``: CT/PT ratio (倍率) applied to raw values; ``register_max``: rollover value
    [unit]; ``role``: how its energy enters the ledger (``grid_import`` → purchased,
    ``onsite_generation`` → onsite generated, ``export`` → exported, ``consumption`` → consumed,
    ``submeter`` → not in the ledger, checked against its parent).
    """

    __tablename__ = "meter"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        CheckConstraint("kind IN ('cumulative','interval','virtual')", name="kind"),
        CheckConstraint("multiplier > 0", name="multiplier_positive"),
    )

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(200))
    enterprise_id: Mapped[str | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    site_id: Mapped[str | None] = mapped_column(ForeignKey("site.id"))
    carrier: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(20))
    multiplier: Mapped[float] = mapped_column(Float, default=1.0)
    kind: Mapped[str] = mapped_column(String(12))
    register_max: Mapped[float | None] = mapped_column(Float)
    interval_s: Mapped[int | None] = mapped_column(Integer)
    parent_meter_id: Mapped[str | None] = mapped_column(ForeignKey("meter.id"))
    formula: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20), default="consumption")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class IngestBatch(Base):
    """One upload, HTTP batch, MQTT commit or file import (导入批次); all-or-nothing.

    ``idempotency_key`` is unique per (tenant, kind); ``body_sha256`` detects a reused key with
    a different body; ``result_json`` is the stored response returned on a replay.
    """

    __tablename__ = "ingest_batch"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "idempotency_key"),)

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    body_sha256: Mapped[str | None] = mapped_column(String(64))
    source_name: Mapped[str | None] = mapped_column(String(300))
    stored_name: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(12), default="committed")
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    inserted_count: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_count: Mapped[int] = mapped_column(Integer, default=0)
    conflict_count: Mapped[int] = mapped_column(Integer, default=0)
    quarantined_count: Mapped[int] = mapped_column(Integer, default=0)
    result_json: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class RawReading(Base):
    """A raw meter reading (原始读数), append-only (R3).

    Natural key ``(meter_id, ts_utc, channel)`` (the meter belongs to ``tenant_id``, R1).
    ``value`` is the meter's raw value [meter unit, before multiplier]; ``source_offset_min`` the
    UTC offset the source wrote [min] (None for epoch/UTC input); ``gateway_seq`` the gateway's
    sequence number where available.
    """

    __tablename__ = "raw_reading"

    meter_id: Mapped[str] = mapped_column(ForeignKey("meter.id"), primary_key=True)
    ts_utc: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    channel: Mapped[str] = mapped_column(String(40), primary_key=True, default="")
    tenant_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    source_offset_min: Mapped[int | None] = mapped_column(Integer)
    gateway_id: Mapped[str | None] = mapped_column(String(100))
    gateway_seq: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    batch_id: Mapped[str] = mapped_column(ForeignKey("ingest_batch.id"))


class ReadingConflict(Base):
    """A duplicate reading key with a different value (R2): both values are kept.

    ``status``: ``open`` (open period), ``correction_queue`` (locked period), ``resolved``;
    ``resolution``: ``keep_existing`` / ``accept_new``; ``resolved_by`` who decided.
    """

    __tablename__ = "reading_conflict"
    __table_args__ = (
        UniqueConstraint("meter_id", "ts_utc", "channel", "new_value"),
        Index("ix_reading_conflict_status", "status"),
    )

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64))
    meter_id: Mapped[str] = mapped_column(ForeignKey("meter.id"))
    ts_utc: Mapped[datetime] = mapped_column(UtcDateTime)
    channel: Mapped[str] = mapped_column(String(40), default="")
    existing_value: Mapped[float] = mapped_column(Float)
    new_value: Mapped[float] = mapped_column(Float)
    batch_id: Mapped[str] = mapped_column(ForeignKey("ingest_batch.id"))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    status: Mapped[str] = mapped_column(String(20), default="open")
    policy: Mapped[str] = mapped_column(String(40), default="keep_existing_until_resolved")
    resolution: Mapped[str | None] = mapped_column(String(20))
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class QuarantinedReading(Base):
    """A reading held back and not used (future timestamp beyond tolerance, R6; unknown meter)."""

    __tablename__ = "quarantined_reading"

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    meter_code: Mapped[str] = mapped_column(String(100))
    ts_utc: Mapped[datetime | None] = mapped_column(UtcDateTime)
    channel: Mapped[str] = mapped_column(String(40), default="")
    value: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[str] = mapped_column(ForeignKey("ingest_batch.id"))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class IncrementBlock(Base):
    """Derived energy of one meter over one Asia/Shanghai day (日增量块), recomputable (R3).

    The day's grid slots are stored as packed little-endian arrays (columnar, one row per meter
    and day instead of one row per slot), so a new day of 15-minute data for a park costs one
    row per meter: ``energy`` float64 [carrier canonical unit: raw × multiplier, converted],
    NaN where a slot has no value; ``quality`` uint8 :class:`parkcarbon.core.metering.QualityCode`
    per slot (``MISSING`` for gaps — never stored as 0); ``method`` uint8
    :class:`parkcarbon.core.metering.EstimationMethod` code of an estimate (0 = none).
    ``day_start_utc`` is the UTC instant of local midnight; ``n_slots`` = day length / ``interval_s``.
    Hourly totals are computed from the blocks on read; day and month totals are in
    :class:`AggregateRow`. See :mod:`parkcarbon.storage.derived`.
    """

    __tablename__ = "increment_block"

    meter_id: Mapped[str] = mapped_column(ForeignKey("meter.id"), primary_key=True)
    day_start_utc: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    interval_s: Mapped[int] = mapped_column(Integer)
    n_slots: Mapped[int] = mapped_column(Integer)
    energy: Mapped[bytes] = mapped_column(LargeBinary)
    quality: Mapped[bytes] = mapped_column(LargeBinary)
    method: Mapped[bytes] = mapped_column(LargeBinary)
    code_version: Mapped[str] = mapped_column(String(20))
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class SupersededEstimate(Base):
    """An estimated slot that real data or a different estimate replaced (被替代的估算值), kept (R4).

    ``energy`` [carrier canonical unit] and ``method_id`` of the estimate as it was;
    ``replaced_by_quality`` the quality of the value that replaced it; ``superseded_at`` when.
    """

    __tablename__ = "superseded_estimate"
    __table_args__ = (Index("ix_superseded_estimate_meter_start", "meter_id", "start_utc"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    meter_id: Mapped[str] = mapped_column(ForeignKey("meter.id"))
    start_utc: Mapped[datetime] = mapped_column(UtcDateTime)
    end_utc: Mapped[datetime] = mapped_column(UtcDateTime)
    energy: Mapped[float | None] = mapped_column(Float)
    method_id: Mapped[str | None] = mapped_column(String(60))
    replaced_by_quality: Mapped[str] = mapped_column(String(12))
    code_version: Mapped[str] = mapped_column(String(20))
    superseded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class DerivationQueue(Base):
    """Readings stored without deriving (派生待办): one row per meter and batch, ``[first_utc,
    last_utc]`` the span of the new readings. Written by ingestion with ``derive=False`` (high-rate
    streams, bulk loads); :func:`parkcarbon.services.derivation.derive_pending` derives the queue
    in one park-wide pass and deletes the rows in the same transaction (R3: nothing is lost if it
    fails; derivation is a recomputation, so running it twice is harmless).
    """

    __tablename__ = "derivation_queue"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    meter_id: Mapped[str] = mapped_column(ForeignKey("meter.id"))
    first_utc: Mapped[datetime] = mapped_column(UtcDateTime)
    last_utc: Mapped[datetime] = mapped_column(UtcDateTime)
    batch_id: Mapped[str] = mapped_column(ForeignKey("ingest_batch.id"))
    queued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class AggregateRow(Base):
    """Hour/day/month energy of a meter (聚合值), in Asia/Shanghai periods labelled by their UTC start.

    ``energy`` [carrier canonical unit] over the measured/edited/estimated slots, NULL if nothing
    is known; ``n_*`` slot counts by quality (missing = expected − the others) so that days roll
    up to months exactly (:func:`parkcarbon.core.metering.rollup`).
    """

    __tablename__ = "meter_aggregate"
    __table_args__ = (CheckConstraint("granularity IN ('hour','day','month')", name="granularity"),)

    meter_id: Mapped[str] = mapped_column(ForeignKey("meter.id"), primary_key=True)
    granularity: Mapped[str] = mapped_column(String(5), primary_key=True)
    period_start_utc: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    energy: Mapped[float | None] = mapped_column(Float)
    n_expected: Mapped[int] = mapped_column(Integer)
    n_measured: Mapped[int] = mapped_column(Integer)
    n_edited: Mapped[int] = mapped_column(Integer, default=0)
    n_estimated: Mapped[int] = mapped_column(Integer, default=0)
    n_suspect: Mapped[int] = mapped_column(Integer, default=0)
    interval_s: Mapped[int] = mapped_column(Integer)
    quality: Mapped[str] = mapped_column(String(12))
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)

    @property
    def coverage_frac(self) -> float:
        """(measured + edited + estimated) / expected slots [-]."""
        return (self.n_measured + self.n_edited + self.n_estimated) / self.n_expected if self.n_expected else 0.0


# ---------------------------------------------------------------------------------------------
# ledger and economic data
# ---------------------------------------------------------------------------------------------


class ActivityRecordRow(Base):
    """A monthly activity record (月度活动水平数据), versioned.

    ``quantity`` [canonical unit of the carrier, ``unit``] or NULL with ``quality='missing'``.
    A new value for the same (enterprise, month, carrier, flow, subtype) is a new ``version``;
    the previous row gets ``status='superseded'`` (never updated in value).
    """

    __tablename__ = "activity_record"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "month", "carrier", "flow", "subtype", "version"),
        Index("ix_activity_record_current", "enterprise_id", "month", "status"),
        CheckConstraint("status IN ('current','superseded')", name="status"),
        CheckConstraint(
            "flow IN ('consumed','purchased','onsite_generated','exported','non_energy_use')", name="flow"),
        CheckConstraint("quality IN ('measured','estimated','edited','missing','suspect')", name="quality"),
        CheckConstraint("quantity IS NULL OR quantity >= 0", name="quantity_nonnegative"),
        CheckConstraint("quantity IS NOT NULL OR quality = 'missing'", name="null_is_missing"),
    )

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64))
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprise.id"))
    month: Mapped[str] = mapped_column(String(7))
    carrier: Mapped[str] = mapped_column(String(40))
    flow: Mapped[str] = mapped_column(String(20))
    subtype: Mapped[str] = mapped_column(String(60), default="")
    quantity: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(300), default="")
    quality: Mapped[str] = mapped_column(String(12), default="measured")
    status: Mapped[str] = mapped_column(String(12), default="current")
    version: Mapped[int] = mapped_column(Integer, default=1)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("ingest_batch.id"))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class ProductionRecord(Base):
    """Production output and industrial added value of an enterprise-month or year (产值与增加值).

    ``period`` is ``'YYYY-MM'`` (``period_kind='month'``) or ``'YYYY'`` (``'year'``).
    ``gross_output_value_10k_cny`` 工业总产值 [10k CNY]; ``added_value_10k_cny`` 工业增加值 [10k CNY]
    at ``price_basis`` (``current`` 现价 or ``comparable`` 可比价 with ``base_year``);
    ``product_output`` [``product_unit``] physical output of ``product_name``. Versioned like the ledger.
    """

    __tablename__ = "production_record"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "period", "product_name", "version"),
        CheckConstraint("period_kind IN ('month','year')", name="period_kind"),
        CheckConstraint("price_basis IN ('current','comparable')", name="price_basis"),
        CheckConstraint("status IN ('current','superseded')", name="status"),
        CheckConstraint("price_basis = 'current' OR base_year IS NOT NULL", name="comparable_has_base_year"),
    )

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64))
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprise.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))
    period_kind: Mapped[str] = mapped_column(String(5))
    product_name: Mapped[str] = mapped_column(String(100), default="")
    product_output: Mapped[float | None] = mapped_column(Float)
    product_unit: Mapped[str | None] = mapped_column(String(20))
    gross_output_value_10k_cny: Mapped[float | None] = mapped_column(Float)
    added_value_10k_cny: Mapped[float | None] = mapped_column(Float)
    price_basis: Mapped[str] = mapped_column(String(10), default="current")
    base_year: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(300), default="")
    quality: Mapped[str] = mapped_column(String(12), default="measured")
    status: Mapped[str] = mapped_column(String(12), default="current")
    version: Mapped[int] = mapped_column(Integer, default=1)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("ingest_batch.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class EnergyAsset(Base):
    """A PV plant or battery storage (光伏 / 储能) of an enterprise or the park.

    PV: ``capacity_kwp`` [kWp], ``tilt_deg``, ``azimuth_deg`` (180 = south). Storage: ``power_kw``
    [kW], ``energy_kwh`` [kWh], ``round_trip_efficiency_frac``. ``commissioned_month`` 'YYYY-MM'.
    """

    __tablename__ = "energy_asset"
    __table_args__ = (CheckConstraint("kind IN ('pv','storage')", name="kind"),)

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    enterprise_id: Mapped[str | None] = mapped_column(ForeignKey("enterprise.id"))
    site_id: Mapped[str | None] = mapped_column(ForeignKey("site.id"))
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str | None] = mapped_column(String(200))
    capacity_kwp: Mapped[float | None] = mapped_column(Float)
    tilt_deg: Mapped[float | None] = mapped_column(Float)
    azimuth_deg: Mapped[float | None] = mapped_column(Float)
    power_kw: Mapped[float | None] = mapped_column(Float)
    energy_kwh: Mapped[float | None] = mapped_column(Float)
    round_trip_efficiency_frac: Mapped[float | None] = mapped_column(Float)
    commissioned_month: Mapped[str | None] = mapped_column(String(7))
    meter_id: Mapped[str | None] = mapped_column(ForeignKey("meter.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class GreenPowerContract(Base):
    """A green power contract: trade (绿电交易, ``green_power_trade``) or direct supply (绿电直连, ``direct_supply``).

    ``price_cny_per_kwh`` [CNY/kWh]; the delivered energy per month is in :class:`GreenPowerDelivery`.
    """

    __tablename__ = "green_power_contract"
    __table_args__ = (
        CheckConstraint("kind IN ('green_power_trade','direct_supply')", name="kind"),
    )

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprise.id"))
    kind: Mapped[str] = mapped_column(String(20))
    counterparty: Mapped[str] = mapped_column(String(200))
    technology: Mapped[str | None] = mapped_column(String(40))
    price_cny_per_kwh: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class GreenPowerDelivery(Base):
    """Energy delivered under a green power contract in a month [kWh]."""

    __tablename__ = "green_power_delivery"
    __table_args__ = (CheckConstraint("energy_kwh >= 0", name="energy_nonnegative"),)

    contract_id: Mapped[str] = mapped_column(ForeignKey("green_power_contract.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    energy_kwh: Mapped[float] = mapped_column(Float)


class GreenCertificate(Base):
    """A batch of green electricity certificates (绿证, GEC) from ``serial`` (1 GEC = 1 000 kWh).

    ``vintage`` 'YYYY-MM' of generation; ``claimed_month`` the month the enterprise claims
    (uses) them, or NULL when not yet claimed. A serial can be held once.
    """

    __tablename__ = "green_certificate"
    __table_args__ = (CheckConstraint("count > 0", name="count_positive"),)

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    serial: Mapped[str] = mapped_column(String(60), unique=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprise.id"))
    vintage: Mapped[str] = mapped_column(String(7))
    technology: Mapped[str] = mapped_column(String(40))
    count: Mapped[int] = mapped_column(Integer)
    energy_kwh: Mapped[float] = mapped_column(Float)
    claimed_month: Mapped[str | None] = mapped_column(String(7))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class EvidenceFile(Base):
    """An evidence file (存证): original bytes kept under a server-generated name (R11).

    A replacement is a new row with ``replaces_id``; the old one stays.
    """

    __tablename__ = "evidence_file"

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    enterprise_id: Mapped[str | None] = mapped_column(ForeignKey("enterprise.id"))
    month: Mapped[str | None] = mapped_column(String(7))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    original_name: Mapped[str] = mapped_column(String(300))
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str | None] = mapped_column(String(300))
    uploader: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    replaces_id: Mapped[str | None] = mapped_column(ForeignKey("evidence_file.id"))
