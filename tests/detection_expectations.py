"""The ShootOFF laser-shot recordings and the peer's rule for judging a detector on them.

``load_clips`` reads ``expected.json`` (see the dataset's MANIFEST.md) into ``ClipExpectation``s
and ``judge`` applies the peer's match rule (``ShotDetectionTestor``):

* a detection matches an expected shot when |dx| <= 3 px and |dy| <= 3 px;
* required shots are matched first, in their listed order, then optional ones; each takes the
  first unused detection that matches, and each detection matches at most one expectation;
* every required shot must be matched, any detection left unmatched fails;
* a matched detection of the wrong colour fails a colour-strict test, otherwise it is a warning.

Used by the dataset tests and by ``bench/detection.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATASET_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "shootoff"


def dataset_dir() -> Path:
    """The ShootOFF dataset folder (``OPENRANGE_SHOOTOFF_DIR`` overrides the default)."""
    return Path(os.environ.get("OPENRANGE_SHOOTOFF_DIR", DEFAULT_DATASET_DIR))


@dataclass(frozen=True, slots=True)
class ExpectedShot:
    x: float
    y: float
    color: str
    required: bool


@dataclass(frozen=True, slots=True)
class Detection:
    frame: int
    x: float
    y: float
    color: str


@dataclass(frozen=True)
class ClipExpectation:
    """One peer test on one file."""

    name: str  # the peer test's method name, unique across the dataset
    file: str
    path: Path
    available: bool
    still: bool  # a single image, judged with the 2015 still-image tolerance
    shots: tuple[ExpectedShot, ...]
    color_strict: bool
    sectors_off: tuple[int, ...]
    bounds: tuple[int, int, int, int] | None
    tolerance_px: float
    historic: bool  # not an active peer test (2015 stills, a removed count-only video test)
    scale: tuple[float, float] = (1.0, 1.0)  # detection pixels -> expectation coordinates

    @property
    def required(self) -> int:
        return sum(s.required for s in self.shots)


@dataclass
class Verdict:
    clip: ClipExpectation
    required_found: int = 0
    optional_found: int = 0
    missed: list[ExpectedShot] = field(default_factory=list)
    unmatched: list[Detection] = field(default_factory=list)
    color_errors: list[tuple[ExpectedShot, Detection]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        strict_errors = self.color_errors if self.clip.color_strict else []
        return not self.missed and not self.unmatched and not strict_errors

    def describe(self) -> str:
        lines = [
            f"{self.clip.name} ({self.clip.file}): required {self.required_found}/{self.clip.required}, "
            f"optional {self.optional_found}, unmatched {len(self.unmatched)}, "
            f"colour errors {len(self.color_errors)} ({'strict' if self.clip.color_strict else 'warn'})"
        ]
        lines += [f"  missed ({s.x}, {s.y}) {s.color}" for s in self.missed]
        lines += [f"  unmatched frame {d.frame} ({d.x:.1f}, {d.y:.1f}) {d.color}" for d in self.unmatched]
        lines += [
            f"  colour: expected {s.color} at ({s.x}, {s.y}), got {d.color} (frame {d.frame})"
            for s, d in self.color_errors
        ]
        return "\n".join(lines)


def load_clips(folder: Path | None = None, *, include_stills: bool = True) -> list[ClipExpectation]:
    """Every peer test on a shot video (and the 2015 still-image tests) in ``expected.json``.

    Includes the historic count-only video test (``exactly``), whose positions come from the
    dataset's own re-implementation: judged the same way, every listed shot required.
    """
    folder = folder or dataset_dir()
    entries = json.loads((folder / "expected.json").read_text())["entries"]
    clips = []
    for entry in entries:
        count = entry.get("expected_count") or {}
        video = entry["kind"] == "shot_video" and ("min_total" in count or "exactly" in count)
        still = include_stills and entry["kind"] == "shot_image" and bool(count)
        if video or still:
            clips.append(_clip(folder, entry, still=still))
    return clips


def judge(clip: ClipExpectation, detections: Sequence[Detection]) -> Verdict:
    """Apply the peer's match rule to ``detections`` (in the order they were reported)."""
    verdict = Verdict(clip)
    used = [False] * len(detections)
    sx, sy = clip.scale
    tol = clip.tolerance_px
    ordered = [s for s in clip.shots if s.required] + [s for s in clip.shots if not s.required]
    for shot in ordered:
        hit = next(
            (
                i
                for i, d in enumerate(detections)
                if not used[i] and abs(d.x * sx - shot.x) <= tol and abs(d.y * sy - shot.y) <= tol
            ),
            None,
        )
        if hit is None:
            if shot.required:
                verdict.missed.append(shot)
            continue
        used[hit] = True
        if shot.required:
            verdict.required_found += 1
        else:
            verdict.optional_found += 1
        if detections[hit].color != shot.color:
            verdict.color_errors.append((shot, detections[hit]))
    verdict.unmatched = [d for i, d in enumerate(detections) if not used[i]]
    return verdict


def _clip(folder: Path, entry: dict, *, still: bool) -> ClipExpectation:
    shots = tuple(
        ExpectedShot(float(s["x"]), float(s["y"]), s["color"], bool(s.get("required", True)))
        for s in entry.get("expected_shots") or []
    )
    video = entry.get("video") or {}
    scale = (1.0, 1.0)
    if any("x_native" in s for s in entry.get("expected_shots") or []):  # 640x480 display space
        scale = (640.0 / video["width"], 480.0 / video["height"])
    bounds = entry.get("detection_bounds_xywh")
    tolerance = (entry.get("tolerance") or {}).get("x_px", 3)
    name = entry["peer_test"].split(".")[-1]
    return ClipExpectation(
        name=name,
        file=entry["file"],
        path=folder / entry["file"],
        available=bool(entry["available"]) and (folder / entry["file"]).is_file(),
        still=still,
        shots=shots,
        color_strict=bool(entry.get("color_strict")),
        sectors_off=tuple(entry.get("sector_rows_disabled") or ()),
        bounds=tuple(bounds) if bounds else None,
        tolerance_px=float(tolerance),
        historic=str(entry.get("peer_test_status", "")).startswith("historic"),
        scale=scale,
    )
