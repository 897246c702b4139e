"""One session's record summarised for reports: scores, rubric, objectives and the pass/fail verdict.

Everything is computed from the event log (``appliance.scoring.score_session`` and
``appliance.rubric.rubric_totals``); the scenario manifest is only consulted for the rubric item
list and, for sessions recorded before objectives were logged, the objectives.

The verdict of one trainee (the xAPI verb; also a CSV column):

- ``failed`` if the session had any no-shoot hit, or it ended in a failure-type outcome (an
  outcome containing one of ``xapi.failure_outcomes`` as a whole word, e.g. "officer hit"), or
  the trainee's rubric total is below ``xapi.pass_threshold`` of its maximum when it was scored;
- ``passed`` otherwise, when the rubric was scored for that trainee (or the whole group);
- ``completed`` when the rubric was not scored (and nothing above failed it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from appliance.errors import NotFound
from appliance.records import EventRow, Records, SessionRow
from appliance.rubric import rubric_items, rubric_totals
from appliance.scenario.library import ScenarioLibrary
from appliance.scenario.model import Manifest
from appliance.scoring import score_session


def failure_outcome(outcome: str | None, failure_words: Iterable[str]) -> bool:
    """True when the outcome names a failure (one of ``failure_words`` as a whole word, any case)."""
    if not outcome:
        return False
    words = set(re.findall(r"[\w-]+", outcome.casefold()))
    return any(w.casefold() in words for w in failure_words)


def verdict(
    score: dict[str, Any],
    outcome: str | None,
    rubric_total: dict[str, Any] | None,
    *,
    pass_threshold: float,
    failure_words: Iterable[str],
) -> str:
    """``failed``, ``passed`` or ``completed`` by the rule in this module's docstring."""
    scored = bool(rubric_total and rubric_total.get("max"))
    if score.get("no_shoot_hits", 0) > 0 or failure_outcome(outcome, failure_words):
        return "failed"
    if scored and rubric_total is not None:
        return "passed" if rubric_total["score"] >= pass_threshold * rubric_total["max"] else "failed"
    return "completed"


@dataclass(frozen=True)
class SessionSummary:
    """A session's row and log, with what the reports show about it."""

    session: SessionRow
    events: list[EventRow]
    score: dict[str, Any]
    rubric: dict[str, Any]
    """``rubric_totals`` of the log (group totals, ``by_trainee``, ``unscored``)."""
    items: list[dict[str, Any]]
    """The rubric items the scenario is scored on (built-ins first)."""
    objectives: list[str]

    @property
    def outcome(self) -> str | None:
        return self.session.outcome or self.score.get("outcome")

    def rubric_of(self, trainee: str) -> dict[str, Any]:
        """The trainee's rubric totals (group scores overridden by the trainee's own)."""
        return self.rubric["by_trainee"].get(trainee) or {
            "items": self.rubric["items"],
            "score": self.rubric["score"],
            "max": self.rubric["max"],
        }

    def rubric_total(self, trainee: str) -> dict[str, int] | None:
        """``{"score","max"}`` of the trainee's rubric, or None when nothing was scored."""
        mine = self.rubric_of(trainee)
        return {"score": mine["score"], "max": mine["max"]} if mine["max"] else None

    def verdict(self, trainee: str, *, pass_threshold: float, failure_words: Iterable[str]) -> str:
        return verdict(
            self.score,
            self.outcome,
            self.rubric_total(trainee),
            pass_threshold=pass_threshold,
            failure_words=failure_words,
        )


def _manifest(library: ScenarioLibrary | None, scenario_id: str) -> Manifest | None:
    if library is None:
        return None
    try:
        return library.get(scenario_id).manifest
    except (NotFound, KeyError, LookupError):
        return None


def summarise(session: SessionRow, events: list[EventRow], library: ScenarioLibrary | None) -> SessionSummary:
    """The summary of one session from its row and log (pure, apart from the library lookup)."""
    manifest = _manifest(library, session.scenario_id)
    items = rubric_items(manifest)
    started = next((e for e in events if e.kind == "session_started"), None)
    objectives = (started.data.get("objectives") if started else None) or (
        list(manifest.objectives) if manifest is not None else []
    )
    return SessionSummary(
        session=session,
        events=events,
        score=score_session(events),
        rubric=rubric_totals(events, items, session.trainees),
        items=items,
        objectives=list(objectives),
    )


async def load_summary(records: Records, library: ScenarioLibrary | None, session_id: str) -> SessionSummary:
    """Read one session (NotFound if unknown) and summarise it."""
    session = await records.get_session(session_id)
    return summarise(session, await records.events(session_id), library)
