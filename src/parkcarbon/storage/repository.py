"""Repository: every read and write of the store goes through :class:`Repository` (仓储接口).

A repository wraps one SQLAlchemy session inside one transaction
(:meth:`parkcarbon.storage.Store.transaction`); it never commits itself, so a caller groups
writes into one all-or-nothing unit. Methods raise :mod:`parkcarbon.errors` exceptions:
:class:`NotFoundError` for unknown (or foreign-tenant) ids, :class:`LockedPeriodError` for
ledger writes into a non-draft period (R7), :class:`ConflictError` for duplicate identities.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import repeat
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar, cast

import numpy as np
from sqlalchemy import Table, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from parkcarbon.core.activity import ActivityRecord, Flow, Quality
from parkcarbon.core.carriers import carrier as carrier_info
from parkcarbon.core.ghg import CarbonateInput
from parkcarbon.errors import (
    ConflictError,
    InputError,
    Location,
    LockedPeriodError,
    NotFoundError,
    PeriodError,
    QuantityError,
)
from parkcarbon.periods import Month, parse_month
from parkcarbon.storage.derived import DerivedData
from parkcarbon.storage.derived import sqlite_ts as _sqlite_ts
from parkcarbon.storage.models import (
    ActivityRecordRow,
    Base,
    EnergyAsset,
    Enterprise,
    EvidenceFile,
    GreenCertificate,
    GreenPowerContract,
    GreenPowerDelivery,
    IngestBatch,
    Meter,
    Park,
    ProductionRecord,
    QuarantinedReading,
    RawReading,
    ReadingConflict,
    ReportingPeriod,
    Site,
    new_id,
    utc_now,
)
from parkcarbon.storage.models_process import ProcessInputRow

__all__ = [
    "PERIOD_STATUSES",
    "WRITABLE_STATUSES",
    "GreenPowerMonth",
    "ReadingIn",
    "ReadingWriteResult",
    "Repository",
]

PERIOD_STATUSES = ("draft", "submitted", "returned", "verified", "locked")
WRITABLE_STATUSES = frozenset({"draft", "returned"})
_TRANSITIONS = {
    "draft": {"submitted"},
    "submitted": {"returned", "verified"},
    "returned": {"submitted"},
    "verified": {"locked", "returned"},
    "locked": set(),
}
METER_KINDS = ("cumulative", "interval", "virtual")
METER_ROLES = ("grid_import", "onsite_generation", "export", "consumption", "submeter")
GREEN_POWER_KINDS = ("green_power_trade", "direct_supply")
KWH_PER_GEC = 1000.0

_M = TypeVar("_M", bound=Base)


class ReadingIn(NamedTuple):
    """A reading ready to store: meter resolved, timestamp UTC-aware.

    ``value`` [meter unit, raw register or interval value]; ``source_offset_min`` the UTC offset
    written by the source [min] (None when the source gave UTC or epoch).
    """

    meter_id: str
    ts_utc: datetime
    value: float
    channel: str = ""
    source_offset_min: int | None = None
    gateway_id: str | None = None
    gateway_seq: int | None = None


class ReadingColumns(NamedTuple):
    """Readings ready to store, column by column (the same fields as :class:`ReadingIn`, one list
    each, equal lengths): what bulk paths hand to :meth:`Repository.write_readings` without
    building one object per reading."""

    meter_id: list[str]
    ts_utc: list[datetime]
    value: list[float]
    channel: list[str]
    source_offset_min: list[int | None]
    gateway_id: list[str | None]
    gateway_seq: list[int | None]

    @classmethod
    def of(cls, readings: Sequence[ReadingIn]) -> ReadingColumns:
        return cls(*(list(map(itemgetter(k), readings)) for k in range(7)))


@dataclass(frozen=True)
class ReadingWriteResult:
    """What happened to a batch of readings (R1/R2).

    ``inserted``: new keys stored; ``duplicates``: same key and same value (no-op);
    ``conflicts``: same key, different value (conflict records); ``touched``: meter id →
    (first, last) timestamp of the newly inserted readings, for incremental derivation.
    """

    inserted: int
    duplicates: int
    conflicts: int
    touched: Mapping[str, tuple[datetime, datetime]] = field(default_factory=dict)


class LedgerEntry(NamedTuple):
    """The current version of a ledger key: row id, quantity [carrier unit] or None, quality,
    version, source."""

    id: str
    quantity: float | None
    quality: str
    version: int
    source: str


@dataclass(frozen=True)
class GreenPowerMonth:
    """Green power delivered to an enterprise in a month [kWh] under one contract."""

    contract_id: str
    enterprise_id: str
    month: Month
    kind: str
    energy_kwh: float
    counterparty: str
    technology: str | None
    price_cny_per_kwh: float | None


def _aware(ts: Any) -> datetime | None:
    """Aggregates (max/min) bypass the column type on SQLite: parse and mark UTC."""
    if ts is None:
        return None
    out: datetime = datetime.fromisoformat(ts) if isinstance(ts, str) else ts
    return out if out.tzinfo is not None else out.replace(tzinfo=UTC)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def _instants(values: Sequence[datetime]) -> tuple[list[datetime], np.ndarray]:
    """The distinct instants of ``values`` in time order, and each value's index among them.

    Readings of many meters share their timestamps (a 15-minute grid), so per-instant work —
    conversion, ordering — is done once per distinct instant, then spread with one array index.
    """
    seen = dict.fromkeys(values)
    for ts in seen:
        if ts.tzinfo is None or ts.utcoffset() is None:
            raise InputError(f"naive timestamp {ts.isoformat()} cannot be stored; give a time zone",
                             message_zh=f"时间 {ts.isoformat()} 没有时区，不能保存",
                             location=Location(value=ts.isoformat()))
    distinct = sorted(seen)
    rank = dict(zip(distinct, range(len(distinct)), strict=True))
    return distinct, np.fromiter(map(rank.__getitem__, values), dtype=np.int64, count=len(values))


def _sqlite_ts_array(instants: Sequence[datetime]) -> np.ndarray:
    """:func:`_sqlite_ts` of many instants at once, as a numpy unicode array (same text exactly)."""
    micros = np.fromiter(((ts - _EPOCH) // _ONE_US for ts in instants), dtype=np.int64, count=len(instants))
    text = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")  # YYYY-MM-DDTHH:MM:SS.ffffff
    if len(text):
        text.view(np.uint32).reshape(len(text), -1)[:, 10] = ord(" ")  # 'T' → ' ' (UCS-4 code points)
    return text


def _sqlite_ts_many(values: Sequence[datetime]) -> list[str]:
    """:func:`_sqlite_ts` of each value (vectorised over the distinct instants)."""
    instants, rank = _instants(values)
    return cast(list[str], _sqlite_ts_array(instants)[rank].tolist())


def _sqlite_text_literal(text: str) -> str | None:
    """``text`` as an SQLite string literal (quotes doubled; SQLite has no other escapes), or None
    when it cannot be one (a NUL character): then it must be bound as a parameter."""
    return None if "\x00" in text else "'" + text.replace("'", "''") + "'"


def _time_range(values: Sequence[datetime]) -> tuple[datetime, datetime]:
    """(earliest, latest) of UTC-aware ``values``; a naive one is refused (never guessed, R6)."""
    try:
        lo, hi = min(values), max(values)
    except TypeError:  # naive and aware mixed
        lo = hi = datetime(1, 1, 1)
    if lo.utcoffset() is None or hi.utcoffset() is None:
        raise InputError("naive timestamps cannot be stored; give a time zone",
                         message_zh="时间没有时区，不能保存")
    return lo, hi


class _RepeatedKeys(Exception):
    """A batch sent optimistically repeats a reading key (see Repository._bulk_insert_readings)."""


def _keys_distinct(meter_ix: np.ndarray, rank: np.ndarray, channels: Sequence[str], n_meters: int,
                   n_instants: int) -> bool:
    """Whether the readings' (meter, instant, channel) keys are pairwise distinct: one sort, no loop."""
    names = dict.fromkeys(channels)
    if n_meters * n_instants * len(names) >= 2**62:  # no room for one int64 key: compare tuples
        return len(set(zip(meter_ix.tolist(), rank.tolist(), channels, strict=True))) == len(channels)
    key = meter_ix * n_instants + rank
    if len(names) > 1:
        code = dict(zip(names, range(len(names)), strict=True))
        key = key * len(names) + np.fromiter(map(code.__getitem__, channels), dtype=np.int64, count=len(channels))
    key.sort()
    return not bool((key[1:] == key[:-1]).any())


def _first_last(meter_ids: Sequence[str], meter_ix: np.ndarray, instants: Sequence[datetime],
                rank: np.ndarray) -> dict[str, tuple[datetime, datetime]]:
    """Meter id → (first, last) instant of the readings (``meter_ix``/``rank`` index ``meter_ids``/``instants``)."""
    if not len(rank):
        return {}
    lo = np.full(len(meter_ids), len(instants), dtype=np.int64)
    hi = np.full(len(meter_ids), -1, dtype=np.int64)
    np.minimum.at(lo, meter_ix, rank)
    np.maximum.at(hi, meter_ix, rank)
    return {mid: (instants[a], instants[b])
            for mid, a, b in zip(meter_ids, lo.tolist(), hi.tolist(), strict=True) if b >= 0}


def _month_text(m: Month | str) -> str:
    return str(parse_month(m))


def _not_found(kind: str, kind_zh: str, key: object) -> NotFoundError:
    return NotFoundError(
        f"{kind} {key!r} not found",
        message_zh=f"未找到{kind_zh} {key!r}",
        location=Location(record=str(key)),
    )


def _check_number(value: float | None, name: str, *, allow_none: bool = True, record: str | None = None) -> None:
    if value is None:
        if allow_none:
            return
        raise QuantityError(f"{name} is required", message_zh=f"{name} 不能为空", location=Location(record=record))
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise QuantityError(f"{name} must be a finite number, got {value!r}",
                            message_zh=f"{name} 必须是有限数值，实际为 {value!r}",
                            location=Location(record=record, value=value))
    if value < 0:
        raise QuantityError(f"{name} must not be negative, got {value}",
                            message_zh=f"{name} 不能为负数，实际为 {value}",
                            location=Location(record=record, value=value))


_ID_MAX = 36  # length of the String(36) id columns


class Repository(DerivedData):
    """Typed access to the store inside one transaction. See the package docstring for the API."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def flush(self) -> None:
        self.session.flush()

    def _get(self, model: type[_M], key: str, kind: str, kind_zh: str, tenant_id: str | None = None) -> _M:
        obj = self.session.get(model, key)
        if obj is None or (tenant_id is not None and getattr(obj, "tenant_id", tenant_id) != tenant_id):
            raise _not_found(kind, kind_zh, key)
        return obj

    # =========================================================================================
    # organisation
    # =========================================================================================

    def add_park(self, *, code: str, name: str, name_en: str | None = None, province: str | None = None,
                 city: str | None = None, park_id: str | None = None) -> Park:
        """Register a park (园区). ``code`` is unique."""
        if self.session.scalar(select(Park).where(Park.code == code)) is not None:
            raise ConflictError(f"park code {code!r} exists", message_zh=f"园区编码 {code!r} 已存在",
                                location=Location(record=code))
        park = Park(id=park_id or new_id(), code=code, name=name, name_en=name_en, province=province, city=city)
        self.session.add(park)
        self.session.flush()
        return park

    def get_park(self, park_id: str) -> Park:
        return self._get(Park, park_id, "park", "园区")

    def list_parks(self) -> list[Park]:
        return list(self.session.scalars(select(Park).order_by(Park.code)))

    def add_enterprise(self, *, name: str, park_id: str | None = None, enterprise_id: str | None = None,
                       tenant_id: str | None = None, name_en: str | None = None, credit_code: str | None = None,
                       industry_code: str | None = None, province: str | None = None,
                       key_energy_unit: bool = False, green_factory_level: str | None = None) -> Enterprise:
        """Register an enterprise (企业). ``tenant_id`` defaults to the enterprise id (it owns its data)."""
        eid = enterprise_id or new_id()
        if self.session.get(Enterprise, eid) is not None:
            raise ConflictError(f"enterprise {eid!r} exists", message_zh=f"企业 {eid!r} 已存在",
                                location=Location(record=eid))
        if credit_code is not None:
            credit_code = credit_code.strip().upper()
            if len(credit_code) != 18 or not credit_code.isalnum():
                raise InputError(
                    f"unified social credit code must have 18 letters/digits, got {credit_code!r}",
                    message_zh=f"统一社会信用代码应为 18 位字母或数字，实际为 {credit_code!r}",
                    location=Location(column="credit_code", value=credit_code))
            if self.session.scalar(select(Enterprise).where(Enterprise.credit_code == credit_code)) is not None:
                raise ConflictError(f"credit code {credit_code} is already registered",
                                    message_zh=f"统一社会信用代码 {credit_code} 已登记",
                                    location=Location(value=credit_code))
        if park_id is not None:
            self.get_park(park_id)
        ent = Enterprise(id=eid, tenant_id=tenant_id or eid, park_id=park_id, name=name, name_en=name_en,
                         credit_code=credit_code, industry_code=industry_code, province=province,
                         key_energy_unit=key_energy_unit, green_factory_level=green_factory_level)
        self.session.add(ent)
        self.session.flush()
        return ent

    def get_enterprise(self, enterprise_id: str, *, tenant_id: str | None = None) -> Enterprise:
        """The enterprise; a foreign ``tenant_id`` gives the same NotFoundError as a missing id (R13)."""
        return self._get(Enterprise, enterprise_id, "enterprise", "企业", tenant_id)

    def find_enterprise(self, text: str, *, park_id: str | None = None) -> Enterprise | None:
        """Find an enterprise by id, unified social credit code or exact name (as written in templates)."""
        key = str(text).strip()
        q = select(Enterprise).where(or_(Enterprise.id == key, Enterprise.credit_code == key.upper(),
                                         Enterprise.name == key))
        if park_id is not None:
            q = q.where(Enterprise.park_id == park_id)
        found = list(self.session.scalars(q))
        return found[0] if len(found) == 1 else None

    def list_enterprises(self, *, park_id: str | None = None, tenant_id: str | None = None) -> list[Enterprise]:
        q = select(Enterprise).order_by(Enterprise.id)
        if park_id is not None:
            q = q.where(Enterprise.park_id == park_id)
        if tenant_id is not None:
            q = q.where(Enterprise.tenant_id == tenant_id)
        return list(self.session.scalars(q))

    def add_site(self, *, name: str, tenant_id: str, enterprise_id: str | None = None,
                 park_id: str | None = None, site_id: str | None = None) -> Site:
        site = Site(id=site_id or new_id(), tenant_id=tenant_id, enterprise_id=enterprise_id, park_id=park_id,
                    name=name)
        self.session.add(site)
        self.session.flush()
        return site

    # =========================================================================================
    # meters
    # =========================================================================================

    def add_meter(self, *, tenant_id: str, code: str, carrier: str, unit: str, kind: str,
                  enterprise_id: str | None = None, site_id: str | None = None, multiplier: float = 1.0,
                  register_max: float | None = None, interval_s: int | None = None,
                  parent_meter_id: str | None = None, formula: str | None = None, role: str = "consumption",
                  name: str | None = None, meter_id: str | None = None) -> Meter:
        """Register a meter (计量器具). See :class:`~parkcarbon.storage.models.Meter` for the fields."""
        carrier_info(carrier)
        if kind not in METER_KINDS:
            raise InputError(f"meter kind must be one of {METER_KINDS}, got {kind!r}",
                             message_zh=f"表计类型须为 {METER_KINDS} 之一，实际为 {kind!r}",
                             location=Location(record=code, column="kind", value=kind))
        if role not in METER_ROLES:
            raise InputError(f"meter role must be one of {METER_ROLES}, got {role!r}",
                             message_zh=f"表计用途须为 {METER_ROLES} 之一，实际为 {role!r}",
                             location=Location(record=code, column="role", value=role))
        if (kind == "virtual") != (formula is not None):
            raise InputError("a virtual meter needs a formula, and only a virtual meter has one",
                             message_zh="虚拟表必须有公式，且只有虚拟表可以有公式",
                             location=Location(record=code, column="formula", value=formula))
        if not (multiplier > 0 and math.isfinite(multiplier)):
            raise QuantityError(f"meter multiplier must be positive, got {multiplier}",
                                message_zh=f"倍率必须为正数，实际为 {multiplier}", location=Location(record=code))
        existing = self.session.scalar(select(Meter).where(Meter.tenant_id == tenant_id, Meter.code == code))
        if existing is not None:
            raise ConflictError(f"meter code {code!r} exists for tenant {tenant_id}",
                                message_zh=f"表计编号 {code!r} 已存在", location=Location(record=code))
        if enterprise_id is not None:
            self.get_enterprise(enterprise_id, tenant_id=tenant_id)
        if parent_meter_id is not None:
            self._get(Meter, parent_meter_id, "meter", "表计", tenant_id)
        meter = Meter(id=meter_id or new_id(), tenant_id=tenant_id, code=code, name=name,
                      enterprise_id=enterprise_id, site_id=site_id, carrier=carrier, unit=unit,
                      multiplier=multiplier, kind=kind, register_max=register_max, interval_s=interval_s,
                      parent_meter_id=parent_meter_id, formula=formula, role=role)
        self.session.add(meter)
        self.session.flush()
        return meter

    def get_meter(self, meter_id: str, *, tenant_id: str | None = None) -> Meter:
        return self._get(Meter, meter_id, "meter", "表计", tenant_id)

    def meters_by_code(self, tenant_id: str, codes: Iterable[str] | None = None) -> dict[str, Meter]:
        """The tenant's meters keyed by code (all, or only ``codes``)."""
        q = select(Meter).where(Meter.tenant_id == tenant_id)
        if codes is not None:
            wanted = sorted(set(codes))
            out: dict[str, Meter] = {}
            for i in range(0, len(wanted), 500):
                for m in self.session.scalars(q.where(Meter.code.in_(wanted[i:i + 500]))):
                    out[m.code] = m
            return out
        return {m.code: m for m in self.session.scalars(q)}

    def list_meters(self, *, tenant_id: str | None = None, enterprise_id: str | None = None) -> list[Meter]:
        q = select(Meter).order_by(Meter.tenant_id, Meter.code)
        if tenant_id is not None:
            q = q.where(Meter.tenant_id == tenant_id)
        if enterprise_id is not None:
            q = q.where(Meter.enterprise_id == enterprise_id)
        return list(self.session.scalars(q))

    # =========================================================================================
    # reporting periods (R7)
    # =========================================================================================

    def period_status(self, enterprise_id: str, month: Month | str) -> str:
        """Status of an enterprise-month; a month never touched is ``draft``."""
        row = self.session.scalar(select(ReportingPeriod).where(
            ReportingPeriod.enterprise_id == enterprise_id, ReportingPeriod.month == _month_text(month)))
        return "draft" if row is None else row.status

    def set_period_status(self, enterprise_id: str, month: Month | str, status: str, *, by: str) -> ReportingPeriod:
        """Move a period along draft → submitted → (returned) → verified → locked; others refused."""
        m = _month_text(month)
        ent = self.get_enterprise(enterprise_id)
        row = self.session.scalar(select(ReportingPeriod).where(
            ReportingPeriod.enterprise_id == enterprise_id, ReportingPeriod.month == m))
        current = "draft" if row is None else row.status
        if status not in _TRANSITIONS.get(current, set()):
            raise LockedPeriodError(
                f"period {enterprise_id} {m} cannot go from {current} to {status}",
                message_zh=f"报告期 {enterprise_id} {m} 不能从 {current} 变为 {status}",
                location=Location(record=f"{enterprise_id}:{m}", value=status))
        if row is None:
            row = ReportingPeriod(tenant_id=ent.tenant_id, enterprise_id=enterprise_id, month=m)
            self.session.add(row)
        row.status = status
        row.changed_by = by
        row.changed_at = utc_now()
        self.session.flush()
        return row

    def locked_months(self, enterprise_ids: Iterable[str]) -> set[tuple[str, str]]:
        """(enterprise id, 'YYYY-MM') pairs that are not writable."""
        ids = sorted(set(enterprise_ids))
        if not ids:
            return set()
        rows = self.session.execute(select(ReportingPeriod.enterprise_id, ReportingPeriod.month).where(
            ReportingPeriod.enterprise_id.in_(ids), ReportingPeriod.status.not_in(sorted(WRITABLE_STATUSES))))
        return {(r[0], r[1]) for r in rows}

    def ensure_writable(self, enterprise_id: str, month: Month | str, *, location: Location | None = None) -> None:
        """Raise :class:`LockedPeriodError` unless the enterprise-month is draft or returned."""
        status = self.period_status(enterprise_id, month)
        if status not in WRITABLE_STATUSES:
            m = _month_text(month)
            raise LockedPeriodError(
                f"period {m} of enterprise {enterprise_id} is {status}: it cannot be changed in place",
                message_zh=f"企业 {enterprise_id} 的 {m} 报告期状态为 {status}，不能直接修改",
                hint="ask the park administrator to return the period, or file a correction",
                hint_zh="请联系园区管理员退回该报告期，或提交更正",
                location=location or Location(record=f"{enterprise_id}:{m}"))

    # =========================================================================================
    # monthly activity ledger
    # =========================================================================================

    def put_activity_records(self, records: Iterable[ActivityRecord], *, batch_id: str | None = None,
                             created_by: str | None = None) -> list[str]:
        """Write ledger rows (月度活动水平数据) as new versions; identical values are no-ops.

        For each (enterprise, month, carrier, flow, subtype): no current row → version 1;
        a current row with the same quantity and quality → unchanged; otherwise the current row
        is marked ``superseded`` and a new version is written. Refused (LockedPeriodError) for
        a period that is not draft/returned. ``record_id`` becomes the row id when it is unused.
        Returns the ids of the current rows of the records (new or unchanged). Set-based: one
        statement marks the replaced versions, one inserts the new ones.
        """
        recs = list(records)
        ent_ids = {r.enterprise_id for r in recs}
        tenants = {eid: tenant for eid, tenant in self.session.execute(select(Enterprise.id, Enterprise.tenant_id).where(
            Enterprise.id.in_(sorted(ent_ids))))}
        for eid in sorted(ent_ids - set(tenants)):
            self.get_enterprise(eid)  # raises the located NotFoundError
        locked: set[tuple[str, str]] = self.locked_months(ent_ids)
        months = sorted({str(r.month) for r in recs})
        # one query for the current rows of every key in the write, one for the ids already taken
        current_rows = self.current_ledger(ent_ids, months[0], months[-1]) if recs else {}
        # a client's record id becomes the row id only when it fits the id column (36 characters)
        wanted_ids = sorted({r.record_id for r in recs if r.record_id and len(r.record_id) <= _ID_MAX})
        taken: set[str] = set()
        for i in range(0, len(wanted_ids), 500):
            taken.update(self.session.scalars(select(ActivityRecordRow.id).where(
                ActivityRecordRow.id.in_(wanted_ids[i:i + 500]))))
        out: list[str] = []
        new_rows: list[dict[str, Any]] = []
        replaced: list[str] = []
        seen: set[tuple[str, str, str, str, str]] = set()
        for rec in recs:
            m = str(rec.month)
            if (rec.enterprise_id, m) in locked:
                self.ensure_writable(rec.enterprise_id, m, location=Location(record=rec.record_id))
            key = (rec.enterprise_id, m, rec.carrier, str(rec.flow), rec.subtype or "")
            if key in seen:
                raise ConflictError(
                    f"two records for {'/'.join(key)} in one write",
                    message_zh=f"同一次写入中 {'/'.join(key)} 出现两次",
                    hint="merge the rows into one", hint_zh="请合并为一行",
                    location=Location(record=rec.record_id))
            seen.add(key)
            current = current_rows.get(key)
            if current is not None and current.quantity == rec.quantity and current.quality == str(rec.quality):
                out.append(current.id)
                continue
            version = 1
            if current is not None:
                replaced.append(current.id)
                version = current.version + 1
            if rec.record_id and len(rec.record_id) <= _ID_MAX and rec.record_id not in taken:
                rid = rec.record_id
                taken.add(rid)
            else:
                rid = new_id()
            out.append(rid)
            new_rows.append({
                "id": rid, "tenant_id": tenants[rec.enterprise_id], "enterprise_id": rec.enterprise_id, "month": m,
                "carrier": rec.carrier, "flow": str(rec.flow), "subtype": rec.subtype or "", "quantity": rec.quantity,
                "unit": carrier_info(rec.carrier).unit, "source": rec.source[:300], "quality": str(rec.quality),
                "status": "current", "version": version, "batch_id": batch_id, "created_by": created_by,
                "created_at": utc_now()})
        # the replaced versions first, so (key, version) stays unique at every step
        for i in range(0, len(replaced), 500):
            self.session.execute(update(ActivityRecordRow).where(ActivityRecordRow.id.in_(replaced[i:i + 500]))
                                 .values(status="superseded"), execution_options={"synchronize_session": "evaluate"})
        # one statement for all new rows (not one per row: on PostgreSQL the period guard runs once
        # per statement, migration 0009)
        cols = list(new_rows[0]) if new_rows else []
        self._insert_rows("activity_record", cols, [
            [self._ts_param(v) if isinstance(v, datetime) else v for v in r.values()] for r in new_rows])
        return out

    def current_ledger(self, enterprise_ids: Iterable[str], first: Month | str,
                       last: Month | str) -> dict[tuple[str, str, str, str, str], LedgerEntry]:
        """Current ledger rows of the enterprises in ``[first, last]`` by key (enterprise, month,
        carrier, flow, subtype), without loading ORM objects."""
        t = cast(Table, ActivityRecordRow.__table__)
        ids = sorted(set(enterprise_ids))
        out: dict[tuple[str, str, str, str, str], LedgerEntry] = {}
        for i in range(0, len(ids), 500):
            for r in self.session.execute(select(
                    t.c.enterprise_id, t.c.month, t.c.carrier, t.c.flow, t.c.subtype, t.c.id, t.c.quantity, t.c.quality,
                    t.c.version, t.c.source).where(t.c.enterprise_id.in_(ids[i:i + 500]), t.c.month >= _month_text(first),
                                                   t.c.month <= _month_text(last), t.c.status == "current")):
                out[(r[0], r[1], r[2], r[3], r[4])] = LedgerEntry(r[5], r[6], r[7], r[8], r[9])
        return out

    def activity_rows(self, *, enterprise_ids: Iterable[str] | None = None, park_id: str | None = None,
                      tenant_id: str | None = None, first: Month | str | None = None,
                      last: Month | str | None = None, include_superseded: bool = False) -> list[ActivityRecordRow]:
        """Ledger rows (ORM objects, with version and status), ordered by enterprise, month, carrier, flow."""
        q = select(ActivityRecordRow)
        if not include_superseded:
            q = q.where(ActivityRecordRow.status == "current")
        if enterprise_ids is not None:
            q = q.where(ActivityRecordRow.enterprise_id.in_(sorted(set(enterprise_ids))))
        if tenant_id is not None:
            q = q.where(ActivityRecordRow.tenant_id == tenant_id)
        if park_id is not None:
            q = q.join(Enterprise, Enterprise.id == ActivityRecordRow.enterprise_id).where(Enterprise.park_id == park_id)
        if first is not None:
            q = q.where(ActivityRecordRow.month >= _month_text(first))
        if last is not None:
            q = q.where(ActivityRecordRow.month <= _month_text(last))
        q = q.order_by(ActivityRecordRow.enterprise_id, ActivityRecordRow.month, ActivityRecordRow.carrier,
                       ActivityRecordRow.flow, ActivityRecordRow.subtype, ActivityRecordRow.version)
        return list(self.session.scalars(q))

    def activity_records(self, **filters: Any) -> list[ActivityRecord]:
        """Current ledger rows as :class:`~parkcarbon.core.activity.ActivityRecord` (the accounting input).

        Filters as :meth:`activity_rows` (``enterprise_ids``, ``park_id``, ``tenant_id``, ``first``, ``last``).
        ``record_id`` is the stored row id, so traces point at the exact version used.
        """
        filters.pop("include_superseded", None)
        return [
            ActivityRecord(record_id=r.id, enterprise_id=r.enterprise_id, month=parse_month(r.month),
                           carrier=r.carrier, flow=Flow(r.flow), quantity=r.quantity, source=r.source,
                           quality=Quality(r.quality), subtype=r.subtype or None)
            for r in self.activity_rows(**filters)
        ]

    # =========================================================================================
    # production output and added value
    # =========================================================================================

    # =========================================================================================
    # process inputs (carbonates)
    # =========================================================================================

    def add_process_inputs(self, items: Iterable[CarbonateInput], *, created_by: str | None = None
                           ) -> list[ProcessInputRow]:
        """Write carbonate inputs [t] as new versions, like the ledger (same value → no-op).

        Refused (LockedPeriodError) for a period that is not draft/returned.
        """
        rows = list(items)
        locked = self.locked_months({c.enterprise_id for c in rows})
        current = {
            (r.enterprise_id, r.month, r.mineral): r
            for r in self.session.scalars(select(ProcessInputRow).where(
                ProcessInputRow.enterprise_id.in_(sorted({c.enterprise_id for c in rows})),
                ProcessInputRow.status == "current"))
        }
        tenants: dict[str, str] = {}
        out: list[ProcessInputRow] = []
        seen: set[tuple[str, str, str]] = set()
        for c in rows:
            m = str(c.month)
            if (c.enterprise_id, m) in locked:
                self.ensure_writable(c.enterprise_id, m, location=Location(record=c.record_id))
            key = (c.enterprise_id, m, c.mineral)
            if key in seen:
                raise ConflictError(f"two process inputs for {'/'.join(key)} in one write",
                                    message_zh=f"同一次写入中 {'/'.join(key)} 出现两次",
                                    hint="merge the rows into one", hint_zh="请合并为一行",
                                    location=Location(record=c.record_id))
            seen.add(key)
            if c.enterprise_id not in tenants:
                tenants[c.enterprise_id] = self.get_enterprise(c.enterprise_id).tenant_id
            old = current.get(key)
            if old is not None and old.quantity_t == c.quantity_t and old.quality == str(c.quality) \
                    and old.calcination_frac == c.calcination_frac:
                out.append(old)
                continue
            version = 1
            if old is not None:
                old.status = "superseded"
                version = old.version + 1
                self.session.flush()
            row = ProcessInputRow(
                id=c.record_id if c.record_id and len(c.record_id) <= _ID_MAX
                and self.session.get(ProcessInputRow, c.record_id) is None else new_id(),
                tenant_id=tenants[c.enterprise_id], enterprise_id=c.enterprise_id, month=m, mineral=c.mineral,
                quantity_t=c.quantity_t, calcination_frac=c.calcination_frac, source=c.source[:300],
                quality=str(c.quality), status="current", version=version, created_by=created_by)
            self.session.add(row)
            out.append(row)
        self.session.flush()
        return out

    def process_inputs(self, *, enterprise_ids: Iterable[str] | None = None, first: Month | str | None = None,
                       last: Month | str | None = None) -> list[CarbonateInput]:
        """Current carbonate inputs as :class:`~parkcarbon.core.ghg.CarbonateInput` (accounting input)."""
        q = select(ProcessInputRow).where(ProcessInputRow.status == "current")
        if enterprise_ids is not None:
            q = q.where(ProcessInputRow.enterprise_id.in_(sorted(set(enterprise_ids))))
        if first is not None:
            q = q.where(ProcessInputRow.month >= _month_text(first))
        if last is not None:
            q = q.where(ProcessInputRow.month <= _month_text(last))
        q = q.order_by(ProcessInputRow.enterprise_id, ProcessInputRow.month, ProcessInputRow.mineral)
        return [CarbonateInput(record_id=r.id, enterprise_id=r.enterprise_id, month=parse_month(r.month),
                               mineral=r.mineral, quantity_t=r.quantity_t, calcination_frac=r.calcination_frac,
                               source=r.source, quality=Quality(r.quality))
                for r in self.session.scalars(q)]

    def put_production(self, *, enterprise_id: str, period: Month | str | int,
                       gross_output_value_10k_cny: float | None = None, added_value_10k_cny: float | None = None,
                       price_basis: str = "current", base_year: int | None = None, product_name: str = "",
                       product_output: float | None = None, product_unit: str | None = None,
                       source: str = "", quality: str = "measured", batch_id: str | None = None) -> ProductionRecord:
        """Write production output and industrial added value (工业总产值 / 工业增加值) [10k CNY].

        ``period``: a month (``Month``/'2025-03') or a year (``2025``/'2025'). ``price_basis``
        ``current`` (现价) or ``comparable`` (可比价, needs ``base_year``). Versioned like the ledger.
        """
        if isinstance(period, int) or (isinstance(period, str) and period.strip().isdigit() and len(period.strip()) == 4):
            year = int(period)
            if not 1900 <= year <= 2200:
                raise PeriodError(f"year {year} out of range", message_zh=f"年份 {year} 超出范围")
            ptext, kind, month_for_lock = f"{year:04d}", "year", None
        else:
            month_for_lock = parse_month(period)
            ptext, kind = str(month_for_lock), "month"
        if price_basis not in ("current", "comparable"):
            raise InputError(f"price basis must be 'current' or 'comparable', got {price_basis!r}",
                             message_zh=f"价格口径须为 current（现价）或 comparable（可比价），实际为 {price_basis!r}")
        if price_basis == "comparable" and base_year is None:
            raise InputError("comparable prices need a base year", message_zh="可比价必须注明基准年",
                             hint="give base_year, e.g. 2020", hint_zh="请填写基准年，如 2020")
        for name, v in (("gross_output_value_10k_cny", gross_output_value_10k_cny),
                        ("added_value_10k_cny", added_value_10k_cny), ("product_output", product_output)):
            _check_number(v, name, record=f"{enterprise_id}:{ptext}")
        ent = self.get_enterprise(enterprise_id)
        if month_for_lock is not None:
            self.ensure_writable(enterprise_id, month_for_lock)
        current = self.session.scalar(select(ProductionRecord).where(
            ProductionRecord.enterprise_id == enterprise_id, ProductionRecord.period == ptext,
            ProductionRecord.product_name == product_name, ProductionRecord.status == "current"))
        values = dict(gross_output_value_10k_cny=gross_output_value_10k_cny, added_value_10k_cny=added_value_10k_cny,
                      price_basis=price_basis, base_year=base_year, product_output=product_output,
                      product_unit=product_unit, quality=quality)
        if current is not None and all(getattr(current, k) == v for k, v in values.items()):
            return current
        version = 1
        if current is not None:
            current.status = "superseded"
            version = current.version + 1
            self.session.flush()
        row = ProductionRecord(tenant_id=ent.tenant_id, enterprise_id=enterprise_id, period=ptext, period_kind=kind,
                               product_name=product_name, source=source[:300], status="current", version=version,
                               batch_id=batch_id, **values)
        self.session.add(row)
        self.session.flush()
        return row

    def production_records(self, *, enterprise_ids: Iterable[str] | None = None, first: str | Month | None = None,
                           last: str | Month | None = None, period_kind: str | None = None) -> list[ProductionRecord]:
        """Current production rows; ``first``/``last`` compare the period text ('2025' sorts before '2025-01')."""
        q = select(ProductionRecord).where(ProductionRecord.status == "current")
        if enterprise_ids is not None:
            q = q.where(ProductionRecord.enterprise_id.in_(sorted(set(enterprise_ids))))
        if period_kind is not None:
            q = q.where(ProductionRecord.period_kind == period_kind)
        if first is not None:
            q = q.where(ProductionRecord.period >= str(first))
        if last is not None:
            q = q.where(ProductionRecord.period <= str(last))
        return list(self.session.scalars(q.order_by(ProductionRecord.enterprise_id, ProductionRecord.period,
                                                    ProductionRecord.product_name)))

    # =========================================================================================
    # PV and storage assets
    # =========================================================================================

    def _asset_owner(self, enterprise_id: str | None, tenant_id: str | None) -> str:
        if enterprise_id is not None:
            return self.get_enterprise(enterprise_id).tenant_id
        if tenant_id is None:
            raise InputError("an asset needs an enterprise or a tenant", message_zh="资产须归属企业或租户")
        return tenant_id

    def add_pv_asset(self, *, capacity_kwp: float, enterprise_id: str | None = None, tenant_id: str | None = None,
                     commissioned: Month | str | None = None, tilt_deg: float | None = None,
                     azimuth_deg: float | None = None, name: str | None = None, asset_id: str | None = None,
                     site_id: str | None = None, meter_id: str | None = None) -> EnergyAsset:
        """Register a rooftop PV plant (屋顶光伏) [kWp]; azimuth 180° = south."""
        _check_number(capacity_kwp, "capacity_kwp", allow_none=False)
        asset = EnergyAsset(id=asset_id or new_id(), tenant_id=self._asset_owner(enterprise_id, tenant_id),
                            enterprise_id=enterprise_id, site_id=site_id, kind="pv", name=name,
                            capacity_kwp=capacity_kwp, tilt_deg=tilt_deg, azimuth_deg=azimuth_deg,
                            commissioned_month=None if commissioned is None else _month_text(commissioned),
                            meter_id=meter_id)
        self.session.add(asset)
        self.session.flush()
        return asset

    def add_storage_asset(self, *, power_kw: float, energy_kwh: float, enterprise_id: str | None = None,
                          tenant_id: str | None = None, round_trip_efficiency_frac: float | None = None,
                          commissioned: Month | str | None = None, name: str | None = None,
                          asset_id: str | None = None, site_id: str | None = None,
                          meter_id: str | None = None) -> EnergyAsset:
        """Register a battery storage system (储能) [kW, kWh, round-trip efficiency fraction]."""
        _check_number(power_kw, "power_kw", allow_none=False)
        _check_number(energy_kwh, "energy_kwh", allow_none=False)
        if round_trip_efficiency_frac is not None and not 0 < round_trip_efficiency_frac <= 1:
            raise QuantityError("round-trip efficiency must be in (0, 1]", message_zh="往返效率须在 (0, 1] 之间",
                                location=Location(value=round_trip_efficiency_frac))
        asset = EnergyAsset(id=asset_id or new_id(), tenant_id=self._asset_owner(enterprise_id, tenant_id),
                            enterprise_id=enterprise_id, site_id=site_id, kind="storage", name=name,
                            power_kw=power_kw, energy_kwh=energy_kwh,
                            round_trip_efficiency_frac=round_trip_efficiency_frac,
                            commissioned_month=None if commissioned is None else _month_text(commissioned),
                            meter_id=meter_id)
        self.session.add(asset)
        self.session.flush()
        return asset

    def energy_assets(self, *, kind: str | None = None, enterprise_ids: Iterable[str] | None = None) -> list[EnergyAsset]:
        q = select(EnergyAsset)
        if kind is not None:
            q = q.where(EnergyAsset.kind == kind)
        if enterprise_ids is not None:
            q = q.where(EnergyAsset.enterprise_id.in_(sorted(set(enterprise_ids))))
        return list(self.session.scalars(q.order_by(EnergyAsset.id)))

    # =========================================================================================
    # green power contracts and certificates
    # =========================================================================================

    def add_green_power_contract(self, *, enterprise_id: str, kind: str, counterparty: str,
                                 technology: str | None = None, price_cny_per_kwh: float | None = None,
                                 contract_id: str | None = None,
                                 deliveries: Mapping[Month | str, float] | None = None) -> GreenPowerContract:
        """Register a green power contract (绿电交易 ``green_power_trade`` / 绿电直连 ``direct_supply``).

        An existing ``contract_id`` of the same enterprise and kind is reused (so monthly rows of one
        contract can be added one by one); ``deliveries`` maps month → energy [kWh].
        """
        if kind not in GREEN_POWER_KINDS:
            raise InputError(f"green power kind must be one of {GREEN_POWER_KINDS}, got {kind!r}",
                             message_zh=f"绿电类型须为 {GREEN_POWER_KINDS} 之一，实际为 {kind!r}",
                             location=Location(value=kind))
        _check_number(price_cny_per_kwh, "price_cny_per_kwh")
        ent = self.get_enterprise(enterprise_id)
        contract = self.session.get(GreenPowerContract, contract_id) if contract_id else None
        if contract is not None:
            if contract.enterprise_id != enterprise_id or contract.kind != kind:
                raise ConflictError(f"contract {contract_id} exists with another enterprise or kind",
                                    message_zh=f"合同 {contract_id} 已存在且属于其他企业或类型",
                                    location=Location(record=contract_id))
        else:
            contract = GreenPowerContract(id=contract_id or new_id(), tenant_id=ent.tenant_id,
                                          enterprise_id=enterprise_id, kind=kind, counterparty=counterparty,
                                          technology=technology, price_cny_per_kwh=price_cny_per_kwh)
            self.session.add(contract)
            self.session.flush()
        for month, kwh in (deliveries or {}).items():
            self.put_green_power_delivery(contract.id, month, kwh)
        return contract

    def put_green_power_delivery(self, contract_id: str, month: Month | str, energy_kwh: float) -> GreenPowerDelivery:
        """Set the energy delivered under a contract in a month [kWh] (draft periods only)."""
        _check_number(energy_kwh, "energy_kwh", allow_none=False, record=contract_id)
        contract = self._get(GreenPowerContract, contract_id, "green power contract", "绿电合同")
        m = _month_text(month)
        self.ensure_writable(contract.enterprise_id, m)
        row = self.session.get(GreenPowerDelivery, (contract_id, m))
        if row is None:
            row = GreenPowerDelivery(contract_id=contract_id, month=m, tenant_id=contract.tenant_id,
                                     energy_kwh=float(energy_kwh))
            self.session.add(row)
        else:
            row.energy_kwh = float(energy_kwh)
        self.session.flush()
        return row

    def green_power(self, *, enterprise_ids: Iterable[str] | None = None, first: Month | str | None = None,
                    last: Month | str | None = None) -> list[GreenPowerMonth]:
        """Green power delivered per contract and month."""
        q = select(GreenPowerContract, GreenPowerDelivery).join(
            GreenPowerDelivery, GreenPowerDelivery.contract_id == GreenPowerContract.id)
        if enterprise_ids is not None:
            q = q.where(GreenPowerContract.enterprise_id.in_(sorted(set(enterprise_ids))))
        if first is not None:
            q = q.where(GreenPowerDelivery.month >= _month_text(first))
        if last is not None:
            q = q.where(GreenPowerDelivery.month <= _month_text(last))
        q = q.order_by(GreenPowerContract.enterprise_id, GreenPowerDelivery.month, GreenPowerContract.id)
        return [GreenPowerMonth(contract_id=c.id, enterprise_id=c.enterprise_id, month=parse_month(d.month),
                                kind=c.kind, energy_kwh=d.energy_kwh, counterparty=c.counterparty,
                                technology=c.technology, price_cny_per_kwh=c.price_cny_per_kwh)
                for c, d in self.session.execute(q)]

    def add_green_certificates(self, *, serial: str, enterprise_id: str, vintage: Month | str, technology: str,
                               count: int, energy_kwh: float | None = None,
                               claimed_month: Month | str | None = None) -> GreenCertificate:
        """Register a batch of green certificates (绿证) starting at ``serial``; 1 GEC = 1 000 kWh.

        A serial already registered raises :class:`ConflictError` (a certificate is counted once).
        """
        if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
            raise QuantityError(f"certificate count must be a positive integer, got {count!r}",
                                message_zh=f"绿证数量须为正整数，实际为 {count!r}", location=Location(record=serial))
        kwh = count * KWH_PER_GEC if energy_kwh is None else energy_kwh
        _check_number(kwh, "energy_kwh", allow_none=False, record=serial)
        if self.session.scalar(select(GreenCertificate).where(GreenCertificate.serial == serial)) is not None:
            raise ConflictError(f"green certificate serial {serial} is already registered",
                                message_zh=f"绿证编号 {serial} 已登记（不得重复计算）", location=Location(record=serial))
        ent = self.get_enterprise(enterprise_id)
        if claimed_month is not None:
            self.ensure_writable(enterprise_id, claimed_month)
        cert = GreenCertificate(tenant_id=ent.tenant_id, serial=serial, enterprise_id=enterprise_id,
                                vintage=_month_text(vintage), technology=technology, count=count, energy_kwh=kwh,
                                claimed_month=None if claimed_month is None else _month_text(claimed_month))
        self.session.add(cert)
        self.session.flush()
        return cert

    def claim_green_certificates(self, serial: str, month: Month | str) -> GreenCertificate:
        """Claim (use) a certificate batch in a month; a batch is claimed once."""
        cert = self.session.scalar(select(GreenCertificate).where(GreenCertificate.serial == serial))
        if cert is None:
            raise _not_found("green certificate", "绿证", serial)
        if cert.claimed_month is not None:
            raise ConflictError(f"certificate {serial} already claimed in {cert.claimed_month}",
                                message_zh=f"绿证 {serial} 已在 {cert.claimed_month} 使用", location=Location(record=serial))
        self.ensure_writable(cert.enterprise_id, month)
        cert.claimed_month = _month_text(month)
        self.session.flush()
        return cert

    def green_certificates(self, *, enterprise_ids: Iterable[str] | None = None,
                           claimed_first: Month | str | None = None,
                           claimed_last: Month | str | None = None) -> list[GreenCertificate]:
        q = select(GreenCertificate)
        if enterprise_ids is not None:
            q = q.where(GreenCertificate.enterprise_id.in_(sorted(set(enterprise_ids))))
        if claimed_first is not None:
            q = q.where(GreenCertificate.claimed_month >= _month_text(claimed_first))
        if claimed_last is not None:
            q = q.where(GreenCertificate.claimed_month <= _month_text(claimed_last))
        return list(self.session.scalars(q.order_by(GreenCertificate.enterprise_id, GreenCertificate.serial)))

    # =========================================================================================
    # evidence files and ingest batches
    # =========================================================================================

    def add_evidence(self, *, tenant_id: str, sha256: str, size_bytes: int, original_name: str, stored_name: str,
                     uploader: str, enterprise_id: str | None = None, month: Month | str | None = None,
                     title: str | None = None, replaces_id: str | None = None) -> EvidenceFile:
        """Record an evidence file (存证) already written under ``stored_name`` (server-generated)."""
        if replaces_id is not None:
            self._get(EvidenceFile, replaces_id, "evidence file", "存证文件", tenant_id)
        ev = EvidenceFile(tenant_id=tenant_id, sha256=sha256, size_bytes=size_bytes, original_name=original_name[:300],
                          stored_name=stored_name, uploader=uploader, enterprise_id=enterprise_id,
                          month=None if month is None else _month_text(month), title=title, replaces_id=replaces_id)
        self.session.add(ev)
        self.session.flush()
        return ev

    def evidence_files(self, *, tenant_id: str | None = None, enterprise_id: str | None = None) -> list[EvidenceFile]:
        q = select(EvidenceFile)
        if tenant_id is not None:
            q = q.where(EvidenceFile.tenant_id == tenant_id)
        if enterprise_id is not None:
            q = q.where(EvidenceFile.enterprise_id == enterprise_id)
        return list(self.session.scalars(q.order_by(EvidenceFile.uploaded_at)))

    def create_batch(self, *, tenant_id: str, kind: str, idempotency_key: str | None = None,
                     body_sha256: str | None = None, source_name: str | None = None, stored_name: str | None = None,
                     created_by: str | None = None, status: str = "committed") -> IngestBatch:
        """Open an ingest batch (its rows commit with it or not at all)."""
        batch = IngestBatch(tenant_id=tenant_id, kind=kind, idempotency_key=idempotency_key, body_sha256=body_sha256,
                            source_name=None if source_name is None else source_name[:300], stored_name=stored_name,
                            created_by=created_by, status=status)
        self.session.add(batch)
        self.session.flush()
        return batch

    def find_batch(self, *, tenant_id: str, kind: str, idempotency_key: str) -> IngestBatch | None:
        return self.session.scalar(select(IngestBatch).where(
            IngestBatch.tenant_id == tenant_id, IngestBatch.kind == kind, IngestBatch.idempotency_key == idempotency_key))

    def batches(self, *, tenant_id: str | None = None, kind: str | None = None) -> list[IngestBatch]:
        q = select(IngestBatch)
        if tenant_id is not None:
            q = q.where(IngestBatch.tenant_id == tenant_id)
        if kind is not None:
            q = q.where(IngestBatch.kind == kind)
        return list(self.session.scalars(q.order_by(IngestBatch.created_at)))

    # =========================================================================================
    # raw readings (R1–R3)
    # =========================================================================================

    def _insert_ignore(self, table: Any, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        ins = pg_insert(table) if self.backend == "postgresql" else sqlite_insert(table)
        self.session.execute(ins.on_conflict_do_nothing(), rows)

    _RAW_COLS = ("meter_id", "ts_utc", "channel", "tenant_id", "value", "source_offset_min", "gateway_id",
                 "gateway_seq", "received_at", "batch_id")
    #: PostgreSQL types of :attr:`_RAW_COLS`, for binary ``COPY``
    _RAW_PG_TYPES = ("varchar", "timestamptz", "varchar", "varchar", "float8", "int4", "varchar", "int8",
                     "timestamptz", "varchar")

    def _bulk_insert_readings(self, tenant_id: str, cols: Sequence[Sequence[Any]], ts_text: Sequence[str] | None,
                              batch_id: str, received_at: datetime,
                              distinct: Callable[[], bool] | None = None) -> bool:
        """Insert raw readings whose keys are new at the driver level (the hot path of bulk ingest).

        ``cols``: the columns meter_id, ts_utc, value (float), channel, source_offset_min,
        gateway_id, gateway_seq of the readings; ``ts_text`` their timestamps as SQLite text.
        :meth:`write_readings` has checked every key against the store (and, unless ``distinct``
        is given, against the rest of the batch), so this is a plain insert, never ``ON CONFLICT
        DO NOTHING``: a key inserted meanwhile by a concurrent transaction (PostgreSQL) fails the
        whole transaction with a unique violation (an :class:`~sqlalchemy.exc.IntegrityError`,
        which the ingestion service retries) instead of being dropped silently. SQLite write
        transactions are ``BEGIN IMMEDIATE``, so no other writer comes between check and insert.

        SQLite: ``executemany`` with timestamps in SQLAlchemy's SQLite DATETIME text format (UTC,
        microseconds), so ORM reads and range filters see the same values. PostgreSQL: binary
        ``COPY`` straight into ``raw_reading`` (its references are checked once per statement, by
        the trigger of migration ``0008_reading_integrity``); when row-level security applies to
        the connected role (the application role: PostgreSQL refuses ``COPY FROM`` under RLS)
        ``COPY`` into a session temporary table, then one ``INSERT … SELECT``.

        ``distinct`` (PostgreSQL): the batch's keys are not known to be distinct yet. The rows are
        sent under a savepoint and ``distinct()`` is called while the server is still storing
        them; if it returns False the insert is undone and False is returned (nothing written).
        """
        mids, tss, vals, chans, offs, gws, seqs = cols
        if not mids:
            return True
        conn = self.session.connection()
        dbapi_conn = conn.connection.driver_connection
        dbapi = conn.dialect.loaded_dbapi
        names = ", ".join(self._RAW_COLS)
        sql = f"INSERT INTO raw_reading ({names}) VALUES ({', '.join('?' * len(self._RAW_COLS))})"
        try:
            if self.backend == "sqlite":
                assert ts_text is not None and distinct is None
                # bind only what varies from row to row: a column with one value for the whole batch
                # is written once as an SQL literal, a column that is NULL throughout is left out
                varying: dict[str, Sequence[Any]] = {"meter_id": mids, "ts_utc": ts_text, "value": vals}
                same = {"tenant_id": tenant_id, "received_at": _sqlite_ts(received_at), "batch_id": batch_id}
                if chans.count(chans[0]) == len(chans):
                    same["channel"] = chans[0]
                else:
                    varying["channel"] = chans
                for name, col in (("source_offset_min", offs), ("gateway_id", gws), ("gateway_seq", seqs)):
                    if col.count(None) != len(col):
                        varying[name] = col
                literals: dict[str, str] = {}
                for k, v in same.items():
                    lit = _sqlite_text_literal(v)
                    if lit is None:
                        varying[k] = [v] * len(mids)
                    else:
                        literals[k] = lit
                sql = (f"INSERT INTO raw_reading ({', '.join([*varying, *literals])}) "
                       f"VALUES ({', '.join(['?'] * len(varying) + list(literals.values()))})")
                cur = dbapi_conn.cursor()  # type: ignore[union-attr]
                try:
                    cur.executemany(sql, zip(*varying.values(), strict=True))
                finally:
                    cur.close()
                return True
            if self.backend == "postgresql":
                rows = zip(mids, tss, chans, repeat(tenant_id), vals, offs, gws, seqs, repeat(received_at),
                           repeat(batch_id))
                with dbapi_conn.cursor() as cur:  # type: ignore[union-attr]
                    rls = bool(cur.execute("SELECT row_security_active('raw_reading')").fetchone()[0])
                    target = "_raw_reading_load" if rls else "raw_reading"
                    if rls:
                        cur.execute("CREATE TEMP TABLE IF NOT EXISTS _raw_reading_load "
                                    "(LIKE raw_reading INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
                    if distinct is not None:
                        cur.execute("SAVEPOINT parkcarbon_readings")
                    sql = f"COPY {target} ({names}) FROM STDIN (FORMAT BINARY)"
                    try:
                        with cur.copy(sql) as cp:
                            cp.set_types(self._RAW_PG_TYPES)
                            write_row = cp.write_row
                            for row in rows:
                                write_row(row)
                            if distinct is not None and not distinct():
                                raise _RepeatedKeys
                    except _RepeatedKeys:  # psycopg ended the COPY with an error: undo it
                        cur.execute("ROLLBACK TO SAVEPOINT parkcarbon_readings")
                        return False
                    if rls:
                        sql = f"INSERT INTO raw_reading ({names}) SELECT {names} FROM _raw_reading_load"
                        cur.execute(sql)
                        cur.execute("TRUNCATE _raw_reading_load")
                    if distinct is not None:
                        cur.execute("RELEASE SAVEPOINT parkcarbon_readings")
                return True
        except dbapi.Error as exc:  # the driver's own error: give callers SQLAlchemy's, as for ORM statements
            raise DBAPIError.instance(sql, None, exc, dbapi.Error, dialect=conn.dialect) from exc
        if distinct is not None and not distinct():
            return False
        self.session.execute(insert(RawReading), [dict(zip(self._RAW_COLS, row, strict=True)) for row in zip(
            mids, tss, chans, repeat(tenant_id), vals, offs, gws, seqs, repeat(received_at), repeat(batch_id))])
        return True

    def write_readings(self, tenant_id: str, readings: Sequence[ReadingIn] | ReadingColumns, *, batch_id: str,
                       received_at: datetime | None = None) -> ReadingWriteResult:
        """Append readings idempotently (R1/R2): new keys inserted, same value → no-op,
        different value → :class:`ReadingConflict` (both values kept; status ``correction_queue``
        when the month of the reading is not writable for the meter's enterprise).

        All meters must belong to ``tenant_id`` (NotFoundError otherwise). Order-independent:
        the first value stored for a key stays the raw value; later different values are conflicts.
        """
        received_at = received_at or utc_now()
        columns = readings if isinstance(readings, ReadingColumns) else ReadingColumns.of(readings)
        if not columns.meter_id:
            return ReadingWriteResult(0, 0, 0, {})
        n = len(columns.meter_id)
        mids, tss, chans = columns.meter_id, columns.ts_utc, columns.channel
        vals = list(map(float, columns.value))
        meter_ids = sorted(set(mids))
        enterprise_of: dict[str, str | None] = {}  # the batch's meters of this tenant → their enterprise
        for i in range(0, len(meter_ids), 500):
            for mid, owner, ent in self.session.execute(select(Meter.id, Meter.tenant_id, Meter.enterprise_id).where(
                    Meter.id.in_(meter_ids[i:i + 500]))):
                if owner == tenant_id:
                    enterprise_of[mid] = ent
        for mid in meter_ids:
            if mid not in enterprise_of:
                raise _not_found("meter", "表计", mid)
        lo, hi = _time_range(tss)
        # stored readings in the batch's time range (one range query per chunk of meters)
        existing: dict[tuple[str, datetime, str], float] = {}
        t = cast(Table, RawReading.__table__)
        for i in range(0, len(meter_ids), 500):
            q = select(t.c.meter_id, t.c.ts_utc, t.c.channel, t.c.value).where(
                t.c.meter_id.in_(meter_ids[i:i + 500]), t.c.ts_utc >= lo, t.c.ts_utc <= hi)
            for mid, ts, ch, val in self.session.execute(q):
                existing[(mid, ts, ch)] = val
        cols: list[list[Any]] = [mids, tss, vals, chans, columns.source_offset_min, columns.gateway_id, columns.gateway_seq]
        view: list[Any] = []  # columnar view: distinct instants, each reading's instant rank and meter index

        def keys_distinct() -> bool:
            instants, rank = _instants(tss)
            meter_ix = np.fromiter(map(dict(zip(meter_ids, range(len(meter_ids)), strict=True)).__getitem__, mids),
                                   dtype=np.int64, count=n)
            view[:] = [instants, rank, meter_ix]
            return _keys_distinct(meter_ix, rank, chans, len(meter_ids), len(instants))

        if not existing and self.backend == "postgresql":
            # all new unless the batch repeats a key: send the rows at once and look for repeated
            # keys while the server stores them (the usual batch has none: nothing else to do)
            if self._bulk_insert_readings(tenant_id, cols, None, batch_id, received_at, distinct=keys_distinct):
                instants, rank, meter_ix = view
                return ReadingWriteResult(inserted=n, duplicates=0, conflicts=0,
                                          touched=_first_last(meter_ids, meter_ix, instants, rank))
            all_distinct = False
        else:
            all_distinct = keys_distinct()
        instants, rank, meter_ix = view
        # 1. within the batch: first value per key wins, different later values are conflicts
        dup = 0
        pending_conflicts: list[tuple[int, float]] = []  # (reading index, value kept for its key)
        keep: list[int] | None = None  # indices of the readings to insert (None: all of them)
        if not all_distinct:
            first: dict[tuple[str, datetime, str], int] = {}
            keep = []
            for i, k in enumerate(zip(mids, tss, chans, strict=True)):
                j = first.setdefault(k, i)
                if j == i:
                    keep.append(i)
                elif vals[j] == vals[i]:
                    dup += 1
                else:
                    pending_conflicts.append((i, vals[j]))
        # 2. against the store
        if existing:
            candidates = range(n) if keep is None else keep
            keep = []
            for i in candidates:
                old = existing.get((mids[i], tss[i], chans[i]))
                if old is None:
                    keep.append(i)
                elif old == vals[i]:
                    dup += 1
                else:
                    pending_conflicts.append((i, old))
        if keep is not None:
            cols = [[c[i] for i in keep] for c in cols]
            meter_ix, rank = meter_ix[keep], rank[keep]
        ts_text = _sqlite_ts_array(instants)[rank].tolist() if self.backend == "sqlite" else None
        self._bulk_insert_readings(tenant_id, cols, ts_text, batch_id, received_at)
        touched = _first_last(meter_ids, meter_ix, instants, rank)
        # 3. conflicts (both values kept)
        conflicts = 0
        if pending_conflicts:
            ent_ids = {enterprise_of[mids[i]] for i, _ in pending_conflicts} - {None}
            locked = self.locked_months(e for e in ent_ids if e is not None)
            rows = []
            seen: set[tuple[str, datetime, str, float]] = set()
            for i, old in pending_conflicts:
                ck = (mids[i], tss[i], chans[i], vals[i])
                if ck in seen:
                    continue
                seen.add(ck)
                ent = enterprise_of[mids[i]]
                status = "correction_queue" if ent is not None and (ent, str(Month.of(tss[i]))) in locked else "open"
                rows.append({"id": new_id(), "tenant_id": tenant_id, "meter_id": mids[i], "ts_utc": tss[i],
                             "channel": chans[i], "existing_value": float(old), "new_value": vals[i],
                             "batch_id": batch_id, "received_at": received_at, "status": status,
                             "policy": "keep_existing_until_resolved"})
            self._insert_ignore(ReadingConflict.__table__, rows)
            conflicts = len(pending_conflicts)
        return ReadingWriteResult(inserted=len(cols[0]), duplicates=dup, conflicts=conflicts, touched=touched)

    def quarantine(self, tenant_id: str, *, batch_id: str, items: Iterable[Mapping[str, Any]]) -> int:
        """Keep readings that must not be used (future timestamps, unknown meters) with a reason."""
        rows = [{"id": new_id(), "tenant_id": tenant_id, "batch_id": batch_id, "received_at": utc_now(),
                 "channel": "", "ts_utc": None, "value": None, "detail": None, **dict(it)} for it in items]
        if rows:
            self.session.execute(insert(QuarantinedReading), rows)
        return len(rows)

    def raw_readings(self, meter_id: str, *, start_utc: datetime | None = None, end_utc: datetime | None = None,
                     channel: str = "") -> list[RawReading]:
        """Raw readings of a meter in ``[start_utc, end_utc)``, by time."""
        q = select(RawReading).where(RawReading.meter_id == meter_id, RawReading.channel == channel)
        if start_utc is not None:
            q = q.where(RawReading.ts_utc >= start_utc)
        if end_utc is not None:
            q = q.where(RawReading.ts_utc < end_utc)
        return list(self.session.scalars(q.order_by(RawReading.ts_utc)))

    def reading_keys(self, tenant_id: str) -> set[tuple[str, datetime, str, float]]:
        """Every stored (meter code, ts, channel, value) of a tenant (tests and reconciliation)."""
        q = select(Meter.code, RawReading.ts_utc, RawReading.channel, RawReading.value).join(
            Meter, Meter.id == RawReading.meter_id).where(RawReading.tenant_id == tenant_id)
        return {(a, b, c, d) for a, b, c, d in self.session.execute(q)}

    def count_readings(self, tenant_id: str | None = None) -> int:
        q = select(func.count()).select_from(RawReading)
        if tenant_id is not None:
            q = q.where(RawReading.tenant_id == tenant_id)
        return int(self.session.scalar(q) or 0)

    def reading_conflicts(self, *, tenant_id: str | None = None, status: str | None = None) -> list[ReadingConflict]:
        q = select(ReadingConflict)
        if tenant_id is not None:
            q = q.where(ReadingConflict.tenant_id == tenant_id)
        if status is not None:
            q = q.where(ReadingConflict.status == status)
        return list(self.session.scalars(q.order_by(ReadingConflict.meter_id, ReadingConflict.ts_utc)))

    def resolve_conflict(self, conflict_id: str, *, resolution: str, by: str, tenant_id: str | None = None) -> ReadingConflict:
        """Record who resolved a conflict and how (``keep_existing`` or ``accept_new``). Raw data is not changed."""
        if resolution not in ("keep_existing", "accept_new"):
            raise InputError(f"resolution must be keep_existing or accept_new, got {resolution!r}",
                             message_zh=f"处理方式须为 keep_existing 或 accept_new，实际为 {resolution!r}")
        c = self._get(ReadingConflict, conflict_id, "reading conflict", "读数冲突", tenant_id)
        c.status, c.resolution, c.resolved_by, c.resolved_at = "resolved", resolution, by, utc_now()
        self.session.flush()
        return c

    def quarantined(self, *, tenant_id: str | None = None) -> list[QuarantinedReading]:
        q = select(QuarantinedReading)
        if tenant_id is not None:
            q = q.where(QuarantinedReading.tenant_id == tenant_id)
        return list(self.session.scalars(q.order_by(QuarantinedReading.received_at)))

    def mark_batch(self, batch_id: str, **counts: Any) -> None:
        """Store counts and the result of a batch (inserted_count, duplicate_count, …, result_json)."""
        self.session.execute(update(IngestBatch).where(IngestBatch.id == batch_id).values(**counts))
