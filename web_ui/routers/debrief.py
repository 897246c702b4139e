"""The debrief: a session's timeline, scores, rubric and path; hit frames; replaying a moment."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response
from pydantic import BaseModel, Field

from appliance.debrief import build_debrief
from appliance.errors import NotFound
from appliance.frames import HitMark
from web_ui.deps import ClientDep, ControllerDep, ServiceDep

router = APIRouter(prefix="/api", tags=["debrief"])


@router.get("/sessions/{session_id}/debrief")
async def debrief(session_id: str, service: ServiceDep, client: ClientDep) -> dict[str, Any]:
    """Everything the debrief shows, computed from the session's record."""
    row = await service.records.get_session(session_id)
    events = await service.records.events(session_id)
    session = row.to_json()
    live = service.controller.live
    if live is not None and live.id == session_id:
        session["status"] = live.status
    try:
        manifest = service.library.get(row.scenario_id).manifest
    except NotFound:
        manifest = None
    return build_debrief(session, events, manifest)


@router.get("/sessions/{session_id}/events/{seq}/frame.jpg", response_class=Response)
async def hit_frame(session_id: str, seq: int, service: ServiceDep, client: ClientDep) -> Response:
    """The video frame a hit landed on, with a marker where it landed (JPEG)."""
    row = await service.records.get_session(session_id)
    event = next((e for e in await service.records.events(session_id) if e.seq == seq), None)
    if event is None:
        raise HTTPException(404, f"no event {seq} in session {session_id}")
    if event.kind != "hit" or not event.scene_id:
        raise HTTPException(404, f"event {seq} is a {event.kind}, not a hit: it has no frame")
    if service.frames is None:
        raise HTTPException(404, "frames are not available on this box")
    package = service.library.get(row.scenario_id)
    mark = HitMark(
        key=f"{session_id}-{seq}",
        scene_id=event.scene_id,
        scene_t=float(event.data.get("scene_t", 0.0)),
        x=float(event.data.get("x", 0.5)),
        y=float(event.data.get("y", 0.5)),
        label=str(seq),
    )
    data = await service.frames.hit_frame(package, mark)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})


class ReplayBody(BaseModel):
    seq: Annotated[int, Field(ge=1)]
    lead_in_s: Annotated[float, Field(ge=0, le=60)] = 3.0
    """Start this many seconds of scene time before the event."""


@router.post("/sessions/{session_id}/replay-moment")
async def replay_moment(
    session_id: str, body: ReplayBody, controller: ControllerDep, client: ClientDep
) -> dict[str, Any]:
    """Play the scene of a recorded event on the projector (nothing is recorded; 409 while live)."""
    try:
        replay = await controller.replay_moment(session_id, body.seq, body.lead_in_s)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return replay.public()


@router.post("/replay/stop")
async def stop_replay(controller: ControllerDep, client: ClientDep) -> dict[str, str]:
    """End a replayed moment: the projector shows the idle card (409 while a session is live)."""
    await controller.stop_replay()
    return {"detail": "the projector shows the idle card"}
