"""FrameProbe: what the player *shows*, read from libmpv's software renderer frame by frame.

With ``vo=libmpv`` mpv renders nothing by itself: a render context does. This one uses the
``sw`` render API (python-mpv 1.0.8 knows the API type but not the four ``MPV_RENDER_PARAM_SW_*``
parameters of render.h, so their array is built here). A thread renders every frame mpv hands
over — the render call blocks until the frame's target display time, as a vsync would — then
stamps it with ``time.monotonic()`` and reads two things from its pixels:

* the segment marker (grey square at the top-left corner) → ``marker`` = ``index % 10``;
* optionally the frame code of tests/joined_media.py (binary squares along the top edge) →
  ``code`` = the frame's index in the joined file.

``analyse()`` turns the frames around one switch into its latency (command → first pixels of
the new segment), longest-held frame and wrong frames. Used by bench/branch_switch.py and
tests/test_mpv_seamless.py. Hook it into an ``MpvPlayer``
made with ``options={"vo": "libmpv", ...}`` and ``render_hook=probe.attach``.

Run directly, it plays a generated joined file and prints the software render's cost per frame
(the render call alone, not waiting for the display time): the bench's own overhead, which a
real display (GPU) does not have.
"""

from __future__ import annotations

import ctypes
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# render.h: MPV_RENDER_PARAM_SW_SIZE / _FORMAT / _STRIDE / _POINTER
_SW_SIZE, _SW_FORMAT, _SW_STRIDE, _SW_POINTER = 17, 18, 19, 20
_BLOCK_FOR_TARGET_TIME = 12
CODE_BITS = 11


@dataclass(frozen=True, slots=True)
class Frame:
    t: float
    """time.monotonic() when the frame had been rendered (its display time)."""
    marker: int | None
    """Segment marker read as ``index % 10``; None when there is no marker (idle, black)."""
    code: int | None
    """Frame index read from the frame code (None unless the probe reads codes)."""
    mean: float
    """Mean brightness of the whole frame (0..255): tells a black screen from a card."""


def level_to_index(level: float) -> int | None:
    k = round((level - 40) / 20)
    if 0 <= k <= 9 and abs(level - (40 + 20 * k)) <= 10:
        return k
    return None


class FrameProbe:
    """Renders and reads every frame of one mpv instance (see the module docstring).

    ``source`` is the video's size (to find the marker and code squares after scaling);
    ``size`` the render size (smaller than the video keeps the software render cheap).
    """

    def __init__(
        self,
        source: tuple[int, int] = (1280, 720),
        size: tuple[int, int] = (640, 360),
        *,
        read_code: bool = True,
        keep: int = 20000,
        block: bool = True,
    ) -> None:
        self.source = source
        self.size = size
        self.read_code = read_code
        self._keep = keep
        self._frames: list[Frame] = []
        self._cond = threading.Condition()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._ctx: Any = None
        self._thread: threading.Thread | None = None
        self.render_ms: list[float] = []
        self.errors: list[str] = []
        w, h = size
        self._buf = np.zeros((h, w, 4), dtype=np.uint8)
        self._size_arg = (ctypes.c_int * 2)(w, h)
        self._stride_arg = ctypes.c_size_t(w * 4)
        self._format_arg = ctypes.c_char_p(b"rgb0")
        self._block_arg = ctypes.c_int(1 if block else 0)
        self._params = self._param_array()
        self._set_geometry(source)

    # -- geometry ------------------------------------------------------------------------
    def set_source(self, source: tuple[int, int]) -> None:
        """The video's size changed (another file): where to read the squares."""
        self._set_geometry(source)

    def _set_geometry(self, source: tuple[int, int]) -> None:
        sw, sh = source
        w, h = self.size
        sx, sy = w / sw, h / sh
        side = round(16 * sh / 720)
        half = max(1, int(side * min(sx, sy) / 4))  # sample the middle half of a square
        self.source = source
        self._half = half
        self._marker_at = (int(side / 2 * sy), int(side / 2 * sx))
        self._bits_at = [(int(side / 2 * sy), int((sw - (k + 0.5) * side) * sx)) for k in range(CODE_BITS)]

    # -- lifecycle -----------------------------------------------------------------------
    def attach(self, player: Any) -> Any:
        """``MpvPlayer(render_hook=...)``: create the render context on the mpv instance
        and start rendering; returns the function that stops and frees it."""
        import mpv

        self._ctx = mpv.MpvRenderContext(player, "sw")
        self._ctx.update_cb = self._wake.set
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="FrameProbe", daemon=True)
        self._thread.start()
        return self.detach

    def detach(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        if self._ctx is not None:
            self._ctx.update_cb = None
            self._ctx.free()
            self._ctx = None

    # -- reading -------------------------------------------------------------------------
    def frames(self, since: float = 0.0) -> list[Frame]:
        with self._cond:
            return [f for f in self._frames if f.t >= since]

    def last(self) -> Frame | None:
        with self._cond:
            return self._frames[-1] if self._frames else None

    def clear(self) -> None:
        with self._cond:
            self._frames.clear()

    def wait_for(self, predicate: Any, timeout: float = 3.0, since: float = 0.0) -> Frame | None:
        """The first frame rendered after ``since`` that satisfies ``predicate``, or None."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for frame in self._frames:
                    if frame.t >= since and predicate(frame):
                        return frame
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    # -- render thread -------------------------------------------------------------------
    def _param_array(self) -> Any:
        import mpv

        params = (mpv.MpvRenderParam * 6)()
        values = (
            (_SW_SIZE, ctypes.cast(self._size_arg, ctypes.c_void_p)),
            (_SW_FORMAT, ctypes.cast(self._format_arg, ctypes.c_void_p)),
            (_SW_STRIDE, ctypes.cast(ctypes.pointer(self._stride_arg), ctypes.c_void_p)),
            (_SW_POINTER, ctypes.c_void_p(self._buf.ctypes.data)),
            (_BLOCK_FOR_TARGET_TIME, ctypes.cast(ctypes.pointer(self._block_arg), ctypes.c_void_p)),
        )
        for i, (type_id, data) in enumerate(values):
            params[i].type_id = type_id
            params[i].data = data
        params[5].type_id = 0
        return params

    def _run(self) -> None:
        import mpv

        render = mpv._mpv_render_context_render
        while not self._stop.is_set():
            self._wake.wait(0.1)
            self._wake.clear()
            if self._stop.is_set() or self._ctx is None:
                break
            try:
                if not self._ctx.update():
                    continue
                t0 = time.monotonic()
                render(self._ctx.handle, self._params)
                t = time.monotonic()
                self._ctx.report_swap()
                frame = self._read(t)
            except Exception as exc:  # a probe must never take the player down
                self.errors.append(repr(exc))
                continue
            with self._cond:
                self.render_ms.append((t - t0) * 1000)
                self._frames.append(frame)
                if len(self._frames) > self._keep:
                    del self._frames[: len(self._frames) - self._keep]
                self._cond.notify_all()

    def _patch(self, at: tuple[int, int]) -> float:
        y, x = at
        h = self._half
        return float(self._buf[max(0, y - h) : y + h + 1, max(0, x - h) : x + h + 1, :3].mean())

    def _read(self, t: float) -> Frame:
        mean = float(self._buf[::8, ::8, :3].mean())
        marker = level_to_index(self._patch(self._marker_at))
        code = None
        if self.read_code and marker is not None:
            code = 0
            for bit, at in enumerate(self._bits_at):
                if self._patch(at) > 128:
                    code |= 1 << bit
        return Frame(t, marker, code, mean)


# -- reading switches ----------------------------------------------------------------------


@dataclass
class Layout:
    """Where the segments are: a joined file (``path``) or one file per segment (``parts``)."""

    starts: list[float]
    ends: list[float]
    path: Path | None = None
    parts: list[Path] | None = None
    first: list[int] | None = None  # frame codes of segment starts (None: marker only)
    frames: list[int] | None = None
    tails: list[float] | None = None  # keyframes near each segment's end

    def target(self, i: int) -> tuple[Path, float, float | None]:
        if self.parts is not None:
            return self.parts[i], 0.0, None
        assert self.path is not None
        return self.path, self.starts[i], self.ends[i]


@dataclass
class Result:
    latency_ms: float | None
    hold_ms: float
    wrong: int
    skipped_first: bool
    event_lag_ms: float | None = None
    took_over: bool = False


def layouts(media: Any) -> tuple[Layout, Layout]:
    """The joined file and the one-file-per-segment layouts of a ``tests.joined_media.JoinedMedia``."""
    n = len(media.frames)
    starts = [media.start_s(i) for i in range(n)]
    ends = [media.end_s(i) for i in range(n)]
    tails = [media.tail_s(i) for i in range(n)]
    joined = Layout(starts, ends, path=media.path, first=media.first, frames=media.frames, tails=tails)
    parts = Layout(starts, ends, parts=media.parts, first=media.first, frames=media.frames)
    return joined, parts


# -- analysis -------------------------------------------------------------------------------


def distinct(frames: list[Frame], by_code: bool) -> list[Frame]:
    out: list[Frame] = []
    for f in frames:
        if by_code and out and f.code == out[-1].code and f.marker == out[-1].marker:
            continue
        out.append(f)
    return out


def analyse(
    frames: list[Frame], lay: Layout, olds: tuple[int, ...], new: int, t_cmd: float, t_stop: float
) -> Result:
    """One switch: frames rendered around ``t_cmd`` (see the module docstring).

    ``olds``: segments that may be on screen at the command (the first is the one expected;
    a later one means a ``set_next`` successor had already taken over: ``Result.took_over``).
    """
    by_code = lay.first is not None
    seq = distinct([f for f in frames if f.t <= t_stop], by_code)
    pre = max((k for k, f in enumerate(seq) if f.t <= t_cmd), default=0)

    def in_seg(f: Frame, i: int) -> bool:
        if not by_code:
            return f.marker == i % 10
        assert lay.first is not None and lay.frames is not None
        return (
            f.marker is not None
            and f.code is not None
            and lay.first[i] <= f.code < lay.first[i] + lay.frames[i]
        )

    old = next((i for i in olds if seq and in_seg(seq[pre], i)), olds[0])
    wrong, first_new, skipped = 0, None, False
    last_old = seq[pre].code if seq else None
    for k in range(pre + 1, len(seq)):
        f = seq[k]
        if f.marker is None:
            wrong += 1
        elif first_new is None and in_seg(f, old) and (not by_code or (f.code or 0) >= (last_old or 0)):
            last_old = f.code
        elif first_new is None and in_seg(f, new):
            first_new = k
            if by_code and lay.first is not None:
                offset = (f.code or 0) - lay.first[new]
                skipped = offset == 1
                if not 0 <= offset <= 1:
                    wrong += 1
        elif first_new is not None and in_seg(f, new):
            continue
        else:
            wrong += 1
    if first_new is None:
        return Result(None, 0.0, wrong + 1, False, took_over=old != olds[0])
    end = min(len(seq), first_new + 4)
    holds = [seq[k + 1].t - seq[k].t for k in range(pre, end - 1)]
    latency = (seq[first_new].t - t_cmd) * 1000
    return Result(latency, max(holds, default=0.0) * 1000, wrong, skipped, took_over=old != olds[0])


def _main() -> None:
    """Software render cost per frame (render call without waiting for the display time)."""
    import json
    import statistics
    import sys
    import tempfile
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from hardware.player.mpv_player import MpvPlayer
    from tests.joined_media import make_joined_media

    out: dict[str, float] = {}
    folder = Path(tempfile.gettempdir()) / "openrange-bench-media"
    for height in (720, 1080):
        media = make_joined_media(folder / f"{height}p", size=(height * 16 // 9, height))
        for size in ((320, 180), (640, 360), (1280, 720)):
            probe = FrameProbe(media.size, size, block=False)
            player = MpvPlayer(
                lambda e: None, options={"vo": "libmpv", "ao": "null"}, render_hook=probe.attach
            )
            player.open()
            try:
                player.play_segment(media.path, 0.0, 2.0, 1)
                time.sleep(2.2)
            finally:
                player.close()
            ms = sorted(probe.render_ms)
            key = f"{height}p_to_{size[1]}p"
            out[f"render_ms_median_{key}"] = round(statistics.median(ms), 2)
            out[f"render_ms_p95_{key}"] = round(ms[int(len(ms) * 0.95)], 2)
            median, p95 = out[f"render_ms_median_{key}"], out[f"render_ms_p95_{key}"]
            print(f"{height}p at {size[0]}x{size[1]}: {len(ms)} frames, median {median} ms, p95 {p95} ms")
    print(json.dumps(out))


if __name__ == "__main__":
    _main()
