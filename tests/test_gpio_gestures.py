"""Hold and double-press gestures: the pure detector on plain edge times (a fake clock), the
real path over gpiozero's MockFactory, and the gesture and action part of the GPIO settings."""

from __future__ import annotations

import time

import pytest
from event_recorder import Recorder

from appliance.settings import DEFAULT_ACTIONS, GpioSettings, InputSettings
from hardware.events import InputChanged, InputGesture
from hardware.gpio.inputs import GestureDetector, GpioInputs, InputPin
from hardware.gpio.sim import SimGpio


def gestures(events: list[InputGesture]) -> list[tuple[str, str, float]]:
    return [(g.name, g.gesture, round(g.t_mono, 6)) for g in events]


# -- GestureDetector: pure, every time an edge time ------------------------------------------------


def test_hold_is_due_hold_s_after_the_press_edge() -> None:
    det = GestureDetector({"pedal": 1.5}, {})
    assert det.change("pedal", True, 10.0) == []
    assert det.deadline("pedal") == 11.5
    assert det.due(11.49) == []
    assert gestures(det.due(11.5)) == [("pedal", "hold", 11.5)]  # stamped at press + hold_s
    assert det.due(12.0) == []  # reported once
    assert det.deadline("pedal") is None
    assert det.change("pedal", False, 13.0) == []  # the release adds nothing


def test_release_before_hold_s_is_no_hold() -> None:
    det = GestureDetector({"pedal": 1.0}, {})
    det.change("pedal", True, 10.0)
    assert det.change("pedal", False, 10.9) == []
    assert det.deadline("pedal") is None
    assert det.due(20.0) == []


def test_release_after_the_deadline_reports_a_hold_a_late_timer_missed() -> None:
    det = GestureDetector({"pedal": 1.0}, {})
    det.change("pedal", True, 10.0)
    assert gestures(det.change("pedal", False, 11.2)) == [("pedal", "hold", 11.0)]
    assert det.due(12.0) == []


def test_every_press_can_become_a_hold() -> None:
    det = GestureDetector({"pedal": 1.0}, {})
    det.change("pedal", True, 10.0)
    assert len(det.due(11.0)) == 1
    det.change("pedal", False, 11.5)
    det.change("pedal", True, 12.0)
    assert gestures(det.due(13.0)) == [("pedal", "hold", 13.0)]


def test_double_press_within_the_window_edge_to_edge() -> None:
    det = GestureDetector({}, {"branch1": 0.4})
    assert det.change("branch1", True, 10.0) == []
    assert det.change("branch1", False, 10.1) == []
    assert gestures(det.change("branch1", True, 10.4)) == [
        ("branch1", "double", 10.4)
    ]  # at the window: counts


def test_presses_too_far_apart_are_no_double_and_the_later_one_starts_a_pair() -> None:
    det = GestureDetector({}, {"branch1": 0.4})
    det.change("branch1", True, 10.0)
    det.change("branch1", False, 10.1)
    assert det.change("branch1", True, 10.5) == []
    det.change("branch1", False, 10.6)
    assert gestures(det.change("branch1", True, 10.8)) == [("branch1", "double", 10.8)]


def test_a_triple_press_is_one_double_and_a_new_first_press() -> None:
    det = GestureDetector({}, {"pedal": 0.5})
    out = []
    for t in (10.0, 10.2, 10.4):
        out += det.change("pedal", True, t)
        det.change("pedal", False, t + 0.05)
    assert gestures(out) == [("pedal", "double", 10.2)]
    assert gestures(det.change("pedal", True, 10.6)) == [("pedal", "double", 10.6)]  # pairs with 10.4


def test_a_hold_does_not_start_a_double() -> None:
    det = GestureDetector({"pedal": 0.3}, {"pedal": 0.5})
    det.change("pedal", True, 10.0)
    assert gestures(det.due(10.3)) == [("pedal", "hold", 10.3)]
    det.change("pedal", False, 10.35)
    assert det.change("pedal", True, 10.45) == []  # within 0.5 of the press, but that was a hold


def test_inputs_are_independent_and_unconfigured_ones_have_no_gestures() -> None:
    det = GestureDetector({"pedal": 1.0}, {"branch1": 0.5})
    det.change("pedal", True, 10.0)
    det.change("branch1", True, 10.1)
    det.change("trigger", True, 10.1)
    det.change("trigger", False, 10.2)
    assert det.change("trigger", True, 10.3) == []  # no double_press_s for the trigger
    assert det.deadline("trigger") is None and det.deadline("branch1") is None
    assert gestures(det.due(11.0)) == [("pedal", "hold", 11.0)]
    det.reset()
    assert det.change("branch1", True, 10.2) == []  # the first press was forgotten


def test_due_reports_several_holds_in_deadline_order() -> None:
    det = GestureDetector({"a": 2.0, "b": 1.0}, {})
    det.change("a", True, 10.0)
    det.change("b", True, 10.5)
    assert gestures(det.due(12.5)) == [("b", "hold", 11.5), ("a", "hold", 12.0)]


# -- GpioInputs over MockFactory ----------------------------------------------------------------


PINS = [
    InputPin("pedal", 17, bounce_s=0.0, hold_s=0.15),
    InputPin("branch1", 5, bounce_s=0.0, double_press_s=0.3),
    InputPin("trigger", 27, bounce_s=0.0),
]


@pytest.fixture
def rig():
    sim = SimGpio(PINS)
    rec = Recorder()
    inputs = GpioInputs(PINS, rec, sim.factory)
    inputs.open()
    yield sim, inputs, rec
    inputs.close()


def test_holding_reports_a_hold_after_the_press_from_a_timer(rig) -> None:
    sim, _, rec = rig
    sim.drive("pedal", True)
    press = next(e for e in rec.events if isinstance(e, InputChanged))
    assert rec.gestures() == []
    assert rec.wait_gestures(1)
    hold = rec.gestures()[0]
    assert (hold.name, hold.gesture) == ("pedal", "hold")
    assert hold.t_mono == pytest.approx(press.t_mono + 0.15)  # the edge time + hold_s
    assert time.monotonic() >= hold.t_mono
    sim.drive("pedal", False)
    assert [type(e).__name__ for e in rec.events] == ["InputChanged", "InputGesture", "InputChanged"]


def test_a_short_press_is_no_hold(rig) -> None:
    sim, _, rec = rig
    sim.drive("pedal", True)
    sim.drive("pedal", False)
    sim.drive("pedal", True)  # pressed again: its own hold, timed from this press
    time.sleep(0.03)
    sim.drive("pedal", False)
    time.sleep(0.25)
    assert rec.gestures() == []


def test_a_hold_timer_replaced_by_a_new_press_still_reports_the_new_hold(rig) -> None:
    sim, _, rec = rig
    sim.drive("pedal", True)
    sim.drive("pedal", False)
    sim.drive("pedal", True)
    assert rec.wait_gestures(1)
    time.sleep(0.2)
    assert len(rec.gestures()) == 1


def test_double_press_reports_a_double_after_both_presses(rig) -> None:
    sim, _, rec = rig
    for _ in range(2):
        sim.drive("branch1", True)
        sim.drive("branch1", False)
    presses = [e for e in rec.events if isinstance(e, InputChanged) and e.pressed]
    assert len(presses) == 2  # both presses are still reported as they are
    (double,) = rec.gestures()
    assert (double.name, double.gesture, double.t_mono) == ("branch1", "double", presses[1].t_mono)
    assert rec.events.index(double) == rec.events.index(presses[1]) + 1


def test_inputs_without_gestures_report_only_changes(rig) -> None:
    sim, _, rec = rig
    for _ in range(3):
        sim.drive("trigger", True)
        sim.drive("trigger", False)
    time.sleep(0.1)
    assert rec.gestures() == [] and len(rec.events) == 6


def test_close_cancels_a_pending_hold() -> None:
    sim = SimGpio(PINS)
    rec = Recorder()
    inputs = GpioInputs(PINS, rec, sim.factory)
    inputs.open()
    sim.drive("pedal", True)
    inputs.close()
    time.sleep(0.25)
    assert rec.gestures() == []


def test_gesture_windows_are_validated() -> None:
    with pytest.raises(ValueError, match="hold_s"):
        InputPin("pedal", 17, hold_s=0)
    with pytest.raises(ValueError, match="double_press_s"):
        InputPin("pedal", 17, double_press_s=-1)


# -- settings: actions and gestures ------------------------------------------------------------


def test_default_inputs_and_actions() -> None:
    gpio = GpioSettings()
    assert [(i.name, i.pin, i.pull_up) for i in gpio.inputs] == [
        ("pedal", 17, True),
        ("trigger", 27, True),
        ("branch1", 5, True),
        ("branch2", 6, True),
        ("branch3", 13, True),
        ("branch4", 19, True),
        ("estop", 26, True),
    ]
    assert gpio.actions() == DEFAULT_ACTIONS
    assert gpio.actions()["estop"] == "emergency_stop" and gpio.actions()["pedal"] == "pause_toggle"
    assert all(p.hold_s is None and p.double_press_s is None for p in gpio.input_pins())


def test_actions_include_gestures_and_explicit_actions() -> None:
    gpio = GpioSettings.model_validate(
        {
            "inputs": [
                {"name": "pedal", "pin": 17, "hold_s": 2, "hold_action": "flag", "double_press_s": 0.4},
                {"name": "door", "pin": 22},
                {"name": "knob", "pin": 16, "action": "replay"},
                {"name": "trigger", "pin": 27, "action": "none"},
            ]
        }
    )
    assert gpio.actions() == {"pedal": "pause_toggle", "pedal:hold": "flag", "knob": "replay"}
    pedal = gpio.input_pins()[0]
    assert (pedal.hold_s, pedal.double_press_s, pedal.bounce_s) == (2, 0.4, 0.02)


@pytest.mark.parametrize(
    "item, message",
    [
        ({"hold_action": "flag"}, "hold_action needs hold_s"),
        ({"double_action": "replay"}, "double_action needs double_press_s"),
        ({"hold_s": 0.01}, r"hold_s \(0.01 s\) must be longer than bounce_s \(0.02 s\)"),
        ({"double_press_s": 3}, "less than or equal to 2"),
        ({"action": "explode"}, "pause_toggle"),
    ],
)
def test_gesture_settings_are_checked(item: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        InputSettings.model_validate({"name": "pedal", "pin": 17, **item})
