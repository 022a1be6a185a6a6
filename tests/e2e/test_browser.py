"""Each role in a real browser (headless Chromium): log in, see the charts, drill down, upload a
file with errors and see them in place, run the verification screen, download reports.

Screenshots go to ``tests/e2e/screenshots/`` (git-ignored) for a person to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_helpers import pdftotext, shot
from webdemo import ENTERPRISE, PARK_ID, PASSWORD, USERS, YEAR

pytestmark = pytest.mark.e2e


def _login(browser, server: str, role: str, lang: str = "zh"):  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000}, accept_downloads=True, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    if lang == "en":
        page.goto(f"{server}/web/lang/en?next=/web/login")
    page.goto(f"{server}/web/login")
    page.fill("input[name=username]", USERS[role])
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_load_state("load")
    return ctx, page


def _charts_rendered(page, expected: int) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector("[data-chart][data-rendered='1']", timeout=60_000)
    rendered = page.locator("[data-chart][data-rendered='1'] canvas").count()
    assert rendered >= expected, f"only {rendered} charts drawn"


def test_park_admin_overview_drilldown_and_reports(browser, server: str, downloads: Path) -> None:  # type: ignore[no-untyped-def]
    ctx, page = _login(browser, server, "park_admin")
    assert page.url.endswith(f"/web/parks/{PARK_ID}")
    _charts_rendered(page, 7)
    energy = float(page.get_attribute("[data-testid=kpi-energy]", "data-value") or "nan")
    assert energy > 0
    assert page.locator("[data-testid=targets] tbody tr").count() >= 2
    assert page.locator("[data-testid=budgets] .badge").count() > 0
    shot(page, "01-park-admin-overview")
    page.click(f"[data-testid=drill-{ENTERPRISE}]")
    page.wait_for_selector("[data-testid=enterprise-title]")
    assert f"/web/enterprises/{ENTERPRISE}" in page.url
    _charts_rendered(page, 4)
    shot(page, "02-park-admin-drilldown-enterprise")
    with page.expect_download() as dl:
        page.click("[data-testid=ghg-report-pdf]")
    pdf = downloads / "ghg.pdf"
    dl.value.save_as(pdf)
    text = pdftotext(pdf)
    assert f"{YEAR} 年度温室气体排放报告" in text and "排放因子" in text
    with page.expect_download() as dl2:
        page.click("[data-testid=ghg-report-xlsx]")
    xlsx = downloads / "ghg.xlsx"
    dl2.value.save_as(xlsx)
    assert xlsx.read_bytes()[:2] == b"PK"
    page.goto(f"{server}/web/parks/{PARK_ID}/flow?year={YEAR}")
    _charts_rendered(page, 1)
    shot(page, "03-park-admin-energy-flow")
    ctx.close()


def test_enterprise_manager_uploads_a_file_with_errors(browser, server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "月度能源统计.csv"
    bad.write_text("企业,月份,能源品种,计量单位,购进量,消费量\n"
                   f"{ENTERPRISE},2026-01,电力,kWh,1000,\n"
                   f"{ENTERPRISE},2026-13,电力,kWh,1000,\n"
                   f"{ENTERPRISE},2026-02,unobtainium,t,,5\n", encoding="utf-8")
    ctx, page = _login(browser, server, "enterprise_manager")
    assert page.url.endswith(f"/web/enterprises/{ENTERPRISE}")
    _charts_rendered(page, 4)
    shot(page, "04-enterprise-manager-home")
    page.click("[data-testid=nav-data]")
    page.select_option("[data-testid=upload-kind]", "monthly")
    page.set_input_files("[data-testid=upload-file]", str(bad))
    page.click("[data-testid=upload-submit]")
    page.wait_for_selector("[data-testid=error-grid]")
    cells = page.locator("td.cell-error")
    assert cells.count() >= 2
    assert "unobtainium" in page.inner_text("[data-testid=error-grid]")
    shot(page, "05-enterprise-manager-upload-errors")
    ctx.close()


def test_submit_verify_lock_in_the_browser(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    month = f"{YEAR}-02"
    ctx, page = _login(browser, server, "enterprise_manager")
    page.click("[data-testid=nav-verification]")
    page.click(f"[data-testid=submit-{month}]")
    page.wait_for_selector("[data-testid=action-done]")
    assert page.inner_text(f"[data-testid=status-{month}]") == "submitted"
    ctx.close()
    ctx, page = _login(browser, server, "verifier", lang="en")
    assert page.url.endswith("/web/verification")
    assert page.locator("[data-testid=periods] tbody tr").count() == 12
    assert "Reporting periods" in page.inner_text("h1")
    assert page.locator(f"[data-testid=verify-{month}]").count() == 1
    shot(page, "06-verifier-periods-en")
    page.click(f"[data-testid=verify-{month}]")
    page.wait_for_selector("[data-testid=action-done]")
    assert page.inner_text(f"[data-testid=status-{month}]") == "verified"
    ctx.close()
    ctx, page = _login(browser, server, "park_admin")
    page.goto(f"{server}/web/verification?enterprise={ENTERPRISE}&year={YEAR}")
    page.click(f"[data-testid=lock-{month}]")
    page.wait_for_selector("[data-testid=action-done]")
    assert page.inner_text(f"[data-testid=status-{month}]") == "locked"
    shot(page, "07-park-admin-locked-period")
    ctx.close()


def test_provincial_operator_sees_totals_only(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    ctx, page = _login(browser, server, "provincial_operator")
    assert page.url.endswith(f"/web/parks/{PARK_ID}")
    _charts_rendered(page, 5)
    assert page.locator("[data-testid=enterprises]").count() == 0
    shot(page, "08-provincial-operator-overview")
    ctx.close()
