"""Sim mode only: inject hardware events through the simulators' real code paths."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from web_ui.deps import ClientDep, ServiceDep

router = APIRouter(prefix="/api/sim", tags=["simulator"])


class SimHit(BaseModel):
    x: Annotated[float, Field(ge=0, le=1, description="normalised video x, 0 = left edge")]
    y: Annotated[float, Field(ge=0, le=1, description="normalised video y, 0 = top edge")]
    color: Literal["red", "green", "infrared"] = "red"


class SimInput(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=32)]
    pressed: bool


@router.post("/hit", status_code=202)
async def sim_hit(body: SimHit, service: ServiceDep, client: ClientDep) -> dict[str, str]:
    """A laser shot on the simulated screen; the SimCamera reports it like a real camera."""
    if service.sim is None:
        raise HTTPException(404, "the simulator is only available with --hardware sim")
    await service.sim.hit(body.x, body.y, body.color)
    return {"detail": "shot fired"}


@router.post("/input", status_code=202)
async def sim_input(body: SimInput, service: ServiceDep, client: ClientDep) -> dict[str, str]:
    """Press or release a named GPIO input; drives the gpiozero mock pin."""
    if service.sim is None:
        raise HTTPException(404, "the simulator is only available with --hardware sim")
    try:
        await service.sim.input(body.name, body.pressed)
    except KeyError as exc:
        raise HTTPException(404, str(exc).strip("'\"")) from None
    return {"detail": f"input {body.name} {'pressed' if body.pressed else 'released'}"}
