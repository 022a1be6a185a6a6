"""Time helpers of the meter-data pipeline: epoch seconds and Asia/Shanghai periods (计量数据时间口径).

Conventions (DESIGN.md §5, RELIABILITY.md R6):

* instants are ``int64`` seconds since the Unix epoch, UTC (``*_s`` suffix);
* hours, days and months are reporting periods in ``Asia/Shanghai`` (:data:`REPORTING_TZ`),
  half-open ``[start, end)`` and labelled by their start, which is stored as a UTC instant;
* since 1992 Asia/Shanghai is a fixed UTC+08:00 (a local day starts at 16:00 UTC of the previous
  UTC day). For older instants (China used daylight saving time 1986–1991) the tz database is
  used, never a fixed offset.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from parkcarbon.errors import Location, PeriodError
from parkcarbon.periods import REPORTING_TZ

__all__ = [
    "DEFAULT_INTERVAL_S",
    "DST_FREE_FROM_S",
    "REPORTING_OFFSET_S",
    "PeriodLevel",
    "epoch_s",
    "local_day_end",
    "local_day_start",
    "period_end",
    "period_label",
    "period_start",
    "to_epoch_seconds",
    "utc_datetime",
    "utc_offsets",
]

#: default grid of interval data: 15 minutes [s]
DEFAULT_INTERVAL_S = 900
#: UTC offset of Asia/Shanghai since 1992 [s]
REPORTING_OFFSET_S = 8 * 3600
#: 1992-01-01T00:00:00Z: from here on Asia/Shanghai has no daylight saving time [s]
DST_FREE_FROM_S = 694_224_000

_EPOCH_NAIVE = datetime(1970, 1, 1)
_EPOCH_DT = datetime(1970, 1, 1, tzinfo=UTC)

I64 = npt.NDArray[np.int64]


class PeriodLevel(StrEnum):
    """Aggregation level of a reporting period (小时 / 日 / 月), in Asia/Shanghai local time."""

    HOUR = "hour"
    DAY = "day"
    MONTH = "month"


def to_epoch_seconds(values: Iterable[datetime] | npt.ArrayLike) -> I64:
    """Convert aware datetimes, ``datetime64`` or integers to ``int64`` UTC epoch seconds.

    Naive datetimes are refused (:class:`PeriodError`): a time without a zone is never guessed.
    ``datetime64`` values are taken as UTC (numpy has no zones). Sub-second parts are truncated.
    """
    if isinstance(values, np.ndarray):
        if np.issubdtype(values.dtype, np.datetime64):
            return values.astype("datetime64[s]").astype(np.int64)
        if np.issubdtype(values.dtype, np.integer):
            return values.astype(np.int64)
    items = list(values) if not isinstance(values, np.ndarray) else values.tolist()  # type: ignore[arg-type]
    out = np.empty(len(items), dtype=np.int64)
    for i, item in enumerate(items):
        if isinstance(item, datetime):
            if item.tzinfo is None:
                raise PeriodError(
                    f"timestamp {item.isoformat()} has no time zone",
                    message_zh=f"时间戳 {item.isoformat()} 缺少时区",
                    hint="give an offset such as +08:00 or Z",
                    hint_zh="请注明时区偏移，如 +08:00 或 Z",
                    location=Location(row=i + 1, value=item.isoformat()),
                )
            out[i] = int(item.timestamp() // 1)
        elif isinstance(item, np.datetime64):
            out[i] = int(item.astype("datetime64[s]").astype(np.int64))
        elif isinstance(item, int | np.integer) and not isinstance(item, bool):
            out[i] = int(item)
        else:
            raise PeriodError(
                f"cannot read a timestamp from {item!r}",
                message_zh=f"无法识别时间戳 {item!r}",
                hint="pass timezone-aware datetimes or int64 epoch seconds",
                hint_zh="请传入带时区的时间或 int64 纪元秒",
                location=Location(row=i + 1, value=item),
            )
    return out


def epoch_s(ts: datetime) -> int:
    """Whole UTC epoch seconds of one aware datetime (floor) [s]."""
    if ts.tzinfo is None:
        raise PeriodError(f"timestamp {ts.isoformat()} has no time zone", message_zh=f"时间戳 {ts.isoformat()} 缺少时区",
                          hint="give an offset such as +08:00 or Z", hint_zh="请注明时区偏移，如 +08:00 或 Z")
    return int(ts.timestamp() // 1)


def utc_datetime(s: int | np.integer[Any]) -> datetime:
    """The aware UTC datetime of epoch second ``s`` [s]."""
    return _EPOCH_DT + timedelta(seconds=int(s))


def local_day_start(s: int) -> int:
    """Start of the Asia/Shanghai day containing instant ``s`` [UTC epoch s] (scalar
    :func:`period_start` for days; plain arithmetic since 1992, when UTC+8 became fixed)."""
    if s >= DST_FREE_FROM_S:
        return (s + REPORTING_OFFSET_S) // 86400 * 86400 - REPORTING_OFFSET_S
    return int(period_start(np.array([s], dtype=np.int64), PeriodLevel.DAY)[0])


def local_day_end(day_start_s: int) -> int:
    """Exclusive end of the Asia/Shanghai day starting at ``day_start_s`` [UTC epoch s]."""
    if day_start_s >= DST_FREE_FROM_S:
        return day_start_s + 86400
    return int(period_end(np.array([day_start_s], dtype=np.int64), PeriodLevel.DAY)[0])


def utc_offsets(ts_s: npt.ArrayLike) -> I64:
    """UTC offset of Asia/Shanghai at each instant [s] (28 800 since 1992; tz database before)."""
    ts = np.asarray(ts_s, dtype=np.int64)
    if ts.size == 0 or int(ts.min()) >= DST_FREE_FROM_S:
        return np.full(ts.shape, REPORTING_OFFSET_S, dtype=np.int64)
    uniq, inverse = np.unique(ts, return_inverse=True)
    offs = np.array(
        [_offset_at(int(t)) for t in uniq],
        dtype=np.int64,
    )
    return offs[inverse].reshape(ts.shape)


def _offset_at(t: int) -> int:
    off = datetime.fromtimestamp(t, UTC).astimezone(REPORTING_TZ).utcoffset()
    assert off is not None
    return int(off.total_seconds())


def _local_to_utc(local_s: I64) -> I64:
    """Local wall-clock seconds (as if UTC) → UTC instants (first occurrence when ambiguous)."""
    if local_s.size == 0 or int(local_s.min()) >= DST_FREE_FROM_S + REPORTING_OFFSET_S:
        return local_s - REPORTING_OFFSET_S
    uniq, inverse = np.unique(local_s, return_inverse=True)
    out = np.array(
        [
            int((_EPOCH_NAIVE + timedelta(seconds=int(x))).replace(tzinfo=REPORTING_TZ).timestamp())
            for x in uniq
        ],
        dtype=np.int64,
    )
    return out[inverse].reshape(local_s.shape)


def _floor_local(local_s: I64, level: PeriodLevel) -> I64:
    if level is PeriodLevel.HOUR:
        return local_s - np.mod(local_s, 3600)
    if level is PeriodLevel.DAY:
        return local_s - np.mod(local_s, 86400)
    months = local_s.astype("datetime64[s]").astype("datetime64[M]")
    return months.astype("datetime64[s]").astype(np.int64)


def period_start(ts_s: npt.ArrayLike, level: PeriodLevel | str) -> I64:
    """Start (UTC epoch seconds) of the Asia/Shanghai hour/day/month containing each instant.

    A local day starts at 16:00 UTC of the previous UTC day (since 1992).
    """
    lvl = PeriodLevel(level)
    ts = np.asarray(ts_s, dtype=np.int64)
    off = utc_offsets(ts)
    local = ts + off
    floored = _floor_local(local, lvl)
    if lvl is PeriodLevel.HOUR:
        # tz transitions of Asia/Shanghai since 1901 fall on whole hours: same offset
        return floored - off
    return _local_to_utc(floored)


def period_end(start_s: npt.ArrayLike, level: PeriodLevel | str) -> I64:
    """Exclusive end (UTC epoch seconds) of the periods starting at ``start_s``."""
    lvl = PeriodLevel(level)
    start = np.asarray(start_s, dtype=np.int64)
    if lvl is PeriodLevel.HOUR:
        return start + 3600
    local = start + utc_offsets(start)
    if lvl is PeriodLevel.DAY:
        nxt = local + 86400
    else:
        months = local.astype("datetime64[s]").astype("datetime64[M]") + np.timedelta64(1, "M")
        nxt = months.astype("datetime64[s]").astype(np.int64)
    return _local_to_utc(_floor_local(nxt, lvl))


def period_label(start_s: int, level: PeriodLevel | str) -> str:
    """Local label of a period: ``2025-03`` (month), ``2025-03-01`` (day), ``2025-03-01T08`` (hour)."""
    lvl = PeriodLevel(level)
    local = datetime.fromtimestamp(int(start_s), UTC).astimezone(REPORTING_TZ)
    if lvl is PeriodLevel.MONTH:
        return f"{local.year:04d}-{local.month:02d}"
    if lvl is PeriodLevel.DAY:
        return local.strftime("%Y-%m-%d")
    return local.strftime("%Y-%m-%dT%H")
