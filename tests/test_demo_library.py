"""The built-in demo library: real ffmpeg (and espeak-ng) renders at a tiny size, shared per module.

Each package is one joined file (media/scenario.mp4); scene checks look at start_s + t in it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import appliance.demo_library as demo_library
from appliance.demo_library import DEMO_HOLD_S, STAMP_NAME, ensure_demo_library
from appliance.demo_library import render as demo_render
from appliance.demo_library.figures import MOOD_COLOURS, SKIN
from appliance.demo_library.markers import (
    marker_level,
    marker_luma,
    marker_rect,
    marker_side,
    scene_index_from_level,
)
from appliance.demo_library.scripts import ARMED_SUBJECT_PARKING_LOT, DEMO_SCENARIOS, WAITING_ROOM_VISITOR
from appliance.demo_library.staging import BACKDROPS, HEAD, TORSO, WEAPON, Box, ScenarioScript
from appliance.scenario.model import Manifest, Rect, Scene, Zone, ZoneKind
from appliance.scenario.pack import JOINED_MEDIA
from appliance.scenario.validate import validate_path

SIZE = (192, 108)
FPS = 10
IDS = ["waiting-room-visitor", "crisis-on-the-bridge", "armed-subject-parking-lot"]
CLIPS = sum(len(s.scenes) for s in DEMO_SCENARIOS)
STEPS = CLIPS + len(DEMO_SCENARIOS)
"""Progress steps: every clip, then one join per scenario."""

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
FFPROBE = shutil.which("ffprobe") or "ffprobe"
"""Resolved once, so tests that empty PATH can still inspect the clips."""

needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None, reason="ffmpeg is not installed"
)


@dataclass
class Rendered:
    root: Path
    packages: list[Path]
    progress: list[tuple[int, int, str]]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    root = tmp_path_factory.mktemp("demo") / "scenarios"
    calls: list[tuple[int, int, str]] = []
    packages = ensure_demo_library(root, size=SIZE, fps=FPS, progress=lambda *a: calls.append(a))
    return Rendered(root, packages, calls)


def probe(path: Path) -> dict:
    command = [FFPROBE, "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)]
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def frame_at(path: Path, t: float, size: tuple[int, int] = SIZE) -> np.ndarray:
    command = [FFMPEG, "-nostdin", "-loglevel", "error", "-ss", f"{t:.3f}", "-i", str(path)]
    command += ["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:"]
    raw = subprocess.run(command, capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(size[1], size[0], 3)


def keyframes(path: Path) -> list[float]:
    command = [FFPROBE, "-v", "error", "-select_streams", "v:0", "-skip_frame", "nokey"]
    command += ["-show_entries", "frame=best_effort_timestamp_time", "-of", "json", str(path)]
    frames = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)["frames"]
    return [float(f["best_effort_timestamp_time"]) for f in frames]


def peak_volume_db(clip: Path, start_s: float = 0.0, length_s: float | None = None) -> float:
    span = ["-ss", f"{start_s:.3f}"] + (["-t", f"{length_s:.3f}"] if length_s else [])
    command = [FFMPEG, "-nostdin", "-hide_banner", *span, "-i", str(clip), "-af", "volumedetect"]
    command += ["-f", "null", "-"]
    report = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    peak = re.search(r"max_volume: (-?[\d.]+|-inf) dB", report)
    assert peak is not None, report
    return float(peak.group(1))


def rgb(colour: str) -> np.ndarray:
    value = int(colour.removeprefix("0x"), 16)
    return np.array([(value >> 16) & 255, (value >> 8) & 255, value & 255], float)


def centre_of(zone: Zone) -> tuple[float, float]:
    assert isinstance(zone.area, Rect)
    return (zone.area.x + zone.area.w / 2, zone.area.y + zone.area.h / 2)


def pixel_at(frame: np.ndarray, x: float, y: float) -> np.ndarray:
    return frame[int(y * frame.shape[0]), int(x * frame.shape[1])].astype(float)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b))


def marker_seen(frame: np.ndarray) -> float:
    x, y, w, h = marker_rect(frame.shape[1], frame.shape[0])
    return float(frame[y : y + h, x : x + w].astype(float).mean())


def joined(package: Path) -> Path:
    return package / JOINED_MEDIA


def length_of(scene: Scene) -> float:
    assert scene.end_s is not None
    return scene.end_s - scene.start_s


def manifest_of(package: Path) -> Manifest:
    manifest, problems = validate_path(package)
    assert manifest is not None, problems
    return manifest


def reachable(manifest: Manifest) -> set[str]:
    seen, todo = {manifest.start}, [manifest.start]
    while todo:
        for _, goto in manifest.scenes[todo.pop()].targets():
            if goto not in seen:
                seen.add(goto)
                todo.append(goto)
    return seen


# --- the packages ---------------------------------------------------------------------------


@needs_ffmpeg
def test_renders_three_packages_reporting_each_clip_and_join(library: Rendered) -> None:
    assert library.packages == [library.root / i for i in IDS]
    assert [done for done, _, _ in library.progress] == list(range(1, STEPS + 1))
    assert {total for _, total, _ in library.progress} == {STEPS}
    labels = [label for _, _, label in library.progress]
    clips = {f"{s.id}/{scene.id}" for s in DEMO_SCENARIOS for scene in s.scenes}
    assert set(labels) == clips | {f"{i} (joined)" for i in IDS}
    for scenario in DEMO_SCENARIOS:  # a scenario is joined after all its clips
        join = labels.index(f"{scenario.id} (joined)")
        assert all(labels.index(f"{scenario.id}/{scene.id}") < join for scene in scenario.scenes)
    leftovers = [p.name for p in library.root.iterdir() if p.name.startswith(".") and p.is_dir()]
    assert leftovers == []
    for package in library.packages:
        files = sorted(p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file())
        assert files == [STAMP_NAME, "manifest.yaml", JOINED_MEDIA]


@needs_ffmpeg
@pytest.mark.parametrize("scenario_id", IDS)
def test_package_validates_with_no_problems(library: Rendered, scenario_id: str) -> None:
    manifest, problems = validate_path(library.root / scenario_id)
    assert problems == []
    assert manifest is not None and manifest.id == scenario_id
    assert reachable(manifest) == set(manifest.scenes)
    assert 3 <= len(manifest.objectives) <= 5
    assert manifest.duration_s and manifest.title and manifest.summary and manifest.version
    assert {"communication", "situational-awareness", "proxemics"} <= {r.id for r in manifest.rubric}
    assert len(manifest.rubric) >= 4
    assert manifest.scenes[manifest.start].choices


@needs_ffmpeg
def test_library_shows_every_kind_of_transition(library: Rendered) -> None:
    scenes = [s for p in library.packages for s in manifest_of(p).scenes.values()]
    assert any(s.on_end for s in scenes)
    assert any(s.timeout for s in scenes)
    assert any(s.on_hit for s in scenes)
    assert any(s.on_input for s in scenes)
    assert {s.outcome for s in scenes if s.outcome} >= {
        "resolved",
        "accepts help",
        "in custody",
        "officer hit",
    }


@needs_ffmpeg
@pytest.mark.parametrize("scenario", DEMO_SCENARIOS, ids=IDS)
def test_one_joined_file_with_a_segment_of_the_scene_length_per_scene(
    library: Rendered, scenario: ScenarioScript
) -> None:
    package = library.root / scenario.id
    manifest = manifest_of(package)
    assert list(manifest.scenes) == [scene.id for scene in scenario.scenes]
    info = probe(joined(package))
    video = [s for s in info["streams"] if s["codec_type"] == "video"]
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    assert len(video) == 1 and len(audio) == 1
    assert [video[0][k] for k in ("codec_name", "pix_fmt", "width", "height", "avg_frame_rate")] == [
        *("h264", "yuv420p", *SIZE, f"{FPS}/1")
    ]
    assert [audio[0][k] for k in ("codec_name", "sample_rate", "channels")] == ["aac", "48000", 2]
    cursor = 0.0
    for script in scenario.scenes:
        scene = manifest.scenes[script.id]
        assert scene.media == JOINED_MEDIA
        assert scene.start_s == pytest.approx(cursor, abs=1e-6), script.id  # back to back, in order
        hold = DEMO_HOLD_S if script.on_end is None else 0.0
        assert length_of(scene) == pytest.approx(script.duration_s + hold, abs=1e-6), script.id
        assert 5 <= script.duration_s <= 8
        assert scene.end_s is not None
        cursor = scene.end_s
    assert float(info["format"]["duration"]) == pytest.approx(cursor, abs=0.1)
    assert float(audio[0]["duration"]) == pytest.approx(cursor, abs=0.1)
    keys = keyframes(joined(package))
    for scene in manifest.scenes.values():
        assert min(abs(k - scene.start_s) for k in keys) < 0.5 / FPS, scene.title


@needs_ffmpeg
@pytest.mark.parametrize("scenario", DEMO_SCENARIOS, ids=IDS)
def test_every_scene_carries_its_segment_marker(library: Rendered, scenario: ScenarioScript) -> None:
    package = library.root / scenario.id
    manifest = manifest_of(package)
    for index, scene in enumerate(manifest.scenes.values()):
        first = scene.start_s + 0.02
        assert scene.end_s is not None
        for t in (first, (scene.start_s + scene.end_s) / 2, scene.end_s - 1.5 / FPS):
            level = marker_seen(frame_at(joined(package), t))
            assert abs(level - marker_level(index)) < 9, (scene.title, t, level)
            assert scene_index_from_level(level) == index


@needs_ffmpeg
def test_decision_points_end_in_a_held_frame(library: Rendered) -> None:
    manifest = manifest_of(library.root / WAITING_ROOM_VISITOR.id)
    clip = joined(library.root / WAITING_ROOM_VISITOR.id)
    intro = manifest.scenes["intro"]  # choices, no on_end: a decision point
    assert intro.on_end is None and intro.end_s is not None
    last_frame = intro.end_s - 1.5 / FPS  # frame_at shows the first frame at or after t
    held = [frame_at(clip, last_frame - t).astype(float) for t in (DEMO_HOLD_S - 2 / FPS, 0.2, 0.0)]
    assert all(np.abs(f - held[0]).mean() < 1.5 for f in held)
    moving = frame_at(clip, intro.end_s - DEMO_HOLD_S - 1.0).astype(float)
    assert np.abs(moving - held[0]).mean() > 1.5  # the visitor paces until the hold starts


@needs_ffmpeg
def test_second_call_renders_nothing_and_tidies_leftovers(library: Rendered) -> None:
    stamps = {p: (p / STAMP_NAME).stat().st_mtime_ns for p in library.packages}
    leftover = library.root / ".crisis-on-the-bridge.tmp-interrupted"
    (leftover / "media").mkdir(parents=True)
    calls: list[tuple[int, int, str]] = []
    again = ensure_demo_library(library.root, size=SIZE, fps=FPS, progress=lambda *a: calls.append(a))
    assert again == library.packages
    assert calls == []
    assert {p: (p / STAMP_NAME).stat().st_mtime_ns for p in library.packages} == stamps
    assert not leftover.exists()


@needs_ffmpeg
def test_changed_size_renders_again(library: Rendered, tmp_path: Path) -> None:
    copy = tmp_path / "scenarios"
    shutil.copytree(library.root, copy, symlinks=True)
    calls: list[tuple[int, int, str]] = []
    packages = ensure_demo_library(copy, size=(160, 90), fps=FPS, progress=lambda *a: calls.append(a))
    assert len(calls) == STEPS
    info = probe(joined(packages[0]))
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (160, 90)
    assert validate_path(packages[0])[1] == []


@needs_ffmpeg
def test_missing_media_renders_that_package_again(library: Rendered, tmp_path: Path) -> None:
    copy = tmp_path / "scenarios"
    shutil.copytree(library.root, copy, symlinks=True)
    joined(copy / "crisis-on-the-bridge").unlink()
    calls: list[tuple[int, int, str]] = []
    ensure_demo_library(copy, size=SIZE, fps=FPS, progress=lambda *a: calls.append(a))
    assert {label.split("/")[0].split(" ")[0] for _, _, label in calls} == {"crisis-on-the-bridge"}
    assert joined(copy / "crisis-on-the-bridge").is_file()


# --- the picture matches the zones -----------------------------------------------------------


@needs_ffmpeg
def test_hit_zones_sit_on_the_figures_they_name(library: Rendered) -> None:
    scene = manifest_of(library.root / ARMED_SUBJECT_PARKING_LOT.id).scenes["draws"]
    script = ARMED_SUBJECT_PARKING_LOT.scene("draws")
    bystander = script.bystander
    assert bystander is not None
    zones = {z.kind: z for z in scene.zones}
    threat = zones[ZoneKind.threat]
    clip = library.root / ARMED_SUBJECT_PARKING_LOT.id / scene.media
    at = scene.start_s
    background = rgb(BACKDROPS[ARMED_SUBJECT_PARKING_LOT.setting].base)
    expected = {
        ZoneKind.threat: rgb(MOOD_COLOURS[script.subject.mood]),
        ZoneKind.vital: rgb(SKIN),
        ZoneKind.no_shoot: rgb(MOOD_COLOURS[bystander.mood]),
    }
    window_end = threat.to_s or script.duration_s
    frames = [
        frame_at(clip, at + t)
        for t in (threat.from_s + 0.3, (threat.from_s + window_end) / 2, window_end - 0.3)
    ]
    for frame in frames:
        for kind, colour in expected.items():
            seen = pixel_at(frame, *centre_of(zones[kind]))
            assert distance(seen, colour) < 60, (kind, seen)
            assert distance(seen, colour) < distance(seen, background), (kind, seen)
    # the subject holds still while the threat zone is open
    area = threat.area
    assert isinstance(area, Rect)
    x, y = round(area.x * SIZE[0]), round(area.y * SIZE[1])
    w, h = round(area.w * SIZE[0]), round(area.h * SIZE[1])
    crops = [f[y : y + h, x : x + w].astype(float) for f in frames]
    assert all(np.abs(c - crops[0]).mean() < 8 for c in crops)


@needs_ffmpeg
def test_weapon_appears_when_the_zone_opens(library: Rendered) -> None:
    script = ARMED_SUBJECT_PARKING_LOT.scene("draws")
    package = library.root / ARMED_SUBJECT_PARKING_LOT.id
    start = manifest_of(package).scenes["draws"].start_s
    weapon_at = script.subject.box.part(WEAPON).centre()
    assert script.subject.weapon_from_s is not None
    before = pixel_at(frame_at(joined(package), start + script.subject.weapon_from_s - 0.5), *weapon_at)
    after = pixel_at(frame_at(joined(package), start + script.subject.weapon_from_s + 0.5), *weapon_at)
    assert after.mean() < 50 < before.mean()


def test_zones_are_built_from_the_figure_geometry() -> None:
    scene = ARMED_SUBJECT_PARKING_LOT.scene("draws")
    zones = {z.id: z for z in scene.zones}
    assert zones["torso"].area == scene.subject.box.part(TORSO).as_rect()
    assert zones["head"].area == scene.subject.box.part(HEAD).as_rect()
    assert scene.bystander is not None
    assert zones["bystander"].area == scene.bystander.box.as_rect()
    assert scene.subject.motion == "still"
    assert zones["torso"].from_s == scene.subject.weapon_from_s
    assert Box(0.1, 0.2, 0.5, 0.5).part(Box(0.5, 0.5, 0.5, 0.5)) == Box(0.35, 0.45, 0.25, 0.25)


# --- failures and fallbacks ------------------------------------------------------------------


def test_missing_ffmpeg_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(RuntimeError, match=r"ffmpeg not found: install it \(apt install ffmpeg\)"):
        ensure_demo_library(tmp_path / "scenarios", size=SIZE, fps=FPS)
    assert [p.name for p in (tmp_path / "scenarios").iterdir() if p.is_dir()] == []


@needs_ffmpeg
def test_ffmpeg_failure_names_the_clip_and_leaves_no_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_library, "DEMO_SCENARIOS", (WAITING_ROOM_VISITOR,))
    monkeypatch.setattr(demo_render, "_scene_graph", lambda *a, **k: "[0:v]nosuchfilter=1[v]")
    root = tmp_path / "scenarios"
    with pytest.raises(
        RuntimeError, match=r"ffmpeg failed rendering waiting-room-visitor/\S+[\s\S]*nosuchfilter"
    ):
        ensure_demo_library(root, size=SIZE, fps=FPS)
    assert [p.name for p in root.iterdir() if p.is_dir()] == []


@needs_ffmpeg
def test_without_espeak_clips_get_silent_audio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "ffmpeg").symlink_to(FFMPEG)
    (tools / "ffprobe").symlink_to(FFPROBE)
    monkeypatch.setenv("PATH", str(tools))
    monkeypatch.setattr(demo_library, "DEMO_SCENARIOS", (WAITING_ROOM_VISITOR,))
    [package] = ensure_demo_library(tmp_path / "scenarios", size=SIZE, fps=FPS)
    assert validate_path(package)[1] == []
    assert any(s["codec_type"] == "audio" for s in probe(joined(package))["streams"])
    assert peak_volume_db(joined(package)) < -80


@needs_ffmpeg
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_lines_are_spoken_with_espeak(library: Rendered) -> None:
    package = library.root / "waiting-room-visitor"
    for scene in manifest_of(package).scenes.values():
        assert peak_volume_db(joined(package), scene.start_s, length_of(scene)) > -30, scene.title


def test_unusable_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="even"):
        ensure_demo_library(tmp_path, size=(191, 108))


def test_marker_geometry_and_levels() -> None:
    assert [marker_level(i) for i in range(12)] == [40, 60, 80, 100, 120, 140, 160, 180, 200, 220, 40, 60]
    assert (marker_side(720), marker_side(1080), marker_side(108), marker_side(90)) == (16, 24, 2, 2)
    assert all(
        marker_side(h) % 2 == 0 and abs(marker_side(h) - 16 * h / 720) <= 1.5 for h in range(32, 2200, 2)
    )
    assert marker_rect(1280, 720) == (0, 0, 16, 16)
    assert (marker_luma(40), marker_luma(220)) == (50, 205)
    assert [scene_index_from_level(marker_level(i) + d) for i, d in ((0, -8), (3, 7), (9, 8))] == [0, 3, 9]
    assert scene_index_from_level(10) is None and scene_index_from_level(50) is None
