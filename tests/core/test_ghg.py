"""GB/T 32150-2015 emissions: hand-computed cases per source, scope split, guards."""

from __future__ import annotations

import math
import random

import pytest
from accounting_helpers import FUELS, YEAR, make_factors, rec
from hypothesis import given, settings
from hypothesis import strategies as st

from parkcarbon.core.activity import Flow, Quality
from parkcarbon.core.ghg import CarbonateInput, SourceCategory, combustion_emissions_tco2, ghg_emissions
from parkcarbon.errors import (
    CalculationError,
    ConflictError,
    FactorDataError,
    FactorNotFoundError,
    QuantityError,
    UnitError,
)
from parkcarbon.periods import Month

F = make_factors()
P, C, G, X, N = Flow.PURCHASED, Flow.CONSUMED, Flow.ONSITE_GENERATED, Flow.EXPORTED, Flow.NON_ENERGY_USE
JAN = Month(YEAR, 1)


def test_combustion_formula() -> None:
    # 1000 t × 20 GJ/t × 0.02749 tC/GJ × 0.94 × 44/12 = 516.812 × 44/12 = 1894.9773 tCO2
    assert combustion_emissions_tco2(1000, 20, 0.02749, 0.94) == pytest.approx(1894.977333, rel=1e-9)


def test_fuel_lines_scope1_and_non_energy_use_excluded() -> None:
    r = ghg_emissions([rec("c1", "raw_coal", C, 100), rec("c2", "raw_coal", N, 20),
                       rec("g1", "natural_gas", C, 10_000)], F)
    coal = 80 * 20.908 * 0.02637 * 0.94 * 44 / 12
    gas = 10_000 * 0.038931 * 0.0153 * 0.99 * 44 / 12
    assert r.combustion_tco2 == pytest.approx(coal + gas, rel=1e-12)
    assert r.scope1_tco2 == r.combustion_tco2 and r.total_tco2 == pytest.approx(coal + gas)
    line = next(ln for ln in r.lines if ln.source_key == "raw_coal")
    assert line.activity == 80 and line.scope == 1
    assert line.emission_factor == pytest.approx(1.9003, abs=1e-4)  # NOTES §2.3 derived EF of raw coal
    assert {f.key for f in line.factors} == {"ncv.raw_coal", "cc.raw_coal", "of.raw_coal"}


def test_purchased_and_exported_electricity_and_heat() -> None:
    r = ghg_emissions([rec("e1", "electricity", P, 1_000_000), rec("e2", "electricity", X, 100_000),
                       rec("e3", "electricity", G, 50_000), rec("h1", "heat", P, 1000),
                       rec("s1", "steam", P, 100), rec("s2", "steam", X, 10)], F)
    assert r.purchased_electricity_tco2 == pytest.approx(1000 * 0.5366)
    assert r.purchased_heat_tco2 == pytest.approx(1000 * 0.11 + 100 * 2.76 * 0.11)
    assert r.scope2_tco2 == pytest.approx(536.6 + 110 + 30.36)
    assert r.exported_tco2 == pytest.approx(100 * 0.5366 + 10 * 2.76 * 0.11)
    assert r.total_tco2 == pytest.approx(536.6 + 110 + 30.36 - 53.66 - 3.036)
    assert not any(ln.source_key == "electricity" and ln.activity == 50 for ln in r.lines)  # on-site PV: none
    cats = r.by_category()
    assert cats[SourceCategory.EXPORTED_ELECTRICITY] == pytest.approx(53.66)
    exported = next(ln for ln in r.lines if ln.category is SourceCategory.EXPORTED_ELECTRICITY)
    assert exported.signed_tco2 == pytest.approx(-53.66) and exported.scope is None


def test_process_carbonates_with_calcination_fraction() -> None:
    items = [CarbonateInput("p1", "E1", JAN, "CaCO3", 100.0, 0.98), CarbonateInput("p2", "E1", JAN, "MgCO3", 10.0, 1.0)]
    r = ghg_emissions([], F, carbonates=items)
    assert r.process_tco2 == pytest.approx(100 * 0.98 * 0.4397 + 10 * 0.5220)
    assert r.scope1_tco2 == r.process_tco2
    assert r.energy_related_tco2 == 0.0
    with pytest.raises(FactorNotFoundError):
        ghg_emissions([], F, carbonates=[CarbonateInput("p3", "E1", JAN, "FeCO3", 1.0, 1.0)])
    with pytest.raises(QuantityError, match=r"0\.\.1"):
        CarbonateInput("p4", "E1", JAN, "CaCO3", 1.0, 98)
    with pytest.raises(QuantityError):
        CarbonateInput("p5", "E1", JAN, "CaCO3", -1.0, 1.0)
    with pytest.raises(ConflictError):
        ghg_emissions([], F, carbonates=[items[0], CarbonateInput("p9", "E1", JAN, "CaCO3", 1.0, 1.0)])
    missing = CarbonateInput("p6", "E1", JAN, "CaCO3", None, 1.0, quality=Quality.MISSING)
    partial = ghg_emissions([], F, carbonates=[missing, items[1]])
    assert not partial.complete and partial.process_tco2 == pytest.approx(5.22)


def test_biomass_is_memo_not_in_total() -> None:
    r = ghg_emissions([rec("b1", "biomass", C, 100), rec("d1", "diesel", C, 1)], F)
    assert r.biomass_co2_tco2 == pytest.approx(100 * 15 * 0.03 * 0.9 * 44 / 12)
    assert r.total_tco2 == pytest.approx(1 * 42.652 * 0.0202 * 0.98 * 44 / 12)


def test_media_have_no_direct_emissions() -> None:
    assert ghg_emissions([rec("w", "fresh_water", P, 100)], F).lines == ()


def test_missing_factors_and_mixups() -> None:
    with pytest.raises(FactorNotFoundError):
        ghg_emissions([rec("k", "coke_oven_gas", C, 100)], F)
    # NCV in GJ/10^4 Nm3 (389.31) where GJ/m3 is required → unit error, not a ×10^4 error
    bad_gas = make_factors(fuels={**FUELS, "natural_gas": (389.31, "GJ/10^4Nm3", 0.0153, 0.99)})
    with pytest.raises(UnitError):
        ghg_emissions([rec("g", "natural_gas", C, 1)], bad_gas)
    # grid factor given in kgCO2/kWh is the same unit as tCO2/MWh: accepted
    ok = ghg_emissions([rec("e", "electricity", P, 1000)], make_factors(grid=0.5568))
    assert ok.scope2_tco2 == pytest.approx(0.5568)
    # a grid factor in g/kWh labelled tCO2/MWh is out of range
    with pytest.raises(FactorDataError):
        ghg_emissions([rec("e", "electricity", P, 1000)], make_factors(grid=556.8))
    # oxidation as a percentage (94) → out of the fraction range
    with pytest.raises(FactorDataError):
        ghg_emissions([rec("c", "raw_coal", C, 1)],
                      make_factors(fuels={**FUELS, "raw_coal": (20.908, "GJ/t", 0.02637, 94.0)}))
    with pytest.raises(CalculationError):
        ghg_emissions([rec("c1", "raw_coal", C, 1), rec("c2", "raw_coal", N, 2)], F)


def test_missing_activity_is_partial() -> None:
    r = ghg_emissions([rec("e", "electricity", P, None), rec("d", "diesel", C, 1)], F)
    assert not r.complete and r.coverage.missing_records == ("e",)
    assert r.scope2_tco2 == 0.0 and r.scope1_tco2 > 0
    assert math.isnan(next(s for s in r.trace if "e" in s.records).result)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(st.tuples(st.sampled_from(["A", "B"]), st.integers(1, 12),
                            st.sampled_from([("electricity", P), ("raw_coal", C), ("natural_gas", C),
                                             ("steam", P), ("diesel", C), ("biomass", C)]),
                            st.floats(0, 1e6, allow_nan=False)), max_size=20),
    seed=st.integers(0, 2**16),
)
def test_order_independence(rows: list[tuple[str, int, tuple[str, Flow], float]], seed: int) -> None:
    records, seen = [], set()
    for i, (ent, m, (code, flow), q) in enumerate(rows):
        if (ent, m, code) not in seen:
            seen.add((ent, m, code))
            records.append(rec(f"r{i}", code, flow, q, enterprise=ent, month=Month(YEAR, m)))
    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)
    a, b = ghg_emissions(records, F), ghg_emissions(shuffled, F)
    assert a == b and a.total_tco2 == b.total_tco2
    for ent in ("A", "B"):
        assert a.subset(enterprise_id=ent).lines == tuple(ln for ln in a.lines if ln.enterprise_id == ent)


def test_fuel_unit_without_an_ncv_range_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from parkcarbon.core import ghg

    monkeypatch.delitem(ghg.NCV_RANGES, "t")
    with pytest.raises(FactorDataError, match="NCV range"):
        ghg_emissions([rec("c", "raw_coal", C, 1)], F)


@pytest.mark.parametrize(
    ("ncv_gj", "cc_tc_per_tj", "of", "ef"),
    [  # NOTES §2.3: NCV, CC [tC/TJ], OF → derived EF [tCO2/t] (or [kgCO2/m3] for natural gas)
        (20.908, 26.37, 0.94, 1.9003),
        (28.435, 29.5, 0.93, 2.8604),
        (41.816, 20.1, 0.98, 3.0202),
        (41.816, 21.1, 0.98, 3.1705),
        (43.070, 18.9, 0.98, 2.9251),
        (43.070, 19.5, 0.98, 3.0179),
        (42.652, 20.2, 0.98, 3.0959),
        (50.179, 17.2, 0.98, 3.1013),
        (46.055, 18.2, 0.98, 3.0119),
        (38.931e-3, 15.3, 0.99, 2.1622e-3),
    ],
)
def test_reference_fuel_emission_factors(ncv_gj: float, cc_tc_per_tj: float, of: float, ef: float) -> None:
    from parkcarbon.units import convert

    cc = convert(cc_tc_per_tj, "tC/TJ", "tC/GJ")
    assert combustion_emissions_tco2(1.0, ncv_gj, cc, of) == pytest.approx(ef, abs=ef * 5e-5)
