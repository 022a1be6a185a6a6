"""Render a :class:`~parkcarbon.reports.model.Report` as an XLSX workbook (openpyxl).

One sheet per table, with a contents sheet first. Headers are bilingual with units; numbers
are written as numbers with a display format (the stored value is not rounded); missing
values are empty cells with a "—" comment-free marker text; user text is formula-neutralised
(R15). Charts become native Excel charts next to their section's first table.
"""

from __future__ import annotations

import re
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from parkcarbon.core.safety import neutralise_cell
from parkcarbon.reports.model import Chart, Report, Table

__all__ = ["write_xlsx"]

_HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_MISSING = "—"


def _sheet_title(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:28] or "Sheet"
    title, n = base, 1
    while title.lower() in used:
        n += 1
        title = f"{base[:25]}_{n}"
    used.add(title.lower())
    return title


def _write_table(ws: Worksheet, table: Table, start_row: int) -> tuple[int, int]:
    """Write ``table`` at ``start_row``; return (first data row, last data row)."""
    ws.cell(start_row, 1, f"{table.title_zh} {table.title_en}").font = Font(bold=True, size=12)
    hr = start_row + 1
    for j, col in enumerate(table.columns, start=1):
        c = ws.cell(hr, j, col.header())
        c.fill, c.font = _HEADER_FILL, _HEADER_FONT
        c.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[get_column_letter(j)].width = max(12, min(40, len(col.header()) + 2))
    r = hr
    for row in table.rows:
        r += 1
        for j, col in enumerate(table.columns, start=1):
            value = row.get(col.key)
            if value is None:
                ws.cell(r, j, _MISSING).alignment = Alignment(horizontal="center")
            elif isinstance(value, bool):
                ws.cell(r, j, "是" if value else "否")
            elif isinstance(value, int | float):
                cell = ws.cell(r, j, float(value) if isinstance(value, float) else value)
                whole = "#,##0" if col.grouping else "0"
                cell.number_format = whole if col.decimals == 0 else whole + "." + "0" * col.decimals
            else:
                ws.cell(r, j, neutralise_cell(str(value)))
    if table.note:
        ws.cell(r + 2, 1, neutralise_cell(table.note)).font = Font(italic=True, color="555555")
    return hr + 1, r


def _add_chart(ws: Worksheet, chart: Chart, anchor: str) -> None:
    """Write the chart's data to a block on the right and add a native chart for it."""
    col0 = 20
    ws.cell(1, col0, chart.title_en)
    for i, cat in enumerate(chart.categories, start=2):
        ws.cell(i, col0, cat)
    for k, (name, values) in enumerate(chart.series.items(), start=1):
        ws.cell(1, col0 + k, name)
        for i, v in enumerate(values, start=2):
            ws.cell(i, col0 + k, v)
    n = len(chart.categories)
    xl: BarChart | LineChart
    if chart.kind == "line":
        xl = LineChart()
    else:
        xl = BarChart()
        if chart.kind == "stacked_bar":
            xl.grouping, xl.overlap = "stacked", 100
    xl.title = f"{chart.title_zh} {chart.title_en}"
    xl.y_axis.title = chart.unit
    data = Reference(ws, min_col=col0 + 1, max_col=col0 + len(chart.series), min_row=1, max_row=n + 1)
    cats = Reference(ws, min_col=col0, min_row=2, max_row=n + 1)
    xl.add_data(data, titles_from_data=True)
    xl.set_categories(cats)
    xl.width, xl.height = 22, 11
    ws.add_chart(xl, anchor)


def write_xlsx(report: Report, path: Path) -> Path:
    """Write ``report`` to ``path`` (.xlsx) atomically (temp file, then rename)."""
    wb = Workbook()
    toc = wb.active
    assert toc is not None
    toc.title = "目录 Contents"
    toc.cell(1, 1, f"{report.title_zh} {report.title_en}").font = Font(bold=True, size=14)
    toc.cell(2, 1, neutralise_cell(report.subtitle))
    toc.cell(3, 1, f"生成时间 Generated (UTC): {report.generated_at.isoformat(timespec='seconds')}")
    row = 5
    for key, value in report.meta.items():
        toc.cell(row, 1, key)
        toc.cell(row, 2, neutralise_cell(value))
        row += 1
    row += 1
    toc.column_dimensions["A"].width = 50
    toc.column_dimensions["B"].width = 80
    used = {toc.title.lower()}
    for section in report.sections:
        toc.cell(row, 1, f"{section.title_zh} {section.title_en}").font = Font(bold=True)
        row += 1
        for para in section.paragraphs:
            toc.cell(row, 1, neutralise_cell(para)).alignment = Alignment(wrap_text=True)
            row += 1
        charts_left = list(section.charts)
        for table in section.tables:
            ws = wb.create_sheet(_sheet_title(table.sheet_name or table.title_en, used))
            toc.cell(row, 2, f"→ {ws.title}: {table.title_zh} {table.title_en}")
            row += 1
            _write_table(ws, table, 1)
            ws.freeze_panes = "B3"
            if charts_left:
                _add_chart(ws, charts_left.pop(0), f"{get_column_letter(len(table.columns) + 2)}3")
        for chart in charts_left:
            ws = wb.create_sheet(_sheet_title(chart.title_en, used))
            _add_chart(ws, chart, "A1")
        row += 1
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    wb.save(tmp)
    tmp.replace(path)
    return path
