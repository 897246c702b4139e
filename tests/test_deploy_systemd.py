"""The systemd side: the unit's exposure score, sd_notify READY/WATCHDOG/STATUS for real over a Unix
datagram socket (the fallback used when systemd-python is not installed), safe mode after an
incomplete start, and priorities for journald."""

from __future__ import annotations

import asyncio
import configparser
import logging
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from service_runner import RunningService

from appliance import systemd_integration as sd

UNIT = Path(__file__).resolve().parent.parent / "deploy" / "systemd" / "openrange.service"


def test_unit_exposure_is_at_most_2_5() -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for openrange\.service: (\d+\.\d)", done.stdout)
    assert match, done.stdout + done.stderr
    assert float(match.group(1)) <= 2.5, done.stdout


def test_unit_is_a_notify_service_with_watchdog_restart_and_state_directory() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(UNIT)
    service = unit["Service"]
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main"
    assert int(service["WatchdogSec"]) > 0 and service["Restart"] == "on-failure"
    assert service["StateDirectory"] == "openrange" and service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "yes" and service["DevicePolicy"] == "closed"
    assert "OPENRANGE_DATA_DIR=/var/lib/openrange" in service["Environment"]
    assert unit["Unit"]["OnFailure"] == "openrange-fallback.service"


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(10)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    monkeypatch.setattr(sd, "_sd_daemon", None)  # the plain-socket implementation, even if installed
    try:
        yield sock
    finally:
        sock.close()


def received(sock: socket.socket) -> str:
    return sock.recv(4096).decode()


def test_notify_sends_one_datagram_with_every_state(notify_socket: socket.socket) -> None:
    assert sd.notify("READY=1", "STATUS=instructor panel up")
    assert received(notify_socket) == "READY=1\nSTATUS=instructor panel up"


def test_notify_to_an_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"openrange-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        monkeypatch.setattr(sd, "_sd_daemon", None)
        assert sd.notify("WATCHDOG=1")
        assert sock.recv(100) == b"WATCHDOG=1"


def test_notify_is_a_no_op_outside_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sd.notify("READY=1") is False


def test_watchdog_pings_at_half_the_period_and_only_for_its_own_pid(
    notify_socket: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert sd.watchdog_interval_s() is None
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert sd.watchdog_interval_s() == pytest.approx(0.1)

    async def run_for_a_while() -> None:
        task = asyncio.create_task(sd.watchdog_loop())
        await asyncio.sleep(0.35)
        task.cancel()

    asyncio.run(run_for_a_while())
    notify_socket.settimeout(0.5)
    pings = []
    while True:
        try:
            pings.append(received(notify_socket))
        except TimeoutError:
            break
    assert pings.count("WATCHDOG=1") >= 3, pings


def test_the_service_reports_ready_and_pings_the_watchdog(
    tmp_path: Path, notify_socket: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "400000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    started = time.monotonic()
    service = RunningService(tmp_path / "data").start()
    try:
        messages: list[str] = []
        while not any(m.startswith("READY=1") for m in messages):
            messages.append(received(notify_socket))
        assert "WATCHDOG=1" in messages, "the watchdog runs from the start, before READY"
        ready = next(m for m in messages if m.startswith("READY=1"))
        assert f"STATUS=instructor panel on {service.base_url}/" in ready
        assert httpx.get(service.base_url + "/api/health").json()["status"] != "starting"
        assert not (tmp_path / "data" / sd.SAFE_MODE_MARKER).exists()
        assert received(notify_socket) == "WATCHDOG=1"
        assert time.monotonic() - started < 20
    finally:
        service.stop()


def test_a_start_that_never_completed_makes_the_next_one_a_safe_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert sd.StartMarker(data).begin() is False  # a start began... and never reached READY
    service = RunningService(data).start()
    try:
        health = httpx.get(service.base_url + "/api/health").json()
        assert sd.SAFE_MODE_WARNING in health["warnings"]
    finally:
        service.stop()
    assert not (data / sd.SAFE_MODE_MARKER).exists(), "READY clears the marker"
    service = RunningService(data).start()
    try:
        assert sd.SAFE_MODE_WARNING not in httpx.get(service.base_url + "/api/health").json()["warnings"]
    finally:
        service.stop()


def test_safe_settings_turn_off_the_camera_and_the_demo_library(tmp_path: Path) -> None:
    settings = RunningService(tmp_path, demo_library=True).settings
    safe = sd.safe_settings(settings)
    assert (safe.camera.source, safe.demo_library) == ("none", False)
    assert settings.camera.source == "auto", "the original settings are left alone"


def test_log_lines_carry_journald_priorities() -> None:
    formatter = sd.PriorityPrefixFormatter("%(name)s: %(message)s")
    record = logging.LogRecord("openrange", logging.WARNING, __file__, 1, "careful", None, None)
    assert formatter.format(record) == "<4>openrange: careful"
    record.levelno = logging.ERROR
    assert formatter.format(record).startswith("<3>")


def test_journal_is_used_only_when_stderr_is_the_journal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNAL_STREAM", "1:1")
    assert sd.stderr_is_journal() is False
    assert sd.use_journal(logging.getLogger("openrange-test")) == "stderr"


def test_tls_fingerprint_is_read_from_the_data_directory(tmp_path: Path) -> None:
    assert sd.tls_fingerprint(tmp_path) is None
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls" / "fingerprint.txt").write_text("SHA256 AB:CD\n")
    assert sd.tls_fingerprint(tmp_path) == "SHA256 AB:CD"
