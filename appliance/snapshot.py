"""The live state as the tablets see it: built from the controller's session, read-only.

Besides the scene and its choices: where the scene can lead next (choices and automatic
transitions), the timers' origins (scene start, last threat cue, session time), the rubric
with its totals so far, the scene's media position, and a debrief replay on the projector.
"""

from __future__ import annotations

from typing import Any

from appliance.live_session import LiveSession
from appliance.rubric import rubric_items, rubric_totals
from appliance.scenario.model import Choice, Manifest, Scene

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


def next_steps(manifest: Manifest, scene: Scene) -> list[dict[str, Any]]:
    """Where ``scene`` can lead: each choice, then the automatic transitions, with the target's title."""

    def step(via: str, label: str, goto: str) -> dict[str, Any]:
        target = manifest.scenes.get(goto)
        return {"via": via, "label": label, "goto": goto, "goto_title": target.title if target else goto}

    out = [step(f"choice:{c.id}", c.label, c.goto) for c in scene.choices]
    if scene.on_end:
        out.append(step("end", "at the end of the scene", scene.on_end))
    if scene.timeout:
        out.append(step("timeout", f"after {scene.timeout.after_s:g} s", scene.timeout.goto))
    out += [step(f"on_hit {h.zone or h.kind}", f"hit in {h.zone or h.kind}", h.goto) for h in scene.on_hit]
    out += [step(f"on_input {i.input}", f"input {i.input} pressed", i.goto) for i in scene.on_input]
    return out


def media_time(scene: Scene, scene_t: float) -> float:
    """The media file's position for a scene time (clamped to the segment when its end is known)."""
    if scene.end_s is not None:
        scene_t = min(scene_t, scene.end_s - scene.start_s)
    return scene.start_s + max(0.0, scene_t)


def live_snapshot(
    live: LiveSession | None,
    hardware_info: dict[str, Any],
    now_mono: float,
    *,
    include_events: bool = True,
    replaying: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """STATE of docs/api.md: the session, its scene and choices, and (optionally) its events."""
    state: dict[str, Any] = {
        "session": None,
        "scene": None,
        "scene_time_s": 0.0,
        "hardware": hardware_info,
        "t_session_s": None,
        "last_threat_cue_t_session_s": None,
        "media_time_s": None,
        "rubric": None,
        "replaying": replaying,
    }
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
        "next": next_steps(live.package.manifest, scene) if live.status != "ended" else [],
        "started_t_session_s": round(live.session_time(live.scene_started_mono), 3),
    }
    scene_t = live.scene_time(now_mono)
    state["scene_time_s"] = round(scene_t, 3)
    state["t_session_s"] = round(live.session_time(now_mono), 3)
    cue = next((e for e in reversed(live.events) if e.kind == "threat_cue"), None)
    state["last_threat_cue_t_session_s"] = round(cue.t_session_s, 3) if cue is not None else None
    state["media_time_s"] = round(media_time(scene, scene_t), 3) if live.status != "ended" else None
    items = rubric_items(live.package.manifest)
    state["rubric"] = {"items": items, "totals": rubric_totals(live.events, items, live.row.trainees)}
    if include_events:
        state["events"] = [e.to_json() for e in live.events]
    return state
