"""The Raspberry Pi camera through picamera2 (libcamera), imported only when opened.

Laser spots are tiny, bright and brief, so the camera runs a high-frame-rate sensor mode with
exposure and gain locked low (the projected picture goes dark, the laser stays bright) and no
auto white balance drifting the colours. Frames come from a small stream: the "lores" YUV420
stream's luma plane (cheapest, colour-blind: infrared and single-colour ranges), or a small
BGR "main" stream when red and green lasers must be told apart. Each frame carries libcamera's
``SensorTimestamp`` (start of exposure), converted to the ``time.monotonic()`` clock.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from hardware.camera.base import CameraError, Frame

log = logging.getLogger(__name__)


def sensor_time_to_monotonic(sensor_ns: int) -> float:
    """libcamera stamps frames on CLOCK_BOOTTIME; it equals CLOCK_MONOTONIC plus time suspended."""
    offset = time.clock_gettime(time.CLOCK_BOOTTIME) - time.monotonic()
    return sensor_ns / 1e9 - offset


class PiCamera:
    """A ``FrameSource`` on picamera2."""

    name = "pi-camera"

    def __init__(
        self,
        *,
        size: tuple[int, int] = (640, 480),
        fps: float = 90.0,
        colour: bool = True,
        exposure_us: int = 2000,
        gain: float = 1.0,
    ) -> None:
        self.size = size
        self.fps = fps
        self.colour = colour
        self.exposure_us = exposure_us
        self.gain = gain
        self._camera: Any = None
        self._index = 0

    def open(self) -> None:
        try:
            from picamera2 import Picamera2  # only on the Pi (Raspberry Pi OS package python3-picamera2)
        except ImportError as exc:
            raise CameraError(f"picamera2 is not installed ({exc}): apt install python3-picamera2") from exc
        try:
            camera = Picamera2()
            frame_us = int(1_000_000 / self.fps)
            controls = {
                "FrameDurationLimits": (frame_us, frame_us),
                "AeEnable": False,
                "ExposureTime": self.exposure_us,
                "AnalogueGain": self.gain,
                "AwbEnable": False,
            }
            if self.colour:
                config = camera.create_video_configuration(
                    main={"size": self.size, "format": "RGB888"}, controls=controls, buffer_count=4
                )
            else:
                config = camera.create_video_configuration(
                    main={"size": (self.size[0] * 2, self.size[1] * 2)},
                    lores={"size": self.size, "format": "YUV420"},
                    controls=controls,
                    buffer_count=4,
                )
            camera.configure(config)
            camera.start()
        except Exception as exc:  # libcamera raises RuntimeError and friends
            raise CameraError(f"the Pi camera cannot be started: {exc}") from exc
        self._camera = camera
        self._index = 0
        log.info("Pi camera open: %dx%d at %.0f fps, exposure %d us", *self.size, self.fps, self.exposure_us)

    def close(self) -> None:
        camera, self._camera = self._camera, None
        if camera is not None:
            try:
                camera.stop()
                camera.close()
            except Exception:
                log.exception("closing the Pi camera failed")

    def read(self, timeout: float) -> Frame | None:
        camera = self._camera
        if camera is None:
            return None
        try:
            request = camera.capture_request()
        except Exception as exc:
            raise CameraError(f"the Pi camera stopped delivering frames: {exc}") from exc
        try:
            if self.colour:
                image = np.ascontiguousarray(request.make_array("main"))  # "RGB888" is B, G, R in memory
            else:
                yuv = request.make_array("lores")
                image = np.ascontiguousarray(yuv[: self.size[1], : self.size[0]])
            sensor_ns = request.get_metadata().get("SensorTimestamp")
        finally:
            request.release()
        t_mono = sensor_time_to_monotonic(sensor_ns) if sensor_ns else time.monotonic()
        frame = Frame(image, t_mono, self._index)
        self._index += 1
        return frame
