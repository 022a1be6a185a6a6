"""Interval-reading input (表计读数): timestamps and values from CSV, XLSX, Parquet and JSON.

Timestamp forms accepted (RELIABILITY.md R6, ING-05):

* ISO 8601 with an offset or ``Z``: ``2025-03-01T00:15:00+08:00``, ``2025-02-28T16:15:00Z``;
* Unix epoch seconds (a number, or digits): ``1740759300``;
* naive local time (``2025-03-01 00:15``) **only** when the caller declares the zone
  (``naive_tz="Asia/Shanghai"``); converted with tzdata, so historical rules (China's
  1986–1991 daylight saving) apply; ambiguous or non-existent local times are refused.

Zone abbreviations such as ``CST`` (China? Central US? Cuba?) are refused, never guessed.
Stored times are UTC; the source offset is kept in minutes.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from parkcarbon.errors import Location, ParkcarbonError, PeriodError, QuantityError, TemplateError

__all__ = ["ParsedReading", "parse_reading_rows", "parse_timestamp", "read_parquet_rows"]

_EPOCH_MIN, _EPOCH_MAX = 0, 10**10  # 1970 … 2286 in seconds; larger numbers are likely milliseconds
_LETTERS = re.compile(r"[A-SU-Ya-su-y]")  # any letter but T/t and Z/z
_ISO_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s*(Z|[+-]\d{2}:?\d{2})?$",
                        re.IGNORECASE)


@dataclass(frozen=True)
class ParsedReading:
    """A reading parsed from a file or message: ``value`` [meter unit, raw]; ``ts_utc`` UTC-aware."""

    meter_code: str
    ts_utc: datetime
    value: float
    channel: str = ""
    source_offset_min: int | None = None
    row: int | None = None
    gateway_seq: int | None = None
    gateway_id: str | None = None


def _period_error(msg: str, msg_zh: str, loc: Location | None, hint: str | None = None,
                  hint_zh: str | None = None) -> PeriodError:
    return PeriodError(msg, message_zh=msg_zh, location=loc, hint=hint, hint_zh=hint_zh)


def _from_naive(naive: datetime, naive_tz: ZoneInfo | None, loc: Location | None) -> tuple[datetime, int | None]:
    if naive_tz is None:
        raise _period_error(
            f"timestamp {naive.isoformat()} has no time zone", f"时间 {naive.isoformat()} 没有时区",
            loc, hint="write +08:00 (Beijing time) or Z (UTC), or declare the zone of naive times "
                      "(--naive-tz Asia/Shanghai)",
            hint_zh="请写明 +08:00（北京时间）或 Z（UTC），或声明无时区时间的时区（--naive-tz Asia/Shanghai）")
    a = naive.replace(tzinfo=naive_tz, fold=0)
    b = naive.replace(tzinfo=naive_tz, fold=1)
    if a.utcoffset() != b.utcoffset():
        raise _period_error(
            f"local time {naive.isoformat()} is ambiguous or does not exist in {naive_tz.key}",
            f"本地时间 {naive.isoformat()} 在 {naive_tz.key} 中有歧义或不存在（夏令时切换）", loc,
            hint="give the UTC offset explicitly", hint_zh="请写明 UTC 偏移")
    off = a.utcoffset()
    return a.astimezone(UTC), None if off is None else int(off.total_seconds() // 60)


def parse_timestamp(value: Any, *, naive_tz: ZoneInfo | None = None,
                    location: Location | None = None) -> tuple[datetime, int | None]:
    """Parse one timestamp into (UTC-aware datetime, source offset [min] or None for UTC/epoch).

    Raises :class:`PeriodError` (with ``location``) for anything not listed in the module docstring.
    """
    if isinstance(value, bool) or value is None:
        raise _period_error(f"missing or invalid timestamp {value!r}", f"时间缺失或无效：{value!r}", location)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return _from_naive(value, naive_tz, location)
        off = value.utcoffset()
        return value.astimezone(UTC), None if off is None else int(off.total_seconds() // 60)
    if isinstance(value, date):
        raise _period_error(f"a date {value} is not a timestamp", f"日期 {value} 不是时间点", location,
                            hint="give the time of day and the offset", hint_zh="请写明时刻和时区")
    if isinstance(value, int | float):
        x = float(value)
        if not math.isfinite(x) or not _EPOCH_MIN <= x < _EPOCH_MAX:
            raise _period_error(f"epoch seconds {value!r} out of range (milliseconds are not accepted)",
                                f"Unix 秒 {value!r} 超出范围（不接受毫秒）", location)
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=x), None
    text = str(value).strip()
    if text.isdigit() or (text.replace(".", "", 1).isdigit() and text.count(".") == 1 and len(text) > 8):
        return parse_timestamp(float(text), naive_tz=naive_tz, location=location)
    if _LETTERS.search(text) or not _ISO_SHAPE.match(text):
        raise _period_error(
            f"timestamp {text!r} is not ISO 8601 with an offset", f"时间“{text}”不是带时区的 ISO 8601 格式", location,
            hint="e.g. 2025-03-01T00:15:00+08:00; zone names like CST are ambiguous and not accepted",
            hint_zh="例如 2025-03-01T00:15:00+08:00；CST 等时区缩写含义不明，不予接受")
    try:
        ts = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise _period_error(f"invalid timestamp {text!r}: {exc}", f"无效时间“{text}”", location) from exc
    return parse_timestamp(ts, naive_tz=naive_tz, location=location)


def _value(v: Any, loc: Location) -> float:
    if isinstance(v, bool) or v is None or (isinstance(v, str) and not v.strip()):
        raise QuantityError(f"reading value missing or invalid: {v!r}", message_zh=f"读数缺失或无效：{v!r}",
                            location=loc, hint="leave gaps out of the file; never write 0 for a missing reading",
                            hint_zh="缺失的读数请不要写入文件，切勿以 0 代替")
    try:
        x = float(str(v).replace(",", "")) if isinstance(v, str) else float(v)
    except ValueError:
        raise QuantityError(f"reading value {v!r} is not a number", message_zh=f"读数“{v}”不是数值",
                            location=loc) from None
    if not math.isfinite(x):
        raise QuantityError(f"reading value {v!r} is not finite", message_zh=f"读数 {v!r} 无效", location=loc)
    if x < 0:
        raise QuantityError(f"reading value must not be negative, got {x:g}", message_zh=f"读数不能为负：{x:g}",
                            location=loc)
    return x


def parse_reading_rows(rows: Iterable[tuple[int, dict[str, Any]]], *, file: str | None = None,
                       sheet: str | None = None, naive_tz: ZoneInfo | None = None,
                       max_errors: int = 1000) -> tuple[list[ParsedReading], list[ParkcarbonError]]:
    """Parse (row number, {meter_code, timestamp, value[, channel]}) rows; return readings and all errors."""
    out: list[ParsedReading] = []
    errors: list[ParkcarbonError] = []
    for row, vals in rows:
        if len(errors) >= max_errors:
            break
        code_raw = vals.get("meter_code")
        code = "" if code_raw is None else str(code_raw).strip()
        if isinstance(code_raw, float) and code_raw.is_integer():
            code = str(int(code_raw))
        try:
            if not code:
                raise TemplateError("meter code is empty", message_zh="表计编号为空",
                                    location=Location(file=file, sheet=sheet, row=row, column="表计编号"))
            ts, off = parse_timestamp(vals.get("timestamp"), naive_tz=naive_tz,
                                      location=Location(file=file, sheet=sheet, row=row, column="时间",
                                                        value=vals.get("timestamp")))
            value = _value(vals.get("value"), Location(file=file, sheet=sheet, row=row, column="读数",
                                                       value=vals.get("value")))
        except ParkcarbonError as exc:
            errors.append(exc)
            continue
        ch = vals.get("channel")
        out.append(ParsedReading(code, ts, value, "" if ch is None else str(ch).strip(), off, row))
    return out, errors


def read_parquet_rows(data: bytes, *, file: str, max_rows: int) -> list[tuple[int, dict[str, Any]]]:
    """Rows of a Parquet file with columns meter_code, timestamp (tz-aware, epoch int or text), value[, channel]."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError
        raise TemplateError(f"not a readable Parquet file: {exc}", message_zh=f"无法读取 Parquet 文件：{exc}",
                            location=Location(file=file)) from exc
    if pf.metadata.num_rows > max_rows:
        raise TemplateError(f"Parquet file has {pf.metadata.num_rows} rows (max {max_rows})",
                            message_zh=f"Parquet 文件有 {pf.metadata.num_rows} 行（上限 {max_rows}）",
                            code="E-UPLOAD-SIZE", location=Location(file=file))
    names = set(pf.schema_arrow.names)
    missing = {"meter_code", "timestamp", "value"} - names
    if missing:
        raise TemplateError(f"Parquet columns missing: {sorted(missing)}", message_zh=f"Parquet 缺少列：{sorted(missing)}",
                            location=Location(file=file),
                            hint="columns: meter_code, timestamp, value, channel (optional)",
                            hint_zh="列名：meter_code, timestamp, value, channel（可选）")
    cols = [c for c in ("meter_code", "timestamp", "value", "channel") if c in names]
    table = pf.read(columns=cols)
    return [(i + 2, rec) for i, rec in enumerate(table.to_pylist())]
