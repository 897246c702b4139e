"""open_hardware: the pieces of each mode work, and a missing device is a warning."""

from __future__ import annotations

import sys
import threading

import pytest
from event_recorder import Recorder
from gpiozero import Device

from hardware.backends import Hardware, open_gpio, open_hardware, pin_map_problems
from hardware.camera.base import Frame
from hardware.camera.runner import CameraRunner
from hardware.camera.sim import SimCamera
from hardware.events import HardwareEvent, HitDetected, InputChanged
from hardware.gpio.inputs import InputPin
from hardware.gpio.outputs import OutputPin

PINS = [InputPin("pedal", 17, bounce_s=0.0), InputPin("trigger", 27, bounce_s=0.0)]
NULL_OUTPUT = {"vo": "null", "ao": "null"}


@pytest.fixture
def sim_hw():
    rec = Recorder()
    hw = open_hardware("sim", emit=rec, input_pins=PINS, player_options=NULL_OUTPUT, player_kind="sim")
    yield hw, rec
    hw.close()


def test_sim_mode_gives_working_pieces(sim_hw) -> None:
    hw, rec = sim_hw
    assert hw.warnings == []
    assert hw.camera is not None and hw.camera.source is hw.sim_camera is not None
    assert hw.inputs is not None and hw.sim_gpio is not None
    assert hw.player is not None

    frame = hw.camera.grab(2.0)
    assert frame is not None and frame.image.shape == (480, 640, 3)
    hw.sim_camera.shoot(0.25, 0.75, color="green", frames=50)
    cx, cy = hw.sim_camera.video_to_camera(0.25, 0.75)
    for _ in range(10):
        shot = hw.camera.grab(2.0)
        assert shot is not None
        core = int(shot.image[round(cy), round(cx)].sum())
        halo = shot.image[round(cy), round(cx) + 2].astype(int)
        if core > 650 and halo[1] > halo[2] + 40:
            break
    else:
        raise AssertionError("the green spot never showed where the shot landed")

    hw.sim_gpio.drive("trigger", True)
    changes = rec.wait_kind(InputChanged)
    assert [(e.name, e.pressed) for e in changes] == [("trigger", True)]
    assert hw.inputs.states() == {"pedal": False, "trigger": True}


def test_hits_are_reported_from_the_camera_thread() -> None:
    threads: list[str] = []
    got = threading.Event()

    def emit(event: HardwareEvent) -> None:
        threads.append(threading.current_thread().name)
        got.set()

    def analyse(frame: Frame) -> list[HitDetected]:
        return [HitDetected(0.5, 0.5, frame.t_mono)] if frame.index == 3 else []

    runner = CameraRunner(SimCamera(fps=60), emit, analyse)
    runner.open()
    try:
        assert got.wait(2.0)
        assert threads == ["camera-sim-camera"]
    finally:
        runner.close()


@pytest.mark.parametrize("x, y", [(-0.01, 0.5), (0.5, 1.01), (float("nan"), 0.5), (0.5, float("inf"))])
def test_shot_outside_the_picture_is_refused(sim_hw, x: float, y: float) -> None:
    hw, _ = sim_hw
    with pytest.raises(ValueError):
        hw.sim_camera.shoot(x, y)


def test_closed_camera_sees_nothing(sim_hw) -> None:
    hw, _ = sim_hw
    hw.sim_camera.close()
    with pytest.raises(RuntimeError):
        hw.sim_camera.shoot(0.5, 0.5)


def test_unknown_mode_or_player_kind_raises() -> None:
    with pytest.raises(ValueError, match="mode"):
        open_hardware("mars", emit=Recorder(), input_pins=PINS, player_options={}, player_kind="sim")
    with pytest.raises(ValueError, match="player kind"):
        open_hardware("sim", emit=Recorder(), input_pins=PINS, player_options={}, player_kind="vlc")


def test_close_is_idempotent_and_releases_everything(sim_hw) -> None:
    hw, rec = sim_hw
    hw.close()
    hw.close()
    assert hw.inputs is not None and hw.inputs.states() == {}
    assert hw.sim_camera is not None and not hw.sim_camera.is_open
    hw.sim_gpio.drive("pedal", True)  # nobody listens any more
    assert not any(isinstance(e, InputChanged) for e in rec.events)


def test_bad_input_configuration_is_a_warning_not_a_crash() -> None:
    pins = [InputPin("pedal", 17), InputPin("trigger", 17)]
    hw = open_hardware("sim", emit=Recorder(), input_pins=pins, player_options={}, player_kind="sim")
    try:
        assert hw.inputs is None
        assert any("GPIO17" in w for w in hw.warnings)
        assert hw.camera is not None  # the rest is still there
    finally:
        hw.close()


def test_mpv_unavailable_falls_back_to_the_simulated_player(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "hardware.player.mpv_player", None)  # import fails
    hw = open_hardware("sim", emit=Recorder(), input_pins=PINS, player_options=NULL_OUTPUT)
    try:
        from hardware.player.sim import SimPlayer

        assert isinstance(hw.player, SimPlayer)
        assert any("simulated player" in w for w in hw.warnings)
    finally:
        hw.close()


def test_pi_mode_without_a_pin_factory_has_no_inputs(monkeypatch) -> None:
    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "no-such-factory")
    hw = open_hardware("pi", emit=Recorder(), input_pins=PINS, player_options={}, player_kind="sim")
    try:
        assert hw.inputs is None and hw.camera is None
        assert hw.sim_gpio is None and hw.sim_camera is None
        camera_warning = next(w for w in hw.warnings if w.startswith("no camera"))
        assert "picamera2" in camera_warning and "/dev/video0" in camera_warning
        assert any("pin factory" in w for w in hw.warnings)
    finally:
        hw.close()


def test_pi_mode_uses_gpiozeros_default_factory(monkeypatch) -> None:
    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")  # stands in for lgpio here
    rec = Recorder()
    hw: Hardware = open_hardware("pi", emit=rec, input_pins=PINS, player_options={}, player_kind="sim")
    try:
        assert hw.inputs is not None
        Device.pin_factory.pin(17).drive_low()
        assert [(e.name, e.pressed) for e in rec.wait_kind(InputChanged)] == [("pedal", True)]
    finally:
        hw.close()


def test_sim_mode_with_mpv_uses_libmpv_on_null_outputs() -> None:
    mpv_player = pytest.importorskip("hardware.player.mpv_player", exc_type=ImportError)
    hw = open_hardware("sim", emit=Recorder(), input_pins=PINS, player_options=NULL_OUTPUT)
    try:
        assert hw.warnings == []
        assert isinstance(hw.player, mpv_player.MpvPlayer)
    finally:
        hw.close()


# -- GPIO outputs ------------------------------------------------------------------------------

OUTPUTS = [OutputPin("threat_relay", 23), OutputPin("lights", 24), OutputPin("status_led", 25)]


def test_sim_mode_opens_outputs_and_the_status_light() -> None:
    hw = open_hardware(
        "sim",
        emit=Recorder(),
        input_pins=PINS,
        output_pins=OUTPUTS,
        status_output="status_led",
        player_options={},
        player_kind="sim",
    )
    try:
        assert hw.warnings == []
        assert hw.outputs is not None and hw.status_light is not None and hw.sim_gpio is not None
        assert hw.status_light.pattern == "idle"
        assert hw.outputs.modes()["status_led"] == "blink"
        hw.outputs.set("threat_relay", True)
        assert hw.sim_gpio.output_on("threat_relay")
        hw.outputs.set("lights", True)
    finally:
        hw.close()
    assert hw.sim_gpio.outputs_on() == {"threat_relay": False, "lights": False, "status_led": False}
    assert hw.outputs.states() == {}


def test_without_output_pins_there_are_no_outputs(sim_hw) -> None:
    hw, _ = sim_hw
    assert hw.outputs is None and hw.status_light is None and hw.inputs is not None


@pytest.mark.parametrize(
    "inputs, outputs, status, expected",
    [
        (PINS, [OutputPin("lights", 17)], None, "GPIO17 is used by input 'pedal' and by output 'lights'"),
        (
            PINS,
            [OutputPin("pedal", 24)],
            None,
            "name 'pedal' is used by input on GPIO17 and by output on GPIO24",
        ),
        (
            PINS,
            [OutputPin("a", 24), OutputPin("b", 24)],
            None,
            "GPIO24 is used by output 'a' and by output 'b'",
        ),
        (
            PINS,
            OUTPUTS,
            "led",
            "status output 'led' is not an output (outputs: 'threat_relay', 'lights', 'status_led')",
        ),
    ],
)
def test_a_conflicting_pin_map_opens_no_gpio_and_names_the_conflict(
    inputs, outputs, status, expected
) -> None:
    hw = open_hardware(
        "sim",
        emit=Recorder(),
        input_pins=inputs,
        output_pins=outputs,
        status_output=status,
        player_options={},
        player_kind="sim",
    )
    try:
        assert hw.inputs is None and hw.outputs is None and hw.status_light is None
        (warning,) = [w for w in hw.warnings if "GPIO not opened" in w]
        assert expected in warning, warning
        assert hw.camera is not None  # the rest is still there
    finally:
        hw.close()


def test_pin_map_problems_lists_every_conflict() -> None:
    problems = pin_map_problems(
        [InputPin("pedal", 17), InputPin("pedal", 27)], [OutputPin("relay", 27)], status_output=None
    )
    assert problems == [
        "name 'pedal' is used by input on GPIO17 and by input on GPIO27",
        "GPIO27 is used by input 'pedal' and by output 'relay'",
    ]
    assert pin_map_problems(PINS, OUTPUTS, "status_led") == []


def test_open_gpio_alone_for_the_test_command() -> None:
    rec = Recorder()
    gpio = open_gpio("sim", emit=rec, input_pins=PINS, output_pins=OUTPUTS)
    try:
        assert gpio.warnings == [] and gpio.status_light is None
        assert gpio.inputs is not None and gpio.outputs is not None and gpio.sim is not None
        gpio.sim.drive("pedal", True)
        assert [(e.name, e.pressed) for e in rec.wait_kind(InputChanged)] == [("pedal", True)]
        gpio.outputs.pulse("lights", 5.0)
    finally:
        gpio.close()
        gpio.close()
    assert gpio.sim.outputs_on()["lights"] is False
    with pytest.raises(ValueError, match="mode"):
        open_gpio("mars", emit=rec, input_pins=PINS)


def test_pi_mode_opens_outputs_on_gpiozeros_default_factory(monkeypatch) -> None:
    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")  # stands in for lgpio here
    hw = open_hardware(
        "pi", emit=Recorder(), input_pins=PINS, output_pins=OUTPUTS, player_options={}, player_kind="sim"
    )
    try:
        assert hw.outputs is not None and hw.sim_gpio is None
        hw.outputs.set("threat_relay", True)
        assert Device.pin_factory.pin(23).state in (1, True)
    finally:
        hw.close()
    assert Device.pin_factory.pin(23).state in (0, False)
