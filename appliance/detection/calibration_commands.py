"""``openrange calibrate IMAGE [--json]``: calibrate from a saved camera image and print the result.

Exit codes: 0 calibrated, 1 the image shows no usable pattern (the message says what to change),
2 the file cannot be read as an image. The command never ends in a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np

from appliance.detection.calibration import Calibration, CalibrationError, calibrate
from appliance.detection.calibration_pattern import PatternSpec

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_UNREADABLE = 0, 1, 2


def calibrate_command(
    image: Path, *, as_json: bool = False, out: TextIO | None = None, spec: PatternSpec | None = None
) -> int:
    """Calibrate from the camera image at ``image`` and report on ``out`` (default: sys.stdout).

    ``spec=None`` recognises any known pattern (OpenRange's own or ShootOFF's 9x6 board).
    """
    out = out if out is not None else sys.stdout
    path = Path(image)
    frame, unreadable = _read(path)
    report: dict[str, Any] = {"image": str(path)}
    if frame is None:
        report |= {"ok": False, "error": {"reason": "unreadable", "message": unreadable, "edges": []}}
        code = EXIT_UNREADABLE
    else:
        try:
            calibration = calibrate(frame, spec)
        except CalibrationError as exc:
            report |= {"ok": False, "error": exc.failure.to_dict()}
            code = EXIT_FAILED
        except Exception as exc:  # calibrate should not raise anything else; the command must not
            log.exception("calibrating from %s failed", path)
            report |= {"ok": False, "error": {"reason": "error", "message": str(exc), "edges": []}}
            code = EXIT_FAILED
        else:
            report |= {"ok": True, "calibration": calibration.to_dict()}
            code = EXIT_OK
    if as_json:
        json.dump(report, out, indent=2)
        out.write("\n")
    elif code == EXIT_OK:
        out.write(_describe(path, Calibration.from_dict(report["calibration"])))
    elif code == EXIT_UNREADABLE:
        out.write(f"cannot read {path}: {unreadable}\n")
    else:
        out.write(f"{path}: calibration failed: {report['error']['message']}\n")
    return code


def _read(path: Path) -> tuple[np.ndarray | None, str]:
    try:
        if not path.exists():
            return None, "no such file"
        if not path.is_file():
            return None, "not a file"
        if path.stat().st_size == 0:
            return None, "the file is empty"
        with path.open("rb"):
            pass  # permission problems surface here as OSError, not as "not an image"
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
    except OSError as exc:
        return None, exc.strerror or str(exc)
    except cv2.error as exc:
        return None, f"OpenCV could not decode it ({exc.err})"
    if frame is None:
        return None, "not an image OpenCV can read (PNG, JPEG, BMP, ...)"
    return frame, ""


def _describe(path: Path, cal: Calibration) -> str:
    x, y, w, h = cal.bounds
    cw, ch = cal.camera_size
    names = ("TL", "TR", "BR", "BL")
    corners = ", ".join(
        f"{n} ({px:.1f}, {py:.1f})" for n, (px, py) in zip(names, cal.screen_quad, strict=True)
    )
    lines = [
        f"{path}: calibrated ({cal.pattern} pattern, {cw}x{ch} camera image)",
        f"  picture bounds   x={x} y={y} w={w} h={h} (camera pixels)",
        f"  picture corners  {corners}",
        f"  corner fit error {cal.reprojection_error_px:.2f} px RMS",
        "  homography (camera pixels -> video 0..1):",
        *(f"    [{row[0]: .6e} {row[1]: .6e} {row[2]: .6e}]" for row in cal.homography),
        *(f"  warning: {w}" for w in cal.warnings),
    ]
    return "\n".join(lines) + "\n"
