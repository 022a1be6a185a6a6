"""accounting_factors: everything one accounting run needs, in the units core/factorset.py fixes."""

from __future__ import annotations

import warnings

import pytest
from factor_helpers import WriteSet, factor_row

from parkcarbon.core.carriers import CARRIERS
from parkcarbon.core.factorset import AccountingFactors, ConversionBasis
from parkcarbon.errors import FactorNotFoundError, InputError
from parkcarbon.factors import (
    FactorFallbackWarning,
    FactorRegistry,
    FallbackPolicy,
    GridCalibre,
    UnverifiedFactorWarning,
    accounting_factors,
)


def test_jiangsu_2022_strict_has_no_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        af = accounting_factors("江苏", 2022)
    assert isinstance(af, AccountingFactors)
    assert (af.region, af.year, af.warnings) == ("CN-JS", 2022, ())
    assert af.grid_ef_location.value == 0.5978 and af.grid_ef_location.unit == "tCO2/MWh"
    assert af.grid_ef_residual is not None and af.grid_ef_residual.value == 0.5856
    assert af.grid_ef_fossil is not None and af.grid_ef_fossil.value == 0.8325
    assert af.heat_ef.value == 0.11 and af.heat_ef.unit == "tCO2/GJ"
    assert af.steam_enthalpy.value == 3.763 and af.steam_enthalpy.unit == "GJ/t"
    assert af.electricity_primary_input is None  # only UNVERIFIED yearly values exist


def test_units_are_the_fixed_ones() -> None:
    af = accounting_factors("CN-JS", 2022)
    for key, ref in af.coal_coefficients.items():
        carrier = CARRIERS[key.split(":")[0]]
        assert ref.unit == f"tce/{carrier.unit}", key
    assert af.coal_coefficients["electricity"].value == 0.0001229
    assert af.coal_coefficients["raw_coal"].value == 0.7143
    assert af.coal_coefficients["natural_gas"].value == pytest.approx(0.0012143)
    assert af.coal_coefficients["steam:1.0MPa"].value == 0.108571
    assert af.coal_coefficients["heat"].unit == "tce/GJ"
    for code, fuel in af.fuels.items():
        assert fuel.ncv.unit == f"GJ/{CARRIERS[code].unit}"
        assert fuel.carbon_content.unit == "tC/GJ" and 0.01 < fuel.carbon_content.value < 0.04
        assert fuel.oxidation.unit == "fraction" and 0.8 < fuel.oxidation.value <= 1
    assert set(af.fuels) == {
        "raw_coal", "coke", "crude_oil", "fuel_oil", "gasoline", "kerosene", "diesel", "lpg", "refinery_gas", "natural_gas",
    }
    assert af.fuels["natural_gas"].ncv.value == pytest.approx(0.038931)
    assert af.carbonate_factors["CaCO3"].value == 0.4397 and af.carbonate_factors["CaCO3"].unit == "tCO2/t"
    assert "biomass" not in af.coal_coefficients  # missing is not zero


def test_every_ref_carries_provenance() -> None:
    af = accounting_factors("浙江省", 2022)
    refs = [af.grid_ef_location, af.heat_ef, af.steam_enthalpy, *af.coal_coefficients.values(), *af.carbonate_factors.values()]
    refs += [p for f in af.fuels.values() for p in (f.ncv, f.carbon_content, f.oxidation)]
    for ref in refs:
        assert ref.factor_id and ref.source and ref.grade in {"A", "B", "C", "D"} and ref.set_version


def test_strict_missing_grid_factor_raises() -> None:
    with pytest.raises(FactorNotFoundError, match="region=CN-JS year=2023"):
        accounting_factors("江苏", 2023)


def test_fallback_warnings_are_collected() -> None:
    with pytest.warns(FactorFallbackWarning):
        af = accounting_factors("江苏", 2024, policy=FallbackPolicy.REGION_THEN_YEAR)
    assert af.grid_ef_location.region == "GRID-EAST" and af.grid_ef_location.year == 2023
    assert af.grid_ef_location.fallback_note
    assert any("GRID-EAST 2023" in w for w in af.warnings)
    assert af.grid_ef_residual is not None and af.grid_ef_residual.year == 2023
    assert len(af.warnings) == len(set(af.warnings))


def test_calibres() -> None:
    assert accounting_factors("江苏", 2023, grid_calibre=GridCalibre.REGIONAL).grid_ef_location.value == 0.55
    assert accounting_factors("江苏", 2023, grid_calibre=GridCalibre.NATIONAL).grid_ef_location.value == 0.5306
    assert accounting_factors("江苏", 2023, grid_calibre=GridCalibre.ETS_REGULATORY).grid_ef_location.value == 0.5703
    assert accounting_factors("华东", 2023, grid_calibre="regional").grid_ef_location.value == 0.55


def test_provincial_calibre_needs_a_province() -> None:
    with pytest.raises(InputError):
        accounting_factors("华东", 2022)


def test_regional_calibre_for_unverified_membership() -> None:
    with pytest.raises(FactorNotFoundError) as exc:
        accounting_factors("四川", 2023, grid_calibre=GridCalibre.REGIONAL)
    assert exc.value.code == "E-FACTOR-UNVERIFIED"
    with pytest.warns(UnverifiedFactorWarning):
        af = accounting_factors("四川", 2023, grid_calibre=GridCalibre.REGIONAL, allow_unverified=True)
    assert af.grid_ef_location.value == 0.2472
    assert any("UNVERIFIED" in w for w in af.warnings)


def test_primary_input_basis_requires_the_yearly_value() -> None:
    with pytest.raises(FactorNotFoundError) as exc:
        accounting_factors("江苏", 2022, basis=ConversionBasis.PRIMARY_INPUT)
    assert exc.value.code == "E-FACTOR-UNVERIFIED"
    with pytest.warns(UnverifiedFactorWarning):
        af = accounting_factors("江苏", 2022, basis=ConversionBasis.PRIMARY_INPUT, allow_unverified=True)
    assert af.electricity_primary_input is not None
    assert af.electricity_primary_input.unit == "tce/kWh" and af.electricity_primary_input.grade == "UNVERIFIED"
    assert any("UNVERIFIED" in w for w in af.warnings)
    assert af.coal_coefficients["electricity"].value == 0.0001229  # 当量值 stays the coefficient


def test_unknown_fuel_set() -> None:
    with pytest.raises(FactorNotFoundError, match="no factor set"):
        accounting_factors("江苏", 2022, fuel_set="nope")


def test_unverified_fuel_set_needs_opt_in() -> None:
    af = accounting_factors("江苏", 2022, fuel_set="ndrc-guidelines-2013")
    assert af.fuels == {}
    assert any("UNVERIFIED" in w for w in af.warnings)
    with pytest.warns(UnverifiedFactorWarning):
        af = accounting_factors("江苏", 2022, fuel_set="ndrc-guidelines-2013", allow_unverified=True)
    assert af.fuels["coke_oven_gas"].ncv.value == pytest.approx(0.017981)
    assert af.fuels["washed_coal"].oxidation.value == 0.9


def test_user_override_reaches_the_accounting_run(write_set: WriteSet) -> None:
    reg = FactorRegistry.load([write_set("js-2023", [factor_row()])])
    af = accounting_factors("江苏", 2023, registry=reg)
    assert af.grid_ef_location.value == 0.58 and af.grid_ef_location.factor_id.startswith("js-2023:")
