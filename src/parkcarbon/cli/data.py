"""`parkcarbon data` commands: the store and data ingestion (数据存储与接入).

Examples::

    parkcarbon data init                                   # create / migrate the store (settings URL)
    parkcarbon data template monthly -o 月度能源统计.xlsx    # monthly | bills | production | meters | readings
    parkcarbon data import 2025-03.xlsx                     # template detected from the headers
    parkcarbon data import meters.csv --kind meters --tenant E01
    parkcarbon data readings readings.csv --tenant E01      # CSV / XLSX / Parquet; --naive-tz Asia/Shanghai
    parkcarbon data mqtt --duration 60                      # run the MQTT subscriber
    parkcarbon data quality --enterprise E01 --month 2025-03
    parkcarbon data replay gateway-buffer.jsonl
    parkcarbon data backup backup-2025-03-31.sqlite

A rejected upload prints every located error (file, sheet, row, column, value, 中文/English) as
a table and exits with status 2; nothing is written. The store URL comes from
``PARKCARBON_DATABASE_URL`` (default ``sqlite:///<PARKCARBON_DATA_DIR>/parkcarbon.sqlite``)
or ``--url``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from parkcarbon.errors import BatchRejectedError, ParkcarbonError
from parkcarbon.ingest.templates import TEMPLATES, write_template
from parkcarbon.settings import get_settings

app = typer.Typer(help="Store and data ingestion 数据存储与接入.", no_args_is_help=True)

UrlOpt = Annotated[str | None, typer.Option("--url", help="database URL (default: PARKCARBON_DATABASE_URL)")]


def _console(stderr: bool = False) -> Console:
    return Console(width=200, soft_wrap=False, markup=False, highlight=False, stderr=stderr)


def _store(url: str | None, *, create: bool = False):  # type: ignore[no-untyped-def]
    from parkcarbon.storage import open_store

    return open_store(url, create=create)


def print_rejection(exc: BatchRejectedError) -> None:
    con = _console(stderr=True)
    con.print(f"[{exc.code}] {exc.message_zh}\n{exc.message}")
    table = Table("code", "file", "sheet", "row", "column", "value", "问题 / problem", "处理 / fix", show_lines=True)
    for e in exc.errors or [exc]:
        d = e.to_dict()
        table.add_row(d["code"], d["file"] or "", d["sheet"] or "", "" if d["row"] is None else str(d["row"]),
                      d["column"] or "", (d["value"] or "")[:40], f"{d['message_zh']}\n{d['message']}",
                      f"{d['hint_zh'] or ''}\n{d['hint'] or ''}".strip())
    con.print(table)


def _run(fn: Callable[[], None]) -> None:
    try:
        fn()
    except BatchRejectedError as exc:
        print_rejection(exc)
        raise typer.Exit(2) from None


@app.command()
def init(url: UrlOpt = None) -> None:
    """Create the store if needed and migrate it to the newest schema."""
    st = _store(url, create=True)
    print(f"store ready: {st!r} at revision {st.current_revision()}")
    st.dispose()


@app.command()
def template(kind: Annotated[str, typer.Argument(help=f"one of {', '.join(TEMPLATES)}")],
             out: Annotated[Path, typer.Option("--out", "-o", help="output file (.xlsx or .csv)")]) -> None:
    """Write an upload template with Chinese headers (and a 填表说明 sheet)."""
    path = write_template(kind, out)
    print(f"template {kind} written to {path}")


@app.command("import")
def import_(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
            kind: Annotated[str, typer.Option("--kind", help="auto, monthly, bills, production or meters")] = "auto",
            tenant: Annotated[str | None, typer.Option("--tenant", help="only this tenant's enterprises")] = None,
            park: Annotated[str | None, typer.Option("--park", help="only this park's enterprises")] = None,
            uploader: Annotated[str, typer.Option("--uploader")] = "cli",
            url: UrlOpt = None) -> None:
    """Import monthly statistics, bills, production output or a meter register (all-or-nothing)."""
    from parkcarbon.services.ingestion import detect_kind, import_statistics

    data = file.read_bytes()
    settings = get_settings()

    def go() -> None:
        k = detect_kind(data, file.name, settings) if kind == "auto" else kind
        st = _store(url)
        try:
            res = import_statistics(st, data, file.name, k, uploader=uploader, tenant_id=tenant, park_id=park,
                                    settings=settings)
        finally:
            st.dispose()
        print(f"imported {res.file} as {res.kind}: {res.rows} rows, {res.records_written} records "
              f"(batch {res.batch_id}, stored as {res.stored_name})")

    _run(go)


@app.command()
def readings(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
             tenant: Annotated[str, typer.Option("--tenant", help="owner of the meters")],
             naive_tz: Annotated[str | None, typer.Option("--naive-tz", help="zone of timestamps without offset")] = None,
             derive: Annotated[bool, typer.Option("--derive/--no-derive", help="update aggregates and ledger")] = True,
             uploader: Annotated[str, typer.Option("--uploader")] = "cli",
             url: UrlOpt = None) -> None:
    """Import interval or register readings (CSV, XLSX or Parquet)."""
    from parkcarbon.services.ingestion import import_readings

    def go() -> None:
        st = _store(url)
        try:
            res = import_readings(st, file.read_bytes(), file.name, tenant_id=tenant, uploader=uploader,
                                  naive_tz=naive_tz, derive=derive)
        finally:
            st.dispose()
        print(json.dumps(res.to_json(), ensure_ascii=False))
        if res.derivation is not None:
            d = res.derivation
            print(f"derived: {d.meters} meters, {d.increments_written} increments, {d.hours} hours, {d.days} days, "
                  f"{d.months} months, {d.ledger_records} ledger records")
            for s in d.skipped:
                print(f"  kept: {s}")

    _run(go)


@app.command()
def derive(tenant: Annotated[list[str] | None, typer.Option("--tenant", help="only these tenants (repeatable)")] = None,
           url: UrlOpt = None) -> None:
    """Derive readings stored with --no-derive (increments, day/month totals, ledger) in one pass."""
    from parkcarbon.services.derivation import derive_pending

    def go() -> None:
        st = _store(url)
        try:
            with st.transaction() as repo:
                d = derive_pending(repo, tenant_ids=tenant or None)
        finally:
            st.dispose()
        print(f"derived: {d.meters} meters, {d.increments_written} increments, {d.hours} hours, {d.days} days, "
              f"{d.months} months, {d.ledger_records} ledger records")
        for s in d.skipped:
            print(f"  kept: {s}")

    _run(go)


@app.command()
def mqtt(duration: Annotated[float | None, typer.Option("--duration", help="stop after N seconds")] = None,
         derive: Annotated[bool, typer.Option("--derive/--no-derive",
                                              help="derive each commit, or queue it for `data derive`")] = True,
         url: UrlOpt = None) -> None:
    """Run the MQTT subscriber (topic <prefix>/<tenant>/<gateway>/readings, QoS 1, ack after commit)."""
    from parkcarbon.services.ingestion import run_mqtt

    settings = get_settings()
    st = _store(url)
    print(f"subscribing to {settings.mqtt_host}:{settings.mqtt_port} {settings.mqtt_topic_prefix}/+/+/readings "
          f"as {settings.mqtt_client_id}", file=sys.stderr)
    try:
        stats = run_mqtt(st, settings, duration_s=duration, derive=derive)
    except KeyboardInterrupt:
        stats = {}
    finally:
        st.dispose()
    print(json.dumps(stats))


@app.command()
def quality(enterprise: Annotated[str | None, typer.Option("--enterprise")] = None,
            month: Annotated[str | None, typer.Option("--month", help="e.g. 2025-03")] = None,
            url: UrlOpt = None) -> None:
    """Data-quality checks: completeness, day-vs-month, sub-meter balance, conflicts, quarantine."""
    from parkcarbon.services.quality import quality_report

    st = _store(url)
    try:
        rep = quality_report(st, enterprise_id=enterprise, month=month)
    finally:
        st.dispose()
    con = _console()
    con.print(f"meters checked: {rep.meters_checked}; months: {', '.join(rep.months) or '-'}; "
              f"findings: {len(rep.findings)}")
    if rep.findings:
        table = Table("code", "meter", "value", "threshold", "说明", "finding", show_lines=True)
        for f in rep.findings:
            table.add_row(f.code, f.meter_id, f"{f.value:.4g}", f"{f.threshold:.4g}", f.message_zh, f.message)
        con.print(table)


@app.command()
def replay(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
           derive: Annotated[bool, typer.Option("--derive/--no-derive")] = True, url: UrlOpt = None) -> None:
    """Replay recorded batches (JSON lines: tenant, gateway, readings); duplicates are no-ops."""
    from parkcarbon.services.ingestion import replay_file

    def go() -> None:
        st = _store(url)
        try:
            results = replay_file(st, file.read_bytes(), derive=derive)
        finally:
            st.dispose()
        tot = {k: sum(getattr(r, k) for r in results) for k in ("received", "inserted", "duplicates", "conflicts",
                                                                 "quarantined")}
        print(json.dumps({"batches": len(results), **tot}))

    _run(go)


@app.command()
def backup(out: Annotated[Path, typer.Argument(help="backup file (must not exist)")], url: UrlOpt = None) -> None:
    """Consistent online backup: SQLite backup API, or pg_dump -Fc for PostgreSQL."""
    st = _store(url)
    try:
        path = st.backup(out)
    except ParkcarbonError:
        raise
    finally:
        st.dispose()
    print(f"backup written to {path}")
