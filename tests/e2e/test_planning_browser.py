"""Planning in a real browser: the enterprise manager opens the planning page from the enterprise
page, runs a small dispatch plan on an uploaded load and sees its KPIs and schedule charts."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from browser_helpers import shot
from webdemo import ENTERPRISE, PASSWORD, USERS

pytestmark = pytest.mark.e2e


def test_manager_runs_a_plan_and_sees_the_charts(browser, server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    t0 = datetime(2025, 7, 1)
    csv = tmp_path / "负荷.csv"
    csv.write_text("timestamp,load_kw\n" + "".join(
        f"{(t0 + timedelta(hours=i)).strftime('%Y-%m-%dT%H:%M:%S+08:00')},{600 + 300 * ((i % 24) in range(8, 20)):.1f}\n"
        for i in range(72)), encoding="utf-8")
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{server}/web/login")
    page.fill("input[name=username]", USERS["enterprise_manager"])
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_selector("[data-testid=enterprise-title]")
    page.click("[data-testid=enterprise-plans]")
    page.wait_for_selector("[data-testid=plan-form]")
    assert f"/web/enterprises/{ENTERPRISE}/plans" in page.url
    page.select_option("[data-testid=plan-kind]", "dispatch")
    page.fill("[data-testid=plan-label]", "三天储能调度")
    page.set_input_files("[data-testid=plan-load]", str(csv))
    for testid, value in (("plan-lat", "31.2"), ("plan-lon", "121.5"), ("plan-tilt", "20"), ("plan-kwp", "400"),
                          ("plan-bat-kwh", "800"), ("plan-bat-kw", "400")):
        page.fill(f"[data-testid={testid}]", value)
    page.click("[data-testid=plan-submit]")
    page.wait_for_selector("[data-plan-chart][data-rendered='1']")
    assert page.locator("[data-plan-chart][data-rendered='1'] canvas").count() == 2
    assert page.inner_text("[data-testid=plan-status]") == "completed"
    cost = float(page.get_attribute("[data-testid=kpi-cost_total_cny]", "data-value") or "nan")
    assert cost > 0
    plan_id = page.get_attribute("[data-testid=plan]", "data-plan-id")
    api = page.request.get(f"{server}/api/v1/plans/{plan_id}").json()
    assert api["kpis"]["cost_total_cny"] == cost and api["label"] == "三天储能调度"
    shot(page, "09-enterprise-manager-plan")
    ctx.close()
