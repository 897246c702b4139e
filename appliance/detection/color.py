"""Which laser made a spot: red, green or infrared.

A camera rarely records a laser spot in the laser's colour: the core saturates to white, white
balance and video compression tint it, and the projected picture under it is coloured too. What
survives is *which channel rose first*: a red beam drives the red channel into saturation
before the others, a green beam the green one. So each channel's rise is measured against the
room it had left (``rise / (255 - before)``), averaged over the spot weighted by its luma rise,
and the channel that used most of its headroom names the laser.

An infrared beam seen by a camera without an IR-cut filter lifts all three channels alike; when
``"infrared"`` is among the expected colours, a spot whose channels rose by nearly the same amount
(spread below ``neutral_spread`` of their mean rise) is called infrared.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

COLORS = ("red", "green", "infrared")
_MIN_HEADROOM = 8.0


def channel_rises(
    frame: np.ndarray, before: np.ndarray, ys: np.ndarray, xs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (B, G, R) mean rise and mean share of the available headroom used by the spot
    at pixels (ys, xs), both weighted by each pixel's luma rise."""
    now = frame[ys, xs].astype(np.float32)
    was = before[ys, xs].astype(np.float32)
    rise = now - was
    share = rise / np.maximum(255.0 - was, _MIN_HEADROOM)
    weight = np.clip(rise @ np.array([0.114, 0.587, 0.299], dtype=np.float32), 0.0, None)
    total = float(weight.sum())
    if total <= 0.0:
        weight, total = np.ones(len(ys), dtype=np.float32), float(max(len(ys), 1))
    return (rise * weight[:, None]).sum(axis=0) / total, (share * weight[:, None]).sum(axis=0) / total


def classify_color(
    frame: np.ndarray,
    before: np.ndarray,
    ys: np.ndarray,
    xs: np.ndarray,
    *,
    colors: Sequence[str] = ("red", "green"),
    neutral_spread: float = 0.15,
) -> str:
    """The laser colour of the spot at pixels (ys, xs) of BGR ``frame``; ``before`` is the same
    view before the spot appeared. ``colors`` are the lasers in use (any of ``COLORS``)."""
    rise, use = channel_rises(frame, before, ys, xs)
    green, red = float(use[1]), float(use[2])
    mean_rise = float(rise.mean())
    if "infrared" in colors and mean_rise > 0 and float(rise.max() - rise.min()) < neutral_spread * mean_rise:
        return "infrared"
    visible = [c for c in colors if c != "infrared"]
    if not visible:
        return "infrared"
    if len(visible) == 1:
        return visible[0]
    return "red" if red >= green else "green"
