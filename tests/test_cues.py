"""Scene cues: the scheduler on a fake clock with fake outputs, and the manifest's cue shape."""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

import pytest
from scenario_builders import TEST_SCENARIO

from appliance.clock import FakeClock
from appliance.cues import CueScheduler, WorkerOutputs, cue_problems
from appliance.device_worker import DeviceWorker
from appliance.scenario.model import Cue
from appliance.scenario.validate import manifest_from_bytes


class FakeOutputs:
    """Records every call with the scene clock's time (the scheduler's ``outputs``)."""

    def __init__(self, clock: FakeClock, fail: bool = False) -> None:
        self.clock = clock
        self.calls: list[tuple[float, str, tuple[Any, ...]]] = []
        self.fail = fail

    def _log(self, method: str, *args: Any) -> None:
        self.calls.append((round(self.clock.monotonic() - 1000.0, 6), method, args))
        if self.fail:
            raise OSError("worker gone")

    def pulse(self, name: str, seconds: float) -> None:
        self._log("pulse", name, round(seconds, 6))

    def set(self, name: str, on: bool) -> None:
        self._log("set", name, on)

    def all_safe(self) -> None:
        self._log("all_safe")


def cue(at_s: float, output: str = "threat_relay", duration_s: float = 1.0) -> Cue:
    return Cue(at_s=at_s, output=output, duration_s=duration_s)


@pytest.fixture
def rig():
    clock = FakeClock(1000.0)
    outputs = FakeOutputs(clock)
    return clock, outputs, CueScheduler(outputs, clock)


def test_cues_fire_at_their_scene_time_for_their_duration(rig) -> None:
    clock, outputs, cues = rig
    cues.scene_entered([cue(2.0, "lights", 0.5), cue(0.0), cue(2.0, duration_s=3.0)])
    assert outputs.calls == [(0.0, "pulse", ("threat_relay", 1.0))]  # at_s 0 fires at once
    clock.advance(1.999)
    assert len(outputs.calls) == 1
    clock.advance(0.001)
    assert outputs.calls[1:] == [(2.0, "pulse", ("lights", 0.5)), (2.0, "pulse", ("threat_relay", 3.0))]
    clock.advance(100)
    assert len(outputs.calls) == 3
    assert cues.status()["pending"] == 0


def test_scene_time_counts_from_the_given_origin(rig) -> None:
    clock, outputs, cues = rig
    cues.scene_entered([cue(1.0)], scene_t0_mono=999.5)  # the scene started half a second ago
    clock.advance(0.5)
    assert outputs.calls == [(0.5, "pulse", ("threat_relay", 1.0))]


def test_pausing_holds_cues_and_cuts_running_pulses_which_resume_for_their_rest(rig) -> None:
    clock, outputs, cues = rig
    cues.scene_entered([cue(1.0, duration_s=2.0), cue(4.0, "lights")])
    clock.advance(2.0)  # relay on since 1.0, 1 s left
    cues.paused()
    assert outputs.calls[-1] == (2.0, "set", ("threat_relay", False))
    assert cues.status()["active"] == []
    clock.advance(10.0)  # nothing fires while paused
    assert len(outputs.calls) == 2
    assert cues.scene_time() == pytest.approx(2.0)
    cues.resumed()
    assert outputs.calls[-1] == (12.0, "pulse", ("threat_relay", 1.0))  # the rest of its pulse
    assert cues.status()["active"] == ["threat_relay"]
    clock.advance(1.999)
    assert len(outputs.calls) == 3
    clock.advance(0.001)  # scene time 4.0 = 2 s after the resume
    assert outputs.calls[-1] == (14.0, "pulse", ("lights", 1.0))


def test_pause_and_resume_are_idempotent_and_accept_event_times(rig) -> None:
    clock, outputs, cues = rig
    cues.scene_entered([cue(3.0)])
    clock.advance(1.0)
    cues.paused(t_mono=1000.5)  # paused at the edge time, half a second ago
    cues.paused()
    clock.advance(2.0)
    cues.resumed(t_mono=1002.5)
    cues.resumed()
    assert cues.scene_time() == pytest.approx(1.0)  # 0.5 before the pause + 0.5 since 1002.5
    clock.advance(1.999)
    assert outputs.calls == []
    clock.advance(0.001)
    assert outputs.calls == [(5.0, "pulse", ("threat_relay", 1.0))]  # scene time 3.0


def test_entering_a_scene_drops_the_previous_cues_and_cuts_their_pulses(rig) -> None:
    clock, outputs, cues = rig
    cues.scene_entered([cue(0.5, duration_s=5.0), cue(3.0, "lights")])
    clock.advance(1.0)
    cues.scene_entered([cue(1.0, "lights", 0.2)])
    assert outputs.calls == [(0.5, "pulse", ("threat_relay", 5.0)), (1.0, "set", ("threat_relay", False))]
    clock.advance(5.0)
    assert outputs.calls[2:] == [(2.0, "pulse", ("lights", 0.2))]  # the old 3.0 cue never fires


def test_a_finished_pulse_is_not_cut_again(rig) -> None:
    clock, outputs, cues = rig
    cues.scene_entered([cue(0.0, duration_s=0.5)])
    clock.advance(1.0)
    cues.paused()
    cues.resumed()
    cues.scene_entered([])
    assert [c[1] for c in outputs.calls] == ["pulse"]


def test_segment_start_moves_the_scene_origin_for_cues_still_to_come(rig) -> None:
    clock, outputs, cues = rig
    cues.scene_entered([cue(1.0)])
    clock.advance(0.2)
    cues.segment_started(1000.2)  # the picture started 0.2 s after the scene was entered
    clock.advance(0.8)
    assert outputs.calls == []
    clock.advance(0.2)
    assert outputs.calls == [(1.2, "pulse", ("threat_relay", 1.0))]


def test_a_cue_whose_moment_passed_fires_for_the_rest_or_not_at_all(rig) -> None:
    _, outputs, cues = rig
    cues.scene_entered([cue(1.0, duration_s=2.0), cue(0.5, "lights", 0.5)], scene_t0_mono=998.5)
    assert outputs.calls == [(0.0, "pulse", ("threat_relay", 1.5))]  # scene time 1.5: 1.5 s left
    assert cues.status()["pending"] == 0  # the lights cue had ended before it could fire


def test_stopped_drops_cues_and_makes_every_output_safe(rig) -> None:
    clock, outputs, cues = rig
    cues.scene_entered([cue(0.0), cue(5.0)])
    cues.stopped()
    assert outputs.calls[-1] == (0.0, "all_safe", ())
    clock.advance(10.0)
    assert len(outputs.calls) == 2


def test_emergency_stop_makes_outputs_safe_and_no_cue_of_the_scene_fires_again(rig) -> None:
    clock, outputs, cues = rig
    cues.scene_entered([cue(1.0, duration_s=5.0), cue(3.0, "lights")])
    clock.advance(2.0)
    cues.emergency_stop()
    assert outputs.calls[-1] == (2.0, "all_safe", ())
    assert cues.status()["emergency_stopped"] is True
    cues.resumed()  # even if the session is resumed
    clock.advance(10.0)
    assert [c[1] for c in outputs.calls] == ["pulse", "all_safe"]
    cues.scene_entered([cue(0.0, "lights")])  # a new scene arms cues again
    assert outputs.calls[-1] == (12.0, "pulse", ("lights", 1.0))
    assert cues.status()["emergency_stopped"] is False


def test_emergency_stop_while_paused(rig) -> None:
    clock, outputs, cues = rig
    cues.scene_entered([cue(1.0)])
    cues.paused()
    cues.emergency_stop()
    cues.resumed()
    clock.advance(5.0)
    assert [c[1] for c in outputs.calls] == ["all_safe"]


def test_failing_outputs_are_logged_not_raised(caplog) -> None:
    clock = FakeClock(1000.0)
    cues = CueScheduler(FakeOutputs(clock, fail=True), clock)
    cues.scene_entered([cue(0.0)])
    cues.stopped()
    assert "cue output call pulse" in caplog.text and "all_safe" in caplog.text


def test_without_outputs_cues_are_skipped() -> None:
    clock = FakeClock(1000.0)
    cues = CueScheduler(None, clock)
    cues.scene_entered([cue(0.0), cue(1.0)])
    clock.advance(2.0)
    cues.emergency_stop()
    assert cues.status()["pending"] == 0


def test_status_reports_what_is_pending_and_active(rig) -> None:
    clock, _, cues = rig
    cues.scene_entered([cue(1.0, duration_s=2.0), cue(4.0, "lights")])
    assert cues.status() == {"pending": 2, "active": [], "next_at_s": 1.0, "emergency_stopped": False}
    clock.advance(1.5)
    assert cues.status() == {
        "pending": 1,
        "active": ["threat_relay"],
        "next_at_s": 4.0,
        "emergency_stopped": False,
    }


# -- the manifest's cues -----------------------------------------------------------------------


def manifest_with(cues: list[dict[str, Any]]) -> tuple[Any, list[Any]]:
    data = copy.deepcopy(TEST_SCENARIO)
    data["scenes"]["intro"]["cues"] = cues  # intro is 5 s of scene time
    return manifest_from_bytes(json.dumps(data).encode(), "manifest.json")


def test_cues_are_read_from_the_manifest() -> None:
    manifest, problems = manifest_with([{"at_s": 1.5, "output": "threat_relay", "duration_s": 0.5}])
    assert problems == []
    assert manifest.scenes["intro"].cues == [Cue(at_s=1.5, output="threat_relay", duration_s=0.5)]
    assert manifest.scenes["calm"].cues == []


@pytest.mark.parametrize(
    "item, where, message",
    [
        ({"at_s": -1, "output": "lights", "duration_s": 1}, "cues[0].at_s", ">= 0"),
        ({"at_s": 1, "output": "lights", "duration_s": 0}, "cues[0].duration_s", "> 0"),
        ({"at_s": 1, "output": "lights", "duration_s": 10.5}, "cues[0].duration_s", "<= 10"),
        ({"at_s": 1, "output": "Lights!", "duration_s": 1}, "cues[0].output", "id"),
        ({"at_s": 1, "duration_s": 1}, "cues[0].output", ""),
        (
            {"at_s": 5, "output": "lights", "duration_s": 1},
            "scenes.intro",
            "cues[0].at_s: at or after the segment",
        ),
    ],
)
def test_bad_cues_are_named(item: dict[str, Any], where: str, message: str) -> None:
    manifest, problems = manifest_with([item])
    assert manifest is None
    assert any(where in str(p) and message in str(p) for p in problems), problems


def test_cue_problems_name_outputs_the_box_does_not_have() -> None:
    manifest, _ = manifest_with(
        [
            {"at_s": 1, "output": "threat_relay", "duration_s": 1},
            {"at_s": 2, "output": "smoke", "duration_s": 1},
        ]
    )
    assert cue_problems(manifest, ["threat_relay", "lights"]) == [
        "scenes.intro.cues[1].output: this box has no output 'smoke' (outputs: 'threat_relay', 'lights')"
    ]
    assert cue_problems(manifest, []) == [
        "scenes.intro.cues[0].output: this box has no output 'threat_relay' (outputs: none)",
        "scenes.intro.cues[1].output: this box has no output 'smoke' (outputs: none)",
    ]


def test_worker_outputs_queue_calls_in_order_on_the_device_worker() -> None:
    threads: list[str] = []

    class Outputs:
        def __init__(self) -> None:
            self.calls: list[tuple[Any, ...]] = []

        def _note(self, *call: Any) -> None:
            threads.append(threading.current_thread().name)
            self.calls.append(call)

        def pulse(self, name: str, seconds: float) -> None:
            self._note("pulse", name, seconds)

        def set(self, name: str, on: bool) -> None:
            self._note("set", name, on)

        def all_safe(self) -> None:
            self._note("all_safe")

    outputs = Outputs()
    worker = DeviceWorker("gpio")
    queued = WorkerOutputs(outputs, worker)
    queued.pulse("lights", 1.0)
    queued.set("lights", False)
    queued.all_safe().result(timeout=2)
    worker.shutdown()
    assert outputs.calls == [("pulse", "lights", 1.0), ("set", "lights", False), ("all_safe",)]
    assert all(name.startswith("dev-gpio") for name in threads)
