"""The remembered roster and per-trainee history, computed from the session records."""

from __future__ import annotations

from typing import Any

from appliance.records import Records, SessionRow, iso
from appliance.reports.summary import summarise
from appliance.scenario.library import ScenarioLibrary
from appliance.settings import XapiSettings


def build_roster(sessions: list[SessionRow]) -> dict[str, Any]:
    """Trainees (with their latest role, session count and last session), instructors and
    safety officers named in ``sessions`` (given newest first), most recent first."""
    trainees: dict[str, dict[str, Any]] = {}
    instructors: dict[str, None] = {}
    officers: dict[str, None] = {}
    for s in sorted(sessions, key=lambda r: r.started_wall, reverse=True):
        for name in s.trainees:
            entry = trainees.setdefault(
                name, {"name": name, "role": None, "sessions": 0, "last_seen": iso(s.started_wall)}
            )
            entry["sessions"] += 1
            if entry["role"] is None and s.trainee_roles.get(name):
                entry["role"] = s.trainee_roles[name]
        if s.instructor:
            instructors.setdefault(s.instructor, None)
        if s.safety_officer:
            officers.setdefault(s.safety_officer, None)
    return {
        "trainees": list(trainees.values()),
        "instructors": list(instructors),
        "safety_officers": list(officers),
    }


async def trainee_history(
    records: Records, library: ScenarioLibrary | None, name: str, xapi: XapiSettings
) -> dict[str, Any]:
    """``{"name", "sessions": [session json + "score", "rubric_total", "result"]}``, newest first."""
    out = []
    for row in await records.sessions_of_trainee(name):
        summary = summarise(row, await records.events(row.id), library)
        item = row.to_json()
        item["path"] = summary.score["path"]
        item["score"] = summary.score
        item["rubric_total"] = summary.rubric_total(name)
        item["result"] = summary.verdict(
            name, pass_threshold=xapi.pass_threshold, failure_words=xapi.failure_outcomes
        )
        out.append(item)
    return {"name": name, "sessions": out}
