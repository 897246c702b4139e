"""GPIO end to end through the running service: pins → gpiozero → controller → record, and outputs."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator

import httpx
import pytest
from scenario_builders import TEST_SCENARIO, write_scenario
from service_runner import RunningService, wait_for


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    data = tmp_path_factory.mktemp("gpio")
    manifest = copy.deepcopy(TEST_SCENARIO)
    manifest["scenes"]["intro"]["cues"] = [
        {"at_s": 0.3, "output": "threat_relay", "duration_s": 0.4},
        {"at_s": 0.0, "output": "lights", "duration_s": 4},
    ]
    write_scenario(data / "scenarios" / "triage-desk", manifest)
    unknown = copy.deepcopy(manifest)
    unknown["id"] = "needs-smoke"
    unknown["scenes"]["intro"]["cues"] = [{"at_s": 1, "output": "smoke_machine", "duration_s": 1}]
    write_scenario(data / "scenarios" / "needs-smoke", unknown)
    service = RunningService(data).start()
    yield service
    service.stop()


@pytest.fixture
def api(svc: RunningService) -> Iterator[httpx.Client]:
    client = svc.client()
    yield client
    client.post("/api/sim/input", json={"name": "estop", "pressed": False})
    session = client.get("/api/state").json()["session"]
    if session and session["status"] != "ended":
        client.post(f"/api/sessions/{session['id']}/end")
    client.close()


def outputs(api: httpx.Client) -> dict[str, bool]:
    devices = api.get("/api/health").json()["devices"]
    return {o["name"]: o["on"] for o in devices["outputs"]}


def start(api: httpx.Client, scenario: str = "triage-desk") -> str:
    answer = api.post("/api/sessions", json={"scenario_id": scenario, "trainees": ["A"]})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def test_health_shows_inputs_outputs_and_status_light(api: httpx.Client) -> None:
    devices = api.get("/api/health").json()["devices"]
    assert {"pedal", "trigger", "estop"} <= set(devices["inputs"])
    assert {o["name"] for o in devices["outputs"]} >= {"threat_relay", "lights", "status_led"}
    assert devices["status_light"] in ("idle", "fault")


def test_a_cue_fires_the_relay_for_its_duration(api: httpx.Client) -> None:
    start(api)
    assert wait_for(lambda: outputs(api)["lights"]), "the lights cue at 0 s switches the lights on"
    t_on = time.monotonic()
    wait_for(lambda: outputs(api)["threat_relay"])
    wait_for(lambda: not outputs(api)["threat_relay"])
    assert 0.25 <= time.monotonic() - t_on <= 1.5
    assert api.get("/api/health").json()["devices"]["status_light"] == "session"


def test_ending_the_session_makes_every_output_safe(api: httpx.Client) -> None:
    sid = start(api)
    wait_for(lambda: outputs(api)["lights"])
    api.post(f"/api/sessions/{sid}/end")
    wait_for(lambda: not any(on for name, on in outputs(api).items() if name != "status_led"))


def test_emergency_stop_freezes_makes_safe_and_blocks_resume(api: httpx.Client) -> None:
    sid = start(api)
    wait_for(lambda: outputs(api)["lights"])
    api.post("/api/sim/input", json={"name": "estop", "pressed": True})
    state = wait_for(lambda: (s := api.get("/api/state").json())["session"]["status"] == "paused" and s)
    assert state["session"]["id"] == sid
    wait_for(lambda: not any(on for name, on in outputs(api).items() if name != "status_led"))
    record = api.get(f"/api/sessions/{sid}").json()["events"]
    stop = [e for e in record if e["kind"] == "emergency_stop"]
    assert stop and stop[0]["actor"] == "input" and stop[0]["data"] == {"input": "estop"}
    assert api.get("/api/health").json()["devices"]["status_light"] == "fault"
    refused = api.post(f"/api/sessions/{sid}/resume")
    assert refused.status_code == 409 and "emergency stop" in refused.json()["detail"]
    api.post("/api/sim/input", json={"name": "estop", "pressed": False})
    time.sleep(0.2)
    assert api.get("/api/state").json()["session"]["status"] == "paused", "release alone never resumes"
    wait_for(lambda: api.post(f"/api/sessions/{sid}/resume").status_code == 200)


def test_trigger_pull_is_recorded_as_a_shot(api: httpx.Client) -> None:
    sid = start(api)
    api.post("/api/sim/input", json={"name": "trigger", "pressed": True})
    api.post("/api/sim/input", json={"name": "trigger", "pressed": False})
    events = wait_for(
        lambda: [e for e in api.get(f"/api/sessions/{sid}").json()["events"] if e["kind"] == "shot"]
    )
    assert events[0]["data"] == {"input": "trigger"}
    # the test scenario maps the trigger to a transition in its first scene
    assert wait_for(lambda: api.get("/api/state").json()["scene"]["id"] == "angry")
    score = api.get(f"/api/sessions/{sid}").json()["score"]
    assert score["shots"] == 1 and score["misses"] == 1


def test_a_scenario_needing_an_output_the_box_lacks_is_refused(api: httpx.Client) -> None:
    answer = api.post("/api/sessions", json={"scenario_id": "needs-smoke", "trainees": ["A"]})
    assert answer.status_code == 422
    body = answer.json()
    assert "does not have" in body["detail"] and any("smoke_machine" in p for p in body["problems"])
