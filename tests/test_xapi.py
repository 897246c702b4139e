"""xAPI statements and the outbox sender, against a real HTTP LRS stub on 127.0.0.1.

The LRS first cannot be reached (connection refused), then answers 503, then the service
restarts and the LRS accepts: the queue (SQLite) must drain with nothing lost.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from scenario_builders import write_scenario
from service_runner import PIN, RunningService, free_port, wait_for

from appliance.records import EventRow, SessionRow
from appliance.reports.summary import summarise
from appliance.reports.xapi import build_statements, iso_duration, statement_problems

ADMIN_PIN = "8642097531"
BASE = "https://lrs-test.example/openrange"


class Lrs:
    """A minimal LRS: records each POST /xapi/statements; answers with ``status``."""

    def __init__(self, port: int) -> None:
        self.status = 503
        self.requests: list[dict[str, Any]] = []
        lrs = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                lrs.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                )
                if lrs.status == 200:
                    ids = json.dumps([s["id"] for s in json.loads(body)]).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(ids)))
                    self.end_headers()
                    self.wfile.write(ids)
                else:
                    self.send_response(lrs.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _service(data: Path, lrs_port: int) -> RunningService:
    return RunningService(
        data,
        **{
            "xapi.enabled": True,
            "xapi.endpoint": f"http://127.0.0.1:{lrs_port}/xapi",
            "xapi.username": "key",
            "xapi.password": "sécret",
            "xapi.activity_base_iri": BASE,
            "xapi.retry_min_s": 0.2,
            "xapi.retry_max_s": 0.5,
        },
    ).start()


def _admin(service: RunningService, setup: bool) -> httpx.Client:
    client = httpx.Client(base_url=service.base_url, timeout=10)
    if setup:
        grant = client.post("/api/setup/admin-pin", json={"pairing_pin": PIN, "admin_pin": ADMIN_PIN})
    else:
        grant = client.post("/api/auth/pair", json={"pin": ADMIN_PIN})
    assert grant.status_code == 200, grant.text
    client.headers["Authorization"] = "Bearer " + grant.json()["token"]
    return client


@pytest.fixture
def lrs_port() -> Iterator[int]:
    yield free_port()


def test_statements_queue_while_offline_and_drain_after_a_restart(tmp_path: Path, lrs_port: int) -> None:
    write_scenario(tmp_path / "scenarios" / "triage-desk")
    service = _service(tmp_path, lrs_port)
    lrs: Lrs | None = None
    try:
        with closing(_admin(service, setup=True)) as admin:
            # The queue starts empty.
            assert admin.get("/api/admin/xapi").json()["queued"] == 0
            sid = admin.post(
                "/api/sessions",
                json={
                    "scenario_id": "triage-desk",
                    "trainees": [{"name": "Avery", "role": "nurse"}, "Jo"],
                    "instructor": "Lee",
                },
            ).json()["id"]
            admin.post(f"/api/sessions/{sid}/branch", json={"choice": "escalates"})
            for item in ("communication", "situational-awareness", "proxemics"):
                admin.post(f"/api/sessions/{sid}/rubric", json={"item": item, "score": 3, "trainee": None})
            admin.post(f"/api/sessions/{sid}/rubric", json={"item": "proxemics", "score": 0, "trainee": "Jo"})
            assert admin.post(f"/api/sessions/{sid}/end").status_code == 200
            # Nothing listens on the LRS port yet: connection refused, kept queued, backing off.
            offline = wait_for(
                lambda: (s := admin.get("/api/admin/xapi").json())["last_error"] and s, timeout=10
            )
            assert offline["enabled"] is True and offline["queued"] == 2 and offline["sent"] == 0
            assert "cannot reach" in offline["last_error"] and offline["next_retry_at"]
            # The LRS comes up but answers 503.
            lrs = Lrs(lrs_port)
            assert admin.post("/api/admin/xapi/retry").status_code == 200
            wait_for(lambda: lrs is not None and lrs.requests, timeout=10)
            failing = wait_for(
                lambda: "503" in str((s := admin.get("/api/admin/xapi").json())["last_error"]) and s
            )
            assert failing["queued"] == 2 and failing["sent"] == 0
            # Exponential backoff: retries keep coming, but spaced.
            wait_for(lambda: len(lrs.requests) >= 3, timeout=10)
    finally:
        service.stop()
    # Across the restart, the outbox is on disk.
    db = sqlite3.connect(tmp_path / "records.sqlite3")
    assert db.execute("SELECT COUNT(*) FROM xapi_outbox WHERE sent_wall IS NULL").fetchone()[0] == 2
    db.close()
    assert lrs is not None
    lrs.status = 200
    seen_before = len(lrs.requests)
    service = _service(tmp_path, lrs_port)
    try:
        with closing(_admin(service, setup=False)) as admin:
            drained = wait_for(
                lambda: (s := admin.get("/api/admin/xapi").json())["sent"] == 2 and s, timeout=10
            )
            assert (
                drained["queued"] == 0 and drained["last_error"] is None and drained["next_retry_at"] is None
            )
    finally:
        service.stop()
        lrs.close()

    accepted = lrs.requests[seen_before:]
    assert len(accepted) == 1
    request = accepted[0]
    assert request["path"] == "/xapi/statements"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["x-experience-api-version"] == "1.0.3"
    assert headers["authorization"] == "Basic " + base64.b64encode("key:sécret".encode()).decode()
    statements = {s["actor"]["name"]: s for s in request["body"]}
    assert set(statements) == {"Avery", "Jo"}
    for statement in statements.values():
        assert statement_problems(statement) == []
        assert statement["object"]["id"] == f"{BASE}/scenarios/triage-desk"
        assert statement["actor"]["account"] == {"homePage": BASE, "name": statement["actor"]["name"]}
        ext = statement["context"]["extensions"]
        assert ext[f"{BASE}/extensions/branch-path"] == ["intro", "angry"]
        assert ext[f"{BASE}/extensions/scenario-version"] == "1"
        assert ext[f"{BASE}/extensions/session-id"] == sid
        assert statement["context"]["instructor"]["name"] == "Lee"
        assert statement["result"]["duration"].startswith("PT")
        assert statement["timestamp"].endswith("Z")
    avery, jo = statements["Avery"], statements["Jo"]
    assert (
        avery["verb"]["id"] == "http://adlnet.gov/expapi/verbs/passed" and avery["result"]["success"] is True
    )
    assert avery["result"]["score"] == {"scaled": 1.0, "raw": 9, "min": 0, "max": 9}
    assert avery["context"]["extensions"][f"{BASE}/extensions/trainee-role"] == "nurse"
    assert jo["verb"]["id"] == "http://adlnet.gov/expapi/verbs/failed" and jo["result"]["success"] is False
    assert jo["result"]["score"]["raw"] == 6 and jo["result"]["score"]["scaled"] == pytest.approx(0.6667)
    assert avery["context"]["registration"] == jo["context"]["registration"] and avery["id"] != jo["id"]
    # Every attempt carried the same statement ids (a resend is the same statement).
    ids = {tuple(sorted(s["id"] for s in r["body"])) for r in lrs.requests}
    assert len(ids) == 1


def _row(**kw: Any) -> SessionRow:
    base = {
        "id": "s1",
        "scenario_id": "sc",
        "scenario_title": "Scenario",
        "scenario_version": "2",
        "trainees": ["A"],
        "instructor": "",
        "status": "ended",
        "outcome": "resolved",
        "started_wall": 1_700_000_000.0,
        "ended_wall": 1_700_000_100.0,
    }
    return SessionRow(**{**base, **kw})


def _event(seq: int, kind: str, t: float, data: dict[str, Any] | None = None, scene: str = "a") -> EventRow:
    return EventRow("s1", seq, kind, "system", scene, t, 1_700_000_000.0 + t, t, data or {})


def test_unscored_session_is_completed_without_score() -> None:
    events = [
        _event(1, "session_started", 0, {"objectives": ["o"]}),
        _event(2, "scene_entered", 0),
        _event(3, "session_ended", 62.5, {"outcome": "resolved"}),
    ]
    (statement,) = build_statements(
        summarise(_row(), events, None),
        base_iri="http://box.local/x",
        pass_threshold=0.7,
        failure_words=["hit"],
    )
    assert statement_problems(statement) == []
    assert statement["verb"]["id"].endswith("/completed")
    assert "score" not in statement["result"] and "success" not in statement["result"]
    assert statement["result"]["duration"] == "PT1M2.5S" and "instructor" not in statement["context"]


def test_failure_outcome_fails_and_problems_are_found() -> None:
    events = [_event(1, "scene_entered", 0), _event(2, "session_ended", 3, {"outcome": "officer hit"})]
    (statement,) = build_statements(
        summarise(_row(outcome="officer hit"), events, None),
        base_iri="http://box.local/x",
        pass_threshold=0.7,
        failure_words=["hit"],
    )
    assert statement["verb"]["id"].endswith("/failed") and statement["result"]["success"] is False
    broken = json.loads(json.dumps(statement))
    broken["actor"]["mbox"] = "mailto:a@b"
    broken["result"]["duration"] = "3 s"
    broken["context"]["extensions"]["not an iri"] = 1
    broken["timestamp"] = "yesterday"
    problems = statement_problems(broken)
    assert len(problems) == 4, problems


def test_iso_durations() -> None:
    assert iso_duration(0) == "PT0S"
    assert iso_duration(5.25) == "PT5.25S"
    assert iso_duration(3600 + 61.004) == "PT1H1M1S"
