"""Planning use cases (源网荷储规划服务): PV yield, dispatch and sizing for an enterprise or the park.

Orchestration only: reads the measured load (CSV/Parquet interval file with timestamps, or an
array), picks the tariff (``factors.tariffs``) and grid emission factors (``factors`` registry,
with its fallback policy recorded), builds the plain-data problem, calls ``planning`` and writes
the results for the dashboard: ``<out>/<subject>/plan_<kind>.json`` (totals, assumptions,
provenance) and ``plan_<kind>_schedule.csv`` (one row per step).

Stored load: :func:`load_series_from_store` reads the platform's interval increments (grid import
+ on-site generation − export meters of an enterprise, summed over a park).

Load files: a timestamp column (ISO 8601 with offset; naive timestamps need ``assume_tz``) and
either ``load_kw`` (average power [kW]) or ``energy_kwh`` (interval energy [kWh], converted with
the step). Steps must be equally spaced with no gaps or duplicates: a missing interval is never
read as zero.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from parkcarbon.core.trace import FactorRef
from parkcarbon.errors import (
    FactorNotFoundError,
    InputError,
    Location,
    NotFoundError,
    PeriodError,
    QuantityError,
    TemplateError,
)
from parkcarbon.factors import FallbackPolicy, lookup
from parkcarbon.factors.tariffs import TariffBook, TariffSeries, load_tariff_book
from parkcarbon.planning.dispatch import optimise_dispatch
from parkcarbon.planning.problem import (
    Battery,
    BatteryInvestment,
    DispatchProblem,
    EmissionBasis,
    GreenContract,
    Objective,
    PVInvestment,
    SizingProblem,
)
from parkcarbon.planning.pv import PVSystemSpec, PVYield, simulate_pv, simulate_pv_clearsky
from parkcarbon.planning.results import DispatchResult
from parkcarbon.planning.sizing import ScenarioRow, SizingResult, scenario_row, solve_scenarios
from parkcarbon.storage import Repository, Store

__all__ = [
    "DEFAULT_CUSTOMER_CLASS",
    "GridSetup",
    "InvestmentCosts",
    "LoadSeries",
    "PlanOutcome",
    "build_dispatch_problem",
    "grid_factors",
    "load_series_from_array",
    "load_series_from_file",
    "load_series_from_store",
    "plan_dispatch",
    "plan_pv",
    "plan_sizing",
    "scenario_table",
    "stored_plans",
    "weather_from_file",
]

DEFAULT_CUSTOMER_CLASS = "industrial_commercial_1_10kv"


@dataclass(frozen=True)
class LoadSeries:
    """Measured interval load: UTC step starts, average power per step [kW], step [h]."""

    timestamps_utc: pd.DatetimeIndex
    load_kw: npt.NDArray[np.float64]
    step_h: float
    source: str

    @property
    def energy_kwh(self) -> float:
        return float(self.load_kw.sum() * self.step_h)


def _check_grid(idx: pd.DatetimeIndex, source: str) -> float:
    if len(idx) < 2:
        raise InputError("a load series needs at least two intervals", message_zh="负荷序列至少需要两个时段",
                         location=Location(file=source))
    secs = np.asarray((idx[1:] - idx[:-1]).total_seconds(), dtype=np.float64)
    step_s = float(np.min(secs))
    if step_s <= 0:
        t = int(np.flatnonzero(secs <= 0)[0]) + 1
        raise PeriodError(f"timestamps are not strictly increasing (duplicate or unsorted at row {t + 1})",
                          message_zh=f"时间戳不是严格递增（第 {t + 1} 行重复或乱序）",
                          hint="sort the file and remove duplicate intervals", hint_zh="请排序并删除重复时段",
                          location=Location(file=source, row=t + 2, value=str(idx[t])))
    bad = np.flatnonzero(secs != step_s)
    if bad.size:
        t = int(bad[0])
        raise PeriodError(
            f"gap or irregular step after {idx[t]}: {secs[t] / 60:.0f} min instead of {step_s / 60:.0f} min",
            message_zh=f"{idx[t]} 之后存在缺测或步长不一致：{secs[t] / 60:.0f} 分钟，应为 {step_s / 60:.0f} 分钟",
            hint="missing intervals are not zero: fill them (estimated, flagged) or plan on a shorter period",
            hint_zh="缺测时段不等于零：请先补齐（标记为估算）或缩短规划时段",
            location=Location(file=source, row=t + 3, value=str(idx[t + 1])))
    return step_s / 3600.0


def load_series_from_array(values: Sequence[float] | npt.ArrayLike, start_utc: str | pd.Timestamp,
                           step_h: float, source: str = "array") -> LoadSeries:
    """Wrap an array of average loads [kW] starting at ``start_utc`` (aware) with step ``step_h`` [h]."""
    start = pd.Timestamp(start_utc)
    if start.tzinfo is None:
        raise PeriodError("start timestamp has no time zone", message_zh="起始时间缺少时区",
                          hint="e.g. 2024-01-01T00:00+08:00", hint_zh="例如 2024-01-01T00:00+08:00")
    arr = np.asarray(values, dtype=np.float64)
    idx = pd.date_range(start.tz_convert("UTC"), periods=arr.size, freq=pd.Timedelta(hours=step_h))
    _check_values(arr, source, "load_kw")
    arr.setflags(write=False)
    return LoadSeries(idx, arr, float(step_h), source)


def _check_values(arr: npt.NDArray[np.float64], source: str, column: str) -> None:
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        t = int(np.flatnonzero(bad)[0])
        raise QuantityError(f"load value at row {t + 2} is missing, negative or not a number",
                            message_zh=f"第 {t + 2} 行负荷值缺失、为负或不是数值",
                            hint="missing is not zero: fill the gap (flagged estimate) before planning",
                            hint_zh="缺失不等于零：规划前请补齐（并标记为估算）",
                            location=Location(file=source, row=t + 2, column=column, value=float(arr[t])))


def load_series_from_file(path: str | Path, *, timestamp_column: str = "timestamp",
                          value_column: str | None = None, assume_tz: str | None = None) -> LoadSeries:
    """Read a CSV or Parquet interval load file (see the module docstring for the layout)."""
    p = Path(path)
    try:
        df = pd.read_parquet(p) if p.suffix.lower() in (".parquet", ".pq") else pd.read_csv(p)
    except (OSError, ValueError) as exc:
        raise TemplateError(f"cannot read load file: {exc}", message_zh=f"无法读取负荷文件：{exc}",
                            location=Location(file=p.name)) from exc
    if timestamp_column not in df.columns:
        raise TemplateError(f"load file has no {timestamp_column!r} column",
                            message_zh=f"负荷文件缺少 {timestamp_column!r} 列",
                            hint="columns: timestamp, load_kw (or energy_kwh)", hint_zh="列：timestamp、load_kw（或 energy_kwh）",
                            location=Location(file=p.name, row=1))
    col = value_column or next((c for c in ("load_kw", "energy_kwh") if c in df.columns), None)
    if col is None or col not in df.columns:
        raise TemplateError("load file needs a 'load_kw' or 'energy_kwh' column",
                            message_zh="负荷文件需要 load_kw 或 energy_kwh 列", location=Location(file=p.name, row=1))
    try:
        idx = pd.DatetimeIndex(pd.to_datetime(df[timestamp_column], format="ISO8601"))
    except (ValueError, TypeError) as exc:
        raise PeriodError(f"cannot read timestamps: {exc}", message_zh=f"无法识别时间戳：{exc}",
                          location=Location(file=p.name, column=timestamp_column)) from exc
    if idx.tz is None:
        if assume_tz is None:
            raise PeriodError("timestamps have no time zone", message_zh="时间戳缺少时区",
                              hint="write offsets (+08:00) or pass assume_tz='Asia/Shanghai'",
                              hint_zh="请写明时区偏移（+08:00），或指定 assume_tz='Asia/Shanghai'",
                              location=Location(file=p.name, column=timestamp_column))
        idx = idx.tz_localize(assume_tz)
    idx = idx.tz_convert("UTC")
    step_h = _check_grid(idx, p.name)
    vals = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64)
    _check_values(vals, p.name, col)
    if col == "energy_kwh" or (value_column is not None and "kwh" in col.lower()):
        vals = vals / step_h
    vals.setflags(write=False)
    return LoadSeries(idx, vals, step_h, p.name)


def weather_from_file(path: str | Path, *, timestamp_column: str = "timestamp", assume_tz: str | None = None
                      ) -> pd.DataFrame:
    """Read a measured/TMY weather CSV (timestamp, ghi [W/m²], optional dni, dhi, temp_air, wind_speed)."""
    p = Path(path)
    try:
        df = pd.read_csv(p)
    except (OSError, ValueError) as exc:
        raise TemplateError(f"cannot read weather file: {exc}", message_zh=f"无法读取气象文件：{exc}",
                            location=Location(file=p.name)) from exc
    if timestamp_column not in df.columns:
        raise TemplateError(f"weather file has no {timestamp_column!r} column",
                            message_zh=f"气象文件缺少 {timestamp_column!r} 列", location=Location(file=p.name, row=1))
    idx = pd.DatetimeIndex(pd.to_datetime(df.pop(timestamp_column), format="ISO8601"))
    if idx.tz is None:
        if assume_tz is None:
            raise PeriodError("weather timestamps have no time zone", message_zh="气象数据时间戳缺少时区",
                              hint="pass assume_tz", hint_zh="请指定时区", location=Location(file=p.name))
        idx = idx.tz_localize(assume_tz)
    df.index = idx
    return df


_LOAD_SIGN = {"grid_import": 1.0, "onsite_generation": 1.0, "export": -1.0}


def load_series_from_store(store: Store, *, start_utc: datetime, end_utc: datetime, step_h: float = 0.25,
                           enterprise_id: str | None = None, park_id: str | None = None) -> LoadSeries:
    """Measured site load from the platform's stored interval increments (区间增量) [kW].

    Per enterprise, load = grid import + on-site generation − export over its electricity meters
    with those roles; an enterprise without such meters uses its ``consumption`` meters. A park
    sums its enterprises. Meters finer than ``step_h`` are summed into the step; a slot without a
    value (missing or suspect) is an error naming the meter and the slot — never a zero.
    """
    if (enterprise_id is None) == (park_id is None):
        raise InputError("give enterprise_id or park_id", message_zh="请指定企业或园区（二选一）")
    start = pd.Timestamp(start_utc)
    end = pd.Timestamp(end_utc)
    if start.tzinfo is None or end.tzinfo is None:
        raise PeriodError("start/end must be time-zone aware", message_zh="起止时间必须带时区")
    grid = pd.date_range(start.tz_convert("UTC"), end.tz_convert("UTC"), freq=pd.Timedelta(hours=step_h),
                         inclusive="left")
    n = len(grid)
    step_s = step_h * 3600.0
    total = np.zeros(n)
    t0 = grid[0].to_pydatetime() if n else start.to_pydatetime()
    with store.session(write=False) as session:
        repo = Repository(session)
        ents = [enterprise_id] if enterprise_id is not None else [e.id for e in repo.list_enterprises(park_id=park_id)]
        if not ents:
            raise NotFoundError(f"park {park_id!r} has no enterprises", message_zh=f"园区 {park_id!r} 没有企业")
        for ent in ents:
            meters = [m for m in repo.list_meters(enterprise_id=ent) if m.carrier == "electricity"]
            chosen = [(m, _LOAD_SIGN[m.role]) for m in meters if m.role in _LOAD_SIGN]
            if not any(m.role == "grid_import" for m, _ in chosen):
                chosen = [(m, 1.0) for m in meters if m.role == "consumption"]
            if not chosen:
                raise NotFoundError(f"enterprise {ent!r} has no electricity meters for its load",
                                    message_zh=f"企业 {ent!r} 没有可用于负荷的电表",
                                    hint="register grid_import (or consumption) electricity meters",
                                    hint_zh="请登记下网（或用电）电表")
            slots = repo.increment_slots([m.id for m, _ in chosen], grid[0].to_pydatetime(), end.to_pydatetime())
            for meter, sign in chosen:
                energy = np.zeros(n)
                seen = np.zeros(n)
                per_step = max(round(step_s / float(meter.interval_s or step_s)), 1)
                for slot, value, _quality in slots[meter.id]:
                    k = int((pd.Timestamp(slot).tz_convert("UTC") - pd.Timestamp(t0)).total_seconds() // step_s)
                    if value is None:
                        raise QuantityError(
                            f"meter {meter.code}: interval {slot} has no valid value",
                            message_zh=f"表计 {meter.code}：时段 {slot} 无有效数据",
                            hint="fill or estimate the interval (flagged) before planning",
                            hint_zh="规划前请补齐或估算该时段（并标记）",
                            location=Location(record=meter.code, value=str(slot)))
                    energy[k] += float(value)
                    seen[k] += 1
                short = np.flatnonzero(seen < per_step)
                if short.size:
                    raise QuantityError(
                        f"meter {meter.code}: {short.size} of {n} steps are incomplete, first at {grid[short[0]]}",
                        message_zh=f"表计 {meter.code}：{n} 个时段中有 {short.size} 个数据不完整，首个为 {grid[short[0]]}",
                        hint="missing is not zero: fill gaps (flagged estimates) or shorten the period",
                        hint_zh="缺失不等于零：请补齐（标记为估算）或缩短时段",
                        location=Location(record=meter.code, value=str(grid[short[0]])))
                total += sign * energy / step_h
    source = f"store:{enterprise_id or park_id}"
    _check_values(total, source, "load_kw")
    total.setflags(write=False)
    return LoadSeries(grid, total, float(step_h), source)


@dataclass(frozen=True)
class GridSetup:
    """The site's grid connection, tariff and emission-factor choice.

    province : tariff and grid-factor region (English or Chinese name).
    import_limit_kw / export_limit_kw : connection limits [kW] (export 0 = 防逆流, no export).
    feed_in_cny_per_kwh : export price; ``None`` = the tariff's feed-in price.
    use_demand_charge : include the tariff's monthly demand charge (需量电费).
    ef_year : grid-factor data year; ``None`` = the load's year (fallback to the latest published
        year is recorded as a warning).
    grid_ef_location_tco2_per_mwh / grid_ef_market_tco2_per_mwh : explicit factors overriding the registry.
    """

    province: str
    customer_class: str = DEFAULT_CUSTOMER_CLASS
    import_limit_kw: float = math.inf
    export_limit_kw: float = math.inf
    feed_in_cny_per_kwh: float | None = None
    use_demand_charge: bool = True
    ef_year: int | None = None
    grid_ef_location_tco2_per_mwh: float | None = None
    grid_ef_market_tco2_per_mwh: float | None = None
    tariff_dir: str | None = None


def grid_factors(province: str, year: int) -> tuple[FactorRef, FactorRef | None, tuple[str, ...]]:
    """(location, market, warnings): provincial average EF and national 'excl. market-traded non-fossil' EF.

    Uses the factor registry with the region-then-year fallback policy; every fallback is returned
    as a warning text (and is visible in the factor's ``fallback_note``).
    """
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loc = lookup("grid_ef", region=province, year=year, method="average",
                     policy=FallbackPolicy.REGION_THEN_YEAR, allow_unverified=False)
        try:
            mkt: FactorRef | None = lookup("grid_ef", region="CN", year=year, method="excl_market_non_fossil",
                                           policy=FallbackPolicy.LATEST_PUBLISHED_YEAR)
        except FactorNotFoundError:
            mkt = None
    notes.extend(str(w.message) for w in caught)
    return loc, mkt, tuple(notes)


def _manual_ref(key: str, value: float, what: str) -> FactorRef:
    return FactorRef(f"user:{key}", key, float(value), "tCO2/MWh", f"user input ({what})", "UNVERIFIED")


def _tariff(grid: GridSetup, load: LoadSeries) -> tuple[TariffSeries, TariffBook]:
    book = load_tariff_book(grid.tariff_dir)
    return book.series(grid.province, grid.customer_class, load.timestamps_utc, load.step_h), book


def build_dispatch_problem(load: LoadSeries, grid: GridSetup, *, pv_available_kw: npt.ArrayLike | None = None,
                           batteries: Sequence[Battery] = (), contracts: Sequence[GreenContract] = (),
                           objective: Objective | None = None, carbon_price_per_t: float = 0.0,
                           carbon_cap_t: float | None = None,
                           carbon_basis: EmissionBasis = EmissionBasis.LOCATION) -> tuple[DispatchProblem, dict[str, Any]]:
    """Assemble the :class:`DispatchProblem` for ``load`` under ``grid``; returns it with its provenance."""
    tariff, _ = _tariff(grid, load)
    year = grid.ef_year or int(load.timestamps_utc[0].tz_convert("Asia/Shanghai").year)
    notes: list[str] = []
    if grid.grid_ef_location_tco2_per_mwh is not None:
        loc_ref: FactorRef = _manual_ref("grid_ef.location", grid.grid_ef_location_tco2_per_mwh, "location-based")
        mkt_ref = (None if grid.grid_ef_market_tco2_per_mwh is None
                   else _manual_ref("grid_ef.market", grid.grid_ef_market_tco2_per_mwh, "market-based"))
    else:
        loc_ref, mkt_ref, w = grid_factors(grid.province, year)
        notes.extend(w)
        if grid.grid_ef_market_tco2_per_mwh is not None:
            mkt_ref = _manual_ref("grid_ef.market", grid.grid_ef_market_tco2_per_mwh, "market-based")
    feed_in = grid.feed_in_cny_per_kwh if grid.feed_in_cny_per_kwh is not None else tariff.feed_in_cny_per_kwh
    if feed_in is None:
        raise InputError("no feed-in price in the tariff: give feed_in_cny_per_kwh",
                         message_zh="电价数据中没有上网电价：请给出 feed_in_cny_per_kwh")
    demand = (tariff.demand_charge_cny_per_kw_month or 0.0) if grid.use_demand_charge else 0.0
    n = load.load_kw.size
    problem = DispatchProblem(
        step_h=load.step_h,
        load_kw=load.load_kw,
        import_price_per_kwh=tariff.import_price_cny_per_kwh,
        export_price_per_kwh=np.full(n, feed_in),
        pv_available_kw=None if pv_available_kw is None else np.asarray(pv_available_kw, dtype=np.float64),
        batteries=tuple(batteries),
        green_contracts=tuple(contracts),
        grid_import_limit_kw=grid.import_limit_kw,
        grid_export_limit_kw=grid.export_limit_kw,
        demand_charge_per_kw_month=demand,
        billing_month=tariff.billing_month,
        grid_ef_location=np.full(n, loc_ref.value),
        grid_ef_market=None if mkt_ref is None else np.full(n, mkt_ref.value),
        grid_ef_location_ref=loc_ref,
        grid_ef_market_ref=mkt_ref,
        carbon_price_per_t=carbon_price_per_t,
        carbon_cap_t=carbon_cap_t,
        carbon_basis=carbon_basis,
        objective=objective or Objective(),
        period_labels=tariff.period_labels,
        timestamps=load.timestamps_utc.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[ns]"),
    )
    provenance = {
        "tariffs": [{"tariff_id": t.tariff_id, "grade": t.grade, "source": t.source, "valid_from": t.valid_from,
                     "valid_to": t.valid_to} for t in tariff.tariffs],
        "feed_in_cny_per_kwh": feed_in,
        "demand_charge_cny_per_kw_month": demand,
        "grid_ef_location": asdict(loc_ref),
        "grid_ef_market": None if mkt_ref is None else asdict(mkt_ref),
        "warnings": notes,
        "load_source": load.source,
    }
    return problem, provenance


@dataclass(frozen=True)
class PlanOutcome:
    """A planning result with the files written for the dashboard."""

    result: Any
    files: tuple[Path, ...]
    provenance: dict[str, Any] = field(default_factory=dict)


def _jsonable(obj: Any) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        return {k: _jsonable(v) for k, v in obj.__dict__.items() if not k.startswith("_")}
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return None  # arrays go to the schedule CSV
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, date | pd.Timestamp | Path):
        return str(obj)
    return obj


def _subject_dir(out_dir: str | Path, subject: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in subject) or "park"
    d = Path(out_dir) / safe
    d.mkdir(parents=True, exist_ok=True)
    return d


def _schedule_frame(result: DispatchResult, index: pd.DatetimeIndex, prices: npt.ArrayLike | None = None,
                    labels: Sequence[str] | None = None) -> pd.DataFrame:
    cols: dict[str, Any] = {
        "timestamp_utc": index.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "load_kw": result.load_kw,
        "grid_import_kw": result.grid_import_kw,
        "grid_export_kw": result.grid_export_kw,
        "pv_generation_kw": result.pv_generation_kw,
        "pv_curtailed_kw": result.pv_curtailed_kw,
    }
    for b in result.batteries:
        cols[f"{b.name}.charge_kw"] = b.charge_kw
        cols[f"{b.name}.discharge_kw"] = b.discharge_kw
        cols[f"{b.name}.soc_kwh"] = b.soc_kwh
    for name, g in result.green_supply_kw:
        cols[f"{name}.supply_kw"] = g
    if prices is not None:
        cols["import_price_cny_per_kwh"] = prices
    if labels is not None:
        cols["tou_period"] = list(labels)
    return pd.DataFrame(cols)


def _write(out_dir: str | Path | None, subject: str, kind: str, payload: dict[str, Any],
           frame: pd.DataFrame | None) -> tuple[Path, ...]:
    if out_dir is None:
        return ()
    d = _subject_dir(out_dir, subject)
    jpath = d / f"plan_{kind}.json"
    jpath.write_text(json.dumps(_jsonable(payload), ensure_ascii=False, indent=2), encoding="utf-8")
    files = [jpath]
    if frame is not None:
        cpath = d / f"plan_{kind}_schedule.csv"
        frame.to_csv(cpath, index=False, float_format="%.6g")
        files.append(cpath)
    return tuple(files)


def plan_pv(spec: PVSystemSpec, *, year: int = 2024, step_h: float = 1.0, weather: pd.DataFrame | None = None,
            province: str | None = None, full_load_hours_h: float | None = None,
            out_dir: str | Path | None = None, subject: str = "park") -> PlanOutcome:
    """PV yield for a year (offline clear-sky calibrated) or on the weather data's grid."""
    if weather is not None:
        res: PVYield = simulate_pv(spec, weather, default_temp_air_c=None if "temp_air" in weather else 20.0)
    else:
        idx = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq=pd.Timedelta(hours=step_h),
                            inclusive="left", tz="Asia/Shanghai")
        res = simulate_pv_clearsky(spec, idx, step_h=step_h, province=province, full_load_hours_h=full_load_hours_h)
    payload = {"kind": "pv", "subject": subject, "spec": asdict(spec), "capacity_kwp": res.capacity_kwp,
               "energy_kwh": res.energy_kwh, "full_load_hours_h": res.full_load_hours_h,
               "total_loss_pct": res.total_loss_pct, "irradiance_source": res.irradiance_source,
               "cloudiness_factor_frac": res.cloudiness_factor_frac, "assumptions": res.assumptions,
               "trace": res.trace}
    frame = pd.DataFrame({"timestamp_utc": res.timestamps.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
                          "pv_ac_kw": res.ac_kw})
    return PlanOutcome(res, _write(out_dir, subject, "pv", payload, frame))


def _pv_on_load_grid(spec: PVSystemSpec | None, load: LoadSeries, weather: pd.DataFrame | None, province: str,
                     full_load_hours_h: float | None) -> PVYield | None:
    if spec is None:
        return None
    if weather is not None:
        res = simulate_pv(spec, weather, step_h=load.step_h,
                          default_temp_air_c=None if "temp_air" in weather else 20.0)
        if len(res.ac_kw) != load.load_kw.size or not (res.timestamps.tz_convert("UTC") == load.timestamps_utc).all():
            raise InputError("weather data must be on the same time grid as the load",
                             message_zh="气象数据须与负荷数据时间网格一致",
                             hint="resample the weather file to the load's timestamps", hint_zh="请按负荷时间戳重采样气象数据")
        return res
    return simulate_pv_clearsky(spec, load.timestamps_utc, step_h=load.step_h, province=province,
                                full_load_hours_h=full_load_hours_h)


def plan_dispatch(load: LoadSeries, grid: GridSetup, *, pv: PVSystemSpec | None = None,
                  weather: pd.DataFrame | None = None, full_load_hours_h: float | None = None,
                  batteries: Sequence[Battery] = (), contracts: Sequence[GreenContract] = (),
                  objective: Objective | None = None, carbon_price_per_t: float = 0.0,
                  carbon_cap_t: float | None = None, carbon_basis: EmissionBasis = EmissionBasis.LOCATION,
                  out_dir: str | Path | None = None, subject: str = "park") -> PlanOutcome:
    """Optimal dispatch of PV, batteries and green contracts against the measured load."""
    pv_res = _pv_on_load_grid(pv, load, weather, grid.province, full_load_hours_h)
    problem, prov = build_dispatch_problem(
        load, grid, pv_available_kw=None if pv_res is None else pv_res.ac_kw, batteries=batteries,
        contracts=contracts, objective=objective, carbon_price_per_t=carbon_price_per_t,
        carbon_cap_t=carbon_cap_t, carbon_basis=carbon_basis)
    result = optimise_dispatch(problem)
    payload = {"kind": "dispatch", "subject": subject, "summary": result.summary(), "provenance": prov,
               "pv": None if pv_res is None else {"capacity_kwp": pv_res.capacity_kwp,
                                                  "assumptions": pv_res.assumptions,
                                                  "full_load_hours_h": pv_res.full_load_hours_h},
               "objective": asdict(problem.objective)}
    frame = _schedule_frame(result, load.timestamps_utc, problem.import_price_per_kwh, problem.period_labels)
    return PlanOutcome(result, _write(out_dir, subject, "dispatch", payload, frame), prov)


@dataclass(frozen=True)
class InvestmentCosts:
    """Investment cost assumptions for sizing (indicative 2024 levels, UNVERIFIED: replace with quotes).

    PV: capex [CNY/kWp], fixed O&M [CNY/(kWp·a)], life [a]. Battery: capex [CNY/kWh] + [CNY/kW],
    fixed O&M [CNY/(kWh·a)], life [a]. discount_rate [fraction].
    """

    pv_capex_per_kwp: float = 3200.0
    pv_fixed_om_per_kwp_year: float = 40.0
    pv_lifetime_years: int = 25
    battery_capex_per_kwh: float = 900.0
    battery_capex_per_kw: float = 300.0
    battery_fixed_om_per_kwh_year: float = 15.0
    battery_lifetime_years: int = 12
    discount_rate: float = 0.06


def plan_sizing(load: LoadSeries, grid: GridSetup, pv_site: PVSystemSpec, *, costs: InvestmentCosts | None = None,
                battery_template: Battery | None = None, max_pv_kwp: float | None = None,
                max_battery_kwh: float = math.inf, battery_duration_h: float | None = None,
                weather: pd.DataFrame | None = None, full_load_hours_h: float | None = None,
                out_dir: str | Path | None = None, subject: str = "park"
                ) -> PlanOutcome:
    """Size PV and storage and compare named scenarios side by side.

    Scenarios: ``baseline`` (no new assets), ``pv_only``, ``storage_only``, ``pv_storage``; each
    sized optimally for annual cost. ``pv_site`` gives location/orientation; its capacity is only
    is the roof potential: the upper bound of the sized PV unless ``max_pv_kwp`` is given.
    """
    c = costs or InvestmentCosts()
    yield_res = _pv_on_load_grid(pv_site, load, weather, grid.province, full_load_hours_h)
    assert yield_res is not None
    base, prov = build_dispatch_problem(load, grid)
    tpl = battery_template or Battery("storage", energy_kwh=0.0, charge_power_kw=0.0, charge_efficiency=0.95,
                                      discharge_efficiency=0.95, soc_min_frac=0.05, soc_max_frac=0.95,
                                      max_cycles_per_day=2.0)
    pv_inv = PVInvestment(yield_res.yield_kw_per_kwp, c.pv_capex_per_kwp, c.pv_fixed_om_per_kwp_year,
                          c.pv_lifetime_years,
                          max_kwp=pv_site.resolved_capacity_kwp if max_pv_kwp is None else max_pv_kwp)
    bat_inv = BatteryInvestment(tpl, c.battery_capex_per_kwh, c.battery_capex_per_kw,
                                c.battery_fixed_om_per_kwh_year, c.battery_lifetime_years,
                                max_energy_kwh=max_battery_kwh, duration_h=battery_duration_h)
    scenarios: dict[str, DispatchProblem | SizingProblem] = {
        "baseline": base,
        "pv_only": SizingProblem(base, pv=pv_inv, discount_rate=c.discount_rate),
        "storage_only": SizingProblem(base, battery=bat_inv, discount_rate=c.discount_rate),
        "pv_storage": SizingProblem(base, pv=pv_inv, battery=bat_inv, discount_rate=c.discount_rate),
    }
    results = solve_scenarios(scenarios)
    rows = tuple(scenario_row(name, res, load.load_kw.size * load.step_h) for name, res in results.items())
    best = results["pv_storage"]
    assert isinstance(best, SizingResult)
    payload = {"kind": "size", "subject": subject, "costs": asdict(c), "scenarios": [asdict(r) for r in rows],
               "pv_storage": {"pv_capacity_kwp": best.pv_capacity_kwp, "battery_energy_kwh": best.battery_energy_kwh,
                              "battery_power_kw": best.battery_power_kw, "economics": asdict(best.economics),
                              "indicators": best.indicators(), "dispatch": best.dispatch.summary()},
               "pv_yield": {"full_load_hours_h": yield_res.full_load_hours_h, "assumptions": yield_res.assumptions},
               "provenance": prov}
    frame = _schedule_frame(best.dispatch, load.timestamps_utc, base.import_price_per_kwh, base.period_labels)
    return PlanOutcome((rows, best), _write(out_dir, subject, "size", payload, frame), prov)


def scenario_table(rows: Sequence[ScenarioRow]) -> pd.DataFrame:
    """Scenario rows as a table (one row per scenario)."""
    return pd.DataFrame([asdict(r) for r in rows]).set_index("name")


def stored_plans(out_dir: str | Path, subject: str = "park") -> dict[str, dict[str, Any]]:
    """The stored plan results of ``subject`` (``{"pv"|"dispatch"|"size": JSON payload}``) for the dashboard.

    Reads what :func:`plan_pv`, :func:`plan_dispatch` and :func:`plan_sizing` wrote; a kind that was
    never run is absent (not an empty payload).
    """
    d = Path(out_dir) / "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in subject)
    out: dict[str, dict[str, Any]] = {}
    for kind in ("pv", "dispatch", "size"):
        f = d / f"plan_{kind}.json"
        if f.is_file():
            try:
                out[kind] = json.loads(f.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise TemplateError(f"stored plan result is not valid JSON: {exc}",
                                    message_zh=f"已存规划结果不是有效的 JSON：{exc}",
                                    location=Location(file=str(f))) from exc
    return out
