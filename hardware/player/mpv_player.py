"""MpvPlayer: the Player on libmpv (python-mpv), wrapped narrowly.

One mpv instance lives from ``open()`` to ``close()``. Commands come from the caller's worker
thread; everything mpv reports arrives on python-mpv's event thread, where a small state
machine per segment (``mpv_segments``) turns it into ``SegmentStarted`` / ``SegmentEnded`` /
``PlayerFault``. docs/player.md explains the design and the measurements behind it.

How a segment is tracked (``_Segment.phase``):

``issued``   the ``loadfile`` / ``seek`` was sent with ``command_async``. Its reply arrives on
             the event thread in order with mpv's events, so anything before it is older.
``loading``  (loadfile only) the reply gave the playlist entry id; wait for its ``start-file``.
``armed``    the next ``playback-restart`` at a position inside the segment is its first frame
             on screen → ``SegmentStarted`` (measured: 1–2 ms after the frame was presented).
``started``  every ``time-pos`` change re-reads the position and ``decide()``s: report the end
             when the last frame is up, or go on into the ``set_next`` successor (play straight
             on when adjacent, else a timer seeks/loads ``next_lead_s`` before the end).
``ended``    mpv holds the last frame: its ``end`` property is the segment's end.

Same file → ``seek <start> absolute+exact`` (no audio re-init; one keyframe to decode when the
packer put a keyframe on every segment start); another file → ``loadfile replace``.

A new ``play_segment`` replaces ``_seg`` under the lock and events are emitted with the lock
held, so a replaced token can never emit. ``emit`` must therefore not block.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hardware.events import Emit, PlayerFault, SegmentEnded, SegmentStarted
from hardware.player.idle_card import IdleCard, Overlays
from hardware.player.mpv_events import MpvEventHandlers
from hardware.player.mpv_options import REQUIRED_OPTIONS, build_options
from hardware.player.mpv_segments import (
    NextSegment,
    _Segment,
    can_continue,
    check_times,
    decide,
    handover_delay,
)
from hardware.player.still import StillOverlay

log = logging.getLogger(__name__)

RenderHook = Callable[[Any], Callable[[], None]]
"""Given the ``mpv.MPV`` instance (``vo=libmpv``), attach a render context and return the
function that frees it; ``close()`` calls that before mpv is terminated."""

DEFAULT_NEXT_LEAD_S = 0.008
"""How long before a segment's end a non-adjacent successor is sought (see ``set_next``): about
the time a seek takes to show its first frame (bench: median 3-7 ms, p95 5-11 ms here)."""

__all__ = ["DEFAULT_NEXT_LEAD_S", "REQUIRED_OPTIONS", "MpvPlayer", "RenderHook"]


class MpvPlayer(MpvEventHandlers):
    """Plays segments with libmpv. ``options`` are mpv options (e.g. ``{"vo": "null", "ao":
    "null"}`` for tests, ``{"vo": "gpu", "gpu-context": "drm"}`` on the Pi), merged over
    ``DEFAULT_OPTIONS`` and under ``REQUIRED_OPTIONS``.

    ``next_lead_s``: a successor from ``set_next`` that needs a seek is sought this long before
    the end (timed from the last frame's arrival). ``render_hook``: see ``RenderHook``.
    """

    name = "mpv"

    def __init__(
        self,
        emit: Emit,
        *,
        options: dict[str, str] | None = None,
        idle_card: IdleCard | None = None,
        mpv_loglevel: str = "info",
        next_lead_s: float = DEFAULT_NEXT_LEAD_S,
        render_hook: RenderHook | None = None,
    ) -> None:
        self._emit = emit
        self._options = dict(options or {})
        self._overlays = Overlays(idle_card or IdleCard())
        self._still = StillOverlay()
        self._mpv_loglevel = mpv_loglevel
        self.next_lead_s = max(0.0, float(next_lead_s))
        self._render_hook = render_hook
        self._release_render: Callable[[], None] | None = None
        self._lock = threading.RLock()
        self._mpv: Any = None  # mpv.MPV once open
        self._ids: Any = None  # mpv.MpvEventID
        self._seg: _Segment | None = None
        self._file: Path | None = None  # media mpv has loaded (confirmed by file-loaded)
        self._file_entry: int | None = None  # its playlist entry id
        self._paused = False  # what we last told mpv
        self._handover: threading.Timer | None = None  # sends a successor's seek on time

    # -- lifecycle -----------------------------------------------------------------------
    def mpv_options(self) -> dict[str, str]:
        """The options ``open()`` gives mpv."""
        return build_options(self._options)

    def open(self) -> None:
        """Start mpv and show the idle card.

        Raises OSError if libmpv cannot be loaded or mpv cannot start (e.g. no display).
        """
        with self._lock:
            if self._mpv is not None:
                return
            import mpv  # libmpv is loaded here, so this module imports without it

            opts = self.mpv_options()
            # vo=libmpv: the render context must exist before mpv makes a window (force-window).
            later = {k: opts.pop(k) for k in ("force-window",) if self._render_hook and k in opts}
            try:
                player = mpv.MPV(log_handler=self._on_log, loglevel=self._mpv_loglevel, **opts)
            except Exception as exc:  # e.g. the video output cannot be opened (force-window)
                vo = opts.get("vo", "auto")
                why = exc.args[0] if exc.args else exc
                raise OSError(f"mpv failed to start with vo={vo} (no usable display?): {why}") from exc
            self._ids = mpv.MpvEventID
            self._mpv = player
            self._seg = None
            self._file = self._file_entry = None
            self._paused = False
            self._overlays.reset()
            self._still.reset()
            try:
                if self._render_hook is not None:
                    self._release_render = self._render_hook(player)
                for key, value in later.items():
                    player[key] = value
                player.register_event_callback(self._on_event)
                player.observe_property("time-pos", self._on_time_pos)
                player.observe_property("eof-reached", self._on_eof)
                self._set_idle_card(True)
            except Exception as exc:
                self._mpv = None
                self._release_render_quietly()
                player.terminate()
                raise OSError(f"mpv started but could not be set up: {exc}") from exc
            log.info("mpv %s started (%s)", getattr(player, "mpv_version", "?"), self._options)

    def close(self) -> None:
        with self._lock:
            self._cancel_handover()
            player, self._mpv = self._mpv, None
            self._seg = None
            self._file = self._file_entry = None
        if player is None:
            return
        if self._release_render is not None:
            try:  # no window to remake once the render context is gone
                player["force-window"] = "no"
                player.command("stop")
            except Exception:
                log.debug("mpv did not take force-window=no before closing", exc_info=True)
        self._release_render_quietly()  # a render context must go before the core
        try:
            player.terminate()
        except Exception:
            log.exception("mpv did not terminate cleanly")

    # -- commands (worker thread) --------------------------------------------------------
    def play_segment(self, media: Path, start_s: float, end_s: float | None, token: int) -> None:
        media = Path(media)
        check_times(start_s, end_s)
        with self._lock:
            player = self._require_open()
            if getattr(player, "core_shutdown", False):
                self._fault_locked(f"mpv is not running (it shut down); cannot play {media}")
                return
            self._start_locked(self._segment(media, start_s, end_s, token))

    def set_next(self, media: Path, start_s: float, end_s: float | None, token: int) -> None:
        """When the current segment reaches its end, go straight on into this one.

        Same file, starting exactly at the current end, and given at least ``AUDIO_AHEAD_S``
        before the end (call it right after ``play_segment``): mpv just plays on (no seek)
        and, when the first frame past the boundary is up, ``SegmentEnded(current)`` and
        ``SegmentStarted(token)`` are emitted together. Otherwise the seek (or load) is sent
        ``next_lead_s`` before the end and both events are emitted when its first frame is
        shown. If the current segment has already ended, the successor starts at once; with
        nothing loaded (idle, after a fault) the call is ignored. ``play_segment`` and
        ``show_idle`` cancel it; a second ``set_next`` replaces it.
        """
        media = Path(media)
        check_times(start_s, end_s)
        nxt = NextSegment(media, float(start_s), None if end_s is None else float(end_s), token)
        with self._lock:
            self._require_open()
            seg = self._seg
            if seg is None:
                log.debug("set_next(%s) ignored: nothing is playing", token)
                return
            if seg.phase == "ended":
                self._start_locked(self._segment(media, start_s, end_s, token))
                return
            tp = self._get("time-pos") if seg.phase == "started" else None
            if can_continue(seg, nxt, None if tp is None else float(tp)):
                nxt = dataclasses.replace(nxt, continues=True)
            self._cancel_handover()  # a pending successor's timer; this one replaces it
            seg.next = nxt
            try:  # continuing: mpv plays straight on through the boundary
                self._set_end(nxt.end_s if nxt.continues else seg.end_s)
            except Exception as exc:
                log.exception("mpv refused the end of %s", token)
                self._fault_locked(f"mpv could not continue into {media}: {exc}")
                return
            if seg.phase == "started":
                self._advance_locked(seg)

    def pause(self, blank: bool = False) -> None:
        """Freeze the picture on the current frame; ``blank=True`` shows a black screen instead."""
        with self._lock:
            if self._mpv is None:
                return
            if self._seg is not None:
                self._set_pause(True)
            if blank:
                self._set_blank(True)

    def resume(self) -> None:
        with self._lock:
            if self._mpv is None:
                return
            self._set_blank(False)
            if self._seg is not None and self._seg.phase != "ended":
                self._set_pause(False)

    def show_idle(self, text: str | None = None) -> None:
        """Stop the segment and show the idle card, with one more line of ``text`` if given."""
        with self._lock:
            self._cancel_handover()
            self._seg = None
            self._file = self._file_entry = None
            if self._mpv is None:
                return
            try:
                self._mpv.command("stop")
                self._set_end(None)
                if self._paused:  # so the next file does not start paused
                    self._set_pause(False)
                self._set_blank(False)
                self._set_idle_card(True, text)
            except Exception as exc:
                log.exception("mpv could not show the idle card")
                self._emit(PlayerFault(f"mpv could not show the idle card: {exc}", time.monotonic()))

    def show_still(self, image: np.ndarray | None) -> None:
        """Show ``image`` (BGR uint8, HxWx3) full screen over everything, or take it away (None).

        An ``overlay-add`` bitmap fitted to the output like a video of that size (``still.py``);
        what plays underneath goes on as before, and only ``show_still(None)`` (or ``close``)
        removes it. Raises ValueError for a wrong array, RuntimeError when not open and OSError
        when mpv refuses.
        """
        with self._lock:
            player = self._require_open()
            try:
                self._still.show(player, image)
            except ValueError:
                raise
            except Exception as exc:
                what = "show" if image is not None else "remove"
                raise OSError(f"mpv could not {what} the still: {exc}") from exc

    def position(self) -> float | None:
        with self._lock:
            seg = self._seg
            if seg is None or self._mpv is None:
                return None
            if seg.phase not in ("started", "ended"):
                return 0.0
            tp = self._get("time-pos")
            if tp is None:
                return 0.0
            pos = float(tp) - seg.start_s
            if seg.end_s is not None:
                pos = min(pos, seg.end_s - seg.start_s)
            return max(0.0, pos)

    # -- internals -----------------------------------------------------------------------
    def _require_open(self) -> Any:
        if self._mpv is None:
            raise RuntimeError("MpvPlayer is not open")
        return self._mpv

    def _release_render_quietly(self) -> None:
        release, self._release_render = self._release_render, None
        if release is not None:
            try:
                release()
            except Exception:
                log.exception("releasing the render context failed")

    def _segment(self, media: Path, start_s: float, end_s: float | None, token: int) -> _Segment:
        loads = self._file is None or self._file != media.resolve()
        return _Segment(token, media, float(start_s), None if end_s is None else float(end_s), loads)

    def _start_locked(self, seg: _Segment) -> None:
        """Make ``seg`` current and send its loadfile/seek (lock held).

        mpv's ``end`` must move before the command (a seek past the old end would stop at
        once), but moving it while mpv holds the old end would let the old segment play on;
        so a held end is paused over the move and released after the command.
        """
        player = self._mpv
        old = self._seg
        self._cancel_handover()
        self._seg = seg
        on_reply = functools.partial(self._on_reply, seg)
        try:
            held = (old is not None and old.phase == "ended") or bool(self._get("eof-reached"))
            if held and not self._paused:
                self._set_pause(True)
            self._set_end(seg.end_s)
            if seg.loads:
                self._file = self._file_entry = None
                player.command_async(
                    "loadfile",
                    url=str(seg.media),
                    flags="replace",
                    options=f"start={seg.start_s:.6f}",
                    callback=on_reply,
                )
            else:
                player.command_async("seek", f"{seg.start_s:.6f}", "absolute+exact", callback=on_reply)
            if self._paused:  # after the command: a held frame must not advance before it
                self._set_pause(False)
            self._set_blank(False)
            self._set_idle_card(False)
        except Exception as exc:
            log.exception("mpv refused to play %s", seg.media)
            self._fault_locked(f"mpv could not play {seg.media}: {exc}")

    def _set_end(self, end_s: float | None) -> None:
        """mpv's own ``end``: it never shows a frame at or past it, however late we are."""
        self._mpv["end"] = "none" if end_s is None else f"{end_s:.6f}"

    def _set_idle_card(self, visible: bool, text: str | None = None) -> None:
        self._overlays.show_card(self._mpv, visible, text)

    def _set_blank(self, visible: bool) -> None:
        try:
            self._overlays.show_blank(self._mpv, visible)
        except Exception as exc:
            log.exception("mpv could not %s the blank screen", "show" if visible else "hide")
            self._emit(PlayerFault(f"mpv could not change the blank screen: {exc}", time.monotonic()))

    def _set_pause(self, paused: bool) -> None:
        try:
            self._mpv.pause = paused
            self._paused = paused
        except Exception as exc:
            log.exception("mpv could not %s", "pause" if paused else "resume")
            self._fault_locked(f"mpv could not {'pause' if paused else 'resume'}: {exc}")

    def _end_locked(self, seg: _Segment) -> None:
        # mpv stops by itself at ``end`` and holds the last frame (keep-open); no pause needed.
        seg.phase = "ended"
        self._emit(SegmentEnded(seg.token, time.monotonic()))

    def _advance_locked(self, seg: _Segment) -> None:
        """Act on the current position of a started segment (see ``mpv_segments.decide``)."""
        for _ in range(8):  # a chain of very short adjacent successors, bounded
            tp = self._get("time-pos")
            eof = bool(self._get("eof-reached"))
            nxt = seg.next
            action = decide(seg, None if tp is None else float(tp), eof, self.next_lead_s)
            if action == "end":
                self._end_locked(seg)
            elif action == "hand_over" and nxt is not None:
                delay = handover_delay(seg, None if tp is None else float(tp), eof, self.next_lead_s)
                if delay <= 0.001:
                    self._hand_over_locked(seg, nxt)
                elif self._handover is None:
                    timer = threading.Timer(delay, self._on_handover_due, (seg, nxt))
                    timer.daemon = True
                    self._handover = timer
                    timer.start()
            elif action == "roll_over" and nxt is not None:
                new = _Segment(nxt.token, nxt.media, nxt.start_s, nxt.end_s, loads=False, phase="started")
                new.frame_s = seg.frame_s
                self._seg = new
                now = time.monotonic()
                self._emit(SegmentEnded(seg.token, now))
                self._emit(SegmentStarted(new.token, now))
                seg = new
                continue
            return
