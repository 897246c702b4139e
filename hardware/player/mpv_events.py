"""The event-thread half of MpvPlayer: what python-mpv's event thread calls.

Kept apart from the command half (mpv_player.py) only for size; ``MpvPlayer`` inherits it and
provides the state and helpers declared below. Every handler takes the player's lock, and
never lets an exception escape into python-mpv's event loop. The one timer (a ``set_next``
successor's seek, sent just before the boundary) runs its callback the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from hardware.events import Emit, PlayerFault, SegmentEnded, SegmentStarted
from hardware.player.mpv_options import error_text, log_level
from hardware.player.mpv_segments import NextSegment, _Segment, restart_in_range

log = logging.getLogger("hardware.player.mpv_player")
mpv_log = logging.getLogger("hardware.player.mpv_player.libmpv")


class MpvEventHandlers:
    _emit: Emit
    _lock: threading.RLock
    _mpv: Any
    _ids: Any
    _seg: _Segment | None
    _file: Any
    _file_entry: int | None

    def _current(self) -> _Segment | None:
        return self._seg if self._mpv is not None else None

    def _get(self, name: str) -> Any:
        """Read a property now (lock held, player open); None if unavailable or mpv is gone."""
        try:
            return getattr(self._mpv, name.replace("-", "_"))
        except Exception:
            return None

    def _fault_locked(self, message: str) -> None:
        self._seg = None
        self._file = self._file_entry = None
        log.warning("player fault: %s", message)
        self._emit(PlayerFault(message, time.monotonic()))

    _handover: threading.Timer | None

    def _advance_locked(self, seg: _Segment) -> None:
        raise NotImplementedError

    def _start_locked(self, seg: _Segment) -> None:
        raise NotImplementedError

    def _segment(self, media: Any, start_s: float, end_s: float | None, token: int) -> _Segment:
        raise NotImplementedError

    def _on_log(self, level: str, prefix: str, text: str) -> None:
        try:
            mpv_log.log(log_level(level, prefix), "[%s] %s", prefix, text.rstrip())
        except Exception:
            log.exception("mpv log handler failed")

    def _on_reply(self, seg: _Segment, error: Exception | None, result: Any) -> None:
        try:
            with self._lock:
                if seg is not self._current():
                    return
                what = "load" if seg.loads else "seek in"
                if error is not None:
                    self._fault_locked(f"mpv could not {what} {seg.media}: {error}")
                elif seg.loads:
                    entry = result.get("playlist_entry_id") if isinstance(result, dict) else None
                    seg.entry_id = int(entry) if entry is not None else None
                    seg.phase = "loading"
                else:
                    seg.phase = "armed"
        except Exception:
            log.exception("mpv command reply handler failed")

    def _on_event(self, event: Any) -> None:
        try:
            ids = self._ids
            eid = event.event_id.value
            if eid in (ids.PROPERTY_CHANGE, ids.LOG_MESSAGE):
                return
            with self._lock:
                seg = self._current()
                if eid == ids.SHUTDOWN:
                    self._on_shutdown_locked()
                elif seg is None:
                    return
                elif eid == ids.START_FILE:
                    entry = event.data.playlist_entry_id
                    if seg.phase == "loading" and seg.entry_id in (None, entry):
                        seg.phase = "armed"
                elif eid == ids.FILE_LOADED:
                    if seg.loads and seg.phase == "armed":
                        self._file, self._file_entry = seg.media.resolve(), seg.entry_id
                elif eid == ids.END_FILE:
                    self._on_end_file_locked(seg, event.data)
                elif eid == ids.PLAYBACK_RESTART and seg.phase == "armed":
                    self._on_restart_locked(seg)
        except Exception:
            log.exception("mpv event handler failed")

    def _on_restart_locked(self, seg: _Segment) -> None:
        fps = self._get("container-fps")
        if isinstance(fps, int | float) and fps > 0:
            seg.frame_s = 1.0 / float(fps)
        tp = self._get("time-pos")
        if not restart_in_range(seg, None if tp is None else float(tp)) and not self._get("eof-reached"):
            log.debug("playback-restart at %s is not segment %s's start; waiting", tp, seg.token)
            return
        seg.phase = "started"
        now = time.monotonic()
        if seg.follows is not None:
            self._emit(SegmentEnded(seg.follows, now))
            seg.follows = None
        self._emit(SegmentStarted(seg.token, now))
        self._advance_locked(seg)

    def _on_end_file_locked(self, seg: _Segment, data: Any) -> None:
        if data.reason != data.ERROR:
            return  # replaced or stopped by us; EOF never ends a file with keep-open
        entry = data.playlist_entry_id
        if seg.loads and seg.entry_id in (None, entry):
            reason = "no such file" if not seg.media.exists() else error_text(data.error)
            self._fault_locked(f"mpv could not open {seg.media}: {reason}")
        elif not seg.loads and self._file_entry == entry:
            self._fault_locked(f"mpv stopped playing {seg.media}: {error_text(data.error)}")

    def _on_shutdown_locked(self) -> None:
        if self._mpv is None:
            return  # our own close()
        self._seg = None
        self._file = self._file_entry = None
        log.error("mpv shut down unexpectedly")
        self._emit(PlayerFault("mpv shut down unexpectedly", time.monotonic()))

    def _on_time_pos(self, _name: str, _value: Any) -> None:
        # The delivered value may predate the latest seek, so the position is re-read.
        try:
            with self._lock:
                seg = self._current()
                if seg is not None and seg.phase == "started":
                    self._advance_locked(seg)
        except Exception:
            log.exception("mpv time-pos handler failed")

    def _on_eof(self, _name: str, value: Any) -> None:
        try:
            with self._lock:
                seg = self._current()
                if value and seg is not None and seg.phase == "started":
                    self._advance_locked(seg)
        except Exception:
            log.exception("mpv eof-reached handler failed")

    # -- the successor's timer (see ``mpv_segments.handover_delay``) --------------------
    def _hand_over_locked(self, seg: _Segment, nxt: NextSegment) -> None:
        """Start ``seg``'s non-adjacent successor ``nxt`` (lock held)."""
        new = self._segment(nxt.media, nxt.start_s, nxt.end_s, nxt.token)
        new.follows = seg.token
        new.frame_s = seg.frame_s
        self._start_locked(new)

    def _on_handover_due(self, seg: _Segment, nxt: NextSegment) -> None:
        """Timer thread: the successor's seek is due, unless a branch or stop came first."""
        try:
            with self._lock:
                if self._handover is None or self._current() is not seg or seg.next is not nxt:
                    return
                self._handover = None
                if seg.phase == "started":
                    self._hand_over_locked(seg, nxt)
        except Exception:
            log.exception("handing over to the next segment failed")

    def _cancel_handover(self) -> None:
        timer, self._handover = self._handover, None
        if timer is not None:
            timer.cancel()
