"""Simulated GPIO: a gpiozero ``MockFactory`` plus helpers that drive and read its mock pins.

Nothing here replaces ``GpioInputs`` or ``GpioOutputs``: the simulator only moves input pin
levels and reads output pin levels, so the whole path pin → gpiozero → ``GpioInputs``
(debounce included) → ``emit``, and ``GpioOutputs`` → gpiozero → pin, runs as it does on the Pi::

    sim = SimGpio(pins, outputs)
    inputs = GpioInputs(pins, emit, sim.factory)
    inputs.open()
    sim.drive("pedal", True)     # emits InputChanged("pedal", True, t)
    gpio_out = GpioOutputs(outputs, sim.factory)
    gpio_out.open()
    gpio_out.pulse("threat_relay", 0.2)
    sim.output_on("threat_relay")  # True for 0.2 s, read from the mock pin
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hardware.gpio.inputs import InputPin
from hardware.gpio.outputs import OutputPin

if TYPE_CHECKING:
    from gpiozero.pins.mock import MockFactory, MockPin


class SimGpio:
    """Owns one ``MockFactory`` (pin state is per factory), drives the pins of ``pins`` and
    reads the pins of ``outputs``."""

    def __init__(self, pins: list[InputPin], outputs: list[OutputPin] | None = None) -> None:
        from gpiozero.pins.mock import MockFactory

        self._pins = {p.name: p for p in pins}
        self._outputs = {o.name: o for o in outputs or []}
        self.factory: MockFactory = MockFactory()

    @property
    def names(self) -> list[str]:
        """The input names this simulator can drive, in configuration order."""
        return list(self._pins)

    def drive(self, name: str, pressed: bool) -> None:
        """Put input ``name`` in the pressed (True) or released (False) position.

        With a pull-up the switch pulls the pin low when pressed; with a pull-down it drives
        it high. Driving a pin to the level it already has is no edge and reports nothing.
        Callbacks run synchronously in the calling thread, as MockPin does.
        """
        spec = self._spec(name)
        pin = self.factory.pin(spec.pin)
        if pressed == spec.pull_up:
            pin.drive_low()
        else:
            pin.drive_high()

    def pin(self, name: str) -> MockPin:
        """The mock pin behind input ``name`` (the same object the gpiozero input device uses)."""
        return self.factory.pin(self._spec(name).pin)

    @property
    def output_names(self) -> list[str]:
        """The output names this simulator can read, in configuration order."""
        return list(self._outputs)

    def output_on(self, name: str) -> bool:
        """Whether output ``name`` is on, read from its mock pin's level (``active_high`` applied)."""
        spec = self._output_spec(name)
        return bool(self.factory.pin(spec.pin).state) == spec.active_high

    def outputs_on(self) -> dict[str, bool]:
        """``output_on`` of every output."""
        return {name: self.output_on(name) for name in self._outputs}

    def output_changes(self, name: str) -> list[tuple[float, bool]]:
        """Every on/off change of output ``name``'s mock pin as (seconds since the previous
        change, on), oldest first: MockPin's own record, e.g. to check a pulse's length."""
        spec = self._output_spec(name)
        return [(s.timestamp, bool(s.state) == spec.active_high) for s in self.factory.pin(spec.pin).states]

    def output_pin(self, name: str) -> MockPin:
        """The mock pin behind output ``name``."""
        return self.factory.pin(self._output_spec(name).pin)

    def _output_spec(self, name: str) -> OutputPin:
        try:
            return self._outputs[name]
        except KeyError:
            known = ", ".join(repr(n) for n in self._outputs) or "none"
            raise KeyError(f"no simulated GPIO output named {name!r} (known outputs: {known})") from None

    def _spec(self, name: str) -> InputPin:
        try:
            return self._pins[name]
        except KeyError:
            known = ", ".join(repr(n) for n in self._pins) or "none"
            raise KeyError(f"no simulated GPIO input named {name!r} (known inputs: {known})") from None
