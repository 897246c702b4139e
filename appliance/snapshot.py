"""The live state as the tablets see it: built from the controller's session, read-only."""

from __future__ import annotations

from typing import Any

from appliance.live_session import LiveSession
from appliance.scenario.model import Choice

DEFAULT_COLOURS = {"de-escalate": "#2e7d32", "comply": "#1565c0", "escalate": "#c62828", "neutral": "#616161"}


def choice_json(choice: Choice) -> dict[str, Any]:
    return {
        "id": choice.id,
        "label": choice.label,
        "kind": choice.kind.value,
        "colour": choice.colour or DEFAULT_COLOURS[choice.kind.value],
        "hotkey": choice.hotkey,
        "goto": choice.goto,
    }


def live_snapshot(
    live: LiveSession | None, hardware_info: dict[str, Any], now_mono: float, *, include_events: bool = True
) -> dict[str, Any]:
    """STATE of docs/api.md: the session, its scene and choices, and (optionally) its events."""
    state: dict[str, Any] = {"session": None, "scene": None, "scene_time_s": 0.0, "hardware": hardware_info}
    if include_events:
        state["events"] = []
    if live is None:
        return state
    row = live.row.to_json()
    row.update(status=live.status, outcome=live.outcome, path=list(live.path))
    state["session"] = row
    scene = live.scene
    state["scene"] = {
        "id": live.scene_id,
        "title": scene.title,
        "description": scene.description,
        "choices": [choice_json(c) for c in scene.choices] if live.status != "ended" else [],
        "held": live.held,
        "outcome": scene.outcome,
        "on_end": scene.on_end,
        "timeout_s": scene.timeout.after_s if scene.timeout else None,
    }
    state["scene_time_s"] = round(live.scene_time(now_mono), 3)
    if include_events:
        state["events"] = [e.to_json() for e in live.events]
    return state
