"""Named GPIO outputs (threat-fire relay, room lights, status LED) on gpiozero.

The pin factory is injected, as for the inputs: gpiozero's default factory on the Pi, the
simulator's ``MockFactory`` elsewhere (``hardware.gpio.sim.SimGpio`` reads the mock pins back).

Every output's safe state is *off*: it starts off, and ``close()`` and ``all_safe()`` leave every
output off, with no pulse or blink still running. ``pulse()`` never blocks the caller: one
timer thread switches pulsed outputs off at their deadlines, and a new pulse of an output that
is already pulsing extends it (it ends at the later of the two ends). ``set()`` and ``blink()``
replace whatever the output was doing.

Thread-safe: any thread may call any method (the appliance calls them from one device worker).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

if TYPE_CHECKING:
    import gpiozero

log = logging.getLogger(__name__)

MAX_PULSE_S = 60.0
"""Longest pulse accepted: a relay is never left on by a mistyped duration."""

OutputMode = Literal["off", "on", "pulse", "blink"]


@dataclass(frozen=True)
class OutputPin:
    """One named output driving a BCM GPIO pin. Its safe (and initial) state is off."""

    name: str
    """What the rest of the system calls it, e.g. ``"threat_relay"``, ``"lights"``."""
    pin: int
    """BCM (``GPIOn``) number."""
    active_high: bool = True
    """True: on = pin high. False: on = pin low (many relay modules switch on a low input)."""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("output name must not be empty")
        if self.pin < 0:
            raise ValueError(f"output {self.name!r}: pin must be a BCM number >= 0, got {self.pin}")


class GpioOutputs:
    """The named outputs of the range, as gpiozero ``DigitalOutputDevice``s."""

    def __init__(self, pins: list[OutputPin], pin_factory: gpiozero.Factory) -> None:
        self._specs = list(pins)
        self._factory = pin_factory
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._devices: dict[str, gpiozero.DigitalOutputDevice] = {}
        self._modes: dict[str, OutputMode] = {}
        self._pulse_ends: dict[str, float] = {}  # name -> time.monotonic() when the pulse ends
        self._thread: threading.Thread | None = None
        self._stopping = False

    @property
    def pins(self) -> list[OutputPin]:
        return list(self._specs)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self._specs]

    @property
    def is_open(self) -> bool:
        return bool(self._devices)

    def open(self) -> None:
        """Claim every pin, each driven off. Raises ValueError for duplicate names or pins
        (naming them), or whatever gpiozero raises for a bad or busy pin; on failure nothing
        stays claimed."""
        check_unique("output", [(s.name, s.pin) for s in self._specs])
        from gpiozero import DigitalOutputDevice

        with self._lock:
            if self._devices:
                raise RuntimeError("GpioOutputs is already open")
            try:
                for spec in self._specs:
                    self._devices[spec.name] = DigitalOutputDevice(
                        spec.pin, active_high=spec.active_high, initial_value=False, pin_factory=self._factory
                    )
                    self._modes[spec.name] = "off"
            except BaseException:
                devices, self._devices = self._devices, {}
                self._modes.clear()
                _close_devices(devices)
                raise
            self._stopping = False
            self._thread = threading.Thread(target=self._run_pulses, name="gpio-outputs", daemon=True)
            self._thread.start()
        log.info("GPIO outputs open: %s", ", ".join(f"{s.name}=GPIO{s.pin}" for s in self._specs))

    def close(self) -> None:
        """Every output off, then release the pins; safe to call twice, may be opened again."""
        with self._lock:
            self._all_off_locked()
            devices, self._devices = self._devices, {}
            self._modes.clear()
            thread, self._thread = self._thread, None
            self._stopping = True
            self._wake.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        _close_devices(devices)

    def set(self, name: str, on: bool) -> None:
        """Switch ``name`` steadily on or off, ending any pulse or blink of it."""
        with self._lock:
            device = self._device(name)
            self._pulse_ends.pop(name, None)
            if on:
                device.on()
            else:
                device.off()
            self._modes[name] = "on" if on else "off"

    def pulse(self, name: str, seconds: float) -> None:
        """Switch ``name`` on now and off after ``seconds``; returns at once. A pulse of an
        output already pulsing ends at the later of the two ends; a steady or blinking output
        becomes a pulse."""
        if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and 0 < seconds <= MAX_PULSE_S):
            raise ValueError(
                f"pulse of {name!r}: seconds must be > 0 and <= {MAX_PULSE_S:g}, got {seconds!r}"
            )
        with self._lock:
            device = self._device(name)
            end = time.monotonic() + seconds
            previous = self._pulse_ends.get(name)
            self._pulse_ends[name] = end if previous is None else max(previous, end)
            if self._modes.get(name) != "pulse":
                device.on()
                self._modes[name] = "pulse"
            self._wake.notify_all()

    def blink(self, name: str, on_s: float, off_s: float) -> None:
        """Blink ``name`` forever (gpiozero's background blink) until set, pulsed or made safe."""
        if not (on_s > 0 and off_s > 0):
            raise ValueError(f"blink of {name!r}: on and off times must be > 0")
        with self._lock:
            device = self._device(name)
            self._pulse_ends.pop(name, None)
            device.blink(on_time=on_s, off_time=off_s, background=True)
            self._modes[name] = "blink"

    def all_safe(self) -> None:
        """Every output off now, with no pulse or blink left running. Never raises for one
        failing output (it is logged and the others are still switched off)."""
        with self._lock:
            self._all_off_locked()

    def states(self) -> dict[str, bool]:
        """Whether each output is on at this moment (a blinking output flips); empty when closed."""
        with self._lock:
            return {name: bool(device.is_active) for name, device in self._devices.items()}

    def modes(self) -> dict[str, OutputMode]:
        """What each output is doing: "off", "on", "pulse" or "blink"; empty when closed."""
        with self._lock:
            return dict(self._modes)

    def describe(self) -> list[dict[str, object]]:
        """One entry per output for the health page: name, pin, active_high, on, mode."""
        with self._lock:
            return [
                {
                    "name": s.name,
                    "pin": s.pin,
                    "active_high": s.active_high,
                    "on": bool(self._devices[s.name].is_active) if s.name in self._devices else False,
                    "mode": self._modes.get(s.name, "off"),
                }
                for s in self._specs
            ]

    # -- internals -------------------------------------------------------------------------

    def _device(self, name: str) -> gpiozero.DigitalOutputDevice:
        device = self._devices.get(name)
        if device is not None:
            return device
        if not self._devices:
            raise RuntimeError("GPIO outputs are not open")
        known = ", ".join(repr(n) for n in self._devices)
        raise KeyError(f"no GPIO output named {name!r} (outputs: {known})")

    def _all_off_locked(self) -> None:
        self._pulse_ends.clear()
        for name, device in self._devices.items():
            try:
                device.off()  # also stops a blink
            except Exception:
                log.exception("GPIO output %r: switching off failed", name)
            self._modes[name] = "off"
        self._wake.notify_all()

    def _run_pulses(self) -> None:
        """The timer thread: switch pulsed outputs off at their ends."""
        with self._lock:
            while not self._stopping:
                now = time.monotonic()
                for name in [n for n, end in self._pulse_ends.items() if end <= now]:
                    del self._pulse_ends[name]
                    try:
                        self._devices[name].off()
                    except Exception:
                        log.exception("GPIO output %r: ending a pulse failed", name)
                    self._modes[name] = "off"
                wait = min(self._pulse_ends.values(), default=now + 3600.0) - now
                self._wake.wait(timeout=max(0.0, wait))


class StatusLight:
    """The status LED's patterns on one output of ``GpioOutputs``: idle = slow blink,
    session = solid, fault = fast blink, off = off."""

    PATTERNS: ClassVar[dict[str, tuple[float, float] | bool]] = {
        "idle": (1.0, 1.0),
        "session": True,
        "fault": (0.125, 0.125),
        "off": False,
    }
    """Pattern → (on seconds, off seconds) of a blink, or a steady state."""

    def __init__(self, outputs: GpioOutputs, name: str) -> None:
        if name not in outputs.names:
            known = ", ".join(repr(n) for n in outputs.names) or "none"
            raise KeyError(f"status light: no GPIO output named {name!r} (outputs: {known})")
        self._outputs = outputs
        self.name = name
        self._pattern = "off"

    @property
    def pattern(self) -> str:
        """The pattern last shown (``all_safe()`` on the outputs switches the LED off under it)."""
        return self._pattern

    def show(self, pattern: str) -> None:
        """Show ``pattern`` ("idle", "session", "fault" or "off")."""
        try:
            how = self.PATTERNS[pattern]
        except KeyError:
            raise ValueError(
                f"unknown status pattern {pattern!r} (expected one of: {', '.join(self.PATTERNS)})"
            ) from None
        if isinstance(how, tuple):
            self._outputs.blink(self.name, *how)
        else:
            self._outputs.set(self.name, how)
        self._pattern = pattern


def check_unique(kind: str, named_pins: list[tuple[str, int]]) -> None:
    """Raise ValueError naming every duplicate name and every pin used twice."""
    problems: list[str] = []
    by_name: dict[str, list[int]] = {}
    by_pin: dict[int, list[str]] = {}
    for name, pin in named_pins:
        by_name.setdefault(name, []).append(pin)
        by_pin.setdefault(pin, []).append(name)
    for name, pins in by_name.items():
        if len(pins) > 1:
            listed = ", ".join(f"GPIO{p}" for p in pins)
            problems.append(f"{kind} name {name!r} is used {len(pins)} times ({listed})")
    for pin, names in by_pin.items():
        if len(names) > 1:
            listed = ", ".join(repr(n) for n in names)
            problems.append(f"GPIO{pin} is assigned to several {kind}s ({listed})")
    if problems:
        raise ValueError(f"invalid GPIO {kind} configuration: " + "; ".join(problems))


def _close_devices(devices: dict[str, gpiozero.DigitalOutputDevice]) -> None:
    for name, device in devices.items():
        try:
            device.off()
            device.close()
        except Exception:
            log.exception("closing GPIO output %r failed", name)
