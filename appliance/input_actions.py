"""What a GPIO input does in the current scene: a pure decision, executed by the controller.

The box's settings give every input (and its hold / double-press gestures) an action; the
scene may map an input to a transition of its own (``on_input``). Precedence:

- ``emergency_stop`` and ``pause_toggle`` always do just that, whatever the scene says;
- otherwise a scene's ``on_input`` rule for the input wins (a ``shot`` is still recorded first);
- ``branchN`` takes the scene's Nth choice, ``replay`` and ``flag`` do what the tablet's buttons do;
- transitions and replays happen only while the session runs (not paused, not ended).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from appliance.scenario.model import Scene


@dataclass(frozen=True)
class InputDecision:
    emergency_stop: bool = False
    toggle_pause: bool = False
    record_shot: bool = False
    replay: bool = False
    flag: bool = False
    goto: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def does_anything(self) -> bool:
        return any(
            (self.emergency_stop, self.toggle_pause, self.record_shot, self.replay, self.flag, self.goto)
        )


def decide(action: str, name: str, scene: Scene, status: str) -> InputDecision:
    """The decision for a press of input ``name`` (configured ``action``) in ``scene``."""
    if action == "emergency_stop":
        return InputDecision(emergency_stop=True)
    if status == "ended":
        return InputDecision()
    if action == "pause_toggle":
        return InputDecision(toggle_pause=True)
    running = status == "running"
    shot = action == "shot"
    rule = next((r for r in scene.on_input if r.input == name), None)
    if rule is not None:
        if not running:
            return InputDecision(record_shot=shot)
        return InputDecision(record_shot=shot, goto=rule.goto, detail={"how": "on_input", "input": name})
    if action.startswith("branch") and action[6:].isdigit():
        index = int(action[6:]) - 1
        if not running or not 0 <= index < len(scene.choices):
            return InputDecision()
        choice = scene.choices[index]
        detail = {"choice": choice.id, "label": choice.label, "kind": choice.kind.value, "input": name}
        return InputDecision(goto=choice.goto, detail=detail)
    if action == "replay":
        return InputDecision(replay=running)
    if action == "flag":
        return InputDecision(flag=True)
    return InputDecision(record_shot=shot)
