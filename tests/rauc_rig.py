"""A RAUC box without a Pi: file-backed A/B slots, the real boot chooser script, a private D-Bus.

- The system.conf is deploy/rauc/system.conf with the devices, paths and bundle format rewritten
  (this container has loop devices but no device-mapper, so bundles are 'plain', not 'verity').
- ``rauc service`` runs on a private bus (dbus-daemon with its own config; ``DBUS_SYSTEM_BUS_ADDRESS``
  points rauc's client commands at it), with ``--override-boot-slot`` standing in for the kernel's
  ``rauc.slot=`` argument.
- "Power-on" runs deploy/rauc/bootchooser's ``boot`` (what the firmware's tryboot decides on a Pi),
  then restarts the RAUC service booted from the chosen slot; the running version is read out of
  that slot's ext4 image with debugfs, as the real box reads /usr/lib/openrange/version.
- A throwaway ECDSA P-256 CA (with a CRL) and code-signing key: deploy/keys/openrange-keys.sh.
Needs root (loop mounts), rauc, dbus-daemon, mksquashfs, mkfs.ext4, mkfs.vfat and debugfs.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEPLOY_RAUC = REPO / "deploy" / "rauc"
MAKE_BUNDLE = REPO / "image_build" / "make-bundle.sh"
KEYS = REPO / "deploy" / "keys" / "openrange-keys.sh"
COMPATIBLE = "openrange-rpi-arm64"
TOOLS = ("rauc", "dbus-daemon", "mksquashfs", "mkfs.ext4", "mkfs.vfat", "debugfs", "openssl")


def missing_tools() -> list[str]:
    """What this machine lacks to run the rig ('root' when not root)."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if os.geteuid() != 0:
        missing.append("root")
    return missing


def run(
    *argv: str | Path, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=env, check=check)


# ---- keys ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """A CA, one signing key issued by it, and the keyring a box would trust (CA cert + CRL),
    all made by deploy/keys/openrange-keys.sh (the key ceremony's own script)."""

    dir: Path
    cert: Path
    key: Path
    keyring: Path

    def issue(self, name: str) -> tuple[Path, Path]:
        """Another signing key + cert from the same CA."""
        run(KEYS, "issue", self.dir, name)
        return self.dir / f"{name}.cert.pem", self.dir / f"{name}.key.pem"

    def revoke(self, cert: Path) -> None:
        """Revoke ``cert``; the keyring gets the new CRL."""
        run(KEYS, "revoke", self.dir, cert)


def make_pki(folder: Path, name: str = "OpenRange test") -> Pki:
    """A throwaway ECDSA P-256 CA with a CRL and a development signing key 'dev'."""
    run(KEYS, "ca", folder, name)
    run(KEYS, "issue", folder, "dev")
    return Pki(folder, folder / "dev.cert.pem", folder / "dev.key.pem", folder / "keyring.pem")


# ---- bundles ---------------------------------------------------------------------------------


def make_bundle(
    out: Path,
    *,
    version: str,
    cert: Path,
    key: Path,
    compatible: str = COMPATIBLE,
    rootfs_mb: int = 4,
    signed: bool = True,
) -> Path:
    """A bundle made by image_build/make-bundle.sh (format 'plain' here): rootfs.ext4 holding the
    version file, boot.vfat, deploy/rauc/bundle-hook as install-check hook. ``signed=False``: the
    same content as a bare squashfs, no signature."""
    work = out.with_suffix(".d")
    shutil.rmtree(work, ignore_errors=True)
    root = work / "root"
    (root / "usr/lib/openrange").mkdir(parents=True)
    (root / "usr/lib/openrange/version").write_text(version + "\n")
    run("mkfs.ext4", "-q", "-F", "-L", "root", "-d", root, work / "rootfs.ext4", f"{rootfs_mb}M")
    run("mkfs.vfat", "-C", work / "boot.vfat", "1024")
    out.unlink(missing_ok=True)
    if signed:
        run(
            MAKE_BUNDLE, "--rootfs", work / "rootfs.ext4", "--boot", work / "boot.vfat", "--version", version,
            "--cert", cert, "--key", key, "--format", "plain", "--compatible", compatible, out,
        )  # fmt: skip
    else:
        content = work / "content"
        content.mkdir()
        shutil.copy(work / "rootfs.ext4", content)
        shutil.copy(DEPLOY_RAUC / "bundle-hook", content / "hook")
        (content / "manifest.raucm").write_text(
            f"[update]\ncompatible={compatible}\nversion={version}\n\n[bundle]\nformat=plain\n\n"
            "[hooks]\nfilename=hook\nhooks=install-check\n\n[image.rootfs]\nfilename=rootfs.ext4\n"
        )
        run("mksquashfs", content, out, "-quiet", "-noappend", "-all-root")
    shutil.rmtree(work)
    return out


# ---- the box ---------------------------------------------------------------------------------

DBUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""


def rig_system_conf(src: Path, box: Path, keyring: Path) -> str:
    """deploy/rauc/system.conf with file-backed slots and this rig's paths."""
    text = src.read_text()
    text = text.replace("bundle-formats=-plain", "bundle-formats=plain")
    text = text.replace(
        "data-directory=/var/lib/rauc", f"data-directory={box}/rauc-data\nmountprefix={box}/mnt"
    )
    text = text.replace("path=/etc/rauc/keyring.pem", f"path={keyring}")
    text = text.replace("/usr/lib/openrange/rauc/bootchooser", str(DEPLOY_RAUC / "bootchooser"))
    text = re.sub(
        r"device=/dev/disk/by-partlabel/(\w+)", lambda m: f"device={box}/slots/{m.group(1)}.img", text
    )
    settings = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert not [ln for ln in settings if "=/dev/" in ln or "=/etc/" in ln or "=/usr/" in ln], text
    return text


class RaucBox:
    """File-backed slots A and B, booted from A with the factory version; call close() at the end."""

    def __init__(self, folder: Path, keyring: Path, factory_version: str = "1.0.0", root_mb: int = 8) -> None:
        self.dir = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.conf = folder / "system.conf"
        self.conf.write_text(rig_system_conf(DEPLOY_RAUC / "system.conf", folder, keyring))
        (folder / "slots").mkdir()
        (folder / "mnt").mkdir()
        (folder / "rauc-data").mkdir()
        factory = folder / "factory"
        (factory / "usr/lib/openrange").mkdir(parents=True)
        (factory / "usr/lib/openrange/version").write_text(factory_version + "\n")
        for slot in ("rootA", "rootB"):
            run("mkfs.ext4", "-q", "-F", "-d", factory, folder / "slots" / f"{slot}.img", f"{root_mb}M")
        for slot in ("bootA", "bootB"):
            run("mkfs.vfat", "-C", folder / "slots" / f"{slot}.img", "1024")
        self.boot_state = folder / "bootstate"
        self.boot_state.write_text("primary=A\nA=good\nB=good\nbooted=A\n")
        self.version_file = folder / "running-version"
        self.socket = folder / "bus.sock"
        (folder / "dbus.conf").write_text(DBUS_CONF.format(socket=self.socket))
        self.env = {
            **os.environ,
            "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={self.socket}",
            "OPENRANGE_BOOT_STATE": str(self.boot_state),
            "OPENRANGE_VERSION_FILE": str(self.version_file),
        }
        self._dbus = subprocess.Popen(
            ["dbus-daemon", "--nofork", f"--config-file={folder / 'dbus.conf'}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self.socket.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        self._service: subprocess.Popen | None = None
        self.booted = "A"
        try:
            self._start_service()
        except BaseException:
            self.close()
            raise

    # the running system

    def slot_image(self, bootname: str) -> Path:
        return self.dir / "slots" / f"root{bootname}.img"

    def slot_version(self, bootname: str) -> str:
        out = run("debugfs", "-R", "cat /usr/lib/openrange/version", self.slot_image(bootname))
        return out.stdout.strip()

    def _start_service(self) -> None:
        self.version_file.write_text(self.slot_version(self.booted) + "\n")
        log = open(self.dir / "rauc-service.log", "a")  # noqa: SIM115 - kept open for the child
        self._service = subprocess.Popen(
            ["rauc", "service", f"--conf={self.conf}", f"--override-boot-slot={self.booted}"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.rauc("status", check=False).returncode == 0:
                return
            time.sleep(0.05)
        raise TimeoutError("rauc service did not come up on the private bus:\n" + self.service_log())

    def service_log(self) -> str:
        return (self.dir / "rauc-service.log").read_text(errors="replace")

    def rauc(self, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess:
        return run("rauc", f"--conf={self.conf}", *args, env=self.env, check=check)

    def state(self) -> dict[str, str]:
        lines = self.boot_state.read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line)

    def kill_service(self) -> None:
        """SIGKILL the RAUC service (a power cut, as far as RAUC is concerned)."""
        if self._service is not None and self._service.poll() is None:
            self._service.send_signal(signal.SIGKILL)
            self._service.wait(timeout=10)
        self._unmount_leftovers()

    def power_cycle(self) -> str:
        """Stop RAUC, let the boot chooser pick a slot as the firmware would, start again; the slot."""
        self.kill_service()
        chosen = run(DEPLOY_RAUC / "bootchooser", "boot", env=self.env).stdout.strip()
        self.booted = chosen
        self._start_service()
        return chosen

    def _unmount_leftovers(self) -> None:
        prefix = str(self.dir / "mnt")
        mounts = [ln.split()[1] for ln in Path("/proc/mounts").read_text().splitlines()]
        for mount in sorted((m for m in mounts if m.startswith(prefix)), reverse=True):
            run("umount", "-l", mount, check=False)

    def close(self) -> None:
        self.kill_service()
        with contextlib.suppress(ProcessLookupError):
            self._dbus.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._dbus.wait(timeout=5)
