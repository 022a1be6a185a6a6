"""`parkcarbon factors` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="factors", no_args_is_help=True)
