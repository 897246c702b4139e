"""The camera through the running service: calibration, laser zero, and sim hits on the real path.

POST /api/sim/hit lands a laser spot on SimCamera's rendered frames; the real detector finds it,
the calibration (found at start from the projected pattern) maps it to video coordinates.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from scenario_builders import write_scenario
from service_runner import RunningService


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    data = tmp_path_factory.mktemp("camera")
    write_scenario(data / "scenarios" / "triage-desk")
    service = RunningService(data).start()
    yield service
    service.stop()


@pytest.fixture
def api(svc: RunningService) -> Iterator[httpx.Client]:
    client = svc.client()
    yield client
    client.post("/api/camera/zero", json={})
    session = client.get("/api/state").json()["session"]
    if session and session["status"] != "ended":
        client.post(f"/api/sessions/{session['id']}/end")
    client.close()


def hits_near(api: httpx.Client, sid: str, x: float, y: float, tolerance: float) -> list[dict]:
    events = api.get(f"/api/sessions/{sid}").json()["events"]
    return [
        e
        for e in events
        if e["kind"] == "hit"
        and abs(e["data"]["x"] - x) <= tolerance
        and abs(e["data"]["y"] - y) <= tolerance
    ]


def fire_and_find(api: httpx.Client, sid: str, x: float, y: float, expect_x: float, expect_y: float) -> dict:
    assert api.post("/api/sim/hit", json={"x": x, "y": y}).status_code == 202
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = hits_near(api, sid, expect_x, expect_y, 0.005)
        if found:
            return found[-1]
        time.sleep(0.02)
    raise AssertionError(f"no hit within 0.5 % of ({expect_x}, {expect_y})")


def test_the_camera_is_calibrated_at_start(api: httpx.Client) -> None:
    state = api.get("/api/camera").json()
    assert state["calibrated"] and state["fit_error_px"] < 1.0
    x, y, w, h = state["bounds"]
    assert 40 < x < 140 and 20 < y < 120 and 380 < w < 560 and 280 < h < 420
    devices = api.get("/api/health").json()["devices"]
    assert devices["camera"]["calibrated"]


def test_sim_hits_land_within_half_a_percent_of_the_frame(api: httpx.Client) -> None:
    sid = api.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["A"]}).json()["id"]
    check = next(
        e for e in api.get(f"/api/sessions/{sid}").json()["events"] if e["kind"] == "calibration_check"
    )
    assert check["data"]["passed"] is True
    for x, y in [(0.1, 0.5), (0.5, 0.5), (0.85, 0.2), (0.3, 0.9)]:
        hit = fire_and_find(api, sid, x, y, x, y)
        assert hit["data"]["source"] == "sim-camera"


def test_laser_zero_shifts_every_hit(api: httpx.Client) -> None:
    state = api.post("/api/camera/zero", json={"dx": 0.02, "dy": -0.01, "weapon": "glock-trainer"}).json()
    assert state["offset"] == {"dx": 0.02, "dy": -0.01, "weapon": "glock-trainer"}
    sid = api.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["A"]}).json()["id"]
    fire_and_find(api, sid, 0.4, 0.6, 0.42, 0.59)
    assert api.post("/api/camera/zero", json={"dx": 0.5}).status_code == 422


def test_calibrating_during_a_session_is_refused(api: httpx.Client) -> None:
    api.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["A"]})
    refused = api.post("/api/camera/calibrate")
    assert refused.status_code == 409


def test_calibrate_between_sessions(api: httpx.Client) -> None:
    answer = api.post("/api/camera/calibrate")
    assert answer.status_code == 200 and answer.json()["calibrated"]
