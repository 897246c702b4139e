"""Check a scenario package and name every problem found, each with its place.

``validate_path`` reads a folder or a .zip (without unpacking it), parses the manifest, turns every
pydantic error into a :class:`Problem` with a dotted location, and runs the semantic checks of
``check_manifest``. It never raises on bad input. Media files are only looked at (present, a file,
not empty), never decoded. docs/scenarios.md lists the rules for authors.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from pydantic import ValidationError

from appliance.scenario.graph import check_graph
from appliance.scenario.model import FORMAT_V1, Manifest
from appliance.scenario.problems import Problem

log = logging.getLogger(__name__)

__all__ = ["Problem", "check_graph", "check_manifest", "manifest_from_bytes", "validate_path"]

MANIFEST_NAMES = ("manifest.yaml", "manifest.json")
MAX_MANIFEST_BYTES = 1 << 20
MAX_ZIP_MEMBERS = 2000
MAX_ZIP_TOTAL = 4 << 30
BOMB_RATIO = 200
BOMB_MIN_BYTES = 10 << 20
MAX_VALUES = 100_000
"""Values in a parsed manifest, counting every use of a YAML alias (stops 'billion laughs')."""
MAX_DEPTH = 64
MAX_WALK = 20_000
"""Entries of a package folder looked at for symlinks that leave it."""

_DRIVE = re.compile(r"^[A-Za-z]:")
_PATTERN_HINTS = {
    r"^[a-z0-9][a-z0-9_-]{0,63}$": "must be an id: lower-case letters, digits, '-' and '_', "
    "starting with a letter or digit, at most 64 characters",
    r"^#[0-9a-fA-F]{6}$": "must be a colour written #rrggbb",
    r"^[0-9a-z]$": "must be one character, 0-9 or a-z",
}


# --- entry points ------------------------------------------------------------------------------


def validate_path(path: Path) -> tuple[Manifest | None, list[Problem]]:
    """Check a package folder, a package .zip or a manifest file; never raises on bad input.

    Returns the manifest when it could be read and typed (even if semantic problems remain) and
    every problem found; an empty list means the package is usable.
    """
    path = Path(path)
    try:
        if path.is_dir():
            return _validate_folder(path)
        if path.is_file():
            if path.name in MANIFEST_NAMES:
                return _validate_folder(path.parent)
            if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
                return _validate_zip(path)
            return None, [Problem(path.name, "not a scenario package: give a folder or a .zip")]
        return None, [Problem(str(path), "no such file or folder" if not path.exists() else "not a file")]
    except OSError as exc:
        return None, [Problem(str(path), f"cannot read: {exc}")]
    except Exception as exc:  # validation must never end in a traceback
        log.exception("unexpected error while validating %s", path)
        return None, [Problem(str(path), f"could not be checked: {type(exc).__name__}: {exc}")]


def check_manifest(manifest: Manifest, root: Path) -> list[Problem]:
    """Semantic checks of a typed manifest plus its media files under ``root``."""
    problems = check_graph(manifest)
    for sid, scene in manifest.scenes.items():
        message = _media_on_disk(root, scene.media)
        if message:
            problems.append(Problem(f"scenes.{sid}.media", message))
    return problems


def manifest_from_bytes(data: bytes, name: str) -> tuple[Manifest | None, list[Problem]]:
    """Parse and type a manifest's bytes; ``name`` (e.g. 'manifest.yaml') picks the syntax."""
    raw, problems = _parse(data, name)
    if raw is None:
        return None, problems
    fmt = raw.get("format")
    if fmt is not None and fmt != FORMAT_V1:
        return None, [Problem("format", f"unknown format {fmt!r}: this appliance reads {FORMAT_V1!r}")]
    try:
        return Manifest.model_validate(raw), []
    except ValidationError as err:
        return None, [Problem(_location(e["loc"], raw, e["type"]), _message(e)) for e in err.errors()]


# --- folders -----------------------------------------------------------------------------------


def _validate_folder(root: Path) -> tuple[Manifest | None, list[Problem]]:
    present = [n for n in MANIFEST_NAMES if (root / n).is_file()]
    if not present:
        return None, [Problem("manifest", "missing: put manifest.yaml (or manifest.json) at the root")]
    if len(present) > 1:
        return None, [Problem("manifest", "both manifest.yaml and manifest.json are present: keep one")]
    name = present[0]
    with (root / name).open("rb") as f:
        data = f.read(MAX_MANIFEST_BYTES + 1)
    manifest, problems = manifest_from_bytes(data, name)
    problems += _symlinks_leaving(root)
    if manifest is not None:
        problems += check_manifest(manifest, root)
    return manifest, problems


def _symlinks_leaving(root: Path) -> list[Problem]:
    base, seen, out = root.resolve(), 0, []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            seen += 1
            if seen > MAX_WALK:
                return [*out, Problem(str(root), f"more than {MAX_WALK} files: not a scenario package?")]
            entry = Path(dirpath, name)
            if entry.is_symlink() and not _inside(entry, base):
                where = entry.relative_to(root).as_posix()
                out.append(Problem(where, f"symlink points outside the package (to {os.readlink(entry)})"))
    return out


def _inside(path: Path, base: Path) -> bool:
    try:
        return path.resolve().is_relative_to(base)
    except (OSError, RuntimeError):  # symlink loop
        return False


def _media_on_disk(root: Path, media: str) -> str | None:
    bad = unsafe_name(media)
    if bad:
        return bad
    path = root / media
    if not _inside(path, root.resolve()):
        return f"'{media}' leads outside the package (through a symlink)"
    try:
        st = path.stat()
    except FileNotFoundError:
        return f"file '{media}' is missing"
    except OSError as exc:
        return f"cannot read '{media}': {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        return f"'{media}' is not a regular file"
    if st.st_size == 0:
        return f"file '{media}' is empty"
    return None


def unsafe_name(name: str) -> str | None:
    """Why a package-relative path (media path or zip member name) is unsafe, or None."""
    if "\\" in name:
        return "contains '\\': use '/' between folders"
    if name.startswith("/") or _DRIVE.match(name):
        return "absolute path: must be relative to the package root"
    if ".." in PurePosixPath(name).parts:
        return "contains '..': must stay inside the package"
    if "\x00" in name:
        return "contains a NUL character"
    return None


# --- zips --------------------------------------------------------------------------------------


def zip_member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why one zip member must not be unpacked, or None."""
    bad = unsafe_name(info.filename)
    if bad:
        return bad
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symlink members are not allowed"
    if info.flag_bits & 0x1:
        return "encrypted members are not supported"
    if info.file_size > BOMB_MIN_BYTES and info.file_size > BOMB_RATIO * max(info.compress_size, 1):
        return f"compressed more than {BOMB_RATIO}:1 (zip bomb?)"
    return None


def inspect_zip(zf: zipfile.ZipFile, label: str) -> tuple[str | None, list[Problem]]:
    """Check every member; return the manifest's folder prefix ('' or 'name/') and the problems."""
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        return None, [Problem(label, f"{len(infos)} members: at most {MAX_ZIP_MEMBERS}")]
    out: list[Problem] = []
    names: set[str] = set()
    for info in infos:
        bad = zip_member_problem(info)
        if bad:
            out.append(Problem(info.filename, bad))
        if info.filename in names:
            out.append(Problem(info.filename, "appears twice in the zip"))
        names.add(info.filename)
    total = sum(i.file_size for i in infos)
    if total > MAX_ZIP_TOTAL:
        out.append(Problem(label, f"unpacks to {total / 2**30:.1f} GiB: at most {MAX_ZIP_TOTAL >> 30} GiB"))
    files = [n for n in names if not n.endswith("/") and not n.startswith("__MACOSX/")]
    if any(n in MANIFEST_NAMES for n in files):
        return "", out
    folders = sorted({n.split("/")[0] + "/" for n in files if n.count("/") == 1 and _is_manifest(n)})
    if len(folders) == 1:
        return folders[0], out
    if folders:
        out.append(
            Problem(label, f"manifests in several folders ({', '.join(folders)}): one package per zip")
        )
    else:
        out.append(Problem(label, "no manifest.yaml or manifest.json at the root or in one top-level folder"))
    return None, out


def _is_manifest(name: str) -> bool:
    return name.rsplit("/", 1)[-1] in MANIFEST_NAMES


def _validate_zip(path: Path) -> tuple[Manifest | None, list[Problem]]:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as exc:
        return None, [Problem(path.name, f"not a readable zip file: {exc}")]
    with zf:
        prefix, problems = inspect_zip(zf, path.name)
        if prefix is None:
            return None, problems
        present = [prefix + n for n in MANIFEST_NAMES if prefix + n in zf.NameToInfo]
        if len(present) > 1:
            problems.append(Problem(prefix or path.name, "both manifest.yaml and manifest.json: keep one"))
            return None, problems
        info = zf.getinfo(present[0])
        if info.file_size > MAX_MANIFEST_BYTES:
            problems.append(Problem(info.filename, f"larger than {MAX_MANIFEST_BYTES >> 20} MB"))
            return None, problems
        try:
            data = zf.read(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, OSError) as exc:
            problems.append(Problem(info.filename, f"cannot unpack: {exc}"))
            return None, problems
        manifest, more = manifest_from_bytes(data, info.filename)
        problems += more
        if manifest is not None:
            problems += check_graph(manifest) + _media_in_zip(zf, prefix, manifest)
    return manifest, problems


def _media_in_zip(zf: zipfile.ZipFile, prefix: str, manifest: Manifest) -> list[Problem]:
    out = []
    for sid, scene in manifest.scenes.items():
        where, media = f"scenes.{sid}.media", scene.media
        bad = unsafe_name(media)
        name = prefix + PurePosixPath(media).as_posix()
        info = None if bad else zf.NameToInfo.get(name)
        if bad:
            out.append(Problem(where, bad))
        elif info is None:
            is_dir = name + "/" in zf.NameToInfo
            out.append(Problem(where, f"'{media}' is a folder" if is_dir else f"file '{media}' is missing"))
        elif info.is_dir():
            out.append(Problem(where, f"'{media}' is a folder"))
        elif info.file_size == 0:
            out.append(Problem(where, f"file '{media}' is empty"))
    return out


# --- parsing and pydantic errors -----------------------------------------------------------------


def _parse(data: bytes, name: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    if len(data) > MAX_MANIFEST_BYTES:
        return None, [Problem(name, f"larger than {MAX_MANIFEST_BYTES >> 20} MB")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [Problem(name, f"not UTF-8 text (bad byte at offset {exc.start})")]
    try:
        raw = json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        return None, [Problem(f"{name} line {exc.lineno}, column {exc.colno}", f"JSON error: {exc.msg}")]
    except yaml.MarkedYAMLError as exc:
        return None, [_yaml_problem(exc, name)]
    except yaml.YAMLError as exc:
        return None, [Problem(name, f"YAML error: {getattr(exc, 'reason', None) or exc}")]
    except RecursionError:
        return None, [Problem(name, "nested too deeply")]
    if not isinstance(raw, dict):
        return None, [Problem(name, f"the top level must be a mapping of fields, not {_kind(raw)}")]
    excess = _excess(raw)
    return (None, [Problem(name, excess)]) if excess else (raw, [])


def _yaml_problem(exc: yaml.MarkedYAMLError, name: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    where = f"{name} line {mark.line + 1}, column {mark.column + 1}" if mark else name
    message = exc.problem or exc.context or "syntax error"
    if exc.problem and exc.context:
        ctx = exc.context_mark
        message += f" ({exc.context}" + (f" at line {ctx.line + 1})" if ctx else ")")
    return Problem(where, f"YAML error: {message}")


def _kind(value: object) -> str:
    names = {"NoneType": "nothing (the file is empty)", "list": "a list", "str": "text"}
    return names.get(type(value).__name__, f"a {type(value).__name__}")


def _excess(raw: object) -> str | None:
    stack, count = [(raw, 0)], 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            return f"too big: over {MAX_VALUES} values (each use of a YAML alias counts)"
        if depth > MAX_DEPTH:
            return f"nested more than {MAX_DEPTH} levels deep"
        node = list(node.values()) if isinstance(node, dict) else node
        if isinstance(node, list):
            stack += [(child, depth + 1) for child in node]
    return None


def _location(loc: tuple[int | str, ...], raw: object, kind: str) -> str:
    """Dotted place of a pydantic error, e.g. 'scenes.intro.zones[0].area.x'.

    Walks the input alongside the error path so the union tags pydantic puts in the path
    (e.g. 'rect') are dropped and list indexes print as [i].
    """
    out, node = "", raw
    for i, key in enumerate(loc):
        last = i == len(loc) - 1
        if key == "[key]":
            continue
        if isinstance(node, list) and isinstance(key, int):
            out += f"[{key}]"
            node = node[key] if 0 <= key < len(node) else None
            continue
        if isinstance(node, dict) and key not in node and (not last or kind != "missing"):
            continue  # a union tag, not a key of the manifest
        out += f".{key}" if out else str(key)
        node = node.get(key) if isinstance(node, dict) else None
    return out or "manifest"


def _message(error: Any) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if error["loc"] and error["loc"][-1] == "[key]":
        hint = _PATTERN_HINTS.get(ctx.get("pattern", ""), error["msg"])
        return f"bad key {value!r}: {hint}"
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (not part of format v1)"
    if kind == "string_pattern_mismatch":
        return _PATTERN_HINTS.get(ctx.get("pattern", ""), error["msg"]) + f" (got {value!r})"
    bounds = {"less_than_equal": "<=", "less_than": "<", "greater_than_equal": ">=", "greater_than": ">"}
    if kind in bounds:
        limit = next(iter(ctx.values()), "")
        return (
            f"must be {bounds[kind]} {limit:g} (got {value!r})"
            if isinstance(limit, float | int)
            else error["msg"]
        )
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "string_type" and isinstance(value, bool | int | float):
        return f"must be text (got {value!r}): put it in quotes"
    return str(error["msg"])
