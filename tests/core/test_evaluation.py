"""Evaluations: zero-carbon park "1 + 5", green factory linear scoring, green park index."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parkcarbon.core.evaluation import (
    Comparison,
    Criterion,
    ProductEnergyCheck,
    ScoredIndicator,
    Verdict,
    assess_scored,
    evaluate_zero_carbon_park,
    green_factory_score,
    green_park_index,
    score_linear,
    select_tier,
)
from parkcarbon.core.targets import Direction
from parkcarbon.errors import InputError
from parkcarbon.periods import Month

CORE = [
    Criterion("c1", "carbon_per_energy_tco2_per_tce", "单位能耗碳排放", True, Comparison.AT_MOST, 0.2, "tCO2/tce",
              "NOTES §4.2", "B", 200_000, 1_000_000, ("台账",)),
    Criterion("c2", "carbon_per_energy_tco2_per_tce", "单位能耗碳排放", True, Comparison.AT_MOST, 0.3, "tCO2/tce",
              "NOTES §4.2", "B", 1_000_000, None),
]
GUIDING = [
    Criterion("g2", "clean_energy_share_frac", "清洁能源消费占比", False, Comparison.AT_LEAST, 0.9, "fraction", "s", "B"),
    Criterion("g3", "product_energy_vs_limit", "产品单位能耗", False, Comparison.AT_MOST, None, "ratio", "s", "B (wording UNVERIFIED)"),
    Criterion("g4", "solid_waste_utilisation_frac", "固废综合利用率", False, Comparison.AT_LEAST, 0.8, "fraction", "s", "B"),
    Criterion("g5", "waste_heat_utilisation_frac", "余热利用率", False, Comparison.AT_LEAST, 0.5, "fraction", "s", "B"),
    Criterion("g6", "water_reuse_frac", "用水重复利用率", False, Comparison.AT_LEAST, 0.8, "fraction", "s", "B"),
]


def park(energy_year_tce: float, co2_per_tce: float, clean: float = 0.92) -> dict:
    e = energy_year_tce / 12
    d: dict[str, dict[Month, float | None]] = {k: {} for k in (
        "energy_tce", "emissions_tco2", "energy_emissions_tco2", "clean_energy_tce", "solid_waste_generated_t", "solid_waste_utilised_t",
        "solid_waste_from_storage_t", "waste_heat_utilised_gj", "waste_heat_recoverable_gj", "water_reused_m3",
        "water_fresh_m3")}
    for k in range(1, 13):
        m = Month(2026, k)
        d["energy_tce"][m] = e
        d["emissions_tco2"][m] = e * co2_per_tce
        d["energy_emissions_tco2"][m] = e * co2_per_tce
        d["clean_energy_tce"][m] = e * clean
        d["solid_waste_generated_t"][m] = 100.0
        d["solid_waste_utilised_t"][m] = 85.0
        d["solid_waste_from_storage_t"][m] = 0.0
        d["waste_heat_utilised_gj"][m] = 40.0
        d["waste_heat_recoverable_gj"][m] = 100.0
        d["water_reused_m3"][m] = 900.0
        d["water_fresh_m3"][m] = 100.0
    return d


def test_zero_carbon_core_band_boundaries() -> None:
    at = evaluate_zero_carbon_park(park(500_000, 0.2), 2026, CORE + GUIDING)
    assert at.core.criterion is not None and at.core.criterion.criterion_id == "c1"
    assert at.core.verdict is Verdict.PASS and at.core_passed is True  # ≤ 0.2 exactly passes
    over = evaluate_zero_carbon_park(park(500_000, 0.2001), 2026, CORE + GUIDING)
    assert over.core.verdict is Verdict.FAIL and over.core_passed is False
    big = evaluate_zero_carbon_park(park(1_000_000, 0.25), 2026, CORE + GUIDING)
    assert big.core.criterion is not None and big.core.criterion.threshold == 0.3 and big.core_passed is True
    small = evaluate_zero_carbon_park(park(150_000, 0.1), 2026, CORE + GUIDING)
    assert small.core.verdict is Verdict.THRESHOLD_UNKNOWN and small.core_passed is None
    assert any("UNVERIFIED" in n for n in small.unverified_notes)


def test_zero_carbon_guiding_indicators_and_evidence() -> None:
    r = evaluate_zero_carbon_park(park(500_000, 0.15), 2026, CORE + GUIDING,
                                  product_checks=[ProductEnergyCheck("E1", "glass", 14.0, 15.0, "GB 21340")])
    v = {g.indicator: g for g in r.guiding}
    assert v["clean_energy_share_frac"].verdict is Verdict.PASS
    assert v["solid_waste_utilisation_frac"].value == pytest.approx(0.85)
    assert v["waste_heat_utilisation_frac"].verdict is Verdict.FAIL  # 40 % < 50 %
    assert v["water_reuse_frac"].value == pytest.approx(0.9)
    assert v["product_energy_vs_limit"].verdict is Verdict.PASS
    assert r.guiding_assessed == 5 and r.guiding_passed == 4
    assert r.core.evidence_required == ("台账",)
    assert any("g3" in n for n in r.unverified_notes)


def test_zero_carbon_missing_data_and_not_applicable() -> None:
    d = park(500_000, 0.15)
    d["water_fresh_m3"][Month(2026, 4)] = None
    r = evaluate_zero_carbon_park(d, 2026, CORE + GUIDING, not_applicable={"g5": "no recoverable waste heat"},
                                  product_checks=[ProductEnergyCheck("E1", "glass", 16.0, 15.0, "GB 21340")])
    v = {g.indicator: g for g in r.guiding}
    assert v["water_reuse_frac"].verdict is Verdict.NOT_ASSESSED
    assert v["waste_heat_utilisation_frac"].verdict is Verdict.NOT_APPLICABLE
    assert v["product_energy_vs_limit"].verdict is Verdict.FAIL and "E1/glass" in v["product_energy_vs_limit"].note
    d["energy_tce"][Month(2026, 1)] = None
    assert evaluate_zero_carbon_park(d, 2026, CORE).core.verdict is Verdict.NOT_ASSESSED
    with pytest.raises(InputError):
        evaluate_zero_carbon_park(d, 2026, GUIDING)


def ind(direction: Direction, base: float | None = 10.0, lead: float | None = 20.0, **kw: object) -> ScoredIndicator:
    return ScoredIndicator(kw.pop("iid", "X"), kw.pop("group", "G"), "指标", "x", "u", direction, 8.0, base, lead, "s",
                           str(kw.pop("grade", "C")), **kw)  # type: ignore[arg-type]


def test_linear_scoring_both_directions() -> None:
    up = ind(Direction.HIGHER_IS_BETTER)
    assert score_linear(up, 5) == 0.0
    assert score_linear(up, 10) == 0.0
    assert score_linear(up, 15) == pytest.approx(4.0)
    assert score_linear(up, 25) == 8.0
    down = ind(Direction.LOWER_IS_BETTER, 0.2, 0.1)
    assert score_linear(down, 0.3) == 0.0
    assert score_linear(down, 0.15) == pytest.approx(4.0)
    assert score_linear(down, 0.05) == 8.0
    with pytest.raises(InputError):
        ind(Direction.LOWER_IS_BETTER, 0.1, 0.2)  # leading worse than baseline
    with pytest.raises(InputError):
        score_linear(ind(Direction.HIGHER_IS_BETTER, None, 20.0), 5)


@given(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3))
def test_score_monotone_and_bounded(a: float, b: float) -> None:
    up = ind(Direction.HIGHER_IS_BETTER, -50.0, 50.0)
    lo, hi = sorted((a, b))
    assert 0.0 <= score_linear(up, lo) <= score_linear(up, hi) <= 8.0


def test_tiers_and_assessment_from_platform_data() -> None:
    tiers = [ind(Direction.HIGHER_IS_BETTER, 0.01, 0.05, iid="R", energy_min_tce=10_000.0, platform_indicator="renewable_share_frac"),
             ind(Direction.HIGHER_IS_BETTER, 0.05, 0.20, iid="R", energy_max_tce=10_000.0, platform_indicator="renewable_share_frac")]
    assert select_tier(tiers, 12_000)[0].baseline == 0.01
    assert select_tier(tiers, 2_000)[0].baseline == 0.05
    data = {"energy_tce": {Month(2026, k): 1000.0 for k in range(1, 13)},
            "renewable_energy_tce": {Month(2026, k): 30.0 for k in range(1, 13)}}
    defs = [*tiers, ind(Direction.HIGHER_IS_BETTER, 4, 8, iid="P", group="H", grade="UNVERIFIED"),
            ind(Direction.HIGHER_IS_BETTER, None, None, iid="N")]
    a = assess_scored(defs, year=2026, data=data, values={"P": 6.0}, entity_id="E1")
    s = {x.definition.indicator_id: x for x in a.scores}
    assert s["R"].value == pytest.approx(0.03) and s["R"].score == pytest.approx(8 * (0.03 - 0.01) / (0.05 - 0.01))  # tier ≥ 10 000 tce
    assert s["R"].computed is not None and s["P"].score == pytest.approx(4.0)
    assert s["N"].status == "no benchmark"
    assert a.max_score == 24.0 and a.total_score == pytest.approx(4.0 + 4.0)
    assert a.completeness_frac == pytest.approx(16 / 24)
    assert a.group_scores["H"] == (4.0, 8.0)
    assert "P (UNVERIFIED)" in a.unverified
    gf = green_factory_score(a, 0.5)
    assert gf.total_points == pytest.approx(100 * (0.6 * (8.0 / 24) + 0.4 * 0.5))
    assert green_factory_score(a, None).total_points is None
    with pytest.raises(InputError):
        green_factory_score(a, 1.5)


def test_green_park_index() -> None:
    defs = [ind(Direction.HIGHER_IS_BETTER, None, 0.9, iid="RG7", group="R", platform_indicator="water_reuse_frac"),
            ind(Direction.HIGHER_IS_BETTER, None, 3.0, iid="EG1", group="E"),
            ind(Direction.LOWER_IS_BETTER, None, 0.5, iid="L", group="E"),
            ind(Direction.HIGHER_IS_BETTER, None, 10.0, iid="M", group="E")]
    data = {"water_reused_m3": {Month(2026, k): 80.0 for k in range(1, 13)},
            "water_fresh_m3": {Month(2026, k): 20.0 for k in range(1, 13)}}
    gi = green_park_index(defs, year=2026, data=data, values={"EG1": 4.5, "L": 1.0})
    assert gi.ratios["RG7"] == pytest.approx(0.8 / 0.9)
    assert gi.ratios["EG1"] == 1.0  # capped
    assert gi.ratios["L"] == pytest.approx(0.5)
    assert gi.missing == ("M",)
    assert gi.index == pytest.approx(100 * (0.8 / 0.9 + 1.0 + 0.5) / 3)
    assert "UNVERIFIED" in gi.note
