"""Tenancy (多租户隔离): who may see and change which objects, decided once, in the data layer (R13).

A request is served under one :class:`Scope`, resolved from the caller's memberships and
verifier engagements (:func:`resolve_scope`). Services open their transactions with
:func:`scoped_transaction` / :func:`scoped_reader`, which

* on PostgreSQL set ``app.tenant_ids`` (the visible tenants), ``app.user_id`` and
  ``app.all_tenants`` for that transaction only (``set_config(..., true)``), so the row-level
  security policies of migration ``0002_auth`` filter every query even if a service forgot a
  ``WHERE`` (backstop; the app connects as a non-owner role without BYPASSRLS:
  :func:`provision_app_role`);
* hand the service the :class:`Scope` whose ``enterprise(...)`` loads an object *and* checks it:
  an id that does not exist and an id of another tenant give the same
  :class:`~parkcarbon.errors.NotFoundError` (404); a visible object with a forbidden action
  gives :class:`~parkcarbon.errors.PermissionDeniedError` (403).

Roles (角色): ``platform_admin`` (all parks), ``park_admin`` (园区管委会: every enterprise of the
park; registers enterprises, manages users, locks periods, approves corrections and
recalculations), ``enterprise_manager`` (企业能源管理员: own enterprise, read + write + submit),
``enterprise_viewer`` (own enterprise, read only), ``verifier`` (核查机构: assigned enterprise ×
reporting year between two dates, read only except its findings and the verify/return decision;
revocation takes effect at the next request), ``provincial_operator`` (省级碳脑: park-level
figures of every park, no enterprise detail).
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from parkcarbon.errors import InputError, NotFoundError, PermissionDeniedError
from parkcarbon.storage import Repository, Store
from parkcarbon.storage.models import Enterprise, Park
from parkcarbon.storage.models_auth import Membership, User, VerifierAssignment

__all__ = [
    "ALL",
    "Engagement",
    "Scope",
    "install_tenant_guard",
    "provision_app_role",
    "resolve_scope",
    "scoped_reader",
    "scoped_transaction",
    "system_scope",
]

ALL = "*"

#: the tenant context of the current transaction (PostgreSQL RLS settings)
_CONTEXT: contextvars.ContextVar[tuple[str, str, str] | None] = contextvars.ContextVar("parkcarbon_tenant", default=None)


@dataclass(frozen=True)
class Engagement:
    """A verifier's engagement: enterprise × reporting year, valid ``starts_on`` … ``ends_on`` inclusive."""

    assignment_id: str
    enterprise_id: str
    year: int
    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class Scope:
    """What one caller may see and do; built by :func:`resolve_scope` (never from client input).

    ``readable_tenants`` is the set of ``tenant_id`` values whose rows the caller may read
    (:data:`ALL` for platform admins and system jobs).
    """

    user_id: str
    username: str
    platform_admin: bool = False
    park_admin_parks: frozenset[str] = frozenset()
    managed_enterprises: frozenset[str] = frozenset()
    viewed_enterprises: frozenset[str] = frozenset()
    engagements: tuple[Engagement, ...] = ()
    provincial: bool = False
    park_enterprises: dict[str, str] = field(default_factory=dict)  # enterprise id → park id (admin parks)
    tenants: dict[str, str] = field(default_factory=dict)  # enterprise id → tenant id (visible ones)
    system: bool = False

    # -- roles -------------------------------------------------------------------------------

    @property
    def roles(self) -> tuple[str, ...]:
        out = []
        if self.platform_admin:
            out.append("platform_admin")
        if self.park_admin_parks:
            out.append("park_admin")
        if self.managed_enterprises:
            out.append("enterprise_manager")
        if self.viewed_enterprises - self.managed_enterprises:
            out.append("enterprise_viewer")
        if self.engagements:
            out.append("verifier")
        if self.provincial:
            out.append("provincial_operator")
        return tuple(out)

    @property
    def all_tenants(self) -> bool:
        return self.platform_admin or self.system

    @property
    def readable_tenants(self) -> frozenset[str] | str:
        if self.all_tenants:
            return ALL
        return frozenset(self.tenants.values())

    def verifier_years(self, enterprise_id: str) -> frozenset[int]:
        return frozenset(e.year for e in self.engagements if e.enterprise_id == enterprise_id)

    # -- decisions ---------------------------------------------------------------------------

    def can_read_enterprise(self, enterprise_id: str, park_id: str | None) -> bool:
        return (self.all_tenants or enterprise_id in self.viewed_enterprises
                or (park_id is not None and park_id in self.park_admin_parks)
                or bool(self.verifier_years(enterprise_id)))

    def can_read_year(self, enterprise_id: str, park_id: str | None, year: int | None) -> bool:
        """Read data of ``year`` (a verifier only its engagement years; ``None`` = not year-bound)."""
        if self.all_tenants or enterprise_id in self.viewed_enterprises or (
                park_id is not None and park_id in self.park_admin_parks):
            return True
        years = self.verifier_years(enterprise_id)
        return bool(years) and (year is None or year in years)

    def can_write_enterprise(self, enterprise_id: str, park_id: str | None) -> bool:
        return (self.all_tenants or enterprise_id in self.managed_enterprises
                or (park_id is not None and park_id in self.park_admin_parks))

    def can_admin_park(self, park_id: str | None) -> bool:
        return self.all_tenants or (park_id is not None and park_id in self.park_admin_parks)

    def can_read_park(self, park_id: str) -> bool:
        return self.all_tenants or self.provincial or park_id in self.park_admin_parks

    def can_verify(self, enterprise_id: str, year: int) -> bool:
        return year in self.verifier_years(enterprise_id)

    # -- loading with checks (404 before 403) -----------------------------------------------

    def enterprise(self, repo: Repository, enterprise_id: str, *, action: str = "read",
                   year: int | None = None) -> Enterprise:
        """Load an enterprise the caller may see, or raise NotFoundError (same for foreign and missing).

        ``action``: ``read`` | ``write`` (manager, park admin) | ``admin`` (park admin) |
        ``verify`` (assigned verifier for ``year``). Visible but not allowed → PermissionDeniedError.
        """
        ent = repo.session.get(Enterprise, enterprise_id) if isinstance(enterprise_id, str) else None
        if ent is None or not self.can_read_enterprise(ent.id, ent.park_id):
            raise not_found("enterprise", "企业", enterprise_id)
        if year is not None and not self.can_read_year(ent.id, ent.park_id, year):
            raise not_found("enterprise", "企业", enterprise_id)
        allowed = {
            "read": True,
            "write": self.can_write_enterprise(ent.id, ent.park_id),
            "admin": self.can_admin_park(ent.park_id),
            "verify": year is not None and self.can_verify(ent.id, year),
        }.get(action, False)
        if not allowed:
            raise forbidden(action, f"enterprise {enterprise_id}")
        return ent

    def park(self, repo: Repository, park_id: str, *, action: str = "read") -> Park:
        park = repo.session.get(Park, park_id) if isinstance(park_id, str) else None
        if park is None or not (self.can_read_park(park.id)):
            raise not_found("park", "园区", park_id)
        if action == "admin" and not self.can_admin_park(park.id):
            raise forbidden(action, f"park {park_id}")
        return park

    def require(self, condition: bool, action: str, what: str) -> None:
        if not condition:
            raise forbidden(action, what)


def not_found(kind: str, kind_zh: str, key: object) -> NotFoundError:
    """The one 404 for 'does not exist' and 'not yours' (identical body: SEC-02)."""
    return NotFoundError(f"{kind} {key} not found", message_zh=f"未找到{kind_zh} {key}",
                         hint="check the id", hint_zh="请检查编号")


def forbidden(action: str, what: str) -> PermissionDeniedError:
    return PermissionDeniedError(
        f"your role does not allow '{action}' on {what}",
        message_zh=f"您的角色无权对 {what} 执行 '{action}'",
        hint="ask the park administrator for the right role", hint_zh="请联系园区管理员分配相应角色")


def system_scope(actor: str = "system") -> Scope:
    """The scope of the server's own jobs (migrations, authentication, scheduled recalculations)."""
    return Scope(user_id=actor, username=actor, system=True)


def resolve_scope(session: Session, user: User, *, today: date | None = None) -> Scope:
    """Build the caller's :class:`Scope` from active memberships and current engagements.

    Runs in the system context (it reads memberships and enterprises across tenants).
    A revoked membership or an engagement outside its dates gives nothing (SEC-05).
    """
    today = today or datetime.now(UTC).date()
    platform = False
    provincial = False
    parks: set[str] = set()
    managed: set[str] = set()
    viewed: set[str] = set()
    for m in session.scalars(select(Membership).where(Membership.user_id == user.id, Membership.revoked_at.is_(None))):
        if m.role == "platform_admin":
            platform = True
        elif m.role == "provincial_operator":
            provincial = True
        elif m.role == "park_admin" and m.park_id:
            parks.add(m.park_id)
        elif m.role == "enterprise_manager" and m.enterprise_id:
            managed.add(m.enterprise_id)
            viewed.add(m.enterprise_id)
        elif m.role == "enterprise_viewer" and m.enterprise_id:
            viewed.add(m.enterprise_id)
    engagements = tuple(
        Engagement(a.id, a.enterprise_id, a.year, a.starts_on, a.ends_on)
        for a in session.scalars(select(VerifierAssignment).where(
            VerifierAssignment.user_id == user.id, VerifierAssignment.revoked_at.is_(None),
            VerifierAssignment.starts_on <= today, VerifierAssignment.ends_on >= today)))
    tenants: dict[str, str] = {}
    park_ents: dict[str, str] = {}
    ids = viewed | {e.enterprise_id for e in engagements}
    if ids:
        for eid, tid in session.execute(select(Enterprise.id, Enterprise.tenant_id).where(Enterprise.id.in_(sorted(ids)))):
            tenants[eid] = tid
    if parks:
        for eid, tid, pid in session.execute(select(Enterprise.id, Enterprise.tenant_id, Enterprise.park_id).where(
                Enterprise.park_id.in_(sorted(parks)))):
            tenants[eid] = tid
            park_ents[eid] = str(pid)
    return Scope(user_id=user.id, username=user.username, platform_admin=platform, park_admin_parks=frozenset(parks),
                 managed_enterprises=frozenset(managed), viewed_enterprises=frozenset(viewed),
                 engagements=engagements, provincial=provincial, park_enterprises=park_ents, tenants=tenants)


# ---------------------------------------------------------------------------------------------
# transactions under a scope (PostgreSQL RLS settings)
# ---------------------------------------------------------------------------------------------


def _settings_of(scope: Scope) -> tuple[str, str, str]:
    tenants = scope.readable_tenants
    tenant_text = "" if tenants == ALL else ",".join(sorted(tenants))
    return ("on" if scope.all_tenants else "off", tenant_text, scope.user_id)


def install_tenant_guard(store: Store) -> None:
    """On PostgreSQL, set the RLS variables at the start of every transaction (idempotent)."""
    if store.backend != "postgresql" or getattr(store, "_parkcarbon_tenant_guard", False):
        return

    @event.listens_for(store.engine, "begin")
    def _on_begin(conn: Any) -> None:
        ctx = _CONTEXT.get()
        all_tenants, tenant_ids, user_id = ctx if ctx is not None else ("off", "", "")
        conn.exec_driver_sql(
            "SELECT set_config('app.all_tenants', %(a)s, true), set_config('app.tenant_ids', %(t)s, true), "
            "set_config('app.user_id', %(u)s, true)",
            {"a": all_tenants, "t": tenant_ids, "u": user_id})

    store._parkcarbon_tenant_guard = True  # type: ignore[attr-defined]


@contextmanager
def tenant_context(scope: Scope) -> Iterator[None]:
    """Run the enclosed transactions under ``scope``'s RLS settings."""
    token = _CONTEXT.set(_settings_of(scope))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


@contextmanager
def park_totals_context(scope: Scope, park_id: str) -> Iterator[None]:
    """Run the computation of a park's totals (inventory, series) for ``scope``.

    A caller who may read the park's figures but not its enterprises' rows — the provincial
    operator — computes them under the system scope, because on PostgreSQL the RLS backstop
    would otherwise hide every enterprise row and the park would add up to nothing (a silent
    zero). Only park-level numbers may leave such a computation; the caller's read right on the
    park must already have been checked (:meth:`Scope.park`).
    """
    if scope.provincial and not scope.can_admin_park(park_id) and not scope.all_tenants:
        if not scope.can_read_park(park_id):
            raise not_found("park", "园区", park_id)
        with tenant_context(system_scope(scope.username)):
            yield
    else:
        with tenant_context(scope):
            yield


@contextmanager
def scoped_transaction(store: Store, scope: Scope) -> Iterator[Repository]:
    """One write transaction (all-or-nothing) under ``scope``."""
    install_tenant_guard(store)
    with tenant_context(scope), store.transaction() as repo:
        yield repo


@contextmanager
def scoped_reader(store: Store, scope: Scope) -> Iterator[Repository]:
    """A read transaction under ``scope``."""
    install_tenant_guard(store)
    with tenant_context(scope), store.reader() as repo:
        yield repo


_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def provision_app_role(store: Store, role: str, password: str | None = None) -> None:
    """Create (or refresh) the non-owner PostgreSQL role the service connects as (R13, SEC-04).

    The role can log in, is not a superuser, cannot bypass RLS and owns nothing; it gets
    SELECT/INSERT/UPDATE/DELETE on the tables and USAGE on the sequences of the current schema.
    Run it with the owner's store (the migrating account).
    """
    if store.backend != "postgresql":
        raise InputError("an application role exists only on PostgreSQL", message_zh="应用角色仅适用于 PostgreSQL")
    if not _ROLE_NAME.match(role):
        raise InputError(f"invalid role name {role!r}", message_zh=f"角色名无效：{role!r}",
                         hint="use lower-case letters, digits and _", hint_zh="请使用小写字母、数字和下划线")
    with store.engine.begin() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
        verb = "ALTER" if exists else "CREATE"
        pw = "" if password is None else " PASSWORD " + conn.execute(text("SELECT quote_literal(:p)"), {"p": password}).scalar_one()
        conn.exec_driver_sql(f'{verb} ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE{pw}')
        conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA public TO "{role}"')
        conn.exec_driver_sql(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"')
        conn.exec_driver_sql(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
        conn.exec_driver_sql(f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE '
                             f'ON TABLES TO "{role}"')
