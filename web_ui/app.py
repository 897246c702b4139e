"""The app factory: one router per resource, the tablet page at ``/``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from appliance.service import Service
from web_ui.errors import install_error_handlers
from web_ui.openapi_errors import document_errors
from web_ui.routers import (
    admin,
    auth,
    camera,
    debrief,
    health,
    live,
    records,
    scenario_admin,
    scenarios,
    sessions,
    settings,
    setup,
    sim,
    updates,
)
from web_ui.ws import router as ws_router

STATIC = Path(__file__).parent / "static"


def create_app(service: Service) -> FastAPI:
    app = FastAPI(
        title="OpenRange instructor API",
        version=service.version,
        description="Live control of the range controller from the instructor's tablet.",
    )
    app.state.service = service
    install_error_handlers(app)
    document_errors(app)
    for module in (
        health,
        auth,
        scenarios,
        sessions,
        camera,
        debrief,
        live,
        setup,
        admin,
        records,
        updates,
        settings,
        scenario_admin,
    ):
        app.include_router(module.router)
    if service.sim is not None:
        app.include_router(sim.router)
    app.include_router(ws_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def tablet_page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    return app
