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

if TYPE_CHECKING:
    import gpiozero

    from hardware.camera.base import Camera
    from hardware.camera.sim import SimCamera
    from hardware.gpio.sim import SimGpio
    from hardware.player.base import Player

log = logging.getLogger(__name__)

MODES = ("sim", "pi")
PLAYER_KINDS = ("mpv", "sim")
NO_CAMERA_YET = "camera support arrives with laser detection"


@dataclass
class Hardware:
    """The opened devices. ``None`` means the device is missing (see ``warnings``)."""

    player: Player
    camera: Camera | None
    inputs: GpioInputs | None
    sim_gpio: SimGpio | None = None
    """Drives the mock GPIO pins; only in sim mode."""
    sim_camera: SimCamera | None = None
    """Takes simulated shots; only in sim mode (the same object as ``camera``)."""
    warnings: list[str] = field(default_factory=list)
    """One line per missing or failed device, for the health banner."""
    _closed: bool = field(default=False, init=False, repr=False)

    def close(self) -> None:
        """Close every device (inputs first, so no event follows); never raises, safe twice."""
        if self._closed:
            return
        self._closed = True
        seen: set[int] = set()
        for label, device in (("inputs", self.inputs), ("camera", self.camera), ("player", self.player)):
            if device is None or id(device) in seen:
                continue
            seen.add(id(device))
            _quietly(f"closing {label}", device.close)
        if self.sim_camera is not None and id(self.sim_camera) not in seen:
            _quietly("closing simulated camera", self.sim_camera.close)


def open_hardware(
    mode: str,
    *,
    emit: Emit,
    input_pins: list[InputPin],
    player_options: dict[str, str],
    player_kind: str = "mpv",
) -> Hardware:
    """Open the player, camera and GPIO inputs for ``mode`` ("sim" or "pi").

    sim: the player of ``player_kind`` ("mpv": libmpv, falling back to the simulated player
    with a warning when libmpv cannot be loaded or started; "sim": the simulated player),
    ``SimCamera`` and ``GpioInputs`` on ``SimGpio``'s MockFactory.
    pi: the player of ``player_kind`` (normally "mpv"), gpiozero's default pin factory
    (lgpio), no camera yet. Raises ValueError only for an unknown mode or player kind.
    """
    if mode not in MODES:
        raise ValueError(f"unknown hardware mode {mode!r} (expected one of: {', '.join(MODES)})")
    if player_kind not in PLAYER_KINDS:
        raise ValueError(f"unknown player kind {player_kind!r} (expected one of: {', '.join(PLAYER_KINDS)})")

    notes: list[str] = []
    player = _open_player(player_kind, emit, player_options, notes)
    hw = Hardware(player=player, camera=None, inputs=None, warnings=notes)

    if mode == "sim":
        from hardware.camera.sim import SimCamera
        from hardware.gpio.sim import SimGpio

        sim_camera = SimCamera(emit)
        if _try_open("camera", sim_camera.open, notes):
            hw.camera = hw.sim_camera = sim_camera
        hw.sim_gpio = SimGpio(input_pins)
        hw.inputs = _open_inputs(input_pins, emit, hw.sim_gpio.factory, notes)
    else:
        notes.append(f"no camera: {NO_CAMERA_YET}")
        factory = _default_pin_factory(notes)
        if factory is not None:
            hw.inputs = _open_inputs(input_pins, emit, factory, notes)

    for note in notes:
        log.warning("hardware: %s", note)
    return hw


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


def _open_inputs(
    pins: list[InputPin], emit: Emit, factory: gpiozero.Factory, notes: list[str]
) -> GpioInputs | None:
    inputs = GpioInputs(pins, emit, factory)
    return inputs if _try_open("GPIO inputs", inputs.open, notes) else None


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
        notes.append(f"no GPIO inputs: no pin factory available ({exc})")
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
