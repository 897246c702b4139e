"""The appliance as a systemd service (deploy/systemd/openrange.service), and a no-op outside one.

- :func:`notify`: sd_notify (``READY=1``, ``WATCHDOG=1``, ``STATUS=...``) through systemd-python's
  ``systemd.daemon.notify`` when it is importable, else the same datagram written to
  ``$NOTIFY_SOCKET`` with a plain socket. Without ``NOTIFY_SOCKET`` nothing happens.
- :func:`watchdog_loop`: ``WATCHDOG=1`` from the event loop at half of ``WatchdogSec=``, so a
  stuck loop gets the service restarted.
- :func:`use_journal`: log records with their priority to journald (systemd-python's
  ``JournalHandler``, else ``<N>`` priority prefixes on stderr, which journald understands).
- :class:`StartMarker`: safe mode after a start that did not complete (OctoPrint's idea).
- :func:`tls_fingerprint`: the per-device certificate's fingerprint, written at first boot by
  deploy/firstboot/openrange-firstboot, for the idle screen.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

from appliance.service import Service
from appliance.settings import Settings
from appliance.update.health_gate import self_test
from appliance.update.updater import Updater

log = logging.getLogger(__name__)

SAFE_MODE_MARKER = "start-incomplete"
"""Written when a start begins, removed at READY; still there at the next start = safe mode."""
FINGERPRINT_FILE = Path("tls") / "fingerprint.txt"
"""Under the data directory: ``SHA256 AB:CD:...`` of the device's TLS certificate."""

try:  # systemd-python (Debian: python3-systemd); optional
    from systemd import daemon as _sd_daemon  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the machine
    _sd_daemon = None


def notify(*states: str) -> bool:
    """Send ``states`` (e.g. "READY=1", "STATUS=...") to systemd; False when not under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    message = "\n".join(states)
    if _sd_daemon is not None:
        return bool(_sd_daemon.notify(message))
    return _notify_socket(address, message)


def _notify_socket(address: str, message: str) -> bool:
    """The sd_notify protocol: one datagram to a Unix socket ('@' = abstract namespace)."""
    target = "\0" + address[1:] if address.startswith("@") else address
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message.encode("utf-8"), target)
    except OSError as exc:
        log.warning("sd_notify to %s failed: %s", address, exc)
        return False
    return True


def watchdog_interval_s() -> float | None:
    """Half of ``WatchdogSec=`` when systemd asked this process for pings, else None."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(0.05, int(usec) / 1e6 / 2)
    except ValueError:
        return None


async def watchdog_loop(interval_s: float | None = None) -> None:
    """Ping ``WATCHDOG=1`` from the event loop until cancelled; returns at once without a watchdog."""
    interval_s = interval_s or watchdog_interval_s()
    if interval_s is None:
        return
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval_s)


def ready(status: str) -> None:
    """Tell systemd the service is up (player, hardware and panel): ``Type=notify`` completes."""
    notify("READY=1", f"STATUS={status}")


def stopping() -> None:
    notify("STOPPING=1", "STATUS=stopping")


# ---- journald ------------------------------------------------------------------------------------

PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class PriorityPrefixFormatter(logging.Formatter):
    """``<N>message``: journald reads N as the syslog priority of a line on stderr."""

    def format(self, record: logging.LogRecord) -> str:
        level = max((lvl for lvl in PRIORITY if lvl <= record.levelno), default=logging.DEBUG)
        return f"<{PRIORITY[level]}>{super().format(record)}"


def stderr_is_journal() -> bool:
    """True when stderr is connected to journald (``$JOURNAL_STREAM`` names its device:inode)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    try:
        dev, ino = (int(v) for v in stream.split(":"))
        st = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)


def use_journal(root: logging.Logger | None = None) -> str:
    """Send the root logger's console output to journald with priorities; returns what was done."""
    if not stderr_is_journal():
        return "stderr"
    root = root or logging.getLogger()
    consoles = [
        h
        for h in root.handlers
        if isinstance(h, logging.StreamHandler) and getattr(h, "stream", None) is sys.stderr
    ]
    try:
        from systemd.journal import JournalHandler  # type: ignore[import-not-found]
    except ImportError:
        for handler in consoles:
            handler.setFormatter(PriorityPrefixFormatter("%(name)s: %(message)s"))
        return "stderr with priority prefixes"
    for handler in consoles:
        root.removeHandler(handler)
    root.addHandler(JournalHandler(SYSLOG_IDENTIFIER="openrange"))
    return "journald"


# ---- safe mode -----------------------------------------------------------------------------------


class StartMarker:
    """A marker file in the data directory for the duration of a start.

    ``begin()`` returns True when the previous start never reached READY (crashed, hung, was killed
    by the watchdog): this start should be a safe one. ``complete()`` at READY removes the marker.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / SAFE_MODE_MARKER

    def begin(self) -> bool:
        previous = self.path.exists()
        try:
            count = int(self.path.read_text().strip() or "0") if previous else 0
        except (OSError, ValueError):
            count = 1
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(f"{count + 1}\n")
        return previous

    def complete(self) -> None:
        self.path.unlink(missing_ok=True)


SAFE_MODE_WARNING = (
    "safe mode: the last start did not complete, so the camera and the demo library are off"
    " until the next restart (see the log on the admin page)"
)


def safe_settings(settings: Settings) -> Settings:
    """The settings with what most often breaks a start turned off: camera, demo generation."""
    camera = settings.camera.model_copy(update={"source": "none"})
    changes: dict[str, Any] = {"demo_library": False, "camera": camera}
    return settings.model_copy(update=changes)


# ---- device identity -----------------------------------------------------------------------------


def tls_fingerprint(data_dir: Path) -> str | None:
    """The device certificate's SHA-256 fingerprint as first boot wrote it, or None (not made yet)."""
    try:
        text = (data_dir / FINGERPRINT_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text or None


WIFI_FILE = "wifi.txt"
"""Under the data directory: ``ssid=...`` and ``password=...`` of the box's own access point."""


def access_point(data_dir: Path) -> dict[str, str] | None:
    """The access point first boot set up (ssid, password), or None."""
    try:
        lines = (data_dir / WIFI_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    found = dict(line.split("=", 1) for line in lines if "=" in line)
    return found if found.get("ssid") else None


def identity_text(data_dir: Path) -> str:
    """One line for the projector's idle screen: the Wi-Fi to join and the certificate to expect."""
    parts: list[str] = []
    wifi = access_point(data_dir)
    if wifi is not None:
        parts.append(f"Wi-Fi {wifi['ssid']}  password {wifi.get('password', '?')}")
    fingerprint = tls_fingerprint(data_dir)
    if fingerprint is not None:
        parts.append(f"certificate {fingerprint}")
    return "   ".join(parts)


# ---- the service's life after start --------------------------------------------------------------


async def after_start(service: Service, updater: Updater, marker: StartMarker) -> None:
    """Once the panel is up: READY to systemd, the start marker cleared, the USB watcher on, and
    this boot's slot confirmed to RAUC after the self-test (else the next boot falls back)."""
    while not service.ready:
        await asyncio.sleep(0.05)
    marker.complete()
    url = panel_url(service.settings)
    ready(f"instructor panel on {url}")
    updater.start_usb_watcher()
    records = service.settings.records_path
    await updater.confirm_boot(lambda: service.ready, lambda: self_test(url + "api/health", records))


def panel_url(settings: Settings) -> str:
    """The panel as seen from this box (loopback when it listens on every address)."""
    web = settings.web
    host = "127.0.0.1" if web.host in ("0.0.0.0", "::") else web.host
    return f"http://{host}:{web.port}/"
