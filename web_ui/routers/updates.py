"""Signed updates from the admin page (admin role only): upload, USB stick offer, progress, roll back.

The install runs in the background; its progress is in ``GET /api/updates`` (``job``) and in
``{"type": "update"}`` messages on the live feed. Refusals (bad signature, wrong box, downgrade)
end the job as ``failed`` with the reason in plain words.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request

from appliance.service import Service
from appliance.update.rauc import UpdateError
from appliance.update.updater import Updater
from web_ui.deps import AdminDep, ServiceDep

router = APIRouter(prefix="/api/updates", tags=["updates"])


def get_updater(request: Request) -> Updater:
    updater = getattr(request.app.state, "updater", None)
    if updater is None:
        raise HTTPException(404, "updates are not available in this build")
    return updater


def enabled_updater(updater: Annotated[Updater, Depends(get_updater)]) -> Updater:
    """The updater of a box that has RAUC; 404 (like a box without a camera) otherwise."""
    if not updater.enabled:
        raise HTTPException(404, "updates are not set up on this box (no RAUC configuration)")
    return updater


UpdaterDep = Annotated[Updater, Depends(get_updater)]
EnabledDep = Annotated[Updater, Depends(enabled_updater)]


@router.get("")
async def update_status(admin: AdminDep, updater: UpdaterDep) -> dict[str, Any]:
    """Running version, the install job (state, percent, step, error), a USB offer, the A/B slots."""
    return await updater.status()


@router.put(
    "/bundle",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload_bundle(
    admin: AdminDep, request: Request, updater: EnabledDep, service: ServiceDep
) -> dict[str, Any]:
    """Upload a ``.raucb`` bundle as the raw request body and start installing it.

    Returns the job at once (state ``installing``); follow it with ``GET /api/updates``.
    Refused (409) while a session runs or another install is under way.
    """
    _no_session(service)
    if updater.busy:
        raise HTTPException(409, "an update is already being installed")
    limit = updater.settings.max_upload_mb * 1024 * 1024
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the file is larger than {updater.settings.max_upload_mb} MB")
    target = updater.new_upload_path()
    partial = target.with_suffix(".part")
    size = 0
    try:
        with open(partial, "wb") as fh:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise HTTPException(413, f"the file is larger than {updater.settings.max_upload_mb} MB")
                fh.write(chunk)
            fh.flush()
            await asyncio.to_thread(os.fsync, fh.fileno())
        if size == 0:
            raise HTTPException(422, "the upload was empty: choose a .raucb update file")
        os.replace(partial, target)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()
    return {"uploaded_bytes": size, "job": await updater.start_install(target, source="upload")}


@router.post("/usb/check")
async def check_usb(admin: AdminDep, updater: EnabledDep) -> dict[str, Any]:
    """Look for a bundle on the USB sticks now (the box also looks every few seconds)."""
    return {"offer": await updater.check_usb()}


@router.post("/usb/install")
async def install_from_usb(admin: AdminDep, updater: EnabledDep, service: ServiceDep) -> dict[str, Any]:
    """Install the bundle offered from the USB stick (409 while a session runs)."""
    _no_session(service)
    return {"job": await updater.accept_offer()}


@router.post("/usb/dismiss")
async def dismiss_usb(admin: AdminDep, updater: EnabledDep) -> dict[str, Any]:
    """Ignore the offered bundle (until it changes or the stick comes back with another)."""
    updater.dismiss_offer()
    return {"offer": None}


@router.post("/boot-previous")
async def boot_previous(admin: AdminDep, updater: EnabledDep) -> dict[str, Any]:
    """Make the previous version (the other slot) boot next; restart with ``POST /api/updates/reboot``."""
    try:
        status = await updater.boot_previous()
    except UpdateError as exc:
        raise HTTPException(503, str(exc)) from None
    return {"system": status.to_dict()}


@router.post("/reboot")
async def reboot(admin: AdminDep, updater: EnabledDep, service: ServiceDep) -> dict[str, Any]:
    """Restart the box (to use an installed update or the previous version). Refused during a session."""
    _no_session(service, "restarting the box")
    try:
        await updater.reboot()
    except UpdateError as exc:
        raise HTTPException(503, str(exc)) from None
    return {"rebooting": True}


def _no_session(service: Service, doing: str = "installing an update") -> None:
    live = service.controller.live
    if live is not None and live.status != "ended":
        raise HTTPException(409, f"a session is running: end it before {doing}")
