"""The settings of ``LaserDetector``: ``DetectorConfig`` and its frame-size scaling.

Every field has a docstring; areas and distances are given for a 640x480 frame
(``REFERENCE_PIXELS``) and scale with the frame. ``spot_limits`` and ``link_rules`` turn them into
the rules ``spots.py`` and ``tracking.py`` apply to a frame of a given size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from appliance.detection.color import COLORS
from appliance.detection.spots import SpotLimits
from appliance.detection.tracking import LinkRules

REFERENCE_PIXELS = 640 * 480  # size-dependent settings are given for a 640x480 frame


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
    """... and from which it counts as moving; in between its rate is blended. Below it a spot's
    pixels count as still for ``clear_standout`` (their background lags content that arrives)."""
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
    moving or bright content does. Where the spot's pixels were still (below ``moving_deviation``)
    the share is of the most it could stand out: its rise, or the headroom above the content
    around it when that is less (a figure's edge arriving at the spot)."""
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
            settled_deviation=self.moving_deviation,
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
