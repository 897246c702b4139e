"""The de-escalation rubric: which items a scenario is scored on, and the totals of a session.

Every scenario is scored on three built-in items (communication, situational awareness,
body positioning / proxemics), followed by the scenario's own ``rubric`` items; a scenario
item with a built-in id replaces the built-in one. Scores are events of the session record
(kind ``rubric_scored``, data ``{"item","label","score","max","trainee"}``) and the latest
event per (item, trainee) counts. Totals are computed from the log only (pure functions):
the debrief, reports, CSV and xAPI exports all read ``rubric_totals``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from appliance.records import EventRow
from appliance.scenario.model import Manifest

RUBRIC_EVENT = "rubric_scored"

BUILTIN_ITEMS: tuple[dict[str, Any], ...] = (
    {
        "id": "communication",
        "label": "Communication",
        "max_score": 3,
        "description": "Clear, calm verbal commands and active listening; explains what happens next.",
    },
    {
        "id": "situational-awareness",
        "label": "Situational awareness",
        "max_score": 3,
        "description": "Notices bystanders, exits, cover, weapons and changes in the subject's behaviour.",
    },
    {
        "id": "proxemics",
        "label": "Body positioning / proxemics",
        "max_score": 3,
        "description": "Keeps a safe reactionary gap, an open stance and a way out for everyone.",
    },
)
"""The items every scenario is scored on, before the scenario's own."""


def rubric_items(manifest: Manifest | None) -> list[dict[str, Any]]:
    """The rubric a session of ``manifest`` is scored on: built-ins first, then the scenario's own.

    Each item is ``{"id","label","max_score","description","builtin"}``; a scenario item whose id
    is a built-in's replaces it in place. ``None`` (scenario no longer in the library): built-ins.
    """
    own = {r.id: r for r in manifest.rubric} if manifest is not None else {}
    out: list[dict[str, Any]] = []
    for item in BUILTIN_ITEMS:
        replacement = own.pop(item["id"], None)
        if replacement is None:
            out.append({**item, "builtin": True})
        else:
            out.append({**replacement.model_dump(mode="json"), "builtin": False})
    out += [{**r.model_dump(mode="json"), "builtin": False} for r in own.values()]
    return out


def check_score(
    items: list[dict[str, Any]], item_id: str, score: int, trainee: str | None, trainees: Iterable[str]
) -> dict[str, Any]:
    """The event data of a valid score; ValueError naming the problem otherwise."""
    item = next((i for i in items if i["id"] == item_id), None)
    if item is None:
        known = ", ".join(i["id"] for i in items)
        raise ValueError(f"no rubric item {item_id!r} in this scenario (items: {known})")
    if not 0 <= score <= item["max_score"]:
        raise ValueError(f"{item['label']} is scored from 0 to {item['max_score']}, not {score}")
    names = list(trainees)
    if trainee is not None and trainee not in names:
        raise ValueError(f"{trainee!r} is not a trainee of this session (trainees: {', '.join(names)})")
    return {
        "item": item["id"],
        "label": item["label"],
        "score": int(score),
        "max": int(item["max_score"]),
        "trainee": trainee,
    }


def _summed(items: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "items": items,
        "score": sum(i["score"] for i in items.values()),
        "max": sum(i["max"] for i in items.values()),
    }


def rubric_totals(
    events: Iterable[EventRow],
    items: list[dict[str, Any]] | None = None,
    trainees: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Rubric totals of a session's event log.

    Returns ``{"items": {id: {"score","max","label"}}, "score", "max", "by_trainee": {name: {...}},
    "unscored": [ids]}``. Top-level ``items`` are the scores given to the whole group (trainee
    null); each trainee's entry is the group's scores overridden by the scores given to that
    trainee. Only scored items count toward ``max`` (an unscored item is not a zero);
    ``unscored`` lists the items of ``items`` (if given) the group has no score for.
    ``trainees`` adds names that have no individual score (they get the group's scores).
    """
    group: dict[str, dict[str, Any]] = {}
    individual: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in trainees or ()}
    for event in events:
        if event.kind != RUBRIC_EVENT:
            continue
        data = event.data
        entry = {"score": int(data["score"]), "max": int(data["max"]), "label": data.get("label", "")}
        name = data.get("trainee")
        target = group if name is None else individual.setdefault(name, {})
        target[data["item"]] = entry
    totals = _summed(group)
    totals["by_trainee"] = {name: _summed({**group, **own}) for name, own in individual.items()}
    totals["unscored"] = [i["id"] for i in items or () if i["id"] not in group]
    return totals
