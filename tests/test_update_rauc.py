"""Signed A/B updates with the real RAUC, file-backed slots and the real boot chooser (tests/rauc_rig.py).

Exercised: a good bundle installs into the other slot and the next boot switches to it; it is
kept only once marked good, otherwise the following boot falls back; tampered, unsigned,
wrong-key, revoked-key, wrong-compatible and downgrade bundles are refused with a plain
message and nothing changes; an install killed in the middle of writing the slot leaves the
running slot untouched and bootable, and a later install still works.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rauc_rig import Pki, RaucBox, make_bundle, make_pki, missing_tools

from appliance.update.rauc import Rauc, UpdateError

pytestmark = pytest.mark.skipif(bool(missing_tools()), reason=f"needs {', '.join(missing_tools())}")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Pki]:
    base = tmp_path_factory.mktemp("pki")
    return {"dev": make_pki(base / "dev"), "other": make_pki(base / "other", name="Somebody else")}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory, keys: dict[str, Pki]) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("bundles")
    dev, other = keys["dev"], keys["other"]
    made = {
        "good": make_bundle(out / "good.raucb", version="1.1.0", cert=dev.cert, key=dev.key),
        "newer": make_bundle(out / "newer.raucb", version="1.2.0", cert=dev.cert, key=dev.key),
        "downgrade": make_bundle(out / "downgrade.raucb", version="0.9.0", cert=dev.cert, key=dev.key),
        "wrong-compatible": make_bundle(
            out / "wc.raucb", version="1.1.0", cert=dev.cert, key=dev.key, compatible="someone-elses-box"
        ),
        "wrong-key": make_bundle(out / "wk.raucb", version="1.1.0", cert=other.cert, key=other.key),
    }
    # Signed by a key of our own CA that has since been revoked (the CRL is in the keyring).
    revoked_cert, revoked_key = dev.issue("leaked")
    made["revoked-key"] = make_bundle(out / "rk.raucb", version="1.1.0", cert=revoked_cert, key=revoked_key)
    dev.revoke(revoked_cert)
    # One byte changed inside the signed image.
    tampered = out / "tampered.raucb"
    shutil.copy(made["good"], tampered)
    with open(tampered, "r+b") as fh:  # bundle = squashfs | CMS signature | signature size (u64 BE)
        total = fh.seek(0, os.SEEK_END)
        fh.seek(total - 8)
        image_size = total - 8 - int.from_bytes(fh.read(8), "big")
        fh.seek(image_size // 2)
        byte = fh.read(1)
        fh.seek(image_size // 2)
        fh.write(bytes([byte[0] ^ 0xFF]))
    made["tampered"] = tampered
    # The same content, never signed: a bare squashfs.
    made["unsigned"] = make_bundle(
        out / "unsigned.raucb", version="1.1.0", cert=dev.cert, key=dev.key, signed=False
    )
    return made


@pytest.fixture
def box(tmp_path: Path, keys: dict[str, Pki], monkeypatch: pytest.MonkeyPatch) -> Iterator[RaucBox]:
    rig = RaucBox(tmp_path / "box", keys["dev"].keyring, factory_version="1.0.0")
    for name in ("DBUS_SYSTEM_BUS_ADDRESS", "OPENRANGE_BOOT_STATE", "OPENRANGE_VERSION_FILE"):
        monkeypatch.setenv(name, rig.env[name])
    try:
        yield rig
    finally:
        rig.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_good_bundle_installs_into_the_other_slot_and_is_kept_once_marked_good(
    box: RaucBox, bundles: dict[str, Path]
) -> None:
    rauc = Rauc(conf=box.conf)
    running_a = digest(box.slot_image("A"))
    steps: list[tuple[int, str]] = []
    rauc.install(bundles["good"], progress=lambda p, s: steps.append((p, s)))

    assert steps[-1][0] == 100 and [p for p, _ in steps] == sorted(p for p, _ in steps)
    assert any("Copying image to rootfs.1" in s for _, s in steps)
    status = rauc.status()
    assert (status.booted, status.primary_bootname, status.reboot_pending) == ("A", "B", True)
    assert box.slot_version("B") == "1.1.0"
    assert digest(box.slot_image("A")) == running_a, "the running slot must never be written"
    assert box.state()["B"] == "trial:1"

    assert box.power_cycle() == "B"
    assert rauc.status().booted == "B"
    assert box.version_file.read_text().strip() == "1.1.0"
    assert "marked slot rootfs.1 as good" in rauc.mark_good()
    assert box.state()["B"] == "good"
    assert box.power_cycle() == "B", "a confirmed slot keeps booting"
    assert box.power_cycle() == "B"


def test_an_unconfirmed_slot_falls_back_at_the_next_boot(box: RaucBox, bundles: dict[str, Path]) -> None:
    rauc = Rauc(conf=box.conf)
    rauc.install(bundles["good"])
    assert box.power_cycle() == "B"  # the trial boot: the health check never passes, no mark-good
    assert box.power_cycle() == "A"
    status = rauc.status()
    assert (status.booted, status.primary_bootname, status.reboot_pending) == ("A", "A", False)
    assert box.version_file.read_text().strip() == "1.0.0"


def test_boot_previous_version_switches_back_and_can_be_confirmed(
    box: RaucBox, bundles: dict[str, Path]
) -> None:
    rauc = Rauc(conf=box.conf)
    rauc.install(bundles["good"])
    assert box.power_cycle() == "B"
    rauc.mark_good()
    rauc.mark_active("other")  # the "boot previous version" button
    assert rauc.status().primary_bootname == "A"
    assert box.power_cycle() == "A"
    rauc.mark_good()
    assert box.power_cycle() == "A"
    assert box.slot_version("B") == "1.1.0", "the newer version stays installed in the other slot"


REFUSALS = {
    "tampered": "damaged or was changed after it was signed",
    "unsigned": "not signed",
    "wrong-key": "signed with a key this box does not trust",
    "revoked-key": "withdrawn (revoked)",
    "wrong-compatible": "is for 'someone-elses-box', but this box is 'openrange-rpi-arm64'",
    "downgrade": "(version 0.9.0) is older than the running system (version 1.0.0): downgrades are refused",
}


@pytest.mark.parametrize("kind", sorted(REFUSALS))
def test_bad_bundles_are_refused_with_a_clear_message(
    box: RaucBox, bundles: dict[str, Path], kind: str
) -> None:
    rauc = Rauc(conf=box.conf)
    before = {s: digest(box.slot_image(s)) for s in "AB"}
    state = box.state()
    with pytest.raises(UpdateError) as refused:
        rauc.install(bundles[kind])
    assert REFUSALS[kind] in str(refused.value)
    assert {s: digest(box.slot_image(s)) for s in "AB"} == before
    assert box.state()["primary"] == state["primary"] == "A"
    assert rauc.status().primary_bootname == "A"
    assert box.power_cycle() == "A"


def test_info_checks_the_signature_before_anything_is_offered(
    keys: dict[str, Pki], bundles: dict[str, Path], box: RaucBox
) -> None:
    rauc = Rauc(conf=box.conf)
    assert rauc.info(bundles["good"])["version"] == "1.1.0"
    with pytest.raises(UpdateError, match="does not trust"):
        rauc.info(bundles["wrong-key"])


def test_an_install_killed_while_writing_leaves_the_running_slot_bootable(
    box: RaucBox, bundles: dict[str, Path]
) -> None:
    rauc = Rauc(conf=box.conf)
    running_a = digest(box.slot_image("A"))
    # Slot B becomes a pipe that takes 256 KiB and then stops reading: RAUC blocks mid-copy.
    target = box.slot_image("B")
    target.unlink()
    os.mkfifo(target)
    reader = os.open(target, os.O_RDONLY | os.O_NONBLOCK)
    steps: list[str] = []
    worker = threading.Thread(target=_install_quietly, args=(rauc, bundles["good"], steps), daemon=True)
    worker.start()
    taken, deadline = 0, time.monotonic() + 20
    while taken < 256 * 1024 and time.monotonic() < deadline:
        try:
            taken += len(os.read(reader, 65536))
        except BlockingIOError:
            time.sleep(0.01)
    assert taken >= 256 * 1024, f"RAUC did not start writing slot B: {steps}"
    time.sleep(0.2)
    assert worker.is_alive(), "the install must still be in the middle of writing"
    box.kill_service()  # power cut
    os.close(reader)
    worker.join(timeout=10)
    assert not any(s.startswith("100% Installing done") for s in steps)

    target.unlink()
    subprocess.run(["truncate", "-s", "8M", str(target)], check=True)
    assert stat.S_ISREG(target.stat().st_mode)
    assert digest(box.slot_image("A")) == running_a
    assert box.state()["primary"] == "A" and box.state()["B"] == "bad"
    assert box.power_cycle() == "A"
    assert rauc.status().booted == "A"
    rauc.install(bundles["newer"])  # and the box still takes an update afterwards
    assert box.power_cycle() == "B"
    assert box.slot_version("B") == "1.2.0"


def _install_quietly(rauc: Rauc, bundle: Path, steps: list[str]) -> None:
    try:
        rauc.install(bundle, progress=lambda p, s: steps.append(f"{p}% {s}"))
        steps.append("100% Installing done")
    except UpdateError as exc:
        steps.append(f"error: {exc}")
