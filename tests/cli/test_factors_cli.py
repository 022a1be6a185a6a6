"""`parkcarbon factors …` through typer's CliRunner."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from parkcarbon.cli.main import app
from parkcarbon.errors import FactorNotFoundError

runner = CliRunner()


def _user_set(root: Path, *, value: str = "0.5800", year: str = "2023", overrides: str = "") -> Path:
    d = root / "js"
    d.mkdir(parents=True, exist_ok=True)
    (d / "manifest.csv").write_text(
        "set_id,version,title,kind,overrides\n" f"js-user,1,Jiangsu user factors,statistical,{overrides}\n", encoding="utf-8"
    )
    with open(d / "factors.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["key", "region", "year", "method", "value", "unit", "source_id", "grade"])
        w.writerow(["grid_ef", "CN-JS", year, "average", value, "kgCO2/kWh", "JS-NOTICE", "B"])
    (d / "sources.csv").write_text(
        "source_id,publisher,citation,url\nJS-NOTICE,江苏省生态环境厅,provincial notice (test),https://example.org\n",
        encoding="utf-8",
    )
    return d


def test_list_sets() -> None:
    result = runner.invoke(app, ["factors", "list"])
    assert result.exit_code == 0, result.output
    for set_id in ("gbt2589", "mee-grid-co2", "ets-grid-regulatory", "mee-electricity-cfp", "fuel-s3-combined"):
        assert set_id in result.output


def test_list_rows_filtered() -> None:
    result = runner.invoke(app, ["factors", "list", "--key", "grid_ef", "--region", "江苏"])
    assert result.exit_code == 0, result.output
    assert "mee-grid-co2:grid_ef@CN-JS/2022#average" in result.output and "0.5978" in result.output
    assert "GRID-EAST" not in result.output


def test_list_rows_with_brackets_are_not_eaten_by_markup() -> None:
    result = runner.invoke(app, ["factors", "list", "--key", "coal_coef.steam"])
    assert result.exit_code == 0, result.output
    assert "coal_coef.steam[1.0MPa]" in result.output


def test_show_exact() -> None:
    result = runner.invoke(app, ["factors", "show", "coal_coef.electricity", "--method", "calorific"])
    assert result.exit_code == 0, result.output
    assert "0.0001229 tce/kWh" in result.output and "0.1229 kgce/kWh" in result.output
    assert "fallback" in result.output and "none" in result.output


def test_show_with_fallback() -> None:
    result = runner.invoke(
        app, ["factors", "show", "grid_ef", "-r", "江苏省", "-y", "2023", "-m", "average", "-p", "region_then_year"]
    )
    assert result.exit_code == 0, result.output
    assert "0.55 tCO2/MWh" in result.output
    assert "region_then_year" in result.output and "GRID-EAST" in result.output


def test_show_strict_missing_raises_library_error() -> None:
    result = runner.invoke(app, ["factors", "show", "grid_ef", "-r", "江苏", "-y", "2024", "-m", "average"])
    assert result.exit_code != 0
    assert isinstance(result.exception, FactorNotFoundError)


def test_show_unverified_needs_flag() -> None:
    args = ["factors", "show", "grid_ef", "-y", "2021", "-m", "excl_market_non_fossil"]
    assert isinstance(runner.invoke(app, args).exception, FactorNotFoundError)
    result = runner.invoke(app, [*args, "--allow-unverified"])
    assert result.exit_code == 0, result.output
    assert "0.5942" in result.output and "UNVERIFIED" in result.output


def test_sources() -> None:
    result = runner.invoke(app, ["factors", "sources"])
    assert result.exit_code == 0, result.output
    assert "GBT2589-S2" in result.output and "MEE-NBS-2023EF" in result.output


def test_validate_good_user_set(tmp_path: Path) -> None:
    d = _user_set(tmp_path)
    result = runner.invoke(app, ["factors", "validate", str(d)])
    assert result.exit_code == 0, result.output
    assert "OK js-user" in result.output and "valid" in result.output


def test_validate_override_is_reported(tmp_path: Path) -> None:
    d = _user_set(tmp_path, year="2022", value="0.6", overrides="mee-grid-co2")
    result = runner.invoke(app, ["factors", "validate", str(d)])
    assert result.exit_code == 0, result.output
    assert "override mee-grid-co2" in result.output and "0.5978" in result.output


@pytest.mark.parametrize(("value", "fragment"), [("abc", "not a number"), ("nan", "not finite")])
def test_validate_bad_user_set(tmp_path: Path, value: str, fragment: str) -> None:
    d = _user_set(tmp_path, value=value)
    result = runner.invoke(app, ["factors", "validate", str(d)])
    assert result.exit_code == 1
    assert "E-FACTOR-DATA" in result.output and fragment in result.output
    assert "row 2" in result.output and "column value" in result.output


def test_user_dir_option_on_show(tmp_path: Path) -> None:
    d = _user_set(tmp_path)
    result = runner.invoke(app, ["factors", "show", "grid_ef", "-r", "江苏", "-y", "2023", "-m", "average", "-u", str(d)])
    assert result.exit_code == 0, result.output
    assert "0.58 tCO2/MWh" in result.output and "江苏省生态环境厅" in result.output


def test_resolve() -> None:
    result = runner.invoke(app, ["factors", "resolve", "江苏", "2024", "--policy", "region_then_year"])
    assert result.exit_code == 0, result.output
    assert "grid_ef_location" in result.output and "0.55" in result.output
    assert "coal_coefficients[electricity]" in result.output
    assert "warning:" in result.output and "GRID-EAST 2023" in result.output


def test_validate_lists_every_bad_row(tmp_path: Path) -> None:
    d = _user_set(tmp_path)
    with open(d / "factors.csv", "a", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["grid_ef", "CN-ZJ", "2023", "average", "x", "kgCO2/kWh", "JS-NOTICE", "B"])
        w.writerow(["grid_ef", "CN-SH", "2023", "average", "0.5", "kgCO2/kWh", "NOPE", "B"])
    result = runner.invoke(app, ["factors", "validate", str(d)])
    assert result.exit_code == 1
    assert "row 3, column value" in result.output and "row 4, column source_id" in result.output
    assert "2 error(s)" in result.output
