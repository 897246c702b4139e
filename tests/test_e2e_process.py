"""End to end against `openrange run --hardware sim` as its own process (real libmpv, vo=null).

Pairs, runs the demo's waiting-room scenario through two instructor branches, kills the process
with SIGKILL right after the last acknowledged event, restarts it, and finds the whole record.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from service_process import PROCESS_PIN as PIN
from service_process import ServiceProcess
from service_runner import free_port

pytestmark = pytest.mark.e2e

DEMO_SIZE = "192x108"


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"


def test_session_survives_sigkill_and_restart(data_dir: Path) -> None:
    first = ServiceProcess(data_dir, free_port(), "--demo-size", DEMO_SIZE).start()
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

    second = ServiceProcess(data_dir, free_port(), "--demo-size", DEMO_SIZE).start()
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
