"""Fixtures of the web tests: the demo park store and the app (API + dashboard) on it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from webdemo import PARK_ID, copy_store, demo_database


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_database(tmp_path_factory)


@pytest.fixture(scope="module")
def web_app(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from parkcarbon.api import create_app
    from parkcarbon.settings import Settings

    store = copy_store(demo_db, tmp_path_factory.mktemp("webapp"))
    settings = Settings(data_dir=tmp_path_factory.mktemp("webdata"))
    app = create_app(store, settings=settings, cookie_secure=False)
    app.state.park_energy_budgets_tce = {PARK_ID: 280_000.0}
    yield app
    store.dispose()
