"""Planning pages of the dashboard (规划): stored plans of an enterprise or a park, one plan's KPIs and
schedule charts (ECharts, ``static/planning.js``), and a form to run a new plan (CSRF as every form).

``/web/enterprises/{id}/plans`` and ``/web/parks/{id}/plans`` (``?plan=<id>`` selects one; default
the newest). The KPIs on the page are the values of the API's ``GET /api/v1/plans/{id}`` (same
service call and :func:`parkcarbon.services.planning_store.plan_json`), written raw into ``data-value``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from parkcarbon.api.security import Caller, check_csrf_value
from parkcarbon.errors import InputError, Location, NotFoundError, ParkcarbonError, PermissionDeniedError
from parkcarbon.services import planning_store as ps
from parkcarbon.services.tenancy import scoped_reader
from parkcarbon.storage import Store
from parkcarbon.web.routes import WEB_PREFIX, FormCaller, PageCaller, _HtmlErrorRoute, _render, _to_login

__all__ = ["router"]

router = APIRouter(prefix=WEB_PREFIX, route_class=_HtmlErrorRoute, include_in_schema=False)

#: KPI rows of the page: (key, Chinese, English, unit, decimals; ``pct`` = shown as percent)
KPIS: tuple[tuple[str, str, str, str, int], ...] = (
    ("cost_total_cny", "电费合计", "Electricity cost", "CNY", 0),
    ("emissions_location_tco2", "排放（基于位置）", "Emissions (location)", "tCO2", 2),
    ("emissions_market_tco2", "排放（基于市场）", "Emissions (market)", "tCO2", 2),
    ("self_consumption_frac", "光伏自发自用率", "PV self-consumption", "pct", 1),
    ("clean_electricity_share_frac", "清洁电力占比", "Clean-electricity share", "pct", 1),
    ("self_sufficiency_frac", "自给率", "Self-sufficiency", "pct", 1),
    ("grid_import_kwh", "下网电量", "Grid import", "kWh", 0),
    ("grid_export_kwh", "上网电量", "Grid export", "kWh", 0),
    ("peak_import_kw", "最大下网功率", "Peak import", "kW", 0),
    ("pv_capacity_kwp", "光伏容量", "PV capacity", "kWp", 0),
    ("battery_energy_kwh", "储能容量", "Battery energy", "kWh", 0),
    ("battery_power_kw", "储能功率", "Battery power", "kW", 0),
    ("npv_cny", "净现值", "NPV", "CNY", 0),
    ("simple_payback_years", "静态回收期", "Simple payback", "a", 1),
    ("pv_energy_kwh", "光伏年发电量", "PV yield", "kWh", 0),
    ("full_load_hours_h", "等效满发小时", "Full-load hours", "h", 0),
)


def _store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


def _subject(request: Request, caller: Caller, enterprise_id: str | None, park_id: str | None) -> dict[str, Any]:
    """Name, links and rights of the page's subject (404 for a foreign one)."""
    scope = caller.scope
    with scoped_reader(_store(request), scope) as repo:
        if enterprise_id is not None:
            ent = scope.enterprise(repo, enterprise_id)
            return {"kind": "enterprise", "id": ent.id, "name": ent.name, "province": ent.province,
                    "back": f"{WEB_PREFIX}/enterprises/{ent.id}", "can_run": scope.can_write_enterprise(ent.id, ent.park_id),
                    "base": f"{WEB_PREFIX}/enterprises/{ent.id}/plans"}
        park = scope.park(repo, park_id or "")
        return {"kind": "park", "id": park.id, "name": park.name, "province": park.province,
                "back": f"{WEB_PREFIX}/parks/{park.id}", "can_run": scope.can_admin_park(park.id),
                "base": f"{WEB_PREFIX}/parks/{park.id}/plans"}


def _page(request: Request, caller: Caller, enterprise_id: str | None, park_id: str | None, plan_id: str | None,
          *, error: ParkcarbonError | None = None, form: dict[str, Any] | None = None,
          status_code: int = 200) -> Response:
    store = _store(request)
    subject = _subject(request, caller, enterprise_id, park_id)
    plans = ps.list_plans(store, caller.scope, enterprise_id=enterprise_id, park_id=park_id)
    chosen = None
    schedule: dict[str, Any] = {}
    if plan_id is not None or plans:
        pid = plan_id or plans[0].id
        plan = ps.get_plan(store, caller.scope, pid)
        if plan.enterprise_id != enterprise_id or (enterprise_id is None and plan.park_id != park_id):
            raise InputError("this plan belongs to another subject", message_zh="该规划结果不属于此对象",
                             location=Location(column="plan", value=pid))
        chosen = ps.plan_json(plan)
        schedule = ps.plan_schedule(store, caller.scope, pid)
    return _render(request, caller, "planning.html.j2", {
        "subject": subject, "plans": [ps.plan_json(p, full=False) for p in plans], "plan": chosen, "kpis": KPIS,
        "schedule": schedule, "error": error, "form": form or {}, "today": date.today()}, status_code=status_code)


@router.get("/enterprises/{enterprise_id}/plans", response_class=HTMLResponse)
def enterprise_plans_page(request: Request, enterprise_id: str, caller: PageCaller,
                          plan: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """Stored plans of an enterprise and one plan's KPIs and schedule."""
    if caller is None:
        return _to_login(request)
    return _page(request, caller, enterprise_id, None, plan)


@router.get("/parks/{park_id}/plans", response_class=HTMLResponse)
def park_plans_page(request: Request, park_id: str, caller: PageCaller,
                    plan: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """Park-level plans (park administrator, provincial operator)."""
    if caller is None:
        return _to_login(request)
    return _page(request, caller, None, park_id, plan)


def _float(form: dict[str, str], name: str) -> float | None:
    text = (form.get(name) or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{name} is not a number: {text!r}", message_zh=f"{name} 不是数值：{text!r}",
                         location=Location(column=name, value=text)) from None


def _day(form: dict[str, str], name: str) -> date | None:
    text = (form.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{name} is not a date (YYYY-MM-DD): {text!r}", message_zh=f"{name} 不是日期（YYYY-MM-DD）：{text!r}",
                         location=Location(column=name, value=text)) from None


def params_from_form(form: dict[str, str], load_csv: str | None) -> ps.PlanParams:
    """The service parameters of the planning form (empty field = not given, never 0)."""
    lat, lon, tilt = _float(form, "latitude_deg"), _float(form, "longitude_deg"), _float(form, "tilt_deg")
    pv = None
    if lat is not None or lon is not None or _float(form, "capacity_kwp") is not None:
        if lat is None or lon is None or tilt is None:
            raise InputError("PV needs latitude, longitude and tilt", message_zh="光伏需要纬度、经度和倾角",
                             location=Location(column="latitude_deg"))
        pv = ps.PVParams(lat, lon, tilt, _float(form, "azimuth_deg") or 180.0, capacity_kwp=_float(form, "capacity_kwp"))
    bat = None
    e_kwh, p_kw = _float(form, "battery_energy_kwh"), _float(form, "battery_power_kw")
    if e_kwh is not None or p_kw is not None:
        if e_kwh is None or p_kw is None:
            raise InputError("a battery needs energy and power", message_zh="储能需要容量和功率",
                             location=Location(column="battery_energy_kwh"))
        bat = ps.BatteryParams(e_kwh, p_kw)
    year = _float(form, "year")
    step = _float(form, "step_minutes")
    objective = form.get("objective") or "cost"
    if objective not in ("cost", "emissions", "self_consumption"):
        raise InputError(f"unknown objective {objective!r}", message_zh=f"未知的优化目标 {objective!r}",
                         location=Location(column="objective", value=objective))
    return ps.PlanParams(label=(form.get("label") or "").strip()[:200] or None,
                         province=(form.get("province") or "").strip()[:50] or None,
                         start=_day(form, "start"), end=_day(form, "end"), year=None if year is None else int(year),
                         step_minutes=60 if step is None else int(step), load_csv=load_csv, pv=pv, battery=bat,
                         import_limit_kw=_float(form, "import_limit_kw"), objective=objective,
                         max_pv_kwp=_float(form, "max_pv_kwp"), max_battery_kwh=_float(form, "max_battery_kwh"))


_FIELDS = ("kind", "label", "province", "start", "end", "year", "step_minutes", "latitude_deg", "longitude_deg",
           "tilt_deg", "azimuth_deg", "capacity_kwp", "battery_energy_kwh", "battery_power_kw", "import_limit_kw",
           "objective", "max_pv_kwp", "max_battery_kwh")


async def _run(request: Request, caller: Caller, enterprise_id: str | None, park_id: str | None,
               csrf_token: str, load_file: UploadFile | None) -> Response:
    check_csrf_value(caller, csrf_token)
    raw = await request.form()
    form = {k: str(raw.get(k) or "") for k in _FIELDS}
    data = b""
    if load_file is not None and load_file.filename:
        data = await load_file.read(ps.MAX_CSV_CHARS * 4 + 1)
    store = _store(request)

    def work() -> Response:
        try:
            if len(data) > ps.MAX_CSV_CHARS * 4:
                raise InputError("load file too large", message_zh="负荷文件过大", location=Location(file="load"))
            try:
                text = data.decode("utf-8-sig") if data else None
            except UnicodeDecodeError:
                raise InputError("load file is not UTF-8 text", message_zh="负荷文件不是 UTF-8 文本",
                                 location=Location(file=(load_file.filename if load_file else "") or "load")) from None
            params = params_from_form(form, text)
            plan = ps.run_plan(store, caller.scope, form["kind"] or "dispatch", params, enterprise_id=enterprise_id,
                               park_id=park_id, actor=caller.username, request_id=caller.request_id, ip=caller.ip)
        except (NotFoundError, PermissionDeniedError):
            raise
        except ParkcarbonError as exc:  # bad input, infeasible, over the bounds: shown on the page with the form
            return _page(request, caller, enterprise_id, park_id, None, error=exc, form=form, status_code=422)
        base = f"{WEB_PREFIX}/enterprises/{enterprise_id}" if enterprise_id else f"{WEB_PREFIX}/parks/{park_id}"
        return RedirectResponse(f"{base}/plans?plan={plan.id}", status_code=303)

    return await run_in_threadpool(work)


@router.post("/enterprises/{enterprise_id}/plans")
async def enterprise_plan_submit(request: Request, enterprise_id: str, caller: FormCaller,
                                 csrf_token: Annotated[str, Form()],
                                 load_file: Annotated[UploadFile | None, File()] = None) -> Response:
    """Run a plan from the form and show it (errors, e.g. infeasible, on the page with the form kept)."""
    return await _run(request, caller, enterprise_id, None, csrf_token, load_file)


@router.post("/parks/{park_id}/plans")
async def park_plan_submit(request: Request, park_id: str, caller: FormCaller, csrf_token: Annotated[str, Form()],
                           load_file: Annotated[UploadFile | None, File()] = None) -> Response:
    return await _run(request, caller, None, park_id, csrf_token, load_file)
