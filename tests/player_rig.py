"""Helpers shared by the player tests: a thread-safe event log, polling waits, a fake clock."""

from __future__ import annotations

import time
from collections.abc import Callable

from event_recorder import Recorder as EventLog  # noqa: F401 (re-exported for the player tests)


def libmpv_available() -> bool:
    try:
        import mpv  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


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
