"""Controller transitions on a fake clock, with the SimPlayer driven tick by tick."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.clock import FakeClock
from appliance.controller import Controller
from appliance.device_worker import DeviceWorker
from appliance.errors import InvalidTransition, NotFound
from appliance.events import EventBus
from appliance.records import Records
from appliance.scenario.library import ScenarioLibrary
from hardware.events import HitDetected, InputChanged
from hardware.player.sim import SimPlayer

pytestmark = pytest.mark.anyio


@dataclass
class Rig:
    controller: Controller
    clock: FakeClock
    player: SimPlayer
    worker: DeviceWorker
    bus: EventBus
    records: Records

    async def settle(self) -> None:
        """Let player commands, thread-safe events and controller tasks all run."""
        loop = asyncio.get_running_loop()
        for _ in range(6):
            await loop.run_in_executor(None, self.worker.submit(lambda: None).result)
            for _ in range(5):
                await asyncio.sleep(0)
            await self.records._run(lambda db: None)  # the records thread has finished its writes
            for _ in range(5):
                await asyncio.sleep(0)

    async def advance(self, seconds: float, step: float = 0.25) -> None:
        remaining = seconds
        while remaining > 1e-9:
            dt = min(step, remaining)
            self.clock.advance(dt)
            self.player.tick()
            remaining -= dt
            await self.settle()

    def kinds(self) -> list[str]:
        assert self.controller.live is not None
        return [e.kind for e in self.controller.live.events]


@pytest.fixture
async def rig(tmp_path: Path, test_scenario_library: Path) -> AsyncIterator[Rig]:
    loop = asyncio.get_running_loop()
    bus = EventBus(loop)
    clock = FakeClock()
    player = SimPlayer(bus.publish_threadsafe, clock=clock.monotonic, auto_tick=False)
    player.open()
    worker = DeviceWorker("player")
    records = Records(tmp_path / "records.sqlite3")
    await records.open()
    library = ScenarioLibrary(test_scenario_library, tmp_path / "cache")
    library.scan()
    controller = Controller(
        library=library, records=records, player=player, player_worker=worker, bus=bus, clock=clock
    )
    rig = Rig(controller, clock, player, worker, bus, records)
    yield rig
    worker.shutdown()
    player.close()
    await records.close()


async def start(rig: Rig) -> str:
    row = await rig.controller.start_session("triage-desk", ["Avery Nurse"], "Sgt Lee")
    await rig.settle()
    return row.id


async def test_start_plays_the_first_scene(rig: Rig) -> None:
    sid = await start(rig)
    assert rig.controller.live is not None and rig.controller.live.scene_id == "intro"
    assert rig.player.state == "playing"
    assert rig.kinds() == ["session_started", "scene_entered"]
    snap = rig.controller.snapshot()
    assert snap["session"]["id"] == sid
    assert [c["id"] for c in snap["scene"]["choices"]] == ["calms", "escalates"]
    assert snap["scene"]["choices"][0]["colour"] == "#2e7d32"


async def test_instructor_branch_then_outcome_ends_session(rig: Rig) -> None:
    sid = await start(rig)
    await rig.controller.branch(sid, "calms")
    await rig.settle()
    live = rig.controller.live
    assert live is not None and live.scene_id == "calm"
    branch = next(e for e in live.events if e.kind == "branch")
    assert branch.actor == "instructor" and branch.data["to"] == "calm" and branch.data["choice"] == "calms"
    await rig.advance(3.1)
    assert live.status == "ended" and live.outcome == "resolved"
    assert rig.kinds()[-1] == "session_ended"
    assert rig.player.state == "idle"
    stored = await rig.records.get_session(sid)
    assert stored.status == "ended" and stored.outcome == "resolved"


async def test_unknown_choice_and_unknown_session_are_refused(rig: Rig) -> None:
    sid = await start(rig)
    with pytest.raises(InvalidTransition, match="no choice 'nope'"):
        await rig.controller.branch(sid, "nope")
    with pytest.raises(NotFound):
        await rig.controller.branch("no-such-session", "calms")
    with pytest.raises(InvalidTransition, match="still running"):
        await rig.controller.start_session("triage-desk", ["B"])


async def test_on_end_transition_is_recorded_as_segment_end(rig: Rig) -> None:
    sid = await start(rig)
    await rig.controller.branch(sid, "escalates")
    await rig.advance(4.1)
    live = rig.controller.live
    assert live is not None and live.scene_id == "assault"
    auto = [e for e in live.events if e.kind == "branch" and e.actor == "segment_end"]
    assert auto and auto[0].data == {"from": "angry", "to": "assault", "how": "on_end"}


async def test_timeout_fires_after_scene_time_excluding_pauses(rig: Rig) -> None:
    sid = await start(rig)
    # intro's segment is 5 s and holds; the 20 s timeout counts scene time, not pauses.
    await rig.advance(6)
    live = rig.controller.live
    assert live is not None and live.held
    await rig.controller.pause(sid)
    await rig.advance(30)
    assert live.scene_id == "intro", "a paused scene must not time out"
    await rig.controller.resume(sid)
    await rig.advance(13.5)
    assert live.scene_id == "intro"
    await rig.advance(1.0)
    assert live.scene_id == "angry"
    timeout = [e for e in live.events if e.kind == "branch" and e.actor == "timeout"]
    assert len(timeout) == 1


async def test_pause_twice_and_resume_unpaused_are_conflicts(rig: Rig) -> None:
    sid = await start(rig)
    with pytest.raises(InvalidTransition):
        await rig.controller.resume(sid)
    await rig.controller.pause(sid)
    assert rig.player.state == "paused"
    with pytest.raises(InvalidTransition):
        await rig.controller.pause(sid)
    await rig.controller.resume(sid)
    await rig.settle()
    assert rig.player.state == "playing"


async def test_hit_in_threat_zone_inside_its_window_branches(rig: Rig) -> None:
    await start(rig)
    live = rig.controller.live
    assert live is not None
    # Before the zone opens (from_s = 1): recorded, no zone, no branch.
    rig.bus.publish(HitDetected(0.5, 0.5, rig.clock.monotonic() + 0.0, source="test"))
    await rig.settle()
    first = live.events[-1]
    assert first.kind == "hit" and first.data["zones"] == [] and live.scene_id == "intro"
    await rig.advance(2)
    rig.bus.publish(HitDetected(0.1, 0.5, rig.clock.monotonic(), source="test"))
    await rig.settle()
    assert live.events[-1].data["zones"] == [{"id": "bystander", "kind": "no-shoot"}]
    assert live.scene_id == "intro"
    rig.bus.publish(HitDetected(0.5, 0.5, rig.clock.monotonic(), source="test"))
    await rig.settle()
    assert live.scene_id == "down"
    hit_branch = [e for e in live.events if e.kind == "branch" and e.actor == "hit"]
    assert hit_branch[0].data["zone"] == "threat"


async def test_hit_time_is_the_source_timestamp_not_handling_time(rig: Rig) -> None:
    await start(rig)
    await rig.advance(4.5)  # zone closed at 4 s
    live = rig.controller.live
    assert live is not None
    # A hit stamped at 3.5 s of scene time by the camera, handled later, still counts.
    rig.bus.publish(HitDetected(0.5, 0.5, live.scene_started_mono + 3.5, source="test"))
    await rig.settle()
    assert live.scene_id == "down"


async def test_pedal_toggles_pause_and_branch_inputs_pick_choices(rig: Rig) -> None:
    sid = await start(rig)
    live = rig.controller.live
    assert live is not None
    rig.bus.publish(InputChanged("pedal", True, rig.clock.monotonic()))
    await rig.settle()
    assert live.status == "paused"
    paused = live.events[-1]
    assert paused.kind == "paused" and paused.actor == "input" and paused.data == {"input": "pedal"}
    rig.bus.publish(InputChanged("pedal", False, rig.clock.monotonic()))
    rig.bus.publish(InputChanged("pedal", True, rig.clock.monotonic()))
    await rig.settle()
    assert live.status == "running"
    rig.bus.publish(InputChanged("branch1", True, rig.clock.monotonic()))
    await rig.settle()
    assert live.scene_id == "calm"
    assert any(e.kind == "branch" and e.actor == "input" and e.data["choice"] == "calms" for e in live.events)
    await rig.controller.end(sid)


async def test_scene_on_input_rule_wins(rig: Rig) -> None:
    await start(rig)
    rig.bus.publish(InputChanged("trigger", True, rig.clock.monotonic()))
    await rig.settle()
    assert rig.controller.live is not None and rig.controller.live.scene_id == "angry"


async def test_replay_restart_flag_and_end(rig: Rig) -> None:
    sid = await start(rig)
    await rig.controller.branch(sid, "escalates")
    await rig.advance(1)
    await rig.controller.replay(sid)
    await rig.settle()
    live = rig.controller.live
    assert live is not None and live.scene_id == "angry"
    assert live.scene_time(rig.clock.monotonic()) < 0.01
    flag = await rig.controller.flag(sid, "good distance")
    assert flag.data["note"] == "good distance"
    await rig.controller.restart(sid)
    await rig.settle()
    assert live.scene_id == "intro"
    assert live.path == ["intro", "angry", "angry", "intro"]
    await rig.controller.end(sid)
    with pytest.raises(InvalidTransition, match="ended"):
        await rig.controller.flag(sid, "late")
    recorded = await rig.records.events(sid)
    assert [e.kind for e in recorded] == rig.kinds()
    assert [e.seq for e in recorded] == list(range(1, len(recorded) + 1))
    assert all(b.t_wall >= a.t_wall for a, b in itertools.pairwise(recorded))


async def test_stale_segment_end_after_a_branch_is_ignored(rig: Rig) -> None:
    sid = await start(rig)
    old_token = rig.controller.live.token if rig.controller.live else 0
    await rig.controller.branch(sid, "escalates")
    from hardware.events import SegmentEnded

    rig.bus.publish(SegmentEnded(old_token, rig.clock.monotonic()))
    await rig.settle()
    assert rig.controller.live is not None and rig.controller.live.scene_id == "angry"


async def test_threat_cue_is_recorded_when_the_threat_zone_opens_in_scene_time(rig: Rig) -> None:
    sid = await start(rig)
    live = rig.controller.live
    assert live is not None
    await rig.advance(0.5)
    await rig.controller.pause(sid)
    await rig.advance(10)
    assert "threat_cue" not in rig.kinds(), "the cue waits while paused"
    await rig.controller.resume(sid)
    await rig.advance(0.75)
    cues = [e for e in live.events if e.kind == "threat_cue"]
    assert len(cues) == 1 and cues[0].data == {"zones": ["torso"], "scene_t": 1.0}
    assert live.scene_time(cues[0].t_mono) == pytest.approx(1.0, abs=1e-6)
    await rig.controller.pause(sid)
    await rig.controller.resume(sid)
    await rig.advance(2)
    assert rig.kinds().count("threat_cue") == 1, "a cue fires once per scene"


async def test_an_input_action_is_recorded_at_the_edge_time(rig: Rig) -> None:
    await start(rig)
    live = rig.controller.live
    assert live is not None
    edge = rig.clock.monotonic() - 0.25  # the pin changed a while before the loop got to it
    rig.bus.publish(InputChanged("pedal", True, edge))
    await rig.settle()
    paused = live.events[-1]
    assert paused.kind == "paused" and paused.t_mono == edge
