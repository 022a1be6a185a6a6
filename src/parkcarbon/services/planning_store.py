"""Stored planning runs (规划结果存储): run a PV / dispatch / sizing plan for an enterprise or the park
under the caller's scope, keep it in ``plan_result``, list and read it back, all audited.

Load: the platform's own measured interval load (:func:`~parkcarbon.services.planning.load_series_from_store`,
local days ``start`` … ``end`` exclusive, Asia/Shanghai). Only when the store has **no** interval
data for the subject in that horizon, an uploaded load CSV (``timestamp``, ``load_kw`` or
``energy_kwh``) is accepted instead; a CSV for a subject with measured data is refused (the
platform's measurement wins, never a silent mix).

Bounds (keep solves short on a shared server): step 15, 30 or 60 min (default 60); dispatch at
most :data:`MAX_DISPATCH_STEPS` steps (366 days hourly), sizing at most :data:`MAX_SIZING_STEPS`
(92 days hourly; annual figures are scaled by 8760 h / horizon), a CSV at most
:data:`MAX_CSV_CHARS` characters. Larger requests raise ``E-PLAN-SIZE`` (HTTP 422).

Roles (:mod:`parkcarbon.services.tenancy`): an enterprise plan is run by whoever may write the
enterprise (its manager, the park administrator, platform administrators) and read by whoever
may read it (viewer, verifier, park administrator); a park plan is run by the park
administrator and read by the park administrator and the provincial operator. An infeasible
plan is stored with ``status = 'infeasible'`` and its explanation, then the
:class:`~parkcarbon.errors.InfeasibleError` is raised again (HTTP 422).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import defer

from parkcarbon.errors import InfeasibleError, InputError, Location, NotFoundError, UploadRejectedError
from parkcarbon.planning.problem import Battery, Objective, ObjectiveKind
from parkcarbon.planning.pv import PVSystemSpec
from parkcarbon.planning.results import DispatchResult
from parkcarbon.planning.sizing import SizingResult
from parkcarbon.services.audit import audit
from parkcarbon.services.planning import (
    DEFAULT_CUSTOMER_CLASS,
    GridSetup,
    LoadSeries,
    load_series_from_file,
    load_series_from_store,
    plan_dispatch,
    plan_pv,
    plan_sizing,
)
from parkcarbon.services.tenancy import Scope, not_found, scoped_reader, scoped_transaction, tenant_context
from parkcarbon.storage import Repository, Store
from parkcarbon.storage.models import Enterprise, Park
from parkcarbon.storage.models_planning import PLAN_KINDS, PlanResultRow, park_tenant

__all__ = [
    "MAX_CSV_CHARS",
    "MAX_DISPATCH_STEPS",
    "MAX_SIZING_STEPS",
    "BatteryParams",
    "PVParams",
    "PlanParams",
    "StoredPlan",
    "get_plan",
    "list_plans",
    "plan_json",
    "plan_schedule",
    "run_plan",
    "schedule_csv",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
STEP_MINUTES = (15, 30, 60)
MAX_DISPATCH_STEPS = 366 * 24
MAX_SIZING_STEPS = 92 * 24
MAX_CSV_CHARS = 2_000_000
MAX_LIST = 200


@dataclass(frozen=True)
class PVParams:
    """A rooftop PV system: site [°], tilt/azimuth [°] (180 = south), capacity [kWp] or roof area
    [m²] × packing density [kWp/m²]. For sizing, the capacity is the roof potential (upper bound)."""

    latitude_deg: float
    longitude_deg: float
    tilt_deg: float
    azimuth_deg: float = 180.0
    capacity_kwp: float | None = None
    roof_area_m2: float | None = None
    roof_kwp_per_m2: float | None = None

    def spec(self) -> PVSystemSpec:
        return PVSystemSpec(self.latitude_deg, self.longitude_deg, self.tilt_deg, self.azimuth_deg,
                            capacity_kwp=self.capacity_kwp, roof_area_m2=self.roof_area_m2,
                            roof_kwp_per_m2=self.roof_kwp_per_m2)


@dataclass(frozen=True)
class BatteryParams:
    """A battery (储能) for dispatch: energy [kWh], power [kW], one-way efficiencies [fraction],
    SOC window [fraction], cycle limit [1/d] (``None`` = none)."""

    energy_kwh: float
    power_kw: float
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    soc_min_frac: float = 0.05
    soc_max_frac: float = 0.95
    max_cycles_per_day: float | None = None

    def battery(self) -> Battery:
        return Battery("battery", energy_kwh=self.energy_kwh, charge_power_kw=self.power_kw,
                       charge_efficiency=self.charge_efficiency, discharge_efficiency=self.discharge_efficiency,
                       soc_min_frac=self.soc_min_frac, soc_max_frac=self.soc_max_frac,
                       max_cycles_per_day=self.max_cycles_per_day)


@dataclass(frozen=True)
class PlanParams:
    """Inputs of one planning run (validated again by the planning engine).

    province : tariff and grid-factor region; ``None`` = the enterprise's / park's province.
    start, end : local days of the horizon, ``end`` exclusive (stored load); ``year`` for PV yield.
    step_minutes : 15 | 30 | 60. load_csv : uploaded load when the store has no interval data.
    import_limit_kw / export_limit_kw : grid connection limits [kW] (``None`` = unlimited).
    objective : cost | emissions | self_consumption. carbon_price_cny_per_t [CNY/tCO2].
    max_pv_kwp / max_battery_kwh : sizing bounds [kWp] / [kWh]; full_load_hours_h : PV calibration [h/a].
    """

    province: str | None = None
    start: date | None = None
    end: date | None = None
    year: int | None = None
    step_minutes: int = 60
    load_csv: str | None = None
    pv: PVParams | None = None
    battery: BatteryParams | None = None
    import_limit_kw: float | None = None
    export_limit_kw: float | None = None
    feed_in_cny_per_kwh: float | None = None
    use_demand_charge: bool = True
    customer_class: str = DEFAULT_CUSTOMER_CLASS
    objective: str = "cost"
    carbon_price_cny_per_t: float = 0.0
    full_load_hours_h: float | None = None
    max_pv_kwp: float | None = None
    max_battery_kwh: float | None = None
    label: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self.__dict__.items():
            if k == "load_csv":
                out["load_csv_chars"] = None if v is None else len(v)
            elif isinstance(v, PVParams | BatteryParams):
                out[k] = dict(v.__dict__)
            elif isinstance(v, date):
                out[k] = v.isoformat()
            else:
                out[k] = v
        return out


@dataclass(frozen=True)
class StoredPlan:
    """A stored plan (without its schedule): who ran what, when, with which inputs and KPIs."""

    id: str
    kind: str
    status: str
    park_id: str | None
    enterprise_id: str | None
    load_source: str
    horizon_start: datetime | None
    horizon_end: datetime | None
    step_minutes: int
    steps: int
    created_by: str
    created_at: datetime
    params: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def kpis(self) -> dict[str, Any]:
        return dict(self.summary.get("kpis") or {})


# ---------------------------------------------------------------------------------------------
# scope helpers
# ---------------------------------------------------------------------------------------------


def _with_park_tenants(repo: Repository, scope: Scope) -> Scope:
    """``scope`` plus the tenants of the park-level rows it may read (park admin, province)."""
    if scope.all_tenants:
        return scope
    parks = set(scope.park_admin_parks)
    if scope.provincial:
        parks |= set(repo.session.scalars(select(Park.id)))
    if not parks:
        return scope
    extra = {park_tenant(p): park_tenant(p) for p in parks}
    return replace(scope, tenants={**scope.tenants, **extra})


@contextmanager
def _reader(store: Store, scope: Scope) -> Iterator[tuple[Repository, Scope]]:
    with scoped_reader(store, scope) as repo:
        wide = _with_park_tenants(repo, scope)
    with scoped_reader(store, wide) as repo:
        yield repo, wide


def _row_out(row: PlanResultRow) -> StoredPlan:
    return StoredPlan(id=row.id, kind=row.kind, status=row.status, park_id=row.park_id,
                      enterprise_id=row.enterprise_id, load_source=row.load_source,
                      horizon_start=row.horizon_start, horizon_end=row.horizon_end, step_minutes=row.step_minutes,
                      steps=row.steps, created_by=row.created_by, created_at=row.created_at,
                      params=json.loads(row.params_json), summary=json.loads(row.summary_json))


# ---------------------------------------------------------------------------------------------
# load
# ---------------------------------------------------------------------------------------------


def _too_large(what: str, what_zh: str, value: int, limit: int) -> UploadRejectedError:
    return UploadRejectedError(f"{what}: {value} exceeds the limit of {limit}",
                               message_zh=f"{what_zh}：{value} 超过上限 {limit}", code="E-PLAN-SIZE",
                               hint="shorten the horizon or use a coarser step", hint_zh="请缩短规划时段或加大时间步长",
                               location=Location(value=value))


def _horizon(params: PlanParams) -> tuple[datetime, datetime]:
    if params.start is None or params.end is None:
        raise InputError("give start and end (local days, end exclusive) or a load CSV",
                         message_zh="请给出起止日期（本地日期，不含结束日）或上传负荷 CSV",
                         hint="e.g. start 2024-04-01, end 2024-05-01", hint_zh="例如 2024-04-01 至 2024-05-01",
                         location=Location(column="start"))
    if params.end <= params.start:
        raise InputError("end must be after start", message_zh="结束日期须晚于开始日期",
                         location=Location(column="end", value=params.end.isoformat()))
    lo = datetime(params.start.year, params.start.month, params.start.day, tzinfo=SHANGHAI)
    hi = datetime(params.end.year, params.end.month, params.end.day, tzinfo=SHANGHAI)
    return lo, hi


def _subject_enterprises(repo: Repository, enterprise_id: str | None, park_id: str | None) -> list[str]:
    if enterprise_id is not None:
        return [enterprise_id]
    return [e.id for e in repo.list_enterprises(park_id=park_id)]


def _has_interval_data(store: Store, ents: list[str], lo: datetime, hi: datetime) -> bool:
    with store.reader() as repo:
        ids = [m.id for e in ents for m in repo.list_meters(enterprise_id=e) if m.carrier == "electricity"]
        if not ids:
            return False
        return any(repo.increment_slots(ids, lo, hi).values())


def _load(store: Store, scope: Scope, params: PlanParams, steps_max: int, enterprise_id: str | None,
          park_id: str | None) -> tuple[LoadSeries, str]:
    step_h = params.step_minutes / 60.0
    with tenant_context(scope):
        if params.load_csv is not None:
            if params.start is not None or params.end is not None:
                raise InputError("a load CSV sets its own horizon: leave start and end empty",
                                 message_zh="负荷 CSV 自带时段：请勿同时填写起止日期", location=Location(column="start"))
            if len(params.load_csv) > MAX_CSV_CHARS:
                raise _too_large("load CSV characters", "负荷 CSV 字符数", len(params.load_csv), MAX_CSV_CHARS)
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "load.csv"
                path.write_text(params.load_csv, encoding="utf-8")
                load = load_series_from_file(path)
            if load.load_kw.size > steps_max:
                raise _too_large("steps", "时段数", int(load.load_kw.size), steps_max)
            lo = load.timestamps_utc[0].to_pydatetime()
            hi = (load.timestamps_utc[-1] + pd.Timedelta(hours=load.step_h)).to_pydatetime()
            with store.reader() as repo:
                ents = _subject_enterprises(repo, enterprise_id, park_id)
            if _has_interval_data(store, ents, lo, hi):
                raise InputError("the platform has measured interval load for this subject and period: "
                                 "plan on it (leave the CSV out and give start and end)",
                                 message_zh="平台已有该对象该时段的实测区间负荷：请直接基于平台数据规划（不上传 CSV，填写起止日期）",
                                 location=Location(column="load_csv"))
            return replace(load, source="upload"), "upload"
        lo, hi = _horizon(params)
        n = int((hi - lo).total_seconds() // (step_h * 3600))
        if n > steps_max:
            raise _too_large("steps", "时段数", n, steps_max)
        try:
            load = load_series_from_store(store, start_utc=lo, end_utc=hi, step_h=step_h,
                                          enterprise_id=enterprise_id, park_id=park_id)
        except NotFoundError as exc:  # no meters / no enterprises: bad input here, not a missing object
            raise InputError(exc.message, message_zh=exc.message_zh, code="E-PLAN-NO-LOAD",
                             hint="upload a load CSV or register interval electricity meters",
                             hint_zh="请上传负荷 CSV，或登记区间电表", location=exc.location) from exc
        return load, "store"


# ---------------------------------------------------------------------------------------------
# results → JSON summary + columnar schedule
# ---------------------------------------------------------------------------------------------


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return None
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, date | pd.Timestamp):
        return obj.isoformat()
    if hasattr(obj, "__dataclass_fields__"):
        return {k: _plain(getattr(obj, k)) for k in obj.__dataclass_fields__}
    return obj


def _dispatch_kpis(d: DispatchResult) -> dict[str, Any]:
    e, m = d.energy, d.emissions
    return {"cost_total_cny": d.cost.total_cny, "emissions_location_tco2": m.location_tco2,
            "emissions_market_tco2": m.market_tco2, "self_consumption_frac": e.self_consumption_frac,
            "self_sufficiency_frac": e.self_sufficiency_frac,
            "clean_electricity_share_frac": e.clean_electricity_share_frac, "load_kwh": e.load_kwh,
            "grid_import_kwh": e.grid_import_kwh, "grid_export_kwh": e.grid_export_kwh,
            "pv_generated_kwh": e.pv_generated_kwh, "peak_import_kw": e.peak_import_kw}


def _dispatch_schedule(d: DispatchResult, index: pd.DatetimeIndex) -> dict[str, list[Any]]:
    n = d.load_kw.size
    soc = np.zeros(n)
    charge = np.zeros(n)
    discharge = np.zeros(n)
    for b in d.batteries:
        soc += b.soc_kwh
        charge += b.charge_kw
        discharge += b.discharge_kw
    cols: dict[str, Any] = {
        "timestamp_utc": list(index.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")),
        "load_kw": d.load_kw, "pv_kw": d.pv_generation_kw, "grid_import_kw": d.grid_import_kw,
        "grid_export_kw": d.grid_export_kw, "battery_charge_kw": charge, "battery_discharge_kw": discharge,
        "battery_soc_kwh": soc if d.batteries else None,
    }
    return {k: (v if isinstance(v, list) else [round(float(x), 6) for x in v])
            for k, v in cols.items() if v is not None}


def _solve(kind: str, params: PlanParams, grid: GridSetup | None, load: LoadSeries | None
           ) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Run the engine; (summary with ``kpis``, columnar schedule)."""
    if kind == "pv":
        if params.pv is None:
            raise InputError("a PV plan needs the PV system (pv)", message_zh="光伏测算需要光伏系统参数（pv）",
                             location=Location(column="pv"))
        year = params.year or (params.start.year if params.start is not None else None)
        if year is None:
            raise InputError("a PV yield plan needs the year", message_zh="光伏发电量测算需要指定年份",
                             location=Location(column="year"))
        out = plan_pv(params.pv.spec(), year=year, step_h=params.step_minutes / 60.0,
                      province=grid.province if grid else None, full_load_hours_h=params.full_load_hours_h)
        r = out.result
        kpis = {"pv_capacity_kwp": r.capacity_kwp, "pv_energy_kwh": r.energy_kwh,
                "full_load_hours_h": r.full_load_hours_h, "total_loss_pct": r.total_loss_pct}
        summary = {"kpis": kpis, "year": year, "irradiance_source": r.irradiance_source,
                   "assumptions": _plain(r.assumptions)}
        sched = {"timestamp_utc": list(r.timestamps.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")),
                 "pv_kw": [round(float(x), 6) for x in r.ac_kw]}
        return summary, sched
    assert grid is not None and load is not None
    if kind == "dispatch":
        out = plan_dispatch(load, grid, pv=None if params.pv is None else params.pv.spec(),
                            full_load_hours_h=params.full_load_hours_h,
                            batteries=() if params.battery is None else (params.battery.battery(),),
                            objective=Objective(ObjectiveKind(params.objective)),
                            carbon_price_per_t=params.carbon_price_cny_per_t)
        d: DispatchResult = out.result
        summary = {"kpis": _dispatch_kpis(d), "dispatch": _plain(d.summary()), "provenance": _plain(out.provenance)}
        return summary, _dispatch_schedule(d, load.timestamps_utc)
    if params.pv is None:
        raise InputError("sizing needs the PV site and roof potential (pv)",
                         message_zh="容量配置需要光伏场址与屋顶潜力参数（pv）", location=Location(column="pv"))
    out = plan_sizing(load, grid, params.pv.spec(), max_pv_kwp=params.max_pv_kwp,
                      max_battery_kwh=math.inf if params.max_battery_kwh is None else params.max_battery_kwh,
                      full_load_hours_h=params.full_load_hours_h)
    rows, best = out.result
    assert isinstance(best, SizingResult)
    kpis = _dispatch_kpis(best.dispatch) | {
        "pv_capacity_kwp": best.pv_capacity_kwp, "battery_energy_kwh": best.battery_energy_kwh,
        "battery_power_kw": best.battery_power_kw, "npv_cny": best.economics.npv_cny,
        "simple_payback_years": best.economics.simple_payback_years, "capex_cny": best.economics.capex_cny}
    summary = {"kpis": kpis, "scenarios": _plain(list(rows)), "economics": _plain(best.economics),
               "indicators": _plain(best.indicators()), "provenance": _plain(out.provenance)}
    return summary, _dispatch_schedule(best.dispatch, load.timestamps_utc)


def _gz(schedule: dict[str, list[Any]]) -> bytes:
    return gzip.compress(json.dumps(schedule, separators=(",", ":")).encode("utf-8"), mtime=0)


# ---------------------------------------------------------------------------------------------
# use cases
# ---------------------------------------------------------------------------------------------


def run_plan(store: Store, scope: Scope, kind: str, params: PlanParams, *, enterprise_id: str | None = None,
             park_id: str | None = None, actor: str, request_id: str | None = None,
             ip: str | None = None) -> StoredPlan:
    """Run a plan of ``kind`` (pv | dispatch | sizing) for one enterprise or one park and store it.

    Raises NotFoundError (foreign or missing subject), PermissionDeniedError (read-only role),
    InputError / QuantityError (bad inputs, missing load), UploadRejectedError ``E-PLAN-SIZE``
    (over the bounds) and, after storing the infeasible run, InfeasibleError.
    """
    if kind not in PLAN_KINDS:
        raise InputError(f"unknown plan kind {kind!r}", message_zh=f"未知的规划类型 {kind!r}",
                         hint=f"one of {', '.join(PLAN_KINDS)}", hint_zh=f"可选：{'、'.join(PLAN_KINDS)}",
                         location=Location(column="kind", value=kind))
    if (enterprise_id is None) == (park_id is None):
        raise InputError("give an enterprise or a park", message_zh="请指定企业或园区（二选一）")
    if params.step_minutes not in STEP_MINUTES:
        raise InputError(f"step_minutes must be one of {STEP_MINUTES}", message_zh=f"时间步长须为 {STEP_MINUTES} 之一",
                         location=Location(column="step_minutes", value=params.step_minutes))
    with scoped_reader(store, scope) as repo:
        if enterprise_id is not None:
            ent: Enterprise = scope.enterprise(repo, enterprise_id, action="write")
            tenant, row_park, province = ent.tenant_id, ent.park_id, ent.province
        else:
            park: Park = scope.park(repo, park_id or "", action="admin")
            tenant, row_park, province = park_tenant(park.id), park.id, park.province
        wide = _with_park_tenants(repo, scope)
    province = params.province or province
    if province is None:
        raise InputError("give the province (tariff and grid factor region)", message_zh="请指定省份（电价与电网因子地区）",
                         location=Location(column="province"))
    grid = GridSetup(province=province, customer_class=params.customer_class,
                     import_limit_kw=math.inf if params.import_limit_kw is None else params.import_limit_kw,
                     export_limit_kw=math.inf if params.export_limit_kw is None else params.export_limit_kw,
                     feed_in_cny_per_kwh=params.feed_in_cny_per_kwh, use_demand_charge=params.use_demand_charge)
    load: LoadSeries | None = None
    source = "none"
    if kind != "pv":
        steps_max = MAX_SIZING_STEPS if kind == "sizing" else MAX_DISPATCH_STEPS
        load, source = _load(store, scope, params, steps_max, enterprise_id, None if enterprise_id else row_park)
    elif params.load_csv is not None:
        raise InputError("a PV yield plan takes no load", message_zh="光伏发电量测算不需要负荷数据",
                         location=Location(column="load_csv"))
    infeasible: InfeasibleError | None = None
    try:
        summary, schedule = _solve(kind, params, grid, load)
        status = "completed"
    except InfeasibleError as exc:
        infeasible = exc
        summary = {"kpis": {}, "explanation": exc.message, "explanation_zh": exc.message_zh,
                   "hint": exc.hint, "hint_zh": exc.hint_zh}
        schedule = {}
        status = "infeasible"
    steps = len(schedule.get("timestamp_utc", [])) if schedule else (0 if load is None else int(load.load_kw.size))
    if load is not None:
        h_lo = load.timestamps_utc[0].to_pydatetime()
        h_hi = (load.timestamps_utc[-1] + pd.Timedelta(hours=load.step_h)).to_pydatetime()
    elif schedule:
        h_lo = pd.Timestamp(schedule["timestamp_utc"][0]).to_pydatetime()
        h_hi = pd.Timestamp(schedule["timestamp_utc"][-1]).to_pydatetime() + timedelta(minutes=params.step_minutes)
    else:
        h_lo = h_hi = None
    with scoped_transaction(store, wide) as repo:
        row = PlanResultRow(tenant_id=tenant, park_id=row_park, enterprise_id=enterprise_id, kind=kind, status=status,
                            load_source=source, horizon_start=h_lo, horizon_end=h_hi,
                            step_minutes=round(load.step_h * 60) if load is not None else params.step_minutes,
                            steps=steps, params_json=json.dumps(_plain(params.to_json()), ensure_ascii=False),
                            summary_json=json.dumps(_plain(summary), ensure_ascii=False),
                            schedule_gz=_gz(schedule) if schedule else None, created_by=actor)
        repo.session.add(row)
        repo.session.flush()
        audit(repo.session, actor=actor, action="plan.run", object_type="plan_result", object_id=row.id,
              tenant_id=tenant, new={"kind": kind, "status": status, "enterprise_id": enterprise_id,
                                     "park_id": row_park, "load_source": source, "steps": steps,
                                     "kpis": _plain(summary.get("kpis"))},
              reason=None if infeasible is None else infeasible.message[:500], request_id=request_id, ip=ip,
              outcome="success" if infeasible is None else "failure")
        stored = _row_out(row)
    if infeasible is not None:
        raise infeasible
    return stored


def _check_row(repo: Repository, scope: Scope, row: PlanResultRow | None, plan_id: str) -> PlanResultRow:
    if row is None:
        raise not_found("plan", "规划结果", plan_id)
    try:
        if row.enterprise_id is not None:
            scope.enterprise(repo, row.enterprise_id)
        else:
            scope.park(repo, row.park_id or "")
    except NotFoundError:  # a subject the caller cannot see: the plan does not exist for them
        raise not_found("plan", "规划结果", plan_id) from None
    return row


def get_plan(store: Store, scope: Scope, plan_id: str) -> StoredPlan:
    """One stored plan the caller may read (foreign or missing → the same NotFoundError)."""
    with _reader(store, scope) as (repo, wide):
        row = repo.session.get(PlanResultRow, plan_id, options=[defer(PlanResultRow.schedule_gz)])
        return _row_out(_check_row(repo, wide, row, plan_id))


def plan_schedule(store: Store, scope: Scope, plan_id: str) -> dict[str, list[Any]]:
    """The plan's schedule as columns (``timestamp_utc`` + one list per quantity); ``{}`` when infeasible."""
    with _reader(store, scope) as (repo, wide):
        row = _check_row(repo, wide, repo.session.get(PlanResultRow, plan_id), plan_id)
        data = row.schedule_gz
    if not data:
        return {}
    out: dict[str, list[Any]] = json.loads(gzip.decompress(data).decode("utf-8"))
    return out


def plan_json(plan: StoredPlan, *, full: bool = True) -> dict[str, Any]:
    """The JSON of a stored plan for the API and the dashboard (both show exactly these KPI values)."""
    out: dict[str, Any] = {k: getattr(plan, k) for k in (
        "id", "kind", "status", "park_id", "enterprise_id", "load_source", "horizon_start", "horizon_end",
        "step_minutes", "steps", "created_by", "created_at")}
    out["label"] = plan.params.get("label")
    out["kpis"] = plan.kpis
    if full:
        out["params"] = plan.params
        out["summary"] = plan.summary
    return out


def schedule_csv(schedule: dict[str, list[Any]]) -> str:
    """The schedule as CSV text (header + one row per step)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = list(schedule)
    w.writerow(cols)
    for row in zip(*(schedule[c] for c in cols), strict=True):
        w.writerow(row)
    return buf.getvalue()


def list_plans(store: Store, scope: Scope, *, enterprise_id: str | None = None, park_id: str | None = None,
               limit: int = 50) -> list[StoredPlan]:
    """Stored plans of one enterprise, or the park-level plans of one park, newest first."""
    if (enterprise_id is None) == (park_id is None):
        raise InputError("give an enterprise or a park", message_zh="请指定企业或园区（二选一）")
    with _reader(store, scope) as (repo, wide):
        q = select(PlanResultRow).options(defer(PlanResultRow.schedule_gz))
        if enterprise_id is not None:
            wide.enterprise(repo, enterprise_id)
            q = q.where(PlanResultRow.enterprise_id == enterprise_id)
        else:
            wide.park(repo, park_id or "")
            q = q.where(PlanResultRow.park_id == park_id, PlanResultRow.enterprise_id.is_(None))
        rows = repo.session.scalars(q.order_by(PlanResultRow.created_at.desc()).limit(min(max(limit, 1), MAX_LIST)))
        return [_row_out(r) for r in rows]
