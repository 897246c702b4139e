"""Laser shot detection, projector calibration and hit zones (the appliance side: numpy, no I/O).

Shot detection: ``LaserDetector`` (one per camera stream) returns ``Shot``s; ``DetectorConfig``
holds its settings; ``find_shots_in_image`` handles a single still image.
"""

from appliance.detection.laser import DetectorConfig, LaserDetector, Shot
from appliance.detection.still_image import find_shots_in_image

__all__ = ["DetectorConfig", "LaserDetector", "Shot", "find_shots_in_image"]
