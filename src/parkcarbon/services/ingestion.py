"""Ingestion use cases (数据接入): file uploads, reading files, HTTP batches and MQTT messages.

Every entry point is **all-or-nothing**: one database transaction per upload/batch; any error
rolls everything back, and all row errors are reported together in a
:class:`~parkcarbon.errors.BatchRejectedError` (file, sheet, row, column, value, hint; Chinese
and English). Readings are idempotent (R1/R2): a resend is a no-op, a different value for a
stored key becomes a conflict record. Readings more than ``future_tolerance_s`` in the future
are quarantined (R6). After a commit the caller may acknowledge (R17): the functions return only
after the commit.

Public functions::

    import_statistics(store, data, filename, kind, *, uploader, tenant_id=None, park_id=None,
                      settings=None) -> ImportResult           # kind: monthly | bills | production | meters
    import_readings(store, data, filename, *, tenant_id, uploader, naive_tz=None, settings=None,
                    now=None, derive=True) -> ReadingsResult   # .csv / .xlsx / .parquet
    ingest_readings(store, tenant_id, readings, *, kind, gateway_id=None, idempotency_key=None,
                    body_sha256=None, unknown_meters="reject"|"quarantine", ...) -> ReadingsResult
    ingest_http_batch(store, tenant_id, idempotency_key, body, *, settings=None, now=None)
        -> HttpBatchResult  (status 200/201, 400, 409, 422; same key + same body → stored response)
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from parkcarbon.core.activity import ActivityRecord
from parkcarbon.errors import (
    BatchRejectedError,
    ConflictError,
    InputError,
    Location,
    NotFoundError,
    ParkcarbonError,
    TemplateError,
    UploadRejectedError,
)
from parkcarbon.ingest.readings import ParsedReading, parse_reading_rows, parse_timestamp, read_parquet_rows
from parkcarbon.ingest.safety import UploadLimits, check_name, check_upload, stored_name
from parkcarbon.ingest.statistics import PARSERS, ActivityDraft, MeterDraft, ProductionDraft
from parkcarbon.ingest.tables import read_table
from parkcarbon.ingest.templates import TEMPLATES
from parkcarbon.services.derivation import DerivationResult, derive_touched, gc_paused
from parkcarbon.settings import Settings, get_settings
from parkcarbon.storage import ReadingColumns, ReadingIn, Repository, Store

__all__ = [
    "HttpBatchResult",
    "ImportResult",
    "MqttIngestHandler",
    "ReadingsResult",
    "detect_kind",
    "import_readings",
    "import_statistics",
    "ingest_http_batch",
    "ingest_readings",
    "parse_batch_body",
    "replay_file",
    "run_mqtt",
    "store_evidence",
]


@dataclass(frozen=True)
class ImportResult:
    """A committed statistics upload."""

    batch_id: str
    kind: str
    file: str
    stored_name: str | None
    rows: int
    records_written: int


@dataclass(frozen=True)
class ReadingsResult:
    """A committed batch of readings: counts and derived-data update."""

    batch_id: str
    received: int
    inserted: int
    duplicates: int
    conflicts: int
    quarantined: int
    replayed: bool = False
    derivation: DerivationResult | None = None
    clock_skew_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("derivation")
        return d


@dataclass(frozen=True)
class HttpBatchResult:
    """What an HTTP endpoint returns: ``status`` (201 new, 200 replay, 400/409/422) and a JSON body."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)


def _rejected(name: str, errors: list[ParkcarbonError]) -> BatchRejectedError:
    return BatchRejectedError(
        f"{name}: rejected, {len(errors)} problem(s); nothing was written",
        message_zh=f"{name}：已拒收，共 {len(errors)} 处问题；未写入任何数据",
        hint="fix every listed cell and upload the whole file again",
        hint_zh="请按清单逐一修改后重新上传整个文件",
        errors=errors, location=Location(file=name))


def _save_upload(settings: Settings, data: bytes, suffix: str) -> Path:
    """Write accepted bytes under a server-generated name inside the upload directory."""
    folder = settings.upload_dir
    folder.mkdir(parents=True, exist_ok=True)
    name = stored_name(suffix)
    path = folder / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return path


def _resolve_enterprise(repo: Repository, ref: str, cache: dict[str, str | None], tenant_id: str | None,
                        park_id: str | None) -> str | None:
    if ref not in cache:
        ent = repo.find_enterprise(ref, park_id=park_id)
        cache[ref] = None if ent is None or (tenant_id is not None and ent.tenant_id != tenant_id) else ent.id
    return cache[ref]


def _unknown_enterprise(ref: str, loc: Location) -> NotFoundError:
    return NotFoundError(f"enterprise {ref!r} is not registered (or not yours)",
                         message_zh=f"企业“{ref}”未登记（或不属于您）",
                         hint="write the registered name or the 18-character credit code",
                         hint_zh="请填写已登记的企业名称或 18 位统一社会信用代码",
                         location=Location(file=loc.file, sheet=loc.sheet, row=loc.row, column="企业", value=ref))


def import_statistics(store: Store, data: bytes, filename: str, kind: str, *, uploader: str,
                      tenant_id: str | None = None, park_id: str | None = None,
                      settings: Settings | None = None, keep_file: bool = True) -> ImportResult:
    """Import a statistics upload (``monthly``, ``bills``, ``production`` or ``meters`` template).

    ``tenant_id`` limits the rows to that tenant's enterprises (an enterprise user); ``park_id``
    to one park. All-or-nothing; the accepted file is kept under a server-generated name.
    """
    settings = settings or get_settings()
    if kind not in PARSERS:
        raise InputError(f"unknown import kind {kind!r}; use one of {sorted(PARSERS)}",
                         message_zh=f"未知导入类型 {kind!r}，可选：{sorted(PARSERS)}")
    limits = UploadLimits.from_settings(settings)
    upload = check_upload(filename, data, limits)
    table = read_table(upload, TEMPLATES[kind], limits)
    drafts, errors = PARSERS[kind](table)
    saved: Path | None = None
    try:
        with store.transaction() as repo:
            cache: dict[str, str | None] = {}
            written = 0
            if kind in ("monthly", "bills"):
                records: list[ActivityRecord] = []
                for d in drafts:
                    assert isinstance(d, ActivityDraft)
                    eid = _resolve_enterprise(repo, d.enterprise_ref, cache, tenant_id, park_id)
                    if eid is None:
                        errors.append(_unknown_enterprise(d.enterprise_ref, d.location))
                        continue
                    status = repo.period_status(eid, d.month)
                    if status not in ("draft", "returned"):
                        errors.append(ParkcarbonError(
                            f"period {d.month} of {d.enterprise_ref} is {status}: not changed",
                            message_zh=f"{d.enterprise_ref} 的 {d.month} 报告期状态为 {status}，不能修改",
                            code="E-LOCKED", location=d.location,
                            hint="ask for the period to be returned, or file a correction",
                            hint_zh="请申请退回该报告期或提交更正"))
                        continue
                    records.append(ActivityRecord(record_id="", enterprise_id=eid, month=d.month, carrier=d.carrier,
                                                  flow=d.flow, quantity=d.quantity, source=d.source,
                                                  quality=d.quality))
                if errors:
                    raise _rejected(filename, _dedupe(errors))
                batch = repo.create_batch(tenant_id=tenant_id or park_id or "*", kind=kind, source_name=filename,
                                          body_sha256=hashlib.sha256(data).hexdigest(), created_by=uploader)
                written = len(repo.put_activity_records(records, batch_id=batch.id, created_by=uploader))
            elif kind == "production":
                batch = repo.create_batch(tenant_id=tenant_id or park_id or "*", kind=kind, source_name=filename,
                                          body_sha256=hashlib.sha256(data).hexdigest(), created_by=uploader)
                for d in drafts:
                    assert isinstance(d, ProductionDraft)
                    eid = _resolve_enterprise(repo, d.enterprise_ref, cache, tenant_id, park_id)
                    if eid is None:
                        errors.append(_unknown_enterprise(d.enterprise_ref, d.location))
                        continue
                    try:
                        repo.put_production(enterprise_id=eid, period=d.period,
                                            gross_output_value_10k_cny=d.gross_output_value_10k_cny,
                                            added_value_10k_cny=d.added_value_10k_cny, price_basis=d.price_basis,
                                            base_year=d.base_year, product_name=d.product_name,
                                            product_output=d.product_output, product_unit=d.product_unit,
                                            source=d.source, batch_id=batch.id)
                        written += 1
                    except ParkcarbonError as exc:
                        exc.location = d.location
                        errors.append(exc)
                if errors:
                    raise _rejected(filename, _dedupe(errors))
            else:
                batch = repo.create_batch(tenant_id=tenant_id or park_id or "*", kind=kind, source_name=filename,
                                          body_sha256=hashlib.sha256(data).hexdigest(), created_by=uploader)
                written = _import_meters(repo, [d for d in drafts if isinstance(d, MeterDraft)], errors, cache,
                                         tenant_id, park_id)
                if errors:
                    raise _rejected(filename, _dedupe(errors))
            if keep_file:
                saved = _save_upload(settings, data, check_name(filename))
                repo.mark_batch(batch.id, stored_name=saved.name, row_count=len(table.rows))
            else:
                repo.mark_batch(batch.id, row_count=len(table.rows))
            return ImportResult(batch_id=batch.id, kind=kind, file=filename,
                                stored_name=None if saved is None else saved.name, rows=len(table.rows),
                                records_written=written)
    except BaseException:
        if saved is not None:
            saved.unlink(missing_ok=True)
        raise


def detect_kind(data: bytes, filename: str, settings: Settings | None = None) -> str:
    """Which statistics template an upload follows (monthly, bills, production, meters), from its headers."""
    settings = settings or get_settings()
    limits = UploadLimits.from_settings(settings)
    upload = check_upload(filename, data, limits)
    for kind in ("monthly", "bills", "production", "meters"):
        try:
            read_table(upload, TEMPLATES[kind], limits)
        except (BatchRejectedError, TemplateError):
            continue
        return kind
    raise TemplateError(f"{filename} matches none of the templates monthly, bills, production, meters",
                        message_zh=f"{filename} 与任何模板（月度统计、账单、产值、表计）都不符",
                        hint="download a template: parkcarbon data template monthly -o file.xlsx",
                        hint_zh="请下载模板：parkcarbon data template monthly -o 文件.xlsx",
                        location=Location(file=filename))


def _dedupe(errors: list[ParkcarbonError]) -> list[ParkcarbonError]:
    seen: set[tuple[str, str]] = set()
    out = []
    for e in errors:
        key = (e.code, str(e))
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def _import_meters(repo: Repository, drafts: list[MeterDraft], errors: list[ParkcarbonError],
                   cache: dict[str, str | None], tenant_id: str | None, park_id: str | None) -> int:
    pending = list(drafts)
    created: dict[str, str] = {}
    # parents first: repeat until no progress (a parent may be later in the file)
    while pending:
        progress = False
        rest: list[MeterDraft] = []
        for d in pending:
            eid = None
            owner = tenant_id or park_id or "*"
            if d.enterprise_ref:
                eid = _resolve_enterprise(repo, d.enterprise_ref, cache, tenant_id, park_id)
                if eid is None:
                    errors.append(_unknown_enterprise(d.enterprise_ref, d.location))
                    progress = True
                    continue
                owner = repo.get_enterprise(eid).tenant_id
            parent_id = None
            if d.parent_code:
                parent_id = created.get(d.parent_code)
                if parent_id is None:
                    existing = repo.meters_by_code(owner, [d.parent_code]).get(d.parent_code)
                    if existing is None:
                        rest.append(d)
                        continue
                    parent_id = existing.id
            try:
                m = repo.add_meter(tenant_id=owner, code=d.code, carrier=d.carrier, unit=d.unit, kind=d.kind,
                                   enterprise_id=eid, multiplier=d.multiplier, register_max=d.register_max,
                                   interval_s=d.interval_s, parent_meter_id=parent_id, formula=d.formula,
                                   role=d.role, name=d.name)
                created[d.code] = m.id
            except ParkcarbonError as exc:
                exc.location = d.location
                errors.append(exc)
            progress = True
        if not progress:
            for d in rest:
                errors.append(NotFoundError(f"parent meter {d.parent_code!r} not found",
                                            message_zh=f"未找到上级表计“{d.parent_code}”", location=d.location))
            break
        pending = rest
    return len(created)


# ---------------------------------------------------------------------------------------------
# readings
# ---------------------------------------------------------------------------------------------


_CODE, _TS, _VALUE, _CHANNEL, _OFFSET, _GATEWAY, _SEQ = (attrgetter(a) for a in (
    "meter_code", "ts_utc", "value", "channel", "source_offset_min", "gateway_id", "gateway_seq"))

#: attempts of a reading batch that lost a race for the same reading keys (see ingest_readings)
_KEY_RACE_ATTEMPTS = 3


def _reading_key_race(exc: IntegrityError) -> bool:
    """Whether ``exc`` is a duplicate raw-reading key: another transaction stored the same
    (meter, time, channel) between this batch's duplicate check and its insert."""
    orig = exc.orig
    constraint = getattr(getattr(orig, "diag", None), "constraint_name", None)  # PostgreSQL (psycopg)
    return constraint == "pk_raw_reading" or "UNIQUE constraint failed: raw_reading." in str(orig)  # or SQLite


def _split_readings(readings: Sequence[ParsedReading], meter_ids: Mapping[str, str], codes: list[str],
                    limit: datetime, now: datetime, gateway_id: str | None,
                    all_known: bool) -> tuple[ReadingColumns, list[dict[str, Any]]]:
    """The readings to store (meter code resolved to the id), column by column, and those to
    quarantine (unknown meter, future timestamp). Without per-reading branches when every meter
    is known (``all_known``) and no timestamp is past ``limit`` (the usual batch)."""
    tss = list(map(_TS, readings))
    if all_known and (not tss or max(tss) <= limit):
        gateways = list(map(_GATEWAY, readings))
        if gateway_id is not None:
            gateways = [g or gateway_id for g in gateways]
        return ReadingColumns(list(map(meter_ids.__getitem__, codes)), tss, list(map(_VALUE, readings)),
                              list(map(_CHANNEL, readings)), list(map(_OFFSET, readings)), gateways,
                              list(map(_SEQ, readings))), []
    quarantine: list[dict[str, Any]] = []
    good: list[ReadingIn] = []
    for r in readings:
        mid = meter_ids.get(r.meter_code)
        if mid is None:
            quarantine.append({"meter_code": r.meter_code[:100], "ts_utc": r.ts_utc, "channel": r.channel,
                               "value": r.value, "reason": "unknown_meter"})
        elif r.ts_utc > limit:
            quarantine.append({"meter_code": r.meter_code, "ts_utc": r.ts_utc, "channel": r.channel,
                               "value": r.value, "reason": "future_timestamp",
                               "detail": f"{(r.ts_utc - now).total_seconds():.0f} s ahead of server time"})
        else:
            good.append(ReadingIn(mid, r.ts_utc, r.value, r.channel, r.source_offset_min,
                                  r.gateway_id or gateway_id, r.gateway_seq))
    return ReadingColumns.of(good), quarantine


def ingest_readings(store: Store, tenant_id: str, readings: Sequence[ParsedReading], *, kind: str,
                    gateway_id: str | None = None, idempotency_key: str | None = None,
                    body_sha256: str | None = None, source_name: str | None = None,
                    unknown_meters: str = "reject", settings: Settings | None = None,
                    now: datetime | None = None, derive: bool = True, created_by: str | None = None,
                    sent_at: datetime | None = None) -> ReadingsResult:
    """Store readings of one tenant in one transaction; quarantine future ones; derive touched data.

    ``unknown_meters``: ``reject`` (file uploads: BatchRejectedError listing every unknown code) or
    ``quarantine`` (device streams: kept aside with reason ``unknown_meter``).
    ``sent_at``: the gateway's send time, compared with ``now`` to flag clock skew (R6).

    A concurrent transaction that stores some of the same reading keys between this batch's
    duplicate check and its insert (PostgreSQL) makes the insert fail with a unique violation:
    the whole transaction is rolled back and the batch is run again (up to 3 attempts; it then
    sees those readings as duplicates or conflicts); after the last attempt the
    :class:`~sqlalchemy.exc.IntegrityError` propagates with nothing written.
    """
    settings = settings or get_settings()
    now = now or datetime.now(UTC)
    limit = now + timedelta(seconds=settings.future_tolerance_s)
    skew = None if sent_at is None else (sent_at - now).total_seconds()
    codes = list(map(_CODE, readings))
    code_set = set(codes)

    def attempt() -> ReadingsResult:
        with store.transaction() as repo:
            meters = repo.meters_by_code(tenant_id, code_set)
            all_known = meters.keys() >= code_set
            if unknown_meters == "reject" and not all_known:
                errs: list[ParkcarbonError] = []
                for r in [r for r in readings if r.meter_code not in meters][:1000]:
                    errs.append(NotFoundError(f"meter {r.meter_code!r} is not registered", message_zh=f"表计“{r.meter_code}”未登记",
                                              hint="register it first (template: meters)", hint_zh="请先登记表计（模板：meters）",
                                              location=Location(file=source_name, row=r.row, column="表计编号",
                                                                value=r.meter_code)))
                raise _rejected(source_name or "batch", errs)
            batch = repo.create_batch(tenant_id=tenant_id, kind=kind, idempotency_key=idempotency_key,
                                      body_sha256=body_sha256, source_name=source_name, created_by=created_by)
            with gc_paused():
                good, quarantine = _split_readings(readings, {c: m.id for c, m in meters.items()}, codes, limit,
                                                   now, gateway_id, all_known)
                res = repo.write_readings(tenant_id, good, batch_id=batch.id, received_at=now)
                del good  # freed before the collector is back, so it never walks them
            nq = repo.quarantine(tenant_id, batch_id=batch.id, items=quarantine)
            derivation = None
            if res.touched:
                if derive:
                    with gc_paused():
                        derivation = derive_touched(repo, res.touched)
                else:  # deferred: derive_pending (``parkcarbon data derive``) picks the spans up
                    repo.queue_derivation(tenant_id, res.touched, batch_id=batch.id)
            result = ReadingsResult(batch_id=batch.id, received=len(readings), inserted=res.inserted,
                                    duplicates=res.duplicates, conflicts=res.conflicts, quarantined=nq,
                                    derivation=derivation,
                                    clock_skew_s=skew if skew is not None and abs(skew) > settings.clock_skew_flag_s
                                    else None)
            repo.mark_batch(batch.id, row_count=len(readings), inserted_count=res.inserted,
                            duplicate_count=res.duplicates, conflict_count=res.conflicts, quarantined_count=nq,
                            result_json=json.dumps(result.to_json(), sort_keys=True))
        return result

    for n in range(1, _KEY_RACE_ATTEMPTS + 1):
        try:
            return attempt()
        except IntegrityError as exc:
            if n == _KEY_RACE_ATTEMPTS or not _reading_key_race(exc):
                raise
    raise AssertionError("unreachable")


def _read_reading_rows(data: bytes, filename: str, limits: UploadLimits,
                       naive_tz: ZoneInfo | None) -> tuple[list[ParsedReading], list[ParkcarbonError]]:
    if filename.lower().endswith(".parquet"):
        if len(data) > limits.max_bytes:
            raise UploadRejectedError(f"file is {len(data)} bytes; the limit is {limits.max_bytes}",
                                      message_zh=f"文件大小 {len(data)} 字节，超过上限 {limits.max_bytes}",
                                      code="E-UPLOAD-SIZE", location=Location(file=filename))
        rows = read_parquet_rows(data, file=filename, max_rows=limits.max_rows)
        return parse_reading_rows(rows, file=filename, naive_tz=naive_tz)
    upload = check_upload(filename, data, limits)
    table = read_table(upload, TEMPLATES["readings"], limits)
    return parse_reading_rows(((r.row, r.values) for r in table.rows), file=filename, sheet=table.sheet,
                              naive_tz=naive_tz)


def import_readings(store: Store, data: bytes, filename: str, *, tenant_id: str, uploader: str,
                    naive_tz: str | None = None, settings: Settings | None = None, now: datetime | None = None,
                    derive: bool = True) -> ReadingsResult:
    """Import a reading file (CSV/XLSX template ``readings``, or Parquet with columns meter_code,
    timestamp, value[, channel]); all-or-nothing; unknown meters and bad rows reject the file."""
    settings = settings or get_settings()
    tz = ZoneInfo(naive_tz) if naive_tz else None
    readings, errors = _read_reading_rows(data, filename, UploadLimits.from_settings(settings), tz)
    if errors:
        raise _rejected(filename, errors)
    return ingest_readings(store, tenant_id, readings, kind="file", source_name=filename,
                           body_sha256=hashlib.sha256(data).hexdigest(), settings=settings, now=now, derive=derive,
                           created_by=uploader)


# ---------------------------------------------------------------------------------------------
# HTTP batch with an idempotency key (ING-09)
# ---------------------------------------------------------------------------------------------


def _problem(status: int, err: ParkcarbonError) -> HttpBatchResult:
    body = err.to_dict()
    if isinstance(err, BatchRejectedError):
        body["errors"] = [e.to_dict() for e in err.errors]
    return HttpBatchResult(status, body)


def parse_batch_body(body: bytes) -> tuple[list[ParsedReading], str | None, datetime | None]:
    """Parse an HTTP/MQTT JSON body: ``{"gateway": "...", "sent_at": "...", "readings": [{"meter": "M1",
    "ts": "2025-03-01T00:15:00+08:00", "value": 12.5, "channel": "", "seq": 17}, ...]}``."""
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TemplateError(f"body is not JSON: {exc}", message_zh=f"请求体不是 JSON：{exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("readings"), list):
        raise TemplateError('body must be an object with a "readings" list',
                            message_zh="请求体必须是包含 readings 列表的对象")
    rows = []
    for i, item in enumerate(doc["readings"]):
        if not isinstance(item, dict):
            raise TemplateError(f"reading {i} is not an object", message_zh=f"第 {i} 条读数不是对象",
                                location=Location(row=i))
        rows.append((i, {"meter_code": item.get("meter"), "timestamp": item.get("ts"), "value": item.get("value"),
                         "channel": item.get("channel"), "seq": item.get("seq")}))
    parsed, errors = parse_reading_rows(rows, file="body")
    if errors:
        raise _rejected("body", errors)
    seqs = {i: v.get("seq") for i, v in rows}
    out = []
    for p in parsed:
        seq = seqs.get(p.row if p.row is not None else -1)
        out.append(ParsedReading(p.meter_code, p.ts_utc, p.value, p.channel, p.source_offset_min, p.row,
                                 seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
                                 None if doc.get("gateway") is None else str(doc["gateway"])[:100]))
    sent_at = None
    if doc.get("sent_at") is not None:
        sent_at, _ = parse_timestamp(doc["sent_at"], location=Location(column="sent_at"))
    gw = doc.get("gateway")
    return out, None if gw is None else str(gw)[:100], sent_at


def ingest_http_batch(store: Store, tenant_id: str, idempotency_key: str | None, body: bytes, *,
                      settings: Settings | None = None, now: datetime | None = None) -> HttpBatchResult:
    """Store a POSTed batch exactly once per (tenant, idempotency key) (ING-09).

    * missing key → 400; same key + same body → 200 with the stored response (stored once);
    * same key + different body → 422; a concurrent request holding the key → 409;
    * another tenant's identical key is independent (the key is scoped by tenant).
    """
    settings = settings or get_settings()
    if not idempotency_key or len(idempotency_key) > 200:
        return _problem(400, InputError("Idempotency-Key header is required (1–200 characters)",
                                        message_zh="必须提供 Idempotency-Key 请求头（1–200 个字符）"))
    digest = hashlib.sha256(body).hexdigest()
    with store.reader() as repo:
        prior = repo.find_batch(tenant_id=tenant_id, kind="http", idempotency_key=idempotency_key)
        if prior is not None:
            return _replay(prior.body_sha256, prior.result_json, digest, idempotency_key)
    try:
        readings, gateway, sent_at = parse_batch_body(body)
        res = ingest_readings(store, tenant_id, readings, kind="http", gateway_id=gateway,
                              idempotency_key=idempotency_key, body_sha256=digest, unknown_meters="reject",
                              settings=settings, now=now, sent_at=sent_at)
    except IntegrityError as exc:
        if _reading_key_race(exc):  # still racing another writer of the same readings after the retries
            return _problem(409, ConflictError(
                "readings with the same meter, time and channel were being stored concurrently; nothing was "
                "written, retry", message_zh="相同表计、时间和通道的读数正被并发写入；本批未写入任何数据，请重试",
                hint="retry the same request", hint_zh="请重试同一请求"))
        # a concurrent request with the same (tenant, key) committed first: this one wrote nothing
        return _problem(409, ConflictError(
            "a request with this Idempotency-Key was processed concurrently; retry to get its result",
            message_zh="相同 Idempotency-Key 的请求正在并发处理；请重试以获取其结果",
            hint="retry the same request", hint_zh="请重试同一请求"))
    except ParkcarbonError as exc:
        return _problem(422, exc)
    return HttpBatchResult(201, res.to_json())


def _replay(prior_digest: str | None, prior_json: str | None, digest: str, key: str) -> HttpBatchResult:
    if prior_digest != digest:
        return _problem(422, ConflictError(
            f"Idempotency-Key {key!r} was already used with a different body",
            message_zh=f"Idempotency-Key {key!r} 已用于不同的请求体",
            hint="use a new key for a new batch", hint_zh="新的批次请使用新的 key"))
    body = json.loads(prior_json or "{}")
    body["replayed"] = True
    return HttpBatchResult(200, body)


# ---------------------------------------------------------------------------------------------
# MQTT (ING-06) and replay
# ---------------------------------------------------------------------------------------------


class MqttIngestHandler:
    """Stores a batch of MQTT messages, one transaction per tenant, before they are acknowledged.

    A message whose topic or payload is malformed, or whose readings are invalid, is kept in the
    quarantine with the reason ``bad_payload`` (so it is acknowledged once and not redelivered
    forever); readings of unknown meters are quarantined too. A database error propagates: the
    subscriber then acknowledges nothing and the broker redelivers.
    """

    def __init__(self, store: Store, settings: Settings | None = None, *, derive: bool = True) -> None:
        self.store = store
        self.settings = settings or get_settings()
        self.derive = derive
        self.results: list[ReadingsResult] = []

    def __call__(self, messages: Sequence[Any]) -> None:
        from parkcarbon.ingest.mqtt import parse_topic

        by_tenant: dict[str, list[ParsedReading]] = {}
        bad: dict[str, list[dict[str, Any]]] = {}
        skew: dict[str, datetime | None] = {}
        for msg in messages:
            try:
                tenant, gateway = parse_topic(msg.topic, self.settings.mqtt_topic_prefix)
            except ParkcarbonError:
                bad.setdefault("*", []).append({"meter_code": "", "reason": "bad_topic", "detail": msg.topic[:500]})
                continue
            try:
                readings, _gw, sent_at = parse_batch_body(msg.payload)
            except ParkcarbonError as exc:
                bad.setdefault(tenant, []).append({"meter_code": "", "reason": "bad_payload",
                                                   "detail": f"{gateway}: {exc}"[:2000]})
                continue
            by_tenant.setdefault(tenant, []).extend(
                ParsedReading(r.meter_code, r.ts_utc, r.value, r.channel, r.source_offset_min, r.row, r.gateway_seq,
                              gateway) for r in readings)
            if sent_at is not None:
                skew[tenant] = sent_at
        for tenant, readings in sorted(by_tenant.items()):
            self.results.append(ingest_readings(
                self.store, tenant, readings, kind="mqtt", unknown_meters="quarantine", settings=self.settings,
                derive=self.derive, sent_at=skew.get(tenant)))
        for tenant, items in bad.items():
            with self.store.transaction() as repo:
                batch = repo.create_batch(tenant_id=tenant, kind="mqtt", status="quarantined")
                repo.quarantine(tenant, batch_id=batch.id, items=items)


def run_mqtt(store: Store, settings: Settings | None = None, *, duration_s: float | None = None,
             stop: Any = None, derive: bool = True) -> dict[str, int]:
    """Run the MQTT subscriber with the settings' broker, topic prefix and client id."""
    from parkcarbon.ingest.mqtt import MqttSubscriber

    settings = settings or get_settings()
    handler = MqttIngestHandler(store, settings, derive=derive)
    sub = MqttSubscriber(handler, host=settings.mqtt_host, port=settings.mqtt_port,
                         prefix=settings.mqtt_topic_prefix, client_id=settings.mqtt_client_id,
                         keepalive_s=settings.mqtt_keepalive_s, batch_max=settings.mqtt_batch_max,
                         batch_wait_s=settings.mqtt_batch_wait_s)
    return sub.run(stop=stop, duration_s=duration_s)


def replay_file(store: Store, data: bytes, *, settings: Settings | None = None,
                derive: bool = True) -> list[ReadingsResult]:
    """Replay a JSON-lines file of recorded batches (one ``{"tenant": ..., "gateway": ..., "readings": [...]}``
    per line, e.g. a gateway's buffer or an MQTT capture). Idempotent: already stored readings are no-ops.
    Each line is its own all-or-nothing batch; a bad line rejects the whole file before anything is written."""
    settings = settings or get_settings()
    parsed: list[tuple[str, list[ParsedReading], str | None]] = []
    errors: list[ParkcarbonError] = []
    for i, line in enumerate(data.decode("utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            tenant = doc.get("tenant") if isinstance(doc, dict) else None
            if not isinstance(tenant, str) or not tenant:
                raise TemplateError('each line needs a "tenant"', message_zh="每行须有 tenant 字段",
                                    location=Location(row=i))
            readings, gateway, _ = parse_batch_body(line.encode("utf-8"))
            parsed.append((tenant, readings, gateway))
        except json.JSONDecodeError as exc:
            errors.append(TemplateError(f"line {i} is not JSON: {exc}", message_zh=f"第 {i} 行不是 JSON",
                                        location=Location(row=i)))
        except BatchRejectedError as exc:
            errors.extend(exc.errors)
        except ParkcarbonError as exc:
            if exc.location is None:
                exc.location = Location(row=i)
            errors.append(exc)
    if errors:
        raise _rejected("replay", errors)
    return [ingest_readings(store, tenant, readings, kind="replay", gateway_id=gateway, unknown_meters="quarantine",
                            settings=settings, derive=derive) for tenant, readings, gateway in parsed]


# ---------------------------------------------------------------------------------------------
# evidence files (存证, R11)
# ---------------------------------------------------------------------------------------------

EVIDENCE_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".xlsx", ".csv", ".txt", ".ofd")


def store_evidence(store: Store, data: bytes, original_name: str, *, uploader: str, tenant_id: str,
                   enterprise_id: str | None = None, month: str | None = None, title: str | None = None,
                   replaces_id: str | None = None, settings: Settings | None = None) -> Any:
    """Keep an evidence file (bill scan, meter photo, statistics form): original bytes under a
    server-generated name in the evidence directory, with SHA-256, size, uploader and server time (R11).

    A replacement is a new row with ``replaces_id``; the old file and row stay. Returns the
    :class:`~parkcarbon.storage.models.EvidenceFile` row.
    """
    settings = settings or get_settings()
    shown = original_name[:200]
    suffix = "." + original_name.rsplit(".", 1)[-1].lower() if "." in original_name else ""
    if "/" in original_name or "\\" in original_name or "\x00" in original_name or ".." in original_name:
        raise UploadRejectedError("file name must not contain a path", message_zh="文件名不能包含路径",
                                  code="E-UPLOAD-NAME", location=Location(file=shown.replace("\x00", "?")))
    if suffix not in EVIDENCE_SUFFIXES:
        raise UploadRejectedError(f"evidence type {suffix or '(none)'} not accepted; use {EVIDENCE_SUFFIXES}",
                                  message_zh=f"不接受 {suffix or '（无扩展名）'} 类型的存证文件",
                                  code="E-UPLOAD-TYPE", location=Location(file=shown))
    if not data or len(data) > settings.upload_max_bytes:
        raise UploadRejectedError(f"evidence file is {len(data)} bytes (1 … {settings.upload_max_bytes})",
                                  message_zh=f"存证文件大小 {len(data)} 字节，超出范围", code="E-UPLOAD-SIZE",
                                  location=Location(file=shown))
    folder = settings.evidence_dir
    folder.mkdir(parents=True, exist_ok=True)
    import secrets

    name = secrets.token_hex(16) + suffix
    path = folder / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o440)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        with store.transaction() as repo:
            return repo.add_evidence(tenant_id=tenant_id, sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data),
                                     original_name=original_name, stored_name=name, uploader=uploader,
                                     enterprise_id=enterprise_id, month=month, title=title, replaces_id=replaces_id)
    except BaseException:
        os.chmod(path, 0o600)
        path.unlink(missing_ok=True)
        raise
