"""One-shot timers on a scene's own clock: they stop while the session is paused.

The controller uses them for a scene's timeout and its threat cue (the moment a threat zone
opens). Each timer fires at most once per scene, even across pauses and re-arming when the
player reports the segment's real start.
"""

from __future__ import annotations

from collections.abc import Callable

from appliance.clock import Clock, TimerHandle


class SceneTimers:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._due: dict[str, float] = {}
        self._callbacks: dict[str, Callable[[], None]] = {}
        self._handles: list[TimerHandle] = []
        self._fired: set[str] = set()

    def reset(self) -> None:
        """A new scene: forget every timer, fired or not."""
        self.stop()
        self._due.clear()
        self._callbacks.clear()
        self._fired.clear()

    def add(self, name: str, scene_t: float, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the scene has played ``scene_t`` seconds (not counting pauses)."""
        self._due[name] = scene_t
        self._callbacks[name] = callback

    def due(self, name: str) -> float | None:
        return self._due.get(name)

    def start(self, scene_time_now: float) -> None:
        """(Re)arm every timer not yet fired, given how much of the scene has played."""
        self.stop()
        for name, due in self._due.items():
            if name not in self._fired:
                self._handles.append(self._clock.call_later(due - scene_time_now, self._firer(name)))

    def stop(self) -> None:
        """Pause: cancel the pending calls; ``start`` re-arms what has not fired."""
        for handle in self._handles:
            handle.cancel()
        self._handles.clear()

    def _firer(self, name: str) -> Callable[[], None]:
        def fire() -> None:
            if name in self._fired:
                return
            self._fired.add(name)
            self._callbacks[name]()

        return fire
