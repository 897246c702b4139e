"""The real detector on the simulated camera: moving projected content, with and without shots.

``SimCamera`` films a projection of a dim scene with a figure pacing left and right (a round,
skin-coloured head over an orange body) the way the appliance's camera sees it: warped, with
ambient light and sensor noise. A training video is full of such content, so the detector, run
exactly as the appliance runs it (calibrated on the projected pattern, ``HitMapper`` on every
frame), must report nothing on it, and must still find every shot fired at it, on the figure too.

Frames are rendered offline (``pace=False``, a fake clock): frame i shows the scene at
``t0 + i / fps``. How much content that covers, and why it is enough:

* The built-in scene is periodic. The figure moves with ``sin(0.9 t)``, the scene's brightness
  with ``sin(0.7 t)``; both rates are multiples of 0.1 rad/s, so after 20 pi s (62.8 s) every
  combination of position, direction, speed and brightness has been shown. Scenarios 1 and 2
  below cover that whole period between them, scenario 3 covers it once more.
* What the detector feels is the motion per frame, so the frame rate is the speed knob: 60 fps
  is the appliance's rate (the figure moves up to 2 camera px a frame), 30 fps doubles and
  15 fps quadruples the per-frame motion (a person running across the picture in ~2 s).
* Projected variants (``SimCamera.project`` with our own moving scene) change what the built-in
  scene cannot: a brighter or differently coloured head, other sizes, sub-pixel (anti-aliased)
  motion, a second figure moving diagonally.

That is 126 s of the built-in scene plus 36 s of variants (about 4,300 frames, ~8 s here).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from appliance.detection.calibration import Calibration, calibrate_frames
from appliance.detection.calibration_pattern import pattern_spec, render_pattern
from appliance.detection.hit_mapping import HitMapper
from hardware.camera.sim import SimCamera, _moving_scene
from hardware.events import HitDetected

VIDEO = (1280, 720)
TOLERANCE = 0.005  # of the picture's width, after mapping to video coordinates


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def sim_camera(fps: float, seed: int, t0: float) -> tuple[SimCamera, FakeClock]:
    clock = FakeClock(t0)
    camera = SimCamera(fps=fps, pace=False, clock=clock, seed=seed)
    camera.open()
    return camera, clock


@pytest.fixture(scope="module")
def calibration() -> Calibration:
    """Calibrated as ``CameraService`` does: the pattern projected, found in the camera's frames."""
    camera, _ = sim_camera(30, 1, 0.0)
    camera.project(render_pattern(*VIDEO))
    frames = [camera.read(0.1).image for _ in range(3)]
    return calibrate_frames(frames, pattern_spec(*VIDEO), wanted=2)


def play(camera: SimCamera, mapper: HitMapper, frames: int, before_frame=None) -> list[HitDetected]:
    hits: list[HitDetected] = []
    for i in range(frames):
        if before_frame is not None:
            before_frame(i)
        frame = camera.read(0.1)
        assert frame is not None
        hits += mapper(frame)
    return hits


# --- (a) moving content alone: no shot ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fps", "seed", "t0", "seconds"),
    [
        pytest.param(60, 7, 0.0, 21.0, id="60fps-first-third-of-the-period"),
        pytest.param(30, 3, 21.0, 42.0, id="30fps-rest-of-the-period"),
        pytest.param(15, 11, 0.0, 63.0, id="15fps-whole-period"),
    ],
)
def test_the_pacing_figure_gives_no_shot(
    calibration: Calibration, fps: int, seed: int, t0: float, seconds: float
) -> None:
    camera, _ = sim_camera(fps, seed, t0)
    hits = play(camera, HitMapper(calibration, source="sim"), round(seconds * fps))
    assert hits == []


@dataclass(frozen=True)
class Figures:
    """Our own moving scene for ``SimCamera.project``: one figure pacing, a second head drifting
    diagonally, the room light drifting. Sizes are in pixels of a 320x180 picture."""

    head: tuple[int, int, int]  # BGR
    size: float
    speed: float
    smooth: bool  # sub-pixel, anti-aliased motion (else whole-pixel steps)

    def render(self, t: float) -> np.ndarray:
        w, h = 320, 180
        level = int(70 + 25 * math.sin(t * 0.7))
        picture = np.full((h, w, 3), (level, level + 8, level + 4), np.uint8)
        shift = 4 if self.smooth else 0

        def px(value: float) -> int:
            return round(value * 16) if self.smooth else int(value)

        line = cv2.LINE_AA if self.smooth else cv2.LINE_8
        x = w * (0.5 + 0.3 * math.sin(t * 0.9 * self.speed))
        body = ((px(x - 14 * self.size), px(h * 0.3)), (px(x + 14 * self.size), px(h * 0.92)))
        cv2.rectangle(picture, *body, (60, 90, 170), -1, line, shift)
        cv2.circle(picture, (px(x), px(h * 0.22)), px(11 * self.size), self.head, -1, line, shift)
        x2 = w * (0.5 + 0.35 * math.cos(t * 0.4 * self.speed))
        y2 = h * (0.5 + 0.25 * math.sin(t * 0.55 * self.speed + 1))
        brighter = tuple(min(255, c + 40) for c in self.head)
        cv2.circle(picture, (px(x2), px(y2)), px(8 * self.size), brighter, -1, line, shift)
        return picture


@pytest.mark.parametrize(
    "figures",
    [
        pytest.param(Figures((150, 180, 215), 1.5, 2.5, smooth=True), id="brighter-larger-faster-smooth"),
        pytest.param(Figures((60, 200, 120), 0.8, 1.0, smooth=False), id="green-small-stepping"),
        pytest.param(Figures((170, 200, 225), 1.0, 0.3, smooth=False), id="bright-slow-stepping"),
    ],
)
def test_other_moving_figures_give_no_shot(calibration: Calibration, figures: Figures) -> None:
    fps, seconds, t0 = 30, 12.0, 5.0
    camera, _ = sim_camera(fps, 5, t0)
    hits = play(
        camera,
        HitMapper(calibration, source="sim"),
        round(seconds * fps),
        lambda i: camera.project(figures.render(t0 + i / fps)),
    )
    assert hits == []


# --- (b) shots fired during the moving content: every one found, nothing else -------------------


def head_in_video(t: float) -> tuple[float, float, float, float]:
    """The figure's head in the built-in scene at time t: centre and half-size (video units),
    measured from the picture the simulator projects."""
    picture = _moving_scene(t)
    ys, xs = np.nonzero(np.all(picture == (120, 150, 200), axis=2))
    h, w = picture.shape[:2]
    return (
        (xs.mean() + 0.5) / w,
        (ys.mean() + 0.5) / h,
        (np.ptp(xs) + 1) / (2 * w),
        (np.ptp(ys) + 1) / (2 * h),
    )


@dataclass(frozen=True)
class Fired:
    frame: int
    u: float
    v: float
    color: str
    aim: str


def fire_at_random(camera: SimCamera, clock: FakeClock, fps: int, t0: float, frames: int, seed: int):
    """A hook for ``play`` that fires a shot every 0.3-0.8 s: at the head, at the body or anywhere
    in the picture, red or green; returns the hook and the list it fills."""
    rng = random.Random(seed)
    due = {}
    i = int(0.5 * fps)
    while i < frames - int(0.2 * fps):
        due[i] = None
        i += rng.randint(int(0.3 * fps), int(0.8 * fps))
    fired: list[Fired] = []

    def hook(i: int) -> None:
        if i not in due:
            return
        t = t0 + i / fps
        hx, hy, hw, hh = head_in_video(t)
        aim = rng.choice(["head", "body", "anywhere"])
        if aim == "head":
            u, v = hx + rng.uniform(-0.8, 0.8) * hw, hy + rng.uniform(-0.8, 0.8) * hh
        elif aim == "body":
            u, v = hx + rng.uniform(-1.0, 1.0) * hw, rng.uniform(0.32, 0.9)
        else:
            u, v = rng.uniform(0.02, 0.98), rng.uniform(0.02, 0.98)
        color = rng.choice(["red", "green"])
        clock.t = t  # the pulse lands in this frame and the next
        camera.shoot(u, v, color)
        fired.append(Fired(i, u, v, color, aim))

    return hook, fired


@pytest.mark.parametrize(("fps", "seed", "t0"), [(60, 1, 7.3), (30, 2, 14.6)])
def test_shots_on_and_around_the_moving_figure_are_all_found(
    calibration: Calibration, fps: int, seed: int, t0: float
) -> None:
    frames = 20 * fps
    camera, clock = sim_camera(fps, seed, t0)
    hook, fired = fire_at_random(camera, clock, fps, t0, frames, seed)
    hits = play(camera, HitMapper(calibration, source="sim"), frames, hook)
    assert len(fired) >= 30 and sum(f.aim == "head" for f in fired) >= 8
    unused = list(hits)
    for shot in fired:
        near = [
            h
            for h in unused
            if math.hypot((h.x - shot.u) * VIDEO[0], (h.y - shot.v) * VIDEO[1]) <= TOLERANCE * VIDEO[0]
        ]
        assert near, f"missed {shot} ({len(hits)} hits)"
        assert near[0].color == shot.color, shot
        assert near[0].t_mono == pytest.approx(t0 + shot.frame / fps, abs=0.5 / fps), shot
        unused.remove(near[0])
    assert unused == []
