"""Helpers shared by the player tests: a thread-safe event log, polling waits, a fake clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from hardware.events import HardwareEvent


def libmpv_available() -> bool:
    try:
        import mpv  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


class EventLog:
    """Thread-safe list of emitted events with waits that time out instead of sleeping."""

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

    def wait_for(self, kind: type, token: int | None = None, timeout: float = 4.0) -> HardwareEvent:
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

    def of(self, token: int) -> list[HardwareEvent]:
        return [e for e in self.snapshot() if getattr(e, "token", None) == token]


def wait_until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
