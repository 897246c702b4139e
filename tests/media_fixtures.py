"""Generated test clips: small H.264 + silent AAC mp4 files made with ffmpeg.

Any test may reuse these helpers::

    from media_fixtures import make_test_clip

    clip = make_test_clip(tmp_dir / "a.mp4", 3.0, label="A")

A clip is regenerated only when its parameters change: the parameters are remembered in a
sidecar file next to the clip, so a directory from ``tmp_path_factory`` (one per session)
acts as the cache, and repeated calls within the session cost nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from pathlib import Path

_lock = threading.Lock()


def ffmpeg_available() -> bool:
    """True when both ``ffmpeg`` and ``ffprobe`` are on PATH."""
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def _drawtext(label: str, size: tuple[int, int]) -> str:
    text = label.replace("\\", "\\\\").replace("'", "").replace(":", "\\:").replace("%", "\\%")
    font = max(12, size[1] // 6)
    return (
        f"drawtext=text='{text}':fontsize={font}:fontcolor=white:box=1:boxcolor=black@0.6"
        ":x=(w-text_w)/2:y=(h-text_h)/2"
    )


def _ffmpeg_cmd(out: Path, seconds: float, size: tuple[int, int], fps: int, vf: str | None) -> list[str]:
    w, h = size
    cmd = [
        "ffmpeg",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={w}x{h}:rate={fps}",
        "-f",
        "lavfi",
        "-i",
        "anullsrc=channel_layout=stereo:sample_rate=48000",
        "-t",
        f"{seconds:.3f}",
    ]
    if vf:
        cmd += ["-vf", vf]
    cmd += [
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-g",
        str(fps),
        "-keyint_min",
        str(fps),
        "-sc_threshold",
        "0",
        "-c:a",
        "aac",
        "-b:a",
        "32k",
        "-movflags",
        "+faststart",
        str(out),
    ]
    return cmd


def make_test_clip(
    path: Path,
    seconds: float,
    size: tuple[int, int] = (320, 180),
    fps: int = 30,
    label: str = "",
) -> Path:
    """Write an mp4 test clip to ``path`` (H.264, keyframe every second, silent AAC) and return it.

    The picture is ffmpeg's ``testsrc2`` pattern with ``label`` drawn in the middle (skipped
    if the ffmpeg build has no usable font). Reuses an existing clip made with the same
    parameters. Raises ``RuntimeError`` if ffmpeg is missing or fails.
    """
    path = Path(path)
    params = {"seconds": round(float(seconds), 3), "size": list(size), "fps": int(fps), "label": label}
    sidecar = path.with_name(path.name + ".params.json")
    with _lock:
        if path.exists() and sidecar.exists():
            try:
                if json.loads(sidecar.read_text()) == params:
                    return path
            except (OSError, ValueError):
                pass
        if not ffmpeg_available():
            raise RuntimeError("ffmpeg/ffprobe not found on PATH")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + ".part" + path.suffix)
        attempts = [_drawtext(label, size), None] if label else [None]
        err = ""
        for vf in attempts:
            proc = subprocess.run(
                _ffmpeg_cmd(tmp, float(seconds), size, int(fps), vf),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            if proc.returncode == 0:
                tmp.replace(path)
                sidecar.write_text(json.dumps(params))
                return path
            err = proc.stderr.strip()
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"ffmpeg could not make {path.name}: {err}")
