"""The controller's review actions: rubric scoring, replaying a recorded moment, the projector view.

A mixin of ``Controller``. Rubric scores are events of the session record, written while the
session is live or afterwards during the debrief. A replayed moment plays the scene of a
recorded event on the projector through the same Player and device worker as a session, but
writes nothing to any record; it is refused while a session is live, holds the scene's last
frame when it ends and returns to the idle card ``REPLAY_IDLE_AFTER_S`` later.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.debrief import scene_time_at
from appliance.errors import InvalidTransition, NotFound
from appliance.frames import END_MARGIN_S, ProjectorView
from appliance.records import EventRow
from appliance.rubric import RUBRIC_EVENT, check_score, rubric_items
from appliance.scenario.model import Manifest
from appliance.snapshot import live_snapshot, media_time
from hardware.events import SegmentEnded

if TYPE_CHECKING:
    from appliance.controller import Controller

log = logging.getLogger(__name__)

REPLAY_IDLE_AFTER_S = 5.0
"""A replay holds the scene's last frame this long, then the projector shows the idle card."""


@dataclass
class MomentReplay:
    """A recorded moment playing on the projector (nothing is written to any record)."""

    session_id: str
    scene_id: str
    seq: int
    from_s: float
    """Scene time the replay started from."""
    token: int
    media: Path
    media_start_s: float
    media_end_s: float | None
    started_mono: float
    ended: bool = False

    def public(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "scene_id": self.scene_id,
            "seq": self.seq,
            "from_s": round(self.from_s, 3),
            "ended": self.ended,
        }


class ReviewActions:
    """Mixed into ``Controller``; public coroutines take the controller's lock."""

    moment: MomentReplay | None = None

    def snapshot(self: Controller, *, include_events: bool = True) -> dict[str, Any]:
        """The live state as clients see it (see docs/api.md, STATE)."""
        return live_snapshot(
            self.live,
            self.hardware_info,
            self.clock.monotonic(),
            include_events=include_events,
            replaying=self.moment.public() if self.moment is not None else None,
        )

    def _timed_play(self: Controller, media: Path, start_s: float, end_s: float | None, token: int) -> None:
        """``player.play_segment`` on the worker, logging the monotonic time it is called.

        One INFO line per scene played (what the projector was told, when: useful after an
        incident); bench/panel_api.py reads it to measure instructor action -> player command.
        """
        t_mono = time.monotonic()
        log.info(
            "player command play_segment token %d t_mono %.6f: %s from %.3f s",
            token,
            t_mono,
            media.name,
            start_s,
        )
        self.player.play_segment(media, start_s, end_s, token)

    def _manifest_of(self: Controller, scenario_id: str) -> Manifest | None:
        try:
            return self.library.get(scenario_id).manifest
        except NotFound:
            return None

    # ---- rubric ----------------------------------------------------------------------------
    async def score_rubric(
        self: Controller, session_id: str, item: str, score: int, trainee: str | None = None
    ) -> EventRow:
        """Record a rubric score (live or after the end); ValueError for an unknown item/trainee/score."""
        async with self._lock:
            live = self.live
            if live is not None and live.id == session_id:
                items = rubric_items(live.package.manifest)
                data = check_score(items, item, score, trainee, live.row.trainees)
                row = await self._record(live, RUBRIC_EVENT, "instructor", data)
                self._publish_state()
                return row
            session = await self.records.get_session(session_id)
            if session.status in ("running", "paused"):
                raise InvalidTransition(f"session {session_id} is not the running session")
            items = rubric_items(self._manifest_of(session.scenario_id))
            data = check_score(items, item, score, trainee, session.trainees)
            events = await self.records.events(session_id)
            now = time.time()
            row = EventRow(
                session_id=session_id,
                seq=(events[-1].seq + 1) if events else 1,
                kind=RUBRIC_EVENT,
                actor="instructor",
                scene_id=None,
                t_mono=self.clock.monotonic(),
                t_wall=now,
                t_session_s=max(0.0, now - session.started_wall),
                data=data,
            )
            await self.records.append(row)
            self.bus.broadcast({"type": "event", "event": row.to_json()})
            return row

    # ---- replay a moment -------------------------------------------------------------------
    async def replay_moment(
        self: Controller, session_id: str, seq: int, lead_in_s: float = 3.0
    ) -> MomentReplay:
        """Play the scene of event ``seq`` from ``lead_in_s`` before it; nothing is recorded."""
        async with self._lock:
            live = self.live
            if live is not None and live.status != "ended":
                raise InvalidTransition(
                    f"session {live.id} is running: end it before replaying a moment on the projector"
                )
            if self.estops_engaged:
                raise InvalidTransition("the emergency stop is engaged: release it before replaying")
            session = await self.records.get_session(session_id)
            events = await self.records.events(session_id)
            scene_id, scene_t = scene_time_at(events, seq)
            package = self.library.get(session.scenario_id)
            scene = package.manifest.scenes.get(scene_id)
            if scene is None:
                raise NotFound(f"scenario {package.id} no longer has scene {scene_id!r}")
            from_s = max(0.0, scene_t - max(0.0, lead_in_s))
            start = media_time(scene, from_s)
            if scene.end_s is not None:
                start = min(start, scene.end_s - END_MARGIN_S)
            self._token += 1
            media = package.media_path(scene_id)
            self.moment = MomentReplay(
                session_id=session_id,
                scene_id=scene_id,
                seq=seq,
                from_s=start - scene.start_s,
                token=self._token,
                media=media,
                media_start_s=start,
                media_end_s=scene.end_s,
                started_mono=self.clock.monotonic(),
            )
            self.player_worker.submit(self._timed_play, media, start, scene.end_s, self._token)
            log.info("replaying session %s event %d: scene %s from %.2f s", session_id, seq, scene_id, from_s)
            self._publish_state()
            return self.moment

    async def stop_replay(self: Controller) -> None:
        """Back to the idle card (409 while a session is live: the projector is the session's)."""
        async with self._lock:
            live = self.live
            if live is not None and live.status != "ended":
                raise InvalidTransition(f"session {live.id} is running: the projector shows it")
            self.moment = None
            self.player_worker.submit(self.player.show_idle, self.idle_text)
            self._publish_state()

    async def _on_replay_segment_ended(self: Controller, event: SegmentEnded) -> None:
        replay = self.moment
        if replay is None or event.token != replay.token:
            return
        replay.ended = True
        token = replay.token
        self.clock.call_later(REPLAY_IDLE_AFTER_S, lambda: self._spawn(self._replay_done)(token))
        self._publish_state()

    async def _replay_done(self: Controller, token: int) -> None:
        if self.moment is None or self.moment.token != token:
            return
        self.moment = None
        self.player_worker.submit(self.player.show_idle, self.idle_text)
        self._publish_state()

    # ---- what the projector shows ----------------------------------------------------------
    def projector_view(self: Controller) -> ProjectorView:
        """What the projector shows now: a media frame (session or replay), black, or the idle card."""
        now = self.clock.monotonic()
        replay = self.moment
        if replay is not None:
            at = replay.media_start_s + max(0.0, now - replay.started_mono)
            if replay.media_end_s is not None:
                at = min(at, replay.media_end_s - END_MARGIN_S)
            return ProjectorView("media", replay.media, at)
        live = self.live
        if live is None or live.status == "ended":
            return ProjectorView("idle", text=self.idle_text)
        if live.status == "paused":
            pause = next((e for e in reversed(live.events) if e.kind == "paused"), None)
            if pause is not None and pause.data.get("blank"):
                return ProjectorView("black")
        scene = live.scene
        at = media_time(scene, live.scene_time(now))
        if scene.end_s is not None:
            at = min(at, scene.end_s - END_MARGIN_S)
        return ProjectorView("media", live.package.media_path(live.scene_id), at)
