"""``openrange scenario pack``: clips of different sizes, rates and codecs joined into one file.

Each source clip is a solid colour (one clip turns from yellow to magenta half-way), so every
segment of the joined file can be recognised by its colour. Packing uses a tiny test profile.
"""

from __future__ import annotations

import io
import itertools
import json
import shutil
import subprocess
import zipfile
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from appliance.scenario.load import load_package
from appliance.scenario.media_probe import ClipInfo, MediaError, find_media_tools, probe_clip
from appliance.scenario.model import Manifest
from appliance.scenario.pack import (
    JOINED_MEDIA,
    OutputExists,
    PackError,
    PackResult,
    Profile,
    pack_package,
    resolve_profile,
)
from appliance.scenario.pack_commands import ProgressBar, pack_command
from appliance.scenario.pack_verify import verify_joined
from appliance.scenario.transcode import SegmentSource, plan_segments
from appliance.scenario.validate import validate_path

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
FFPROBE = shutil.which("ffprobe") or "ffprobe"
pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None, reason="ffmpeg is not installed"
)

TINY = Profile("test-tiny", 192, 108, 10, preset="ultrafast")
HOLD_S = 0.5
RED, GREEN, BLUE = (255, 0, 0), (0, 128, 0), (0, 0, 255)
YELLOW, MAGENTA, BLACK = (255, 255, 0), (255, 0, 255), (0, 0, 0)

SOURCE_MANIFEST: dict[str, Any] = yaml.safe_load("""
format: openrange-scenario/1
id: colours
title: Colours (pack test)
audience: [security]
start: intro
scenes:
  intro:
    title: "Red: 4:3 MPEG-4 at 25 fps, no audio"
    media: media/red.mp4
    choices:
      - {id: green, label: Green, goto: green, kind: comply, hotkey: "1"}
      - {id: blue, label: Blue, goto: blue}
    timeout: {after_s: 9, goto: blue}
    zones: [{id: box, kind: threat, area: {x: 0.4, y: 0.4, w: 0.2, h: 0.2}}]
    on_hit: [{zone: box, goto: blue}]
  green: {title: "Green: 16:9 H.264 30 fps, AAC", media: media/green.mp4, start_s: 0.5, on_end: yellow}
  blue: {title: "Blue: MJPEG at 24 fps with mono PCM", media: media/blue.avi, outcome: blue}
  yellow:
    title: "Yellow: first half of a square VP9 clip"
    media: media/two.webm
    end_s: 1.0
    choices: [{id: "on", label: "On", goto: magenta}]
  magenta: {title: "Magenta: VP9 clip's second half", media: media/two.webm, start_s: 1.0, outcome: magenta}
""")
COLOURS = {"intro": RED, "green": GREEN, "blue": BLUE, "yellow": YELLOW, "magenta": MAGENTA}
HELD = ("intro", "blue", "yellow", "magenta")
"""Scenes without on_end (choices or an outcome): their segments get the hold."""
LENGTHS = {"intro": 2.0, "green": 1.5, "blue": 1.5, "yellow": 1.0, "magenta": 1.0}
LENGTHS = {sid: length + (HOLD_S if sid in HELD else 0.0) for sid, length in LENGTHS.items()}

CLIPS = {
    "red.mp4": ["-f", "lavfi", "-i", "color=c=red:s=320x240:r=25:d=2", "-c:v", "mpeg4", "-q:v", "3"],
    "green.mp4": [
        "-f", "lavfi", "-i", "color=c=0x008000:s=640x360:r=30:d=2",
        "-f", "lavfi", "-i", "sine=f=440:r=44100:d=2",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
    ],
    "blue.avi": [
        "-f", "lavfi", "-i", "color=c=blue:s=400x300:r=24:d=1.5",
        "-f", "lavfi", "-i", "sine=f=880:r=22050:d=1.5",
        "-c:v", "mjpeg", "-q:v", "5", "-c:a", "pcm_s16le", "-ac", "1",
    ],
    "two.webm": [
        "-f", "lavfi", "-i", "color=c=yellow:s=256x256:r=30:d=1[a];color=c=magenta:s=256x256:r=30:d=1[b];"
        "[a][b]concat=n=2:v=1:a=0",
        "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k",
    ],
}  # fmt: skip


@dataclass
class Packed:
    source: Path
    output: Path
    result: PackResult
    progress: list[tuple[float, str]]

    @property
    def media(self) -> Path:
        return self.output / JOINED_MEDIA

    @property
    def manifest(self) -> Manifest:
        return self.result.manifest


def write_source(root: Path) -> Path:
    (root / "media").mkdir(parents=True)
    for name, args in CLIPS.items():
        command = [FFMPEG, "-nostdin", "-v", "error", "-y", *args, str(root / "media" / name)]
        subprocess.run(command, check=True, capture_output=True)
    (root / "manifest.yaml").write_text(yaml.safe_dump(SOURCE_MANIFEST, sort_keys=False), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_source(tmp_path_factory.mktemp("source") / "colours")


@pytest.fixture(scope="module")
def packed(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Packed:
    output = tmp_path_factory.mktemp("packed") / "colours"
    calls: list[tuple[float, str]] = []
    result = pack_package(
        source, output, profile=TINY, hold_s=HOLD_S, progress=lambda f, stage: calls.append((f, stage))
    )
    return Packed(source, output, result, calls)


def frame_at(path: Path, t: float, size: tuple[int, int] = (TINY.width, TINY.height)) -> np.ndarray:
    """The first frame at or after ``t`` (an exact seek), as RGB."""
    command = [FFMPEG, "-nostdin", "-loglevel", "error", "-ss", f"{t:.4f}", "-i", str(path)]
    command += ["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:"]
    raw = subprocess.run(command, capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(size[1], size[0], 3).astype(float)


def ffprobe_json(*args: str) -> dict[str, Any]:
    result = subprocess.run([FFPROBE, "-v", "error", *args, "-of", "json"], capture_output=True, text=True)
    return json.loads(result.stdout)


def near(pixel: np.ndarray, colour: tuple[int, int, int], tolerance: float = 40) -> bool:
    return float(np.linalg.norm(pixel - np.array(colour, float))) < tolerance


def peak_db(path: Path, start_s: float, length_s: float) -> float:
    command = [FFMPEG, "-nostdin", "-hide_banner", "-ss", f"{start_s:.3f}", "-t", f"{length_s:.3f}"]
    command += ["-i", str(path), "-af", "volumedetect", "-f", "null", "-"]
    report = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    line = next(x for x in report.splitlines() if "max_volume" in x)
    return float(line.split("max_volume:")[1].split()[0].replace("-inf", "-999"))


# --- the packed package ---------------------------------------------------------------------


def test_package_validates_and_every_scene_points_into_one_file(packed: Packed) -> None:
    manifest, problems = validate_path(packed.output)
    assert problems == [] and manifest is not None
    files = sorted(p.relative_to(packed.output).as_posix() for p in packed.output.rglob("*") if p.is_file())
    assert files == ["manifest.yaml", JOINED_MEDIA]
    assert {scene.media for scene in manifest.scenes.values()} == {JOINED_MEDIA}
    source = Manifest.model_validate(SOURCE_MANIFEST)
    for sid, scene in manifest.scenes.items():  # everything but the segment is the author's
        before = source.scenes[sid].model_dump(exclude={"media", "start_s", "end_s"})
        assert scene.model_dump(exclude={"media", "start_s", "end_s"}) == before
    assert list(manifest.scenes) == list(SOURCE_MANIFEST["scenes"])
    text = (packed.output / "manifest.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Packed by 'openrange scenario pack'")
    raw = yaml.safe_load(text)
    assert list(raw["scenes"]["green"]) == ["title", "media", "start_s", "end_s", "on_end"]
    assert [p.name for p in packed.output.parent.iterdir()] == ["colours"]


def test_segments_are_back_to_back_whole_frames_with_holds_at_decision_points(packed: Packed) -> None:
    cursor = 0.0
    for sid, scene in packed.manifest.scenes.items():
        assert scene.end_s is not None
        assert scene.start_s == pytest.approx(cursor, abs=1e-6), sid
        assert scene.end_s - scene.start_s == pytest.approx(LENGTHS[sid], abs=1e-6), sid
        assert scene.start_s * TINY.fps == pytest.approx(round(scene.start_s * TINY.fps), abs=1e-4)
        cursor = scene.end_s
    streams = ffprobe_json("-count_packets", "-show_streams", str(packed.media))["streams"]
    video = next(s for s in streams if s["codec_type"] == "video")
    assert [video[k] for k in ("codec_name", "pix_fmt", "width", "height", "avg_frame_rate")] == [
        *("h264", "yuv420p", 192, 108, "10/1")
    ]
    assert int(video["nb_read_packets"]) == round(cursor * TINY.fps)
    assert packed.result.duration_s == pytest.approx(cursor)


def test_keyframe_exactly_at_every_segment_start(packed: Packed) -> None:
    args = ["-select_streams", "v:0", "-skip_frame", "nokey", "-show_entries"]
    frames = ffprobe_json(*args, "frame=best_effort_timestamp_time", str(packed.media))["frames"]
    keys = [float(f["best_effort_timestamp_time"]) for f in frames]
    for sid, scene in packed.manifest.scenes.items():
        assert min(abs(k - scene.start_s) for k in keys) < 0.5 / TINY.fps, sid


def test_the_frame_at_each_start_is_its_segment_and_the_one_before_is_not(packed: Packed) -> None:
    scenes = list(packed.manifest.scenes.items())
    for n, (sid, scene) in enumerate(scenes):
        first = frame_at(packed.media, scene.start_s)
        assert near(first[54, 96], COLOURS[sid]), (sid, first[54, 96])
        if n:
            before = frame_at(packed.media, scene.start_s - 1.0 / TINY.fps - 0.01)
            assert near(before[54, 96], COLOURS[scenes[n - 1][0]]), (sid, before[54, 96])


def test_pictures_are_letterboxed_to_the_profile_keeping_their_shape(packed: Packed) -> None:
    scenes = packed.manifest.scenes
    red = frame_at(packed.media, scenes["intro"].start_s + 0.5)  # 4:3 -> 144x108, bars 24 px
    assert near(red[54, 20], BLACK) and near(red[54, 28], RED)
    assert near(red[54, 171], BLACK) and near(red[5, 96], RED)
    square = frame_at(packed.media, scenes["yellow"].start_s + 0.5)  # 1:1 -> 108x108, bars 42 px
    assert near(square[54, 38], BLACK) and near(square[54, 46], YELLOW) and near(square[54, 153], BLACK)
    green = frame_at(packed.media, scenes["green"].start_s + 0.5)  # 16:9 fills the frame
    assert near(green[2, 2], GREEN) and near(green[105, 189], GREEN)


def test_audio_is_one_continuous_48k_stereo_track_with_silence_where_clips_had_none(packed: Packed) -> None:
    info = ffprobe_json("-show_streams", "-select_streams", "a", str(packed.media))["streams"]
    assert len(info) == 1
    audio = info[0]
    assert (audio["codec_name"], audio["sample_rate"], audio["channels"]) == ("aac", "48000", 2)
    assert float(audio["duration"]) == pytest.approx(packed.result.duration_s, abs=0.05)
    args = ["-select_streams", "a:0", "-show_entries", "packet=pts_time,duration_time", str(packed.media)]
    packets = ffprobe_json(*args)["packets"]
    for a, b in itertools.pairwise(packets):
        assert float(a["pts_time"]) + float(a["duration_time"]) == pytest.approx(
            float(b["pts_time"]), abs=1e-3
        )
    scenes = packed.manifest.scenes
    assert peak_db(packed.media, scenes["intro"].start_s + 0.1, 1.8) < -80  # the clip had no audio
    assert peak_db(packed.media, scenes["green"].start_s + 0.1, 1.3) > -30  # its own tone
    assert peak_db(packed.media, scenes["blue"].start_s + 0.1, 1.3) > -30
    blue_end = scenes["blue"].end_s
    assert blue_end is not None
    assert peak_db(packed.media, blue_end - HOLD_S + 0.1, HOLD_S - 0.2) < -80  # the hold is silent


def test_progress_reports_every_stage_and_never_goes_back(packed: Packed) -> None:
    fractions = [f for f, _ in packed.progress]
    assert fractions == sorted(fractions)
    assert fractions[0] < 0.1 and packed.progress[-1] == (1.0, "done")
    stages = [stage for _, stage in packed.progress]
    assert list(dict.fromkeys(stages)) == ["probing", "encoding", "verifying", "done"]
    assert len(set(fractions)) > 5


def test_verification_catches_a_shifted_join(packed: Packed) -> None:
    tools = find_media_tools()
    source = Manifest.model_validate(SOURCE_MANIFEST)
    clips = {
        name: probe_clip(packed.source / name, tools) for name in {s.media for s in source.scenes.values()}
    }
    sources = [
        SegmentSource(clips[s.media], s.start_s, s.end_s, 0.0 if s.on_end else HOLD_S, f"scenes.{sid}")
        for sid, s in source.scenes.items()
    ]
    placements = list(packed.result.placements.values())
    assert verify_joined(packed.media, sources, placements, TINY, tools) == []
    shifted = [placements[0], *(replace(p, first_frame=p.first_frame - 2) for p in placements[1:])]
    problems = verify_joined(packed.media, sources, shifted, TINY, tools)
    for sid in ("green", "blue", "yellow", "magenta"):
        assert any(p.startswith(f"scenes.{sid}: no keyframe at its start") for p in problems), problems
        assert any(p.startswith(f"scenes.{sid}: the frame at its start") for p in problems), problems


# --- outputs and failures -------------------------------------------------------------------


def test_zip_output_through_the_command_and_force_to_replace(source: Path, tmp_path: Path) -> None:
    output = tmp_path / "colours.zip"
    out, err = io.StringIO(), io.StringIO()
    assert pack_command(source, output, profile=TINY, hold_s=HOLD_S, out=out, err=err) == 0
    assert out.getvalue().startswith("OK colours: 5 scenes, 9.0 s, profile test-tiny ->")
    assert "100%" in err.getvalue() and "encoding" in err.getvalue()
    assert validate_path(output)[1] == []
    with zipfile.ZipFile(output) as zf:
        assert sorted(zf.namelist()) == ["manifest.yaml", JOINED_MEDIA]
    package = load_package(output, extract_dir=tmp_path / "unpacked")
    assert package.media_path("magenta").is_file()
    before = output.stat().st_mtime_ns
    out = io.StringIO()
    assert pack_command(source, output, profile=TINY, out=out, err=io.StringIO()) == 2
    assert "already exists: use --force" in out.getvalue() and output.stat().st_mtime_ns == before
    assert pack_command(source, output, profile=TINY, force=True, out=io.StringIO(), err=io.StringIO()) == 0
    assert validate_path(output)[1] == [] and output.stat().st_mtime_ns != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["colours.zip", "unpacked"]


def test_existing_folder_output_is_refused_before_any_work(packed: Packed) -> None:
    calls: list[tuple[float, str]] = []
    with pytest.raises(OutputExists, match="already exists"):
        pack_package(packed.source, packed.output, profile=TINY, progress=lambda *a: calls.append(a))
    assert calls == [] and validate_path(packed.output)[1] == []


def broken_copy(source: Path, tmp_path: Path, **scene_changes: dict[str, Any]) -> Path:
    """A copy of the source package with some scenes' fields changed."""
    broken = tmp_path / "broken"
    shutil.copytree(source, broken)
    raw = yaml.safe_load((broken / "manifest.yaml").read_text())
    for sid, changes in scene_changes.items():
        raw["scenes"][sid] |= changes
    (broken / "manifest.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return broken


def test_corrupt_clip_is_named_before_encoding_and_nothing_is_left(source: Path, tmp_path: Path) -> None:
    broken = broken_copy(source, tmp_path)
    (broken / "media" / "green.mp4").write_bytes(np.random.default_rng(1).bytes(20_000))
    (broken / "media" / "blue.avi").write_bytes(b"RIFF" + bytes(3000))
    calls: list[tuple[float, str]] = []
    output = tmp_path / "out" / "colours"
    with pytest.raises(PackError) as caught:
        pack_package(broken, output, profile=TINY, progress=lambda *a: calls.append(a))
    problems = caught.value.problems
    assert len(problems) == 2
    assert problems[0].startswith("scenes.green.media: 'media/green.mp4': ")
    assert problems[1].startswith("scenes.blue.media: 'media/blue.avi': ")
    assert {stage for _, stage in calls} <= {"probing"}
    assert list((tmp_path / "out").iterdir()) == []
    out = io.StringIO()
    assert pack_command(broken, output, profile=TINY, out=out, err=io.StringIO()) == 1
    assert "media/green.mp4" in out.getvalue() and "Traceback" not in out.getvalue()


def test_missing_clip_and_bad_manifest_are_the_validators_problems(source: Path, tmp_path: Path) -> None:
    broken = broken_copy(source, tmp_path, green={"on_end": "yelow"})
    (broken / "media" / "blue.avi").unlink()
    with pytest.raises(PackError) as caught:
        pack_package(broken, tmp_path / "out", profile=TINY)
    problems = caught.value.problems
    assert "scenes.green.on_end: no scene 'yelow'; did you mean 'yellow'?" in problems
    assert "scenes.blue.media: file 'media/blue.avi' is missing" in problems
    out = io.StringIO()
    assert pack_command(broken, tmp_path / "out", profile=TINY, out=out, err=io.StringIO()) == 1
    assert "  scenes.blue.media: file 'media/blue.avi' is missing\n" in out.getvalue()
    assert [p.name for p in tmp_path.iterdir()] == ["broken"]


def test_segment_past_the_end_of_its_clip_names_the_scene(source: Path, tmp_path: Path) -> None:
    broken = broken_copy(source, tmp_path, magenta={"end_s": 7})
    with pytest.raises(
        MediaError, match=r"scenes.magenta: end_s 7 is past the end of 'two.webm' \(2.0\d+ s\)"
    ):
        pack_package(broken, tmp_path / "out", profile=TINY)
    assert [p.name for p in tmp_path.iterdir()] == ["broken"]


def test_hevc_profile_keeps_exact_keyframes(source: Path, tmp_path: Path) -> None:
    hevc = Profile("test-hevc", 192, 108, 10, "hevc", preset="ultrafast")
    result = pack_package(source, tmp_path / "hevc", profile=hevc)  # verified by decoding inside
    info = ffprobe_json("-show_streams", "-select_streams", "v", str(tmp_path / "hevc" / JOINED_MEDIA))
    assert info["streams"][0]["codec_name"] == "hevc" and info["streams"][0]["codec_tag_string"] == "hvc1"
    assert result.duration_s == pytest.approx(sum(LENGTHS.values()) - len(HELD) * HOLD_S)  # no hold asked


def test_arguments_are_checked_first(source: Path, tmp_path: Path) -> None:
    out = io.StringIO()
    assert pack_command(source, tmp_path / "x", profile="vp8-240p", out=out, err=io.StringIO()) == 2
    assert (
        "unknown profile 'vp8-240p': choose one of h264-720p30, h264-1080p30, hevc-1080p30" in out.getvalue()
    )
    assert pack_command(source, tmp_path / "x", hold_s=-1, out=io.StringIO(), err=io.StringIO()) == 2
    assert pack_command(tmp_path / "nope", tmp_path / "x", out=io.StringIO(), err=io.StringIO()) == 2
    with pytest.raises(PackError) as caught:
        pack_package(tmp_path / "nope", tmp_path / "x", profile=TINY)
    assert caught.value.problems == [f"{tmp_path / 'nope'}: no such file or folder"]
    with pytest.raises(ValueError, match="must not be the source package"):
        pack_package(source, source / "packed", profile=TINY)
    out = io.StringIO()
    assert pack_command(source, source.parent, profile=TINY, force=True, out=out, err=io.StringIO()) == 2
    assert out.getvalue().endswith("the output must not be the source package, inside it or around it\n")
    assert resolve_profile("hevc-1080p30").codec == "hevc"
    assert (resolve_profile("h264-720p30").width, resolve_profile("h264-1080p30").height) == (1280, 1080)
    assert list(tmp_path.iterdir()) == []


def test_segments_round_to_whole_frames() -> None:
    clip = ClipInfo(Path("clip.mp4"), 0, None, 640, 360, Fraction(30), 3.0, "h264")  # packed at 10 fps
    segments = [(0.0, 1.04, 0.0), (1.04, 2.26, 0.33), (2.26, None, 0.0)]
    plan = plan_segments([SegmentSource(clip, *segment) for segment in segments], 10)
    places = [(p.first_frame, p.frames, p.hold_frames, p.source_first_frame) for p in plan]
    assert places == [(0, 10, 0, 0), (10, 16, 3, 10), (26, 7, 0, 23)]
    assert [(p.start_s, p.end_s) for p in plan] == [(0.0, 1.0), (1.0, 2.6), (2.6, 3.3)]
    with pytest.raises(MediaError, match="shorter than one frame"):
        plan_segments([SegmentSource(clip, 1.0, 1.02)], 10)
    with pytest.raises(MediaError, match=r"scenes.x: start_s 3 is past the end of 'clip.mp4' \(3.000 s\)"):
        plan_segments([SegmentSource(clip, 3.0, None, label="scenes.x")], 10)
    assert plan_segments([SegmentSource(clip, 0.0, 3.02)], 10)[0].frames == 30  # within a source frame


def test_progress_bar_shows_percentage_and_eta() -> None:
    assert ProgressBar.line(0.25, "encoding", 10.0) == f"encoding  [{'#' * 8}{'.' * 22}]  25%  ETA 0:30"
    assert ProgressBar.line(0.0, "probing", 0.0).endswith("0%  ETA --:--")
    assert ProgressBar.line(1.0, "done", 3725.0).endswith("100%  took 1:02:05")
    stream = io.StringIO()
    bar = ProgressBar(stream)
    for fraction in (0.0, 0.05, 0.12, 0.5, 1.0):
        bar.update(fraction, "encoding")
    shown = [line.split("]")[1].split("%")[0].strip() for line in stream.getvalue().splitlines()]
    assert shown == ["0", "12", "50", "100"]  # one line per tenth when stderr is not a terminal
