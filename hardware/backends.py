"""Open the range's hardware for a mode: the real devices on the Pi, simulators elsewhere.

A missing or failing device is a warning (``Hardware.warnings``), never a crash: the session
goes on without it. Real device libraries (libmpv, the GPIO pin factory) are imported here,
lazily, so importing ``hardware`` needs none of them.
"""

from __future__ import annotations

import logging
import warnings as pywarnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hardware.events import Emit
from hardware.gpio.inputs import GpioInputs, InputPin
from hardware.gpio.outputs import GpioOutputs, OutputPin, StatusLight

if TYPE_CHECKING:
    import gpiozero

    from hardware.camera.runner import CameraRunner
    from hardware.camera.sim import SimCamera
    from hardware.gpio.sim import SimGpio
    from hardware.player.base import Player

log = logging.getLogger(__name__)

MODES = ("sim", "pi")
PLAYER_KINDS = ("mpv", "sim")


@dataclass
class Hardware:
    """The opened devices. ``None`` means the device is missing (see ``warnings``)."""

    player: Player
    camera: CameraRunner | None
    """The capture thread; its analyser (detection + calibration) is installed by the appliance."""
    inputs: GpioInputs | None
    outputs: GpioOutputs | None = None
    """The GPIO outputs (relay, lights, status LED); None when GPIO is missing or misconfigured."""
    status_light: StatusLight | None = None
    """The status LED's patterns, on one of ``outputs``; None without a status output."""
    sim_gpio: SimGpio | None = None
    """Drives the mock GPIO input pins and reads the output pins; only in sim mode."""
    sim_camera: SimCamera | None = None
    """Takes simulated shots; only in sim mode (the same object as ``camera``)."""
    warnings: list[str] = field(default_factory=list)
    """One line per missing or failed device, for the health banner."""
    _closed: bool = field(default=False, init=False, repr=False)

    def close(self) -> None:
        """Close every device (inputs first, so no event follows; then the outputs, left safe);
        never raises, safe twice."""
        if self._closed:
            return
        self._closed = True
        seen: set[int] = set()
        devices = (
            ("inputs", self.inputs),
            ("outputs", self.outputs),
            ("camera", self.camera),
            ("player", self.player),
        )
        for label, device in devices:
            if device is None or id(device) in seen:
                continue
            seen.add(id(device))
            _quietly(f"closing {label}", device.close)
        if self.sim_camera is not None and id(self.sim_camera) not in seen:
            _quietly("closing simulated camera", self.sim_camera.close)


@dataclass
class GpioHardware:
    """The GPIO side alone (``openrange gpio test`` needs no player or camera)."""

    inputs: GpioInputs | None = None
    outputs: GpioOutputs | None = None
    status_light: StatusLight | None = None
    sim: SimGpio | None = None
    warnings: list[str] = field(default_factory=list)

    def close(self) -> None:
        """Inputs first, then the outputs (left safe); never raises, safe twice."""
        if self.inputs is not None:
            _quietly("closing GPIO inputs", self.inputs.close)
        if self.outputs is not None:
            _quietly("closing GPIO outputs", self.outputs.close)


def pin_map_problems(
    input_pins: list[InputPin], output_pins: list[OutputPin], status_output: str | None = None
) -> list[str]:
    """Every conflict in a pin map: a name or a BCM pin used twice (inputs and outputs
    together), or a status output that is not an output. Empty when the map is good."""
    problems: list[str] = []
    users: list[tuple[str, str, int]] = [("input", p.name, p.pin) for p in input_pins]
    users += [("output", p.name, p.pin) for p in output_pins]
    by_name: dict[str, list[str]] = {}
    by_pin: dict[int, list[str]] = {}
    for kind, name, pin in users:
        by_name.setdefault(name, []).append(f"{kind} on GPIO{pin}")
        by_pin.setdefault(pin, []).append(f"{kind} {name!r}")
    problems += [f"name {n!r} is used by {' and by '.join(u)}" for n, u in by_name.items() if len(u) > 1]
    problems += [f"GPIO{p} is used by {' and by '.join(u)}" for p, u in by_pin.items() if len(u) > 1]
    if status_output is not None and status_output not in {p.name for p in output_pins}:
        known = ", ".join(repr(p.name) for p in output_pins) or "none"
        problems.append(f"status output {status_output!r} is not an output (outputs: {known})")
    return problems


def open_gpio(
    mode: str,
    *,
    emit: Emit,
    input_pins: list[InputPin],
    output_pins: list[OutputPin] | None = None,
    status_output: str | None = None,
) -> GpioHardware:
    """Open the GPIO inputs and outputs for ``mode``: on ``SimGpio``'s MockFactory in "sim",
    on gpiozero's default pin factory (lgpio) in "pi". A conflicting pin map (see
    ``pin_map_problems``) opens nothing and is a warning, as is a missing pin factory or a
    pin that cannot be claimed. The status light, if any, starts with the "idle" pattern."""
    if mode not in MODES:
        raise ValueError(f"unknown hardware mode {mode!r} (expected one of: {', '.join(MODES)})")
    gpio = GpioHardware()
    _open_gpio_into(gpio, mode, emit, input_pins, list(output_pins or []), status_output)
    for note in gpio.warnings:
        log.warning("hardware: %s", note)
    return gpio


def open_hardware(
    mode: str,
    *,
    emit: Emit,
    input_pins: list[InputPin],
    player_options: dict[str, str],
    player_kind: str = "mpv",
    output_pins: list[OutputPin] | None = None,
    status_output: str | None = None,
    camera_fps: float = 60.0,
    camera_source: str = "auto",
) -> Hardware:
    """Open the player, camera and GPIO inputs and outputs for ``mode`` ("sim" or "pi").

    sim: the player of ``player_kind`` ("mpv": libmpv, falling back to the simulated player
    with a warning when libmpv cannot be loaded or started; "sim": the simulated player),
    ``SimCamera``, and ``GpioInputs``/``GpioOutputs`` on ``SimGpio``'s MockFactory.
    pi: the player of ``player_kind`` (normally "mpv"), gpiozero's default pin factory
    (lgpio), no camera yet. GPIO as in ``open_gpio``. Raises ValueError only for an unknown
    mode or player kind.
    """
    if mode not in MODES:
        raise ValueError(f"unknown hardware mode {mode!r} (expected one of: {', '.join(MODES)})")
    if player_kind not in PLAYER_KINDS:
        raise ValueError(f"unknown player kind {player_kind!r} (expected one of: {', '.join(PLAYER_KINDS)})")

    notes: list[str] = []
    player = _open_player(player_kind, emit, player_options, notes)
    hw = Hardware(player=player, camera=None, inputs=None, warnings=notes)

    if mode == "sim":
        from hardware.camera.runner import CameraRunner
        from hardware.camera.sim import SimCamera

        sim_camera = SimCamera(fps=camera_fps)
        runner = CameraRunner(sim_camera, emit)
        if _try_open("camera", runner.open, notes):
            hw.camera, hw.sim_camera = runner, sim_camera
    else:
        hw.camera = _open_real_camera(camera_source, camera_fps, emit, notes)
    gpio = GpioHardware(warnings=notes)
    _open_gpio_into(gpio, mode, emit, input_pins, list(output_pins or []), status_output)
    hw.inputs, hw.outputs, hw.status_light = gpio.inputs, gpio.outputs, gpio.status_light
    hw.sim_gpio = gpio.sim

    for note in notes:
        log.warning("hardware: %s", note)
    return hw


def _open_real_camera(source: str, fps: float, emit: Emit, notes: list[str]) -> CameraRunner | None:
    """The Pi camera, a USB camera ("v4l2:/dev/videoN"), or none; a failure is a warning."""
    from hardware.camera.base import CameraError
    from hardware.camera.runner import CameraRunner

    if source == "none":
        notes.append("no camera configured: hits are scored by hand")
        return None
    candidates: list[tuple[str, object]] = []
    if source in ("auto", "picamera"):
        from hardware.camera.pi_camera import PiCamera

        candidates.append(("Pi camera", PiCamera(fps=fps)))
    if source == "auto" or source.startswith("v4l2"):
        from hardware.camera.v4l2_camera import V4l2Camera

        device = source.partition(":")[2] or "/dev/video0"
        candidates.append((f"USB camera {device}", V4l2Camera(device, fps=fps)))
    if not candidates:
        notes.append(f"unknown camera source {source!r} (auto, picamera, v4l2:/dev/videoN, none)")
        return None
    failures = []
    for label, frame_source in candidates:
        runner = CameraRunner(frame_source, emit)  # type: ignore[arg-type]
        try:
            runner.open()
        except (CameraError, OSError) as exc:
            failures.append(f"{label}: {exc}")
            continue
        return runner
    notes.append("no camera: " + "; ".join(failures) + " — hits are scored by hand")
    return None


def _open_player(kind: str, emit: Emit, options: dict[str, str], notes: list[str]) -> Player:
    if kind == "mpv":
        try:
            from hardware.player.mpv_player import MpvPlayer  # loads libmpv
        except (ImportError, OSError) as exc:
            notes.append(f"video player: libmpv cannot be loaded ({exc}); using the simulated player")
        else:
            try:
                mpv_player = MpvPlayer(emit, options=options)
            except Exception as exc:
                log.exception("creating the mpv player failed")
                notes.append(f"video player: mpv failed to start ({exc}); using the simulated player")
            else:
                if _try_open("video player (mpv)", mpv_player.open, notes):
                    return mpv_player
                _quietly("closing the failed mpv player", mpv_player.close)
                notes.append("video player: using the simulated player instead of mpv")

    from hardware.player.sim import SimPlayer

    sim_player = SimPlayer(emit)
    _try_open("video player (simulated)", sim_player.open, notes)
    return sim_player


def _open_gpio_into(
    gpio: GpioHardware,
    mode: str,
    emit: Emit,
    input_pins: list[InputPin],
    output_pins: list[OutputPin],
    status_output: str | None,
) -> None:
    notes = gpio.warnings
    if mode == "sim":
        from hardware.gpio.sim import SimGpio

        gpio.sim = SimGpio(input_pins, output_pins)
    problems = pin_map_problems(input_pins, output_pins, status_output)
    if problems:
        notes.append("GPIO not opened: conflicting pin map: " + "; ".join(problems))
        return
    factory = gpio.sim.factory if gpio.sim is not None else _default_pin_factory(notes)
    if factory is None:
        return
    inputs = GpioInputs(input_pins, emit, factory)
    if _try_open("GPIO inputs", inputs.open, notes):
        gpio.inputs = inputs
    if not output_pins:
        return
    outputs = GpioOutputs(output_pins, factory)
    if not _try_open("GPIO outputs", outputs.open, notes):
        return
    gpio.outputs = outputs
    if status_output is not None:
        light = gpio.status_light = StatusLight(outputs, status_output)
        _quietly("showing the idle status", lambda: light.show("idle"))


def _default_pin_factory(notes: list[str]) -> gpiozero.Factory | None:
    """gpiozero's default pin factory (lgpio on a current Pi; GPIOZERO_PIN_FACTORY honoured)."""
    try:
        from gpiozero import Device

        with pywarnings.catch_warnings(record=True) as caught:
            pywarnings.simplefilter("always")
            Device.ensure_pin_factory()
        for w in caught:
            log.info("gpiozero: %s", w.message)
        return Device.pin_factory
    except Exception as exc:
        notes.append(f"no GPIO inputs or outputs: no pin factory available ({exc})")
        return None


def _try_open(label: str, open_fn: Callable[[], None], notes: list[str]) -> bool:
    try:
        open_fn()
    except Exception as exc:
        log.info("opening %s failed", label, exc_info=True)
        notes.append(f"{label} failed to open: {exc}")
        return False
    return True


def _quietly(what: str, fn: Callable[[], None]) -> None:
    try:
        fn()
    except Exception:
        log.exception("hardware: %s failed", what)
