"""The tablet page in a real Chromium (Playwright) against the whole service on 127.0.0.1.

One service (sim hardware, sim player, the "triage-desk" test scenario) and one browser serve the
module; every test opens its own browser context (a fresh tablet with empty storage) and pairs it
through the PIN pad like an instructor would. Screenshots of every step go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import httpx
import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from playwright.sync_api import Browser, Playwright, Request, WebSocketRoute, expect, sync_playwright
from scenario_builders import write_scenario
from service_runner import PIN, RunningService
from tablet_rig import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, VIEWPORTS, Tablet, body_size, tablet_factory

FIRST_LOAD_BUDGET = 300 * 1024

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"browser tests need Debian's Chromium at {CHROMIUM} (apt install chromium)"
)


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    data = tmp_path_factory.mktemp("browser-data")
    write_scenario(data / "scenarios" / "triage-desk")
    service = RunningService(data).start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def api(svc: RunningService) -> Iterator[httpx.Client]:
    """An httpx client paired with the PIN (bearer token), for setup, the simulator and checks."""
    client = svc.client()
    yield client
    client.close()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def end_running_session(api: httpx.Client) -> None:
    session = api.get("/api/state").json()["session"]
    if session and session["status"] != "ended":
        api.post(f"/api/sessions/{session['id']}/end")


@pytest.fixture(autouse=True)
def no_session_left_running(api: httpx.Client) -> Iterator[None]:
    """Each test starts and leaves the box idle (another running session would make start a 409)."""
    end_running_session(api)
    yield
    end_running_session(api)


@pytest.fixture
def tablets(browser: Browser, svc: RunningService) -> Iterator[Callable[..., Tablet]]:
    """Open tablets (fresh contexts); all are closed, and their page errors checked, at teardown."""
    with tablet_factory(browser, svc.base_url) as open_tablet:
        yield open_tablet


def start_via_api(api: httpx.Client, trainees: list[str] | None = None) -> str:
    answer = api.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": trainees or ["Avery"]})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


# -- tests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_main_flow(
    viewport: str, tablets: Callable[..., Tablet], api: httpx.Client, svc: RunningService
) -> None:
    tab = tablets(viewport, VIEWPORTS[viewport])
    page = tab.page
    requests: list[str] = []
    sockets: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    page.on("websocket", lambda ws: sockets.append(ws.url))

    # pair with the PIN pad
    tab.open()
    tab.shot("pair")
    tab.type_pin(PIN)
    tab.shot("pin-entered")
    tab.by("pair-button").tap()
    expect(tab.by("view-library")).to_be_visible()
    expect(tab.by("connection-state")).to_have_attribute("data-state", "connected")
    expect(tab.by("hardware-mode")).to_be_visible()  # the SIMULATION badge

    # library -> setup
    card = page.locator('[data-testid="scenario-card"][data-scenario-id="triage-desk"]')
    expect(card).to_be_visible()
    expect(card).to_contain_text("Triage desk (test)")
    expect(card).to_contain_text("Healthcare")
    tab.shot("library")
    card.tap()
    expect(tab.by("view-setup")).to_be_visible()
    expect(tab.by("setup-title")).to_have_text("Triage desk (test)")
    tab.by("trainee-input").fill("Avery")
    tab.by("trainee-add").tap()
    tab.by("trainee-input").fill("Jo")
    tab.by("trainee-input").press("Enter")
    expect(tab.by("trainee-chip")).to_have_count(2)
    expect(tab.by("trainee-chip").nth(1)).to_have_attribute("data-name", "Jo")
    tab.shot("setup")
    tab.by("start-session").tap()

    # live: the first scene and its two branch buttons in their meaning's colours
    expect(tab.by("view-live")).to_be_visible()
    expect(tab.scene_title()).to_have_text("Visitor at the desk")
    expect(tab.by("live-trainees")).to_contain_text("Avery, Jo")
    expect(tab.by("branch-button")).to_have_count(2)
    calms, escalates = tab.branch("calms"), tab.branch("escalates")
    expect(calms).to_contain_text("Calms down")
    expect(calms).to_have_css("background-color", "rgb(46, 125, 50)")  # de-escalate #2e7d32
    expect(escalates).to_contain_text("Escalates")
    expect(escalates).to_have_css("background-color", "rgb(198, 40, 40)")  # escalate #c62828
    expect(tab.by("state-badge")).to_have_attribute("data-state", re.compile("running|holding"))
    session = api.get("/api/state").json()["session"]
    assert session and session["status"] == "running"
    sid = session["id"]
    expect(tab.timeline("scene_entered")).to_have_count(1)
    tab.shot("live")

    # flag with a note
    tab.by("flag-button").tap()
    tab.by("flag-note").fill("good stance")
    tab.by("flag-save").tap()
    expect(tab.by("flag-note")).to_be_hidden()
    expect(tab.timeline("flagged")).to_contain_text("good stance")
    tab.shot("flagged")

    # pause, then resume: exactly one of the two buttons is visible
    tab.by("pause-button").tap()
    expect(tab.by("state-badge")).to_have_attribute("data-state", "paused")
    expect(tab.by("resume-button")).to_be_visible()
    expect(tab.by("pause-button")).to_be_hidden()
    expect(tab.timeline("paused")).to_have_count(1)
    tab.shot("paused")
    tab.by("resume-button").tap()
    expect(tab.by("state-badge")).to_have_attribute("data-state", re.compile("running|holding"))
    expect(tab.by("pause-button")).to_be_visible()
    expect(tab.by("resume-button")).to_be_hidden()
    expect(tab.timeline("resumed")).to_have_count(1)

    # a simulated laser shot on the bystander (a no-shoot zone) shows up in the timeline
    assert api.post("/api/sim/hit", json={"x": 0.1, "y": 0.5}).status_code == 202
    hit = tab.timeline("hit")
    expect(hit).to_have_count(1)
    expect(hit).to_contain_text("no-shoot zone bystander")
    tab.shot("hit")

    # escalate, then calm down: the calm scene (3 s, outcome "resolved") ends the session by itself.
    # "Shouting" moves on by itself after 4 s, so calm it down before the screenshot.
    escalates.tap()
    expect(tab.scene_title()).to_have_text("Shouting")
    expect(tab.by("branch-button")).to_have_count(1)
    tab.branch("calms").tap()
    expect(tab.scene_title()).to_have_text("Calmer")
    tab.shot("calmer")
    expect(tab.by("session-summary")).to_be_visible(timeout=15_000)
    expect(tab.by("state-badge")).to_have_attribute("data-state", "ended")
    expect(tab.by("summary-outcome")).to_have_text("resolved")
    expect(tab.by("summary-path")).to_have_text("Visitor at the desk → Shouting → Calmer")
    expect(tab.by("summary-hits")).to_have_text("1")
    expect(tab.by("summary-flags")).to_contain_text("good stance")
    expect(tab.by("pause-button")).to_be_hidden()  # the live controls are gone
    tab.shot("summary")

    # the record on disk, in order
    record = api.get(f"/api/sessions/{sid}").json()
    assert record["session"]["status"] == "ended" and record["session"]["outcome"] == "resolved"
    assert [e["kind"] for e in record["events"] if e["kind"] != "threat_cue"] == [
        "session_started", "calibration_check", "scene_entered", "flagged", "paused", "resumed", "hit",
        "branch", "scene_entered", "branch", "scene_entered", "session_ended",
    ]  # fmt: skip
    assert record["session"]["path"] == ["intro", "angry", "calm"]

    # back to the library, where the next session can be set up
    tab.by("back-to-library").tap()
    expect(tab.by("view-library")).to_be_visible()

    # nothing left the box: every request went to the service (or was data:/blob:)
    foreign = [u for u in requests if not u.startswith((svc.base_url + "/", "data:", "blob:"))]
    assert requests and not foreign, f"requests outside the box: {foreign}"
    ws_base = svc.base_url.replace("http://", "ws://", 1) + "/"
    assert sockets and all(u.startswith(ws_base) for u in sockets), sockets


def test_wrong_pin_shows_an_error_and_stays_on_the_pair_screen(tablets: Callable[..., Tablet]) -> None:
    tab = tablets("wrong-pin")
    tab.open()
    wrong = "0000" if not PIN.startswith("0000") else "9999"
    tab.type_pin(wrong)
    tab.by("pair-button").tap()
    expect(tab.by("pair-error")).to_have_text("Wrong PIN")
    expect(tab.by("pair-error")).to_have_class(re.compile(r"\bis-error\b"))
    expect(tab.by("view-pair")).to_be_visible()
    expect(tab.by("view-library")).to_be_hidden()
    expect(tab.by("pin-display")).to_have_attribute("data-length", "0")
    expect(tab.by("pair-button")).to_be_disabled()
    expect(tab.by("connection-state")).to_have_attribute("data-state", "idle")
    assert tab.page.evaluate("localStorage.getItem('openrange.token')") is None
    tab.shot("error")


def test_unpair_revokes_the_token_on_the_box(tablets: Callable[..., Tablet], svc: RunningService) -> None:
    tab = tablets("unpair")
    tab.open()
    tab.pair()
    token = tab.page.evaluate("localStorage.getItem('openrange.token')")
    with_token = {"Authorization": f"Bearer {token}"}
    assert token and httpx.get(svc.base_url + "/api/state", headers=with_token).is_success
    tab.by("menu-button").tap()
    with tab.page.expect_response(lambda r: r.url.endswith("/api/auth/unpair")) as unpaired:
        tab.by("unpair-button").tap()
    assert unpaired.value.ok
    expect(tab.by("view-pair")).to_be_visible()
    expect(tab.by("pair-error")).to_contain_text("Unpaired")
    expect(tab.by("connection-state")).to_have_attribute("data-state", "idle")
    assert tab.page.evaluate("localStorage.getItem('openrange.token')") is None
    stale = httpx.get(svc.base_url + "/api/state", headers=with_token)
    assert stale.status_code == 401
    assert not [c for c in tab.page.context.cookies() if c["name"] == "openrange_token"]
    tab.shot("unpaired")


def test_hotkey_takes_a_branch(tablets: Callable[..., Tablet], api: httpx.Client) -> None:
    tab = tablets("hotkeys")
    tab.open()
    tab.pair()
    sid = start_via_api(api)
    # the tablet follows the box's state over the socket and goes live by itself
    expect(tab.by("view-live")).to_be_visible()
    expect(tab.scene_title()).to_have_text("Visitor at the desk")
    expect(tab.branch("escalates")).to_have_attribute("data-hotkey", "2")
    expect(tab.branch("escalates")).to_be_enabled()
    tab.shot("live")
    tab.page.keyboard.press("2")
    expect(tab.scene_title()).to_have_text("Shouting")
    tab.shot("after-hotkey")
    branches = [e for e in api.get(f"/api/sessions/{sid}").json()["events"] if e["kind"] == "branch"]
    assert len(branches) == 1 and branches[0]["actor"] == "instructor"
    assert branches[0]["data"]["to"] == "angry"


def test_a_branch_on_one_tablet_shows_on_the_other(tablets: Callable[..., Tablet], api: httpx.Client) -> None:
    a = tablets("tablet-a")
    b = tablets("tablet-b", VIEWPORTS["800x1280"])
    for tab in (a, b):
        tab.open()
        tab.pair()
    start_via_api(api)
    for tab in (a, b):
        expect(tab.scene_title()).to_have_text("Visitor at the desk")
    a.branch("escalates").tap()
    expect(b.scene_title()).to_have_text("Shouting", timeout=2_000)
    expect(b.timeline("branch")).to_contain_text("Escalates", timeout=2_000)
    a.shot("after-branch")
    b.shot("after-branch")


def test_first_load_is_small_and_stays_on_the_box(
    tablets: Callable[..., Tablet], svc: RunningService
) -> None:
    tab = tablets("first-load")
    finished: list[Request] = []
    urls: list[str] = []
    tab.page.on("request", lambda req: urls.append(req.url))
    tab.page.on("requestfinished", lambda req: finished.append(req))
    tab.page.on("websocket", lambda ws: urls.append(ws.url))
    tab.page.goto(svc.base_url + "/", wait_until="networkidle")
    expect(tab.by("view-pair")).to_be_visible()
    tab.pair()
    expect(tab.page.get_by_test_id("scenario-card")).to_have_count(1)
    tab.page.wait_for_load_state("networkidle")

    sizes = [(req.url, body_size(req)) for req in finished]
    total = sum(size for _, size in sizes)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "first-load.json").write_text(json.dumps({"total_bytes": total, "bodies": sizes}, indent=1))
    assert total < FIRST_LOAD_BUDGET, f"first load transferred {total} bytes: {sizes}"
    assert any(url.endswith("/static/js/main.js") and size > 0 for url, size in sizes)
    ws_base = svc.base_url.replace("http://", "ws://", 1) + "/"
    foreign = [u for u in urls if not u.startswith((svc.base_url + "/", ws_base, "data:", "blob:"))]
    assert not foreign, f"requests outside the box: {foreign}"


def test_reconnect_brings_the_tablet_up_to_date(tablets: Callable[..., Tablet], api: httpx.Client) -> None:
    """The socket drops while a session starts elsewhere; the reconnect's snapshot shows it."""
    tab = tablets("reconnect")
    feeds: list[WebSocketRoute] = []
    deaf: set[int] = set()  # feeds whose server messages no longer reach the page

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        server.on_message(lambda message: None if id(ws) in deaf else ws.send(message))
        feeds.append(ws)

    tab.page.route_web_socket(re.compile(r"/api/ws"), route)
    tab.page.add_init_script(
        """
        window.__connStates = [];
        new MutationObserver(() => {
          const el = document.querySelector('[data-testid="connection-state"]');
          if (el) window.__connStates.push(el.dataset.state);
        }).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-state']});
        """
    )
    tab.open()
    tab.pair()
    assert len(feeds) == 1
    deaf.add(id(feeds[0]))
    start_via_api(api)
    expect(tab.by("view-library")).to_be_visible()  # the page has not heard of it
    feeds[0].close(code=1011, reason="test: the box went away")
    expect(tab.by("view-live")).to_be_visible()
    expect(tab.scene_title()).to_have_text("Visitor at the desk")
    expect(tab.by("connection-state")).to_have_attribute("data-state", "connected")
    assert len(feeds) == 2
    states = tab.page.evaluate("window.__connStates")
    assert "reconnecting" in states and states[-1] == "connected", states
    tab.shot("reconnected")


def test_emergency_stop_shows_on_the_tablet(tablets: Callable[..., Tablet], api: httpx.Client) -> None:
    tab = tablets("estop")
    tab.open()
    tab.pair()
    start_via_api(api)
    expect(tab.by("view-live")).to_be_visible()
    api.post("/api/sim/input", json={"name": "estop", "pressed": True})
    try:
        expect(tab.by("estop-banner")).to_be_visible()
        expect(tab.by("state-badge")).to_have_attribute("data-state", "paused")
        expect(tab.timeline("emergency_stop")).to_have_count(1)
        tab.shot("engaged")
    finally:
        api.post("/api/sim/input", json={"name": "estop", "pressed": False})
    expect(tab.by("estop-banner")).to_have_count(0)
