"""The packaged factor data: every row valid, known values, cross-checks against the reference."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from parkcarbon.core.carriers import CARRIERS, CarrierKind
from parkcarbon.factors import FactorRegistry, Grade, SetKind, default_registry, lookup
from parkcarbon.factors.conversion import KNOWN_UNITS

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"reference folder {REFERENCE} absent")


@pytest.fixture(scope="module")
def reg() -> FactorRegistry:
    return default_registry()


def test_packaged_sets_load_and_every_row_is_valid(reg: FactorRegistry) -> None:
    assert len(reg.sets) >= 10
    kinds = {s.manifest.kind for s in reg.sets.values()}
    assert {SetKind.STATISTICAL, SetKind.REGULATORY, SetKind.CARBON_FOOTPRINT, SetKind.CONVERSION} <= kinds
    for s in reg.sets.values():
        assert s.manifest.version and s.manifest.title
        assert s.rows, s.set_id
        for row in s.rows:
            assert math.isfinite(row.value) and row.value >= 0
            assert math.isfinite(row.served_value)
            assert row.unit in KNOWN_UNITS
            assert isinstance(row.grade, Grade)
            assert row.source_ids and all(sid in reg.sources for sid in row.source_ids)
            assert row.region in reg.regions
            if row.valid_from and row.valid_to:
                assert row.valid_from <= row.valid_to
            if row.grade is Grade.UNVERIFIED:
                assert row.evidence, f"{row.factor_id}: an UNVERIFIED row must say why"


def test_every_source_is_cited(reg: FactorRegistry) -> None:
    cited = {sid for s in reg.sets.values() for r in s.rows for sid in r.source_ids}
    cited |= {sid for region in reg.regions.values() for sid in region.source_ids}
    assert set(reg.sources) - cited == set()


def test_standard_coal_coefficient_for_every_carrier_with_a_source(reg: FactorRegistry) -> None:
    keys = {r.key for r in reg.rows(key="coal_coef")}
    missing = {code for code in CARRIERS if f"coal_coef.{code}" not in keys}
    assert missing == {"biomass"}  # no source for biomass in the reference


@pytest.mark.parametrize(
    ("key", "kw", "value", "unit"),
    [
        ("coal_coef.electricity", {"method": "calorific"}, 0.0001229, "tce/kWh"),
        ("coal_coef.raw_coal", {"method": "calorific"}, 0.7143, "tce/t"),
        ("coal_coef.natural_gas", {"method": "calorific"}, 0.0012143, "tce/m3"),
        ("coal_coef.heat", {"method": "calorific"}, 0.03412, "tce/GJ"),
        ("coal_coef.steam", {"method": "calorific", "variant": "1.0MPa"}, 0.108571, "tce/t"),
        ("coal_coef.fresh_water", {"method": "primary_input"}, 0.0002571, "tce/t"),
        ("coal_coef.compressed_air", {"method": "primary_input"}, 0.00004, "tce/m3"),
        ("coal_coef.oxygen", {"method": "primary_input"}, 0.0004, "tce/m3"),
        ("grid_ef", {"year": 2022, "method": "average"}, 0.5366, "tCO2/MWh"),
        ("grid_ef", {"year": 2022, "method": "excl_market_non_fossil"}, 0.5856, "tCO2/MWh"),
        ("grid_ef", {"year": 2023, "method": "fossil"}, 0.8273, "tCO2/MWh"),
        ("grid_ef", {"region": "华东", "year": 2023, "method": "average"}, 0.5500, "tCO2/MWh"),
        ("grid_ef", {"region": "江苏", "year": 2022, "method": "average"}, 0.5978, "tCO2/MWh"),
        ("grid_ef", {"region": "CN-YN", "year": 2022, "method": "average"}, 0.1073, "tCO2/MWh"),
        ("heat_ef", {}, 0.11, "tCO2/GJ"),
        ("heat_ef", {"variant": "waste_heat_recovery"}, 0.0, "tCO2/GJ"),
        ("steam_enthalpy", {}, 3.763, "GJ/t"),
        ("ncv.natural_gas", {}, 0.038931, "GJ/m3"),
        ("carbon_content.raw_coal", {}, 0.02637, "tC/GJ"),
        ("carbonate_ef.CaCO3", {}, 0.4397, "tCO2/t"),
        ("electricity_cfp", {"year": 2023, "method": "life_cycle"}, 0.6205, "tCO2e/MWh"),
        ("electricity_cfp", {"year": 2024, "method": "life_cycle"}, 0.5777, "tCO2e/MWh"),
        ("zcp.carbon_per_energy_max", {"variant": "scale_200k_1m_tce"}, 0.2, "tCO2/tce"),
        ("zcp.clean_energy_share_min", {}, 0.9, "fraction"),
        ("gec.size", {}, 1000, "kWh/certificate"),
        ("key_energy_unit.threshold", {}, 10000, "tce/yr"),
        ("key_energy_unit.designated_min", {}, 5000, "tce/yr"),
        ("online_monitoring.completeness_min", {}, 0.9, "fraction"),
    ],
)
def test_known_values(key: str, kw: dict[str, object], value: float, unit: str) -> None:
    ref = lookup(key, **kw)
    assert ref.value == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert ref.unit == unit
    assert ref.source and ref.grade in {"A", "B", "C", "D"}


def test_electricity_calorific_is_exact_not_a_float_artefact() -> None:
    assert lookup("coal_coef.electricity", method="calorific").value == 0.0001229


def test_natural_gas_default_and_range_are_recorded(reg: FactorRegistry) -> None:
    res = reg.resolve("coal_coef.natural_gas", method="calorific")
    assert res.row.value == 1.2143 and res.row.unit == "kgce/m3"
    assert (res.row.value_min, res.row.value_max) == (1.1, 1.33)
    assert "12.1430" in res.row.evidence
    yearbook = reg.resolve("coal_coef.natural_gas", method="calorific", set_id="energy-yearbook")
    assert yearbook.row.value == 12.143 and yearbook.row.unit == "tce/10^4 m3"
    assert yearbook.ref.value == pytest.approx(res.ref.value, rel=1e-9)


def test_historic_regulatory_factors_are_a_separate_set(reg: FactorRegistry) -> None:
    ets = reg.factor_set("ets-grid-regulatory")
    assert ets.manifest.kind is SetKind.REGULATORY
    assert sorted(r.value for r in ets.rows) == [0.5703, 0.581, 0.6101]
    assert lookup("grid_ef", year=2018, method="ets_reporting").value == 0.6101
    assert lookup("grid_ef", year=2020, method="ets_reporting").value == 0.581
    assert lookup("grid_ef", year=2024, method="ets_reporting").value == 0.5703
    assert all(r.method != "ets_reporting" for r in reg.factor_set("mee-grid-co2").rows)


def test_unverified_values_are_marked(reg: FactorRegistry) -> None:
    unverified = {r.factor_id for s in reg.sets.values() for r in s.rows if r.grade is Grade.UNVERIFIED}
    assert "mee-grid-co2:grid_ef@CN/2021#excl_market_non_fossil" in unverified
    assert any(fid.startswith("power-coal-rate:coal_coef.electricity@CN/") for fid in unverified)
    for code in ("CN-SC", "CN-CQ", "CN-XZ"):
        assert reg.regions[code].parent == "GRID-SOUTHWEST"
        assert reg.regions[code].grade is Grade.UNVERIFIED


def test_province_to_grid_mapping_covers_31_provinces(reg: FactorRegistry) -> None:
    provinces = [r for r in reg.regions.values() if r.kind == "province"]
    assert len(provinces) == 31
    grids = {r.code for r in reg.regions.values() if r.kind == "grid_region"}
    assert len(grids) == 7
    assert all(p.parent in grids for p in provinces)


@pytest.mark.parametrize(
    "fuel", ["raw_coal", "coke", "crude_oil", "fuel_oil", "gasoline", "kerosene", "diesel", "lpg", "refinery_gas", "natural_gas"]
)
def test_fuel_co2_factor_recomputed_from_ncv_cc_of(fuel: str) -> None:
    """NCV x CC x OF x 44/12 in served units, back in the reference unit, matches the reference EF."""
    reg = default_registry()
    ncv = lookup(f"ncv.{fuel}")
    cc = lookup(f"carbon_content.{fuel}")
    of = lookup(f"oxidation.{fuel}")
    ref = reg.resolve(f"co2_ef.{fuel}")
    recomputed_per_unit = ncv.value * cc.value * of.value * 44 / 12  # tCO2 per t or per m3
    assert ref.ref.value == pytest.approx(recomputed_per_unit, rel=3e-4)
    # in the reference's own unit and rounding (4 decimals for t, 3 for 10^4 Nm3)
    in_ref_unit = recomputed_per_unit * (1e4 if ref.row.unit == "tCO2/10^4 Nm3" else 1)
    decimals = len(repr(ref.row.value).split(".")[1])
    assert abs(in_ref_unit - ref.row.value) <= 0.5 * 10**-decimals + 1e-12


def test_accounting_units_cover_carrier_canonical_units() -> None:
    for code, carrier in CARRIERS.items():
        if carrier.kind is CarrierKind.BIOMASS:
            continue
        method = "primary_input" if carrier.kind is CarrierKind.MEDIUM else "calorific"
        assert lookup(f"coal_coef.{code}", method=method).unit == f"tce/{carrier.unit}"


# --------------------------------------------------------------------------- reference cross-checks
def _ref_rows(name: str) -> list[dict[str, str]]:
    with open(REFERENCE / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@needs_reference
def test_grid_factors_match_reference_csvs(reg: FactorRegistry) -> None:
    n = 0
    calibre = {
        "national average": "average",
        "national excl. market-traded non-fossil": "excl_market_non_fossil",
        "national fossil-power": "fossil",
    }
    for r in _ref_rows("grid_ef_national_mee.csv"):
        assert lookup("grid_ef", year=int(r["data_year"]), method=calibre[r["calibre"]]).value == float(r["value"])
        n += 1
    for r in _ref_rows("grid_ef_regional_mee.csv"):
        for y in (2021, 2022, 2023):
            assert lookup("grid_ef", region=r["region"], year=y, method="average").value == float(r[f"ef_{y}"])
            n += 1
    for r in _ref_rows("grid_ef_provincial_mee.csv"):
        for y in (2021, 2022):
            assert lookup("grid_ef", region=r["province"], year=y, method="average").value == float(r[f"ef_{y}"])
            n += 1
    assert n == 8 + 21 + 60


@needs_reference
def test_coal_coefficients_match_reference_csv(reg: FactorRegistry) -> None:
    rows = reg.factor_set("gbt2589").rows
    stored = {(v, r.unit) for r in rows for v in (r.value, r.value_min, r.value_max) if v is not None}
    for r in _ref_rows("gbt2589_standard_coal_coefficients.csv"):
        for col in ("coefficient_min", "coefficient_max"):
            assert (float(r[col]), r["coef_unit"]) in stored, (r["energy_zh"], r[col])


@needs_reference
def test_fuel_parameters_match_reference_csv() -> None:
    for r in _ref_rows("fuel_ghg_parameters_common.csv"):
        code = {"natural gas (oilfield)": "natural_gas", "refinery dry gas": "refinery_gas", "LPG": "lpg"}.get(
            r["fuel_en"], r["fuel_en"].replace(" ", "_")
        )
        reg = default_registry()
        assert reg.resolve(f"ncv.{code}").row.value == float(r["ncv"])
        assert reg.resolve(f"carbon_content.{code}").row.value == float(r["carbon_content_tC_per_TJ"])
        assert reg.resolve(f"oxidation.{code}").row.value == float(r["oxidation_rate"])
        assert reg.resolve(f"co2_ef.{code}").row.value == float(r["co2_factor"])
