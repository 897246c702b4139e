"""Installing a scenario package (a .zip) into the library, from the admin page or a USB stick.

The upload is written under ``<library>/.incoming/`` (hidden from the library's scan), checked
there — the manifest and every rule of the validator, then every media file with ffprobe and a
decoded frame at each scene's start (codec the player can play, long enough for the scenes that
use it) — and only then moved into the library with one rename. A refused package leaves
nothing behind: no file outside ``.incoming`` is ever written, and ``.incoming`` is cleaned.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ScenarioError
from appliance.scenario.library import ScenarioLibrary
from appliance.scenario.load import ScenarioPackage, try_load
from appliance.scenario.media_probe import MediaError, MediaTools, decode_thumbnail, probe_clip
from appliance.scenario.validate import Problem

log = logging.getLogger(__name__)

INCOMING = ".incoming"
PLAYABLE_CODECS = frozenset({"h264", "hevc"})
"""What the range's player decodes in hardware (Pi 4: H.264 and HEVC; Pi 5: HEVC) or fast enough."""
MAX_UPLOAD_BYTES = 4 << 30
DURATION_SLACK_S = 0.1
"""A scene may end this much after the media's reported duration (container rounding)."""


class InstallRefused(ScenarioError):
    """The package cannot be installed; ``problems`` says every reason, each with its place."""

    def __init__(self, problems: list[Problem], status: int = 422) -> None:
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems
        self.status = status


@dataclass(frozen=True)
class Installed:
    package: ScenarioPackage
    replaced: bool


def incoming_path(library: ScenarioLibrary) -> Path:
    """A fresh file name under the library's hidden incoming folder for an upload to be written to."""
    folder = library.library_dir / INCOMING
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{uuid.uuid4().hex}.zip"


def check_media(package: ScenarioPackage, tools: MediaTools) -> list[Problem]:
    """Every media file the scenes use: a video the player can play, covering each scene's range,
    with a decodable frame where each scene starts."""
    problems: list[Problem] = []
    users: dict[str, list[str]] = {}
    for scene_id, scene in package.manifest.scenes.items():
        users.setdefault(scene.media, []).append(scene_id)
    for media, scene_ids in sorted(users.items()):
        path = package.root / media
        try:
            clip = probe_clip(path, tools, label=media)
        except MediaError as exc:
            problems.append(Problem(f"media {media}", str(exc)))
            continue
        if clip.codec not in PLAYABLE_CODECS:
            problems.append(
                Problem(
                    f"media {media}",
                    f"video codec '{clip.codec}' is not one the range plays "
                    f"({', '.join(sorted(PLAYABLE_CODECS))}): repack it with 'openrange scenario pack'",
                )
            )
            continue
        for scene_id in scene_ids:
            scene = package.manifest.scenes[scene_id]
            end = scene.end_s if scene.end_s is not None else clip.duration_s
            if end > clip.duration_s + DURATION_SLACK_S:
                problems.append(
                    Problem(
                        f"scenes.{scene_id}.end_s",
                        f"{end:g} s is past the end of {media} ({clip.duration_s:.2f} s)",
                    )
                )
                continue
            try:
                decode_thumbnail(path, tools, seek_s=scene.start_s)
            except MediaError as exc:
                problems.append(Problem(f"scenes.{scene_id}.start_s", f"{exc} at {scene.start_s:g} s"))
    return problems


def install_package(
    upload: Path, library: ScenarioLibrary, tools: MediaTools, *, replace: bool = False
) -> Installed:
    """Check ``upload`` (a .zip written by ``incoming_path``) and move it into the library.

    Raises InstallRefused with every problem (409 when the id is taken and ``replace`` is not
    set). The upload and its unpacked copy are removed in every case."""
    staging = upload.with_suffix(".unpacked")
    try:
        package, problems = try_load(upload, extract_dir=staging)
        if package is None:  # problems about the whole zip name the box's temporary file: say "package"
            raise InstallRefused(
                [
                    Problem("package" if p.where.startswith(upload.name) else p.where, p.message)
                    for p in problems
                ]
            )
        problems = check_media(package, tools)
        if problems:
            raise InstallRefused(problems)
        scenario_id = package.id
        existing = next((p for p in library.list() if p.id == scenario_id), None)
        if existing is not None and not replace:
            raise InstallRefused(
                [
                    Problem(
                        "id", f"'{scenario_id}' is already installed ({existing.source.name}): replace it?"
                    )
                ],
                status=409,
            )
        if existing is not None and existing.source.is_dir():
            raise InstallRefused(
                [Problem("id", f"'{scenario_id}' is installed as a folder; remove it on the box first")],
                status=409,
            )
        target = library.library_dir / f"{scenario_id}.zip"
        os.replace(upload, target)
        for stale in _same_id_elsewhere(library, scenario_id, keep=target):
            stale.unlink(missing_ok=True)
        library.scan()
        installed = library.get(scenario_id)
        log.info("scenario %s (%s) installed as %s", scenario_id, package.manifest.version, target.name)
        return Installed(installed, replaced=existing is not None)
    finally:
        upload.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)


def remove_package(library: ScenarioLibrary, scenario_id: str) -> Path:
    """Take a scenario out of the library (its .zip is deleted; a folder package is refused)."""
    package = library.get(scenario_id)
    if package.source.is_dir():
        raise InstallRefused(
            [Problem("id", f"'{scenario_id}' is a folder package; remove it on the box")], 409
        )
    package.source.unlink()
    library.scan()
    log.info("scenario %s removed (%s)", scenario_id, package.source.name)
    return package.source


def _same_id_elsewhere(library: ScenarioLibrary, scenario_id: str, keep: Path) -> Iterable[Path]:
    """Older zips of the same scenario under another file name (replaced by the new one)."""
    return [
        p.source for p in library.list() if p.id == scenario_id and p.source.is_file() and p.source != keep
    ]


def clean_incoming(library: ScenarioLibrary) -> None:
    """Remove leftovers of uploads interrupted by a power cut (called at start-up)."""
    shutil.rmtree(library.library_dir / INCOMING, ignore_errors=True)
