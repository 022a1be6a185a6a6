"""Targets & warnings pages of the dashboard (目标与预警): the park's stored targets with their monthly
progress against the target path, the budget allocation, the graded warnings per enterprise with
the forecast band, the history of warning events, and forms (CSRF) to set the budget and run the
check; the enterprise's own budget and warning panel.

``/web/parks/{id}/targets?year=`` (park administrator, provincial operator — the province sees park
figures, no enterprise rows) and ``/web/enterprises/{id}/targets?year=``. Every number comes from
the same service calls as the API (:mod:`parkcarbon.services.targets_store`) and is written raw
into ``data-value`` so tests compare page and API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from parkcarbon.api.security import Caller, check_csrf_value
from parkcarbon.core.budget import AllocationMethod, BudgetKind
from parkcarbon.errors import InputError, Location, NotFoundError, ParkcarbonError, PermissionDeniedError
from parkcarbon.periods import Month, parse_month
from parkcarbon.services import targets_store as ts
from parkcarbon.services.targets_store import json_ready as plain
from parkcarbon.services.tenancy import scoped_reader
from parkcarbon.storage import Store
from parkcarbon.web.routes import WEB_PREFIX, FormCaller, PageCaller, _HtmlErrorRoute, _render, _to_login

__all__ = ["router"]

router = APIRouter(prefix=WEB_PREFIX, route_class=_HtmlErrorRoute, include_in_schema=False)
YearQ = Annotated[int | None, Query(ge=1990, le=2100)]


def _store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


def _latest_events(events: list[ts.WarningEvent]) -> tuple[str | None, list[ts.WarningEvent]]:
    """The newest ``as_of`` month and its events, most severe first."""
    if not events:
        return None, []
    last = max(e.as_of for e in events)
    order = {"red": 0, "orange": 1, "yellow": 2, "green": 3}
    return last, sorted((e for e in events if e.as_of == last), key=lambda e: (order[e.grade], -e.ratio_frac))


def _park_page(request: Request, caller: Caller, park_id: str, year: int | None, *,
               error: ParkcarbonError | None = None, status_code: int = 200) -> Response:
    store = _store(request)
    scope = caller.scope
    with scoped_reader(store, scope) as repo:
        park = scope.park(repo, park_id)
        admin = scope.can_admin_park(park.id)
        names = {e.id: e.name for e in repo.list_enterprises(park_id=park.id)} if admin else {}
    budgets = ts.list_budgets(store, scope, park_id, year=year)
    energy = [b for b in budgets if b.kind == BudgetKind.ENERGY.value]
    budget = energy[0] if energy else None
    year = year or (budget.year if budget else None)
    events = ts.list_warnings(store, scope, park_id=park_id, year=year)
    as_of, latest = _latest_events(events)
    targets = ts.list_targets(store, scope, park_id)
    progress: list[dict[str, Any]] = []
    if targets and year is not None:
        through = parse_month(as_of) if as_of else Month(year, 12)
        try:
            res = ts.progress(store, scope, park_id, through)
        except ParkcarbonError as exc:  # e.g. no ledger for a base year: shown, never a silent zero
            error = error or exc
            res = {}
        for st, points, checks in res.values():
            progress.append({"target": plain(st), "points": plain(list(points)), "checks": plain(list(checks)),
                             "has_data": any(pt.ttm.value is not None for pt in points)})
    return _render(request, caller, "targets.html.j2", {
        "park": park, "admin": admin, "names": names, "year": year, "budget": budget, "budgets": budgets,
        "as_of": as_of, "latest": latest, "events": events, "warn_json": [plain(e) for e in latest], "targets": targets, "progress": progress,
        "error": error, "methods": [m.value for m in AllocationMethod],
        "base": f"{WEB_PREFIX}/parks/{park.id}/targets"}, status_code=status_code)


@router.get("/parks/{park_id}/targets", response_class=HTMLResponse)
def park_targets_page(request: Request, park_id: str, caller: PageCaller, year: YearQ = None) -> Response:
    """Targets, budget allocation and warnings of the park."""
    if caller is None:
        return _to_login(request)
    return _park_page(request, caller, park_id, year)


@router.get("/enterprises/{enterprise_id}/targets", response_class=HTMLResponse)
def enterprise_targets_page(request: Request, enterprise_id: str, caller: PageCaller, year: YearQ = None) -> Response:
    """The enterprise's own budget allocation and warning history."""
    if caller is None:
        return _to_login(request)
    store = _store(request)
    with scoped_reader(store, caller.scope) as repo:
        ent = caller.scope.enterprise(repo, enterprise_id)
        name = ent.name
    budgets = ts.enterprise_budgets(store, caller.scope, enterprise_id, year=year)
    events = ts.list_warnings(store, caller.scope, enterprise_id=enterprise_id, year=year)
    return _render(request, caller, "enterprise_targets.html.j2", {
        "enterprise_id": enterprise_id, "name": name, "budgets": budgets, "events": events,
        "latest": events[0] if events else None})


def _form_float(raw: Any, name: str) -> float:
    text = str(raw.get(name) or "").strip()
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{name} is not a number: {text!r}", message_zh=f"{name} 不是数值：{text!r}",
                         location=Location(column=name, value=text)) from None


async def _submit(request: Request, caller: Caller, park_id: str, csrf_token: str, action: str) -> Response:
    check_csrf_value(caller, csrf_token)
    raw = await request.form()
    store = _store(request)

    def work() -> Response:
        year: int | None = None
        try:
            if action == "budget":
                year = int(_form_float(raw, "year"))
                method = str(raw.get("method") or "history")
                if method not in {m.value for m in AllocationMethod}:
                    raise InputError(f"unknown method {method!r}", message_zh=f"未知的分配方法 {method!r}",
                                     location=Location(column="method", value=method))
                reserve = str(raw.get("reserve_frac") or "").strip()
                ts.set_budget(store, caller.scope, park_id, year, _form_float(raw, "park_budget_tce"),
                              method=AllocationMethod(method), reserve_frac=float(reserve) if reserve else 0.0,
                              actor=caller.username, request_id=caller.request_id, ip=caller.ip)
            else:
                as_of = parse_month(str(raw.get("as_of") or "").strip())
                year = as_of.year
                ts.run_warning_check(store, caller.scope, park_id, as_of, actor=caller.username,
                                     request_id=caller.request_id, ip=caller.ip)
        except (NotFoundError, PermissionDeniedError):
            raise
        except ParkcarbonError as exc:  # bad input / no history / no budget: shown on the page
            return _park_page(request, caller, park_id, year, error=exc, status_code=422)
        except ValueError as exc:
            err = InputError(str(exc), message_zh="输入格式有误", location=Location(column=action))
            return _park_page(request, caller, park_id, year, error=err, status_code=422)
        return RedirectResponse(f"{WEB_PREFIX}/parks/{park_id}/targets?year={year}", status_code=303)

    return await run_in_threadpool(work)


@router.post("/parks/{park_id}/targets/budget")
async def budget_submit(request: Request, park_id: str, caller: FormCaller,
                        csrf_token: Annotated[str, Form()]) -> Response:
    """Set and allocate the park's energy budget from the form."""
    return await _submit(request, caller, park_id, csrf_token, "budget")


@router.post("/parks/{park_id}/targets/check")
async def check_submit(request: Request, park_id: str, caller: FormCaller,
                       csrf_token: Annotated[str, Form()]) -> Response:
    """Run the warning check as of the month of the form."""
    return await _submit(request, caller, park_id, csrf_token, "check")
