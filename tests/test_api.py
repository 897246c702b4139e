"""The instructor API against the real service on 127.0.0.1 (uvicorn, SQLite, simulators)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from scenario_builders import write_scenario
from service_runner import PIN, RunningService, wait_for
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

MUTATING = [
    ("POST", "/api/sessions", {"scenario_id": "triage-desk", "trainees": ["A"]}),
    ("POST", "/api/sessions/x/branch", {"choice": "calms"}),
    ("POST", "/api/sessions/x/pause", None),
    ("POST", "/api/sessions/x/resume", None),
    ("POST", "/api/sessions/x/replay", None),
    ("POST", "/api/sessions/x/restart", None),
    ("POST", "/api/sessions/x/flag", {"note": "n"}),
    ("POST", "/api/sessions/x/end", None),
    ("POST", "/api/sim/hit", {"x": 0.5, "y": 0.5}),
    ("POST", "/api/sim/input", {"name": "pedal", "pressed": True}),
    ("POST", "/api/auth/unpair", None),
]


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[RunningService]:
    data = tmp_path_factory.mktemp("data")
    write_scenario(data / "scenarios" / "triage-desk")
    service = RunningService(data).start()
    yield service
    service.stop()


@pytest.fixture
def api(svc: RunningService) -> Iterator[httpx.Client]:
    client = svc.client()
    try:
        yield client
        session = client.get("/api/state").json()["session"]
        if session and session["status"] != "ended":
            client.post(f"/api/sessions/{session['id']}/end")
    finally:
        client.close()


def test_health_needs_no_pairing(svc: RunningService) -> None:
    health = httpx.get(svc.base_url + "/api/health").json()
    assert health["status"] == "ok", health
    assert health["hardware"] == "sim" and health["scenarios"] == 1


def test_openapi_is_published(svc: RunningService) -> None:
    spec = httpx.get(svc.base_url + "/openapi.json").json()
    assert "/api/sessions/{session_id}/branch" in spec["paths"]


@pytest.mark.parametrize(("method", "path", "body"), MUTATING)
def test_every_mutating_endpoint_needs_a_token(
    svc: RunningService, method: str, path: str, body: object
) -> None:
    answer = httpx.request(method, svc.base_url + path, json=body)
    assert answer.status_code == 401
    assert "pair" in answer.json()["detail"].lower()
    forged = httpx.request(method, svc.base_url + path, json=body, headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 401


def test_wrong_pin_then_rate_limit(tmp_path: Path) -> None:
    service = RunningService(tmp_path).start()
    try:
        with httpx.Client(base_url=service.base_url) as client:
            for _ in range(5):
                answer = client.post("/api/auth/pair", json={"pin": "000000"})
                assert answer.status_code == 401 and answer.json()["detail"] == "Wrong PIN"
            limited = client.post("/api/auth/pair", json={"pin": PIN})
            assert limited.status_code == 429
            assert int(limited.headers["Retry-After"]) > 0 and limited.json()["retry_after_s"] > 0
    finally:
        service.stop()


def test_cookie_sessions_need_the_csrf_header(svc: RunningService) -> None:
    with httpx.Client(base_url=svc.base_url) as browser:
        grant = browser.post("/api/auth/pair", json={"pin": PIN}).json()
        assert browser.cookies.get("openrange_token")
        assert browser.get("/api/scenarios").status_code == 200
        refused = browser.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["A"]})
        assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
        started = browser.post(
            "/api/sessions",
            json={"scenario_id": "triage-desk", "trainees": ["A"]},
            headers={"X-CSRF-Token": grant["csrf_token"]},
        )
        assert started.status_code == 201
        end = browser.post(
            f"/api/sessions/{started.json()['id']}/end", headers={"X-CSRF-Token": grant["csrf_token"]}
        )
        assert end.status_code == 200


def test_scenarios(api: httpx.Client) -> None:
    cards = api.get("/api/scenarios").json()
    assert [c["id"] for c in cards] == ["triage-desk"]
    assert cards[0]["audience"] == ["healthcare"] and cards[0]["scene_count"] == 5
    detail = api.get("/api/scenarios/triage-desk").json()
    assert detail["scenes"]["intro"]["choices"][1]["colour"] == "#c62828"
    missing = api.get("/api/scenarios/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_bad_bodies_are_422_with_a_message(api: httpx.Client) -> None:
    for body in ({"scenario_id": "triage-desk", "trainees": []}, {"trainees": ["A"]}, {"scenario_id": 3}, []):
        answer = api.post("/api/sessions", json=body)
        assert answer.status_code == 422
        assert answer.json()["detail"]
    blank = api.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["  "]})
    assert blank.status_code == 422


def test_session_flow_and_record(api: httpx.Client) -> None:
    started = api.post(
        "/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["Avery", "Jo"], "instructor": "Lee"}
    )
    assert started.status_code == 201, started.text
    sid = started.json()["id"]
    assert (
        api.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["B"]}).status_code == 409
    )
    assert api.post(f"/api/sessions/{sid}/flag", json={"note": "good stance"}).status_code == 200
    assert api.post(f"/api/sessions/{sid}/pause").status_code == 200
    conflict = api.post(f"/api/sessions/{sid}/pause")
    assert conflict.status_code == 409 and "already paused" in conflict.json()["detail"]
    assert api.post(f"/api/sessions/{sid}/resume").status_code == 200
    wrong = api.post(f"/api/sessions/{sid}/branch", json={"choice": "nope"})
    assert wrong.status_code == 409 and "calms" in wrong.json()["detail"]
    assert api.post("/api/sessions/unknown/branch", json={"choice": "calms"}).status_code == 404
    branch = api.post(f"/api/sessions/{sid}/branch", json={"choice": "escalates"})
    assert branch.status_code == 200 and branch.json()["data"]["to"] == "angry"
    assert api.post(f"/api/sessions/{sid}/replay").status_code == 200
    assert api.post(f"/api/sessions/{sid}/branch", json={"choice": "calms"}).status_code == 200
    assert api.post(f"/api/sessions/{sid}/end").status_code == 200
    assert api.post(f"/api/sessions/{sid}/end").status_code == 409
    record = api.get(f"/api/sessions/{sid}").json()
    assert record["session"]["status"] == "ended" and record["session"]["trainees"] == ["Avery", "Jo"]
    # The threat cue (a threat zone opening 1 s into the scene) lands wherever the timing puts it.
    kinds = [e["kind"] for e in record["events"] if e["kind"] != "threat_cue"]
    assert kinds == [
        "session_started", "calibration_check", "scene_entered", "flagged", "paused", "resumed", "branch",
        "scene_entered", "replayed", "scene_entered", "branch", "scene_entered", "session_ended",
    ]  # fmt: skip
    assert record["session"]["path"] == ["intro", "angry", "angry", "calm"]
    assert any(s["id"] == sid for s in api.get("/api/sessions").json())
    assert api.get("/api/sessions/none").status_code == 404


def test_sim_hit_goes_through_the_camera_into_the_record(api: httpx.Client) -> None:
    sid = api.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["A"]}).json()["id"]
    assert api.post("/api/sim/hit", json={"x": 0.1, "y": 0.5}).status_code == 202

    def hits() -> list[dict]:
        return [e for e in api.get(f"/api/sessions/{sid}").json()["events"] if e["kind"] == "hit"]

    hit = wait_for(hits)[0]
    assert hit["actor"] == "hit" and hit["data"]["source"] == "sim-camera"
    assert hit["data"]["zones"] == [{"id": "bystander", "kind": "no-shoot"}]
    assert api.post("/api/sim/hit", json={"x": 1.5, "y": 0.5}).status_code == 422


def test_sim_pedal_pauses_through_gpiozero(api: httpx.Client) -> None:
    sid = api.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["A"]}).json()["id"]
    assert api.post("/api/sim/input", json={"name": "pedal", "pressed": True}).status_code == 202
    api.post("/api/sim/input", json={"name": "pedal", "pressed": False})
    paused = wait_for(
        lambda: [e for e in api.get(f"/api/sessions/{sid}").json()["events"] if e["kind"] == "paused"]
    )
    assert paused[0]["actor"] == "input" and paused[0]["data"] == {"input": "pedal"}
    assert api.get("/api/state").json()["session"]["status"] == "paused"
    unknown = api.post("/api/sim/input", json={"name": "doorbell", "pressed": True})
    assert unknown.status_code == 404 and "pedal" in unknown.json()["detail"]


def test_websocket_snapshot_then_events(svc: RunningService, api: httpx.Client) -> None:
    ws_url = svc.base_url.replace("http", "ws") + "/api/ws"
    with pytest.raises((ConnectionClosed, InvalidStatus)), connect(ws_url + "?token=forged") as refused:
        refused.recv(timeout=5)
    token = api.headers["Authorization"].split()[1]
    with connect(f"{ws_url}?token={token}") as ws:
        first = json.loads(ws.recv(timeout=5))
        assert first["type"] == "snapshot" and "hardware" in first["state"]
        sid = api.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["A"]}).json()["id"]
        api.post(f"/api/sessions/{sid}/branch", json={"choice": "calms"})
        seen: list[dict] = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and sum(m["type"] == "event" for m in seen) < 5:
            seen.append(json.loads(ws.recv(timeout=5)))
        events = [m["event"] for m in seen if m["type"] == "event"]
        assert [e["kind"] for e in events][:5] == [
            "session_started",
            "calibration_check",
            "scene_entered",
            "branch",
            "scene_entered",
        ]
        assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
        states = [m["state"] for m in seen if m["type"] == "state"]
        assert states and states[-1]["session"]["id"] == sid


def test_tablet_page_is_served_without_external_resources(svc: RunningService) -> None:
    page = httpx.get(svc.base_url + "/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert "http://" not in page.text and "https://" not in page.text


def test_library_with_a_broken_package_still_serves(tmp_path: Path) -> None:
    write_scenario(tmp_path / "scenarios" / "good")
    broken = tmp_path / "scenarios" / "broken"
    broken.mkdir(parents=True)
    (broken / "manifest.yaml").write_text("format: [unclosed")
    service = RunningService(tmp_path).start()
    try:
        health = httpx.get(service.base_url + "/api/health").json()
        assert health["status"] == "degraded" and health["scenarios"] == 1
        assert any("broken" in w for w in health["warnings"])
    finally:
        service.stop()
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_pause_can_black_the_screen(api: httpx.Client) -> None:
    sid = api.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["A"]}).json()["id"]
    paused = api.post(f"/api/sessions/{sid}/pause", json={"blank": True})
    assert paused.status_code == 200 and paused.json()["data"] == {"blank": True}
    assert api.post(f"/api/sessions/{sid}/resume").status_code == 200
    plain = api.post(f"/api/sessions/{sid}/pause")
    assert plain.status_code == 200 and plain.json()["data"] == {}
