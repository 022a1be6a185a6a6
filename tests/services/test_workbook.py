"""`parkcarbon account FILE…`: templates in, inventories out, through the normal ingestion path."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from parkcarbon.cli.main import app
from parkcarbon.errors import BatchRejectedError
from parkcarbon.factors import FallbackPolicy
from parkcarbon.services.accounting import FactorConfig
from parkcarbon.services.workbook import account_files

ENTERPRISES = ("滨江精锻有限公司", "91320500MA1XYZ1234")


def _monthly(path: Path, *, bad_unit: bool = False) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "月度能源统计"
    ws.append(["企业", "月份", "能源品种", "计量单位", "购进量", "消费量", "其中：非能源用途", "外供量", "自产量",
               "数据质量", "备注"])
    for ent in ENTERPRISES:
        for m in range(1, 13):
            ws.append([ent, f"2022-{m:02d}", "电力", "万kWh", 10, None, None, None, None, None, None])
            ws.append([ent, f"2022年{m}月", "天然气", "万m³" if not (bad_unit and m == 5) else "万吨公里", None, 2,
                       None, None, None, None, None])
    wb.save(path)
    return path


def _production(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "产值与增加值"
    ws.append(["企业", "期间", "工业总产值（万元）", "工业增加值（万元）", "价格口径", "基准年", "产品名称", "产品产量",
               "产量单位", "备注"])
    for ent in ENTERPRISES:
        ws.append([ent, "2022", 4000, 1000, "可比价", 2020, None, None, None, None])
    wb.save(path)
    return path


def test_account_files_computes_the_hand_checked_totals(tmp_path: Path) -> None:
    res = account_files([_monthly(tmp_path / "m.xlsx"), _production(tmp_path / "p.xlsx")], province="江苏",
                        year=2022, out_dir=tmp_path / "out", park_name="测试园区")
    inv = res.run.inventory
    # 12 × (10 万kWh × 0.1229 kgce/kWh + 2 万m³ × 1.2143 kgce/m³) per enterprise
    per_enterprise_tce = 12 * (100_000 * 0.0001229 + 20_000 * 0.0012143)
    assert inv.totals.energy_tce == pytest.approx(2 * per_enterprise_tce, rel=1e-9)
    grid = res.run.factors.grid_ef_location.value  # 江苏 2022, MEE/NBS provincial
    assert grid == pytest.approx(0.5978)
    assert inv.totals.scope2_location_tco2 == pytest.approx(2 * 12 * 100 * grid, rel=1e-9)
    ei = inv.indicator("energy_intensity_added_value").value
    assert ei == pytest.approx(2 * per_enterprise_tce / 2000, rel=1e-9)
    assert math.isclose(inv.totals.energy_tce, math.fsum(e.totals.energy_tce for e in inv.enterprises))
    assert res.xlsx_path.exists() and res.html_path.exists()
    assert [k for _, k, _ in res.imported] == ["monthly", "production"]


def test_bad_file_is_rejected_whole_with_its_location(tmp_path: Path) -> None:
    with pytest.raises(BatchRejectedError) as info:
        account_files([_monthly(tmp_path / "m.xlsx", bad_unit=True)], province="江苏", year=2022,
                      out_dir=tmp_path / "out")
    located = [e for e in info.value.errors if e.location is not None and e.location.row is not None]
    assert located and any(e.location and e.location.column for e in located)


def test_unpublished_year_needs_a_declared_policy(tmp_path: Path) -> None:
    from parkcarbon.errors import FactorNotFoundError

    m = _monthly(tmp_path / "m.xlsx")
    with pytest.raises(FactorNotFoundError):
        account_files([m], province="江苏", year=2025, out_dir=tmp_path / "o1",
                      config=FactorConfig(policy=FallbackPolicy.STRICT))
    res = account_files([m], province="江苏", year=2025, out_dir=tmp_path / "o2")  # default: REGION_THEN_YEAR
    assert res.run.factors.grid_ef_location.fallback_note
    assert any("region_then_year" in n for n in res.run.factor_notes)


def test_cli_account_prints_the_inventory_and_exits_2_on_a_bad_file(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["account", str(_monthly(tmp_path / "m.xlsx")), "-p", "江苏", "-y", "2022",
                             "-o", str(tmp_path / "out")])
    assert ok.exit_code == 0, ok.output
    assert "2022" in ok.output and "XLSX" in ok.output
    bad = runner.invoke(app, ["account", str(_monthly(tmp_path / "bad.xlsx", bad_unit=True)), "-p", "江苏",
                              "-y", "2022", "-o", str(tmp_path / "out2")])
    assert bad.exit_code == 2
