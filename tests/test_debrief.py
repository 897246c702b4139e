"""The debrief on the real service: timeline, path graph, hit frames, replaying a moment."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from media_fixtures import ffmpeg_available, make_test_clip
from scenario_builders import TEST_SCENARIO, write_scenario
from service_runner import RunningService, wait_for

from appliance.debrief import graph_url, scene_time_at
from appliance.errors import NotFound
from appliance.frames import FrameStore
from appliance.records import EventRow

pytestmark = pytest.mark.skipif(not ffmpeg_available(), reason="needs ffmpeg to make test media")


def ev(seq: int, kind: str, t: float, scene: str | None = "intro", **data: object) -> EventRow:
    return EventRow("s", seq, kind, "system", scene, t, 0.0, t, dict(data))


def test_scene_time_at_leaves_out_pauses() -> None:
    events = [
        ev(1, "session_started", 100.0, None),
        ev(2, "scene_entered", 100.0),
        ev(3, "paused", 102.0),
        ev(4, "resumed", 105.0),
        ev(5, "branch", 106.5),
        ev(6, "hit", 106.0, scene_t=2.75),
        ev(7, "scene_entered", 107.0, "calm"),
        ev(8, "paused", 108.0, "calm"),
        ev(9, "flagged", 110.0, "calm"),
    ]
    assert scene_time_at(events, 5) == ("intro", pytest.approx(3.5))
    assert scene_time_at(events, 6) == ("intro", 2.75)  # recorded scene time wins
    assert scene_time_at(events, 7) == ("calm", 0.0)
    assert scene_time_at(events, 9) == ("calm", pytest.approx(1.0))  # paused since 108
    with pytest.raises(NotFound):
        scene_time_at(events, 99)
    with pytest.raises(ValueError, match="not happen during a scene"):
        scene_time_at(events, 1)
    assert graph_url("a b", ["x", "y"]) == "/api/scenarios/a%20b/graph.svg?path=x,y"


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_clip(tmp_path_factory.mktemp("media") / "all.mp4", 16.0, label="D")


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory, media: Path) -> Iterator[RunningService]:
    data = tmp_path_factory.mktemp("data")
    write_scenario(data / "scenarios" / "triage-desk", media=media.read_bytes())
    broken = copy.deepcopy(TEST_SCENARIO)
    broken.update(id="no-picture", title="No picture")
    write_scenario(data / "scenarios" / "no-picture", broken)  # placeholder bytes: not a video
    service = RunningService(data).start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def api(svc: RunningService) -> Iterator[httpx.Client]:
    client = svc.client()
    yield client
    client.close()


@pytest.fixture(scope="module")
def played(api: httpx.Client) -> dict:
    """A session run through: a no-shoot hit in 'intro', a flag, a branch to 'calm', which ends it."""
    sid = api.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["Ann"]}).json()["id"]
    time.sleep(1.2)
    assert api.post("/api/sim/hit", json={"x": 0.1, "y": 0.5}).status_code == 202
    wait_for(lambda: any(e["kind"] == "hit" for e in api.get("/api/state").json()["events"]))
    api.post(f"/api/sessions/{sid}/flag", json={"note": "look here"})
    api.post(f"/api/sessions/{sid}/branch", json={"choice": "calms"})
    wait_for(lambda: api.get("/api/state").json()["session"]["status"] == "ended", timeout=8)
    return api.get(f"/api/sessions/{sid}/debrief").json()


def test_debrief_document(played: dict) -> None:
    assert played["path"] == ["intro", "calm"]
    assert played["graph_url"] == "/api/scenarios/triage-desk/graph.svg?path=intro,calm"
    assert played["session"]["outcome"] == "resolved"
    assert played["score"]["no_shoot_hits"] == 1 and played["score"]["flags"] == 1
    assert [e["seq"] for e in played["events"]] == list(range(1, len(played["events"]) + 1))
    assert [i["id"] for i in played["rubric"]["items"]][:3] == [
        "communication",
        "situational-awareness",
        "proxemics",
    ]
    (hit,) = played["hits"]
    assert hit["scene_id"] == "intro" and hit["zones"] == [{"id": "bystander", "kind": "no-shoot"}]
    assert hit["x"] == pytest.approx(0.1, abs=0.01) and 1.0 < hit["scene_t"] < 3.0
    sid = played["session"]["id"]
    assert hit["frame_url"] == f"/api/sessions/{sid}/events/{hit['seq']}/frame.jpg"


def test_graph_of_the_path(api: httpx.Client, played: dict) -> None:
    answer = api.get(played["graph_url"])
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("image/svg+xml")
    assert 'class="edge choice path" data-from="intro" data-to="calm"' in answer.text
    assert api.get("/api/scenarios/nope/graph.svg").status_code == 404


def test_hit_frame_shows_the_right_moment_with_a_marker(
    api: httpx.Client, played: dict, media: Path, tmp_path: Path
) -> None:
    hit = played["hits"][0]
    answer = api.get(hit["frame_url"])
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    frame = cv2.imdecode(np.frombuffer(answer.content, np.uint8), cv2.IMREAD_COLOR)
    h, w = frame.shape[:2]
    store = FrameStore(tmp_path)
    try:
        right = store.decode(media, hit["scene_t"])  # 'intro' starts at 0 s of the file
        wrong = store.decode(media, hit["scene_t"] + 2.0)
    finally:
        store.close()
    assert right.shape == frame.shape
    cx, cy = round(hit["x"] * (w - 1)), round(hit["y"] * (h - 1))
    diff = np.abs(frame.astype(int) - right.astype(int)).mean(axis=2)
    near = diff[max(0, cy - 12) : cy + 13, max(0, cx - 12) : cx + 13]
    assert near.max() > 120, "no marker drawn at the hit"
    far = diff[:, w // 2 :]
    assert far.mean() < 8, "not the frame the hit landed on"
    assert np.abs(frame.astype(int) - wrong.astype(int))[:, w // 2 :].mean() > far.mean() + 10
    # cached: the second answer is the same picture
    assert api.get(hit["frame_url"]).content == answer.content


def test_frames_of_non_hits_are_404(api: httpx.Client, played: dict) -> None:
    sid = played["session"]["id"]
    flag = next(e for e in played["events"] if e["kind"] == "flagged")
    answer = api.get(f"/api/sessions/{sid}/events/{flag['seq']}/frame.jpg")
    assert answer.status_code == 404 and "not a hit" in answer.json()["detail"]
    assert api.get(f"/api/sessions/{sid}/events/999/frame.jpg").status_code == 404
    assert api.get("/api/sessions/nope/events/1/frame.jpg").status_code == 404
    assert api.get("/api/sessions/nope/debrief").status_code == 404


def test_thumbnails(api: httpx.Client) -> None:
    cards = {c["id"]: c for c in api.get("/api/scenarios").json()}
    card = cards["triage-desk"]
    assert card["thumbnail_url"] == "/api/scenarios/triage-desk/thumbnail.jpg"
    assert card["graph_url"] == "/api/scenarios/triage-desk/graph.svg"
    assert card["scene_count"] == 5 and card["duration_s"] == 30 and card["audience"] == ["healthcare"]
    thumb = api.get(card["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    picture = cv2.imdecode(np.frombuffer(thumb.content, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape[1] <= 640 and picture.std() > 20
    broken = api.get(cards["no-picture"]["thumbnail_url"])
    assert broken.status_code == 404 and "cannot be decoded" in broken.json()["detail"]


def test_replay_moment_plays_without_writing_and_ends_by_itself(api: httpx.Client, played: dict) -> None:
    sid = played["session"]["id"]
    before = api.get(f"/api/sessions/{sid}").json()["events"]
    calm = next(e for e in played["events"] if e["kind"] == "scene_entered" and e["scene_id"] == "calm")
    answer = api.post(f"/api/sessions/{sid}/replay-moment", json={"seq": calm["seq"], "lead_in_s": 0})
    assert answer.status_code == 200, answer.text
    assert answer.json()["scene_id"] == "calm" and answer.json()["from_s"] == 0
    replaying = api.get("/api/state").json()["replaying"]
    assert replaying["session_id"] == sid and replaying["scene_id"] == "calm"
    # the 3 s scene ends (held), then the projector goes idle 5 s later
    wait_for(lambda: (api.get("/api/state").json()["replaying"] or {}).get("ended"), timeout=6)
    wait_for(lambda: api.get("/api/state").json()["replaying"] is None, timeout=8)
    assert api.get(f"/api/sessions/{sid}").json()["events"] == before


def test_replay_moment_lead_in_and_stop(api: httpx.Client, played: dict) -> None:
    sid = played["session"]["id"]
    hit = played["hits"][0]
    answer = api.post(f"/api/sessions/{sid}/replay-moment", json={"seq": hit["seq"], "lead_in_s": 0.5})
    assert answer.status_code == 200
    assert answer.json()["from_s"] == pytest.approx(hit["scene_t"] - 0.5, abs=0.01)
    assert api.post("/api/replay/stop").json()["detail"]
    assert api.get("/api/state").json()["replaying"] is None
    assert api.post(f"/api/sessions/{sid}/replay-moment", json={"seq": 999}).status_code == 404
    started = next(e for e in played["events"] if e["kind"] == "session_started")
    outside = api.post(f"/api/sessions/{sid}/replay-moment", json={"seq": started["seq"]})
    assert outside.status_code == 422


def test_replay_moment_is_refused_while_a_session_is_live(api: httpx.Client, played: dict) -> None:
    sid = played["session"]["id"]
    live = api.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["Bo"]}).json()["id"]
    try:
        answer = api.post(f"/api/sessions/{sid}/replay-moment", json={"seq": played["hits"][0]["seq"]})
        assert answer.status_code == 409 and "running" in answer.json()["detail"]
        assert api.post("/api/replay/stop").status_code == 409
        assert api.get("/api/state").json()["replaying"] is None
        # the live session's own replay (scene again) still works
        assert api.post(f"/api/sessions/{live}/replay").status_code == 200
    finally:
        api.post(f"/api/sessions/{live}/end")
