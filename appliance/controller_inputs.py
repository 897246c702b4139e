"""The controller's reactions to GPIO inputs: presses, gestures and the emergency stop.

A mixin of ``Controller`` (it uses the controller's session actions); what an input *means*
in the current scene is decided by the pure ``input_actions.decide``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from appliance.errors import InvalidTransition
from appliance.input_actions import InputDecision, decide
from appliance.settings import DEFAULT_ACTIONS
from hardware.events import InputChanged, InputGesture

if TYPE_CHECKING:
    from appliance.controller import Controller

log = logging.getLogger(__name__)


class InputReactions:
    """Mixed into ``Controller``; every method runs under the controller's lock."""

    def _action_for(self: Controller, key: str) -> str:
        if key in self.actions:
            return self.actions[key]
        return "none" if ":" in key else DEFAULT_ACTIONS.get(key, "none")

    async def _on_input(self: Controller, event: InputChanged) -> None:
        action = self._action_for(event.name)
        if action == "emergency_stop":
            if event.pressed:
                self.estops_engaged.add(event.name)
            else:
                self.estops_engaged.discard(event.name)
        live = self.live
        if live is not None and live.status != "ended":
            data = {"name": event.name, "pressed": event.pressed}
            await self._record(live, "input", "input", data, t_mono=event.t_mono)
        if event.pressed:
            status = live.status if live is not None else "ended"
            scene = live.scene if live is not None else None
            if scene is None:
                if action == "emergency_stop":
                    await self._emergency_stop(event.name, event.t_mono)
                return
            await self._apply_input(event.name, decide(action, event.name, scene, status), event.t_mono)

    async def _on_gesture(self: Controller, event: InputGesture) -> None:
        live = self.live
        action = self._action_for(f"{event.name}:{event.gesture}")
        if live is None or live.status == "ended":
            if action == "emergency_stop":
                await self._emergency_stop(event.name, event.t_mono)
            return
        data = {"name": event.name, "gesture": event.gesture, "action": action}
        await self._record(live, "input_gesture", "input", data, t_mono=event.t_mono)
        await self._apply_input(event.name, decide(action, event.name, live.scene, live.status), event.t_mono)

    async def _apply_input(self: Controller, name: str, decision: InputDecision, t_mono: float) -> None:
        if decision.emergency_stop:
            await self._emergency_stop(name, t_mono)
            return
        live = self.live
        if live is None or live.status == "ended":
            return
        detail: dict[str, Any] = {"input": name}
        if decision.toggle_pause:
            try:
                if live.status == "paused":
                    await self._resume(live, "input", detail, t_mono)
                else:
                    await self._pause(live, "input", detail, t_mono)
            except InvalidTransition as refused:
                log.warning("input %s: %s", name, refused)
            return
        if decision.record_shot:
            await self._record(live, "shot", "input", detail, t_mono=t_mono)
        if decision.flag:
            note = f"flagged with input {name}"
            scene_t = round(live.scene_time(t_mono), 3)
            await self._record(live, "flagged", "input", {"note": note, "scene_t": scene_t}, t_mono=t_mono)
        if decision.replay:
            await self._record(live, "replayed", "input", {"scene": live.scene_id, **detail})
            await self._enter_scene(live, live.scene_id, "input")
            self._publish_state()
        if decision.goto is not None:
            await self._transition(live, decision.goto, "input", decision.detail, t_mono)

    async def _emergency_stop(self: Controller, name: str, t_mono: float) -> None:
        """Freeze the picture, make every output safe, record it; the session waits, paused."""
        self.player_worker.submit(self.player.pause)
        if self.cues is not None:
            self.cues.emergency_stop()
        self._show_status("fault")
        live = self.live
        if live is None or live.status == "ended":
            log.warning("emergency stop from input %s (no session running)", name)
            return
        log.warning("emergency stop from input %s in session %s", name, live.id)
        live.timers.stop()
        if live.status != "paused":
            live.status = "paused"
            live.paused_at = self.clock.monotonic()
        await self._record(live, "emergency_stop", "input", {"input": name}, t_mono=t_mono)
        self._publish_state()
