"""The built-in demo scenario library, rendered with ffmpeg (and espeak-ng) on first run.

``ensure_demo_library(dir)`` writes one folder package per demo scenario under ``dir``
(``<id>/manifest.yaml`` and ``<id>/media/scenario.mp4``). Each scene is rendered to a fast
lossless intermediate clip, then the packer's join step (``appliance.scenario.pack``) encodes all
of them once into the one joined file, with a keyframe exactly at every segment start, a short
hold at decision points, and a check by decoding. A stamp in each package records a fingerprint
of the scenario's script, the render size and rate, the renderer version, the join settings and
whether speech was available; a package whose stamp matches and whose media exist is left alone.
A package is built in a hidden temporary folder next to its target and renamed into place, so an
interrupted run never leaves a half package that looks complete. The demo ids are reserved: a
folder with a demo scenario's id and a stale (or missing) stamp is replaced.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import logging
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from appliance.demo_library.build import (
    DEMO_HOLD_S,
    MANIFEST_HEADER,
    STAMP_NAME,
    build_packages,
    demo_profile,
)
from appliance.demo_library.render import RENDERER_VERSION, find_tools, speech_available
from appliance.demo_library.scripts import DEMO_SCENARIOS
from appliance.demo_library.staging import BACKDROPS, ScenarioScript
from appliance.scenario.pack import JOINED_MEDIA

__all__ = [
    "DEMO_HOLD_S",
    "DEMO_SCENARIOS",
    "MANIFEST_HEADER",
    "STAMP_NAME",
    "demo_profile",
    "ensure_demo_library",
    "scenario_fingerprint",
]

log = logging.getLogger(__name__)

LOCK_NAME = ".demo-library.lock"

Progress = Callable[[int, int, str], None]
"""progress(done, total, label): called after each rendered clip and after each scenario's join."""


def ensure_demo_library(
    library_dir: Path,
    *,
    size: tuple[int, int] = (1280, 720),
    fps: int = 30,
    progress: Progress | None = None,
) -> list[Path]:
    """Make sure every demo package exists under ``library_dir``, rendering only what is stale.

    Returns the package folders in the order of ``DEMO_SCENARIOS``. Raises RuntimeError when
    ffmpeg is missing or fails (naming the clip), ValueError for an unusable size or rate.
    """
    _check_format(size, fps)
    library_dir.mkdir(parents=True, exist_ok=True)
    packages = [library_dir / scenario.id for scenario in DEMO_SCENARIOS]
    with _library_lock(library_dir):
        _remove_leftovers(library_dir)
        speech = speech_available()
        stale: list[tuple[ScenarioScript, str]] = []
        for scenario in DEMO_SCENARIOS:
            fingerprint = scenario_fingerprint(scenario, size, fps, speech)
            if not _is_current(library_dir / scenario.id, fingerprint):
                stale.append((scenario, fingerprint))
        if not stale:
            return packages
        tools = find_tools()
        total = sum(len(scenario.scenes) + 1 for scenario, _ in stale)
        done = 0

        def step_done(label: str) -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, total, label)

        build_packages(library_dir, stale, size=size, fps=fps, tools=tools, step_done=step_done)
    return packages


def scenario_fingerprint(scenario: ScenarioScript, size: tuple[int, int], fps: int, speech: bool) -> str:
    """A hash of everything a package's files depend on."""
    definition = {
        "scenario": dataclasses.asdict(scenario),
        "backdrop": dataclasses.asdict(BACKDROPS[scenario.setting]),
        "size": list(size),
        "fps": fps,
        "renderer": RENDERER_VERSION,
        "join": dataclasses.asdict(demo_profile(size, fps)),
        "hold_s": DEMO_HOLD_S,
        "speech": speech,
    }
    text = json.dumps(definition, sort_keys=True, default=_jsonable)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _jsonable(value: object) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def _check_format(size: tuple[int, int], fps: int) -> None:
    width, height = size
    if width < 32 or height < 32 or width % 2 or height % 2:
        raise ValueError(f"demo size must be even and at least 32x32 (H.264 yuv420p), got {width}x{height}")
    if not 1 <= fps <= 120:
        raise ValueError(f"demo fps must be between 1 and 120, got {fps}")


def _is_current(package: Path, fingerprint: str) -> bool:
    try:
        stamp = json.loads((package / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(stamp, dict) or stamp.get("fingerprint") != fingerprint:
        return False
    files = [package / "manifest.yaml", package / JOINED_MEDIA]
    return all(f.is_file() and f.stat().st_size > 0 for f in files)


def _remove_leftovers(library_dir: Path) -> None:
    """Temporary folders of an interrupted earlier run (we hold the lock, so none is live)."""
    prefixes = tuple(f".{s.id}.{kind}-" for s in DEMO_SCENARIOS for kind in ("tmp", "old"))
    for entry in library_dir.iterdir():
        if entry.name.startswith(prefixes) and entry.is_dir():
            log.info("removing leftover %s", entry)
            shutil.rmtree(entry, ignore_errors=True)


@contextmanager
def _library_lock(library_dir: Path) -> Iterator[None]:
    """One builder at a time: a second process waits, then finds the packages current."""
    with open(library_dir / LOCK_NAME, "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
