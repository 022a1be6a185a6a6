"""Read and validate factor CSV files (因子数据文件读取与校验).

Layout of a factor set directory (packaged under ``factors/data/sets/<set_id>/`` or a
user directory)::

    manifest.csv   one row: set_id, version, title, title_zh, kind, published,
                   description, default, overrides
    factors.csv    key, variant, region, year, method, value, unit, value_min, value_max,
                   valid_from, valid_to, source_id, grade, evidence, note
    sources.csv    (optional in a user set) source_id, publisher, citation, url, note

Every row is checked on load: value numeric, finite and non-negative; unit known
(:data:`~parkcarbon.factors.conversion.KNOWN_UNITS`); grade in A/B/C/D/UNVERIFIED; every
``source_id`` (``;``-separated) present in the sources; region known; ``year`` an integer;
``valid_from <= valid_to``; ``value_min <= value <= value_max``; no two rows with the same
``(key, variant, region, year, method)``. A violation raises
:class:`~parkcarbon.errors.FactorDataError` with file, row (header = row 1), column and value.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from parkcarbon.errors import FactorDataError, Location, UnitError
from parkcarbon.factors.conversion import KNOWN_UNITS, serve
from parkcarbon.factors.model import FactorRow, Grade, Region, SetKind, SetManifest, Source, validity_overlaps

__all__ = [
    "FACTOR_COLUMNS",
    "MANIFEST_COLUMNS",
    "read_factor_rows",
    "read_manifest",
    "read_regions",
    "read_sources",
]

FACTOR_COLUMNS = (
    "key",
    "variant",
    "region",
    "year",
    "method",
    "value",
    "unit",
    "value_min",
    "value_max",
    "valid_from",
    "valid_to",
    "source_id",
    "grade",
    "evidence",
    "note",
)
_FACTOR_REQUIRED = ("key", "region", "value", "unit", "source_id", "grade")
MANIFEST_COLUMNS = (
    "set_id",
    "version",
    "title",
    "title_zh",
    "kind",
    "published",
    "description",
    "default",
    "overrides",
)
_MANIFEST_REQUIRED = ("set_id", "version", "title", "kind")
SOURCE_COLUMNS = ("source_id", "publisher", "citation", "url", "note")
REGION_COLUMNS = ("code", "kind", "parent", "name_zh", "name_en", "aliases", "source_id", "grade", "note")

_KEY_RE = re.compile(r"^[A-Za-z0-9_.()\-]+$")
_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")


def _error(
    file: Path, row: int | None, column: str | None, value: object, message: str, message_zh: str, hint: str, hint_zh: str
) -> FactorDataError:
    return FactorDataError(
        message,
        message_zh=message_zh,
        hint=hint,
        hint_zh=hint_zh,
        location=Location(file=str(file), row=row, column=column, value=value),
    )


def _read_table(
    path: Path, columns: tuple[str, ...], required: tuple[str, ...]
) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV with their 1-based line numbers (header = 1); checks the header."""
    if not path.is_file():
        raise _error(
            path, None, None, None,
            f"factor data file {path.name} is missing",
            f"缺少因子数据文件 {path.name}",
            f"create {path.name} with the header: {', '.join(columns)}",
            f"请创建 {path.name}，表头为：{', '.join(columns)}",
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _error(
            path, None, None, None,
            f"{path.name} is not UTF-8 text ({exc.reason})",
            f"{path.name} 不是 UTF-8 编码的文本",
            "save the file as CSV UTF-8",
            "请另存为 CSV UTF-8 格式",
        ) from None
    reader = csv.reader(text.splitlines())
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise _error(
            path, 1, None, None,
            f"{path.name} is empty", f"{path.name} 为空文件",
            f"add the header: {', '.join(columns)}", f"请添加表头：{', '.join(columns)}",
        ) from None
    for name in header:
        if name not in columns:
            raise _error(
                path, 1, name, name,
                f"unknown column {name!r} in {path.name}",
                f"{path.name} 中有未知列 {name!r}",
                f"allowed columns: {', '.join(columns)}",
                f"允许的列：{', '.join(columns)}",
            )
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise _error(
            path, 1, dup, dup,
            f"column {dup!r} appears twice in {path.name}", f"{path.name} 中列 {dup!r} 重复",
            "keep one column of each name", "每个列名只保留一列",
        )
    for name in required:
        if name not in header:
            raise _error(
                path, 1, name, None,
                f"required column {name!r} missing in {path.name}",
                f"{path.name} 缺少必需列 {name!r}",
                f"required columns: {', '.join(required)}",
                f"必需列：{', '.join(required)}",
            )
    rows: list[tuple[int, dict[str, str]]] = []
    for line_no, cells in enumerate(reader, start=2):
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            raise _error(
                path, line_no, None, cells[len(header):],
                f"row has {len(cells)} cells but the header has {len(header)}",
                f"该行有 {len(cells)} 个单元格，表头只有 {len(header)} 列",
                "quote values that contain commas",
                "含逗号的值请加引号",
            )
        cells = cells + [""] * (len(header) - len(cells))
        rows.append((line_no, {h: c.strip() for h, c in zip(header, cells, strict=True)}))
    return rows


def _decimal(path: Path, line: int, column: str, text: str, *, allow_empty: bool) -> Decimal | None:
    if text == "":
        if allow_empty:
            return None
        raise _error(
            path, line, column, text,
            f"{column} is empty", f"{column} 为空",
            "give a number (missing is not zero: leave the row out instead)",
            "请填写数值（缺失不等于零：没有数值请删去该行）",
        )
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _error(
            path, line, column, text,
            f"{column} {text!r} is not a number", f"{column} {text!r} 不是数值",
            "write a plain decimal number such as 0.5366", "请填写十进制数值，例如 0.5366",
        ) from None
    if not value.is_finite():
        raise _error(
            path, line, column, text,
            f"{column} {text!r} is not finite", f"{column} {text!r} 不是有限数值",
            "write a finite number", "请填写有限数值",
        )
    if value < 0:
        raise _error(
            path, line, column, text,
            f"{column} {text!r} is negative", f"{column} {text!r} 为负数",
            "factors are non-negative", "因子不能为负数",
        )
    return value


def _date(path: Path, line: int, column: str, text: str) -> date | None:
    if text == "":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _error(
            path, line, column, text,
            f"{column} {text!r} is not a date YYYY-MM-DD", f"{column} {text!r} 不是 YYYY-MM-DD 格式的日期",
            "write the date as YYYY-MM-DD", "日期请写成 YYYY-MM-DD",
        ) from None


def _grade(path: Path, line: int, text: str, column: str = "grade") -> Grade:
    try:
        return Grade(text)
    except ValueError:
        raise _error(
            path, line, column, text,
            f"grade {text!r} is not one of A, B, C, D, UNVERIFIED",
            f"证据等级 {text!r} 不是 A、B、C、D、UNVERIFIED 之一",
            "use A, B, C, D or UNVERIFIED (see the reference README)",
            "请使用 A、B、C、D 或 UNVERIFIED",
        ) from None


def _source_ids(path: Path, line: int, text: str, sources: Mapping[str, Source], *, required: bool) -> tuple[str, ...]:
    ids = tuple(s.strip() for s in text.split(";") if s.strip())
    if not ids and required:
        raise _error(
            path, line, "source_id", text,
            "source_id is empty: every factor row needs a source", "source_id 为空：每行因子都必须注明来源",
            "add the source to sources.csv and name its source_id", "请在 sources.csv 中登记来源并填写 source_id",
        )
    for sid in ids:
        if sid not in sources:
            raise _error(
                path, line, "source_id", sid,
                f"source_id {sid!r} is not in sources.csv", f"source_id {sid!r} 未在 sources.csv 中登记",
                "add it to the set's sources.csv (source_id, publisher, citation, url, note)",
                "请在该因子集的 sources.csv 中登记（source_id, publisher, citation, url, note）",
            )
    return ids


def read_sources(path: Path, known: Mapping[str, Source] | None = None) -> dict[str, Source]:
    """Read ``sources.csv``. A ``source_id`` already in ``known`` must have the same text."""
    out: dict[str, Source] = {}
    for line, r in _read_table(path, SOURCE_COLUMNS, ("source_id", "publisher", "citation")):
        sid = r["source_id"]
        if not _ID_RE.match(sid):
            raise _error(
                path, line, "source_id", sid,
                f"source_id {sid!r} must be letters, digits, '-', '_' or '.'",
                f"source_id {sid!r} 只能包含字母、数字、'-'、'_'、'.'",
                "rename the source id", "请修改来源编号",
            )
        for col in ("publisher", "citation"):
            if not r[col]:
                raise _error(
                    path, line, col, "",
                    f"{col} of source {sid!r} is empty", f"来源 {sid!r} 的 {col} 为空",
                    "every source needs a publisher and a citation", "每个来源都需要发布者和出处",
                )
        src = Source(sid, r["publisher"], r["citation"], r.get("url", ""), r.get("note", ""))
        if sid in out or (known is not None and sid in known and known[sid] != src):
            raise _error(
                path, line, "source_id", sid,
                f"source_id {sid!r} is defined twice with different content",
                f"source_id {sid!r} 重复定义且内容不同",
                "use a new source_id for a different source", "不同来源请使用新的 source_id",
            )
        out[sid] = src
    return out


def read_regions(path: Path, sources: Mapping[str, Source]) -> dict[str, Region]:
    """Read ``regions.csv`` and check that every parent exists and the hierarchy has no cycle."""
    out: dict[str, Region] = {}
    for line, r in _read_table(path, REGION_COLUMNS, ("code", "kind", "name_zh", "name_en")):
        code = r["code"]
        if code in out:
            raise _error(
                path, line, "code", code,
                f"region {code!r} is defined twice", f"地区 {code!r} 重复定义",
                "keep one row per region", "每个地区只保留一行",
            )
        grade = _grade(path, line, r["grade"]) if r.get("grade") else None
        ids = _source_ids(path, line, r.get("source_id", ""), sources, required=False)
        aliases = tuple(a.strip() for a in r.get("aliases", "").split("|") if a.strip())
        out[code] = Region(code, r["kind"], r.get("parent") or None, r["name_zh"], r["name_en"], aliases, ids, grade, r.get("note", ""))
    for region in out.values():
        seen = {region.code}
        parent = region.parent
        while parent is not None:
            if parent not in out:
                raise _error(
                    path, None, "parent", parent,
                    f"parent {parent!r} of region {region.code!r} is not defined",
                    f"地区 {region.code!r} 的上级 {parent!r} 未定义",
                    "define the parent region first", "请先定义上级地区",
                )
            if parent in seen:
                raise _error(
                    path, None, "parent", parent,
                    f"region hierarchy has a cycle at {parent!r}", f"地区层级在 {parent!r} 处形成循环",
                    "fix the parent column", "请修正 parent 列",
                )
            seen.add(parent)
            parent = out[parent].parent
    return out


def read_manifest(path: Path, *, packaged: bool) -> SetManifest:
    """Read a one-row ``manifest.csv``."""
    rows = _read_table(path, MANIFEST_COLUMNS, _MANIFEST_REQUIRED)
    if len(rows) != 1:
        raise _error(
            path, None, None, len(rows),
            f"manifest must have exactly one data row, found {len(rows)}",
            f"清单文件必须恰好有一行数据，实际 {len(rows)} 行",
            "one manifest per set directory", "每个因子集目录一个清单",
        )
    line, r = rows[0]
    for col in _MANIFEST_REQUIRED:
        if not r[col]:
            raise _error(
                path, line, col, "",
                f"manifest {col} is empty", f"清单的 {col} 为空",
                f"fill in {col}", f"请填写 {col}",
            )
    if not _ID_RE.match(r["set_id"]):
        raise _error(
            path, line, "set_id", r["set_id"],
            "set_id must be letters, digits, '-', '_' or '.'", "set_id 只能包含字母、数字、'-'、'_'、'.'",
            "rename the set", "请修改因子集编号",
        )
    try:
        kind = SetKind(r["kind"])
    except ValueError:
        raise _error(
            path, line, "kind", r["kind"],
            f"kind {r['kind']!r} is not a known set kind", f"因子集类型 {r['kind']!r} 未知",
            "use one of: " + ", ".join(k.value for k in SetKind), "请使用：" + "、".join(k.value for k in SetKind),
        ) from None
    default_text = r.get("default", "").lower()
    if default_text not in ("", "yes", "no"):
        raise _error(
            path, line, "default", r["default"],
            "default must be yes or no", "default 只能为 yes 或 no",
            "write yes (searched by default) or no (only when named)", "填写 yes（默认参与查找）或 no（仅指定时使用）",
        )
    return SetManifest(
        set_id=r["set_id"],
        version=r["version"],
        title=r["title"],
        kind=kind,
        title_zh=r.get("title_zh", ""),
        published=_date(path, line, "published", r.get("published", "")),
        description=r.get("description", ""),
        default=default_text != "no",
        overrides=r.get("overrides") or None,
        path=str(path.parent),
        packaged=packaged,
    )


def _parse_factor_row(
    path: Path, line: int, r: dict[str, str], set_id: str, sources: Mapping[str, Source], regions: Mapping[str, Region]
) -> FactorRow:
    """Validate one row of ``factors.csv``."""
    key = r["key"]
    if not key or not _KEY_RE.match(key):
        raise _error(
            path, line, "key", key,
            f"key {key!r} is empty or has characters other than letters, digits, '_', '.', '-', '()'",
            f"key {key!r} 为空或含有非法字符",
            "use a dotted key such as coal_coef.raw_coal", "请使用如 coal_coef.raw_coal 的键名",
        )
    region = r["region"]
    if region not in regions:
        raise _error(
            path, line, "region", region,
            f"region {region!r} is not a known region code", f"地区代码 {region!r} 未知",
            "use CN, a grid region (GRID-EAST…) or a province code (CN-JS…); see factors/data/regions.csv",
            "请使用 CN、区域电网代码（GRID-EAST…）或省级代码（CN-JS…），见 regions.csv",
        )
    year: int | None = None
    if r.get("year", ""):
        try:
            year = int(r["year"])
        except ValueError:
            raise _error(
                path, line, "year", r["year"],
                f"year {r['year']!r} is not an integer", f"年份 {r['year']!r} 不是整数",
                "write a four-digit year or leave it empty", "请填写四位年份或留空",
            ) from None
        if not 1900 <= year <= 2200:
            raise _error(
                path, line, "year", r["year"],
                f"year {year} is out of range 1900..2200", f"年份 {year} 超出 1900..2200",
                "write a four-digit year", "请填写四位年份",
            )
    value = _decimal(path, line, "value", r["value"], allow_empty=False)
    assert value is not None
    unit = r["unit"]
    if unit not in KNOWN_UNITS:
        raise _error(
            path, line, "unit", unit,
            f"unit {unit!r} is not a known factor unit", f"单位 {unit!r} 不是已知的因子单位",
            "use one of: " + ", ".join(sorted(KNOWN_UNITS)), "请使用：" + "、".join(sorted(KNOWN_UNITS)),
        )
    vmin = _decimal(path, line, "value_min", r.get("value_min", ""), allow_empty=True)
    vmax = _decimal(path, line, "value_max", r.get("value_max", ""), allow_empty=True)
    if vmin is not None and value < vmin:
        raise _error(
            path, line, "value", r["value"],
            f"value {value} is below value_min {vmin}", f"数值 {value} 小于 value_min {vmin}",
            "check the value and its range", "请核对数值及其范围",
        )
    if vmax is not None and value > vmax:
        raise _error(
            path, line, "value", r["value"],
            f"value {value} is above value_max {vmax}", f"数值 {value} 大于 value_max {vmax}",
            "check the value and its range", "请核对数值及其范围",
        )
    valid_from = _date(path, line, "valid_from", r.get("valid_from", ""))
    valid_to = _date(path, line, "valid_to", r.get("valid_to", ""))
    if valid_from is not None and valid_to is not None and valid_from > valid_to:
        raise _error(
            path, line, "valid_to", r["valid_to"],
            f"valid_to {valid_to} is before valid_from {valid_from}",
            f"valid_to {valid_to} 早于 valid_from {valid_from}",
            "swap or correct the validity dates", "请修正有效期",
        )
    ids = _source_ids(path, line, r["source_id"], sources, required=True)
    grade = _grade(path, line, r["grade"])
    try:
        served_value, served_unit = serve(value, unit)
    except UnitError as exc:  # pragma: no cover - KNOWN_UNITS is checked above
        raise _error(path, line, "unit", unit, exc.message, exc.message_zh, exc.hint or "", exc.hint_zh or "") from None
    return FactorRow(
        set_id=set_id,
        key=key,
        variant=r.get("variant", ""),
        region=region,
        year=year,
        method=r.get("method", ""),
        value=float(value),
        unit=unit,
        served_value=served_value,
        served_unit=served_unit,
        source_ids=ids,
        grade=grade,
        value_min=None if vmin is None else float(vmin),
        value_max=None if vmax is None else float(vmax),
        valid_from=valid_from,
        valid_to=valid_to,
        evidence=r.get("evidence", ""),
        note=r.get("note", ""),
        file=str(path),
        row=line,
    )


def read_factor_rows(
    path: Path,
    set_id: str,
    sources: Mapping[str, Source],
    regions: Mapping[str, Region],
    errors: list[FactorDataError] | None = None,
) -> list[FactorRow]:
    """Read and validate ``factors.csv`` of set ``set_id``.

    Raises the first :class:`FactorDataError`; when an ``errors`` list is given, row errors
    are appended to it instead and the bad rows are left out (problems with the file or its
    header still raise).
    """
    rows: list[FactorRow] = []
    seen: dict[tuple[str, str, str, int | None, str], list[FactorRow]] = {}
    for line, r in _read_table(path, FACTOR_COLUMNS, _FACTOR_REQUIRED):
        try:
            row = _parse_factor_row(path, line, r, set_id, sources, regions)
            clash = [other for other in seen.get(row.identity, []) if validity_overlaps(row, other)]
            if clash:
                raise _error(
                    path, line, "key", row.key,
                    f"duplicate factor row: (key, variant, region, year, method) = {row.identity} already on row {clash[0].row} "
                    "with an overlapping validity period",
                    f"因子行重复：(key, variant, region, year, method) = {row.identity} 已在第 {clash[0].row} 行，且有效期重叠",
                    "keep one row per key, variant, region, year and method (or give non-overlapping valid_from/valid_to)",
                    "每个 key、variant、region、year、method 组合只保留一行（或使有效期互不重叠）",
                )
        except FactorDataError as exc:
            if errors is None:
                raise
            errors.append(exc)
            continue
        seen.setdefault(row.identity, []).append(row)
        rows.append(row)
    return rows
