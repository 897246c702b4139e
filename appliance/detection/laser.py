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
  The same search splits a new spot whose group is mostly old light (``MIN_NEW_SHARE``), or is
  elongated like a streak but not new light all along (``STREAK_NEW_SHARE``): a spot joined by
  the edge of a figure looks like a streak along that edge and would be located at its "dwell end".
  An edge that outran ``NEW_LIGHT_REACH`` is new light itself; a streak-shaped spot of the search
  is then tried by the pixels above halfway from the content around it to its peak.

A shot landing on a figure's *arriving* edge (the head reaches the spot in the frame the pulse
does) is the hardest case: the slowly learnt background at the spot still has the dark room, so
the spot rises by ~140 levels, while the head now around it leaves only ~90 levels above it. Even
a saturating laser then cannot stand out by ``clear_standout`` of its rise. Where the spot's
pixels were still (mean variability below ``moving_deviation``), "stands out clearly" is therefore
measured against the most it could stand out: its rise, or the headroom above the content around
it (``spots.Candidate.headroom_standout``). Where content keeps moving the background follows it,
the rise is an honest scale, and a bright moving object may not borrow the headroom measure (the
ShootOFF motion clips' bright objects are rejected by exactly that).

Coordinates are sub-pixel frame pixels with (0, 0) the centre of the top-left pixel. It is pure
numpy apart from three measured kernels in ``pixel_kernels.py``. Not thread-safe: one detector
per camera thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from appliance.detection.background import BackgroundModel
from appliance.detection.color import classify_color
from appliance.detection.detection_area import DetectionArea
from appliance.detection.detector_config import DetectorConfig
from appliance.detection.pixel_kernels import max_filter as cv2_max_filter
from appliance.detection.pixel_kernels import to_luma
from appliance.detection.spots import (
    NO_BRIGHT_CORE,
    NOT_SPOT_CHANGES,
    SATURATION,
    TOO_ELONGATED,
    TOO_LARGE_FOR_BRIGHTNESS,
    Candidate,
    is_unmistakable,
    measure_candidates,
    newness,
    rejection_reason,
    streak_start,
)
from appliance.detection.tracking import Observation, ShotTracker

log = logging.getLogger(__name__)

NEW_LIGHT_REACH = 3
"""Content moving up to this many pixels a frame is not new light (a 7x7 max filter)."""
MIN_NEW_SHARE = 0.6
"""A new spot with less of its group new light than this was joined by moving content."""
STREAK_NEW_SHARE = 0.85
"""... and a streak (reported at its dwell end) with less than this: a spot joined by the edge of
moving content looks like a streak along that edge (a recoil streak is new light all along: 0.96
and more in the recordings; a spot merged with a body's arriving edge: about 0.6)."""
SHAPE_REASONS = frozenset({NO_BRIGHT_CORE, TOO_ELONGATED, TOO_LARGE_FOR_BRIGHTNESS})
ALREADY_THERE = "as bright a frame ago: content that moved"
NOT_UNMISTAKABLE = "not unmistakable on the change around it"
SUPPRESSED = "continues a change that was not a spot"


@dataclass(frozen=True, slots=True)
class Shot:
    """One laser shot: where (frame pixels, sub-pixel) and when (the frame it appeared in)."""

    frame: int
    t_ms: float
    x: float
    y: float
    color: str  # "red", "green" or "infrared"


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
        self.on_judged: Callable[[int, str, Candidate, str | None], None] | None = None
        """Diagnostics: called with (frame index, kind, candidate, rejection reason or None) for every
        candidate judged ("" for the risen groups, " new light" for the new-light search)."""

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
        self, c: Candidate, luma: np.ndarray, index: int, kind: str, *, unmistakable: bool = False
    ) -> tuple[str | None, bool, bool, np.ndarray | None]:
        """Why ``c`` is no laser spot (None: it is one), whether it continues a change that was not
        a spot, whether it continues a laser event and that event's pre-event frame.
        ``unmistakable``: ``c`` must also be an unmistakable spot (the new-light search)."""
        reason = rejection_reason(c, self._limits, self.width, self.height)
        if reason is None and unmistakable and not is_unmistakable(c, self._limits):
            reason = NOT_UNMISTAKABLE
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
        if self.on_judged is not None:
            self.on_judged(index, kind, c, reason)
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
        """The new light within a new spot ``c`` when much of ``c`` is not new (content that moved
        next to the spot joined its group); None to keep ``c`` as it is."""
        new = self._new_light_map(luma)
        fresh = new[c.ys, c.xs] > self._background.threshold_floor
        streak = c.elongation >= self.config.start_elongation
        if fresh.sum() >= (STREAK_NEW_SHARE if streak else MIN_NEW_SHARE) * c.area:
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
        bright core alone; so is a spot shaped like a streak (the same, where the edge's new
        crescent is as bright as the core level), by what stands above the content around it."""
        if not mask.any() or not self._may_be_unmistakable(mask, luma):
            return []
        candidates, _ = measure_candidates(mask, luma, self._new_light, self._background, self._limits)
        spots = []
        for c in candidates:
            reason, _, continues, before = self._judge(c, luma, index, " new light", unmistakable=True)
            if reason is None and cores and c.elongation >= self.config.start_elongation:
                # only the pixels well above the content around it: the spot without the edge
                above = luma[c.ys, c.xs] >= 0.5 * (c.peak_luma + c.surround_luma)
                mask[...] = False
                mask[c.ys[above], c.xs[above]] = True
                split = self._new_light_spots(mask, luma, index, cores=False)
                if split and all(s.elongation < self.config.start_elongation for s, _, _ in split):
                    spots += split
                    continue
            if reason is None:
                spots.append((c, continues, before))
            elif cores and reason in SHAPE_REASONS:
                # the bright core, above the content around it too (an arriving crescent is not)
                core = luma[c.ys, c.xs] >= max(c.core_luma, 0.5 * (c.peak_luma + c.surround_luma))
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
