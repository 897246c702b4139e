"""Load a scenario package (a folder or a .zip of one) into a :class:`ScenarioPackage`.

Loading always validates first (``validate.validate_path``) and refuses a package with any problem.
A zip is unpacked safely into ``extract_dir``: every member is checked again while unpacking,
nothing is written outside a fresh temporary folder, and that folder is renamed into place in one
step. An extraction is named after the zip's path, size and modification time, so an unchanged
zip is unpacked once and re-used on every later load.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from appliance.errors import NotFound, ScenarioError
from appliance.scenario.model import Manifest
from appliance.scenario.validate import (
    MANIFEST_NAMES,
    MAX_ZIP_TOTAL,
    Problem,
    check_manifest,
    inspect_zip,
    validate_path,
    zip_member_problem,
)

log = logging.getLogger(__name__)

DEFAULT_EXTRACT_DIR = Path(tempfile.gettempdir()) / "openrange-scenarios"
_EXTRACTION = re.compile(r"^[A-Za-z0-9_-]+-[0-9a-f]{12}-\d+-\d+$")
_TMP_PREFIX = ".unpacking-"
_STALE_TMP_S = 3600.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ScenarioPackage:
    """A validated package ready to play."""

    root: Path
    """Folder holding the manifest (for a zip: inside its extraction); absolute."""
    manifest: Manifest = field(hash=False)
    source: Path
    """What was loaded: the package folder or the .zip."""

    @property
    def id(self) -> str:
        return self.manifest.id

    def media_path(self, scene_id: str) -> Path:
        """Absolute path of a scene's media file; raises NotFound for an unknown scene."""
        scene = self.manifest.scenes.get(scene_id)
        if scene is None:
            raise NotFound(f"scenario '{self.id}' has no scene '{scene_id}'")
        return self.root / scene.media


def load_package(path: Path, *, extract_dir: Path | None = None) -> ScenarioPackage:
    """Validate and load a package folder or .zip.

    Raises ScenarioError whose ``problems`` lists every problem found ("where: message").
    """
    package, problems = try_load(path, extract_dir=extract_dir)
    if package is None:
        raise ScenarioError(
            f"{path}: not a usable scenario package ({len(problems)} problem(s))", [str(p) for p in problems]
        )
    return package


def try_load(path: Path, *, extract_dir: Path | None = None) -> tuple[ScenarioPackage | None, list[Problem]]:
    """Like load_package, but return (None, problems) instead of raising."""
    path = Path(path)
    manifest, problems = validate_path(path)
    if problems or manifest is None:
        return None, problems or [Problem(str(path), "could not be read")]
    if path.is_dir():
        root = path
    elif path.name in MANIFEST_NAMES:
        root = path.parent
    else:
        target = extract_dir if extract_dir is not None else DEFAULT_EXTRACT_DIR
        try:
            root = extract_zip(path, target)
            problems = check_manifest(manifest, root)
            if problems:  # someone changed the extraction: unpack again, once
                log.warning("extraction of %s was damaged; unpacking it again", path)
                root = extract_zip(path, target, fresh=True)
                problems = check_manifest(manifest, root)
        except Exception as exc:  # a hostile zip fails in many ways (zlib.error, EOFError, ...)
            log.warning("cannot unpack %s: %s", path, exc)
            return None, [Problem(path.name, f"cannot unpack: {exc}")]
        if problems:
            return None, problems
    return ScenarioPackage(root=root.resolve(), manifest=manifest, source=path), []


def extraction_name(zip_path: Path) -> str:
    """Folder name of a zip's extraction: its name, a digest of its path, its size and mtime."""
    st = zip_path.stat()
    digest = hashlib.sha256(str(zip_path.resolve()).encode()).hexdigest()[:12]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", zip_path.stem)[:40] or "package"
    return f"{stem}-{digest}-{st.st_size}-{st.st_mtime_ns}"


def extract_zip(zip_path: Path, extract_dir: Path, *, fresh: bool = False) -> Path:
    """Unpack a package zip (or re-use its up-to-date extraction); return the package root.

    Raises ScenarioError for an unsafe zip and OSError when the disk fails or is full.
    """
    name = extraction_name(zip_path)
    final = extract_dir / name
    with zipfile.ZipFile(zip_path) as zf:
        prefix, problems = inspect_zip(zf, zip_path.name)
        if problems or prefix is None:
            raise ScenarioError(f"unsafe zip: {problems[0] if problems else 'no manifest'}")
        if fresh and final.exists():
            shutil.rmtree(final)
        if not final.is_dir():
            _unpack_into(zf, extract_dir, final)
    _remove_older(extract_dir, name)
    return final / prefix if prefix else final


def _unpack_into(zf: zipfile.ZipFile, extract_dir: Path, final: Path) -> None:
    extract_dir.mkdir(parents=True, exist_ok=True)
    needed = sum(i.file_size for i in zf.infolist())
    free = shutil.disk_usage(extract_dir).free
    if needed > free:
        raise OSError(f"not enough disk space: {needed} bytes needed, {free} free")
    tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=extract_dir))
    try:
        _unpack(zf, tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():  # not another loader finishing first
                raise
        log.info("unpacked %s into %s", zf.filename, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _unpack(zf: zipfile.ZipFile, dest: Path) -> None:
    """Write every member under ``dest``, checking each one again; never writes outside it."""
    base = dest.resolve()
    budget = MAX_ZIP_TOTAL
    for info in zf.infolist():
        bad = zip_member_problem(info)
        if bad:
            raise ScenarioError(f"{info.filename}: {bad}")
        if info.filename.startswith("__MACOSX/"):
            continue
        target = (base / info.filename).resolve()
        if target != base and not target.is_relative_to(base):
            raise ScenarioError(f"{info.filename}: would be written outside the package")
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, target.open("xb") as dst:  # "x": never through an existing entry
            budget -= _copy(src, dst, budget)


def _copy(src: BinaryIO, dst: BinaryIO, budget: int) -> int:
    copied = 0
    while chunk := src.read(_CHUNK):
        copied += len(chunk)
        if copied > budget:
            raise ScenarioError(f"unpacks to more than {MAX_ZIP_TOTAL >> 30} GiB")
        dst.write(chunk)
    return copied


def _remove_older(extract_dir: Path, name: str) -> None:
    """Remove earlier extractions of the same zip (same path digest, other size or mtime)."""
    family = name.rsplit("-", 2)[0] + "-"
    for entry in extract_dir.iterdir():
        if entry.name != name and entry.name.startswith(family) and _EXTRACTION.match(entry.name):
            shutil.rmtree(entry, ignore_errors=True)


def prune_extractions(extract_dir: Path, keep: Iterable[Path]) -> None:
    """Remove extractions of zips other than ``keep`` and temporary folders left by a crash."""
    if not extract_dir.is_dir():
        return
    wanted = set()
    for zip_path in keep:
        try:
            wanted.add(extraction_name(zip_path))
        except OSError:
            continue
    now = time.time()
    for entry in extract_dir.iterdir():
        if _EXTRACTION.match(entry.name) and entry.name not in wanted:
            log.info("removing old extraction %s", entry)
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(_TMP_PREFIX) and now - entry.stat().st_mtime > _STALE_TMP_S:
            shutil.rmtree(entry, ignore_errors=True)
