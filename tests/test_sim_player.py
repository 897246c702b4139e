"""SimPlayer on a fake clock: exact virtual times, ticks, probes, and set_next hand-overs.

The behaviour it shares with MpvPlayer is checked by tests/test_player_contract.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from player_rig import EventLog, FakeClock

from hardware.events import PlayerFault, SegmentEnded, SegmentStarted
from hardware.player.sim import SimPlayer


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


def test_sim_set_next_hands_over_at_the_exact_end(media: Path) -> None:
    log, clock = EventLog(), FakeClock()
    sim, _ = _sim(log, clock)
    sim.play_segment(media, 0.0, 1.0, 1)
    sim.set_next(media, 1.0, 1.5, 2)
    assert sim.next_token == 2
    clock.advance(1.7)  # one late tick covers the end of 1 and of 2
    sim.tick()
    assert log.events == [
        SegmentStarted(1, 100.0),
        SegmentEnded(1, pytest.approx(101.0)),
        SegmentStarted(2, pytest.approx(101.0)),
        SegmentEnded(2, pytest.approx(101.5)),
    ]
    assert (sim.state, sim.current_token) == ("held", 2)


def test_sim_set_next_when_held_starts_now_and_is_replaced_by_play(media: Path) -> None:
    log, clock = EventLog(), FakeClock()
    sim, _ = _sim(log, clock)
    sim.set_next(media, 0.0, 1.0, 9)  # nothing playing
    assert log.events == []
    sim.play_segment(media, 0.0, 0.5, 1)
    clock.advance(0.6)
    sim.tick()
    sim.set_next(media, 1.0, 2.0, 2)
    assert log.events[-1] == SegmentStarted(2, 100.6)
    sim.set_next(media, 2.0, 3.0, 3)
    sim.play_segment(media, 0.0, 0.5, 4)
    assert sim.next_token is None
    clock.advance(5.0)
    sim.tick()
    assert [e.token for e in log.events] == [1, 1, 2, 4, 4]


def test_the_screen_projector_shows_the_pattern_on_the_player_and_to_the_sim_camera() -> None:
    import numpy as np

    from appliance.camera_service import screen_projector
    from appliance.detection.calibration_pattern import render_pattern
    from appliance.device_worker import DeviceWorker
    from appliance.errors import HardwareUnavailable

    sim = SimPlayer(EventLog(), auto_tick=False)
    sim.open()
    seen: list[np.ndarray | None] = []
    worker = DeviceWorker("player")
    try:
        project = screen_projector(sim, worker, also=seen.append)
        assert project is not None
        pattern = render_pattern(320, 180)
        project(pattern)
        still = sim.still
        assert still is not None and np.array_equal(still, pattern)
        assert seen[-1] is pattern  # the simulated camera sees what the screen shows
        project(None)
        assert sim.still is None and seen[-1] is None
        with pytest.raises(ValueError):  # the player's error reaches the camera service
            project(np.zeros((4, 4), dtype=np.uint8))
        assert screen_projector(object(), worker, also=seen.append) == seen.append  # no show_still
        worker.shutdown()
        with pytest.raises(HardwareUnavailable):  # start() turns it into a health warning
            project(None)
    finally:
        worker.shutdown()
        sim.close()
