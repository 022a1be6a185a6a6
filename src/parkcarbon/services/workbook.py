"""Account input workbooks: ``parkcarbon account FILE…`` (核算填报文件).

For a user who has the enterprises' monthly statistics (the ``monthly``/``bills`` templates)
and optionally their production and added value (the ``production`` template) as files, and
wants the inventories without setting up a park first:

1. a store is opened (a fresh SQLite file in the output folder unless a URL is given);
2. a park is registered and every enterprise named in the files (by unified social credit code
   or name) is registered in it, in the given province;
3. each file is imported through the normal ingestion path — the same parsers, unit
   conversions and all-or-nothing rule as ``parkcarbon data import`` (a bad file raises
   :class:`~parkcarbon.errors.BatchRejectedError` listing every located error, and nothing is
   written);
4. the park's inventory for the year is computed and the report written as XLSX and HTML.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from parkcarbon.ingest.safety import UploadLimits, check_upload
from parkcarbon.ingest.statistics import PARSERS
from parkcarbon.ingest.tables import read_table
from parkcarbon.ingest.templates import TEMPLATES
from parkcarbon.reports.html import write_html
from parkcarbon.reports.xlsx import write_xlsx
from parkcarbon.services.accounting import DEFAULT_CONFIG, AccountingRun, FactorConfig, account_park_year
from parkcarbon.services.ingestion import detect_kind, import_statistics
from parkcarbon.services.reporting import ParkReportInputs, build_park_report
from parkcarbon.settings import Settings, get_settings
from parkcarbon.storage import open_store

__all__ = ["WorkbookAccounting", "account_files"]

_CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


@dataclass(frozen=True)
class WorkbookAccounting:
    run: AccountingRun
    database_url: str
    xlsx_path: Path
    html_path: Path
    imported: tuple[tuple[str, str, int], ...]  # (file, template kind, records written)


def _enterprise_refs(data: bytes, name: str, kind: str, settings: Settings) -> set[str]:
    limits = UploadLimits.from_settings(settings)
    table = read_table(check_upload(name, data, limits), TEMPLATES[kind], limits)
    drafts, _errors = PARSERS[kind](table)  # row errors are reported by the import itself
    return {str(getattr(d, "enterprise_ref", "")).strip() for d in drafts} - {""}


def account_files(
    paths: Sequence[Path],
    *,
    province: str,
    year: int,
    out_dir: Path,
    park_name: str = "园区",
    database_url: str | None = None,
    config: FactorConfig = DEFAULT_CONFIG,
    settings: Settings | None = None,
) -> WorkbookAccounting:
    """Import ``paths`` into a park in ``province`` and account ``year``; see the module docstring."""
    settings = settings or get_settings()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if database_url is None:
        db = out_dir / "account.sqlite"
        for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            stale.unlink(missing_ok=True)
        database_url = f"sqlite:///{db}"
    files = [(Path(p).name, Path(p).read_bytes()) for p in paths]
    kinds = [detect_kind(data, name, settings) for name, data in files]
    refs: set[str] = set()
    for (name, data), kind in zip(files, kinds, strict=True):
        if kind != "meters":
            refs |= _enterprise_refs(data, name, kind, settings)
    store = open_store(database_url)
    try:
        with store.transaction() as repo:
            park = repo.add_park(code="PARK", name=park_name, province=province, park_id=None)
            for i, ref in enumerate(sorted(refs), start=1):
                is_code = bool(_CREDIT_CODE.match(ref.upper()))
                repo.add_enterprise(name=ref, park_id=park.id, enterprise_id=f"E{i:04d}",
                                    credit_code=ref.upper() if is_code else None, province=province)
            park_id = park.id
        imported = []
        for (name, data), kind in zip(files, kinds, strict=True):
            result = import_statistics(store, data, name, kind, uploader="parkcarbon account", park_id=park_id,
                                       settings=settings, keep_file=False)
            imported.append((name, kind, result.records_written))
        run = account_park_year(store, park_id, year, config)
    finally:
        store.dispose()
    report = build_park_report(ParkReportInputs(runs=[run]))
    stem = f"inventory-{year}"
    return WorkbookAccounting(run, database_url, write_xlsx(report, out_dir / f"{stem}.xlsx"),
                              write_html(report, out_dir / f"{stem}.html"), tuple(imported))
