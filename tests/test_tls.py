"""HTTPS with the device certificate made at first boot, and its fingerprint on the idle screen."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest
from service_runner import PIN, RunningService

from appliance.main import idle_text, panel_url

CERT_ARGS = ["-days", "3650", "-subj", "/CN=openrange.local"]


def make_device_certificate(data_dir: Path) -> str:
    """What deploy/firstboot/openrange-firstboot does: a self-signed cert, key and fingerprint."""
    tls = data_dir / "tls"
    tls.mkdir(parents=True)
    request = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    subprocess.run(
        [
            *request,
            "-days",
            "3650",
            "-subj",
            "/CN=openrange.local",
            "-keyout",
            str(tls / "key.pem"),
            "-out",
            str(tls / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        ["openssl", "x509", "-in", str(tls / "cert.pem"), "-noout", "-fingerprint", "-sha256"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    fingerprint = out.strip().split("=", 1)[1]
    (tls / "fingerprint.txt").write_text(fingerprint + "\n")
    return fingerprint


class TlsService(RunningService):
    def start(self, timeout: float = 20.0) -> TlsService:
        self.base_url = self.base_url.replace("http://", "https://")
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if (
                    httpx.get(self.base_url + "/api/health", timeout=1, verify=False).json()["status"]
                    != "starting"
                ):
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise TimeoutError(f"no HTTPS service: {self.error!r}")


def test_https_with_the_device_certificate(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    fingerprint = make_device_certificate(data_dir)
    service = TlsService(data_dir).start()
    try:
        assert panel_url(service.settings).startswith("https://")
        answer = httpx.post(service.base_url + "/api/auth/pair", json={"pin": PIN}, verify=False, timeout=10)
        assert answer.status_code == 200
        with pytest.raises(httpx.HTTPError):
            httpx.get(service.base_url.replace("https://", "http://") + "/api/health", timeout=2)
        text = idle_text(service.settings, PIN)
        assert text.startswith("Instructor panel: https://") and f"certificate {fingerprint}" in text
    finally:
        service.stop()


def test_plain_http_without_a_certificate(tmp_path: Path) -> None:
    service = RunningService(tmp_path / "data").start()
    try:
        assert panel_url(service.settings).startswith("http://")
        assert (
            idle_text(service.settings, PIN) == f"Instructor panel: {panel_url(service.settings)}   PIN {PIN}"
        )
    finally:
        service.stop()
