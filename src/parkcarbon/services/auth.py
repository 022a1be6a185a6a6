"""Accounts and authentication (账户与认证, R14; OWASP ASVS V2/V3).

* Passwords: Argon2id via ``argon2-cffi`` (``PasswordHasher`` defaults: 64 MiB, t=3, p=4 —
  above the OWASP minimum); a hash with older parameters is upgraded at the next successful
  login (``check_needs_rehash``). Minimum password length 12.
* Throttling: at most :data:`MAX_FAILURES_PER_HOUR` (100) failed logins per account in a sliding
  hour; then the account is refused (429, ``E-AUTH-THROTTLED``) until the window clears — other
  accounts are unaffected. Every attempt is logged (:class:`LoginAttempt`) and audited.
* Browser sessions: server-side (:class:`UserSession`); the cookie holds a 256-bit random token,
  the DB only its SHA-256; each session has its own CSRF token (double-submit, checked by the
  API for every unsafe method on cookie auth). Default lifetime 12 h.
* API tokens (gateways, integrations): ``pc_<prefix>_<secret>``, only the SHA-256 is stored;
  revocable one by one; accepted only in the ``Authorization: Bearer`` header, never from a cookie.
* ``auth_epoch``: logout-all, password change and role change bump the user's epoch, which kills
  every older session and token at once (SEC-06).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parkcarbon.errors import ConflictError, InputError, Location, NotFoundError, ParkcarbonError
from parkcarbon.services.audit import audit
from parkcarbon.storage.models import utc_now
from parkcarbon.storage.models_auth import ApiToken, LoginAttempt, User, UserSession

__all__ = [
    "MAX_FAILURES_PER_HOUR",
    "Authenticated",
    "AuthenticationError",
    "ThrottledError",
    "authenticate_session",
    "authenticate_token",
    "bump_epoch",
    "change_password",
    "create_api_token",
    "create_user",
    "hash_password",
    "login",
    "logout",
    "revoke_api_token",
    "verify_password",
]

MAX_FAILURES_PER_HOUR = 100
MIN_PASSWORD_LENGTH = 12
SESSION_LIFETIME = timedelta(hours=12)
_HASHER = PasswordHasher()
# a real hash to spend the same time when the user does not exist (no user enumeration by timing)
_DUMMY_HASH = _HASHER.hash("parkcarbon-dummy-password")


class AuthenticationError(ParkcarbonError):
    """Missing, wrong, expired or revoked credentials (401)."""

    code = "E-AUTH"


class ThrottledError(ParkcarbonError):
    """Too many failed logins for this account in the last hour (429)."""

    code = "E-AUTH-THROTTLED"

    def __init__(self, message: str, *, retry_after_s: int, **kwargs: object) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


def _bad_credentials() -> AuthenticationError:
    return AuthenticationError("wrong user name or password", message_zh="用户名或密码错误",
                               hint="check the user name and password", hint_zh="请检查用户名和密码")


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    """Argon2id PHC string of ``password`` (refuses passwords shorter than 12 characters)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters",
                         message_zh=f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符",
                         location=Location(column="password"))
    if len(password) > 1024:
        raise InputError("a password may have at most 1024 characters", message_zh="密码最多 1024 个字符",
                         location=Location(column="password"))
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True if ``password`` matches ``stored_hash`` (constant-time inside argon2)."""
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def create_user(session: Session, *, username: str, password: str, display_name: str | None = None,
                actor: str = "system", request_id: str | None = None) -> User:
    """Register a user with an Argon2id password hash (audited, no role yet)."""
    username = username.strip()
    if not username or len(username) > 100:
        raise InputError("a user name needs 1..100 characters", message_zh="用户名长度须为 1..100 个字符",
                         location=Location(column="username", value=username))
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise ConflictError(f"user {username!r} exists", message_zh=f"用户 {username!r} 已存在",
                            location=Location(column="username", value=username))
    user = User(username=username, display_name=display_name, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    audit(session, actor=actor, action="user.create", object_type="user", object_id=user.id,
          new={"username": username, "display_name": display_name}, request_id=request_id)
    return user


def bump_epoch(session: Session, user: User, *, actor: str, reason: str, request_id: str | None = None) -> None:
    """Invalidate every session and API token of ``user`` (logout-all, password or role change)."""
    old = user.auth_epoch
    user.auth_epoch = old + 1
    session.flush()
    audit(session, actor=actor, action="user.invalidate_credentials", object_type="user", object_id=user.id,
          old={"auth_epoch": old}, new={"auth_epoch": user.auth_epoch}, reason=reason, request_id=request_id)


def _failures_last_hour(session: Session, username: str, now: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.username == username, LoginAttempt.success.is_(False),
        LoginAttempt.ts >= now - timedelta(hours=1))) or 0)


@dataclass(frozen=True)
class LoginResult:
    """A new browser session: ``token`` goes into the cookie, ``csrf_token`` to the page."""

    user: User
    session_id: str
    token: str
    csrf_token: str
    expires_at: datetime


def login(session: Session, username: str, password: str, *, ip: str | None = None,
          request_id: str | None = None, now: datetime | None = None) -> LoginResult:
    """Check the password (with throttling) and open a server-side session.

    Raises :class:`ThrottledError` after :data:`MAX_FAILURES_PER_HOUR` failures in the last hour
    (checked before the password, so a throttled account cannot be probed), or
    :class:`AuthenticationError` (same message for unknown user and wrong password).
    The attempt is recorded in the caller's transaction: commit even on failure.
    """
    now = now or utc_now()
    username = (username or "").strip()[:100]
    if _failures_last_hour(session, username, now) >= MAX_FAILURES_PER_HOUR:
        session.add(LoginAttempt(username=username, ts=now, success=False, ip=ip))
        audit(session, actor=username or "?", action="auth.login", object_type="user", object_id=username,
              outcome="throttled", ip=ip, request_id=request_id, now=now)
        raise ThrottledError(
            f"too many failed logins for {username!r} in the last hour",
            message_zh=f"账户 {username!r} 在过去一小时内登录失败次数过多",
            hint="wait and try again later, or ask an administrator", hint_zh="请稍后再试，或联系管理员",
            retry_after_s=3600)
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user is not None else _DUMMY_HASH, password or "")
    if user is None or not ok or not user.is_active:
        session.add(LoginAttempt(username=username, ts=now, success=False, ip=ip))
        audit(session, actor=username or "?", action="auth.login", object_type="user", object_id=username,
              outcome="failure", ip=ip, request_id=request_id, now=now)
        raise _bad_credentials()
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    session.add(LoginAttempt(username=username, ts=now, success=True, ip=ip))
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    row = UserSession(token_sha256=_sha(token), csrf_token=csrf, user_id=user.id, auth_epoch=user.auth_epoch,
                      created_at=now, expires_at=now + SESSION_LIFETIME, ip=ip)
    session.add(row)
    session.flush()
    audit(session, actor=user.username, action="auth.login", object_type="session", object_id=row.id,
          ip=ip, request_id=request_id, now=now)
    return LoginResult(user=user, session_id=row.id, token=token, csrf_token=csrf, expires_at=row.expires_at)


@dataclass(frozen=True)
class Authenticated:
    """A verified caller: the user, how they authenticated, and (for cookies) the CSRF token."""

    user: User
    kind: str  # "session" | "token"
    credential_id: str
    csrf_token: str | None = None


def authenticate_session(session: Session, token: str, *, now: datetime | None = None) -> Authenticated:
    """The caller of a session cookie, or :class:`AuthenticationError` (expired, revoked, stale epoch)."""
    now = now or utc_now()
    row = session.scalar(select(UserSession).where(UserSession.token_sha256 == _sha(token or "")))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise AuthenticationError("session missing or expired", message_zh="会话不存在或已过期",
                                  hint="log in again", hint_zh="请重新登录")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active or user.auth_epoch != row.auth_epoch:
        raise AuthenticationError("session revoked", message_zh="会话已失效", hint="log in again", hint_zh="请重新登录")
    return Authenticated(user=user, kind="session", credential_id=row.id, csrf_token=row.csrf_token)


def authenticate_token(session: Session, token: str, *, now: datetime | None = None) -> Authenticated:
    """The caller of an API token (``Authorization: Bearer pc_…``), or :class:`AuthenticationError`."""
    now = now or utc_now()
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _sha(token or "")))
    if (row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now)):
        raise AuthenticationError("API token invalid, expired or revoked", message_zh="接口令牌无效、已过期或已撤销",
                                  hint="create a new token", hint_zh="请创建新令牌")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active or user.auth_epoch != row.auth_epoch:
        raise AuthenticationError("API token revoked", message_zh="接口令牌已撤销",
                                  hint="create a new token", hint_zh="请创建新令牌")
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        row.last_used_at = now
    return Authenticated(user=user, kind="token", credential_id=row.id)


def logout(session: Session, auth: Authenticated, *, everywhere: bool = False, request_id: str | None = None) -> None:
    """End the current session (or, with ``everywhere``, every session and token of the user)."""
    if auth.kind == "session":
        row = session.get(UserSession, auth.credential_id)
        if row is not None and row.revoked_at is None:
            row.revoked_at = utc_now()
    if everywhere:
        bump_epoch(session, auth.user, actor=auth.user.username, reason="logout everywhere", request_id=request_id)
    audit(session, actor=auth.user.username, action="auth.logout", object_type="session",
          object_id=auth.credential_id, request_id=request_id, new={"everywhere": everywhere})


def change_password(session: Session, user: User, old_password: str, new_password: str, *,
                    request_id: str | None = None) -> None:
    """Change the password (old one required); every session and token of the user dies."""
    if not verify_password(user.password_hash, old_password or ""):
        audit(session, actor=user.username, action="user.change_password", object_type="user", object_id=user.id,
              outcome="failure", request_id=request_id)
        raise _bad_credentials()
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utc_now()
    bump_epoch(session, user, actor=user.username, reason="password change", request_id=request_id)


@dataclass(frozen=True)
class NewToken:
    """A created API token: ``secret`` is shown once and never stored."""

    token: ApiToken
    secret: str


def create_api_token(session: Session, user: User, *, name: str, expires_in_days: int | None = None,
                     request_id: str | None = None) -> NewToken:
    """Create a revocable API token for ``user`` (audited; the secret is returned once)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InputError("a token name needs 1..100 characters", message_zh="令牌名称长度须为 1..100 个字符",
                         location=Location(column="name", value=name))
    prefix = secrets.token_hex(4)
    secret = f"pc_{prefix}_{secrets.token_urlsafe(32)}"
    expires = None if expires_in_days is None else utc_now() + timedelta(days=expires_in_days)
    row = ApiToken(user_id=user.id, name=name, token_prefix=prefix, token_sha256=_sha(secret),
                   auth_epoch=user.auth_epoch, expires_at=expires)
    session.add(row)
    session.flush()
    audit(session, actor=user.username, action="token.create", object_type="api_token", object_id=row.id,
          new={"name": name, "prefix": prefix, "expires_at": expires}, request_id=request_id)
    return NewToken(token=row, secret=secret)


def revoke_api_token(session: Session, user: User, token_id: str, *, request_id: str | None = None) -> ApiToken:
    """Revoke one of ``user``'s tokens (another user's token id → NotFoundError)."""
    row = session.get(ApiToken, token_id) if isinstance(token_id, str) else None
    if row is None or row.user_id != user.id:
        raise NotFoundError(f"API token {token_id} not found", message_zh=f"未找到接口令牌 {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utc_now()
        audit(session, actor=user.username, action="token.revoke", object_type="api_token", object_id=row.id,
              old={"revoked": False}, new={"revoked": True}, request_id=request_id)
    return row


def now_utc() -> datetime:
    return datetime.now(UTC)
