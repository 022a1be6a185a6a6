"""The demo park generator: deterministic, complete, and shaped like the parks it models."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

from parkcarbon.core.activity import Flow, Quality
from parkcarbon.periods import Month
from parkcarbon.services.demo_park import DEMO_FIRST_MONTH, DEMO_LAST_MONTH, build_demo_park


def test_same_seed_same_park_other_seed_other_park() -> None:
    a, b, c = build_demo_park(7), build_demo_park(7), build_demo_park(8)
    assert a == b
    assert a.records != c.records


def test_size_sectors_and_period() -> None:
    park = build_demo_park()
    assert len(park.enterprises) >= 40
    sectors = Counter(e.sector for e in park.enterprises)
    assert set(sectors) == {"equipment_forging", "chemicals", "textiles", "food", "electronics",
                            "building_materials", "services"}
    months = {r.month for r in park.records}
    assert min(months) == DEMO_FIRST_MONTH == Month(2020, 1)
    assert max(months) == DEMO_LAST_MONTH == Month(2025, 12)
    assert len(months) == 72
    # every enterprise has production and added value for every month
    assert len(park.production) == len(park.enterprises) * 72
    assert all(p.added_value_10k_cny > 0 for p in park.production)


def test_record_ids_unique_and_quantities_valid() -> None:
    park = build_demo_park()
    ids = [r.record_id for r in park.records]
    assert len(ids) == len(set(ids))
    for r in park.records:
        if r.quantity is None:
            assert r.quality is Quality.MISSING
        else:
            assert r.quantity >= 0


def test_has_pv_storage_green_power_certificates_feedstock_and_a_gap() -> None:
    park = build_demo_park()
    assert park.pv_assets and park.storage_assets
    assert {c.kind for c in park.contracts} == {"green_power_trade", "direct_supply"}
    assert park.certificates and all(c.count > 0 for c in park.certificates)
    assert any(r.flow is Flow.NON_ENERGY_USE for r in park.records)
    assert any(r.flow is Flow.ONSITE_GENERATED for r in park.records)
    estimated = [r for r in park.records if r.quality is Quality.ESTIMATED]
    assert len(estimated) == 1 and estimated[0].quantity  # a gap is a flagged estimate, never 0
    assert park.process_inputs


def test_certificate_serials_do_not_overlap() -> None:
    park = build_demo_park()
    spans = sorted((int(c.serial_first[7:]), c.count) for c in park.certificates)
    for (a, n), (b, _) in pairwise(spans):
        assert a + n <= b
