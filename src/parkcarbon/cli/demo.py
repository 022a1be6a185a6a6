"""`parkcarbon demo` and `parkcarbon account` commands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the top-level commands of this module to ``app``."""
