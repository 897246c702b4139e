"""The camera: its state, calibration on demand, and the laser zero (point-of-impact offset)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from appliance.camera_service import CameraService
from appliance.detection.calibration import CalibrationError, PointOfImpactOffset
from appliance.errors import HardwareUnavailable
from web_ui.deps import ClientDep, ServiceDep

router = APIRouter(prefix="/api/camera", tags=["camera"])

Offset = Annotated[float, Field(ge=-0.1, le=0.1, description="normalised video units")]


class ZeroBody(BaseModel):
    dx: Offset = 0.0
    dy: Offset = 0.0
    weapon: Annotated[str, Field(max_length=40)] = ""


def _camera(service: ServiceDep) -> CameraService:
    if service.camera is None:
        raise HTTPException(404, "this box has no camera: hits are scored by hand")
    return service.camera


@router.get("")
async def camera_state(service: ServiceDep, client: ClientDep) -> dict[str, Any]:
    """Calibrated or not, the picture's bounds in the camera image, the fit error, the laser zero."""
    return _camera(service).status()


@router.post("/calibrate")
async def calibrate(service: ServiceDep, client: ClientDep) -> dict[str, Any]:
    """Project the pattern, find it, and install the new camera→video mapping (a few seconds)."""
    camera = _camera(service)
    if service.controller.live is not None and service.controller.live.status != "ended":
        raise HTTPException(409, "calibrate between sessions: a session is running")
    try:
        await asyncio.get_running_loop().run_in_executor(None, camera.calibrate)
    except CalibrationError as exc:
        raise HTTPException(422, str(exc)) from None
    except HardwareUnavailable as exc:
        raise HTTPException(503, str(exc)) from None
    return camera.status()


@router.post("/zero")
async def set_zero(body: ZeroBody, service: ServiceDep, client: ClientDep) -> dict[str, Any]:
    """Set the laser zero: an offset added to every hit after the calibration mapping."""
    camera = _camera(service)
    offset = PointOfImpactOffset(body.dx, body.dy, body.weapon) if (body.dx or body.dy) else None
    await asyncio.get_running_loop().run_in_executor(None, camera.set_offset, offset)
    return camera.status()
