"""`parkcarbon factors` commands: browse, explain and validate reference factors (因子库).

Examples::

    parkcarbon factors list                                  # the factor sets
    parkcarbon factors list --key grid_ef --region 江苏       # rows
    parkcarbon factors show grid_ef --region 江苏 --year 2023 --method average --policy region_then_year
    parkcarbon factors show coal_coef.electricity --method calorific
    parkcarbon factors sources
    parkcarbon factors validate ./my-factors                 # check a user set
    parkcarbon factors resolve 江苏 2022                      # everything one accounting run uses

Library errors propagate to :func:`parkcarbon.cli.main.main`, which prints them in Chinese
and English and exits with status 2; ``validate`` prints the error itself and exits 1.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from parkcarbon.core.factorset import ConversionBasis
from parkcarbon.factors import (
    FactorRegistry,
    FactorWarning,
    FallbackPolicy,
    GridCalibre,
    accounting_factors,
    check_user_dirs,
    default_registry,
)

app = typer.Typer(help="Reference factors 因子库: list, show, sources, validate, resolve.", no_args_is_help=True)

UserDirOpt = Annotated[
    list[Path] | None,
    typer.Option("--user-dir", "-u", help="user factor set directory (repeatable)", exists=True, file_okay=False),
]


def _console() -> Console:
    return Console(width=200, soft_wrap=False, markup=False, highlight=False)


def _registry(user_dirs: list[Path] | None) -> FactorRegistry:
    return FactorRegistry.load(user_dirs) if user_dirs else default_registry()


def _fmt(value: float) -> str:
    return f"{value:.10g}"


@app.command("list")
def list_(
    key: Annotated[str | None, typer.Option("--key", "-k", help="key or key prefix, e.g. grid_ef, coal_coef")] = None,
    region: Annotated[str | None, typer.Option("--region", "-r", help="region: 江苏 / CN-JS / 华东 / CN")] = None,
    year: Annotated[int | None, typer.Option("--year", "-y", help="data year")] = None,
    set_id: Annotated[str | None, typer.Option("--set", "-s", help="factor set id")] = None,
    user_dir: UserDirOpt = None,
) -> None:
    """List the factor sets, or the rows matching --key/--region/--year/--set."""
    reg = _registry(user_dir)
    console = _console()
    if key is None and region is None and year is None and set_id is None:
        table = Table(title="Factor sets 因子集")
        for col in ("set_id", "version", "kind", "default", "published", "rows", "title"):
            table.add_column(col)
        for s in reg.sets.values():
            m = s.manifest
            table.add_row(
                m.set_id,
                s.version,
                m.kind.value,
                "yes" if m.default else "no",
                str(m.published or ""),
                str(len(s.rows)),
                f"{m.title}\n{m.title_zh}",
            )
        console.print(table)
        return
    rows = reg.rows(key=key, region=region, year=year, set_id=set_id)
    table = Table(title=f"Factor rows 因子 ({len(rows)})")
    for col in ("factor_id", "value", "unit", "served", "grade", "source"):
        table.add_column(col)
    for row in sorted(rows, key=lambda r: (r.key, r.variant, r.method, r.region, r.year or 0, r.set_id)):
        table.add_row(
            row.factor_id,
            _fmt(row.value),
            row.unit,
            f"{_fmt(row.served_value)} {row.served_unit}",
            row.grade.value,
            ";".join(row.source_ids),
        )
    console.print(table)


@app.command()
def show(
    key: Annotated[str, typer.Argument(help="factor key, e.g. grid_ef, coal_coef.raw_coal, heat_ef")],
    region: Annotated[str, typer.Option("--region", "-r", help="region: 江苏 / CN-JS / 华东 / CN")] = "CN",
    year: Annotated[int | None, typer.Option("--year", "-y", help="year asked for")] = None,
    method: Annotated[str, typer.Option("--method", "-m", help="calibre/method, e.g. average, calorific")] = "",
    variant: Annotated[str, typer.Option("--variant", "-v", help="variant, e.g. 1.0MPa")] = "",
    set_id: Annotated[str | None, typer.Option("--set", "-s", help="factor set id")] = None,
    policy: Annotated[FallbackPolicy, typer.Option("--policy", "-p", help="fallback policy")] = FallbackPolicy.STRICT,
    allow_unverified: Annotated[
        bool, typer.Option("--allow-unverified", help="opt in to rows graded UNVERIFIED")
    ] = False,
    user_dir: UserDirOpt = None,
) -> None:
    """Show one factor: value, unit, source, grade, validity and any fallback."""
    reg = _registry(user_dir)
    res = reg.resolve(
        key,
        region=region,
        year=year,
        method=method,
        variant=variant,
        set_id=set_id,
        policy=policy,
        allow_unverified=allow_unverified,
    )
    row, ref = res.row, res.ref
    console = _console()
    table = Table(title=f"{ref.factor_id}", show_header=False)
    table.add_column("field")
    table.add_column("value")
    table.add_row("value (served)", f"{_fmt(ref.value)} {ref.unit}")
    table.add_row("value (as stored)", f"{_fmt(row.value)} {row.unit}")
    if row.value_min is not None or row.value_max is not None:
        table.add_row("range", f"{_fmt(row.value_min or 0.0)} .. {_fmt(row.value_max or 0.0)} {row.unit}")
    table.add_row("grade", ref.grade)
    table.add_row("source", ref.source)
    table.add_row("evidence", row.evidence)
    table.add_row("note", row.note)
    table.add_row("region / year", f"{ref.region} / {ref.year if ref.year is not None else 'any'}")
    validity = f"{row.valid_from or '…'} .. {row.valid_to or '…'}"
    table.add_row("valid", validity)
    table.add_row("set version", ref.set_version)
    table.add_row("file", f"{row.file}, row {row.row}")
    if row.replaces is not None:
        table.add_row("overrides", f"{row.replaces.factor_id} = {_fmt(row.replaces.value)} {row.replaces.unit}")
    table.add_row("fallback", ref.fallback_note or "none")
    console.print(table)


@app.command()
def sources(user_dir: UserDirOpt = None) -> None:
    """List the sources cited by factor rows."""
    reg = _registry(user_dir)
    table = Table(title="Sources 来源")
    for col in ("source_id", "publisher", "citation", "url"):
        table.add_column(col)
    for src in reg.sources.values():
        table.add_row(src.source_id, src.publisher, src.citation, src.url)
    _console().print(table)


@app.command()
def validate(
    directory: Annotated[Path, typer.Argument(help="user factor set directory", exists=True, file_okay=False)],
) -> None:
    """Check a user factor set (or a folder of sets) against the packaged sets; list every bad row."""
    reg, errors = check_user_dirs([directory])
    if reg is None:
        for exc in errors:
            typer.echo(exc.bilingual(), err=True)
        typer.echo(f"invalid: {len(errors)} error(s) in {directory}", err=True)
        raise typer.Exit(1)
    packaged = default_registry()
    console = _console()
    for s in reg.sets.values():
        user_layers = [layer for layer in s.layers if not layer.packaged]
        if s.manifest.packaged and not user_layers:
            continue
        added = len(s.rows) - len(packaged.sets[s.set_id].rows) if s.set_id in packaged.sets else len(s.rows)
        console.print(f"OK {s.set_id} {s.version}: {len(s.rows)} rows ({added:+d} vs packaged)")
    for o in reg.overrides:
        console.print(
            f"override {o.set_id} {o.identity}: {_fmt(o.old_value)} {o.old_unit} -> {_fmt(o.new_value)} {o.new_unit} "
            f"by {o.by_set} ({o.file}, row {o.row})"
        )
    console.print(f"valid: {directory}")


@app.command()
def resolve(
    region: Annotated[str, typer.Argument(help="province: 江苏 / 江苏省 / CN-JS")],
    year: Annotated[int, typer.Argument(help="consumption year")],
    grid_calibre: Annotated[GridCalibre, typer.Option("--grid-calibre", "-g")] = GridCalibre.PROVINCIAL,
    policy: Annotated[FallbackPolicy, typer.Option("--policy", "-p")] = FallbackPolicy.STRICT,
    basis: Annotated[ConversionBasis, typer.Option("--basis", "-b")] = ConversionBasis.CALORIFIC,
    allow_unverified: Annotated[bool, typer.Option("--allow-unverified")] = False,
    user_dir: UserDirOpt = None,
) -> None:
    """Show every factor one accounting run for REGION and YEAR would use."""
    reg = _registry(user_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FactorWarning)  # printed below from AccountingFactors.warnings
        af = accounting_factors(
            region,
            year,
            grid_calibre=grid_calibre,
            policy=policy,
            basis=basis,
            allow_unverified=allow_unverified,
            registry=reg,
        )
    table = Table(title=f"Accounting factors {af.region} {af.year}")
    for col in ("use", "value", "unit", "grade", "factor_id"):
        table.add_column(col)
    refs = [
        ("grid_ef_location", af.grid_ef_location),
        ("grid_ef_residual", af.grid_ef_residual),
        ("grid_ef_fossil", af.grid_ef_fossil),
        ("electricity_primary_input", af.electricity_primary_input),
        ("heat_ef", af.heat_ef),
        ("steam_enthalpy", af.steam_enthalpy),
        *((f"coal_coefficients[{k}]", v) for k, v in af.coal_coefficients.items()),
        *((f"fuels[{k}].ncv", v.ncv) for k, v in af.fuels.items()),
        *((f"fuels[{k}].carbon_content", v.carbon_content) for k, v in af.fuels.items()),
        *((f"fuels[{k}].oxidation", v.oxidation) for k, v in af.fuels.items()),
        *((f"carbonate_factors[{k}]", v) for k, v in af.carbonate_factors.items()),
    ]
    for name, ref in refs:
        if ref is None:
            table.add_row(name, "-", "", "", "not available")
        else:
            table.add_row(name, _fmt(ref.value), ref.unit, ref.grade, ref.factor_id)
    console = _console()
    console.print(table)
    for w in af.warnings:
        console.print(f"warning: {w}")
