"""Why a camera image cannot be used for calibration, in words for the range technician.

:class:`CalibrationFailure` carries a short machine-readable ``reason`` and a ``message`` that says
what to change. :func:`diagnose_missing` works out the likeliest reason when no full pattern is
found: exposure, a pattern running off the camera image, one too small to read, or blur.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from appliance.detection.calibration_pattern import PatternSpec

_EDGE_ADVICE = {"left": "further left", "right": "further right", "top": "higher", "bottom": "lower"}


def _project(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(np.asarray(pts, np.float64).reshape(1, -1, 2), h)[0]


@dataclass(frozen=True)
class CalibrationFailure:
    """Why calibration could not use this camera image, in words for the technician."""

    reason: str
    """One of: not_found, cut_off, too_small, blurred, too_dark, overexposed, low_contrast,
    mirrored, inconsistent, bad_image."""
    message: str
    edges: tuple[str, ...] = ()
    """For ``cut_off``: the camera-image edges the picture runs off (left/right/top/bottom)."""

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "message": self.message, "edges": list(self.edges)}


def edges_outside(points: np.ndarray, width: int, height: int) -> tuple[str, ...]:
    """Camera-image edges that any of ``points`` lie beyond, in left/right/top/bottom order."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    edges = []
    if (pts[:, 0] < 0).any():
        edges.append("left")
    if (pts[:, 0] > width - 1).any():
        edges.append("right")
    if (pts[:, 1] < 0).any():
        edges.append("top")
    if (pts[:, 1] > height - 1).any():
        edges.append("bottom")
    return tuple(edges)


def cut_off_failure(edges: tuple[str, ...], *, partial: bool = False) -> CalibrationFailure:
    """The technician-facing message for a picture that runs off the camera image."""
    names = " and ".join(edges)
    what = "Part of the calibration pattern is" if partial else "The projected picture is"
    plural = "s" if len(edges) > 1 else ""
    if {"left", "right"} <= set(edges) or {"top", "bottom"} <= set(edges):
        advice = "Zoom the camera out or move it further back"
    else:
        advice = "Aim the camera " + " and ".join(_EDGE_ADVICE[e] for e in edges) + ", or zoom out,"
    return CalibrationFailure(
        "cut_off",
        f"{what} cut off at the {names} edge{plural} of the camera image. {advice} so that the "
        "whole picture and a little wall around it are in view, then calibrate again.",
        edges,
    )


def diagnose_missing(gray: np.ndarray, spec: PatternSpec) -> CalibrationFailure:
    """No full pattern found: work out the most likely reason from the picture itself."""
    lo, hi = (float(v) for v in np.percentile(gray, [2, 98]))
    if hi < 40:
        return CalibrationFailure(
            "too_dark",
            f"The camera image is almost black (brightest parts {hi:.0f}/255). Check that the "
            "projector is on and showing the calibration pattern; if it is, raise the camera's "
            "exposure or gain.",
        )
    median = float(np.median(gray))
    if float((gray >= 250).mean()) > 0.5 or (median > 150 and lo > 0.45 * hi):
        return CalibrationFailure(
            "overexposed",
            "The camera image is washed out: even the dark squares look bright. Lower the "
            "camera's exposure or gain, shade the screen from daylight and lamps, and try again.",
        )
    if hi - lo < 40:
        return CalibrationFailure(
            "low_contrast",
            "The camera image has very little contrast. Darken the room, check the projector is "
            "focused and showing the pattern, and try again.",
        )
    partial = _partial_grid(gray)
    if partial and partial[0]:
        return cut_off_failure(partial[0], partial=True)
    if partial and partial[2] < 12:
        return CalibrationFailure(
            "too_small",
            f"The pattern's squares are only about {partial[2]:.0f} camera pixels across, too small "
            "to read. Move the camera closer or zoom in until the picture fills most of the camera image.",
        )
    if partial and partial[1] > spec.cols * spec.rows:
        return CalibrationFailure(
            "not_found",
            f"The camera sees a chessboard with more corners ({partial[1]}) than the {spec.name} "
            f"pattern ({spec.cols * spec.rows}). Check which calibration pattern is projected.",
        )
    if partial and partial[1] >= 12:
        return CalibrationFailure(
            "not_found",
            f"Only part of the pattern is visible ({partial[1]} of {spec.cols * spec.rows} corners). "
            "Check that nobody stands in front of the screen, that no lamp or window glares on it, "
            "and that the projector shows the calibration pattern.",
        )
    if _sharpness(gray, hi - lo) < 0.12:
        return CalibrationFailure(
            "blurred",
            "The camera image is blurred, so the pattern's corners cannot be found. Focus the "
            "camera (and the projector) on the screen, hold the camera still and try again.",
        )
    return CalibrationFailure(
        "not_found",
        "No calibration pattern found in the camera image. Check that the projector shows the "
        "calibration pattern, that the whole picture and a little wall around it are in the "
        "camera's view, and that nobody stands in front of the screen.",
    )


def _partial_grid(gray: np.ndarray) -> tuple[tuple[str, ...], int, float] | None:
    """A partly visible chessboard: (camera edges it runs off, corners seen, square size in px)."""
    flags = cv2.CALIB_CB_LARGER | cv2.CALIB_CB_EXHAUSTIVE | cv2.CALIB_CB_NORMALIZE_IMAGE
    best: tuple[np.ndarray, np.ndarray, int, int, float] | None = None
    for start in ((3, 3), (4, 4), (6, 5)):  # the grown grid depends on where the search starts
        ok, corners = cv2.findChessboardCornersSB(gray, start, flags=flags)
        grid = _as_grid(corners.reshape(-1, 2).astype(np.float64)) if ok else None
        if grid is not None and (best is None or grid[2] * grid[3] > best[2] * best[3]):
            best = grid
    if best is None:
        return None
    h, pts, cols, rows, square = best
    # A cut-off grid ends at the camera's edge: 1.5 squares past its last corners is outside.
    reach = np.array([(-1.5, -1.5), (cols + 0.5, -1.5), (cols + 0.5, rows + 0.5), (-1.5, rows + 0.5)])
    height, width = gray.shape
    return edges_outside(_project(h, reach), width, height), len(pts), square


def _as_grid(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int, float] | None:
    """(board -> camera homography, points, cols, rows, square px) if ``pts`` form a row-major grid."""
    steps = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    breaks = np.flatnonzero(steps > 1.8 * np.median(steps))
    cols = int(breaks[0]) + 1 if len(breaks) else len(pts)
    if cols < 3 or len(pts) % cols or len(pts) // cols < 2:
        return None
    rows = len(pts) // cols
    board = np.array([(i, j) for j in range(rows) for i in range(cols)], dtype=np.float64)
    h, _ = cv2.findHomography(board, pts, 0)
    square = float(np.median(steps))
    if h is None or np.linalg.norm(_project(h, board) - pts, axis=1).max() > 0.15 * square:
        return None  # not a grid after all
    return h, pts, cols, rows, square


def _sharpness(gray: np.ndarray, contrast: float) -> float:
    """Steepest edges relative to the image contrast: ~0.4 when sharp, below ~0.1 when blurred."""
    smooth = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 1.0)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3) / 8
    return float(np.percentile(np.hypot(gx, gy), 99.5)) / max(contrast, 1.0)
