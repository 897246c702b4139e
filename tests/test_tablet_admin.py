"""The admin page of the tablet in a real Chromium (Playwright) against the whole service on 127.0.0.1.

The service starts without an admin PIN: the first test sets it through the first-run screen, then
revokes another tablet, checks xAPI and update status and downloads the logs; the second deletes a
record and rotates the pairing PIN (so nothing may pair with the old PIN after it).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from media_fixtures import ffmpeg_available, make_test_clip
from playwright.sync_api import Browser, expect, sync_playwright
from scenario_builders import TEST_SCENARIO, write_scenario
from scenario_fixtures import zip_with
from service_runner import PIN, RunningService
from tablet_rig import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Tablet,
    downloaded_text,
    library_with_media,
    run_session_via_api,
    tablet_factory,
)

ADMIN_PIN = "13572468"

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"browser tests need Debian's Chromium at {CHROMIUM}"),
    pytest.mark.skipif(not ffmpeg_available(), reason="the test clip needs ffmpeg"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        yield p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@pytest.fixture(scope="module")
def admin_svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    data = tmp_path_factory.mktemp("panel-admin-data")
    library_with_media(data)
    service = RunningService(data).start()
    yield service
    service.stop()


@pytest.fixture
def admin_tablets(browser: Browser, admin_svc: RunningService) -> Iterator[Callable[..., Tablet]]:
    with tablet_factory(browser, admin_svc.base_url) as open_tablet:
        yield open_tablet


def test_first_run_then_admin_revokes_a_tablet(
    admin_tablets: Callable[..., Tablet], admin_svc: RunningService
) -> None:
    admin = admin_tablets("panel-admin")
    admin.open()
    expect(admin.by("firstrun-offer")).to_be_visible()
    admin.by("firstrun-offer").tap()
    admin.by("firstrun-pairing-pin").fill(PIN)
    admin.by("firstrun-admin-pin").fill(ADMIN_PIN)
    admin.by("firstrun-admin-pin2").fill(ADMIN_PIN[::-1])
    admin.by("firstrun-save").tap()
    expect(admin.by("firstrun-error")).to_have_text("The two admin PINs differ.")
    admin.by("firstrun-admin-pin2").fill(ADMIN_PIN)
    admin.shot("first-run")
    admin.by("firstrun-save").tap()
    expect(admin.by("view-library")).to_be_visible()

    other = admin_tablets("panel-instructor")
    other.open()
    expect(other.by("firstrun-offer")).to_be_hidden()
    other.pair()
    other.by("menu-button").tap()
    expect(other.by("menu-admin")).to_be_hidden()
    other.by("menu-button").tap()

    admin.menu("menu-admin")
    expect(admin.by("view-admin")).to_be_visible()
    rows = admin.by("token-row")
    expect(rows).to_have_count(2)
    expect(admin.page.locator('[data-testid="token-row"][data-current="true"]')).to_have_count(1)
    expect(admin.by("xapi-panel")).to_be_visible()
    expect(admin.by("xapi-status")).to_contain_text("Queued")
    expect(admin.by("update-panel")).to_be_visible()  # no RAUC here: status only, no upload form
    expect(admin.by("update-status")).to_contain_text("Running version")
    expect(admin.by("update-job")).to_have_attribute("data-state", "idle")
    admin.shot("admin")
    admin.page.locator('[data-testid="token-row"][data-current="false"] [data-testid="token-revoke"]').tap()
    admin.by("confirm-ok").tap()
    expect(admin.page.locator('[data-testid="token-row"][data-revoked="true"]')).to_have_count(1)
    expect(other.by("view-pair")).to_be_visible()  # its socket was closed and its next call got a 401

    log = admin_svc.settings.data_dir / "logs" / "openrange.log"  # the in-process service logs to pytest
    log.parent.mkdir(exist_ok=True)
    log.write_text("2026-01-01 12:00:00 INFO test: a line of the rotating log\n")
    with admin.page.expect_download() as dl:
        admin.by("logs-download").tap()
    assert "a line of the rotating log" in downloaded_text(dl.value)


def test_admin_deletes_a_record_and_rotates_the_pin(
    admin_tablets: Callable[..., Tablet], admin_svc: RunningService
) -> None:
    client = admin_svc.client()
    sid = run_session_via_api(client, ["Kim"])
    admin = admin_tablets("panel-admin-2")
    admin.open()
    admin.pair(ADMIN_PIN)  # the admin PIN pairs with the admin role
    admin.menu("menu-records")
    row = admin.page.locator(f'[data-testid="record-row"][data-session-id="{sid}"]')
    row.get_by_test_id("record-delete").tap()
    expect(admin.by("confirm-text")).to_contain_text("deleted for good")
    admin.by("confirm-ok").tap()
    expect(row).to_have_count(0)
    assert client.get(f"/api/sessions/{sid}").status_code == 404
    client.close()

    admin.menu("menu-admin")
    admin.by("rotate-pin").tap()
    admin.by("confirm-ok").tap()
    # the record's deletion left an info toast too: wait for the one about the PIN
    expect(admin.page.locator('[data-testid="toast"][data-kind="info"]', has_text="PIN")).to_be_visible()
    assert httpx.post(admin_svc.base_url + "/api/auth/pair", json={"pin": PIN}).status_code == 401


def test_admin_installs_a_scenario_package_and_changes_a_setting(
    admin_tablets: Callable[..., Tablet], admin_svc: RunningService, tmp_path: Path
) -> None:
    clip = make_test_clip(tmp_path / "clip.mp4", 16.0, size=(160, 90), label="new")
    manifest = {**copy.deepcopy(TEST_SCENARIO), "id": "lobby-visitor", "title": "Lobby visitor"}
    good = zip_with(
        tmp_path / "good.zip", {}, base=write_scenario(tmp_path / "good", manifest, media=clip.read_bytes())
    )
    broken = zip_with(tmp_path / "broken.zip", {"../escape.txt": b"x"}, base=tmp_path / "good")
    admin = admin_tablets("panel-admin-3")
    admin.open()
    admin.pair(ADMIN_PIN)
    admin.menu("menu-admin")
    expect(admin.by("packages-panel")).to_be_visible()
    admin.by("package-file").set_input_files(str(broken))
    admin.by("package-upload").tap()
    expect(admin.by("package-problems")).to_contain_text("escape.txt")
    admin.by("package-file").set_input_files(str(good))
    admin.by("package-upload").tap()
    expect(admin.page.locator('[data-testid="package-row"][data-id="lobby-visitor"]')).to_have_count(1)
    expect(admin.by("package-problems")).to_be_hidden()
    admin.shot("admin-packages")

    expect(admin.by("settings-panel")).to_be_visible()
    admin.page.locator("#setting-camera-display_latency_ms").fill("85")
    admin.by("settings-save").tap()
    expect(admin.by("settings-message")).to_contain_text("Saved")
    written = yaml.safe_load((admin_svc.settings.data_dir / "settings.yaml").read_text())
    assert written["camera"]["display_latency_ms"] == 85
