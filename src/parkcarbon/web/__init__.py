"""parkcarbon.web — the dashboard: server-rendered pages (Jinja2) with Apache ECharts charts.

Mounted on the API's FastAPI app by :func:`mount_web` (``/web``; static files under
``/web/static``; ECharts is copied from the npm registry package into ``static/vendor`` by
``make web-assets`` — no CDN, works offline). Pages reuse the API's sessions, CSRF and roles
(:mod:`parkcarbon.api.security`).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from parkcarbon.web.routes import WEB_PREFIX, router
from parkcarbon.web.routes_planning import router as planning_router
from parkcarbon.web.routes_targets import router as targets_router

__all__ = ["ECHARTS_PATH", "STATIC_DIR", "WEB_PREFIX", "mount_web", "router"]

STATIC_DIR = Path(__file__).parent / "static"
ECHARTS_PATH = STATIC_DIR / "vendor" / "echarts.min.js"


def mount_web(app: FastAPI, *, park_energy_budgets_tce: dict[str, float] | None = None) -> FastAPI:
    """Add the dashboard to ``app`` (built by :func:`parkcarbon.api.create_app`, which already
    calls this; a second call only updates the budgets).

    ``park_energy_budgets_tce``: the park's annual energy budget per park id [tce] for the
    budget warnings (用能预算预警); none → the pages say no budget is set.
    """
    if park_energy_budgets_tce is not None or not hasattr(app.state, "park_energy_budgets_tce"):
        app.state.park_energy_budgets_tce = dict(park_energy_budgets_tce or {})
    if getattr(app.state, "web_mounted", False):  # idempotent: create_app already mounts the dashboard
        return app
    app.state.web_mounted = True
    app.mount(f"{WEB_PREFIX}/static", StaticFiles(directory=str(STATIC_DIR)), name="web-static")
    app.include_router(router)
    app.include_router(planning_router)
    app.include_router(targets_router)

    @app.get("/", include_in_schema=False)
    def _root() -> RedirectResponse:
        return RedirectResponse(f"{WEB_PREFIX}/", status_code=307)

    return app
