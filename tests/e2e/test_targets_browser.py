"""Targets & warnings in a real browser: the park administrator opens the page from the park overview,
sets and allocates the 2025 energy budget, runs the April check and sees the graded warnings chart
(colours green/yellow/orange/red with the forecast band) and the allocation; counts equal the API."""

from __future__ import annotations

import pytest
from browser_helpers import shot
from webdemo import PARK_ID, PASSWORD, USERS

pytestmark = pytest.mark.e2e


def test_park_admin_sets_budget_runs_check_and_sees_warnings(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{server}/web/login")
    page.fill("input[name=username]", USERS["park_admin"])
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.goto(f"{server}/web/parks/{PARK_ID}")
    token = page.get_attribute("meta[name=csrf-token]", "content") or ""
    imported = page.request.post(f"{server}/api/v1/parks/{PARK_ID}/targets/import", headers={"X-CSRF-Token": token},
                                 data={"set_id": "carbon_peak_pilot", "target_year": 2030})
    assert imported.status == 201, imported.text()
    page.click("[data-testid=park-targets]")
    page.wait_for_selector("[data-testid=budget-form]")
    page.fill("[data-testid=budget-year]", "2025")
    page.fill("[data-testid=budget-qty]", "270000")
    page.click("[data-testid=budget-submit]")
    page.wait_for_selector("[data-testid=allocation-table]")
    page.fill("[data-testid=check-as-of]", "2025-04")
    page.click("[data-testid=check-submit]")
    page.wait_for_selector("#chart-warnings[data-rendered='1'] canvas")
    events = page.request.get(f"{server}/api/v1/parks/{PARK_ID}/warnings?year=2025").json()
    assert events and {e["as_of"] for e in events} == {"2025-04"}
    for g in ("green", "yellow", "orange", "red"):
        shown = page.get_attribute(f"[data-testid=count-{g}]", "data-value")
        assert shown == str(sum(e["grade"] == g for e in events))
    assert page.locator("[data-testid=warning-table] tbody tr").count() == len(events)
    page.wait_for_selector("[data-target-chart][data-rendered='1'] canvas")
    shot(page, "10-park-admin-targets-warnings")
    ctx.close()
