"""``openrange detect FILE [--bounds X,Y,W,H] [--sectors-off ROWS] [--json]``.

Runs laser detection over a video or image file as a camera would deliver it (``FileCamera``):
every frame in order with its timestamp through one ``LaserDetector``; a still image through
``find_shots_in_image``. Prints one line per shot (a JSON object with ``--json``:
``{"frame", "t_ms", "x", "y", "color"}`` in the file's pixel coordinates) and a summary line on
stderr. Exit codes: 0 done (with or without shots), 2 the file or the options cannot be used.
Never ends in a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from appliance.detection.laser import LaserDetector, Shot
from appliance.detection.still_image import find_shots_in_image
from hardware.camera.file_camera import CameraFileError, FileCamera

log = logging.getLogger(__name__)

EXIT_OK, EXIT_UNUSABLE = 0, 2


def detect_command(
    path: Path,
    bounds: tuple[int, int, int, int] | None = None,
    sectors_off: Iterable[int] = (),
    as_json: bool = False,
    out: TextIO | None = None,
    *,
    err: TextIO | None = None,
) -> int:
    """Detect shots in the file at ``path``; report on ``out`` (stdout) and ``err`` (stderr)."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    started = time.perf_counter()
    camera = FileCamera(path)
    try:
        camera.open()
        if camera.is_still:
            frames = 1
            image = next(camera.frames()).image
            shots = find_shots_in_image(image, bounds=bounds, sectors_off=sectors_off)
            _report(shots, as_json, out)
        else:
            frames, shots = _detect_stream(camera, bounds, tuple(sectors_off), as_json, out)
    except (CameraFileError, ValueError) as exc:
        err.write(f"openrange detect: {exc}\n")
        return EXIT_UNUSABLE
    except Exception as exc:  # a decoder or library failure: still a message, not a traceback
        log.debug("detection on %s failed", path, exc_info=True)
        err.write(f"openrange detect: {path}: could not be processed: {exc}\n")
        return EXIT_UNUSABLE
    finally:
        camera.close()
    if frames == 0:
        err.write(f"openrange detect: {path}: no frame could be decoded\n")
        return EXIT_UNUSABLE
    elapsed = time.perf_counter() - started
    err.write(
        f"{len(shots)} shot{'s' if len(shots) != 1 else ''} in {frames} frame{'s' if frames != 1 else ''} "
        f"({camera.width}x{camera.height}) of {path} in {elapsed:.1f} s\n"
    )
    return EXIT_OK


def _detect_stream(
    camera: FileCamera,
    bounds: tuple[int, int, int, int] | None,
    sectors_off: tuple[int, ...],
    as_json: bool,
    out: TextIO,
) -> tuple[int, list[Shot]]:
    detector = LaserDetector(camera.width, camera.height, bounds=bounds, sectors_off=sectors_off)
    found: list[Shot] = []

    def shots() -> Iterator[Shot]:
        for captured in camera.frames():
            yield from detector.process(captured.image, captured.t_ms)
        yield from detector.flush()

    if not as_json:
        out.write(f"{'frame':>7} {'t_ms':>10} {'x':>8} {'y':>8}  color\n")
    for shot in shots():
        found.append(shot)
        _write(shot, as_json, out)
    return detector.frames_seen, found


def _report(shots: list[Shot], as_json: bool, out: TextIO) -> None:
    if not as_json:
        out.write(f"{'frame':>7} {'t_ms':>10} {'x':>8} {'y':>8}  color\n")
    for shot in shots:
        _write(shot, as_json, out)


def _write(shot: Shot, as_json: bool, out: TextIO) -> None:
    if as_json:
        record = {
            "frame": shot.frame,
            "t_ms": round(shot.t_ms, 1),
            "x": round(shot.x, 2),
            "y": round(shot.y, 2),
            "color": shot.color,
        }
        out.write(json.dumps(record) + "\n")
    else:
        out.write(f"{shot.frame:>7} {shot.t_ms:>10.1f} {shot.x:>8.2f} {shot.y:>8.2f}  {shot.color}\n")
    out.flush()
