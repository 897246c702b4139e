"""SimPlayer: a Player that runs a virtual timeline instead of showing video.

It ships in the product (demo mode, end-to-end tests) and is kept honest by the same contract
suite as ``MpvPlayer``. The position of a segment is the clock time elapsed since it started,
minus the time spent paused; ``tick()`` notices when the end is reached and emits
``SegmentEnded`` once, after which the (virtual) last frame is held — or, with a successor from
``set_next``, emits ``SegmentEnded`` and the successor's ``SegmentStarted`` at the same virtual
instant and plays on.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from hardware.events import Emit, PlayerFault, SegmentEnded, SegmentStarted
from hardware.player.still import check_still

log = logging.getLogger(__name__)

SimState = Literal["idle", "playing", "paused", "held", "closed"]


def ffprobe_duration(path: Path, *, timeout: float = 10.0) -> float:
    """Container duration of ``path`` in seconds, read with ``ffprobe``.

    Raises ``OSError`` (ffprobe missing, unreadable file) or ``ValueError`` (no duration).
    """
    cmd = [
        "ffprobe",
        "-v",
        "error",
        "-show_entries",
        "format=duration",
        "-of",
        "default=noprint_wrappers=1:nokey=1",
        str(path),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise OSError(f"ffprobe timed out on {path}") from exc
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-1:] or ["unknown error"]
        raise OSError(f"ffprobe failed on {path}: {detail[0]}")
    text = proc.stdout.strip()
    try:
        duration = float(text)
    except ValueError:
        raise ValueError(f"ffprobe reported no duration for {path} ({text!r})") from None
    if duration != duration or duration < 0:  # NaN or negative
        raise ValueError(f"ffprobe reported an invalid duration for {path}: {text!r}")
    return duration


@dataclass(frozen=True)
class _SimNext:
    token: int
    media: Path
    start_s: float
    length_s: float


@dataclass
class _SimSegment:
    token: int
    media: Path
    start_s: float
    length_s: float
    t0: float  # clock time when the segment started
    paused_total: float = 0.0
    paused_at: float | None = None
    next: _SimNext | None = None

    def elapsed(self, now: float) -> float:
        until = self.paused_at if self.paused_at is not None else now
        return until - self.t0 - self.paused_total


class SimPlayer:
    """A Player on a virtual timeline (see the module docstring).

    ``clock`` gives the time base (tests pass a fake one); with ``auto_tick`` a daemon thread
    started by ``open()`` calls ``tick()`` every ``tick_interval`` seconds, otherwise the test
    calls ``tick()`` itself. ``probe_duration(path)`` gives a file's length for segments with
    ``end_s=None``; by default ffprobe is run once per path.

    ``emit`` is called with the player's lock held (so an event of a replaced segment can never
    slip out after ``play_segment`` returns); it must not block.
    """

    name = "sim"

    def __init__(
        self,
        emit: Emit,
        *,
        clock: Callable[[], float] = time.monotonic,
        auto_tick: bool = True,
        probe_duration: Callable[[Path], float] | None = None,
        tick_interval: float = 0.005,
    ) -> None:
        self._emit = emit
        self._clock = clock
        self._auto_tick = auto_tick
        self._probe = probe_duration or ffprobe_duration
        self._tick_interval = tick_interval
        self._durations: dict[Path, float] = {}
        self._lock = threading.RLock()
        self._seg: _SimSegment | None = None
        self._state: SimState = "idle"
        self._blank = False
        self._idle_text: str | None = None
        self._still: np.ndarray | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- introspection -------------------------------------------------------------------
    @property
    def state(self) -> SimState:
        """``idle`` | ``playing`` | ``paused`` | ``held`` (end reached) | ``closed``."""
        with self._lock:
            return self._state

    @property
    def current_token(self) -> int | None:
        """Token of the loaded segment (also while held at its end), or None."""
        with self._lock:
            return self._seg.token if self._seg is not None else None

    @property
    def current_media(self) -> Path | None:
        with self._lock:
            return self._seg.media if self._seg is not None else None

    @property
    def blank(self) -> bool:
        """True while paused with ``pause(blank=True)`` (the screen would be black)."""
        with self._lock:
            return self._blank

    @property
    def idle_text(self) -> str | None:
        """The extra line of the idle card given to the last ``show_idle``."""
        with self._lock:
            return self._idle_text

    @property
    def still(self) -> np.ndarray | None:
        """The picture given to ``show_still`` while it is shown (a copy), else None."""
        with self._lock:
            return self._still

    @property
    def next_token(self) -> int | None:
        """Token of the successor given with ``set_next``, until it starts."""
        with self._lock:
            seg = self._seg
            return seg.next.token if seg is not None and seg.next is not None else None

    # -- Player protocol -----------------------------------------------------------------
    def open(self) -> None:
        with self._lock:
            if self._state == "closed":
                self._state = "idle"
            if not self._auto_tick or (self._thread is not None and self._thread.is_alive()):
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="SimPlayerTick", daemon=True)
            self._thread.start()

    def close(self) -> None:
        with self._lock:
            self._seg = None
            self._still = None
            self._state = "closed"
            thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)

    def play_segment(self, media: Path, start_s: float, end_s: float | None, token: int) -> None:
        media = Path(media)
        _check_times(start_s, end_s)
        try:
            length = self._segment_length(media, start_s, end_s)
        except (OSError, ValueError) as exc:
            with self._lock:
                self._seg = None
                self._state = "idle"
                self._emit(PlayerFault(f"cannot play {media}: {exc}", self._clock()))
            return
        with self._lock:
            self._start_locked(token, media, float(start_s), length)

    def set_next(self, media: Path, start_s: float, end_s: float | None, token: int) -> None:
        media = Path(media)
        _check_times(start_s, end_s)
        with self._lock:
            if self._seg is None:
                return  # nothing playing: ignored, as MpvPlayer does
        try:
            length = self._segment_length(media, start_s, end_s)
        except (OSError, ValueError) as exc:
            with self._lock:
                self._seg = None
                self._state = "idle"
                self._emit(PlayerFault(f"cannot play {media}: {exc}", self._clock()))
            return
        with self._lock:
            seg = self._seg
            if seg is None:
                return
            if self._state == "held":
                self._start_locked(token, media, float(start_s), length)
                return
            seg.next = _SimNext(token, media, float(start_s), length)
            self._tick_locked(self._clock())

    def _start_locked(self, token: int, media: Path, start_s: float, length: float) -> None:
        now = self._clock()
        self._seg = _SimSegment(token, media, start_s, length, now)
        self._state = "playing"
        self._blank = False
        self._emit(SegmentStarted(token, now))
        self._tick_locked(now)

    def pause(self, blank: bool = False) -> None:
        with self._lock:
            if self._seg is not None and self._state == "playing":
                now = self._clock()
                self._tick_locked(now)
                if self._state == "playing":
                    self._seg.paused_at = now
                    self._state = "paused"
            if blank and self._state != "closed":
                self._blank = True

    def resume(self) -> None:
        with self._lock:
            self._blank = False
            seg = self._seg
            if seg is not None and self._state == "paused" and seg.paused_at is not None:
                now = self._clock()
                seg.paused_total += now - seg.paused_at
                seg.paused_at = None
                self._state = "playing"
                self._tick_locked(now)

    def show_idle(self, text: str | None = None) -> None:
        with self._lock:
            self._seg = None
            self._blank = False
            self._idle_text = text
            if self._state != "closed":
                self._state = "idle"

    def show_still(self, image: np.ndarray | None) -> None:
        """Remember ``image`` as shown over everything (``still``) until ``show_still(None)``."""
        still = None if image is None else check_still(image).copy()
        with self._lock:
            self._still = still

    def position(self) -> float | None:
        with self._lock:
            seg = self._seg
            if seg is None:
                return None
            if self._state == "held":
                return seg.length_s
            return min(max(seg.elapsed(self._clock()), 0.0), seg.length_s)

    # -- timeline ------------------------------------------------------------------------
    def tick(self) -> None:
        """Emit ``SegmentEnded`` if the playing segment has reached its end (once per token)."""
        with self._lock:
            self._tick_locked(self._clock())

    def _tick_locked(self, now: float) -> None:
        while True:
            seg = self._seg
            if seg is None or self._state != "playing" or seg.elapsed(now) < seg.length_s:
                return
            # The moment the virtual timeline crossed the end, not when the tick noticed it.
            t_end = seg.t0 + seg.paused_total + seg.length_s
            self._emit(SegmentEnded(seg.token, t_end))
            nxt = seg.next
            if nxt is None:
                self._state = "held"
                return
            self._seg = _SimSegment(nxt.token, nxt.media, nxt.start_s, nxt.length_s, t_end)
            self._emit(SegmentStarted(nxt.token, t_end))

    def _run(self) -> None:
        while not self._stop.wait(self._tick_interval):
            try:
                self.tick()
            except Exception:
                log.exception("SimPlayer tick failed")

    def _segment_length(self, media: Path, start_s: float, end_s: float | None) -> float:
        if not media.is_file():
            raise FileNotFoundError(f"no such media file: {media}")
        if end_s is not None:
            return max(0.0, float(end_s) - float(start_s))
        key = media.resolve()
        duration = self._durations.get(key)
        if duration is None:
            duration = float(self._probe(media))
            self._durations[key] = duration
        return max(0.0, duration - float(start_s))


def _check_times(start_s: float, end_s: float | None) -> None:
    if start_s < 0:
        raise ValueError(f"start_s must be >= 0, got {start_s}")
    if end_s is not None and end_s < start_s:
        raise ValueError(f"end_s ({end_s}) is before start_s ({start_s})")
