"""Parsing the statistics templates (monthly energy, bills, production, meters) into drafts.

Pure functions over a :class:`~parkcarbon.ingest.tables.Table`: they check every cell and
return drafts plus *all* errors found (each with file, sheet, row, column, value and a
bilingual hint). Quantities are converted to the carrier's canonical unit with
:func:`parkcarbon.units.to_canonical`. A blank cell is "not reported" (no record), never 0;
the word 缺失/missing gives a record with ``quantity=None`` flagged ``missing`` (R4).

Enterprises are named by the file (credit code or name) and resolved by the service layer.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from parkcarbon.core.activity import Flow, Quality
from parkcarbon.core.carriers import carrier_by_name
from parkcarbon.errors import InputError, Location, ParkcarbonError, PeriodError, QuantityError
from parkcarbon.ingest.tables import Table
from parkcarbon.periods import Month, parse_month
from parkcarbon.units import to_canonical

__all__ = [
    "MISSING",
    "ActivityDraft",
    "MeterDraft",
    "ProductionDraft",
    "parse_bills",
    "parse_meters",
    "parse_monthly",
    "parse_production",
]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""Marker for a cell that says the value is missing (缺失)."""

_MISSING_WORDS = {"缺失", "missing", "n/a", "na", "未知", "无数据"}
_QUALITY = {
    "实测": Quality.MEASURED, "measured": Quality.MEASURED, "计量": Quality.MEASURED,
    "估算": Quality.ESTIMATED, "estimated": Quality.ESTIMATED, "估计": Quality.ESTIMATED,
    "修正": Quality.EDITED, "edited": Quality.EDITED, "更正": Quality.EDITED,
    "缺失": Quality.MISSING, "missing": Quality.MISSING,
    "存疑": Quality.SUSPECT, "suspect": Quality.SUSPECT,
}
_FLOW_COLUMNS = (
    ("purchased", Flow.PURCHASED), ("consumed", Flow.CONSUMED), ("non_energy_use", Flow.NON_ENERGY_USE),
    ("exported", Flow.EXPORTED), ("onsite_generated", Flow.ONSITE_GENERATED),
)


@dataclass(frozen=True)
class ActivityDraft:
    """A ledger row before its enterprise is resolved: quantity [canonical unit] or None (missing)."""

    enterprise_ref: str
    month: Month
    carrier: str
    flow: Flow
    quantity: float | None
    quality: Quality
    source: str
    location: Location


@dataclass(frozen=True)
class ProductionDraft:
    """A production row before its enterprise is resolved (values [10k CNY], output [product_unit])."""

    enterprise_ref: str
    period: Month | int
    gross_output_value_10k_cny: float | None
    added_value_10k_cny: float | None
    price_basis: str
    base_year: int | None
    product_name: str
    product_output: float | None
    product_unit: str | None
    source: str
    location: Location


@dataclass(frozen=True)
class MeterDraft:
    """A meter register row (enterprise and parent resolved by the service)."""

    code: str
    carrier: str
    unit: str
    kind: str
    role: str
    multiplier: float
    register_max: float | None
    interval_s: int | None
    enterprise_ref: str | None
    parent_code: str | None
    formula: str | None
    name: str | None
    location: Location = field(default_factory=Location)


def _nfkc(v: Any) -> str:
    return unicodedata.normalize("NFKC", str(v)).strip()


class _Cells:
    """Cell readers that record errors instead of stopping at the first one."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.errors: list[ParkcarbonError] = []

    def fail(self, err: ParkcarbonError) -> None:
        self.errors.append(err)

    def text(self, row: int, vals: dict[str, Any], key: str, *, required: bool = False) -> str | None:
        v = vals.get(key)
        if v is None or (isinstance(v, str) and not v.strip()):
            if required:
                self.fail(InputError("required value is empty", message_zh="必填项为空",
                                     location=self.table.loc(row, key)))
            return None
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return _nfkc(v)

    def number(self, row: int, vals: dict[str, Any], key: str, *, required: bool = False,
               allow_missing: bool = False) -> Any:
        """float, None (blank) or MISSING; negative / non-numeric / non-finite are errors."""
        v = vals.get(key)
        if v is None or (isinstance(v, str) and not v.strip()):
            if required:
                self.fail(QuantityError("required number is empty", message_zh="必填数值为空",
                                        location=self.table.loc(row, key)))
            return None
        if isinstance(v, bool):
            self.fail(QuantityError(f"expected a number, got {v!r}", message_zh=f"应为数值，实际为 {v!r}",
                                    location=self.table.loc(row, key, v)))
            return None
        if isinstance(v, int | float):
            x = float(v)
        else:
            s = _nfkc(v).replace(",", "").replace(" ", "")
            if s.lower() in _MISSING_WORDS:
                if allow_missing:
                    return MISSING
                self.fail(QuantityError("this value cannot be marked missing", message_zh="此项不能填“缺失”",
                                        location=self.table.loc(row, key, v)))
                return None
            try:
                x = float(s)
            except ValueError:
                self.fail(QuantityError(f"expected a number, got {v!r}", message_zh=f"应为数值，实际为 {v!r}",
                                        hint="write digits only, e.g. 1234.5; put the unit in 计量单位",
                                        hint_zh="只填数字，如 1234.5；单位写在“计量单位”列",
                                        location=self.table.loc(row, key, v)))
                return None
        if not math.isfinite(x):
            self.fail(QuantityError(f"value {v!r} is not finite", message_zh=f"数值 {v!r} 无效",
                                    location=self.table.loc(row, key, v)))
            return None
        if x < 0:
            self.fail(QuantityError(f"value must not be negative, got {x:g}", message_zh=f"数值不能为负，实际为 {x:g}",
                                    hint="exports go in 外供量, not as a negative consumption",
                                    hint_zh="外供请填写在“外供量”列，不要填负数",
                                    location=self.table.loc(row, key, v)))
            return None
        return x

    def month(self, row: int, vals: dict[str, Any], key: str) -> Month | None:
        v = vals.get(key)
        if v is None or (isinstance(v, str) and not v.strip()):
            self.fail(PeriodError("month is empty", message_zh="月份为空", location=self.table.loc(row, key)))
            return None
        try:
            if isinstance(v, datetime | date):
                return Month(v.year, v.month)
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            return parse_month(_nfkc(v))
        except PeriodError as exc:
            exc.location = self.table.loc(row, key, v)
            self.fail(exc)
            return None

    def carrier(self, row: int, vals: dict[str, Any], key: str) -> str | None:
        name = self.text(row, vals, key, required=True)
        if name is None:
            return None
        try:
            return carrier_by_name(name).code
        except ParkcarbonError as exc:
            exc.location = self.table.loc(row, key, name)
            self.fail(exc)
            return None

    def canonical(self, row: int, key: str, value: float, unit: str, carrier: str) -> float | None:
        try:
            return to_canonical(value, unit, carrier, location=self.table.loc(row, key, value))
        except ParkcarbonError as exc:
            if exc.location is None or exc.location.row is None:
                exc.location = self.table.loc(row, "unit", unit)
            self.fail(exc)
            return None

    def quality(self, row: int, vals: dict[str, Any], key: str) -> Quality | None:
        q = self.text(row, vals, key)
        if q is None:
            return Quality.MEASURED
        found = _QUALITY.get(q.lower())
        if found is None:
            self.fail(InputError(f"unknown data quality {q!r}", message_zh=f"未知数据质量“{q}”",
                                 hint="use 实测, 估算, 修正, 缺失 or 存疑", hint_zh="请填写 实测、估算、修正、缺失 或 存疑",
                                 location=self.table.loc(row, key, q)))
        return found


def _source(table: Table, row: int) -> str:
    sheet = f"{table.sheet}!" if table.sheet else ""
    return f"{table.file}:{sheet}{row}"


def parse_monthly(table: Table) -> tuple[list[ActivityDraft], list[ParkcarbonError]]:
    """Monthly energy statistics (月度能源购进消费统计) → one draft per filled flow cell."""
    cells = _Cells(table)
    out: list[ActivityDraft] = []
    seen: dict[tuple[str, Month, str], int] = {}
    for tr in table.rows:
        r, v = tr.row, tr.values
        n_err = len(cells.errors)
        ent = cells.text(r, v, "enterprise", required=True)
        month = cells.month(r, v, "month")
        carrier = cells.carrier(r, v, "carrier")
        unit = cells.text(r, v, "unit", required=True)
        quality = cells.quality(r, v, "quality")
        numbers = {col: cells.number(r, v, col, allow_missing=True) for col, _ in _FLOW_COLUMNS}
        if ent is None or month is None or carrier is None or unit is None or quality is None:
            continue
        key = (ent, month, carrier)
        if key in seen:
            cells.fail(InputError(f"{ent} {month} {carrier} already given in row {seen[key]}",
                                  message_zh=f"{ent} {month} {carrier} 已在第 {seen[key]} 行填写",
                                  hint="one row per enterprise, month and carrier", hint_zh="每个企业、月份、品种只填一行",
                                  location=table.loc(r, "carrier", v.get("carrier"))))
            continue
        seen[key] = r
        filled: dict[str, float | None] = {}
        for col, flow in _FLOW_COLUMNS:
            x = numbers[col]
            if x is None:
                continue
            if x is MISSING:
                filled[col] = None
                out.append(ActivityDraft(ent, month, carrier, flow, None, Quality.MISSING, _source(table, r),
                                         table.loc(r, col)))
                continue
            q = cells.canonical(r, col, x, unit, carrier)
            if q is None:
                continue
            filled[col] = q
            out.append(ActivityDraft(ent, month, carrier, flow, q, quality if quality is not Quality.MISSING
                                     else Quality.MEASURED, _source(table, r), table.loc(r, col, x)))
        if not filled and len(cells.errors) == n_err:
            cells.fail(QuantityError("no quantity on this row", message_zh="该行没有填写任何数量",
                                     hint="fill 购进量/消费量/外供量/自产量, or 缺失", hint_zh="请填写购进量、消费量、外供量、自产量，或填“缺失”",
                                     location=table.loc(r)))
        ne, cons = filled.get("non_energy_use"), filled.get("consumed")
        if ne is not None and cons is not None and ne > cons * (1 + 1e-9):
            cells.fail(QuantityError(f"non-energy use {ne:g} exceeds consumption {cons:g}",
                                     message_zh=f"非能源用途 {ne:g} 大于消费量 {cons:g}",
                                     hint="非能源用途 is part of 消费量", hint_zh="非能源用途是消费量的一部分",
                                     location=table.loc(r, "non_energy_use", v.get("non_energy_use"))))
    return out, cells.errors


def parse_bills(table: Table) -> tuple[list[ActivityDraft], list[ParkcarbonError]]:
    """Energy bills (能源账单) → purchased quantity per enterprise, month and carrier (bills summed)."""
    cells = _Cells(table)
    sums: dict[tuple[str, Month, str], list[Any]] = {}
    bill_rows: dict[str, int] = {}
    for tr in table.rows:
        r, v = tr.row, tr.values
        ent = cells.text(r, v, "enterprise", required=True)
        bill = cells.text(r, v, "bill_no", required=True)
        month = cells.month(r, v, "month")
        carrier = cells.carrier(r, v, "carrier")
        unit = cells.text(r, v, "unit", required=True)
        qty = cells.number(r, v, "quantity", required=True)
        cells.number(r, v, "amount_cny")
        if bill is not None:
            if bill in bill_rows:
                cells.fail(InputError(f"bill {bill} appears twice (row {bill_rows[bill]})",
                                      message_zh=f"账单 {bill} 重复（第 {bill_rows[bill]} 行）",
                                      location=table.loc(r, "bill_no", bill)))
                continue
            bill_rows[bill] = r
        if None in (ent, bill, month, carrier, unit, qty):
            continue
        q = cells.canonical(r, "quantity", qty, unit, carrier)  # type: ignore[arg-type]
        if q is None:
            continue
        key = (ent, month, carrier)
        acc = sums.setdefault(key, [0.0, [], r])  # type: ignore[arg-type]
        acc[0] += q
        acc[1].append(bill)
    out = [
        ActivityDraft(k[0], k[1], k[2], Flow.PURCHASED, total, Quality.MEASURED,
                      f"{table.file}: bills {', '.join(bills)}"[:300], table.loc(first_row, "quantity"))
        for k, (total, bills, first_row) in sums.items()
    ]
    return out, cells.errors


_PRICE = {"现价": "current", "current": "current", "当年价": "current",
          "可比价": "comparable", "comparable": "comparable", "不变价": "comparable"}


def parse_production(table: Table) -> tuple[list[ProductionDraft], list[ParkcarbonError]]:
    """Production output and added value (产值与增加值) rows."""
    cells = _Cells(table)
    out: list[ProductionDraft] = []
    seen: dict[tuple[str, str, str], int] = {}
    for tr in table.rows:
        r, v = tr.row, tr.values
        ent = cells.text(r, v, "enterprise", required=True)
        raw_period = v.get("period")
        period: Month | int | None = None
        ptxt = cells.text(r, v, "period", required=True)
        if ptxt is not None:
            if isinstance(raw_period, int | float) and not isinstance(raw_period, bool) and 1900 <= raw_period <= 2200:
                period = int(raw_period)
            elif ptxt.isdigit() and len(ptxt) == 4:
                period = int(ptxt)
            else:
                period = cells.month(r, v, "period")
        gov = cells.number(r, v, "gross_output_value_10k_cny")
        av = cells.number(r, v, "added_value_10k_cny")
        basis_txt = cells.text(r, v, "price_basis")
        basis = "current" if basis_txt is None else _PRICE.get(basis_txt.lower())
        if basis is None:
            cells.fail(InputError(f"unknown price basis {basis_txt!r}", message_zh=f"未知价格口径“{basis_txt}”",
                                  hint="use 现价 or 可比价", hint_zh="请填写 现价 或 可比价",
                                  location=table.loc(r, "price_basis", basis_txt)))
        by = cells.number(r, v, "base_year")
        base_year = None if by is None else int(by)
        if base_year is not None and not 1900 <= base_year <= 2200:
            cells.fail(PeriodError(f"base year {base_year} out of range", message_zh=f"基准年 {base_year} 超出范围",
                                   location=table.loc(r, "base_year", by)))
        if basis == "comparable" and base_year is None:
            cells.fail(InputError("comparable prices need a base year", message_zh="可比价须填写基准年",
                                  location=table.loc(r, "base_year")))
        product = cells.text(r, v, "product_name") or ""
        output = cells.number(r, v, "product_output")
        punit = cells.text(r, v, "product_unit")
        if output is not None and punit is None:
            cells.fail(InputError("product output needs a unit", message_zh="产品产量须填写单位",
                                  location=table.loc(r, "product_unit")))
        if gov is None and av is None and output is None:
            cells.fail(QuantityError("no value on this row", message_zh="该行没有填写任何数值", location=table.loc(r)))
        if ent is None or period is None or basis is None:
            continue
        key = (ent, str(period), product)
        if key in seen:
            cells.fail(InputError(f"{ent} {period} {product} already given in row {seen[key]}",
                                  message_zh=f"{ent} {period} {product} 已在第 {seen[key]} 行填写",
                                  location=table.loc(r, "period", raw_period)))
            continue
        seen[key] = r
        out.append(ProductionDraft(ent, period, gov, av, basis, base_year, product, output, punit,
                                   _source(table, r), table.loc(r)))
    return out, cells.errors


_KIND = {"累计": "cumulative", "累计读数": "cumulative", "cumulative": "cumulative", "区间": "interval",
         "区间用量": "interval", "interval": "interval", "虚拟": "virtual", "virtual": "virtual"}
_ROLE = {"电网购入": "grid_import", "购入": "grid_import", "grid_import": "grid_import",
         "自发电": "onsite_generation", "自产": "onsite_generation", "onsite_generation": "onsite_generation",
         "外供": "export", "export": "export", "消费": "consumption", "consumption": "consumption",
         "分项": "submeter", "分表": "submeter", "submeter": "submeter"}


def _choice(cells: _Cells, r: int, v: dict[str, Any], key: str, table: dict[str, str], default: str | None,
            what: str, what_zh: str) -> str | None:
    txt = cells.text(r, v, key, required=default is None)
    if txt is None:
        return default
    found = table.get(txt.lower())
    if found is None:
        options = sorted({k for k in table if not k.isascii()})
        cells.fail(InputError(f"unknown {what} {txt!r}", message_zh=f"未知{what_zh}“{txt}”",
                              hint=f"use one of {options}", hint_zh=f"请填写：{'、'.join(options)}",
                              location=cells.table.loc(r, key, txt)))
    return found


def parse_meters(table: Table) -> tuple[list[MeterDraft], list[ParkcarbonError]]:
    """Meter register (计量器具台账) rows."""
    cells = _Cells(table)
    out: list[MeterDraft] = []
    seen: dict[str, int] = {}
    for tr in table.rows:
        r, v = tr.row, tr.values
        code = cells.text(r, v, "meter_code", required=True)
        carrier = cells.carrier(r, v, "carrier")
        unit = cells.text(r, v, "unit", required=True)
        kind = _choice(cells, r, v, "kind", _KIND, None, "meter kind", "表计类型")
        role = _choice(cells, r, v, "role", _ROLE, "consumption", "meter role", "计量用途")
        mult = cells.number(r, v, "multiplier")
        if mult == 0:
            cells.fail(QuantityError("multiplier must be positive", message_zh="倍率必须为正数",
                                     location=table.loc(r, "multiplier", 0)))
        rmax = cells.number(r, v, "register_max")
        ivl = cells.number(r, v, "interval_s")
        formula = cells.text(r, v, "formula")
        if code is not None:
            if code in seen:
                cells.fail(InputError(f"meter {code} appears twice (row {seen[code]})",
                                      message_zh=f"表计 {code} 重复（第 {seen[code]} 行）",
                                      location=table.loc(r, "meter_code", code)))
                continue
            seen[code] = r
        if code is None or carrier is None or unit is None or kind is None or role is None:
            continue
        out.append(MeterDraft(code=code, carrier=carrier, unit=unit, kind=kind, role=role,
                              multiplier=1.0 if not mult else float(mult), register_max=rmax,
                              interval_s=None if ivl is None else int(ivl),
                              enterprise_ref=cells.text(r, v, "enterprise"), parent_code=cells.text(r, v, "parent"),
                              formula=formula, name=cells.text(r, v, "name"), location=table.loc(r)))
    return out, cells.errors


PARSERS: dict[str, Callable[[Table], tuple[list[Any], list[ParkcarbonError]]]] = {
    "monthly": parse_monthly,
    "bills": parse_bills,
    "production": parse_production,
    "meters": parse_meters,
}
