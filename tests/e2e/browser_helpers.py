"""Helpers of the browser tests: screenshots and PDF text."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).parent / "screenshots"


def shot(page: object, name: str) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def pdftotext(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext missing")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout.decode()
