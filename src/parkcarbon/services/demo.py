"""The demo park, end to end: generate → store → account → evaluate → report.

``run_demo(out_dir)`` is what ``parkcarbon demo`` (and ``make demo``) runs. It builds the
synthetic park of :mod:`parkcarbon.services.demo_park` into a fresh embedded store (SQLite in
``out_dir``; any SQLAlchemy URL may be given instead), computes every enterprise's and the
park's yearly inventory 2020–2025 with the packaged factors, checks the park's targets and
writes an XLSX workbook and an HTML report.

The demo uses the platform's default declared choices,
:data:`parkcarbon.services.accounting.DEFAULT_CONFIG`: provincial grid factors exist for
2021–2022 only, regional ones up to 2023 and none after (NOTES §3.1), so the fallback policy is
``REGION_THEN_YEAR`` (NOTES §3.5 rule 1: the consumption year first — province, its regional
grid, national — then each earlier published year): 2023–2025 use the East China regional 2023
factor. Before 2021 no MEE/NBS statistical factor exists, so 2020 uses the ETS reporting factor
in force then (0.5810 tCO2/MWh). The reports list every fallback next to the factor it affected.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from parkcarbon.periods import Month
from parkcarbon.reports.html import write_html
from parkcarbon.reports.xlsx import write_xlsx
from parkcarbon.services.accounting import DEFAULT_CONFIG, AccountingRun, FactorConfig, account_park_year
from parkcarbon.services.demo_park import DemoPark, build_demo_park, demo_carbonates
from parkcarbon.services.reporting import ParkReportInputs, TargetRow, build_park_report
from parkcarbon.services.targets import park_target_rows, series_from_store
from parkcarbon.storage import Store, open_store

__all__ = ["DemoResult", "load_demo_park", "run_demo"]

DEMO_YEARS = tuple(range(2020, 2026))


@dataclass(frozen=True)
class DemoResult:
    """What the demo produced: the runs per year and the files written."""

    park: DemoPark
    runs: tuple[AccountingRun, ...]
    targets: tuple[TargetRow, ...]
    database_url: str
    xlsx_path: Path
    html_path: Path
    seconds: float


def load_demo_park(store: Store, park: DemoPark) -> str:
    """Write the demo park into ``store`` in one transaction; returns the park id."""
    with store.transaction() as repo:
        p = repo.add_park(code=park.park_id.upper(), name=park.name_zh, province=park.province, park_id=park.park_id)
        for e in park.enterprises:
            repo.add_enterprise(name=e.name_zh, name_en=e.name_en, park_id=p.id, enterprise_id=e.enterprise_id,
                                credit_code=e.credit_code, industry_code=e.industry_code, province=e.province,
                                green_factory_level=e.green_factory_level)
        repo.put_activity_records(list(park.records), created_by="demo")
        for pr in park.production:
            repo.put_production(enterprise_id=pr.enterprise_id, period=pr.month,
                                gross_output_value_10k_cny=pr.output_value_10k_cny,
                                added_value_10k_cny=pr.added_value_10k_cny, price_basis="comparable",
                                base_year=2020, product_name=pr.product_name or "",
                                product_output=pr.product_output, product_unit=pr.product_unit,
                                source="企业统计月报（示范数据）")
        for pv in park.pv_assets:
            repo.add_pv_asset(enterprise_id=pv.enterprise_id, capacity_kwp=pv.capacity_kwp,
                              commissioned=pv.commissioned, tilt_deg=pv.tilt_deg, azimuth_deg=pv.azimuth_deg,
                              asset_id=pv.asset_id)
        for st in park.storage_assets:
            repo.add_storage_asset(enterprise_id=st.enterprise_id, power_kw=st.power_kw, energy_kwh=st.energy_kwh,
                                   round_trip_efficiency_frac=st.round_trip_efficiency_frac,
                                   commissioned=st.commissioned, asset_id=st.asset_id)
        for c in park.contracts:
            repo.add_green_power_contract(enterprise_id=c.enterprise_id, kind=c.kind, counterparty=c.counterparty,
                                          technology=c.technology, price_cny_per_kwh=c.price_cny_per_kwh,
                                          contract_id=c.contract_id, deliveries={c.month: c.energy_kwh})
        for g in park.certificates:
            repo.add_green_certificates(serial=g.serial_first, enterprise_id=g.enterprise_id, vintage=g.vintage,
                                        technology=g.technology, count=g.count, claimed_month=g.claimed_month)
        repo.add_process_inputs(demo_carbonates(park), created_by="demo")
    return park.park_id


def run_demo(
    out_dir: Path,
    *,
    database_url: str | None = None,
    seed: int = 2025,
    years: Sequence[int] = DEMO_YEARS,
    config: FactorConfig = DEFAULT_CONFIG,
) -> DemoResult:
    """Build, account and report the demo park; see the module docstring."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if database_url is None:
        db_file = out_dir / "demo-park.sqlite"
        for stale in (db_file, db_file.with_name(db_file.name + "-wal"), db_file.with_name(db_file.name + "-shm")):
            stale.unlink(missing_ok=True)  # the demo always starts from an empty embedded store
        database_url = f"sqlite:///{db_file}"
    park = build_demo_park(seed)
    store = open_store(database_url)
    try:
        park_id = load_demo_park(store, park)
        runs = tuple(account_park_year(store, park_id, y, config) for y in years)
        series = series_from_store(store, park_id, runs)
    finally:
        store.dispose()
    targets = park_target_rows(series, through=Month(max(years), 12))
    report = build_park_report(ParkReportInputs(runs=runs, targets=targets,
                                                pv_capacity_kwp=sum(p.capacity_kwp for p in park.pv_assets),
                                                storage_energy_kwh=sum(s.energy_kwh for s in park.storage_assets)))
    xlsx = write_xlsx(report, out_dir / "demo-park-report.xlsx")
    html = write_html(report, out_dir / "demo-park-report.html")
    return DemoResult(park, runs, targets, database_url, xlsx, html, time.perf_counter() - started)

