"""Templates: generated with Chinese headers, read back, aliases and units in headers matched."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from parkcarbon.errors import BatchRejectedError, TemplateError
from parkcarbon.ingest.safety import check_upload
from parkcarbon.ingest.statistics import parse_monthly
from parkcarbon.ingest.tables import read_table
from parkcarbon.ingest.templates import TEMPLATES, normalise_header, template_bytes, write_template


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_template_has_headers_and_instructions(kind, tmp_path):
    path = write_template(kind, tmp_path / f"{kind}.xlsx")
    wb = load_workbook(path)
    t = TEMPLATES[kind]
    assert wb.sheetnames == [t.sheet, "填表说明"]
    headers = [c.value for c in wb[t.sheet][1]]
    assert headers == [c.header for c in t.columns]
    assert wb[t.sheet].max_row == 1  # no example row that could be imported by mistake
    csv_path = write_template(kind, tmp_path / f"{kind}.csv")
    assert csv_path.read_bytes().decode("utf-8-sig").splitlines() == [",".join(headers)]


def test_filled_template_round_trip():
    wb = load_workbook(io.BytesIO(template_bytes("monthly")))
    ws = wb["月度能源统计"]
    ws.append(["精锻公司", "2025-03", "电力", "万kWh", 1.5, None, None, None, None, "实测", "备注"])
    ws.append(["精锻公司", "2025-03", "天然气", "万Nm3", None, 2, 0.5, None, None, "估算", None])
    out = io.BytesIO()
    wb.save(out)
    table = read_table(check_upload("m.xlsx", out.getvalue()), TEMPLATES["monthly"])
    drafts, errors = parse_monthly(table)
    assert errors == []
    assert [(d.carrier, d.flow.value, d.quantity, d.location.row) for d in drafts] == [
        ("electricity", "purchased", 15000.0, 2), ("natural_gas", "consumed", 20000.0, 3),
        ("natural_gas", "non_energy_use", 5000.0, 3)]


def test_header_matching_tolerates_units_and_full_width():
    assert normalise_header("工业总产值（万元）") == normalise_header("工业总产值") == "工业总产值"
    assert normalise_header(" 购进量 ") == "购进量"
    assert normalise_header("其中:非能源用途") == normalise_header("其中：非能源用途")


def test_header_errors_reported_together():
    data = "企业,月份,月份,数量X\n精锻公司,2025-03,2025-03,1\n".encode()
    with pytest.raises(BatchRejectedError) as exc:
        read_table(check_upload("h.csv", data), TEMPLATES["monthly"])
    msgs = [e.message for e in exc.value.errors]
    assert any("appears twice" in m for m in msgs) and any("unknown column" in m for m in msgs)
    assert any("能源品种" in m for m in msgs) and any("计量单位" in m for m in msgs)
    with pytest.raises(TemplateError):
        read_table(check_upload("h.csv", "企业,月份,能源品种,计量单位\n".encode()), TEMPLATES["monthly"])


def test_gb18030_csv_is_read():
    data = "企业,月份,能源品种,计量单位,购进量\n精锻公司,2025-03,电力,kWh,5\n".encode("gb18030")
    table = read_table(check_upload("gbk.csv", data), TEMPLATES["monthly"])
    assert table.rows[0].values["enterprise"] == "精锻公司"
