"""The ``parkcarbon`` command line.

Each command group lives in its own module and is registered here.
Errors from the library (:class:`parkcarbon.errors.ParkcarbonError`) are shown in
Chinese and English with their code, and the command exits with status 2.
"""

from __future__ import annotations

import sys

import typer

from parkcarbon.cli import data as data_cmd
from parkcarbon.cli import demo as demo_cmd
from parkcarbon.cli import factors as factors_cmd
from parkcarbon.cli import plan as plan_cmd
from parkcarbon.cli import serve as serve_cmd
from parkcarbon.cli import targets as targets_cmd
from parkcarbon.errors import ParkcarbonError

app = typer.Typer(
    name="parkcarbon",
    help="Park energy-carbon platform 园区智慧能碳管理平台.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
demo_cmd.register(app)
app.add_typer(factors_cmd.app, name="factors")
app.add_typer(data_cmd.app, name="data")
app.add_typer(plan_cmd.app, name="plan")
app.add_typer(targets_cmd.app, name="targets")
serve_cmd.register(app)


def main() -> None:
    """Entry point: run the app, turning library errors into bilingual messages."""
    try:
        app()
    except ParkcarbonError as exc:
        print(exc.bilingual(), file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
