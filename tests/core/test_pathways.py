"""Carbon-peak pathways: growth, measures, PV and green power, checked against targets every year."""

from __future__ import annotations

import pytest

from parkcarbon.core.pathways import PathwayBase, PathwayMeasure, PvAddition, Scenario, project_pathway
from parkcarbon.core.targets import Milestone, Target
from parkcarbon.errors import InputError

BASE = PathwayBase(year=2025, energy_tce=100_000, direct_emissions_tco2=120_000, purchased_electricity_mwh=400_000,
                   added_value_10k_cny=1_000_000, non_fossil_energy_tce=10_000)
EF = {2025: 0.53}


def test_bau_growth_and_intensity_by_hand() -> None:
    s = Scenario("bau", 2027, 0.06, 0.02, EF)
    r = project_pathway(BASE, s)
    y0, y2 = r.years[0], r.years[2]
    assert y0.emissions_tco2 == pytest.approx(120_000 + 400_000 * 0.53)
    assert y2.added_value_10k_cny == pytest.approx(1_000_000 * 1.06 ** 2)
    assert y2.energy_tce == pytest.approx(100_000 * 1.06 ** 2 * 0.98 ** 2)
    assert y2.purchased_electricity_mwh == pytest.approx(4 * y2.energy_tce)
    assert y2.indicator("energy_intensity_tce_per_10k_cny") == pytest.approx(0.1 * 0.98 ** 2)
    assert "held" in y2.flags[0]  # grid factor fallback is flagged
    assert r.peak_year == 2027  # still rising
    with pytest.raises(InputError):
        y2.indicator("water_reuse_frac")


def test_measures_pv_green_power_bring_the_peak_forward_and_meet_targets() -> None:
    ef = {y: 0.53 - 0.01 * (y - 2025) for y in range(2025, 2031)}
    bau = project_pathway(BASE, Scenario("bau", 2030, 0.05, 0.01, ef))
    green = Scenario(
        "green", 2030, 0.05, 0.01, ef,
        measures=[PathwayMeasure("motors", 2026, 5_000, 30_000, 2_000), PathwayMeasure("heat pumps", 2027, 3_000, -5_000, 8_000)],
        pv=[PvAddition(2026, 50_000, 1150), PvAddition(2028, 50_000, 1150)],
        green_power_mwh={2029: 100_000, 2030: 150_000},
    )
    r = project_pathway(BASE, green, targets=[
        Target("ei", "energy_intensity_tce_per_10k_cny", "park", 2025, (Milestone(2030, reduction_frac=0.15),)),
        Target("nf", "non_fossil_share_frac", "park", 2025, (Milestone(2030, value=0.20),)),
    ])
    y26 = r.years[1]
    assert y26.pv_mwh == pytest.approx(57_500)
    assert y26.purchased_electricity_mwh == pytest.approx(bau.years[1].energy_tce * 4 - 30_000 - 57_500)
    assert y26.energy_tce == pytest.approx(bau.years[1].energy_tce - 5_000)
    assert r.years[-1].green_power_mwh == 150_000
    assert r.years[-1].emissions_tco2 < bau.years[-1].emissions_tco2
    assert r.peak_year < bau.peak_year
    ei = [c for c in r.checks if c.target_id == "ei"]
    assert len(ei) == 6 and ei[0].required == pytest.approx(0.1)
    assert ei[-1].required == pytest.approx(0.085)
    assert bau.checks == ()
    # measures front-loaded in 2026–2028 keep the intensity on the path until growth catches up in 2029
    assert [c.met for c in ei] == [True, True, True, True, False, False]
    assert r.first_failure("ei") == 2029
    assert r.first_failure("nf") is None  # PV and green power lift the non-fossil share above the path
    assert r.peak_year == 2025 and bau.peak_year == 2030


def test_pathway_purchased_electricity_by_hand() -> None:
    s = Scenario("pv", 2026, 0.0, 0.0, {2025: 0.5, 2026: 0.5}, measures=[PathwayMeasure("m", 2026, 1000, 10_000, 0)],
                 pv=[PvAddition(2026, 10_000, 1000)], green_power_mwh={2026: 20_000})
    y = project_pathway(BASE, s).years[1]
    assert y.purchased_electricity_mwh == pytest.approx(400_000 - 10_000 - 10_000)
    assert y.electricity_emissions_tco2 == pytest.approx((380_000 - 20_000) * 0.5)
    assert y.non_fossil_energy_tce == pytest.approx(10_000 + 30_000 * 0.1229)
    assert y.energy_tce == pytest.approx(99_000)


def test_bad_scenarios() -> None:
    with pytest.raises(InputError):
        project_pathway(BASE, Scenario("x", 2025, 0.05, 0.0, EF))
    with pytest.raises(InputError):
        project_pathway(BASE, Scenario("x", 2030, 0.05, 0.0, {2026: 0.5}))
    with pytest.raises(InputError):
        project_pathway(BASE, Scenario("x", 2027, {2026: 0.05}, 0.0, EF))
    with pytest.raises(InputError):
        PathwayBase(2025, 0.0, 1.0, 1.0, 1.0)
