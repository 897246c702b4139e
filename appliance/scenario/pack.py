"""Pack an author's scenario package (one clip per scene) into a playable one with one joined file.

``pack_package(source, output)`` validates the source, probes every clip (before any long work),
encodes all scenes' segments back to back into ``media/scenario.mp4`` with a keyframe exactly at
each segment start (``transcode.py``), verifies the result by decoding it (``pack_verify.py``),
rewrites every scene's ``media``/``start_s``/``end_s`` to its place in the joined file, validates
the new package and moves it into place in one step. Switching scenes is then an exact seek inside
one file instead of loading another clip. docs/packing.md is the authors' guide.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from appliance.errors import ScenarioError
from appliance.scenario.load import try_load
from appliance.scenario.media_probe import ClipInfo, MediaError, MediaTools, find_media_tools, probe_clip
from appliance.scenario.model import Manifest
from appliance.scenario.pack_verify import check_joined
from appliance.scenario.transcode import PROFILES, Placement, Profile, SegmentSource, join_segments
from appliance.scenario.validate import MANIFEST_NAMES, validate_path

__all__ = [
    "JOINED_MEDIA",
    "PROFILES",
    "OutputExists",
    "PackError",
    "PackResult",
    "Profile",
    "build_package",
    "check_hold",
    "check_paths",
    "pack_package",
    "resolve_profile",
]

log = logging.getLogger(__name__)

JOINED_MEDIA = "media/scenario.mp4"
"""The one media file of a packed package, relative to its root."""
DEFAULT_PROFILE = "h264-720p30"
MAX_HOLD_S = 5.0

PackProgress = Callable[[float, str], None]
"""progress(fraction, stage): fraction of the whole pack done (never decreasing), stage
'probing', 'encoding', 'verifying' or 'done'."""

_STAGES = {"probing": (0.0, 0.02), "encoding": (0.02, 0.9), "verifying": (0.9, 1.0)}


class PackError(ScenarioError):
    """The source cannot be packed; ``problems`` lists every reason found."""


class OutputExists(FileExistsError):
    """The output is already there and replacing it was not asked for."""


@dataclass(frozen=True)
class PackResult:
    output: Path
    manifest: Manifest
    profile: Profile
    placements: dict[str, Placement]
    """Scene id -> where its segment is in the joined file."""

    @property
    def duration_s(self) -> float:
        return max(p.end_frame for p in self.placements.values()) / self.profile.fps


def resolve_profile(profile: str | Profile) -> Profile:
    """A profile by name (see PROFILES) or as given; ValueError for an unknown name."""
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise ValueError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}") from None


def check_hold(hold_s: float) -> None:
    """ValueError unless ``hold_s`` is a usable hold (0..MAX_HOLD_S seconds)."""
    if not 0.0 <= hold_s <= MAX_HOLD_S:  # also refuses NaN
        raise ValueError(f"hold_s must be between 0 and {MAX_HOLD_S:g} seconds, got {hold_s:g}")


def pack_package(
    source: Path,
    output: Path,
    *,
    profile: str | Profile = DEFAULT_PROFILE,
    hold_s: float = 0.0,
    force: bool = False,
    progress: PackProgress | None = None,
) -> PackResult:
    """Pack the package at ``source`` (folder, manifest file or .zip) into ``output``.

    ``output`` is a folder, or a zip when its name ends with ``.zip``. Scenes without ``on_end``
    get ``hold_s`` seconds of their last frame appended inside their segment. Raises PackError
    (with every problem) for an unusable source, MediaError for a bad clip or a failed check,
    OutputExists, ValueError for bad arguments and RuntimeError when ffmpeg is missing or fails.
    Nothing is left at ``output`` unless packing succeeded.
    """
    chosen = resolve_profile(profile)
    check_hold(hold_s)
    source, output = Path(source), Path(output)
    check_paths(source, output, force)
    tools = find_media_tools()
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.packing-", dir=output.parent))
    try:
        package, problems = try_load(source, extract_dir=staging / "unpacked")
        if package is None:
            raise PackError(f"{source}: not a usable scenario package", [str(p) for p in problems])
        folder = staging / "package"
        folder.mkdir()
        raw, name = read_raw_manifest(package.root)
        result = build_package(
            package.root, raw, folder, chosen, tools, hold_s=hold_s, progress=progress, manifest_name=name
        )
        built = folder
        if output.suffix.lower() == ".zip":
            built = staging / "package.zip"
            _zip_folder(folder, built)
        _, problems = validate_path(built)
        if problems:
            raise PackError("the packed package does not validate", [str(p) for p in problems])
        _move_into_place(built, output, staging, force)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("packed %s into %s (%s, %.1f s)", source, output, chosen.name, result.duration_s)
    if progress is not None:
        progress(1.0, "done")
    return PackResult(output, result.manifest, chosen, result.placements)


def build_package(
    root: Path,
    raw_manifest: dict[str, Any],
    dest: Path,
    profile: Profile,
    tools: MediaTools,
    *,
    hold_s: float = 0.0,
    progress: PackProgress | None = None,
    manifest_name: str = "manifest.yaml",
    header: str | None = None,
    verify: bool = True,
) -> PackResult:
    """Write the packed package into the existing folder ``dest`` (no validation, no atomic move).

    ``root`` holds the source clips the manifest names; ``raw_manifest`` is the source manifest as
    plain data (it must already be valid). Used by pack_package and by the demo library.
    """
    manifest = Manifest.model_validate(raw_manifest)
    stages = _Stages(progress)
    clips = _probe_clips(root, manifest, tools, stages.reporter("probing"))
    sources = [
        SegmentSource(
            clip=clips[scene.media],
            start_s=scene.start_s,
            end_s=scene.end_s,
            hold_s=hold_s if scene.on_end is None else 0.0,
            label=f"scenes.{sid}",
        )
        for sid, scene in manifest.scenes.items()
    ]
    joined = dest / JOINED_MEDIA
    joined.parent.mkdir(parents=True, exist_ok=True)
    placed = join_segments(sources, joined, profile, tools, progress=stages.reporter("encoding"))
    if verify:
        check_joined(joined, sources, placed, profile, tools, progress=stages.reporter("verifying"))
    placements = dict(zip(manifest.scenes, placed, strict=True))
    packed = rewrite_manifest(raw_manifest, placements)
    _write_manifest(dest / manifest_name, packed, _default_header(profile) if header is None else header)
    return PackResult(dest, Manifest.model_validate(packed), profile, placements)


def rewrite_manifest(raw: dict[str, Any], placements: dict[str, Placement]) -> dict[str, Any]:
    """The manifest with every scene's media, start_s and end_s pointing into the joined file."""
    scenes = {}
    for sid, scene in raw["scenes"].items():
        place, entry = placements[sid], {}
        for key, value in scene.items():
            if key == "media":
                entry |= {"media": JOINED_MEDIA, "start_s": place.start_s, "end_s": place.end_s}
            elif key not in ("start_s", "end_s"):
                entry[key] = value
        scenes[sid] = entry
    return {**raw, "scenes": scenes}


def read_raw_manifest(root: Path) -> tuple[dict[str, Any], str]:
    """The manifest under ``root`` as plain data, and its file name."""
    name = next(n for n in MANIFEST_NAMES if (root / n).is_file())
    text = (root / name).read_text(encoding="utf-8-sig")
    raw = json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
    return raw, name


def check_paths(source: Path, output: Path, force: bool) -> None:
    """OutputExists for an existing output (without ``force``), ValueError when the two overlap."""
    if (output.exists() or output.is_symlink()) and not force:
        raise OutputExists(f"{output} already exists: use --force to replace it")
    src = (source.parent if source.name in MANIFEST_NAMES else source).resolve()
    out = output.resolve()
    if out == src or out.is_relative_to(src) or src.is_relative_to(out):
        raise ValueError(f"{output}: the output must not be the source package, inside it or around it")


def _probe_clips(
    root: Path, manifest: Manifest, tools: MediaTools, report: Callable[[float], None]
) -> dict[str, ClipInfo]:
    """Probe every distinct clip once; PackError naming every clip that is not a usable video."""
    clips: dict[str, ClipInfo] = {}
    problems: list[str] = []
    media = {}
    for sid, scene in manifest.scenes.items():
        media.setdefault(scene.media, sid)
    for n, (path, sid) in enumerate(media.items(), start=1):
        try:
            clips[path] = probe_clip(root / path, tools, label=path)
        except MediaError as exc:
            problems.append(f"scenes.{sid}.media: {exc}")
        report(n / len(media))
    if problems:
        raise PackError(f"{len(problems)} clip(s) cannot be used", problems)
    return clips


def _write_manifest(path: Path, manifest: dict[str, Any], header: str) -> None:
    if path.suffix == ".json":
        path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return
    text = yaml.dump(manifest, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(header + text, encoding="utf-8")


class _PlainDumper(yaml.SafeDumper):
    """Writes shared values out in full instead of as YAML anchors and aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _default_header(profile: Profile) -> str:
    return (
        f"# Packed by 'openrange scenario pack' (profile {profile.name}): every scene is a segment\n"
        f"# of {JOINED_MEDIA}. Edit the source package and pack it again rather than this file.\n"
    )


def _zip_folder(folder: Path, zip_path: Path) -> None:
    """Zip the package with its files at the root; the video is stored (it does not compress)."""
    with zipfile.ZipFile(zip_path, "w", allowZip64=True) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = path.relative_to(folder).as_posix()
            method = zipfile.ZIP_STORED if path.suffix.lower() == ".mp4" else zipfile.ZIP_DEFLATED
            zf.write(path, name, compress_type=method)


def _move_into_place(built: Path, output: Path, staging: Path, force: bool) -> None:
    """Rename ``built`` onto ``output`` (same file system); an old output is moved aside first."""
    if output.exists() or output.is_symlink():
        if not force:
            raise OutputExists(f"{output} appeared while packing: not replaced")
        aside = staging / "replaced"
        os.rename(output, aside)
        try:
            os.rename(built, output)
        except OSError:
            os.rename(aside, output)
            raise
        return
    if built.is_file():
        try:
            os.link(built, output)  # fails instead of overwriting a file that appeared meanwhile
            return
        except FileExistsError:
            raise OutputExists(f"{output} appeared while packing: not replaced") from None
        except OSError:  # a file system without hard links
            pass
    os.rename(built, output)


class _Stages:
    """Maps each stage's own 0..1 onto the whole pack and never reports going backwards."""

    def __init__(self, hook: PackProgress | None) -> None:
        self.hook = hook
        self.last = -1.0

    def reporter(self, stage: str) -> Callable[[float], None]:
        low, high = _STAGES[stage]
        return lambda fraction: self._emit(low + (high - low) * min(1.0, max(0.0, fraction)), stage)

    def _emit(self, value: float, stage: str) -> None:
        if self.hook is not None and value > self.last:
            self.last = value
            self.hook(value, stage)
