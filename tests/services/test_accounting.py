"""Accounting use cases on a real store: ledger → factors → core, and the park = Σ enterprises rule."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from parkcarbon.core.inventory import park_inventory
from parkcarbon.core.scope2 import GreenCertificate, Instruments, check_instruments
from parkcarbon.errors import ConflictError, FactorNotFoundError
from parkcarbon.factors import FallbackPolicy
from parkcarbon.periods import Month
from parkcarbon.services.accounting import (
    DEFAULT_OPTIONS,
    FactorConfig,
    account_enterprise_year,
    account_park_year,
    certificate_serials,
)
from parkcarbon.services.demo import load_demo_park
from parkcarbon.services.demo_park import DemoPark, build_demo_park
from parkcarbon.storage import Store, open_store

YEAR = 2024
CONFIG = FactorConfig(policy=FallbackPolicy.REGION_THEN_YEAR)


def small_park() -> DemoPark:
    """The demo park cut to eight enterprises (one of each sector and the PV/GEC/feedstock cases), 2023–2024."""
    park = build_demo_park()
    keep = {"E001", "E010", "E011", "E016", "E024", "E031", "E038", "E044"}
    months = {Month(y, m) for y in (2023, 2024) for m in range(1, 13)}
    return replace(
        park,
        enterprises=tuple(e for e in park.enterprises if e.enterprise_id in keep),
        records=tuple(r for r in park.records if r.enterprise_id in keep and r.month in months),
        production=tuple(p for p in park.production if p.enterprise_id in keep and p.month in months),
        pv_assets=tuple(p for p in park.pv_assets if p.enterprise_id in keep),
        storage_assets=tuple(s for s in park.storage_assets if s.enterprise_id in keep),
        contracts=tuple(c for c in park.contracts if c.enterprise_id in keep and c.month in months),
        certificates=tuple(c for c in park.certificates if c.enterprise_id in keep and c.claimed_month in months),
        process_inputs=tuple(p for p in park.process_inputs if p.enterprise_id in keep and p.month in months),
    )


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, DemoPark]:
    park = small_park()
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('acc') / 'park.sqlite'}")
    load_demo_park(store, park)
    yield store, park
    store.dispose()


def test_park_equals_sum_of_enterprises_through_the_store(loaded: tuple[Store, DemoPark]) -> None:
    store, park = loaded
    run = account_park_year(store, park.park_id, YEAR, CONFIG)
    assert len(run.inventory.enterprises) == len(park.enterprises)
    singles = [account_enterprise_year(store, e.enterprise_id, YEAR, CONFIG) for e in park.enterprises]
    assert run.inventory.totals.energy_tce == math.fsum(s.totals.energy_tce for s in singles)
    assert run.inventory.totals.total_location_tco2 == math.fsum(s.totals.total_location_tco2 for s in singles)
    assert run.inventory.totals.total_market_tco2 == math.fsum(s.totals.total_market_tco2 for s in singles)
    for s in singles:
        assert run.inventory.enterprise(s.enterprise_id).totals == s.totals


def test_store_round_trip_does_not_change_numbers(loaded: tuple[Store, DemoPark]) -> None:
    store, park = loaded
    run = account_park_year(store, park.park_id, YEAR, CONFIG)
    direct = park_inventory(park.park_id, [r for r in park.records if r.month.year == YEAR], run.factors,
                            DEFAULT_OPTIONS, enterprise_ids=[e.enterprise_id for e in park.enterprises])
    assert direct.totals.energy_tce == pytest.approx(run.inventory.totals.energy_tce, rel=1e-12)
    # combustion and purchased electricity do not depend on instruments or carbonates
    assert direct.totals.combustion_tco2 == pytest.approx(run.inventory.totals.combustion_tco2, rel=1e-12)
    assert direct.totals.scope2_location_tco2 == pytest.approx(run.inventory.totals.scope2_location_tco2,
                                                               rel=1e-12)


def test_carbonates_and_instruments_come_from_the_store(loaded: tuple[Store, DemoPark]) -> None:
    store, park = loaded
    run = account_park_year(store, park.park_id, YEAR, CONFIG)
    expected_process = math.fsum(p.mass_t * 0.4397 for p in park.process_inputs if p.month.year == YEAR)
    assert run.inventory.totals.process_tco2 == pytest.approx(expected_process, rel=1e-4)
    t = run.inventory.totals
    assert t.green_electricity_kwh > 0
    # market-based: credited green kWh at 0, the remainder at the residual ("excluding market-traded
    # non-fossil") factor, which can exceed the location-based grid average
    residual = run.factors.grid_ef_residual
    assert residual is not None
    expected = (t.purchased_electricity_kwh - t.green_electricity_kwh) / 1000 * residual.value
    assert t.purchased_electricity_market_tco2 == pytest.approx(expected, rel=1e-9)


def test_strict_policy_refuses_unpublished_year(loaded: tuple[Store, DemoPark]) -> None:
    store, park = loaded
    with pytest.raises(FactorNotFoundError) as info:
        account_park_year(store, park.park_id, YEAR, FactorConfig(policy=FallbackPolicy.STRICT))
    assert info.value.code == "E-FACTOR-MISSING"


def test_declared_fallback_is_recorded() -> None:
    factors = CONFIG.factors("江苏", 2024)
    assert factors.grid_ef_location.fallback_note
    assert any("2023" in n for n in factors.warnings)


def test_certificate_batches_expand_to_consecutive_serials() -> None:
    assert certificate_serials("GEC2024000000098", 3) == ["GEC2024000000098", "GEC2024000000099", "GEC2024000000100"]
    assert certificate_serials("ABC", 1) == ["ABC"]


def test_overlapping_certificate_batches_are_a_double_claim() -> None:
    a = [GreenCertificate(s, "E1", Month(2024, 6), Month(2023, 12), "solar") for s in certificate_serials("G100", 5)]
    b = [GreenCertificate(s, "E2", Month(2024, 6), Month(2023, 12), "solar") for s in certificate_serials("G103", 5)]
    with pytest.raises(ConflictError):
        check_instruments(Instruments(certificates=tuple(a + b)))


def test_enterprise_of_another_tenant_is_not_found(loaded: tuple[Store, DemoPark], tmp_path: Path) -> None:
    from parkcarbon.errors import NotFoundError

    store, _ = loaded
    with pytest.raises(NotFoundError):
        account_enterprise_year(store, "E001", YEAR, CONFIG, tenant_id="someone-else")


def test_a_month_without_records_is_missing_not_zero(tmp_path: Path) -> None:
    park = small_park()
    gap = Month(YEAR, 7)
    park = replace(park, records=tuple(r for r in park.records if not (r.enterprise_id == "E001" and r.month == gap)))
    store = open_store(f"sqlite:///{tmp_path / 'gap.sqlite'}")
    try:
        load_demo_park(store, park)
        run = account_park_year(store, park.park_id, YEAR, CONFIG)
    finally:
        store.dispose()
    ent = run.inventory.enterprise("E001")
    assert ent.months_without_records == (gap,)
    assert not ent.totals.complete and not run.inventory.totals.complete
    assert run.inventory.indicator("energy_intensity_added_value").value is None
    assert all(e.totals.complete for e in run.inventory.enterprises if e.enterprise_id != "E001")
