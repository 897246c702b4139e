"""Laser shot detection on a camera stream.

``LaserDetector`` takes the frames of one camera in order, as uint8 BGR (H, W, 3) or uint8 luma
(H, W) arrays with their capture times, and returns the shots it finds::

    detector = LaserDetector(640, 480, bounds=(109, 104, 379, 297), sectors_off=(0,))
    for frame, t_ms in camera:
        for shot in detector.process(frame, t_ms):
            ...
    leftover = detector.flush()  # end of stream

Per frame: the luma is compared with a per-pixel background (``background.py``) whose threshold
follows each pixel's own variability, so moving projected content and flicker raise the bar
where they happen; the pixels that rose are grouped and measured (``spots.py``) and only laser
spots pass; spots are linked across frames into laser events, one shot each (``tracking.py``);
the spot's colour names the laser (``color.py``). A shot is reported one frame after it appears,
with the frame number and time of the frame it appeared in.

Coordinates are sub-pixel frame pixels with (0, 0) the centre of the top-left pixel. It is pure
numpy apart from two measured kernels in ``pixel_kernels.py``. Not thread-safe: one detector
per camera thread.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from appliance.detection.background import BackgroundModel
from appliance.detection.color import COLORS, classify_color
from appliance.detection.detection_area import DetectionArea
from appliance.detection.pixel_kernels import to_luma
from appliance.detection.spots import (
    NOT_SPOT_CHANGES,
    Candidate,
    SpotLimits,
    measure_candidates,
    newness,
    rejection_reason,
    streak_start,
)
from appliance.detection.tracking import LinkRules, Observation, ShotTracker

log = logging.getLogger(__name__)

ALREADY_THERE = "as bright a frame ago: content that moved"

REFERENCE_PIXELS = 640 * 480  # size-dependent settings are given for a 640x480 frame


@dataclass(frozen=True, slots=True)
class Shot:
    """One laser shot: where (frame pixels, sub-pixel) and when (the frame it appeared in)."""

    frame: int
    t_ms: float
    x: float
    y: float
    color: str  # "red", "green" or "infrared"


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Detection settings. Areas and distances are for a 640x480 frame and scale with the frame."""

    still_rate: float = 1 / 16
    """Share of each new frame taken into the level of a still pixel (slow: faint spots stand out)."""
    moving_rate: float = 0.5
    """... and of a pixel under moving or fading content (fast: keeps up with projected video)."""
    still_deviation: float = 2.5
    """Variability (mean absolute change, luma levels) up to which a pixel counts as still ..."""
    moving_deviation: float = 8.0
    """... and from which it counts as moving; in between its rate is blended."""
    variability_rate: float = 1 / 16
    """Share of each new frame's change taken into a pixel's usual variability (slow)."""
    initial_deviation: float = 12.0
    """Assumed frame-to-frame variability (luma levels) before the background has settled."""
    deviation_cap: float = 50.0
    """Largest change counted into a pixel's variability, so one flash does not blind it."""
    threshold_floor: float = 20.0
    """Minimum rise over the background (luma levels) for a pixel to be a candidate."""
    threshold_factor: float = 4.0
    """A candidate pixel must also rise this many times its usual variability."""
    min_rise: float = 22.0
    """Minimum rise of a spot's brightest pixel (luma levels)."""
    min_rise_over_deviation: float = 13.0
    """A spot's peak rise against the mean variability of its pixels."""
    min_peak_luma: float = 150.0
    """A spot's brightest pixel must reach this luma: laser spots are among the brightest things seen."""
    min_area: int = 3
    """Smallest spot (pixels)."""
    max_area: int = 1200
    """Largest spot (pixels); a bigger change is a moving object or a light."""
    bloom_area: int = 600
    """Spots larger than this must be saturated (only a saturated spot blooms that large)."""
    large_area: int = 100
    """Spots larger than this must be round and have a bright core (see ``min_core_fraction``)."""
    max_ring_rise: float = 14.0
    """The ring just outside a spot may rise this much (luma levels) ..."""
    max_ring_rise_fraction: float = 0.15
    """... or this share of the spot's peak rise; more means the spot is part of a larger change."""
    min_prominence: float = 15.0
    """A spot's peak must exceed the median luma of the ring around it by this much."""
    min_standout: float = 0.2
    """An unsaturated spot's peak must exceed the brightest tenth of the ring around it by this
    share of its rise: a laser spot is the brightest thing around, while the edge of moving
    content that rose (a head's leading crescent) is as bright as the content beside it."""
    min_newness: float = 0.05
    """A spot that starts a laser event must outshine the brightest pixel the previous frame had in
    its core by this share of its rise (``spots.newness``): content that moved there by a few
    pixels was already as bright one frame earlier (about 0); laser spots measure 0.1 and more."""
    max_background_prominence: float = 0.5
    """A bright feature already in the background at the spot may stand out by at most this share
    of the spot's rise (a flickering highlight is not a laser)."""
    max_elongation: float = 6.0
    """Longest streak accepted (major / minor axis)."""
    min_core_fraction: float = 0.08
    """Large spots need at least this share of their pixels in the bright core."""
    core_level: float = 0.5
    """The core is what is brighter than this fraction of the way from the ring to the peak."""
    edge_margin: float = 2.0
    """A spot centred closer than this (pixels) to the frame border is mostly outside: ignored."""
    global_change_fraction: float = 0.25
    """When more than this share of the frame changes at once (a cut, the lights), the background
    is relearnt and the frame yields no shots."""
    link_distance: float = 48.0
    """A spot this close (pixels) to a laser event of the last frames continues it ..."""
    link_radius_factor: float = 4.0
    """... or within this many spot radii."""
    max_gap_frames: int = 2
    """Frames a laser event may vanish and still continue (flicker, a dropped frame)."""
    streak_elongation: float = 2.9
    """A first spot at least this elongated is a streak (the beam moved during the exposure)."""
    start_elongation: float = 2.5
    """A spot at least this elongated is reported at its dwell end (``spots.streak_start``) when it
    is a shot's only frame."""
    compact_elongation: float = 2.0
    """A following spot below this elongation is a beam at rest."""
    faint_first_ratio: float = 1.3
    """A following spot this many times brighter than the first, and moved further than the two
    spots' size: the first was the beam on its way (a partial exposure)."""
    colors: tuple[str, ...] = ("red", "green")
    """The lasers in use; add "infrared" to call neutral (white) spots infrared."""
    neutral_spread: float = 0.15
    """Infrared: the three channels' rises differ by less than this share of their mean."""
    luma_color: str = "infrared"
    """Colour reported for luma-only frames, which carry none (set it to the laser in use)."""

    def __post_init__(self) -> None:
        for name in ("still_rate", "moving_rate", "variability_rate"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], not {getattr(self, name)}")
        unknown = [c for c in (*self.colors, self.luma_color) if c not in COLORS]
        if unknown or not self.colors:
            raise ValueError(f"colours must be among {', '.join(COLORS)}, not {unknown or 'none'}")
        if self.min_area < 1 or self.max_area < self.min_area or self.max_gap_frames < 0:
            raise ValueError("need 1 <= min_area <= max_area and max_gap_frames >= 0")

    def spot_limits(self, width: int, height: int) -> SpotLimits:
        scale = width * height / REFERENCE_PIXELS
        return SpotLimits(
            min_area=max(1, round(self.min_area * scale)),
            max_area=max(1, round(self.max_area * scale)),
            bloom_area=max(1, round(self.bloom_area * scale)),
            large_area=max(1, round(self.large_area * scale)),
            min_rise=self.min_rise,
            min_peak_luma=self.min_peak_luma,
            min_rise_over_deviation=self.min_rise_over_deviation,
            max_ring_rise=self.max_ring_rise,
            max_ring_rise_fraction=self.max_ring_rise_fraction,
            min_prominence=self.min_prominence,
            min_standout=self.min_standout,
            max_background_prominence=self.max_background_prominence,
            max_elongation=self.max_elongation,
            min_core_fraction=self.min_core_fraction,
            core_level=self.core_level,
            edge_margin=self.edge_margin,
        )

    def link_rules(self, width: int, height: int) -> LinkRules:
        return LinkRules(
            link_distance=self.link_distance * math.sqrt(width * height / REFERENCE_PIXELS),
            link_radius_factor=self.link_radius_factor,
            max_gap_frames=self.max_gap_frames,
            streak_elongation=self.streak_elongation,
            compact_elongation=self.compact_elongation,
            faint_first_ratio=self.faint_first_ratio,
        )


class LaserDetector:
    """Finds laser shots in the frames of one camera, with per-stream state."""

    def __init__(
        self,
        width: int,
        height: int,
        *,
        bounds: tuple[int, int, int, int] | None = None,
        sectors_off: Iterable[int | tuple[int, int]] = (),
        config: DetectorConfig | None = None,
    ) -> None:
        if width < 1 or height < 1:
            raise ValueError(f"a frame needs at least one pixel, not {width}x{height}")
        self.width, self.height = int(width), int(height)
        self.config = config if config is not None else DetectorConfig()
        self.area = DetectionArea.build(self.width, self.height, bounds, sectors_off)
        c = self.config
        self._background = BackgroundModel(
            self.height,
            self.width,
            still_rate=c.still_rate,
            moving_rate=c.moving_rate,
            still_deviation=c.still_deviation,
            moving_deviation=c.moving_deviation,
            variability_rate=c.variability_rate,
            initial_deviation=c.initial_deviation,
            deviation_cap=c.deviation_cap,
            threshold_floor=c.threshold_floor,
            threshold_factor=c.threshold_factor,
        )
        self._limits = c.spot_limits(self.width, self.height)
        self._tracker = ShotTracker(c.link_rules(self.width, self.height))
        self._global_change_pixels = c.global_change_fraction * self.width * self.height
        self._mask = np.zeros((self.height, self.width), dtype=bool)
        self._suppressed = np.zeros((self.height, self.width), dtype=bool)
        self._painted: list[tuple[np.ndarray, np.ndarray]] = []
        self._previous: np.ndarray | None = None
        self._previous_luma = np.zeros((self.height, self.width), dtype=np.uint8)
        self._min_newness = c.min_newness
        self._frames = 0

    @property
    def frames_seen(self) -> int:
        """How many frames ``process`` has taken."""
        return self._frames

    def process(self, frame: np.ndarray, t_ms: float) -> list[Shot]:
        """Detect in the next frame; returns shots decided now (they appeared one frame earlier).

        Raises ValueError for a frame that is not uint8 BGR/luma of the detector's size.
        """
        self._check(frame)
        index = self._frames
        self._frames += 1
        luma = to_luma(frame)
        model = self._background
        if not model.is_ready:
            model.update(luma, model.rise(luma))
            self._remember(frame, luma)
            return []
        rise = model.rise(luma)
        np.greater(rise, model.threshold, out=self._mask)
        changed = np.count_nonzero(self._mask)
        observations: list[Observation] = []
        hold = None
        starts_event = False
        if changed > self._global_change_pixels:
            model.relearn(luma)
            self._repaint([])
        else:
            if changed:
                observations, hold, starts_event = self._find_spots(frame, luma, rise, index)
            model.update(luma, rise, hold=hold)
        # a new event keeps the frame before it, for the colour of its second view
        before = (
            self._previous.copy() if starts_event and frame.ndim == 3 and self._previous is not None else None
        )
        decided = self._tracker.advance(index, float(t_ms), observations, before)
        self._remember(frame, luma)
        return [Shot(s.frame, s.t_ms, s.x, s.y, s.color) for s in decided]

    def flush(self) -> list[Shot]:
        """Shots still waiting for their next frame; call at the end of a stream."""
        return [Shot(s.frame, s.t_ms, s.x, s.y, s.color) for s in self._tracker.flush()]

    def _find_spots(
        self, frame: np.ndarray, luma: np.ndarray, rise: np.ndarray, index: int
    ) -> tuple[list[Observation], tuple[np.ndarray, np.ndarray] | None, bool]:
        """This frame's laser spots, the pixels to keep out of the background, and whether a spot
        starts a new laser event."""
        candidates, big_change = measure_candidates(self._mask, luma, rise, self._background, self._limits)
        painted = [big_change] if big_change[0].size else []
        spots: list[tuple[Candidate, bool, np.ndarray | None]] = []
        debug = log.isEnabledFor(logging.DEBUG)
        for c in candidates:
            reason = rejection_reason(c, self._limits, self.width, self.height)
            suppressed = bool(self._suppressed[c.peak_y, c.peak_x])
            if reason is None and suppressed:
                reason = "continues a change that was not a spot"
            if reason is None and not self.area.contains(c.x, c.y):
                reason = "outside the detection area"
            continues, before = False, None
            if reason is None:
                continues, before = self._tracker.lookup(index, c.x, c.y, c.radius)
                # a new laser event must be new light; a held beam is exempt (it was there before)
                if not continues and newness(c, luma, self._previous_luma) < self._min_newness:
                    reason = ALREADY_THERE
            if debug:
                log.debug("frame %d: %s -> %s", index, _describe(c), reason or "spot")
            if reason is None:
                spots.append((c, continues, before))
            elif reason in NOT_SPOT_CHANGES or suppressed:
                painted.append((c.ys, c.xs))  # a change that is not a spot, and its continuation
        self._repaint(painted)
        spots.sort(key=lambda spot: spot[0].peak_rise, reverse=True)
        observations = []
        starts_event = False
        for c, continues, before in spots:
            starts_event |= not continues
            observations.append(self._observe(frame, luma, c, before))
        hold = None
        if spots:
            hold = (np.concatenate([c.ys for c, _, _ in spots]), np.concatenate([c.xs for c, _, _ in spots]))
        return observations, hold, starts_event

    def _observe(
        self, frame: np.ndarray, luma: np.ndarray, c: Candidate, before: np.ndarray | None
    ) -> Observation:
        """``before``: the frame before the laser event ``c`` belongs to (None: the last frame)."""
        if frame.ndim == 2:
            color = self.config.luma_color
        else:
            if before is None:
                before = self._previous if self._previous is not None else frame
            color = classify_color(
                frame,
                before,
                c.ys,
                c.xs,
                colors=self.config.colors,
                neutral_spread=self.config.neutral_spread,
            )
        start_x, start_y = c.x, c.y
        if c.elongation >= self.config.start_elongation:
            start_x, start_y = streak_start(c, luma)
        return Observation(c.x, c.y, c.radius, c.elongation, c.peak_rise, color, start_x, start_y)

    def _repaint(self, painted: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Mark the pixels of this frame's non-spot changes (and clear the last frame's)."""
        for ys, xs in self._painted:
            self._suppressed[ys, xs] = False
        for ys, xs in painted:
            self._suppressed[ys, xs] = True
        self._painted = painted

    def _remember(self, frame: np.ndarray, luma: np.ndarray) -> None:
        np.copyto(self._previous_luma, luma)
        if self._previous is None:
            self._previous = frame.copy()
        else:
            np.copyto(self._previous, frame)

    def _check(self, frame: np.ndarray) -> None:
        if not isinstance(frame, np.ndarray):
            raise ValueError(f"a frame must be a numpy array, not {type(frame).__name__}")
        if frame.dtype != np.uint8:
            raise ValueError(f"frames must be uint8 (BGR or luma), not {frame.dtype}")
        if frame.size == 0:
            raise ValueError("empty frame")
        if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] != 3):
            raise ValueError(f"a frame must be (H, W) luma or (H, W, 3) BGR, not shape {frame.shape}")
        if frame.shape[:2] != (self.height, self.width):
            h, w = frame.shape[:2]
            raise ValueError(
                f"frame size changed: got {w}x{h}, the detector is for {self.width}x{self.height}"
            )
        if self._previous is not None and self._previous.ndim != frame.ndim:
            raise ValueError("frames switched between BGR and luma within one stream")


def _describe(c: Candidate) -> str:
    return (
        f"({c.x:.1f}, {c.y:.1f}) area {c.area} rise {c.peak_rise:.0f} luma {c.peak_luma:.0f} "
        f"dev {c.mean_deviation:.1f} ring rise {c.ring_rise:.1f} prominence "
        f"{c.peak_luma - c.ring_luma_high:.0f}/{c.peak_luma - c.ring_luma_median:.0f} "
        f"bg {c.background_prominence:.0f} core {c.core_area} elongation {c.elongation:.1f} "
        f"standout {(c.peak_luma - c.surround_luma_high) / max(c.peak_rise, 1.0):.2f}"
    )
