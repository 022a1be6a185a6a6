"""PDF reports printed by headless Chromium: rendered to PNG (pdftoppm) and checked for content."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from parkcarbon.errors import ReportError
from parkcarbon.reports.model import Chart, Column, Report, Section, Table
from parkcarbon.reports.pdf import chromium_executable, render_pdf, write_pdf

NEEDS = ("chromium", "pdftoppm", "pdftotext")


def _require_tools() -> None:
    missing = [t for t in NEEDS if shutil.which(t) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"missing {missing}: make test installs them (apt-get install chromium poppler-utils)")
        pytest.skip(f"missing {missing}")


def _report(total: float) -> Report:
    cols = [Column("item", "项目", "Item", decimals=0), Column("tco2", "排放量", "Emissions", "tCO2", 2)]
    return Report(
        title_zh="滨江精锻股份有限公司 2025 年度温室气体排放报告", title_en="GHG emissions report 2025",
        subtitle="测试 test", generated_at=datetime(2026, 1, 5, tzinfo=UTC),
        sections=[Section("排放量", "Emissions", ["范围一与范围二 scope 1 and 2"],
                          [Table("排放量汇总", "Summary", cols, [{"item": "排放总量 Total", "tco2": total},
                                                                {"item": "缺失 Missing", "tco2": None}])],
                          [Chart("月度排放", "Monthly", "bar", ["01", "02"], {"tCO2": [1.0, 2.0]}, "tCO2")])])


def _dark_fraction(pgm: bytes) -> float:
    """Share of pixels darker than light grey in a binary PGM (P5) image."""
    parts = pgm.split(maxsplit=4)
    assert parts[0] == b"P5"
    width, height, maxval = int(parts[1]), int(parts[2]), int(parts[3])
    pixels = parts[4][: width * height]
    return sum(1 for p in pixels if p < 0.8 * maxval) / len(pixels)


def test_pdf_renders_chinese_and_numbers(tmp_path: Path) -> None:
    _require_tools()
    path = write_pdf(_report(9679.4123), tmp_path / "r.pdf")
    assert path.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout.decode()
    assert "滨江精锻股份有限公司 2025 年度温室气体排放报告" in text
    assert "9,679.41" in text and "—" in text  # missing is shown as a dash, never 0
    subprocess.run(["pdftoppm", "-r", "40", "-gray", "-f", "1", "-l", "1", str(path), str(tmp_path / "p")], check=True)
    pgm = next(tmp_path.glob("p*.pgm")).read_bytes()
    dark = _dark_fraction(pgm)
    assert 0.003 < dark < 0.6, f"page looks blank or black: {dark:.4f}"


def test_missing_or_failing_chromium_is_a_report_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PARKCARBON_CHROMIUM", str(tmp_path / "nope"))
    with pytest.raises(ReportError) as err:
        chromium_executable()
    assert err.value.code == "E-REPORT"
    fake = tmp_path / "fake-chromium"
    fake.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PARKCARBON_CHROMIUM", str(fake))
    with pytest.raises(ReportError, match="exit 3"):
        render_pdf(_report(1.0))
    monkeypatch.delenv("PARKCARBON_CHROMIUM")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ReportError, match="no Chromium"):
        chromium_executable()
