"""Candidate laser spots: connected groups of pixels that rose above the background.

``measure_candidates`` labels the candidate-pixel mask, drops groups that cannot be a spot on
cheap per-group figures (size, rise, rise against the pixels' usual variability), and measures
the rest in a small window: the bright core and its sub-pixel centre, shape, how it stands out
from its surroundings in the current frame, and whether the background already had a bright
feature there. ``rejection_reason`` then applies the spot rules of ``SpotLimits``; it returns
the reason a candidate is not a laser spot, or ``None``.

A laser spot, as the camera records it: a small, sudden, isolated rise that is the brightest
thing in its neighbourhood (or saturated), whose size is consistent with its brightness (only
saturated spots bloom large), on a place where the background had no bright feature already.

"The brightest thing in its neighbourhood" is measured twice (``Candidate.standout``): against a
ring around the whole group and against a ring just outside its bright core, so the edge of
moving content that rose over the background (a head's leading crescent, whose core ring runs
through the rest of the head) is seen as part of the larger bright structure it is. A spot that
stands out clearly and drove its pixels towards saturation is *unmistakable*
(``is_unmistakable``): what changed around it or was there before does not overrule it, so a
laser on moving or bright content is kept. Where the spot's pixels were still, "clearly" is a
share of the most it could stand out (``Candidate.headroom_standout``): a laser on a figure's edge
that has just arrived at the spot rose ~140 over the dark room the background remembers, but has
only ~90 levels of headroom above the head now around it. ``newness`` measures whether a spot is
light that was not there a frame ago.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from appliance.detection.background import BackgroundModel
from appliance.detection.pixel_kernels import label_pixels

SATURATED_LUMA = 250.0
SATURATION = 255.0
# A large spot is a bloom around a bright core and round. A large elongated group is a streak
# only if it is peaked along its length; a flat one is a moving object.
MAX_LARGE_ELONGATION = 2.5
FLAT_CORE_FRACTION = 0.7  # a flat (not peaked) group has most of its pixels in its "core"
# The least headroom ``Candidate.headroom_standout`` divides by (luma levels): standing out
# "clearly" (0.7 of it) then takes at least ~20 levels, well above the sensor noise.
MIN_HEADROOM = 30.0

# Rejection reasons. The first group marks a change that is not a laser spot (moving content, an
# object removed, a flickering highlight): its continuation in the next frame is not one either.
# The second group may just be a spot caught early in its exposure, so it marks nothing.
PART_OF_LARGER_CHANGE = "part of a larger change"
PART_OF_BRIGHT_STRUCTURE = "part of a larger bright structure"
TOO_LARGE_FOR_BRIGHTNESS = "too large for its brightness"
NO_BRIGHT_CORE = "no bright core"
OLD_HIGHLIGHT = "a bright feature that was already there"
TOO_ELONGATED = "too elongated"
NOT_PROMINENT = "not brighter than its surroundings"
TOO_DIM = "too dim"
CUT_OFF = "cut off by the frame edge"
NOT_LOCAL_MAXIMUM = "not a local maximum"
NOT_SPOT_CHANGES = frozenset(
    {
        PART_OF_LARGER_CHANGE,
        PART_OF_BRIGHT_STRUCTURE,
        TOO_LARGE_FOR_BRIGHTNESS,
        NO_BRIGHT_CORE,
        OLD_HIGHLIGHT,
        TOO_ELONGATED,
    }
)


@dataclass(frozen=True, slots=True)
class SpotLimits:
    """The spot rules in frame pixels (``DetectorConfig`` scaled to the frame size)."""

    min_area: int
    max_area: int
    bloom_area: int  # above this area a spot must be saturated
    large_area: int  # above this area a spot must be round and have a bright core
    min_rise: float
    min_peak_luma: float
    min_rise_over_deviation: float
    saturating_share: float  # ... or, if it used this share of its headroom to saturation,
    saturating_rise_over_deviation: float  # ... this many times
    max_ring_rise: float
    max_ring_rise_fraction: float
    min_prominence: float
    min_standout: float  # unsaturated peak above the rings' 90th percentile, share of the peak rise
    clear_standout: float  # a spot standing out this much is one even on a change around it
    settled_deviation: float  # below this mean variability a spot's pixels were still (background lags)
    max_background_prominence: float
    max_elongation: float
    min_core_fraction: float
    core_level: float
    edge_margin: float  # a spot centred this close to the frame border is too cut off to locate


@dataclass(frozen=True, slots=True)
class Candidate:
    """One measured group of risen pixels. Coordinates are frame pixels (x right, y down)."""

    ys: np.ndarray
    xs: np.ndarray
    x: float  # sub-pixel centre: intensity-weighted centroid of the bright core
    y: float
    area: int
    peak_y: int
    peak_x: int
    peak_rise: float
    peak_luma: float
    mean_deviation: float
    ring_rise: float  # 90th percentile of the rise just outside the group
    ring_luma_high: float  # 90th percentile of the current luma just outside the group
    ring_luma_median: float
    background_prominence: float  # background at the peak minus the background around it
    core_area: int
    core_luma: float  # the luma level that makes a pixel part of the bright core
    core_ring_luma_high: float  # 90th percentile of the current luma just outside the bright core
    elongation: float  # major / minor axis of the rise distribution
    axis_x: float  # unit vector of the major axis
    axis_y: float
    length: float  # standard deviation along the major axis (px)

    @property
    def standout(self) -> float:
        """How far the peak stands above the brightest tenth of its surroundings (the rings around
        the group and around its core), as a share of its rise."""
        return (self.peak_luma - self.surround_luma) / max(self.peak_rise, 1.0)

    @property
    def surround_luma(self) -> float:
        """The brightest tenth of the spot's surroundings (the rings around the group and its core)."""
        return max(self.ring_luma_high, self.core_ring_luma_high)

    @property
    def headroom_standout(self) -> float:
        """``standout`` as a share of the most the peak could stand out above the content around
        it: its rise, or the headroom above the outer ring (255 minus ``ring_luma_high``) when that
        is less.

        They differ on bright content that has just arrived around the spot (a moving figure's
        leading edge reaching it): the background at the spot still has the dark room, so a laser
        there rises by ~140, while the head around it leaves only ~90 levels above it; even a laser
        that drives its pixels to saturation then stands out by less than 0.7 of its rise. Moving
        content itself stays near 0 on both measures: its peak is no brighter than the content
        beside it. The outer ring is the content; the ring around the core may be the spot's own
        halo, whose brightness says nothing about the headroom. The headroom counts down to
        ``MIN_HEADROOM``: a clipped figure on clipped surroundings has none, and a level or two
        of noise must not make its peak stand out.
        """
        scale = min(self.peak_rise, max(SATURATION - self.ring_luma_high, MIN_HEADROOM))
        return (self.peak_luma - self.surround_luma) / max(scale, 1.0)

    @property
    def radius(self) -> float:
        return math.sqrt(self.area / math.pi)


def measure_candidates(
    mask: np.ndarray, luma: np.ndarray, rise: np.ndarray, model: BackgroundModel, limits: SpotLimits
) -> tuple[list[Candidate], tuple[np.ndarray, np.ndarray]]:
    """Group ``mask`` and measure every group that passes the cheap rules.

    Returns the measured candidates and the pixels (ys, xs) of all groups dropped by the cheap
    rules for being too large (changes that are not spots: moving content, objects removed).
    """
    ys, xs, labels = label_pixels(mask)
    empty = (ys[:0], xs[:0])
    if labels.size == 0:
        return [], empty
    count = int(labels.max()) + 1
    area = np.bincount(labels, minlength=count)
    values = rise[ys, xs]
    peak_rise = np.full(count, -np.inf, dtype=np.float32)
    np.maximum.at(peak_rise, labels, values)
    deviation = np.bincount(labels, weights=model.deviation[ys, xs], minlength=count) / area
    too_big = area > limits.max_area
    floor = np.maximum(deviation, 1.0)
    keep = (area >= limits.min_area) & ~too_big & (peak_rise >= limits.min_rise)
    steady = peak_rise >= limits.min_rise_over_deviation * floor
    # a group rising less than that over its variability may still be a laser on bright, moving
    # content: if its most driven pixel used most of the headroom it had (255 - background)
    maybe = keep & ~steady & (peak_rise >= limits.saturating_rise_over_deviation * floor)
    if maybe.any():
        chosen = maybe[labels]
        share = values[chosen] / np.maximum(SATURATION - luma[ys[chosen], xs[chosen]] + values[chosen], 1.0)
        used = np.zeros(count, dtype=np.float32)
        np.maximum.at(used, labels[chosen], share)
        keep &= steady | (maybe & (used >= limits.saturating_share))
    else:
        keep &= steady
    dropped_big = too_big[labels]
    big_pixels = (ys[dropped_big], xs[dropped_big])
    if not keep.any():
        return [], big_pixels
    order = np.argsort(labels, kind="stable")
    starts = np.concatenate(([0], np.cumsum(area)))
    candidates = []
    for label in np.flatnonzero(keep):
        members = order[starts[label] : starts[label + 1]]
        candidates.append(
            _measure(ys[members], xs[members], luma, rise, model, float(deviation[label]), limits)
        )
    return candidates, big_pixels


def rejection_reason(c: Candidate, limits: SpotLimits, width: int, height: int) -> str | None:
    """Why ``c`` (in a ``width`` x ``height`` frame) is not a laser spot, or None when it is one."""
    # the context rules (what changed around the spot, what was there before) do not overrule a
    # spot that is unmistakable in itself: a laser spot on moving or bright content
    unmistakable = is_unmistakable(c, limits)
    ring_limit = max(limits.max_ring_rise, limits.max_ring_rise_fraction * c.peak_rise)
    if not unmistakable and c.ring_rise > ring_limit:
        return PART_OF_LARGER_CHANGE
    if c.area > limits.bloom_area and c.peak_luma < SATURATED_LUMA:
        return TOO_LARGE_FOR_BRIGHTNESS
    if c.area > limits.large_area and c.core_area < limits.min_core_fraction * c.area:
        return NO_BRIGHT_CORE
    if c.peak_luma < SATURATED_LUMA and c.standout < limits.min_standout:
        return PART_OF_BRIGHT_STRUCTURE
    if not unmistakable and c.background_prominence > limits.max_background_prominence * c.peak_rise:
        return OLD_HIGHLIGHT
    if c.elongation > limits.max_elongation or (
        c.area > limits.large_area
        and c.elongation > MAX_LARGE_ELONGATION
        and c.core_area > FLAT_CORE_FRACTION * c.area
    ):
        return TOO_ELONGATED
    if c.peak_luma < limits.min_peak_luma:
        return TOO_DIM
    if c.peak_luma - c.ring_luma_median < limits.min_prominence:
        return NOT_PROMINENT
    if c.peak_luma < min(c.ring_luma_high, SATURATED_LUMA):
        return NOT_LOCAL_MAXIMUM
    if min(c.x + 0.5, width - 0.5 - c.x, c.y + 0.5, height - 0.5 - c.y) < limits.edge_margin:
        return CUT_OFF
    return None


def is_unmistakable(c: Candidate, limits: SpotLimits) -> bool:
    """Whether ``c`` is a laser spot by its own looks, whatever happens around it: it stands out
    clearly above everything around it (``clear_standout``, of the most it could: see
    ``Candidate.headroom_standout``) and drove its peak towards saturation (used
    ``saturating_share`` of the headroom, 255 minus its level before), as a laser spot does on any
    content, moving or bright, also on a figure's edge arriving at the spot."""
    # where the spot's pixels were still, the slowly learnt background lags content that just
    # arrived, and the headroom above that content is the honest scale; where content keeps moving,
    # the background follows it and the rise is (and a bright moving object must not borrow it)
    settled = c.mean_deviation < limits.settled_deviation
    standout = c.headroom_standout if settled else c.standout
    return standout >= limits.clear_standout and c.peak_rise >= limits.saturating_share * (
        SATURATION - c.peak_luma + c.peak_rise
    )


def newness(c: Candidate, luma: np.ndarray, previous: np.ndarray, previous_nearby: np.ndarray) -> float:
    """How far the spot's peak outshines what the previous frame (luma) had in the spot's bright
    core, as a share of the peak rise: its brightest pixel there, or for an unsaturated spot the
    brightest within a few pixels (``previous_nearby``: the previous frame, max-filtered).

    A laser spot is light that was not there a frame ago: 0.2 and more on every first view in the
    recordings. Projected content that moved by a few pixels (a walking figure's head, which the
    slowly learning background still counts as risen over much of its area) was as bright in or
    right next to the same pixels one frame earlier: about 0, noise included, because the maxima
    of two noisy plateaus agree. A saturated spot is only compared pixel by pixel: it may sit
    right beside bright content, and its own brightness is clipped.
    """
    now = luma[c.ys, c.xs]
    core = now >= c.core_luma
    if not core.any():
        return 1.0
    before = previous_nearby if c.peak_luma < SATURATED_LUMA else previous
    return (c.peak_luma - float(before[c.ys[core], c.xs[core]].max())) / max(c.peak_rise, 1.0)


def streak_start(c: Candidate, luma: np.ndarray) -> tuple[float, float]:
    """The end of a streak where the beam dwelt: the end holding its brightest pixels.

    A recoil kit throws the beam after the shot: the exposure per pixel is longest where the shot
    was aimed (the beam starts from rest) and thins out along the throw. The dwell spot's centre
    lies about two streak widths (the spread across the streak) inside the streak's outer end.
    """
    brightness = luma[c.ys, c.xs].astype(np.float64)
    ux, uy = c.axis_x, c.axis_y
    along = (c.xs - c.x) * ux + (c.ys - c.y) * uy
    if along[brightness >= brightness.max() - 2.0].mean() < 0:
        ux, uy, along = -ux, -uy, -along
    across = (c.ys - c.y) * ux - (c.xs - c.x) * uy
    width = max(1.0, c.length / max(c.elongation, 1.0))
    end = float(along.max())
    cap = along >= end - 2.0 * width
    w = brightness[cap] - brightness.min() + 1.0
    offset = float((across[cap] * w).sum() / w.sum())
    reach = end - 2.0 * width
    return c.x + reach * ux - offset * uy, c.y + reach * uy + offset * ux


def _ring(
    x: float, y: float, area: int, height: int, width: int, factor: float = 1.5
) -> tuple[np.ndarray, np.ndarray]:
    """The pixels (ys, xs) of a 3 px wide ring around a group of ``area`` pixels centred at (x, y),
    clear of the group (``factor`` radii + 2 px out, at least 3 px)."""
    inner = math.ceil(max(3.0, factor * math.sqrt(area / math.pi) + 2.0))
    dy, dx = _ring_offsets(inner, inner + 3)
    ry, rx = dy + round(y), dx + round(x)
    inside = (ry >= 0) & (ry < height) & (rx >= 0) & (rx < width)
    return ry[inside], rx[inside]


def _quantile(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, 100 * q)`` (linear interpolation) of a non-empty 1-D array, by a
    partial sort: several times faster on the few hundred values of a ring."""
    pos = (values.size - 1) * q
    low = int(pos)
    high = min(low + 1, values.size - 1)
    part = np.partition(values, (low, high))
    return float(part[low] + (pos - low) * (float(part[high]) - float(part[low])))


@lru_cache(maxsize=64)
def _ring_offsets(inner: int, outer: int) -> tuple[np.ndarray, np.ndarray]:
    dy, dx = np.mgrid[-outer : outer + 1, -outer : outer + 1]
    r = np.hypot(dx, dy)
    ring = (r >= inner) & (r <= outer)
    return dy[ring], dx[ring]


def _measure(
    ys: np.ndarray,
    xs: np.ndarray,
    luma: np.ndarray,
    rise: np.ndarray,
    model: BackgroundModel,
    mean_deviation: float,
    limits: SpotLimits,
) -> Candidate:
    height, width = luma.shape
    r = rise[ys, xs].astype(np.float64)
    v = luma[ys, xs].astype(np.float64)
    w = np.clip(r, 1e-3, None)
    total = w.sum()
    cx = float((w * xs).sum() / total)
    cy = float((w * ys).sum() / total)
    top = int(np.argmax(r))
    peak_y, peak_x = int(ys[top]), int(xs[top])
    peak_rise = float(r[top])
    peak_luma = float(v.max())
    # second moments of the rise: shape and direction
    ddx, ddy = xs - cx, ys - cy
    sxx = float((w * ddx * ddx).sum() / total)
    syy = float((w * ddy * ddy).sum() / total)
    sxy = float((w * ddx * ddy).sum() / total)
    half_trace, det_term = (sxx + syy) / 2, math.sqrt(max(((sxx - syy) / 2) ** 2 + sxy * sxy, 0.0))
    major, minor = half_trace + det_term, max(half_trace - det_term, 0.0)
    theta = 0.5 * math.atan2(2 * sxy, sxx - syy)
    elongation = math.sqrt(major) / max(math.sqrt(minor), 0.3)
    # the ring just outside the group
    ry, rx = _ring(cx, cy, ys.size, height, width)
    if ry.size:
        ring_luma = luma[ry, rx].astype(np.float64)
        ring_rise = _quantile(rise[ry, rx], 0.9)
        ring_luma_high = _quantile(ring_luma, 0.9)
        ring_luma_median = _quantile(ring_luma, 0.5)
        background_prominence = float(model.mean[peak_y, peak_x]) - _quantile(model.mean[ry, rx], 0.5)
    else:  # the group fills the frame around it: nothing to compare with
        ring_rise, ring_luma_high, ring_luma_median, background_prominence = 0.0, 0.0, float(v.min()), 0.0
    # the bright core in the current frame, and its intensity-weighted centroid
    level = ring_luma_median + limits.core_level * (peak_luma - ring_luma_median)
    core = v >= level
    if core.any():
        core_w = v[core] - level + 0.5
        x = float((xs[core] * core_w).sum() / core_w.sum())
        y = float((ys[core] * core_w).sum() / core_w.sum())
    else:  # darker than its surroundings: no core; it will be rejected, keep the rise centroid
        x, y = cx, cy
    # the ring just outside the bright core: what the core must stand out from
    ry, rx = _ring(x, y, max(int(core.sum()), 1), height, width, factor=1.0)
    core_ring_luma_high = _quantile(luma[ry, rx], 0.9) if ry.size else 0.0
    return Candidate(
        ys=ys,
        xs=xs,
        x=x,
        y=y,
        area=int(ys.size),
        peak_y=peak_y,
        peak_x=peak_x,
        peak_rise=peak_rise,
        peak_luma=peak_luma,
        mean_deviation=mean_deviation,
        ring_rise=ring_rise,
        ring_luma_high=ring_luma_high,
        ring_luma_median=ring_luma_median,
        background_prominence=background_prominence,
        core_area=int(core.sum()),
        core_luma=float(level),
        core_ring_luma_high=core_ring_luma_high,
        elongation=elongation,
        axis_x=math.cos(theta),
        axis_y=math.sin(theta),
        length=math.sqrt(major),
    )
