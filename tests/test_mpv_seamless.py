"""MpvPlayer switching inside one joined file, judged by the pixels it renders (not by speed).

mpv runs with ``vo=libmpv``; bench/frame_probe.py renders every frame in software at its
display time and reads the segment marker and frame code drawn into tests/joined_media.py's
file, so each check is about what a trainee would see: the new segment's first frame and never
a wrong one, no held frame where mpv plays straight on, no freeze for a late branch, the last
frame held at a segment's end, the idle card and the blank pause screen.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from joined_media import JoinedMedia, ffmpeg_available, make_joined_media
from player_rig import EventLog, libmpv_available

from hardware.events import PlayerFault, SegmentEnded, SegmentStarted
from hardware.player.mpv_player import MpvPlayer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.frame_probe import Frame, FrameProbe, analyse, layouts

pytestmark = pytest.mark.skipif(
    not (ffmpeg_available() and libmpv_available()), reason="needs ffmpeg and libmpv"
)

SIZE = (480, 270)
INTERVAL = 1 / 30
SLACK = 0.008  # scheduling noise on a shared machine


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> JoinedMedia:
    return make_joined_media(tmp_path_factory.mktemp("joined"), size=SIZE, seconds=(2.0,) * 4)


@dataclass
class Screen:
    player: MpvPlayer
    probe: FrameProbe
    log: EventLog
    mpv_events: list[tuple[float, int]] = field(default_factory=list)

    def distinct(self, since: float, until: float = float("inf")) -> list[Frame]:
        out: list[Frame] = []
        for f in self.probe.frames(since):
            if f.t <= until and not (out and (f.code, f.marker) == (out[-1].code, out[-1].marker)):
                out.append(f)
        return out

    def restarts(self, since: float) -> int:
        return sum(1 for t, eid in self.mpv_events if t >= since and eid == 21)  # PLAYBACK_RESTART


@pytest.fixture
def screen() -> Iterator[Screen]:
    probe = FrameProbe(SIZE, SIZE)
    log = EventLog()
    events: list[tuple[float, int]] = []

    def hook(mpv: Any) -> Any:
        mpv.register_event_callback(lambda e: events.append((time.monotonic(), e.event_id.value)))
        return probe.attach(mpv)

    options = {"vo": "libmpv", "ao": "null", "force-window": "immediate"}
    player = MpvPlayer(log, options=options, render_hook=hook)
    player.open()
    try:
        yield Screen(player, probe, log, events)
    finally:
        player.close()
    assert not probe.errors


def _show(screen: Screen, media: JoinedMedia, i: int, token: int, start: float | None = None) -> Frame:
    """Play segment ``i`` (from ``start``) and return its first frame on screen."""
    t = time.monotonic()
    screen.player.play_segment(
        media.path, media.start_s(i) if start is None else start, media.end_s(i), token
    )
    frame = screen.probe.wait_for(lambda f: f.marker == i, 3.0, t)
    assert frame is not None, f"segment {i} never showed"
    return frame


def test_seek_switches_show_the_new_segments_first_frame_and_never_a_wrong_one(
    screen: Screen, media: JoinedMedia
) -> None:
    lay, _ = layouts(media)
    _show(screen, media, 0, 1)
    plan = [2, 1, 3, 0, 2, 3, 1]
    switches = []
    old = 0
    for token, (new, dwell) in enumerate(zip(plan, [0.21, 0.27, 0.18, 0.3, 0.24, 0.2, 0.26], strict=True), 2):
        time.sleep(dwell)
        t_cmd = time.monotonic()
        screen.player.play_segment(media.path, media.start_s(new), media.end_s(new), token)
        switches.append((t_cmd, old, new, token))
        old = new
    time.sleep(0.3)
    frames = screen.probe.frames()
    for k, (t_cmd, old, new, token) in enumerate(switches):
        t_stop = switches[k + 1][0] if k + 1 < len(switches) else float("inf")
        res = analyse(frames, lay, (old,), new, t_cmd, t_stop)
        assert res.wrong == 0, f"switch {old}->{new}: a frame from neither segment"
        assert res.latency_ms is not None and not res.skipped_first, f"switch {old}->{new}"
        started = screen.log.wait_event(SegmentStarted, token)
        first = next(f for f in frames if f.t > t_cmd and f.code == media.first[new])
        assert started.t_mono >= first.t - 0.002  # reported once the frame is on screen
    assert not [e for e in screen.log.snapshot() if isinstance(e, PlayerFault)]


def test_set_next_into_the_adjacent_segment_plays_on_without_a_seek(
    screen: Screen, media: JoinedMedia
) -> None:
    t0 = time.monotonic()
    screen.player.play_segment(media.path, media.tail_s(1), media.end_s(1), 1)  # 1 s before the end
    screen.player.set_next(media.path, media.start_s(2), media.end_s(2), 2)
    screen.log.wait_event(SegmentStarted, 1)
    t_started = time.monotonic()
    ended = screen.log.wait_event(SegmentEnded, 1, timeout=3.0)
    screen.log.wait_event(SegmentStarted, 2)
    time.sleep(0.3)
    assert screen.restarts(t_started) == 0  # no seek: mpv played straight on
    boundary = media.first[2]
    seq = [f for f in screen.distinct(t0) if f.code is not None and boundary - 8 <= f.code <= boundary + 6]
    assert [f.code for f in seq] == list(range(boundary - 8, boundary + 7))  # every frame, in order
    longest = max(b.t - a.t for a, b in itertools.pairwise(seq))
    assert longest <= 2 * INTERVAL + SLACK, f"a frame was held {longest * 1000:.0f} ms"
    first_new = next(f for f in seq if f.code == boundary)
    assert abs(ended.t_mono - first_new.t) < 0.1


def test_a_branch_50_ms_before_the_end_does_not_freeze(screen: Screen, media: JoinedMedia) -> None:
    lay, _ = layouts(media)
    shown = _show(screen, media, 1, 1, start=media.tail_s(1))
    time.sleep(max(0.0, shown.t + (media.end_s(1) - media.tail_s(1)) - 0.05 - time.monotonic()))
    t_cmd = time.monotonic()
    screen.player.play_segment(media.path, media.start_s(3), media.end_s(3), 2)
    assert screen.probe.wait_for(lambda f: f.code == media.first[3] + 3, 2.0, t_cmd) is not None
    res = analyse(screen.probe.frames(), lay, (1,), 3, t_cmd, time.monotonic())
    assert res.wrong == 0  # neither segment 2 (after 1 in the file) nor anything else
    assert res.latency_ms is not None and res.latency_ms < 3 * INTERVAL * 1000
    assert res.hold_ms <= 2 * INTERVAL * 1000 + SLACK * 1000, f"held {res.hold_ms:.0f} ms"
    screen.log.wait_event(SegmentStarted, 2)


def test_a_segment_end_holds_its_last_frame(screen: Screen, media: JoinedMedia) -> None:
    shown = _show(screen, media, 2, 1, start=media.tail_s(2))
    screen.log.wait_event(SegmentEnded, 1, timeout=3.0)
    time.sleep(0.4)
    seq = screen.distinct(shown.t)
    last = media.first[2] + media.frames[2] - 1
    assert seq[-1].code == last
    assert all(f.marker == 2 and (f.code or 0) <= last for f in seq)


def test_idle_card_and_blank_pause_are_drawn(screen: Screen, media: JoinedMedia) -> None:
    _show(screen, media, 0, 1)
    screen.player.pause(blank=True)
    black = screen.probe.wait_for(lambda f: f.marker is None, 2.0, time.monotonic())
    assert black is not None and black.mean < 0.5
    t = time.monotonic()
    screen.player.resume()
    assert screen.probe.wait_for(lambda f: f.marker == 0, 2.0, t) is not None
    t = time.monotonic()
    screen.player.show_idle()
    card = screen.probe.wait_for(lambda f: f.marker is None, 2.0, t)
    time.sleep(0.2)
    t = time.monotonic()
    screen.player.show_idle("Panel http://openrange.local:8080  PIN 4821")
    time.sleep(0.3)
    with_text = screen.probe.last()
    assert card is not None and with_text is not None and with_text.t > t
    assert with_text.marker is None  # no video: the card on black, never the desktop
    assert 0.2 < card.mean < with_text.mean < 40  # white text on black, one more line of it


def test_a_late_branch_never_flashes_the_pending_successor(screen: Screen, media: JoinedMedia) -> None:
    """A branch tapped shortly before the end, with a non-adjacent ``set_next`` successor pending.

    The successor may only be seen after the branch if the player had already reported it on
    screen (``SegmentStarted``) before the branch was given; otherwise the trainee would see a
    frame of a scene nobody chose (a flash) before the branch's first frame.
    """
    flashes = []
    token = 0
    for k, before_end in enumerate((0.09, 0.08, 0.07, 0.06, 0.05, 0.04, 0.03) * 2):
        token += 3
        old, nxt, branch = (0, 3, 2) if k % 2 == 0 else (1, 0, 3)
        shown = _show(screen, media, old, token, start=media.tail_s(old))
        screen.player.set_next(media.path, media.start_s(nxt), media.end_s(nxt), token + 1)
        boundary = shown.t + media.end_s(old) - media.tail_s(old)
        time.sleep(max(0.0, boundary - before_end - time.monotonic()))
        t_cmd = time.monotonic()
        screen.player.play_segment(media.path, media.start_s(branch), media.end_s(branch), token + 2)
        first = screen.probe.wait_for(lambda f, b=branch: f.marker == b, 2.0, t_cmd)
        assert first is not None, "the branch never showed"
        time.sleep(0.1)
        reported = [e for e in screen.log.of(token + 1) if isinstance(e, SegmentStarted)]
        on_before = bool(reported) and reported[0].t_mono <= t_cmd
        late = [f for f in screen.probe.frames(t_cmd) if f.t <= first.t and f.marker == nxt]
        if late and not on_before:
            flashes.append(f"{before_end * 1000:.0f} ms before the end: {len(late)} successor frame(s)")
    assert not flashes, flashes


def test_show_still_covers_video_and_idle_card_then_goes(screen: Screen, media: JoinedMedia) -> None:
    import numpy as np

    still = np.full((300, 400, 3), 255, dtype=np.uint8)  # white, 4:3 on a 16:9 screen
    _show(screen, media, 1, 1)
    t = time.monotonic()
    screen.player.show_still(still)
    shown = screen.probe.wait_for(lambda f: f.marker is None and f.mean > 150, 2.0, t)
    assert shown is not None, "the still never covered the video"
    assert 185 < shown.mean < 197  # fitted like a video: 3/4 of the width white, black bars
    t = time.monotonic()
    screen.player.show_still(None)
    assert screen.probe.wait_for(lambda f: f.marker == 1, 2.0, t) is not None  # the video again
    screen.player.show_idle()
    time.sleep(0.2)
    t = time.monotonic()
    screen.player.show_still(still)
    assert screen.probe.wait_for(lambda f: 185 < f.mean < 197, 2.0, t) is not None  # over the card
    t = time.monotonic()
    screen.player.show_still(None)
    card = screen.probe.wait_for(lambda f: f.mean < 40, 2.0, t)
    assert card is not None and card.marker is None  # the idle card on black again
    _show(screen, media, 2, 2)
