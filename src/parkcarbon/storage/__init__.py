"""parkcarbon.storage — the relational store (SQLAlchemy 2 + Alembic; SQLite default, PostgreSQL).

Public API (everything else in this package is internal)::

    from parkcarbon.storage import open_store

    store = open_store()                       # URL from settings (PARKCARBON_DATABASE_URL),
                                               # default sqlite:///<data dir>/parkcarbon.sqlite
    store = open_store("sqlite:///park.sqlite")            # creates + migrates to head
    store = open_store("postgresql://postgres@127.0.0.1/x")  # psycopg 3

    with store.transaction() as repo:          # one write transaction: all-or-nothing
        park = repo.add_park(code="BJ", name="滨江低碳产业园", province="江苏", park_id=None)
        ent = repo.add_enterprise(name="…", park_id=park.id, enterprise_id="E01",   # id optional
                                  credit_code="91320…(18)", industry_code="C3391", province="江苏",
                                  key_energy_unit=True, green_factory_level="national")
        repo.put_activity_records([ActivityRecord(...), ...])   # versioned ledger rows
        repo.put_production(enterprise_id="E01", period=Month(2025, 3),   # or period=2025
                            gross_output_value_10k_cny=1200.0, added_value_10k_cny=300.0,
                            price_basis="comparable", base_year=2020,
                            product_name="锻件", product_output=420.0, product_unit="t")
        repo.add_pv_asset(enterprise_id="E01", capacity_kwp=800, commissioned=Month(2021, 6),
                          tilt_deg=20, azimuth_deg=180, asset_id="PV01")
        repo.add_storage_asset(enterprise_id="E01", power_kw=500, energy_kwh=1000,
                               round_trip_efficiency_frac=0.88, commissioned=Month(2023, 1))
        repo.add_green_power_contract(enterprise_id="E01", kind="green_power_trade",   # | "direct_supply"
                                      counterparty="…风电", technology="wind", price_cny_per_kwh=0.42,
                                      contract_id="C01", deliveries={Month(2024, 1): 120_000.0})
        repo.put_green_power_delivery("C01", Month(2024, 2), 110_000.0)
        repo.add_green_certificates(serial="GEC-…", enterprise_id="E01", vintage=Month(2024, 1),
                                    technology="solar", count=50, claimed_month=Month(2024, 3))
        repo.set_period_status("E01", Month(2024, 3), "submitted", by="alice")  # R7 lifecycle

    with store.reader() as repo:
        records: list[ActivityRecord] = repo.activity_records(park_id=park.id,
                                                              first="2024-01", last="2024-12")
        repo.production_records(enterprise_ids=["E01"], first="2024-01", last="2024-12")
        repo.green_power(enterprise_ids=["E01"], first="2024-01", last="2024-12")  # -> [GreenPowerMonth]
        repo.green_certificates(enterprise_ids=["E01"], claimed_first="2024-01", claimed_last="2024-12")
        repo.energy_assets(kind="pv"), repo.list_enterprises(park_id=park.id), repo.get_enterprise("E01")

    store.backup("backup.sqlite")   # SQLite online backup API / pg_dump -Fc (R18)
    store.integrity_check()          # ['ok']

Store (``engine.py``): :func:`open_store` (``url=None, *, settings=None, create=True, migrate=True``),
:class:`Store` (``transaction()``, ``reader()``, ``session(write=)``, ``upgrade(rev)``,
``downgrade(rev)``, ``current_revision()``, ``head_revision()``, ``integrity_check()``,
``backup(out)``, ``dispose()``), :func:`check_sqlite_file` (raises ``StoreCorruptError``).
An existing corrupt or empty SQLite file raises :class:`parkcarbon.errors.StoreCorruptError`
and is never replaced (R18/OPS-06).

Repository (``repository.py``), grouped:

* organisation: ``add_park``, ``get_park``, ``list_parks``, ``add_enterprise``,
  ``get_enterprise(id, tenant_id=)`` (foreign tenant → NotFoundError), ``find_enterprise(text)``
  (id / credit code / exact name), ``list_enterprises(park_id=, tenant_id=)``, ``add_site``;
* meters: ``add_meter(tenant_id=, code=, carrier=, unit=, kind='cumulative'|'interval'|'virtual',
  enterprise_id=, multiplier=, register_max=, interval_s=, parent_meter_id=, formula=,
  role='grid_import'|'onsite_generation'|'export'|'consumption'|'submeter')``, ``get_meter``,
  ``meters_by_code(tenant_id, codes)``, ``list_meters``;
* reporting periods (R7): ``period_status``, ``set_period_status(enterprise_id, month, status, by=)``,
  ``ensure_writable`` (raises ``LockedPeriodError``), ``locked_months``;
* ledger: ``put_activity_records(records, batch_id=, created_by=)`` (same value → no-op, new value →
  new version, old one ``superseded``; non-draft period → ``LockedPeriodError``),
  ``activity_records(...) -> list[ActivityRecord]``, ``activity_rows(...)`` (with version/status);
* economic data: ``put_production(...)``, ``production_records(...)``;
* assets: ``add_pv_asset``, ``add_storage_asset``, ``energy_assets``;
* green power: ``add_green_power_contract``, ``put_green_power_delivery``, ``green_power``,
  ``add_green_certificates`` (a serial is registered once), ``claim_green_certificates``,
  ``green_certificates``;
* evidence and batches: ``add_evidence``, ``evidence_files``, ``create_batch``, ``find_batch``,
  ``batches``, ``mark_batch``;
* raw readings (R1–R3): ``write_readings(tenant_id, [ReadingIn] or ReadingColumns, batch_id=)`` →
  :class:`ReadingWriteResult` (inserted / duplicates / conflicts / touched), ``quarantine``,
  ``raw_readings``, ``reading_keys``, ``count_readings``, ``reading_conflicts``,
  ``resolve_conflict``, ``quarantined``;
* derived data (R3/R4, :mod:`parkcarbon.storage.derived`), set-based over many meters: 15-minute
  increments are stored columnar, one :class:`~parkcarbon.storage.models.IncrementBlock` per meter
  and local day — ``write_increment_windows(meters, [IncrementWindow], code_version=)`` →
  (slots written, day blocks), ``replace_increments(meters, windows, rows, code_version=)`` (the
  same from slot rows), ``increment_blocks(ids, lo_s, hi_s)``, ``increment_slots(ids, lo, hi)``,
  ``put_aggregates(meters, 'day'|'month', rows)``, ``day_sums``, ``reading_bounds``,
  ``reading_arrays``, ``meters_by_ids``; reads: ``increments(meter_id, …, include_superseded=)``
  (superseded estimates from ``superseded_estimate``), ``aggregates(ids, 'hour'|'day'|'month', …)``
  (hours computed from the blocks).
  The pipeline that fills them is :mod:`parkcarbon.services.derivation`; ingestion use cases
  (uploads, reading files, HTTP batches, MQTT) are in :mod:`parkcarbon.services.ingestion`.

Models (``models.py``) are the SQLAlchemy ORM classes; the DDL is owned by the Alembic
migrations in ``storage/migrations/`` (run by ``open_store`` / ``parkcarbon data init``).
"""

from parkcarbon.storage import models_auth as _models_auth  # noqa: F401  (registers the service tables)
from parkcarbon.storage import models_planning as _models_planning  # noqa: F401  (registers plan_result)
from parkcarbon.storage import models_targets as _models_targets  # noqa: F401  (targets, budgets, warnings)
from parkcarbon.storage.derived import DayBlock, IncrementView, IncrementWindow
from parkcarbon.storage.engine import Store, check_sqlite_file, open_store
from parkcarbon.storage.repository import (
    GreenPowerMonth,
    ReadingColumns,
    ReadingIn,
    ReadingWriteResult,
    Repository,
)

__all__ = [
    "DayBlock",
    "GreenPowerMonth",
    "IncrementView",
    "IncrementWindow",
    "ReadingColumns",
    "ReadingIn",
    "ReadingWriteResult",
    "Repository",
    "Store",
    "check_sqlite_file",
    "open_store",
]
