"""Electricity tariffs (电价): effective-dated time-of-use tariffs, demand charges, feed-in and green power prices.

Reference data, not code: the tables live in ``factors/data/tariffs/*.csv`` (or a user directory
with the same layout), each row with ``grade`` and ``source`` and a validity period
``[valid_from, valid_to]`` (dates in Asia/Shanghai; empty ``valid_to`` = open). See the README
there: **the packaged TOU windows and price levels are UNVERIFIED defaults** to be replaced by the
province's current tables.

* 分时电价 time-of-use periods: ``sharp_peak`` 尖峰, ``peak`` 高峰, ``flat`` 平段, ``valley`` 低谷,
  ``deep_valley`` 深谷; windows per set of months (seasons), local time, half-open.
* 需量电费 demand charge [CNY/(kW·month)] on the month's maximum demand; 容量电费 capacity charge
  [CNY/(kVA·month)] on the transformer capacity (fixed, outside the dispatch optimum).
* 上网电价 feed-in price [CNY/kWh] for exported PV (provincial coal benchmark 燃煤发电基准价).
* 绿电价格 green power contract prices [CNY/kWh] (grid-traded 绿电交易, direct supply 绿电直连).

:meth:`TariffBook.series` turns UTC step timestamps into price arrays. A step's price is the
time-average of the per-minute tariff over ``[start, start + step)``, so an hourly step that
straddles a 07:30 boundary is priced correctly; its label is the period at the step's start.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from parkcarbon.errors import FactorDataError, FactorNotFoundError, Location, PeriodError

__all__ = [
    "PERIODS",
    "PERIOD_NAMES_ZH",
    "GreenPowerPrice",
    "Tariff",
    "TariffBook",
    "TariffSeries",
    "TouWindow",
    "load_tariff_book",
]

PERIODS = ("sharp_peak", "peak", "flat", "valley", "deep_valley")
PERIOD_NAMES_ZH = {"sharp_peak": "尖峰", "peak": "高峰", "flat": "平段", "valley": "低谷", "deep_valley": "深谷"}
GRADES = ("A", "B", "C", "D", "UNVERIFIED")
MINUTES_PER_DAY = 1440
_LOCAL_TZ = "Asia/Shanghai"


@dataclass(frozen=True)
class TouWindow:
    """One TOU window: ``period`` applies in ``months`` from ``start_min`` to ``end_min`` (local, half-open)."""

    months: frozenset[int]
    start_min: int
    end_min: int
    period: str


@dataclass(frozen=True)
class Tariff:
    """One version of a province's TOU tariff for one customer class.

    prices_cny_per_kwh : price per TOU period [CNY/kWh].
    demand_charge_cny_per_kw_month : 需量电费 [CNY/(kW·month)], ``None`` if not given.
    capacity_charge_cny_per_kva_month : 容量电费 [CNY/(kVA·month)], ``None`` if not given.
    feed_in_cny_per_kwh : 上网电价 for exported PV [CNY/kWh], ``None`` if not given.
    """

    tariff_id: str
    province: str
    province_zh: str
    customer_class: str
    valid_from: date
    valid_to: date | None
    prices_cny_per_kwh: Mapping[str, float]
    windows: tuple[TouWindow, ...]
    demand_charge_cny_per_kw_month: float | None
    capacity_charge_cny_per_kva_month: float | None
    feed_in_cny_per_kwh: float | None
    grade: str
    source: str
    note: str = ""
    _table: npt.NDArray[np.int8] = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int8), repr=False,
                                         compare=False)

    def valid_on(self, day: date) -> bool:
        """True when the tariff applies on local date ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def period_table(self) -> npt.NDArray[np.int8]:
        """Period index (into :data:`PERIODS`) for month 1..12 × minute of day: shape (13, 1440)."""
        return self._table

    def period_at(self, month: int, minute_of_day: int) -> str:
        """TOU period name at a local month and minute of day."""
        return PERIODS[int(self._table[month, minute_of_day])]


@dataclass(frozen=True)
class GreenPowerPrice:
    """Indicative green power price [CNY/kWh] for a province (绿电交易 ``grid_traded`` / 绿电直连 ``direct``)."""

    province: str
    province_zh: str
    kind: str
    valid_from: date
    valid_to: date | None
    delivered_price_cny_per_kwh: float
    environmental_premium_cny_per_kwh: float | None
    grade: str
    source: str
    note: str = ""


@dataclass(frozen=True)
class TariffSeries:
    """Tariff values on a step grid.

    import_price_cny_per_kwh : per step [CNY/kWh]; period_labels : TOU period at step start;
    billing_month : ``year × 12 + month − 1`` (local) per step, for monthly demand charges;
    tariffs : the tariff versions used (for provenance).
    """

    import_price_cny_per_kwh: npt.NDArray[np.float64]
    period_labels: tuple[str, ...]
    billing_month: npt.NDArray[np.int64]
    feed_in_cny_per_kwh: float | None
    demand_charge_cny_per_kw_month: float | None
    tariffs: tuple[Tariff, ...]


def _err(path: Path, row: int | None, column: str | None, value: object, why: str, why_zh: str) -> FactorDataError:
    return FactorDataError(
        f"tariff data: {why}", message_zh=f"电价数据：{why_zh}",
        hint="fix the CSV row (see factors/data/tariffs/README.md for the layout)",
        hint_zh="请修正该 CSV 行（格式见 factors/data/tariffs/README.md）",
        location=Location(file=path.name, row=row, column=column, value=value),
    )


def _read(path: Path, required: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in required if c not in header]
            if missing:
                raise _err(path, 1, ",".join(missing), None, f"missing columns {missing}", f"缺少列 {missing}")
            return [(i + 2, {k: (v or "").strip() for k, v in row.items() if k is not None})
                    for i, row in enumerate(reader)]
    except OSError as exc:
        raise _err(path, None, None, None, f"cannot read file: {exc}", f"无法读取文件：{exc}") from exc


def _float(path: Path, row: int, col: str, text: str, *, optional: bool) -> float | None:
    if text == "":
        if optional:
            return None
        raise _err(path, row, col, text, f"{col} is required", f"{col} 不能为空")
    try:
        v = float(text)
    except ValueError:
        raise _err(path, row, col, text, f"{col} is not a number", f"{col} 不是数值") from None
    if not math.isfinite(v) or v < 0:
        raise _err(path, row, col, text, f"{col} must be a finite non-negative number",
                   f"{col} 必须是非负有限数值")
    return v


def _date(path: Path, row: int, col: str, text: str, *, optional: bool) -> date | None:
    if text == "" and optional:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _err(path, row, col, text, f"{col} must be a date YYYY-MM-DD", f"{col} 须为 YYYY-MM-DD 日期") from None


def _grade(path: Path, row: int, text: str) -> str:
    if text not in GRADES:
        raise _err(path, row, "grade", text, f"grade must be one of {GRADES}", f"证据等级须为 {GRADES} 之一")
    return text


_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")


def _minute(path: Path, row: int, col: str, text: str) -> int:
    m = _TIME_RE.match(text)
    if not m or int(m.group(2)) >= 60 or int(m.group(1)) * 60 + int(m.group(2)) > MINUTES_PER_DAY:
        raise _err(path, row, col, text, f"{col} must be HH:MM between 00:00 and 24:00",
                   f"{col} 须为 00:00 至 24:00 之间的 HH:MM")
    return int(m.group(1)) * 60 + int(m.group(2))


def _months(path: Path, row: int, text: str) -> frozenset[int]:
    out: set[int] = set()
    try:
        for part in text.replace("，", ",").split(","):
            part = part.strip()
            if "-" in part:
                a, b = (int(x) for x in part.split("-"))
                out.update(range(a, b + 1))
            elif part:
                out.add(int(part))
    except ValueError:
        raise _err(path, row, "months", text, "months must look like '1,2,12' or '3-5,9-11'",
                   "月份格式应为 '1,2,12' 或 '3-5,9-11'") from None
    if not out or not out <= set(range(1, 13)):
        raise _err(path, row, "months", text, "months must be within 1..12", "月份必须在 1..12 之间")
    return frozenset(out)


def _province_key(name: str) -> str:
    return name.strip().lower()


@dataclass(frozen=True)
class TariffBook:
    """All tariff versions and green power prices of one data directory."""

    tariffs: tuple[Tariff, ...]
    green_prices: tuple[GreenPowerPrice, ...]
    directory: str

    def provinces(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.province for t in self.tariffs))

    def find(self, province: str, customer_class: str, on: date) -> Tariff:
        """The tariff version valid on local date ``on``; raises :class:`FactorNotFoundError`."""
        key = _province_key(province)
        for t in self.tariffs:
            if (key in (_province_key(t.province), _province_key(t.province_zh))
                    and t.customer_class == customer_class and t.valid_on(on)):
                return t
        known = ", ".join(sorted({f"{t.province}/{t.customer_class}" for t in self.tariffs}))
        raise FactorNotFoundError(
            f"no tariff for {province!r} / {customer_class!r} valid on {on.isoformat()}",
            message_zh=f"没有 {province!r} / {customer_class!r} 在 {on.isoformat()} 有效的电价",
            hint=f"known tariffs: {known}; add a version covering that date to your tariff CSV",
            hint_zh=f"已有电价：{known}；请在电价 CSV 中补充覆盖该日期的版本",
        )

    def green_price(self, province: str, kind: str, on: date) -> GreenPowerPrice:
        """Indicative green power price of ``kind`` (``grid_traded`` / ``direct``) valid on ``on``."""
        key = _province_key(province)
        for g in self.green_prices:
            if (key in (_province_key(g.province), _province_key(g.province_zh)) and g.kind == kind
                    and g.valid_from <= on and (g.valid_to is None or on <= g.valid_to)):
                return g
        raise FactorNotFoundError(
            f"no {kind} green power price for {province!r} on {on.isoformat()}",
            message_zh=f"没有 {province!r} 在 {on.isoformat()} 有效的绿电价格（{kind}）",
            hint="give the contract price explicitly", hint_zh="请直接填写合同电价",
        )

    def series(self, province: str, customer_class: str, timestamps_utc: npt.ArrayLike | pd.DatetimeIndex,
               step_h: float) -> TariffSeries:
        """Price, TOU label and billing month per step for UTC step starts ``timestamps_utc``.

        Each step may fall under a different tariff version (effective dating per local date).
        """
        idx = pd.DatetimeIndex(timestamps_utc)
        if idx.tz is None:
            raise PeriodError("tariff lookup needs time-zone aware (UTC) timestamps",
                              message_zh="电价查询需要带时区（UTC）的时间戳",
                              hint="localise the timestamps, e.g. tz_localize('UTC')", hint_zh="请为时间戳指定时区")
        local = idx.tz_convert(_LOCAL_TZ)
        n = len(local)
        step_min = max(round(step_h * 60), 1)
        prices = np.empty(n)
        labels = np.empty(n, dtype=np.int8)
        months = np.asarray(local.month, dtype=np.int64)
        minute = np.asarray(local.hour * 60 + local.minute, dtype=np.int64)
        days = np.asarray(local.normalize().tz_localize(None).date)
        used: list[Tariff] = []
        uniq_days = pd.unique(days)
        by_day = {d: self.find(province, customer_class, d) for d in uniq_days}
        tariff_of_step = np.array([id(by_day[d]) for d in days])
        for tariff in {id(v): v for v in by_day.values()}.values():
            sel = tariff_of_step == id(tariff)
            used.append(tariff)
            table = tariff.period_table()
            price_of = np.array([tariff.prices_cny_per_kwh.get(p, np.nan) for p in PERIODS])
            # per-minute price over two days (a step may cross midnight), cumulative for window means
            per_min = price_of[table[:, np.r_[0:MINUTES_PER_DAY, 0:MINUTES_PER_DAY]]]
            cum = np.concatenate([np.zeros((13, 1)), np.cumsum(per_min, axis=1)], axis=1)
            m, s = months[sel], minute[sel]
            span = min(step_min, MINUTES_PER_DAY)
            prices[sel] = (cum[m, s + span] - cum[m, s]) / span
            labels[sel] = table[m, s]
        if np.isnan(prices).any():
            k = int(np.flatnonzero(np.isnan(prices))[0])
            raise FactorDataError(f"tariff has no price for period {PERIODS[labels[k]]!r} used at step {k}",
                                  message_zh=f"电价缺少第 {k} 个时段所用 {PERIOD_NAMES_ZH[PERIODS[labels[k]]]} 的价格")
        first = used[0]
        feed_in = first.feed_in_cny_per_kwh
        demand = first.demand_charge_cny_per_kw_month
        prices.setflags(write=False)
        billing = np.asarray(local.year, dtype=np.int64) * 12 + months - 1
        return TariffSeries(prices, tuple(PERIODS[i] for i in labels), billing, feed_in, demand, tuple(used))


def _build_table(path: Path, tariff_id: str, windows: list[tuple[int, TouWindow]]) -> npt.NDArray[np.int8]:
    table = np.full((13, MINUTES_PER_DAY), -1, dtype=np.int8)
    for row, w in windows:
        if w.end_min <= w.start_min:
            raise _err(path, row, "end_local", w.end_min, "window end must be after its start (split at 24:00)",
                       "时段结束须晚于开始（跨零点请拆成两行）")
        for mth in w.months:
            seg = table[mth, w.start_min:w.end_min]
            if (seg >= 0).any():
                raise _err(path, row, "start_local", f"{tariff_id} month {mth}",
                           f"window overlaps another window of {tariff_id} in month {mth}",
                           f"{tariff_id} 第 {mth} 月的时段与其他时段重叠")
            seg[:] = PERIODS.index(w.period)
    for mth in range(1, 13):
        gaps = np.flatnonzero(table[mth] < 0)
        if gaps.size:
            g = int(gaps[0])
            raise _err(path, None, "months", f"{tariff_id} month {mth} {g // 60:02d}:{g % 60:02d}",
                       f"windows of {tariff_id} leave month {mth} uncovered from {g // 60:02d}:{g % 60:02d}",
                       f"{tariff_id} 第 {mth} 月自 {g // 60:02d}:{g % 60:02d} 起未被任何时段覆盖")
    table[0] = table[1]
    table.setflags(write=False)
    return table


def load_tariff_book(directory: str | Path | None = None) -> TariffBook:
    """Read and validate the tariff CSVs of ``directory`` (default: the packaged data).

    Checks: numbers finite and ≥ 0, dates ISO, grades known, periods known, windows of every
    tariff cover each month's 24 h exactly once, every used period has a price, versions of the
    same province/class do not overlap in time. Violations raise :class:`FactorDataError`
    naming file, row, column and value.
    """
    base = Path(directory) if directory is not None else Path(str(resources.files("parkcarbon.factors") / "data" / "tariffs"))
    tpath = base / "tou_tariffs.csv"
    wpath = base / "tou_windows.csv"
    gpath = base / "green_power_prices.csv"
    price_cols = {p: f"{p}_cny_per_kwh" for p in PERIODS}
    rows = _read(tpath, ["tariff_id", "province", "province_zh", "customer_class", "valid_from", "valid_to",
                         *price_cols.values(), "demand_charge_cny_per_kw_month",
                         "capacity_charge_cny_per_kva_month", "feed_in_cny_per_kwh", "grade", "source"])
    wrows = _read(wpath, ["tariff_id", "months", "start_local", "end_local", "period", "grade", "source"])
    windows: dict[str, list[tuple[int, TouWindow]]] = {}
    for line, r in wrows:
        if r["period"] not in PERIODS:
            raise _err(wpath, line, "period", r["period"], f"period must be one of {PERIODS}",
                       f"时段须为 {PERIODS} 之一")
        _grade(wpath, line, r["grade"])
        windows.setdefault(r["tariff_id"], []).append((line, TouWindow(
            _months(wpath, line, r["months"]), _minute(wpath, line, "start_local", r["start_local"]),
            _minute(wpath, line, "end_local", r["end_local"]), r["period"])))
    tariffs: list[Tariff] = []
    seen: set[str] = set()
    for line, r in rows:
        tid = r["tariff_id"]
        if not tid or tid in seen:
            raise _err(tpath, line, "tariff_id", tid, "tariff_id must be present and unique", "tariff_id 必须唯一且不能为空")
        seen.add(tid)
        if not r["source"]:
            raise _err(tpath, line, "source", "", "every row needs a source", "每行都必须注明来源")
        vf = _date(tpath, line, "valid_from", r["valid_from"], optional=False)
        vt = _date(tpath, line, "valid_to", r["valid_to"], optional=True)
        assert vf is not None
        if vt is not None and vt < vf:
            raise _err(tpath, line, "valid_to", r["valid_to"], "valid_to is before valid_from", "有效期结束早于开始")
        prices = {p: v for p, c in price_cols.items()
                  if (v := _float(tpath, line, c, r[c], optional=True)) is not None}
        if tid not in windows:
            raise _err(tpath, line, "tariff_id", tid, "no TOU windows for this tariff in tou_windows.csv",
                       "tou_windows.csv 中没有该电价的时段")
        table = _build_table(wpath, tid, windows[tid])
        for p in {PERIODS[i] for i in np.unique(table)}:
            if p not in prices:
                raise _err(tpath, line, price_cols[p], "", f"period {p!r} is used by the windows but has no price",
                           f"时段 {PERIOD_NAMES_ZH[p]} 已使用但未给出价格")
        tariffs.append(Tariff(
            tariff_id=tid, province=r["province"], province_zh=r["province_zh"],
            customer_class=r["customer_class"], valid_from=vf, valid_to=vt, prices_cny_per_kwh=prices,
            windows=tuple(w for _, w in windows[tid]),
            demand_charge_cny_per_kw_month=_float(tpath, line, "demand_charge_cny_per_kw_month",
                                                  r["demand_charge_cny_per_kw_month"], optional=True),
            capacity_charge_cny_per_kva_month=_float(tpath, line, "capacity_charge_cny_per_kva_month",
                                                     r["capacity_charge_cny_per_kva_month"], optional=True),
            feed_in_cny_per_kwh=_float(tpath, line, "feed_in_cny_per_kwh", r["feed_in_cny_per_kwh"], optional=True),
            grade=_grade(tpath, line, r["grade"]), source=r["source"], note=r.get("note", ""), _table=table,
        ))
    unknown = set(windows) - seen
    if unknown:
        raise _err(wpath, None, "tariff_id", sorted(unknown)[0], "windows for a tariff not in tou_tariffs.csv",
                   "时段所属电价不在 tou_tariffs.csv 中")
    for i, a in enumerate(tariffs):
        for b in tariffs[i + 1:]:
            if (a.province, a.customer_class) == (b.province, b.customer_class):
                a_end = a.valid_to or date.max
                b_end = b.valid_to or date.max
                if a.valid_from <= b_end and b.valid_from <= a_end:
                    raise _err(tpath, None, "valid_from", f"{a.tariff_id} / {b.tariff_id}",
                               "two versions of the same tariff overlap in time", "同一电价的两个版本有效期重叠")
    greens: list[GreenPowerPrice] = []
    if gpath.exists():
        for line, r in _read(gpath, ["province", "province_zh", "valid_from", "valid_to", "kind",
                                     "delivered_price_cny_per_kwh", "grade", "source"]):
            if r["kind"] not in ("grid_traded", "direct"):
                raise _err(gpath, line, "kind", r["kind"], "kind must be grid_traded or direct",
                           "类型须为 grid_traded 或 direct")
            vf = _date(gpath, line, "valid_from", r["valid_from"], optional=False)
            assert vf is not None
            price = _float(gpath, line, "delivered_price_cny_per_kwh", r["delivered_price_cny_per_kwh"], optional=False)
            assert price is not None
            greens.append(GreenPowerPrice(
                r["province"], r["province_zh"], r["kind"], vf,
                _date(gpath, line, "valid_to", r["valid_to"], optional=True), price,
                _float(gpath, line, "environmental_premium_cny_per_kwh",
                       r.get("environmental_premium_cny_per_kwh", ""), optional=True),
                _grade(gpath, line, r["grade"]), r["source"], r.get("note", "")))
    return TariffBook(tuple(tariffs), tuple(greens), str(base))
