"""A USB (UVC) camera through OpenCV's V4L2 backend.

Set to MJPG at the requested size and frame rate with manual exposure, so the projected picture
is dim and the laser spot stays bright. V4L2 timestamps are not exposed reliably by OpenCV, so a
frame is stamped when it is grabbed, less one frame interval (the frame was exposed before it
was delivered); the calibration's display latency setting absorbs the rest.
"""

from __future__ import annotations

import logging
import re
import time

import cv2

from hardware.camera.base import CameraError, Frame

log = logging.getLogger(__name__)

V4L2_MANUAL_EXPOSURE = 1  # V4L2_EXPOSURE_MANUAL through OpenCV's CAP_PROP_AUTO_EXPOSURE


class V4l2Camera:
    """A ``FrameSource`` on /dev/videoN."""

    name = "usb-camera"

    def __init__(
        self,
        device: str = "/dev/video0",
        *,
        size: tuple[int, int] = (640, 480),
        fps: float = 60.0,
        exposure: float | None = None,
    ) -> None:
        self.device = device
        self.size = size
        self.fps = fps
        self.exposure = exposure
        self._capture: cv2.VideoCapture | None = None
        self._index = 0

    def open(self) -> None:
        match = re.fullmatch(r"/dev/video(\d+)", self.device)
        capture = cv2.VideoCapture(int(match.group(1)) if match else self.device, cv2.CAP_V4L2)
        if not capture.isOpened():
            raise CameraError(
                f"cannot open the USB camera {self.device} (plugged in? permissions: video group?)"
            )
        capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
        capture.set(cv2.CAP_PROP_FPS, self.fps)
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        if self.exposure is not None:
            capture.set(cv2.CAP_PROP_AUTO_EXPOSURE, V4L2_MANUAL_EXPOSURE)
            capture.set(cv2.CAP_PROP_EXPOSURE, self.exposure)
        got = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        log.info("USB camera %s open: %dx%d at %.0f fps", self.device, *got, capture.get(cv2.CAP_PROP_FPS))
        self._capture = capture
        self._index = 0

    def close(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()

    def read(self, timeout: float) -> Frame | None:
        capture = self._capture
        if capture is None:
            return None
        ok, image = capture.read()
        grabbed = time.monotonic()
        if not ok or image is None:
            raise CameraError(f"the USB camera {self.device} stopped delivering frames (unplugged?)")
        frame = Frame(image, grabbed - 1.0 / max(self.fps, 1.0), self._index)
        self._index += 1
        return frame
