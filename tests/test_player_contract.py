"""The Player contract, run against every backend: SimPlayer and MpvPlayer (libmpv, null outputs).

Clips are generated once per session with ffmpeg (see media_fixtures). Timing tolerances are
generous (±0.4 s) because libmpv runs in real time on a possibly busy machine.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from media_fixtures import ffmpeg_available, make_test_clip
from player_rig import EventLog, libmpv_available, wait_until

from hardware.events import PlayerFault, SegmentEnded, SegmentStarted
from hardware.player.base import Player
from hardware.player.mpv_player import REQUIRED_OPTIONS, MpvPlayer
from hardware.player.sim import SimPlayer, ffprobe_duration

pytestmark = pytest.mark.skipif(not ffmpeg_available(), reason="ffmpeg/ffprobe not installed")

TOL = 0.4
NULL_OUTPUT = {"vo": "null", "ao": "null"}


@dataclass
class Clips:
    a: Path  # 3 s
    b: Path  # 4 s
    junk: Path  # not a video
    missing: Path


@dataclass
class Rig:
    player: Player
    log: EventLog
    clips: Clips

    def started(self, token: int) -> SegmentStarted:
        event = self.log.wait_event(SegmentStarted, token)
        assert isinstance(event, SegmentStarted)
        return event

    def ended(self, token: int, timeout: float = 4.0) -> SegmentEnded:
        event = self.log.wait_event(SegmentEnded, token, timeout)
        assert isinstance(event, SegmentEnded)
        return event


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Clips:
    root = tmp_path_factory.mktemp("player_clips")
    junk = root / "junk.mp4"
    junk.write_bytes(b"this is not a video\n" * 100)
    return Clips(
        a=make_test_clip(root / "a.mp4", 3.0, label="A"),
        b=make_test_clip(root / "b.mp4", 4.0, label="B"),
        junk=junk,
        missing=root / "missing.mp4",
    )


def _make(backend: str, log: EventLog) -> Player:
    if backend == "sim":
        return SimPlayer(log, auto_tick=True)
    return MpvPlayer(log, options=dict(NULL_OUTPUT))


BACKENDS = [
    "sim",
    pytest.param("mpv", marks=pytest.mark.skipif(not libmpv_available(), reason="libmpv not available")),
]


@pytest.fixture(params=BACKENDS)
def rig(request: pytest.FixtureRequest, clips: Clips) -> Iterator[Rig]:
    log = EventLog()
    player = _make(request.param, log)
    player.open()
    try:
        yield Rig(player, log, clips)
    finally:
        player.close()


# -- the contract ---------------------------------------------------------------------------


def test_segment_plays_from_start_to_end_then_holds(rig: Rig) -> None:
    rig.player.play_segment(rig.clips.a, 0.5, 1.5, 1)
    started = rig.started(1)
    ended = rig.ended(1)
    assert ended.t_mono - started.t_mono == pytest.approx(1.0, abs=TOL)
    assert [type(e) for e in rig.log.of(1)] == [SegmentStarted, SegmentEnded]
    held = rig.player.position()
    assert held == pytest.approx(1.0, abs=0.15)
    time.sleep(0.2)
    assert rig.player.position() == pytest.approx(held, abs=0.01)
    assert len(rig.log.of(1)) == 2  # SegmentEnded exactly once


def test_end_none_plays_to_the_end_of_the_file(rig: Rig) -> None:
    rig.player.play_segment(rig.clips.a, 2.0, None, 1)
    started = rig.started(1)
    ended = rig.ended(1)
    assert ended.t_mono - started.t_mono == pytest.approx(1.0, abs=TOL)
    assert rig.player.position() == pytest.approx(1.0, abs=0.15)


def test_position_is_relative_to_the_segment_start(rig: Rig) -> None:
    rig.player.play_segment(rig.clips.b, 1.0, 2.0, 1)
    rig.started(1)
    first = rig.player.position()
    assert first is not None
    assert 0.0 <= first <= 0.15
    wait_until(lambda: (rig.player.position() or 0.0) >= 0.3)
    middle = rig.player.position()
    assert middle is not None
    assert 0.3 <= middle <= 0.9
    rig.ended(1)


def test_pause_holds_the_position_and_resume_continues(rig: Rig) -> None:
    rig.player.play_segment(rig.clips.a, 0.0, 1.5, 1)
    started = rig.started(1)
    wait_until(lambda: (rig.player.position() or 0.0) >= 0.3)
    rig.player.pause()
    frozen = rig.player.position()
    assert frozen is not None
    time.sleep(0.4)
    assert rig.player.position() == pytest.approx(frozen, abs=0.05)
    rig.player.resume()
    wait_until(lambda: (rig.player.position() or 0.0) > frozen + 0.1)
    ended = rig.ended(1)
    assert ended.t_mono - started.t_mono == pytest.approx(1.5 + 0.4, abs=TOL)


def test_a_replaced_segment_never_emits(rig: Rig) -> None:
    p = rig.player
    p.play_segment(rig.clips.a, 0.0, 0.8, 1)
    t1 = rig.started(1).t_mono
    p.play_segment(rig.clips.b, 0.0, 0.6, 2)  # another file
    p.play_segment(rig.clips.b, 1.0, 1.5, 3)  # at once: a seek, or a second load
    cut = len(rig.log.snapshot())
    p.play_segment(rig.clips.b, 2.0, 2.5, 4)  # replaces 3 before it can start
    rig.started(4)
    rig.ended(4)
    time.sleep(max(0.0, t1 + 0.8 + 0.3 - time.monotonic()))  # past token 1's end
    assert [type(e) for e in rig.log.of(1)] == [SegmentStarted]
    assert not any(isinstance(e, SegmentEnded) for e in rig.log.of(2) + rig.log.of(3))
    assert not [e for e in rig.log.snapshot()[cut:] if getattr(e, "token", None) == 3]
    assert not [e for e in rig.log.snapshot() if isinstance(e, PlayerFault)]


def test_seek_within_the_file_after_eof_then_another_file(rig: Rig) -> None:
    p = rig.player
    p.play_segment(rig.clips.a, 2.5, None, 1)  # plays to EOF and holds there
    rig.ended(1)
    for token, media, start, end in (
        (2, rig.clips.a, 0.5, 1.0),
        (3, rig.clips.a, 1.5, 2.0),
        (4, rig.clips.b, 1.0, 1.5),
    ):
        p.play_segment(media, start, end, token)
        started = rig.started(token)
        position = p.position()
        assert position is not None
        assert position <= 0.15
        ended = rig.ended(token)
        assert ended.t_mono - started.t_mono == pytest.approx(end - start, abs=TOL)
    assert not [e for e in rig.log.snapshot() if isinstance(e, PlayerFault)]


def test_show_idle_stops_the_segment(rig: Rig) -> None:
    p = rig.player
    p.play_segment(rig.clips.a, 0.0, 0.6, 1)
    t1 = rig.started(1).t_mono
    p.show_idle()
    assert p.position() is None
    time.sleep(max(0.0, t1 + 0.6 + 0.3 - time.monotonic()))
    assert [type(e) for e in rig.log.of(1)] == [SegmentStarted]
    assert p.position() is None
    p.play_segment(rig.clips.a, 0.0, 0.3, 2)  # plays again after idle
    rig.ended(2)


@pytest.mark.parametrize("end_s", [None, 1.0])
def test_a_missing_file_is_a_fault_not_an_exception(rig: Rig, end_s: float | None) -> None:
    rig.player.play_segment(rig.clips.missing, 0.0, end_s, 1)
    fault = rig.log.wait_event(PlayerFault)
    assert isinstance(fault, PlayerFault)
    assert "missing.mp4" in fault.message
    assert rig.player.position() is None
    assert rig.log.of(1) == []
    rig.player.play_segment(rig.clips.a, 0.0, 0.3, 2)  # still usable
    rig.ended(2)


def test_a_file_that_is_not_a_video_is_a_fault(rig: Rig) -> None:
    rig.player.play_segment(rig.clips.junk, 0.0, None, 1)
    fault = rig.log.wait_event(PlayerFault)
    assert isinstance(fault, PlayerFault)
    assert "junk.mp4" in fault.message
    assert rig.player.position() is None
    assert not [e for e in rig.log.of(1) if isinstance(e, SegmentEnded)]


def test_close_is_safe_twice_and_silences_the_player(rig: Rig) -> None:
    rig.player.play_segment(rig.clips.a, 0.0, 0.3, 1)
    rig.started(1)
    rig.player.close()
    rig.player.close()
    count = len(rig.log.snapshot())
    time.sleep(0.5)
    assert len(rig.log.snapshot()) == count
    assert rig.player.position() is None


# -- set_next, blank pause, idle text ------------------------------------------------------


def _kinds(rig: Rig, *tokens: int) -> list[tuple[str, int]]:
    return [(type(e).__name__, e.token) for e in rig.log.snapshot() if getattr(e, "token", None) in tokens]


@pytest.mark.parametrize(
    ("second", "start", "end"),
    [("a", 1.0, 1.5), ("a", 2.2, 2.7), ("b", 1.0, 1.5)],
    ids=["adjacent", "elsewhere", "other-file"],
)
def test_set_next_goes_straight_on_into_the_successor(
    rig: Rig, second: str, start: float, end: float
) -> None:
    p = rig.player
    p.play_segment(rig.clips.a, 0.0, 1.0, 1)
    p.set_next(getattr(rig.clips, second), start, end, 2)  # as the controller does, at once
    started = rig.started(1)
    ended = rig.ended(1)
    second_started = rig.started(2)
    assert second_started.t_mono - ended.t_mono == pytest.approx(0.0, abs=0.02)  # together
    assert ended.t_mono - started.t_mono == pytest.approx(1.0, abs=TOL)
    position = p.position()
    assert position is not None
    assert position <= 0.2
    rig.ended(2)
    assert _kinds(rig, 1, 2) == [
        ("SegmentStarted", 1),
        ("SegmentEnded", 1),
        ("SegmentStarted", 2),
        ("SegmentEnded", 2),
    ]
    assert not [e for e in rig.log.snapshot() if isinstance(e, PlayerFault)]


def test_set_next_after_the_end_starts_the_successor_at_once(rig: Rig) -> None:
    p = rig.player
    p.play_segment(rig.clips.a, 0.0, 0.3, 1)
    rig.ended(1)
    time.sleep(0.1)
    p.set_next(rig.clips.a, 1.0, 1.3, 2)
    rig.started(2)
    rig.ended(2)
    assert _kinds(rig, 1, 2) == [
        ("SegmentStarted", 1),
        ("SegmentEnded", 1),
        ("SegmentStarted", 2),
        ("SegmentEnded", 2),
    ]


def test_play_segment_and_show_idle_cancel_set_next(rig: Rig) -> None:
    p = rig.player
    p.play_segment(rig.clips.a, 0.0, 0.4, 1)
    p.set_next(rig.clips.a, 0.4, 0.8, 2)
    rig.started(1)
    p.play_segment(rig.clips.b, 0.0, 0.6, 3)  # a branch replaces the successor as well
    p.set_next(rig.clips.b, 2.0, 2.5, 4)
    rig.started(3)
    p.show_idle()
    time.sleep(1.0)
    assert rig.log.of(2) == []
    assert rig.log.of(4) == []
    assert [type(e) for e in rig.log.of(3)] == [SegmentStarted]
    p.set_next(rig.clips.a, 0.0, 0.5, 5)  # nothing playing: ignored
    time.sleep(0.3)
    assert rig.log.of(5) == []
    assert p.position() is None


def test_blank_pause_holds_and_resume_continues(rig: Rig) -> None:
    p = rig.player
    p.play_segment(rig.clips.b, 0.0, 1.2, 1)
    started = rig.started(1)
    wait_until(lambda: (p.position() or 0.0) >= 0.2)
    p.pause(blank=True)
    frozen = p.position()
    assert frozen is not None
    if isinstance(p, SimPlayer):
        assert p.blank
    time.sleep(0.4)
    assert p.position() == pytest.approx(frozen, abs=0.05)
    p.resume()
    if isinstance(p, SimPlayer):
        assert not p.blank
    ended = rig.ended(1)
    assert ended.t_mono - started.t_mono == pytest.approx(1.2 + 0.4, abs=TOL)
    p.pause(blank=True)  # also once held at the end, and back again
    p.resume()
    assert not [e for e in rig.log.snapshot() if isinstance(e, PlayerFault)]


def test_show_idle_with_a_line_of_text(rig: Rig) -> None:
    p = rig.player
    p.play_segment(rig.clips.a, 0.0, 0.5, 1)
    rig.started(1)
    p.show_idle("Panel: http://openrange.local:8080  PIN 4821")
    assert p.position() is None
    if isinstance(p, SimPlayer):
        assert p.idle_text == "Panel: http://openrange.local:8080  PIN 4821"
    p.show_idle()  # the positional-free call still works
    p.play_segment(rig.clips.a, 0.0, 0.3, 2)
    rig.ended(2)
    assert not [e for e in rig.log.snapshot() if isinstance(e, PlayerFault)]


def test_show_still_covers_the_screen_and_leaves_the_segment_alone(rig: Rig) -> None:
    pattern = np.full((180, 320, 3), 255, dtype=np.uint8)
    pattern[60:120, 100:220] = (0, 0, 255)
    rig.player.show_still(pattern)  # over the idle card
    rig.player.show_still(None)
    rig.player.play_segment(rig.clips.a, 0.0, 1.0, 1)
    rig.started(1)
    rig.player.show_still(pattern)  # over the video: it plays on underneath
    rig.ended(1, timeout=3.0)
    with pytest.raises(ValueError):
        rig.player.show_still(np.zeros((10, 10), dtype=np.uint8))
    rig.player.show_idle()
    rig.player.show_still(None)
    rig.player.show_still(None)  # nothing shown: no effect
    rig.player.play_segment(rig.clips.b, 0.0, 0.5, 2)
    rig.started(2)
    rig.ended(2, timeout=3.0)
    assert not [e for e in rig.log.snapshot() if isinstance(e, PlayerFault)]
    if isinstance(rig.player, SimPlayer):
        rig.player.show_still(pattern)
        still = rig.player.still
        assert still is not None and still.tolist() == pattern.tolist()
        rig.player.show_still(None)
        assert rig.player.still is None


# -- units ---------------------------------------------------------------------------------


def test_ffprobe_duration_of_a_generated_clip(clips: Clips) -> None:
    assert ffprobe_duration(clips.b) == pytest.approx(4.0, abs=0.05)
    with pytest.raises(OSError):
        ffprobe_duration(clips.junk)


def test_mpv_required_options_win_over_the_callers() -> None:
    player = MpvPlayer(EventLog(), options={"vo": "null", "keep_open": "no", "osc": "yes"})
    opts = player.mpv_options()
    assert all(opts[k] == v for k, v in REQUIRED_OPTIONS.items())
    assert opts["osc"] == "yes"
    assert "fullscreen" not in opts
    assert MpvPlayer(EventLog(), options={"vo": "gpu"}).mpv_options()["fullscreen"] == "yes"


def test_idle_card_text_is_plain_lines() -> None:
    from hardware.player.idle_card import IdleCard, blank_ass, idle_card_ass

    ass = idle_card_ass(IdleCard(), "Panel {\\b1}http://x  PIN 12\nWi-Fi openrange\n\n")
    assert ass.count("\\N") == 4, "title, subtitle, a gap, one ASS line per text line (blank ones dropped)"
    assert "{\\b1}" not in ass and "PIN 12" in ass and ass.endswith("Wi-Fi openrange")
    assert "\\N" not in idle_card_ass(IdleCard(title="T", subtitle=""))
    assert "\\p1" in blank_ass()


def test_mpv_decides_by_the_frame_on_screen() -> None:
    from hardware.player.mpv_segments import NextSegment, _Segment, can_continue, decide, handover_delay

    media = Path("/media/scenario.mp4")
    lead = 0.008
    seg = _Segment(1, media, 2.0, 4.0, loads=False, phase="started")
    assert decide(seg, 3.90, False, lead) == "wait"
    assert decide(seg, 3.9667, False, lead) == "end"  # the last frame is up
    assert decide(seg, 3.0, True, lead) == "end"  # the file ended early
    seg.next = NextSegment(media, 6.0, 8.0, 2)
    assert decide(seg, 3.90, False, lead) == "wait"
    assert decide(seg, 3.934, False, lead) == "wait"  # two frames left: not yet
    assert decide(seg, 3.9667, False, lead) == "hand_over"  # the last frame is up ...
    assert handover_delay(seg, 3.9667, False, lead) == pytest.approx(0.0253, abs=1e-3)  # ... seek soon
    assert handover_delay(seg, 3.995, False, lead) == 0.0  # already within the lead: now
    assert handover_delay(seg, 3.0, True, lead) == 0.0  # the file ended early: now
    adjacent = NextSegment(media, 4.0, 5.0, 2)
    assert can_continue(seg, adjacent, 3.0)  # early enough: just play on
    assert not can_continue(seg, adjacent, 3.5)  # audio already stops at 4.0: seek instead
    assert not can_continue(seg, seg.next, 2.0)  # not adjacent
    seg.next = NextSegment(media, 4.0, 5.0, 2, continues=True)
    assert decide(seg, 3.9667, False, lead) == "wait"  # no pause, no seek at the boundary
    assert decide(seg, 4.0, False, lead) == "roll_over"


def test_a_still_is_checked_and_fitted_like_a_video() -> None:
    from hardware.player.still import check_still, fit_bgra

    with pytest.raises(ValueError):
        check_still(np.zeros((4, 4), dtype=np.uint8))
    with pytest.raises(ValueError):
        check_still(np.zeros((4, 4, 3), dtype=np.float32))
    image = np.zeros((90, 160, 3), dtype=np.uint8)
    image[:, :80] = (255, 0, 0)  # left half blue (BGR)
    out = fit_bgra(image, (320, 240))  # 16:9 into 4:3: black bars above and below
    assert out.shape == (240, 320, 4) and out.flags.c_contiguous
    assert (out[..., 3] == 255).all()
    assert (out[:29, :, :3] == 0).all() and (out[-29:, :, :3] == 0).all()
    assert tuple(out[120, 10, :3]) == (255, 0, 0) and tuple(out[120, 310, :3]) == (0, 0, 0)
    assert fit_bgra(image, (160, 90))[..., :3].tolist() == image.tolist()  # same size: unchanged
