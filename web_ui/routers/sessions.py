from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, field_validator

from appliance.scoring import score_session
from web_ui.deps import ClientDep, ControllerDep, ServiceDep

router = APIRouter(prefix="/api", tags=["sessions"])

Name = Annotated[str, Field(min_length=1, max_length=60)]


class StartBody(BaseModel):
    scenario_id: Annotated[str, Field(min_length=1, max_length=64)]
    trainees: Annotated[list[Name], Field(min_length=1, max_length=30)]
    instructor: Annotated[str, Field(max_length=60)] = ""

    @field_validator("trainees")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        cleaned = [n.strip() for n in names]
        if any(not n for n in cleaned):
            raise ValueError("trainee names must not be blank")
        return cleaned


class BranchBody(BaseModel):
    choice: Annotated[str, Field(min_length=1, max_length=64)]


class FlagBody(BaseModel):
    note: Annotated[str, Field(max_length=500)] = ""


@router.get("/state")
async def state(controller: ControllerDep, client: ClientDep) -> dict[str, Any]:
    """The live state: the running session, its scene and choices, its events so far."""
    return controller.snapshot()


@router.post("/sessions", status_code=201)
async def start_session(body: StartBody, controller: ControllerDep, client: ClientDep) -> dict[str, Any]:
    """Start a session (409 while another one runs); the first scene starts playing."""
    row = await controller.start_session(body.scenario_id, body.trainees, body.instructor.strip())
    return controller.snapshot(include_events=False)["session"] or row.to_json()


@router.get("/sessions")
async def list_sessions(
    service: ServiceDep,
    client: ClientDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """Training records, newest first."""
    return [s.to_json() for s in await service.records.list_sessions(limit, offset)]


@router.get("/sessions/{session_id}")
async def get_session(session_id: str, service: ServiceDep, client: ClientDep) -> dict[str, Any]:
    """One session's record: its row and the whole event timeline, read from the database."""
    row = await service.records.get_session(session_id)
    events = await service.records.events(session_id)
    live = service.controller.live
    session = row.to_json()
    is_live = live is not None and live.id == session_id and live.status != "ended"
    if is_live and live is not None:
        session.update(status=live.status, path=list(live.path))
    else:
        session["path"] = [e.scene_id for e in events if e.kind == "scene_entered"]
    return {
        "session": session,
        "live": is_live,
        "score": score_session(events),
        "events": [e.to_json() for e in events],
    }


@router.post("/sessions/{session_id}/branch")
async def branch(
    session_id: str, body: BranchBody, controller: ControllerDep, client: ClientDep
) -> dict[str, Any]:
    """Take one of the current scene's choices (409 if the scene does not offer it)."""
    return (await controller.branch(session_id, body.choice)).to_json()


class PauseBody(BaseModel):
    blank: bool = False
    """True: black the screen instead of freezing the picture (e.g. to talk to the class)."""


@router.post("/sessions/{session_id}/pause")
async def pause(
    session_id: str, controller: ControllerDep, client: ClientDep, body: PauseBody | None = None
) -> dict[str, Any]:
    """Freeze the picture (or black it with {"blank": true}); scene time and cues stop."""
    return (await controller.pause(session_id, blank=body.blank if body else False)).to_json()


@router.post("/sessions/{session_id}/resume")
async def resume(session_id: str, controller: ControllerDep, client: ClientDep) -> dict[str, Any]:
    return (await controller.resume(session_id)).to_json()


@router.post("/sessions/{session_id}/replay")
async def replay(session_id: str, controller: ControllerDep, client: ClientDep) -> dict[str, Any]:
    """Play the current scene again from its start."""
    return (await controller.replay(session_id)).to_json()


@router.post("/sessions/{session_id}/restart")
async def restart(session_id: str, controller: ControllerDep, client: ClientDep) -> dict[str, Any]:
    """Go back to the scenario's first scene, keeping the record."""
    return (await controller.restart(session_id)).to_json()


@router.post("/sessions/{session_id}/flag")
async def flag(
    session_id: str, body: FlagBody, controller: ControllerDep, client: ClientDep
) -> dict[str, Any]:
    """Mark this moment for the debrief, with an optional note."""
    return (await controller.flag(session_id, body.note.strip())).to_json()


@router.post("/sessions/{session_id}/end")
async def end(session_id: str, controller: ControllerDep, client: ClientDep) -> dict[str, Any]:
    return (await controller.end(session_id)).to_json()
