"""The admin page's update API against the whole service and a real RAUC box (tests/rauc_rig.py).

Exercised: admin role only; the freshly booted slot is marked good only once the service is
up and the self-test passed; upload with progress to ``installed``; a tampered upload fails
with its reason; a bundle on a USB stick is offered (signature checked) and installed on
request; "boot previous version" and the restart request.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rauc_rig import Pki, RaucBox, make_bundle, make_pki, missing_tools
from service_runner import PIN, RunningService

from appliance.update.rauc import Rauc

pytestmark = pytest.mark.skipif(bool(missing_tools()), reason=f"needs {', '.join(missing_tools())}")

ADMIN_PIN = "9753102"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("bundles")
    good = make_bundle(out / "good.raucb", version="1.1.0", cert=pki.cert, key=pki.key)
    tampered = out / "tampered.raucb"
    data = bytearray(good.read_bytes())
    data[len(data) // 3] ^= 0xFF
    tampered.write_bytes(bytes(data))
    return {"good": good, "tampered": tampered}


@pytest.fixture
def rig(tmp_path: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch) -> Iterator[RaucBox]:
    box = RaucBox(tmp_path / "box", pki.keyring, factory_version="1.0.0")
    for name in ("DBUS_SYSTEM_BUS_ADDRESS", "OPENRANGE_BOOT_STATE", "OPENRANGE_VERSION_FILE"):
        monkeypatch.setenv(name, box.env[name])
    try:
        yield box
    finally:
        box.close()


def start_service(tmp_path: Path, box: RaucBox) -> RunningService:
    (tmp_path / "usb").mkdir(exist_ok=True)
    return RunningService(
        tmp_path / "data",
        **{
            "update.enabled": True,
            "update.system_conf": box.conf,
            "update.usb_dirs": [tmp_path / "usb"],
            "update.usb_poll_s": 0.2,
            "update.confirm_timeout_s": 15,
            "update.version_file": box.version_file,
            "update.reboot_command": ["touch", str(tmp_path / "reboot-requested")],
        },
    ).start()


def admin(service: RunningService) -> httpx.Client:
    client = httpx.Client(base_url=service.base_url, timeout=30)
    answer = client.post("/api/setup/admin-pin", json={"pairing_pin": PIN, "admin_pin": ADMIN_PIN})
    answer.raise_for_status()
    assert answer.json()["role"] == "admin"
    client.headers["Authorization"] = "Bearer " + answer.json()["token"]
    client.cookies.clear()
    return client


def wait_job(client: httpx.Client, *states: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen: list[Any] = []
    while time.monotonic() < deadline:
        status = client.get("/api/updates").json()
        seen.append(status["job"])
        if status["job"]["state"] in states:
            return status
        time.sleep(0.05)
    raise AssertionError(f"job never reached {states}: {seen[-3:]}")


def test_a_new_slot_is_confirmed_after_the_self_test_and_can_be_rolled_back(
    tmp_path: Path, rig: RaucBox, bundles: dict[str, Path]
) -> None:
    Rauc(conf=rig.conf).install(bundles["good"])
    assert rig.power_cycle() == "B"
    assert rig.state()["B"] == "trial:0", "on trial: without confirmation the next boot falls back"
    service = start_service(tmp_path, rig)
    try:
        assert service.client().get("/api/updates").status_code == 403
        client = admin(service)
        deadline = time.monotonic() + 15
        while client.get("/api/updates").json()["confirmation"]["state"] != "good":
            assert time.monotonic() < deadline, client.get("/api/updates").json()
            time.sleep(0.1)
        assert rig.state()["B"] == "good"
        status = client.get("/api/updates").json()
        assert status["running_version"] == "1.1.0"
        assert status["system"]["booted"] == "B" and status["system"]["reboot_pending"] is False

        answer = client.post("/api/updates/boot-previous")
        assert answer.status_code == 200, answer.text
        assert answer.json()["system"]["next_boot"] == "A"
        assert client.post("/api/updates/reboot").status_code == 200
        assert (tmp_path / "reboot-requested").exists()
    finally:
        service.stop()
    assert rig.power_cycle() == "A"


def test_upload_installs_with_progress_and_a_tampered_upload_is_refused(
    tmp_path: Path, rig: RaucBox, bundles: dict[str, Path]
) -> None:
    service = start_service(tmp_path, rig)
    try:
        client = admin(service)
        answer = client.put("/api/updates/bundle", content=bundles["tampered"].read_bytes())
        assert answer.status_code == 200, answer.text
        failed = wait_job(client, "failed", "installed")["job"]
        assert failed["state"] == "failed"
        assert "damaged" in failed["error"]

        answer = client.put("/api/updates/bundle", content=bundles["good"].read_bytes())
        assert answer.json()["job"]["state"] == "installing"
        assert answer.json()["uploaded_bytes"] == bundles["good"].stat().st_size
        status = wait_job(client, "installed", "failed")
        assert status["job"]["state"] == "installed", status["job"]
        assert status["job"]["percent"] == 100
        assert status["system"]["next_boot"] == "B" and status["system"]["reboot_pending"]
        assert client.put("/api/updates/bundle", content=b"").status_code == 422
    finally:
        service.stop()
    assert rig.slot_version("B") == "1.1.0"


def test_a_bundle_on_a_usb_stick_is_offered_and_installed_on_request(
    tmp_path: Path, rig: RaucBox, bundles: dict[str, Path]
) -> None:
    service = start_service(tmp_path, rig)
    try:
        client = admin(service)
        assert client.get("/api/updates").json()["offer"] is None
        stick = tmp_path / "usb" / "STICK"
        stick.mkdir()
        shutil.copy(bundles["good"], stick / "openrange-1.1.0.raucb")
        deadline = time.monotonic() + 10
        while (offer := client.get("/api/updates").json()["offer"]) is None:
            assert time.monotonic() < deadline, "the stick's bundle was never offered"
            time.sleep(0.1)
        assert offer["version"] == "1.1.0" and offer["trusted"] is True
        assert rig.state()["primary"] == "A", "nothing installs without the admin's yes"
        assert client.post("/api/updates/usb/install").status_code == 200
        assert wait_job(client, "installed", "failed")["job"]["state"] == "installed"
        assert client.get("/api/updates").json()["offer"] is None
    finally:
        service.stop()
    assert rig.power_cycle() == "B"
