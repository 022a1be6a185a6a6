"""Reading an upload (CSV or XLSX, already checked by :mod:`parkcarbon.ingest.safety`) into rows.

Headers are matched to a :class:`~parkcarbon.ingest.templates.Template`; unknown, duplicate or
missing required headers are reported together. Row numbers are as a user sees them in Excel
(header = its own row number). Limits on rows, columns and field size are enforced while reading.
CSV text may be UTF-8 (with or without BOM) or GB18030 (Chinese Excel's default).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from parkcarbon.errors import (
    BatchRejectedError,
    Location,
    ParkcarbonError,
    TemplateError,
    UploadRejectedError,
)
from parkcarbon.ingest.safety import SafeUpload, UploadLimits
from parkcarbon.ingest.templates import Template, normalise_header

__all__ = ["Table", "TableRow", "read_table"]


@dataclass(frozen=True)
class TableRow:
    """One data row: ``row`` is the 1-based row number in the file; ``values`` maps column key → cell."""

    row: int
    values: dict[str, Any]


@dataclass(frozen=True)
class Table:
    """Rows of one sheet (or CSV) matched to a template."""

    file: str
    sheet: str | None
    template: Template
    rows: tuple[TableRow, ...]

    def loc(self, row: int, column_key: str | None = None, value: Any = None) -> Location:
        """Location of a cell, with the column shown by its template header."""
        header = None
        if column_key is not None:
            header = next((c.header for c in self.template.columns if c.key == column_key), column_key)
        return Location(file=self.file, sheet=self.sheet, row=row, column=header, value=value)


def _too_big(name: str, what: str, what_zh: str, row: int | None = None) -> UploadRejectedError:
    return UploadRejectedError(f"upload too large: {what}", message_zh=f"上传内容过大：{what_zh}",
                               code="E-UPLOAD-SIZE", location=Location(file=name, row=row),
                               hint="split the file", hint_zh="请拆分文件")


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _rows_csv(upload: SafeUpload, limits: UploadLimits) -> Iterator[Sequence[Any]]:
    data = upload.data
    text: str | None = None
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise UploadRejectedError("CSV is neither UTF-8 nor GB18030 text", message_zh="CSV 不是 UTF-8 或 GB18030 文本",
                                  code="E-UPLOAD-CORRUPT", location=Location(file=upload.original_name),
                                  hint="save as CSV UTF-8", hint_zh="请另存为 CSV UTF-8")
    if "\x00" in text:
        raise UploadRejectedError("CSV contains NUL bytes", message_zh="CSV 含有 NUL 字符", code="E-UPLOAD-CORRUPT",
                                  location=Location(file=upload.original_name))
    old = csv.field_size_limit()
    csv.field_size_limit(limits.max_field_bytes)
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise UploadRejectedError(f"CSV cannot be read at line {reader.line_num}: {exc}",
                                          message_zh=f"CSV 第 {reader.line_num} 行无法读取：{exc}",
                                          code="E-UPLOAD-SIZE" if "field larger" in str(exc) else "E-UPLOAD-CORRUPT",
                                          location=Location(file=upload.original_name, row=reader.line_num)) from exc
            yield row
    finally:
        csv.field_size_limit(old)


def _rows_xlsx(upload: SafeUpload, template: Template, limits: UploadLimits) -> tuple[str, Iterator[Sequence[Any]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(upload.data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken workbooks
        raise UploadRejectedError(f"the workbook cannot be opened: {exc}", message_zh=f"无法打开工作簿：{exc}",
                                  code="E-UPLOAD-CORRUPT", location=Location(file=upload.original_name)) from exc
    names = wb.sheetnames
    if template.sheet in names:
        sheet = template.sheet
    else:
        data_sheets = [n for n in names if n != "填表说明"]
        if len(data_sheets) != 1:
            wb.close()
            raise TemplateError(f"sheet {template.sheet!r} not found (sheets: {names})",
                                message_zh=f"未找到工作表“{template.sheet}”（现有：{names}）",
                                location=Location(file=upload.original_name, sheet=template.sheet),
                                hint="use the template from: parkcarbon data template " + template.kind,
                                hint_zh="请使用模板：parkcarbon data template " + template.kind)
        sheet = data_sheets[0]
    ws = wb[sheet]
    max_row = getattr(ws, "max_row", None) or 0
    max_col = getattr(ws, "max_column", None) or 0
    if max_row > limits.max_rows + 1 or max_col > limits.max_columns:
        wb.close()
        raise _too_big(upload.original_name, f"sheet {sheet} declares {max_row} rows × {max_col} columns",
                       f"工作表 {sheet} 声明 {max_row} 行 × {max_col} 列")

    def gen() -> Iterator[Sequence[Any]]:
        try:
            yield from ws.iter_rows(values_only=True)
        except ParkcarbonError:
            raise
        except Exception as exc:  # defusedxml / lxml / zip errors while streaming the sheet
            raise UploadRejectedError(f"sheet {sheet} cannot be read: {type(exc).__name__}: {exc}",
                                      message_zh=f"工作表 {sheet} 无法读取：{exc}", code="E-UPLOAD-CORRUPT",
                                      location=Location(file=upload.original_name, sheet=sheet)) from exc
        finally:
            wb.close()

    return sheet, gen()


def read_table(upload: SafeUpload, template: Template, limits: UploadLimits | None = None) -> Table:
    """Read the rows of an upload for ``template``.

    Raises :class:`BatchRejectedError` listing every header problem, or
    :class:`UploadRejectedError` when a limit is exceeded.
    """
    limits = limits or UploadLimits()
    name = upload.original_name
    sheet: str | None
    if upload.kind == "csv":
        sheet, rows = None, _rows_csv(upload, limits)
    else:
        sheet, rows = _rows_xlsx(upload, template, limits)
    lookup = template.lookup()
    header_row = 0
    keys: list[str | None] = []
    out: list[TableRow] = []
    errors: list[ParkcarbonError] = []
    n = 0
    for raw in rows:
        n += 1
        if len(raw) > limits.max_columns and any(not _blank(v) for v in raw[limits.max_columns:]):
            raise _too_big(name, f"row {n} has {len(raw)} columns", f"第 {n} 行有 {len(raw)} 列", n)
        for v in raw:
            if isinstance(v, str) and len(v.encode("utf-8", "surrogatepass")) > limits.max_field_bytes:
                raise _too_big(name, f"a cell in row {n} is larger than {limits.max_field_bytes} bytes",
                               f"第 {n} 行有单元格超过 {limits.max_field_bytes} 字节", n)
        if n - header_row > limits.max_rows:
            raise _too_big(name, f"more than {limits.max_rows} rows", f"超过 {limits.max_rows} 行", n)
        if not header_row:
            if all(_blank(v) for v in raw):
                continue
            header_row = n
            seen: dict[str, int] = {}
            for j, h in enumerate(raw):
                if _blank(h):
                    keys.append(None)
                    continue
                col = lookup.get(normalise_header(h))
                if col is None:
                    errors.append(TemplateError(
                        f"unknown column {h!r}", message_zh=f"未知列名“{h}”",
                        hint="use the headers of the template", hint_zh="请使用模板中的列名",
                        location=Location(file=name, sheet=sheet, row=n, column=str(h), value=h)))
                    keys.append(None)
                elif col.key in seen:
                    errors.append(TemplateError(
                        f"column {col.header} appears twice", message_zh=f"列“{col.header}”出现了两次",
                        location=Location(file=name, sheet=sheet, row=n, column=str(h))))
                    keys.append(None)
                else:
                    seen[col.key] = j
                    keys.append(col.key)
            for col in template.columns:
                if col.required and col.key not in seen:
                    errors.append(TemplateError(
                        f"required column {col.header} ({col.key}) is missing",
                        message_zh=f"缺少必填列“{col.header}”",
                        hint="use the template: parkcarbon data template " + template.kind,
                        hint_zh="请使用模板：parkcarbon data template " + template.kind,
                        location=Location(file=name, sheet=sheet, row=n, column=col.header)))
            if errors:
                raise BatchRejectedError(f"{name}: the header row does not match the {template.kind} template",
                                         message_zh=f"{name}：表头与“{template.sheet}”模板不符", errors=errors,
                                         location=Location(file=name, sheet=sheet, row=n))
            continue
        if all(_blank(v) for v in raw):
            continue
        values: dict[str, Any] = {}
        for j, v in enumerate(raw):
            if j < len(keys) and keys[j] is not None:
                values[keys[j]] = v.strip() if isinstance(v, str) else v  # type: ignore[index]
            elif not _blank(v):
                errors.append(TemplateError(
                    f"value in a column without a header (column {j + 1})",
                    message_zh=f"第 {j + 1} 列没有列名但有数据",
                    location=Location(file=name, sheet=sheet, row=n, column=str(j + 1), value=v)))
        out.append(TableRow(row=n, values=values))
    if not header_row:
        raise TemplateError(f"{name} has no header row", message_zh=f"{name} 没有表头行",
                            location=Location(file=name, sheet=sheet),
                            hint="use the template: parkcarbon data template " + template.kind,
                            hint_zh="请使用模板：parkcarbon data template " + template.kind)
    if not out and not errors:
        raise TemplateError(f"{name} has no data rows", message_zh=f"{name} 没有数据行",
                            location=Location(file=name, sheet=sheet, row=header_row + 1),
                            hint="fill in at least one row below the header", hint_zh="请在表头下方至少填写一行数据")
    if errors:
        raise BatchRejectedError(f"{name}: {len(errors)} problems", message_zh=f"{name}：发现 {len(errors)} 处问题",
                                 errors=errors, location=Location(file=name, sheet=sheet))
    return Table(file=name, sheet=sheet, template=template, rows=tuple(out))
