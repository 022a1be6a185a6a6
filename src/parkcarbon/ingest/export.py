"""Safe CSV and XLSX export of user-supplied text (导出安全, R15, FILE-02).

Every string cell goes through :func:`parkcarbon.core.safety.neutralise_cell`: text that a
spreadsheet would evaluate (``=``, ``+``, ``-``, ``@``, tab, CR, full-width ``＝``…) is prefixed
with ``'``. In XLSX, strings are additionally written as explicit string cells
(``data_type = 's'``), so no cell is a formula. Numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from parkcarbon.core.safety import neutralise_cell

__all__ = ["csv_bytes", "neutralise_row", "write_csv", "write_xlsx", "xlsx_bytes"]


def neutralise_row(row: Sequence[Any]) -> list[Any]:
    """A row with every string cell neutralised."""
    return [neutralise_cell(v) for v in row]


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 CSV with BOM (opens correctly in Chinese Excel), formulas neutralised."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(neutralise_row(header))
    for r in rows:
        w.writerow(neutralise_row(r))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "data") -> bytes:
    """An XLSX workbook where every text cell is a string cell (never a formula)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    for i, r in enumerate([list(header), *rows], start=1):
        for j, v in enumerate(r, start=1):
            cell = ws.cell(row=i, column=j)
            if isinstance(v, str):
                cell.value = neutralise_cell(v)
                cell.data_type = "s"
            else:
                cell.value = v
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    p = Path(path)
    p.write_bytes(csv_bytes(header, rows))
    return p


def write_xlsx(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "data") -> Path:
    p = Path(path)
    p.write_bytes(xlsx_bytes(header, rows, sheet=sheet))
    return p
