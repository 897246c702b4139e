"""What each pixel looked like just before, and how much it usually changes.

``BackgroundModel`` keeps two float32 images, both exponential moving averages of the luma:

* ``mean``: the pixel's expected level. Its rate adapts per pixel to the pixel's variability:
  ``still_rate`` (slow) where the picture is still, so even a faint spot that builds up over two
  frames stands out, rising to ``moving_rate`` (fast) where content moves or fades, so the
  reference keeps up with projected video instead of lagging many frames behind it.
  ``deviation`` from ``still_deviation`` up to ``moving_deviation`` sets the blend.
* ``deviation`` (rate ``variability_rate``, slow): the mean absolute change of each pixel against
  ``mean``, i.e. its noise plus the motion of the content over it.

``threshold`` = max(``threshold_floor``, ``threshold_factor`` x ``deviation``) is what a pixel's
rise over ``mean`` must exceed to be a candidate laser pixel, so pixels under moving content or
flicker get a higher bar than still ones. During the first frames the rates are at least
``1/(n+1)`` (a plain running mean) so the model settles quickly, and the deviation starts high so
nothing is reported before it has.

Pixels under a detected laser spot can be held out of an update, so a held beam is not learnt.
"""

from __future__ import annotations

import numpy as np


class BackgroundModel:
    """Per-pixel recent level and usual variability of a stream of uint8 luma frames."""

    def __init__(
        self,
        height: int,
        width: int,
        *,
        still_rate: float,
        moving_rate: float,
        still_deviation: float,
        moving_deviation: float,
        variability_rate: float,
        initial_deviation: float,
        deviation_cap: float,
        threshold_floor: float,
        threshold_factor: float,
    ) -> None:
        for name, rate in (
            ("still_rate", still_rate),
            ("moving_rate", moving_rate),
            ("variability_rate", variability_rate),
        ):
            if not 0.0 < rate <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], not {rate}")
        if moving_deviation <= still_deviation:
            raise ValueError("moving_deviation must be above still_deviation")
        self.shape = (height, width)
        self.still_rate = still_rate
        self.moving_rate = moving_rate
        self.still_deviation = still_deviation
        self._rate_slope = (moving_rate - still_rate) / (moving_deviation - still_deviation)
        self.variability_rate = variability_rate
        self.initial_deviation = initial_deviation
        self.deviation_cap = deviation_cap
        self.threshold_floor = threshold_floor
        self.threshold_factor = threshold_factor
        self.frames = 0
        self.mean = np.zeros(self.shape, dtype=np.float32)
        self.deviation = np.full(self.shape, initial_deviation, dtype=np.float32)
        self.threshold = np.empty(self.shape, dtype=np.float32)
        self._rise = np.empty(self.shape, dtype=np.float32)
        self._scratch = np.empty(self.shape, dtype=np.float32)
        self._rate = np.empty(self.shape, dtype=np.float32)
        self._refresh_threshold()

    @property
    def is_ready(self) -> bool:
        """True once the model has seen a frame (before that there is nothing to compare with)."""
        return self.frames > 0

    def rise(self, luma: np.ndarray) -> np.ndarray:
        """luma - mean as float32; the array is reused by the next call."""
        np.subtract(luma, self.mean, out=self._rise, dtype=np.float32)
        return self._rise

    def update(
        self, luma: np.ndarray, rise: np.ndarray, *, hold: tuple[np.ndarray, np.ndarray] | None = None
    ) -> None:
        """Learn ``luma`` (whose ``rise`` was just computed); pixels ``hold`` = (ys, xs) keep their state.

        Overwrites ``rise``.
        """
        if self.frames == 0:
            self.mean[...] = luma
            self.frames = 1
            return
        warmup = 1.0 / (self.frames + 1)
        kept = None
        if hold is not None and hold[0].size:
            kept = (self.mean[hold], self.deviation[hold])
        scratch = self._scratch
        np.abs(rise, out=scratch)
        np.minimum(scratch, self.deviation_cap, out=scratch)
        scratch -= self.deviation
        scratch *= max(self.variability_rate, warmup)
        self.deviation += scratch
        rate = self._rate  # per pixel: still_rate .. moving_rate by the pixel's variability
        np.subtract(self.deviation, self.still_deviation, out=rate)
        rate *= self._rate_slope
        rate += self.still_rate
        np.clip(rate, max(self.still_rate, warmup), max(self.moving_rate, warmup), out=rate)
        rise *= rate
        self.mean += rise
        if kept is not None:
            self.mean[hold], self.deviation[hold] = kept
        self._refresh_threshold()
        self.frames += 1

    def relearn(self, luma: np.ndarray) -> None:
        """Take ``luma`` as the new background at once (after a scene cut or a light switch)."""
        self.mean[...] = luma
        np.maximum(self.deviation, self.initial_deviation / 2, out=self.deviation)
        self._refresh_threshold()

    def _refresh_threshold(self) -> None:
        np.multiply(self.deviation, self.threshold_factor, out=self.threshold)
        np.maximum(self.threshold, self.threshold_floor, out=self.threshold)
