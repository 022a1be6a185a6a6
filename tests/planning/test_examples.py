"""Acceptance: the published dispatch and PV examples (copied from shared/examples) reproduced exactly.

energy-py-linear cases use MW/MWh and $/MWh; they are fed in kW/kWh and $/kWh (×1000, ÷1000),
which also checks that the model is unit-consistent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from parkcarbon.core.trace import FactorRef
from parkcarbon.planning.dispatch import optimise_dispatch
from parkcarbon.planning.problem import Battery, DispatchProblem, Objective, ObjectiveKind
from parkcarbon.planning.pv import (
    PVSystemSpec,
    combined_loss_frac,
    quick_estimate,
    simulate_pv_clearsky,
    total_loss_pct,
    typical_full_load_hours,
)
from parkcarbon.planning.results import DispatchResult

EXAMPLES = Path(__file__).parent / "examples"


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return data


def epl_dispatch(prices_per_mwh: list[float], *, power_mw: float, capacity_mwh: float, efficiency: float,
                 initial_mwh: float, final_mwh: float | None = None, carbon: list[float] | None = None
                 ) -> DispatchResult:
    """energy-py-linear conventions: loss on charging, export price = import price, battery may export."""
    n = len(prices_per_mwh)
    bat = Battery("battery", energy_kwh=capacity_mwh * 1000, charge_power_kw=power_mw * 1000,
                  charge_efficiency=efficiency, discharge_efficiency=1.0, initial_soc_kwh=initial_mwh * 1000,
                  final_soc_kwh=None if final_mwh is None else final_mwh * 1000)
    problem = DispatchProblem(
        step_h=1.0, load_kw=np.zeros(n), import_price_per_kwh=np.asarray(prices_per_mwh) / 1000.0,
        batteries=(bat,), export_pv_surplus_only=False,
        grid_ef_location=None if carbon is None else np.asarray(carbon),
        objective=Objective(ObjectiveKind.EMISSIONS if carbon is not None else ObjectiveKind.COST),
    )
    return optimise_dispatch(problem)


class TestEnergyPyLinearFiveInterval:
    ex = example("epl-battery-5-interval-validation.json")
    tol = ex["tolerance"]["relative"]

    def run(self, case: str) -> DispatchResult:
        i = self.ex["inputs"]
        return epl_dispatch(i[f"case_{case}_prices"]["value"], power_mw=i["power"]["value"],
                            capacity_mwh=i["capacity"]["value"], efficiency=i["round_trip_efficiency"]["value"],
                            initial_mwh=i["initial_charge"]["value"], final_mwh=i["final_charge"]["value"])

    def test_case_a_site_balance_and_losses(self) -> None:
        r = self.run("A")
        expected = np.asarray(self.ex["expected"]["case_A_site_balance"]["value"])
        np.testing.assert_allclose(r.site_balance_kw / 1000, expected, rtol=self.tol, atol=1e-6)
        b = r.batteries[0]
        losses_mwh = (1 - 0.9) * b.charge_kw / 1000
        np.testing.assert_allclose(losses_mwh, self.ex["expected"]["case_A_battery_losses"]["value"], rtol=self.tol,
                                   atol=1e-6)
        assert r.batteries[0].losses_kwh == pytest.approx(444.444444, rel=1e-6)
        # derived objective: profit 995.56 $
        assert -r.cost.total_cny == pytest.approx(995.5555556, rel=1e-6)

    def test_case_b_site_balance(self) -> None:
        r = self.run("B")
        expected = np.asarray(self.ex["expected"]["case_B_site_balance"]["value"])
        np.testing.assert_allclose(r.site_balance_kw / 1000, expected, rtol=self.tol, atol=1e-6)
        assert -r.cost.total_cny == pytest.approx(960.0, rel=1e-9)


class TestEnergyPyLinearLossless:
    ex = example("epl-battery-lossless-unit-tests.json")

    @pytest.mark.parametrize("k", [0, 1, 2])
    def test_price_cases(self, k: int) -> None:
        case = self.ex["inputs"]["price_cases"][k]
        r = epl_dispatch(case["prices"], power_mw=4, capacity_mwh=6, efficiency=1.0,
                         initial_mwh=case["initial_charge_mwh"], final_mwh=case["final_charge_mwh"])
        expected = np.asarray(self.ex["expected"]["price_dispatch"][k], dtype=float)
        prices = np.asarray(case["prices"], dtype=float)
        # assert the cost (the [10,10,10] case is a tie: any dispatch is optimal) …
        assert r.cost.total_cny == pytest.approx(float(prices @ expected), rel=1e-7, abs=1e-9)
        if k > 0:  # … and the dispatch where the optimum is unique
            np.testing.assert_allclose(r.batteries[0].net_charge_kw / 1000, expected, rtol=1e-7, atol=1e-7)

    @pytest.mark.parametrize("k", [0, 1, 2])
    def test_carbon_cases(self, k: int) -> None:
        case = self.ex["inputs"]["carbon_cases"][k]
        ci = case["carbon_intensities"]
        r = epl_dispatch([0.0] * len(ci), power_mw=4, capacity_mwh=6, efficiency=1.0,
                         initial_mwh=case["initial_charge_mwh"], carbon=ci)
        expected = np.asarray(self.ex["expected"]["carbon_dispatch"][k], dtype=float)
        np.testing.assert_allclose(r.batteries[0].net_charge_kw / 1000, expected, rtol=1e-7, atol=1e-7)
        assert r.emissions.location_tco2 == pytest.approx(float(np.asarray(ci) @ expected), rel=1e-7)


class TestPvlibLosses:
    ex = example("pvlib-pvwatts-losses-default.json")

    def test_default_components(self) -> None:
        comps = self.ex["inputs"]["default_components_pct"]
        assert total_loss_pct(comps) == pytest.approx(self.ex["expected"]["total_losses_default"]["value"], rel=1e-6)
        assert total_loss_pct() == pytest.approx(self.ex["expected"]["total_losses_default"]["value"], rel=1e-6)

    def test_age_one_percent(self) -> None:
        got = total_loss_pct({"age": self.ex["inputs"]["variant_age_pct"]})
        assert got == pytest.approx(self.ex["expected"]["total_losses_age_1pct"]["value"], rel=1e-6)

    def test_combine_loss_factors(self) -> None:
        got = combined_loss_frac(self.ex["inputs"]["combine_loss_factors_case"])
        assert got == pytest.approx(self.ex["expected"]["combined_loss_fraction"]["value"], rel=1e-6)

    def test_not_additive(self) -> None:
        assert total_loss_pct() < sum(self.ex["inputs"]["default_components_pct"].values())


class TestXuchangRooftop:
    ex = example("cn-rooftop-xuchang-20mw.json")
    tol = ex["tolerance"]["relative"]

    def test_quick_estimate(self) -> None:
        src = self.ex["source"]["url"]
        coal = FactorRef("xuchang:coal", "coal_saved", 0.413, "kg/kWh", src, "C")
        co2 = FactorRef("xuchang:co2", "co2_reduced", 1.0, "kgCO2/kWh", src, "C")
        q = quick_estimate(20_000, 1150, coal, co2)
        exp = self.ex["expected"]
        assert q.annual_generation_kwh == pytest.approx(exp["annual_generation"]["value"], rel=self.tol)
        assert q.coal_saved_t == pytest.approx(exp["coal_saved"]["value"], rel=self.tol)
        assert q.co2_reduced_t == pytest.approx(exp["co2_reduced"]["value"], rel=self.tol)
        assert q.trace[1].factors == (coal,)

    def test_simulated_yield_with_henan_hours(self) -> None:
        """Offline pvlib chain at Xuchang (34.0 N, 113.8 E), roof area → capacity, Henan typical hours."""
        spec = PVSystemSpec(34.03, 113.85, tilt_deg=25, roof_area_m2=300_000, roof_kwp_per_m2=20_000 / 300_000)
        idx = pd.date_range("2023-01-01", "2024-01-01", freq="h", inclusive="left", tz="Asia/Shanghai")
        y = simulate_pv_clearsky(spec, idx, province="河南")
        assert y.capacity_kwp == pytest.approx(20_000)
        assert y.energy_kwh == pytest.approx(self.ex["expected"]["annual_generation"]["value"], rel=self.tol)
        assert 0.4 < (y.cloudiness_factor_frac or 0) < 0.9  # clouds remove 10–60 % of the clear-sky yield
        assert typical_full_load_hours("Henan").grade == "UNVERIFIED"
        assert y.ac_kw.max() <= 20_000 / 1.1 + 1e-6  # AC rating caps the output
