"""``openrange scenario validate PATH [--json]``: check a package and print every problem.

Exit codes: 0 the package is usable, 1 it has problems, 2 the path cannot be read at all.
The command never ends in a traceback, whatever it is given.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from appliance.scenario.model import Manifest
from appliance.scenario.validate import Problem, validate_path

log = logging.getLogger(__name__)

EXIT_OK, EXIT_PROBLEMS, EXIT_UNREADABLE = 0, 1, 2


def validate_command(path: Path, *, as_json: bool = False, out: TextIO | None = None) -> int:
    """Validate the package at ``path`` and report on ``out`` (default: the current sys.stdout)."""
    out = out if out is not None else sys.stdout
    path = Path(path)
    unreadable = _unreadable(path)
    if unreadable:
        manifest, problems, code = None, [Problem(str(path), f"cannot read: {unreadable}")], EXIT_UNREADABLE
    else:
        try:
            manifest, problems = validate_path(path)
        except Exception as exc:  # validate_path should not raise; the command must not either
            log.exception("validating %s failed", path)
            manifest, problems = None, [Problem(str(path), f"could not be checked: {exc}")]
        code = EXIT_PROBLEMS if problems or manifest is None else EXIT_OK
    if as_json:
        json.dump(_report(path, manifest, problems), out, indent=2)
        out.write("\n")
    elif code == EXIT_UNREADABLE:
        out.write(f"{problems[0]}\n")
    elif problems or manifest is None:
        out.writelines(f"{path}: {p}\n" for p in problems)
    else:
        scenes, choices, zones = _counts(manifest)
        out.write(f"OK {manifest.id}: {scenes} scenes, {choices} choices, {zones} zones\n")
    return code


def _unreadable(path: Path) -> str | None:
    try:
        if not path.exists():
            return "no such file or folder"
        if not os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0)):
            return "permission denied"
    except OSError as exc:  # e.g. a name too long
        return exc.strerror or str(exc)
    return None


def _counts(manifest: Manifest) -> tuple[int, int, int]:
    scenes = manifest.scenes.values()
    return len(scenes), sum(len(s.choices) for s in scenes), sum(len(s.zones) for s in scenes)


def _report(path: Path, manifest: Manifest | None, problems: list[Problem]) -> dict[str, Any]:
    report: dict[str, Any] = {"path": str(path), "ok": not problems and manifest is not None}
    if manifest is not None:
        scenes, choices, zones = _counts(manifest)
        report |= {"id": manifest.id, "title": manifest.title, "scenes": scenes, "choices": choices}
        report["zones"] = zones
    report["problems"] = [{"where": p.where, "message": p.message} for p in problems]
    return report
