"""Simulated GPIO: a gpiozero ``MockFactory`` plus a helper that drives its mock pins.

Nothing here replaces ``GpioInputs``: the simulator only moves pin levels, so the whole path
pin → gpiozero → ``GpioInputs`` (debounce included) → ``emit`` runs as it does on the Pi::

    sim = SimGpio(pins)
    inputs = GpioInputs(pins, emit, sim.factory)
    inputs.open()
    sim.drive("pedal", True)     # emits InputChanged("pedal", True, t)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hardware.gpio.inputs import InputPin

if TYPE_CHECKING:
    from gpiozero.pins.mock import MockFactory, MockPin


class SimGpio:
    """Owns one ``MockFactory`` (pin state is per factory) and drives the pins of ``pins``."""

    def __init__(self, pins: list[InputPin]) -> None:
        from gpiozero.pins.mock import MockFactory

        self._pins = {p.name: p for p in pins}
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

    def _spec(self, name: str) -> InputPin:
        try:
            return self._pins[name]
        except KeyError:
            known = ", ".join(repr(n) for n in self._pins) or "none"
            raise KeyError(f"no simulated GPIO input named {name!r} (known inputs: {known})") from None
