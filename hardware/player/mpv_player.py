"""MpvPlayer: the Player on libmpv (python-mpv), wrapped narrowly.

One mpv instance lives from ``open()`` to ``close()``. Commands come from the caller's worker
thread; everything mpv reports arrives on python-mpv's event thread, where a small state
machine per segment turns it into ``SegmentStarted`` / ``SegmentEnded`` / ``PlayerFault``.

How a segment is tracked (``_Segment.phase``):

``issued``   the ``loadfile`` / ``seek`` was sent with ``command_async``. Its reply arrives on
             the event thread in order with mpv's events, so anything before the reply belongs
             to an older segment and is ignored.
``loading``  (loadfile only) the reply gave the playlist entry id; wait for its ``start-file``.
``armed``    the next ``playback-restart`` is this segment's first frame → ``SegmentStarted``.
``started``  every ``time-pos`` change re-reads the position; when the next frame would be at
             or past ``end_s`` (or ``eof-reached`` for ``end_s=None``) → pause, ``SegmentEnded``.
``ended``    the last frame is held (paused).

A new ``play_segment`` replaces ``_seg`` under the lock and events are emitted with the lock
held, so a replaced token can never emit. ``emit`` must therefore not block.

libmpv 0.35 quirk: with ``keep-open-pause=yes`` (the default), unpausing at EOF and then
seeking leaves the player paused again; we use ``keep-open-pause=no`` and pause ourselves.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hardware.events import Emit, PlayerFault, SegmentEnded, SegmentStarted
from hardware.player.idle_card import OVERLAY_ID, RES_X, RES_Y, IdleCard, idle_card_ass

log = logging.getLogger(__name__)
mpv_log = logging.getLogger(__name__ + ".libmpv")

Phase = Literal["issued", "loading", "armed", "started", "ended"]

# Options the player's logic depends on; callers cannot override these.
REQUIRED_OPTIONS: dict[str, str] = {
    "idle": "yes",  # stay alive with no file (idle card)
    "keep-open": "yes",  # hold the last frame at EOF
    "keep-open-pause": "no",  # see module docstring; we pause at the end ourselves
    "hr-seek": "yes",  # exact seeks, also for loadfile's start=
}
# Sensible defaults for an appliance; callers may override.
DEFAULT_OPTIONS: dict[str, str] = {
    "input-default-bindings": "no",
    "input-vo-keyboard": "no",
    "osc": "no",
    "osd-on-seek": "no",
    "osd-bar": "no",
    "cursor-autohide": "always",
    "ytdl": "no",
    "title": "OpenRange",
}
# Options added when the video output is real (not vo=null).
SCREEN_OPTIONS: dict[str, str] = {"fullscreen": "yes", "force-window": "immediate"}

_MPV_LOG_LEVELS = {
    "fatal": logging.CRITICAL,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.DEBUG,  # per-file chatter (tracks, decoders): not worth INFO
    "v": logging.DEBUG,
    "debug": logging.DEBUG,
    "trace": logging.DEBUG,
}
_END_EPS = 1e-3


@dataclass
class _Segment:
    token: int
    media: Path
    start_s: float
    end_s: float | None
    loads: bool  # True: loadfile; False: seek inside the already loaded file
    phase: Phase = "issued"
    entry_id: int | None = None
    frame_s: float = 1 / 30


class MpvPlayer:
    """Plays segments with libmpv. ``options`` are mpv options (e.g. ``{"vo": "null", "ao":
    "null"}`` for tests, ``{"vo": "gpu", "gpu-context": "drm"}`` on the Pi), merged over
    ``DEFAULT_OPTIONS`` and under ``REQUIRED_OPTIONS``."""

    name = "mpv"

    def __init__(
        self,
        emit: Emit,
        *,
        options: dict[str, str] | None = None,
        idle_card: IdleCard | None = None,
        mpv_loglevel: str = "info",
    ) -> None:
        self._emit = emit
        self._options = dict(options or {})
        self._idle_card = idle_card or IdleCard()
        self._mpv_loglevel = mpv_loglevel
        self._lock = threading.RLock()
        self._mpv: Any = None  # mpv.MPV once open
        self._ids: Any = None  # mpv.MpvEventID
        self._seg: _Segment | None = None
        self._file: Path | None = None  # media mpv has loaded (confirmed by file-loaded)
        self._file_entry: int | None = None  # its playlist entry id

    # -- lifecycle -----------------------------------------------------------------------
    def mpv_options(self) -> dict[str, str]:
        """The options ``open()`` gives mpv."""
        opts = {**DEFAULT_OPTIONS}
        if self._options.get("vo", "") != "null":
            opts.update(SCREEN_OPTIONS)
        opts.update({k.replace("_", "-"): str(v) for k, v in self._options.items()})
        opts.update(REQUIRED_OPTIONS)
        return opts

    def open(self) -> None:
        """Start mpv and show the idle card.

        Raises OSError if libmpv cannot be loaded or mpv cannot start (e.g. no display).
        """
        with self._lock:
            if self._mpv is not None:
                return
            import mpv  # libmpv is loaded here, so this module imports without it

            opts = self.mpv_options()
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
            try:
                player.register_event_callback(self._on_event)
                player.observe_property("time-pos", self._on_time_pos)
                player.observe_property("eof-reached", self._on_eof)
                self._set_idle_card(True)
            except Exception as exc:
                self._mpv = None
                player.terminate()
                raise OSError(f"mpv started but could not be set up: {exc}") from exc
            log.info("mpv %s started (%s)", getattr(player, "mpv_version", "?"), self._options)

    def close(self) -> None:
        with self._lock:
            player, self._mpv = self._mpv, None
            self._seg = None
            self._file = self._file_entry = None
        if player is None:
            return
        try:
            player.terminate()
        except Exception:
            log.exception("mpv did not terminate cleanly")

    # -- commands (worker thread) --------------------------------------------------------
    def play_segment(self, media: Path, start_s: float, end_s: float | None, token: int) -> None:
        media = Path(media)
        if start_s < 0:
            raise ValueError(f"start_s must be >= 0, got {start_s}")
        if end_s is not None and end_s < start_s:
            raise ValueError(f"end_s ({end_s}) is before start_s ({start_s})")
        with self._lock:
            player = self._require_open()
            if getattr(player, "core_shutdown", False):
                self._fault_locked(f"mpv is not running (it shut down); cannot play {media}")
                return
            loads = self._file is None or self._file != media.resolve()
            seg = _Segment(token, media, float(start_s), None if end_s is None else float(end_s), loads)
            self._seg = seg
            on_reply = functools.partial(self._on_reply, seg)
            try:
                self._set_idle_card(False)
                player.pause = False
                if loads:
                    self._file = self._file_entry = None
                    player.command_async(
                        "loadfile",
                        url=str(media),
                        flags="replace",
                        options=f"start={seg.start_s:.6f}",
                        callback=on_reply,
                    )
                else:
                    player.command_async("seek", f"{seg.start_s:.6f}", "absolute+exact", callback=on_reply)
            except Exception as exc:
                log.exception("mpv refused play_segment(%s)", media)
                self._fault_locked(f"mpv could not play {media}: {exc}")

    def pause(self) -> None:
        with self._lock:
            if self._mpv is not None and self._seg is not None:
                self._set_pause(True)

    def resume(self) -> None:
        with self._lock:
            if self._mpv is not None and self._seg is not None and self._seg.phase != "ended":
                self._set_pause(False)

    def show_idle(self) -> None:
        with self._lock:
            self._seg = None
            self._file = self._file_entry = None
            if self._mpv is None:
                return
            try:
                self._mpv.command("stop")
                self._set_idle_card(True)
            except Exception as exc:
                log.exception("mpv could not show the idle card")
                self._emit(PlayerFault(f"mpv could not show the idle card: {exc}", time.monotonic()))

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

    def _get(self, name: str) -> Any:
        """Read a property now (lock held, player open); None if unavailable or mpv is gone."""
        try:
            return getattr(self._mpv, name.replace("-", "_"))
        except Exception:
            return None

    def _set_idle_card(self, visible: bool) -> None:
        if visible:
            data = idle_card_ass(self._idle_card)
            self._mpv.command(
                "osd-overlay", id=OVERLAY_ID, format="ass-events", data=data, res_x=RES_X, res_y=RES_Y
            )
        else:
            self._mpv.command("osd-overlay", id=OVERLAY_ID, format="none", data="")

    def _set_pause(self, paused: bool) -> None:
        try:
            self._mpv.pause = paused
        except Exception as exc:
            log.exception("mpv could not %s", "pause" if paused else "resume")
            self._fault_locked(f"mpv could not {'pause' if paused else 'resume'}: {exc}")

    def _fault_locked(self, message: str) -> None:
        self._seg = None
        self._file = self._file_entry = None
        log.warning("player fault: %s", message)
        self._emit(PlayerFault(message, time.monotonic()))

    def _end_locked(self, seg: _Segment) -> None:
        seg.phase = "ended"
        try:
            self._mpv.pause = True
        except Exception:
            log.exception("mpv could not pause at the end of segment %s", seg.token)
        self._emit(SegmentEnded(seg.token, time.monotonic()))

    def _check_end_locked(self, seg: _Segment) -> None:
        if seg.end_s is not None:
            tp = self._get("time-pos")
            # Stop on the segment's last frame: the one after it would be at/after end_s.
            if tp is not None and float(tp) + seg.frame_s >= seg.end_s - _END_EPS:
                self._end_locked(seg)
                return
        if self._get("eof-reached"):
            self._end_locked(seg)

    def _current(self) -> _Segment | None:
        return self._seg if self._mpv is not None else None

    # -- mpv event thread ----------------------------------------------------------------
    def _on_log(self, level: str, prefix: str, text: str) -> None:
        try:
            mpv_log.log(_MPV_LOG_LEVELS.get(level, logging.DEBUG), "[%s] %s", prefix, text.rstrip())
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
                    seg.phase = "started"
                    fps = self._get("container-fps")
                    if isinstance(fps, int | float) and fps > 0:
                        seg.frame_s = 1.0 / float(fps)
                    self._emit(SegmentStarted(seg.token, time.monotonic()))
                    self._check_end_locked(seg)
        except Exception:
            log.exception("mpv event handler failed")

    def _on_end_file_locked(self, seg: _Segment, data: Any) -> None:
        if data.reason != data.ERROR:
            return  # replaced or stopped by us; EOF never ends a file with keep-open
        entry = data.playlist_entry_id
        if seg.loads and seg.entry_id in (None, entry):
            reason = "no such file" if not seg.media.exists() else _error_text(data.error)
            self._fault_locked(f"mpv could not open {seg.media}: {reason}")
        elif not seg.loads and self._file_entry == entry:
            self._fault_locked(f"mpv stopped playing {seg.media}: {_error_text(data.error)}")

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
                    self._check_end_locked(seg)
        except Exception:
            log.exception("mpv time-pos handler failed")

    def _on_eof(self, _name: str, value: Any) -> None:
        try:
            with self._lock:
                seg = self._current()
                if value and seg is not None and seg.phase == "started" and self._get("eof-reached"):
                    self._end_locked(seg)
        except Exception:
            log.exception("mpv eof-reached handler failed")


def _error_text(code: int) -> str:
    try:
        import mpv

        return str(mpv.ErrorCode.human_readable(code))
    except Exception:
        return f"error {code}"
