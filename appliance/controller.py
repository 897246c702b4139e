"""The controller: the branching state machine, owned by the event loop.

Every change to the live state goes through here, one action at a time (an asyncio lock keeps
API calls, timers and hardware events from interleaving). Each action drives the player through
its device worker, commits its event to the record before returning (acknowledged = on disk),
and then tells the connected clients.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from appliance.camera_service import CameraService
from appliance.clock import Clock
from appliance.controller_devices import DeviceReactions
from appliance.controller_inputs import InputReactions
from appliance.controller_review import ReviewActions
from appliance.cues import CueScheduler, cue_problems
from appliance.device_worker import DeviceWorker
from appliance.errors import InvalidTransition, NotFound, ScenarioError
from appliance.events import EventBus
from appliance.live_session import LiveSession
from appliance.records import EventRow, Records, SessionRow
from appliance.scenario.library import ScenarioLibrary
from appliance.scenario.model import ZoneKind
from appliance.scene_timers import SceneTimers
from hardware.events import (
    HitDetected,
    InputChanged,
    InputGesture,
    PlayerFault,
    SegmentEnded,
    SegmentStarted,
)
from hardware.player.base import Player

log = logging.getLogger(__name__)


class Controller(InputReactions, DeviceReactions, ReviewActions):
    def __init__(
        self,
        *,
        library: ScenarioLibrary,
        records: Records,
        player: Player,
        player_worker: DeviceWorker,
        bus: EventBus,
        clock: Clock,
        hardware_info: dict[str, Any] | None = None,
        cues: CueScheduler | None = None,
        actions: dict[str, str] | None = None,
        output_names: list[str] | None = None,
        status_light: Callable[[str], None] | None = None,
        camera: CameraService | None = None,
    ) -> None:
        self.library = library
        self.records = records
        self.player = player
        self.player_worker = player_worker
        self.bus = bus
        self.clock = clock
        self.hardware_info = hardware_info or {"mode": "sim", "warnings": []}
        self.cues = cues
        self.actions = actions or {}
        self.output_names = output_names
        self.status_light = status_light
        self.camera = camera
        self.idle_text: str | None = None
        """A line under the projector's idle card between sessions (the panel address and PIN)."""
        self.estops_engaged: set[str] = set()
        self.live: LiveSession | None = None
        self._lock = asyncio.Lock()
        self._token = 0
        bus.on(SegmentStarted, self._spawn(self._on_segment_started))
        bus.on(SegmentEnded, self._spawn(self._on_segment_ended))
        bus.on(SegmentEnded, self._spawn(self._on_replay_segment_ended))
        bus.on(HitDetected, self._spawn(self._on_hit))
        bus.on(InputChanged, self._spawn(self._on_input))
        bus.on(InputGesture, self._spawn(self._on_gesture))
        bus.on(PlayerFault, self._on_player_fault)

    # ---- helpers -------------------------------------------------------------------------
    def _spawn(self, handler: Any) -> Any:
        def start(*args: Any) -> None:
            task = asyncio.ensure_future(self._locked(handler, *args))
            task.add_done_callback(_log_task_failure)

        return start

    def _show_status(self, pattern: str) -> None:
        if self.status_light is not None:
            self.status_light(pattern)

    async def _locked(self, handler: Any, *args: Any) -> Any:
        async with self._lock:
            return await handler(*args)

    def _require(self, session_id: str, *, active: bool = True) -> LiveSession:
        live = self.live
        if live is None or live.id != session_id:
            raise NotFound(f"no running session {session_id!r}")
        if active and live.status == "ended":
            raise InvalidTransition(f"session {session_id} has ended")
        return live

    async def _record(
        self,
        live: LiveSession,
        kind: str,
        actor: str,
        data: dict[str, Any] | None = None,
        *,
        t_mono: float | None = None,
    ) -> EventRow:
        t_mono = self.clock.monotonic() if t_mono is None else t_mono
        live.seq += 1
        row = EventRow(
            session_id=live.id,
            seq=live.seq,
            kind=kind,
            actor=actor,
            scene_id=live.scene_id or None,
            t_mono=t_mono,
            t_wall=time.time(),
            t_session_s=live.session_time(t_mono),
            data=data or {},
        )
        await self.records.append(row)
        live.events.append(row)
        self.bus.broadcast({"type": "event", "event": row.to_json()})
        return row

    def _publish_state(self) -> None:
        self.bus.broadcast({"type": "state", "state": self.snapshot(include_events=False)})

    def _play_scene(self, live: LiveSession, scene_id: str) -> int:
        """Tell the player to show ``scene_id`` now (before its record is on disk); its token."""
        scene = live.package.manifest.scenes[scene_id]
        self._token += 1
        media = live.package.media_path(scene_id)
        self.player_worker.submit(self._timed_play, media, scene.start_s, scene.end_s, self._token)
        return self._token

    def _queue_successor(self, live: LiveSession) -> None:
        """Tell the player where an ``on_end`` scene continues, so it runs on without a gap."""
        live.next_token = None
        scene = live.scene
        if scene.on_end is None or scene.outcome is not None:
            return
        successor = live.package.manifest.scenes[scene.on_end]
        self._token += 1
        live.next_token = self._token
        media = live.package.media_path(scene.on_end)
        self.player_worker.submit(
            self.player.set_next, media, successor.start_s, successor.end_s, self._token
        )

    async def _enter_scene(
        self, live: LiveSession, scene_id: str, actor: str, *, playing_token: int | None = None
    ) -> None:
        """Make ``scene_id`` current; ``playing_token``: the player already shows it (``set_next``)."""
        live.timers.reset()
        live.scene_id = scene_id
        live.held = False
        live.status = "running"
        live.paused_at = None
        live.scene_paused_total = 0.0
        live.scene_started_mono = self.clock.monotonic()
        live.path.append(scene_id)
        live.token = self._play_scene(live, scene_id) if playing_token is None else playing_token
        self._queue_successor(live)
        if self.cues is not None:
            self.cues.scene_entered(live.scene.cues, live.scene_started_mono)
        await self._record(live, "scene_entered", actor, {"title": live.scene.title})
        self._add_scene_timers(live)
        live.timers.start(live.scene_time(self.clock.monotonic()))

    def _add_scene_timers(self, live: LiveSession) -> None:
        """The scene's timeout and threat cue, on the scene's own (pause-aware) clock."""
        scene, token = live.scene, live.token
        if scene.timeout is not None:
            live.timers.add("timeout", scene.timeout.after_s, lambda: self._spawn(self._on_timeout)(token))
        threats = [z for z in scene.zones if z.kind == ZoneKind.threat]
        if threats:
            opens = min(z.from_s for z in threats)
            live.timers.add("threat_cue", opens, lambda: self._spawn(self._on_threat_cue)(token, opens))

    async def _transition(
        self, live: LiveSession, goto: str, actor: str, detail: dict[str, Any], t_mono: float | None = None
    ) -> None:
        token = self._play_scene(live, goto)  # the picture does not wait for the record's fsync
        await self._record(
            live, "branch", actor, {"from": live.scene_id, "to": goto, **detail}, t_mono=t_mono
        )
        await self._enter_scene(live, goto, actor, playing_token=token)
        self._publish_state()

    async def _end(self, live: LiveSession, actor: str, outcome: str) -> None:
        live.timers.stop()
        if self.cues is not None:
            self.cues.stopped()
        self._show_status("fault" if self.estops_engaged else "idle")
        live.status = "ended"
        live.outcome = outcome
        live.paused_at = None
        self.player_worker.submit(self.player.show_idle, self.idle_text)
        row = await self._record(live, "session_ended", actor, {"outcome": outcome})
        await self.records.set_status(live.id, "ended", outcome=outcome, ended_wall=row.t_wall)
        self._publish_state()

    # ---- instructor actions (API) ----------------------------------------------------------
    async def start_session(
        self,
        scenario_id: str,
        trainees: list[str],
        instructor: str = "",
        *,
        trainee_roles: dict[str, str | None] | None = None,
        safety_officer: str = "",
    ) -> SessionRow:
        async with self._lock:
            if self.live is not None and self.live.status != "ended":
                raise InvalidTransition(
                    f"session {self.live.id} ({self.live.row.scenario_title}) is still running: end it first"
                )
            if self.estops_engaged:
                raise InvalidTransition("the emergency stop is engaged: release it before starting")
            package = self.library.get(scenario_id)
            manifest = package.manifest
            if self.output_names is not None:
                missing = cue_problems(manifest, self.output_names)
                if missing:
                    raise ScenarioError(f"{manifest.title} needs outputs this box does not have", missing)
            now_mono = self.clock.monotonic()
            session_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
            row = await self.records.create_session(
                session_id,
                scenario_id=manifest.id,
                scenario_title=manifest.title,
                scenario_version=manifest.version,
                trainees=trainees,
                instructor=instructor,
                started_wall=time.time(),
                trainee_roles=trainee_roles,
                safety_officer=safety_officer,
            )
            live = LiveSession(
                row=row, package=package, started_mono=now_mono, timers=SceneTimers(self.clock)
            )
            self.live, self.moment = live, None
            await self._record(
                live,
                "session_started",
                "instructor",
                {
                    "scenario": manifest.id,
                    "title": manifest.title,
                    "trainees": trainees,
                    "instructor": instructor,
                    "trainee_roles": row.trainee_roles,
                    "safety_officer": safety_officer,
                    "objectives": list(manifest.objectives),
                },
                t_mono=now_mono,
            )
            self._show_status("session")  # first: the camera leaves standby and is at full rate by the scene
            await self._camera_self_check(live)
            await self._enter_scene(live, manifest.start, "system")
            self._publish_state()
            return row

    async def branch(self, session_id: str, choice_id: str, actor: str = "instructor") -> EventRow:
        async with self._lock:
            live = self._require(session_id)
            choice = next((c for c in live.scene.choices if c.id == choice_id), None)
            if choice is None:
                offered = ", ".join(c.id for c in live.scene.choices) or "none"
                raise InvalidTransition(
                    f"scene {live.scene_id!r} has no choice {choice_id!r} (choices: {offered})"
                )
            if live.status == "paused":
                self.player_worker.submit(self.player.resume)
            await self._transition(
                live,
                choice.goto,
                actor,
                {"choice": choice.id, "label": choice.label, "kind": choice.kind.value},
            )
            return live.events[-2]

    async def pause(
        self,
        session_id: str,
        actor: str = "instructor",
        detail: dict[str, Any] | None = None,
        *,
        blank: bool = False,
    ) -> EventRow:
        """Freeze the picture (or black the screen with ``blank``) and stop the scene's clock."""
        async with self._lock:
            detail = {**(detail or {}), "blank": True} if blank else detail
            return await self._pause(self._require(session_id), actor, detail, blank=blank)

    async def _pause(
        self,
        live: LiveSession,
        actor: str,
        detail: dict[str, Any] | None = None,
        t_source: float | None = None,
        *,
        blank: bool = False,
    ) -> EventRow:
        """Pause; ``t_source`` is when the cause happened (a pedal's edge), recorded as the event's time."""
        if live.status == "paused":
            raise InvalidTransition("the session is already paused")
        live.timers.stop()
        live.status = "paused"
        live.paused_at = self.clock.monotonic()
        self.player_worker.submit(self.player.pause, blank)
        if self.cues is not None:
            self.cues.paused(live.paused_at)
        row = await self._record(live, "paused", actor, detail, t_mono=t_source or live.paused_at)
        self._publish_state()
        return row

    async def resume(
        self, session_id: str, actor: str = "instructor", detail: dict[str, Any] | None = None
    ) -> EventRow:
        async with self._lock:
            return await self._resume(self._require(session_id), actor, detail)

    async def _resume(
        self,
        live: LiveSession,
        actor: str,
        detail: dict[str, Any] | None = None,
        t_source: float | None = None,
    ) -> EventRow:
        if live.status != "paused" or live.paused_at is None:
            raise InvalidTransition("the session is not paused")
        if self.estops_engaged:
            raise InvalidTransition("the emergency stop is engaged: release it before resuming")
        now = self.clock.monotonic()
        live.scene_paused_total += now - live.paused_at
        live.paused_at = None
        live.status = "running"
        self.player_worker.submit(self.player.resume)
        live.timers.start(live.scene_time(now))
        if self.cues is not None:
            self.cues.resumed(now)
        self._show_status("session")
        row = await self._record(live, "resumed", actor, detail, t_mono=t_source or now)
        self._publish_state()
        return row

    async def replay(self, session_id: str, actor: str = "instructor") -> EventRow:
        async with self._lock:
            live = self._require(session_id)
            if live.status == "paused":
                self.player_worker.submit(self.player.resume)
            row = await self._record(live, "replayed", actor, {"scene": live.scene_id})
            await self._enter_scene(live, live.scene_id, actor)
            self._publish_state()
            return row

    async def restart(self, session_id: str, actor: str = "instructor") -> EventRow:
        async with self._lock:
            live = self._require(session_id)
            if live.status == "paused":
                self.player_worker.submit(self.player.resume)
            row = await self._record(live, "restarted", actor, {"from": live.scene_id})
            await self._enter_scene(live, live.package.manifest.start, actor)
            self._publish_state()
            return row

    async def flag(self, session_id: str, note: str, actor: str = "instructor") -> EventRow:
        async with self._lock:
            live = self._require(session_id)
            now = self.clock.monotonic()
            return await self._record(
                live, "flagged", actor, {"note": note, "scene_t": round(live.scene_time(now), 3)}, t_mono=now
            )

    async def end(self, session_id: str, actor: str = "instructor", outcome: str | None = None) -> EventRow:
        async with self._lock:
            live = self._require(session_id)
            await self._end(live, actor, outcome or "ended by instructor")
            return live.events[-1]


def _log_task_failure(task: asyncio.Future[Any]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None and not isinstance(exc, (InvalidTransition, NotFound)):
        log.error("controller task failed: %s", exc, exc_info=exc)
