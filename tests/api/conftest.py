"""Fixtures of the API tests (the world itself is described in ``api_helpers``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import Api, World, build_world, make_api


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("api-world") / "data")


@pytest.fixture
def api(world_template: World, tmp_path: Path) -> Iterator[Api]:
    yield from make_api(world_template, tmp_path / "data")
