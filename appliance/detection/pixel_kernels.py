"""The three whole-frame kernels of laser detection, each behind one small function.

``to_luma`` turns a BGR frame into uint8 luma, ``label_pixels`` groups the pixels of a sparse
boolean mask into 8-connected components and ``max_filter`` gives every pixel the brightest
value around it (what the previous frame had near a spot). All have a pure-numpy implementation;
where OpenCV is importable (it is on the Pi and here) the OpenCV routine is used because it was
measured faster on 640x480 frames (``bench/detection.py`` prints the figures):

* BGR -> luma: ``cv2.cvtColor`` ~0.05 ms against ~1.5 ms for the numpy weighted sum.
* 7x7 max filter: ``cv2.dilate`` ~0.03 ms against ~0.26 ms for numpy's shifted maxima; it runs
  only on frames with a candidate spot.
* labelling: ``cv2.connectedComponents`` is only used when the mask has many pixels (moving
  content); for the usual sparse mask (up to a few hundred pixels) the numpy union-find over the
  nonzero pixels is as fast and avoids building a full label image.

Everything else in detection is numpy.
"""

from __future__ import annotations

import numpy as np

try:  # OpenCV is a project dependency; the numpy paths keep detection importable without it
    import cv2
except ImportError:  # pragma: no cover - exercised only where OpenCV is missing
    cv2 = None

# BT.601 weights in BGR order, as OpenCV's COLOR_BGR2GRAY uses them
_LUMA_WEIGHTS = np.array([0.114, 0.587, 0.299], dtype=np.float32)
# Above this many mask pixels the OpenCV labeller beats the sparse numpy one (measured).
DENSE_MASK_PIXELS = 800


def to_luma(frame: np.ndarray, *, use_opencv: bool = True) -> np.ndarray:
    """uint8 luma (H, W) of a uint8 BGR (H, W, 3) frame; a luma frame is returned as it is."""
    if frame.ndim == 2:
        return frame
    if use_opencv and cv2 is not None:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    luma = frame.reshape(-1, 3).astype(np.float32) @ _LUMA_WEIGHTS
    return np.clip(luma + 0.5, 0, 255).astype(np.uint8).reshape(frame.shape[:2])


def max_filter(image: np.ndarray, radius: int, *, use_opencv: bool = True) -> np.ndarray:
    """The largest value within ``radius`` px (a square window) of every pixel of a 2-D array."""
    if radius <= 0:
        return image.copy()
    if use_opencv and cv2 is not None:
        return cv2.dilate(image, np.ones((2 * radius + 1, 2 * radius + 1), np.uint8))
    out = image.copy()
    for axis in (0, 1):
        src = out.copy()
        for step in range(1, radius + 1):
            lead = [slice(None)] * 2
            lag = [slice(None)] * 2
            lead[axis], lag[axis] = slice(step, None), slice(None, -step)
            np.maximum(out[tuple(lead)], src[tuple(lag)], out=out[tuple(lead)])
            np.maximum(out[tuple(lag)], src[tuple(lead)], out=out[tuple(lag)])
    return out


def label_pixels(mask: np.ndarray, *, use_opencv: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 8-connected components of ``mask``.

    Returns ``(ys, xs, labels)``: the coordinates of every set pixel in row-major order and a
    component number per pixel, numbered 0..n-1 in order of each component's first pixel.
    """
    flat = np.flatnonzero(mask)
    width = mask.shape[1]
    ys, xs = np.divmod(flat, width)
    if flat.size == 0:
        return ys, xs, np.zeros(0, dtype=np.int64)
    if use_opencv and cv2 is not None and flat.size > DENSE_MASK_PIXELS:
        _, label_image = cv2.connectedComponents(mask.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
        raw = label_image.reshape(-1)[flat]
    else:
        raw = _union_find_labels(flat, xs, width)
    # renumber 0..n-1 by first appearance (row-major), whichever labeller ran
    _, first, inverse = np.unique(raw, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return ys, xs, order[inverse]


def _union_find_labels(flat: np.ndarray, xs: np.ndarray, width: int) -> np.ndarray:
    """Component roots for sorted flat pixel indices, by min-label propagation with pointer jumping."""
    n = flat.size
    parent = np.arange(n)
    sources: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    # forward neighbours: right, down-left, down, down-right (and which columns may have them)
    for offset, column_ok in (
        (1, xs < width - 1),
        (width - 1, xs > 0),
        (width, None),
        (width + 1, xs < width - 1),
    ):
        wanted = flat + offset
        j = np.searchsorted(flat, wanted)
        found = j < n
        found[found] = flat[j[found]] == wanted[found]
        if column_ok is not None:
            found &= column_ok
        sources.append(np.flatnonzero(found))
        targets.append(j[found])
    a = np.concatenate(sources)
    b = np.concatenate(targets)
    if a.size == 0:
        return parent
    while True:
        low = np.minimum(parent[a], parent[b])
        updated = parent.copy()
        np.minimum.at(updated, a, low)
        np.minimum.at(updated, b, low)
        while True:  # pointer jumping: every pixel points at its current root
            jumped = updated[updated]
            if np.array_equal(jumped, updated):
                break
            updated = jumped
        if np.array_equal(updated, parent):
            return parent
        parent = updated
