"""Training records: roster, per-trainee history, CSV exports, the printable report, deletion."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from appliance.errors import InvalidTransition
from appliance.reports.csv_export import to_csv
from appliance.reports.printable_report import render_report
from appliance.reports.roster import build_roster, trainee_history
from appliance.reports.summary import load_summary, summarise
from appliance.service import Service
from web_ui.deps import AdminDep, ClientDep, ServiceDep

router = APIRouter(prefix="/api", tags=["records"])

DateParam = Annotated[date | None, Query(description="YYYY-MM-DD, a day in the box's local time")]


def _csv(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _day_start(day: date | None, *, next_day: bool = False) -> float | None:
    """The wall time at which ``day`` (or the day after) starts in the box's local time."""
    if day is None:
        return None
    try:
        if next_day:
            day += timedelta(days=1)
        return datetime(day.year, day.month, day.day).timestamp()
    except (OverflowError, ValueError, OSError):  # beyond what the clock can express: no bound
        return None


def _titles(service: Service, scenario_id: str) -> dict[str, str]:
    try:
        manifest = service.library.get(scenario_id).manifest
    except LookupError:
        return {}
    return {sid: scene.title for sid, scene in manifest.scenes.items()}


@router.get("/roster")
async def roster(service: ServiceDep, client: ClientDep) -> dict[str, Any]:
    """Trainees, instructors and safety officers remembered from past sessions, most recent first."""
    return build_roster(await service.records.all_sessions())


@router.get("/trainees/{name}/history")
async def history(name: str, service: ServiceDep, client: ClientDep) -> dict[str, Any]:
    """Every session of one trainee, newest first, with scores, rubric total and result."""
    return await trainee_history(service.records, service.library, name, service.settings.xapi)


@router.get("/sessions/{session_id}/export.csv", response_class=Response)
async def session_csv(session_id: str, service: ServiceDep, client: ClientDep) -> Response:
    """One session as CSV: one row per trainee."""
    summary = await load_summary(service.records, service.library, session_id)
    x = service.settings.xapi
    body = to_csv([summary], pass_threshold=x.pass_threshold, failure_words=x.failure_outcomes)
    return _csv(body, f"openrange-{session_id}.csv")


@router.get("/records/export.csv", response_class=Response)
async def records_csv(
    service: ServiceDep, client: ClientDep, since: DateParam = None, until: DateParam = None
) -> Response:
    """Sessions started between ``since`` and ``until`` (inclusive days, box local time) as CSV:
    one row per trainee per session, oldest first."""
    start, stop = _day_start(since), _day_start(until, next_day=True)
    summaries = []
    for row in await service.records.sessions_between(start, stop):
        summaries.append(summarise(row, await service.records.events(row.id), service.library))
    x = service.settings.xapi
    body = to_csv(summaries, pass_threshold=x.pass_threshold, failure_words=x.failure_outcomes)
    label = f"{since or 'start'}-to-{until or time.strftime('%Y-%m-%d')}"
    return _csv(body, f"openrange-records-{label}.csv")


@router.get("/sessions/{session_id}/report", response_class=HTMLResponse)
async def report(session_id: str, service: ServiceDep, client: ClientDep) -> HTMLResponse:
    """A printable report of one session (HTML with print CSS, no external resources)."""
    summary = await load_summary(service.records, service.library, session_id)
    x = service.settings.xapi
    page = render_report(
        summary,
        pass_threshold=x.pass_threshold,
        failure_words=x.failure_outcomes,
        titles=_titles(service, summary.session.scenario_id),
    )
    return HTMLResponse(
        page, headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}
    )


@router.delete("/sessions/{session_id}")
async def delete_session(session_id: str, service: ServiceDep, client: AdminDep) -> dict[str, Any]:
    """Delete an ended or interrupted session record and its events (admin; 409 while it is live)."""
    live = service.controller.live
    if live is not None and live.id == session_id and live.status != "ended":
        raise InvalidTransition(f"session {session_id} is live: end it before deleting its record")
    deleted = await service.records.delete_session(session_id)
    return {"detail": "deleted", "events": deleted}
