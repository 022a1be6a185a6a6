"""Reporting periods and time conventions.

* Timestamps are stored in UTC, timezone-aware.
* Reporting months, days and tariff periods are in ``Asia/Shanghai`` (``REPORTING_TZ``).
* Intervals are half-open ``[start, end)`` and labelled by their start.

A :class:`Month` is the unit of the activity ledger (月度能源统计).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from parkcarbon.errors import PeriodError

__all__ = ["REPORTING_TZ", "Month", "month_range", "parse_month", "to_utc"]

REPORTING_TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month in reporting time (Asia/Shanghai)."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise PeriodError(
                f"month must be 1..12, got {self.month}",
                message_zh=f"月份必须在 1 到 12 之间，实际为 {self.month}",
            )
        if not 1900 <= self.year <= 2200:
            raise PeriodError(
                f"year {self.year} is out of range 1900..2200",
                message_zh=f"年份 {self.year} 超出范围 1900..2200",
            )

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start_local(self) -> datetime:
        """First instant of the month, Asia/Shanghai."""
        return datetime(self.year, self.month, 1, tzinfo=REPORTING_TZ)

    @property
    def start_utc(self) -> datetime:
        return self.start_local.astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        """Exclusive end: the first instant of the next month, in UTC."""
        return self.next().start_utc

    def next(self) -> Month:
        return Month(self.year + (self.month == 12), self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def days(self) -> int:
        nxt = self.next()
        return (date(nxt.year, nxt.month, 1) - date(self.year, self.month, 1)).days

    @classmethod
    def of(cls, ts: datetime) -> Month:
        """The reporting month containing an aware timestamp."""
        if ts.tzinfo is None:
            raise PeriodError(
                f"timestamp {ts.isoformat()} has no time zone",
                message_zh=f"时间戳 {ts.isoformat()} 缺少时区",
                hint="give an offset such as +08:00 or Z",
                hint_zh="请注明时区偏移，如 +08:00 或 Z",
            )
        local = ts.astimezone(REPORTING_TZ)
        return cls(local.year, local.month)


_MONTH_RE = re.compile(r"^\s*(\d{4})\s*(?:[-/.年]\s*(\d{1,2})\s*月?|(\d{2}))\s*$")


def parse_month(text: str | date | datetime | Month) -> Month:
    """Parse '2025-03', '2025/3', '2025年3月', '202503', or a date, into a :class:`Month`."""
    if isinstance(text, Month):
        return text
    if isinstance(text, datetime):
        return Month(text.year, text.month) if text.tzinfo is None else Month.of(text)
    if isinstance(text, date):
        return Month(text.year, text.month)
    m = _MONTH_RE.match(str(text))
    if not m:
        raise PeriodError(
            f"cannot read a month from {text!r}",
            message_zh=f"无法识别月份 {text!r}",
            hint="write the month as 2025-03 or 2025年3月",
            hint_zh="月份请写成 2025-03 或 2025年3月",
        )
    return Month(int(m.group(1)), int(m.group(2) or m.group(3)))


def month_range(first: Month, last: Month) -> list[Month]:
    """All months from ``first`` to ``last`` inclusive."""
    if last < first:
        raise PeriodError(f"period end {last} is before start {first}",
                          message_zh=f"结束月份 {last} 早于开始月份 {first}")
    out = [first]
    while out[-1] < last:
        out.append(out[-1].next())
    return out


def to_utc(ts: datetime) -> datetime:
    """Convert an aware datetime to UTC; naive datetimes are refused (never guessed)."""
    if ts.tzinfo is None:
        raise PeriodError(
            f"timestamp {ts.isoformat()} has no time zone",
            message_zh=f"时间戳 {ts.isoformat()} 缺少时区",
            hint="give an offset such as +08:00 or Z",
            hint_zh="请注明时区偏移，如 +08:00 或 Z",
        )
    return ts.astimezone(UTC)
