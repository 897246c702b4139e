"""CSV export of training records: one row per trainee per session.

UTF-8 with a byte-order mark (so Excel opens names with accents correctly), written with the
``csv`` module. Cells that a spreadsheet would run as a formula (starting with ``=``, ``+``,
``-``, ``@``, tab or carriage return) get a leading apostrophe (CSV/formula injection guard).
Numbers we produce ourselves are written as numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from appliance.records import iso
from appliance.reports.summary import SessionSummary

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"

FIXED_COLUMNS = [
    "date",
    "session_id",
    "trainee",
    "role",
    "instructor",
    "safety_officer",
    "scenario_id",
    "scenario_title",
    "scenario_version",
    "objectives",
    "status",
    "outcome",
    "result",
    "duration_s",
    "path",
    "hits",
    "no_shoot_hits",
    "misses",
    "flags",
]


def safe_cell(value: Any) -> Any:
    """The value as a spreadsheet will not execute it: text starting like a formula gets a ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def rubric_columns(summaries: Iterable[SessionSummary]) -> list[tuple[str, str]]:
    """(item id, label) of every rubric item across the sessions, in order of first appearance."""
    seen: dict[str, str] = {}
    for summary in summaries:
        for item in summary.items:
            seen.setdefault(item["id"], item["label"])
        for item_id, entry in summary.rubric["items"].items():
            seen.setdefault(item_id, entry.get("label") or item_id)
        for per in summary.rubric["by_trainee"].values():
            for item_id, entry in per["items"].items():
                seen.setdefault(item_id, entry.get("label") or item_id)
    return list(seen.items())


def rows(
    summaries: list[SessionSummary], *, pass_threshold: float, failure_words: Iterable[str]
) -> tuple[list[str], list[list[Any]]]:
    """The header and the rows (cells not yet guarded)."""
    words = list(failure_words)
    items = rubric_columns(summaries)
    header = FIXED_COLUMNS + [f"rubric: {label}" for _, label in items] + ["rubric_total", "rubric_max"]
    out: list[list[Any]] = []
    for s in summaries:
        row = s.session
        for trainee in row.trainees:
            mine = s.rubric_of(trainee)
            total = s.rubric_total(trainee)
            out.append(
                [
                    iso(row.started_wall),
                    row.id,
                    trainee,
                    row.trainee_roles.get(trainee) or "",
                    row.instructor,
                    row.safety_officer,
                    row.scenario_id,
                    row.scenario_title,
                    row.scenario_version,
                    "; ".join(s.objectives),
                    row.status,
                    s.outcome or "",
                    s.verdict(trainee, pass_threshold=pass_threshold, failure_words=words),
                    s.score["duration_s"],
                    " > ".join(s.score["path"]),
                    s.score["hits"],
                    s.score["no_shoot_hits"],
                    s.score["misses"],
                    s.score["flags"],
                ]
                + [
                    mine["items"][item_id]["score"] if item_id in mine["items"] else ""
                    for item_id, _ in items
                ]
                + [total["score"] if total else "", total["max"] if total else ""]
            )
    return header, out


def to_csv(summaries: list[SessionSummary], *, pass_threshold: float, failure_words: Iterable[str]) -> bytes:
    """The CSV document (UTF-8 with BOM, CRLF line ends as RFC 4180 says)."""
    header, body = rows(summaries, pass_threshold=pass_threshold, failure_words=failure_words)
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL)
    writer.writerow([safe_cell(h) for h in header])
    for row in body:
        writer.writerow([safe_cell(c) for c in row])
    return (BOM + buffer.getvalue()).encode("utf-8")
