"""Joined test media: one mp4 holding several segments, each frame readable by its pixels.

What the packer makes for a scenario (all scene clips joined into one file, a keyframe exactly
on every segment start), with two things drawn in for measuring what is on screen:

* the **segment marker** of the demo library: a solid grey square at the top-left corner,
  side ``round(16 * height / 720)`` px, grey level ``40 + 20 * (index % 10)``;
* a **frame code**: ``CODE_BITS`` squares of the same side along the top edge, right-aligned,
  black or white, giving the frame's index in the joined file in binary (bit 0 rightmost).

Each segment is also written as its own file (``JoinedMedia.parts``) for the ``loadfile``
baseline: same picture, same frame codes. Files are cached next to a sidecar of their
parameters, like ``media_fixtures``. Used by tests/test_mpv_seamless.py and bench/branch_switch.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

CODE_BITS = 11  # 2048 frames: 68 s at 30 fps
TAIL_FRAMES = 30
"""A keyframe also sits this many frames before each segment's end, so a test can start a
segment near its end cheaply (an exact seek decodes from the keyframe before its target)."""
_lock = threading.Lock()
_QUIET = ("-nostdin", "-hide_banner", "-loglevel", "error", "-y")


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def marker_level(index: int) -> int:
    """Grey level of the segment marker of the scene at ``index`` (manifest order)."""
    return 40 + 20 * (index % 10)


def marker_side(height: int) -> int:
    return round(16 * height / 720)


def level_to_index(level: float) -> int | None:
    """``index % 10`` of the marker whose grey level is ``level`` (±8), or None."""
    k = round((level - 40) / 20)
    if 0 <= k <= 9 and abs(level - marker_level(k)) <= 8:
        return k
    return None


@dataclass(frozen=True)
class JoinedMedia:
    path: Path
    """The joined file: every segment, a keyframe exactly on each segment's first frame."""
    parts: list[Path]
    """Each segment as its own file (for the ``loadfile`` baseline)."""
    size: tuple[int, int]
    fps: int
    frames: list[int]
    """Frame count of each segment."""
    first: list[int] = field(default_factory=list)
    """Index (in the joined file) of each segment's first frame."""

    @property
    def frame_s(self) -> float:
        return 1.0 / self.fps

    def start_s(self, i: int) -> float:
        return self.first[i] / self.fps

    def end_s(self, i: int) -> float:
        return (self.first[i] + self.frames[i]) / self.fps

    def tail_s(self, i: int) -> float:
        """Where the keyframe ``TAIL_FRAMES`` before the end of segment ``i`` is."""
        return (self.first[i] + self.frames[i] - TAIL_FRAMES) / self.fps

    def segment_of_frame(self, frame: int) -> int | None:
        for i, (first, count) in enumerate(zip(self.first, self.frames, strict=True)):
            if first <= frame < first + count:
                return i
        return None


def _part_filter(index: int, first_frame: int, size: tuple[int, int]) -> str:
    w, h = size
    s = marker_side(h)
    level = marker_level(index)
    grey = f"0x{level:02X}{level:02X}{level:02X}"
    code_x = w - CODE_BITS * s
    steps = [
        f"hue=h={(index * 67) % 360}",
        f"drawbox=x=0:y=0:w={s}:h={s}:color={grey}:t=fill",
        f"drawbox=x={code_x}:y=0:w={CODE_BITS * s}:h={s}:color=black:t=fill",
    ]
    for bit in range(CODE_BITS):
        x = w - (bit + 1) * s
        cond = f"eq(mod(floor((n+{first_frame})/{2**bit})\\,2)\\,1)"
        steps.append(f"drawbox=x={x}:y=0:w={s}:h={s}:color=white:t=fill:enable='{cond}'")
    return ",".join(steps)


def _encode_args(fps: int) -> list[str]:
    return [
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "fastdecode",
        "-pix_fmt",
        "yuv420p",
        "-g",
        str(2 * fps),
        "-sc_threshold",
        "0",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-ar",
        "48000",
        "-movflags",
        "+faststart",
    ]


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg could not make {what}: {proc.stderr.strip()[-800:]}")


def make_joined_media(
    folder: Path,
    *,
    size: tuple[int, int] = (1280, 720),
    fps: int = 30,
    seconds: tuple[float, ...] = (2.0, 2.0, 2.0, 2.0, 2.0, 2.0),
) -> JoinedMedia:
    """Write (or reuse) ``folder/joined.mp4`` and ``folder/part<i>.mp4`` and describe them.

    Raises RuntimeError when ffmpeg is missing or fails.
    """
    folder = Path(folder)
    frames = [round(s * fps) for s in seconds]
    first = [sum(frames[:i]) for i in range(len(frames))]
    media = JoinedMedia(
        path=folder / "joined.mp4",
        parts=[folder / f"part{i}.mp4" for i in range(len(frames))],
        size=size,
        fps=fps,
        frames=frames,
        first=first,
    )
    params = {"size": list(size), "fps": fps, "frames": frames, "bits": CODE_BITS, "v": 4}
    sidecar = folder / "joined.params.json"
    with _lock:
        try:
            files = [media.path, *media.parts]
            if json.loads(sidecar.read_text()) == params and all(p.exists() for p in files):
                return media
        except (OSError, ValueError):
            pass
        if not ffmpeg_available():
            raise RuntimeError("ffmpeg/ffprobe not found on PATH")
        folder.mkdir(parents=True, exist_ok=True)
        w, h = size
        for i, (count, part) in enumerate(zip(frames, media.parts, strict=True)):
            cmd = [
                "ffmpeg",
                *_QUIET,
                "-f",
                "lavfi",
                "-i",
                f"testsrc2=size={w}x{h}:rate={fps}",
                "-f",
                "lavfi",
                "-i",
                f"sine=frequency={220 + 110 * i}:sample_rate=48000",
                "-frames:v",
                str(count),
                "-t",
                f"{count / fps:.6f}",
                "-vf",
                _part_filter(i, first[i], size),
                "-ac",
                "2",
                *_encode_args(fps),
                str(part),
            ]
            _run(cmd, part.name)
        inputs: list[str] = []
        for part in media.parts:
            inputs += ["-i", str(part)]
        streams = "".join(f"[{i}:v][{i}:a]" for i in range(len(frames)))
        tails = [f + n - TAIL_FRAMES for f, n in zip(first, frames, strict=True) if n >= 2 * TAIL_FRAMES]
        keys = ",".join(f"{f / fps:.6f}" for f in sorted(first + tails))
        tmp = media.path.with_name("joined.part.mp4")
        cmd = [
            "ffmpeg",
            *_QUIET,
            *inputs,
            "-filter_complex",
            f"{streams}concat=n={len(frames)}:v=1:a=1[v][a]",
            "-map",
            "[v]",
            "-map",
            "[a]",
            "-force_key_frames",
            keys,
            *_encode_args(fps),
            str(tmp),
        ]
        _run(cmd, media.path.name)
        tmp.replace(media.path)
        sidecar.write_text(json.dumps(params))
    return media


def keyframe_times(path: Path) -> list[float]:
    """Presentation times of the video keyframes of ``path`` (ffprobe)."""
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-skip_frame",
            "nokey",
            "-show_entries",
            "frame=pts_time",
            "-of",
            "csv=p=0",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [float(line.strip().rstrip(",")) for line in out.stdout.splitlines() if line.strip()]
