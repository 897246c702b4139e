"""Laser detection on synthetic frames: numpy-drawn gaussian spots on noisy, moving backgrounds.

Covers what the recordings cannot pin down exactly: sub-pixel accuracy, one shot per held beam,
a recoil streak reported at its start, colour classes, zones, odd inputs. The file camera and
``openrange detect`` are exercised on small generated files.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from appliance.detection.commands import detect_command
from appliance.detection.laser import DetectorConfig, LaserDetector, Shot
from appliance.detection.pixel_kernels import label_pixels, max_filter, to_luma
from appliance.detection.still_image import find_shots_in_image
from appliance.detection.tracking import Observation, ShotTracker
from hardware.camera.base import Frame
from hardware.camera.file_camera import CameraFileError, FileCamera
from hardware.camera.runner import CameraRunner
from hardware.events import HitDetected

W, H = 320, 240
# channel gains (B, G, R) of what each laser adds to a colour camera's image
LASER_TINT = {"red": (0.25, 0.3, 1.0), "green": (0.3, 1.0, 0.3), "infrared": (1.0, 1.0, 1.0)}


class Scene:
    """A projected picture that drifts and shimmers, with camera noise, as uint8 BGR frames."""

    def __init__(self, seed: int = 1, width: int = W, height: int = H) -> None:
        self.rng = np.random.default_rng(seed)
        self.yy, self.xx = np.mgrid[0:height, 0:width].astype(np.float32)
        self.frame = 0

    def next(self) -> np.ndarray:
        t = self.frame
        self.frame += 1
        base = 95 + 35 * np.sin(self.xx / 23 + t * 0.06) * np.cos(self.yy / 31 - t * 0.04)
        tint = np.stack([base * 0.9, base, base * 1.1], axis=2)
        return self._finish(tint)

    def _finish(self, image: np.ndarray) -> np.ndarray:
        noisy = image + self.rng.normal(0, 2.0, image.shape)
        return np.clip(noisy, 0, 255).astype(np.uint8)


def add_spot(
    frame: np.ndarray, x: float, y: float, *, sigma: float = 1.8, peak: float = 220, color: str = "red"
):
    """Add a gaussian laser spot centred at (x, y) (pixel centres at integers)."""
    h, w = frame.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    g = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2)) * peak
    out = frame.astype(np.float32)
    for channel, gain in enumerate(LASER_TINT[color]):
        out[:, :, channel] += g * gain
    frame[...] = np.clip(out, 0, 255).astype(np.uint8)
    return frame


def run(frames: list[np.ndarray], detector: LaserDetector | None = None) -> list[Shot]:
    detector = detector or LaserDetector(frames[0].shape[1], frames[0].shape[0])
    shots = []
    for i, frame in enumerate(frames):
        shots += detector.process(frame, i * 33.3)
    return shots + detector.flush()


def clip_with(spots: dict[int, list[tuple]], n: int = 40, seed: int = 1) -> list[np.ndarray]:
    """``n`` frames of a moving scene; ``spots[i]`` = [(x, y, kwargs), ...] drawn into frame i."""
    scene = Scene(seed)
    frames = []
    for i in range(n):
        frame = scene.next()
        for x, y, kw in spots.get(i, []):
            add_spot(frame, x, y, **kw)
        frames.append(frame)
    return frames


def test_a_moving_scene_without_laser_gives_no_shot() -> None:
    assert run(clip_with({}, n=80)) == []


def test_a_bright_object_moving_across_the_picture_is_not_a_shot() -> None:
    scene = Scene(3)
    frames = []
    for i in range(60):
        frame = scene.next().astype(np.float32)
        cx, cy = 20 + i * 5, 120 + 40 * math.sin(i / 6)
        disc = (scene.xx - cx) ** 2 + (scene.yy - cy) ** 2 <= 18**2
        frame[disc] = 235
        frames.append(frame.astype(np.uint8))
    assert run(frames) == []


def test_the_lights_coming_on_is_not_a_shot() -> None:
    frames = clip_with({}, n=40)
    frames[20:] = [np.clip(f.astype(np.int16) + 70, 0, 255).astype(np.uint8) for f in frames[20:]]
    assert run(frames) == []


def _fade(frames: list[np.ndarray], per_frame: int) -> list[np.ndarray]:
    """The projected picture fades in from frame 20, ``per_frame`` luma levels a frame."""
    return [
        np.clip(f.astype(np.int16) - 30 + min(max(i - 20, 0), 40) * per_frame, 0, 255).astype(np.uint8)
        for i, f in enumerate(frames)
    ]


def test_a_fade_gives_no_shot_but_a_shot_during_it_is_found() -> None:
    assert run(_fade(clip_with({}, n=70), 3)) == []
    bright = {"peak": 400}
    shots = run(_fade(clip_with({40: [(150, 100, bright)], 41: [(150, 100, bright)]}, n=70), 3))
    assert [(s.frame, round(s.x), round(s.y)) for s in shots] == [(40, 150, 100)]


def test_sub_pixel_centre_within_a_third_of_a_pixel() -> None:
    rng = np.random.default_rng(7)
    errors = []
    for k in range(12):
        x, y = rng.uniform(60, W - 60), rng.uniform(50, H - 50)
        frames = clip_with(
            {30: [(x, y, {"sigma": rng.uniform(1.4, 2.4), "peak": rng.uniform(200, 260)})]}, n=33, seed=k
        )
        shots = run(frames)
        assert len(shots) == 1, shots
        errors.append(math.hypot(shots[0].x - x, shots[0].y - y))
    assert max(errors) < 0.3, errors


def test_a_held_beam_is_one_shot_at_its_first_frame() -> None:
    held = {i: [(150.3 + 0.2 * (i % 2), 100.6, {"peak": 200})] for i in range(25, 37)}
    shots = run(clip_with(held, n=45))
    assert len(shots) == 1
    assert shots[0].frame == 25 and shots[0].t_ms == pytest.approx(25 * 33.3)
    assert shots[0].x == pytest.approx(150.3, abs=0.4) and shots[0].y == pytest.approx(100.6, abs=0.4)


def test_two_shots_at_the_same_place_a_second_apart_are_two_shots() -> None:
    spots = {i: [(160, 120, {"peak": 180})] for i in (20, 21, 22, 50, 51)}
    shots = run(clip_with(spots, n=60))
    assert [s.frame for s in shots] == [20, 50]


def _streak(frame: np.ndarray, x0: float, y0: float, dx: float, dy: float, steps: int = 14) -> None:
    """A recoil streak: the beam dwells at (x0, y0), then is thrown along (dx, dy), fading."""
    add_spot(frame, x0, y0, peak=190)
    for k in range(1, steps + 1):
        f = k / steps
        add_spot(frame, x0 + dx * f, y0 + dy * f, peak=120 * (1 - 0.6 * f), sigma=1.4)


def test_a_recoil_streak_is_one_shot_at_its_start() -> None:
    frames = clip_with({}, n=40)
    _streak(frames[30], 140.0, 150.0, 6.0, -16.0)
    shots = run(frames)
    assert len(shots) == 1
    assert math.hypot(shots[0].x - 140.0, shots[0].y - 150.0) < 1.0, shots


def test_a_streak_then_a_resting_spot_is_one_shot_where_the_beam_rested() -> None:
    frames = clip_with({31: [(152.0, 132.0, {"peak": 200})]}, n=40)
    for k in range(10):  # the beam sweeping in during frame 30, evenly exposed
        add_spot(frames[30], 140.0 + 1.2 * k, 144.0 - 1.2 * k, peak=110, sigma=1.4)
    shots = run(frames)
    assert len(shots) == 1
    assert shots[0].frame == 30
    assert shots[0].x == pytest.approx(152.0, abs=0.5) and shots[0].y == pytest.approx(132.0, abs=0.5)


@pytest.mark.parametrize("color", ["red", "green"])
def test_colour_of_red_and_green_lasers(color: str) -> None:
    shots = run(
        clip_with({30: [(100, 80, {"color": color, "peak": 170})], 31: [(100, 80, {"color": color})]})
    )
    assert [s.color for s in shots] == [color]


def test_a_neutral_spot_is_infrared_when_infrared_is_in_use() -> None:
    config = DetectorConfig(colors=("red", "green", "infrared"))
    frames = clip_with({30: [(100, 80, {"color": "infrared", "peak": 150})]})
    assert [s.color for s in run(frames, LaserDetector(W, H, config=config))] == ["infrared"]
    red = clip_with({30: [(100, 80, {"color": "red", "peak": 150})]})
    assert [s.color for s in run(red, LaserDetector(W, H, config=config))] == ["red"]


def test_luma_frames_report_the_configured_colour() -> None:
    frames = [to_luma(f) for f in clip_with({30: [(100, 80, {"peak": 170})]})]
    assert [s.color for s in run(frames)] == ["infrared"]
    detector = LaserDetector(W, H, config=DetectorConfig(luma_color="green"))
    assert [s.color for s in run(frames, detector)] == ["green"]


def test_bounds_and_disabled_sector_rows() -> None:
    spots = {30: [(40, 30, {}), (160, 200, {})], 31: [(40, 30, {}), (160, 200, {})]}
    frames = clip_with(spots)
    assert len(run(frames)) == 2
    assert [(round(s.x), round(s.y)) for s in run(frames, LaserDetector(W, H, sectors_off=(0,)))] == [
        (160, 200)
    ]
    bounded = LaserDetector(W, H, bounds=(0, 0, 100, 100))
    assert [(round(s.x), round(s.y)) for s in run(frames, bounded)] == [(40, 30)]
    cell_off = LaserDetector(W, H, sectors_off=((2, 1),))
    assert [(round(s.x), round(s.y)) for s in run(frames, cell_off)] == [(40, 30)]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sectors_off": (3,)}, "sector row"),
        ({"bounds": (400, 0, 10, 10)}, "bounds"),
        ({"sectors_off": ((0, 5),)}, "sector"),
    ],
)
def test_bad_zone_options_are_value_errors(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LaserDetector(W, H, **options)


def test_odd_inputs_are_refused_with_a_message() -> None:
    detector = LaserDetector(W, H)
    detector.process(np.zeros((H, W, 3), np.uint8), 0.0)
    with pytest.raises(ValueError, match="uint8"):
        detector.process(np.zeros((H, W, 3), np.float32), 1.0)
    with pytest.raises(ValueError, match="uint8"):
        detector.process(np.full((H, W), np.nan), 1.0)
    with pytest.raises(ValueError, match="size changed"):
        detector.process(np.zeros((H // 2, W // 2, 3), np.uint8), 1.0)
    with pytest.raises(ValueError, match="shape"):
        detector.process(np.zeros((H, W, 4), np.uint8), 1.0)
    with pytest.raises(ValueError, match="BGR and luma"):
        detector.process(np.zeros((H, W), np.uint8), 1.0)
    with pytest.raises(ValueError, match="empty"):
        LaserDetector(1, 1).process(np.zeros((0, 0), np.uint8), 0.0)
    with pytest.raises(ValueError, match="numpy array"):
        detector.process([[0]], 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pixel"):
        LaserDetector(0, 10)


def test_a_shot_in_the_last_frame_comes_out_of_flush() -> None:
    frames = clip_with({39: [(120, 90, {})]}, n=40)
    detector = LaserDetector(W, H)
    assert [s for i, f in enumerate(frames) for s in detector.process(f, float(i))] == []
    assert [(s.frame, round(s.x), round(s.y)) for s in detector.flush()] == [(39, 120, 90)]
    assert detector.flush() == []


@pytest.mark.parametrize(
    "bad", [{"colors": ("blue",)}, {"luma_color": "white"}, {"still_rate": 0.0}, {"min_area": 0}]
)
def test_bad_settings_are_value_errors(bad: dict) -> None:
    with pytest.raises(ValueError):
        DetectorConfig(**bad)


def test_a_one_pixel_camera_works_and_finds_nothing() -> None:
    detector = LaserDetector(1, 1)
    for i, level in enumerate([10, 250, 10, 255, 0]):
        assert detector.process(np.full((1, 1, 3), level, np.uint8), float(i)) == []
    assert detector.flush() == []


def test_the_numpy_kernels_agree_with_opencv() -> None:
    rng = np.random.default_rng(5)
    frame = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    assert np.abs(to_luma(frame, use_opencv=False).astype(int) - to_luma(frame).astype(int)).max() <= 1
    for density in (0.01, 0.2, 0.6):  # sparse (numpy path) and dense (OpenCV path)
        mask = rng.random((120, 160)) < density
        numpy_labels = label_pixels(mask, use_opencv=False)
        opencv_labels = label_pixels(mask, use_opencv=True)
        for a, b in zip(numpy_labels, opencv_labels, strict=True):
            assert np.array_equal(a, b)
        count, _ = cv2.connectedComponents(mask.view(np.uint8), connectivity=8)
        assert numpy_labels[2].max() + 1 == count - 1


def test_a_still_image_spot() -> None:
    frame = add_spot(Scene(2).next(), 200.4, 60.7, peak=900, sigma=2.2)  # a white core, as stills need
    shots = find_shots_in_image(frame)
    assert len(shots) == 1 and shots[0].color == "red"
    assert shots[0].x == pytest.approx(200.4, abs=0.5) and shots[0].y == pytest.approx(60.7, abs=0.5)


# --- FileCamera and ``openrange detect`` on generated files ---


def write_video(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> Path:
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (frames[0].shape[1], frames[0].shape[0])
    )
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture
def shot_video(tmp_path: Path) -> Path:
    spots = {25: [(200.0, 90.0, {"peak": 220})], 26: [(200.0, 90.0, {"peak": 220})]}
    return write_video(tmp_path / "shot.avi", clip_with(spots, n=36))


def test_file_camera_delivers_frames_with_times(shot_video: Path) -> None:
    camera = FileCamera(shot_video)
    with pytest.raises(RuntimeError):
        next(camera.frames())
    with camera:
        assert (camera.width, camera.height) == (W, H) and camera.fps == pytest.approx(25.0)
        captured = list(camera.frames())
    camera.close()  # twice is fine
    assert [c.index for c in captured] == list(range(36))
    assert captured[0].image.shape == (H, W, 3) and captured[0].image.dtype == np.uint8
    times = [c.t_ms for c in captured]
    assert times[0] == 0.0 and all(b > a for a, b in itertools.pairwise(times))
    assert times[10] == pytest.approx(400.0, abs=1.0)


def test_file_camera_reads_a_still_image(tmp_path: Path) -> None:
    path = tmp_path / "still.png"
    cv2.imwrite(str(path), Scene().next())
    with FileCamera(path) as camera:
        assert camera.is_still and (camera.width, camera.height) == (W, H)
        frames = list(camera.frames())
    assert len(frames) == 1 and frames[0].t_ms == 0.0 and frames[0].image.shape == (H, W, 3)


@pytest.mark.parametrize("content", [None, b"", b"not a video at all" * 100])
def test_file_camera_refuses_what_it_cannot_read(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "clip.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CameraFileError):
        FileCamera(path).open()
    with pytest.raises(CameraFileError, match="folder"):
        FileCamera(tmp_path).open()


def test_detect_command_prints_json_lines_and_a_summary(shot_video: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert detect_command(shot_video, as_json=True, out=out, err=err) == 0
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(records) == 1 and set(records[0]) == {"frame", "t_ms", "x", "y", "color"}
    assert records[0]["frame"] == 25 and records[0]["t_ms"] == pytest.approx(1000.0, abs=1.0)
    assert abs(records[0]["x"] - 200.0) < 1 and abs(records[0]["y"] - 90.0) < 1
    assert "1 shot in 36 frames" in err.getvalue()
    table = io.StringIO()
    assert detect_command(shot_video, out=table, err=io.StringIO()) == 0
    assert "frame" in table.getvalue().splitlines()[0] and "red" in table.getvalue()


def test_detect_command_on_a_bad_file_or_bad_bounds_exits_2_with_a_message(
    tmp_path: Path, shot_video: Path
) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 4096)
    for path, kwargs in (
        (junk, {}),
        (tmp_path / "missing.mp4", {}),
        (shot_video, {"bounds": (500, 0, 5, 5)}),
    ):
        err = io.StringIO()
        assert detect_command(path, out=io.StringIO(), err=err, **kwargs) == 2
        assert err.getvalue().startswith("openrange detect: ") and "Traceback" not in err.getvalue()


# --- moving content: a figure pacing across the picture, with and without a laser on it ---


def _pacing_figure(n: int, spot_at: int | None = None) -> tuple[list[np.ndarray], tuple[float, float]]:
    """A lit disc (a head) pacing left and right over the drifting scene, 2-3 px a frame; with
    ``spot_at``, a laser spot lands on the disc in that frame and the next. Returns the frames and
    where the spot was."""
    scene = Scene(5)
    frames, spot = [], (0.0, 0.0)
    for i in range(n):
        frame = scene.next().astype(np.float32)
        cx, cy = 160 + 90 * math.sin(i / 12), 110.0
        frame[(scene.xx - cx) ** 2 + (scene.yy - cy) ** 2 <= 15**2] = (120, 150, 200)
        frame = np.clip(frame, 0, 255).astype(np.uint8)
        if spot_at is not None and i in (spot_at, spot_at + 1):
            if i == spot_at:
                spot = (cx + 4.0, cy - 3.0)
            add_spot(frame, *spot, peak=400, sigma=1.5)
        frames.append(frame)
    return frames, spot


def test_a_figure_pacing_across_the_picture_gives_no_shot() -> None:
    frames, _ = _pacing_figure(160)
    assert run(frames) == []


@pytest.mark.parametrize("spot_at", [30, 40, 55, 70])  # turning, fast and slow phases
def test_a_laser_spot_on_the_pacing_figure_is_found(spot_at: int) -> None:
    frames, (x, y) = _pacing_figure(90, spot_at)
    shots = run(frames)
    assert [s.frame for s in shots] == [spot_at]
    assert math.hypot(shots[0].x - x, shots[0].y - y) < 1.0, shots


def test_the_max_filter_kernels_agree() -> None:
    image = np.random.default_rng(3).integers(0, 256, (37, 53), dtype=np.uint8)
    for radius in (0, 1, 3):
        fast, plain = max_filter(image, radius), max_filter(image, radius, use_opencv=False)
        assert np.array_equal(fast, plain)
    window = image[10 - 3 : 10 + 4, 20 - 3 : 20 + 4]
    assert max_filter(image, 3)[10, 20] == window.max()


def _observation(x: float, y: float, elongation: float, box_aspect: float) -> Observation:
    return Observation(x, y, 2.5, elongation, 200.0, "red", x, y, box_aspect)


@pytest.mark.parametrize(
    ("box_aspect", "where"),
    [(2.0, "second"), (1.8, "second"), (1.75, "first"), (0.5, "first")],  # 0.5: as tall as wide x2
)
def test_a_wide_first_view_is_reported_where_the_beam_came_to_rest(box_aspect: float, where: str) -> None:
    tracker = ShotTracker(DetectorConfig().link_rules(640, 480))
    assert tracker.advance(10, 333.0, [_observation(100.0, 100.0, 2.4, box_aspect)]) == []
    (shot,) = tracker.advance(11, 366.0, [_observation(103.0, 95.0, 1.2, 1.0)])
    assert (shot.frame, shot.t_ms) == (10, 333.0)
    assert (shot.x, shot.y) == ((103.0, 95.0) if where == "second" else (100.0, 100.0))


# --- FileCamera as a FrameSource ---


class FakeClock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def test_file_camera_reads_frames_on_the_monotonic_clock(shot_video: Path) -> None:
    clock = FakeClock(100.0)
    camera = FileCamera(shot_video, clock=clock, sleep=clock.sleep)
    assert camera.read(0.5) is None  # not open
    with camera:
        clock.t = 500.0  # reading later changes nothing: times come from the file
        frames = [camera.read(0.5) for _ in range(36)]
        assert all(f is not None for f in frames) and not camera.ended
        assert camera.read(0.5) is None and camera.ended  # the end of the file
        assert camera.read(0.5) is None
    assert clock.slept == []  # not paced
    assert [f.index for f in frames] == list(range(36))
    assert frames[0].t_mono == 100.0 and frames[10].t_mono == pytest.approx(100.4, abs=0.001)
    assert frames[3].image.shape == (H, W, 3)


def test_file_camera_paces_a_clip_at_its_recorded_speed(shot_video: Path) -> None:
    clock = FakeClock(100.0)
    with FileCamera(shot_video, pace=True, clock=clock, sleep=clock.sleep) as camera:
        first = camera.read(0.5)
        assert first is not None and first.t_mono == 100.0 and clock.slept == []
        assert camera.read(0.01) is None  # the next frame is 40 ms away: not within 10 ms
        assert clock.slept == [0.01] and clock.t == pytest.approx(100.01)
        second = camera.read(0.5)  # the frame kept back, delivered when due
        assert second is not None and second.index == 1
        assert clock.t == pytest.approx(second.t_mono) == pytest.approx(100.04, abs=0.001)
        clock.t += 10.0  # far behind: the rest come at once, none dropped
        rest = [camera.read(0.5) for _ in range(34)]
        assert [f.index for f in rest if f is not None] == list(range(2, 36))
        slept = len(clock.slept)
        assert camera.read(0.25) is None and camera.ended
        assert clock.slept[slept:] == [0.25]  # at the end it waits like a silent camera


def test_a_recorded_clip_stands_in_for_the_camera(shot_video: Path) -> None:
    camera = FileCamera(shot_video)
    detector = LaserDetector(W, H)

    def analyse(frame: Frame) -> list[HitDetected]:
        shots = detector.process(frame.image, frame.t_mono * 1000.0)
        return [HitDetected(s.x / W, s.y / H, s.t_ms / 1000.0, s.color, camera.name) for s in shots]

    hits: list[object] = []
    runner = CameraRunner(camera, hits.append, analyse)
    runner.open()
    try:
        deadline = time.monotonic() + 10.0
        while not camera.ended and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        runner.close()
    assert runner.frames == 36 and len(hits) == 1
    hit = hits[0]
    assert isinstance(hit, HitDetected) and hit.source == "file-camera" and hit.color == "red"
    assert (hit.x * W, hit.y * H) == (pytest.approx(200.0, abs=1.0), pytest.approx(90.0, abs=1.0))
    assert hit.t_mono == pytest.approx(camera._t0 + 1.0, abs=0.002)  # frame 25 at 25 fps
