"""Look at media files with ffprobe/ffmpeg: what a clip holds, where its keyframes are, one frame.

Used by the packer (``pack.py``) to check every clip before any long work and to verify a joined
file by decoding it. Every failure is a :class:`MediaError` naming the file, never a traceback.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from appliance.errors import ScenarioError

PROBE_TIMEOUT_S = 60.0
THUMB_SIZE = (48, 27)
"""Thumbnails compared by the packer's verification: small enough to ignore coding noise."""


class MediaError(ScenarioError):
    """A media file cannot be used (missing, unreadable, not a video, too short)."""


@dataclass(frozen=True)
class MediaTools:
    ffmpeg: str
    ffprobe: str


def find_media_tools() -> MediaTools:
    """Locate ffmpeg and ffprobe, or raise RuntimeError saying how to install them."""
    ffmpeg, ffprobe = shutil.which("ffmpeg"), shutil.which("ffprobe")
    if ffmpeg is None or ffprobe is None:
        raise RuntimeError("ffmpeg/ffprobe not found: install them (apt install ffmpeg)")
    return MediaTools(ffmpeg=ffmpeg, ffprobe=ffprobe)


@dataclass(frozen=True)
class ClipInfo:
    """What the packer needs to know about one source clip."""

    path: Path
    video_index: int
    """Index of the picture stream (attached cover pictures are skipped)."""
    audio_index: int | None
    width: int
    height: int
    frame_rate: Fraction
    duration_s: float
    codec: str
    sample_aspect: Fraction = Fraction(1)
    """Pixel shape (width/height of one pixel); ffmpeg's autorotation is already applied to the size."""

    @property
    def has_audio(self) -> bool:
        return self.audio_index is not None


def probe_clip(path: Path, tools: MediaTools, label: str | None = None) -> ClipInfo:
    """Read a clip's streams; MediaError (naming ``label`` or the file) if it is no usable video."""
    name = label or path.name
    if not path.is_file():
        raise MediaError(f"'{name}': no such file")
    command = [tools.ffprobe, "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise MediaError(f"'{name}': ffprobe took longer than {PROBE_TIMEOUT_S:g} s") from None
    if result.returncode != 0:
        raise MediaError(f"'{name}': not a readable media file ({_last_line(result.stderr)})")
    try:
        info = json.loads(result.stdout)
    except ValueError:
        raise MediaError(f"'{name}': ffprobe gave an unreadable report") from None
    return _clip_info(path, name, info)


def _clip_info(path: Path, name: str, info: dict[str, Any]) -> ClipInfo:
    streams = info.get("streams") or []
    videos = [
        s
        for s in streams
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    if not videos:
        raise MediaError(f"'{name}': has no video stream")
    video = videos[0]
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if width <= 0 or height <= 0:
        raise MediaError(f"'{name}': the video stream has no picture size")
    sar = _ratio(video.get("sample_aspect_ratio")) or Fraction(1)
    if _rotation(video) % 180 == 90:  # ffmpeg turns the picture upright when decoding
        width, height, sar = height, width, 1 / sar
    rate = _rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate"))
    duration = _seconds(video.get("duration")) or _seconds((info.get("format") or {}).get("duration"))
    if rate is None or duration is None or duration <= 0:
        raise MediaError(f"'{name}': a still image or a stream without a duration, not a video clip")
    return ClipInfo(
        path=path,
        video_index=int(video["index"]),
        audio_index=int(audio["index"]) if audio is not None else None,
        width=width,
        height=height,
        frame_rate=rate,
        duration_s=duration,
        codec=str(video.get("codec_name", "?")),
        sample_aspect=sar,
    )


def _ratio(text: object) -> Fraction | None:
    """'4:3' as a Fraction; None for '0:1', 'N/A' or nonsense."""
    try:
        value = Fraction(str(text).replace(":", "/"))
    except (ValueError, ZeroDivisionError):
        return None
    return value if 0.1 <= value <= 10 else None


def _rotation(video: dict[str, Any]) -> int:
    for side in video.get("side_data_list") or []:
        if isinstance(side, dict) and "rotation" in side:
            return round(float(side["rotation"])) % 360
    rotate = (video.get("tags") or {}).get("rotate")
    return round(float(rotate)) % 360 if _seconds(rotate) is not None else 0


def _rate(text: object) -> Fraction | None:
    try:
        rate = Fraction(str(text))
    except (ValueError, ZeroDivisionError):
        return None
    return rate if 0 < rate <= 1000 else None


def _seconds(text: object) -> float | None:
    try:
        value = float(str(text))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _last_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no details"


def keyframe_times(path: Path, tools: MediaTools) -> list[float]:
    """Times of the video keyframes, found by decoding only the keyframes (-skip_frame nokey)."""
    command = [
        tools.ffprobe, "-v", "error", "-select_streams", "v:0", "-skip_frame", "nokey",
        "-show_entries", "frame=best_effort_timestamp_time,key_frame", "-of", "json", str(path),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S * 5, check=False)
    try:
        frames = json.loads(result.stdout).get("frames", []) if result.returncode == 0 else None
    except ValueError:
        frames = None
    if frames is None:
        raise MediaError(f"'{path.name}': cannot list keyframes ({_last_line(result.stderr)})")
    times = [_seconds(f.get("best_effort_timestamp_time")) for f in frames if f.get("key_frame") == 1]
    return sorted(t for t in times if t is not None)


def count_frames(path: Path, tools: MediaTools) -> int:
    """Number of video frames (packets counted, not decoded)."""
    command = [
        tools.ffprobe, "-v", "error", "-select_streams", "v:0", "-count_packets",
        "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", str(path),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S * 5, check=False)
    try:
        return int(result.stdout.strip().strip(","))
    except ValueError:
        raise MediaError(f"'{path.name}': cannot count frames ({_last_line(result.stderr)})") from None


def decode_thumbnail(
    path: Path,
    tools: MediaTools,
    *,
    seek_s: float | None = None,
    filters: str = "",
    stream: str = "0:v:0",
) -> np.ndarray:
    """One frame as a small RGB array (``THUMB_SIZE``).

    ``seek_s`` seeks the input exactly (ffmpeg decodes from the keyframe before it and shows the
    first frame at or after it); ``filters`` run before the final downscale.
    """
    width, height = THUMB_SIZE
    chain = ",".join(f for f in (filters, f"scale={width}:{height}:flags=area", "format=rgb24") if f)
    command = [tools.ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error"]
    if seek_s is not None:
        command += ["-ss", f"{max(0.0, seek_s):.6f}"]
    command += ["-i", str(path), "-filter_complex", f"[{stream}]{chain}[out]", "-map", "[out]"]
    command += ["-frames:v", "1", "-f", "rawvideo", "pipe:"]
    result = subprocess.run(command, capture_output=True, timeout=PROBE_TIMEOUT_S * 5, check=False)
    expected = width * height * 3
    if result.returncode != 0 or len(result.stdout) != expected:
        stderr = result.stderr.decode("utf-8", "replace")
        raise MediaError(f"'{path.name}': cannot decode a frame ({_last_line(stderr)})")
    return np.frombuffer(result.stdout, np.uint8).reshape(height, width, 3)


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two same-sized 8-bit pictures (0 = identical, 255 = opposite)."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())
