"""`parkcarbon targets` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="targets", no_args_is_help=True)
