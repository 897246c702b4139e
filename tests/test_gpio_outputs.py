"""GPIO outputs over gpiozero's MockFactory (read back from the mock pins), the status light,
and the outputs part of the GPIO settings."""

from __future__ import annotations

import threading
import time

import pytest

from appliance.settings import GpioSettings, Settings
from hardware.gpio.outputs import MAX_PULSE_S, GpioOutputs, OutputPin, StatusLight
from hardware.gpio.sim import SimGpio

OUTPUTS = [
    OutputPin("threat_relay", 23),
    OutputPin("lights", 24, active_high=False),
    OutputPin("status_led", 25),
]


@pytest.fixture
def rig():
    sim = SimGpio([], OUTPUTS)
    outputs = GpioOutputs(OUTPUTS, sim.factory)
    outputs.open()
    yield sim, outputs
    outputs.close()


def wait_until(predicate, timeout: float = 2.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.002)
    return predicate()


def test_every_output_starts_off_at_its_safe_level(rig) -> None:
    sim, outputs = rig
    assert outputs.states() == {"threat_relay": False, "lights": False, "status_led": False}
    assert sim.outputs_on() == {"threat_relay": False, "lights": False, "status_led": False}
    assert sim.output_pin("threat_relay").state in (0, False)  # active high: off = low
    assert sim.output_pin("lights").state in (1, True)  # active low: off = high
    assert outputs.modes() == {"threat_relay": "off", "lights": "off", "status_led": "off"}


def test_set_drives_the_pin_with_active_high_or_low(rig) -> None:
    sim, outputs = rig
    outputs.set("threat_relay", True)
    outputs.set("lights", True)
    assert sim.output_pin("threat_relay").state in (1, True)
    assert sim.output_pin("lights").state in (0, False)
    assert sim.outputs_on() == {"threat_relay": True, "lights": True, "status_led": False}
    assert outputs.states() == sim.outputs_on()
    assert outputs.modes()["lights"] == "on"
    outputs.set("lights", False)
    assert sim.output_on("lights") is False


def test_pulse_returns_at_once_and_ends_on_time(rig) -> None:
    sim, outputs = rig
    start = time.monotonic()
    outputs.pulse("threat_relay", 0.1)
    assert time.monotonic() - start < 0.02  # never blocks the caller
    assert sim.output_on("threat_relay") and outputs.modes()["threat_relay"] == "pulse"
    assert wait_until(lambda: not sim.output_on("threat_relay"))
    took = time.monotonic() - start
    assert 0.1 <= took < 0.3
    changes = sim.output_changes("threat_relay")
    assert [on for _, on in changes] == [False, True, False]
    assert changes[-1][0] == pytest.approx(0.1, abs=0.08)  # on for the pulse's length
    assert outputs.modes()["threat_relay"] == "off"


def test_a_new_pulse_extends_and_a_shorter_one_does_not_cut(rig) -> None:
    sim, outputs = rig
    start = time.monotonic()
    outputs.pulse("threat_relay", 0.1)
    time.sleep(0.05)
    outputs.pulse("threat_relay", 0.3)  # ends at ~0.35
    outputs.pulse("threat_relay", 0.01)  # shorter: the later end stays
    time.sleep(0.15)
    assert sim.output_on("threat_relay")  # the first pulse alone would have ended at 0.1
    assert wait_until(lambda: not sim.output_on("threat_relay"))
    assert 0.34 <= time.monotonic() - start < 0.6
    assert [on for _, on in sim.output_changes("threat_relay")] == [False, True, False]  # one pulse


def test_pulses_of_different_outputs_are_independent(rig) -> None:
    sim, outputs = rig
    outputs.pulse("threat_relay", 0.05)
    outputs.pulse("lights", 0.2)
    assert wait_until(lambda: not sim.output_on("threat_relay"))
    assert sim.output_on("lights")
    assert wait_until(lambda: not sim.output_on("lights"))


def test_set_replaces_a_running_pulse(rig) -> None:
    sim, outputs = rig
    outputs.pulse("threat_relay", 0.05)
    outputs.set("threat_relay", True)  # steady on from now: the pulse's end no longer applies
    time.sleep(0.1)
    assert sim.output_on("threat_relay")
    outputs.set("threat_relay", False)
    assert not sim.output_on("threat_relay")


def test_all_safe_ends_steady_pulsing_and_blinking_outputs(rig) -> None:
    sim, outputs = rig
    outputs.set("lights", True)
    outputs.pulse("threat_relay", 5.0)
    outputs.blink("status_led", 0.01, 0.01)
    time.sleep(0.03)
    outputs.all_safe()
    assert sim.outputs_on() == {"threat_relay": False, "lights": False, "status_led": False}
    assert set(outputs.modes().values()) == {"off"}
    time.sleep(0.05)  # the blink thread is gone and the pulse will not come back
    assert sim.outputs_on() == {"threat_relay": False, "lights": False, "status_led": False}


def test_close_leaves_every_output_safe_and_releases_the_pins() -> None:
    sim = SimGpio([], OUTPUTS)
    outputs = GpioOutputs(OUTPUTS, sim.factory)
    outputs.open()
    outputs.set("lights", True)
    outputs.pulse("threat_relay", 5.0)
    outputs.blink("status_led", 0.01, 0.01)
    outputs.close()
    outputs.close()  # twice is fine
    assert sim.outputs_on() == {"threat_relay": False, "lights": False, "status_led": False}
    assert outputs.states() == {} and not outputs.is_open
    with pytest.raises(RuntimeError, match="not open"):
        outputs.set("lights", True)
    again = GpioOutputs(OUTPUTS, sim.factory)  # the pins are free for another owner
    again.open()
    again.close()
    outputs.open()  # and for the same one
    outputs.pulse("threat_relay", 0.02)
    assert wait_until(lambda: not sim.output_on("threat_relay"))
    outputs.close()


def test_unknown_output_and_bad_pulses_are_refused(rig) -> None:
    _, outputs = rig
    with pytest.raises(KeyError, match=r"'smoke'.*'threat_relay', 'lights', 'status_led'"):
        outputs.pulse("smoke", 1.0)
    for bad in (0, -1.0, float("nan"), float("inf"), MAX_PULSE_S + 1):
        with pytest.raises(ValueError, match="seconds"):
            outputs.pulse("threat_relay", bad)
    with pytest.raises(ValueError):
        outputs.blink("status_led", 0, 1)


def test_duplicate_names_or_pins_are_refused_naming_them() -> None:
    pins = [OutputPin("lights", 24), OutputPin("lights", 25)]
    with pytest.raises(ValueError, match=r"output name 'lights' is used 2 times \(GPIO24, GPIO25\)"):
        GpioOutputs(pins, SimGpio([]).factory).open()
    pins = [OutputPin("lights", 24), OutputPin("relay", 24)]
    with pytest.raises(ValueError, match=r"GPIO24 is assigned to several outputs \('lights', 'relay'\)"):
        GpioOutputs(pins, SimGpio([]).factory).open()


def test_bad_pin_leaves_nothing_claimed() -> None:
    sim = SimGpio([])
    outputs = GpioOutputs([OutputPin("lights", 24), OutputPin("ghost", 99)], sim.factory)
    with pytest.raises(ValueError):  # gpiozero's PinInvalidPin is a ValueError
        outputs.open()
    assert not outputs.is_open
    again = GpioOutputs([OutputPin("lights", 24)], sim.factory)
    again.open()  # GPIO24 was released
    again.close()


def test_output_pin_validation() -> None:
    with pytest.raises(ValueError):
        OutputPin("", 23)
    with pytest.raises(ValueError):
        OutputPin("relay", -1)


def test_calls_from_many_threads_leave_a_consistent_state(rig) -> None:
    sim, outputs = rig

    def hammer() -> None:
        for i in range(50):
            outputs.pulse("threat_relay", 0.01)
            outputs.set("lights", i % 2 == 0)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outputs.all_safe()
    assert sim.outputs_on() == {"threat_relay": False, "lights": False, "status_led": False}


def test_describe_gives_the_health_view(rig) -> None:
    _, outputs = rig
    outputs.pulse("threat_relay", 1.0)
    assert outputs.describe() == [
        {"name": "threat_relay", "pin": 23, "active_high": True, "on": True, "mode": "pulse"},
        {"name": "lights", "pin": 24, "active_high": False, "on": False, "mode": "off"},
        {"name": "status_led", "pin": 25, "active_high": True, "on": False, "mode": "off"},
    ]


# -- status light ------------------------------------------------------------------------------


def test_status_light_patterns(rig) -> None:
    sim, outputs = rig
    light = StatusLight(outputs, "status_led")
    assert set(StatusLight.PATTERNS) == {"idle", "session", "fault", "off"}
    light.show("session")
    assert sim.output_on("status_led") and outputs.modes()["status_led"] == "on"
    light.show("fault")  # fast blink: several changes in 0.6 s
    assert outputs.modes()["status_led"] == "blink"
    sim.output_pin("status_led").clear_states()
    time.sleep(0.6)
    assert len(sim.output_changes("status_led")) >= 4
    light.show("idle")  # slow blink: on for a second, then off
    assert light.pattern == "idle"
    sim.output_pin("status_led").clear_states()
    time.sleep(0.3)
    assert len(sim.output_changes("status_led")) <= 2
    light.show("off")
    assert not sim.output_on("status_led")
    with pytest.raises(ValueError, match="unknown status pattern"):
        light.show("disco")
    with pytest.raises(KeyError, match="status light"):
        StatusLight(outputs, "nope")


# -- settings ----------------------------------------------------------------------------------


def test_default_outputs_and_their_pins() -> None:
    gpio = GpioSettings()
    assert [(o.name, o.pin, o.active_high) for o in gpio.outputs] == [
        ("threat_relay", 23, True),
        ("lights", 24, True),
        ("status_led", 25, True),
    ]
    assert gpio.status_output_name == "status_led"
    assert gpio.output_pins() == [
        OutputPin("threat_relay", 23),
        OutputPin("lights", 24),
        OutputPin("status_led", 25),
    ]


def test_an_input_and_an_output_on_one_pin_is_refused_with_both_named() -> None:
    with pytest.raises(
        ValueError, match=r"outputs\[1\] 'lights' uses pin 17 already used by inputs\[0\] 'pedal'"
    ):
        Settings.model_validate(
            {"gpio": {"outputs": [{"name": "relay", "pin": 23}, {"name": "lights", "pin": 17}]}}
        )


def test_an_output_named_like_an_input_is_refused() -> None:
    with pytest.raises(ValueError, match=r"outputs\[0\] uses name 'pedal' already used by inputs\[0\]"):
        GpioSettings.model_validate({"outputs": [{"name": "pedal", "pin": 23}]})


def test_duplicate_outputs_are_refused() -> None:
    with pytest.raises(ValueError, match=r"outputs\[1\] uses pin 23 already used by outputs\[0\]"):
        GpioSettings.model_validate({"outputs": [{"name": "a", "pin": 23}, {"name": "b", "pin": 23}]})


def test_status_output_must_name_an_output_only_when_set() -> None:
    assert GpioSettings.model_validate({"outputs": []}).status_output_name is None  # default: unused
    with pytest.raises(ValueError, match=r"status_output 'led' is not an output \(outputs: 'relay'\)"):
        GpioSettings.model_validate({"outputs": [{"name": "relay", "pin": 23}], "status_output": "led"})
    assert GpioSettings.model_validate({"status_output": None}).status_output_name is None
