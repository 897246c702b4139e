"""deploy/install.sh into a folder standing in for the image's root, and the rules it installs."""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl")
    base = tmp_path_factory.mktemp("install")
    keys = base / "keys"
    subprocess.run(["sh", str(DEPLOY / "keys" / "openrange-keys.sh"), "ca", str(keys), "Test"], check=True)
    target = base / "root"
    env = {**os.environ, "DESTDIR": str(target), "KEYRING": str(keys / "keyring.pem"), "SKIP_PYTHON": "1",
           "VERSION": "4.5.6"}  # fmt: skip
    subprocess.run(["sh", str(DEPLOY / "install.sh")], env=env, check=True, capture_output=True)
    return target


def test_install_puts_units_config_and_scripts_in_place(root: Path) -> None:
    for unit in ("openrange", "rauc", "openrange-reboot", "openrange-bootstate", "openrange-firstboot"):
        assert (root / f"usr/lib/systemd/system/{unit}.service").is_file()
    assert (root / "usr/lib/openrange/version").read_text() == "4.5.6\n"
    assert (root / "etc/rauc/system.conf").read_text() == (DEPLOY / "rauc/system.conf").read_text()
    assert "BEGIN X509 CRL" in (root / "etc/rauc/keyring.pem").read_text()
    for script in (
        "usr/lib/openrange/rauc/bootchooser",
        "usr/lib/openrange/reboot-box",
        "usr/lib/openrange/firstboot",
    ):
        assert (root / script).stat().st_mode & 0o777 == 0o755
    settings = (root / "etc/openrange/settings.yaml").read_text()
    assert "hardware: pi" in settings and "data_dir: /var/lib/openrange" in settings
    sysusers = (root / "usr/lib/sysusers.d/openrange.conf").read_text()
    assert "\nu openrange " in sysusers and "\ng gpio -" in sysusers
    assert (root / "usr/lib/udev/rules.d/60-openrange-devices.rules").is_file()


def test_every_group_the_unit_names_is_made_or_joined() -> None:
    unit = (DEPLOY / "systemd/openrange.service").read_text()
    groups = next(line for line in unit.splitlines() if line.startswith("SupplementaryGroups=")).split(
        "=", 1
    )[1]
    sysusers = (DEPLOY / "sysusers/openrange.conf").read_text()
    for group in groups.split():
        assert f"m openrange {group}" in sysusers, group


@pytest.mark.skipif(shutil.which("systemctl") is None, reason="needs systemctl")
def test_install_enables_the_service_first_boot_boot_state_and_rauc(root: Path) -> None:
    wants = root / "etc/systemd/system"
    assert (wants / "multi-user.target.wants/openrange.service").is_symlink()
    assert (wants / "multi-user.target.wants/openrange-firstboot.service").is_symlink()
    assert (wants / "multi-user.target.wants/rauc.service").is_symlink()
    assert (wants / "sysinit.target.wants/openrange-bootstate.service").is_symlink()
    assert not (wants / "multi-user.target.wants/openrange-reboot.service").exists()


def test_the_service_may_start_only_the_reboot_unit() -> None:
    rule = (DEPLOY / "polkit/50-openrange.rules").read_text()
    assert (
        'subject.user == "openrange"' in rule
        and 'action.lookup("unit") == "openrange-reboot.service"' in rule
    )
    assert 'action.lookup("verb") == "start"' in rule and rule.count("polkit.Result.YES") == 1


def test_only_root_owns_rauc_on_the_bus_and_the_service_may_call_it() -> None:
    policies = ET.parse(DEPLOY / "dbus/de.pengutronix.rauc.conf").getroot().findall("policy")
    by_user = {p.get("user") or p.get("context"): p for p in policies}
    assert by_user["root"].find("allow[@own='de.pengutronix.rauc']") is not None
    assert by_user["openrange"].find("allow[@send_destination='de.pengutronix.rauc']") is not None
    assert by_user["openrange"].find("allow[@own='de.pengutronix.rauc']") is None
    assert by_user["default"].find("deny[@send_destination='de.pengutronix.rauc']") is not None


def test_usb_sticks_are_mounted_read_only_where_the_service_looks() -> None:
    from appliance.settings import UpdateSettings

    rule = (DEPLOY / "udev/90-openrange-usb.rules").read_text()
    assert "--options=ro,nosuid,nodev,noexec" in rule
    assert f"{UpdateSettings().usb_dirs[0]}/%k" in rule
    assert "d /media/openrange-usb " in (DEPLOY / "tmpfiles/openrange.conf").read_text()
