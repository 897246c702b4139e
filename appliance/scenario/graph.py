"""Checks of the scene graph: references, duplicates, reachability, dead ends and traps."""

from __future__ import annotations

import difflib
from collections import defaultdict
from typing import Any

from appliance.scenario.model import Manifest
from appliance.scenario.problems import Problem


def check_graph(manifest: Manifest) -> list[Problem]:
    """Every semantic problem of a typed manifest that does not need the media files."""
    out: list[Problem] = []
    scenes = manifest.scenes

    def target(where: str, goto: str) -> None:
        if goto not in scenes:
            close = difflib.get_close_matches(goto, list(scenes), n=1)
            out.append(
                Problem(where, f"no scene '{goto}'" + (f"; did you mean '{close[0]}'?" if close else ""))
            )

    target("start", manifest.start)
    _duplicates(out, "rubric", "id", [r.id for r in manifest.rubric], "rubric id")
    for sid, scene in scenes.items():
        at = f"scenes.{sid}"
        for i, choice in enumerate(scene.choices):
            target(f"{at}.choices[{i}].goto", choice.goto)
        if scene.on_end:
            target(f"{at}.on_end", scene.on_end)
        if scene.timeout:
            target(f"{at}.timeout.goto", scene.timeout.goto)
        for i, hit in enumerate(scene.on_hit):
            target(f"{at}.on_hit[{i}].goto", hit.goto)
        for i, press in enumerate(scene.on_input):
            target(f"{at}.on_input[{i}].goto", press.goto)
        _duplicates(out, f"{at}.choices", "id", [c.id for c in scene.choices], "choice id")
        _duplicates(out, f"{at}.choices", "hotkey", [c.hotkey for c in scene.choices], "hotkey")
        _duplicates(out, f"{at}.zones", "id", [z.id for z in scene.zones], "zone id")
        _duplicates(out, f"{at}.on_input", "input", [p.input for p in scene.on_input], "input")
        zone_ids, zone_kinds = {z.id for z in scene.zones}, {z.kind for z in scene.zones}
        for i, hit in enumerate(scene.on_hit):
            if hit.zone is not None and hit.zone not in zone_ids:
                out.append(Problem(f"{at}.on_hit[{i}].zone", f"scene '{sid}' has no zone '{hit.zone}'"))
            if hit.kind is not None and hit.kind not in zone_kinds:
                out.append(
                    Problem(f"{at}.on_hit[{i}].kind", f"scene '{sid}' has no zone of kind '{hit.kind}'")
                )
        length = None if scene.end_s is None else scene.end_s - scene.start_s
        for i, zone in enumerate(scene.zones):
            if zone.to_s is not None and zone.to_s <= zone.from_s:
                out.append(Problem(f"{at}.zones[{i}].to_s", f"must be after from_s ({zone.from_s:g})"))
            if length is not None and zone.from_s >= length:
                out.append(Problem(f"{at}.zones[{i}].from_s", f"after the segment's end ({length:g} s)"))
        if scene.outcome and scene.on_end:
            out.append(Problem(f"{at}.on_end", "an ending scene (with an outcome) cannot also have on_end"))
    out += _flow(manifest)
    return out


def _duplicates(out: list[Problem], at: str, field: str, values: list[Any], what: str) -> None:
    first: dict[Any, int] = {}
    for i, value in enumerate(values):
        if value is None:
            continue
        if value in first:
            also = f"{at.rsplit('.', 1)[-1]}[{first[value]}]"
            out.append(Problem(f"{at}[{i}].{field}", f"duplicate {what} '{value}' (also {also})"))
        else:
            first[value] = i


def _flow(manifest: Manifest) -> list[Problem]:
    """Unreachable scenes, dead ends, traps and a scenario with no ending."""
    scenes, out = manifest.scenes, []
    edges = {sid: [g for _, g in s.targets() if g in scenes] for sid, s in scenes.items()}
    if manifest.start in scenes:
        reached = _reach([manifest.start], edges)
        for sid in scenes:
            if sid not in reached:
                out.append(
                    Problem(f"scenes.{sid}", f"unreachable: no path leads here from '{manifest.start}'")
                )
    endings = [sid for sid, s in scenes.items() if s.outcome]
    if not endings:
        out.append(Problem("scenes", "no ending: no scene has an outcome, so a session can never finish"))
    back: dict[str, list[str]] = defaultdict(list)
    for sid, goes in edges.items():
        for goto in goes:
            back[goto].append(sid)
    can_end = _reach(endings, back)
    for sid, scene in scenes.items():
        if scene.outcome:
            continue
        if not scene.targets():
            out.append(
                Problem(
                    f"scenes.{sid}",
                    "dead end: no outcome and no way out (add choices, "
                    "on_end, timeout, on_hit or on_input, or make it an ending with outcome)",
                )
            )
        elif endings and sid not in can_end:
            out.append(
                Problem(f"scenes.{sid}", "trap: no ending (scene with an outcome) can be reached from here")
            )
    return out


def _reach(starts: list[str], edges: dict[str, list[str]]) -> set[str]:
    seen, todo = set(starts), list(starts)
    while todo:
        for nxt in edges.get(todo.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
