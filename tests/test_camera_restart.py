"""The laser zero and the calibration outlive a restart of the service."""

from __future__ import annotations

from pathlib import Path

from service_runner import RunningService


def test_laser_zero_survives_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = RunningService(data_dir).start()
    try:
        answer = first.client().post("/api/camera/zero", json={"dx": 0.0125, "dy": -0.004, "weapon": "G17T"})
        assert answer.status_code == 200, answer.text
    finally:
        first.stop()
    second = RunningService(data_dir).start()
    try:
        camera = second.client().get("/api/camera").json()
    finally:
        second.stop()
    assert camera["calibrated"] is True
    assert camera["offset"] is not None, "the laser zero was lost at the restart"
    assert abs(camera["offset"]["dx"] - 0.0125) < 1e-6 and abs(camera["offset"]["dy"] + 0.004) < 1e-6
    assert camera["offset"]["weapon"] == "G17T"
