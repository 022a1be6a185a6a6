"""Fixtures of the factor tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from factor_helpers import USER_SOURCES, WriteSet, write_user_set


@pytest.fixture
def write_set(tmp_path: Path) -> WriteSet:
    def _write(set_id: str, rows: Sequence[dict[str, object]], **kw: object) -> Path:
        kw.setdefault("sources", USER_SOURCES)
        return write_user_set(tmp_path / "user", set_id, rows, **kw)  # type: ignore[arg-type]

    return _write
