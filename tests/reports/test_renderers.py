"""XLSX and HTML renderers: same numbers, missing shown as missing, user text made safe."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from parkcarbon.core.safety import neutralise_cell
from parkcarbon.reports.html import format_number, render_html, write_html
from parkcarbon.reports.model import Chart, Column, Report, Section, Table
from parkcarbon.reports.xlsx import write_xlsx

PAYLOADS = ["=HYPERLINK(\"http://x\")", "=cmd|'/c calc'!A1", "+1+1", "-1+1", "@SUM(1)", "\t=1", "\r=1", "＝1+1"]


def _report(names: list[str]) -> Report:
    table = Table(
        "企业能耗", "Enterprise energy",
        [Column("name", "企业", "Enterprise", decimals=0), Column("energy_tce", "综合能耗", "Energy", "tce")],
        [{"name": n, "energy_tce": 1000.0 + i} for i, n in enumerate(names)] + [{"name": "gap", "energy_tce": None}],
    )
    chart = Chart("能耗", "Energy", "bar", ["2024", "2025"], {"park": [1.0, 2.0]}, "tce")
    return Report("测试报告", "Test report", "=subtitle", datetime(2026, 1, 1, tzinfo=UTC),
                  [Section("一", "One", ["<script>alert(1)</script>"], [table], [chart])], {"园区": "@evil"})


@pytest.mark.parametrize("payload", PAYLOADS)
def test_neutralise_prefixes_formula_triggers(payload: str) -> None:
    assert str(neutralise_cell(payload)).startswith("'")


def test_neutralise_leaves_numbers_and_plain_text() -> None:
    assert neutralise_cell(-5.0) == -5.0
    assert neutralise_cell("滨江电子") == "滨江电子"


def test_xlsx_numbers_are_numbers_and_no_formula_cells(tmp_path: Path) -> None:
    path = write_xlsx(_report(PAYLOADS), tmp_path / "r.xlsx")
    wb = load_workbook(path)
    formulas, numbers, missing = 0, [], 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    formulas += 1
                if isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                    numbers.append(cell.value)
                if cell.value == "—":
                    missing += 1
    assert formulas == 0
    assert 1000.0 in numbers and 1007.0 in numbers
    assert missing == 1
    assert not (tmp_path / "r.xlsx.tmp").exists()


def test_html_escapes_and_shows_missing() -> None:
    html = render_html(_report(["<b>x</b>"]))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<svg" in html and "http://cdn" not in html and "<script" not in html
    assert "—" in html


def test_format_number() -> None:
    assert format_number(None) == "—"
    assert format_number(1234.567, Column("k", "", "", decimals=1)) == "1,234.6"
    assert format_number(float("nan")) == "—"
    assert format_number(12) == "12"


def test_write_html_atomic(tmp_path: Path) -> None:
    path = write_html(_report(["a"]), tmp_path / "out" / "r.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
