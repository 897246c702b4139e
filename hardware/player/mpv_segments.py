"""The segment bookkeeping of MpvPlayer, kept free of libmpv so it can be reasoned about alone.

A ``_Segment`` is one ``play_segment`` (or a successor given with ``set_next``) and how far
mpv has got with it. ``decide()`` says what to do when mpv reports a new playback position.

How positions relate to the screen: mpv's ``time-pos`` is the frame it has just handed to the
video output. With ``video-timing-offset=0`` (``mpv_options``) that happens at the frame's
display time, so it is the frame on screen; with mpv's default (0.05 s) it was about one frame
ahead. A seek drops frames not yet handed over but never the one the output has taken. So when
the *last* frame of a segment comes up there is one frame interval left to report the end or to
time the successor's seek (``handover_delay``) before the frame after it — the next segment's
first frame in a joined file — could be due (and mpv's ``end`` stops it anyway).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Phase = Literal["issued", "loading", "armed", "started", "ended"]
Action = Literal["wait", "end", "roll_over", "hand_over"]

END_EPS = 1e-3
"""Seconds of slack when comparing positions with a segment's bounds."""
AUDIO_AHEAD_S = 0.75
"""mpv decodes audio ahead (about 0.3 s here; more with a larger audio buffer) and stops at
``end``: moving ``end`` on when less than that is left leaves a gap in the audio that stalls
the picture ~70 ms (measured). A successor given with less than this left (of the remaining
segment, or of the whole segment before it has started) is sought like a non-adjacent one."""


@dataclass(frozen=True, slots=True)
class NextSegment:
    """What ``set_next`` asked for: continue into this when the current segment ends."""

    media: Path
    start_s: float
    end_s: float | None
    token: int
    continues: bool = False
    """Adjacent in the same file and mpv's ``end`` already moved past the boundary: mpv plays
    straight on, no seek (see ``AUDIO_AHEAD_S``)."""


@dataclass
class _Segment:
    token: int
    media: Path
    start_s: float
    end_s: float | None
    loads: bool  # True: loadfile; False: seek inside (or continue in) the loaded file
    phase: Phase = "issued"
    entry_id: int | None = None
    frame_s: float = 1 / 30
    next: NextSegment | None = None
    follows: int | None = None
    """Token of the segment this one takes over from (``set_next``): its ``SegmentEnded`` is
    emitted together with this one's ``SegmentStarted``."""


def check_times(start_s: float, end_s: float | None) -> None:
    if start_s < 0:
        raise ValueError(f"start_s must be >= 0, got {start_s}")
    if end_s is not None and end_s < start_s:
        raise ValueError(f"end_s ({end_s}) is before start_s ({start_s})")


def can_continue(seg: _Segment, nxt: NextSegment, tp: float | None) -> bool:
    """Can mpv just play on from ``seg`` into ``nxt`` (same file, starts where ``seg`` ends,
    and early enough, see ``AUDIO_AHEAD_S``)? ``tp``: the position if ``seg`` is playing."""
    if seg.end_s is None or abs(nxt.start_s - seg.end_s) > min(seg.frame_s / 2, 0.010):
        return False
    if not (seg.media == nxt.media or seg.media.resolve() == nxt.media.resolve()):
        return False
    if seg.phase == "started":
        return tp is not None and seg.end_s - tp > AUDIO_AHEAD_S
    return seg.end_s - seg.start_s > AUDIO_AHEAD_S


def decide(seg: _Segment, tp: float | None, eof: bool, lead_s: float) -> Action:
    """What to do now that mpv has handed over the frame at ``tp`` (``seg`` is ``started``).

    ``end``        no successor: pause on this, the segment's last frame, and report the end;
    ``roll_over``  the successor ``continues`` and its first frame is up: swap the bookkeeping;
    ``hand_over``  the successor needs a seek/load and the last frame is up (or the end within
                   ``lead_s``): start it, ``handover_delay`` seconds from now;
    ``wait``       nothing yet.
    """
    end = seg.end_s
    nxt = seg.next
    if nxt is not None and nxt.continues:
        if end is not None and tp is not None and tp >= end - END_EPS:
            return "roll_over"
        return "hand_over" if eof else "wait"
    if nxt is not None:
        if end is not None and tp is not None and end - tp <= max(lead_s, seg.frame_s) + END_EPS:
            return "hand_over"  # the last frame is up: the caller times the seek (handover_delay)
        return "hand_over" if eof else "wait"
    if end is not None and tp is not None and tp + seg.frame_s >= end - END_EPS:
        return "end"
    return "end" if eof else "wait"


def restart_in_range(seg: _Segment, tp: float | None) -> bool:
    """Is a ``playback-restart`` at position ``tp`` this segment's start (not an older seek's)?"""
    if tp is None:
        return True  # nothing better to go on; the command reply already ordered the events
    return seg.start_s - 2 * seg.frame_s - END_EPS <= tp <= seg.start_s + 3 * seg.frame_s + END_EPS


def handover_delay(seg: _Segment, tp: float | None, eof: bool, lead_s: float) -> float:
    """Seconds from now until a non-adjacent successor's seek/load should be sent (0: now).

    With ``video-timing-offset=0`` (``mpv_options``) the frame at ``tp`` is on screen from
    about now, so the boundary is ``end - tp`` away; the command goes ``lead_s`` (about the
    time a seek takes to show its first frame) before it. Sending it any earlier cuts the old
    segment short and, worse, commits the successor while a branch may still come: a branch
    given after the command but before the successor's first frame would let that frame
    flash on screen first (measured).
    """
    if eof or seg.end_s is None or tp is None:
        return 0.0
    return max(0.0, seg.end_s - tp - lead_s)
