"""Shared fixtures.

``store``: an empty, migrated :class:`parkcarbon.storage.Store`, parametrised over

* ``sqlite`` — a fresh file in ``tmp_path`` per test (copied from a migrated template);
* ``postgres`` — a scratch database created once per test session on 127.0.0.1:5432
  (user postgres), emptied after every test and dropped at the end; marked ``postgres``
  and skipped when the server is not reachable.

``sqlite_store``: the SQLite variant only. ``pg_url``: URL of the session's scratch database.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ADMIN_URL = os.environ.get("PARKCARBON_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL.replace("+psycopg", ""), connect_timeout=3):
            return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from parkcarbon.storage import open_store

    path = tmp_path_factory.mktemp("store-template") / "template.sqlite"
    st = open_store(f"sqlite:///{path}")
    with st.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    st.dispose()
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A scratch PostgreSQL database for this test session (dropped afterwards)."""
    if not _pg_available():
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    import psycopg

    name = f"h3a_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = PG_ADMIN_URL.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _pg_store_session(pg_url: str) -> Iterator[object]:
    from parkcarbon.storage import open_store

    st = open_store(pg_url)
    yield st
    st.dispose()


def _truncate_all(store: object) -> None:
    from parkcarbon.storage.models import Base

    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.exec_driver_sql(f"TRUNCATE {names} CASCADE")


@pytest.fixture
def sqlite_store(_sqlite_template: Path, tmp_path: Path) -> Iterator[object]:
    from parkcarbon.storage import open_store

    path = tmp_path / "parkcarbon.sqlite"
    shutil.copyfile(_sqlite_template, path)
    st = open_store(f"sqlite:///{path}")
    yield st
    st.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[object]:
    """An empty migrated store on SQLite (always) and PostgreSQL (``postgres`` marker)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_store")
        return
    st = request.getfixturevalue("_pg_store_session")
    _truncate_all(st)
    try:
        yield st
    finally:
        _truncate_all(st)
