"""``openrange update FILE`` and ``openrange update status|mark-good|boot-previous``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from appliance.settings import Settings
from appliance.update.health_gate import panel_health
from appliance.update.rauc import Rauc, SystemStatus, UpdateError

ACTIONS = ("status", "mark-good", "boot-previous")


def update_command(settings: Settings, target: str, *, as_json: bool = False, force: bool = False) -> int:
    """Run one update action; errors are raised as UpdateError (a RuntimeError: exit status 1)."""
    rauc = Rauc(settings.update.rauc, settings.update.system_conf)
    if target == "status":
        status = rauc.status()
        print(json.dumps(status.to_dict(), indent=2) if as_json else describe(status))
        return 0
    if target == "mark-good":
        if not force:
            url = _panel(settings) + "api/health"
            problem = panel_health(url)
            if problem:
                raise UpdateError(f"not marking this boot good: {problem} (use --force to override)")
        print(rauc.mark_good())
        return 0
    if target == "boot-previous":
        previous = rauc.status().previous()
        if previous is None:
            raise UpdateError("there is no previous version to go back to")
        which, slot = previous
        rauc.mark_active(which)
        version = slot.version or "as delivered"
        print(f"Slot {slot.bootname} (version {version}) boots next: restart the box.")
        return 0
    bundle = Path(target)
    if not bundle.is_file():
        raise UpdateError(f"{bundle}: no such update file (or say status, mark-good or boot-previous)")
    tty = sys.stderr.isatty()

    def progress(percent: int, step: str) -> None:
        end = "" if tty else "\n"
        print(f"\r{percent:3d}% {step:<60}", end=end, file=sys.stderr, flush=True)

    rauc.install(bundle.resolve(), progress=progress)
    if tty:
        print(file=sys.stderr)
    print("Installed. Restart the box to use it; the running version stays as the fallback.")
    return 0


def describe(status: SystemStatus) -> str:
    """The status in a few lines for a person."""
    lines = [
        f"box: {status.compatible}",
        f"running: slot {status.booted}",
        f"next boot: slot {status.primary_bootname}",
    ]
    for slot in status.slots:
        lines.append(
            f"  slot {slot.bootname} ({slot.name}): {slot.state}, boot {slot.boot_status},"
            f" version {slot.version or 'as delivered'}"
        )
    if status.reboot_pending:
        lines.append("a restart switches to the other slot")
    return "\n".join(lines)


def _panel(settings: Settings) -> str:
    web = settings.web
    host = "127.0.0.1" if web.host in ("0.0.0.0", "::") else web.host
    return f"http://{host}:{web.port}/"
