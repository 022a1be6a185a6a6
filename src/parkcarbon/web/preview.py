"""A rejected upload shown as a grid with its row errors in place (错误就地标注).

:func:`error_grid` reads the first rows of the uploaded CSV/XLSX again (only after the ingest
layer accepted the file as safe and found row errors) and marks each cell named by an error's
:class:`~parkcarbon.errors.Location` (1-based Excel row, column header text or letter).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from parkcarbon.errors import ParkcarbonError
from parkcarbon.ingest.templates import normalise_header

__all__ = ["ErrorGrid", "GridCell", "error_grid"]

MAX_ROWS = 300
MAX_COLUMNS = 40


@dataclass(frozen=True)
class GridCell:
    """A cell of the preview; ``errors`` are the bilingual messages that point at it."""

    value: str
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class ErrorGrid:
    """Header and rows (with their 1-based file row numbers); ``row_errors`` for whole-row errors."""

    header: tuple[str, ...]
    rows: tuple[tuple[int, tuple[GridCell, ...]], ...]
    row_errors: dict[int, tuple[str, ...]] = field(default_factory=dict)
    truncated: bool = False


def _text(v: Any) -> str:
    return "" if v is None else str(v)


def _read(data: bytes, filename: str, sheet: str | None) -> list[list[str]]:
    if filename.lower().endswith((".xlsx", ".xlsm")):
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            ws = wb[sheet] if sheet and sheet in wb.sheetnames else wb.worksheets[0]
            out = []
            for i, row in enumerate(ws.iter_rows(values_only=True)):
                if i > MAX_ROWS:
                    break
                out.append([_text(v) for v in row[:MAX_COLUMNS]])
            return out
        finally:
            wb.close()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        return []
    out = []
    for i, row in enumerate(csv.reader(io.StringIO(text))):
        if i > MAX_ROWS:
            break
        out.append([c for c in row[:MAX_COLUMNS]])
    return out


def _column_index(column: str | None, header: Sequence[str]) -> int | None:
    if not column:
        return None
    wanted = normalise_header(column)
    for j, h in enumerate(header):
        if normalise_header(h) == wanted:
            return j
    if re.fullmatch(r"[A-Za-z]{1,2}", column):
        idx = 0
        for ch in column.upper():
            idx = idx * 26 + (ord(ch) - 64)
        return idx - 1
    return None


def error_grid(data: bytes, filename: str, errors: Sequence[ParkcarbonError]) -> ErrorGrid | None:
    """The upload's first rows with the errors attached to their cells, or ``None`` if unreadable."""
    sheet = next((e.location.sheet for e in errors if e.location is not None and e.location.sheet), None)
    try:
        table = _read(data, filename, sheet)
    except Exception:  # a preview must never hide the error list itself
        return None
    if not table:
        return None
    header = table[0]
    width = max(len(r) for r in table)
    header = header + [""] * (width - len(header))
    marks: dict[tuple[int, int], list[str]] = {}
    row_errors: dict[int, list[str]] = {}
    for e in errors:
        loc = e.location
        if loc is None or loc.row is None:
            continue
        text = f"[{e.code}] {e.message_zh} / {e.message}"
        j = _column_index(loc.column, header)
        if j is None or j >= width:
            row_errors.setdefault(loc.row, []).append(text)
        else:
            marks.setdefault((loc.row, j), []).append(text)
    rows = []
    for i, r in enumerate(table[1:], start=2):
        r = r + [""] * (width - len(r))
        rows.append((i, tuple(GridCell(v, tuple(marks.get((i, j), ()))) for j, v in enumerate(r))))
    return ErrorGrid(tuple(header), tuple(rows), {k: tuple(v) for k, v in row_errors.items()},
                     truncated=len(table) > MAX_ROWS)
