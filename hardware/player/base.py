"""The Player seam: what the controller may ask of whatever shows the video."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np


class Player(Protocol):
    """Plays one segment at a time of a scenario's media and reports through ``emit``.

    Methods are blocking and are called from one worker thread, in order. Events
    (``SegmentStarted``, ``SegmentEnded``, ``PlayerFault``) arrive on the player's own thread.
    """

    name: str

    def open(self) -> None:
        """Start the player (window / DRM output) and show the idle card."""

    def close(self) -> None:
        """Stop playback and release the output; safe to call twice."""

    def play_segment(self, media: Path, start_s: float, end_s: float | None, token: int) -> None:
        """Show ``media`` from ``start_s`` to ``end_s`` (None: to the end of the file).

        Emits ``SegmentStarted(token)`` when the first frame plays and ``SegmentEnded(token)``
        when the end is reached, after which the last frame is held. A new call replaces the
        current segment; events of a replaced token are never emitted afterwards.
        """

    def pause(self, blank: bool = False) -> None:
        """Freeze the picture on the current frame, or with ``blank=True`` show a black screen
        (the segment stays paused underneath; ``resume`` brings the picture back)."""

    def resume(self) -> None:
        """Continue after ``pause``."""

    def show_idle(self, text: str | None = None) -> None:
        """Stop the segment and show the idle card (never the desktop), with one more line of
        ``text`` under it if given (e.g. the panel's address and pairing PIN)."""

    def set_next(self, media: Path, start_s: float, end_s: float | None, token: int) -> None:
        """When the current segment reaches its end, continue straight into this one.

        Instead of ``SegmentEnded(current)`` followed by the caller's ``play_segment``, the
        player emits ``SegmentEnded(current)`` and ``SegmentStarted(token)`` together when the
        successor's first frame is shown, with no held frame in between. If the current segment
        has already ended, the successor starts at once; with nothing playing the call is
        ignored. ``play_segment`` and ``show_idle`` cancel it; another ``set_next`` replaces it.
        """

    def show_still(self, image: np.ndarray | None) -> None:
        """Show ``image`` (BGR ``uint8``, shape (height, width, 3)) full screen over everything
        (video, idle card, blank screen), fitted like a video of that size; ``None`` takes it
        away. What plays underneath is not touched (its events go on), and only
        ``show_still(None)`` removes the still. Used to project the camera's calibration pattern.
        Raises ValueError for an array of the wrong shape or type.
        """

    def position(self) -> float | None:
        """Seconds since the current segment's start, or None when no segment is loaded."""
