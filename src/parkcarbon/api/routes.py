"""Routes of ``/api/v1``: thin handlers — authenticate, call one service under the caller's scope, shape.

Every route except ``/health`` and ``/auth/login`` needs a caller (:mod:`parkcarbon.api.security`);
every object is loaded through the caller's scope in the service (404 for foreign ids).
Lists are capped at 1 000 items (``limit``).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from parkcarbon.api import schemas as s
from parkcarbon.api.app import problem_response
from parkcarbon.api.security import SESSION_COOKIE, Caller, current_caller, request_id
from parkcarbon.core.inventory import Inventory, ParkInventory
from parkcarbon.errors import InputError, Location, ParkcarbonError, UploadRejectedError
from parkcarbon.factors.registry import default_registry
from parkcarbon.services import auth as auth_svc
from parkcarbon.services import evidence as evidence_svc
from parkcarbon.services import lifecycle, recalculation, scoped
from parkcarbon.services.accounting import FactorConfig, account_enterprise_year, account_park_year
from parkcarbon.services.audit import load_chain, verify_chain
from parkcarbon.services.ingestion import import_readings, import_statistics, ingest_http_batch
from parkcarbon.services.tenancy import (
    park_totals_context,
    scoped_reader,
    scoped_transaction,
    system_scope,
    tenant_context,
)
from parkcarbon.settings import Settings
from parkcarbon.storage import Store

__all__ = ["router"]

_PROBLEM = {"model": s.Problem, "content": {"application/problem+json": {}}}
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {**_PROBLEM, "description": text} for code, text in (
        (400, "Bad request"), (401, "Not authenticated"), (403, "Forbidden"), (404, "Not found (or not yours)"),
        (409, "Conflict / locked period"), (413, "Body too large"), (422, "Invalid input"),
        (429, "Too many requests"), (503, "Store unavailable"))
}
router = APIRouter(responses=COMMON_RESPONSES)
CallerDep = Annotated[Caller, Depends(current_caller)]
Limit = Annotated[int, Query(ge=1, le=1000)]
YearQ = Annotated[int, Query(ge=1990, le=2100)]


def _store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _config(request: Request) -> FactorConfig:
    return request.app.state.factor_config  # type: ignore[no-any-return]


def _me(repo: Any, caller: Caller) -> Any:
    """The caller's user row, loaded in this transaction."""
    from parkcarbon.storage.models_auth import User

    return repo.session.get(User, caller.auth.user.id)


def _read_upload(upload: UploadFile, settings: Settings) -> bytes:
    data = upload.file.read(settings.upload_max_bytes + 1)
    if len(data) > settings.upload_max_bytes:
        raise UploadRejectedError(f"file larger than {settings.upload_max_bytes} bytes",
                                  message_zh=f"文件超过 {settings.upload_max_bytes} 字节", code="E-UPLOAD-SIZE",
                                  location=Location(file=(upload.filename or "")[:80]))
    return data


# =============================================================================================
# health and authentication
# =============================================================================================


@router.get("/health", response_model=s.HealthOut, tags=["system"])
def health(request: Request) -> dict[str, Any]:
    """Liveness and store revision (no authentication)."""
    store = _store(request)
    return {"status": "ok", "backend": store.backend, "revision": store.current_revision()}


@router.post("/auth/login", response_model=s.LoginOut, tags=["auth"])
def login(body: s.LoginIn, request: Request, response: Response) -> Any:
    """Open a browser session: sets the ``pc_session`` cookie and returns the CSRF token."""
    store = _store(request)
    ip = request.client.host if request.client else None
    failure: ParkcarbonError | None = None
    result = None
    with scoped_transaction(store, system_scope("auth")) as repo:
        try:
            result = auth_svc.login(repo.session, body.username, body.password, ip=ip, request_id=request_id(request))
        except (auth_svc.AuthenticationError, auth_svc.ThrottledError) as exc:
            failure = exc  # the failed attempt is committed (throttling and security log) before raising
    if failure is not None or result is None:
        raise failure or auth_svc.AuthenticationError("login failed", message_zh="登录失败")
    response.set_cookie(SESSION_COOKIE, result.token, httponly=True, secure=request.app.state.cookie_secure,
                        samesite="strict", path="/", max_age=int(auth_svc.SESSION_LIFETIME.total_seconds()))
    return {"user_id": result.user.id, "username": result.user.username, "csrf_token": result.csrf_token,
            "expires_at": result.expires_at}


@router.post("/auth/logout", status_code=204, tags=["auth"])
def logout(body: s.LogoutIn, caller: CallerDep, request: Request) -> Response:
    """End this session (``everywhere``: every session and API token of the user)."""
    with scoped_transaction(_store(request), system_scope(caller.username)) as repo:
        user = _me(repo, caller)
        auth = auth_svc.Authenticated(user=user, kind=caller.auth.kind, credential_id=caller.auth.credential_id)
        auth_svc.logout(repo.session, auth, everywhere=body.everywhere, request_id=caller.request_id)
    resp = Response(status_code=204)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/auth/me", response_model=s.MeOut, tags=["auth"])
def me(caller: CallerDep) -> dict[str, Any]:
    u = caller.auth.user
    return {"user_id": u.id, "username": u.username, "display_name": u.display_name, "roles": list(caller.scope.roles),
            "auth_kind": caller.auth.kind, "csrf_token": caller.csrf_token}


@router.post("/auth/password", status_code=204, tags=["auth"])
def change_password(body: s.PasswordIn, caller: CallerDep, request: Request) -> Response:
    """Change the password; every session and token of the user is revoked."""
    store = _store(request)
    failure: ParkcarbonError | None = None
    with scoped_transaction(store, system_scope(caller.username)) as repo:
        user = _me(repo, caller)
        try:
            auth_svc.change_password(repo.session, user, body.old_password, body.new_password,
                                     request_id=caller.request_id)
        except auth_svc.AuthenticationError as exc:
            failure = exc
    if failure is not None:
        raise failure
    return Response(status_code=204)


@router.get("/tokens", response_model=list[s.TokenOut], tags=["auth"])
def list_tokens(caller: CallerDep, request: Request) -> Any:
    from sqlalchemy import select

    from parkcarbon.storage.models_auth import ApiToken

    with scoped_reader(_store(request), system_scope(caller.username)) as repo:
        return list(repo.session.scalars(select(ApiToken).where(ApiToken.user_id == caller.auth.user.id)
                                         .order_by(ApiToken.created_at)))


@router.post("/tokens", response_model=s.TokenCreated, status_code=201, tags=["auth"])
def create_token(body: s.TokenIn, caller: CallerDep, request: Request) -> Any:
    """Create an API token (gateways, integrations); the secret is shown once."""
    with scoped_transaction(_store(request), system_scope(caller.username)) as repo:
        user = _me(repo, caller)
        new = auth_svc.create_api_token(repo.session, user, name=body.name, expires_in_days=body.expires_in_days,
                                        request_id=caller.request_id)
        return {"id": new.token.id, "name": new.token.name, "token_prefix": new.token.token_prefix,
                "secret": new.secret, "expires_at": new.token.expires_at}


@router.delete("/tokens/{token_id}", status_code=204, tags=["auth"])
def revoke_token(token_id: str, caller: CallerDep, request: Request) -> Response:
    with scoped_transaction(_store(request), system_scope(caller.username)) as repo:
        user = _me(repo, caller)
        auth_svc.revoke_api_token(repo.session, user, token_id, request_id=caller.request_id)
    return Response(status_code=204)


# =============================================================================================
# users, roles, verifier engagements
# =============================================================================================


@router.post("/users", response_model=s.UserOut, status_code=201, tags=["users"])
def create_user(body: s.UserIn, caller: CallerDep, request: Request) -> Any:
    with scoped_transaction(_store(request), caller.scope) as repo:
        return scoped.register_user(repo, caller.scope, username=body.username, password=body.password,
                                    display_name=body.display_name, request_id=caller.request_id)


@router.get("/users", response_model=list[s.UserOut], tags=["users"])
def list_users(caller: CallerDep, request: Request) -> Any:
    with scoped_reader(_store(request), system_scope(caller.username)) as repo:
        return scoped.list_users(repo, caller.scope)


@router.post("/users/{user_id}/memberships", response_model=s.MembershipOut, status_code=201, tags=["users"])
def grant_role(user_id: str, body: s.MembershipIn, caller: CallerDep, request: Request) -> Any:
    """Grant a role (server-checked: park admins grant only inside their parks)."""
    with scoped_transaction(_store(request), system_scope(caller.username)) as repo:
        return scoped.grant_role(repo, caller.scope, user_id, role=body.role, park_id=body.park_id,
                                 enterprise_id=body.enterprise_id, request_id=caller.request_id)


@router.delete("/memberships/{membership_id}", status_code=204, tags=["users"])
def revoke_role(membership_id: str, caller: CallerDep, request: Request) -> Response:
    with scoped_transaction(_store(request), system_scope(caller.username)) as repo:
        scoped.revoke_role(repo, caller.scope, membership_id, request_id=caller.request_id)
    return Response(status_code=204)


@router.post("/verifier-assignments", response_model=s.AssignmentOut, status_code=201, tags=["users"])
def assign_verifier(body: s.AssignmentIn, caller: CallerDep, request: Request) -> Any:
    with scoped_transaction(_store(request), caller.scope) as repo:
        return lifecycle.assign_verifier(repo, caller.scope, user_id=body.user_id, enterprise_id=body.enterprise_id,
                                         year=body.year, starts_on=body.starts_on, ends_on=body.ends_on,
                                         request_id=caller.request_id)


@router.delete("/verifier-assignments/{assignment_id}", status_code=204, tags=["users"])
def revoke_verifier(assignment_id: str, caller: CallerDep, request: Request) -> Response:
    with scoped_transaction(_store(request), caller.scope) as repo:
        lifecycle.revoke_verifier(repo, caller.scope, assignment_id, request_id=caller.request_id)
    return Response(status_code=204)


# =============================================================================================
# parks and enterprises
# =============================================================================================


@router.get("/parks", response_model=list[s.ParkOut], tags=["parks"])
def list_parks(caller: CallerDep, request: Request) -> Any:
    with scoped_reader(_store(request), caller.scope) as repo:
        return scoped.list_parks(repo, caller.scope)


@router.post("/parks", response_model=s.ParkOut, status_code=201, tags=["parks"])
def create_park(body: s.ParkIn, caller: CallerDep, request: Request) -> Any:
    with scoped_transaction(_store(request), caller.scope) as repo:
        return scoped.add_park(repo, caller.scope, code=body.code, name=body.name, name_en=body.name_en,
                               province=body.province, city=body.city, request_id=caller.request_id)


@router.get("/parks/{park_id}", response_model=s.ParkOut, tags=["parks"])
def get_park(park_id: str, caller: CallerDep, request: Request) -> Any:
    with scoped_reader(_store(request), caller.scope) as repo:
        return caller.scope.park(repo, park_id)


@router.get("/parks/{park_id}/dashboard", response_model=s.ParkDashboardOut, tags=["dashboards"])
def park_dashboard(park_id: str, year: YearQ, caller: CallerDep, request: Request) -> Any:
    """Park overview from pinned results (park admin: with enterprise rows; province: totals only)."""
    with scoped_reader(_store(request), caller.scope) as repo:
        return scoped.park_dashboard(repo, caller.scope, park_id, year)


def _inventory_out(inv: Inventory | ParkInventory, subject: str, notes: tuple[str, ...]) -> dict[str, Any]:
    cov = inv.coverage
    return {
        "subject_id": subject, "year": inv.year, "months": [str(m) for m in inv.months],
        "totals": asdict(inv.totals),
        "indicators": [{"name": i.name, "value": i.value, "unit": i.unit, "note": i.reason} for i in inv.indicators],
        "coverage": {"records": len(cov.records), "missing_records": len(cov.missing_records),
                     "complete": cov.complete, "covered_frac": cov.covered_frac},
        "factor_notes": list(notes),
    }


@router.get("/parks/{park_id}/inventory", response_model=s.InventoryOut, tags=["inventories"])
def park_inventory(park_id: str, year: YearQ, caller: CallerDep, request: Request) -> Any:
    """The park's inventory for ``year``: the exact sum of its enterprises (GB/T 2589, GB/T 32150)."""
    store, cfg = _store(request), _config(request)
    with scoped_reader(store, caller.scope) as repo:
        caller.scope.park(repo, park_id)
    with park_totals_context(caller.scope, park_id):  # park-level figures only leave this block
        run = account_park_year(store, park_id, year, cfg)
    return _inventory_out(run.inventory, park_id, run.factor_notes)


@router.get("/parks/{park_id}/report", tags=["reports"],
            responses={200: {"content": {"text/html": {}, "application/vnd.openxmlformats-officedocument."
                                                                   "spreadsheetml.sheet": {}}}})
def park_report(park_id: str, year: YearQ, caller: CallerDep, request: Request,
                format: Annotated[str, Query(pattern="^(html|xlsx)$")] = "html") -> Response:
    """The park's annual energy-carbon report (HTML or XLSX) — park administrators."""
    from parkcarbon.reports.html import render_html
    from parkcarbon.reports.xlsx import write_xlsx
    from parkcarbon.services.reporting import ParkReportInputs, build_park_report

    store, cfg = _store(request), _config(request)
    with scoped_reader(store, caller.scope) as repo:
        caller.scope.park(repo, park_id, action="admin")
    with tenant_context(caller.scope):
        run = account_park_year(store, park_id, year, cfg)
    report = build_park_report(ParkReportInputs(runs=[run]))
    if format == "html":
        return Response(render_html(report), media_type="text/html; charset=utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        path = write_xlsx(report, Path(tmp) / "report.xlsx")
        data = path.read_bytes()
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="park-report-{year}.xlsx"'})


@router.post("/parks/{park_id}/uploads", response_model=s.ImportOut, status_code=201, tags=["uploads"])
def park_upload(park_id: str, caller: CallerDep, request: Request,
                kind: Annotated[str, Query(pattern="^(monthly|bills|production|meters)$")],
                file: Annotated[UploadFile, File()]) -> Any:
    """Statistics upload for the whole park (park administrators); all-or-nothing."""
    store, settings = _store(request), _settings(request)
    with scoped_reader(store, caller.scope) as repo:
        caller.scope.park(repo, park_id, action="admin")
    data = _read_upload(file, settings)
    with tenant_context(caller.scope):
        res = import_statistics(store, data, file.filename or "upload", kind, uploader=caller.username,
                                park_id=park_id, settings=settings)
    _audit_simple(store, caller, "upload.statistics", "ingest_batch", res.batch_id, None,
                  {"kind": kind, "file": res.file, "rows": res.rows})
    return {"batch_id": res.batch_id, "kind": res.kind, "file": res.file, "rows": res.rows,
            "records_written": res.records_written}


def _audit_simple(store: Store, caller: Caller, action: str, object_type: str, object_id: str | None,
                  tenant_id: str | None, new: Any) -> None:
    from parkcarbon.services.audit import audit

    with scoped_transaction(store, caller.scope) as repo:
        audit(repo.session, actor=caller.username, action=action, object_type=object_type, object_id=object_id,
              tenant_id=tenant_id, new=new, request_id=caller.request_id, ip=caller.ip)


@router.get("/enterprises", response_model=list[s.EnterpriseOut], tags=["enterprises"])
def list_enterprises(caller: CallerDep, request: Request,
                     park_id: Annotated[str | None, Query(max_length=64)] = None) -> Any:
    with scoped_reader(_store(request), caller.scope) as repo:
        return scoped.list_enterprises(repo, caller.scope, park_id=park_id)


@router.post("/enterprises", response_model=s.EnterpriseOut, status_code=201, tags=["enterprises"])
def create_enterprise(body: s.EnterpriseIn, caller: CallerDep, request: Request) -> Any:
    with scoped_transaction(_store(request), caller.scope) as repo:
        return scoped.add_enterprise(repo, caller.scope, park_id=body.park_id, name=body.name,
                                     credit_code=body.credit_code, industry_code=body.industry_code,
                                     province=body.province, key_energy_unit=body.key_energy_unit,
                                     name_en=body.name_en, request_id=caller.request_id)


@router.get("/enterprises/{enterprise_id}", response_model=s.EnterpriseOut, tags=["enterprises"])
def get_enterprise(enterprise_id: str, caller: CallerDep, request: Request) -> Any:
    with scoped_reader(_store(request), caller.scope) as repo:
        return caller.scope.enterprise(repo, enterprise_id)


@router.get("/enterprises/{enterprise_id}/dashboard", response_model=s.EnterpriseDashboardOut, tags=["dashboards"])
def enterprise_dashboard(enterprise_id: str, year: YearQ, caller: CallerDep, request: Request) -> Any:
    with scoped_reader(_store(request), caller.scope) as repo:
        return scoped.enterprise_dashboard(repo, caller.scope, enterprise_id, year)


@router.get("/enterprises/{enterprise_id}/inventory", response_model=s.InventoryOut, tags=["inventories"])
def enterprise_inventory(enterprise_id: str, year: YearQ, caller: CallerDep, request: Request) -> Any:
    """The enterprise's inventory for ``year`` computed from the current ledger."""
    store, cfg = _store(request), _config(request)
    with scoped_reader(store, caller.scope) as repo:
        ent = caller.scope.enterprise(repo, enterprise_id, year=year)
    with tenant_context(caller.scope):
        inv = account_enterprise_year(store, ent.id, year, cfg)
    return _inventory_out(inv, ent.id, ())


# =============================================================================================
# meters, readings, uploads, quality, ledger
# =============================================================================================


@router.get("/enterprises/{enterprise_id}/meters", response_model=list[s.MeterOut], tags=["meters"])
def list_meters(enterprise_id: str, caller: CallerDep, request: Request) -> Any:
    with scoped_reader(_store(request), caller.scope) as repo:
        return scoped.list_meters(repo, caller.scope, enterprise_id)


@router.post("/enterprises/{enterprise_id}/meters", response_model=s.MeterOut, status_code=201, tags=["meters"])
def create_meter(enterprise_id: str, body: s.MeterIn, caller: CallerDep, request: Request) -> Any:
    with scoped_transaction(_store(request), caller.scope) as repo:
        return scoped.add_meter(repo, caller.scope, enterprise_id, code=body.code, carrier=body.carrier,
                                unit=body.unit, kind=body.kind, name=body.name, multiplier=body.multiplier,
                                register_max=body.register_max, interval_s=body.interval_s, role=body.role,
                                request_id=caller.request_id)


@router.get("/meters/{meter_id}", response_model=s.MeterOut, tags=["meters"])
def get_meter(meter_id: str, caller: CallerDep, request: Request) -> Any:
    with scoped_reader(_store(request), caller.scope) as repo:
        return scoped.get_meter(repo, caller.scope, meter_id)


@router.get("/meters/{meter_id}/readings", response_model=list[s.ReadingOut], tags=["meters"])
def meter_readings(meter_id: str, caller: CallerDep, request: Request, limit: Limit = 1000,
                   start: datetime | None = None, end: datetime | None = None) -> Any:
    """Raw readings ``[start, end)`` (timezone-aware ISO 8601), oldest first."""
    for name, value in (("start", start), ("end", end)):
        if value is not None and value.tzinfo is None:
            raise InputError(f"{name} needs a UTC offset", message_zh=f"{name} 必须带时区偏移",
                             location=Location(column=name, value=value.isoformat()))
    with scoped_reader(_store(request), caller.scope) as repo:
        return scoped.readings(repo, caller.scope, meter_id, start_utc=start, end_utc=end, limit=limit)


@router.post("/enterprises/{enterprise_id}/readings", response_model=s.BatchOut, status_code=201, tags=["meters"],
             responses={200: {"model": s.BatchOut, "description": "Replay of a stored batch"}})
async def post_readings(enterprise_id: str, body: s.ReadingBatchIn, request: Request, caller: CallerDep,
                        idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> Any:
    """A batch of readings with an ``Idempotency-Key`` (ING-09): stored once; a replay returns the stored result."""
    raw = await request.body()
    store, settings = _store(request), _settings(request)

    def work() -> Any:
        with scoped_reader(store, caller.scope) as repo:
            ent = caller.scope.enterprise(repo, enterprise_id, action="write")
            tenant = ent.tenant_id
        with tenant_context(caller.scope):
            return tenant, ingest_http_batch(store, tenant, idempotency_key, raw, settings=settings)

    tenant, result = await run_in_threadpool(work)
    if result.status >= 400:
        b = result.body
        code = "E-IDEMPOTENCY-KEY" if result.status == 400 else str(b.get("code", "E-INPUT"))
        errors = b.get("errors")
        loc = {k: b[k] for k in ("file", "sheet", "row", "column", "value", "record") if b.get(k) is not None} or None
        body_out = {"type": f"urn:parkcarbon:error:{code}", "title": "BatchRejected", "status": result.status,
                    "detail": str(b.get("message", "")), "code": code, "message_zh": str(b.get("message_zh", "")),
                    "hint": b.get("hint"), "hint_zh": b.get("hint_zh"), "location": loc, "errors": errors,
                    "request_id": caller.request_id}
        return problem_response(result.status, body_out)
    out = {k: result.body.get(k) for k in ("batch_id", "received", "inserted", "duplicates", "conflicts",
                                           "quarantined", "replayed", "clock_skew_s")}
    out["replayed"] = bool(out["replayed"]) or result.status == 200
    summary = {k: out[k] for k in ("received", "inserted", "duplicates", "conflicts", "quarantined")}
    await run_in_threadpool(_audit_simple, store, caller, "readings.replay" if out["replayed"] else "readings.batch",
                            "ingest_batch", str(out["batch_id"]), tenant, summary)
    return JSONResponse(s.BatchOut(**out).model_dump(mode="json"), status_code=result.status)


@router.post("/enterprises/{enterprise_id}/uploads", response_model=s.ImportOut, status_code=201, tags=["uploads"])
def enterprise_upload(enterprise_id: str, caller: CallerDep, request: Request,
                      kind: Annotated[str, Query(pattern="^(monthly|bills|production|meters|readings)$")],
                      file: Annotated[UploadFile, File()]) -> Any:
    """Upload a statistics template or a reading file (CSV/XLSX) for the enterprise; all-or-nothing."""
    store, settings = _store(request), _settings(request)
    with scoped_reader(store, caller.scope) as repo:
        ent = caller.scope.enterprise(repo, enterprise_id, action="write")
        tenant = ent.tenant_id
    data = _read_upload(file, settings)
    name = file.filename or "upload"
    out: dict[str, Any]
    with tenant_context(caller.scope):
        if kind == "readings":
            rr = import_readings(store, data, name, tenant_id=tenant, uploader=caller.username, settings=settings)
            out = {"batch_id": rr.batch_id, "kind": kind, "file": name[:300], "rows": rr.received,
                   "records_written": rr.inserted}
        else:
            res = import_statistics(store, data, name, kind, uploader=caller.username, tenant_id=tenant,
                                    settings=settings)
            out = {"batch_id": res.batch_id, "kind": res.kind, "file": res.file, "rows": res.rows,
                   "records_written": res.records_written}
    _audit_simple(store, caller, f"upload.{kind}", "ingest_batch", str(out["batch_id"]), tenant,
                  {"kind": kind, "file": out["file"], "rows": out["rows"]})
    return out


@router.get("/enterprises/{enterprise_id}/quality", response_model=s.QualityOut, tags=["quality"])
def quality(enterprise_id: str, caller: CallerDep, request: Request) -> Any:
    with scoped_reader(_store(request), caller.scope) as repo:
        q = scoped.quality_summary(repo, caller.scope, enterprise_id)
        return {"enterprise_id": q.enterprise_id, "conflicts_open": q.conflicts_open,
                "conflicts_in_correction_queue": q.conflicts_in_correction_queue, "quarantined": q.quarantined,
                "conflicts": [s.ConflictOut.model_validate(c) for c in q.conflicts]}


MonthQ = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


@router.get("/enterprises/{enterprise_id}/quality/checks", response_model=s.QualityChecksOut, tags=["quality"])
def quality_checks(enterprise_id: str, caller: CallerDep, request: Request, month: MonthQ = None) -> Any:
    """The declared validation rules (R12: completeness, day-vs-month, raw-vs-aggregate…) on the meter data."""
    from parkcarbon.services.quality import quality_report

    store = _store(request)
    with scoped_reader(store, caller.scope) as repo:
        ent = caller.scope.enterprise(repo, enterprise_id, year=None if month is None else int(month[:4]))
        if month is None and caller.scope.engagements and not caller.scope.can_read_year(ent.id, ent.park_id, -1):
            from parkcarbon.services.tenancy import forbidden

            raise forbidden("read", "all months (a verifier names a month of its engagement)")
    with tenant_context(caller.scope):
        rep = quality_report(store, enterprise_id=ent.id, month=month, settings=_settings(request))
    return {"enterprise_id": ent.id, "meters_checked": rep.meters_checked, "months": list(rep.months), "ok": rep.ok,
            "findings": [{"code": f.code, "severity": str(f.severity), "meter_id": f.meter_id,
                          "level": None if f.level is None else str(f.level), "period_start_s": f.period_start_s,
                          "value": f.value, "threshold": f.threshold, "message": f.message,
                          "message_zh": f.message_zh} for f in rep.findings]}


@router.get("/enterprises/{enterprise_id}/ledger", response_model=list[s.LedgerRowOut], tags=["ledger"])
def ledger(enterprise_id: str, caller: CallerDep, request: Request, first: MonthQ = None, last: MonthQ = None,
           include_superseded: bool = False) -> Any:
    """Monthly activity ledger rows (with versions; superseded rows on request)."""
    with scoped_reader(_store(request), caller.scope) as repo:
        return scoped.ledger(repo, caller.scope, enterprise_id, first=first, last=last,
                             include_superseded=include_superseded)


# =============================================================================================
# reporting periods, corrections, evidence, findings
# =============================================================================================

MonthPath = Annotated[str, "YYYY-MM"]


@router.get("/enterprises/{enterprise_id}/periods", response_model=list[s.PeriodOut], tags=["periods"])
def list_periods(enterprise_id: str, year: YearQ, caller: CallerDep, request: Request) -> Any:
    with scoped_reader(_store(request), caller.scope) as repo:
        return [asdict(p) for p in lifecycle.list_periods(repo, caller.scope, enterprise_id, year)]


def _period_out(row: Any) -> dict[str, Any]:
    return {"enterprise_id": row.enterprise_id, "month": row.month, "status": row.status,
            "changed_by": row.changed_by, "changed_at": row.changed_at}


def _transition(action: str) -> Any:
    def handler(enterprise_id: str, month: str, body: s.CommentIn, caller: CallerDep, request: Request) -> Any:
        with scoped_transaction(_store(request), caller.scope) as repo:
            row = lifecycle.transition(repo, caller.scope, enterprise_id, month, action, comment=body.comment,
                                       config=_config(request), request_id=caller.request_id)
            return _period_out(row)

    handler.__name__ = f"period_{action}"
    handler.__doc__ = {"submit": "Submit a draft/returned period (pins its results).",
                       "return": "Return a submitted/verified period to the enterprise (comment required).",
                       "verify": "Verify a submitted period (assigned verifier, not the preparer).",
                       "lock": "Lock a verified period (park administrator, not the submitter)."}[action]
    return handler


for _action in ("submit", "return", "verify", "lock"):
    router.add_api_route(f"/enterprises/{{enterprise_id}}/periods/{{month}}/{_action}", _transition(_action),
                         methods=["POST"], response_model=s.PeriodOut, tags=["periods"],
                         name=f"period_{_action}")


@router.get("/enterprises/{enterprise_id}/corrections", response_model=list[s.CorrectionOut], tags=["periods"])
def list_corrections(enterprise_id: str, caller: CallerDep, request: Request) -> Any:
    with scoped_reader(_store(request), caller.scope) as repo:
        return lifecycle.list_corrections(repo, caller.scope, enterprise_id)


@router.post("/enterprises/{enterprise_id}/periods/{month}/corrections", response_model=s.CorrectionOut,
             status_code=201, tags=["periods"])
def request_correction(enterprise_id: str, month: str, body: s.CorrectionIn, caller: CallerDep,
                       request: Request) -> Any:
    """Request a new version of a submitted/verified/locked period (reason, root cause, new rows)."""
    records = [lifecycle.CorrectionRecord(**r.model_dump()) for r in body.records]
    with scoped_transaction(_store(request), caller.scope) as repo:
        return lifecycle.request_correction(repo, caller.scope, enterprise_id, month, reason=body.reason,
                                            root_cause=body.root_cause, records=records,
                                            request_id=caller.request_id)


@router.post("/corrections/{correction_id}/evidence", response_model=s.StagedEvidenceOut, status_code=201,
             tags=["evidence"])
def correction_evidence(correction_id: str, caller: CallerDep, request: Request, file: Annotated[UploadFile, File()],
                        title: Annotated[str | None, Form(max_length=300)] = None,
                        replaces_id: Annotated[str | None, Form(max_length=64)] = None) -> Any:
    """Attach a new or replacement evidence file to a requested correction (recorded on approval)."""
    settings = _settings(request)
    data = _read_upload(file, settings)
    with scoped_transaction(_store(request), caller.scope) as repo:
        staged = evidence_svc.stage_for_correction(repo, caller.scope, settings, correction_id, data=data,
                                                   filename=file.filename or "", title=title,
                                                   replaces_id=replaces_id, request_id=caller.request_id)
    return {k: staged[k] for k in ("sha256", "size_bytes", "original_name", "title", "replaces_id")}


@router.post("/corrections/{correction_id}/approve", response_model=s.CorrectionOut, tags=["periods"])
def approve_correction(correction_id: str, caller: CallerDep, request: Request) -> Any:
    with scoped_transaction(_store(request), caller.scope) as repo:
        return lifecycle.approve_correction(repo, caller.scope, correction_id, config=_config(request),
                                            request_id=caller.request_id)


@router.post("/corrections/{correction_id}/reject", response_model=s.CorrectionOut, tags=["periods"])
def reject_correction(correction_id: str, body: s.ReasonIn, caller: CallerDep, request: Request) -> Any:
    with scoped_transaction(_store(request), caller.scope) as repo:
        return lifecycle.reject_correction(repo, caller.scope, correction_id, reason=body.reason,
                                           request_id=caller.request_id)


@router.get("/enterprises/{enterprise_id}/evidence", response_model=list[s.EvidenceOut], tags=["evidence"])
def list_evidence(enterprise_id: str, caller: CallerDep, request: Request) -> Any:
    with scoped_reader(_store(request), caller.scope) as repo:
        return evidence_svc.list_evidence(repo, caller.scope, enterprise_id)


@router.post("/enterprises/{enterprise_id}/periods/{month}/evidence", response_model=s.EvidenceOut, status_code=201,
             tags=["evidence"])
def add_evidence(enterprise_id: str, month: str, caller: CallerDep, request: Request,
                 file: Annotated[UploadFile, File()], title: Annotated[str | None, Form(max_length=300)] = None,
                 replaces_id: Annotated[str | None, Form(max_length=64)] = None) -> Any:
    """Store an evidence file (存证) for a draft/returned period: SHA-256, uploader, server time."""
    settings = _settings(request)
    data = _read_upload(file, settings)
    with scoped_transaction(_store(request), caller.scope) as repo:
        return evidence_svc.add_evidence(repo, caller.scope, settings, enterprise_id, month, data=data,
                                         filename=file.filename or "", title=title, replaces_id=replaces_id,
                                         request_id=caller.request_id)


@router.get("/evidence/{evidence_id}", response_model=s.EvidenceOut, tags=["evidence"])
def get_evidence(evidence_id: str, caller: CallerDep, request: Request) -> Any:
    with scoped_reader(_store(request), caller.scope) as repo:
        return evidence_svc.get_evidence(repo, caller.scope, evidence_id)


@router.get("/evidence/{evidence_id}/check", response_model=s.EvidenceCheckOut, tags=["evidence"])
def check_evidence(evidence_id: str, caller: CallerDep, request: Request) -> Any:
    """Recompute the SHA-256 of the stored bytes (MRV-07)."""
    with scoped_reader(_store(request), caller.scope) as repo:
        ev = evidence_svc.get_evidence(repo, caller.scope, evidence_id)
        rep = evidence_svc.verify_file(_settings(request), ev)
    return {"evidence_id": rep.evidence_id, "expected_sha256": rep.expected_sha256,
            "actual_sha256": rep.actual_sha256, "ok": rep.ok}


@router.get("/evidence/{evidence_id}/content", tags=["evidence"],
            responses={200: {"content": {"application/octet-stream": {}}}})
def evidence_content(evidence_id: str, caller: CallerDep, request: Request) -> Response:
    """The original bytes (refused with 503 ``E-EVIDENCE-ALTERED`` if they no longer match the SHA-256)."""
    with scoped_reader(_store(request), caller.scope) as repo:
        ev = evidence_svc.get_evidence(repo, caller.scope, evidence_id)
        data = evidence_svc.read_evidence(_settings(request), ev)
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{ev.id}.{ev.stored_name.rsplit(".", 1)[-1]}"'})


@router.delete("/evidence/{evidence_id}", status_code=204, tags=["evidence"])
def delete_evidence(evidence_id: str, caller: CallerDep, request: Request,
                    reason: Annotated[str, Query(min_length=1, max_length=2000)]) -> Response:
    """Remove a mistaken upload of a draft period (never after submission; bytes are kept)."""
    with scoped_transaction(_store(request), caller.scope) as repo:
        evidence_svc.delete_evidence(repo, caller.scope, evidence_id, reason=reason, request_id=caller.request_id)
    return Response(status_code=204)


@router.get("/enterprises/{enterprise_id}/findings", response_model=list[s.FindingOut], tags=["verification"])
def list_findings(enterprise_id: str, caller: CallerDep, request: Request) -> Any:
    with scoped_reader(_store(request), caller.scope) as repo:
        return lifecycle.list_findings(repo, caller.scope, enterprise_id)


@router.post("/enterprises/{enterprise_id}/findings", response_model=s.FindingOut, status_code=201,
             tags=["verification"])
def add_finding(enterprise_id: str, body: s.FindingIn, caller: CallerDep, request: Request) -> Any:
    with scoped_transaction(_store(request), caller.scope) as repo:
        return lifecycle.add_finding(repo, caller.scope, enterprise_id, year=body.year, month=body.month,
                                     kind=body.kind, text=body.text, request_id=caller.request_id)


# =============================================================================================
# results and recalculation
# =============================================================================================


def _result_out(snap: Any) -> dict[str, Any]:
    return {"id": snap.id, "enterprise_id": snap.enterprise_id, "month": snap.month, "version": snap.version,
            "status": snap.status, "method": snap.method, "energy_tce": snap.energy_tce,
            "total_location_tco2": snap.total_location_tco2, "content_sha256": snap.content_sha256,
            "code_version": snap.code_version, "computed_by": snap.computed_by, "computed_at": snap.computed_at,
            "factors": json.loads(snap.factors_json), "totals": json.loads(snap.totals_json)}


@router.get("/enterprises/{enterprise_id}/results", response_model=list[s.ResultOut], tags=["results"])
def list_results(enterprise_id: str, year: YearQ, caller: CallerDep, request: Request,
                 include_superseded: bool = False) -> Any:
    """Pinned monthly results with the factor rows (ids, values, set versions) they used."""
    with scoped_reader(_store(request), caller.scope) as repo:
        ent = caller.scope.enterprise(repo, enterprise_id, year=year)
        return [_result_out(x) for x in recalculation.snapshots(repo, ent.id, year=year,
                                                                include_superseded=include_superseded)]


@router.post("/enterprises/{enterprise_id}/results", response_model=list[s.ResultOut], status_code=201,
             tags=["results"])
def pin_results(enterprise_id: str, body: s.PinIn, caller: CallerDep, request: Request) -> Any:
    """Compute and pin results of draft/returned months (submitted months are frozen: 409)."""
    from parkcarbon.periods import parse_month

    with scoped_transaction(_store(request), caller.scope) as repo:
        months = [parse_month(m) for m in body.months]
        ent = caller.scope.enterprise(repo, enterprise_id, action="write")
        for m in months:
            lifecycle.ensure_not_frozen(repo, ent.id, str(m))
        snaps = recalculation.pin_results(repo, ent, months, _config(request), actor=caller.username,
                                          request_id=caller.request_id)
        return [_result_out(x) for x in snaps]


def _proposal_out(prop: Any, items: list[Any]) -> dict[str, Any]:
    return {"id": prop.id, "park_id": prop.park_id, "year": prop.year, "reason": prop.reason,
            "threshold_frac": prop.threshold_frac, "status": prop.status, "created_by": prop.created_by,
            "created_at": prop.created_at, "approved_by": prop.approved_by, "decided_at": prop.decided_at,
            "factor_changes": json.loads(prop.factor_change_json),
            "items": [s.RecalculationItemOut.model_validate(i) for i in items]}


@router.post("/recalculations", response_model=s.ProposalOut, status_code=201, tags=["results"])
def propose_recalculation(body: s.RecalculationIn, caller: CallerDep, request: Request) -> Any:
    """Recompute a park-year's pinned results with the current factor versions: Δ per period, nothing applied."""
    with scoped_transaction(_store(request), caller.scope) as repo:
        prop = recalculation.propose_recalculation(repo, caller.scope, body.park_id, body.year, _config(request),
                                                   threshold_frac=body.threshold_frac, reason=body.reason,
                                                   request_id=caller.request_id)
        p, items = recalculation.get_proposal(repo, caller.scope, prop.id)
        return _proposal_out(p, items)


@router.get("/recalculations/{proposal_id}", response_model=s.ProposalOut, tags=["results"])
def get_recalculation(proposal_id: str, caller: CallerDep, request: Request) -> Any:
    with scoped_reader(_store(request), caller.scope) as repo:
        p, items = recalculation.get_proposal(repo, caller.scope, proposal_id)
        return _proposal_out(p, items)


@router.post("/recalculations/{proposal_id}/approve", response_model=s.ProposalOut, tags=["results"])
def approve_recalculation(proposal_id: str, caller: CallerDep, request: Request) -> Any:
    """Apply the proposal's ``apply`` items (another park administrator; locked periods never change)."""
    with scoped_transaction(_store(request), caller.scope) as repo:
        recalculation.approve_recalculation(repo, caller.scope, proposal_id, request_id=caller.request_id)
        p, items = recalculation.get_proposal(repo, caller.scope, proposal_id)
        return _proposal_out(p, items)


@router.post("/recalculations/{proposal_id}/reject", response_model=s.ProposalOut, tags=["results"])
def reject_recalculation(proposal_id: str, body: s.ReasonIn, caller: CallerDep, request: Request) -> Any:
    with scoped_transaction(_store(request), caller.scope) as repo:
        recalculation.reject_recalculation(repo, caller.scope, proposal_id, reason=body.reason,
                                           request_id=caller.request_id)
        p, items = recalculation.get_proposal(repo, caller.scope, proposal_id)
        return _proposal_out(p, items)


# =============================================================================================
# factor sets (reference data, read-only) and audit trail
# =============================================================================================


def _registry(request: Request) -> Any:
    cfg = _config(request)
    return cfg.registry if cfg.registry is not None else default_registry()


@router.get("/factor-sets", response_model=list[s.FactorSetOut], tags=["factors"])
def list_factor_sets(caller: CallerDep, request: Request) -> Any:
    reg = _registry(request)
    return [{"set_id": fs.set_id, "version": fs.version, "title": fs.manifest.title, "title_zh": fs.manifest.title_zh,
             "kind": str(fs.manifest.kind), "published": fs.manifest.published, "rows": len(fs.rows)}
            for _, fs in sorted(reg.sets.items())]


@router.get("/factor-sets/{set_id}", response_model=s.FactorSetDetailOut, tags=["factors"])
def get_factor_set(set_id: str, caller: CallerDep, request: Request, limit: Limit = 1000, offset: int = 0) -> Any:
    reg = _registry(request)
    fs = reg.sets.get(set_id)
    if fs is None:
        from parkcarbon.services.tenancy import not_found

        raise not_found("factor set", "因子集", set_id)
    rows = fs.rows[max(offset, 0): max(offset, 0) + limit]
    return {"set_id": fs.set_id, "version": fs.version, "title": fs.manifest.title,
            "rows": [{"key": r.key, "variant": r.variant, "region": r.region, "year": r.year, "method": r.method,
                      "value": r.value, "unit": r.unit, "source_ids": list(r.source_ids), "grade": str(r.grade),
                      "valid_from": r.valid_from, "valid_to": r.valid_to} for r in rows]}


@router.get("/audit", response_model=list[s.AuditOut], tags=["audit"])
def audit_trail(caller: CallerDep, request: Request, limit: Limit = 100, offset: Annotated[int, Query(ge=0)] = 0,
                enterprise_id: Annotated[str | None, Query(max_length=64)] = None) -> Any:
    """Audit records of the caller's tenants, newest first."""
    with scoped_reader(_store(request), caller.scope) as repo:
        return scoped.audit_records(repo, caller.scope, enterprise_id=enterprise_id, limit=limit, offset=offset)


@router.get("/audit/verify", response_model=s.ChainOut, tags=["audit"])
def audit_verify(caller: CallerDep, request: Request) -> Any:
    """Verify the whole hash chain (platform administrators)."""
    caller.scope.require(caller.scope.platform_admin, "verify", "the audit chain")
    with scoped_reader(_store(request), system_scope(caller.username)) as repo:
        rep = verify_chain(load_chain(repo.session))
    return {"records": rep.records, "ok": rep.ok, "problems": [{"seq": q, "problem": t} for q, t in rep.problems]}
