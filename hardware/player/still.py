"""A still picture over everything mpv shows: the camera's calibration pattern on the projector.

mpv's ``overlay-add`` command takes a raw BGRA bitmap (premultiplied alpha) from memory
(``&<address>``) and copies it, so the buffer may go once the command has returned. Overlays
are placed in output pixels and never scaled by mpv, so the picture is fitted here to the
output size (``osd-dimensions``) the way a video of that size would be shown: aspect ratio
kept, centred, black around. Bitmap overlays are drawn after the ``osd-overlay`` ASS layers
(the idle card, the blank screen), so the still covers them too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

STILL_ID = 63
"""``overlay-add`` id of the still (ids 0..63; none other is used by OpenRange)."""


def check_still(image: np.ndarray) -> np.ndarray:
    """``image`` as a (height, width, 3) ``uint8`` BGR array; ValueError if it is not one."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"a still must be a (height, width, 3) uint8 BGR image, got {arr.dtype} {arr.shape}")
    return arr


def fit_bgra(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` (BGR) scaled into ``size`` = (width, height) with its aspect ratio kept,
    centred on opaque black, as a contiguous (height, width, 4) BGRA array (nearest pixel)."""
    out_w, out_h = size
    src_h, src_w = image.shape[:2]
    scale = min(out_w / src_w, out_h / src_h)
    w = max(1, min(out_w, round(src_w * scale)))
    h = max(1, min(out_h, round(src_h * scale)))
    rows = np.minimum(((np.arange(h) + 0.5) * src_h / h).astype(np.intp), src_h - 1)
    cols = np.minimum(((np.arange(w) + 0.5) * src_w / w).astype(np.intp), src_w - 1)
    out = np.zeros((out_h, out_w, 4), dtype=np.uint8)
    out[..., 3] = 255
    y, x = (out_h - h) // 2, (out_w - w) // 2
    out[y : y + h, x : x + w, :3] = image[rows[:, None], cols[None, :]]
    return out


def output_size(mpv: Any) -> tuple[int, int] | None:
    """The output's size in pixels (``osd-dimensions``), None while unknown (e.g. ``vo=null``)."""
    try:
        dims = mpv.osd_dimensions
        w, h = int(dims["w"]), int(dims["h"])
    except Exception:
        return None
    return (w, h) if w > 0 and h > 0 else None


class StillOverlay:
    """The still on one mpv instance. Calls go to mpv synchronously; the caller holds its lock."""

    def __init__(self) -> None:
        self.shown = False

    def reset(self) -> None:
        self.shown = False

    def show(self, mpv: Any, image: np.ndarray | None) -> None:
        """Show ``image`` (checked with ``check_still``) fitted to the output, or remove it."""
        if image is None:
            if self.shown:
                mpv.command("overlay-remove", STILL_ID)
            self.shown = False
            return
        image = check_still(image)
        size = output_size(mpv) or (image.shape[1], image.shape[0])
        bgra = fit_bgra(image, size)
        h, w = bgra.shape[:2]
        # mpv copies the bitmap during the command; ``bgra`` only has to live until it returns
        mpv.command("overlay-add", STILL_ID, 0, 0, f"&{bgra.ctypes.data}", 0, "bgra", w, h, w * 4)
        self.shown = True
