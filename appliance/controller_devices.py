"""The controller's reactions to the player, the camera and its own timers.

A mixin of ``Controller``: segment starts and ends (including the player running on into an
``on_end`` successor by itself), timeouts, threat cues, hits judged against the scene's zones,
player faults, and the camera self-check before a session.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from appliance.scenario.model import ZoneKind
from hardware.events import HitDetected, PlayerFault, SegmentEnded, SegmentStarted

if TYPE_CHECKING:
    from appliance.controller import Controller
    from appliance.live_session import LiveSession

log = logging.getLogger(__name__)


class DeviceReactions:
    """Mixed into ``Controller``; every coroutine runs under the controller's lock."""

    async def _camera_self_check(self: Controller, live: LiveSession) -> None:
        """Before the first scene: do projected dots map back through the calibration?"""
        if self.camera is None:
            return
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(None, self.camera.self_check)
        if result is None:
            await self._record(live, "calibration_check", "system", {"passed": None, "message": "not run"})
            return
        if not result.passed:
            log.warning("camera self-check failed: %s", result.message)
        summary = result.to_dict()
        data = {key: summary[key] for key in ("passed", "max_error", "message")}
        await self._record(live, "calibration_check", "system", data)

    async def _on_segment_started(self: Controller, event: SegmentStarted) -> None:
        live = self.live
        if live is not None and live.next_token is not None and event.token == live.next_token:
            # The player ran on into the on_end successor by itself (no gap): record the transition.
            goto = live.scene.on_end
            if goto is not None and live.status == "running":
                await self._record(
                    live,
                    "branch",
                    "segment_end",
                    {"from": live.scene_id, "to": goto, "how": "on_end"},
                    t_mono=event.t_mono,
                )
                await self._enter_scene(live, goto, "segment_end", playing_token=event.token)
                live.scene_started_mono = event.t_mono
                if self.cues is not None:
                    self.cues.segment_started(event.t_mono)
                live.timers.start(live.scene_time(self.clock.monotonic()))
                self._publish_state()
            return
        if live is not None and event.token == live.token and live.status != "ended":
            # The picture's own start is the scene's time origin (zones and timeouts follow it).
            live.scene_started_mono = event.t_mono
            if self.cues is not None:
                self.cues.segment_started(event.t_mono)
            if live.status == "running":
                live.timers.start(live.scene_time(self.clock.monotonic()))

    async def _on_segment_ended(self: Controller, event: SegmentEnded) -> None:
        live = self.live
        if live is None or event.token != live.token or live.status == "ended":
            return
        scene = live.scene
        if scene.outcome is not None:
            await self._end(live, "segment_end", scene.outcome)
        elif scene.on_end is not None:
            if live.next_token is None:  # the player was not told of the successor (paused at the end)
                await self._transition(
                    live, scene.on_end, "segment_end", {"how": "on_end"}, t_mono=event.t_mono
                )
        else:
            live.held = True
            self._publish_state()

    async def _on_timeout(self: Controller, token: int) -> None:
        live = self.live
        if live is None or live.token != token or live.status != "running" or live.scene.timeout is None:
            return
        await self._transition(live, live.scene.timeout.goto, "timeout", {"how": "timeout"})

    async def _on_threat_cue(self: Controller, token: int, scene_t: float) -> None:
        """A threat zone opens: the moment 'time to first shot' is measured from."""
        live = self.live
        if live is None or live.token != token or live.status == "ended":
            return
        zones = [z.id for z in live.scene.zones if z.kind == ZoneKind.threat and z.from_s == scene_t]
        t_mono = live.scene_started_mono + live.scene_paused_total + scene_t
        await self._record(live, "threat_cue", "system", {"zones": zones, "scene_t": scene_t}, t_mono=t_mono)

    async def _on_hit(self: Controller, event: HitDetected) -> None:
        live = self.live
        if live is None or live.status == "ended":
            log.debug("hit outside a session ignored: %s", event)
            return
        scene_t = live.scene_time(event.t_mono)
        zones = live.zones_at(event.x, event.y, scene_t)
        await self._record(
            live,
            "hit",
            "hit",
            {
                "x": round(event.x, 5),
                "y": round(event.y, 5),
                "color": event.color,
                "source": event.source,
                "scene_t": round(scene_t, 3),
                "zones": [{"id": z.id, "kind": z.kind.value} for z in zones],
            },
            t_mono=event.t_mono,
        )
        if live.status != "running":
            return
        for rule in live.scene.on_hit:
            if any(rule.zone == z.id or rule.kind == z.kind for z in zones):
                await self._transition(
                    live,
                    rule.goto,
                    "hit",
                    {"how": "on_hit", "zone": rule.zone or rule.kind},
                    t_mono=event.t_mono,
                )
                return

    def _on_player_fault(self: Controller, event: PlayerFault) -> None:
        log.error("player fault: %s", event.message)
        warnings = self.hardware_info.setdefault("warnings", [])
        message = f"player: {event.message}"
        if message not in warnings:
            warnings.append(message)
        self._publish_state()
