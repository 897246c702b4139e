"""The Player contract, run against every backend: SimPlayer and MpvPlayer (libmpv, null outputs).

Clips are generated once per session with ffmpeg (see media_fixtures). Timing tolerances are
generous (±0.4 s) because libmpv runs in real time on a possibly busy machine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from media_fixtures import ffmpeg_available, make_test_clip

from hardware.events import HardwareEvent, PlayerFault, SegmentEnded, SegmentStarted
from hardware.player.base import Player
from hardware.player.mpv_player import REQUIRED_OPTIONS, MpvPlayer
from hardware.player.sim import SimPlayer, ffprobe_duration

pytestmark = pytest.mark.skipif(not ffmpeg_available(), reason="ffmpeg/ffprobe not installed")

TOL = 0.4
NULL_OUTPUT = {"vo": "null", "ao": "null"}


def _libmpv_available() -> bool:
    try:
        import mpv  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


class EventLog:
    """Thread-safe list of emitted events with waits that time out instead of sleeping."""

    def __init__(self) -> None:
        self.events: list[HardwareEvent] = []
        self._cond = threading.Condition()

    def __call__(self, event: HardwareEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def snapshot(self) -> list[HardwareEvent]:
        with self._cond:
            return list(self.events)

    def wait_for(self, kind: type, token: int | None = None, timeout: float = 4.0) -> HardwareEvent:
        def find() -> HardwareEvent | None:
            for event in self.events:
                if isinstance(event, kind) and (token is None or getattr(event, "token", None) == token):
                    return event
            return None

        with self._cond:
            found = self._cond.wait_for(find, timeout)
            if found is None:
                raise AssertionError(f"no {kind.__name__}(token={token}) within {timeout}s: {self.events}")
            return found

    def of(self, token: int) -> list[HardwareEvent]:
        return [e for e in self.snapshot() if getattr(e, "token", None) == token]


def wait_until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


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
        event = self.log.wait_for(SegmentStarted, token)
        assert isinstance(event, SegmentStarted)
        return event

    def ended(self, token: int, timeout: float = 4.0) -> SegmentEnded:
        event = self.log.wait_for(SegmentEnded, token, timeout)
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
    pytest.param("mpv", marks=pytest.mark.skipif(not _libmpv_available(), reason="libmpv not available")),
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
    fault = rig.log.wait_for(PlayerFault)
    assert isinstance(fault, PlayerFault)
    assert "missing.mp4" in fault.message
    assert rig.player.position() is None
    assert rig.log.of(1) == []
    rig.player.play_segment(rig.clips.a, 0.0, 0.3, 2)  # still usable
    rig.ended(2)


def test_a_file_that_is_not_a_video_is_a_fault(rig: Rig) -> None:
    rig.player.play_segment(rig.clips.junk, 0.0, None, 1)
    fault = rig.log.wait_for(PlayerFault)
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


# -- SimPlayer on a fake clock --------------------------------------------------------------


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def media(tmp_path: Path) -> Path:
    path = tmp_path / "scene.mp4"
    path.write_bytes(b"\0" * 16)  # the probe is faked, so any existing file will do
    return path


def _sim(log: EventLog, clock: FakeClock, duration: float = 3.0) -> tuple[SimPlayer, list[Path]]:
    probed: list[Path] = []

    def probe(path: Path) -> float:
        probed.append(path)
        return duration

    return SimPlayer(log, clock=clock, auto_tick=False, probe_duration=probe), probed


def test_sim_ends_exactly_once_at_the_end(media: Path) -> None:
    log, clock = EventLog(), FakeClock()
    sim, _ = _sim(log, clock)
    sim.play_segment(media, 1.0, 2.0, 7)
    assert log.events == [SegmentStarted(7, 100.0)]
    assert (sim.state, sim.current_token) == ("playing", 7)
    clock.advance(0.999)
    sim.tick()
    assert sim.position() == pytest.approx(0.999)
    assert len(log.events) == 1
    clock.advance(0.001)
    sim.tick()
    clock.advance(5.0)
    sim.tick()
    assert log.events[1:] == [SegmentEnded(7, pytest.approx(101.0))]
    assert sim.state == "held"
    assert sim.position() == pytest.approx(1.0)


def test_sim_pause_arithmetic_and_late_tick(media: Path) -> None:
    log, clock = EventLog(), FakeClock()
    sim, _ = _sim(log, clock)
    sim.play_segment(media, 0.0, 2.0, 1)
    clock.advance(0.5)
    sim.pause()
    assert sim.state == "paused"
    clock.advance(10.0)
    sim.tick()
    assert sim.position() == pytest.approx(0.5)
    sim.resume()
    clock.advance(1.4)
    sim.tick()
    assert sim.position() == pytest.approx(1.9)
    assert len(log.events) == 1
    clock.advance(3.0)  # the tick comes late: the event still carries the true end time
    sim.tick()
    assert log.events[1:] == [SegmentEnded(1, pytest.approx(112.0))]
    sim.resume()  # no effect once held
    assert sim.state == "held"


def test_sim_replaced_and_idle_tokens_never_end(media: Path) -> None:
    log, clock = EventLog(), FakeClock()
    sim, _ = _sim(log, clock)
    sim.play_segment(media, 0.0, 1.0, 1)
    clock.advance(0.5)
    sim.play_segment(media, 1.0, 3.0, 2)
    clock.advance(1.0)
    sim.tick()
    sim.show_idle()
    clock.advance(5.0)
    sim.tick()
    assert log.events == [SegmentStarted(1, 100.0), SegmentStarted(2, 100.5)]
    assert (sim.state, sim.current_token, sim.position()) == ("idle", None, None)


def test_sim_probes_each_file_once_for_open_ended_segments(media: Path) -> None:
    log, clock = EventLog(), FakeClock()
    sim, probed = _sim(log, clock, duration=3.0)
    sim.play_segment(media, 0.5, None, 1)
    sim.play_segment(media, 2.0, None, 2)
    clock.advance(1.0)
    sim.tick()
    assert probed == [media]
    assert log.events[-1] == SegmentEnded(2, pytest.approx(101.0))


def test_sim_probe_failure_is_emitted(media: Path) -> None:
    log = EventLog()

    def broken(path: Path) -> float:
        raise OSError("ffprobe exploded")

    sim = SimPlayer(log, auto_tick=False, probe_duration=broken)
    sim.play_segment(media, 0.0, None, 1)
    assert len(log.events) == 1
    assert isinstance(log.events[0], PlayerFault)
    assert "ffprobe exploded" in log.events[0].message
    assert sim.state == "idle"


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
