"""The segment marker drawn on every demo scene, for benchmarks that need to know which scene shows.

A solid grey square sits in the top-left corner of every frame of a demo scene. Its grey level
tells the scene's position in the manifest's ``scenes`` order (``marker_level``), so a benchmark
can grab a frame (screenshot, camera, decoded file) and see which segment is on screen without
trusting timestamps. The level is an RGB grey (r = g = b = level); decoded back to RGB it reads
within a few levels of that (the levels are 20 apart, so ``scene_index_from_level`` tolerates
up to 9). In the video's Y plane (limited range) it is ``marker_luma(level)``.
"""

from __future__ import annotations

MARKER_BASE = 40
MARKER_STEP = 20
MARKER_LEVELS = 10
"""Levels repeat every 10 scenes: 40, 60, ... 220."""


def marker_level(scene_index: int) -> int:
    """The marker's grey level for the scene at ``scene_index`` in the manifest's scenes order."""
    return MARKER_BASE + MARKER_STEP * (scene_index % MARKER_LEVELS)


def marker_side(height: int) -> int:
    """The square's side in pixels: round(16 * height / 720), made even, at least 2."""
    side = round(16 * height / 720)
    return max(2, side + side % 2)


def marker_rect(width: int, height: int) -> tuple[int, int, int, int]:
    """The square as (x, y, w, h) in pixels of a ``width`` x ``height`` picture: the top-left corner."""
    side = min(marker_side(height), width)
    return (0, 0, side, side)


def marker_luma(level: int) -> int:
    """The marker's value in a limited-range (16..235) Y plane."""
    return round(16 + level * 219 / 255)


def scene_index_from_level(level: float) -> int | None:
    """The scene index (0..9, modulo 10) whose marker level is nearest ``level``; None if none within 9."""
    step = round((level - MARKER_BASE) / MARKER_STEP)
    if not 0 <= step < MARKER_LEVELS or abs(level - marker_level(step)) > MARKER_STEP / 2 - 1:
        return None
    return step
