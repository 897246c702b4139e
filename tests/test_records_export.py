"""Trainee roles, roster, history, CSV exports and the printable report, on the real service."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from scenario_builders import write_scenario
from service_runner import RunningService, wait_for

from appliance.records import Records
from appliance.reports.csv_export import safe_cell
from appliance.reports.summary import failure_outcome, verdict

EVIL = '=HYPERLINK("http://x","y")'
WORDS = ["assault", "hit"]


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    data = tmp_path_factory.mktemp("data")
    write_scenario(data / "scenarios" / "triage-desk")
    service = RunningService(data).start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def recorded(svc: RunningService) -> Iterator[dict[str, Any]]:
    """Three ended sessions: scored (passed), a no-shoot hit (failed), unscored (completed)."""
    with closing(svc.client()) as api:
        scored = api.post(
            "/api/sessions",
            json={
                "scenario_id": "triage-desk",
                "trainees": [{"name": "Avery", "role": "nurse"}, {"name": EVIL, "role": "@security"}],
                "instructor": "Lee <b>",
                "safety_officer": "Sam & Co",
            },
        )
        assert scored.status_code == 201, scored.text
        first = scored.json()["id"]
        api.post(f"/api/sessions/{first}/flag", json={"note": "<script>alert(1)</script>"})
        assert api.post(f"/api/sessions/{first}/branch", json={"choice": "escalates"}).status_code == 200
        for item, score, trainee in (
            ("communication", 3, None),
            ("situational-awareness", 2, None),
            ("proxemics", 3, None),
            ("proxemics", 0, "Avery"),
        ):
            body = {"item": item, "score": score, "trainee": trainee}
            answer = api.post(f"/api/sessions/{first}/rubric", json=body)
            assert answer.status_code == 200, answer.text
        assert api.post(f"/api/sessions/{first}/end").status_code == 200

        second = api.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["Avery"]}).json()[
            "id"
        ]
        _land_a_no_shoot_hit(api, second)
        api.post(f"/api/sessions/{second}/end")

        third = api.post(
            "/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["Jo"], "instructor": "Kim"}
        ).json()["id"]
        api.post(f"/api/sessions/{third}/end")
        yield {"scored": first, "hit": second, "plain": third}


def _land_a_no_shoot_hit(api: httpx.Client, sid: str) -> None:
    """Shoot the bystander through the simulated camera until the hit is recorded (the detector
    can miss a two-frame spot when the machine is overloaded; that is not what these tests test)."""

    def hit() -> bool:
        return any(e["kind"] == "hit" for e in api.get(f"/api/sessions/{sid}").json()["events"])

    for _ in range(8):
        assert api.post("/api/sim/hit", json={"x": 0.1, "y": 0.5}).status_code == 202
        try:
            wait_for(hit, timeout=3)
            return
        except AssertionError:
            continue
    raise AssertionError("the simulated camera never reported the hit")


def _rows(answer: httpx.Response) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))


def test_session_json_carries_roles_and_safety_officer(svc: RunningService, recorded: dict[str, Any]) -> None:
    with closing(svc.client()) as api:
        session = api.get(f"/api/sessions/{recorded['scored']}").json()["session"]
        assert session["trainees"] == ["Avery", EVIL]
        assert session["trainee_roles"] == {"Avery": "nurse", EVIL: "@security"}
        assert session["safety_officer"] == "Sam & Co"
        listed = {s["id"]: s for s in api.get("/api/sessions").json()}
        assert listed[recorded["plain"]]["trainee_roles"] == {"Jo": None}
        assert api.get("/api/state").json()["session"]["safety_officer"] == ""
        dup = api.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["A", {"name": "A"}]})
        assert dup.status_code == 422


def test_session_csv_one_row_per_trainee_and_injection_guard(
    svc: RunningService, recorded: dict[str, Any]
) -> None:
    with closing(svc.client()) as api:
        rows = _rows(api.get(f"/api/sessions/{recorded['scored']}/export.csv"))
    assert [r["trainee"] for r in rows] == ["Avery", "'" + EVIL]
    avery, evil = rows
    assert avery["role"] == "nurse" and evil["role"] == "'@security"
    assert avery["instructor"] == "Lee <b>" and avery["safety_officer"] == "Sam & Co"
    assert avery["scenario_id"] == "triage-desk" and avery["objectives"] == "Keep distance; Offer options"
    assert avery["path"] == "intro > angry" and avery["flags"] == "1" and avery["no_shoot_hits"] == "0"
    assert avery["outcome"] == "ended by instructor"
    assert avery["rubric: Communication"] == "3" and avery["rubric: Body positioning / proxemics"] == "0"
    assert (avery["rubric_total"], avery["rubric_max"]) == ("5", "9") and avery["result"] == "failed"
    assert (evil["rubric_total"], evil["rubric_max"]) == ("8", "9") and evil["result"] == "passed"


def test_records_csv_by_date_range(svc: RunningService, recorded: dict[str, Any]) -> None:
    today = date.today()
    with closing(svc.client()) as api:
        rows = _rows(api.get("/api/records/export.csv", params={"since": str(today), "until": str(today)}))
        assert [(r["session_id"], r["trainee"]) for r in rows][-4:] == [
            (recorded["scored"], "Avery"),
            (recorded["scored"], "'" + EVIL),
            (recorded["hit"], "Avery"),
            (recorded["plain"], "Jo"),
        ]
        by_session = {r["session_id"]: r for r in rows}
        assert by_session[recorded["hit"]]["result"] == "failed"
        assert int(by_session[recorded["hit"]]["no_shoot_hits"]) >= 1
        assert by_session[recorded["plain"]]["result"] == "completed"
        assert by_session[recorded["plain"]]["rubric_total"] == ""
        tomorrow = str(today + timedelta(days=1))
        assert _rows(api.get("/api/records/export.csv", params={"since": tomorrow})) == []
        assert len(_rows(api.get("/api/records/export.csv"))) >= 4
        assert api.get("/api/records/export.csv", params={"since": "2026-13-01"}).status_code == 422
        assert api.get("/api/records/export.csv", params={"since": "yesterday"}).status_code == 422
        assert api.get("/api/sessions/nope/export.csv").status_code == 404


def test_printable_report_is_escaped_and_self_contained(
    svc: RunningService, recorded: dict[str, Any]
) -> None:
    with closing(svc.client()) as api:
        answer = api.get(f"/api/sessions/{recorded['scored']}/report")
        assert api.get("/api/sessions/nope/report").status_code == 404
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    page = answer.text
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Lee &lt;b&gt;" in page and "Sam &amp; Co" in page
    assert "=HYPERLINK(&quot;http://x&quot;" in page
    for external in ("src=", "href=", "@import", "url(", "<link"):
        assert external not in page
    assert "@media print" in page and "Keep distance" in page and "Shouting" in page
    assert "Body positioning / proxemics" in page and "5 / 9" in page and "8 / 9" in page
    assert 'class="failed">failed' in page and 'class="passed">passed' in page
    assert page.count("<tr><td") > 10  # the timeline


def test_roster_and_history(svc: RunningService, recorded: dict[str, Any]) -> None:
    with closing(svc.client()) as api:
        roster = api.get("/api/roster").json()
        people = {t["name"]: t for t in roster["trainees"]}
        assert people["Avery"]["role"] == "nurse" and people["Avery"]["sessions"] == 2
        assert people["Jo"]["sessions"] == 1 and people["Jo"]["role"] is None
        names = [t["name"] for t in roster["trainees"]]
        assert names.index("Jo") < names.index("Avery")  # most recent first
        assert roster["instructors"][:2] == ["Kim", "Lee <b>"]
        assert roster["safety_officers"] == ["Sam & Co"]
        history = api.get("/api/trainees/Avery/history").json()
        assert history["name"] == "Avery"
        sessions = history["sessions"]
        assert [s["id"] for s in sessions] == [recorded["hit"], recorded["scored"]]
        assert sessions[0]["score"]["no_shoot_hits"] >= 1 and sessions[0]["rubric_total"] is None
        assert sessions[1]["rubric_total"] == {"score": 5, "max": 9}
        assert [s["result"] for s in sessions] == ["failed", "failed"]
        assert api.get("/api/trainees/Nobody/history").json() == {"name": "Nobody", "sessions": []}


def test_existing_database_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE sessions (id TEXT PRIMARY KEY, scenario_id TEXT NOT NULL, scenario_title TEXT NOT NULL,
            scenario_version TEXT NOT NULL, trainees TEXT NOT NULL, instructor TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL, outcome TEXT, started_wall REAL NOT NULL, ended_wall REAL);
        """
    )
    db.execute(
        "INSERT INTO sessions VALUES ('old', 's', 'S', '1', ?, 'Lee', 'ended', 'done', ?, ?)",
        (json.dumps(["Ana"]), time.time() - 60, time.time()),
    )
    db.commit()
    db.close()

    async def main() -> None:
        for _ in range(2):  # opening twice is harmless
            records = Records(path)
            await records.open()
            old = await records.get_session("old")
            assert old.trainee_roles == {} and old.safety_officer == ""
            assert old.to_json()["trainee_roles"] == {"Ana": None}
            assert [s.id for s in await records.sessions_of_trainee("Ana")] == ["old"]
            await records.close()

    asyncio.run(main())
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    assert {"xapi_outbox", "events_append_only_delete", "tokens"} <= tables
    db.close()


def test_csv_cells_and_verdict_rule() -> None:
    assert safe_cell("=1+1") == "'=1+1" and safe_cell("+1") == "'+1" and safe_cell("-x") == "'-x"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)" and safe_cell("\tx") == "'\tx" and safe_cell("ok") == "ok"
    assert safe_cell(-3) == -3 and safe_cell(None) == ""
    assert failure_outcome("Officer HIT", WORDS) and not failure_outcome("hitchhiker calmed", WORDS)
    assert not failure_outcome(None, WORDS)
    plain = {"no_shoot_hits": 0}
    rule = {"pass_threshold": 0.7, "failure_words": WORDS}
    assert verdict(plain, "resolved", None, **rule) == "completed"
    assert verdict(plain, "resolved", {"score": 7, "max": 10}, **rule) == "passed"
    assert verdict(plain, "resolved", {"score": 6, "max": 10}, **rule) == "failed"
    assert verdict(plain, "assault", {"score": 10, "max": 10}, **rule) == "failed"
    assert verdict({"no_shoot_hits": 1}, "resolved", None, **rule) == "failed"
