"""The FastAPI application: versioned ``/api/v1``, OpenAPI document, problem+json errors.

:func:`create_app` builds the app on an open :class:`~parkcarbon.storage.Store` (SQLite embedded
by default, PostgreSQL by URL). Errors are ``application/problem+json`` (RFC 9457) with the
stable ``code`` of :mod:`parkcarbon.errors` in ``type`` (``urn:parkcarbon:error:<code>``) and in
``code``, English ``detail`` and Chinese ``message_zh``, hint and location:

==========================================  ======
error                                       status
==========================================  ======
malformed JSON, wrong types, unknown fields  422 ``E-VALIDATION``
bad input (``E-INPUT`` family), factors      422
missing Idempotency-Key                      400
not logged in / bad token                    401 ``E-AUTH``
role does not allow it, CSRF, four-eyes      403 ``E-FORBIDDEN`` / ``E-CSRF`` / ``E-FOUR-EYES``
unknown *or foreign* id                      404 ``E-NOTFOUND`` (identical bodies)
locked period, state conflict, duplicate     409 ``E-LOCKED`` / ``E-STATE`` / ``E-CONFLICT``
body larger than the limit                   413 ``E-BODY-SIZE`` (checked before reading it all)
too many failed logins                       429 ``E-AUTH-THROTTLED`` + ``Retry-After``
store unavailable / corrupt                  503
==========================================  ======

Nothing else leaks: an unexpected exception is a 500 with code ``E-INTERNAL`` and the request id
only (logged server-side). Each response carries ``X-Request-ID``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parkcarbon.errors import (
    CalculationError,
    ConflictError,
    FactorError,
    InputError,
    LockedPeriodError,
    NotFoundError,
    ParkcarbonError,
    PermissionDeniedError,
    PlanningError,
    StoreError,
    UploadRejectedError,
)
from parkcarbon.services.accounting import FactorConfig
from parkcarbon.services.auth import AuthenticationError, ThrottledError
from parkcarbon.services.tenancy import install_tenant_guard
from parkcarbon.settings import Settings, get_settings
from parkcarbon.storage import Store

__all__ = ["API_PREFIX", "create_app", "problem_response", "status_for"]

API_PREFIX = "/api/v1"
log = logging.getLogger("parkcarbon.api")


def status_for(err: ParkcarbonError) -> int:
    """HTTP status of a platform error (see the module docstring)."""
    if isinstance(err, ThrottledError):
        return 429
    if isinstance(err, AuthenticationError):
        return 401
    if isinstance(err, NotFoundError):
        return 404
    if isinstance(err, PermissionDeniedError):
        return 403
    if isinstance(err, LockedPeriodError | ConflictError) or err.code in ("E-STATE", "E-LOCKED"):
        return 409
    if err.code == "E-IDEMPOTENCY-KEY":
        return 400
    if isinstance(err, UploadRejectedError) and err.code in ("E-UPLOAD-SIZE", "E-BODY-SIZE"):
        return 413
    if isinstance(err, InputError | FactorError | CalculationError | PlanningError):
        return 422
    if isinstance(err, StoreError):
        return 503
    return 500


def _body(status: int, code: str, title: str, detail: str, message_zh: str, *, hint: str | None = None,
          hint_zh: str | None = None, location: dict[str, Any] | None = None,
          errors: list[dict[str, Any]] | None = None, request_id: str | None = None) -> dict[str, Any]:
    return {"type": f"urn:parkcarbon:error:{code}", "title": title, "status": status, "detail": detail,
            "code": code, "message_zh": message_zh, "hint": hint, "hint_zh": hint_zh, "location": location,
            "errors": errors, "request_id": request_id}


def problem_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def _rid(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _from_error(err: ParkcarbonError, request: Request) -> JSONResponse:
    status = status_for(err)
    d = err.to_dict()
    loc = {k: d[k] for k in ("file", "sheet", "row", "column", "value", "record") if d.get(k) is not None} or None
    errors = [e.to_dict() for e in getattr(err, "errors", [])] or None
    body = _body(status, err.code, type(err).__name__, err.message, err.message_zh, hint=err.hint,
                 hint_zh=err.hint_zh, location=loc, errors=errors, request_id=_rid(request))
    headers = {"Retry-After": str(err.retry_after_s)} if isinstance(err, ThrottledError) else None
    if status >= 500:
        log.error("request %s failed: %s", _rid(request), err)
    return problem_response(status, body, headers)


def _validation(exc: RequestValidationError, request: Request) -> JSONResponse:
    errors = []
    for e in exc.errors()[:50]:
        errors.append({"loc": [str(x) for x in e.get("loc", ())], "type": str(e.get("type", "")),
                       "message": str(e.get("msg", ""))[:300]})
    first = errors[0] if errors else {"loc": [], "message": "invalid request"}
    where = ".".join(first["loc"])
    body = _body(422, "E-VALIDATION", "RequestValidationError", f"invalid request: {where}: {first['message']}",
                 f"请求无效：{where}：{first['message']}", hint="fix the listed fields; unknown fields are not allowed",
                 hint_zh="请修正所列字段；不允许未声明的字段", location={"column": where} if where else None,
                 errors=errors, request_id=_rid(request))
    return problem_response(422, body)


def _db_error(exc: DBAPIError, request: Request) -> JSONResponse:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    for code in ("E-LOCKED", "E-AUDIT-APPEND-ONLY", "E-EVIDENCE-IMMUTABLE"):
        if code in text:
            body = _body(409, code, "DatabaseGuard", "the database refused a change to frozen data",
                         "数据库拒绝修改已冻结的数据", hint="request a correction", hint_zh="请提交更正申请",
                         request_id=_rid(request))
            return problem_response(409, body)
    if type(exc).__name__ == "IntegrityError":
        body = _body(409, "E-CONFLICT", "IntegrityError", "the change conflicts with stored data",
                     "该修改与已存数据冲突", request_id=_rid(request))
        return problem_response(409, body)
    log.exception("database error in request %s", _rid(request), exc_info=exc)
    body = _body(503, "E-STORE", "StoreError", "the data store could not complete the request",
                 "数据存储无法完成请求", request_id=_rid(request))
    return problem_response(503, body)


def _log_denial(request: Request, exc: ParkcarbonError) -> None:
    """SEC-10: a permission denial is a security event — structured log line and audit record."""
    from parkcarbon.services.audit import audit
    from parkcarbon.services.tenancy import scoped_transaction, system_scope

    caller = getattr(request.state, "caller", None)
    actor = caller.username if caller is not None else "?"
    ip = request.client.host if request.client else None
    log.warning("access denied: %s", json.dumps({"actor": actor, "ip": ip, "method": request.method,
                                                 "path": request.url.path, "code": exc.code,
                                                 "request_id": _rid(request)}))
    try:
        with scoped_transaction(request.app.state.store, system_scope("security-log")) as repo:
            audit(repo.session, actor=actor, action="access.denied", object_type="http",
                  object_id=f"{request.method} {request.url.path}"[:100], new={"code": exc.code},
                  reason=exc.message[:500], request_id=_rid(request), ip=ip, outcome="denied")
    except Exception:  # the denial itself must still be answered
        log.exception("could not audit a denial")


class BodyLimitMiddleware:
    """Refuse request bodies above ``max_bytes`` with 413, before reading them whole (SEC-09)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = True
            if too_big:
                await self._refuse(scope, receive, send)
                return
        seen = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal seen, too_large
            if too_large:
                return {"type": "http.request", "body": b"", "more_body": False}
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    # stop reading: hand the app an empty end of body; its answer is replaced by 413
                    too_large = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return msg

        replaced = False

        async def guarded_send(msg: Message) -> None:
            nonlocal replaced
            if too_large:
                if not replaced:
                    replaced = True
                    await self._refuse(scope, receive, send)
                return
            await send(msg)

        await self.app(scope, limited_receive, guarded_send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = _body(413, "E-BODY-SIZE", "PayloadTooLarge", f"request body larger than {self.max_bytes} bytes",
                     f"请求体超过 {self.max_bytes} 字节", hint="send a smaller body or split the upload",
                     hint_zh="请减小请求体或拆分上传")
        resp = problem_response(413, body)
        await resp(scope, receive, send)


def create_app(store: Store, *, settings: Settings | None = None, factor_config: FactorConfig | None = None,
               cookie_secure: bool = True) -> FastAPI:
    """The platform's FastAPI app on ``store``.

    ``factor_config``: fallback policy, grid calibre and factor registry for results and
    recalculations (default: packaged registry, ``region_then_year``). ``cookie_secure=False``
    only for plain-HTTP development on loopback.
    """
    from parkcarbon.api import routes, routes_planning, routes_targets

    settings = settings or get_settings()
    install_tenant_guard(store)
    app = FastAPI(
        title="parkcarbon API", version="1.0.0",
        description="园区智慧能碳管理平台 REST API. Errors are application/problem+json with stable codes.",
        openapi_url=f"{API_PREFIX}/openapi.json", docs_url=f"{API_PREFIX}/docs", redoc_url=None,
    )
    app.state.store = store
    app.state.settings = settings
    app.state.factor_config = factor_config or FactorConfig()
    app.state.cookie_secure = cookie_secure

    @app.middleware("http")
    async def _request_id(request: Request, call_next: Any) -> Any:
        from parkcarbon.api.security import request_id

        rid = request_id(request)
        response = await call_next(request)
        response.headers["X-Request-ID"] = rid
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.upload_max_bytes + 256 * 1024)

    @app.exception_handler(ParkcarbonError)
    async def _on_error(request: Request, exc: ParkcarbonError) -> JSONResponse:
        if status_for(exc) == 403:
            await run_in_threadpool(_log_denial, request, exc)
        return _from_error(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation(exc, request)

    @app.exception_handler(StarletteHTTPException)
    async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "E-NOTFOUND", 405: "E-METHOD", 401: "E-AUTH", 403: "E-FORBIDDEN"}.get(exc.status_code, "E-HTTP")
        body = _body(exc.status_code, code, "HTTPException", str(exc.detail), str(exc.detail), request_id=_rid(request))
        return problem_response(exc.status_code, body, dict(exc.headers) if exc.headers else None)

    @app.exception_handler(DBAPIError)
    async def _on_db(request: Request, exc: DBAPIError) -> JSONResponse:
        return _db_error(exc, request)

    @app.exception_handler(Exception)
    async def _on_any(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error in request %s", _rid(request), exc_info=exc)
        body = _body(500, "E-INTERNAL", "InternalError", "internal error", "服务器内部错误", request_id=_rid(request))
        return problem_response(500, body)

    app.include_router(routes.router, prefix=API_PREFIX)
    app.include_router(routes_planning.router, prefix=API_PREFIX)
    app.include_router(routes_targets.router, prefix=API_PREFIX)
    from parkcarbon.web import mount_web  # dashboard pages (/web) share this app's sessions, CSRF, roles

    mount_web(app)
    return app


def openapi_json(app: FastAPI) -> str:
    """The OpenAPI document as JSON text (for docs and tests)."""
    return json.dumps(app.openapi(), ensure_ascii=False, indent=1)
