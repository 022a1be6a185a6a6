"""Authentication, CSRF and the caller's scope for every route (API and server-rendered web pages).

How a request is authenticated (R14, SEC-06/SEC-07):

* ``Authorization: Bearer pc_…`` — an API token (gateways, integrations, scripts). Never read
  from a cookie; no CSRF check (a browser never sends it by itself).
* Cookie ``pc_session`` — a server-side browser session opened by ``POST /api/v1/auth/login``
  (cookie ``HttpOnly; Secure; SameSite=Strict; Path=/``). For every unsafe method (POST, PUT,
  PATCH, DELETE — uploads included) the request must carry the session's CSRF token in the
  ``X-CSRF-Token`` header (or, for HTML forms, a ``csrf_token`` form field checked by the web
  routes with :func:`check_csrf_value`), and must not be cross-site: ``Sec-Fetch-Site:
  cross-site`` or an ``Origin`` other than the server's own is refused with 403 ``E-CSRF``.
* Anything else → 401 ``E-AUTH`` (problem+json).

Reusing it in the dashboard (issue 5)::

    from parkcarbon.api.security import Caller, current_caller, optional_caller

    @router.get("/", response_class=HTMLResponse)
    def home(caller: Caller | None = Depends(optional_caller)): ...      # None → show login page

    @router.post("/periods/{eid}/{month}/submit")
    def submit(caller: Caller = Depends(current_caller)): ...           # CSRF checked for cookie auth
    # an HTML form sends the token as a header via fetch(), or as field "csrf_token": then call
    # check_csrf_value(caller, form["csrf_token"]) and mark the route with
    # Depends(current_caller_form) which skips only the header check.

``Caller.scope`` is the :class:`parkcarbon.services.tenancy.Scope` the services need;
``Caller.csrf_token`` is what a page embeds (``<meta name="csrf-token">``).
Authentication and scope resolution run in the system context (they read accounts and
memberships across tenants); everything after runs under the caller's scope.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass

from fastapi import Depends, Request

from parkcarbon.errors import PermissionDeniedError
from parkcarbon.services.auth import (
    Authenticated,
    AuthenticationError,
    authenticate_session,
    authenticate_token,
)
from parkcarbon.services.tenancy import Scope, resolve_scope, scoped_transaction, system_scope
from parkcarbon.storage import Store

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Caller",
    "check_csrf_value",
    "current_caller",
    "current_caller_form",
    "optional_caller",
    "request_id",
]

SESSION_COOKIE = "pc_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: scope (what it may do), how it authenticated, request metadata."""

    scope: Scope
    auth: Authenticated
    request_id: str
    ip: str | None

    @property
    def csrf_token(self) -> str | None:
        return self.auth.csrf_token

    @property
    def username(self) -> str:
        return self.scope.username


def request_id(request: Request) -> str:
    """The request id: a valid client ``X-Request-ID`` or a new UUID (stored on ``request.state``)."""
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        given = request.headers.get("x-request-id", "")
        rid = given if _REQUEST_ID.match(given) else str(uuid.uuid4())
        request.state.request_id = rid
    return str(rid)


def _store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


def _csrf_error(message: str, message_zh: str) -> PermissionDeniedError:
    return PermissionDeniedError(message, message_zh=message_zh, code="E-CSRF",
                                 hint="reload the page and retry from the platform's own pages",
                                 hint_zh="请刷新页面，并从平台自身页面重新操作")


def _same_origin(request: Request) -> None:
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise _csrf_error("cross-site request refused", "拒绝跨站请求")
    origin = request.headers.get("origin")
    if origin is not None:
        own = f"{request.url.scheme}://{request.url.netloc}"
        if origin != own:
            raise _csrf_error(f"request from origin {origin} refused", f"拒绝来自 {origin} 的请求")


def check_csrf_value(caller: Caller, value: str | None) -> None:
    """Compare a submitted CSRF token with the session's (constant time); 403 ``E-CSRF`` if wrong."""
    expected = caller.auth.csrf_token
    if caller.auth.kind != "session":
        return
    if not value or expected is None or not secrets.compare_digest(value, expected):
        raise _csrf_error("missing or wrong CSRF token", "CSRF 令牌缺失或错误")


def _authenticate(request: Request, *, check_header_csrf: bool) -> Caller | None:
    rid = request_id(request)
    ip = request.client.host if request.client else None
    header = request.headers.get("authorization")
    cookie = request.cookies.get(SESSION_COOKIE)
    if header is None and cookie is None:
        return None
    store = _store(request)
    with scoped_transaction(store, system_scope("auth")) as repo:
        if header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthenticationError("Authorization header must be 'Bearer <token>'",
                                          message_zh="Authorization 请求头格式应为 'Bearer <令牌>'")
            auth = authenticate_token(repo.session, token.strip())
        else:
            auth = authenticate_session(repo.session, cookie or "")
        scope = resolve_scope(repo.session, auth.user)
    caller = Caller(scope=scope, auth=auth, request_id=rid, ip=ip)
    request.state.caller = caller  # for the security log of denials (api.app)
    if auth.kind == "session" and request.method in UNSAFE_METHODS:
        _same_origin(request)
        if check_header_csrf:
            check_csrf_value(caller, request.headers.get(CSRF_HEADER))
    return caller


def optional_caller(request: Request) -> Caller | None:
    """The caller, or None when the request carries no credentials (bad credentials still raise 401)."""
    return _authenticate(request, check_header_csrf=True)


def current_caller(request: Request) -> Caller:
    """The authenticated caller (401 without credentials; CSRF checked for cookie sessions)."""
    caller = _authenticate(request, check_header_csrf=True)
    if caller is None:
        raise AuthenticationError("authentication required", message_zh="需要登录",
                                  hint="log in, or send 'Authorization: Bearer <API token>'",
                                  hint_zh="请登录，或发送 'Authorization: Bearer <接口令牌>'")
    return caller


def current_caller_form(request: Request) -> Caller:
    """As :func:`current_caller` but the CSRF token is checked by the route from a form field."""
    caller = _authenticate(request, check_header_csrf=False)
    if caller is None:
        raise AuthenticationError("authentication required", message_zh="需要登录")
    return caller


CallerDep = Depends(current_caller)
