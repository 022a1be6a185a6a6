"""Comprehensive energy consumption (GB/T 2589-2020): hand-computed cases, rules and guards."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest
from accounting_helpers import COAL_COEFFICIENTS, YEAR, make_factors, rec, ref
from hypothesis import given, settings
from hypothesis import strategies as st

from parkcarbon.core.activity import ActivityRecord, Flow, Quality
from parkcarbon.core.energy import MediaRule, coefficient_for, comprehensive_energy
from parkcarbon.core.factorset import ConversionBasis
from parkcarbon.errors import (
    CalculationError,
    ConflictError,
    FactorDataError,
    FactorNotFoundError,
    QuantityError,
    UnitError,
    UnknownCarrierError,
)
from parkcarbon.periods import Month

F = make_factors()
P, C, G, X, N = Flow.PURCHASED, Flow.CONSUMED, Flow.ONSITE_GENERATED, Flow.EXPORTED, Flow.NON_ENERGY_USE


def test_electricity_purchased_plus_onsite_minus_exported() -> None:
    r = comprehensive_energy([rec("e1", "electricity", P, 100_000), rec("e2", "electricity", G, 20_000),
                              rec("e3", "electricity", X, 5_000)], F)
    # (100 000 + 20 000 − 5 000) kWh × 0.1229 kgce/kWh = 14 133.5 kgce
    assert r.total_tce == pytest.approx(14.1335, rel=1e-12)
    assert r.exported_tce == pytest.approx(0.6145, rel=1e-12)
    line = r.lines[0]
    assert line.counted_quantity == 115_000
    assert line.coefficient is not None and line.coefficient.key == "coal.electricity"
    assert r.complete and r.coverage.covered_frac == 1.0


def test_fuels_consumed_minus_non_energy_use_reported_separately() -> None:
    r = comprehensive_energy([rec("c1", "raw_coal", C, 1000), rec("c2", "raw_coal", N, 200),
                              rec("g1", "natural_gas", C, 10_000)], F)
    assert r.by_carrier() == pytest.approx({"natural_gas": 12.143, "raw_coal": 571.44})
    assert r.total_tce == pytest.approx(583.583)
    assert r.non_energy_use_tce == pytest.approx(142.86)
    assert r.total_incl_non_energy_use_tce == pytest.approx(726.443)


def test_heat_steam_variants_and_default_variant_is_noted() -> None:
    r = comprehensive_energy([rec("h1", "heat", P, 1000), rec("s1", "steam", P, 100, subtype="1.0MPa"),
                              rec("s2", "steam", P, 100, subtype="0.3MPa")], F)
    by_key = {(ln.carrier, ln.subtype): ln for ln in r.lines}
    assert by_key[("heat", None)].energy_tce == pytest.approx(34.12)
    assert by_key[("steam", "1.0MPa")].energy_tce == pytest.approx(10.8571)
    default = by_key[("steam", "0.3MPa")]
    assert default.energy_tce == pytest.approx(12.86)
    assert "default variant steam used" in default.note


def test_media_rules() -> None:
    rows = [rec("w1", "fresh_water", P, 1000), rec("a1", "compressed_air", G, 100_000),
            rec("a2", "compressed_air", C, 100_000)]
    counted = comprehensive_energy(rows, F)
    # purchased water counted at 0.2571 kgce/t; in-house compressed air reported only
    assert counted.total_tce == pytest.approx(0.2571)
    assert counted.reported_only_tce == pytest.approx(4.0)
    excluded = comprehensive_energy(rows, F, media_rule=MediaRule.EXCLUDED)
    assert excluded.total_tce == 0.0
    assert excluded.reported_only_tce == pytest.approx(4.2571)
    # excluded media need no coefficient
    no_water = make_factors(coal={k: v for k, v in COAL_COEFFICIENTS.items() if k != "fresh_water"})
    r = comprehensive_energy([rec("w1", "fresh_water", C, 1000)], no_water, media_rule=MediaRule.EXCLUDED)
    assert r.total_tce == 0.0 and r.lines[0].reported_tce is None


def test_media_exports_deducted_and_checked() -> None:
    r = comprehensive_energy([rec("e", "electricity", P, 10_000), rec("a1", "compressed_air", G, 50_000),
                              rec("a2", "compressed_air", X, 10_000)], F)
    assert r.total_tce == pytest.approx(1.229 - 0.4)
    with pytest.raises(CalculationError):
        comprehensive_energy([rec("a1", "compressed_air", P, 10), rec("a2", "compressed_air", X, 20)], F)


def test_primary_input_basis_changes_electricity_only() -> None:
    rows = [rec("e", "electricity", P, 1000), rec("h", "heat", P, 10)]
    r = comprehensive_energy(rows, F, basis=ConversionBasis.PRIMARY_INPUT)
    assert r.by_carrier() == pytest.approx({"electricity": 0.3, "heat": 0.3412})
    assert r.basis is ConversionBasis.PRIMARY_INPUT
    with pytest.raises(FactorNotFoundError):
        comprehensive_energy(rows, make_factors(primary=None), basis=ConversionBasis.PRIMARY_INPUT)


def test_exports_above_supply_raise() -> None:
    with pytest.raises(CalculationError) as exc:
        comprehensive_energy([rec("e1", "electricity", P, 100), rec("e2", "electricity", X, 101)], F)
    assert exc.value.code == "E-CALC" and "外供" in exc.value.message_zh


def test_non_energy_use_above_consumption_raises() -> None:
    with pytest.raises(CalculationError):
        comprehensive_energy([rec("c1", "raw_coal", C, 10), rec("c2", "raw_coal", N, 11)], F)


def test_missing_record_makes_total_partial_never_zero() -> None:
    r = comprehensive_energy([rec("e1", "electricity", P, None), rec("c1", "raw_coal", C, 100)], F)
    assert not r.complete
    assert r.coverage.missing_records == ("e1",)
    assert r.by_carrier()["electricity"] is None
    assert r.total_tce == pytest.approx(71.43)
    assert r.structure_frac() is None
    assert "partial" in r.trace[-1].note
    assert math.isnan(r.trace[0].result)


def test_carrier_without_coefficient_raises() -> None:
    with pytest.raises(FactorNotFoundError) as exc:
        comprehensive_energy([rec("k1", "coke_oven_gas", C, 100)], F)
    assert "coke_oven_gas" in str(exc.value)


def test_kgce_vs_tce_mix_up_cannot_pass() -> None:
    rows = [rec("e1", "electricity", P, 1000)]
    kgce_unit = make_factors(coal={**COAL_COEFFICIENTS, "electricity": (0.1229, "kgce/kWh")})
    with pytest.raises(UnitError, match="tce/kWh"):
        comprehensive_energy(rows, kgce_unit)
    mislabelled = make_factors(coal={**COAL_COEFFICIENTS, "electricity": (0.1229, "tce/kWh")})
    with pytest.raises(FactorDataError, match="plausible range"):
        comprehensive_energy(rows, mislabelled)
    # tce/t of coal mislabelled value in kgce/t (×1000) → out of range
    with pytest.raises(FactorDataError):
        comprehensive_energy([rec("c", "raw_coal", C, 1)],
                             make_factors(coal={**COAL_COEFFICIENTS, "raw_coal": (714.3, "tce/t")}))
    # the same quantity in an equivalent unit is accepted: kgce/kg ≡ tce/t
    ok = make_factors(coal={**COAL_COEFFICIENTS, "raw_coal": (0.7143, "kgce/kg")})
    assert comprehensive_energy([rec("c", "raw_coal", C, 1)], ok).total_tce == pytest.approx(0.7143)


def test_coefficient_for_checks_range_and_unit() -> None:
    got, value, note = coefficient_for("raw_coal", None, F)
    assert got is not None and value == 0.7143 and note == ""
    assert coefficient_for("coke_oven_gas", None, F, required=False)[0] is None


def test_duplicates_and_bad_flows() -> None:
    with pytest.raises(ConflictError):
        comprehensive_energy([rec("a", "electricity", P, 1), rec("b", "electricity", P, 1)], F)
    with pytest.raises(ConflictError):
        comprehensive_energy([rec("a", "electricity", P, 1), rec("a", "raw_coal", C, 1)], F)
    with pytest.raises(CalculationError, match="flow"):
        comprehensive_energy([rec("a", "electricity", C, 1)], F)
    with pytest.raises(CalculationError):
        comprehensive_energy([rec("a", "electricity", P, 1, month=Month(YEAR - 1, 12))], F)


def test_fuel_transfer_rows_kept_but_not_counted() -> None:
    r = comprehensive_energy([rec("d1", "diesel", C, 2), rec("d2", "diesel", P, 5)], F)
    assert r.total_tce == pytest.approx(2 * 1.4571)
    assert "purchased kept for information" in r.lines[0].note
    assert r.lines[0].quantity(P) == 5 and r.lines[0].quantity(X) == 0.0


def test_bad_input_rejected_at_the_ledger() -> None:
    with pytest.raises(UnknownCarrierError):
        rec("x", "unobtainium", C, 1)
    with pytest.raises(QuantityError):
        rec("x", "diesel", C, -1)
    with pytest.raises(QuantityError):
        rec("x", "diesel", C, math.nan)
    with pytest.raises(QuantityError):
        ActivityRecord("x", "E1", Month(YEAR, 1), "diesel", C, None, quality=Quality.MEASURED)


def test_subset_by_enterprise_and_month_and_structure() -> None:
    rows = [rec("a", "electricity", P, 10_000, enterprise="A"), rec("b", "raw_coal", C, 10, enterprise="B"),
            rec("c", "raw_coal", C, 10, enterprise="B", month=Month(YEAR, 2))]
    r = comprehensive_energy(rows, F)
    assert r.enterprises() == ("A", "B") and r.months() == (Month(YEAR, 1), Month(YEAR, 2))
    assert r.subset(enterprise_id="B").total_tce == pytest.approx(14.286)
    assert r.subset(months=[Month(YEAR, 1)]).total_tce == pytest.approx(1.229 + 7.143)
    shares = r.structure_frac()
    assert shares is not None and sum(shares.values()) == pytest.approx(1.0)


_CARRIERS = st.sampled_from([("electricity", P), ("electricity", G), ("raw_coal", C), ("natural_gas", C),
                             ("diesel", C), ("heat", P), ("fresh_water", P), ("steam", P)])


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(1, 12), _CARRIERS,
                            st.floats(0, 1e7, allow_nan=False)), max_size=25),
    seed=st.integers(0, 2**16),
)
def test_order_independence(rows: list[tuple[str, int, tuple[str, Flow], float]], seed: int) -> None:
    seen: set[tuple[str, int, str, Flow]] = set()
    records = []
    for i, (ent, m, (code, flow), q) in enumerate(rows):
        if (ent, m, code, flow) in seen:
            continue
        seen.add((ent, m, code, flow))
        records.append(rec(f"r{i}", code, flow, q, enterprise=ent, month=Month(YEAR, m)))
    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)
    a, b = comprehensive_energy(records, F), comprehensive_energy(shuffled, F)
    assert a == b
    assert a.total_tce == b.total_tce
    assert a.total_tce == pytest.approx(math.fsum(a.subset(enterprise_id=e).total_tce for e in a.enterprises()))


def test_trace_cites_records_and_factor_source() -> None:
    r = comprehensive_energy([rec("e1", "electricity", P, 1000)], F)
    step = r.trace[0]
    assert step.records == ("e1",) and step.factors[0].source == "test" and step.result_unit == "tce"
    assert dict(step.inputs)["purchased_kWh"] == 1000


def test_factor_ref_value_nan_rejected() -> None:
    bad = make_factors()
    bad = replace(bad, coal_coefficients={**bad.coal_coefficients, "diesel": ref("coal.diesel", math.nan, "tce/t")})
    with pytest.raises(FactorDataError):
        comprehensive_energy([rec("d", "diesel", C, 1)], bad)


def test_carrier_kind_without_a_range_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from parkcarbon.core import energy
    from parkcarbon.core.carriers import CarrierKind

    monkeypatch.delitem(energy.COEFFICIENT_RANGES, (CarrierKind.FOSSIL_SOLID, "t"))
    with pytest.raises(FactorDataError, match="no plausible range"):
        comprehensive_energy([rec("c", "raw_coal", C, 1)], F)
