"""Frame → hits: the laser detector, the camera→video calibration and the laser zero, together.

A ``HitMapper`` is handed to the camera's capture thread as its analyser; it is pure numpy and
keeps the detector's per-stream state. Hits carry the capture time of the frame the spot first
appeared in, less the display latency (the picture on the screen lags the player's clock), so
the controller judges them against what the trainee actually saw.
"""

from __future__ import annotations

from collections.abc import Sequence

from appliance.detection.calibration import Calibration, PointOfImpactOffset
from appliance.detection.laser import LaserDetector
from hardware.camera.base import Frame
from hardware.events import HitDetected

EDGE_TOLERANCE = 0.01
"""A hit this close outside the picture (in video units) is kept, clamped onto the edge."""


class HitMapper:
    def __init__(
        self,
        calibration: Calibration,
        *,
        source: str,
        display_latency_s: float = 0.0,
        offset: PointOfImpactOffset | None = None,
    ) -> None:
        self.calibration = calibration
        self.source = source
        self.display_latency_s = display_latency_s
        self.offset = offset
        self._detector: LaserDetector | None = None

    def _detector_for(self, frame: Frame) -> LaserDetector:
        h, w = frame.image.shape[:2]
        detector = self._detector
        if detector is None or (detector.width, detector.height) != (w, h):
            x, y, bw, bh = self.calibration.bounds
            margin = 4
            bounds = (max(0, x - margin), max(0, y - margin), bw + 2 * margin, bh + 2 * margin)
            bounds = (bounds[0], bounds[1], min(bounds[2], w - bounds[0]), min(bounds[3], h - bounds[1]))
            detector = self._detector = LaserDetector(w, h, bounds=bounds)
        return detector

    def __call__(self, frame: Frame) -> Sequence[HitDetected]:
        shots = self._detector_for(frame).process(frame.image, frame.t_mono * 1000.0)
        hits = []
        for shot in shots:
            u, v = self.calibration.camera_to_video(shot.x, shot.y)
            if self.offset is not None:
                u, v = self.offset.apply(u, v)
            if not (
                -EDGE_TOLERANCE <= u <= 1 + EDGE_TOLERANCE and -EDGE_TOLERANCE <= v <= 1 + EDGE_TOLERANCE
            ):
                continue  # on the wall beside the picture
            u, v = min(max(u, 0.0), 1.0), min(max(v, 0.0), 1.0)
            t_mono = shot.t_ms / 1000.0 - self.display_latency_s
            hits.append(HitDetected(u, v, t_mono, shot.color, self.source))
        return hits
