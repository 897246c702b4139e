"""The Camera seam: whatever watches the screen for laser hits.

A camera runs its own capture thread, runs detection there and reports only hits, as
``HitDetected`` through the ``emit`` callable it was given, each stamped with the capture time
on the ``time.monotonic()`` clock. Frames never leave the camera. Configuration (exposure,
calibration) arrives with laser detection; for now the protocol is just its lifecycle.
"""

from __future__ import annotations

from typing import Protocol


class Camera(Protocol):
    name: str

    def open(self) -> None:
        """Start capturing (and detecting) on the camera's own thread."""

    def close(self) -> None:
        """Stop the capture thread and release the device; safe to call twice."""
