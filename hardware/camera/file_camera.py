"""A camera that replays a video or still-image file through OpenCV.

``FileCamera`` delivers a recording the way a camera would: one frame at a time, each with the
time it was taken (``t_ms`` from the container's timestamps, falling back to
``index * 1000 / fps``), as a numpy array (uint8 BGR, or uint8 luma for a grey image). It
replays the laser-shot recordings in ``../shared/datasets/`` for ``openrange detect``, the
detection tests and the benchmark, and is the start of a file-backed ``Camera`` backend.

A still image is a one-frame recording at ``t_ms = 0``.

The camera is single-use per ``open()``: ``frames()`` reads from the current position and the
iterator ends at the end of the file or when the camera is closed.

It is also a ``FrameSource`` (``hardware.camera.base``), so a recorded clip can stand in for a
camera in the running appliance: ``read(timeout)`` returns the next ``Frame`` stamped on the
monotonic clock as ``open time + t_ms / 1000``, and None at the end of the file. With
``pace=True`` each frame is held back until that time, so the clip plays at its recorded speed
(a frame that is not due within ``timeout`` is kept for the next call); without, frames come as
fast as they are asked for (tests, batch runs). Frames are never dropped.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hardware.camera.base import CameraError, Frame

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"})
_FALLBACK_FPS = 30.0


class CameraFileError(CameraError):
    """The file cannot be opened or decoded as video or image; the message says why."""


@dataclass(frozen=True, slots=True)
class CapturedFrame:
    """One frame as the camera delivered it: 0-based index, capture time and pixels."""

    index: int
    t_ms: float
    image: np.ndarray


class FileCamera:
    """Replays a video or image file frame by frame with each frame's timestamp."""

    name = "file-camera"

    def __init__(
        self,
        path: str | Path,
        *,
        pace: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = Path(path)
        self.pace = pace
        self._clock = clock
        self._sleep = sleep
        self._t0 = 0.0
        self._reader: Iterator[CapturedFrame] | None = None
        self._pending: CapturedFrame | None = None
        self._ended = False
        self._capture: cv2.VideoCapture | None = None
        self._still: np.ndarray | None = None
        self._is_still = False
        self._is_open = False
        self.width = 0
        self.height = 0
        self.fps = 0.0
        self.frame_count = 0

    @property
    def is_open(self) -> bool:
        return self._is_open

    @property
    def is_still(self) -> bool:
        """True when the file is a still image (a one-frame recording)."""
        return self._is_still

    def open(self) -> None:
        """Open the file; raises ``CameraFileError`` when it cannot be read. Idempotent."""
        if self._is_open:
            return
        problem = _unreadable(self.path)
        if problem:
            raise CameraFileError(f"{self.path}: {problem}")
        if self.path.suffix.lower() in IMAGE_SUFFIXES:
            self._open_still()
        else:
            self._open_video()
        self._is_open = True
        self._t0 = self._clock()
        self._reader, self._pending, self._ended = None, None, False
        log.debug("opened %s: %dx%d, %.2f fps", self.path, self.width, self.height, self.fps)

    def close(self) -> None:
        """Release the file; safe to call twice."""
        capture, self._capture = self._capture, None
        self._reader, self._pending = None, None
        self._still = None
        self._is_still = False
        self._is_open = False
        if capture is not None:
            capture.release()

    def __enter__(self) -> FileCamera:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def ended(self) -> bool:
        """True once ``read`` has reached the end of the file."""
        return self._ended

    def read(self, timeout: float) -> Frame | None:
        """The next frame as a camera delivers it (``FrameSource``); None when closed, at the end
        of the file (after waiting ``timeout`` when pacing) or, pacing, when the next frame is not
        due within ``timeout`` seconds."""
        if not self._is_open:
            return None
        if self._reader is None:
            self._reader = self.frames()
        captured = self._pending
        self._pending = None
        if captured is None:
            captured = next(self._reader, None)
        if captured is None:  # the end: like a camera that delivers nothing (no busy loop)
            self._ended = True
            if self.pace:
                self._sleep(max(timeout, 0.0))
            return None
        t_mono = self._t0 + captured.t_ms / 1000.0
        if self.pace:
            wait = t_mono - self._clock()
            if wait > timeout:
                self._sleep(max(timeout, 0.0))
                self._pending = captured
                return None
            if wait > 0:
                self._sleep(wait)
        return Frame(captured.image, t_mono, captured.index)

    def frames(self) -> Iterator[CapturedFrame]:
        """Yield the frames from the current position until the end of the file."""
        if not self._is_open:
            raise RuntimeError(f"{self.path}: the camera is not open")
        if self._is_still:
            still, self._still = self._still, None
            if still is not None:
                yield CapturedFrame(0, 0.0, still)
            return
        index = 0
        previous_t = -math.inf
        while self._capture is not None:
            ok, image = self._capture.read()
            if not ok or image is None:
                break
            t_ms = self._timestamp(index, previous_t)
            previous_t = t_ms
            yield CapturedFrame(index, t_ms, image)
            index += 1

    def _timestamp(self, index: int, previous_t: float) -> float:
        """The container's time for the frame just read; index/fps (kept increasing) without one."""
        assert self._capture is not None
        t_ms = float(self._capture.get(cv2.CAP_PROP_POS_MSEC))
        if math.isfinite(t_ms) and t_ms >= 0.0 and (index == 0 or t_ms > previous_t):
            return t_ms
        step = 1000.0 / (self.fps or _FALLBACK_FPS)
        return max(index * step, previous_t + step) if index else 0.0

    def _open_still(self) -> None:
        image = cv2.imread(str(self.path), cv2.IMREAD_UNCHANGED)
        if image is None or image.size == 0:
            raise CameraFileError(f"{self.path}: not a readable image")
        image = _as_uint8_frame(image)
        self._still = image
        self._is_still = True
        self.height, self.width = image.shape[:2]
        self.fps = 0.0
        self.frame_count = 1

    def _open_video(self) -> None:
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            capture.release()
            raise CameraFileError(f"{self.path}: not a readable video or image")
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if width <= 0 or height <= 0:
            capture.release()
            raise CameraFileError(f"{self.path}: the video has no picture")
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        self.fps = fps if math.isfinite(fps) and fps > 0.0 else 0.0
        self.width, self.height = width, height
        self.frame_count = max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
        self._capture = capture


def _as_uint8_frame(image: np.ndarray) -> np.ndarray:
    """A still as a camera frame: uint8 luma (H, W) or BGR (H, W, 3)."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise CameraFileError(f"unsupported image sample type {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    return np.ascontiguousarray(image)


def _unreadable(path: Path) -> str | None:
    try:
        if not path.exists():
            return "no such file"
        if path.is_dir():
            return "is a folder, not a file"
        with path.open("rb") as handle:
            if not handle.read(1):
                return "the file is empty"
    except OSError as exc:
        return exc.strerror or str(exc)
    return None
