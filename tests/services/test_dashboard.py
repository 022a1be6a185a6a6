"""Page data of the dashboards (services.dashboard) on the demo park: sums, balances, gaps."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parents[1] / "web"))

from webdemo import ENTERPRISE, PARK_ID, YEAR, copy_store, demo_database

from parkcarbon.errors import FactorNotFoundError, InputError, NotFoundError
from parkcarbon.periods import Month
from parkcarbon.services import dashboard as dash
from parkcarbon.services.enterprise_report import EnterpriseRun, account_enterprise
from parkcarbon.services.targets import park_target_rows


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    s = copy_store(demo_database(tmp_path_factory), tmp_path_factory.mktemp("dash"))
    yield s
    s.dispose()


@pytest.fixture(scope="module")
def runs(store):  # type: ignore[no-untyped-def]
    return dash.park_runs(store, PARK_ID, [YEAR - 1, YEAR])


@pytest.fixture(scope="module")
def all_runs(store):  # type: ignore[no-untyped-def]
    return dash.park_runs(store, PARK_ID, range(2020, YEAR + 1))


@pytest.fixture(scope="module")
def series(store, all_runs):  # type: ignore[no-untyped-def]
    return dash.park_series(store, PARK_ID, all_runs)


def test_overview_totals_are_sums_of_enterprises(runs) -> None:  # type: ignore[no-untyped-def]
    ov = dash.park_overview(runs)
    assert ov.year == YEAR and ov.years == (YEAR - 1, YEAR)
    inv = runs[-1].inventory
    assert ov.energy_tce == inv.totals.energy_tce
    assert math.isclose(math.fsum(e.energy_tce for e in ov.enterprises), ov.energy_tce, rel_tol=1e-12)
    assert math.isclose(math.fsum(i.energy_tce for i in ov.industries), ov.energy_tce, rel_tol=1e-12)
    assert math.isclose(math.fsum(s.share_frac or 0 for s in ov.structure), 1.0, rel_tol=1e-9)
    assert [e.energy_tce for e in ov.enterprises] == sorted((e.energy_tce for e in ov.enterprises), reverse=True)
    assert ov.complete and ov.covered_frac == 1.0 and ov.missing_records == 0
    months = [v for _, v in ov.monthly_energy_tce]
    assert None not in months
    assert math.isclose(math.fsum(v for v in months if v is not None), ov.energy_tce, rel_tol=1e-9)
    assert ov.green.onsite_generation_kwh is not None and ov.green.onsite_generation_kwh > 0
    assert ov.green.green_share_frac == pytest.approx(
        inv.totals.green_electricity_kwh / inv.totals.purchased_electricity_kwh)
    assert [p.year for p in ov.trend] == [YEAR - 1, YEAR]
    doc = ov.to_json()
    assert doc["energy_tce"] == ov.energy_tce and doc["flow"]["year"] == YEAR


def test_overview_unknown_year_and_empty_runs(runs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFoundError):
        dash.park_overview(runs, year=1999)
    with pytest.raises(InputError):
        dash.park_overview([])


def _check_balance(flow: dash.EnergyFlow, total_tce: float) -> None:
    inflow: dict[str, float] = {}
    outflow: dict[str, float] = {}
    for lk in flow.links:
        assert lk.value_tce > 0
        inflow[lk.target] = inflow.get(lk.target, 0.0) + lk.value_tce
        outflow[lk.source] = outflow.get(lk.source, 0.0) + lk.value_tce
    middle = set(inflow) & set(outflow)
    assert middle, "carrier nodes must have flows in and out"
    for node in middle:
        assert math.isclose(inflow[node], outflow[node], rel_tol=1e-9), node
    first = set(outflow) - set(inflow)
    assert math.isclose(math.fsum(outflow[n] for n in first), total_tce, rel_tol=1e-9)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(top_n=st.integers(min_value=1, max_value=60))
def test_energy_flow_balances_at_every_node(runs, top_n: int) -> None:  # type: ignore[no-untyped-def]
    run = runs[-1]
    flow = dash.energy_flow(run, top_n=top_n)
    _check_balance(flow, run.inventory.totals.energy_tce)
    ents = {lk.target for lk in flow.links if lk.target not in {lk2.source for lk2 in flow.links}}
    n = len(run.inventory.enterprises)
    assert len(ents) == min(top_n, n) + (1 if top_n < n else 0)
    assert ("其他企业 Other enterprises" in ents) == (top_n < n)


def test_energy_flow_rejects_bad_top_n(runs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError):
        dash.energy_flow(runs[-1], top_n=0)


def test_enterprise_run_equals_its_part_of_the_park_run(store, runs) -> None:  # type: ignore[no-untyped-def]
    alone = account_enterprise(store, ENTERPRISE, YEAR)
    part = EnterpriseRun.from_park_run(runs[-1], ENTERPRISE)
    assert alone.inventory.totals == part.inventory.totals
    assert alone.name == part.name and alone.park_id == PARK_ID


def test_enterprise_view_grid_and_ledger(store, runs) -> None:  # type: ignore[no-untyped-def]
    with store.reader() as repo:
        ledger = repo.activity_records(enterprise_ids=[ENTERPRISE], first=f"{YEAR}-01", last=f"{YEAR}-12")
    ent_runs = [EnterpriseRun.from_park_run(r, ENTERPRISE) for r in runs]
    v = dash.enterprise_view(ent_runs, ledger=ledger)
    assert v.year == YEAR and v.enterprise_id == ENTERPRISE
    cells = [x for col in v.energy_by_month_carrier.values() for x in col if x is not None]
    assert math.isclose(math.fsum(cells), v.energy_tce, rel_tol=1e-9)
    assert len(v.ledger) == len(ledger) and sum(v.quality_counts.values()) == len(ledger)
    assert v.total_location_tco2 == ent_runs[-1].inventory.totals.total_location_tco2
    assert [p.year for p in v.trend] == [YEAR - 1, YEAR]
    with pytest.raises(NotFoundError):
        dash.enterprise_view(ent_runs, year=1990)


def test_missing_record_is_a_gap_not_zero(store, runs) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from parkcarbon.core.activity import Quality

    with store.reader() as repo:
        ledger = repo.activity_records(enterprise_ids=[ENTERPRISE], first=f"{YEAR}-01", last=f"{YEAR}-12")
    gap = replace(ledger[0], quantity=None, quality=Quality.MISSING)
    v = dash.enterprise_view([EnterpriseRun.from_park_run(runs[-1], ENTERPRISE)], ledger=[gap, *ledger[1:]])
    cell = next(c for c in v.ledger if c.record_id == gap.record_id)
    assert cell.quantity is None and v.quality_counts["missing"] == 1


def test_targets_and_budget_warnings(series, runs, all_runs) -> None:  # type: ignore[no-untyped-def]
    targets = dash.park_targets(series, Month(YEAR, 12))
    ids = {t.target_id for t in targets}
    assert "carbon_peak_pilot:energy_intensity" in ids
    for t in targets:
        assert t.warning_level in {"green", "red", "none"}
        assert (t.warning_level == "none") == (t.status == "no_data")
    rows_for_report = park_target_rows(series, Month(YEAR, 12))
    milestones = [r for r in rows_for_report if not r.name_zh.startswith("零碳园区")]
    assert len(milestones) == sum(1 for t in targets if t.milestone_year is not None) >= 1
    assert all(r.year == YEAR for r in rows_for_report)
    # the series add up to the inventories: the report's actual values are the inventory's
    last = all_runs[-1].inventory
    nf = next(r for r in milestones if r.name_zh == "非化石能源消费占比")
    assert nf.actual_value == pytest.approx(last.indicator("non_fossil_share").value, rel=1e-9)
    zc = next(r for r in rows_for_report if r.name_zh == "零碳园区 单位能耗碳排放")
    assert zc.actual_value == pytest.approx(last.indicator("carbon_per_energy_location").value, rel=1e-9)
    budget = 0.97 * runs[0].inventory.totals.energy_tce
    rows = dash.park_budget_status(series, budget, Month(YEAR, 9))
    assert math.isclose(math.fsum(r.budget_tce for r in rows), budget, rel_tol=1e-9)
    assert {r.grade for r in rows} <= {"green", "yellow", "orange", "red"}
    with pytest.raises(InputError):
        dash.park_budget_status(series, 0.0, Month(YEAR, 9))


def test_years_without_factors_are_left_out_with_a_note(store) -> None:  # type: ignore[no-untyped-def]
    years = dash.ledger_years(store, park_id=PARK_ID)
    assert years == tuple(range(2020, 2026))

    def account(y: int) -> int:
        if y == 2020:
            raise FactorNotFoundError("no grid factor", message_zh="无电网因子")
        return y

    done, notes = dash.accountable_years(account, years)
    assert done == tuple(range(2021, 2026)) and len(notes) == 1 and notes[0].startswith("2020")


def test_fingerprint_changes_with_the_ledger(store) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    before = dash.ledger_fingerprint(store, enterprise_id=ENTERPRISE)
    assert before == dash.ledger_fingerprint(store, enterprise_id=ENTERPRISE)
    with store.reader() as repo:
        rec = repo.activity_records(enterprise_ids=[ENTERPRISE], first=f"{YEAR}-12", last=f"{YEAR}-12")[0]
    with store.transaction() as repo:
        repo.put_activity_records([replace(rec, quantity=(rec.quantity or 0) + 1.0)], created_by="test")
    assert dash.ledger_fingerprint(store, enterprise_id=ENTERPRISE) != before
    assert dash.ledger_fingerprint(store, park_id=PARK_ID) != ""
