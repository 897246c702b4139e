"""Camera -> video calibration: the homography, the pre-session self-check and the laser zero.

A :class:`Calibration` maps camera pixels (OpenCV convention: ``(0, 0)`` is the centre of the
top-left pixel) to normalised video coordinates (``(0, 0)`` top-left corner of the projected
picture, ``(1, 1)`` bottom-right). It is frozen and round-trips through JSON.

Typical use::

    cal = calibrate(frame)                       # raises CalibrationError with a plain message
    u, v = cal.camera_to_video(spot_x, spot_y)   # floats or numpy arrays
    u, v = offsets[weapon].apply(u, v)           # laser zero for that weapon
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from appliance.detection.calibration_diagnose import CalibrationFailure
from appliance.detection.calibration_find import PatternFound, find_pattern, to_gray
from appliance.detection.calibration_pattern import (
    DEFAULT_SPEC,
    SELF_CHECK_POINTS,
    SHOOTOFF_SPEC,
    PatternSpec,
    pattern_spec,
)

KNOWN_SPECS: tuple[PatternSpec, ...] = (DEFAULT_SPEC, pattern_spec(1024, 768), SHOOTOFF_SPEC)
"""Patterns tried, largest board first, when the caller does not say which one is projected."""
# A failure that shows the pattern was seen says more than one from an image with no pattern.
_SEEN = ("cut_off", "mirrored", "too_small", "inconsistent")


class CalibrationError(ValueError):
    """Calibration failed; ``failure`` says why in words for the technician."""

    def __init__(self, failure: CalibrationFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def _apply_homography(h: np.ndarray, x: Any, y: Any) -> tuple[Any, Any]:
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    w = h[2, 0] * xs + h[2, 1] * ys + h[2, 2]
    u = (h[0, 0] * xs + h[0, 1] * ys + h[0, 2]) / w
    v = (h[1, 0] * xs + h[1, 1] * ys + h[1, 2]) / w
    if u.ndim == 0:
        return float(u), float(v)
    return u, v


@dataclass(frozen=True)
class Calibration:
    """The camera -> video mapping found from one camera image of the calibration pattern."""

    camera_size: tuple[int, int]
    """Camera image (width, height) in pixels."""
    video_size: tuple[int, int]
    """Projected picture (width, height) in pixels."""
    homography: tuple[tuple[float, float, float], ...]
    """3x3 matrix, camera pixels -> normalised video coordinates (row-major, h[2][2] == 1)."""
    reprojection_error_px: float
    """RMS distance (camera pixels) between the pattern corners found and where the fit puts them."""
    screen_quad: tuple[tuple[float, float], ...]
    """The projected picture's corners in camera pixels: top-left, top-right, bottom-right, bottom-left."""
    created_at: str
    """ISO 8601 UTC time of the calibration."""
    pattern: str = "openrange"
    warnings: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        h = np.asarray(self.homography, dtype=np.float64)
        if h.shape != (3, 3) or not np.isfinite(h).all() or abs(np.linalg.det(h)) < 1e-18:
            raise ValueError("homography must be an invertible 3x3 matrix of finite numbers")
        if len(self.screen_quad) != 4:
            raise ValueError("screen_quad must list four corners")
        if min(*self.camera_size, *self.video_size) <= 0:
            raise ValueError("camera and video sizes must be positive")

    @cached_property
    def _matrix(self) -> np.ndarray:
        return np.asarray(self.homography, dtype=np.float64)

    @cached_property
    def _inverse(self) -> np.ndarray:
        return np.linalg.inv(self._matrix)

    def camera_to_video(self, x: Any, y: Any) -> tuple[Any, Any]:
        """Camera pixels -> normalised video ``(u, v)``; floats in, floats out; arrays in, arrays out."""
        return _apply_homography(self._matrix, x, y)

    def video_to_camera(self, u: Any, v: Any) -> tuple[Any, Any]:
        """Normalised video ``(u, v)`` -> camera pixels (the inverse of :meth:`camera_to_video`)."""
        return _apply_homography(self._inverse, u, v)

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        """Bounding box ``(x, y, w, h)`` of the projected picture in whole camera pixels."""
        quad = np.asarray(self.screen_quad)
        x0, y0 = np.floor(quad.min(axis=0)).astype(int)
        x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
        return int(x0), int(y0), int(x1 - x0), int(y1 - y0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "camera_size": list(self.camera_size),
            "video_size": list(self.video_size),
            "homography": [list(row) for row in self.homography],
            "reprojection_error_px": self.reprojection_error_px,
            "screen_quad": [list(p) for p in self.screen_quad],
            "bounds": list(self.bounds),
            "created_at": self.created_at,
            "pattern": self.pattern,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` on missing or malformed fields."""
        try:
            return cls(
                camera_size=(int(data["camera_size"][0]), int(data["camera_size"][1])),
                video_size=(int(data["video_size"][0]), int(data["video_size"][1])),
                homography=tuple(tuple(float(v) for v in row) for row in data["homography"]),
                reprojection_error_px=float(data["reprojection_error_px"]),
                screen_quad=tuple((float(p[0]), float(p[1])) for p in data["screen_quad"]),
                created_at=str(data["created_at"]),
                pattern=str(data.get("pattern", "openrange")),
                warnings=tuple(str(w) for w in data.get("warnings", ())),
            )
        except (KeyError, IndexError, TypeError) as exc:
            raise ValueError(f"not a calibration record: {exc!r}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a calibration record: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError("not a calibration record: expected a JSON object")
        return cls.from_dict(data)

    @classmethod
    def from_found(cls, found: PatternFound, *, now: datetime | None = None) -> Calibration:
        """Package a :class:`PatternFound` (its homography maps video -> camera; ours is the inverse)."""
        h = np.linalg.inv(found.video_to_camera)
        h = h / h[2, 2]
        return cls(
            camera_size=found.camera_size,
            video_size=found.spec.video_size,
            homography=tuple(tuple(float(v) for v in row) for row in h),
            reprojection_error_px=round(found.reprojection_error_px, 4),
            screen_quad=tuple((float(x), float(y)) for x, y in found.screen_quad),
            created_at=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
            pattern=found.spec.name,
            warnings=found.warnings,
        )


def find_any_pattern(
    camera_image: np.ndarray, specs: Sequence[PatternSpec] = KNOWN_SPECS, *, quick: bool = False
) -> PatternFound | CalibrationFailure:
    """Try each pattern kind in turn (fast detector first); the most telling failure otherwise."""
    for spec in specs:
        result = find_pattern(camera_image, spec, quick=True)
        if isinstance(result, PatternFound) or result.reason in _SEEN:
            return result
    if quick:
        return CalibrationFailure("not_found", "No known calibration pattern found.")
    failures: list[CalibrationFailure] = []
    for spec in specs:
        result = find_pattern(camera_image, spec)
        if isinstance(result, PatternFound) or result.reason in _SEEN:
            return result
        failures.append(result)
    return failures[0]


def _find(image: np.ndarray, spec: PatternSpec | None, quick: bool) -> PatternFound | CalibrationFailure:
    return find_any_pattern(image, quick=quick) if spec is None else find_pattern(image, spec, quick=quick)


def calibrate(
    camera_image: np.ndarray, spec: PatternSpec | None = DEFAULT_SPEC, *, now: datetime | None = None
) -> Calibration:
    """Calibrate from one camera image of the projected pattern (``spec=None``: any known pattern).

    Raises :class:`CalibrationError` whose message tells the technician what to change.
    """
    found = _find(camera_image, spec, quick=False)
    if isinstance(found, CalibrationFailure):
        raise CalibrationError(found)
    return Calibration.from_found(found, now=now)


def calibrate_frames(
    frames: Iterable[np.ndarray], spec: PatternSpec | None = DEFAULT_SPEC, *, wanted: int = 3
) -> Calibration:
    """Calibrate from a stream of frames: the best fit among the first ``wanted`` good ones.

    Frames without the pattern (a person walking past, the projector still warming up) are
    skipped with the fast detector. If no frame works, the first failure that shows the pattern
    was seen is raised, or else the full diagnosis of the last frame.
    """
    good: list[Calibration] = []
    seen: CalibrationFailure | None = None
    last: np.ndarray | None = None
    for frame in frames:
        last = frame
        found = _find(frame, spec, quick=True)
        if isinstance(found, PatternFound):
            good.append(Calibration.from_found(found))
            if len(good) >= wanted:
                break
        elif found.reason in _SEEN:
            seen = seen or found
    if good:
        return min(good, key=lambda c: c.reprojection_error_px)
    if seen is not None:
        raise CalibrationError(seen)
    if last is None:
        raise CalibrationError(CalibrationFailure("not_found", "No camera frames to calibrate from."))
    return calibrate(last, spec)


@dataclass(frozen=True)
class SelfCheckResult:
    """Outcome of the pre-session self-check; errors are in units of the picture's width."""

    passed: bool
    max_error: float
    mean_error: float
    errors: tuple[float, ...]
    tolerance: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        def num(value: float) -> float | None:  # JSON has no NaN
            return None if math.isnan(value) else value

        return {
            "passed": self.passed,
            "max_error": num(self.max_error),
            "mean_error": num(self.mean_error),
            "errors": [num(e) for e in self.errors],
            "tolerance": self.tolerance,
            "message": self.message,
        }


def self_check(
    calibration: Calibration,
    observed_points_camera: Sequence[tuple[float, float]] | np.ndarray,
    expected_points_video: Sequence[tuple[float, float]] | np.ndarray = SELF_CHECK_POINTS,
    tolerance: float = 0.005,
) -> SelfCheckResult:
    """Do the projected dots, seen by the camera, map back to where they were drawn?

    ``observed_points_camera[i]`` is where the camera saw dot ``i`` (NaN if it did not);
    ``expected_points_video[i]`` is where it was drawn. Errors are distances in normalised video,
    with the vertical scaled by height/width so that they are in units of the picture's width.
    """
    observed = np.asarray(observed_points_camera, dtype=np.float64).reshape(-1, 2)
    expected = np.asarray(expected_points_video, dtype=np.float64).reshape(-1, 2)
    if len(observed) != len(expected) or len(expected) == 0:
        raise ValueError(f"{len(observed)} observed points for {len(expected)} expected ones")
    u, v = calibration.camera_to_video(observed[:, 0], observed[:, 1])
    aspect = calibration.video_size[1] / calibration.video_size[0]
    errors = np.hypot(u - expected[:, 0], (v - expected[:, 1]) * aspect)
    missing = np.flatnonzero(~np.isfinite(errors))
    width_px = calibration.video_size[0]
    if len(missing):
        names = ", ".join(str(i + 1) for i in missing)
        return SelfCheckResult(
            False,
            math.nan,
            math.nan,
            tuple(float(e) for e in errors),
            tolerance,
            f"Self-check failed: the camera did not see dot(s) {names} near where they should be. "
            "The camera or projector may have moved, or something blocks the view: calibrate again.",
        )
    worst = int(np.argmax(errors))
    max_error, mean_error = float(errors.max()), float(errors.mean())
    passed = max_error <= tolerance
    if passed:
        message = (
            f"Self-check passed: {len(errors)} dots within {max_error:.4f} of the picture width "
            f"({max_error * width_px:.1f} px; limit {tolerance * width_px:.1f} px)."
        )
    else:
        message = (
            f"Self-check failed: dot {worst + 1} at ({expected[worst, 0]:.2f}, {expected[worst, 1]:.2f}) "
            f"is off by {max_error:.4f} of the picture width ({max_error * width_px:.1f} px, limit "
            f"{tolerance * width_px:.1f} px). The camera or projector has probably moved: calibrate again."
        )
    return SelfCheckResult(passed, max_error, mean_error, tuple(float(e) for e in errors), tolerance, message)


def locate_dots(
    camera_image: np.ndarray,
    calibration: Calibration,
    points_video: Sequence[tuple[float, float]] | np.ndarray = SELF_CHECK_POINTS,
    *,
    search_radius: float = 0.04,
) -> np.ndarray:
    """Find the bright self-check dots near where ``calibration`` predicts them (camera px, NaN if unseen).

    ``search_radius`` is a fraction of the picture's width as the camera sees it.
    """
    gray = to_gray(camera_image).astype(np.float64)
    pts = np.asarray(points_video, dtype=np.float64).reshape(-1, 2)
    quad = np.asarray(calibration.screen_quad)
    radius = max(4.0, search_radius * float(np.linalg.norm(quad[1] - quad[0])))
    xs, ys = calibration.video_to_camera(pts[:, 0], pts[:, 1])
    found = np.full((len(pts), 2), np.nan)
    height, width = gray.shape
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        x0, x1 = max(int(x - radius), 0), min(int(x + radius) + 1, width)
        y0, y1 = max(int(y - radius), 0), min(int(y + radius) + 1, height)
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        roi = gray[y0:y1, x0:x1]
        lo, hi = float(roi.min()), float(roi.max())
        if hi - lo < 40:
            continue
        weight = np.clip(roi - (lo + hi) / 2, 0, None)
        gy, gx = np.mgrid[y0:y1, x0:x1]
        found[i] = (float((weight * gx).sum() / weight.sum()), float((weight * gy).sum() / weight.sum()))
    return found


@dataclass(frozen=True)
class PointOfImpactOffset:
    """Laser zero for one weapon: added to (u, v) after the homography, in normalised video units.

    Values beyond ±:attr:`LIMIT` are clamped: a bigger correction means the laser is knocked out
    of line and needs adjusting, not software.
    """

    dx: float = 0.0
    dy: float = 0.0
    weapon: str = ""
    LIMIT: ClassVar[float] = 0.1

    def __post_init__(self) -> None:
        if not (math.isfinite(self.dx) and math.isfinite(self.dy)):
            raise ValueError(f"offset ({self.dx}, {self.dy}) must be finite numbers")
        object.__setattr__(self, "dx", float(min(max(self.dx, -self.LIMIT), self.LIMIT)))
        object.__setattr__(self, "dy", float(min(max(self.dy, -self.LIMIT), self.LIMIT)))

    @property
    def at_limit(self) -> bool:
        """True when the offset sits on the clamp: check the laser's alignment."""
        return max(abs(self.dx), abs(self.dy)) >= self.LIMIT

    def apply(self, u: Any, v: Any) -> tuple[Any, Any]:
        """Shift a hit (floats or arrays) by the zero offset."""
        if np.ndim(u) == 0 and np.ndim(v) == 0:
            return float(u) + self.dx, float(v) + self.dy
        return np.asarray(u, dtype=np.float64) + self.dx, np.asarray(v, dtype=np.float64) + self.dy

    @classmethod
    def from_shots(
        cls, aim: tuple[float, float], hits: Sequence[tuple[float, float]], *, weapon: str = ""
    ) -> PointOfImpactOffset:
        """Zero from a group fired at ``aim``: the offset moves the group's median onto the aim point."""
        group = np.asarray(hits, dtype=np.float64).reshape(-1, 2)
        if len(group) == 0:
            raise ValueError("zeroing needs at least one hit")
        centre = np.median(group, axis=0)
        return cls(float(aim[0] - centre[0]), float(aim[1] - centre[1]), weapon)

    def to_dict(self) -> dict[str, Any]:
        return {"dx": self.dx, "dy": self.dy, "weapon": self.weapon}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PointOfImpactOffset:
        try:
            return cls(float(data["dx"]), float(data["dy"]), str(data.get("weapon", "")))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a point-of-impact offset: {exc!r}") from None
