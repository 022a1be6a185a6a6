"""Helpers of the API tests: a seeded multi-tenant world, built once per session and copied per test.

Parks A and B; enterprises A1, A2 (park A) and B1 (park B), each with a meter, ledger rows
2024-01..03 (2024-01 submitted, 2024-02/03 draft with pinned results), an evidence file in
2024-02, a requested correction of 2024-01, a viewer membership and a verifier engagement.
Users (password ``correct horse battery``) with an API token each:

=================  ==========================================
user               role
=================  ==========================================
root               platform_admin
admin_a, admin_a2  park_admin of A (admin_a2 proposes A's recalculation)
admin_b            park_admin of B
manager_a1/a2/b1   enterprise_manager of A1 / A2 / B1
viewer_a1          enterprise_viewer of A1
verifier_a1        verifier of A1 for 2024 (and verifier_a2 / verifier_b1 for A2 / B1)
province           provincial_operator
=================  ==========================================
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

PASSWORD = "correct horse battery"
USERS = ("root", "admin_a", "admin_a2", "admin_b", "manager_a1", "manager_a2", "manager_b1", "viewer_a1",
         "verifier_a1", "verifier_a2", "verifier_b1", "province", "viewer_x_a1", "viewer_x_a2", "viewer_x_b1")


@dataclass
class World:
    """Ids of the seeded objects and the users' API token secrets."""

    data_dir: Path
    parks: dict[str, str] = field(default_factory=dict)
    enterprises: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    token_ids: dict[str, str] = field(default_factory=dict)
    meters: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)
    corrections: dict[str, str] = field(default_factory=dict)
    memberships: dict[str, str] = field(default_factory=dict)  # enterprise key → viewer_x membership
    assignments: dict[str, str] = field(default_factory=dict)
    proposals: dict[str, str] = field(default_factory=dict)
    plans: dict[str, str] = field(default_factory=dict)  # enterprise key → a stored PV plan
    park_plans: dict[str, str] = field(default_factory=dict)  # park key → a stored park-level PV plan
    targets: dict[str, str] = field(default_factory=dict)  # park key → a stored park target
    webhooks: dict[str, str] = field(default_factory=dict)  # park key → a webhook subscription

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'parkcarbon.sqlite'}"


def _records(eid: str, months: list[str]) -> list[Any]:
    from parkcarbon.core.activity import ActivityRecord, Flow
    from parkcarbon.periods import parse_month

    out = []
    for i, m in enumerate(months):
        out.append(ActivityRecord(record_id=f"{eid}-{m}-e", enterprise_id=eid, month=parse_month(m),
                                  carrier="electricity", flow=Flow.PURCHASED, quantity=100_000.0 + 1000 * i,
                                  source="seed"))
        out.append(ActivityRecord(record_id=f"{eid}-{m}-g", enterprise_id=eid, month=parse_month(m),
                                  carrier="natural_gas", flow=Flow.CONSUMED, quantity=10_000.0 + 100 * i,
                                  source="seed"))
    return out


def build_world(data_dir: Path) -> World:
    """Seed the world into ``data_dir`` (store file + evidence directory)."""
    from argon2 import PasswordHasher

    from parkcarbon.services import auth as auth_module
    from parkcarbon.settings import get_settings

    w = World(data_dir=data_dir)
    settings = get_settings(data_dir=data_dir)
    # seed accounts with cheap Argon2id parameters (fast tests); a login upgrades them to the
    # production parameters through check_needs_rehash (SEC-06 tests that path)
    production_hasher = auth_module._HASHER
    auth_module._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        _seed(w, settings)
    finally:
        auth_module._HASHER = production_hasher
    return w


def _seed(w: World, settings: Any) -> None:
    from sqlalchemy import select

    from parkcarbon.services import lifecycle, recalculation
    from parkcarbon.services.auth import create_api_token, create_user
    from parkcarbon.services.evidence import add_evidence
    from parkcarbon.services.scoped import grant_role
    from parkcarbon.services.tenancy import resolve_scope, scoped_transaction, system_scope
    from parkcarbon.storage import open_store
    from parkcarbon.storage.models_auth import Membership, User

    store = open_store(w.db_url, settings=settings)
    root = system_scope("seed")
    with scoped_transaction(store, root) as repo:
        for name in USERS:
            w.users[name] = create_user(repo.session, username=name, password=PASSWORD).id
        pa = repo.add_park(code="PA", name="园区A", province="江苏")
        pb = repo.add_park(code="PB", name="园区B", province="江苏")
        w.parks = {"A": pa.id, "B": pb.id}
        for key, park in (("A1", pa), ("A2", pa), ("B1", pb)):
            ent = repo.add_enterprise(name=f"企业{key}", park_id=park.id, province="江苏", industry_code="C3391")
            w.enterprises[key] = ent.id
            w.meters[key] = repo.add_meter(tenant_id=ent.tenant_id, enterprise_id=ent.id, code=f"M-{key}",
                                           carrier="electricity", unit="kWh", kind="cumulative").id
        roles = [("root", "platform_admin", None, None), ("province", "provincial_operator", None, None),
                 ("admin_a", "park_admin", "A", None), ("admin_a2", "park_admin", "A", None),
                 ("admin_b", "park_admin", "B", None),
                 ("manager_a1", "enterprise_manager", None, "A1"), ("manager_a2", "enterprise_manager", None, "A2"),
                 ("manager_b1", "enterprise_manager", None, "B1"), ("viewer_a1", "enterprise_viewer", None, "A1"),
                 ("viewer_x_a1", "enterprise_viewer", None, "A1"), ("viewer_x_a2", "enterprise_viewer", None, "A2"),
                 ("viewer_x_b1", "enterprise_viewer", None, "B1")]
        for user, role, park, ent_key in roles:
            m = grant_role(repo, root, w.users[user], role=role, park_id=w.parks[park] if park else None,
                           enterprise_id=w.enterprises[ent_key] if ent_key else None)
            if user.startswith("viewer_x_"):
                w.memberships[ent_key or ""] = m.id
        for key in ("A1", "A2", "B1"):
            verifier = f"verifier_{key.lower()}"
            a = lifecycle.assign_verifier(repo, root, user_id=w.users[verifier], enterprise_id=w.enterprises[key],
                                          year=2024, starts_on=date(2024, 1, 1), ends_on=date(2099, 12, 31))
            w.assignments[key] = a.id
    for key in ("A1", "A2", "B1"):
        eid = w.enterprises[key]
        manager = f"manager_{key.lower()}"
        with scoped_transaction(store, root) as repo:
            repo.put_activity_records(_records(eid, ["2024-01", "2024-02", "2024-03"]), created_by=manager)
        with scoped_transaction(store, root) as repo:
            user = repo.session.get(User, w.users[manager])
            mscope = resolve_scope(repo.session, user)
            lifecycle.transition(repo, mscope, eid, "2024-01", "submit")
            recalculation.pin_results(repo, repo.get_enterprise(eid), ["2024-02", "2024-03"],
                                      recalculation.FactorConfig(), actor=manager)
            w.evidence[key] = add_evidence(repo, mscope, settings, eid, "2024-02", data=f"bill {key}".encode(),
                                           filename="bill.pdf", title="电费单").id
            w.corrections[key] = lifecycle.request_correction(
                repo, mscope, eid, "2024-01", reason="meter misread", root_cause="manual transcription",
                records=[lifecycle.CorrectionRecord("electricity", "purchased", 123_456.0)]).id
    for park, admin in (("A", "admin_a2"), ("B", "admin_b")):
        with scoped_transaction(store, root) as repo:
            user = repo.session.get(User, w.users[admin])
            ascope = resolve_scope(repo.session, user)
            w.proposals[park] = recalculation.propose_recalculation(
                repo, ascope, w.parks[park], 2024, recalculation.FactorConfig(), threshold_frac=0.01,
                reason="annual factor review").id
    from parkcarbon.services.planning_store import PlanParams, PVParams, run_plan

    pv = PlanParams(pv=PVParams(latitude_deg=32.0, longitude_deg=118.8, tilt_deg=25.0, capacity_kwp=100.0), year=2024)
    for key in ("A1", "A2", "B1"):
        w.plans[key] = run_plan(store, root, "pv", pv, enterprise_id=w.enterprises[key], actor="seed").id
    for key in ("A", "B"):
        w.park_plans[key] = run_plan(store, root, "pv", pv, park_id=w.parks[key], actor="seed").id
    from parkcarbon.core.targets import Milestone
    from parkcarbon.services import targets_store

    for key in ("A", "B"):
        w.targets[key] = targets_store.set_target(
            store, root, w.parks[key], indicator="energy_total_tce", base_year=2023, milestones=[Milestone(2025, 9000.0)],
            source="seed", actor="seed").id
        w.webhooks[key] = targets_store.add_webhook(store, root, w.parks[key], "http://127.0.0.1:9/hook",
                                                    "seed-secret-0123456789", actor="seed").id
    with scoped_transaction(store, root) as repo:
        for name in USERS:
            user = repo.session.get(User, w.users[name])
            new = create_api_token(repo.session, user, name="tests")
            w.tokens[name] = new.secret
            w.token_ids[name] = new.token.id
        assert repo.session.scalar(select(Membership.id).limit(1)) is not None
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.dispose()
    return w


def copy_world(template: World, dest: Path) -> World:
    shutil.copytree(template.data_dir, dest, ignore=shutil.ignore_patterns("*-wal", "*-shm"))
    w = World(**{**template.__dict__, "data_dir": dest})
    return w


@dataclass
class Api:
    """A test client on a private copy of the world, with helpers per user."""

    world: World
    client: Any
    store: Any
    settings: Any

    def h(self, user: str | None) -> dict[str, str]:
        return {} if user is None else {"Authorization": f"Bearer {self.world.tokens[user]}"}

    def get(self, path: str, user: str | None = None, **kw: Any) -> Any:
        return self.client.get(path, headers={**self.h(user), **kw.pop("headers", {})}, **kw)

    def post(self, path: str, user: str | None = None, **kw: Any) -> Any:
        return self.client.post(path, headers={**self.h(user), **kw.pop("headers", {})}, **kw)

    def delete(self, path: str, user: str | None = None, **kw: Any) -> Any:
        return self.client.delete(path, headers={**self.h(user), **kw.pop("headers", {})}, **kw)


def make_api(template: World, dest: Path) -> Iterator[Api]:
    from fastapi.testclient import TestClient

    from parkcarbon.api import create_app
    from parkcarbon.settings import get_settings
    from parkcarbon.storage import open_store

    w = copy_world(template, dest)
    settings = get_settings(data_dir=w.data_dir)
    store = open_store(w.db_url, settings=settings)
    app = create_app(store, settings=settings)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield Api(w, client, store, settings)
    store.dispose()
