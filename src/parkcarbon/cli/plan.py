"""`parkcarbon plan` commands: PV yield, optimal dispatch and sizing (源网荷储规划).

Examples::

    parkcarbon plan pv --lat 36.65 --lon 117.0 --tilt 30 --capacity-kwp 30000 --province 山东 --out plans
    parkcarbon plan pv --lat 34.0 --lon 113.8 --tilt 25 --roof-area-m2 300000 --roof-kwp-per-m2 0.0667 \\
        --full-load-hours 1150
    parkcarbon plan dispatch --load load.csv --province Shandong --enterprise E001 --pv-kwp 30000 \\
        --lat 36.65 --lon 117.0 --battery-kwh 20000 --battery-kw 10000 --out plans
    parkcarbon plan size --load park_load.csv --province Jiangsu --park --lat 32.0 --lon 118.8 \\
        --roof-kwp 30000 --out plans
    parkcarbon plan dispatch --from-store --enterprise E001 --start 2024-04-01 --end 2024-05-01 \\
        --province 山东 --battery-kwh 2000 --battery-kw 1000

Results are written to ``<out>/<enterprise or park>/plan_<kind>.json`` and ``..._schedule.csv``
(read by the dashboard). Library errors are printed bilingually by :mod:`parkcarbon.cli.main`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from parkcarbon.errors import InputError
from parkcarbon.planning.problem import Battery, EmissionBasis, Objective, ObjectiveKind
from parkcarbon.planning.pv import PVSystemSpec
from parkcarbon.services.planning import (
    GridSetup,
    InvestmentCosts,
    LoadSeries,
    load_series_from_file,
    load_series_from_store,
    plan_dispatch,
    plan_pv,
    plan_sizing,
    weather_from_file,
)

app = typer.Typer(help="Planning 源网荷储规划: pv, dispatch, size.", no_args_is_help=True)

Lat = Annotated[float, typer.Option("--lat", help="site latitude [°]")]
Lon = Annotated[float, typer.Option("--lon", help="site longitude [°]")]
Tilt = Annotated[float, typer.Option("--tilt", help="module tilt [°]")]
Azimuth = Annotated[float, typer.Option("--azimuth", help="module azimuth [°], 180 = south")]
Out = Annotated[Path | None, typer.Option("--out", help="output directory for JSON/CSV results")]
Weather = Annotated[Path | None, typer.Option("--weather", exists=True, dir_okay=False,
                                              help="measured/TMY weather CSV: timestamp, ghi[, dni, dhi, temp_air, wind_speed]")]
Flh = Annotated[float | None, typer.Option("--full-load-hours", help="calibration target [h/a] (offline mode)")]
LoadOpt = Annotated[Path | None, typer.Option("--load", exists=True, dir_okay=False,
                                              help="interval load CSV/Parquet: timestamp, load_kw or energy_kwh")]
FromStore = Annotated[bool, typer.Option("--from-store", help="read the measured load from the platform store")]
StoreUrl = Annotated[str | None, typer.Option("--store", help="store URL (default: settings)")]
Start = Annotated[str | None, typer.Option("--start", help="first local day, e.g. 2024-04-01 (with --from-store)")]
End = Annotated[str | None, typer.Option("--end", help="day after the last local day (with --from-store)")]
StepMin = Annotated[int, typer.Option("--step-min", help="time step [min] for stored load")]
Province = Annotated[str, typer.Option("--province", help="province for tariff and grid factor, e.g. 山东 / Shandong")]
Enterprise = Annotated[str | None, typer.Option("--enterprise", help="enterprise id (default: the park)")]
Park = Annotated[bool, typer.Option("--park", help="plan for the whole park")]
AssumeTz = Annotated[str | None, typer.Option("--assume-tz", help="time zone for naive timestamps, e.g. Asia/Shanghai")]
CustomerClass = Annotated[str, typer.Option("--customer-class", help="tariff customer class")]


def _console() -> Console:
    return Console(width=160, soft_wrap=False, markup=False, highlight=False)


def _load(load: Path | None, assume_tz: str | None, from_store: bool, store: str | None, start: str | None,
          end: str | None, step_min: int, enterprise: str | None, park_id: str | None) -> LoadSeries:
    """The measured load: from a file, or from the platform's stored interval data."""
    if from_store == (load is not None):
        raise InputError("give --load FILE or --from-store (one of them)",
                         message_zh="请指定 --load 文件或 --from-store（二选一）")
    if load is not None:
        return load_series_from_file(load, assume_tz=assume_tz)
    if start is None or end is None:
        raise InputError("--from-store needs --start and --end", message_zh="--from-store 需要 --start 和 --end")
    from parkcarbon.storage import open_store

    st = open_store(store, create=False, migrate=False)
    try:
        t0 = pd.Timestamp(start, tz="Asia/Shanghai")
        t1 = pd.Timestamp(end, tz="Asia/Shanghai")
        return load_series_from_store(st, start_utc=t0.to_pydatetime(), end_utc=t1.to_pydatetime(),
                                      step_h=step_min / 60.0, enterprise_id=enterprise,
                                      park_id=None if enterprise else park_id)
    finally:
        st.dispose()


def _subject(enterprise: str | None, park: bool) -> str:
    if enterprise and park:
        raise InputError("give --enterprise or --park, not both", message_zh="--enterprise 与 --park 只能选一个")
    return enterprise or "park"


def _fmt(v: object) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1 else f"{v:,.1f}"
    return str(v)


def _files(console: Console, files: tuple[Path, ...]) -> None:
    for f in files:
        console.print(f"written: {f}")


@app.command("pv")
def pv_cmd(
    lat: Lat,
    lon: Lon,
    tilt: Tilt = 25.0,
    azimuth: Azimuth = 180.0,
    capacity_kwp: Annotated[float | None, typer.Option("--capacity-kwp", help="DC capacity [kWp]")] = None,
    roof_area_m2: Annotated[float | None, typer.Option("--roof-area-m2", help="roof area [m²]")] = None,
    roof_kwp_per_m2: Annotated[float | None, typer.Option("--roof-kwp-per-m2", help="packing density [kWp/m²]")] = None,
    province: Annotated[str | None, typer.Option("--province", help="province of typical full-load hours")] = None,
    full_load_hours: Flh = None,
    weather: Weather = None,
    assume_tz: AssumeTz = None,
    year: Annotated[int, typer.Option("--year", help="year to simulate (offline mode)")] = 2024,
    step_min: Annotated[int, typer.Option("--step-min", help="time step [min] (offline mode)")] = 60,
    enterprise: Enterprise = None,
    park: Park = False,
    out: Out = None,
) -> None:
    """PV yield with pvlib: measured/TMY weather, or offline clear sky calibrated to full-load hours."""
    spec = PVSystemSpec(lat, lon, tilt_deg=tilt, azimuth_deg=azimuth, capacity_kwp=capacity_kwp,
                        roof_area_m2=roof_area_m2, roof_kwp_per_m2=roof_kwp_per_m2)
    wx = weather_from_file(weather, assume_tz=assume_tz) if weather is not None else None
    res = plan_pv(spec, year=year, step_h=step_min / 60.0, weather=wx, province=province,
                  full_load_hours_h=full_load_hours, out_dir=out, subject=_subject(enterprise, park))
    y = res.result
    c = _console()
    t = Table("quantity", "value", "unit", title="PV yield 光伏发电量")
    t.add_row("capacity 装机容量", _fmt(y.capacity_kwp), "kWp")
    t.add_row("energy 发电量", _fmt(y.energy_kwh), "kWh")
    t.add_row("full-load hours 等效利用小时", _fmt(y.full_load_hours_h), "h")
    t.add_row("system losses 系统损失", _fmt(y.total_loss_pct), "%")
    t.add_row("irradiance source 辐照来源", y.irradiance_source, "")
    t.add_row("cloudiness factor 云量修正系数", _fmt(y.cloudiness_factor_frac), "-")
    c.print(t)
    for a in y.assumptions:
        c.print(f"assumption: {a}")
    _files(c, res.files)


def _objective(kind: str, basis: str) -> Objective:
    try:
        return Objective(ObjectiveKind(kind), emission_basis=EmissionBasis(basis))
    except ValueError:
        raise InputError(f"unknown objective {kind!r} or basis {basis!r}",
                         message_zh=f"未知的优化目标 {kind!r} 或排放口径 {basis!r}",
                         hint="objective: cost, emissions, self_consumption; basis: location, market",
                         hint_zh="目标：cost、emissions、self_consumption；口径：location、market") from None


@app.command("dispatch")
def dispatch_cmd(
    province: Province,
    load: LoadOpt = None,
    from_store: FromStore = False,
    store: StoreUrl = None,
    start: Start = None,
    end: End = None,
    step_min: StepMin = 15,
    park_id: Annotated[str | None, typer.Option("--park-id", help="park id for --from-store --park")] = None,
    customer_class: CustomerClass = "industrial_commercial_1_10kv",
    enterprise: Enterprise = None,
    park: Park = False,
    assume_tz: AssumeTz = None,
    pv_kwp: Annotated[float, typer.Option("--pv-kwp", help="installed PV [kWp] (0 = none)")] = 0.0,
    lat: Annotated[float | None, typer.Option("--lat", help="PV site latitude [°]")] = None,
    lon: Annotated[float | None, typer.Option("--lon", help="PV site longitude [°]")] = None,
    tilt: Tilt = 25.0,
    azimuth: Azimuth = 180.0,
    weather: Weather = None,
    full_load_hours: Flh = None,
    battery_kwh: Annotated[float, typer.Option("--battery-kwh", help="battery energy [kWh] (0 = none)")] = 0.0,
    battery_kw: Annotated[float, typer.Option("--battery-kw", help="battery power [kW]")] = 0.0,
    battery_efficiency: Annotated[float, typer.Option("--battery-efficiency", help="one-way efficiency")] = 0.95,
    max_cycles_per_day: Annotated[float | None, typer.Option("--max-cycles-per-day")] = None,
    import_limit_kw: Annotated[float, typer.Option("--import-limit-kw")] = math.inf,
    export_limit_kw: Annotated[float, typer.Option("--export-limit-kw", help="0 = no export (防逆流)")] = math.inf,
    objective: Annotated[str, typer.Option("--objective", help="cost | emissions | self_consumption")] = "cost",
    basis: Annotated[str, typer.Option("--basis", help="emission basis for objective/price/cap")] = "location",
    carbon_price: Annotated[float, typer.Option("--carbon-price", help="[CNY/tCO2]")] = 0.0,
    carbon_cap: Annotated[float | None, typer.Option("--carbon-cap", help="[tCO2] over the load period")] = None,
    grid_ef: Annotated[float | None, typer.Option("--grid-ef", help="location EF override [tCO2/MWh]")] = None,
    out: Out = None,
) -> None:
    """Optimal dispatch (HiGHS LP) of PV and storage against the measured load and TOU tariff."""
    series = _load(load, assume_tz, from_store, store, start, end, step_min, enterprise, park_id)
    grid = GridSetup(province, customer_class, import_limit_kw=import_limit_kw, export_limit_kw=export_limit_kw,
                     grid_ef_location_tco2_per_mwh=grid_ef)
    spec = None
    if pv_kwp > 0:
        if lat is None or lon is None:
            raise InputError("--pv-kwp needs --lat and --lon", message_zh="设置 --pv-kwp 时需要 --lat 和 --lon")
        spec = PVSystemSpec(lat, lon, tilt_deg=tilt, azimuth_deg=azimuth, capacity_kwp=pv_kwp)
    bats = []
    if battery_kwh > 0:
        bats.append(Battery("battery", energy_kwh=battery_kwh, charge_power_kw=battery_kw,
                            charge_efficiency=battery_efficiency, discharge_efficiency=battery_efficiency,
                            max_cycles_per_day=max_cycles_per_day))
    wx = weather_from_file(weather, assume_tz=assume_tz) if weather is not None else None
    res = plan_dispatch(series, grid, pv=spec, weather=wx, full_load_hours_h=full_load_hours, batteries=bats,
                        objective=_objective(objective, basis), carbon_price_per_t=carbon_price,
                        carbon_cap_t=carbon_cap, carbon_basis=EmissionBasis(basis), out_dir=out,
                        subject=_subject(enterprise, park))
    r = res.result
    c = _console()
    t = Table("quantity", "value", "unit", title=f"Dispatch 优化调度 ({series.load_kw.size} steps × {series.step_h} h)")
    rows = [
        ("total cost 总电费", r.cost.total_cny, "CNY"),
        ("energy charge 电量电费", r.cost.energy_import_cny, "CNY"),
        ("demand charge 需量电费", r.cost.demand_charge_cny, "CNY"),
        ("export revenue 上网收入", r.cost.export_revenue_cny, "CNY"),
        ("emissions location 基于位置排放", r.emissions.location_tco2, "tCO2"),
        ("emissions market 基于市场排放", r.emissions.market_tco2, "tCO2"),
        ("load 用电量", r.energy.load_kwh, "kWh"),
        ("grid import 下网电量", r.energy.grid_import_kwh, "kWh"),
        ("PV generated 光伏发电", r.energy.pv_generated_kwh, "kWh"),
        ("self-consumption 自发自用率", r.energy.self_consumption_frac, "-"),
        ("clean electricity share 清洁电力占比", r.energy.clean_electricity_share_frac, "-"),
        ("peak import 最大需量", r.energy.peak_import_kw, "kW"),
    ]
    for name, v, unit in rows:
        t.add_row(name, _fmt(v), unit)
    c.print(t)
    for period, cny in r.cost.energy_import_by_period_cny:
        c.print(f"  {period}: {cny:,.0f} CNY")
    for w in res.provenance.get("warnings", []):
        c.print(f"warning: {w}")
    _files(c, res.files)


@app.command("size")
def size_cmd(
    province: Province,
    lat: Lat,
    lon: Lon,
    roof_kwp: Annotated[float, typer.Option("--roof-kwp", help="PV potential of the roofs [kWp] (upper bound)")],
    load: LoadOpt = None,
    from_store: FromStore = False,
    store: StoreUrl = None,
    start: Start = None,
    end: End = None,
    step_min: StepMin = 60,
    park_id: Annotated[str | None, typer.Option("--park-id", help="park id for --from-store --park")] = None,
    customer_class: CustomerClass = "industrial_commercial_1_10kv",
    enterprise: Enterprise = None,
    park: Park = False,
    assume_tz: AssumeTz = None,
    tilt: Tilt = 25.0,
    azimuth: Azimuth = 180.0,
    weather: Weather = None,
    full_load_hours: Flh = None,
    max_battery_kwh: Annotated[float, typer.Option("--max-battery-kwh")] = math.inf,
    battery_duration_h: Annotated[float | None, typer.Option("--battery-duration-h", help="fix E/P [h]")] = None,
    pv_capex: Annotated[float, typer.Option("--pv-capex", help="[CNY/kWp]")] = InvestmentCosts.pv_capex_per_kwp,
    battery_capex: Annotated[float, typer.Option("--battery-capex", help="[CNY/kWh]")] = (
        InvestmentCosts.battery_capex_per_kwh),
    discount_rate: Annotated[float, typer.Option("--discount-rate")] = InvestmentCosts.discount_rate,
    export_limit_kw: Annotated[float, typer.Option("--export-limit-kw", help="0 = no export (防逆流)")] = math.inf,
    out: Out = None,
) -> None:
    """Size PV and storage (annualised capex + O&M vs. operating cost) and compare scenarios."""
    series = _load(load, assume_tz, from_store, store, start, end, step_min, enterprise, park_id)
    grid = GridSetup(province, customer_class, export_limit_kw=export_limit_kw)
    site = PVSystemSpec(lat, lon, tilt_deg=tilt, azimuth_deg=azimuth, capacity_kwp=roof_kwp)
    costs = InvestmentCosts(pv_capex_per_kwp=pv_capex, battery_capex_per_kwh=battery_capex,
                            discount_rate=discount_rate)
    wx = weather_from_file(weather, assume_tz=assume_tz) if weather is not None else None
    res = plan_sizing(series, grid, site, costs=costs, max_battery_kwh=max_battery_kwh,
                      battery_duration_h=battery_duration_h, weather=wx, full_load_hours_h=full_load_hours,
                      out_dir=out, subject=_subject(enterprise, park))
    rows, _best = res.result
    c = _console()
    t = Table("scenario 方案", "PV kWp", "storage kWh", "storage kW", "total cost CNY/a", "tCO2/a (loc.)",
              "clean share", "NPV CNY", "payback a", title="Scenarios 方案比选 (annual)")
    for r in rows:
        t.add_row(r.name, _fmt(r.pv_capacity_kwp), _fmt(r.battery_energy_kwh), _fmt(r.battery_power_kw),
                  _fmt(r.total_cost_cny_per_year), _fmt(r.emissions_location_tco2_per_year),
                  _fmt(r.clean_electricity_share_frac), _fmt(r.npv_cny), _fmt(r.simple_payback_years))
    c.print(t)
    _files(c, res.files)
