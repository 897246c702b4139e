"""A simulated camera that reports the shots it is told about.

``SimCamera.shoot(x, y)`` stands for a laser shot landing on the screen at normalised video
coordinates. The camera's capture thread picks it up and emits ``HitDetected``, stamped with
the time of the shot, exactly as a real camera's capture thread reports a detected hit.

Note: this version does NOT render frames or run a detector; the shot's coordinates are
reported as given. A later issue makes ``SimCamera`` render the projected frame, warp it as a
camera sees it, add noise and laser spots, and run the real detection on it.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from dataclasses import dataclass

from hardware.events import Emit, HitDetected

log = logging.getLogger(__name__)

_JOIN_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class _Shot:
    x: float
    y: float
    color: str
    t_mono: float


class SimCamera:
    """A ``Camera`` whose capture thread reports shots fed through ``shoot``."""

    name = "sim-camera"

    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self._lock = threading.Lock()
        self._queue: queue.Queue[_Shot | None] | None = None
        self._thread: threading.Thread | None = None

    @property
    def is_open(self) -> bool:
        return self._thread is not None

    def open(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            q: queue.Queue[_Shot | None] = queue.Queue()
            thread = threading.Thread(target=self._capture_loop, args=(q,), name="sim-camera", daemon=True)
            self._queue, self._thread = q, thread
            thread.start()
        log.info("simulated camera open")

    def close(self) -> None:
        """Stop the capture thread (shots already taken are still reported); safe to call twice."""
        with self._lock:
            q, thread = self._queue, self._thread
            self._queue = self._thread = None
        if q is None or thread is None:
            return
        q.put(None)
        if thread is not threading.current_thread():
            thread.join(_JOIN_TIMEOUT_S)
            if thread.is_alive():
                log.warning("simulated camera thread did not stop within %.1f s", _JOIN_TIMEOUT_S)

    def shoot(self, x: float, y: float, color: str = "red") -> None:
        """A shot lands at (x, y), normalised 0..1 with the origin top left.

        Raises ValueError for coordinates outside 0..1 (or not finite) and RuntimeError when
        the camera is not open (a closed camera sees nothing).
        """
        for axis, value in (("x", x), ("y", y)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"shot {axis} must be a number in 0..1, got {value!r}")
            if not math.isfinite(value) or not 0.0 <= value <= 1.0:
                raise ValueError(f"shot {axis} must be in 0..1, got {value!r}")
        if not isinstance(color, str) or not color:
            raise ValueError(f"shot color must be a non-empty string, got {color!r}")
        shot = _Shot(float(x), float(y), color, time.monotonic())
        with self._lock:
            if self._queue is None:
                raise RuntimeError("SimCamera is not open")
            self._queue.put(shot)

    def _capture_loop(self, q: queue.Queue[_Shot | None]) -> None:
        while True:
            shot = q.get()
            if shot is None:
                return
            try:
                self._emit(
                    HitDetected(x=shot.x, y=shot.y, t_mono=shot.t_mono, color=shot.color, source=self.name)
                )
            except Exception:
                log.exception("simulated camera: emit failed")
