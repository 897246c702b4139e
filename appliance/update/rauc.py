"""RAUC as a subprocess: install a bundle with progress, read the slots, mark good, switch slots.

Every call runs ``rauc`` (Debian's package; on the box it talks to the RAUC service over D-Bus)
and is blocking: the :class:`~appliance.update.updater.Updater` runs them on an executor. RAUC's
own error lines are turned into sentences a facilities person can act on (:func:`explain`).
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PROGRESS_LINE = re.compile(r"^\s*(\d{1,3})% (.*)$")
LAST_ERROR = re.compile(r"LastError:\s*(.*)$")

Progress = Callable[[int, str], None]
"""Called with (percent 0-100, what RAUC is doing) while a bundle installs."""


class UpdateError(RuntimeError):
    """An update step failed; the message says why in plain words (the raw RAUC text follows)."""


# (pattern in RAUC's error text, what it means for the person holding the stick). First match wins.
EXPLANATIONS: list[tuple[str, str]] = [
    ("Signature size is 0", "The update file is not signed, so it cannot be trusted."),
    ("Bundle rejected: Hook returned: ", ""),  # our install-check hook already speaks plainly
    ("Signature data is no valid CMS", "The update file is damaged (its signature cannot be read)."),
    ("content verify error", "The update file is damaged or was changed after it was signed."),
    ("CMS routines::verification failure", "The update file is damaged or was changed after it was signed."),
    ("verification failure", "The update file is damaged or was changed after it was signed."),
    ("self-signed certificate", "The update was signed with a key this box does not trust."),
    ("unable to get local issuer certificate", "The update was signed with a key this box does not trust."),
    ("certificate revoked", "The key that signed this update has been withdrawn (revoked)."),
    ("certificate has expired", "The signing certificate had expired when the update was signed."),
    ("unsuitable certificate purpose", "The update was signed with a key that is not meant for updates."),
    ("unsafe bundle", "The update file is kept where others could change it while it installs."),
    ("Compatible mismatch", "This update is for a different kind of box."),
    ("Invalid bundle format", "This is not an OpenRange update file (or it is incomplete)."),
    ("Failed to open bundle", "The update file cannot be read."),
    ("No such file", "The update file is gone (was the stick pulled out?)."),
    ("Unsupported bundle format", "This update file's format is not accepted by this box."),
    ("Already processing", "Another update is being installed right now."),
]


def explain(raw: str) -> str:
    """A plain sentence for RAUC's error text ``raw``, followed by the raw text for support."""
    raw = raw.strip()
    hook = re.search(r"Bundle rejected: Hook returned: (.*)", raw)
    if hook:
        return hook.group(1).strip()
    for needle, meaning in EXPLANATIONS:
        if needle in raw and meaning:
            return f"{meaning} (RAUC: {raw})"
    return f"The update failed. (RAUC: {raw})" if raw else "The update failed."


@dataclass(frozen=True)
class Slot:
    """One root-filesystem slot as RAUC reports it."""

    name: str
    bootname: str | None
    state: str
    """'booted', 'active' or 'inactive'."""
    boot_status: str | None
    """'good' or 'bad' as the boot chooser reports it."""
    version: str | None
    """Version of the bundle last installed into the slot (None for the factory image)."""
    installed: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "bootname": self.bootname,
            "state": self.state,
            "boot_status": self.boot_status,
            "version": self.version,
            "installed": self.installed,
        }


@dataclass(frozen=True)
class SystemStatus:
    """What ``rauc status`` says: the booted slot, the one that boots next, every root slot."""

    compatible: str
    booted: str | None
    """Bootname of the running slot (A or B)."""
    primary: str | None
    """Slot name (e.g. rootfs.1) that boots next."""
    slots: list[Slot] = field(default_factory=list)

    @property
    def primary_bootname(self) -> str | None:
        return next((s.bootname for s in self.slots if s.name == self.primary), None)

    @property
    def reboot_pending(self) -> bool:
        """The next boot starts another slot than the running one (an installed update or a rollback)."""
        nxt = self.primary_bootname
        return nxt is not None and self.booted is not None and nxt != self.booted

    @property
    def other(self) -> Slot | None:
        return next((s for s in self.slots if s.bootname and s.bootname != self.booted), None)

    @property
    def booted_slot(self) -> Slot | None:
        return next((s for s in self.slots if s.bootname == self.booted), None)

    def previous(self) -> tuple[str, Slot] | None:
        """What "boot previous version" means now, as (``rauc status mark-active`` argument, slot):
        with an installed update not yet started, keep the running slot ('booted'); otherwise go
        back to the other slot ('other'). None when the other slot is not bootable."""
        if self.reboot_pending:
            running = self.booted_slot
            return ("booted", running) if running is not None else None
        other = self.other
        if other is None or other.boot_status != "good":
            return None
        return ("other", other)

    def to_dict(self) -> dict[str, Any]:
        return {
            "compatible": self.compatible,
            "booted": self.booted,
            "next_boot": self.primary_bootname,
            "reboot_pending": self.reboot_pending,
            "slots": [s.to_dict() for s in self.slots],
        }


def parse_status(text: str) -> SystemStatus:
    """Parse ``rauc status --detailed --output-format=json``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UpdateError(f"RAUC's status could not be read: {exc}") from None
    slots: list[Slot] = []
    for entry in data.get("slots", []):
        for name, info in entry.items():
            if info.get("class") != "rootfs":
                continue
            status = info.get("slot_status") or {}
            bundle = status.get("bundle") or {}
            slots.append(
                Slot(
                    name=name,
                    bootname=info.get("bootname"),
                    state=info.get("state", "?"),
                    boot_status=info.get("boot_status"),
                    version=bundle.get("version"),
                    installed=(status.get("installed") or {}).get("timestamp"),
                )
            )
    slots.sort(key=lambda s: s.name)
    return SystemStatus(
        compatible=data.get("compatible", ""),
        booted=data.get("booted"),
        primary=data.get("boot_primary"),
        slots=slots,
    )


class Rauc:
    """The ``rauc`` command line. ``conf``: system.conf for local commands (info); None = RAUC's default."""

    def __init__(self, binary: str = "rauc", conf: Path | None = None, timeout_s: float = 1800.0) -> None:
        self.binary = binary
        self.conf = conf
        self.timeout_s = timeout_s

    def _argv(self, *args: str) -> list[str]:
        argv = [self.binary]
        if self.conf is not None:
            argv.append(f"--conf={self.conf}")
        return [*argv, *args]

    def _run(self, *args: str, timeout: float = 60.0) -> str:
        try:
            done = subprocess.run(
                self._argv(*args), capture_output=True, text=True, timeout=timeout, check=False
            )
        except FileNotFoundError:
            raise UpdateError(f"the update tool ({self.binary}) is not installed on this box") from None
        except subprocess.TimeoutExpired:
            raise UpdateError(f"'rauc {args[0]}' did not answer within {timeout:g} s") from None
        if done.returncode != 0:
            raise UpdateError(explain(_last_error(done.stdout + "\n" + done.stderr)))
        return done.stdout

    def status(self) -> SystemStatus:
        """The slots, which one runs and which one boots next."""
        return parse_status(self._run("status", "--detailed", "--output-format=json"))

    def info(self, bundle: Path) -> dict[str, Any]:
        """The bundle's manifest (compatible, version, images), after checking its signature."""
        out = self._run("info", "--output-format=json", str(bundle), timeout=120)
        try:
            return json.loads(out)
        except json.JSONDecodeError as exc:
            raise UpdateError(f"RAUC's bundle information could not be read: {exc}") from None

    def mark_good(self) -> str:
        """Confirm the running slot: the boot chooser keeps booting it."""
        return self._run("status", "mark-good", "booted").strip()

    def mark_active(self, which: str) -> str:
        """Make a slot boot next: 'booted', 'other' or a slot name (``rauc status mark-active``)."""
        return self._run("status", "mark-active", which).strip()

    def install(self, bundle: Path, progress: Progress | None = None) -> None:
        """Install ``bundle`` into the other slot, reporting progress; raises UpdateError on refusal."""
        argv = self._argv("install", str(bundle))
        try:
            proc = subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
            )
        except FileNotFoundError:
            raise UpdateError(f"the update tool ({self.binary}) is not installed on this box") from None
        lines: list[str] = []
        assert proc.stdout is not None
        with proc:
            for line in proc.stdout:
                line = line.rstrip("\n")
                lines.append(line)
                match = PROGRESS_LINE.match(line)
                if match and progress is not None:
                    progress(min(100, int(match.group(1))), match.group(2).strip())
            try:
                code = proc.wait(timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise UpdateError("the installation did not finish in time") from None
        if code != 0:
            raise UpdateError(explain(_last_error("\n".join(lines))))
        log.info("bundle %s installed", bundle)


def _last_error(output: str) -> str:
    """RAUC's reason: its LastError line, else the last non-progress line of its output."""
    found = [m.group(1) for m in map(LAST_ERROR.search, output.splitlines()) if m]
    if found:
        return found[-1]
    lines = [ln.strip() for ln in output.splitlines() if ln.strip() and not PROGRESS_LINE.match(ln)]
    lines = [ln for ln in lines if not ln.startswith("rauc-Message") and ln not in ("idle", "installing")]
    return lines[-1] if lines else ""
