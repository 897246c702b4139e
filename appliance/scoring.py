"""Scores computed from a session's event log (never from live objects).

Hits per zone kind, no-shoot hits, hits that struck no zone, and the time from each threat cue
to the first shot after it in the same scene. The debrief, reports and exports read this.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from appliance.records import EventRow

MISS_WINDOW_S = 0.5
"""A trigger pull (shot sensor) with no hit detected within this time is a miss."""


def score_session(events: list[EventRow]) -> dict[str, Any]:
    hits = [e for e in events if e.kind == "hit"]
    by_kind: Counter[str] = Counter()
    outside = 0
    for hit in hits:
        kinds = {z["kind"] for z in hit.data.get("zones", [])}
        if not kinds:
            outside += 1
        by_kind.update(kinds)
    reactions = []
    for i, cue in enumerate(events):
        if cue.kind != "threat_cue":
            continue
        for later in events[i + 1 :]:
            if later.kind == "scene_entered":
                break
            if later.kind == "hit":
                reactions.append(
                    {
                        "scene_id": cue.scene_id,
                        "cue_t_session_s": round(cue.t_session_s, 3),
                        "first_shot_after_s": round(later.t_mono - cue.t_mono, 3),
                    }
                )
                break
        else:
            reactions.append(
                {
                    "scene_id": cue.scene_id,
                    "cue_t_session_s": round(cue.t_session_s, 3),
                    "first_shot_after_s": None,
                }
            )
    shots = [e for e in events if e.kind == "shot"]
    misses = sum(
        not any(h.t_mono >= shot.t_mono and h.t_mono - shot.t_mono <= MISS_WINDOW_S for h in hits)
        for shot in shots
    )
    ended = next((e for e in reversed(events) if e.kind in ("session_ended", "interrupted")), None)
    return {
        "hits": len(hits),
        "shots": len(shots),
        "misses": misses,
        "hits_by_zone_kind": dict(sorted(by_kind.items())),
        "no_shoot_hits": by_kind.get("no-shoot", 0),
        "hits_outside_zones": outside,
        "threat_reactions": reactions,
        "branches": dict(Counter(e.actor for e in events if e.kind == "branch")),
        "flags": sum(e.kind == "flagged" for e in events),
        "pauses": sum(e.kind == "paused" for e in events),
        "path": [e.scene_id for e in events if e.kind == "scene_entered"],
        "duration_s": round(ended.t_session_s, 3)
        if ended
        else (round(events[-1].t_session_s, 3) if events else 0),
        "outcome": ended.data.get("outcome") if ended and ended.kind == "session_ended" else None,
    }
