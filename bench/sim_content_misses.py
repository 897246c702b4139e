"""Shots fired at SimCamera's moving figure, many of them at its leading edge: misses and why.

The detector runs exactly as the appliance runs it (calibrated on the projected pattern,
``HitMapper`` on every frame) on ``SimCamera``'s built-in moving scene (a figure pacing left and
right), rendered offline with a fake clock like ``tests/test_detection_sim_content.py``. Each run
(a frame rate and a seed) fires a shot every 0.15-0.4 s (at least ``MIN_GAP_FRAMES``), red or
green, aimed at

* ``leading-head``: just ahead of, on or just behind the head's leading edge (the edge that
  arrives at the spot while the pulse is on the screen), at any height of the disc's front half;
* ``leading-body``: the same at the body's leading side;
* ``head``, ``body``, ``anywhere``: as in the sim-content tests.

A shot is found when a hit lies within 0.5 % of the video width of it (and in its frame);
counted: misses, hits matching no shot (false), found shots with the wrong colour. For every
miss, the detector's verdicts (``LaserDetector.on_judged``) on the candidates within
``WHY_PX`` camera px of the spot, in the two frames it was on the screen, say why it was not
taken ("no candidate" when no risen group reached the spot rules there).

    .venv/bin/python bench/sim_content_misses.py                 # 2,400 shots, ~2 min; JSON last
    .venv/bin/python bench/sim_content_misses.py --runs 60:1 30:2 --seconds 60
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from appliance.detection.calibration import Calibration, calibrate_frames  # noqa: E402
from appliance.detection.calibration_pattern import pattern_spec, render_pattern  # noqa: E402
from appliance.detection.hit_mapping import HitMapper  # noqa: E402
from appliance.detection.spots import Candidate  # noqa: E402
from hardware.camera.sim import _CONTENT_SIZE, SimCamera, _moving_scene  # noqa: E402

VIDEO = (1280, 720)
TOLERANCE = 0.005  # of the video width
WHY_PX = 8.0
AIMS = ("leading-head", "leading-head", "leading-body", "head", "body", "anywhere")
DEFAULT_RUNS = ("30:1", "30:2", "60:3", "60:4", "120:5", "120:6")
HEAD = (120, 150, 200)
MIN_GAP_FRAMES = 4
"""Shots at least this many frames apart: a pulse is on the screen for 2 frames, and a spot near a
laser event of the last ``max_gap_frames`` (2) frames continues it (one shot, by design)."""


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def calibrate() -> Calibration:
    """As ``CameraService`` does: the pattern projected, found in the camera's frames."""
    camera = SimCamera(fps=30, pace=False, clock=FakeClock(0.0), seed=1)
    camera.open()
    camera.project(render_pattern(*VIDEO))
    frames = [camera.read(0.1).image for _ in range(3)]
    return calibrate_frames(frames, pattern_spec(*VIDEO), wanted=2)


def figure_at(t: float) -> tuple[float, float, float, int]:
    """The head's centre and radius (content px) and the direction the figure walks (+1 / -1)."""
    picture = _moving_scene(t)
    ys, xs = np.nonzero(np.all(picture == HEAD, axis=2))
    direction = 1 if math.cos(0.9 * t) >= 0 else -1
    return float(xs.mean() + 0.5), float(ys.mean() + 0.5), float(np.ptp(xs) + 1) / 2, direction


def aim(rng: random.Random, kind: str, t: float, fps: float) -> tuple[float, float]:
    """Normalised video coordinates of a shot of ``kind`` at time ``t``."""
    w, h = _CONTENT_SIZE
    cx, cy, r, direction = figure_at(t)
    step = 0.3 * 0.9 * w * abs(math.cos(0.9 * t)) / fps  # content px the figure moves a frame
    ahead = rng.uniform(-1.5, 1.0 + 2.5 * step)  # from just inside the edge to where it arrives
    if kind == "leading-head":
        angle = math.radians(rng.uniform(-75, 75))
        x = cx + direction * (r + ahead) * math.cos(angle)
        y = cy + (r + ahead) * math.sin(angle)
    elif kind == "leading-body":
        x, y = cx + direction * (14.5 + ahead), rng.uniform(0.32, 0.9) * h
    elif kind == "head":
        x, y = cx + rng.uniform(-0.8, 0.8) * r, cy + rng.uniform(-0.8, 0.8) * r
    elif kind == "body":
        x, y = cx + rng.uniform(-1.0, 1.0) * r, rng.uniform(0.32, 0.9) * h
    else:
        x, y = rng.uniform(0.02, 0.98) * w, rng.uniform(0.02, 0.98) * h
    return float(min(max(x / w, 0.01), 0.99)), float(min(max(y / h, 0.01), 0.99))


@dataclass
class Fired:
    frame: int
    u: float
    v: float
    color: str
    aim: str
    cam: tuple[float, float]
    verdicts: list[str] = field(default_factory=list)


def run(calibration: Calibration, fps: int, seed: int, seconds: float) -> dict:
    rng = random.Random(seed)
    t0 = rng.uniform(0.0, 63.0)
    clock = FakeClock(t0)
    camera = SimCamera(fps=fps, pace=False, clock=clock, seed=seed)
    camera.open()
    mapper = HitMapper(calibration, source="sim")
    frames = round(seconds * fps)
    due, i = set(), max(int(0.5 * fps), 10)  # after the background has settled (8 frames)
    while i < frames - int(0.3 * fps):
        due.add(i)
        i += rng.randint(max(MIN_GAP_FRAMES, round(0.15 * fps)), max(MIN_GAP_FRAMES, round(0.4 * fps)))
    fired: list[Fired] = []
    on_screen: dict[int, list[Fired]] = {}

    def judged(index: int, kind: str, c: Candidate, reason: str | None) -> None:
        for shot in on_screen.get(index, ()):
            if math.hypot(c.x - shot.cam[0], c.y - shot.cam[1]) <= WHY_PX:
                shot.verdicts.append(f"f+{index - shot.frame}{kind}: {reason or 'spot'}")

    hits = []
    started = time.perf_counter()
    for i in range(frames):
        t = t0 + i / fps
        if i in due:
            kind = rng.choice(AIMS)
            u, v = aim(rng, kind, t, fps)
            color = rng.choice(["red", "green"])
            clock.t = t
            camera.shoot(u, v, color)
            shot = Fired(i, u, v, color, kind, camera.video_to_camera(u, v))
            fired.append(shot)
            on_screen.setdefault(i, []).append(shot)
            on_screen.setdefault(i + 1, []).append(shot)
        frame = camera.read(0.1)
        hits += mapper(frame)
        if mapper._detector is not None and mapper._detector.on_judged is None:
            mapper._detector.on_judged = judged
    elapsed = time.perf_counter() - started
    unused = list(hits)
    misses, wrong_colour = [], 0
    for shot in fired:
        near = [
            h
            for h in unused
            if math.hypot((h.x - shot.u) * VIDEO[0], (h.y - shot.v) * VIDEO[1]) <= TOLERANCE * VIDEO[0]
            and abs(h.t_mono - (t0 + shot.frame / fps)) <= 0.5 / fps
        ]
        if not near:
            misses.append(shot)
            continue
        wrong_colour += near[0].color != shot.color
        unused.remove(near[0])
    return {
        "fps": fps,
        "seed": seed,
        "t0": round(t0, 3),
        "frames": frames,
        "seconds_per_frame_ms": round(1000 * elapsed / frames, 3),
        "shots": len(fired),
        "by_aim": dict(Counter(s.aim for s in fired)),
        "missed": len(misses),
        "false": len(unused),
        "wrong_colour": wrong_colour,
        "misses": [
            {
                "frame": s.frame,
                "aim": s.aim,
                "color": s.color,
                "u": round(s.u, 5),
                "v": round(s.v, 5),
                "camera": [round(s.cam[0], 1), round(s.cam[1], 1)],
                "why": s.verdicts or ["no candidate"],
            }
            for s in misses
        ],
        "false_hits": [
            {"t": round(h.t_mono - t0, 4), "u": round(h.x, 4), "v": round(h.y, 4)} for h in unused
        ],
    }


def first_reason(why: list[str]) -> str:
    """The first rejection among a miss's verdicts ("spot" when all were spots: it was taken but
    located too far off, or linked to another shot's event)."""
    for verdict in why:
        reason = verdict.split(": ", 1)[-1]
        if reason != "spot":
            return reason
    return "spot"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=list(DEFAULT_RUNS), help="FPS:SEED pairs")
    parser.add_argument("--seconds", type=float, default=110.0, help="seconds of video per run")
    parser.add_argument("--quiet", action="store_true", help="no per-miss lines")
    args = parser.parse_args()
    calibration = calibrate()
    results = []
    for spec in args.runs:
        fps, seed = (int(part) for part in spec.split(":"))
        result = run(calibration, fps, seed, args.seconds)
        results.append(result)
        print(
            f"{fps:>3} fps seed {seed}: {result['shots']} shots, {result['missed']} missed,"
            f" {result['false']} false, {result['wrong_colour']} wrong colour"
            f" ({result['seconds_per_frame_ms']} ms/frame incl. rendering)",
            flush=True,
        )
        if not args.quiet:
            for miss in result["misses"]:
                print(f"    miss {miss}")
            for hit in result["false_hits"]:
                print(f"    false {hit}")
    shots = sum(r["shots"] for r in results)
    reasons = Counter(first_reason(m["why"]) for r in results for m in r["misses"])
    summary = {
        "runs": [f"{r['fps']}:{r['seed']}" for r in results],
        "seconds_per_run": args.seconds,
        "shots": shots,
        "leading_edge_shots": sum(
            r["by_aim"].get(a, 0) for r in results for a in ("leading-head", "leading-body")
        ),
        "missed": sum(r["missed"] for r in results),
        "false": sum(r["false"] for r in results),
        "wrong_colour": sum(r["wrong_colour"] for r in results),
        "miss_rate": round(sum(r["missed"] for r in results) / max(shots, 1), 5),
        "missed_by_aim": dict(Counter(m["aim"] for r in results for m in r["misses"])),
        "miss_reasons": dict(reasons),
        "missed_seeds": sorted({f"{r['fps']}:{r['seed']}" for r in results if r["missed"]}),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
