"""Roles, first-run setup, admin endpoints and token revocation against the real service (uvicorn)."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from scenario_builders import write_scenario
from service_runner import PIN, RunningService, wait_for
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

ADMIN_PIN = "97531864"

ADMIN_ONLY = [
    ("GET", "/api/admin/tokens", None),
    ("DELETE", "/api/admin/tokens/0123456789ab", None),
    ("POST", "/api/admin/pairing-pin/rotate", None),
    ("GET", "/api/admin/logs", None),
    ("GET", "/api/admin/xapi", None),
    ("POST", "/api/admin/xapi/retry", None),
    ("DELETE", "/api/sessions/x", None),
]
PAIRED_ONLY = [
    ("GET", "/api/auth/me", None),
    ("GET", "/api/roster", None),
    ("GET", "/api/trainees/Avery/history", None),
    ("GET", "/api/sessions/x/export.csv", None),
    ("GET", "/api/records/export.csv", None),
    ("GET", "/api/sessions/x/report", None),
]


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    data = tmp_path_factory.mktemp("data")
    write_scenario(data / "scenarios" / "triage-desk")
    service = RunningService(data).start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def admin(svc: RunningService) -> Iterator[httpx.Client]:
    """A tablet that went through first-run setup (so the admin PIN is set for the module)."""
    client = httpx.Client(base_url=svc.base_url, timeout=10)
    answer = client.post("/api/setup/admin-pin", json={"pairing_pin": PIN, "admin_pin": ADMIN_PIN})
    assert answer.status_code == 200, answer.text
    assert answer.json()["role"] == "admin"
    client.headers["Authorization"] = "Bearer " + answer.json()["token"]
    yield client
    client.close()


def _pair(base_url: str, pin: str) -> httpx.Response:
    return httpx.post(base_url + "/api/auth/pair", json={"pin": pin})


def test_first_run_setup(tmp_path: Path) -> None:
    service = RunningService(tmp_path).start()
    try:
        url = service.base_url
        assert httpx.get(url + "/api/setup").json() == {"admin_pin_set": False}
        # The admin PIN cannot be used before it is set.
        assert _pair(url, ADMIN_PIN).status_code == 401
        for bad, why in (("12345", "6 to 12 digits"), ("12ab5678", "6 to 12"), (PIN, "differ")):
            answer = httpx.post(url + "/api/setup/admin-pin", json={"pairing_pin": PIN, "admin_pin": bad})
            assert answer.status_code == 422 and why in answer.json()["detail"], answer.text
        wrong = httpx.post(
            url + "/api/setup/admin-pin", json={"pairing_pin": "000000", "admin_pin": ADMIN_PIN}
        )
        assert wrong.status_code == 401
        assert httpx.get(url + "/api/setup").json() == {"admin_pin_set": False}
        with httpx.Client(base_url=url) as browser:
            done = browser.post("/api/setup/admin-pin", json={"pairing_pin": PIN, "admin_pin": ADMIN_PIN})
            assert done.status_code == 200 and done.json()["role"] == "admin"
            assert browser.cookies.get("openrange_token") == done.json()["token"]
            me = browser.get("/api/auth/me").json()
            assert me["role"] == "admin" and me["client"] == "127.0.0.1"
            assert me["paired_at"] < me["expires_at"]
        assert httpx.get(url + "/api/setup").json() == {"admin_pin_set": True}
        again = httpx.post(url + "/api/setup/admin-pin", json={"pairing_pin": PIN, "admin_pin": "11223344"})
        assert again.status_code == 409
        stored = (tmp_path / "admin-pin.json").read_text()
        assert ADMIN_PIN not in stored and "scrypt" in json.loads(stored)
        assert (tmp_path / "admin-pin.json").stat().st_mode & 0o077 == 0
        assert _pair(url, ADMIN_PIN).json()["role"] == "admin"
        assert _pair(url, PIN).json()["role"] == "instructor"
    finally:
        service.stop()
    # The admin PIN survives a restart; setup stays closed.
    again = RunningService(tmp_path).start()
    try:
        assert httpx.get(again.base_url + "/api/setup").json() == {"admin_pin_set": True}
        assert _pair(again.base_url, ADMIN_PIN).json()["role"] == "admin"
    finally:
        again.stop()


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ONLY)
def test_instructor_gets_403_on_admin_endpoints(
    svc: RunningService, admin: httpx.Client, method: str, path: str, body: object
) -> None:
    with closing(svc.client()) as instructor:
        answer = instructor.request(method, path, json=body)
        assert answer.status_code == 403, (path, answer.text)
        assert "admin" in answer.json()["detail"]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ONLY + PAIRED_ONLY)
def test_no_token_is_401(svc: RunningService, method: str, path: str, body: object) -> None:
    answer = httpx.request(method, svc.base_url + path, json=body)
    assert answer.status_code == 401 and "pair" in answer.json()["detail"].lower()
    forged = httpx.request(method, svc.base_url + path, json=body, headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 401


def test_me_for_an_instructor(svc: RunningService) -> None:
    with closing(svc.client()) as instructor:
        me = instructor.get("/api/auth/me")
        assert me.status_code == 200 and me.json()["role"] == "instructor"


def test_admin_pin_pairs_an_admin_who_can_do_what_instructors_do(
    svc: RunningService, admin: httpx.Client
) -> None:
    grant = _pair(svc.base_url, ADMIN_PIN).json()
    assert grant["role"] == "admin"
    headers = {"Authorization": "Bearer " + grant["token"]}
    assert httpx.get(svc.base_url + "/api/auth/me", headers=headers).json()["role"] == "admin"
    assert httpx.get(svc.base_url + "/api/scenarios", headers=headers).status_code == 200
    assert httpx.get(svc.base_url + "/api/admin/tokens", headers=headers).status_code == 200


def test_revoked_token_is_401_and_its_websocket_closes(svc: RunningService, admin: httpx.Client) -> None:
    with closing(svc.client()) as instructor:
        token = instructor.headers["Authorization"].split()[1]
        tokens = admin.get("/api/admin/tokens").json()
        current = [t for t in tokens if t["current"]]
        assert len(current) == 1 and current[0]["role"] == "admin"
        others = [t for t in tokens if not t["current"] and not t["revoked"] and t["role"] == "instructor"]
        assert others and all(len(t["id"]) == 12 for t in tokens)
        ws_url = svc.base_url.replace("http", "ws") + f"/api/ws?token={token}"
        with connect(ws_url) as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "snapshot"
            assert instructor.get("/api/state").status_code == 200
            # Revoke every instructor token: the one we hold is among them.
            for t in others:
                assert admin.delete(f"/api/admin/tokens/{t['id']}").json() == {"detail": "revoked"}
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
        assert instructor.get("/api/state").status_code == 401
        listed = {t["id"]: t for t in admin.get("/api/admin/tokens").json()}
        assert all(listed[t["id"]]["revoked"] for t in others)
    assert admin.delete("/api/admin/tokens/ffffffffffff").status_code == 404
    assert admin.delete("/api/admin/tokens/not-an-id").status_code == 404
    assert admin.get("/api/auth/me").status_code == 200


def test_rotate_pin_then_wrong_admin_pin_is_rate_limited(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="openrange")
    service = RunningService(tmp_path).start()
    try:
        url = service.base_url
        setup = httpx.post(url + "/api/setup/admin-pin", json={"pairing_pin": PIN, "admin_pin": ADMIN_PIN})
        headers = {"Authorization": "Bearer " + setup.json()["token"]}
        paired = service.client()
        rotated = httpx.post(url + "/api/admin/pairing-pin/rotate", headers=headers)
        assert rotated.status_code == 200 and "projector" in rotated.json()["detail"]
        new_pin = (tmp_path / "pairing-pin").read_text().strip()
        assert new_pin != PIN and len(new_pin) == 6
        # main.py's callback ran: it put the new PIN on the idle card (and logged it).
        assert any(r.getMessage() == f"new pairing PIN: {new_pin}" for r in caplog.records)
        assert _pair(url, PIN).status_code == 401
        assert _pair(url, new_pin).json()["role"] == "instructor"
        assert paired.get("/api/state").status_code == 200  # paired tablets stay paired
        paired.close()
        # Wrong admin PINs count toward the limit like wrong pairing PINs; so do wrong setup PINs.
        for _ in range(4):
            assert _pair(url, "11111111").status_code == 401
        assert (
            httpx.post(
                url + "/api/setup/admin-pin", json={"pairing_pin": "0", "admin_pin": "123456"}
            ).status_code
            == 409
        )
        assert _pair(url, "22222222").status_code == 401
        limited = _pair(url, ADMIN_PIN)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    finally:
        service.stop()


def test_logs_download(svc: RunningService, admin: httpx.Client) -> None:
    logs = svc.settings.data_dir / "logs"
    logs.mkdir(exist_ok=True)
    (logs / "openrange.log.1").write_text("older line\n")
    (logs / "openrange.log").write_text("newer line\n")
    answer = admin.get("/api/admin/logs")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.text.index("older line") < answer.text.index("newer line")


def test_admin_deletes_an_ended_session_record(svc: RunningService, admin: httpx.Client) -> None:
    kept = admin.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["Keep"]}).json()["id"]
    assert admin.post(f"/api/sessions/{kept}/end").status_code == 200
    started = admin.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["Del"]})
    sid = started.json()["id"]
    live = admin.delete(f"/api/sessions/{sid}")
    assert live.status_code == 409 and "live" in live.json()["detail"]
    admin.post(f"/api/sessions/{sid}/flag", json={"note": "x"})
    assert admin.post(f"/api/sessions/{sid}/end").status_code == 200
    with closing(svc.client()) as instructor:
        assert instructor.delete(f"/api/sessions/{sid}").status_code == 403
    gone = admin.delete(f"/api/sessions/{sid}")
    assert gone.status_code == 200 and gone.json()["events"] >= 4
    assert admin.get(f"/api/sessions/{sid}").status_code == 404
    assert admin.delete(f"/api/sessions/{sid}").status_code == 404
    # The append-only triggers are back for ordinary writes.
    db = sqlite3.connect(svc.settings.records_path)
    try:
        triggers = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert {"events_append_only_update", "events_append_only_delete"} <= triggers
        assert db.execute("SELECT COUNT(*) FROM events WHERE session_id = ?", (sid,)).fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM events WHERE session_id = ?", (kept,)).fetchone()[0] >= 3
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM events WHERE session_id = ?", (kept,))
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE events SET kind = 'x' WHERE session_id = ?", (kept,))
    finally:
        db.close()


def test_xapi_status_when_disabled(admin: httpx.Client) -> None:
    status = admin.get("/api/admin/xapi").json()
    assert status["enabled"] is False and status["queued"] == 0
    assert "disabled" in admin.post("/api/admin/xapi/retry").json()["detail"]


def test_setup_state_is_public(svc: RunningService, admin: httpx.Client) -> None:
    assert wait_for(lambda: httpx.get(svc.base_url + "/api/setup").json()["admin_pin_set"])
