"""``openrange gpio test``: walk through every configured input and output of the box.

Each input: "press and release the foot pedal now", wait (with a timeout) and report what was
seen, with the edge times relative to the prompt, how long it was held, gestures, and any
*other* input that changed meanwhile (a swapped or shorted wire). Each output: "the threat
relay should click now", pulse it, read it back, and (interactive, on the Pi) ask whether it
did. A summary table closes the run; every output is left safe.

With ``hardware: sim`` the command presses the simulated inputs itself (the mock pins, through
gpiozero and our debounce) and reads the outputs' mock pins, so it runs end to end anywhere.

Exit code: 0 everything answered, 1 something did not, 2 GPIO could not be opened at all.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from appliance.settings import InputSettings, OutputSettings, Settings
from hardware.backends import GpioHardware, open_gpio
from hardware.events import HardwareEvent, InputChanged, InputGesture

HEADER_PIN = {
    2: 3, 3: 5, 4: 7, 17: 11, 27: 13, 22: 15, 10: 19, 9: 21, 11: 23, 0: 27, 5: 29, 6: 31, 13: 33,
    19: 35, 26: 37, 14: 8, 15: 10, 18: 12, 23: 16, 24: 18, 25: 22, 8: 24, 7: 26, 1: 28, 12: 32,
    16: 36, 20: 38, 21: 40,
}  # fmt: skip
"""BCM number → physical pin of the Raspberry Pi's 40-pin header."""

INPUT_LABELS = {
    "pedal": "the foot pedal",
    "trigger": "the trigger (shot sensor)",
    "estop": "the emergency stop",
    **{f"branch{n}": f"branch button {n}" for n in range(1, 9)},
}
OUTPUT_PROMPTS = {
    "threat_relay": "the threat relay should click now",
    "lights": "the room lights should switch on now",
    "status_led": "the status LED should light now",
}


@dataclass
class _Row:
    kind: str
    name: str
    pin: int
    ok: bool
    detail: str


def gpio_test_command(
    settings: Settings,
    *,
    interactive: bool = True,
    out: TextIO | None = None,
    timeout_s: float = 10.0,
    pulse_s: float = 0.5,
    ask: Callable[[str], str] | None = None,
) -> int:
    """Run the test on the box of ``settings`` (``settings.hardware``: "sim" or "pi")."""
    out = out or sys.stdout
    ask = ask or input
    events: queue.Queue[HardwareEvent] = queue.Queue()
    gpio_settings = settings.gpio
    sim = settings.hardware == "sim"
    gpio = open_gpio(
        settings.hardware,
        emit=events.put,
        input_pins=gpio_settings.input_pins(),
        output_pins=gpio_settings.output_pins(),
        status_output=gpio_settings.status_output_name,
    )
    try:
        _say(
            out,
            f"GPIO test, hardware {settings.hardware!r}"
            + (": the simulator presses the inputs" if sim else ""),
        )
        for warning in gpio.warnings:
            _say(out, f"  warning: {warning}")
        if gpio.inputs is None and gpio.outputs is None:
            _say(out, "GPIO could not be opened: nothing to test")
            return 2
        rows: list[_Row] = []
        for n, spec in enumerate(gpio_settings.inputs, 1):
            _say(out, f"[input {n}/{len(gpio_settings.inputs)}] {_where(spec.name, spec.pin)}")
            rows.append(_test_input(gpio, spec, events, out, timeout_s))
        confirm = interactive and not sim
        for n, output in enumerate(gpio_settings.outputs, 1):
            _say(out, f"[output {n}/{len(gpio_settings.outputs)}] {_where(output.name, output.pin)}")
            rows.append(_test_output(gpio, output, out, pulse_s, ask if confirm else None))
        _summary(out, rows)
        return 0 if all(r.ok for r in rows) else 1
    except KeyboardInterrupt:
        _say(out, "interrupted: every output is left off")
        return 130
    finally:
        gpio.close()


def _test_input(
    gpio: GpioHardware, spec: InputSettings, events: queue.Queue[HardwareEvent], out: TextIO, timeout_s: float
) -> _Row:
    if gpio.inputs is None:
        return _Row("input", spec.name, spec.pin, False, "inputs not open")
    label = INPUT_LABELS.get(spec.name, f"input {spec.name!r}")
    _drain(events)
    _say(out, f"  press and release {label} now (waiting {timeout_s:g} s)...")
    t0 = time.monotonic()
    if gpio.sim is not None:
        held = (spec.hold_s + 0.05) if spec.hold_s is not None else 0.1
        _press_later(gpio, spec.name, delay=0.05, held=held)
    pressed: float | None = None
    released: float | None = None
    changes = 0
    gestures: list[str] = []
    others: set[str] = set()
    deadline = t0 + timeout_s
    while released is None:
        try:
            event = events.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if isinstance(event, InputGesture) and event.name == spec.name:
            gestures.append(f"{event.gesture} at +{event.t_mono - t0:.3f} s")
        elif isinstance(event, InputChanged) and event.name == spec.name:
            changes += 1
            if event.pressed and pressed is None:
                pressed = event.t_mono
                deadline = time.monotonic() + timeout_s  # as long again to let go
            elif not event.pressed and pressed is not None:
                released = event.t_mono
        elif isinstance(event, InputChanged):
            others.add(event.name)
    parts: list[str] = []
    if pressed is None:
        parts.append(f"no press within {timeout_s:g} s")
    else:
        parts.append(f"pressed at +{pressed - t0:.3f} s")
        if released is None:
            parts.append("never released")
        else:
            parts.append(f"released at +{released - t0:.3f} s (held {released - pressed:.3f} s)")
    if changes > 2:
        parts.append(f"{changes} changes: a chattering switch? raise bounce_s")
    parts += [f"gesture {g}" for g in gestures]
    if others:
        parts.append("also changed: " + ", ".join(sorted(others)) + " (swapped or shorted wires?)")
    detail = "; ".join(parts)
    ok = pressed is not None and released is not None and not others
    _say(out, f"  {'OK' if ok else 'FAILED'}: {detail}")
    return _Row("input", spec.name, spec.pin, ok, detail)


def _test_output(
    gpio: GpioHardware, output: OutputSettings, out: TextIO, pulse_s: float, ask: Callable[[str], str] | None
) -> _Row:
    outputs = gpio.outputs
    if outputs is None:
        return _Row("output", output.name, output.pin, False, "outputs not open")
    outputs.all_safe()
    prompt = OUTPUT_PROMPTS.get(output.name, f"output {output.name!r} should switch on now")
    _say(out, f"  {prompt} (on for {pulse_s:g} s)")
    start = time.monotonic()
    try:
        outputs.pulse(output.name, pulse_s)
    except Exception as exc:
        detail = f"pulse failed: {exc}"
        _say(out, f"  FAILED: {detail}")
        return _Row("output", output.name, output.pin, False, detail)
    problems: list[str] = []
    if not outputs.states().get(output.name):
        problems.append("did not read back on")
    if gpio.sim is not None and not gpio.sim.output_on(output.name):
        problems.append("its pin did not switch")
    while outputs.states().get(output.name) and time.monotonic() - start < pulse_s + 1.0:
        time.sleep(0.01)
    on_for = time.monotonic() - start
    if outputs.states().get(output.name) or (gpio.sim is not None and gpio.sim.output_on(output.name)):
        problems.append("still on after its pulse")
    detail = f"on for {on_for:.2f} s" + (" (mock pin)" if gpio.sim is not None else " (driver read-back)")
    if ask is not None and not problems:
        answer = _ask(ask, "  did it? [y/N] ")
        if answer not in ("y", "yes"):
            problems.append("not confirmed by the tester")
        else:
            detail += ", confirmed"
    ok = not problems
    if problems:
        detail = "; ".join([detail, *problems])
    _say(out, f"  {'OK' if ok else 'FAILED'}: {detail}")
    return _Row("output", output.name, output.pin, ok, detail)


def _press_later(gpio: GpioHardware, name: str, *, delay: float, held: float) -> None:
    """Sim: press ``name`` after ``delay`` and release it ``held`` later, on a helper thread."""
    sim = gpio.sim
    assert sim is not None

    def run() -> None:
        time.sleep(delay)
        sim.drive(name, True)
        time.sleep(held)
        sim.drive(name, False)

    threading.Thread(target=run, name=f"gpio-test-{name}", daemon=True).start()


def _ask(ask: Callable[[str], str], prompt: str) -> str:
    try:
        return ask(prompt).strip().lower()
    except EOFError:
        return ""


def _drain(events: queue.Queue[HardwareEvent]) -> None:
    while True:
        try:
            events.get_nowait()
        except queue.Empty:
            return


def _where(name: str, pin: int) -> str:
    header = HEADER_PIN.get(pin)
    return f"{name}: GPIO{pin}" + (f", header pin {header}" if header else "")


def _summary(out: TextIO, rows: list[_Row]) -> None:
    width = max([len(r.name) for r in rows] + [4])
    _say(out, "")
    _say(out, f"{'kind':<7} {'name':<{width}} {'BCM':>3} {'hdr':>3}  result  detail")
    for r in rows:
        header = HEADER_PIN.get(r.pin)
        _say(
            out,
            f"{r.kind:<7} {r.name:<{width}} {r.pin:>3} {header if header else '-':>3}"
            f"  {'OK' if r.ok else 'FAILED':<6}  {r.detail}",
        )
    failed = sum(1 for r in rows if not r.ok)
    _say(out, f"{len(rows) - failed} of {len(rows)} OK" + (f", {failed} FAILED" if failed else ""))


def _say(out: TextIO, line: str) -> None:
    print(line, file=out, flush=True)
