"""Laser spots in a single still image, where there is no stream to learn a background from.

The background is estimated from the image itself: a grey *opening* (a minimum filter then a
maximum filter over a window wider than any spot) removes small bright features and keeps
everything larger, so ``image - opening`` is the rise of small bright features. The pixel noise
is the median absolute rise. The same spot rules as for a stream then apply (``spots.py``), and
the colour compares each channel with its own opening.

Without the time cue (a spot appears, a glare patch stays), glare and reflections look like
spots, so a still only reports strong, saturated ones: the peak must reach
``STILL_MIN_PEAK_LUMA`` and rise ``STILL_MIN_RISE`` over the opening (or the config's values if
higher). Meant for ``openrange detect`` on an image file and for the 2015 still-image tests; a
camera stream should use ``LaserDetector``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

import numpy as np

from appliance.detection.background import BackgroundModel
from appliance.detection.color import classify_color
from appliance.detection.detection_area import DetectionArea
from appliance.detection.detector_config import REFERENCE_PIXELS, DetectorConfig
from appliance.detection.laser import Shot
from appliance.detection.pixel_kernels import to_luma
from appliance.detection.spots import measure_candidates, rejection_reason

# Window of the opening at 640x480: wider than the largest spot expected in a still
OPENING_WINDOW = 25
STILL_MIN_PEAK_LUMA = 240.0
STILL_MIN_RISE = 60.0


def find_shots_in_image(
    image: np.ndarray,
    *,
    bounds: tuple[int, int, int, int] | None = None,
    sectors_off: Iterable[int | tuple[int, int]] = (),
    config: DetectorConfig | None = None,
) -> list[Shot]:
    """Laser shots in one uint8 BGR or luma image (frame 0, time 0), strongest first."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.size == 0:
        raise ValueError("an image must be a non-empty uint8 numpy array")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"an image must be (H, W) luma or (H, W, 3) BGR, not shape {image.shape}")
    config = config if config is not None else DetectorConfig()
    config = replace(
        config,
        min_peak_luma=max(config.min_peak_luma, STILL_MIN_PEAK_LUMA),
        min_rise=max(config.min_rise, STILL_MIN_RISE),
    )
    height, width = image.shape[:2]
    area = DetectionArea.build(width, height, bounds, sectors_off)
    window = max(3, round(OPENING_WINDOW * (width * height / REFERENCE_PIXELS) ** 0.5) | 1)
    luma = to_luma(image)
    opened = grey_opening(luma, window)
    model = BackgroundModel(
        height,
        width,
        still_rate=1.0,
        moving_rate=1.0,
        still_deviation=config.still_deviation,
        moving_deviation=config.moving_deviation,
        variability_rate=1.0,
        initial_deviation=0.0,
        deviation_cap=config.deviation_cap,
        threshold_floor=config.threshold_floor,
        threshold_factor=config.threshold_factor,
    )
    model.mean[...] = opened
    rise = model.rise(luma)
    noise = float(np.median(np.abs(rise)))
    model.deviation[...] = noise
    mask = rise > max(config.threshold_floor, config.threshold_factor * noise)
    limits = config.spot_limits(width, height)
    candidates, _ = measure_candidates(mask, luma, rise, model, limits)
    spots = [
        c
        for c in candidates
        if rejection_reason(c, limits, width, height) is None and area.contains(c.x, c.y)
    ]
    spots.sort(key=lambda c: c.peak_rise, reverse=True)
    if image.ndim == 3:
        before = np.stack([grey_opening(image[:, :, k], window) for k in range(3)], axis=2)
    shots = []
    for c in spots:
        if image.ndim == 2:
            color = config.luma_color
        else:
            color = classify_color(
                image, before, c.ys, c.xs, colors=config.colors, neutral_spread=config.neutral_spread
            )
        shots.append(Shot(0, 0.0, c.x, c.y, color))
    return shots


def grey_opening(image: np.ndarray, window: int) -> np.ndarray:
    """Minimum then maximum filter over a square ``window`` (odd), edges replicated."""
    return _filter(_filter(image, window, np.min), window, np.max)


def _filter(image: np.ndarray, window: int, reduce: Callable[..., np.ndarray]) -> np.ndarray:
    half = window // 2
    padded = np.pad(image, half, mode="edge")
    rows = np.lib.stride_tricks.sliding_window_view(padded, window, axis=1)
    across = reduce(rows, axis=-1)
    cols = np.lib.stride_tricks.sliding_window_view(across, window, axis=0)
    return reduce(cols, axis=-1)
