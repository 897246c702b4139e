"""Join scene segments into one media file with a keyframe exactly at every segment start.

The join runs one ffmpeg: every segment is its own input, normalised by a filter chain (constant
frame rate, frame-exact trim, letterbox/pillarbox to the profile size, yuv420p, an optional hold
of the last frame, 48 kHz stereo audio or silence of exactly the segment's length), then the
``concat`` filter joins them and the encoder is told to put an IDR frame at each segment start
(``-force_key_frames``, closed GOP). The concat *demuxer* with ``-c copy`` is not used: it shifts
timestamps by a fraction of a frame, so a seek to a segment start shows the previous segment.

Segment boundaries are whole frames: a segment starts at ``first_frame / fps`` in the joined file.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

from appliance.scenario.media_probe import ClipInfo, MediaError, MediaTools

AUDIO_RATE = 48_000

ProgressFn = Callable[[float], None]
"""progress(fraction): 0..1 of the encode done."""


@dataclass(frozen=True)
class Profile:
    """What the joined file is encoded as."""

    name: str
    width: int
    height: int
    fps: int
    codec: Literal["h264", "hevc"] = "h264"
    preset: str = "medium"
    crf: int = 20
    gop_s: float = 1.0
    """Keyframe interval inside a segment (a keyframe also starts every segment)."""
    max_rate_kbps: int | None = None
    audio_kbps: int = 128

    def __post_init__(self) -> None:
        if self.width < 16 or self.height < 16 or self.width % 2 or self.height % 2:
            raise ValueError(f"profile {self.name}: size must be even and at least 16x16")
        if not 1 <= self.fps <= 120:
            raise ValueError(f"profile {self.name}: fps must be 1..120")


PROFILES: dict[str, Profile] = {
    "h264-720p30": Profile("h264-720p30", 1280, 720, 30, "h264", max_rate_kbps=6000),
    "h264-1080p30": Profile("h264-1080p30", 1920, 1080, 30, "h264", max_rate_kbps=10000),
    "hevc-1080p30": Profile("hevc-1080p30", 1920, 1080, 30, "hevc", crf=23, max_rate_kbps=8000),
}
"""The packer's profiles: H.264 for the Pi 4's decoder, HEVC for the Pi 5 (no H.264 hardware)."""


@dataclass(frozen=True)
class SegmentSource:
    """One scene's piece of a source clip, and how long to hold its last frame."""

    clip: ClipInfo
    start_s: float
    end_s: float | None
    """None = the end of the clip."""
    hold_s: float = 0.0
    label: str = ""
    """Where the segment comes from, for error messages (e.g. 'scenes.intro')."""


@dataclass(frozen=True)
class Placement:
    """Where a segment landed in the joined file, in whole frames."""

    first_frame: int
    frames: int
    hold_frames: int
    source_first_frame: int
    """The segment's first frame in the source clip after conversion to the profile's rate."""
    fps: int

    @property
    def start_s(self) -> float:
        return round(self.first_frame / self.fps, 6)

    @property
    def end_s(self) -> float:
        return round((self.first_frame + self.frames) / self.fps, 6)

    @property
    def end_frame(self) -> int:
        return self.first_frame + self.frames


def plan_segments(sources: Sequence[SegmentSource], fps: int) -> list[Placement]:
    """Place the segments back to back; MediaError for a segment outside its clip or under a frame."""
    placements, cursor = [], 0
    for src in sources:
        clip, where = src.clip, src.label or src.clip.path.name
        slack = float(1 / clip.frame_rate) + 1e-6
        if src.start_s >= clip.duration_s:
            raise MediaError(
                f"{where}: start_s {src.start_s:g} is past the end of '{clip.path.name}' "
                f"({clip.duration_s:.3f} s)"
            )
        if src.end_s is not None and src.end_s > clip.duration_s + slack:
            raise MediaError(
                f"{where}: end_s {src.end_s:g} is past the end of '{clip.path.name}' "
                f"({clip.duration_s:.3f} s)"
            )
        first = round(src.start_s * fps)
        last = round((src.end_s if src.end_s is not None else clip.duration_s) * fps)
        if last - first < 1:
            raise MediaError(f"{where}: the segment is shorter than one frame at {fps} fps")
        hold = round(src.hold_s * fps)
        frames = last - first + hold
        placements.append(Placement(cursor, frames, hold, first, fps))
        cursor += frames
    return placements


def sample_at(frame: int, fps: int) -> int:
    """The audio sample where ``frame`` starts (whole samples, no drift over a long file)."""
    return round(Fraction(frame * AUDIO_RATE, fps))


def join_segments(
    sources: Sequence[SegmentSource],
    out_path: Path,
    profile: Profile,
    tools: MediaTools,
    *,
    progress: ProgressFn | None = None,
) -> list[Placement]:
    """Encode the segments back to back into ``out_path`` (mp4); RuntimeError if ffmpeg fails."""
    placements = plan_segments(sources, profile.fps)
    total_s = placements[-1].end_frame / profile.fps
    with tempfile.TemporaryDirectory(prefix="openrange-join-") as tmp:
        script = Path(tmp) / "graph.txt"
        script.write_text(filter_graph(sources, placements, profile), encoding="utf-8")
        command = [tools.ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-nostats"]
        for src in sources:  # every input is open at once: few decoder threads each keeps memory low
            command += ["-threads", "2", "-i", str(src.clip.path)]
        command += ["-filter_complex_script", str(script), "-map", "[v]", "-map", "[a]"]
        command += encoder_options(profile, [p.start_s for p in placements[1:]])
        command += ["-progress", "pipe:1", "-y", str(out_path)]
        _run_with_progress(command, Path(tmp) / "stderr.txt", total_s, progress)
    return placements


def filter_graph(sources: Sequence[SegmentSource], placements: Sequence[Placement], profile: Profile) -> str:
    """The whole ``-filter_complex`` graph, ending in the labels [v] and [a]."""
    chains, pads = [], []
    for i, (src, place) in enumerate(zip(sources, placements, strict=True)):
        chains.append(f"[{i}:{src.clip.video_index}]{_video_chain(src.clip, place, profile)}[v{i}]")
        chains.append(_audio_chain(i, src.clip, place, profile.fps) + f"[a{i}]")
        pads.append(f"[v{i}][a{i}]")
    chains.append(f"{''.join(pads)}concat=n={len(pads)}:v=1:a=1[v][a]")
    return ";\n".join(chains) + "\n"


def fit_size(clip: ClipInfo, profile: Profile) -> tuple[int, int]:
    """The clip's picture scaled to fit the profile keeping its shape (even sizes)."""
    shown_w = clip.width * float(clip.sample_aspect)
    scale = min(profile.width / shown_w, profile.height / clip.height)
    width = min(profile.width, max(2, 2 * round(shown_w * scale / 2)))
    height = min(profile.height, max(2, 2 * round(clip.height * scale / 2)))
    return width, height


def normalise_filters(clip: ClipInfo, profile: Profile) -> str:
    """Scale into the profile's frame with black bars, square pixels, yuv420p."""
    width, height = fit_size(clip, profile)
    return (
        f"scale={width}:{height}:flags=bicubic,"
        f"pad={profile.width}:{profile.height}:({profile.width}-iw)/2:({profile.height}-ih)/2:color=black,"
        "setsar=1,format=yuv420p"
    )


def source_frame_filters(clip: ClipInfo, profile: Profile, frame: int) -> str:
    """Filters that turn the clip into the frame the join starts a segment with (for verification)."""
    return f"fps={profile.fps}:start_time=0,trim=start_frame={frame},{normalise_filters(clip, profile)}"


def _video_chain(clip: ClipInfo, place: Placement, profile: Profile) -> str:
    content = place.frames - place.hold_frames
    first = place.source_first_frame
    return (
        f"fps={profile.fps}:start_time=0,trim=start_frame={first}:end_frame={first + content},"
        f"setpts=PTS-STARTPTS,{normalise_filters(clip, profile)},"
        f"tpad=stop=-1:stop_mode=clone,trim=end_frame={place.frames},setpts=PTS-STARTPTS"
    )


def _audio_chain(i: int, clip: ClipInfo, place: Placement, fps: int) -> str:
    length = sample_at(place.end_frame, fps) - sample_at(place.first_frame, fps)
    common = "aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo"
    if clip.audio_index is None:
        return f"anullsrc=r={AUDIO_RATE}:cl=stereo,{common},atrim=end_sample={length}"
    first = sample_at(place.source_first_frame, fps)
    content = sample_at(place.source_first_frame + place.frames - place.hold_frames, fps) - first
    return (
        f"[{i}:{clip.audio_index}]aresample={AUDIO_RATE}:async=1:first_pts=0,{common},"
        f"atrim=start_sample={first}:end_sample={first + content},asetpts=PTS-STARTPTS,"
        f"apad=whole_len={length},atrim=end_sample={length}"
    )


def encoder_options(profile: Profile, keyframes_s: Sequence[float]) -> list[str]:
    """Video and audio encoder options: IDR frames at ``keyframes_s``, closed GOPs, faststart."""
    gop = max(1, round(profile.gop_s * profile.fps))
    options = ["-r", str(profile.fps), "-pix_fmt", "yuv420p", "-g", str(gop)]
    options += ["-preset", profile.preset, "-crf", str(profile.crf), "-forced-idr", "1"]
    if keyframes_s:
        options += ["-force_key_frames", ",".join(f"{t:.6f}" for t in keyframes_s)]
    if profile.max_rate_kbps:
        options += ["-maxrate", f"{profile.max_rate_kbps}k", "-bufsize", f"{2 * profile.max_rate_kbps}k"]
    if profile.codec == "hevc":
        options += ["-c:v", "libx265", "-tag:v", "hvc1", "-x265-params", "log-level=error:open-gop=0"]
    else:
        options += ["-c:v", "libx264", "-profile:v", "high", "-flags", "+cgop"]
    options += ["-c:a", "aac", "-b:a", f"{profile.audio_kbps}k", "-ar", str(AUDIO_RATE), "-ac", "2"]
    return [*options, "-movflags", "+faststart"]


def _run_with_progress(
    command: list[str], stderr_path: Path, total_s: float, progress: ProgressFn | None
) -> None:
    """Run ffmpeg, turning its ``-progress`` reports (out_time_us) into fractions of ``total_s``."""
    with stderr_path.open("w+", encoding="utf-8", errors="replace") as stderr:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and progress is not None and value.lstrip("-").isdigit():
                    progress(min(1.0, max(0.0, int(value) / 1e6 / total_s)))
            code = proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if code != 0:
            stderr.seek(0)
            tail = "\n".join(stderr.read().strip().splitlines()[-8:])
            raise RuntimeError(f"ffmpeg failed joining the segments (exit {code}):\n{tail}")
    if progress is not None:
        progress(1.0)
