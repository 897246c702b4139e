from __future__ import annotations

from appliance.input_actions import decide
from appliance.scenario.model import Scene

SCENE = Scene.model_validate(
    {
        "title": "Intro",
        "media": "m.mp4",
        "choices": [
            {"id": "calm", "label": "Calms", "goto": "calm", "kind": "de-escalate"},
            {"id": "esc", "label": "Escalates", "goto": "angry", "kind": "escalate"},
        ],
        "on_input": [{"input": "trigger", "goto": "down"}, {"input": "branch2", "goto": "special"}],
    }
)


def test_emergency_stop_and_pause_ignore_scene_rules() -> None:
    assert decide("emergency_stop", "estop", SCENE, "ended").emergency_stop
    assert decide("pause_toggle", "trigger", SCENE, "running").toggle_pause
    assert decide("pause_toggle", "pedal", SCENE, "paused").toggle_pause
    assert not decide("pause_toggle", "pedal", SCENE, "ended").does_anything


def test_scene_rule_wins_and_a_shot_is_still_recorded() -> None:
    shot = decide("shot", "trigger", SCENE, "running")
    assert shot.record_shot and shot.goto == "down" and shot.detail == {"how": "on_input", "input": "trigger"}
    assert decide("branch2", "branch2", SCENE, "running").goto == "special"
    paused = decide("shot", "trigger", SCENE, "paused")
    assert paused.record_shot and paused.goto is None


def test_branch_inputs_take_the_nth_choice_only_while_running() -> None:
    first = decide("branch1", "branch1", SCENE, "running")
    assert first.goto == "calm" and first.detail["choice"] == "calm" and first.detail["input"] == "branch1"
    assert decide("branch3", "branch3", SCENE, "running").goto is None
    assert decide("branch1", "branch1", SCENE, "paused").goto is None


def test_replay_flag_and_none() -> None:
    assert decide("replay", "b", SCENE, "running").replay
    assert not decide("replay", "b", SCENE, "paused").replay
    assert decide("flag", "b", SCENE, "paused").flag
    assert not decide("none", "doorbell", SCENE, "running").does_anything
