from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from appliance.scoring import score_session
from web_ui.deps import ClientDep, ControllerDep, ServiceDep

router = APIRouter(prefix="/api", tags=["sessions"])

Name = Annotated[str, Field(min_length=1, max_length=60)]


class TraineeIn(BaseModel):
    """A trainee with an optional role (e.g. nurse, security officer)."""

    name: Name
    role: Annotated[str, Field(max_length=60)] | None = None


class StartBody(BaseModel):
    scenario_id: Annotated[str, Field(min_length=1, max_length=64)]
    trainees: Annotated[list[Name | TraineeIn], Field(min_length=1, max_length=30)]
    """Names, or ``{"name", "role"}`` objects."""
    instructor: Annotated[str, Field(max_length=60)] = ""
    safety_officer: Annotated[str, Field(max_length=60)] = ""

    @field_validator("trainees")
    @classmethod
    def _names(cls, items: list[str | TraineeIn]) -> list[TraineeIn]:
        cleaned = [
            TraineeIn(name=i.strip()) if isinstance(i, str) else TraineeIn(name=i.name.strip(), role=i.role)
            for i in items
        ]
        if any(not t.name for t in cleaned):
            raise ValueError("trainee names must not be blank")
        if len({t.name for t in cleaned}) != len(cleaned):
            raise ValueError("trainee names must be unique within a session")
        for t in cleaned:
            t.role = (t.role or "").strip() or None
        return cleaned


class BranchBody(BaseModel):
    choice: Annotated[str, Field(min_length=1, max_length=64)]


class FlagBody(BaseModel):
    note: Annotated[str, Field(max_length=500)] = ""


@router.get("/state")
async def state(
    controller: ControllerDep,
    client: ClientDep,
    events: Annotated[bool, Query(description="include the session's events so far")] = True,
) -> JSONResponse:
    """The live state: the running session, its scene and choices, and (unless events=false) its
    events so far; a poller that only needs the scene should ask without them."""
    # Sent as is (JSONResponse: plain json.dumps): the snapshot is JSON-ready already, and FastAPI's
    # generic encoder walks every value of every event again (25 ms p95 for a session of ~900
    # events on this machine, bench/panel_api.py).
    return JSONResponse(controller.snapshot(include_events=events))


@router.post("/sessions", status_code=201)
async def start_session(body: StartBody, controller: ControllerDep, client: ClientDep) -> dict[str, Any]:
    """Start a session (409 while another one runs); the first scene starts playing."""
    trainees = [t for t in body.trainees if isinstance(t, TraineeIn)]
    row = await controller.start_session(
        body.scenario_id,
        [t.name for t in trainees],
        body.instructor.strip(),
        trainee_roles={t.name: t.role for t in trainees},
        safety_officer=body.safety_officer.strip(),
    )
    return controller.snapshot(include_events=False)["session"] or row.to_json()


@router.get("/sessions")
async def list_sessions(
    service: ServiceDep,
    client: ClientDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
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


class RubricBody(BaseModel):
    item: Annotated[str, Field(min_length=1, max_length=64)]
    score: int
    """0 up to the item's max_score."""
    trainee: Annotated[str, Field(min_length=1, max_length=60)] | None = None
    """A trainee of the session, or null for the whole group."""


@router.post("/sessions/{session_id}/rubric")
async def score_rubric(
    session_id: str, body: RubricBody, controller: ControllerDep, client: ClientDep
) -> dict[str, Any]:
    """Score one rubric item (live or after the end); the latest score per item and trainee counts."""
    try:
        row = await controller.score_rubric(session_id, body.item, body.score, body.trainee)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return row.to_json()
