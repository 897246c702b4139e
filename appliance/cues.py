"""Scene cues: GPIO outputs switched on at moments of a scene (loop-side, pure timing logic).

A scene's ``cues`` (``appliance/scenario/model.py``) say "output X on at scene time T for D
seconds". ``CueScheduler`` turns them into ``outputs.pulse(X, D)`` calls at the right moment of
*scene* time, which stops while the session is paused, exactly as ``LiveSession.scene_time``
counts it. The controller tells it what happens to the scene; it never looks at the session.

Rules:

* a cue fires when its scene time comes; one whose moment has passed but whose pulse would still
  be running (the scene's time origin moved back, a late timer) fires for the rest of its pulse;
* pausing switches off the outputs that cues had switched on and holds the cues still to come;
  resuming switches the interrupted pulses back on for the rest of their duration;
* entering a scene drops the previous scene's cues still to come and switches off its pulses;
* ``stopped()`` and ``emergency_stop()`` drop every cue still to come and make every output
  safe (``all_safe``); after an emergency stop the scene's remaining cues never fire, even if
  the session is resumed: only entering a scene arms cues again.

``outputs`` is anything with ``pulse``/``set``/``all_safe`` (the controller passes a wrapper
that queues the calls on the GPIO device worker); a failing call is logged, never raised into
the loop. With ``outputs=None`` (no GPIO outputs on this box) cues are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from appliance.clock import Clock, TimerHandle
from appliance.device_worker import DeviceWorker
from appliance.scenario.model import Cue, Manifest

log = logging.getLogger(__name__)

_EPS = 1e-6
_MIN_PULSE_S = 0.001  # the rest of a pulse shorter than this is not worth switching on


class OutputsApi(Protocol):
    """What the scheduler needs of the outputs (``hardware.gpio.outputs.GpioOutputs`` has it)."""

    def pulse(self, name: str, seconds: float) -> Any: ...

    def set(self, name: str, on: bool) -> Any: ...

    def all_safe(self) -> Any: ...


class WorkerOutputs:
    """``OutputsApi`` that queues every call on a device worker (the GPIO one), so the loop never
    waits for a pin and the calls keep their order (``all_safe`` then a status pattern, say)."""

    def __init__(self, outputs: OutputsApi, worker: DeviceWorker) -> None:
        self._outputs = outputs
        self._worker = worker

    def pulse(self, name: str, seconds: float) -> Any:
        return self._worker.submit(self._outputs.pulse, name, seconds)

    def set(self, name: str, on: bool) -> Any:
        return self._worker.submit(self._outputs.set, name, on)

    def all_safe(self) -> Any:
        return self._worker.submit(self._outputs.all_safe)


@dataclass
class _Armed:
    cue: Cue
    fired: bool = False

    @property
    def end_s(self) -> float:
        return self.cue.at_s + self.cue.duration_s


class CueScheduler:
    """Fires the current scene's cues on the controller's clock (loop-only)."""

    def __init__(self, outputs: OutputsApi | None, clock: Clock) -> None:
        self._outputs = outputs
        self._clock = clock
        self._armed: list[_Armed] = []
        self._t0 = 0.0
        self._paused_total = 0.0
        self._paused_at: float | None = None
        self._timer: TimerHandle | None = None
        self._estopped = False

    # ---- what the controller tells it ----------------------------------------------------------

    def scene_entered(self, cues: Sequence[Cue], scene_t0_mono: float | None = None) -> None:
        """A scene starts (running, not paused) at ``scene_t0_mono`` (default: now)."""
        now = self._clock.monotonic()
        self._cut_active(now)
        self._cancel_timer()
        self._armed = [_Armed(c) for c in sorted(cues, key=lambda c: c.at_s)]
        self._t0 = now if scene_t0_mono is None else scene_t0_mono
        self._paused_total = 0.0
        self._paused_at = None
        self._estopped = False
        self._arm()

    def segment_started(self, t0_mono: float) -> None:
        """The scene's picture started at ``t0_mono``: scene time counts from there from now on
        (the controller's ``SegmentStarted`` hook moves the scene's time origin the same way)."""
        self._t0 = t0_mono
        self._cancel_timer()
        self._arm()

    def paused(self, t_mono: float | None = None) -> None:
        """The session paused: cue pulses off, cues still to come held. Idempotent."""
        if self._paused_at is not None:
            return
        now = self._clock.monotonic() if t_mono is None else t_mono
        self._cancel_timer()
        self._cut_active(now)
        self._paused_at = now

    def resumed(self, t_mono: float | None = None) -> None:
        """The session resumed: interrupted pulses on for their rest, the next cues armed."""
        if self._paused_at is None:
            return
        now = self._clock.monotonic() if t_mono is None else t_mono
        self._paused_total += max(0.0, now - self._paused_at)
        self._paused_at = None
        scene_t = self.scene_time(now)
        for armed in self._armed:
            if armed.fired and armed.cue.at_s <= scene_t + _EPS and armed.end_s - scene_t >= _MIN_PULSE_S:
                self._call("pulse", armed.cue.output, armed.end_s - scene_t)
        self._arm()

    def stopped(self) -> None:
        """The session ended (or the scene was left for good): no cue fires; every output safe."""
        self._drop()
        self._call("all_safe")

    def emergency_stop(self) -> None:
        """Every output safe now, and this scene's remaining cues never fire."""
        now = self._clock.monotonic()
        if self._paused_at is None:
            self._paused_at = now
        self._drop()
        self._estopped = True
        self._call("all_safe")

    # ---- what it can tell -------------------------------------------------------------------------

    def scene_time(self, t_mono: float | None = None) -> float:
        """Seconds of the current scene played at ``t_mono`` (default now), pauses excluded."""
        now = self._clock.monotonic() if t_mono is None else t_mono
        paused = self._paused_total
        if self._paused_at is not None and now >= self._paused_at:
            paused += now - self._paused_at
        return max(0.0, now - self._t0 - paused)

    def status(self) -> dict[str, Any]:
        """For the health page / snapshot: pending cues, outputs a cue holds on, e-stop latch."""
        scene_t = self.scene_time()
        running = self._paused_at is None
        return {
            "pending": sum(1 for a in self._armed if not a.fired),
            "active": sorted(
                {a.cue.output for a in self._armed if running and a.fired and a.end_s > scene_t}
            ),
            "next_at_s": min((a.cue.at_s for a in self._armed if not a.fired), default=None),
            "emergency_stopped": self._estopped,
        }

    # ---- internals --------------------------------------------------------------------------------

    def _arm(self) -> None:
        if self._paused_at is not None or self._timer is not None:
            return
        upcoming = [a.cue.at_s for a in self._armed if not a.fired]
        if not upcoming:
            return
        delay = min(upcoming) - self.scene_time()
        if delay <= _EPS:
            self._fire_due()  # due already (e.g. at_s 0): now, not on the next loop turn
        else:
            self._timer = self._clock.call_later(delay, self._fire_due)

    def _fire_due(self) -> None:
        self._timer = None
        if self._paused_at is not None:
            return
        scene_t = self.scene_time()
        for armed in self._armed:
            if armed.fired or armed.cue.at_s > scene_t + _EPS:
                continue
            armed.fired = True
            rest = armed.end_s - max(scene_t, armed.cue.at_s)
            if rest >= _MIN_PULSE_S:
                self._call("pulse", armed.cue.output, rest)
            else:
                log.info("cue %s at %.3f s skipped: its time had passed", armed.cue.output, armed.cue.at_s)
        self._arm()

    def _cut_active(self, now: float) -> None:
        """Switch off the outputs that this scene's cues hold on at ``now``."""
        if self._paused_at is not None:
            return  # already cut when pausing
        scene_t = self.scene_time(now)
        for name in sorted({a.cue.output for a in self._armed if a.fired and a.end_s > scene_t + _EPS}):
            self._call("set", name, False)

    def _drop(self) -> None:
        self._cancel_timer()
        self._armed = []

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _call(self, method: str, *args: Any) -> None:
        if self._outputs is None:
            if method == "pulse":
                log.debug("cue for %s skipped: no GPIO outputs", args[0])
            return
        try:
            getattr(self._outputs, method)(*args)
        except Exception:
            log.exception("cue output call %s%r failed", method, args)


def cue_problems(manifest: Manifest, outputs: Collection[str]) -> list[str]:
    """Every cue naming an output this box does not have (``outputs``: the names cues may use,
    i.e. the configured outputs without the status LED), as 'scenes.X.cues[i].output: ...'.
    The controller checks this when a session starts."""
    known = ", ".join(repr(n) for n in outputs) or "none"
    problems = []
    for scene_id, scene in manifest.scenes.items():
        for i, cue in enumerate(scene.cues):
            if cue.output not in outputs:
                problems.append(
                    f"scenes.{scene_id}.cues[{i}].output: this box has no output {cue.output!r}"
                    f" (outputs: {known})"
                )
    return problems
