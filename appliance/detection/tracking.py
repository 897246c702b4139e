"""From spots per frame to shots: one shot per laser event.

A laser event is a spot that appears and then persists (a held beam), moves (recoil, a
flinch) or flickers for a few frames. ``ShotTracker`` links each frame's spots to the events
seen in the last ``max_gap_frames`` frames within a link distance; a spot that links to
nothing starts a new event, which becomes exactly one shot.

Where the shot was is decided one frame after the event starts, once its second frame is known:

* the first frame shows a compact spot: the shot is there;
* the first frame shows a streak (the beam moved during the exposure) or a spot much fainter
  than the next one (the pulse began late in the exposure), and the next frame shows a compact
  spot next to it: the beam came to rest there, and that is the shot;
* the same when the first spot is wide: its upright bounding box at least ``wide_first_aspect``
  times as wide as tall. This one rule is orientation-dependent on purpose: it reproduces the
  ShootOFF recordings' reference (the peer detector), which skips such first views and reports
  the resting spot of the next frame (see docs/detection.md, "c910_red_z");
* a streak with nothing after it: the shot is at the streak's start, the end where the beam
  dwelt (see ``spots.streak_start``).

The shot keeps the frame number and time of the event's first frame. Shots are therefore
reported one frame late; ``flush`` reports the events still waiting at the end of a stream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Observation:
    """A laser spot as seen in one frame."""

    x: float
    y: float
    radius: float
    elongation: float
    peak_rise: float
    color: str
    start_x: float  # where the shot is if this spot is its only view: its centre, or a streak's dwell end
    start_y: float
    box_aspect: float = 1.0  # width / height of the spot's upright bounding box (frame pixels)


@dataclass(frozen=True, slots=True)
class TrackedShot:
    frame: int
    t_ms: float
    x: float
    y: float
    color: str


@dataclass(frozen=True, slots=True)
class LinkRules:
    link_distance: float  # px: a spot this close to a recent event belongs to it ...
    link_radius_factor: float  # ... or within this many spot radii
    max_gap_frames: int  # frames an event may vanish and still continue
    streak_elongation: float  # a first spot at least this elongated is a streak
    compact_elongation: float  # a second spot below this elongation is a resting beam
    faint_first_ratio: float  # second spot this many times the first's rise: the first was partial
    wide_first_aspect: float  # a first spot whose upright box is this much wider than tall


@dataclass(slots=True, eq=False)
class _Event:
    first_frame: int
    first_t_ms: float
    x: float
    y: float
    radius: float
    last_frame: int
    first: Observation | None  # set until the event's shot is decided
    before: np.ndarray | None  # the frame before the event started (for colour)


class ShotTracker:
    """Links spots across frames and decides one shot per laser event."""

    def __init__(self, rules: LinkRules) -> None:
        self.rules = rules
        self._events: list[_Event] = []

    def lookup(self, frame: int, x: float, y: float, radius: float) -> tuple[bool, np.ndarray | None]:
        """Whether a spot at (x, y) in ``frame`` continues a recent event, and that event's
        pre-event frame while its shot is still to be decided (else None)."""
        event = self._link(frame, x, y, radius)
        return (False, None) if event is None else (True, event.before)

    def _link(
        self, frame: int, x: float, y: float, radius: float, also: list[_Event] | None = None
    ) -> _Event | None:
        """The recent event a spot at (x, y) continues, or None when it starts a new one."""
        best, best_distance = None, math.inf
        for event in self._events + (also or []):
            if frame - event.last_frame > self.rules.max_gap_frames:
                continue
            reach = max(self.rules.link_distance, self.rules.link_radius_factor * max(radius, event.radius))
            distance = math.hypot(x - event.x, y - event.y)
            if distance <= reach and distance < best_distance:
                best, best_distance = event, distance
        return best

    def advance(
        self, frame: int, t_ms: float, spots: list[Observation], before: np.ndarray | None = None
    ) -> list[TrackedShot]:
        """Take frame ``frame``'s spots; returns the shots decided now (events started earlier).

        ``before`` is kept with every event that starts in this frame.
        """
        shots: list[TrackedShot] = []
        continuing: dict[int, Observation] = {}
        started: list[_Event] = []
        for obs in spots:
            event = self._link(frame, obs.x, obs.y, obs.radius, started)
            if event is None:
                started.append(_Event(frame, t_ms, obs.x, obs.y, obs.radius, frame, obs, before))
                continue
            if event in started:
                continue  # another piece of a spot that starts an event in this frame
            key = id(event)
            if key not in continuing or obs.peak_rise > continuing[key].peak_rise:
                continuing[key] = obs
            event.x, event.y, event.radius, event.last_frame = obs.x, obs.y, obs.radius, frame
        for event in self._events:
            if event.first is not None and event.first_frame < frame:
                shots.append(self._decide(event, continuing.get(id(event))))
        self._events = [e for e in self._events if frame - e.last_frame <= self.rules.max_gap_frames]
        self._events.extend(started)
        return shots

    def flush(self) -> list[TrackedShot]:
        """Decide the events still waiting for their second frame (end of stream)."""
        shots = [self._decide(e, None) for e in self._events if e.first is not None]
        self._events = []
        return shots

    def _decide(self, event: _Event, second: Observation | None) -> TrackedShot:
        first = event.first
        assert first is not None
        event.first = None
        event.before = None
        rules = self.rules
        streak = first.elongation >= rules.streak_elongation
        if (
            second is not None
            and second.elongation < rules.compact_elongation
            and (streak or first.box_aspect >= rules.wide_first_aspect or _came_to_rest(first, second, rules))
        ):
            x, y, color = second.x, second.y, second.color
        else:  # the first spot: its centre, or its dwell end if it is a streak
            x, y, color = first.start_x, first.start_y, first.color
        return TrackedShot(event.first_frame, event.first_t_ms, x, y, color)


def _came_to_rest(first: Observation, second: Observation, rules: LinkRules) -> bool:
    """The first spot was the beam on its way: much fainter, and the beam moved on by more than
    the spots' size."""
    moved = math.hypot(second.x - first.x, second.y - first.y)
    return second.peak_rise >= rules.faint_first_ratio * first.peak_rise and moved > 2 * (
        first.radius + second.radius
    )
