"""Shared pieces of the tablet browser tests: Chromium launch flags, viewports, the Tablet page wrapper.

Used by tests/test_tablet_browser.py and tests/test_tablet_panel.py (imported by bare module name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from media_fixtures import make_test_clip
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Download,
    Locator,
    Page,
    Request,
    expect,
)
from scenario_builders import write_scenario
from service_runner import PIN

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
VIEWPORTS = {"1280x800": {"width": 1280, "height": 800}, "800x1280": {"width": 800, "height": 1280}}


class Tablet:
    """One page in its own context, with its page errors and screenshots."""

    def __init__(self, page: Page, base_url: str, name: str) -> None:
        self.page = page
        self.base_url = base_url
        self.name = name
        self.errors: list[str] = []
        self._step = 0
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", self._console)

    def _console(self, msg: ConsoleMessage) -> None:
        # An HTTP error status (a wrong PIN's 401) is logged by Chromium too; the page handles those.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            self.errors.append(msg.text)

    def by(self, testid: str) -> Locator:
        return self.page.get_by_test_id(testid)

    def shot(self, step: str) -> None:
        self._step += 1
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=ARTIFACTS / f"{self.name}-{self._step:02d}-{step}.png", full_page=True)

    def open(self) -> None:
        self.page.goto(self.base_url + "/")
        expect(self.by("view-pair")).to_be_visible()
        expect(self.by("connection-state")).to_have_attribute("data-state", "idle")

    def type_pin(self, pin: str) -> None:
        for digit in pin:
            self.by(f"pin-input-digit-{digit}").tap()
        expect(self.by("pin-display")).to_have_attribute("data-length", str(len(pin)))

    def pair(self, pin: str = PIN) -> None:
        self.type_pin(pin)
        self.by("pair-button").tap()
        expect(self.by("view-library")).to_be_visible()
        expect(self.by("connection-state")).to_have_attribute("data-state", "connected")

    def menu(self, item: str) -> None:
        """Open the header menu and tap one of its entries (menu-records, menu-admin...)."""
        self.by("menu-button").tap()
        self.by(item).tap()

    def scene_title(self) -> Locator:
        return self.by("scene-title")

    def branch(self, choice: str) -> Locator:
        return self.page.locator(f'[data-testid="branch-button"][data-choice-id="{choice}"]')

    def timeline(self, kind: str, within: str = "timeline") -> Locator:
        item = f'[data-testid="timeline-item"][data-kind="{kind}"]'
        return self.page.locator(f'[data-testid="{within}"] {item}')


@contextmanager
def tablet_factory(browser: Browser, base_url: str) -> Iterator[Callable[..., Tablet]]:
    """Open tablets (fresh contexts); all are closed, and their page errors checked, at the end."""
    opened: list[tuple[BrowserContext, Tablet]] = []

    def open_tablet(name: str, viewport: dict[str, int] | None = None) -> Tablet:
        context = browser.new_context(viewport=viewport or VIEWPORTS["1280x800"], has_touch=True)
        context.set_default_timeout(10_000)
        tablet = Tablet(context.new_page(), base_url, name)
        opened.append((context, tablet))
        return tablet

    try:
        yield open_tablet
    finally:
        errors = {t.name: t.errors for _, t in opened if t.errors}
        for context, _ in opened:
            context.close()
    assert not errors, f"errors in the page: {errors}"


def body_size(request: Request) -> int:
    response = request.response()
    return len(response.body()) if response is not None and response.status < 300 else 0


def library_with_media(data: Path) -> None:
    """The triage-desk scenario on a real 16 s clip, so thumbnails and frames can be decoded."""
    make_test_clip(data / "scenarios" / "triage-desk" / "media" / "all.mp4", 16.0, label="triage")
    write_scenario(data / "scenarios" / "triage-desk")


def downloaded_text(download: Download) -> str:
    """The text of a file the page downloaded (a UTF-8 BOM, as in CSV for spreadsheets, dropped)."""
    return Path(download.path()).read_text(encoding="utf-8-sig")


def run_session_via_api(api: httpx.Client, trainees: list) -> str:
    """Start a triage-desk session for these trainees (names or {name, role}) and end it; its id."""
    answer = api.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": trainees})
    assert answer.status_code == 201, answer.text
    sid = answer.json()["id"]
    assert api.post(f"/api/sessions/{sid}/end").is_success
    return sid
