"""Server-rendered pages of the dashboard (``/web``), served by the API's FastAPI app.

Authentication, CSRF and the caller's scope come from :mod:`parkcarbon.api.security` (one auth
system); page data from :mod:`parkcarbon.services.dashboard` and the reports from
:mod:`parkcarbon.services.reporting` / :mod:`parkcarbon.services.enterprise_report`, accounted
with the app's :class:`~parkcarbon.services.accounting.FactorConfig` exactly as the API's
inventory endpoints, so a page, a report and the API JSON show the same numbers.

Forms post a ``csrf_token`` field (checked with :func:`~parkcarbon.api.security.check_csrf_value`);
errors of the platform are shown as an HTML page with the bilingual message and hint.
"""

from __future__ import annotations

import math
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Hashable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from parkcarbon.api.security import (
    SESSION_COOKIE,
    Caller,
    check_csrf_value,
    current_caller_form,
    optional_caller,
    request_id,
)
from parkcarbon.errors import BatchRejectedError, InputError, Location, ParkcarbonError
from parkcarbon.ingest.templates import TEMPLATES, template_bytes
from parkcarbon.periods import Month
from parkcarbon.reports.html import format_number, render_html
from parkcarbon.reports.model import Report
from parkcarbon.reports.pdf import render_pdf
from parkcarbon.reports.xlsx import write_xlsx
from parkcarbon.services import auth as auth_svc
from parkcarbon.services import dashboard as dash
from parkcarbon.services import evidence as evidence_svc
from parkcarbon.services import lifecycle, scoped
from parkcarbon.services.accounting import AccountingRun, FactorConfig
from parkcarbon.services.enterprise_report import (
    EnterpriseRun,
    account_enterprise,
    build_energy_statistics_report,
    build_enterprise_report,
)
from parkcarbon.services.ingestion import import_statistics
from parkcarbon.services.reporting import ParkReportInputs, build_park_report
from parkcarbon.services.targets import ParkSeries, park_target_rows
from parkcarbon.services.tenancy import (
    park_totals_context,
    scoped_reader,
    scoped_transaction,
    system_scope,
    tenant_context,
)
from parkcarbon.settings import Settings
from parkcarbon.storage import Store
from parkcarbon.web.i18n import DEFAULT_LANG, LANG_COOKIE, LANGS, translator
from parkcarbon.web.preview import error_grid

__all__ = ["WEB_PREFIX", "PageCache", "router", "templates"]

WEB_PREFIX = "/web"
_HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(_HERE / "templates"))
templates.env.globals.update(format_number=format_number)
templates.env.filters["num"] = lambda v, d=0: "—" if v is None else f"{v:,.{d}f}"
templates.env.filters["pct"] = lambda v, d=1: "—" if v is None else f"{100 * v:,.{d}f}%"

_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_T = TypeVar("_T")


class PageCache:
    """A small LRU cache of accounting runs and series, keyed with the ledger fingerprint, so a
    page recomputes only when the stored data changed (the fingerprint is part of the key)."""

    def __init__(self, size: int = 64) -> None:
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def get(self, key: Hashable, make: Callable[[], _T]) -> _T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]  # type: ignore[no-any-return]
        value = make()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


class _HtmlErrorRoute(APIRoute):
    """Platform errors of a page become an HTML error page (status from the API's mapping)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except ParkcarbonError as exc:
                from parkcarbon.api.app import status_for

                if isinstance(exc, auth_svc.AuthenticationError):
                    return _to_login(request)
                return _render(request, None, "error.html.j2", {"error": exc}, status_code=status_for(exc))

        return run


router = APIRouter(prefix=WEB_PREFIX, route_class=_HtmlErrorRoute, include_in_schema=False)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _config(request: Request) -> FactorConfig:
    return getattr(request.app.state, "factor_config", None) or FactorConfig()


def _cache(request: Request) -> PageCache:
    cache = getattr(request.app.state, "web_cache", None)
    if cache is None:
        cache = request.app.state.web_cache = PageCache()
    return cache


def _lang(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, DEFAULT_LANG)
    return lang if lang in LANGS else DEFAULT_LANG


def _page_caller(request: Request) -> Caller | None:
    try:
        return optional_caller(request)
    except auth_svc.AuthenticationError:
        return None


PageCaller = Annotated[Caller | None, Depends(_page_caller)]
FormCaller = Annotated[Caller, Depends(current_caller_form)]


def _to_login(request: Request) -> RedirectResponse:
    nxt = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="")
    resp = RedirectResponse(f"{WEB_PREFIX}/login?next={nxt}", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


def _render(request: Request, caller: Caller | None, name: str, ctx: dict[str, Any],
            status_code: int = 200) -> HTMLResponse:
    lang = _lang(request)
    base = {"request": request, "caller": caller, "lang": lang, "t": translator(lang), "prefix": WEB_PREFIX,
            "csrf_token": caller.csrf_token if caller is not None else None,
            "roles": caller.scope.roles if caller is not None else ()}
    return templates.TemplateResponse(request, name, {**base, **ctx}, status_code=status_code)


def _safe_next(value: str | None) -> str:
    if value and value.startswith(WEB_PREFIX + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return WEB_PREFIX + "/"


def _park_years(request: Request, park_id: str) -> tuple[int, ...]:
    years = dash.ledger_years(_store(request), park_id=park_id)
    if not years:
        raise InputError(f"park {park_id} has no ledger data yet", message_zh=f"园区 {park_id} 尚无台账数据",
                         hint="upload monthly statistics first", hint_zh="请先上传月度能源统计数据")
    return years


def _park_runs(request: Request, caller: Caller, park_id: str,
               years: tuple[int, ...]) -> tuple[tuple[AccountingRun, ...], tuple[str, ...]]:
    """Accounting runs of the years that can be accounted under the app's factor policy, and
    notes on the years that cannot (left out, never zero)."""
    store, cfg = _store(request), _config(request)
    fp = dash.ledger_fingerprint(store, park_id=park_id)

    def make() -> tuple[tuple[AccountingRun, ...], tuple[str, ...]]:
        with park_totals_context(caller.scope, park_id):
            return dash.accountable_years(lambda y: dash.park_runs(store, park_id, [y], cfg)[0], years)

    runs, notes = _cache(request).get(("park-runs", park_id, years, fp, id(cfg)), make)
    if not runs:
        raise InputError(f"no year of park {park_id} can be accounted: {'; '.join(notes)}",
                         message_zh=f"园区 {park_id} 没有可核算的年份", hint="add the missing factors",
                         hint_zh="请补充缺失的因子")
    return runs, notes


def _enterprise_runs(request: Request, caller: Caller, enterprise_id: str,
                     years: tuple[int, ...]) -> tuple[tuple[EnterpriseRun, ...], tuple[str, ...]]:
    store, cfg = _store(request), _config(request)
    fp = dash.ledger_fingerprint(store, enterprise_id=enterprise_id)

    def make() -> tuple[tuple[EnterpriseRun, ...], tuple[str, ...]]:
        with tenant_context(caller.scope):
            return dash.accountable_years(lambda y: account_enterprise(store, enterprise_id, y, cfg), years)

    runs, notes = _cache(request).get(("ent-runs", enterprise_id, years, fp, id(cfg)), make)
    if not runs:
        raise InputError(f"no year of enterprise {enterprise_id} can be accounted: {'; '.join(notes)}",
                         message_zh=f"企业 {enterprise_id} 没有可核算的年份", hint="add the missing factors",
                         hint_zh="请补充缺失的因子")
    return runs, notes


def _accounted_year(year: int | None, runs: tuple[Any, ...]) -> int:
    return _pick_year(year, tuple(r.year for r in runs))


def _park_series(request: Request, caller: Caller, park_id: str) -> ParkSeries:
    """Monthly series consistent with the park's accounted years (same factors and inputs)."""
    store = _store(request)
    runs, _ = _park_runs(request, caller, park_id, _park_years(request, park_id))
    fp = dash.ledger_fingerprint(store, park_id=park_id)

    def make() -> ParkSeries:
        with park_totals_context(caller.scope, park_id):
            return dash.park_series(store, park_id, runs)

    return _cache(request).get(("park-series", park_id, fp, id(_config(request))), make)


def _budget_of(request: Request, park_id: str) -> float | None:
    """The park's energy budget [tce]: the stored one (targets_store) of the page's ``?year=`` (else the
    newest stored year), else the one given to ``mount_web``."""
    from parkcarbon.services.targets_store import stored_budget_qty

    text = request.query_params.get("year", "")
    stored = stored_budget_qty(_store(request), park_id, int(text) if text.isdigit() else None)
    if stored is not None:
        return stored
    budgets: dict[str, float] = getattr(request.app.state, "park_energy_budgets_tce", None) or {}
    return budgets.get(park_id)


def _pv_capacity_kwp(request: Request, caller: Caller, park_id: str) -> float | None:
    """Installed rooftop PV of the park's enterprises [kWp]; ``None`` when none is registered."""
    with scoped_reader(_store(request), caller.scope) as repo:
        ids = [e.id for e in repo.list_enterprises(park_id=park_id)]
        caps = [a.capacity_kwp for a in repo.energy_assets(kind="pv", enterprise_ids=ids) if a.capacity_kwp]
    return math.fsum(caps) if caps else None


def _last_month(ps: ParkSeries, year: int) -> Month | None:
    months = [m for m in ps.months if m.year == year]
    return max(months) if months else None


def _pick_year(year: int | None, years: tuple[int, ...]) -> int:
    if year is None:
        return years[-1]
    if year not in years:
        raise InputError(f"no data for year {year}; years with data: {list(years)}",
                         message_zh=f"{year} 年没有数据；有数据的年份：{list(years)}",
                         location=Location(column="year", value=year))
    return year


def _download(data: bytes, media: str, filename: str) -> Response:
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _report_response(report: Report, fmt: str, stem: str) -> Response:
    if fmt == "html":
        return Response(render_html(report), media_type="text/html; charset=utf-8")
    if fmt == "pdf":
        return _download(render_pdf(report), "application/pdf", f"{stem}.pdf")
    with tempfile.TemporaryDirectory() as tmp:
        data = write_xlsx(report, Path(tmp) / "report.xlsx").read_bytes()
    return _download(data, _XLSX, f"{stem}.xlsx")


# ---------------------------------------------------------------------------------------------
# login, language, home
# ---------------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, caller: PageCaller, next: str | None = None) -> Response:
    return _render(request, None, "login.html.j2", {"next": _safe_next(next), "failed": False})


@router.post("/login", response_class=HTMLResponse)
def login_submit(request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()],
                 next: Annotated[str, Form()] = "") -> Response:
    """Open a browser session exactly as ``POST /api/v1/auth/login`` does (same service, same cookie)."""
    store = _store(request)
    ip = request.client.host if request.client else None
    failure: ParkcarbonError | None = None
    result = None
    with scoped_transaction(store, system_scope("auth")) as repo:
        try:
            result = auth_svc.login(repo.session, username, password, ip=ip, request_id=request_id(request))
        except (auth_svc.AuthenticationError, auth_svc.ThrottledError) as exc:
            failure = exc  # the failed attempt is committed (throttling, security log)
    if failure is not None or result is None:
        return _render(request, None, "login.html.j2", {"next": _safe_next(next), "failed": True,
                                                        "error": failure}, status_code=401)
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(SESSION_COOKIE, result.token, httponly=True, secure=request.app.state.cookie_secure,
                    samesite="strict", path="/", max_age=int(auth_svc.SESSION_LIFETIME.total_seconds()))
    return resp


@router.post("/logout")
def logout_submit(request: Request, caller: FormCaller, csrf_token: Annotated[str, Form()]) -> Response:
    check_csrf_value(caller, csrf_token)
    with scoped_transaction(_store(request), system_scope(caller.username)) as repo:
        auth = auth_svc.Authenticated(user=repo.session.merge(caller.auth.user), kind=caller.auth.kind,
                                      credential_id=caller.auth.credential_id, csrf_token=caller.auth.csrf_token)
        auth_svc.logout(repo.session, auth, request_id=caller.request_id)
    resp = RedirectResponse(f"{WEB_PREFIX}/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/lang/{lang}")
def set_lang(request: Request, lang: str, next: str | None = None) -> Response:
    resp = RedirectResponse(_safe_next(next), status_code=303)
    if lang in LANGS:
        resp.set_cookie(LANG_COOKIE, lang, httponly=False, samesite="strict", path="/", max_age=365 * 86400)
    return resp


@router.get("/", response_class=HTMLResponse)
def home(request: Request, caller: PageCaller) -> Response:
    """Where each role starts: park admins and province on the park overview, enterprises on
    their own page, verifiers on their verification list."""
    if caller is None:
        return _to_login(request)
    scope = caller.scope
    with scoped_reader(_store(request), scope) as repo:
        parks = scoped.list_parks(repo, scope) if (scope.park_admin_parks or scope.all_tenants
                                                     or scope.provincial) else []
        park_ids = [p.id for p in parks]
    if len(park_ids) == 1:
        return RedirectResponse(f"{WEB_PREFIX}/parks/{park_ids[0]}", status_code=303)
    if park_ids:
        return _render(request, caller, "parks.html.j2", {"parks": parks})
    if scope.viewed_enterprises:
        return RedirectResponse(f"{WEB_PREFIX}/enterprises/{sorted(scope.viewed_enterprises)[0]}", status_code=303)
    if scope.engagements:
        return RedirectResponse(f"{WEB_PREFIX}/verification", status_code=303)
    return _render(request, caller, "parks.html.j2", {"parks": []})


# ---------------------------------------------------------------------------------------------
# park overview, energy flow
# ---------------------------------------------------------------------------------------------


@router.get("/parks/{park_id}", response_class=HTMLResponse)
def park_page(request: Request, park_id: str, caller: PageCaller,
              year: Annotated[int | None, Query(ge=1990, le=2100)] = None) -> Response:
    """The park overview (大屏): totals and trends, structure, top enterprises and industries,
    PV and green power, targets with warning levels, budgets, completeness, energy flow."""
    if caller is None:
        return _to_login(request)
    with scoped_reader(_store(request), caller.scope) as repo:
        park = caller.scope.park(repo, park_id)
        park_name = park.name
    admin = caller.scope.can_admin_park(park_id)
    runs, skipped = _park_runs(request, caller, park_id, _park_years(request, park_id))
    year = _accounted_year(year, runs)
    years = tuple(r.year for r in runs)
    ps = _park_series(request, caller, park_id)
    through = _last_month(ps, year)
    targets = dash.park_targets(ps, through) if through is not None else ()
    budget = _budget_of(request, park_id)
    budgets = dash.park_budget_status(ps, budget, through) if budget is not None and through is not None else ()
    ov = dash.park_overview(runs, year=year, targets=targets, budgets=budgets,
                            pv_capacity_kwp=_pv_capacity_kwp(request, caller, park_id))
    data = ov.to_json()
    if not admin:  # the province sees park totals, not enterprises' data
        data["enterprises"], data["flow"], data["budgets"] = [], None, []
    return _render(request, caller, "park.html.j2", {"ov": ov, "data": data, "admin": admin, "park_name": park_name,
                                                      "years": years, "budget_tce": budget, "skipped": skipped})


@router.get("/parks/{park_id}/flow", response_class=HTMLResponse)
def flow_page(request: Request, park_id: str, caller: PageCaller,
              year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
              top: Annotated[int, Query(ge=1, le=60)] = 15) -> Response:
    """The energy-flow diagram (能流图) of the park: supply → carrier → enterprise [tce]."""
    if caller is None:
        return _to_login(request)
    with scoped_reader(_store(request), caller.scope) as repo:
        park = caller.scope.park(repo, park_id, action="admin")
    runs, _ = _park_runs(request, caller, park_id, _park_years(request, park_id))
    year = _accounted_year(year, runs)
    years = tuple(r.year for r in runs)
    run = next(r for r in runs if r.year == year)
    flow = dash.energy_flow(run, top_n=top)
    return _render(request, caller, "flow.html.j2", {"park": park, "flow": flow, "data": flow.to_json(),
                                                      "years": years, "year": year, "top": top})


@router.get("/parks/{park_id}/report.{fmt}")
def park_report(request: Request, park_id: str, fmt: str, caller: PageCaller,
                year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
                kind: Annotated[str, Query(pattern="^(inventory|energy)$")] = "inventory") -> Response:
    """Park inventory report (all years up to ``year``) or energy statistics, as xlsx/pdf/html."""
    if caller is None:
        return _to_login(request)
    if fmt not in ("xlsx", "pdf", "html"):
        raise InputError(f"report format must be xlsx, pdf or html, got {fmt!r}",
                         message_zh=f"报告格式须为 xlsx、pdf 或 html，实际为 {fmt!r}", location=Location(value=fmt))
    with scoped_reader(_store(request), caller.scope) as repo:
        caller.scope.park(repo, park_id, action="admin")
    all_runs, _ = _park_runs(request, caller, park_id, _park_years(request, park_id))
    year = _accounted_year(year, all_runs)
    runs = [r for r in all_runs if r.year <= year]
    if kind == "energy":
        report = build_energy_statistics_report(runs[-1])
    else:
        ps = _park_series(request, caller, park_id)
        through = _last_month(ps, year)
        targets = park_target_rows(ps, through) if through is not None else ()
        report = build_park_report(ParkReportInputs(runs=runs, targets=targets,
                                                    pv_capacity_kwp=_pv_capacity_kwp(request, caller, park_id)))
    return _report_response(report, fmt, f"{park_id}-{kind}-{year}")


# ---------------------------------------------------------------------------------------------
# enterprise view
# ---------------------------------------------------------------------------------------------


@router.get("/enterprises/{enterprise_id}", response_class=HTMLResponse)
def enterprise_page(request: Request, enterprise_id: str, caller: PageCaller,
                    year: Annotated[int | None, Query(ge=1990, le=2100)] = None) -> Response:
    """An enterprise's view: ledger by month and carrier, inventory by scope (location and
    market), indicators and budget, data quality, evidence, reporting periods and reports."""
    if caller is None:
        return _to_login(request)
    store = _store(request)
    with scoped_reader(store, caller.scope) as repo:
        ent = caller.scope.enterprise(repo, enterprise_id, year=year)
        park_id = ent.park_id
    years = dash.ledger_years(store, enterprise_id=enterprise_id)
    if caller.scope.verifier_years(enterprise_id) and not caller.scope.can_write_enterprise(enterprise_id, park_id) \
            and enterprise_id not in caller.scope.viewed_enterprises:
        years = tuple(y for y in years if y in caller.scope.verifier_years(enterprise_id))
    if not years:
        raise InputError(f"enterprise {enterprise_id} has no ledger data yet",
                         message_zh=f"企业 {enterprise_id} 尚无台账数据",
                         hint="upload monthly statistics first", hint_zh="请先上传月度能源统计数据")
    runs, skipped = _enterprise_runs(request, caller, enterprise_id, years)
    year = _accounted_year(year, runs)
    years = tuple(r.year for r in runs)
    budgets: tuple[dash.BudgetStatus, ...] = ()
    if park_id and caller.scope.can_admin_park(park_id) and _budget_of(request, park_id) is not None:
        ps = _park_series(request, caller, park_id)
        through = _last_month(ps, year)
        if through is not None:
            budgets = dash.park_budget_status(ps, _budget_of(request, park_id) or 0.0, through)
    with scoped_reader(store, caller.scope) as repo:
        ledger = repo.activity_records(enterprise_ids=[enterprise_id], first=f"{year:04d}-01",
                                       last=f"{year:04d}-12")
        evidence = evidence_svc.list_evidence(repo, caller.scope, enterprise_id)
        periods = lifecycle.list_periods(repo, caller.scope, enterprise_id, year)
        meters = scoped.list_meters(repo, caller.scope, enterprise_id)
    view = dash.enterprise_view(runs, year=year, ledger=ledger, budgets=budgets)
    can_write = caller.scope.can_write_enterprise(enterprise_id, park_id)
    return _render(request, caller, "enterprise.html.j2", {
        "v": view, "data": view.to_json(), "years": years, "evidence": evidence, "periods": periods,
        "meters": meters, "can_write": can_write, "park_id": park_id, "skipped": skipped,
        "can_park": bool(park_id) and caller.scope.can_admin_park(park_id)})


@router.get("/enterprises/{enterprise_id}/report.{fmt}")
def enterprise_report(request: Request, enterprise_id: str, fmt: str, caller: PageCaller,
                      year: Annotated[int | None, Query(ge=1990, le=2100)] = None) -> Response:
    """The enterprise's GB/T 32150-structured GHG report as xlsx/pdf/html."""
    if caller is None:
        return _to_login(request)
    if fmt not in ("xlsx", "pdf", "html"):
        raise InputError(f"report format must be xlsx, pdf or html, got {fmt!r}",
                         message_zh=f"报告格式须为 xlsx、pdf 或 html，实际为 {fmt!r}", location=Location(value=fmt))
    store = _store(request)
    with scoped_reader(store, caller.scope) as repo:
        caller.scope.enterprise(repo, enterprise_id, year=year)
    years = dash.ledger_years(store, enterprise_id=enterprise_id)
    year = _pick_year(year, years)
    runs, _ = _enterprise_runs(request, caller, enterprise_id, (year,))
    run = runs[0]
    with scoped_reader(store, caller.scope) as repo:
        ledger = repo.activity_records(enterprise_ids=[enterprise_id], first=f"{year:04d}-01",
                                       last=f"{year:04d}-12")
    return _report_response(build_enterprise_report(run, ledger=ledger), fmt, f"{enterprise_id}-ghg-{year}")


# ---------------------------------------------------------------------------------------------
# data work: uploads with errors in place, registers, verification
# ---------------------------------------------------------------------------------------------


def _writable_targets(request: Request, caller: Caller) -> tuple[list[Any], list[Any]]:
    with scoped_reader(_store(request), caller.scope) as repo:
        parks = [p for p in scoped.list_parks(repo, caller.scope) if caller.scope.can_admin_park(p.id)] \
            if (caller.scope.park_admin_parks or caller.scope.all_tenants) else []
        ents = [e for e in scoped.list_enterprises(repo, caller.scope)
                if caller.scope.can_write_enterprise(e.id, e.park_id)]
    return parks, ents


@router.get("/data", response_class=HTMLResponse)
def data_page(request: Request, caller: PageCaller) -> Response:
    if caller is None:
        return _to_login(request)
    parks, ents = _writable_targets(request, caller)
    return _render(request, caller, "data.html.j2", {"parks": parks, "enterprises": ents, "kinds": TEMPLATES,
                                                      "result": None, "error": None, "grid": None})


@router.get("/templates/{kind}.{fmt}")
def template_download(request: Request, kind: str, fmt: str, caller: PageCaller) -> Response:
    if caller is None:
        return _to_login(request)
    data = template_bytes(kind, fmt)
    media = _XLSX if fmt == "xlsx" else "text/csv; charset=utf-8"
    return _download(data, media, f"template-{kind}.{fmt}")


@router.post("/data/upload", response_class=HTMLResponse)
def data_upload(request: Request, caller: FormCaller, csrf_token: Annotated[str, Form()],
                kind: Annotated[str, Form(pattern="^(monthly|bills|production|meters)$")],
                target: Annotated[str, Form(max_length=120)], file: Annotated[UploadFile, File()]) -> Response:
    """Import a statistics template for an enterprise (``ent:<id>``) or a park (``park:<id>``);
    a rejected file comes back with every row error, shown in a list and in place in the grid."""
    check_csrf_value(caller, csrf_token)
    store, settings = _store(request), _settings(request)
    what, _, ident = target.partition(":")
    tenant_id = park_id = None
    with scoped_reader(store, caller.scope) as repo:
        if what == "park":
            caller.scope.park(repo, ident, action="admin")
            park_id = ident
        elif what == "ent":
            tenant_id = caller.scope.enterprise(repo, ident, action="write").tenant_id
        else:
            raise InputError("choose an enterprise or a park", message_zh="请选择企业或园区",
                             location=Location(column="target", value=target))
    data = file.file.read(settings.upload_max_bytes + 1)
    name = (file.filename or "upload")[:200]
    parks, ents = _writable_targets(request, caller)
    ctx: dict[str, Any] = {"parks": parks, "enterprises": ents, "kinds": TEMPLATES, "result": None,
                           "error": None, "grid": None, "target": target, "kind": kind}
    try:
        if len(data) > settings.upload_max_bytes:
            from parkcarbon.errors import UploadRejectedError

            raise UploadRejectedError(f"file larger than {settings.upload_max_bytes} bytes",
                                      message_zh=f"文件超过 {settings.upload_max_bytes} 字节", code="E-UPLOAD-SIZE",
                                      location=Location(file=name[:80]))
        with tenant_context(caller.scope):
            ctx["result"] = import_statistics(store, data, name, kind, uploader=caller.username,
                                              tenant_id=tenant_id, park_id=park_id, settings=settings)
    except BatchRejectedError as exc:
        ctx["error"] = exc
        ctx["grid"] = error_grid(data, name, exc.errors)
        return _render(request, caller, "data.html.j2", ctx, status_code=422)
    except InputError as exc:
        ctx["error"] = exc
        return _render(request, caller, "data.html.j2", ctx, status_code=422)
    return _render(request, caller, "data.html.j2", ctx)


@router.get("/registers", response_class=HTMLResponse)
def registers_page(request: Request, caller: PageCaller) -> Response:
    """Enterprise register (企业名录) and meter register (计量器具台账) visible to the caller."""
    if caller is None:
        return _to_login(request)
    with scoped_reader(_store(request), caller.scope) as repo:
        ents = scoped.list_enterprises(repo, caller.scope)
        meters = {e.id: scoped.list_meters(repo, caller.scope, e.id) for e in ents}
    return _render(request, caller, "registers.html.j2", {"enterprises": ents, "meters": meters})


@router.get("/verification", response_class=HTMLResponse)
def verification_page(request: Request, caller: PageCaller,
                      enterprise: Annotated[str | None, Query(max_length=64)] = None,
                      year: Annotated[int | None, Query(ge=1990, le=2100)] = None) -> Response:
    """Reporting periods (报告期) with the actions the caller's role allows: submit (enterprise,
    park), return and verify (assigned verifier), lock (park administrator)."""
    if caller is None:
        return _to_login(request)
    scope = caller.scope
    store = _store(request)
    with scoped_reader(store, scope) as repo:
        ents = scoped.list_enterprises(repo, scope)
        choices = [e for e in ents if scope.can_read_enterprise(e.id, e.park_id)]
        if not choices:
            return _render(request, caller, "verification.html.j2", {"enterprises": [], "periods": [], "ent": None,
                                                                      "year": year, "years": ()})
        ent = next((e for e in choices if e.id == enterprise), choices[0])
        vyears = scope.verifier_years(ent.id)
        years = dash.ledger_years(store, enterprise_id=ent.id)
        if vyears and not scope.can_write_enterprise(ent.id, ent.park_id) and ent.id not in scope.viewed_enterprises:
            years = tuple(y for y in years if y in vyears)
        year = year if year is not None else (years[-1] if years else datetime.now(UTC).year)
        periods = lifecycle.list_periods(repo, scope, ent.id, year)
        allowed = {
            "submit": scope.can_write_enterprise(ent.id, ent.park_id),
            "return": scope.can_verify(ent.id, year) or scope.can_admin_park(ent.park_id),
            "verify": scope.can_verify(ent.id, year),
            "lock": scope.can_admin_park(ent.park_id),
        }
    return _render(request, caller, "verification.html.j2", {"enterprises": choices, "ent": ent, "year": year,
                                                              "years": years, "periods": periods,
                                                              "allowed": allowed,
                                                              "message": request.query_params.get("done")})


@router.post("/verification/{enterprise_id}/{month}/{action}")
def verification_action(request: Request, enterprise_id: str, month: str, action: str, caller: FormCaller,
                        csrf_token: Annotated[str, Form()],
                        comment: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Apply one lifecycle transition (:func:`parkcarbon.services.lifecycle.transition`)."""
    check_csrf_value(caller, csrf_token)
    if action not in ("submit", "return", "verify", "lock"):
        raise InputError(f"unknown period action {action!r}", message_zh=f"未知的报告期操作 {action!r}",
                         location=Location(column="action", value=action))
    with scoped_transaction(_store(request), caller.scope) as repo:
        lifecycle.transition(repo, caller.scope, enterprise_id, month, action, comment=comment or None,
                             config=_config(request), request_id=caller.request_id)
    year = month[:4]
    return RedirectResponse(f"{WEB_PREFIX}/verification?enterprise={quote(enterprise_id)}&year={year}"
                            f"&done={quote(action + ':' + month)}", status_code=303)
