"""Planning routes of ``/api/v1`` (源网荷储规划): run PV / dispatch / sizing plans and read them back.

Thin handlers over :mod:`parkcarbon.services.planning_store` (scope checks, storage, audit are
there). Operations::

    POST /api/v1/enterprises/{enterprise_id}/plans/{kind}   run + store (enterprise manager, park admin)
    POST /api/v1/parks/{park_id}/plans/{kind}               run + store a park-level plan (park admin)
    GET  /api/v1/enterprises/{enterprise_id}/plans          stored plans of the enterprise, newest first
    GET  /api/v1/parks/{park_id}/plans                      park-level plans (park admin, province)
    GET  /api/v1/plans/{plan_id}                            one plan: inputs, KPIs, summary
    GET  /api/v1/plans/{plan_id}/schedule?format=json|csv   its schedule (one row per step)

``kind`` is ``pv`` | ``dispatch`` | ``sizing``. An infeasible plan is stored and answered with 422
``E-PLAN-INFEASIBLE`` whose ``detail`` / ``message_zh`` explain why; a request over the bounds
(steps) is 422 ``E-PLAN-SIZE`` (a body above the server limit is 413).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import Field, StringConstraints

from parkcarbon.api.routes import COMMON_RESPONSES, Limit
from parkcarbon.api.schemas import In, Out, Year
from parkcarbon.api.security import Caller, current_caller
from parkcarbon.services import planning_store as ps
from parkcarbon.storage import Store

__all__ = ["BatteryIn", "PVIn", "PlanIn", "PlanItemOut", "PlanOut", "ScheduleOut", "params_of", "plan_out", "router"]

router = APIRouter(responses=COMMON_RESPONSES, tags=["planning"])
CallerDep = Annotated[Caller, Depends(current_caller)]
Kind = Literal["pv", "dispatch", "sizing"]
Num = Annotated[float, Field(allow_inf_nan=False)]


class PVIn(In):
    """Rooftop PV: site [°], tilt/azimuth [°] (180 = south), capacity [kWp] or roof area [m²] × [kWp/m²]."""

    latitude_deg: Annotated[float, Field(ge=-66, le=66, allow_inf_nan=False)]
    longitude_deg: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
    tilt_deg: Annotated[float, Field(ge=0, le=90, allow_inf_nan=False)]
    azimuth_deg: Annotated[float, Field(ge=0, le=360, allow_inf_nan=False)] = 180.0
    capacity_kwp: Annotated[float | None, Field(ge=0.1, le=1e7, allow_inf_nan=False)] = None
    roof_area_m2: Annotated[float | None, Field(ge=1, le=1e8, allow_inf_nan=False)] = None
    roof_kwp_per_m2: Annotated[float | None, Field(gt=0, le=0.5, allow_inf_nan=False)] = None


class BatteryIn(In):
    """Battery storage: energy [kWh], power [kW], one-way efficiencies and SOC window [fraction]."""

    energy_kwh: Annotated[float, Field(ge=1, le=1e8, allow_inf_nan=False)]
    power_kw: Annotated[float, Field(ge=1, le=1e8, allow_inf_nan=False)]
    charge_efficiency: Annotated[float, Field(gt=0.5, le=1, allow_inf_nan=False)] = 0.95
    discharge_efficiency: Annotated[float, Field(gt=0.5, le=1, allow_inf_nan=False)] = 0.95
    soc_min_frac: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.05
    soc_max_frac: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.95
    max_cycles_per_day: Annotated[float | None, Field(gt=0, le=24, allow_inf_nan=False)] = None


class PlanIn(In):
    """Inputs of a plan. Load: the platform's measured interval load over ``start`` … ``end``
    (local days, end exclusive), or — only when the store has none for the subject — ``load_csv``
    (``timestamp`` with offset, ``load_kw`` or ``energy_kwh``). ``year`` for PV yield plans."""

    label: Annotated[str | None, StringConstraints(max_length=200, strip_whitespace=True)] = None
    province: Annotated[str | None, StringConstraints(min_length=1, max_length=50, strip_whitespace=True)] = None
    start: date | None = None
    end: date | None = None
    year: Year | None = None
    step_minutes: Literal[15, 30, 60] = 60
    load_csv: Annotated[str | None, StringConstraints(max_length=ps.MAX_CSV_CHARS)] = None
    pv: PVIn | None = None
    battery: BatteryIn | None = None
    import_limit_kw: Annotated[float | None, Field(ge=0, le=1e8, allow_inf_nan=False)] = None
    export_limit_kw: Annotated[float | None, Field(ge=0, le=1e8, allow_inf_nan=False)] = None
    feed_in_cny_per_kwh: Annotated[float | None, Field(ge=0, le=10, allow_inf_nan=False)] = None
    use_demand_charge: bool = True
    objective: Literal["cost", "emissions", "self_consumption"] = "cost"
    carbon_price_cny_per_t: Annotated[float, Field(ge=0, le=10_000, allow_inf_nan=False)] = 0.0
    full_load_hours_h: Annotated[float | None, Field(ge=100, le=3000, allow_inf_nan=False)] = None
    max_pv_kwp: Annotated[float | None, Field(ge=0, le=1e7, allow_inf_nan=False)] = None
    max_battery_kwh: Annotated[float | None, Field(ge=0, le=1e8, allow_inf_nan=False)] = None


class PlanItemOut(Out):
    """A stored plan in a list: subject, kind, status, horizon and KPIs."""

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
    label: str | None
    kpis: dict[str, float | None]


class PlanOut(PlanItemOut):
    """One stored plan with its inputs and full result summary (schedule: ``/schedule``)."""

    params: dict[str, Any]
    summary: dict[str, Any]


class ScheduleOut(Out):
    """The schedule in columns: ``timestamp_utc`` and one list per quantity [kW] / [kWh]."""

    plan_id: str
    columns: dict[str, list[str | float | None]]


def params_of(body: PlanIn) -> ps.PlanParams:
    """The service parameters of a request body."""
    data = body.model_dump()
    pv = data.pop("pv")
    bat = data.pop("battery")
    return ps.PlanParams(**data, pv=None if pv is None else ps.PVParams(**pv),
                         battery=None if bat is None else ps.BatteryParams(**bat))


def plan_out(plan: ps.StoredPlan, *, full: bool = True) -> dict[str, Any]:
    """The JSON of a stored plan (:func:`parkcarbon.services.planning_store.plan_json`)."""
    return ps.plan_json(plan, full=full)


def _store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


@router.post("/enterprises/{enterprise_id}/plans/{kind}", response_model=PlanOut, status_code=201)
async def run_enterprise_plan(enterprise_id: str, kind: Kind, body: PlanIn, caller: CallerDep,
                              request: Request) -> Any:
    """Run a plan for an enterprise on its measured load (or an uploaded CSV when none) and store it."""
    plan = await run_in_threadpool(ps.run_plan, _store(request), caller.scope, kind, params_of(body),
                                   enterprise_id=enterprise_id, actor=caller.username,
                                   request_id=caller.request_id, ip=caller.ip)
    return plan_out(plan)


@router.post("/parks/{park_id}/plans/{kind}", response_model=PlanOut, status_code=201)
async def run_park_plan(park_id: str, kind: Kind, body: PlanIn, caller: CallerDep, request: Request) -> Any:
    """Run a park-level plan (the sum of the park's enterprises' measured load) and store it."""
    plan = await run_in_threadpool(ps.run_plan, _store(request), caller.scope, kind, params_of(body),
                                   park_id=park_id, actor=caller.username, request_id=caller.request_id,
                                   ip=caller.ip)
    return plan_out(plan)


@router.get("/enterprises/{enterprise_id}/plans", response_model=list[PlanItemOut])
def list_enterprise_plans(enterprise_id: str, caller: CallerDep, request: Request, limit: Limit = 50) -> Any:
    return [plan_out(p, full=False) for p in ps.list_plans(_store(request), caller.scope,
                                                           enterprise_id=enterprise_id, limit=limit)]


@router.get("/parks/{park_id}/plans", response_model=list[PlanItemOut])
def list_park_plans(park_id: str, caller: CallerDep, request: Request, limit: Limit = 50) -> Any:
    return [plan_out(p, full=False) for p in ps.list_plans(_store(request), caller.scope, park_id=park_id,
                                                           limit=limit)]


@router.get("/plans/{plan_id}", response_model=PlanOut)
def get_plan(plan_id: str, caller: CallerDep, request: Request) -> Any:
    return plan_out(ps.get_plan(_store(request), caller.scope, plan_id))


@router.get("/plans/{plan_id}/schedule", response_model=ScheduleOut,
            responses={200: {"content": {"text/csv": {}}}})
def get_schedule(plan_id: str, caller: CallerDep, request: Request,
                 format: Annotated[str, Query(pattern="^(json|csv)$")] = "json") -> Any:
    """The plan's schedule (load, PV, battery, grid per step; PV output for a PV plan)."""
    sched = ps.plan_schedule(_store(request), caller.scope, plan_id)
    if format == "csv":
        return Response(ps.schedule_csv(sched) if sched else "", media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="plan-{plan_id}.csv"'})
    return {"plan_id": plan_id, "columns": sched}
