"""Camera standby between sessions: a fraction of the frames, grab() still answers at once."""

from __future__ import annotations

import time

from hardware.camera.runner import STANDBY_INTERVAL_S, WARM_UP_FRAMES, CameraRunner
from hardware.camera.sim import SimCamera


def _frames_in(runner: CameraRunner, seconds: float) -> int:
    start = runner.frames
    time.sleep(seconds)
    return runner.frames - start


def test_standby_reads_a_few_frames_and_wakes_at_once() -> None:
    analysed: list[int] = []
    runner = CameraRunner(
        SimCamera(fps=60.0), emit=lambda event: None, analyse=lambda f: analysed.append(f.index) or []
    )
    runner.open()
    try:
        assert _frames_in(runner, 0.5) >= 15, "a running camera delivers its frame rate"
        runner.set_standby(True)
        time.sleep(0.3)
        in_standby = _frames_in(runner, 1.0)
        assert 1 <= in_standby <= round(1.0 / STANDBY_INTERVAL_S) + 2, in_standby
        analysed_before = len(analysed)
        time.sleep(STANDBY_INTERVAL_S * 2)
        assert len(analysed) > analysed_before, (
            "standby frames are still analysed (the background stays current)"
        )
        started = time.monotonic()
        frame = runner.grab(2.0)
        assert frame is not None and time.monotonic() - started < STANDBY_INTERVAL_S, (
            "grab does not wait for standby"
        )
        runner.set_standby(False)
        assert _frames_in(runner, 0.5) >= 15, "leaving standby restores the full rate"
    finally:
        runner.close()


def test_a_new_analyser_warms_up_at_full_rate_in_standby() -> None:
    """A detector installed just before a session (after calibration) must learn its background
    at the full rate, or the session's first shot is lost (found by test_camera_api)."""
    seen: list[int] = []
    runner = CameraRunner(SimCamera(fps=60.0), emit=lambda event: None)
    runner.set_standby(True)
    runner.open()
    try:
        time.sleep(0.3)
        runner.set_analyser(lambda f: seen.append(f.index) or [])
        time.sleep(WARM_UP_FRAMES / 60.0 + 0.25)
        assert len(seen) >= WARM_UP_FRAMES * 0.8, len(seen)
        settled = len(seen)
        time.sleep(0.6)
        assert len(seen) - settled <= round(0.6 / STANDBY_INTERVAL_S) + 2, "then back to the standby rate"
    finally:
        runner.close()
