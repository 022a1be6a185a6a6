"""FILE-02: formula injection is neutralised in CSV and XLSX exports."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from parkcarbon.ingest.export import csv_bytes, xlsx_bytes

PAYLOADS = ['=HYPERLINK("http://evil","x")', "=cmd|'/c calc'!A1", "+1+1", "-1+1", "@SUM(1)", "\t=1", "\r=1",
            "＝1+1", "＋1", "－1", "＠SUM(1)", " =1", "=1"]


def test_csv_cells_start_with_quote():
    data = csv_bytes(["名称", "值"], [[p, 1.5] for p in PAYLOADS] + [["精锻公司", -3.0]])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    for (cell, num), p in zip(rows[1:], PAYLOADS, strict=False):
        assert cell.startswith("'") and cell[1:] == p  # still readable
        assert num == "1.5"
    assert rows[-1] == ["精锻公司", "-3.0"]  # ordinary text and negative numbers untouched


@pytest.mark.parametrize("payload", PAYLOADS)
def test_xlsx_cells_are_strings_not_formulas(payload):
    wb = load_workbook(io.BytesIO(xlsx_bytes(["name", "value"], [[payload, 2]])))
    ws = wb.active
    cell = ws.cell(row=2, column=1)
    assert cell.data_type == "s" and cell.value.startswith("'")
    assert cell.value[1:].replace("\n", "\r") == payload.replace("\n", "\r")  # XLSX stores CR as LF
    assert ws.cell(row=2, column=2).value == 2
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)
