"""GPIO inputs: our debounce on a fake clock, and the real gpiozero path over MockFactory."""

from __future__ import annotations

import time

import pytest
from event_recorder import Recorder

from hardware.events import HardwareEvent
from hardware.gpio.inputs import Debouncer, GpioInputs, InputPin
from hardware.gpio.sim import SimGpio


class FakeClock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float) -> None:
        self.t += dt


PINS = [
    InputPin("pedal", 17, bounce_s=0.0),
    InputPin("trigger", 27, bounce_s=0.0),
    InputPin("branch1", 22, pull_up=False, bounce_s=0.0),
]


@pytest.fixture
def rig():
    sim = SimGpio(PINS)
    rec = Recorder()
    inputs = GpioInputs(PINS, rec, sim.factory)
    inputs.open()
    yield sim, inputs, rec
    inputs.close()


# -- Debouncer ------------------------------------------------------------------------------


def test_debouncer_ignores_edges_inside_the_window() -> None:
    clock = FakeClock()
    deb = Debouncer(0.02, clock)
    assert deb.accept("pedal")
    clock.advance(0.005)
    assert not deb.accept("pedal")
    clock.advance(0.010)  # 15 ms after the accepted edge: still bouncing
    assert not deb.accept("pedal")


def test_debouncer_accepts_after_the_window_measured_from_the_accepted_edge() -> None:
    clock = FakeClock()
    deb = Debouncer(0.02, clock)
    assert deb.accept("pedal")
    clock.advance(0.015)
    assert not deb.accept("pedal")  # ignored edges do not extend the window
    assert deb.remaining("pedal") == pytest.approx(0.005)
    clock.advance(0.005)
    assert deb.accept("pedal")
    assert deb.remaining("pedal") == pytest.approx(0.02)


def test_debouncer_keys_are_independent() -> None:
    clock = FakeClock()
    deb = Debouncer(0.02, clock, per_key={"slow": 0.5})
    assert deb.accept("pedal")
    assert deb.accept("trigger")  # same instant, other input
    clock.advance(0.001)
    assert not deb.accept("pedal")
    assert not deb.accept("trigger")
    assert deb.accept("slow")
    clock.advance(0.1)
    assert deb.accept("pedal")
    assert not deb.accept("slow")  # its own, longer window
    assert deb.window("slow") == 0.5 and deb.window("pedal") == 0.02


def test_debouncer_uses_the_given_edge_time_and_resets() -> None:
    deb = Debouncer(0.02, FakeClock(0.0))
    assert deb.accept("a", t=10.0)
    assert not deb.accept("a", t=10.019)
    assert deb.accept("a", t=10.02)
    deb.reset("a")
    assert deb.accept("a", t=10.021)
    with pytest.raises(ValueError):
        Debouncer(-0.1)


# -- GpioInputs over MockFactory --------------------------------------------------------------


def test_press_and_release_emit_in_order(rig) -> None:
    sim, inputs, rec = rig
    assert inputs.states() == {"pedal": False, "trigger": False, "branch1": False}
    before = time.monotonic()
    sim.drive("pedal", True)
    sim.drive("trigger", True)
    sim.drive("pedal", False)
    sim.drive("trigger", False)
    after = time.monotonic()
    assert rec.inputs() == [("pedal", True), ("trigger", True), ("pedal", False), ("trigger", False)]
    times = [e.t_mono for e in rec.events]
    assert times == sorted(times)
    assert before <= times[0] and times[-1] <= after
    assert inputs.states() == {"pedal": False, "trigger": False, "branch1": False}


def test_pull_up_input_is_pressed_when_low(rig) -> None:
    sim, inputs, _ = rig
    sim.drive("pedal", True)
    assert sim.pin("pedal").state in (False, 0)
    assert inputs.states()["pedal"] is True


def test_pull_down_input_is_pressed_when_high(rig) -> None:
    sim, inputs, rec = rig
    assert sim.pin("branch1").state in (False, 0)  # pulled down at rest
    sim.drive("branch1", True)
    assert sim.pin("branch1").state in (True, 1)
    assert inputs.states()["branch1"] is True
    sim.drive("branch1", False)
    assert rec.inputs() == [("branch1", True), ("branch1", False)]


def test_driving_the_same_level_twice_reports_once(rig) -> None:
    sim, _, rec = rig
    sim.drive("pedal", True)
    sim.drive("pedal", True)
    assert rec.inputs() == [("pedal", True)]


def test_unknown_input_name_lists_known_ones() -> None:
    sim = SimGpio(PINS)
    assert sim.names == ["pedal", "trigger", "branch1"]
    with pytest.raises(KeyError, match=r"'nope'.*'pedal', 'trigger', 'branch1'"):
        sim.drive("nope", True)


def test_bounce_inside_window_is_hidden_and_a_quick_tap_settles() -> None:
    pins = [InputPin("trigger", 27, bounce_s=0.05)]
    sim = SimGpio(pins)
    rec = Recorder()
    inputs = GpioInputs(pins, rec, sim.factory)
    inputs.open()
    try:
        sim.drive("trigger", True)
        for _ in range(3):  # contact bounce
            sim.drive("trigger", False)
            sim.drive("trigger", True)
        assert rec.inputs() == [("trigger", True)]
        released_at = time.monotonic()
        sim.drive("trigger", False)  # released inside the window: reported once it closes
        assert rec.wait_count(2, timeout=1.0)
        settled_at = time.monotonic()
        assert rec.inputs() == [("trigger", True), ("trigger", False)]
        assert settled_at - rec.events[0].t_mono >= 0.05  # not before the window closed...
        assert rec.events[0].t_mono < rec.events[1].t_mono <= released_at + 0.005  # ...stamped at the edge
        assert inputs.states() == {"trigger": False}
        time.sleep(0.1)
        assert len(rec.events) == 2
    finally:
        inputs.close()


def test_emit_failure_is_logged_not_raised(caplog) -> None:
    def broken(event: HardwareEvent) -> None:
        raise RuntimeError("bus gone")

    sim = SimGpio(PINS)
    inputs = GpioInputs(PINS, broken, sim.factory)
    inputs.open()
    try:
        sim.drive("pedal", True)  # must not raise into the driver
        assert "emit failed" in caplog.text
        assert inputs.states()["pedal"] is True
    finally:
        inputs.close()


def test_duplicate_names_are_refused() -> None:
    pins = [InputPin("pedal", 17), InputPin("pedal", 27)]
    inputs = GpioInputs(pins, Recorder(), SimGpio(pins).factory)
    with pytest.raises(ValueError, match=r"'pedal'.*GPIO17, GPIO27"):
        inputs.open()
    assert not inputs.is_open


def test_duplicate_pins_are_refused() -> None:
    pins = [InputPin("pedal", 17), InputPin("trigger", 17)]
    inputs = GpioInputs(pins, Recorder(), SimGpio(pins).factory)
    with pytest.raises(ValueError, match=r"GPIO17.*'pedal', 'trigger'"):
        inputs.open()


def test_bad_pin_leaves_nothing_claimed() -> None:
    pins = [InputPin("pedal", 17), InputPin("ghost", 99)]
    sim = SimGpio(pins)
    inputs = GpioInputs(pins, Recorder(), sim.factory)
    with pytest.raises(ValueError):  # gpiozero's PinInvalidPin is a ValueError
        inputs.open()
    assert inputs.states() == {}
    again = GpioInputs([InputPin("pedal", 17)], Recorder(), sim.factory)
    again.open()  # GPIO17 was released
    again.close()


def test_close_releases_pins_and_reopen_works() -> None:
    sim = SimGpio(PINS)
    rec = Recorder()
    inputs = GpioInputs(PINS, rec, sim.factory)
    inputs.open()
    with pytest.raises(RuntimeError):
        inputs.open()
    inputs.close()
    inputs.close()  # twice is fine
    assert inputs.states() == {}
    sim.drive("pedal", True)  # nobody listening
    assert rec.events == []

    other = GpioInputs(PINS, Recorder(), sim.factory)  # the pins are free for another owner
    other.open()
    other.close()

    inputs.open()
    sim.drive("pedal", False)
    sim.drive("pedal", True)
    assert rec.inputs() == [("pedal", True)]
    inputs.close()


def test_input_pin_validation() -> None:
    with pytest.raises(ValueError):
        InputPin("", 17)
    with pytest.raises(ValueError):
        InputPin("pedal", -1)
    with pytest.raises(ValueError):
        InputPin("pedal", 17, bounce_s=-0.01)
