"""The update package's pure parts: finding bundles on sticks, RAUC's status and errors in plain words,
and the API when a box has no RAUC."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from service_runner import PIN, RunningService

from appliance.update.rauc import explain, parse_status
from appliance.update.usb import find_bundles


def test_bundles_are_found_at_the_top_of_a_stick_or_one_folder_down(tmp_path: Path) -> None:
    stick = tmp_path / "usb" / "sda1"
    (stick / "openrange" / "old").mkdir(parents=True)
    (stick / "update.RAUCB").write_bytes(b"x")
    (stick / "openrange" / "openrange-1.2.0.raucb").write_bytes(b"xy")
    (stick / "openrange" / "old" / "too-deep.raucb").write_bytes(b"x")
    (stick / ".Trashes").mkdir()
    (stick / ".Trashes" / "deleted.raucb").write_bytes(b"x")
    (stick / "notes.txt").write_text("")
    found = find_bundles([tmp_path / "usb", tmp_path / "not-mounted"])
    assert [b.path.relative_to(stick).as_posix() for b in found] == [
        "openrange/openrange-1.2.0.raucb",
        "update.RAUCB",
    ]
    assert found[0].size == 2


STATUS = {
    "compatible": "openrange-rpi-arm64",
    "booted": "A",
    "boot_primary": "rootfs.1",
    "slots": [
        {"boot.1": {"class": "boot", "bootname": None, "state": "inactive"}},
        {"rootfs.1": {"class": "rootfs", "bootname": "B", "state": "inactive", "boot_status": "good",
                      "slot_status": {"bundle": {"version": "1.1.0"}, "installed": {"timestamp": "T"}}}},
        {"rootfs.0": {"class": "rootfs", "bootname": "A", "state": "booted", "boot_status": "good",
                      "slot_status": {"bundle": {"compatible": None}}}},
    ],
}  # fmt: skip


def test_status_names_the_running_and_the_next_slot() -> None:
    status = parse_status(json.dumps(STATUS))
    assert [s.name for s in status.slots] == ["rootfs.0", "rootfs.1"], "boot slots are not listed"
    assert (status.booted, status.primary_bootname, status.reboot_pending) == ("A", "B", True)
    assert status.other is not None and status.other.version == "1.1.0"
    assert status.previous() == ("booted", status.slots[0]), "before the restart: cancel the switch"
    after = parse_status(json.dumps({**STATUS, "booted": "B"}))
    assert after.previous() is not None and after.previous()[0] == "other"


def test_rauc_errors_become_sentences() -> None:
    assert (
        explain("Installation error: Bundle rejected: Hook returned: This update is old.")
        == "This update is old."
    )
    assert explain(
        "signature verification failed: Verify error: unable to get local issuer certificate"
    ).startswith("The update was signed with a key this box does not trust. (RAUC: ")
    assert explain("something new").startswith("The update failed. (RAUC: something new)")


def test_without_rauc_the_update_api_says_so(tmp_path: Path) -> None:
    service = RunningService(tmp_path / "data", **{"update.enabled": False}).start()
    try:
        answer = httpx.post(
            service.base_url + "/api/setup/admin-pin", json={"pairing_pin": PIN, "admin_pin": "9753102"}
        )
        headers = {"Authorization": "Bearer " + answer.json()["token"]}
        status = httpx.get(service.base_url + "/api/updates", headers=headers).json()
        assert status["enabled"] is False and status["system"] is None
        refused = httpx.put(service.base_url + "/api/updates/bundle", content=b"x", headers=headers)
        assert refused.status_code == 404 and "not set up" in refused.json()["detail"]
        assert httpx.get(service.base_url + "/api/updates").status_code == 401
    finally:
        service.stop()
