"""End to end against `openrange run --hardware sim` as its own process (real libmpv, vo=null).

Pairs, runs the demo's waiting-room scenario through two instructor branches, kills the process
with SIGKILL right after the last acknowledged event, restarts it, and finds the whole record.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from service_runner import free_port

pytestmark = pytest.mark.e2e

PIN = "97531"
DEMO_SIZE = "192x108"


class ServiceProcess:
    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = data_dir.parent / f"service-{time.monotonic_ns()}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> ServiceProcess:
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        env["OPENRANGE_PIN"] = PIN
        openrange = Path(sys.executable).with_name("openrange")
        cmd = [str(openrange), "run", "--hardware", "sim", "--data-dir", str(self.data_dir)]
        cmd += ["--port", str(self.port), "--demo-size", DEMO_SIZE]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"openrange exited {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(self.base_url + "/api/health", timeout=1).json()["status"] == "ok":
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("openrange did not become ready:\n" + self.log.read_text())

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    @contextlib.contextmanager
    def paired(self) -> Iterator[httpx.Client]:
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            token = client.post("/api/auth/pair", json={"pin": PIN}).raise_for_status().json()["token"]
            client.headers["Authorization"] = f"Bearer {token}"
            yield client


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"


def test_session_survives_sigkill_and_restart(data_dir: Path) -> None:
    first = ServiceProcess(data_dir, free_port()).start()
    try:
        assert "pairing PIN: " + PIN in first.log.read_text()
        with first.paired() as api:
            ids = [c["id"] for c in api.get("/api/scenarios").json()]
            assert {"waiting-room-visitor", "crisis-on-the-bridge", "armed-subject-parking-lot"} <= set(ids)
            started = api.post(
                "/api/sessions",
                json={"scenario_id": "waiting-room-visitor", "trainees": ["Avery Chen", "Sam Ortiz"]},
            )
            assert started.status_code == 201, started.text
            sid = started.json()["id"]
            assert api.get("/api/state").json()["scene"]["id"] == "intro"
            acknowledged = [api.post(f"/api/sessions/{sid}/branch", json={"choice": "order"}).json()]
            assert api.get("/api/state").json()["scene"]["id"] == "escalating"
            acknowledged.append(api.post(f"/api/sessions/{sid}/flag", json={"note": "voice raised"}).json())
            acknowledged.append(api.post(f"/api/sessions/{sid}/branch", json={"choice": "options"}).json())
            before_kill = api.get(f"/api/sessions/{sid}").json()["events"]
    finally:
        first.kill()

    second = ServiceProcess(data_dir, free_port()).start()
    try:
        with second.paired() as api:
            record = api.get(f"/api/sessions/{sid}").json()
            assert api.get("/api/state").json()["session"] is None, "restarts into a clean idle state"
    finally:
        second.stop()

    assert record["session"]["status"] == "interrupted"
    assert record["session"]["trainees"] == ["Avery Chen", "Sam Ortiz"]
    events = record["events"]
    by_seq = {e["seq"]: e for e in events}
    for ack in acknowledged:
        assert by_seq[ack["seq"]]["kind"] == ack["kind"] and by_seq[ack["seq"]]["data"] == ack["data"]
    assert events[: len(before_kill)] == before_kill
    kinds = [e["kind"] for e in events]
    assert kinds[:8] == [
        "session_started", "calibration_check", "scene_entered", "branch", "scene_entered", "flagged",
        "branch", "scene_entered",
    ]  # fmt: skip
    assert events[1]["data"]["passed"] is True, "the camera self-check passes on the simulator"
    assert kinds[-1] == "interrupted"
    branches = [e for e in events if e["kind"] == "branch" and e["actor"] == "instructor"]
    assert [(b["data"]["from"], b["data"]["to"]) for b in branches] == [
        ("intro", "escalating"),
        ("escalating", "calming"),
    ]
    db = sqlite3.connect(data_dir / "records.sqlite3")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
