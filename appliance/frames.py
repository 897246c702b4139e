"""Still frames of scenario media for the tablet: library thumbnails, the live view, hit frames.

Frames are decoded with OpenCV (``cv2.VideoCapture`` on the scenario's media file, seeking to a
media time: a scene's ``start_s`` plus its scene time, since packed scenarios share one joined
file), scaled to at most ``MAX_WIDTH`` pixels and encoded as JPEG. All decoding runs on one
worker thread of its own, never on the event loop; the last opened file stays open, so the live
view's repeated seeks into the same joined file do not reopen it.

* Thumbnails are cached under ``<data>/cache/frames`` by scenario id, version and the media
  file's modification time (a changed package gets a new one).
* Hit frames (a frame with a marker where a hit landed) are cached by session and event seq.
* The live frame decodes at most once per ``LIVE_INTERVAL_S`` and returns the cached JPEG in
  between (a Pi 4 serves several tablets polling it); static pictures (idle card, blank
  screen) are drawn once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np

from appliance.errors import NotFound
from appliance.scenario.load import ScenarioPackage
from appliance.snapshot import media_time

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_WIDTH = 640
JPEG_QUALITY = 80
LIVE_INTERVAL_S = 0.5
"""At most one live decode per this many seconds (about 2 per second)."""
THUMB_AT_S = 1.0
"""Thumbnails show the start scene this far in (or at a third of a shorter scene)."""
END_MARGIN_S = 0.05
"""Seeks stay this far before a segment's end, so a joined file never shows the next scene."""
MARKER_BGR = (0, 0, 255)


class FrameUnavailable(NotFound):
    """No frame can be made (media missing or undecodable, unknown scene); answered with 404."""


@dataclass(frozen=True)
class ProjectorView:
    """What the projector shows now, as far as a still frame goes."""

    kind: str
    """``media`` (a frame of ``media`` at ``media_t_s``), ``black`` (blank pause) or ``idle``."""
    media: Path | None = None
    media_t_s: float = 0.0
    text: str | None = None
    """The idle card's extra line."""


@dataclass(frozen=True)
class HitMark:
    """A hit to draw: where it landed (normalised video x, y) in which scene, at what scene time."""

    key: str
    """Cache key, unique per hit (session id and event seq)."""
    scene_id: str
    scene_t: float
    x: float
    y: float
    label: str = ""


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:60] or "_"


def encode_jpeg(image: np.ndarray, max_width: int = MAX_WIDTH) -> bytes:
    """JPEG bytes of a BGR image, scaled down (never up) to ``max_width``."""
    h, w = image.shape[:2]
    if w > max_width:
        image = cv2.resize(image, (max_width, max(1, round(h * max_width / w))), interpolation=cv2.INTER_AREA)
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise FrameUnavailable("the frame could not be encoded as JPEG")
    return buffer.tobytes()


def draw_hit_marker(image: np.ndarray, x: float, y: float, label: str | None = None) -> np.ndarray:
    """A copy of ``image`` with a ring and cross hair at normalised (x, y), and a label beside it."""
    out = image.copy()
    h, w = out.shape[:2]
    cx, cy = round(min(max(x, 0.0), 1.0) * (w - 1)), round(min(max(y, 0.0), 1.0) * (h - 1))
    r = max(6, w // 40)
    for colour, thick in (((255, 255, 255), 5), (MARKER_BGR, 2)):
        cv2.circle(out, (cx, cy), r, colour, thick, cv2.LINE_AA)
        cv2.line(out, (cx - 2 * r, cy), (cx - r // 2, cy), colour, thick, cv2.LINE_AA)
        cv2.line(out, (cx + r // 2, cy), (cx + 2 * r, cy), colour, thick, cv2.LINE_AA)
        cv2.line(out, (cx, cy - 2 * r), (cx, cy - r // 2), colour, thick, cv2.LINE_AA)
        cv2.line(out, (cx, cy + r // 2), (cx, cy + 2 * r), colour, thick, cv2.LINE_AA)
    cv2.circle(out, (cx, cy), 2, MARKER_BGR, -1, cv2.LINE_AA)
    if label:
        org = (min(cx + 2 * r + 4, w - 12 * len(label)), max(cy - r, 16))
        cv2.putText(out, label, org, cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 4, cv2.LINE_AA)
        cv2.putText(out, label, org, cv2.FONT_HERSHEY_SIMPLEX, 0.6, MARKER_BGR, 2, cv2.LINE_AA)
    return out


def idle_card(text: str | None, size: tuple[int, int] = (MAX_WIDTH, 360)) -> np.ndarray:
    """The projector's idle card as a picture (OpenCV's built-in Hershey font: no font files)."""
    w, h = size
    image = np.zeros((h, w, 3), np.uint8)

    def centred(line: str, y: int, scale: float, colour: tuple[int, int, int], thick: int) -> None:
        (tw, _), _ = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        while tw > w - 20 and scale > 0.3:
            scale *= 0.9
            (tw, _), _ = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        org = ((w - tw) // 2, y)
        cv2.putText(image, line, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)

    centred("OpenRange", h // 2 - 20, 1.6, (255, 255, 255), 3)
    centred("Ready", h // 2 + 25, 0.9, (160, 160, 160), 2)
    if text:
        centred(text, h // 2 + 75, 0.55, (208, 208, 208), 1)
    return image


class FrameStore:
    """Decodes, marks, encodes and caches frames on its own worker thread (see the module doc)."""

    def __init__(self, cache_dir: Path, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.cache_dir = Path(cache_dir)
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="frames")
        self._capture: tuple[Path, int, Any] | None = None
        self._live: tuple[ProjectorView, float, bytes] | None = None
        self._live_job: asyncio.Future[bytes] | None = None
        self._decoded_at = float("-inf")
        self._lock = threading.Lock()
        self.decodes = 0
        """Frames decoded so far (the rate limit's tests read it)."""
        self.live_renders = 0
        """Live pictures made so far (decoded or drawn), as opposed to served from the cache."""

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            if self._capture is not None:
                self._capture[2].release()
                self._capture = None

    # ---- decoding (worker thread) ----------------------------------------------------------
    def decode(self, media: Path, media_t_s: float) -> np.ndarray:
        """The BGR frame of ``media`` shown at ``media_t_s``; FrameUnavailable if there is none."""
        media = Path(media)
        try:
            mtime = media.stat().st_mtime_ns
        except OSError:
            raise FrameUnavailable(f"media file {media.name} is missing") from None
        with self._lock:
            if self._capture is None or self._capture[:2] != (media, mtime):
                if self._capture is not None:
                    self._capture[2].release()
                capture = cv2.VideoCapture(str(media), cv2.CAP_FFMPEG)
                if not capture.isOpened():
                    self._capture = None
                    raise FrameUnavailable(f"media file {media.name} cannot be decoded")
                self._capture = (media, mtime, capture)
            capture = self._capture[2]
            frame = None
            for t in (media_t_s, media_t_s - 0.2, 0.0):  # past the end: step back
                capture.set(cv2.CAP_PROP_POS_MSEC, max(0.0, t) * 1000.0)
                ok, frame = capture.read()
                if ok and frame is not None:
                    break
                frame = None
            self.decodes += 1
        if frame is None:
            raise FrameUnavailable(f"no frame of {media.name} at {media_t_s:.2f} s")
        return frame

    def _cached(self, path: Path, make: Callable[[], bytes]) -> bytes:
        try:
            return path.read_bytes()
        except OSError:
            pass
        data = make()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(path)
        except OSError as exc:
            log.warning("cannot cache frame %s: %s", path, exc)
        return data

    def thumbnail_sync(self, package: ScenarioPackage) -> bytes:
        """The library card's picture: the start scene a moment in (cached, see the module doc)."""
        m = package.manifest
        scene = m.scenes[m.start]
        media = package.media_path(m.start)
        try:
            mtime = media.stat().st_mtime_ns
        except OSError:
            raise FrameUnavailable(f"{m.title}: media file {scene.media} is missing") from None
        length = (scene.end_s - scene.start_s) if scene.end_s is not None else 3 * THUMB_AT_S
        at = scene.start_s + min(THUMB_AT_S, length / 3)
        path = self.cache_dir / "thumbs" / f"{_safe(m.id)}-{_safe(m.version)}-{mtime}.jpg"
        return self._cached(path, lambda: encode_jpeg(self.decode(media, at), 480))

    def hit_frame_sync(self, package: ScenarioPackage, hit: HitMark) -> bytes:
        """The frame a hit landed on, with its marker; cached under the hit's key."""
        scene = package.manifest.scenes.get(hit.scene_id)
        if scene is None:
            raise FrameUnavailable(f"scenario {package.id} has no scene {hit.scene_id!r} any more")
        at = media_time(scene, hit.scene_t)
        if scene.end_s is not None:
            at = min(at, scene.end_s - END_MARGIN_S)
        media = package.media_path(hit.scene_id)
        path = self.cache_dir / "hits" / f"{_safe(hit.key)}.jpg"

        def make() -> bytes:
            return encode_jpeg(draw_hit_marker(self.decode(media, at), hit.x, hit.y, hit.label))

        return self._cached(path, make)

    def view_sync(self, view: ProjectorView) -> bytes:
        """The JPEG of a projector view (blocking: runs on the worker thread)."""
        self.live_renders += 1
        if view.kind == "idle":
            return encode_jpeg(idle_card(view.text))
        if view.kind == "media" and view.media is not None:
            try:
                return encode_jpeg(self.decode(view.media, view.media_t_s))
            except FrameUnavailable as exc:
                log.debug("live frame: %s", exc)
        return encode_jpeg(np.zeros((360, MAX_WIDTH, 3), np.uint8))

    # ---- loop side -------------------------------------------------------------------------
    async def thumbnail(self, package: ScenarioPackage) -> bytes:
        return await self._run(self.thumbnail_sync, package)

    async def hit_frame(self, package: ScenarioPackage, hit: HitMark) -> bytes:
        return await self._run(self.hit_frame_sync, package, hit)

    async def live(self, view: ProjectorView) -> bytes:
        """The live frame for ``view``: decoded at most every ``LIVE_INTERVAL_S``, else the cached one.

        A static view (idle card, blank) is drawn once, at once; concurrent callers share one job.
        """
        now = self._clock()
        job = self._live_job
        if view.kind == "media" and job is not None and not job.done():
            return await asyncio.shield(job)  # a decode is under way: share it
        cached = self._live
        if cached is not None:
            last_view, _, data = cached
            if view.kind != "media" and last_view == view:
                return data
            if view.kind == "media" and now - self._decoded_at < LIVE_INTERVAL_S:
                return data
        job = asyncio.ensure_future(self._run(self.view_sync, view))
        self._live_job = job
        if view.kind == "media":
            self._decoded_at = now
        data = await asyncio.shield(job)
        self._live = (view, self._clock(), data)
        return data
