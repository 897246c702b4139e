"""Projector calibration: the pattern, finding it, the homography, self-check, laser zero, CLI.

Real data: ShootOFF's calibration images in ../shared/datasets/shootoff (skipped when absent).
The peer's expected bounds are a rectangle in *its own* de-skewed frame (its golden
``*-result.png`` is the camera image warped so the pattern becomes that rectangle). We recover
that warp from the golden image, map the peer's rectangle back into camera pixels and compare
quadrilaterals: every corner of our screen quad must be within BOUNDS_TOLERANCE_PX of the peer's.
4 px is about 1 % of the projected picture's width in these images; the peer's own bounds for two
captures of the very same view (calibrate-projection-2 and -paper) differ by 3 px.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from appliance.detection.calibration import (
    Calibration,
    CalibrationError,
    PointOfImpactOffset,
    calibrate,
    calibrate_frames,
    locate_dots,
    self_check,
)
from appliance.detection.calibration_commands import calibrate_command
from appliance.detection.calibration_find import PatternFound, find_pattern
from appliance.detection.calibration_pattern import (
    DEFAULT_SPEC,
    SELF_CHECK_POINTS,
    SHOOTOFF_SPEC,
    PatternSpec,
    pattern_spec,
    render_pattern,
    render_self_check,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "shootoff"
needs_data = pytest.mark.skipif(not (DATA / "expected.json").exists(), reason="ShootOFF dataset not present")
BOUNDS_TOLERANCE_PX = 4.0
CAMERA = (640, 480)
VW, VH = DEFAULT_SPEC.video_size


def _expected() -> dict[str, dict]:
    entries = json.loads((DATA / "expected.json").read_text())["entries"]
    return {e["file"]: e["expected_calibration"] for e in entries if e.get("expected_calibration")}


def _image(name: str) -> np.ndarray:
    image = cv2.imread(str(DATA / name))
    assert image is not None, name
    return image


# --- synthetic camera ------------------------------------------------------------------------


def camera_homography(
    angle: float = 3.0, keystone: float = 0.08, scale: float = 0.42, shift: tuple[float, float] = (0, 0)
) -> np.ndarray:
    """Video pixel centres -> camera pixel centres: scaled, keystoned, turned, shifted."""
    src = np.float32([[0, 0], [VW, 0], [VW, VH], [0, VH]]) - 0.5
    w2, h2 = VW * scale / 2, VH * scale / 2
    dst = np.array([[-w2, -h2], [w2, -h2 * (1 - keystone)], [w2, h2 * (1 - keystone)], [-w2, h2]])
    a = np.radians(angle)
    turn = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    dst = dst @ turn.T + (CAMERA[0] / 2 + shift[0], CAMERA[1] / 2 + shift[1])
    return cv2.getPerspectiveTransform(src, dst.astype(np.float32))


def camera_view(video: np.ndarray, g: np.ndarray, *, blur: float = 1.0, noise: float = 3.0, seed: int = 0):
    """What a webcam sees: projector light on a dim wall, defocus and sensor noise."""
    light = cv2.warpPerspective(video, g, CAMERA, flags=cv2.INTER_AREA).astype(np.float32)
    image = 35 + 0.7 * light
    if blur:
        image = cv2.GaussianBlur(image, (0, 0), blur)
    image += np.random.default_rng(seed).normal(0, noise, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def true_camera(g: np.ndarray, uv: np.ndarray) -> np.ndarray:
    px = uv * (VW, VH) - 0.5
    return cv2.perspectiveTransform(px.reshape(1, -1, 2).astype(np.float64), g)[0]


GRID = np.array([(u, v) for u in np.linspace(0.02, 0.98, 9) for v in np.linspace(0.02, 0.98, 7)])


def error_in_widths(cal: Calibration, g: np.ndarray) -> float:
    cam = true_camera(g, GRID)
    u, v = cal.camera_to_video(cam[:, 0], cam[:, 1])
    return float(np.hypot(u - GRID[:, 0], (v - GRID[:, 1]) * VH / VW).max())


# --- the pattern -----------------------------------------------------------------------------


def test_render_pattern_matches_its_spec() -> None:
    image = render_pattern(1280, 720)
    spec = pattern_spec(1280, 720)
    assert image.shape == (720, 1280, 3) and image.dtype == np.uint8
    assert spec == DEFAULT_SPEC and (spec.cols + spec.rows) % 2 == 1
    on_wall = cv2.copyMakeBorder(image, 20, 20, 20, 20, cv2.BORDER_CONSTANT, value=(40, 40, 40))
    found = find_pattern(on_wall, spec)
    assert isinstance(found, PatternFound)
    # Corners sit on pixel boundaries; OpenCV puts pixel centres on whole numbers.
    assert np.abs(found.corners - 20 - (spec.inner_corners_px() - 0.5)).max() < 0.3
    assert found.rotation_deg == pytest.approx(0, abs=0.5) and found.warnings == ()


def test_pattern_spec_refuses_ambiguous_or_impossible_boards() -> None:
    with pytest.raises(ValueError, match="odd"):
        PatternSpec(cols=8, rows=6, board=(0.1, 0.1, 0.9, 0.9))
    with pytest.raises(ValueError, match="do not fit"):
        pattern_spec(200, 100, rows=9, cols=30)
    assert pattern_spec(1024, 768).pattern_size == (10, 7)


# --- synthetic round trips -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("angle", "keystone", "blur", "noise"),
    [(0.0, 0.0, 0.8, 2.0), (4.0, 0.12, 1.5, 4.0), (-11.0, 0.05, 2.5, 6.0), (90.0, 0.1, 1.0, 3.0)],
)
def test_round_trip_maps_back_within_half_a_percent(angle, keystone, blur, noise) -> None:
    g = camera_homography(angle, keystone, scale=0.32 if angle == 90 else 0.42)
    cal = calibrate(camera_view(render_pattern(VW, VH), g, blur=blur, noise=noise))
    assert error_in_widths(cal, g) < 0.005
    assert cal.camera_size == CAMERA and cal.video_size == (VW, VH)
    assert np.allclose(cal.screen_quad, true_camera(g, np.array([(0, 0), (1, 0), (1, 1), (0, 1)])), atol=2.0)
    x, y = cal.video_to_camera(*cal.camera_to_video(300.0, 200.0))
    assert (x, y) == pytest.approx((300.0, 200.0), abs=1e-6)


def test_upside_down_picture_is_mapped_correctly_and_flagged() -> None:
    g = camera_homography(180.0, 0.1)
    cal = calibrate(camera_view(render_pattern(VW, VH), g))
    assert error_in_widths(cal, g) < 0.005
    u, v = cal.camera_to_video(*true_camera(g, np.array([(0.1, 0.2)]))[0])
    assert (u, v) == pytest.approx((0.1, 0.2), abs=0.005)  # never the mirror or 180° image
    assert any("upside down" in w for w in cal.warnings)


@pytest.mark.parametrize("flip", ["horizontal", "vertical"])
def test_mirrored_picture_is_refused(flip: str) -> None:
    mirror = np.diag([-1.0, 1.0, 1.0]) if flip == "horizontal" else np.diag([1.0, -1.0, 1.0])
    mirror[0 if flip == "horizontal" else 1, 2] = (VW if flip == "horizontal" else VH) - 1
    with pytest.raises(CalibrationError) as info:
        calibrate(camera_view(render_pattern(VW, VH), camera_homography() @ mirror))
    assert info.value.failure.reason == "mirrored"
    assert "mirrored" in str(info.value) and "front projection" in str(info.value)


@pytest.mark.parametrize(
    ("shift", "scale", "edges"),
    [
        ((60, 30), 0.42, ("right",)),
        ((0, 150), 0.4, ("bottom",)),
        ((150, -120), 0.4, ("right", "top")),
    ],
    ids=["corner-of-quiet-zone", "pattern-cut-at-bottom", "pattern-cut-top-right"],
)
def test_cut_off_pattern_is_refused_naming_the_edge(shift, scale, edges) -> None:
    image = camera_view(render_pattern(VW, VH), camera_homography(scale=scale, shift=shift))
    with pytest.raises(CalibrationError) as info:
        calibrate(image)
    assert info.value.failure.reason == "cut_off"
    assert info.value.failure.edges == edges
    assert all(e in str(info.value) for e in edges) and "edge" in str(info.value)


def test_exposure_problems_get_their_own_messages() -> None:
    view = camera_view(render_pattern(VW, VH), camera_homography())
    dark = np.full(view.shape, 12, np.uint8)
    flat = np.full(view.shape, 120, np.uint8)
    glare = np.random.default_rng(5).normal(251, 3, view.shape)  # sunlight on the screen
    washed = np.clip(glare, 0, 255).astype(np.uint8)
    reasons = {
        name: find_pattern(img).reason for name, img in [("dark", dark), ("flat", flat), ("washed", washed)]
    }
    assert reasons == {"dark": "too_dark", "flat": "low_contrast", "washed": "overexposed"}
    assert find_pattern(np.zeros((10, 10), np.uint8)).reason == "bad_image"


def test_small_picture_warns_and_tiny_one_is_refused() -> None:
    small = calibrate(camera_view(render_pattern(VW, VH), camera_homography(scale=0.22)))
    assert any("camera pixels wide" in w for w in small.warnings)
    tiny = find_pattern(camera_view(render_pattern(VW, VH), camera_homography(scale=0.145)))
    assert not isinstance(tiny, PatternFound)


def test_other_patterns_are_not_mistaken_for_ours() -> None:
    """A 9x6 (ShootOFF) search inside our 14x7 board must not yield a calibration."""
    result = find_pattern(camera_view(render_pattern(VW, VH), camera_homography()), SHOOTOFF_SPEC)
    assert not isinstance(result, PatternFound)
    assert calibrate(camera_view(render_pattern(VW, VH), camera_homography()), None).pattern == "openrange"


# --- ShootOFF's real images ------------------------------------------------------------------

GOLDEN = {
    "calibrate-projection.png": "calibrate-projection-result.png",
    "calibrate-projection-2.png": "calibrate-projection-2-result.png",
    "tight-calibration-pattern.png": "tight-calibration-pattern-result.png",
    "tight-calibration-pattern-turned.png": "tight-calibration-pattern-turned-result.png",
}


@needs_data
@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_dataset_screen_quad_matches_the_peer(name: str) -> None:
    cal = calibrate(_image(name), SHOOTOFF_SPEC)
    golden = find_pattern(_image(GOLDEN[name]), SHOOTOFF_SPEC)
    camera = find_pattern(_image(name), SHOOTOFF_SPEC)
    assert isinstance(golden, PatternFound) and isinstance(camera, PatternFound)
    peer_warp, _ = cv2.findHomography(camera.corners, golden.corners, 0)
    x, y, w, h = _expected()[name]["bounds_xywh"]
    rect = np.array([[(x, y), (x + w, y), (x + w, y + h), (x, y + h)]], np.float64)
    peer_quad = cv2.perspectiveTransform(rect, np.linalg.inv(peer_warp))[0]
    distances = np.linalg.norm(np.asarray(cal.screen_quad) - peer_quad, axis=1)
    assert distances.max() <= BOUNDS_TOLERANCE_PX, f"corner distances {distances.round(2)}"


@needs_data
def test_dataset_paper_image_bounds_match_the_peer() -> None:
    """No golden warp for this one; the view is near-frontal, so compare bounding boxes."""
    cal = calibrate(_image("calibrate-projection-paper.png"), SHOOTOFF_SPEC)
    x, y, w, h = _expected()["calibrate-projection-paper.png"]["bounds_xywh"]
    bx, by, bw, bh = cal.bounds
    ours, peers = np.array([bx, by, bx + bw, by + bh]), np.array([x, y, x + w, y + h])
    assert np.abs(ours - peers).max() <= BOUNDS_TOLERANCE_PX, (cal.bounds, (x, y, w, h))


@needs_data
def test_dataset_upside_down_pattern_calibrates_rotated() -> None:
    cal = calibrate(_image("tight-calibration-pattern-upsidedown.png"), SHOOTOFF_SPEC)
    assert cal.camera_to_video(40.0, 40.0) == pytest.approx((0.97, 0.97), abs=0.02)
    assert any("upside down" in w for w in cal.warnings)


@needs_data
@pytest.mark.parametrize(
    ("name", "edges"),
    [
        ("calibrate-projection-cutoff.png", ("left", "top")),
        ("calibration_crash_shortpatter.png", ("right",)),
        ("tight-calibration-pattern-cutoff.png", ("right", "bottom")),
    ],
)
def test_dataset_cut_off_images_are_refused(name: str, edges: tuple[str, ...]) -> None:
    assert _expected()[name]["bounds_xywh"] is None  # the peer expects failure too
    with pytest.raises(CalibrationError) as info:
        calibrate(_image(name), SHOOTOFF_SPEC)
    assert info.value.failure.reason == "cut_off" and info.value.failure.edges == edges


def _frames(name: str, step: int):
    capture = cv2.VideoCapture(str(DATA / name))
    index = 0
    try:
        while capture.grab():
            if index % step == 0:
                ok, frame = capture.retrieve()
                if ok:
                    yield frame
            index += 1
    finally:
        capture.release()


@needs_data
@pytest.mark.parametrize(
    "name", ["highres-autocalibration-1280x720.mp4", "calibrate-projection-paper-ifly53e.mp4"]
)
def test_dataset_videos_calibrate(name: str) -> None:
    cal = calibrate_frames(_frames(name, 15), SHOOTOFF_SPEC, wanted=1)
    x, _, w, _ = cal.bounds
    assert w > cal.camera_size[0] / 2 and x >= 0 and x + w < cal.camera_size[0]
    assert cal.reprojection_error_px < 2.0


@needs_data
def test_printed_paper_pattern_is_not_taken_for_the_screen() -> None:
    """Video -2 shows a blank projection and a small printed 9x6 board, never the projected one."""
    frame = next(_frames("calibrate-projection-paper-ifly53e-2.mp4", 300))
    with pytest.raises(CalibrationError) as info:
        calibrate(frame, SHOOTOFF_SPEC)
    assert info.value.failure.reason == "too_small"


# --- self-check, laser zero, JSON -------------------------------------------------------------


@pytest.fixture(scope="module")
def calibration() -> tuple[Calibration, np.ndarray]:
    g = camera_homography(6.0, 0.1)
    return calibrate(camera_view(render_pattern(VW, VH), g)), g


def test_self_check_passes_on_projected_dots(calibration) -> None:
    cal, g = calibration
    seen = locate_dots(camera_view(render_self_check(VW, VH), g, seed=3), cal)
    result = self_check(cal, seen, SELF_CHECK_POINTS)
    assert result.passed and result.max_error < 0.005 and "passed" in result.message
    assert json.loads(json.dumps(result.to_dict()))["passed"] is True


def test_self_check_fails_when_the_camera_moved(calibration) -> None:
    cal, g = calibration
    moved = np.array([[1, 0, 9.0], [0, 1, 4.0], [0, 0, 1]]) @ g  # camera knocked by ~9 px
    seen = locate_dots(camera_view(render_self_check(VW, VH), moved, seed=4), cal)
    result = self_check(cal, seen)
    assert not result.passed and result.max_error > 0.005 and "calibrate again" in result.message
    shifted = true_camera(g, np.array(SELF_CHECK_POINTS) + np.array([0.0, 0.02]))
    assert not self_check(cal, shifted).passed
    lost = true_camera(g, np.array(SELF_CHECK_POINTS))
    lost[2] = np.nan
    missing = self_check(cal, lost)
    assert not missing.passed and "3" in missing.message and missing.to_dict()["max_error"] is None
    with pytest.raises(ValueError):
        self_check(cal, lost[:2])


def test_point_of_impact_offset() -> None:
    zero = PointOfImpactOffset(0.01, -0.02, weapon="G17 trainer")
    assert zero.apply(0.5, 0.5) == pytest.approx((0.51, 0.48))
    u, v = zero.apply(np.array([0.1, 0.2]), np.array([0.3, 0.4]))
    assert np.allclose(u, [0.11, 0.21]) and np.allclose(v, [0.28, 0.38])
    clamped = PointOfImpactOffset(0.5, -0.3)
    assert (clamped.dx, clamped.dy) == (0.1, -0.1) and clamped.at_limit
    assert PointOfImpactOffset.from_dict(json.loads(json.dumps(zero.to_dict()))) == zero
    group = PointOfImpactOffset.from_shots((0.5, 0.5), [(0.52, 0.47), (0.53, 0.46), (0.51, 0.48)])
    assert (group.dx, group.dy) == pytest.approx((-0.02, 0.03))
    with pytest.raises(ValueError):
        PointOfImpactOffset(float("nan"), 0.0)


def test_calibration_json_round_trip(calibration) -> None:
    cal, _ = calibration
    stamped = calibrate(
        camera_view(render_pattern(VW, VH), camera_homography()), now=datetime(2026, 1, 2, tzinfo=UTC)
    )
    assert stamped.created_at == "2026-01-02T00:00:00+00:00"
    again = Calibration.from_json(cal.to_json())
    assert again == cal and again.bounds == cal.bounds
    xs, ys = np.array([100.0, 320.0, 500.0]), np.array([100.0, 240.0, 400.0])
    assert np.allclose(again.camera_to_video(xs, ys), cal.camera_to_video(xs, ys))
    assert isinstance(cal.camera_to_video(320, 240)[0], float)
    for bad in ("[]", "{}", '{"camera_size": [640]}', "not json"):
        with pytest.raises(ValueError):
            Calibration.from_json(bad)


# --- the command -----------------------------------------------------------------------------


def test_calibrate_command_on_a_good_image(tmp_path: Path) -> None:
    path = tmp_path / "camera.png"
    cv2.imwrite(str(path), camera_view(render_pattern(VW, VH), camera_homography()))
    out = io.StringIO()
    assert calibrate_command(path, out=out) == 0
    text = out.getvalue()
    assert "calibrated (openrange pattern" in text and "picture bounds" in text and "homography" in text
    out = io.StringIO()
    assert calibrate_command(path, as_json=True, out=out) == 0
    report = json.loads(out.getvalue())
    assert report["ok"] and Calibration.from_dict(report["calibration"]).pattern == "openrange"


@needs_data
def test_calibrate_command_on_dataset_images() -> None:
    out = io.StringIO()
    assert calibrate_command(DATA / "calibrate-projection.png", as_json=True, out=out) == 0
    assert json.loads(out.getvalue())["calibration"]["pattern"] == "shootoff"
    out = io.StringIO()
    assert calibrate_command(DATA / "calibrate-projection-cutoff.png", out=out) == 1
    assert "cut off at the left and top edges" in out.getvalue() and "Traceback" not in out.getvalue()
    out = io.StringIO()
    assert calibrate_command(DATA / "calibrate-projection-cutoff.png", as_json=True, out=out) == 1
    assert json.loads(out.getvalue())["error"]["edges"] == ["left", "top"]


def test_calibrate_command_on_unreadable_files(tmp_path: Path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    for path in (text, tmp_path / "missing.png", tmp_path):
        out = io.StringIO()
        assert calibrate_command(path, out=out) == 2
        assert out.getvalue().startswith(f"cannot read {path}")
    out = io.StringIO()
    assert calibrate_command(text, as_json=True, out=out) == 2
    assert json.loads(out.getvalue())["error"]["reason"] == "unreadable"
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((480, 640, 3), 90, np.uint8))
    out = io.StringIO()
    assert calibrate_command(blank, out=out) == 1 and "calibration failed" in out.getvalue()
