"""The Camera seam: whatever watches the screen for laser hits.

A ``FrameSource`` delivers frames, each stamped with its capture (sensor) time on the
``time.monotonic()`` clock. A ``CameraRunner`` owns the capture thread: it reads frames, hands
each to the analyser it was given (detection + mapping, supplied by the appliance as a plain
callable) and emits only the resulting ``HitDetected`` events. Frames never leave that thread,
except a copy handed out on request for calibration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from hardware.events import HitDetected


@dataclass(frozen=True, slots=True)
class Frame:
    """One captured frame: BGR uint8 (H, W, 3) or luma (H, W); capture time; 0-based index."""

    image: np.ndarray
    t_mono: float
    index: int


class CameraError(OSError):
    """The camera failed or disappeared; the message says which and why."""


class Camera(Protocol):
    name: str

    def open(self) -> None:
        """Start capturing on the camera's own thread."""

    def close(self) -> None:
        """Stop capturing and release the device; safe to call twice."""


class FrameSource(Protocol):
    name: str

    def open(self) -> None: ...

    def close(self) -> None: ...

    def read(self, timeout: float) -> Frame | None:
        """The next frame, or None if none came within ``timeout``; raises CameraError if dead."""


FrameAnalyser = Callable[[Frame], Sequence[HitDetected]]
"""Turns a frame into the hits it shows (runs on the capture thread; must be fast)."""
