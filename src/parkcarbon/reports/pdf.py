"""Render a :class:`~parkcarbon.reports.model.Report` as PDF with headless Chromium (print to PDF).

Why Chromium: the PDF is printed from exactly the HTML report of :mod:`parkcarbon.reports.html`
(same template, same inline SVG charts, same numbers), it renders Chinese with the system's CJK
fonts (Debian ``fonts-noto-cjk``), works offline, and the browser is already installed for the
dashboard's browser tests — no second layout engine to keep in step.

The executable is ``$PARKCARBON_CHROMIUM`` or the first of ``chromium``, ``chromium-browser``,
``google-chrome`` on ``PATH``. Each call uses a fresh temporary profile, no network, no GPU.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from parkcarbon.errors import Location, ReportError
from parkcarbon.reports.html import render_html
from parkcarbon.reports.model import Report

__all__ = ["CHROMIUM_FLAGS", "chromium_executable", "html_to_pdf", "render_pdf", "write_pdf"]

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars",
)
"""Flags for every headless Chromium run of the project (offline, sandbox-free containers)."""

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_executable() -> str:
    """Path of the Chromium executable, or :class:`ReportError` with the install hint."""
    explicit = os.environ.get("PARKCARBON_CHROMIUM")
    if explicit:
        if Path(explicit).is_file():
            return explicit
        raise ReportError(f"PARKCARBON_CHROMIUM={explicit} does not exist",
                          message_zh=f"PARKCARBON_CHROMIUM={explicit} 不存在",
                          hint="point it to the chromium executable", hint_zh="请指向 chromium 可执行文件",
                          location=Location(value=explicit))
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise ReportError("no Chromium found to render PDF reports",
                      message_zh="未找到用于生成 PDF 报告的 Chromium",
                      hint="install it: apt-get install -y chromium fonts-noto-cjk (make test does this)",
                      hint_zh="请安装：apt-get install -y chromium fonts-noto-cjk（make test 会自动安装）")


def html_to_pdf(html: str, *, timeout_s: float = 120.0) -> bytes:
    """Print an HTML document to PDF bytes (A4, backgrounds on, no header/footer)."""
    exe = chromium_executable()
    with tempfile.TemporaryDirectory(prefix="parkcarbon-pdf-") as tmp:
        src = Path(tmp) / "report.html"
        out = Path(tmp) / "report.pdf"
        src.write_text(html, encoding="utf-8")
        cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}", "--no-pdf-header-footer",
               f"--print-to-pdf={out}", src.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ReportError(f"Chromium did not finish the PDF within {timeout_s:.0f} s",
                              message_zh=f"Chromium 未能在 {timeout_s:.0f} 秒内生成 PDF",
                              hint="retry; check that the machine is not overloaded",
                              hint_zh="请重试，并检查机器负载") from exc
        if proc.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
            detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise ReportError(f"Chromium failed to print the PDF (exit {proc.returncode}): {' | '.join(detail)}",
                              message_zh=f"Chromium 生成 PDF 失败（退出码 {proc.returncode}）",
                              hint="run the command by hand to see the error", hint_zh="请手工运行命令查看错误")
        data = out.read_bytes()
    if not data.startswith(b"%PDF"):
        raise ReportError("Chromium wrote something that is not a PDF", message_zh="Chromium 输出的不是 PDF 文件")
    return data


def render_pdf(report: Report, *, timeout_s: float = 120.0) -> bytes:
    """The report as PDF bytes, printed from :func:`parkcarbon.reports.html.render_html`."""
    return html_to_pdf(render_html(report), timeout_s=timeout_s)


def write_pdf(report: Report, path: Path, *, timeout_s: float = 120.0) -> Path:
    """Write the report as PDF to ``path`` atomically (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(render_pdf(report, timeout_s=timeout_s))
    tmp.replace(path)
    return path
