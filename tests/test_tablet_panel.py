"""The instructor's panel of issue 6 in a real Chromium (Playwright) against the whole service on 127.0.0.1.

Library (thumbnails, branch map), setup with roles and the remembered roster, live control with the
projector thumbnail, hit markers, timers and the rubric, the debrief (graph, hit frames, replaying a
moment, rubric after the end), records and per-trainee history with CSV and the printable report.

One service (sim hardware, sim player, the "triage-desk" scenario on a generated clip) serves the
module. The admin page is tested in tests/test_tablet_admin.py.
Screenshots go to ``test-artifacts/panel-*``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from media_fixtures import ffmpeg_available
from playwright.sync_api import Browser, expect, sync_playwright
from service_runner import RunningService
from tablet_rig import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORTS,
    Tablet,
    downloaded_text,
    library_with_media,
    run_session_via_api,
    tablet_factory,
)

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"browser tests need Debian's Chromium at {CHROMIUM}"),
    pytest.mark.skipif(not ffmpeg_available(), reason="the test clip needs ffmpeg"),
]


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    data = tmp_path_factory.mktemp("panel-data")
    library_with_media(data)
    service = RunningService(data).start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def api(svc: RunningService) -> Iterator[httpx.Client]:
    client = svc.client()
    yield client
    client.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        yield p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def end_running_session(api: httpx.Client) -> None:
    session = api.get("/api/state").json()["session"]
    if session and session["status"] != "ended":
        api.post(f"/api/sessions/{session['id']}/end")


@pytest.fixture
def tablets(browser: Browser, svc: RunningService, api: httpx.Client) -> Iterator[Callable[..., Tablet]]:
    end_running_session(api)
    with tablet_factory(browser, svc.base_url) as open_tablet:
        yield open_tablet
    end_running_session(api)


def events_of(api: httpx.Client, sid: str, kind: str) -> list[dict]:
    return [e for e in api.get(f"/api/sessions/{sid}").json()["events"] if e["kind"] == kind]


def rubric_scores(api: httpx.Client, sid: str) -> list[tuple[str, int, str | None]]:
    """(item, score, trainee) of every rubric_scored event of the session, in order."""
    scored = events_of(api, sid, "rubric_scored")
    return [(e["data"]["item"], e["data"]["score"], e["data"]["trainee"]) for e in scored]


def wait_image(tab: Tablet, selector: str) -> None:
    """Wait until the first <img> matching selector shows a decoded picture."""
    tab.page.wait_for_function(
        "sel => { const i = document.querySelector(sel); return !!i && i.complete && i.naturalWidth > 0; }",
        arg=selector,
    )


# -- the whole instructor flow --------------------------------------------------------------------


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_panel_flow(viewport: str, tablets: Callable[..., Tablet], api: httpx.Client) -> None:
    tab = tablets(f"panel-{viewport}", VIEWPORTS[viewport])
    page = tab.page
    tab.open()
    tab.pair()

    # library: a decoded thumbnail, the audience chip, the branch map
    card = page.locator('[data-testid="scenario-card"][data-scenario-id="triage-desk"]')
    expect(card).to_contain_text("Healthcare")
    wait_image(tab, '[data-scenario-id="triage-desk"] [data-testid="scenario-thumb"] img')
    card.get_by_test_id("branch-map-button").tap()
    expect(tab.by("graph-dialog")).to_be_visible()
    wait_image(tab, '[data-testid="graph-image"]')
    tab.shot("branch-map")
    tab.by("graph-close").tap()
    expect(tab.by("graph-dialog")).to_be_hidden()
    tab.shot("library")

    # setup: two trainees, one with a role; instructor and safety officer
    card.tap()
    tab.by("trainee-input").fill("Avery")
    tab.by("trainee-role").select_option("nurse")
    tab.by("trainee-add").tap()
    tab.by("trainee-input").fill("Jo")
    tab.by("trainee-input").press("Enter")
    expect(tab.by("trainee-chip")).to_have_count(2)
    expect(tab.by("trainee-chip").first).to_have_attribute("data-role", "nurse")
    tab.by("instructor-input").fill("Sam Reyes")
    tab.by("safety-input").fill("Lee Park")
    tab.shot("setup")
    tab.by("start-session").tap()

    # live: what comes next, the projector thumbnail, timers
    expect(tab.scene_title()).to_have_text("Visitor at the desk")
    sid = api.get("/api/state").json()["session"]["id"]
    expect(tab.by("live-trainees")).to_contain_text("Safety officer: Lee Park")
    nxt = tab.by("next-item")
    expect(nxt.filter(has_text="Escalates → Shouting")).to_have_count(1)
    expect(nxt.filter(has_text="→ Shouting").and_(page.locator('[data-via="timeout"]'))).to_have_count(1)
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=live-frame-img]');"
        " return i && i.src.startsWith('blob:') && i.naturalWidth > 0; }"
    )
    expect(tab.by("threat-time")).to_have_text(re.compile(r"^\d\d:\d\d$"))  # the torso zone opens at 1 s

    # a simulated hit (on the bystander: a no-shoot zone) shows as a marker where it landed
    assert api.post("/api/sim/hit", json={"x": 0.1, "y": 0.5}).status_code == 202
    marker = tab.by("hit-marker")
    expect(marker).to_have_count(1)
    style = marker.get_attribute("style") or ""
    left, top = (float(v) for v in re.findall(r"(?:left|top):\s*([\d.]+)%", style))
    assert abs(left - 10) < 2 and abs(top - 50) < 2, (left, top)  # the camera sees it about where it landed
    expect(marker).to_have_class(re.compile(r"\bno-shoot\b"))

    # flag with a note
    tab.by("flag-button").tap()
    tab.by("flag-note").fill("kept distance")
    tab.by("flag-save").tap()
    expect(tab.timeline("flagged")).to_contain_text("kept distance")

    # the rubric, per trainee: Jo gets 2 for communication
    rubric = tab.by("live-rubric")
    expect(rubric.get_by_test_id("rubric-item")).to_have_count(3)  # the built-ins (communication replaced)
    rubric.locator('[data-testid="rubric-trainee"][data-name="Jo"]').tap()
    score = rubric.locator('[data-item="communication"] [data-testid="rubric-score"][data-score="2"]')
    score.tap()
    expect(score).to_have_attribute("aria-pressed", "true")
    expect(rubric.get_by_test_id("rubric-total")).to_contain_text("Total for Jo: 2 / 3")
    tab.shot("live")
    assert rubric_scores(api, sid) == [("communication", 2, "Jo")]

    # two branches; the calm scene ends the session by itself
    tab.branch("escalates").tap()
    expect(tab.scene_title()).to_have_text("Shouting")
    tab.branch("calms").tap()
    expect(tab.scene_title()).to_have_text("Calmer")
    expect(tab.by("session-summary")).to_be_visible(timeout=15_000)
    expect(tab.by("summary-outcome")).to_have_text("resolved")
    tab.shot("summary")

    # debrief: the graph with the path, the hit on its frame, the timeline, the rubric after the end
    tab.by("open-debrief").tap()
    expect(tab.by("view-debrief")).to_be_visible()
    expect(tab.by("debrief-meta")).to_contain_text("Avery (nurse)")
    wait_image(tab, '[data-testid="debrief-graph"]')
    assert "path=intro,angry,calm" in (tab.by("debrief-graph").get_attribute("src") or "")
    expect(tab.by("hit-card")).to_have_count(1)
    wait_image(tab, '[data-testid="hit-frame"]')
    expect(tab.timeline("rubric_scored", within="debrief-timeline")).to_contain_text("Communication 2/3 (Jo)")
    debrief_rubric = tab.by("debrief-rubric")
    debrief_rubric.locator('[data-testid="rubric-trainee"][data-name="Avery"]').tap()
    late = debrief_rubric.locator('[data-item="proxemics"] [data-testid="rubric-score"][data-score="3"]')
    late.tap()
    expect(late).to_have_attribute("aria-pressed", "true")
    assert ("proxemics", 3, "Avery") in rubric_scores(api, sid)
    tab.shot("debrief")

    # show a moment on the projector, then stop it
    tab.timeline("flagged", within="debrief-timeline").get_by_role("button").tap()
    expect(tab.by("replay-banner")).to_be_visible()
    tab.shot("replaying")
    tab.by("replay-stop").tap()
    expect(tab.by("replay-banner")).to_be_hidden()

    # CSV export and the printable report
    with page.expect_download() as dl:
        tab.by("debrief-csv").tap()
    csv_text = downloaded_text(dl.value)
    assert "Avery" in csv_text and "Jo" in csv_text and "resolved" in csv_text
    with page.context.expect_page() as report_page:
        tab.by("debrief-report").tap()
    report = report_page.value
    report.wait_for_load_state()
    expect(report.locator("body")).to_contain_text("Triage desk (test)")
    expect(report.locator("body")).to_contain_text("kept distance")
    report.screenshot(path=ARTIFACTS / f"{tab.name}-report.png", full_page=True)
    report.close()


def test_two_tablets_see_the_same_rubric_and_hits(tablets: Callable[..., Tablet], api: httpx.Client) -> None:
    a = tablets("panel-tablet-a")
    b = tablets("panel-tablet-b", VIEWPORTS["800x1280"])
    for tab in (a, b):
        tab.open()
        tab.pair()
    answer = api.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["Avery", "Jo"]})
    assert answer.status_code == 201
    for tab in (a, b):
        expect(tab.scene_title()).to_have_text("Visitor at the desk")
    a.by("live-rubric").locator('[data-testid="rubric-trainee"][data-name="Jo"]').tap()
    a.by("live-rubric").locator('[data-item="proxemics"] [data-score="1"]').tap()
    b.by("live-rubric").locator('[data-testid="rubric-trainee"][data-name="Jo"]').tap()
    expect(b.by("live-rubric").locator('[data-item="proxemics"] [data-score="1"]')).to_have_attribute(
        "aria-pressed", "true", timeout=2_000
    )
    assert api.post("/api/sim/hit", json={"x": 0.2, "y": 0.3}).status_code == 202
    for tab in (a, b):
        expect(tab.by("hit-marker")).to_have_count(1, timeout=2_000)
    a.shot("same-state")
    b.shot("same-state")


def test_records_history_roster_and_exports(tablets: Callable[..., Tablet], api: httpx.Client) -> None:
    sid = run_session_via_api(api, [{"name": "Rowan", "role": "security officer"}])
    tab = tablets("panel-records")
    tab.open()
    tab.pair()
    tab.menu("menu-records")
    rows = tab.by("record-row")
    expect(rows.first).to_have_attribute("data-session-id", sid)  # newest first
    expect(rows.first.get_by_test_id("record-delete")).to_have_count(0)  # instructors cannot delete
    tab.shot("records")
    with tab.page.expect_download() as dl:
        rows.first.get_by_test_id("record-csv").tap()
    assert "Rowan" in downloaded_text(dl.value)
    with tab.page.expect_download() as dl:
        tab.by("records-export").tap()
    assert "Rowan" in downloaded_text(dl.value)

    rows.first.locator('[data-testid="record-trainee"][data-name="Rowan"]').tap()
    expect(tab.by("view-history")).to_be_visible()
    expect(tab.by("history-row").first).to_have_attribute("data-session-id", sid)
    tab.shot("history")

    # the roster remembers Rowan and the role: one tap adds both
    tab.menu("menu-library")
    tab.page.locator('[data-testid="scenario-card"][data-scenario-id="triage-desk"]').tap()
    tab.page.locator('[data-testid="roster-chip"][data-name="Rowan"]').tap()
    chip = tab.page.locator('[data-testid="trainee-chip"][data-name="Rowan"]')
    expect(chip).to_have_attribute("data-role", "security officer")
    tab.shot("roster")


def test_a_missing_endpoint_hides_its_piece(tablets: Callable[..., Tablet], api: httpx.Client) -> None:
    """An older box without the live frame, the roster or the rubric: the rest of the panel works."""
    tab = tablets("panel-degraded")
    not_found = {"status": 404, "content_type": "application/json", "body": '{"detail": "Not Found"}'}
    for path in ("**/api/live/frame.jpg", "**/api/roster", "**/api/auth/me"):
        tab.page.route(path, lambda route: route.fulfill(**not_found))
    # a snapshot without the rubric, as an older box sends it
    tab.page.add_init_script(
        """
        const parse = JSON.parse;
        JSON.parse = (text, ...rest) => {
          const value = parse(text, ...rest);
          if (value && value.state) delete value.state.rubric;  // feed messages
          if (value && 'scene' in value && 'session' in value) delete value.rubric;  // GET /api/state
          return value;
        };
        """
    )
    tab.open()
    tab.pair()
    tab.page.locator('[data-testid="scenario-card"][data-scenario-id="triage-desk"]').tap()
    expect(tab.by("roster-chip")).to_have_count(0)
    tab.by("trainee-input").fill("Avery")
    tab.by("start-session").tap()
    expect(tab.scene_title()).to_have_text("Visitor at the desk")
    expect(tab.by("live-frame")).to_be_hidden()
    expect(tab.by("live-rubric")).to_be_hidden()
    tab.branch("escalates").tap()
    expect(tab.scene_title()).to_have_text("Shouting")
    tab.shot("degraded")
