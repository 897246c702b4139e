"""Events the hardware reports, through the ``emit`` callable each driver is given.

Drivers call ``emit`` from their own threads; the appliance forwards it to its event loop.
Every event carries ``t_mono``: ``time.monotonic()`` taken at the source (the GPIO edge, the
camera's sensor time, mpv's event) so the appliance can correlate them on one clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class SegmentStarted:
    """The first frame of a requested segment is playing."""

    token: int
    t_mono: float


@dataclass(frozen=True, slots=True)
class SegmentEnded:
    """The segment reached its end; the player holds its last frame."""

    token: int
    t_mono: float


@dataclass(frozen=True, slots=True)
class PlayerFault:
    message: str
    t_mono: float


@dataclass(frozen=True, slots=True)
class CameraFault:
    """The camera stopped delivering frames; hits will not be detected until it is back."""

    message: str
    t_mono: float


@dataclass(frozen=True, slots=True)
class HitDetected:
    """A laser hit, in normalised video coordinates (0..1, origin top left)."""

    x: float
    y: float
    t_mono: float
    color: str = "red"
    source: str = "camera"


@dataclass(frozen=True, slots=True)
class InputChanged:
    """A named GPIO input changed state (pressed = active)."""

    name: str
    pressed: bool
    t_mono: float


Gesture = Literal["hold", "double"]
GESTURES: tuple[Gesture, ...] = ("hold", "double")


@dataclass(frozen=True, slots=True)
class InputGesture:
    """A named GPIO input was held down or pressed twice in quick succession.

    Reported in addition to the ``InputChanged`` events of the same presses, and only for an
    input configured for it (``hold_s`` / ``double_press_s``). ``t_mono`` is when the gesture
    became complete on the edge clock: the press edge plus ``hold_s`` for "hold", the second
    press's edge for "double".
    """

    name: str
    gesture: Gesture
    """"hold" or "double"."""
    t_mono: float


HardwareEvent = (
    SegmentStarted | SegmentEnded | PlayerFault | CameraFault | HitDetected | InputChanged | InputGesture
)
Emit = Callable[[HardwareEvent], None]
