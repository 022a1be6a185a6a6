"""A small park for the MRV service tests: one park, two enterprises, users and scopes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from argon2 import PasswordHasher

PASSWORD = "correct horse battery"
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class Park:
    store: Any
    park_id: str
    enterprises: dict[str, str]
    users: dict[str, str] = field(default_factory=dict)

    def scope(self, username: str) -> Any:
        from parkcarbon.services.tenancy import resolve_scope, scoped_reader, system_scope
        from parkcarbon.storage.models_auth import User

        with scoped_reader(self.store, system_scope()) as repo:
            return resolve_scope(repo.session, repo.session.get(User, self.users[username]))


def records(eid: str, months: list[str], kwh: float = 100_000.0) -> list[Any]:
    from parkcarbon.core.activity import ActivityRecord, Flow
    from parkcarbon.periods import parse_month

    return [ActivityRecord(record_id=str(uuid.uuid4()), enterprise_id=eid, month=parse_month(m), carrier="electricity",
                           flow=Flow.PURCHASED, quantity=kwh + i, source="test") for i, m in enumerate(months)]


def make_park(store: Any, monkeypatch: Any) -> Park:
    """Park P (江苏) with enterprises E1, E2; users: root, admin, admin2, manager (E1), manager2 (E2),
    viewer (E1), verifier (E1, 2024). Ledger: E1 and E2, electricity 2024-01..03 prepared by their managers."""
    from parkcarbon.services import auth as auth_module
    from parkcarbon.services import lifecycle
    from parkcarbon.services.auth import create_user
    from parkcarbon.services.scoped import grant_role
    from parkcarbon.services.tenancy import scoped_transaction, system_scope

    monkeypatch.setattr(auth_module, "_HASHER", CHEAP)
    root = system_scope("setup")
    with scoped_transaction(store, root) as repo:
        p = repo.add_park(code="P", name="测试园区", province="江苏")
        ents = {k: repo.add_enterprise(name=f"企业{k}", park_id=p.id, province="江苏").id for k in ("E1", "E2")}
        park = Park(store, p.id, ents)
        for name in ("root", "admin", "admin2", "manager", "manager2", "viewer", "verifier"):
            park.users[name] = create_user(repo.session, username=name, password=PASSWORD).id
        for name, role, pid, eid in (("root", "platform_admin", None, None), ("admin", "park_admin", p.id, None),
                                     ("admin2", "park_admin", p.id, None),
                                     ("manager", "enterprise_manager", None, ents["E1"]),
                                     ("manager2", "enterprise_manager", None, ents["E2"]),
                                     ("viewer", "enterprise_viewer", None, ents["E1"])):
            grant_role(repo, root, park.users[name], role=role, park_id=pid, enterprise_id=eid)
        lifecycle.assign_verifier(repo, root, user_id=park.users["verifier"], enterprise_id=ents["E1"], year=2024,
                                  starts_on=date(2024, 1, 1), ends_on=date(2099, 12, 31))
    with scoped_transaction(store, root) as repo:
        repo.put_activity_records(records(ents["E1"], ["2024-01", "2024-02", "2024-03"]), created_by="manager")
        repo.put_activity_records(records(ents["E2"], ["2024-01", "2024-02", "2024-03"]), created_by="manager2")
    return park
