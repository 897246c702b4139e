"""An ``emit`` for tests: keeps every hardware event (from any thread) and waits without sleeping."""

from __future__ import annotations

import threading

from hardware.events import HardwareEvent, InputChanged, InputGesture


class Recorder:
    def __init__(self) -> None:
        self.events: list[HardwareEvent] = []
        self._cond = threading.Condition()

    def __call__(self, event: HardwareEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def snapshot(self) -> list[HardwareEvent]:
        with self._cond:
            return list(self.events)

    def of(self, token: int) -> list[HardwareEvent]:
        """The player events of one segment token."""
        return [e for e in self.snapshot() if getattr(e, "token", None) == token]

    def inputs(self) -> list[tuple[str, bool]]:
        return [(e.name, e.pressed) for e in self.snapshot() if isinstance(e, InputChanged)]

    def gestures(self) -> list[InputGesture]:
        return [e for e in self.snapshot() if isinstance(e, InputGesture)]

    def wait_count(self, count: int, timeout: float = 1.0) -> bool:
        """True once at least ``count`` events arrived."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.events) >= count, timeout)

    def wait_gestures(self, count: int, timeout: float = 2.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.gestures()) >= count, timeout)

    def wait_kind(self, kind: type, timeout: float = 1.0) -> list[HardwareEvent]:
        """Every event of ``kind`` once there is one (an empty list after ``timeout``)."""
        with self._cond:
            self._cond.wait_for(lambda: any(isinstance(e, kind) for e in self.events), timeout)
            return [e for e in self.events if isinstance(e, kind)]

    def wait_event(self, kind: type, token: int | None = None, timeout: float = 4.0) -> HardwareEvent:
        """The first event of ``kind`` (and segment ``token``); AssertionError after ``timeout``."""

        def find() -> HardwareEvent | None:
            for event in self.events:
                if isinstance(event, kind) and (token is None or getattr(event, "token", None) == token):
                    return event
            return None

        with self._cond:
            found = self._cond.wait_for(find, timeout)
            if found is None:
                raise AssertionError(f"no {kind.__name__}(token={token}) within {timeout}s: {self.events}")
            return found
