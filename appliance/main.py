"""The composition root: the only module that wires hardware, appliance and web_ui together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from appliance import systemd_integration as sd
from appliance.camera_service import CameraService, screen_projector
from appliance.clock import LoopClock
from appliance.controller import Controller
from appliance.cues import CueScheduler, WorkerOutputs
from appliance.demo_library import ensure_demo_library
from appliance.device_worker import DeviceWorker
from appliance.errors import ConfigError
from appliance.events import EventBus
from appliance.frames import FrameStore
from appliance.pairing import Pairing, load_or_create_pin
from appliance.records import Records
from appliance.reports.xapi_sender import XapiSender
from appliance.scenario.install import clean_incoming
from appliance.scenario.library import ScenarioLibrary
from appliance.service import Service, SimControls
from appliance.settings import Settings
from appliance.update.updater import Updater
from hardware.backends import Hardware, open_hardware
from web_ui.app import create_app

log = logging.getLogger("openrange")


def player_options(settings: Settings) -> dict[str, str]:
    """mpv options for this box: headless here, a window on a desktop, DRM on the Pi."""
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    p = settings.player
    if settings.hardware == "pi":
        options = {"vo": p.vo or "gpu", "gpu-context": "drm", "fullscreen": "yes"}
    elif has_display:
        options = {"vo": p.vo or "gpu", "fullscreen": "yes"}
    else:
        options = {"vo": p.vo or "null"}
    if p.ao:
        options["ao"] = p.ao
    elif settings.hardware == "sim" and not has_display:
        options["ao"] = "null"
    options.update(p.extra_options)
    return options


def idle_text(settings: Settings, pin: str) -> str:
    """What the projector shows between sessions under the logo: where the panel is and its PIN,
    and (on a box after first boot) the Wi-Fi to join and the certificate's fingerprint."""
    identity = sd.identity_text(settings.data_dir)
    return f"Instructor panel: {panel_url(settings)}   PIN {pin}" + (f"\n{identity}" if identity else "")


def range_state_shower(
    light: Any, gpio_worker: DeviceWorker, camera: CameraService | None
) -> Callable[[str], None]:
    """What follows the range's state ("idle", "session", "fault"): the status light, and the
    camera, which detects only while a session runs (standby between sessions)."""

    def show(pattern: str) -> None:
        if light is not None:
            gpio_worker.submit(light.show, pattern)
        if camera is not None:
            camera.runner.set_standby(pattern != "session")

    return show


def device_status(hardware: Hardware, cues: CueScheduler, camera: CameraService | None) -> dict[str, Any]:
    """Inputs, outputs, status light and cues as the health endpoint shows them."""
    return {
        "inputs": hardware.inputs.states() if hardware.inputs else None,
        "outputs": hardware.outputs.describe() if hardware.outputs else None,
        "status_light": hardware.status_light.pattern if hardware.status_light else None,
        "cues": cues.status(),
        "camera": camera.status() if camera is not None else None,
    }


def _progress(done: int, total: int, label: str) -> None:
    log.info("demo library: rendering %d/%d %s", done, total, label)


async def serve(settings: Settings, shutdown: asyncio.Event | None = None) -> None:
    """Run the range controller until SIGINT/SIGTERM (or until ``shutdown`` is set)."""
    loop = asyncio.get_running_loop()
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    sd.use_journal()
    watchdog = asyncio.create_task(sd.watchdog_loop())
    marker = sd.StartMarker(data_dir)
    safe_mode = marker.begin()
    if safe_mode:
        settings = sd.safe_settings(settings)
        log.warning("%s", sd.SAFE_MODE_WARNING)
    bus = EventBus(loop)
    records = Records(settings.records_path)
    await records.open()
    interrupted = await records.interrupt_unfinished()
    purged = await records.purge_tokens()
    if purged:
        log.info("forgot %d pairing token(s) that expired more than a week ago", purged)
    for sid in interrupted:
        log.warning("session %s was interrupted by the last stop; its record is kept", sid)

    if settings.demo_library:
        await loop.run_in_executor(
            None,
            lambda: ensure_demo_library(settings.library_dir, size=settings.demo_size, progress=_progress),
        )
    library = ScenarioLibrary(settings.library_dir, data_dir / "cache" / "packages")
    clean_incoming(library)  # uploads cut off by a power cut
    await loop.run_in_executor(None, library.scan)
    log.info("scenario library: %d scenarios, %d broken", len(library.list()), len(library.broken))

    gpio = settings.gpio
    hardware: Hardware = await loop.run_in_executor(
        None,
        lambda: open_hardware(
            settings.hardware,
            emit=bus.publish_threadsafe,
            input_pins=gpio.input_pins(),
            output_pins=gpio.output_pins(),
            status_output=gpio.status_output_name,
            player_options=player_options(settings),
            player_kind=settings.player.backend,
            camera_fps=settings.camera.sim_fps if settings.hardware == "sim" else settings.camera.fps,
            camera_source=settings.camera.source,
        ),
    )
    if safe_mode:
        hardware.warnings.append(sd.SAFE_MODE_WARNING)
    player_worker = DeviceWorker("player")
    gpio_worker = DeviceWorker("gpio")
    clock = LoopClock(loop)
    cues = CueScheduler(WorkerOutputs(hardware.outputs, gpio_worker) if hardware.outputs else None, clock)
    light = hardware.status_light
    cue_outputs = [o.name for o in gpio.outputs if o.name != gpio.status_output_name]
    camera = None
    if hardware.camera is not None:
        camera = CameraService(
            hardware.camera,
            projector=screen_projector(  # the pattern on the screen, and to the simulated camera
                hardware.player,
                player_worker,
                also=hardware.sim_camera.project if hardware.sim_camera else None,
            ),
            data_dir=data_dir,
            video_size=settings.camera.video_size,
            display_latency_s=settings.camera.display_latency_ms / 1000.0,
        )
        problem = await loop.run_in_executor(None, camera.start)
        if problem:
            log.warning("%s", problem)
            hardware.warnings.append(problem)
        camera.runner.set_standby(True)  # no session yet: nothing to detect
    hardware_info: dict[str, Any] = {
        "mode": settings.hardware,
        "player": getattr(hardware.player, "name", type(hardware.player).__name__),
        "warnings": list(hardware.warnings),
    }
    controller = Controller(
        library=library,
        records=records,
        player=hardware.player,
        player_worker=player_worker,
        bus=bus,
        clock=clock,
        hardware_info=hardware_info,
        cues=cues,
        actions=dict(gpio.actions()),
        output_names=cue_outputs if hardware.outputs else None,
        status_light=range_state_shower(light, gpio_worker, camera),
        camera=camera,
    )
    pin = load_or_create_pin(data_dir, settings.web.pin)
    controller.idle_text = idle_text(settings, pin)
    player_worker.submit(hardware.player.show_idle, controller.idle_text)

    def show_new_pin(new_pin: str) -> None:
        controller.idle_text = idle_text(settings, new_pin)
        log.info("new pairing PIN: %s", new_pin)
        if (controller.live is None or controller.live.status == "ended") and controller.moment is None:
            player_worker.submit(hardware.player.show_idle, controller.idle_text)

    pairing = Pairing(
        records,
        pin,
        token_ttl_s=settings.web.token_ttl_h * 3600,
        data_dir=data_dir,
        on_pin_change=show_new_pin,
    )
    xapi = XapiSender(records, library, settings.xapi)
    sim = SimControls(hardware.sim_camera, hardware.sim_gpio) if settings.hardware == "sim" else None
    service = Service(
        settings=settings,
        controller=controller,
        records=records,
        library=library,
        pairing=pairing,
        bus=bus,
        sim=sim,
        devices=lambda: device_status(hardware, cues, camera),
        camera=camera,
        xapi=xapi,
        frames=FrameStore(data_dir / "cache" / "frames"),
    )
    app = create_app(service)
    updater = Updater(settings.update, data_dir, notify=bus.broadcast)
    app.state.updater = updater
    lifecycle = asyncio.create_task(sd.after_start(service, updater, marker))
    tls = tls_files(settings)
    config = uvicorn.Config(
        app,
        host=settings.web.host,
        port=settings.web.port,
        ssl_certfile=str(tls[0]) if tls else None,
        ssl_keyfile=str(tls[1]) if tls else None,
        log_config=None,
        access_log=False,
        ws="websockets-sansio",
    )
    server = uvicorn.Server(config)
    announcer = asyncio.create_task(_announce_when_ready(server, service, pin))
    stopper = asyncio.create_task(_stop_when(shutdown, server)) if shutdown is not None else None
    xapi_task = asyncio.create_task(xapi.run())
    try:
        try:
            await server.serve()
        except SystemExit:  # uvicorn exits when it cannot bind
            server.started = False
        if not server.started:
            raise ConfigError(
                f"could not listen on {settings.web.host}:{settings.web.port}:"
                " the address is in use or not permitted (choose another with --port)"
            )
    finally:
        sd.stopping()
        for task in (announcer, lifecycle, watchdog):
            task.cancel()
        await updater.close()
        xapi_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await xapi_task
        xapi.close()
        if stopper is not None:
            stopper.cancel()
        live = controller.live
        if live is not None and live.status != "ended":
            log.warning("stopping with session %s still running: it will show as interrupted", live.id)
        hardware.close()
        player_worker.shutdown()
        gpio_worker.shutdown()
        if sim is not None:
            sim.close()
        if service.frames is not None:
            service.frames.close()
        await records.close()
        log.info("stopped")


async def _announce_when_ready(server: uvicorn.Server, service: Service, pin: str) -> None:
    while not server.started:
        await asyncio.sleep(0.05)
    service.ready = True
    log.info("instructor panel: %s  pairing PIN: %s", panel_url(service.settings), pin)


def tls_files(settings: Settings) -> tuple[Path, Path] | None:
    """The device certificate and key to serve HTTPS with, or None for plain HTTP."""
    cert, key = settings.data_dir / "tls" / "cert.pem", settings.data_dir / "tls" / "key.pem"
    if settings.web.tls == "auto" and cert.is_file() and key.is_file():
        return cert, key
    return None


def panel_url(settings: Settings) -> str:
    web = settings.web
    host = "127.0.0.1" if web.host in ("0.0.0.0", "::") else web.host
    scheme = "https" if tls_files(settings) else "http"
    return f"{scheme}://{host}:{web.port}/"


async def _stop_when(shutdown: asyncio.Event, server: uvicorn.Server) -> None:
    await shutdown.wait()
    server.should_exit = True


def run(settings: Settings) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings))
    return 0
