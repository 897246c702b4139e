from __future__ import annotations

from typing import Any

from appliance.records import EventRow
from appliance.scoring import score_session


def event(seq: int, kind: str, t: float, scene: str = "s", actor: str = "system", **data: Any) -> EventRow:
    return EventRow("sid", seq, kind, actor, scene, 100.0 + t, 1.7e9 + t, t, data)


def test_scores_from_the_log() -> None:
    events = [
        event(1, "session_started", 0, actor="instructor"),
        event(2, "scene_entered", 0, "intro"),
        event(3, "hit", 1.0, "intro", "hit", zones=[{"id": "b", "kind": "no-shoot"}]),
        event(4, "branch", 2.0, "intro", "instructor", to="draws"),
        event(5, "scene_entered", 2.0, "draws"),
        event(6, "threat_cue", 4.0, "draws"),
        event(7, "hit", 4.2, "draws", "hit", zones=[]),
        event(
            8, "hit", 4.6, "draws", "hit", zones=[{"id": "t", "kind": "threat"}, {"id": "h", "kind": "vital"}]
        ),
        event(9, "branch", 4.6, "draws", "hit", to="down"),
        event(10, "scene_entered", 4.6, "down"),
        event(11, "threat_cue", 5.0, "down"),
        event(12, "flagged", 5.5, "down", "instructor", note="late"),
        event(13, "session_ended", 6.0, "down", "segment_end", outcome="subject down"),
    ]
    score = score_session(events)
    assert score["hits"] == 3 and score["no_shoot_hits"] == 1 and score["hits_outside_zones"] == 1
    assert score["hits_by_zone_kind"] == {"no-shoot": 1, "threat": 1, "vital": 1}
    assert score["threat_reactions"] == [
        {"scene_id": "draws", "cue_t_session_s": 4.0, "first_shot_after_s": 0.2},
        {"scene_id": "down", "cue_t_session_s": 5.0, "first_shot_after_s": None},
    ]
    assert score["branches"] == {"instructor": 1, "hit": 1}
    assert score["path"] == ["intro", "draws", "down"]
    assert score["flags"] == 1 and score["duration_s"] == 6.0 and score["outcome"] == "subject down"


def test_empty_and_interrupted_logs() -> None:
    assert score_session([])["hits"] == 0
    interrupted = score_session([event(1, "session_started", 0), event(2, "interrupted", 3.5)])
    assert interrupted["outcome"] is None and interrupted["duration_s"] == 3.5
