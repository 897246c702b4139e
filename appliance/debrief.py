"""The debrief of a session, assembled from its event log (never from live objects).

The timeline (every event), the scores, the rubric with its totals, the path taken with a link
to the branch graph highlighting it, and each hit with the link to the frame it landed on.
``scene_time_at`` finds where in its scene any event happened, which the "replay this moment"
action (``controller_review.py``) and the hit frames use.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from appliance.errors import NotFound
from appliance.records import EventRow
from appliance.rubric import rubric_items, rubric_totals
from appliance.scenario.model import Manifest
from appliance.scoring import score_session


def scene_time_at(events: list[EventRow], seq: int) -> tuple[str, float]:
    """(scene id, scene time in seconds) of event ``seq``: how far into its scene it happened.

    Hits, flags and threat cues carry their scene time; for other events it is the time since
    the scene was entered, less the pauses in between. NotFound for an unknown seq; ValueError
    for an event outside any scene (e.g. the session's start before the first scene).
    """
    index = next((i for i, e in enumerate(events) if e.seq == seq), None)
    if index is None:
        raise NotFound(f"no event {seq} in this session")
    event = events[index]
    if not event.scene_id:
        raise ValueError(f"event {seq} ({event.kind}) did not happen during a scene")
    if isinstance(event.data.get("scene_t"), int | float):
        return event.scene_id, max(0.0, float(event.data["scene_t"]))
    entered = next(
        (
            i
            for i in range(index, -1, -1)
            if events[i].kind == "scene_entered" and events[i].scene_id == event.scene_id
        ),
        None,
    )
    if entered is None:
        return event.scene_id, 0.0
    paused, paused_at = 0.0, None
    for e in events[entered + 1 : index + 1]:
        if e.kind == "paused":
            paused_at = e.t_mono
        elif e.kind == "resumed" and paused_at is not None:
            paused += e.t_mono - paused_at
            paused_at = None
    end = paused_at if paused_at is not None else event.t_mono
    return event.scene_id, max(0.0, end - events[entered].t_mono - paused)


def graph_url(scenario_id: str, path: list[str]) -> str:
    return f"/api/scenarios/{quote(scenario_id)}/graph.svg?path=" + quote(",".join(path), safe=",")


def build_debrief(
    session: dict[str, Any], events: list[EventRow], manifest: Manifest | None
) -> dict[str, Any]:
    """The debrief document of ``GET /api/sessions/{id}/debrief`` (see docs/api.md).

    ``session`` is the session's JSON; ``manifest`` the scenario as the library has it now
    (None if it was removed: the rubric falls back to the built-in items).
    """
    session_id = session["id"]
    items = rubric_items(manifest)
    path = [e.scene_id for e in events if e.kind == "scene_entered" and e.scene_id]
    hits = []
    for e in events:
        if e.kind != "hit":
            continue
        hits.append(
            {
                "seq": e.seq,
                "x": e.data.get("x"),
                "y": e.data.get("y"),
                "zones": e.data.get("zones", []),
                "scene_id": e.scene_id,
                "scene_t": e.data.get("scene_t"),
                "t_session_s": round(e.t_session_s, 3),
                "frame_url": f"/api/sessions/{quote(session_id)}/events/{e.seq}/frame.jpg",
            }
        )
    return {
        "session": session,
        "events": [e.to_json() for e in events],
        "score": score_session(events),
        "rubric": {"items": items, "totals": rubric_totals(events, items, session.get("trainees") or [])},
        "path": path,
        "graph_url": graph_url(session["scenario_id"], path),
        "hits": hits,
        "scenario_available": manifest is not None,
    }
