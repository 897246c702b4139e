"""Named GPIO inputs (pedal, trigger, instructor buttons) on gpiozero, with our own debounce.

The pin factory is injected: gpiozero's default factory (lgpio) on the Pi, a ``MockFactory``
in simulation (see ``hardware.gpio.sim.SimGpio``), so the same code runs in both.

Every accepted change is reported as ``InputChanged(name, pressed, t_mono)`` through ``emit``,
on gpiozero's callback thread (or, for a settle after a bounce, on a short timer thread).
An input with ``hold_s`` or ``double_press_s`` also reports ``InputGesture(name, "hold" |
"double", t_mono)`` (see ``GestureDetector``; a hold is reported from a timer thread).
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

from hardware.events import Emit, InputChanged, InputGesture

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
    hold_s: float | None = None
    """Report a "hold" gesture once the input has stayed pressed this long; None = never."""
    double_press_s: float | None = None
    """Report a "double" gesture when a press follows the previous press within this many
    seconds (press edge to press edge); None = never."""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("input name must not be empty")
        if self.pin < 0:
            raise ValueError(f"input {self.name!r}: pin must be a BCM number >= 0, got {self.pin}")
        if self.bounce_s < 0:
            raise ValueError(f"input {self.name!r}: bounce_s must be >= 0, got {self.bounce_s}")
        for field in ("hold_s", "double_press_s"):
            value = getattr(self, field)
            if value is not None and not value > 0:
                raise ValueError(f"input {self.name!r}: {field} must be > 0 or None, got {value}")


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


class GestureDetector:
    """Hold and double-press recognition over debounced press/release changes.

    Pure and thread-agnostic like ``Debouncer`` (the caller serialises); every time is an edge
    time on one clock, so it is tested with plain numbers. Per input:

    * hold: a press still down ``hold_s`` after its edge is a "hold", stamped press + ``hold_s``.
      ``due(t)`` reports the holds whose time has come (the caller runs a timer to the
      ``deadline``); a release at or after the deadline reports a hold a late timer missed.
    * double: a press within ``double_press_s`` of the previous press (edge to edge) is a
      "double", stamped with the second press; a third press starts a new pair. A press that
      became a hold is not the first of a pair.
    """

    def __init__(self, hold_s: Mapping[str, float], double_press_s: Mapping[str, float]) -> None:
        self._hold_s = dict(hold_s)
        self._double_s = dict(double_press_s)
        self._hold_due: dict[str, float] = {}  # name -> press edge + hold_s, while pressed
        self._first_press: dict[str, float] = {}  # name -> edge of a press that may start a pair

    def change(self, name: str, pressed: bool, t: float) -> list[InputGesture]:
        """Feed one debounced change of ``name`` at edge time ``t``; returns completed gestures."""
        out: list[InputGesture] = []
        if pressed:
            window = self._double_s.get(name)
            if window is not None:
                first = self._first_press.pop(name, None)
                if first is not None and t - first <= window + _EPS:
                    out.append(InputGesture(name=name, gesture="double", t_mono=t))
                else:
                    self._first_press[name] = t
            if name in self._hold_s:
                self._hold_due[name] = t + self._hold_s[name]
        else:
            due = self._hold_due.pop(name, None)
            if due is not None and t >= due - _EPS:
                out.append(self._held(name, due))
        return out

    def due(self, t: float) -> list[InputGesture]:
        """The holds complete at ``t`` (each reported once), in deadline order."""
        ready = sorted((due, name) for name, due in self._hold_due.items() if due <= t + _EPS)
        out = []
        for due, name in ready:
            del self._hold_due[name]
            out.append(self._held(name, due))
        return out

    def deadline(self, name: str) -> float | None:
        """When the current press of ``name`` becomes a hold (None: no hold pending)."""
        return self._hold_due.get(name)

    def reset(self) -> None:
        self._hold_due.clear()
        self._first_press.clear()

    def _held(self, name: str, due: float) -> InputGesture:
        self._first_press.pop(name, None)
        return InputGesture(name=name, gesture="hold", t_mono=due)


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
        self._gestures = GestureDetector(
            {s.name: s.hold_s for s in self._specs if s.hold_s is not None},
            {s.name: s.double_press_s for s in self._specs if s.double_press_s is not None},
        )
        self._hold_timers: dict[str, threading.Timer] = {}

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
            self._gestures.reset()
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
        for timer in [*self._timers.values(), *self._hold_timers.values()]:
            timer.cancel()
        self._timers.clear()
        self._hold_timers.clear()
        self._gestures.reset()
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
        self._send(InputChanged(name=name, pressed=pressed, t_mono=t_mono))
        for gesture in self._gestures.change(name, pressed, t_mono):
            self._send(gesture)
        self._arm_hold(name)

    def _arm_hold(self, name: str) -> None:
        """(Re)start the timer that reports ``name``'s hold at its deadline, if one is pending."""
        timer = self._hold_timers.pop(name, None)
        if timer is not None:
            timer.cancel()
        due = self._gestures.deadline(name)
        if due is None:
            return
        delay = max(0.0, due - time.monotonic()) + 0.001
        timer = threading.Timer(delay, self._hold_due, args=(name,))
        timer.daemon = True
        timer.name = f"gpio-hold-{name}"
        self._hold_timers[name] = timer
        timer.start()

    def _hold_due(self, name: str) -> None:
        try:
            with self._lock:
                # A timer replaced (released and pressed again) or forgotten (closed) meanwhile
                # no longer finds itself here.
                if self._hold_timers.get(name) is not threading.current_thread():
                    return
                del self._hold_timers[name]
                for gesture in self._gestures.due(time.monotonic()):
                    self._send(gesture)
                if self._gestures.deadline(name) is not None:  # woke a little early
                    self._arm_hold(name)
        except Exception:
            log.exception("GPIO input %r: hold detection failed", name)

    def _send(self, event: InputChanged | InputGesture) -> None:
        try:
            self._emit(event)
        except Exception:
            log.exception("GPIO input %r: emit failed", event.name)


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
