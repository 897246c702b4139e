"""The image recipe (image_build/): the card layout RAUC expects, bundles from the built slot, and
(slow, skipped by default) a real arm64 root file system bootstrapped with mmdebstrap in which the
package imports under qemu-user."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from rauc_rig import RaucBox, make_pki, missing_tools

from appliance.update.rauc import Rauc

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "image_build"
SYSTEM_CONF = REPO / "deploy" / "rauc" / "system.conf"


def have(*tools: str) -> bool:
    return all(shutil.which(t) for t in tools)


needs_tools = pytest.mark.skipif(
    not have("mkfs.ext4", "mkfs.vfat", "mcopy", "sfdisk", "debugfs") or os.geteuid() != 0,
    reason="needs root, e2fsprogs, dosfstools, mtools and fdisk",
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """assemble.sh on a stand-in root file system (what mmdebstrap would have made)."""
    out = tmp_path_factory.mktemp("image")
    root = out / "fake-root"
    (root / "boot/firmware").mkdir(parents=True)
    (root / "boot/firmware/config.txt").write_text("# from raspi-firmware\n")
    (root / "boot/firmware/kernel8.img").write_bytes(b"kernel")
    (root / "usr/lib/openrange").mkdir(parents=True)
    (root / "usr/lib/openrange/version").write_text("3.0.0\n")
    with tarfile.open(out / "rootfs.tar", "w") as tar:
        tar.add(root, arcname=".")
    env = {**os.environ, "ROOT_MB": "24", "DATA_MB": "8"}
    subprocess.run(["sh", str(BUILD / "assemble.sh"), str(out)], env=env, check=True, capture_output=True)
    return out


def partitions(image: Path) -> dict[str, tuple[int, int]]:
    table = json.loads(
        subprocess.run(["sfdisk", "--json", str(image)], capture_output=True, check=True).stdout
    )
    return {p["name"]: (p["start"] * 512, p["size"] * 512) for p in table["partitiontable"]["partitions"]}


def extract(image: Path, part: tuple[int, int], to: Path) -> Path:
    with open(image, "rb") as src, open(to, "wb") as dst:
        src.seek(part[0])
        dst.write(src.read(part[1]))
    return to


def mtype(image: Path, name: str) -> str:
    return subprocess.run(
        ["mtype", "-i", str(image), f"::/{name}"], capture_output=True, text=True, check=True
    ).stdout


@needs_tools
def test_the_card_has_the_partitions_rauc_and_the_firmware_expect(built: Path, tmp_path: Path) -> None:
    parts = partitions(built / "openrange.img")
    assert list(parts) == ["autoboot", "bootA", "bootB", "rootA", "rootB", "data"]
    used = set(re.findall(r"device=/dev/disk/by-partlabel/(\w+)", SYSTEM_CONF.read_text()))
    assert used == {"bootA", "bootB", "rootA", "rootB"} and used <= set(parts)
    assert all(start % (1024 * 1024) == 0 for start, _ in parts.values()), "1 MiB aligned"

    autoboot = extract(built / "openrange.img", parts["autoboot"], tmp_path / "autoboot.vfat")
    assert (
        mtype(autoboot, "autoboot.txt")
        == "[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n"
    )
    assert "primary=A" in mtype(autoboot, "openrange-bootstate")

    boot = extract(built / "openrange.img", parts["bootA"], tmp_path / "bootA.vfat")
    assert "root=PARTLABEL=rootA" in mtype(boot, "cmdline-a.txt") and "rauc.slot=A" in mtype(
        boot, "cmdline-a.txt"
    )
    assert "root=PARTLABEL=rootB" in mtype(boot, "cmdline-b.txt") and "rauc.slot=B" in mtype(
        boot, "cmdline-b.txt"
    )
    config = mtype(boot, "config.txt")
    assert (
        "[partition=2]\ncmdline=cmdline-a.txt" in config and "[partition=3]\ncmdline=cmdline-b.txt" in config
    )
    assert mtype(boot, "kernel8.img") == "kernel"

    root = extract(built / "openrange.img", parts["rootA"], tmp_path / "rootA.ext4")
    version = subprocess.run(
        ["debugfs", "-R", "cat /usr/lib/openrange/version", str(root)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == "3.0.0"
    ls = subprocess.run(
        ["debugfs", "-R", "ls /boot/firmware", str(root)], capture_output=True, text=True
    ).stdout
    assert "kernel8.img" not in ls, "the firmware lives on the boot partition, not in the root slot"


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[RaucBox, Path, Path]]:
    if missing_tools():
        pytest.skip(f"needs {', '.join(missing_tools())}")
    pki = make_pki(tmp_path / "pki")
    rig = RaucBox(tmp_path / "box", pki.keyring, factory_version="2.0.0", root_mb=32)
    for name in ("DBUS_SYSTEM_BUS_ADDRESS", "OPENRANGE_BOOT_STATE", "OPENRANGE_VERSION_FILE"):
        monkeypatch.setenv(name, rig.env[name])
    try:
        yield rig, pki.cert, pki.key
    finally:
        rig.close()


@needs_tools
def test_a_bundle_of_the_built_slot_installs_on_a_box(
    built: Path, tmp_path: Path, box: tuple[RaucBox, Path, Path]
) -> None:
    rig, cert, key = box
    bundle = tmp_path / "openrange-3.0.0.raucb"
    subprocess.run(
        [
            "sh", str(BUILD / "make-bundle.sh"), "--rootfs", str(built / "rootfs.ext4"),
            "--boot", str(built / "boot.vfat"), "--version", "3.0.0", "--cert", str(cert), "--key", str(key),
            "--format", "plain", str(bundle),
        ],
        check=True, capture_output=True,
    )  # fmt: skip
    Rauc(conf=rig.conf).install(bundle)
    assert rig.power_cycle() == "B"
    assert rig.slot_version("B") == "3.0.0"
    info = Rauc(conf=rig.conf).info(bundle)
    assert info["hooks"] == ["install-check"] and info["compatible"] == "openrange-rpi-arm64"


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("OPENRANGE_SLOW_TESTS") != "1", reason="slow: OPENRANGE_SLOW_TESTS=1")
@pytest.mark.skipif(
    not have("mmdebstrap", "qemu-aarch64-static")
    or not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists(),
    reason="needs mmdebstrap, qemu-user-static with binfmt_misc, Debian's archive and PyPI",
)
def test_the_arm64_root_file_system_bootstraps_and_imports_the_package(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    out = tmp_path / "out"
    subprocess.run(
        [
            "sh",
            str(BUILD / "build.sh"),
            "--flavour",
            "ci",
            "--keyring",
            str(pki.keyring),
            "--no-kernel",
            str(out),
        ],
        check=True,
        timeout=3600,
        env={**os.environ, "PYTHON": sys.executable},
    )
    root = tmp_path / "root"
    root.mkdir()
    subprocess.run(["tar", "-C", str(root), "-xpf", str(out / "rootfs.tar")], check=True)
    probe = (
        "import appliance.main, appliance.update, web_ui.app, hardware.backends, systemd.daemon, mpv;"
        "import platform; print(platform.machine())"
    )
    done = subprocess.run(
        ["chroot", str(root), "/opt/openrange/venv/bin/python", "-c", probe],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "aarch64"
    assert (root / "usr/lib/systemd/system/openrange.service").exists()
    assert (root / "etc/rauc/keyring.pem").read_text() == (pki.keyring).read_text()
    assert (root / "etc/systemd/system/multi-user.target.wants/openrange.service").is_symlink()
