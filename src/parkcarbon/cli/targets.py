"""`parkcarbon targets` commands: targets, budgets, warnings, evaluations, key units, MACC, pathways, projects.

Every command reads the park's monthly series either from the demo park (``--demo``, the
default; ``--seed`` picks another demo park) or from a long CSV file (``--input park.csv`` with
columns ``enterprise_id, month`` and quantity columns such as ``energy_tce, emissions_tco2, energy_emissions_tco2,
added_value_10k_cny`` — see :data:`parkcarbon.core.targets.QUANTITIES`; an empty cell is
missing, never 0).

Examples::

    parkcarbon targets key-units --year 2024
    parkcarbon targets budget --year 2025 --park-budget 280000 --method history --out budgets.csv
    parkcarbon targets warnings --as-of 2025-05 --park-budget 280000
    parkcarbon targets warnings --as-of 2025-05 --budgets budgets.csv --webhook https://oa.example/hook \\
        --secret-env PARKCARBON_WEBHOOK_SECRET
    parkcarbon targets timeline --year 2025 --park-budget 280000      # how early each overrun was flagged
    parkcarbon targets backtest --years 2021-2024                     # forecast accuracy (MAPE, band coverage)
    parkcarbon targets progress --set carbon_peak_pilot --through 2025-12
    parkcarbon targets zero-carbon --year 2024
    parkcarbon targets green-factory --enterprise E001 --year 2024 --values gf.json --qualitative 0.8
    parkcarbon targets green-park --year 2024
    parkcarbon targets macc --options options.csv --prices prices.json --region 江苏 --factor-year 2023
    parkcarbon targets plan --enterprise E038 --items plan.csv --prices prices.json --measured measured.csv --through 2025-12
    parkcarbon targets pathway --scenario scenario.json --base-year 2024
    parkcarbon targets project --project project.json --year 2024

Library errors propagate to :func:`parkcarbon.cli.main.main` (bilingual message, exit 2).
"""

from __future__ import annotations

import csv
import json
import os
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from parkcarbon.core.budget import AllocationMethod, BudgetKind, WarningGrade
from parkcarbon.core.forecast import ForecastMethod, backtest
from parkcarbon.core.pathways import PathwayMeasure, PvAddition, Scenario
from parkcarbon.core.project_assessment import ProjectEnergyLine, ProjectInputs
from parkcarbon.core.trace import FactorRef
from parkcarbon.errors import InputError, Location, TemplateError
from parkcarbon.factors.evaluation_data import load_key_unit_thresholds, load_warning_thresholds
from parkcarbon.periods import Month, parse_month
from parkcarbon.services.targets import (
    BudgetPlan,
    ParkSeries,
    assess_project_in_park,
    budget_plan,
    budget_warnings,
    carrier_parameters,
    compute_sum,
    enterprise_plan,
    green_factory,
    green_park,
    key_units,
    measure_options_macc,
    pathway_from_series,
    series_from_csv,
    series_from_demo_park,
    target_progress,
    warning_timeline,
    zero_carbon_report,
)
from parkcarbon.services.warnings import WebhookConfig, deliver_warnings

app = typer.Typer(help="Targets, budgets, warnings and evaluations 目标、预算、预警与评价.", no_args_is_help=True)

InputOpt = Annotated[Path | None, typer.Option("--input", "-i", help="long CSV of monthly series (default: demo park)",
                                               exists=True, dir_okay=False)]
SeedOpt = Annotated[int, typer.Option("--seed", help="demo park seed")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def _console() -> Console:
    return Console(width=200, soft_wrap=False, markup=False, highlight=False)


def _series(input_: Path | None, seed: int) -> ParkSeries:
    return series_from_csv(input_) if input_ is not None else series_from_demo_park(seed)


def _f(x: float | None, nd: int = 1) -> str:
    return "—" if x is None else f"{x:,.{nd}f}"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def _print_json(doc: Any) -> None:
    typer.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=str))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TemplateError(f"cannot read JSON {path}: {exc}", message_zh=f"无法读取 JSON 文件 {path}",
                            location=Location(file=str(path))) from exc
    if not isinstance(doc, dict):
        raise TemplateError(f"{path.name} must hold a JSON object", message_zh=f"{path.name} 必须为 JSON 对象",
                            location=Location(file=str(path)))
    return doc


def _years(text: str) -> list[int]:
    try:
        if "-" in text:
            a, b = (int(x) for x in text.split("-", 1))
            return list(range(a, b + 1))
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise InputError(f"years must look like 2021-2024 or 2021,2022, got {text!r}",
                         message_zh=f"年份格式应为 2021-2024 或 2021,2022，实际为 {text!r}") from None


def _budgets(ps: ParkSeries, year: int, budgets_csv: Path | None, park_budget: float | None, method: AllocationMethod,
             kind: BudgetKind) -> dict[str, float] | BudgetPlan:
    if budgets_csv is not None:
        out: dict[str, float] = {}
        with budgets_csv.open(encoding="utf-8-sig", newline="") as fh:
            for i, row in enumerate(csv.DictReader(fh), start=2):
                try:
                    out[row["enterprise_id"].strip()] = float(row["budget"])
                except (KeyError, ValueError, AttributeError):
                    raise TemplateError("budgets CSV needs columns enterprise_id, budget (numbers)",
                                        message_zh="预算 CSV 需包含 enterprise_id、budget（数值）列",
                                        location=Location(file=str(budgets_csv), row=i)) from None
        return out
    if park_budget is None:
        raise InputError("give --budgets FILE or --park-budget", message_zh="请提供 --budgets 文件或 --park-budget 园区总预算")
    return budget_plan(ps, year, park_budget, method=method, kind=kind)


@app.command("key-units")
def key_units_cmd(
    year: Annotated[int, typer.Option("--year", "-y")],
    no_local: Annotated[bool, typer.Option("--no-local", help="drop the local (UNVERIFIED 3 000 tce) tier")] = False,
    input_: InputOpt = None, seed: SeedOpt = 2025, as_json: JsonOpt = False,
) -> None:
    """Key energy-consuming units 重点用能单位 by annual energy (10 000 / 5 000 / local 3 000 tce)."""
    ps = _series(input_, seed)
    res = key_units(ps, year, load_key_unit_thresholds(local=not no_local))
    if as_json:
        _print_json([{"enterprise_id": r.enterprise_id, "energy_tce": r.energy_tce, "class": r.classification.value,
                      "threshold_tce": r.threshold_tce, "note": r.note} for r in res])
        return
    t = Table(title=f"Key energy-consuming units 重点用能单位 {year}")
    for c in ("enterprise", "name", "energy [tce]", "class", "note"):
        t.add_column(c)
    for r in res:
        t.add_row(r.enterprise_id, ps.names.get(r.enterprise_id, ""), _f(r.energy_tce), r.classification.value, r.note)
    _console().print(t)


@app.command("budget")
def budget_cmd(
    year: Annotated[int, typer.Option("--year", "-y")],
    park_budget: Annotated[float, typer.Option("--park-budget", help="park budget [tce, or tCO2 with --carbon]")],
    method: Annotated[AllocationMethod, typer.Option("--method")] = AllocationMethod.HISTORY,
    reserve: Annotated[float, typer.Option("--reserve", help="park reserve [fraction]")] = 0.0,
    carbon: Annotated[bool, typer.Option("--carbon", help="carbon budget [tCO2] instead of energy [tce]")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="write enterprise_id,budget CSV (+ monthly columns)")] = None,
    input_: InputOpt = None, seed: SeedOpt = 2025,
) -> None:
    """Allocate a park budget 用能/碳排放预算 to enterprises and phase it by month."""
    ps = _series(input_, seed)
    kind = BudgetKind.CARBON if carbon else BudgetKind.ENERGY
    plan = budget_plan(ps, year, park_budget, method=method, kind=kind, reserve_frac=reserve)
    t = Table(title=f"Budget {year} ({method.value}, {kind.unit})")
    for c in ("enterprise", "budget", "share", "weight"):
        t.add_column(c)
    for a in plan.allocations:
        t.add_row(a.enterprise_id, _f(a.budget_qty), _pct(a.share_frac), _f(a.weight))
    _console().print(t)
    if out is not None:
        with out.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["enterprise_id", "budget", *(f"{year}-{k:02d}" for k in range(1, 13))])
            for a in plan.allocations:
                w.writerow([a.enterprise_id, f"{a.budget_qty:.6f}",
                            *(f"{plan.monthly[a.enterprise_id][Month(year, k)]:.6f}" for k in range(1, 13))])
        typer.echo(f"wrote {out}")


@app.command("warnings")
def warnings_cmd(
    as_of: Annotated[str, typer.Option("--as-of", help="last month with data, e.g. 2025-05")],
    budgets: Annotated[Path | None, typer.Option("--budgets", exists=True, dir_okay=False,
                                                 help="CSV enterprise_id,budget")] = None,
    park_budget: Annotated[float | None, typer.Option("--park-budget", help="allocate this park budget first")] = None,
    method: Annotated[AllocationMethod, typer.Option("--method")] = AllocationMethod.HISTORY,
    scheme: Annotated[str, typer.Option("--scheme", help="warning scheme: default | cautious")] = "default",
    forecast: Annotated[ForecastMethod, typer.Option("--forecast")] = ForecastMethod.SEASONAL_RATIO,
    carbon: Annotated[bool, typer.Option("--carbon")] = False,
    webhook: Annotated[str | None, typer.Option("--webhook", help="POST the warnings to this URL")] = None,
    secret_env: Annotated[str, typer.Option("--secret-env", help="env variable holding the HMAC secret")]
    = "PARKCARBON_WEBHOOK_SECRET",
    input_: InputOpt = None, seed: SeedOpt = 2025, as_json: JsonOpt = False,
) -> None:
    """Graded early warnings 预警: year-end forecast vs budget, with forecast accuracy."""
    ps = _series(input_, seed)
    m = parse_month(as_of)
    kind = BudgetKind.CARBON if carbon else BudgetKind.ENERGY
    b = _budgets(ps, m.year, budgets, park_budget, method, kind)
    rep = budget_warnings(ps, b, m, kind=kind, thresholds=load_warning_thresholds(scheme), method=forecast)
    if as_json:
        from parkcarbon.services.warnings import warning_payload

        _print_json(warning_payload(rep, WarningGrade.GREEN))
    else:
        t = Table(title=f"Warnings 预警 as of {m} ({kind.unit}); thresholds: {rep.thresholds.source}")
        for c in ("enterprise", "grade", "budget", "YTD", "forecast", "band", "forecast/budget", "flags"):
            t.add_column(c)
        for w in rep.warnings:
            band = "—" if w.forecast.low is None else f"{_f(w.forecast.low)}–{_f(w.forecast.high)}"
            t.add_row(w.enterprise_id, f"{w.grade.value} {w.grade.name_zh}", _f(w.budget_qty), _f(w.forecast.ytd_actual),
                      _f(w.forecast.year_end), band, _pct(w.ratio_frac), "; ".join(w.forecast.flags))
        _console().print(t)
        acc = rep.accuracy
        if acc is not None:
            typer.echo(f"forecast accuracy 预测精度 ({acc.method.value}, backtest {acc.years[0]}–{acc.years[-1]}): "
                       f"MAPE {_pct(acc.mape_frac)}; at {m.month} month(s): "
                       f"{_pct(acc.mape_by_months_elapsed.get(m.month))}; band coverage {_pct(acc.coverage_frac)} "
                       f"(nominal {acc.band.coverage_frac:.0%})")
        typer.echo("counts: " + ", ".join(f"{g.value} {rep.count(g)}" for g in WarningGrade))
    if webhook:
        secret = os.environ.get(secret_env, "")
        res = deliver_warnings(rep, WebhookConfig(webhook, secret))
        if res is None:
            typer.echo("webhook: nothing at or above yellow to deliver")
        else:
            typer.echo(f"webhook: {'delivered' if res.delivered else 'FAILED'} after {len(res.attempts)} attempt(s), "
                       f"status {res.status}, delivery {res.delivery_id}")
            if not res.delivered:
                raise typer.Exit(1)


@app.command("timeline")
def timeline_cmd(
    year: Annotated[int, typer.Option("--year", "-y")],
    budgets: Annotated[Path | None, typer.Option("--budgets", exists=True, dir_okay=False)] = None,
    park_budget: Annotated[float | None, typer.Option("--park-budget")] = None,
    method: Annotated[AllocationMethod, typer.Option("--method")] = AllocationMethod.HISTORY,
    input_: InputOpt = None, seed: SeedOpt = 2025,
) -> None:
    """Replay the warnings month by month: how many months ahead was each overrun flagged?"""
    ps = _series(input_, seed)
    b = _budgets(ps, year, budgets, park_budget, method, BudgetKind.ENERGY)
    rows = warning_timeline(ps, b, year)
    t = Table(title=f"Warning timeline {year} (grade at the end of each month; actual/budget)")
    t.add_column("enterprise")
    for k in range(1, 12):
        t.add_column(f"{k:02d}")
    for c in ("first orange", "first red", "months ahead", "actual/budget", "overran"):
        t.add_column(c)
    for r in rows:
        t.add_row(r.enterprise_id, *(r.grades[Month(year, k)].value[0].upper() for k in range(1, 12)),
                  str(r.first_orange or "—"), str(r.first_red or "—"),
                  str(r.months_ahead if r.months_ahead is not None else "—"),
                  _pct(None if r.actual_qty is None else r.actual_qty / r.budget_qty),
                  "—" if r.overran is None else ("yes" if r.overran else "no"))
    _console().print(t)
    hits = [r for r in rows if r.overran and r.first_red is not None]
    ahead = sorted(r.months_ahead for r in hits if r.months_ahead is not None)
    typer.echo(f"overruns flagged red ahead: {len(hits)} of {sum(1 for r in rows if r.overran)}"
               + (f" (median {ahead[len(ahead) // 2]} months before year end)" if ahead else "")
               + f"; red at some month without overrun: {sum(1 for r in rows if r.overran is False and r.first_red)}"
               + f"; red in the last month without overrun: "
               f"{sum(1 for r in rows if r.overran is False and r.grades[Month(year, 11)] is WarningGrade.RED)}")


@app.command("backtest")
def backtest_cmd(
    years: Annotated[str, typer.Option("--years", help="e.g. 2021-2024")],
    forecast: Annotated[ForecastMethod, typer.Option("--forecast")] = ForecastMethod.SEASONAL_RATIO,
    carbon: Annotated[bool, typer.Option("--carbon")] = False,
    input_: InputOpt = None, seed: SeedOpt = 2025,
) -> None:
    """Forecast accuracy 预测精度: MAPE by months elapsed and out-of-sample band coverage."""
    ps = _series(input_, seed)
    rep = backtest(ps.quantity("emissions_tco2" if carbon else "energy_tce"), _years(years), method=forecast)
    t = Table(title=f"Backtest {rep.years[0]}–{rep.years[-1]} ({forecast.value}), {len(rep.cases)} forecasts")
    for c in ("months elapsed", "MAPE", "band low", "band high"):
        t.add_column(c)
    for k, v in rep.mape_by_months_elapsed.items():
        q = rep.band.quantiles.get(k)
        t.add_row(str(k), _pct(v), _pct(q[0]) if q else "—", _pct(q[1]) if q else "—")
    _console().print(t)
    typer.echo(f"overall MAPE {_pct(rep.mape_frac)}; band coverage {_pct(rep.coverage_frac)} "
               f"on {rep.n_band_cases} out-of-sample forecasts (nominal {rep.band.coverage_frac:.0%})")


@app.command("progress")
def progress_cmd(
    set_id: Annotated[str, typer.Option("--set", help="carbon_peak_pilot | zero_carbon_park")] = "carbon_peak_pilot",
    through: Annotated[str, typer.Option("--through")] = "2025-12",
    target_year: Annotated[int | None, typer.Option("--target-year", help="for sets without milestone years")] = None,
    entity: Annotated[str, typer.Option("--entity", help="park or an enterprise id")] = "park",
    input_: InputOpt = None, seed: SeedOpt = 2025,
) -> None:
    """Monthly progress of a target set (TTM value vs the path) and milestone checks."""
    ps = _series(input_, seed)
    res = target_progress(ps, set_id, parse_month(through), target_year=target_year, entity_id=entity)
    console = _console()
    for tid, (points, checks) in res.items():
        t = Table(title=f"{tid}")
        for c in ("month", "TTM", "path", "gap", "status"):
            t.add_column(c)
        for p in points[-12:]:
            t.add_row(str(p.month), _f(p.ttm.value, 4), _f(p.path_value, 4), _f(p.gap, 4), p.status.value)
        console.print(t)
        for chk in checks:
            typer.echo(f"  milestone {chk.year}: actual {_f(chk.actual.value, 4)} vs target {_f(chk.target_value, 4)} → "
                       f"{'met' if chk.met else 'missed' if chk.met is False else 'not assessable'}")
        if not points:
            typer.echo("  no progress: base-year data missing (never invented)")


@app.command("zero-carbon")
def zero_carbon_cmd(
    year: Annotated[int, typer.Option("--year", "-y")], input_: InputOpt = None, seed: SeedOpt = 2025,
    as_json: JsonOpt = False,
) -> None:
    """Zero-carbon park "1 + 5" indicator report 零碳园区指标报告 (发改环资〔2025〕910号)."""
    ps = _series(input_, seed)
    r = zero_carbon_report(ps, year)
    rows = [r.core, *r.guiding]
    if as_json:
        _print_json({"year": year, "park_energy_tce": r.park_energy_tce, "core_passed": r.core_passed,
                     "indicators": [{"indicator": x.indicator, "name_zh": x.name_zh, "value": x.value,
                                     "threshold": x.criterion.threshold if x.criterion else None,
                                     "verdict": x.verdict.value, "evidence": list(x.evidence_required), "note": x.note}
                                    for x in rows], "unverified": list(r.unverified_notes)})
        return
    t = Table(title=f"Zero-carbon park indicators 零碳园区指标 {year} (park energy {_f(r.park_energy_tce, 0)} tce)")
    for c in ("indicator", "value", "threshold", "verdict", "evidence", "note"):
        t.add_column(c)
    for x in rows:
        th = "—" if x.criterion is None or x.criterion.threshold is None else (
            f"{x.criterion.comparison.value} {x.criterion.threshold:g}")
        t.add_row(x.name_zh, _f(x.value, 3), th, x.verdict.value, "; ".join(x.evidence_required), x.note)
    _console().print(t)
    for n in r.unverified_notes:
        typer.echo(f"note: {n}")


@app.command("green-factory")
def green_factory_cmd(
    enterprise: Annotated[str, typer.Option("--enterprise", "-e")],
    year: Annotated[int, typer.Option("--year", "-y")],
    values: Annotated[Path | None, typer.Option("--values", exists=True, dir_okay=False,
                                                help="JSON {indicator_id: value} for user-supplied indicators")] = None,
    qualitative: Annotated[float | None, typer.Option("--qualitative", help="qualitative score [fraction]")] = None,
    input_: InputOpt = None, seed: SeedOpt = 2025,
) -> None:
    """Green factory self-assessment 绿色工厂自评价 (GB/T 36132-2025, linear 基准值→引领值 scoring)."""
    ps = _series(input_, seed)
    vals = {k: (None if v is None else float(v)) for k, v in _read_json(values).items()} if values else None
    gf = green_factory(ps, enterprise, year, values=vals, qualitative_frac=qualitative)
    q = gf.quantitative
    t = Table(title=f"Green factory {enterprise} {year}")
    for c in ("id", "group", "indicator", "value", "基准值", "引领值", "score", "weight", "status", "grade"):
        t.add_column(c)
    for s in q.scores:
        d = s.definition
        t.add_row(d.indicator_id, d.group, d.name_zh, _f(s.value, 4), _f(d.baseline, 4), _f(d.leading, 4),
                  _f(s.score, 2), _f(d.weight, 0), s.status, d.grade)
    _console().print(t)
    typer.echo(f"quantitative {q.total_score:.2f}/{q.max_score:.0f} points ({_pct(q.score_frac)}), scored weight "
               f"{_pct(q.completeness_frac)}; total {_f(gf.total_points, 1)}/100"
               + ("" if gf.total_points is not None else " (give --qualitative for the total)"))
    if q.unverified:
        typer.echo("benchmarks that are C/UNVERIFIED (replace with sector values): " + ", ".join(q.unverified))


@app.command("green-park")
def green_park_cmd(
    year: Annotated[int, typer.Option("--year", "-y")],
    values: Annotated[Path | None, typer.Option("--values", exists=True, dir_okay=False)] = None,
    input_: InputOpt = None, seed: SeedOpt = 2025,
) -> None:
    """MIIT green park indicator set 绿色园区 and composite index (formula UNVERIFIED)."""
    ps = _series(input_, seed)
    vals = {k: (None if v is None else float(v)) for k, v in _read_json(values).items()} if values else None
    gi = green_park(ps, year, values=vals)
    t = Table(title=f"Green park indicators {year}")
    for c in ("indicator", "ratio to 引领值"):
        t.add_column(c)
    for k, v in gi.ratios.items():
        t.add_row(k, _pct(v))
    _console().print(t)
    typer.echo(f"GI {_f(gi.index, 1)} (missing: {', '.join(gi.missing) or 'none'}); {gi.note}")


@app.command("macc")
def macc_cmd(
    options: Annotated[Path, typer.Option("--options", exists=True, dir_okay=False,
                                          help="CSV option_id,enterprise_id,measure_id,size")],
    prices: Annotated[Path, typer.Option("--prices", exists=True, dir_okay=False,
                                         help='JSON {"electricity": 0.7, "natural_gas": 3.5} [CNY/unit]')],
    region: Annotated[str, typer.Option("--region")] = "江苏",
    factor_year: Annotated[int, typer.Option("--factor-year")] = 2023,
    discount: Annotated[float, typer.Option("--discount", help="discount rate [fraction]")] = 0.06,
) -> None:
    """Measures 节能降碳措施 and the marginal abatement cost curve (MACC)."""
    rows: list[tuple[str, str, str, float]] = []
    with options.open(encoding="utf-8-sig", newline="") as fh:
        for i, r in enumerate(csv.DictReader(fh), start=2):
            try:
                rows.append((r["option_id"], r["enterprise_id"], r["measure_id"], float(r["size"])))
            except (KeyError, ValueError, TypeError):
                raise TemplateError("options CSV needs option_id, enterprise_id, measure_id, size",
                                    message_zh="方案 CSV 需包含 option_id、enterprise_id、measure_id、size 列",
                                    location=Location(file=str(options), row=i)) from None
    price_map = {k: float(v) for k, v in _read_json(prices).items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        carriers = carrier_parameters(region, factor_year, price_map)
    results, curve = measure_options_macc(rows, carriers, discount_rate_frac=discount)
    t = Table(title=f"MACC (factors {region} {factor_year}, discount {discount:.0%})")
    for c in ("option", "enterprise", "measure", "saving [tce/yr]", "abatement [tCO2/yr]", "capex [CNY]",
              "cost [CNY/tCO2]", "cumulative [tCO2/yr]", "grade"):
        t.add_column(c)
    for p in curve:
        res = p.result
        t.add_row(res.option.option_id, res.option.enterprise_id, res.option.measure.name_zh,
                  _f(res.energy_saving_tce_per_yr), _f(res.abatement_tco2_per_yr), _f(res.capex_cny, 0),
                  _f(p.cost_per_tco2_cny, 0), _f(p.cumulative_end_tco2_per_yr), res.option.measure.grade)
    _console().print(t)
    left = [r.option.option_id for r in results if r.cost_per_tco2_cny is None]
    if left:
        typer.echo(f"no abatement (left out of the curve): {', '.join(left)}")


@app.command("plan")
def plan_cmd(
    enterprise: Annotated[str, typer.Option("--enterprise", "-e")],
    items: Annotated[Path, typer.Option("--items", exists=True, dir_okay=False,
                                        help="CSV option_id,measure_id,size,start (start = in-service month)")],
    prices: Annotated[Path, typer.Option("--prices", exists=True, dir_okay=False, help="JSON prices [CNY/unit]")],
    measured: Annotated[Path | None, typer.Option("--measured", exists=True, dir_okay=False,
                                                  help="CSV option_id,month,saving_tce (empty = missing)")] = None,
    through: Annotated[str | None, typer.Option("--through", help="track up to this month")] = None,
    region: Annotated[str, typer.Option("--region")] = "江苏",
    factor_year: Annotated[int, typer.Option("--factor-year")] = 2023,
) -> None:
    """一企一策 plan with timetable, tracked against measured savings."""
    rows: list[tuple[str, str, float, Month]] = []
    with items.open(encoding="utf-8-sig", newline="") as fh:
        for i, r in enumerate(csv.DictReader(fh), start=2):
            try:
                rows.append((r["option_id"], r["measure_id"], float(r["size"]), parse_month(r["start"])))
            except (KeyError, ValueError, TypeError):
                raise TemplateError("plan CSV needs option_id, measure_id, size, start",
                                    message_zh="计划 CSV 需包含 option_id、measure_id、size、start 列",
                                    location=Location(file=str(items), row=i)) from None
    meas: dict[str, dict[Month, float | None]] = {}
    if measured is not None:
        with measured.open(encoding="utf-8-sig", newline="") as fh:
            for i, r in enumerate(csv.DictReader(fh), start=2):
                try:
                    text = (r["saving_tce"] or "").strip()
                    meas.setdefault(r["option_id"], {})[parse_month(r["month"])] = float(text) if text else None
                except (KeyError, ValueError, TypeError):
                    raise TemplateError("measured CSV needs option_id, month, saving_tce",
                                        message_zh="实测 CSV 需包含 option_id、month、saving_tce 列",
                                        location=Location(file=str(measured), row=i)) from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        carriers = carrier_parameters(region, factor_year, {k: float(v) for k, v in _read_json(prices).items()})
    plan, progress = enterprise_plan(enterprise, rows, carriers, measured_saving_tce=meas,
                                     through=parse_month(through) if through else None)
    t = Table(title=f"一企一策 {enterprise}: {_f(plan.energy_saving_tce_per_yr)} tce/yr, "
                    f"{_f(plan.abatement_tco2_per_yr)} tCO2/yr, capex {_f(plan.capex_cny, 0)} CNY")
    for c in ("option", "measure", "in service", "saving [tce/yr]", "abatement [tCO2/yr]", "payback [yr]"):
        t.add_column(c)
    for it in plan.items:
        mr = it.result
        t.add_row(mr.option.option_id, mr.option.measure.name_zh, str(it.start), _f(mr.energy_saving_tce_per_yr),
                  _f(mr.abatement_tco2_per_yr), _f(mr.simple_payback_yr))
    _console().print(t)
    if progress:
        p = Table(title=f"Tracking through {through}")
        for c in ("option", "months in service", "expected [tce]", "measured [tce]", "achievement", "status"):
            p.add_column(c)
        for g in progress:
            p.add_row(g.option_id, str(g.months_in_service), _f(g.expected_saving_tce), _f(g.measured_saving_tce),
                      _pct(g.achievement_frac), g.status.value + (f" (missing {', '.join(map(str, g.missing_months))})"
                                                                   if g.missing_months else ""))
        _console().print(p)


def _scenario(doc: dict[str, Any]) -> Scenario:
    try:
        growth = doc["added_value_growth_frac"]
        return Scenario(
            name=str(doc.get("name", "scenario")), end_year=int(doc.get("end_year", 2030)),
            added_value_growth_frac={int(k): float(v) for k, v in growth.items()} if isinstance(growth, dict) else float(growth),
            intensity_improvement_frac=float(doc.get("intensity_improvement_frac", 0.0)),
            grid_ef_tco2_per_mwh={int(k): float(v) for k, v in doc["grid_ef_tco2_per_mwh"].items()},
            measures=tuple(PathwayMeasure(str(m["name"]), int(m["start_year"]), float(m["energy_saving_tce_per_yr"]),
                                          float(m.get("electricity_saving_mwh_per_yr", 0.0)),
                                          float(m.get("direct_abatement_tco2_per_yr", 0.0))) for m in doc.get("measures", [])),
            pv=tuple(PvAddition(int(p["year"]), float(p["capacity_kwp"]), float(p["yield_kwh_per_kwp"]))
                     for p in doc.get("pv", [])),
            green_power_mwh={int(k): float(v) for k, v in doc.get("green_power_mwh", {}).items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise TemplateError(f"scenario JSON is malformed: {exc!r}", message_zh="情景 JSON 格式错误",
                            hint="see the docstring of parkcarbon.core.pathways.Scenario for the fields",
                            hint_zh="字段说明见 parkcarbon.core.pathways.Scenario") from None


@app.command("pathway")
def pathway_cmd(
    scenario: Annotated[Path, typer.Option("--scenario", exists=True, dir_okay=False, help="scenario JSON")],
    base_year: Annotated[int, typer.Option("--base-year")],
    set_id: Annotated[str, typer.Option("--set")] = "carbon_peak_pilot",
    input_: InputOpt = None, seed: SeedOpt = 2025,
) -> None:
    """Carbon-peak pathway 碳达峰路径 to 2030, checked against the targets year by year."""
    ps = _series(input_, seed)
    r = pathway_from_series(ps, base_year, _scenario(_read_json(scenario)), set_id=set_id)
    t = Table(title=f"Pathway '{r.scenario}' (peak {r.peak_year}: {_f(r.peak_emissions_tco2, 0)} tCO2)")
    for c in ("year", "added value", "energy [tce]", "CO2 [tCO2]", "tce/10k CNY", "non-fossil", "PV [MWh]",
              "green [MWh]", "flags"):
        t.add_column(c)
    for y in r.years:
        t.add_row(str(y.year), _f(y.added_value_10k_cny, 0), _f(y.energy_tce, 0), _f(y.emissions_tco2, 0),
                  _f(y.indicator("energy_intensity_tce_per_10k_cny"), 4), _pct(y.indicator("non_fossil_share_frac")),
                  _f(y.pv_mwh, 0), _f(y.green_power_mwh, 0), "; ".join(y.flags))
    _console().print(t)
    for chk in r.checks:
        if chk.met is False:
            typer.echo(f"target {chk.target_id} missed in {chk.year}: {chk.projected:.4f} vs {_f(chk.required, 4)}")
    for tid in dict.fromkeys(c.target_id for c in r.checks):
        typer.echo(f"{tid}: first year missed {r.first_failure(tid) or '—'}")


@app.command("project")
def project_cmd(
    project: Annotated[Path, typer.Option("--project", exists=True, dir_okay=False, help="project JSON")],
    year: Annotated[int, typer.Option("--year", "-y", help="park year to compare with")],
    remaining_budget: Annotated[float | None, typer.Option("--remaining-budget", help="remaining energy budget [tce]")]
    = None,
    input_: InputOpt = None, seed: SeedOpt = 2025,
) -> None:
    """Energy and carbon assessment of a new project 项目碳排放评价 and its effect on the park."""
    ps = _series(input_, seed)
    doc = _read_json(project)
    try:
        region = str(doc.get("region", "江苏"))
        fy = int(doc.get("factor_year", year))
        raw_lines = [(str(ln["carrier"]), float(ln["quantity_per_yr"]), bool(ln.get("non_fossil", False)))
                     for ln in doc["lines"]]
        av = float(doc["added_value_10k_cny_per_yr"])
        proc = float(doc.get("process_emissions_tco2_per_yr", 0.0))
        pid, name = str(doc.get("project_id", "project")), str(doc.get("name", ""))
    except (KeyError, TypeError, ValueError) as exc:
        raise TemplateError(f"project JSON is malformed: {exc!r}", message_zh="项目 JSON 格式错误",
                            hint="fields: project_id, name, added_value_10k_cny_per_yr, lines[{carrier, quantity_per_yr}]",
                            hint_zh="字段：project_id、name、added_value_10k_cny_per_yr、lines") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = carrier_parameters(region, fy, {c: 0.0 for c in dict.fromkeys(c for c, _, _ in raw_lines)})
    lines = []
    for c, q, nf in raw_lines:
        p = params[c]
        ef = FactorRef("user:green", f"co2.{c}.green", 0.0, p.emission_factor.unit, "zero-carbon supply declared by "
                       "the project (green power)", "D") if nf else p.emission_factor
        lines.append(ProjectEnergyLine(c, q, p.coal_coefficient, ef, non_fossil=nf))
    a = assess_project_in_park(ps, year, ProjectInputs(pid, name, tuple(lines), av, proc),
                               remaining_energy_budget_tce=remaining_budget)
    typer.echo(f"project {a.project_id}: {_f(a.energy_tce_per_yr)} tce/yr, {_f(a.emissions_tco2_per_yr)} tCO2/yr, "
               f"{_f(a.energy_intensity_tce_per_10k_cny, 4)} tce/10k CNY")
    t = Table(title=f"Park {year}: before → after")
    for c in ("indicator", "before", "after"):
        t.add_column(c)
    b, f = a.park_before, a.park_after
    t.add_row("energy [tce]", _f(b.energy_tce, 0), _f(f.energy_tce, 0))
    t.add_row("CO2 [tCO2]", _f(b.emissions_tco2, 0), _f(f.emissions_tco2, 0))
    t.add_row("energy intensity [tce/10k CNY]", _f(b.energy_intensity_tce_per_10k_cny, 4),
              _f(f.energy_intensity_tce_per_10k_cny, 4))
    t.add_row("carbon intensity [tCO2/10k CNY]", _f(b.carbon_intensity_tco2_per_10k_cny, 4),
              _f(f.carbon_intensity_tco2_per_10k_cny, 4))
    t.add_row("non-fossil share", _pct(b.non_fossil_share_frac), _pct(f.non_fossil_share_frac))
    _console().print(t)
    for x in a.findings:
        typer.echo(f"- {x}")
    park_e = compute_sum(ps.park(), "energy_tce", year)
    if park_e:
        typer.echo(f"project share of park energy: {_pct(a.energy_tce_per_yr / park_e)}")
