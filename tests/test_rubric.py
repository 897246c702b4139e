"""The de-escalation rubric: items (built-ins + the scenario's own), totals from the log, the API."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import httpx
import pytest
from scenario_builders import TEST_SCENARIO, write_scenario
from service_runner import RunningService, wait_for

from appliance.records import EventRow
from appliance.rubric import BUILTIN_ITEMS, check_score, rubric_items, rubric_totals
from appliance.scenario.model import Manifest


def manifest(rubric: list[dict]) -> Manifest:
    return Manifest.model_validate({**copy.deepcopy(TEST_SCENARIO), "rubric": rubric})


def scored(seq: int, item: str, score: int, trainee: str | None = None, max_: int = 3) -> EventRow:
    data = {"item": item, "label": item.title(), "score": score, "max": max_, "trainee": trainee}
    return EventRow("s", seq, "rubric_scored", "instructor", None, float(seq), 0.0, float(seq), data)


def test_builtins_come_first_and_a_scenario_item_replaces_one() -> None:
    items = rubric_items(manifest([{"id": "options", "label": "Offers options", "max_score": 5}]))
    assert [i["id"] for i in items] == ["communication", "situational-awareness", "proxemics", "options"]
    assert [i["label"] for i in items[:3]] == [
        "Communication",
        "Situational awareness",
        "Body positioning / proxemics",
    ]
    assert all(i["max_score"] == 3 and i["builtin"] for i in items[:3])
    assert items[3]["max_score"] == 5 and not items[3]["builtin"]
    replaced = rubric_items(manifest([{"id": "proxemics", "label": "Distance kept", "max_score": 4}]))
    assert [i["id"] for i in replaced] == ["communication", "situational-awareness", "proxemics"]
    assert replaced[2]["label"] == "Distance kept" and replaced[2]["max_score"] == 4
    assert rubric_items(None) == [{**i, "builtin": True} for i in BUILTIN_ITEMS]


def test_check_score_names_the_problem() -> None:
    items = rubric_items(None)
    assert check_score(items, "proxemics", 3, "Ann", ["Ann"])["max"] == 3
    with pytest.raises(ValueError, match="no rubric item"):
        check_score(items, "nope", 1, None, [])
    with pytest.raises(ValueError, match="0 to 3"):
        check_score(items, "proxemics", 4, None, [])
    with pytest.raises(ValueError, match="0 to 3"):
        check_score(items, "proxemics", -1, None, [])
    with pytest.raises(ValueError, match="not a trainee"):
        check_score(items, "proxemics", 1, "Zed", ["Ann"])


def test_totals_take_the_latest_score_per_item_and_trainee() -> None:
    events = [
        scored(1, "communication", 1),
        scored(2, "proxemics", 2),
        scored(3, "communication", 3),  # replaces 1
        scored(4, "proxemics", 0, trainee="Ann"),
        scored(5, "options", 4, trainee="Bob", max_=5),
        EventRow("s", 6, "flagged", "instructor", None, 6.0, 0.0, 6.0, {"note": ""}),
    ]
    items = rubric_items(manifest([{"id": "options", "label": "Options", "max_score": 5}]))
    totals = rubric_totals(events, items, ["Ann", "Bob", "Cy"])
    assert totals["items"]["communication"]["score"] == 3
    assert (totals["score"], totals["max"]) == (5, 6)
    assert totals["unscored"] == ["situational-awareness", "options"]
    by = totals["by_trainee"]
    assert (by["Ann"]["score"], by["Ann"]["max"]) == (3, 6)  # own proxemics 0 overrides the group's 2
    assert (by["Bob"]["score"], by["Bob"]["max"]) == (9, 11)
    assert (by["Cy"]["score"], by["Cy"]["max"]) == (5, 6)  # the group's scores
    assert rubric_totals([]) == {"items": {}, "score": 0, "max": 0, "by_trainee": {}, "unscored": []}


# ---- the API on the real service ----------------------------------------------------------------


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    data = tmp_path_factory.mktemp("data")
    scenario = copy.deepcopy(TEST_SCENARIO)
    scenario["rubric"] = [
        {"id": "communication", "label": "Talks the subject down", "max_score": 4},
        {"id": "options", "label": "Offers options", "max_score": 5},
    ]
    write_scenario(data / "scenarios" / "triage-desk", scenario)
    service = RunningService(data).start()
    yield service
    service.stop()


@pytest.fixture
def api(svc: RunningService) -> Iterator[httpx.Client]:
    client = svc.client()
    try:
        yield client
        session = client.get("/api/state").json()["session"]
        if session and session["status"] != "ended":
            client.post(f"/api/sessions/{session['id']}/end")
    finally:
        client.close()


def start(api: httpx.Client) -> str:
    answer = api.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["Ann", "Bob"]})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def test_library_card_and_snapshot_carry_the_full_rubric(api: httpx.Client) -> None:
    card = api.get("/api/scenarios/triage-desk").json()
    ids = [i["id"] for i in card["rubric"]]
    assert ids == ["communication", "situational-awareness", "proxemics", "options"]
    assert card["rubric"][0]["label"] == "Talks the subject down"
    start(api)
    rubric = api.get("/api/state").json()["rubric"]
    assert [i["id"] for i in rubric["items"]] == [i["id"] for i in card["rubric"]]
    assert rubric["totals"]["score"] == 0 and set(rubric["totals"]["by_trainee"]) == {"Ann", "Bob"}


def test_score_live_then_after_the_end(svc: RunningService, api: httpx.Client) -> None:
    sid = start(api)
    answer = api.post(f"/api/sessions/{sid}/rubric", json={"item": "communication", "score": 4})
    assert answer.status_code == 200, answer.text
    event = answer.json()
    assert event["kind"] == "rubric_scored" and event["actor"] == "instructor"
    assert event["data"] == {
        "item": "communication",
        "label": "Talks the subject down",
        "score": 4,
        "max": 4,
        "trainee": None,
    }
    api.post(f"/api/sessions/{sid}/rubric", json={"item": "options", "score": 2, "trainee": "Bob"})
    totals = wait_for(lambda: api.get("/api/state").json()["rubric"]["totals"])
    assert (totals["score"], totals["max"]) == (4, 4)
    assert totals["by_trainee"]["Bob"]["score"] == 6
    assert api.post(f"/api/sessions/{sid}/end").status_code == 200
    # debrief scoring after the end: recorded too, and the latest score counts
    late = api.post(f"/api/sessions/{sid}/rubric", json={"item": "communication", "score": 1})
    assert late.status_code == 200, late.text
    events = api.get(f"/api/sessions/{sid}").json()["events"]
    assert [e["data"]["score"] for e in events if e["kind"] == "rubric_scored"] == [4, 2, 1]
    assert events[-1]["seq"] == len(events)
    debrief = api.get(f"/api/sessions/{sid}/debrief").json()
    assert debrief["rubric"]["totals"]["items"]["communication"]["score"] == 1


def test_score_an_older_session_from_the_database(api: httpx.Client) -> None:
    first = start(api)
    api.post(f"/api/sessions/{first}/end")
    start(api)  # another session is now the controller's
    body = {"item": "proxemics", "score": 3, "trainee": "Ann"}
    answer = api.post(f"/api/sessions/{first}/rubric", json=body)
    assert answer.status_code == 200, answer.text
    events = api.get(f"/api/sessions/{first}").json()["events"]
    assert events[-1]["kind"] == "rubric_scored" and events[-1]["data"]["trainee"] == "Ann"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"item": "nope", "score": 1}, "no rubric item"),
        ({"item": "proxemics", "score": 4}, "0 to 3"),
        ({"item": "options", "score": 6}, "0 to 5"),
        ({"item": "proxemics", "score": -1}, "0 to 3"),
        ({"item": "proxemics", "score": 1, "trainee": "Zed"}, "not a trainee"),
    ],
)
def test_bad_scores_are_422(api: httpx.Client, body: dict, words: str) -> None:
    sid = start(api)
    answer = api.post(f"/api/sessions/{sid}/rubric", json=body)
    assert answer.status_code == 422 and words in answer.json()["detail"]
    assert not [e for e in api.get(f"/api/sessions/{sid}").json()["events"] if e["kind"] == "rubric_scored"]


def test_unknown_session_is_404_and_pairing_is_needed(svc: RunningService, api: httpx.Client) -> None:
    assert api.post("/api/sessions/nope/rubric", json={"item": "proxemics", "score": 1}).status_code == 404
    bare = httpx.post(svc.base_url + "/api/sessions/nope/rubric", json={"item": "proxemics", "score": 1})
    assert bare.status_code == 401
