"""Events the hardware reports, through the ``emit`` callable each driver is given.

Drivers call ``emit`` from their own threads; the appliance forwards it to its event loop.
Every event carries ``t_mono``: ``time.monotonic()`` taken at the source (the GPIO edge, the
camera's sensor time, mpv's event) so the appliance can correlate them on one clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


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


HardwareEvent = SegmentStarted | SegmentEnded | PlayerFault | HitDetected | InputChanged
Emit = Callable[[HardwareEvent], None]
