"""Named GPIO inputs (pedal, trigger, instructor buttons) on gpiozero, with our own debounce.

The pin factory is injected: gpiozero's default factory (lgpio) on the Pi, a ``MockFactory``
in simulation (see ``hardware.gpio.sim.SimGpio``), so the same code runs in both.

Every accepted change is reported as ``InputChanged(name, pressed, t_mono)`` through ``emit``,
on gpiozero's callback thread (or, for a settle after a bounce, on a short timer thread).
``t_mono`` is the edge time on the ``time.monotonic()`` clock: the pin's own edge ticks when
they are on that clock (MockPin; the kernel's line-event time on the Pi), else the time the
callback ran.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from hardware.events import Emit, InputChanged

if TYPE_CHECKING:
    import gpiozero

log = logging.getLogger(__name__)

Clock = Callable[[], float]

# Float slack so an edge exactly one window after the last is accepted (10.02 - 10.0 < 0.02).
_EPS = 1e-9

# Edge ticks older than this (or in the future) are taken to be on another clock and ignored.
_MAX_EDGE_AGE_S = 1.0


@dataclass(frozen=True)
class InputPin:
    """One named input wired to a BCM GPIO pin."""

    name: str
    """What the rest of the system calls it, e.g. ``"pedal"``, ``"trigger"``, ``"branch1"``."""
    pin: int
    """BCM (``GPIOn``) number."""
    pull_up: bool = True
    """True: internal pull-up, the switch pulls the pin low when pressed.
    False: internal pull-down, pressed = driven high."""
    bounce_s: float = 0.02
    """Our debounce window in seconds (gpiozero's own ``bounce_time`` is not used)."""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("input name must not be empty")
        if self.pin < 0:
            raise ValueError(f"input {self.name!r}: pin must be a BCM number >= 0, got {self.pin}")
        if self.bounce_s < 0:
            raise ValueError(f"input {self.name!r}: bounce_s must be >= 0, got {self.bounce_s}")


class Debouncer:
    """Accepts an edge unless it comes within the window of the previous accepted edge.

    Pure and thread-agnostic (the caller serialises); each key (input name) is independent.
    ``bounce_s`` is the default window; ``per_key`` overrides it for some keys.
    """

    def __init__(
        self,
        bounce_s: float,
        clock: Clock = time.monotonic,
        *,
        per_key: Mapping[str, float] | None = None,
    ) -> None:
        if bounce_s < 0 or any(v < 0 for v in (per_key or {}).values()):
            raise ValueError("bounce windows must be >= 0")
        self._bounce_s = bounce_s
        self._per_key = dict(per_key or {})
        self._clock = clock
        self._last: dict[str, float] = {}

    def window(self, key: str) -> float:
        return self._per_key.get(key, self._bounce_s)

    def accept(self, key: str, t: float | None = None) -> bool:
        """True if an edge of ``key`` at ``t`` (default: now) counts; it then becomes the last."""
        now = self._clock() if t is None else t
        last = self._last.get(key)
        if last is not None and now - last < self.window(key) - _EPS:
            return False
        self._last[key] = now
        return True

    def remaining(self, key: str, t: float | None = None) -> float:
        """Seconds until the window of ``key``'s last accepted edge closes (0 when closed)."""
        last = self._last.get(key)
        if last is None:
            return 0.0
        now = self._clock() if t is None else t
        return max(0.0, last + self.window(key) - now)

    def reset(self, key: str | None = None) -> None:
        """Forget the last accepted edge of ``key`` (or of every key)."""
        if key is None:
            self._last.clear()
        else:
            self._last.pop(key, None)


class GpioInputs:
    """The named inputs of the range, as gpiozero input devices on an injected pin factory."""

    def __init__(self, pins: list[InputPin], emit: Emit, pin_factory: gpiozero.Factory) -> None:
        self._specs = list(pins)
        self._emit = emit
        self._factory = pin_factory
        self._lock = threading.RLock()
        self._devices: dict[str, gpiozero.DigitalInputDevice] = {}
        self._pressed: dict[str, bool] = {}
        self._timers: dict[str, threading.Timer] = {}
        self._ignored_at: dict[str, float] = {}  # time of the last edge hidden as a bounce
        self._generation = 0  # bumped by close(), so a late settle timer finds nothing to do
        self._debouncer = Debouncer(0.0, per_key={s.name: s.bounce_s for s in self._specs})

    @property
    def pins(self) -> list[InputPin]:
        return list(self._specs)

    @property
    def is_open(self) -> bool:
        return bool(self._devices)

    def open(self) -> None:
        """Claim every pin. Raises ValueError for duplicate names or pins (naming them), or
        whatever gpiozero raises for a bad or busy pin; on failure nothing stays claimed."""
        _check_unique(self._specs)
        # DigitalInputDevice rather than Button: Button adds a hold-detection thread per pin
        # (polling every 0.1 s, and closing a held Button stalls for up to hold_time); we use
        # neither when_held nor its timing.
        from gpiozero import DigitalInputDevice

        with self._lock:
            if self._devices:
                raise RuntimeError("GpioInputs is already open")
            self._debouncer.reset()
            try:
                for spec in self._specs:
                    device = DigitalInputDevice(
                        spec.pin, pull_up=spec.pull_up, bounce_time=None, pin_factory=self._factory
                    )
                    self._devices[spec.name] = device
                    self._pressed[spec.name] = bool(device.is_active)
                    device.when_activated = partial(self._on_edge, spec.name, True)
                    device.when_deactivated = partial(self._on_edge, spec.name, False)
            except BaseException:
                _close_devices(self._detach_locked())
                raise
        log.info("GPIO inputs open: %s", ", ".join(f"{s.name}=GPIO{s.pin}" for s in self._specs))

    def close(self) -> None:
        """Release every pin; safe to call twice. ``open()`` may be called again afterwards."""
        with self._lock:
            devices = self._detach_locked()
        # Closed outside our lock: a callback thread may be waiting for it while holding
        # the GPIO library's own lock, which closing a pin can need.
        _close_devices(devices)

    def states(self) -> dict[str, bool]:
        """The debounced state of every input (as last reported); empty when closed."""
        with self._lock:
            return dict(self._pressed)

    # -- internals -------------------------------------------------------------------------

    def _detach_locked(self) -> dict[str, gpiozero.DigitalInputDevice]:
        """Forget devices and timers; callbacks still in flight then find nothing to report."""
        self._generation += 1
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._ignored_at.clear()
        devices, self._devices = self._devices, {}
        self._pressed.clear()
        return devices

    def _on_edge(self, name: str, pressed: bool, device: gpiozero.DigitalInputDevice) -> None:
        """gpiozero callback (its thread): never let an exception escape silently."""
        try:
            # Age of the edge from the pin's own ticks (public API: active/inactive_time).
            age = device.active_time if pressed else device.inactive_time
            now = time.monotonic()
            t_edge = now - age if age is not None and 0.0 <= age <= _MAX_EDGE_AGE_S else now
            with self._lock:
                if self._devices.get(name) is not device:
                    return  # closed (or reopened) meanwhile
                self._handle_edge(name, pressed, t_edge)
        except Exception:
            log.exception("GPIO input %r: edge handling failed", name)

    def _handle_edge(self, name: str, pressed: bool, t_edge: float) -> None:
        if self._pressed.get(name) == pressed:
            return  # gpiozero reports alternating edges; same state = a bounce we already hid
        if self._debouncer.accept(name, t_edge):
            self._report(name, pressed, t_edge)
            return
        log.debug("GPIO input %r: %s edge ignored (bounce)", name, "press" if pressed else "release")
        self._ignored_at[name] = t_edge
        self._schedule_settle(name, self._debouncer.remaining(name, t_edge))

    def _schedule_settle(self, name: str, delay: float) -> None:
        """After a bounce was ignored, look at the level once the window closes, so a quick
        tap (press and release inside the window) is not left reported as pressed."""
        if name in self._timers:
            return
        timer = threading.Timer(delay + 0.001, self._settle, args=(name, self._generation))
        timer.daemon = True
        timer.name = f"gpio-settle-{name}"
        self._timers[name] = timer
        timer.start()

    def _settle(self, name: str, generation: int) -> None:
        try:
            with self._lock:
                if generation != self._generation:
                    return
                self._timers.pop(name, None)
                device = self._devices.get(name)
                if device is None:
                    return
                level = bool(device.is_active)
                if level == self._pressed.get(name):
                    return
                now = time.monotonic()
                if self._debouncer.accept(name, now):
                    # The level was reached at the last edge we hid, not when the window closed.
                    self._report(name, level, self._ignored_at.pop(name, now))
                else:
                    self._schedule_settle(name, self._debouncer.remaining(name, now))
        except Exception:
            log.exception("GPIO input %r: settle after bounce failed", name)

    def _report(self, name: str, pressed: bool, t_mono: float) -> None:
        self._pressed[name] = pressed
        self._ignored_at.pop(name, None)
        try:
            self._emit(InputChanged(name=name, pressed=pressed, t_mono=t_mono))
        except Exception:
            log.exception("GPIO input %r: emit failed", name)


def _close_devices(devices: dict[str, gpiozero.DigitalInputDevice]) -> None:
    for name, device in devices.items():
        try:
            device.when_activated = None
            device.when_deactivated = None
            device.close()
        except Exception:
            log.exception("closing GPIO input %r failed", name)


def _check_unique(specs: list[InputPin]) -> None:
    problems: list[str] = []
    by_name: dict[str, list[InputPin]] = {}
    by_pin: dict[int, list[InputPin]] = {}
    for spec in specs:
        by_name.setdefault(spec.name, []).append(spec)
        by_pin.setdefault(spec.pin, []).append(spec)
    for name, same in by_name.items():
        if len(same) > 1:
            pins = ", ".join(f"GPIO{s.pin}" for s in same)
            problems.append(f"input name {name!r} is used {len(same)} times ({pins})")
    for pin, same in by_pin.items():
        if len(same) > 1:
            names = ", ".join(repr(s.name) for s in same)
            problems.append(f"GPIO{pin} is assigned to several inputs ({names})")
    if problems:
        raise ValueError("invalid GPIO input configuration: " + "; ".join(problems))
