"""SimCamera: a camera that films a simulated projection screen.

Each frame is rendered the way a camera behind the trainee would see the screen: what the
projector shows (a synthetic moving scene by default, or any image handed to ``project``, such
as the calibration pattern) warped into the camera's view by a fixed, slightly keystoned
homography, with ambient light and sensor noise, plus a laser spot for a couple of frames
wherever ``shoot`` landed a shot. Frames are paced at the camera's frame rate and stamped with
their capture time. The appliance's real detector, calibration and hit mapping run on them,
exactly as on a real camera's frames.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from hardware.camera.base import Frame

# Where the projected picture's corners land in the 640x480 camera image (TL, TR, BR, BL).
DEFAULT_QUAD = ((92.0, 70.0), (552.0, 58.0), (566.0, 404.0), (80.0, 396.0))
SPOT_COLOURS = {"red": (70, 70, 255), "green": (90, 255, 90), "infrared": (235, 235, 235)}
_CONTENT_SIZE = (320, 180)


@dataclass
class _Shot:
    x: float
    y: float
    color: str
    t_mono: float
    frames_left: int


class SimCamera:
    """A ``FrameSource`` rendering the simulated screen; ``shoot`` lands laser shots on it."""

    name = "sim-camera"

    def __init__(
        self,
        *,
        size: tuple[int, int] = (640, 480),
        fps: float = 30.0,
        quad: tuple[tuple[float, float], ...] = DEFAULT_QUAD,
        noise: int = 6,
        seed: int = 7,
        clock: Callable[[], float] = time.monotonic,
        pace: bool = True,
    ) -> None:
        self.size = size
        self.fps = fps
        self._clock = clock
        self._pace = pace
        self._lock = threading.Lock()
        unit = np.float32([[0, 0], [1, 0], [1, 1], [0, 1]])
        self._video_to_cam = cv2.getPerspectiveTransform(unit, np.float32(quad))
        rng = np.random.default_rng(seed)
        self._noise = [rng.integers(0, noise + 1, (size[1], size[0], 3), dtype=np.uint8) for _ in range(8)]
        self._projected: np.ndarray | None = None
        self._warp_cache: tuple[int, np.ndarray] | None = None
        self._shots: list[_Shot] = []
        self._index = 0
        self._t0 = 0.0
        self._open = False

    # ---- what the simulation is told ---------------------------------------------------------
    def project(self, image: np.ndarray | None) -> None:
        """Show ``image`` (BGR, any size) on the screen; None = the synthetic moving scene."""
        with self._lock:
            self._projected = None if image is None else np.ascontiguousarray(image)
            self._warp_cache = None

    def shoot(self, x: float, y: float, color: str = "red", frames: int = 2) -> None:
        """A laser pulse at normalised video coordinates (0..1), visible for ``frames`` frames."""
        for name, value in (("x", x), ("y", y)):
            if not (isinstance(value, int | float) and math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"shot {name} must be between 0 and 1, got {value!r}")
        if color not in SPOT_COLOURS:
            raise ValueError(f"unknown laser colour {color!r}: {', '.join(SPOT_COLOURS)}")
        if not self._open:
            raise RuntimeError("the simulated camera is closed")
        with self._lock:
            self._shots.append(_Shot(x, y, color, self._clock(), frames))

    def video_to_camera(self, x: float, y: float) -> tuple[float, float]:
        """Where a point of the video lands in the camera image (the simulation's ground truth)."""
        point = cv2.perspectiveTransform(np.float32([[[x, y]]]), self._video_to_cam)[0, 0]
        return float(point[0]), float(point[1])

    # ---- FrameSource ---------------------------------------------------------------------------
    def open(self) -> None:
        self._open = True
        self._index = 0
        self._t0 = self._clock()

    def close(self) -> None:
        self._open = False

    @property
    def is_open(self) -> bool:
        return self._open

    def read(self, timeout: float) -> Frame | None:
        if not self._open:
            return None
        due = self._t0 + self._index / self.fps
        if self._pace:
            wait = due - self._clock()
            if wait > timeout:
                time.sleep(timeout)
                return None
            if wait > 0:
                time.sleep(wait)
            elif wait < -2.0 / self.fps:  # fell behind: drop frames like a real camera
                self._index = int((self._clock() - self._t0) * self.fps)
                due = self._t0 + self._index / self.fps
        image = self._render(due)
        frame = Frame(image, due, self._index)
        self._index += 1
        return frame

    # ---- rendering -------------------------------------------------------------------------------
    def _render(self, t: float) -> np.ndarray:
        with self._lock:
            projected = self._projected
            shots = [s for s in self._shots if s.t_mono <= t]
            for shot in shots:
                shot.frames_left -= 1
            self._shots = [s for s in self._shots if s.frames_left > 0]
        if projected is None:
            content = _moving_scene(t)
            frame = self._warp(content)
        else:
            frame = self._warped_projection(projected)
        frame = cv2.add(frame, self._noise[self._index % len(self._noise)])
        for shot in shots:
            cx, cy = self.video_to_camera(shot.x, shot.y)
            centre = (round(cx * 4), round(cy * 4))
            cv2.circle(frame, centre, 12, SPOT_COLOURS[shot.color], -1, cv2.LINE_AA, shift=2)
            cv2.circle(frame, centre, 5, (245, 245, 255), -1, cv2.LINE_AA, shift=2)
        return frame

    def _warp(self, content: np.ndarray) -> np.ndarray:
        h, w = content.shape[:2]
        scale = np.diag([1.0 / w, 1.0 / h, 1.0])
        matrix = self._video_to_cam @ scale
        ambient = (18, 18, 18)
        return cv2.warpPerspective(content, matrix, self.size, flags=cv2.INTER_LINEAR, borderValue=ambient)

    def _warped_projection(self, projected: np.ndarray) -> np.ndarray:
        cache = self._warp_cache
        if cache is None or cache[0] != id(projected):
            cache = (id(projected), self._warp(projected))
            self._warp_cache = cache
        return cache[1].copy()


def _moving_scene(t: float) -> np.ndarray:
    """A dim scene with a figure pacing across it and a slow brightness drift (moving content)."""
    w, h = _CONTENT_SIZE
    level = int(70 + 25 * math.sin(t * 0.7))
    content = np.full((h, w, 3), (level, level + 8, level + 4), dtype=np.uint8)
    x = int(w * (0.5 + 0.3 * math.sin(t * 0.9)))
    cv2.rectangle(content, (x - 14, int(h * 0.3)), (x + 14, int(h * 0.92)), (60, 90, 170), -1)
    cv2.circle(content, (x, int(h * 0.22)), 11, (120, 150, 200), -1)
    cv2.rectangle(content, (0, int(h * 0.92)), (w, h), (40, 45, 50), -1)
    return content
