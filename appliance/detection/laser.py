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

Moving projected content (people walking in a training video) is the hard case, and three more
looks tell it from a laser:

* a spot must stand out above the brightest tenth of its surroundings (``min_standout``): the
  edge of a moving figure that rose over the background is only as bright as the figure beside it;
* a spot that starts a new laser event must be new light (``min_newness``): content that moved
  by a few pixels was as bright in or right next to the same pixels one frame earlier;
* a laser landing *on* moving content joins the content's risen pixels into one group that
  fails the spot rules, so the pixels that rose over everything within ``NEW_LIGHT_REACH`` px of
  them in the previous frame ("new light") are searched again, and an unmistakable spot among
  them (``spots.is_unmistakable``: clearly standing out and driven towards saturation) is taken.

Coordinates are sub-pixel frame pixels with (0, 0) the centre of the top-left pixel. It is pure
numpy apart from three measured kernels in ``pixel_kernels.py``. Not thread-safe: one detector
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
from appliance.detection.pixel_kernels import max_filter as cv2_max_filter
from appliance.detection.pixel_kernels import to_luma
from appliance.detection.spots import (
    NO_BRIGHT_CORE,
    NOT_SPOT_CHANGES,
    SATURATION,
    TOO_ELONGATED,
    TOO_LARGE_FOR_BRIGHTNESS,
    Candidate,
    SpotLimits,
    is_unmistakable,
    measure_candidates,
    newness,
    rejection_reason,
    streak_start,
)
from appliance.detection.tracking import LinkRules, Observation, ShotTracker

log = logging.getLogger(__name__)

NEW_LIGHT_REACH = 3
"""Content moving up to this many pixels a frame is not new light (a 7x7 max filter)."""
MIN_NEW_SHARE = 0.6
"""A new spot with less of its group new light than this was joined by moving content."""
SHAPE_REASONS = frozenset({NO_BRIGHT_CORE, TOO_ELONGATED, TOO_LARGE_FOR_BRIGHTNESS})
ALREADY_THERE = "as bright a frame ago: content that moved"
NOT_UNMISTAKABLE = "not unmistakable on the change around it"
SUPPRESSED = "continues a change that was not a spot"

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
    """A spot's peak rise against the mean variability of its pixels ..."""
    saturating_share: float = 0.8
    """... or only ``saturating_rise_over_deviation`` times if its most driven pixel used this share
    of the headroom it had (255 - background): on bright, moving content a laser can add no more
    than that headroom, however much the content varies."""
    saturating_rise_over_deviation: float = 5.0
    """The rise over variability asked of such a saturating spot."""
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
    min_standout: float = 0.25
    """An unsaturated spot's peak must exceed the brightest tenth of its surroundings (a ring around
    the group and one around its bright core) by this share of its rise: a laser spot is the
    brightest thing around, while the edge of moving content that rose over the background (a
    head's leading crescent) is only as bright as the content beside it (about 0; first views of
    laser spots in the recordings: 0.33 and more)."""
    clear_standout: float = 0.7
    """A spot standing out this much (same measure) that also used ``saturating_share`` of its
    headroom is unmistakable: a spot even where its surroundings rose too (``max_ring_rise``) or
    where the background had a bright feature (``max_background_prominence``), as a laser spot on
    moving or bright content does."""
    min_newness: float = 0.05
    """A spot that starts a laser event must outshine what the previous frame had in its core (for
    an unsaturated spot: within ``NEW_LIGHT_REACH`` px of it) by this share of its rise
    (``spots.newness``): content that moved there by a few pixels was as bright one frame earlier
    (about 0); first views of laser spots in the recordings measure 0.11 and more."""
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
    settle_frames: int = 8
    """The first frames only teach the background: no spot is looked for before it has seen this
    many (0.13 s at 60 fps). Until then it cannot tell moving content from a new spot."""
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
    wide_first_aspect: float = 1.8
    """A first spot whose upright bounding box is this many times as wide as tall, followed by a
    compact one, is reported where the second came to rest. Orientation-dependent on purpose: it
    matches the reference of the ShootOFF recordings (c910_red_z: 4 shots), whose detector skips
    such views; it decides nothing but which of two linked frames locates a shot. Set it to
    ``math.inf`` to drop it."""
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
            saturating_share=self.saturating_share,
            saturating_rise_over_deviation=self.saturating_rise_over_deviation,
            max_ring_rise=self.max_ring_rise,
            max_ring_rise_fraction=self.max_ring_rise_fraction,
            min_prominence=self.min_prominence,
            min_standout=self.min_standout,
            clear_standout=self.clear_standout,
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
            wide_first_aspect=self.wide_first_aspect,
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
        self._new_light = np.zeros((self.height, self.width), dtype=np.float32)
        self._mask2 = np.zeros((self.height, self.width), dtype=bool)
        self._new_light_ready = False
        self._nearby: np.ndarray | None = None
        self._min_newness = c.min_newness
        self._settle_frames = max(1, c.settle_frames)
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
        if model.frames < self._settle_frames:  # the background is still being learnt
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
        rejected = bool(painted)
        self._new_light_ready = False
        self._nearby = None
        for c in candidates:
            reason, suppressed, continues, before = self._judge(c, luma, index, "")
            if reason is None:
                # a new spot merged with moving content beside it: keep only the new light
                refined = None if continues else self._refine(c, luma, index)
                spots += [(c, continues, before)] if refined is None else refined
                continue
            rejected = True
            if reason in NOT_SPOT_CHANGES or suppressed:
                painted.append((c.ys, c.xs))  # a change that is not a spot, and its continuation
        self._repaint(painted)
        if rejected:  # a laser spot may sit on a change that is not one (moving content)
            spots += self._find_new_light(luma, index, [c for c, _, _ in spots])
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

    def _judge(
        self, c: Candidate, luma: np.ndarray, index: int, kind: str
    ) -> tuple[str | None, bool, bool, np.ndarray | None]:
        """Why ``c`` is no laser spot (None: it is one), whether it continues a change that was not
        a spot, whether it continues a laser event and that event's pre-event frame."""
        reason = rejection_reason(c, self._limits, self.width, self.height)
        # a change that was not a spot goes on here, unless the peak is new light on top of it
        suppressed = bool(self._suppressed[c.peak_y, c.peak_x]) and (
            float(luma[c.peak_y, c.peak_x]) - float(self._previous_luma[c.peak_y, c.peak_x])
            < 0.5 * c.peak_rise
        )
        if reason is None and suppressed:
            reason = SUPPRESSED
        if reason is None and not self.area.contains(c.x, c.y):
            reason = "outside the detection area"
        continues, before = False, None
        if reason is None:
            continues, before = self._tracker.lookup(index, c.x, c.y, c.radius)
            # a new laser event must be new light; a held beam is exempt (it was there before)
            if not continues:
                fresh = newness(c, luma, self._previous_luma, self._previous_nearby())
                if fresh < self._min_newness:
                    reason = ALREADY_THERE
        if log.isEnabledFor(logging.DEBUG):
            log.debug("frame %d:%s %s -> %s", index, kind, _describe(c), reason or "spot")
        return reason, suppressed, continues, before

    def _previous_nearby(self) -> np.ndarray:
        """The previous frame's luma, each pixel the brightest within ``NEW_LIGHT_REACH`` px
        (computed at most once per frame)."""
        if self._nearby is None:
            self._nearby = cv2_max_filter(self._previous_luma, NEW_LIGHT_REACH)
        return self._nearby

    def _new_light_map(self, luma: np.ndarray) -> np.ndarray:
        """How far each pixel rose over everything within ``NEW_LIGHT_REACH`` px of it in the
        previous frame (float32, computed at most once per frame)."""
        if not self._new_light_ready:
            np.subtract(luma, self._previous_nearby(), out=self._new_light, dtype=np.float32)
            self._new_light_ready = True
        return self._new_light

    def _refine(
        self, c: Candidate, luma: np.ndarray, index: int
    ) -> list[tuple[Candidate, bool, np.ndarray | None]] | None:
        """The new light within a new spot ``c`` when most of ``c`` is not new (content that moved
        next to the spot joined its group); None to keep ``c`` as it is."""
        new = self._new_light_map(luma)
        fresh = new[c.ys, c.xs] > self._background.threshold_floor
        if fresh.sum() >= MIN_NEW_SHARE * c.area:
            return None
        mask = self._mask2
        mask[...] = False
        mask[c.ys[fresh], c.xs[fresh]] = True
        refined = self._new_light_spots(mask, luma, index)
        return refined or None

    def _find_new_light(
        self, luma: np.ndarray, index: int, found: list[Candidate]
    ) -> list[tuple[Candidate, bool, np.ndarray | None]]:
        """Spots among the risen pixels that also rose over everything within ``NEW_LIGHT_REACH``
        px of them in the previous frame: light that is new, not content that moved a little."""
        mask = self._mask2
        np.greater(self._new_light_map(luma), self._background.threshold_floor, out=mask)
        mask &= self._mask
        for c in found:
            mask[c.ys, c.xs] = False
        return self._new_light_spots(mask, luma, index)

    def _may_be_unmistakable(self, mask: np.ndarray, luma: np.ndarray) -> bool:
        """False when no group of ``mask`` can be an unmistakable spot, judged on the brightest
        pixel and the largest new light of all of them (skips grouping on heavy motion)."""
        limits = self._limits
        peak_luma = float(luma[mask].max())
        peak_rise = float(self._new_light[mask].max())
        return (
            peak_luma >= limits.min_peak_luma
            and peak_rise >= limits.min_rise
            and peak_rise >= limits.saturating_share * (SATURATION - peak_luma + peak_rise)
        )

    def _new_light_spots(
        self, mask: np.ndarray, luma: np.ndarray, index: int, *, cores: bool = True
    ) -> list[tuple[Candidate, bool, np.ndarray | None]]:
        """The unmistakable spots among the new-light pixels ``mask``. A group shaped like no spot
        (a spot joined by a moving edge that outran ``NEW_LIGHT_REACH``) is tried once more by its
        bright core alone."""
        if not mask.any() or not self._may_be_unmistakable(mask, luma):
            return []
        candidates, _ = measure_candidates(mask, luma, self._new_light, self._background, self._limits)
        spots = []
        for c in candidates:
            reason, _, continues, before = self._judge(c, luma, index, " new light")
            if reason is None and not is_unmistakable(c, self._limits):
                reason = NOT_UNMISTAKABLE
            if reason is None:
                spots.append((c, continues, before))
            elif cores and reason in SHAPE_REASONS:
                core = luma[c.ys, c.xs] >= c.core_luma
                mask[...] = False
                mask[c.ys[core], c.xs[core]] = True
                spots += self._new_light_spots(mask, luma, index, cores=False)
        return spots

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
        box_aspect = (int(c.xs.max()) - int(c.xs.min()) + 1) / (int(c.ys.max()) - int(c.ys.min()) + 1)
        return Observation(c.x, c.y, c.radius, c.elongation, c.peak_rise, color, start_x, start_y, box_aspect)

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
        f"standout {c.standout:.2f}"
    )
