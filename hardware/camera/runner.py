"""The capture thread: frames in, hits out through ``emit``."""

from __future__ import annotations

import logging
import threading
import time

from hardware.camera.base import CameraError, Frame, FrameAnalyser, FrameSource
from hardware.events import CameraFault, Emit

log = logging.getLogger(__name__)

_READ_TIMEOUT_S = 0.5
_JOIN_TIMEOUT_S = 3.0
STANDBY_INTERVAL_S = 0.2
WARM_UP_FRAMES = 30
"""Frames a new analyser gets at the full rate before standby slows the camera down (0.5 s at 60 fps)."""
"""In standby one frame is read and analysed every this many seconds: enough to keep the
detector's background current (so the first shot of a session is found), a tenth of the work."""


class CameraRunner:
    """Runs ``source`` on its own thread, analysing every frame; a ``Camera``."""

    def __init__(self, source: FrameSource, emit: Emit, analyse: FrameAnalyser | None = None) -> None:
        self.source = source
        self.name = source.name
        self._emit = emit
        self._analyse = analyse
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._grab_lock = threading.Condition()
        self._grab_wanted = 0
        self._grabbed: Frame | None = None
        self._standby = False
        self._warm_up_left = WARM_UP_FRAMES
        self._next_standby_read = 0.0
        self._wakeup = threading.Event()
        self.frames = 0
        self.analyse_s = 0.0

    def set_analyser(self, analyse: FrameAnalyser | None) -> None:
        """Swap the analyser (after calibration); None = capture without detecting.

        A new analyser sees ``WARM_UP_FRAMES`` frames at the full rate even in standby, so a
        detector installed just before a session has learnt its background when the session starts."""
        if analyse is not self._analyse and analyse is not None:
            self._warm_up_left = WARM_UP_FRAMES
        self._analyse = analyse

    def set_standby(self, standby: bool) -> None:
        """Between sessions nobody scores hits: in standby the thread reads and analyses only one
        frame every ``STANDBY_INTERVAL_S`` (a Pi idles at a few % CPU instead of detecting on
        60-120 frames a second), which keeps the detector's background current; ``grab`` still
        gets the next frame at once, and leaving standby resumes the full rate at once."""
        self._standby = standby
        self._wakeup.set()

    @property
    def standby(self) -> bool:
        return self._standby

    def open(self) -> None:
        if self._thread is not None:
            return
        self.source.open()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"camera-{self.name}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            self._wakeup.set()
            thread.join(timeout=_JOIN_TIMEOUT_S)
        self.source.close()

    def grab(self, timeout: float = 2.0) -> Frame | None:
        """A copy of the next frame captured (for calibration and self-checks)."""
        deadline = time.monotonic() + timeout
        with self._grab_lock:
            self._grab_wanted += 1
            self._grabbed = None
            self._wakeup.set()
            while self._grabbed is None:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None:
                    self._grab_wanted -= 1
                    return None
                self._grab_lock.wait(left)
            return self._grabbed

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._standby and not self._grab_wanted and self._warm_up_left <= 0:
                wait = self._next_standby_read - time.monotonic()
                if wait > 0:
                    self._wakeup.wait(min(wait, _READ_TIMEOUT_S))
                    self._wakeup.clear()
                    continue
                self._next_standby_read = time.monotonic() + STANDBY_INTERVAL_S
            try:
                frame = self.source.read(_READ_TIMEOUT_S)
            except CameraError as exc:
                log.error("camera %s failed: %s", self.name, exc)
                self._emit(CameraFault(str(exc), time.monotonic()))
                return
            if frame is None:
                continue
            self.frames += 1
            if self._grab_wanted:
                with self._grab_lock:
                    if self._grab_wanted:
                        self._grab_wanted -= 1
                        self._grabbed = Frame(frame.image.copy(), frame.t_mono, frame.index)
                        self._grab_lock.notify_all()
            analyse = self._analyse
            if analyse is None:
                continue
            started = time.perf_counter()
            self._warm_up_left -= 1
            try:
                hits = analyse(frame)
            except Exception:
                log.exception("frame analysis failed on frame %d; the camera goes on", frame.index)
                continue
            self.analyse_s += time.perf_counter() - started
            for hit in hits:
                self._emit(hit)
