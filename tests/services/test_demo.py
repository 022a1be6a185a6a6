"""The demo end to end: the numbers in the workbook and the HTML report are the run's numbers."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from openpyxl import load_workbook

from parkcarbon.factors import GridCalibre
from parkcarbon.services.accounting import DEFAULT_CONFIG
from parkcarbon.services.demo import DemoResult, run_demo
from parkcarbon.services.reporting import key_unit_class


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("demo"))


def test_six_years_and_park_is_sum_of_enterprises(demo: DemoResult) -> None:
    assert [r.year for r in demo.runs] == [2020, 2021, 2022, 2023, 2024, 2025]
    for run in demo.runs:
        inv = run.inventory
        assert len(inv.enterprises) == 45
        assert inv.totals.energy_tce == math.fsum(e.totals.energy_tce for e in inv.enterprises)
        assert inv.totals.complete


def test_energy_intensity_falls_and_grid_factor_choices_are_declared(demo: DemoResult) -> None:
    first, last = demo.runs[0].inventory, demo.runs[-1].inventory
    i0 = first.indicator("energy_intensity_added_value").value
    i5 = last.indicator("energy_intensity_added_value").value
    assert i0 is not None and i5 is not None and i5 < i0
    assert demo.runs[0].factors.grid_ef_location.value == pytest.approx(0.5810)
    assert DEFAULT_CONFIG.calibre_for(2020) is GridCalibre.ETS_REGULATORY
    assert DEFAULT_CONFIG.calibre_for(2021) is GridCalibre.PROVINCIAL
    assert any("GRID-EAST" in n for n in demo.runs[-1].factor_notes)


def test_key_energy_consuming_units_exist(demo: DemoResult) -> None:
    last = demo.runs[-1]
    classes = [key_unit_class(e.totals.energy_tce, last.year) for e in last.inventory.enterprises]
    assert sum(c.startswith("重点") for c in classes) >= 3


def test_workbook_numbers_equal_run_numbers(demo: DemoResult) -> None:
    wb = load_workbook(demo.xlsx_path)
    ws = wb["Yearly"]
    header = [c.value for c in ws[2]]
    col_year = header.index(next(h for h in header if str(h).startswith("年份")))
    col_energy = header.index(next(h for h in header if str(h).startswith("综合能耗")))
    col_loc = header.index(next(h for h in header if str(h).startswith("排放总量(位置)")))
    by_year = {row[col_year]: row for row in ws.iter_rows(min_row=3, values_only=True) if row[col_year]}
    for run in demo.runs:
        row = by_year[run.year]
        assert row[col_energy] == pytest.approx(run.inventory.totals.energy_tce, rel=1e-12)
        assert row[col_loc] == pytest.approx(run.inventory.totals.total_location_tco2, rel=1e-12)
    assert "Factors" in wb.sheetnames and "Trace" in wb.sheetnames


def test_html_report_shows_park_totals_and_sources(demo: DemoResult) -> None:
    html = Path(demo.html_path).read_text(encoding="utf-8")
    assert demo.park.name_zh in html
    assert f"{demo.runs[-1].inventory.totals.energy_tce:,.0f}" in html
    assert "region_then_year" in html
    assert "<script" not in html


@pytest.mark.postgres
def test_demo_on_postgresql_gives_the_same_numbers(demo: DemoResult, tmp_path: Path) -> None:
    import uuid

    psycopg = pytest.importorskip("psycopg")
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    name = f"demo_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:  # pragma: no cover - CI starts the server
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    try:
        pg = run_demo(tmp_path, database_url=f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for a, b in zip(demo.runs, pg.runs, strict=True):
        assert a.year == b.year
        assert a.inventory.totals == b.inventory.totals
    assert [(t.name_zh, t.actual_value) for t in demo.targets] == [(t.name_zh, t.actual_value) for t in pg.targets]
