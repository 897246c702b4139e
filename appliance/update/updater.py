"""The update orchestrator on the event loop: one install at a time, progress, USB offers, confirm, roll back.

State machine of ``job`` (what the admin page shows):
``idle`` → ``installing`` (percent, step) → ``installed`` (reboot to use it) or ``failed`` (why).
A bundle on a USB stick becomes an ``offer`` that an admin accepts or dismisses; nothing installs
by itself. After every start, :meth:`Updater.confirm_boot` waits for the service to be READY and
the self-test to pass, then marks the running slot good; if that never happens, the boot chooser
falls back to the previous slot at the next boot. Every blocking ``rauc`` call runs on an executor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from appliance.errors import HardwareUnavailable, InvalidTransition
from appliance.settings import UpdateSettings
from appliance.update.rauc import Rauc, SystemStatus, UpdateError
from appliance.update.usb import FoundBundle, find_bundles

log = logging.getLogger(__name__)

DEFAULT_SYSTEM_CONF = Path("/etc/rauc/system.conf")

SelfTest = Callable[[], Awaitable[str | None]]
"""Returns None when the running system is healthy, else what is wrong."""


def updates_available(settings: UpdateSettings) -> bool:
    """``settings.enabled``, or (when None) whether rauc and its system.conf are on this machine."""
    if settings.enabled is not None:
        return settings.enabled
    return shutil.which(settings.rauc) is not None and (settings.system_conf or DEFAULT_SYSTEM_CONF).exists()


class Updater:
    """Loop-only, except where named ``_threadsafe``. ``notify`` gets every job change (a broadcast)."""

    def __init__(
        self,
        settings: UpdateSettings,
        data_dir: Path,
        notify: Callable[[dict[str, Any]], None] | None = None,
        rauc: Rauc | None = None,
    ) -> None:
        self.settings = settings
        self.enabled = updates_available(settings)
        self.rauc = rauc or Rauc(settings.rauc, settings.system_conf)
        self.upload_dir = data_dir / "updates"
        self._notify = notify
        self.job: dict[str, Any] = {"state": "idle"}
        self.offer: dict[str, Any] | None = None
        self.confirmation: dict[str, Any] = {"state": "pending" if self.enabled else "disabled"}
        self._dismissed: set[tuple[str, int, float]] = set()
        self._task: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None

    # ---- status -------------------------------------------------------------------------------

    def running_version(self) -> str | None:
        try:
            return self.settings.version_file.read_text(encoding="utf-8").strip() or None
        except OSError:
            return None

    async def system_status(self) -> SystemStatus:
        self._require()
        return await asyncio.get_running_loop().run_in_executor(None, self.rauc.status)

    async def status(self) -> dict[str, Any]:
        """Everything the admin page shows: job, USB offer, slots, confirmation of this boot."""
        out: dict[str, Any] = {
            "enabled": self.enabled,
            "running_version": self.running_version(),
            "job": dict(self.job),
            "offer": self.offer,
            "confirmation": dict(self.confirmation),
            "system": None,
        }
        if self.enabled:
            try:
                out["system"] = (await self.system_status()).to_dict()
            except UpdateError as exc:
                out["system_error"] = str(exc)
        return out

    def _require(self) -> None:
        if not self.enabled:
            raise HardwareUnavailable(
                "updates are not set up on this box (no RAUC system configuration); see docs/deployment.md"
            )

    def _set_job(self, **job: Any) -> None:
        self.job = {**job, "at": time.time()}
        self._publish()

    def _publish(self) -> None:
        if self._notify is not None:
            self._notify({"type": "update", "job": dict(self.job), "offer": self.offer})

    # ---- install ------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def new_upload_path(self) -> Path:
        """Where an uploaded bundle is written (one at a time; the previous upload is replaced)."""
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        return self.upload_dir / "upload.raucb"

    async def start_install(self, bundle: Path, source: str) -> dict[str, Any]:
        """Start installing ``bundle`` in the background; 409 (InvalidTransition) if one is running."""
        self._require()
        if self.busy:
            raise InvalidTransition("an update is already being installed")
        self._set_job(state="installing", percent=0, step="starting", source=source, bundle=bundle.name)
        self._task = asyncio.create_task(self._install(bundle, source))
        return dict(self.job)

    async def install(self, bundle: Path, source: str = "cli") -> dict[str, Any]:
        """Install and wait for the outcome (the job as it ended)."""
        await self.start_install(bundle, source)
        assert self._task is not None
        await self._task
        return dict(self.job)

    async def _install(self, bundle: Path, source: str) -> None:
        try:
            await self._run_install(bundle, source)
        finally:
            if source == "upload":  # an upload is only a carrier: do not keep a copy of every bundle
                bundle.unlink(missing_ok=True)

    async def _run_install(self, bundle: Path, source: str) -> None:
        loop = asyncio.get_running_loop()

        def progress(percent: int, step: str) -> None:  # on the executor thread
            loop.call_soon_threadsafe(self._progress, percent, step)

        try:
            await loop.run_in_executor(None, self.rauc.install, bundle, progress)
        except UpdateError as exc:
            log.warning("update from %s refused or failed: %s", source, exc)
            self._set_job(state="failed", error=str(exc), source=source, bundle=bundle.name)
            return
        except Exception as exc:  # never leave the job "installing" forever
            log.exception("update from %s crashed", source)
            error = f"the update crashed: {exc}"
            self._set_job(state="failed", error=error, source=source, bundle=bundle.name)
            return
        log.info("update from %s installed; the box boots it after a restart", source)
        self.offer = None
        self._set_job(
            state="installed", percent=100, step="done: restart to use it", source=source, bundle=bundle.name
        )

    def _progress(self, percent: int, step: str) -> None:
        if self.job.get("state") == "installing":
            self._set_job(**{**self.job, "percent": percent, "step": step})

    # ---- USB sticks ---------------------------------------------------------------------------

    def start_usb_watcher(self) -> None:
        if self.enabled and self._watcher is None:
            self._watcher = asyncio.create_task(self._watch_usb())

    async def _watch_usb(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                found = await loop.run_in_executor(None, find_bundles, list(self.settings.usb_dirs))
                await self._consider(found)
            except Exception:
                log.exception("USB stick check failed")
            await asyncio.sleep(self.settings.usb_poll_s)

    async def check_usb(self) -> dict[str, Any] | None:
        """Look at the stick folders now (the watcher does this every ``usb_poll_s``)."""
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, find_bundles, list(self.settings.usb_dirs))
        await self._consider(found)
        return self.offer

    async def _consider(self, found: list[FoundBundle]) -> None:
        keys = {b.key for b in found}
        if self.offer is not None and tuple(self.offer["key"]) not in keys:
            log.info("USB bundle %s is gone (stick removed?)", self.offer["path"])
            self.offer = None
            self._publish()
        if self.offer is not None or self.busy:
            return
        for bundle in found:
            if bundle.key in self._dismissed:
                continue
            offer: dict[str, Any] = {"path": str(bundle.path), "size": bundle.size, "key": list(bundle.key)}
            try:
                info = await asyncio.get_running_loop().run_in_executor(None, self.rauc.info, bundle.path)
                offer.update(version=info.get("version"), compatible=info.get("compatible"), trusted=True)
            except UpdateError as exc:
                offer.update(trusted=False, error=str(exc))
            log.info("update bundle found on a USB stick: %s", offer)
            self.offer = offer
            self._publish()
            return

    async def accept_offer(self) -> dict[str, Any]:
        if self.offer is None:
            raise InvalidTransition("no update bundle is offered from a USB stick")
        if not self.offer.get("trusted"):
            raise InvalidTransition(f"the bundle on the stick cannot be installed: {self.offer.get('error')}")
        job = await self.start_install(Path(self.offer["path"]), source="usb")
        self._dismissed.add(tuple(self.offer["key"]))  # type: ignore[arg-type] # offered once only
        return job

    def dismiss_offer(self) -> None:
        if self.offer is not None:
            self._dismissed.add(tuple(self.offer["key"]))  # type: ignore[arg-type]
            self.offer = None
            self._publish()

    # ---- this boot: confirm or fall back ---------------------------------------------------------

    async def confirm_boot(self, ready: Callable[[], bool], self_test: SelfTest) -> bool:
        """Mark the running slot good once the service is READY and the self-test passes.

        Until then the slot stays on trial, and a restart falls back to the previous version.
        Returns True when the slot was marked good.
        """
        if not self.enabled:
            return False
        deadline = time.monotonic() + self.settings.confirm_timeout_s
        problem: str | None = "the service did not become ready"
        self.confirmation = {"state": "checking"}
        while time.monotonic() < deadline:
            if ready():
                problem = await self_test()
                if problem is None:
                    break
            await asyncio.sleep(1.0)
        if problem is not None:
            log.error("not confirming this boot (%s): the next boot falls back", problem)
            self.confirmation = {"state": "unhealthy", "problem": problem}
            return False
        loop = asyncio.get_running_loop()
        try:
            said = await loop.run_in_executor(None, self.rauc.mark_good)
        except UpdateError as exc:
            log.error("could not mark this boot good: %s", exc)
            self.confirmation = {"state": "failed", "problem": str(exc)}
            return False
        log.info("this boot is healthy: %s", said)
        self.confirmation = {"state": "good", "at": time.time()}
        return True

    # ---- roll back and restart ------------------------------------------------------------------

    async def boot_previous(self) -> SystemStatus:
        """Make the other slot boot next ("boot previous version"); the restart is separate."""
        self._require()
        if self.busy:
            raise InvalidTransition("an update is being installed: wait for it to finish")
        loop = asyncio.get_running_loop()
        status = await loop.run_in_executor(None, self.rauc.status)
        previous = status.previous()
        if previous is None:
            raise InvalidTransition("there is no previous version to go back to")
        which, slot = previous
        await loop.run_in_executor(None, self.rauc.mark_active, which)
        log.warning("previous version (slot %s) selected for the next boot", slot.bootname)
        return await loop.run_in_executor(None, self.rauc.status)

    async def reboot(self) -> None:
        """Ask the system to restart (openrange-reboot.service; tryboot for a trial slot on the Pi)."""
        self._require()
        if self.busy:
            raise InvalidTransition("an update is being installed: wait for it to finish")
        argv = list(self.settings.reboot_command)
        log.warning("restart requested: %s", " ".join(argv))
        done = await asyncio.get_running_loop().run_in_executor(
            None, lambda: subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        )
        if done.returncode != 0:
            raise UpdateError(f"the restart was refused: {(done.stderr or done.stdout).strip()}")

    async def close(self) -> None:
        for task in (self._watcher, self._task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
