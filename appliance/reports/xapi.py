"""xAPI 1.0.3 statements of a session: one per trainee, ``completed`` / ``passed`` / ``failed``.

- actor: the trainee as an Agent with an ``account`` (homePage = the activity base IRI, name =
  the trainee's name or ID as entered on the tablet);
- verb: ``http://adlnet.gov/expapi/verbs/{completed|passed|failed}`` by the rule of
  ``appliance.reports.summary`` (the pass threshold and failure outcomes are ``xapi`` settings);
- object: the scenario as an Activity ``{base}/scenarios/{scenario id}`` (type simulation);
- result: ``score`` (scaled, raw, min, max of the trainee's rubric total; only when scored),
  ``success`` (true for passed, false for failed, absent for completed), ``completion``,
  ``duration`` (ISO 8601);
- context: ``registration`` (one UUID per session), the instructor, and extensions with the
  branch path, scenario version, session id, outcome, trainee role and safety officer;
- timestamp: when the session ended. Statement ids are UUID 5 of (session, trainee), so a
  statement sent twice is the same statement.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any

from appliance.records import iso
from appliance.reports.summary import SessionSummary

VERBS = {
    v: {"id": f"http://adlnet.gov/expapi/verbs/{v}", "display": {"en-US": v}}
    for v in ("completed", "passed", "failed")
}
SIMULATION = "http://adlnet.gov/expapi/activities/simulation"
XAPI_VERSION = "1.0.3"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
DURATION_RE = re.compile(r"^P(?:\d+D)?T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)$")
IRI_RE = re.compile(r"^[a-z][a-z0-9+.-]*:\S+$", re.IGNORECASE)


def iso_duration(seconds: float) -> str:
    """ISO 8601 duration with 0.01 s precision, e.g. ``PT1M5.25S``."""
    centis = round(max(0.0, seconds) * 100)
    hours, rest = divmod(centis, 360_000)
    minutes, rest = divmod(rest, 6_000)
    secs = f"{rest // 100}.{rest % 100:02d}".rstrip("0").rstrip(".")
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + f"{secs}S"


def _agent(name: str, base: str) -> dict[str, Any]:
    return {"objectType": "Agent", "name": name, "account": {"homePage": base, "name": name}}


def statement_id(base: str, session_id: str, trainee: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base}/sessions/{session_id}/trainees/{trainee}"))


def build_statements(
    summary: SessionSummary, *, base_iri: str, pass_threshold: float, failure_words: Iterable[str]
) -> list[dict[str, Any]]:
    """One statement per trainee of the session."""
    words = list(failure_words)
    base = base_iri.rstrip("/")
    s = summary.session
    registration = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base}/sessions/{s.id}"))
    out = []
    for trainee in s.trainees:
        verb = summary.verdict(trainee, pass_threshold=pass_threshold, failure_words=words)
        result: dict[str, Any] = {"completion": True, "duration": iso_duration(summary.score["duration_s"])}
        total = summary.rubric_total(trainee)
        if total:
            result["score"] = {
                "scaled": round(total["score"] / total["max"], 4),
                "raw": total["score"],
                "min": 0,
                "max": total["max"],
            }
        if verb != "completed":
            result["success"] = verb == "passed"
        context: dict[str, Any] = {
            "registration": registration,
            "platform": "OpenRange",
            "language": "en-US",
            "extensions": {
                f"{base}/extensions/branch-path": list(summary.score["path"]),
                f"{base}/extensions/scenario-version": s.scenario_version,
                f"{base}/extensions/session-id": s.id,
                f"{base}/extensions/outcome": summary.outcome,
                f"{base}/extensions/trainee-role": s.trainee_roles.get(trainee),
                f"{base}/extensions/safety-officer": s.safety_officer or None,
            },
        }
        if s.instructor:
            context["instructor"] = _agent(s.instructor, base)
        out.append(
            {
                "id": statement_id(base, s.id, trainee),
                "actor": _agent(trainee, base),
                "verb": VERBS[verb],
                "object": {
                    "objectType": "Activity",
                    "id": f"{base}/scenarios/{s.scenario_id}",
                    "definition": {
                        "name": {"en-US": s.scenario_title},
                        "type": SIMULATION,
                    },
                },
                "result": result,
                "context": context,
                "timestamp": iso(s.ended_wall or s.started_wall),
            }
        )
    return out


def statement_problems(statement: dict[str, Any]) -> list[str]:
    """What makes ``statement`` not a valid xAPI 1.0.3 statement of ours (empty: valid).

    Checks the parts we produce: id, actor (Agent with exactly one identifier), verb, object
    Activity, result (score range, success, duration), context (registration, extension IRIs)
    and timestamp.
    """
    problems: list[str] = []
    if not UUID_RE.match(str(statement.get("id", ""))):
        problems.append("id is not a UUID")
    actor = statement.get("actor") or {}
    ifis = [k for k in ("mbox", "mbox_sha1sum", "openid", "account") if k in actor]
    if actor.get("objectType", "Agent") != "Agent" or len(ifis) != 1:
        problems.append("actor must be an Agent with exactly one identifier")
    account = actor.get("account") or {}
    if "account" in actor and not (IRI_RE.match(str(account.get("homePage", ""))) and account.get("name")):
        problems.append("actor.account needs homePage (IRL) and name")
    verb = statement.get("verb") or {}
    if not IRI_RE.match(str(verb.get("id", ""))):
        problems.append("verb.id is not an IRI")
    obj = statement.get("object") or {}
    if obj.get("objectType", "Activity") != "Activity" or not IRI_RE.match(str(obj.get("id", ""))):
        problems.append("object must be an Activity with an IRI id")
    result = statement.get("result") or {}
    score = result.get("score")
    if score is not None:
        if not -1 <= score.get("scaled", 0) <= 1:
            problems.append("result.score.scaled outside -1..1")
        if not score.get("min", 0) <= score.get("raw", 0) <= score.get("max", 0):
            problems.append("result.score.raw outside min..max")
    if "success" in result and not isinstance(result["success"], bool):
        problems.append("result.success is not a boolean")
    if "duration" in result and not DURATION_RE.match(str(result["duration"])):
        problems.append("result.duration is not an ISO 8601 duration")
    context = statement.get("context") or {}
    if "registration" in context and not UUID_RE.match(str(context["registration"])):
        problems.append("context.registration is not a UUID")
    for key in context.get("extensions") or {}:
        if not IRI_RE.match(key):
            problems.append(f"context extension key {key!r} is not an IRI")
    ts = str(statement.get("timestamp", ""))
    if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", ts):
        problems.append("timestamp is not ISO 8601 with a time zone")
    return problems
