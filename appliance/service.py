"""What the web edge is handed: the running appliance's parts, already wired."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from appliance.camera_service import CameraService
from appliance.controller import Controller
from appliance.device_worker import DeviceWorker
from appliance.events import EventBus
from appliance.frames import FrameStore
from appliance.pairing import Pairing
from appliance.records import Records
from appliance.reports.xapi_sender import XapiSender
from appliance.scenario.library import ScenarioLibrary
from appliance.settings import Settings

VERSION = "0.1.0"


class _SimCamera(Protocol):
    def shoot(self, x: float, y: float, color: str = "red") -> None: ...


class _SimGpio(Protocol):
    def drive(self, name: str, pressed: bool) -> None: ...


class SimControls:
    """Sim mode only: inject hardware events through the simulators' own code paths.

    A simulated hit goes to the SimCamera, whose capture thread reports it like a real camera;
    a simulated input drives a gpiozero mock pin, so gpiozero's edge callback does the rest.
    """

    def __init__(self, camera: _SimCamera | None, gpio: _SimGpio | None) -> None:
        self._camera = camera
        self._gpio = gpio
        self._worker = DeviceWorker("sim")

    @property
    def input_names(self) -> list[str]:
        names = getattr(self._gpio, "names", None)
        return list(names) if names else []

    async def hit(self, x: float, y: float, color: str = "red") -> None:
        if self._camera is None:
            raise LookupError("no simulated camera")
        await _wrap(self._worker.submit(self._camera.shoot, x, y, color))

    async def input(self, name: str, pressed: bool) -> None:
        if self._gpio is None:
            raise LookupError("no simulated GPIO")
        await _wrap(self._worker.submit(self._gpio.drive, name, pressed))

    def close(self) -> None:
        self._worker.shutdown()


async def _wrap(future: Any) -> Any:
    return await asyncio.wrap_future(future)


@dataclass
class Service:
    settings: Settings
    controller: Controller
    records: Records
    library: ScenarioLibrary
    pairing: Pairing
    bus: EventBus
    sim: SimControls | None
    devices: Callable[[], dict[str, Any]] | None = None
    """Live device states (inputs, outputs, status light, cues) for the health endpoint."""
    camera: CameraService | None = None
    """Calibration, self-check and laser zero; None without a camera."""
    frames: FrameStore | None = None
    """Thumbnails, the live frame and hit frames (decoded off the loop, cached under the data dir)."""
    xapi: XapiSender | None = None
    """The xAPI outbox and its sender (status and retry for the admin page)."""
    version: str = VERSION
    started_mono: float = field(default_factory=time.monotonic)
    ready: bool = False

    def health(self) -> dict[str, Any]:
        warnings = list(self.controller.hardware_info.get("warnings", []))
        warnings += [f"scenario package {p.name} is broken" for p in self.library.broken]
        return {
            "status": "ok" if self.ready and not warnings else ("degraded" if self.ready else "starting"),
            "version": self.version,
            "hardware": self.settings.hardware,
            "player": self.controller.hardware_info.get("player"),
            "warnings": warnings,
            "uptime_s": round(time.monotonic() - self.started_mono, 1),
            "scenarios": len(self.library.list()),
            "session": self.controller.live.id if self.controller.live else None,
            "clients": self.bus.feed_count,
            "devices": self.devices() if self.devices else None,
        }
