"""A printable session report (self-contained HTML with print CSS) for training compliance files.

Date, trainees (with roles), instructor, safety officer, scenario, objectives, outcome and
verdict per trainee, scores, the rubric, flags, the path taken and the whole timeline.
Every value from the record is escaped with ``html.escape``; there are no external resources
(no fonts, scripts or images), so it prints the same offline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from html import escape
from typing import Any

from appliance.records import EventRow, iso
from appliance.reports.summary import SessionSummary

CSS = """
@page { size: A4; margin: 15mm; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #111;
       margin: 0 auto; max-width: 190mm; font-size: 11pt; line-height: 1.35; }
h1 { font-size: 18pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; margin: 6mm 0 2mm; border-bottom: 1px solid #888; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #bbb; padding: 1.2mm 2mm; text-align: left; vertical-align: top; }
th { background: #eee; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 1mm 5mm; margin: 0; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; }
.passed { color: #1b5e20; font-weight: 600; }
.failed { color: #b71c1c; font-weight: 600; }
.completed { color: #333; font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #555; }
ol.path { margin: 0; padding-left: 6mm; }
tr, li { page-break-inside: avoid; }
footer { margin-top: 8mm; font-size: 9pt; color: #555; }
.signatures { display: grid; grid-template-columns: 1fr 1fr; gap: 10mm; margin-top: 12mm; }
.signatures div { border-top: 1px solid #111; padding-top: 1mm; font-size: 9pt; }
@media print { a { color: inherit; text-decoration: none; } .noprint { display: none; } }
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(max(0.0, seconds), 60)
    return f"{int(minutes):02d}:{secs:04.1f}"


def event_detail(event: EventRow, titles: dict[str, str]) -> str:
    """A short human description of one event (plain text, escaped by the caller)."""
    d = event.data
    kind = event.kind
    if kind == "scene_entered":
        return f"entered {titles.get(event.scene_id or '', event.scene_id or '')}"
    if kind == "branch":
        to = titles.get(str(d.get("to")), str(d.get("to")))
        via = d.get("label") or d.get("choice") or d.get("via") or ""
        return f"to {to}" + (f" ({via})" if via else "")
    if kind == "hit":
        zones = ", ".join(f"{z.get('id')} [{z.get('kind')}]" for z in d.get("zones", [])) or "no zone"
        return f"hit at ({d.get('x', 0):.2f}, {d.get('y', 0):.2f}): {zones}"
    if kind == "flagged":
        return f"flag: {d.get('note') or '(no note)'}"
    if kind == "rubric_scored":
        who = d.get("trainee") or "group"
        return f"{d.get('label') or d.get('item')}: {d.get('score')}/{d.get('max')} ({who})"
    if kind == "session_ended":
        return f"outcome: {d.get('outcome')}"
    if kind == "session_started":
        return f"{d.get('title', '')} with {', '.join(d.get('trainees', []))}"
    if not d:
        return ""
    return json.dumps(d, ensure_ascii=False, separators=(", ", ": "))[:200]


def render_report(
    summary: SessionSummary, *, pass_threshold: float, failure_words: Iterable[str], titles: dict[str, str]
) -> str:
    """The report page. ``titles`` maps scene ids to titles (empty when the scenario is gone)."""
    words = list(failure_words)
    s = summary.session
    score = summary.score
    parts: list[str] = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Training record {_e(s.id)}</title><style>{CSS}</style></head><body>",
        f"<h1>Training record: {_e(s.scenario_title)}</h1>",
        '<dl class="meta">',
    ]
    meta = [
        ("Date", iso(s.started_wall)),
        ("Ended", iso(s.ended_wall) or "not ended"),
        ("Session", s.id),
        ("Scenario", f"{s.scenario_title} ({s.scenario_id}, version {s.scenario_version})"),
        ("Instructor", s.instructor or "not recorded"),
        ("Safety officer", s.safety_officer or "none"),
        ("Status", s.status),
        ("Outcome", summary.outcome or "none"),
        ("Duration", f"{score['duration_s']:.0f} s"),
    ]
    parts += [f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in meta]
    parts.append("</dl>")

    parts.append("<h2>Objectives</h2>")
    if summary.objectives:
        parts.append("<ul>" + "".join(f"<li>{_e(o)}</li>" for o in summary.objectives) + "</ul>")
    else:
        parts.append('<p class="muted">No objectives recorded.</p>')

    parts.append("<h2>Trainees</h2><table><thead><tr><th>Trainee</th><th>Role</th>")
    parts.append('<th class="num">Rubric</th><th>Result</th></tr></thead><tbody>')
    for name in s.trainees:
        total = summary.rubric_total(name)
        result = summary.verdict(name, pass_threshold=pass_threshold, failure_words=words)
        shown = f"{total['score']} / {total['max']}" if total else "not scored"
        parts.append(
            f"<tr><td>{_e(name)}</td><td>{_e(s.trainee_roles.get(name) or '')}</td>"
            f'<td class="num">{_e(shown)}</td><td class="{_e(result)}">{_e(result)}</td></tr>'
        )
    parts.append("</tbody></table>")

    parts.append("<h2>Scores</h2><table><tbody>")
    figures = [
        ("Hits", score["hits"]),
        ("No-shoot hits", score["no_shoot_hits"]),
        ("Hits outside zones", score["hits_outside_zones"]),
        ("Shots (trigger)", score["shots"]),
        ("Misses", score["misses"]),
        ("Flags", score["flags"]),
        ("Pauses", score["pauses"]),
    ]
    figures += [(f"Hits on {k} zones", v) for k, v in score["hits_by_zone_kind"].items()]
    for reaction in score["threat_reactions"]:
        after = reaction["first_shot_after_s"]
        figures.append(
            (
                f"Threat cue at {_clock(reaction['cue_t_session_s'])} ({reaction['scene_id']})",
                f"first shot after {after:.2f} s" if after is not None else "no shot",
            )
        )
    parts += [f'<tr><th>{_e(k)}</th><td class="num">{_e(v)}</td></tr>' for k, v in figures]
    parts.append("</tbody></table>")

    parts.append("<h2>De-escalation rubric</h2>")
    parts.append(_rubric_table(summary))

    flags = [e for e in summary.events if e.kind == "flagged"]
    parts.append("<h2>Flags</h2>")
    if flags:
        parts.append("<ul>")
        parts += [
            f"<li>{_e(_clock(f.t_session_s))} in {_e(titles.get(f.scene_id or '', f.scene_id or ''))}: "
            f"{_e(f.data.get('note') or '(no note)')}</li>"
            for f in flags
        ]
        parts.append("</ul>")
    else:
        parts.append('<p class="muted">No flags.</p>')

    parts.append('<h2>Path taken</h2><ol class="path">')
    parts += [f"<li>{_e(titles.get(p, p))} <span class='muted'>({_e(p)})</span></li>" for p in score["path"]]
    parts.append("</ol>")

    parts.append("<h2>Timeline</h2><table><thead><tr><th>Time</th><th>Event</th><th>By</th>")
    parts.append("<th>Detail</th></tr></thead><tbody>")
    for event in summary.events:
        parts.append(
            f'<tr><td class="num">{_e(_clock(event.t_session_s))}</td><td>{_e(event.kind)}</td>'
            f"<td>{_e(event.actor)}</td><td>{_e(event_detail(event, titles))}</td></tr>"
        )
    parts.append("</tbody></table>")
    parts.append(
        '<div class="signatures"><div>Instructor signature</div><div>Date</div></div>'
        f"<footer>OpenRange training record {_e(s.id)}, computed from the session's event log. "
        f"Result rule: failed on a no-shoot hit, a failure outcome or a rubric total below "
        f"{pass_threshold:.0%}; passed when scored; completed otherwise.</footer>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def _rubric_table(summary: SessionSummary) -> str:
    names = summary.session.trainees
    head = "".join(f'<th class="num">{_e(n)}</th>' for n in names)
    out = [f"<table><thead><tr><th>Item</th><th class='num'>Max</th>{head}</tr></thead><tbody>"]
    for item in summary.items:
        cells = []
        for name in names:
            entry = summary.rubric_of(name)["items"].get(item["id"])
            cells.append(f'<td class="num">{_e(entry["score"]) if entry else "–"}</td>')
        out.append(
            f"<tr><td>{_e(item['label'])}</td><td class='num'>{_e(item['max_score'])}</td>"
            f"{''.join(cells)}</tr>"
        )
    shown = [summary.rubric_total(n) for n in names]
    totals = "".join(
        '<td class="num">' + (_e(f"{t['score']} / {t['max']}") if t else "–") + "</td>" for t in shown
    )
    out.append(f"<tr><th>Total (scored items)</th><td></td>{totals}</tr></tbody></table>")
    return "".join(out)
