"""Project energy and carbon assessment (项目碳排放评价) and its effect on the park."""

from __future__ import annotations

import pytest

from parkcarbon.core.project_assessment import ParkTotals, ProjectEnergyLine, ProjectInputs, assess_project
from parkcarbon.core.targets import Milestone, Target
from parkcarbon.core.trace import FactorRef
from parkcarbon.errors import InputError


def ref(key: str, value: float, unit: str) -> FactorRef:
    return FactorRef(f"t:{key}", key, value, unit, "test", "B")


EL = (ref("coal.el", 0.0001229, "tce/kWh"), ref("ef.el", 0.0005306, "tCO2/kWh"))
NG = (ref("coal.ng", 0.0012143, "tce/m3"), ref("ef.ng", 0.002162, "tCO2/m3"))
PARK = ParkTotals(2026, energy_tce=200_000, emissions_tco2=400_000, added_value_10k_cny=2_000_000,
                  non_fossil_energy_tce=20_000)


def project(av: float = 50_000.0, green_kwh: float = 0.0) -> ProjectInputs:
    lines = [ProjectEnergyLine("electricity", 40_000_000, *EL), ProjectEnergyLine("natural_gas", 2_000_000, *NG)]
    if green_kwh:
        lines.append(ProjectEnergyLine("electricity", green_kwh, EL[0], ref("ef.green", 0.0, "tCO2/kWh"), non_fossil=True))
    return ProjectInputs("P1", "new line", tuple(lines), av, process_emissions_tco2_per_yr=1_000)


def test_project_totals_by_hand() -> None:
    a = assess_project(project(), PARK)
    e = 40_000_000 * 0.0001229 + 2_000_000 * 0.0012143
    c = 40_000_000 * 0.0005306 + 2_000_000 * 0.002162 + 1_000
    assert a.energy_tce_per_yr == pytest.approx(e)
    assert a.emissions_tco2_per_yr == pytest.approx(c)
    assert a.energy_intensity_tce_per_10k_cny == pytest.approx(e / 50_000)
    assert a.park_after.energy_tce == pytest.approx(200_000 + e)
    assert a.park_after.added_value_10k_cny == pytest.approx(2_050_000)
    assert a.intensity_ratio_to_park == pytest.approx((e / 50_000) / 0.1)
    assert a.trace[0].factors == EL


def test_project_raises_intensity_and_breaks_a_target() -> None:
    ei = Target("ei", "energy_intensity_tce_per_10k_cny", "park", 2026, (Milestone(2026, value=0.1005),), base_value=0.1)
    a = assess_project(project(av=20_000), PARK, targets=[ei], remaining_energy_budget_tce=5_000)
    assert a.intensity_ratio_to_park is not None and a.intensity_ratio_to_park > 1
    imp = a.targets[0]
    assert imp.met_before is True and imp.met_after is False
    assert any("met without the project and missed with it" in f for f in a.findings)
    assert a.budget_use_frac == pytest.approx(a.energy_tce_per_yr / 5_000) and a.budget_use_frac > 1
    assert any("exceeds" in f for f in a.findings)


def test_green_lines_count_as_non_fossil_and_low_intensity_project_lowers_park() -> None:
    a = assess_project(project(av=500_000, green_kwh=10_000_000), PARK, remaining_carbon_budget_tco2=1e6)
    assert a.non_fossil_energy_tce_per_yr == pytest.approx(10_000_000 * 0.0001229)
    assert a.park_after.non_fossil_share_frac > PARK.non_fossil_share_frac
    assert a.park_after.energy_intensity_tce_per_10k_cny < PARK.energy_intensity_tce_per_10k_cny
    assert a.carbon_budget_use_frac is not None and a.carbon_budget_use_frac < 1


def test_bad_project_inputs() -> None:
    with pytest.raises(InputError):
        assess_project(ProjectInputs("P", "x", (ProjectEnergyLine("electricity", -1.0, *EL),), 1.0), PARK)
    with pytest.raises(InputError):
        assess_project(project(av=-5.0), PARK)
    with pytest.raises(InputError):
        PARK.indicator("water_reuse_frac")
