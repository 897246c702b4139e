"""Laser detection on the ShootOFF recordings: cost per frame and shots found, against a baseline.

Every peer test clip in ``expected.json`` whose file is present is decoded into memory first
(``FileCamera``: decoding is not timed), then fed frame by frame, single-threaded, to

* ``LaserDetector`` (background model, spot rules, tracking, colour), and
* a plain baseline in the same process on the same frames: luma threshold at
  ``BASELINE_LEVEL`` + the brightest blob, a shot whenever a blob appears where there was none
  in the previous frame, no background model.

Each detector's shots are judged with the peer's rule (``tests/detection_expectations.py``:
±3 px, required/optional, any unmatched detection fails). Printed: per clip, then overall, the
ms/frame median and p95 over the 640x480 frames (the 1280x720 clip is judged but not timed),
required found, unmatched and strict colour errors over the active peer tests (the historic
count-only clip, marked "historic", is timed and listed but not counted), and a one-line JSON
summary last. Target: median ≤ 2 ms per 640x480 frame.

    .venv/bin/python bench/detection.py            # all clips, ~1 minute
    .venv/bin/python bench/detection.py --clips c910 45in
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # single-threaded figures (OPENBLAS_CORETYPE is left as it is)

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from detection_expectations import ClipExpectation, Detection, judge, load_clips  # noqa: E402

from appliance.detection.laser import LaserDetector  # noqa: E402
from appliance.detection.pixel_kernels import label_pixels, to_luma  # noqa: E402
from hardware.camera.file_camera import FileCamera  # noqa: E402

BASELINE_LEVEL = 230  # luma a laser spot's core reaches
BASELINE_MIN_AREA = 3
BASELINE_LINK_PX = 20.0
TIMED_SIZE = (640, 480)


class BrightestBlobBaseline:
    """Per-frame threshold + brightest blob: a shot when a blob appears away from last frame's."""

    def __init__(self) -> None:
        self._previous: tuple[float, float] | None = None
        self._frame = -1

    def process(self, frame: np.ndarray) -> list[Detection]:
        self._frame += 1
        luma = to_luma(frame)
        ys, xs, labels = label_pixels(luma >= BASELINE_LEVEL)
        if labels.size == 0:
            self._previous = None
            return []
        weight = luma[ys, xs].astype(np.float64)
        count = int(labels.max()) + 1
        area = np.bincount(labels, minlength=count)
        energy = np.bincount(labels, weights=weight, minlength=count)
        energy[area < BASELINE_MIN_AREA] = 0.0
        best = int(np.argmax(energy))
        if energy[best] <= 0.0:
            self._previous = None
            return []
        members = labels == best
        w = weight[members]
        x = float((xs[members] * w).sum() / w.sum())
        y = float((ys[members] * w).sum() / w.sum())
        previous, self._previous = self._previous, (x, y)
        if previous is not None and np.hypot(x - previous[0], y - previous[1]) <= BASELINE_LINK_PX:
            return []
        return [Detection(self._frame, x, y, "red")]


def decode(clip: ClipExpectation) -> tuple[list[np.ndarray], list[float]]:
    with FileCamera(clip.path) as camera:
        captured = list(camera.frames())
    return [c.image for c in captured], [c.t_ms for c in captured]


def run_clip(clip: ClipExpectation) -> dict:
    images, times = decode(clip)
    height, width = images[0].shape[:2]
    detector = LaserDetector(width, height, bounds=clip.bounds, sectors_off=clip.sectors_off)
    found: list[Detection] = []
    cost_ms = []
    for image, t_ms in zip(images, times, strict=True):
        t0 = time.perf_counter_ns()
        shots = detector.process(image, t_ms)
        cost_ms.append((time.perf_counter_ns() - t0) / 1e6)
        found += [Detection(s.frame, s.x, s.y, s.color) for s in shots]
    found += [Detection(s.frame, s.x, s.y, s.color) for s in detector.flush()]
    baseline = BrightestBlobBaseline()
    baseline_found: list[Detection] = []
    baseline_ms = []
    for image in images:
        t0 = time.perf_counter_ns()
        baseline_found += baseline.process(image)
        baseline_ms.append((time.perf_counter_ns() - t0) / 1e6)
    verdict = judge(clip, found)
    base_verdict = judge(clip, baseline_found)
    return {
        "clip": clip,
        "timed": (width, height) == TIMED_SIZE,
        "frames": len(images),
        "ms": cost_ms,
        "baseline_ms": baseline_ms,
        "verdict": verdict,
        "baseline": base_verdict,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", nargs="*", help="only clips whose file name contains one of these")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    clips = [c for c in load_clips(include_stills=False) if c.available]
    if args.clips:
        clips = [c for c in clips if any(part in c.file for part in args.clips)]
    if not clips:
        sys.exit(
            "no clips: is the ShootOFF dataset at " + str(ROOT.parent / "shared/datasets/shootoff") + "?"
        )
    results = []
    print(
        f"{'clip':<58} {'frames':>6} {'med ms':>7} {'p95 ms':>7} {'req':>7} {'opt':>3} {'unm':>3} {'col':>3}"
        f"   baseline: {'ms':>5} {'req':>7} {'unm':>4}"
    )
    for clip in clips:
        r = run_clip(clip)
        results.append(r)
        v, b = r["verdict"], r["baseline"]
        strict_colour = len(v.color_errors) if clip.color_strict else 0
        mine = f"{np.median(r['ms']):>7.2f} {np.percentile(r['ms'], 95):>7.2f}"
        judged = f"{v.required_found:>3}/{clip.required:<3} {v.optional_found:>3} {len(v.unmatched):>3}"
        base_ms = np.median(r["baseline_ms"])
        theirs = f"{base_ms:>14.2f} {b.required_found:>3}/{clip.required:<3} {len(b.unmatched):>4}"
        notes = ("" if v.passed else "   FAIL") + ("   (historic)" if clip.historic else "")
        print(f"{clip.name[:58]:<58} {r['frames']:>6} {mine} {judged} {strict_colour:>3}   {theirs}{notes}")
    timed = np.concatenate([r["ms"] for r in results if r["timed"]])
    timed_base = np.concatenate([r["baseline_ms"] for r in results if r["timed"]])
    peer = [r for r in results if not r["clip"].historic]
    summary = {
        "ms_per_frame_median": round(float(np.median(timed)), 3),
        "ms_per_frame_p95": round(float(np.percentile(timed, 95)), 3),
        "ms_per_frame_max": round(float(timed.max()), 3),
        "baseline_ms_per_frame_median": round(float(np.median(timed_base)), 3),
        "baseline_ms_per_frame_p95": round(float(np.percentile(timed_base, 95)), 3),
        "timed_frames": int(timed.size),
        "required_found": sum(r["verdict"].required_found for r in peer),
        "required_total": sum(r["clip"].required for r in peer),
        "optional_found": sum(r["verdict"].optional_found for r in peer),
        "unmatched": sum(len(r["verdict"].unmatched) for r in peer),
        "color_errors_strict": sum(len(r["verdict"].color_errors) for r in peer if r["clip"].color_strict),
        "clips_passed": sum(r["verdict"].passed for r in peer),
        "clips": len(peer),
        "baseline_required_found": sum(r["baseline"].required_found for r in peer),
        "baseline_unmatched": sum(len(r["baseline"].unmatched) for r in peer),
        "baseline_clips_passed": sum(r["baseline"].passed for r in peer),
    }
    sm = summary
    print(
        f"\ndetector: median {sm['ms_per_frame_median']} ms, p95 {sm['ms_per_frame_p95']} ms per 640x480 "
        f"frame ({sm['timed_frames']} frames); required {sm['required_found']}/{sm['required_total']}, "
        f"unmatched {sm['unmatched']}, strict colour errors {sm['color_errors_strict']}, "
        f"clips passed {sm['clips_passed']}/{sm['clips']}"
    )
    print(
        f"baseline: median {sm['baseline_ms_per_frame_median']} ms; required {sm['baseline_required_found']}/"
        f"{sm['required_total']}, unmatched {sm['baseline_unmatched']}, "
        f"clips passed {sm['baseline_clips_passed']}/{sm['clips']}"
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
