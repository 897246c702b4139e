"""The admin page's update panel in a real Chromium against the whole service and a real RAUC box.

What a facilities person does: upload a bundle and watch it install; a damaged one is refused with
the reason; a stick's bundle is offered on the tablet and installed with one tap; "boot previous
version" after confirming.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from playwright.sync_api import Browser, expect, sync_playwright
from rauc_rig import Pki, RaucBox, make_bundle, make_pki, missing_tools
from service_runner import PIN, RunningService
from tablet_rig import CHROMIUM, CHROMIUM_ARGS, Tablet, tablet_factory

ADMIN_PIN = "86420975"

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"browser tests need Debian's Chromium at {CHROMIUM}"),
    pytest.mark.skipif(bool(missing_tools()), reason=f"needs {', '.join(missing_tools())}"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        yield p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[RaucBox, Pki, RunningService]]:
    pki = make_pki(tmp_path / "pki")
    box = RaucBox(tmp_path / "box", pki.keyring, factory_version="1.0.0")
    for name in ("DBUS_SYSTEM_BUS_ADDRESS", "OPENRANGE_BOOT_STATE", "OPENRANGE_VERSION_FILE"):
        monkeypatch.setenv(name, box.env[name])
    (tmp_path / "usb").mkdir()
    service = RunningService(
        tmp_path / "data",
        **{
            "update.enabled": True,
            "update.system_conf": box.conf,
            "update.usb_dirs": [tmp_path / "usb"],
            "update.usb_poll_s": 0.2,
            "update.version_file": box.version_file,
            "update.reboot_command": ["true"],
        },
    )
    try:
        service.start()
        yield box, pki, service
    finally:
        service.stop()
        box.close()


def admin_tablet(open_tablet: Callable[..., Tablet]) -> Tablet:
    tablet = open_tablet("update-admin")
    tablet.open()
    tablet.by("firstrun-offer").tap()
    tablet.by("firstrun-pairing-pin").fill(PIN)
    tablet.by("firstrun-admin-pin").fill(ADMIN_PIN)
    tablet.by("firstrun-admin-pin2").fill(ADMIN_PIN)
    tablet.by("firstrun-save").tap()
    expect(tablet.by("view-library")).to_be_visible()
    tablet.menu("menu-admin")
    expect(tablet.by("update-panel")).to_be_visible()
    return tablet


def test_upload_usb_offer_and_boot_previous_from_the_tablet(
    browser: Browser, setup: tuple[RaucBox, Pki, RunningService], tmp_path: Path
) -> None:
    box, pki, service = setup
    good = make_bundle(tmp_path / "openrange-1.1.0.raucb", version="1.1.0", cert=pki.cert, key=pki.key)
    damaged = tmp_path / "damaged.raucb"
    data = bytearray(good.read_bytes())
    data[len(data) // 3] ^= 0xFF
    damaged.write_bytes(bytes(data))

    with tablet_factory(browser, service.base_url) as open_tablet:
        tablet = admin_tablet(open_tablet)
        expect(tablet.by("update-status")).to_contain_text("1.0.0")
        expect(tablet.by("update-job")).to_have_attribute("data-state", "idle")

        tablet.page.set_input_files('[data-testid="update-file"]', str(damaged))
        tablet.by("update-upload").tap()
        expect(tablet.by("update-job")).to_have_attribute("data-state", "failed", timeout=30_000)
        expect(tablet.by("update-job")).to_contain_text("damaged")
        tablet.shot("refused")

        tablet.page.set_input_files('[data-testid="update-file"]', str(good))
        tablet.by("update-upload").tap()
        expect(tablet.by("update-job")).to_have_attribute("data-state", "installed", timeout=30_000)
        expect(tablet.by("update-status")).to_contain_text("B")  # next boot
        tablet.shot("installed")
        assert box.state()["primary"] == "B"

        shutil.copy(good, tmp_path / "usb" / good.name)
        expect(tablet.by("update-offer")).to_be_visible(timeout=15_000)
        expect(tablet.by("update-offer")).to_contain_text("version 1.1.0")
        tablet.shot("usb-offer")
        tablet.by("update-usb-install").tap()
        expect(tablet.by("update-offer")).to_be_hidden(timeout=30_000)
        expect(tablet.by("update-job")).to_have_attribute("data-state", "installed", timeout=30_000)

        tablet.by("update-boot-previous").tap()
        tablet.by("confirm-ok").tap()
        expect(tablet.by("update-status")).not_to_contain_text("Next bootB", timeout=10_000)
        assert box.state()["primary"] == "A", "the installed update is cancelled before any restart"
        tablet.shot("boot-previous")
