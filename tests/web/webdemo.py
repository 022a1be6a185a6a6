"""The demo park in a SQLite store with one account per role, built once per test session.

Shared by ``tests/web``, ``tests/e2e``, ``tests/services/test_dashboard*`` and
``tests/reports/test_pdf*``: the first caller builds ``<basetemp>/webdemo/demo.sqlite``
(≈20 s), later callers copy the file (milliseconds).
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from parkcarbon.storage import Repository, Store, open_store

PARK_ID = "binjiang"
ENTERPRISE = "E001"
OTHER_ENTERPRISE = "E002"
YEAR = 2025
PASSWORD = "correct horse battery staple"
USERS = {
    "park_admin": "park-admin",
    "enterprise_manager": "e001-manager",
    "verifier": "verifier-1",
    "provincial_operator": "province-1",
    "other_manager": "e002-manager",
}


def require_storage() -> None:
    """Skip while the storage part lacks what the demo loader needs (built in parallel)."""
    if not hasattr(Repository, "process_inputs"):
        pytest.skip("demo loader needs Repository.process_inputs (storage part, in progress)")


def _build(path: Path) -> None:
    from parkcarbon.services.auth import create_user
    from parkcarbon.services.demo import load_demo_park
    from parkcarbon.services.demo_park import build_demo_park
    from parkcarbon.storage.models_auth import Membership, VerifierAssignment

    store = open_store(f"sqlite:///{path}")
    try:
        load_demo_park(store, build_demo_park(2025))
        with store.transaction() as repo:
            s = repo.session
            ids = {role: create_user(s, username=name, password=PASSWORD).id for role, name in USERS.items()}
            s.add(Membership(user_id=ids["park_admin"], role="park_admin", park_id=PARK_ID))
            s.add(Membership(user_id=ids["enterprise_manager"], role="enterprise_manager", enterprise_id=ENTERPRISE))
            s.add(Membership(user_id=ids["other_manager"], role="enterprise_manager", enterprise_id=OTHER_ENTERPRISE))
            s.add(Membership(user_id=ids["provincial_operator"], role="provincial_operator"))
            tenant = repo.get_enterprise(ENTERPRISE).tenant_id
            s.add(VerifierAssignment(tenant_id=tenant, user_id=ids["verifier"], enterprise_id=ENTERPRISE, year=YEAR,
                                     starts_on=date(2000, 1, 1), ends_on=date(2100, 12, 31), created_by="test"))
    finally:
        store.dispose()


def demo_database(factory: pytest.TempPathFactory) -> Path:
    """Path of the session's demo database (built on first use)."""
    require_storage()
    folder = factory.getbasetemp() / "webdemo"
    path = folder / "demo.sqlite"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "building.sqlite"
        tmp.unlink(missing_ok=True)
        _build(tmp)
        tmp.replace(path)
    return path


def copy_store(source: Path, dest_dir: Path) -> Store:
    """A private copy of the demo database, opened."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / "demo.sqlite"
    shutil.copyfile(source, target)
    return open_store(f"sqlite:///{target}")


def login(client: object, role: str) -> None:
    """Log in through the web form (``client``: a TestClient of the app)."""
    resp = client.post("/web/login", data={"username": USERS[role], "password": PASSWORD},  # type: ignore[attr-defined]
                       follow_redirects=False)
    assert resp.status_code == 303, resp.text
