"""Key energy-consuming units, measure evaluation, MACC and 一企一策 plan tracking."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parkcarbon.core.measures import (
    CarrierParameters,
    KeyUnitClass,
    KeyUnitThresholds,
    MeasureDefinition,
    MeasureOption,
    PlanStatus,
    build_plan,
    capital_recovery_factor,
    classify_key_unit,
    evaluate_measure,
    identify_key_units,
    macc,
    track_plan,
)
from parkcarbon.core.trace import FactorRef
from parkcarbon.errors import InputError
from parkcarbon.periods import Month


def ref(key: str, value: float, unit: str) -> FactorRef:
    return FactorRef(f"test:{key}", key, value, unit, "test", "D")


CARRIERS = {
    "electricity": CarrierParameters("electricity", ref("coal.el", 0.0001229, "tce/kWh"),
                                     ref("ef.el", 0.0005306, "tCO2/kWh"), 0.7),
    "natural_gas": CarrierParameters("natural_gas", ref("coal.ng", 0.0012143, "tce/m3"),
                                     ref("ef.ng", 0.002162, "tCO2/m3"), 3.5),
}


def measure(mid: str = "FAN", **kw: object) -> MeasureDefinition:
    base = dict(measure_id=mid, name_en="fan VSD", name_zh="风机变频", category="fans", size_unit="kW",
                carrier_saved="electricity", baseline_per_size=3200.0, saving_frac=0.25, capex_cny_per_size=300.0,
                om_cny_per_size_yr=0.0, lifetime_yr=10.0, source="test", grade="UNVERIFIED")
    base.update(kw)
    return MeasureDefinition(**base)  # type: ignore[arg-type]


def test_key_unit_thresholds() -> None:
    t = KeyUnitThresholds()
    assert classify_key_unit("A", 2025, 10_000, t).classification is KeyUnitClass.KEY
    assert classify_key_unit("A", 2025, 9_999.9, t).classification is KeyUnitClass.DESIGNATED
    assert classify_key_unit("A", 2025, 5_000, t).classification is KeyUnitClass.DESIGNATED
    assert classify_key_unit("A", 2025, 3_000, t).classification is KeyUnitClass.LOCAL
    assert classify_key_unit("A", 2025, 2_999, t).classification is KeyUnitClass.NONE
    no_local = KeyUnitThresholds(local_tce=None)
    assert classify_key_unit("A", 2025, 4_000, no_local).classification is KeyUnitClass.NONE
    assert classify_key_unit("A", 2025, None, t).classification is KeyUnitClass.UNKNOWN
    with pytest.raises(InputError):
        KeyUnitThresholds(key_tce=4_000)
    with pytest.raises(InputError):
        classify_key_unit("A", 2025, -1.0, t)
    res = identify_key_units({"S": 100.0, "B": 20_000.0, "U": None, "M": 6_000.0}, 2025, t)
    assert [r.enterprise_id for r in res] == ["B", "M", "S", "U"]


def test_crf() -> None:
    assert capital_recovery_factor(0.0, 10) == pytest.approx(0.1)
    assert capital_recovery_factor(0.06, 10) == pytest.approx(0.135868, rel=1e-5)
    with pytest.raises(InputError):
        capital_recovery_factor(0.06, 0)


def test_evaluate_fan_vsd_by_hand() -> None:
    r = evaluate_measure(MeasureOption("o1", "E1", measure(), 100.0), CARRIERS, discount_rate_frac=0.0)
    saved = 100 * 3200 * 0.25  # 80 000 kWh
    assert r.carrier_saved_per_yr == pytest.approx(saved)
    assert r.energy_saving_tce_per_yr == pytest.approx(saved * 0.0001229)
    assert r.abatement_tco2_per_yr == pytest.approx(saved * 0.0005306)
    assert r.capex_cny == 30_000 and r.annualised_capex_cny_per_yr == pytest.approx(3_000)
    assert r.energy_cost_saving_cny_per_yr == pytest.approx(56_000)
    assert r.cost_per_tco2_cny == pytest.approx((3_000 - 56_000) / (saved * 0.0005306))
    assert r.simple_payback_yr == pytest.approx(30_000 / 56_000)
    assert r.trace[1].factors[0].factor_id == "test:coal.el"
    measured = evaluate_measure(MeasureOption("o2", "E1", measure(), 100.0, baseline_use=100_000.0), CARRIERS)
    assert measured.carrier_saved_per_yr == pytest.approx(25_000)


def test_fuel_switch_and_source_switch() -> None:
    hp = measure("HP", carrier_saved="natural_gas", baseline_per_size=344.0, saving_frac=1.0,
                 carrier_added="electricity", added_per_size=1000.0, capex_cny_per_size=2000.0)
    r = evaluate_measure(MeasureOption("hp", "E1", hp, 10.0), CARRIERS)
    assert r.energy_saving_tce_per_yr == pytest.approx(3440 * 0.0012143 - 10_000 * 0.0001229)
    assert r.abatement_tco2_per_yr == pytest.approx(3440 * 0.002162 - 10_000 * 0.0005306)
    gp = measure("GP", size_unit="MWh/yr", baseline_per_size=1000.0, saving_frac=1.0, capex_cny_per_size=0.0,
                 om_cny_per_size_yr=30.0, lifetime_yr=1.0, reduces_energy=False, saves_energy_cost=False)
    g = evaluate_measure(MeasureOption("gp", "E1", gp, 100.0), CARRIERS)
    assert g.energy_saving_tce_per_yr == 0.0 and g.energy_cost_saving_cny_per_yr == 0.0
    assert g.cost_per_tco2_cny == pytest.approx(3000 / (100_000 * 0.0005306))
    with pytest.raises(InputError):
        evaluate_measure(MeasureOption("x", "E1", measure(carrier_saved="steam"), 1.0), CARRIERS)


def test_invalid_catalogue_rows() -> None:
    with pytest.raises(InputError):
        measure(saving_frac=25.0)
    with pytest.raises(InputError):
        measure(capex_cny_per_size=-1.0)
    with pytest.raises(InputError):
        MeasureOption("o", "E", measure(), 0.0)


def test_macc_sorted_and_cumulative() -> None:
    opts = [evaluate_measure(MeasureOption(f"o{i}", "E1", measure(capex_cny_per_size=c), 100.0), CARRIERS)
            for i, c in enumerate((5000.0, 100.0, 2000.0))]
    curve = macc(opts)
    costs = [p.cost_per_tco2_cny for p in curve]
    assert costs == sorted(costs) and curve[0].result.option.option_id == "o1"
    assert curve[-1].cumulative_end_tco2_per_yr == pytest.approx(sum(o.abatement_tco2_per_yr for o in opts))
    assert all(a.cumulative_end_tco2_per_yr == pytest.approx(b.cumulative_start_tco2_per_yr)
               for a, b in itertools.pairwise(curve))


@given(st.lists(st.tuples(st.floats(1, 1e4), st.floats(0, 1e4)), min_size=1, max_size=15))
def test_macc_total_equals_sum_of_abatements(sizes: list[tuple[float, float]]) -> None:
    res = [evaluate_measure(MeasureOption(f"o{i}", "E", measure(capex_cny_per_size=c), s), CARRIERS)
           for i, (s, c) in enumerate(sizes)]
    curve = macc(res)
    assert len(curve) == len(res)
    assert curve[-1].cumulative_end_tco2_per_yr == pytest.approx(sum(r.abatement_tco2_per_yr for r in res))


def test_plan_and_tracking() -> None:
    r1 = evaluate_measure(MeasureOption("fan", "E1", measure(), 100.0), CARRIERS)
    r2 = evaluate_measure(MeasureOption("pump", "E1", measure("PUMP"), 50.0), CARRIERS)
    plan = build_plan("E1", [r2, r1], {"fan": Month(2025, 3), "pump": Month(2025, 9)})
    assert [i.result.option.option_id for i in plan.items] == ["fan", "pump"]
    assert plan.energy_saving_tce_per_yr == pytest.approx(r1.energy_saving_tce_per_yr + r2.energy_saving_tce_per_yr)
    per_month = r1.energy_saving_tce_per_yr / 12
    measured = {"fan": {Month(2025, k): per_month * 0.95 for k in range(3, 7)}}
    prog = {p.option_id: p for p in track_plan(plan, measured, Month(2025, 6))}
    assert prog["fan"].status is PlanStatus.ON_TRACK and prog["fan"].months_in_service == 4
    assert prog["fan"].achievement_frac == pytest.approx(0.95)
    assert prog["pump"].status is PlanStatus.NOT_STARTED
    measured["fan"][Month(2025, 6)] = per_month * 0.2
    assert track_plan(plan, measured, Month(2025, 6))[0].status is PlanStatus.BEHIND
    measured["fan"][Month(2025, 5)] = None
    p = track_plan(plan, measured, Month(2025, 6))[0]
    assert p.status is PlanStatus.NO_DATA and p.missing_months == (Month(2025, 5),)
    with pytest.raises(InputError):
        build_plan("E2", [r1], {"fan": Month(2025, 3)})
    with pytest.raises(InputError):
        build_plan("E1", [r1], {})
