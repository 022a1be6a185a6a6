"""Indicators: intensities at comparable prices, shares, carbon per energy, year-on-year."""

from __future__ import annotations

import math

import pytest
from accounting_helpers import make_factors, rec

from parkcarbon.core.activity import Flow
from parkcarbon.core.energy import EnergyResult, comprehensive_energy
from parkcarbon.core.factorset import ConversionBasis
from parkcarbon.core.indicators import (
    EconomicData,
    Indicator,
    comparable_added_value_10k_cny,
    energy_shares,
    ratio,
    year_on_year,
)
from parkcarbon.errors import QuantityError

F = make_factors()
P, C, G, X = Flow.PURCHASED, Flow.CONSUMED, Flow.ONSITE_GENERATED, Flow.EXPORTED
COEF = 0.1229e-3


def test_ratio_and_reasons() -> None:
    r = ratio("x", 10.0, 4.0, "tce/10k CNY")
    assert r.value == 2.5 and r.available and r.trace[0].inputs == (("numerator", 10.0), ("denominator", 4.0))
    assert ratio("x", None, 4.0, "u").reason == "numerator missing"
    assert ratio("x", 1.0, None, "u", denominator_label="added value").reason == "added value missing"
    assert ratio("x", 1.0, 0.0, "u").reason == "denominator is zero"
    partial = ratio("x", 1.0, 2.0, "u", complete=False)
    assert partial.value is None and "partial" in (partial.reason or "")
    with pytest.raises(QuantityError):
        ratio("x", math.nan, 1.0, "u")


def test_comparable_prices() -> None:
    assert comparable_added_value_10k_cny(108.0, 1.08) == pytest.approx(100.0)
    with pytest.raises(QuantityError, match="percentage"):
        comparable_added_value_10k_cny(108.0, 108.0)
    with pytest.raises(QuantityError):
        comparable_added_value_10k_cny(108.0, 0.0)
    econ = EconomicData(added_value_10k_cny=216.0, price_index_frac=1.08, base_year=2020)
    assert econ.comparable_added_value_10k_cny == pytest.approx(200.0)
    assert EconomicData(added_value_10k_cny=1.0).comparable_added_value_10k_cny is None
    assert "price index" in EconomicData(added_value_10k_cny=1.0).missing_reason()
    with pytest.raises(QuantityError):
        EconomicData(outputs=(("cement", -1.0, "t"),))


def test_combine_economic_data() -> None:
    a = EconomicData(108.0, 1.08, 2020, (("cement", 10.0, "t"),))
    b = EconomicData(100.0, 1.0, 2020, (("cement", 5.0, "t"), ("glass", 1.0, "t")))
    park = EconomicData.combine((a, b))
    assert park.added_value_10k_cny == pytest.approx(208.0)
    assert park.comparable_added_value_10k_cny == pytest.approx(200.0)
    assert park.outputs == (("cement", 15.0, "t"), ("glass", 1.0, "t"))
    assert EconomicData.combine((a, EconomicData())).added_value_10k_cny is None


def _energy(basis: ConversionBasis = ConversionBasis.CALORIFIC) -> EnergyResult:
    return comprehensive_energy(
        [rec("e1", "electricity", P, 1_000_000), rec("e2", "electricity", G, 200_000),
         rec("e3", "electricity", X, 50_000), rec("b", "biomass", C, 10), rec("g", "natural_gas", C, 100_000),
         rec("c", "raw_coal", C, 100)], F, basis=basis)


def test_energy_shares_hand_computed() -> None:
    energy = _energy()
    total = 1_150_000 * COEF + 5.0 + 121.43 + 71.43
    assert energy.total_tce == pytest.approx(total)
    s = energy_shares(energy, green_electricity_kwh=300_000)
    non_fossil = 5.0 + 150_000 * COEF + 300_000 * COEF  # biomass + net on-site PV + green power
    assert s.non_fossil_tce == pytest.approx(non_fossil)
    assert s.renewable_tce == pytest.approx(non_fossil)
    assert s.clean_tce == pytest.approx(non_fossil + 121.43)
    assert s.non_fossil_share.value == pytest.approx(non_fossil / total)
    assert s.clean_share.value == pytest.approx((non_fossil + 121.43) / total)
    grid = energy_shares(energy, 300_000, grid_non_fossil_share_frac=0.3)
    assert grid.non_fossil_tce == pytest.approx(non_fossil + 700_000 * COEF * 0.3)
    assert grid.renewable_tce == pytest.approx(non_fossil)
    # green electricity is capped at purchased grid electricity
    assert energy_shares(energy, 5e6).non_fossil_tce == pytest.approx(5.0 + 150_000 * COEF + 1_000_000 * COEF)
    with pytest.raises(QuantityError):
        energy_shares(energy, 0.0, grid_non_fossil_share_frac=30)


def test_shares_follow_the_electricity_basis() -> None:
    cal = energy_shares(_energy(), 300_000).non_fossil_share.value
    prim = energy_shares(_energy(ConversionBasis.PRIMARY_INPUT), 300_000).non_fossil_share.value
    assert cal is not None and prim is not None and prim > cal


def test_shares_of_partial_energy_are_none() -> None:
    energy = comprehensive_energy([rec("e", "electricity", P, None), rec("c", "raw_coal", C, 1)], F)
    s = energy_shares(energy)
    assert s.non_fossil_share.value is None and s.non_fossil_tce is None
    assert "partial" in (s.clean_share.reason or "")


def test_year_on_year() -> None:
    ch = year_on_year(90.0, 100.0)
    assert ch.absolute == pytest.approx(-10.0) and ch.relative_frac == pytest.approx(-0.1)
    assert year_on_year(Indicator("x", 1.0, "u"), Indicator("x", None, "u", "missing")).reason == "previous value missing"
    zero = year_on_year(5.0, 0.0)
    assert zero.absolute == 5.0 and zero.relative_frac is None and zero.reason == "previous value is zero"
    assert year_on_year(-5.0, -10.0).relative_frac == pytest.approx(0.5)
