"""Helpers for the scenario tests: a small valid manifest and ways to write it as a package.

Media files are a few bytes of text: validation never decodes them.
"""

from __future__ import annotations

import copy
import json
import os
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from appliance.scenario.validate import Problem

FAKE_MEDIA = b"not really a video"

_GOOD: dict[str, Any] = {
    "format": "openrange-scenario/1",
    "id": "test-visitor",
    "title": "Test visitor",
    "summary": "A visitor at the front desk grows agitated.",
    "audience": ["healthcare", "security"],
    "objectives": ["Greet calmly", "Keep distance"],
    "duration_s": 90,
    "start": "intro",
    "scenes": {
        "intro": {
            "title": "At the desk",
            "media": "clips/intro.mp4",
            "end_s": 12,
            "choices": [
                {
                    "id": "greet",
                    "label": "Greet calmly",
                    "goto": "calm",
                    "kind": "de-escalate",
                    "hotkey": "1",
                },
                {
                    "id": "shout",
                    "label": "Order him out",
                    "goto": "agitated",
                    "kind": "escalate",
                    "hotkey": "2",
                },
            ],
            "timeout": {"after_s": 30, "goto": "agitated"},
        },
        "calm": {"title": "He sits down", "media": "clips/intro.mp4", "start_s": 12, "outcome": "resolved"},
        "agitated": {
            "title": "He pulls a knife",
            "media": "clips/agitated.mp4",
            "zones": [
                {
                    "id": "knife",
                    "kind": "threat",
                    "area": {"shape": "rect", "x": 0.4, "y": 0.3, "w": 0.2, "h": 0.3},
                    "from_s": 1,
                    "to_s": 8,
                },
                {
                    "id": "nurse",
                    "kind": "no-shoot",
                    "area": {"shape": "circle", "cx": 0.8, "cy": 0.5, "r": 0.1},
                },
                {
                    "id": "door",
                    "kind": "cover",
                    "area": {"shape": "polygon", "points": [[0, 0], [0.1, 0], [0.1, 0.5]]},
                },
            ],
            "on_hit": [{"zone": "knife", "goto": "shot"}, {"kind": "no-shoot", "goto": "bystander"}],
            "on_input": [{"input": "branch1", "goto": "calm"}],
            "on_end": "calm",
        },
        "shot": {"title": "Subject down", "media": "clips/shot.mp4", "outcome": "subject shot"},
        "bystander": {"title": "Nurse hit", "media": "clips/bystander.mp4", "outcome": "bystander hit"},
    },
    "rubric": [
        {"id": "listen", "label": "Listens actively"},
        {"id": "tone", "label": "Calm tone", "max_score": 5},
    ],
}

GOOD_COUNTS = "5 scenes, 2 choices, 3 zones"


def good_manifest() -> dict[str, Any]:
    """A fresh deep copy of the valid manifest, to change freely."""
    return copy.deepcopy(_GOOD)


def media_of(manifest: dict[str, Any]) -> set[str]:
    scenes = manifest.get("scenes", {})
    return {s["media"] for s in scenes.values() if isinstance(s, dict) and isinstance(s.get("media"), str)}


def write_package(
    root: Path,
    manifest: dict[str, Any] | str | bytes | None = None,
    *,
    name: str = "manifest.yaml",
    media: bool = True,
) -> Path:
    """Write a package folder: the manifest (dict, text or bytes) and a fake file per safe media path."""
    manifest = good_manifest() if manifest is None else manifest
    root.mkdir(parents=True, exist_ok=True)
    if isinstance(manifest, dict):
        text = json.dumps(manifest, indent=2) if name.endswith(".json") else yaml.safe_dump(manifest)
        (root / name).write_text(text)
        if media:
            for rel in media_of(manifest):
                if rel.startswith("/") or ".." in rel or "\\" in rel:
                    continue
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_bytes(FAKE_MEDIA)
    else:
        data = manifest.encode() if isinstance(manifest, str) else manifest
        (root / name).write_bytes(data)
    return root


def zip_folder(folder: Path, zip_path: Path, *, top: str | None = "pkg") -> Path:
    """Zip a package folder, inside one top-level folder ``top`` or (None) at the zip's root."""
    prefix = f"{top}/" if top else ""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + path.relative_to(folder).as_posix())
    return zip_path


def good_zip(tmp: Path, zip_path: Path, *, top: str | None = "pkg", **changes: Any) -> Path:
    """A valid package zip; ``changes`` are top-level manifest fields to override (e.g. id)."""
    manifest = good_manifest() | changes
    folder = write_package(tmp / f"src-{zip_path.stem}", manifest)
    return zip_folder(folder, zip_path, top=top)


# --- changing a manifest ---------------------------------------------------------------------------

DELETE = object()
"""As a value in ``change``: remove the field."""


def change(manifest: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Apply {dotted path: value} changes, e.g. {"scenes.intro.choices.1.goto": "x"}.

    List indexes are numbers; the index just past the end appends; DELETE removes the field.
    """
    for path, value in changes.items():
        *parents, last = path.split(".")
        node: Any = manifest
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        key_: Any = int(last) if isinstance(node, list) else last
        if value is DELETE:
            del node[key_]
        elif isinstance(node, list) and key_ == len(node):
            node.append(copy.deepcopy(value))
        else:
            node[key_] = copy.deepcopy(value)
    return manifest


def scene(**fields: Any) -> dict[str, Any]:
    """A minimal scene playing the intro clip, plus ``fields``."""
    return {"title": "A scene", "media": "clips/intro.mp4", **fields}


# --- zips with chosen members ----------------------------------------------------------------------


def zip_with(path: Path, members: dict[str | zipfile.ZipInfo, bytes], *, base: Path | None = None) -> Path:
    """A zip holding the files under ``base`` (at the zip's root) and then ``members``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        if base is not None:
            for f in sorted(base.rglob("*")):
                if f.is_file():
                    zf.write(f, f.relative_to(base).as_posix())
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def symlink_member(name: str) -> zipfile.ZipInfo:
    """A zip member that unpacks as a symlink (as `zip --symlinks` stores one)."""
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


# --- garbage for the validate command --------------------------------------------------------------

_DEEP_INDENT = "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 1000))
GARBAGE: dict[str, Callable[[Path], object]] = {
    "binary-file": lambda d: (d / "x").write_bytes(os.urandom(4096)),
    "empty-dir": lambda d: (d / "x").mkdir(),
    "zip-not-zip": lambda d: (d / "x.zip").write_bytes(b"PK\x03\x04 nope"),
    "empty-zip": lambda d: zipfile.ZipFile(d / "x.zip", "w").close(),
    "truncated-zip": lambda d: (d / "x.zip").write_bytes(good_zip(d, d / "g.zip").read_bytes()[:300]),
    "list": lambda d: write_package(d / "x", b"[1, 2, 3]"),
    "huge": lambda d: write_package(d / "x", b"a: " + b"b" * (2 << 20)),
    "deep-indent": lambda d: write_package(d / "x", _DEEP_INDENT.encode()),
    "deep-json": lambda d: write_package(d / "x", b"[" * 100_000, name="manifest.json"),
    "null-scenes": lambda d: write_package(d / "x", b"format: openrange-scenario/1\nscenes: null\n"),
    "weird-keys": lambda d: write_package(d / "x", b"? [a, b]\n: 1\n"),
    "dates-and-ints": lambda d: write_package(d / "x", b"id: 2024-01-01\nscenes: {1: {2: 3}}\n"),
    "fifo-manifest": lambda d: ((d / "x").mkdir(), os.mkfifo(d / "x" / "manifest.yaml")),
    "manifest-is-dir": lambda d: (d / "x" / "manifest.yaml").mkdir(parents=True),
}


def make_garbage(tmp: Path, kind: str) -> Path:
    """Make one kind of GARBAGE under ``tmp``; return the path to give the command."""
    GARBAGE[kind](tmp)
    return tmp / "x.zip" if (tmp / "x.zip").exists() else tmp / "x"


def assert_problem(problems: list[Problem], expected: str) -> None:
    """``expected`` is 'where: part of the message'; the where must match exactly."""
    where, fragment = expected.split(": ", 1)
    listing = "\n".join(map(str, problems))
    assert any(p.where == where and fragment in p.message for p in problems), (
        f"{expected!r} not in:\n{listing}"
    )
