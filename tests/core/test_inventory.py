"""Enterprise and park inventories: consistency, park = Σ enterprises, order independence."""

from __future__ import annotations

import math
import random
from dataclasses import fields

import pytest
from accounting_helpers import YEAR, make_factors, rec
from hypothesis import given, settings
from hypothesis import strategies as st

from parkcarbon.core.activity import ActivityRecord, Flow
from parkcarbon.core.ghg import CarbonateInput
from parkcarbon.core.indicators import EconomicData
from parkcarbon.core.inventory import (
    InventoryOptions,
    InventoryTotals,
    compare_inventories,
    enterprise_inventory,
    park_inventory,
)
from parkcarbon.core.scope2 import AllocationRule, GreenCertificate, Instruments, MarketMethod
from parkcarbon.errors import CalculationError, ConflictError
from parkcarbon.periods import Month

F = make_factors()
OPTS = InventoryOptions(market_method=MarketMethod(AllocationRule.RESIDUAL_EXCL_MARKET))
P, C, G, X = Flow.PURCHASED, Flow.CONSUMED, Flow.ONSITE_GENERATED, Flow.EXPORTED
JAN, FEB = Month(YEAR, 1), Month(YEAR, 2)


def _rows(ent: str = "E1") -> list[ActivityRecord]:
    return [
        rec(f"{ent}-e1", "electricity", P, 1_000_000, enterprise=ent),
        rec(f"{ent}-e2", "electricity", X, 100_000, enterprise=ent),
        rec(f"{ent}-c1", "raw_coal", C, 500, enterprise=ent),
        rec(f"{ent}-s1", "steam", P, 200, enterprise=ent),
        rec(f"{ent}-g1", "natural_gas", C, 50_000, enterprise=ent, month=FEB),
    ]


def test_enterprise_inventory_totals_are_consistent() -> None:
    certs = tuple(GreenCertificate(f"S{i}", "E1", JAN, JAN, "wind") for i in range(200))
    inv = enterprise_inventory("E1", _rows(), F, OPTS, instruments=Instruments(certificates=certs),
                               carbonates=[CarbonateInput("p", "E1", JAN, "CaCO3", 10.0, 1.0)],
                               economic=EconomicData(2000.0, 1.0, 2020, (("widget", 1000.0, "t"),)))
    t = inv.totals
    assert t.total_location_tco2 == pytest.approx(inv.ghg.total_tco2)
    assert t.scope2_location_tco2 == pytest.approx(1000 * 0.5366 + 200 * 2.76 * 0.11)
    assert t.scope2_market_tco2 == pytest.approx(800 * 0.5856 + 200 * 2.76 * 0.11)
    assert t.total_market_tco2 == pytest.approx(t.scope1_tco2 + t.scope2_market_tco2 - t.exported_tco2)
    assert t.process_tco2 == pytest.approx(4.397)
    assert t.energy_related_location_tco2 == pytest.approx(t.total_location_tco2 - 4.397)
    assert t.green_electricity_kwh == 200_000 and t.complete
    assert inv.months == (JAN, FEB)
    assert inv.indicator("energy_intensity_added_value").value == pytest.approx(t.energy_tce / 2000.0)
    assert inv.indicator("carbon_per_energy_location").value == pytest.approx(
        t.energy_related_location_tco2 / t.energy_tce)
    assert inv.indicator("energy_per_unit_product:widget").unit == "tce/t"
    assert inv.coverage.complete and len(inv.trace) > 5
    with pytest.raises(KeyError):
        inv.indicator("nope")


def test_missing_economic_data_gives_reasons() -> None:
    inv = enterprise_inventory("E1", _rows(), F, OPTS, economic=EconomicData(added_value_10k_cny=100.0))
    ind = inv.indicator("energy_intensity_added_value")
    assert ind.value is None and "price index" in (ind.reason or "")
    assert inv.indicator("energy_intensity_added_value_current_prices").value is not None
    none = enterprise_inventory("E1", _rows(), F, OPTS)
    assert none.indicator("energy_intensity_added_value").reason == "added value missing"


def test_monthly_inventory() -> None:
    jan = enterprise_inventory("E1", _rows(), F, OPTS, months=[JAN])
    feb = enterprise_inventory("E1", _rows(), F, OPTS, months=[FEB])
    year = enterprise_inventory("E1", _rows(), F, OPTS)
    assert jan.months == (JAN,) and jan.totals.energy_tce + feb.totals.energy_tce == pytest.approx(year.totals.energy_tce)
    with pytest.raises(CalculationError):
        enterprise_inventory("E1", _rows(), F, OPTS, months=[Month(YEAR + 1, 1)])


def test_missing_record_marks_inventory_partial() -> None:
    rows = [*_rows(), rec("E1-x", "diesel", C, None)]
    inv = enterprise_inventory("E1", rows, F, OPTS)
    assert not inv.totals.complete and inv.coverage.missing_records == ("E1-x",)
    assert inv.indicator("carbon_per_energy_location").value is None


def test_park_double_claim_across_enterprises_and_outsiders() -> None:
    rows = _rows("A") + _rows("B")
    dup = Instruments(certificates=(GreenCertificate("S1", "A", JAN, JAN, "wind"),
                                    GreenCertificate("S1", "B", FEB, JAN, "wind")))
    with pytest.raises(ConflictError):
        park_inventory("P", rows, F, OPTS, instruments=dup)
    with pytest.raises(CalculationError, match="outside park"):
        park_inventory("P", rows, F, OPTS, enterprise_ids=["A"])


def test_compare_inventories_year_on_year() -> None:
    cur = enterprise_inventory("E1", _rows(), F, OPTS)
    prev_rows = [rec(r.record_id, r.carrier, r.flow, (r.quantity or 0) * 1.25, month=Month(YEAR - 1, r.month.month),
                     subtype=r.subtype) for r in _rows()]
    prev = enterprise_inventory("E1", prev_rows, make_factors(year=YEAR - 1), OPTS)
    changes = compare_inventories(cur, prev)
    assert changes["energy_tce"].relative_frac == pytest.approx(1 / 1.25 - 1)
    assert changes["carbon_per_energy_location"].relative_frac == pytest.approx(0.0, abs=1e-12)


_ROW = st.tuples(
    st.sampled_from(["A", "B", "C", "D"]),
    st.integers(1, 6),
    st.sampled_from([("electricity", P), ("electricity", G), ("electricity", X), ("raw_coal", C),
                     ("natural_gas", C), ("steam", P), ("steam", X), ("fresh_water", P), ("biomass", C)]),
    st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False)),
)


def _build(rows: list[tuple[str, int, tuple[str, Flow], float | None]]) -> list[ActivityRecord]:
    out: list[ActivityRecord] = []
    supplied: dict[tuple[str, int, str], float | None] = {}
    seen: set[tuple[str, int, str, Flow]] = set()
    for i, (ent, m, (code, flow), q) in enumerate(rows):
        if (ent, m, code, flow) in seen:
            continue
        if flow is X:  # exports only after a purchase of the same carrier, and at most half of it
            if (ent, m, code) not in supplied:
                continue
            bought = supplied[(ent, m, code)]
            q = None if q is None or bought is None else min(q, bought / 2)
        elif flow is P:
            supplied[(ent, m, code)] = q
        seen.add((ent, m, code, flow))
        out.append(rec(f"r{i}", code, flow, q, enterprise=ent, month=Month(YEAR, m)))
    return out


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(_ROW, max_size=30), n_certs=st.integers(0, 50), seed=st.integers(0, 10_000))
def test_park_is_exactly_the_sum_of_enterprises_and_order_free(
    rows: list[tuple[str, int, tuple[str, Flow], float | None]], n_certs: int, seed: int
) -> None:
    records = _build(rows)
    certs = tuple(GreenCertificate(f"S{i}", "AB"[i % 2], JAN, JAN, "solar") for i in range(n_certs))
    inst = Instruments(certificates=certs)
    carb = [CarbonateInput("k1", "C", JAN, "CaCO3", 5.0, 0.9)]
    park = park_inventory("P", records, F, OPTS, instruments=inst, carbonates=carb)
    for f in fields(InventoryTotals):
        if f.name == "complete":
            assert park.totals.complete == all(e.totals.complete for e in park.enterprises)
            continue
        parts = [getattr(e.totals, f.name) for e in park.enterprises]
        expected = None if any(p is None for p in parts) else math.fsum(parts)
        assert getattr(park.totals, f.name) == expected, f.name
    # each enterprise in the park is what it is alone (same code path)
    for e in park.enterprises:
        alone = enterprise_inventory(e.enterprise_id, records, F, OPTS, instruments=inst, carbonates=carb)
        assert alone == e
    # order of records, instruments and enterprises does not matter
    rnd = random.Random(seed)
    shuffled = list(records)
    rnd.shuffle(shuffled)
    again = park_inventory("P", shuffled, F, OPTS, instruments=Instruments(certificates=tuple(reversed(certs))),
                           carbonates=carb)
    assert again.totals == park.totals
    assert again.indicators == park.indicators
    assert [e.totals for e in again.enterprises] == [e.totals for e in park.enterprises]
