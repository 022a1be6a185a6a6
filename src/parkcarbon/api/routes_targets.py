"""Targets, budgets and early-warning routes of ``/api/v1`` (目标、预算与预警).

Thin handlers over :mod:`parkcarbon.services.targets_store` (scope checks, storage, audit and
webhook delivery are there). Operations::

    GET    /parks/{park_id}/targets                 stored targets (park admin, province)
    POST   /parks/{park_id}/targets                 add a target of the park / an enterprise (park admin)
    POST   /parks/{park_id}/targets/import          import a packaged target set (park admin)
    DELETE /parks/{park_id}/targets/{target_id}     delete a target (park admin)
    GET    /parks/{park_id}/targets/progress        monthly progress vs path + milestone checks
    PUT    /parks/{park_id}/budgets/{year}          set + allocate the park budget (park admin)
    GET    /parks/{park_id}/budgets                 budgets and allocations (enterprise users: own row)
    GET    /enterprises/{enterprise_id}/budgets     the enterprise's allocations
    PUT    /parks/{park_id}/warning-thresholds      grade thresholds (park admin)
    POST   /parks/{park_id}/warnings/check          run the monthly check, deliver new/escalated grades
    GET    /parks/{park_id}/warnings                warning events (enterprise users: own rows)
    GET    /enterprises/{enterprise_id}/warnings    the enterprise's warning events
    GET    /parks/{park_id}/webhooks                subscriptions (park admin; secret never returned)
    POST   /parks/{park_id}/webhooks                subscribe (park admin)
    DELETE /parks/{park_id}/webhooks/{webhook_id}   unsubscribe (park admin)
    GET    /parks/{park_id}/zero-carbon             zero-carbon park "1 + 5" report
    GET    /parks/{park_id}/key-units               key energy-consuming units (park admin)
    GET    /enterprises/{enterprise_id}/green-factory   GB/T 36132 self-assessment
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import Field, StringConstraints

from parkcarbon.api.routes import COMMON_RESPONSES
from parkcarbon.api.schemas import In, MonthText, Out, Year
from parkcarbon.api.security import Caller, current_caller
from parkcarbon.core.budget import AllocationMethod, BudgetKind, WarningGrade, WarningThresholds
from parkcarbon.core.targets import Milestone
from parkcarbon.periods import parse_month
from parkcarbon.services import targets_store as ts
from parkcarbon.services.targets_store import json_ready as plain
from parkcarbon.storage import Store

__all__ = ["router"]

router = APIRouter(responses=COMMON_RESPONSES, tags=["targets"])
CallerDep = Annotated[Caller, Depends(current_caller)]
Kind = Literal["energy", "carbon"]
Grade = Literal["green", "yellow", "orange", "red"]
Frac = Annotated[float, Field(gt=0, le=5, allow_inf_nan=False)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=60, strip_whitespace=True)]


def _store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


# -- schemas -----------------------------------------------------------------------------------


class MilestoneIn(In):
    """A milestone: exactly one of ``value`` [indicator unit] or ``reduction_frac`` (0.18 = −18 %)."""

    year: Year
    value: Annotated[float | None, Field(allow_inf_nan=False)] = None
    reduction_frac: Annotated[float | None, Field(gt=-1, lt=1, allow_inf_nan=False)] = None
    reference_year: Year | None = None


class TargetIn(In):
    """A target on an indicator of ``core.targets.INDICATORS`` (base year, base value, milestones, source)."""

    indicator: Id
    base_year: Year
    base_value: Annotated[float | None, Field(allow_inf_nan=False)] = None
    milestones: Annotated[list[MilestoneIn], Field(min_length=1, max_length=20)]
    source: Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
    enterprise_id: Id | None = None


class TargetSetIn(In):
    """Import a packaged target set for the park; ``target_year`` for rows without a milestone year."""

    set_id: Id
    target_year: Year | None = None


class TargetOut(Out):
    id: str
    park_id: str
    enterprise_id: str | None
    indicator: str
    base_year: int
    base_value: float | None
    milestones: list[dict[str, Any]]
    source: str
    set_id: str | None
    created_by: str
    created_at: datetime


class ProgressOut(Out):
    """Per target: the monthly points (TTM, YTD, path, gap, status) and the milestone checks."""

    target: TargetOut
    points: list[dict[str, Any]]
    checks: list[dict[str, Any]]


class BudgetIn(In):
    """A park budget [tce for energy, tCO2 for carbon] and how to allocate it."""

    park_budget_qty: Annotated[float, Field(gt=0, le=1e9, allow_inf_nan=False)]
    kind: Kind = "energy"
    method: Literal["history", "benchmark", "output"] = "history"
    reserve_frac: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = 0.0
    benchmarks: Annotated[dict[Id, Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]] | None,
                          Field(max_length=10_000)] = None


class AllocationOut(Out):
    enterprise_id: str
    budget_qty: float
    share_frac: float
    weight: float
    monthly: dict[str, float]


class BudgetOut(Out):
    id: str
    park_id: str
    year: int
    kind: str
    unit: str
    park_budget_qty: float
    method: str
    reserve_frac: float
    created_by: str
    created_at: datetime
    allocations: list[AllocationOut]


class ThresholdsIn(In):
    """Thresholds on forecast / budget [fraction]: yellow ≤ orange ≤ red; basis central | upper."""

    yellow_frac: Frac = 0.90
    orange_frac: Frac = 0.95
    red_frac: Frac = 1.00
    basis: Literal["central", "upper"] = "central"
    source: Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]


class ThresholdsOut(Out):
    yellow_frac: float
    orange_frac: float
    red_frac: float
    basis: str
    source: str


class CheckIn(In):
    """Run the warning check as of the end of ``as_of`` (``YYYY-MM``)."""

    as_of: MonthText
    kind: Kind = "energy"


class WarningOut(Out):
    id: str
    park_id: str
    enterprise_id: str
    year: int
    as_of: str
    kind: str
    grade: str
    previous_grade: str | None
    forecast_qty: float
    low_qty: float | None
    high_qty: float | None
    budget_qty: float
    ratio_frac: float
    ytd_actual_qty: float
    message: str
    message_zh: str
    delivery_status: str
    delivery_id: str | None
    delivered_at: datetime | None
    created_at: datetime


class CheckOut(Out):
    """The stored events of the check, the enterprises notified, the forecast accuracy."""

    as_of: str
    kind: str
    counts: dict[str, int]
    events: list[WarningOut]
    notified: list[str]
    deliveries: list[dict[str, Any]]
    forecast_accuracy: dict[str, Any] | None


class WebhookIn(In):
    """A subscription: ``http(s)://`` URL, the shared HMAC secret, the minimum grade delivered."""

    url: Annotated[str, StringConstraints(min_length=8, max_length=500, strip_whitespace=True)]
    secret: Annotated[str, StringConstraints(min_length=16, max_length=200)]
    min_grade: Grade = "yellow"


class WebhookOut(Out):
    id: str
    park_id: str
    url: str
    min_grade: str
    active: bool
    secret_fingerprint: str
    created_by: str
    created_at: datetime


class EvaluationOut(Out):
    """An evaluation result (zero-carbon report, key units, green factory score) as JSON."""

    subject_id: str
    year: int
    result: Any


# -- targets -------------------------------------------------------------------------------------


@router.get("/parks/{park_id}/targets", response_model=list[TargetOut])
def list_targets(park_id: str, caller: CallerDep, request: Request) -> Any:
    return [plain(t) for t in ts.list_targets(_store(request), caller.scope, park_id)]


@router.post("/parks/{park_id}/targets", response_model=TargetOut, status_code=201)
def add_target(park_id: str, body: TargetIn, caller: CallerDep, request: Request) -> Any:
    ms = [Milestone(m.year, m.value, m.reduction_frac, m.reference_year) for m in body.milestones]
    t = ts.set_target(_store(request), caller.scope, park_id, indicator=body.indicator, base_year=body.base_year,
                      milestones=ms, base_value=body.base_value, source=body.source,
                      enterprise_id=body.enterprise_id, actor=caller.username, request_id=caller.request_id,
                      ip=caller.ip)
    return plain(t)


@router.post("/parks/{park_id}/targets/import", response_model=list[TargetOut], status_code=201)
def import_targets(park_id: str, body: TargetSetIn, caller: CallerDep, request: Request) -> Any:
    out = ts.import_target_set(_store(request), caller.scope, park_id, body.set_id, target_year=body.target_year,
                               actor=caller.username, request_id=caller.request_id, ip=caller.ip)
    return [plain(t) for t in out]


@router.delete("/parks/{park_id}/targets/{target_id}", status_code=204)
def delete_target(park_id: str, target_id: str, caller: CallerDep, request: Request) -> Response:
    ts.delete_target(_store(request), caller.scope, park_id, target_id, actor=caller.username,
                     request_id=caller.request_id, ip=caller.ip)
    return Response(status_code=204)


@router.get("/parks/{park_id}/targets/progress", response_model=list[ProgressOut])
async def target_progress(park_id: str, caller: CallerDep, request: Request,
                          through: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]) -> Any:
    """Monthly progress of the stored targets through ``through`` (TTM vs the target path)."""
    res = await run_in_threadpool(ts.progress, _store(request), caller.scope, park_id, parse_month(through))
    return [{"target": plain(st), "points": plain(list(points)), "checks": plain(list(checks))}
            for st, points, checks in res.values()]


# -- budgets -------------------------------------------------------------------------------------


@router.put("/parks/{park_id}/budgets/{year}", response_model=BudgetOut)
async def set_budget(park_id: str, year: Annotated[int, Path(ge=1990, le=2100)], body: BudgetIn,
                     caller: CallerDep, request: Request) -> Any:
    """Set (or replace) the park's budget for ``year`` and allocate it to the enterprises."""
    b = await run_in_threadpool(
        lambda: ts.set_budget(_store(request), caller.scope, park_id, year, body.park_budget_qty,
                              kind=BudgetKind(body.kind), method=AllocationMethod(body.method),
                              reserve_frac=body.reserve_frac, benchmarks=body.benchmarks, actor=caller.username,
                              request_id=caller.request_id, ip=caller.ip))
    return plain(b)


@router.get("/parks/{park_id}/budgets", response_model=list[BudgetOut])
def list_budgets(park_id: str, caller: CallerDep, request: Request, year: Year | None = None) -> Any:
    return [plain(b) for b in ts.list_budgets(_store(request), caller.scope, park_id, year=year)]


@router.get("/enterprises/{enterprise_id}/budgets", response_model=list[BudgetOut])
def enterprise_budgets(enterprise_id: str, caller: CallerDep, request: Request, year: Year | None = None) -> Any:
    return [plain(b) for b in ts.enterprise_budgets(_store(request), caller.scope, enterprise_id, year=year)]


# -- warnings ------------------------------------------------------------------------------------


@router.put("/parks/{park_id}/warning-thresholds", response_model=ThresholdsOut)
def set_thresholds(park_id: str, body: ThresholdsIn, caller: CallerDep, request: Request) -> Any:
    th = WarningThresholds(body.yellow_frac, body.orange_frac, body.red_frac, body.basis, body.source)
    return plain(ts.set_thresholds(_store(request), caller.scope, park_id, th, actor=caller.username,
                                   request_id=caller.request_id, ip=caller.ip))


@router.post("/parks/{park_id}/warnings/check", response_model=CheckOut)
async def run_check(park_id: str, body: CheckIn, caller: CallerDep, request: Request) -> Any:
    """Forecast, grade and store the warnings as of ``as_of``; deliver new or escalated grades by webhook."""
    res = await run_in_threadpool(
        lambda: ts.run_warning_check(_store(request), caller.scope, park_id, parse_month(body.as_of),
                                     kind=BudgetKind(body.kind), actor=caller.username,
                                     request_id=caller.request_id, ip=caller.ip))
    acc = res.report.accuracy
    return {"as_of": str(res.report.as_of), "kind": res.report.kind.value,
            "counts": {g.value: res.report.count(g) for g in WarningGrade},
            "events": [plain(e) for e in res.events], "notified": list(res.notified),
            "deliveries": [{"delivery_id": d.delivery_id, "delivered": d.delivered, "status": d.status,
                            "attempts": len(d.attempts)} for d in res.deliveries],
            "forecast_accuracy": None if acc is None else {
                "method": acc.method.value, "backtest_years": list(acc.years), "mape_frac": plain(acc.mape_frac),
                "band_coverage_frac": plain(acc.coverage_frac)}}


@router.get("/parks/{park_id}/warnings", response_model=list[WarningOut])
def park_warnings(park_id: str, caller: CallerDep, request: Request, year: Year | None = None) -> Any:
    return [plain(e) for e in ts.list_warnings(_store(request), caller.scope, park_id=park_id, year=year)]


@router.get("/enterprises/{enterprise_id}/warnings", response_model=list[WarningOut])
def enterprise_warnings(enterprise_id: str, caller: CallerDep, request: Request, year: Year | None = None) -> Any:
    return [plain(e) for e in ts.list_warnings(_store(request), caller.scope, enterprise_id=enterprise_id,
                                               year=year)]


# -- webhooks ------------------------------------------------------------------------------------


@router.get("/parks/{park_id}/webhooks", response_model=list[WebhookOut])
def list_webhooks(park_id: str, caller: CallerDep, request: Request) -> Any:
    return [plain(h) for h in ts.list_webhooks(_store(request), caller.scope, park_id)]


@router.post("/parks/{park_id}/webhooks", response_model=WebhookOut, status_code=201)
def add_webhook(park_id: str, body: WebhookIn, caller: CallerDep, request: Request) -> Any:
    return plain(ts.add_webhook(_store(request), caller.scope, park_id, body.url, body.secret,
                                min_grade=WarningGrade(body.min_grade), actor=caller.username,
                                request_id=caller.request_id, ip=caller.ip))


@router.delete("/parks/{park_id}/webhooks/{webhook_id}", status_code=204)
def delete_webhook(park_id: str, webhook_id: str, caller: CallerDep, request: Request) -> Response:
    ts.delete_webhook(_store(request), caller.scope, park_id, webhook_id, actor=caller.username,
                      request_id=caller.request_id, ip=caller.ip)
    return Response(status_code=204)


# -- evaluations ---------------------------------------------------------------------------------


@router.get("/parks/{park_id}/zero-carbon", response_model=EvaluationOut)
async def zero_carbon(park_id: str, year: Year, caller: CallerDep, request: Request) -> Any:
    """Zero-carbon park "1 + 5" report for ``year`` (零碳园区评价)."""
    rep = await run_in_threadpool(ts.zero_carbon, _store(request), caller.scope, park_id, year)
    return {"subject_id": park_id, "year": year, "result": plain(rep)}


@router.get("/parks/{park_id}/key-units", response_model=EvaluationOut)
async def key_units(park_id: str, year: Year, caller: CallerDep, request: Request) -> Any:
    """Key energy-consuming units of the park for ``year`` (重点用能单位; park administrator)."""
    res = await run_in_threadpool(ts.key_energy_units, _store(request), caller.scope, park_id, year)
    return {"subject_id": park_id, "year": year, "result": plain(list(res))}


@router.get("/enterprises/{enterprise_id}/green-factory", response_model=EvaluationOut)
async def green_factory(enterprise_id: str, year: Year, caller: CallerDep, request: Request) -> Any:
    """GB/T 36132-2025 green factory self-assessment from platform data (绿色工厂自评价)."""
    res = await run_in_threadpool(ts.green_factory_assessment, _store(request), caller.scope, enterprise_id, year)
    return {"subject_id": enterprise_id, "year": year, "result": plain(res)}
