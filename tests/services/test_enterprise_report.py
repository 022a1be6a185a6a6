"""GB/T 32150-structured enterprise report and energy statistics report on the demo park."""

from __future__ import annotations

import math
import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "web"))

from webdemo import ENTERPRISE, PARK_ID, YEAR, copy_store, demo_database

from parkcarbon.core.activity import Quality
from parkcarbon.errors import NotFoundError
from parkcarbon.reports.model import Report, Table
from parkcarbon.services.dashboard import park_runs
from parkcarbon.services.enterprise_report import (
    EnterpriseRun,
    account_enterprise,
    build_energy_statistics_report,
    build_enterprise_report,
)

GBT32150_SECTIONS = ["报告主体基本信息", "核算边界", "排放源识别", "活动数据", "排放因子", "排放量", "数据质量管理"]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    store = copy_store(demo_database(tmp_path_factory), tmp_path_factory.mktemp("entrep"))
    run = account_enterprise(store, ENTERPRISE, YEAR)
    park = park_runs(store, PARK_ID, [YEAR])[0]
    with store.reader() as repo:
        ledger = repo.activity_records(enterprise_ids=[ENTERPRISE], first=f"{YEAR}-01", last=f"{YEAR}-12")
    yield run, park, ledger
    store.dispose()


def _table(report: Report, sheet: str) -> Table:
    return next(t for s in report.sections for t in s.tables if t.sheet_name == sheet)


def test_sections_follow_gbt32150(env) -> None:  # type: ignore[no-untyped-def]
    run, _, ledger = env
    rep = build_enterprise_report(run, ledger=ledger)
    assert [s.title_zh for s in rep.sections] == GBT32150_SECTIONS
    assert run.name in rep.title_zh and str(YEAR) in rep.title_zh


def test_results_equal_the_inventory(env) -> None:  # type: ignore[no-untyped-def]
    run, _, ledger = env
    rep = build_enterprise_report(run, ledger=ledger)
    rows = {str(r["item"]): r["tco2"] for r in _table(rep, "Results").rows}
    t = run.inventory.totals
    assert rows["排放总量(基于位置) Total location-based"] == t.total_location_tco2
    assert rows["排放总量(基于市场) Total market-based"] == t.total_market_tco2
    assert rows["范围一 Scope 1"] == t.scope1_tco2
    monthly = _table(rep, "Monthly").rows
    s1 = math.fsum(float(r["scope1"]) for r in monthly if isinstance(r["scope1"], float))
    assert math.isclose(s1, t.scope1_tco2, rel_tol=1e-9)
    sources = _table(rep, "Sources").rows
    assert all(isinstance(r["tco2"], float) for r in sources)


def test_factors_carry_their_source(env) -> None:  # type: ignore[no-untyped-def]
    run, _, ledger = env
    rows = _table(build_enterprise_report(run, ledger=ledger), "Factors").rows
    assert rows and all(r["source"] and r["factor_id"] and r["grade"] for r in rows)
    assert any(str(r["key"]).startswith("grid_ef") for r in rows)


def test_activity_data_sum_the_ledger_and_missing_stays_missing(env) -> None:  # type: ignore[no-untyped-def]
    run, _, ledger = env
    gas = [r for r in ledger if r.carrier == "natural_gas"]
    rows = _table(build_enterprise_report(run, ledger=ledger), "Activity data").rows
    row = next(r for r in rows if str(r["carrier"]).startswith("天然气"))
    assert row["quantity"] == pytest.approx(math.fsum(r.quantity or 0 for r in gas), rel=1e-12)
    holed = [replace(r, quantity=None, quality=Quality.MISSING) if r is gas[0] else r for r in ledger]
    rows2 = _table(build_enterprise_report(run, ledger=holed), "Activity data").rows
    assert next(r for r in rows2 if str(r["carrier"]).startswith("天然气"))["quantity"] is None
    quality = {str(r["item"]): r["value"] for r in _table(build_enterprise_report(run, ledger=holed),
                                                          "Data quality").rows}
    assert quality["质量标识 missing"] == 1


def test_energy_statistics_add_up_to_the_park(env) -> None:  # type: ignore[no-untyped-def]
    _, park, _ = env
    rep = build_energy_statistics_report(park)
    rows = _table(rep, "Energy detail").rows
    total = math.fsum(float(r["energy_tce"]) for r in rows if isinstance(r["energy_tce"], float))
    assert math.isclose(total, park.inventory.totals.energy_tce, rel_tol=1e-9)
    monthly = _table(rep, "Monthly").rows
    assert math.isclose(math.fsum(float(r["energy_tce"]) for r in monthly if isinstance(r["energy_tce"], float)),
                        park.inventory.totals.energy_tce, rel_tol=1e-9)
    one = build_energy_statistics_report(park, enterprise_ids=[ENTERPRISE])
    assert {r["id"] for r in _table(one, "Energy detail").rows} == {ENTERPRISE}
    with pytest.raises(NotFoundError):
        build_energy_statistics_report(park, enterprise_ids=["NOPE"])


def test_unknown_enterprise_in_park_run(env) -> None:  # type: ignore[no-untyped-def]
    _, park, _ = env
    with pytest.raises(NotFoundError):
        EnterpriseRun.from_park_run(park, "NOPE")


def test_xlsx_has_the_same_total(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    from parkcarbon.reports.xlsx import write_xlsx

    run, _, ledger = env
    path = write_xlsx(build_enterprise_report(run, ledger=ledger), tmp_path / "ghg.xlsx")
    ws = load_workbook(path, read_only=True)["Results"]
    values = {r[0]: r[1] for r in ws.iter_rows(values_only=True) if r and isinstance(r[0], str)}
    assert values["排放总量(基于位置) Total location-based"] == pytest.approx(run.inventory.totals.total_location_tco2,
                                                                       rel=1e-12)
