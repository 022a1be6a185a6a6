"""`parkcarbon demo` and `parkcarbon account` commands."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from parkcarbon.core.factorset import ConversionBasis
from parkcarbon.core.inventory import InventoryOptions, ParkInventory
from parkcarbon.core.scope2 import AllocationRule, MarketMethod
from parkcarbon.factors import FallbackPolicy, GridCalibre
from parkcarbon.services.accounting import AccountingRun, FactorConfig
from parkcarbon.services.demo import run_demo
from parkcarbon.services.reporting import TargetRow

console = Console(width=None if Console().is_terminal else 150)


def _fmt(x: float | None, digits: int = 0) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def print_runs(runs: tuple[AccountingRun, ...] | list[AccountingRun]) -> None:
    """Yearly totals and indicators of a park as a rich table."""
    t = Table(title=f"{runs[-1].park_name} — 年度能源与碳排放 yearly energy and CO2", show_lines=False)
    for col in ("年份 Year", "综合能耗 tce", "排放(位置) tCO2", "排放(市场) tCO2", "能耗强度 tce/万元",
                "单位能耗碳排放 tCO2/tce", "非化石 %", "清洁 %", "完整"):
        t.add_column(col, justify="right")
    for r in runs:
        tot, inv = r.inventory.totals, r.inventory

        def ind(name: str, scale: float = 1.0, digits: int = 4, _inv: ParkInventory = inv) -> str:
            v = _inv.indicator(name).value
            return _fmt(None if v is None else v * scale, digits)

        t.add_row(str(r.year), _fmt(tot.energy_tce), _fmt(tot.total_location_tco2), _fmt(tot.total_market_tco2),
                  ind("energy_intensity_added_value"), ind("carbon_per_energy_location", digits=3),
                  ind("non_fossil_share", 100, 2), ind("clean_share", 100, 2), "✓" if tot.complete else "partial")
    console.print(t)


def print_targets(rows: tuple[TargetRow, ...] | list[TargetRow]) -> None:
    t = Table(title="目标进展 Targets")
    for col in ("目标 Target", "年份", "基准值 Base", "目标值 Target", "实际 Actual", "状态 Status"):
        t.add_column(col)
    for row in rows:
        status = "—" if row.met is None else ("[green]达标 met[/]" if row.met else "[red]未达标 not met[/]")
        t.add_row(f"{row.name_zh} [{row.unit}]", str(row.year), _fmt(row.base_value, 4), _fmt(row.target_value, 4),
                  _fmt(row.actual_value, 4), status)
    console.print(t)


def register(app: typer.Typer) -> None:
    """Add the top-level commands of this module to ``app``."""

    @app.command("demo")
    def demo(
        out: Path = typer.Option(Path("demo-output"), "--out", "-o", help="output folder 输出目录"),
        database_url: str = typer.Option(None, "--database-url",
                                         help="SQLAlchemy URL; default: a fresh SQLite file in the output folder"),
        seed: int = typer.Option(2025, help="random seed of the synthetic park"),
    ) -> None:
        """Build the demo park end to end: store, inventories 2020–2025, targets, XLSX + HTML report.

        示范园区：入库、核算 2020–2025 年清单、目标评估、输出 Excel 与 HTML 报告。
        """
        result = run_demo(out, database_url=database_url, seed=seed)
        park = result.park
        console.print(f"[bold]{park.name_zh}[/] {park.name_en} · {park.province} · "
                      f"{len(park.enterprises)} enterprises · {len(park.records):,} ledger records")
        print_runs(result.runs)
        if result.targets:
            print_targets(result.targets)
        last = result.runs[-1]
        top = sorted(last.inventory.enterprises, key=lambda e: -e.totals.energy_tce)[:5]
        console.print("能耗前五 Top 5 by energy " + str(last.year) + ": " + "; ".join(
            f"{e.enterprise_id} {last.enterprise_names.get(e.enterprise_id, '')} {e.totals.energy_tce:,.0f} tce"
            for e in top))
        notes = sorted({n for r in result.runs for n in r.factor_notes})
        if notes:
            console.print(f"[yellow]因子回退/缺失说明 Factor notes ({len(notes)}), policy "
                          f"{last.policy.value}:[/]")
            for n in notes:
                console.print(f"  • {n}")
        console.print(f"store 数据库: {result.database_url}")
        console.print(f"XLSX: {result.xlsx_path}\nHTML: {result.html_path}")
        console.print(f"done in {result.seconds:.1f} s")

    @app.command("account")
    def account(
        files: list[Path] = typer.Argument(..., help="monthly / bills / production template files (xlsx, csv)",
                                           exists=True, dir_okay=False),
        province: str = typer.Option(..., "--province", "-p", help="province of the park 省份, e.g. 江苏"),
        year: int = typer.Option(..., "--year", "-y", help="accounting year 核算年份"),
        out: Path = typer.Option(Path("account-output"), "--out", "-o", help="output folder 输出目录"),
        park_name: str = typer.Option("园区", "--park-name", help="park name shown in the report"),
        database_url: str = typer.Option(None, "--database-url", help="SQLAlchemy URL (default: a fresh SQLite file)"),
        policy: FallbackPolicy = typer.Option(FallbackPolicy.REGION_THEN_YEAR, "--policy",
                                              help="factor fallback policy 因子回退策略 (declared, recorded)"),
        calibre: GridCalibre = typer.Option(GridCalibre.PROVINCIAL, "--grid-calibre", help="grid factor calibre"),
        market_rule: AllocationRule = typer.Option(AllocationRule.GHGP_HIERARCHY, "--market-rule",
                                                   help="scope 2 market-based allocation rule"),
        basis: ConversionBasis = typer.Option(ConversionBasis.CALORIFIC, "--basis",
                                              help="electricity to standard coal: calorific 当量值 / primary_input 等价值"),
    ) -> None:
        """Account input workbooks: import the templates and compute the year's inventories.

        核算填报文件：导入模板数据，计算各企业与园区年度能源与碳排放清单，输出 Excel 与 HTML 报告。
        """
        from parkcarbon.cli.data import print_rejection
        from parkcarbon.errors import BatchRejectedError
        from parkcarbon.services.workbook import account_files

        config = FactorConfig(policy=policy, grid_calibre=calibre,
                              options=InventoryOptions(market_method=MarketMethod(market_rule), basis=basis))
        try:
            res = account_files(files, province=province, year=year, out_dir=out, park_name=park_name,
                                database_url=database_url, config=config)
        except BatchRejectedError as exc:
            print_rejection(exc)
            raise typer.Exit(2) from None
        for name, kind, n in res.imported:
            console.print(f"imported 已导入 {name} ({kind}): {n} records")
        print_runs([res.run])
        t = Table(title=f"企业清单 Enterprises {year}")
        for col in ("企业 Enterprise", "综合能耗 tce", "排放(位置) tCO2", "排放(市场) tCO2", "完整"):
            t.add_column(col, justify="right")
        for e in sorted(res.run.inventory.enterprises, key=lambda e: -e.totals.energy_tce):
            t.add_row(res.run.enterprise_names.get(e.enterprise_id, e.enterprise_id), _fmt(e.totals.energy_tce, 1),
                      _fmt(e.totals.total_location_tco2, 1), _fmt(e.totals.total_market_tco2, 1),
                      "✓" if e.totals.complete else "partial")
        console.print(t)
        for note in res.run.factor_notes:
            console.print(f"[yellow]• {note}[/]")
        console.print(f"XLSX: {res.xlsx_path}\nHTML: {res.html_path}")
