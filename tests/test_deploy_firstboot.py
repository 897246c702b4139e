"""First boot (deploy/firstboot/openrange-firstboot) run in a folder standing in for the root file system."""

from __future__ import annotations

import hashlib
import os
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from appliance import systemd_integration as sd

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "deploy" / "firstboot" / "openrange-firstboot"

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def first_boot(root: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "OPENRANGE_FIRSTBOOT_ROOT": str(root),
        "OPENRANGE_SHARE": str(REPO / "deploy"),
        "OPENRANGE_SERIAL": "10000000c0ffee42",
        "OPENRANGE_USER": "no-such-user-here",
    }
    return subprocess.run(
        ["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=True
    )


def test_first_boot_makes_hostname_certificate_and_access_point(tmp_path: Path) -> None:
    client = tmp_path / "boot" / "autoboot" / "openrange-client.nmconnection"
    client.parent.mkdir(parents=True)
    client.write_text("[connection]\nid=openrange-client\n")
    first_boot(tmp_path)
    data = tmp_path / "var" / "lib" / "openrange"

    assert (tmp_path / "etc" / "hostname").read_text().strip() == "openrange-ee42"
    cert = (data / "tls" / "cert.pem").read_text()
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert)).hexdigest().upper()
    expected = "SHA256 " + ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
    assert sd.tls_fingerprint(data) == expected
    text = subprocess.run(
        ["openssl", "x509", "-noout", "-text", "-in", str(data / "tls" / "cert.pem")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "prime256v1" in text and "DNS:openrange-ee42.local" in text and "IP Address:10.42.0.1" in text
    assert (data / "tls" / "key.pem").stat().st_mode & 0o077 == 0

    ap = tmp_path / "etc" / "NetworkManager" / "system-connections" / "openrange-ap.nmconnection"
    assert ap.stat().st_mode & 0o777 == 0o600
    keyfile = ap.read_text()
    wifi = sd.access_point(data)
    assert wifi is not None and wifi["ssid"] == "OpenRange-EE42" and len(wifi["password"]) == 16
    assert f"ssid={wifi['ssid']}" in keyfile and f"psk={wifi['password']}" in keyfile and "@" not in keyfile
    assert "mode=ap" in keyfile and "method=shared" in keyfile

    moved = ap.parent / "openrange-client.nmconnection"
    assert moved.read_text().startswith("[connection]") and moved.stat().st_mode & 0o777 == 0o600
    assert not client.exists(), "the Wi-Fi password must not stay on the FAT partition"

    line = sd.identity_text(data)
    assert line == f"Wi-Fi OpenRange-EE42  password {wifi['password']}   certificate {expected}"


def test_first_boot_again_keeps_the_certificate_and_the_password(tmp_path: Path) -> None:
    first_boot(tmp_path)
    data = tmp_path / "var" / "lib" / "openrange"
    before = (sd.tls_fingerprint(data), sd.access_point(data))
    first_boot(tmp_path)
    assert (sd.tls_fingerprint(data), sd.access_point(data)) == before
