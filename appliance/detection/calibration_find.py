"""Find the calibration pattern in a camera image and say plainly what is wrong when it cannot.

:func:`find_pattern` returns either a :class:`PatternFound` (corners in the pattern's own order,
already turned the right way round, with a fitted homography) or a :class:`CalibrationFailure`
whose ``message`` is written for the range technician. It never raises on a bad picture.

Camera pixel coordinates follow OpenCV: ``(0, 0)`` is the centre of the top-left pixel.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import cv2
import numpy as np

from appliance.detection.calibration_diagnose import (
    CalibrationFailure,
    cut_off_failure,
    diagnose_missing,
    edges_outside,
)
from appliance.detection.calibration_pattern import DEFAULT_SPEC, PatternSpec

MIN_SCREEN_WIDTH_PX = 200.0
"""Narrower than this, one camera pixel is more than 0.5 % of the picture: refuse."""
SMALL_SCREEN_WIDTH_PX = 320.0
"""Narrower than this, calibrate but warn that aim resolution suffers."""
VIDEO_CORNERS = np.array([(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)])


@dataclass(frozen=True, eq=False)
class PatternFound:
    """The pattern as the camera sees it."""

    spec: PatternSpec
    camera_size: tuple[int, int]
    corners: np.ndarray
    """Camera pixels of ``spec.inner_corners()``, same order, shape (rows*cols, 2)."""
    video_to_camera: np.ndarray
    """3x3 homography: normalised video -> camera pixels (RANSAC fit on the corners)."""
    screen_quad: np.ndarray
    """The whole projected picture in camera pixels: top-left, top-right, bottom-right, bottom-left."""
    reprojection_error_px: float
    detector: str
    rotation_deg: float
    """How far the picture's horizontal is turned in the camera image (0 = upright)."""
    warnings: tuple[str, ...] = field(default=())


def to_gray(image: np.ndarray) -> np.ndarray:
    """8-bit single-channel view of a camera frame (grey, BGR or BGRA; any integer/float depth)."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if img.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        img = cv2.cvtColor(img, code)
    if img.ndim != 2:
        raise ValueError(f"expected a grey or colour image, got an array of shape {np.shape(image)}")
    if img.dtype != np.uint8:
        img = cv2.normalize(img.astype(np.float32), None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return img


def find_pattern(
    camera_image: np.ndarray, spec: PatternSpec = DEFAULT_SPEC, *, quick: bool = False
) -> PatternFound | CalibrationFailure:
    """Locate ``spec`` in ``camera_image``; a failure explains what the technician should change.

    ``quick`` tries only the fast detector and skips the diagnosis of a missing pattern (its
    failure is then a plain ``not_found``): for trying several pattern kinds in turn.
    """
    try:
        gray = to_gray(camera_image)
    except (ValueError, cv2.error) as exc:
        return CalibrationFailure("bad_image", f"This is not a usable camera image ({exc}).")
    if min(gray.shape) < 32:
        return CalibrationFailure("bad_image", f"The camera image is only {gray.shape[1]}x{gray.shape[0]}.")
    found = detect_corners(gray, spec.pattern_size, thorough=not quick)
    if found is None and quick:
        return CalibrationFailure("not_found", f"No {spec.name} pattern found.")
    if found is None and max(gray.shape) <= 1000:  # small squares: try again at twice the size
        big_image = cv2.resize(gray, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        big = detect_corners(big_image, spec.pattern_size, thorough=False)
        found = None if big is None else ((big[0] + 0.5) / 2 - 0.5, big[1] + "-x2")
    if found is None:
        return diagnose_missing(gray, spec)
    corners, detector = found
    try:
        oriented = _orient(gray, corners.reshape(spec.rows, spec.cols, 2), spec)
        if isinstance(oriented, CalibrationFailure):
            return oriented
        grid, warnings = oriented
        return _fit(gray, spec, grid.reshape(-1, 2), detector, warnings)
    except (cv2.error, np.linalg.LinAlgError) as exc:  # a degenerate grid; never seen in practice
        return CalibrationFailure("inconsistent", f"The corners found do not form a usable grid ({exc}).")


def detect_corners(
    gray: np.ndarray, size: tuple[int, int], *, thorough: bool = True
) -> tuple[np.ndarray, str] | None:
    """Inner corners (N, 2) in OpenCV's order, refined to sub-pixel, and the detector's name.

    The classic detector copes best with projected boards whose outer squares touch the picture's
    edge (ShootOFF's); ``thorough`` adds the slower sector-based detector for what it misses.
    """
    flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
    ok, corners = cv2.findChessboardCorners(cv2.equalizeHist(gray), size, flags=flags)
    if ok:
        pts = corners.reshape(-1, 2)
        win = int(np.clip(_square_size(pts.reshape(size[1], size[0], 2)) / 4, 2, 10))
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 40, 0.01)
        refined = cv2.cornerSubPix(gray, corners.astype(np.float32), (win, win), (-1, -1), criteria)
        return refined.reshape(-1, 2).astype(np.float64), "chessboard"
    if not thorough:
        return None
    sb_flags = cv2.CALIB_CB_EXHAUSTIVE | cv2.CALIB_CB_ACCURACY | cv2.CALIB_CB_NORMALIZE_IMAGE
    ok, corners = cv2.findChessboardCornersSB(gray, size, flags=sb_flags)
    if ok:
        return corners.reshape(-1, 2).astype(np.float64), "chessboard-sb"
    return None


def _square_size(grid: np.ndarray) -> float:
    """Median distance between neighbouring corners along the rows of a (rows, cols, 2) grid."""
    return float(np.median(np.linalg.norm(np.diff(grid, axis=1), axis=2)))


def _homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    h, _ = cv2.findHomography(src.astype(np.float64), dst.astype(np.float64), 0)
    if h is None:
        raise np.linalg.LinAlgError("degenerate corner grid")
    return h


def _project(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(np.asarray(pts, np.float64).reshape(1, -1, 2), h)[0]


def _sample(
    gray: np.ndarray, board_to_cam: np.ndarray, centres: np.ndarray, r0: float, r1: float
) -> np.ndarray:
    """Mean intensity of square rings r0..r1 (board units) around each centre -> (N,), NaN outside."""
    offsets = [(dx, dy) for dx in np.linspace(-r1, r1, 7) for dy in np.linspace(-r1, r1, 7)]
    offsets = np.array([o for o in offsets if r0 <= max(abs(o[0]), abs(o[1])) <= r1 + 1e-9])
    pts = (centres[:, None, :] + offsets[None, :, :]).reshape(-1, 2)
    cam = _project(board_to_cam, pts).astype(np.float32)
    h, w = gray.shape
    inside = (cam[:, 0] >= 0) & (cam[:, 0] <= w - 1) & (cam[:, 1] >= 0) & (cam[:, 1] <= h - 1)
    vals = cv2.remap(gray, cam[:, 0:1], cam[:, 1:2], cv2.INTER_LINEAR)[:, 0].astype(np.float64)
    vals[~inside] = np.nan
    per = vals.reshape(len(centres), -1)
    out = np.full(len(centres), np.nan)
    enough = np.isfinite(per).sum(axis=1) >= per.shape[1] // 2
    out[enough] = np.nanmean(per[enough], axis=1)
    return out


def _inner_squares(spec: PatternSpec) -> tuple[np.ndarray, np.ndarray]:
    cells = [(sx, sy) for sy in range(1, spec.rows) for sx in range(1, spec.cols)]
    black = np.array([spec.is_black(sx, sy) for sx, sy in cells])
    return np.array(cells, dtype=np.float64) + 0.5, black


def _orient(
    gray: np.ndarray, grid: np.ndarray, spec: PatternSpec
) -> tuple[np.ndarray, tuple[str, ...]] | CalibrationFailure:
    """Turn the detected grid so that grid[j, i] is the pattern's corner (i, j)."""
    board = spec.inner_corners_board()
    centres, black = _inner_squares(spec)
    candidates = []
    for flip_x, flip_y in itertools.product((False, True), repeat=2):
        g = grid[:: -1 if flip_y else 1, :: -1 if flip_x else 1]
        h = _homography(board, g.reshape(-1, 2))
        vals = _sample(gray, h, centres, 0.0, 0.25)
        white, dark = float(np.nanmedian(vals[~black])), float(np.nanmedian(vals[black]))
        right, down = g[0, -1] - g[0, 0], g[-1, 0] - g[0, 0]
        mirrored = float(right[0] * down[1] - right[1] * down[0]) < 0
        candidates.append((white - dark, mirrored, g, h, white, dark))
    matching = [c for c in candidates if c[0] > 0]
    if len(matching) != 2 or matching[0][0] < 8:
        return CalibrationFailure(
            "low_contrast",
            "The pattern's dark and light squares can hardly be told apart. Darken the room, "
            "raise the projector's brightness or lower the camera's exposure, then try again.",
        )
    warnings: list[str] = []
    upright = [c for c in matching if not c[1]]
    chosen = upright[0]
    if spec.marker:
        mx, my = spec.marker_square()
        with_dot = []
        for c in matching:
            dot = _sample(gray, c[3], np.array([(mx + 0.5, my + 0.5)]), 0.0, 0.1)[0]
            ring = _sample(gray, c[3], np.array([(mx + 0.5, my + 0.5)]), 0.34, 0.42)[0]
            if np.isfinite(dot) and np.isfinite(ring) and ring - dot > 0.35 * (c[4] - c[5]):
                with_dot.append(c)
        if len(with_dot) == 1 and with_dot[0][1]:
            return CalibrationFailure(
                "mirrored",
                "The picture on the screen is mirrored (the projector is probably set to rear "
                "projection). Set it to front projection (front-ceiling if it hangs upside down) "
                "and calibrate again.",
            )
        if len(with_dot) != 1:
            warnings.append(
                "The orientation dot in the pattern was not seen clearly; assumed the picture is "
                "not mirrored. Check that writing in a scenario video reads correctly on the screen."
            )
    return chosen[2], tuple(warnings)


def _fit(
    gray: np.ndarray, spec: PatternSpec, cam: np.ndarray, detector: str, warnings: tuple[str, ...]
) -> PatternFound | CalibrationFailure:
    height, width = gray.shape
    video = spec.inner_corners()
    square_px = _square_size(cam.reshape(spec.rows, spec.cols, 2))
    threshold = max(2.0, 0.08 * square_px)
    h, mask = cv2.findHomography(video, cam, cv2.RANSAC, threshold)
    if h is None:
        return CalibrationFailure("inconsistent", "The corners found do not lie on a flat screen.")
    residual = np.linalg.norm(_project(h, video) - cam, axis=1)
    inliers = mask.ravel().astype(bool)
    rms = float(np.sqrt(np.mean(residual[inliers] ** 2)))
    if inliers.mean() < 0.9 or rms > max(1.5, 0.06 * square_px):
        return CalibrationFailure(
            "inconsistent",
            f"The pattern's corners do not line up (error {rms:.1f} camera pixels): the image is "
            "probably washed out, smeared by movement or the screen is not flat. Steady the camera, "
            "lower its exposure and calibrate again.",
        )
    if _continues_beyond(gray, spec, h):
        return CalibrationFailure(
            "not_found",
            "The camera sees a chessboard larger than the expected calibration pattern. Project "
            "OpenRange's own calibration pattern (or pick the matching pattern) and try again.",
        )
    quad = _project(h, VIDEO_CORNERS)
    edges = edges_outside(quad, width, height)
    if edges:
        return cut_off_failure(edges)
    screen_width = float(np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])) / 2
    if screen_width < MIN_SCREEN_WIDTH_PX:
        return CalibrationFailure(
            "too_small",
            f"The picture is only {screen_width:.0f} camera pixels wide: aim would be too coarse. "
            f"Move the camera closer or zoom in until the picture is at least "
            f"{SMALL_SCREEN_WIDTH_PX:.0f} camera pixels wide.",
        )
    extra = list(warnings)
    if screen_width < SMALL_SCREEN_WIDTH_PX:
        extra.append(
            f"The picture is only {screen_width:.0f} camera pixels wide; move the camera closer "
            "or zoom in for finer aim."
        )
    right = quad[1] - quad[0] + quad[2] - quad[3]
    rotation = float(np.degrees(np.arctan2(right[1], right[0])))
    if abs(rotation) > 135:
        extra.append(
            "The picture appears upside down to the camera. That is handled, but unless the camera "
            "itself hangs upside down, check the projector's ceiling setting: videos must read the "
            "right way up on the screen."
        )
    elif abs(rotation) > 20:
        extra.append(f"The picture appears turned by {rotation:.0f} degrees in the camera image.")
    return PatternFound(spec, (width, height), cam, h, quad, rms, detector, rotation, tuple(extra))


def _continues_beyond(gray: np.ndarray, spec: PatternSpec, video_to_cam: np.ndarray) -> bool:
    """True when the checkerboard carries on past the pattern's outer squares (a bigger board)."""
    nx, ny = spec.squares
    scale = np.array([spec.board[2] - spec.board[0], spec.board[3] - spec.board[1]]) / (nx, ny)
    offset = np.array(spec.board[:2])
    board_to_video = np.array([[scale[0], 0, offset[0]], [0, scale[1], offset[1]], [0, 0, 1.0]])
    h = video_to_cam @ board_to_video
    inner, black = _inner_squares(spec)
    vals = _sample(gray, h, inner, 0.0, 0.25)
    contrast = float(np.nanmedian(vals[~black]) - np.nanmedian(vals[black]))
    sides = [
        [(sx, -1) for sx in range(nx)],
        [(sx, ny) for sx in range(nx)],
        [(-1, sy) for sy in range(ny)],
        [(nx, sy) for sy in range(ny)],
    ]
    for cells in sides:
        centres = np.array(cells, dtype=np.float64) + 0.5
        dark = np.array([spec.is_black(sx, sy) for sx, sy in cells])
        vals = _sample(gray, h, centres, 0.0, 0.25)
        ok = np.isfinite(vals)
        enough = (ok & dark).sum() >= 2 and (ok & ~dark).sum() >= 2
        if enough and np.nanmean(vals[~dark]) - np.nanmean(vals[dark]) > 0.5 * contrast:
            return True
    return False
