"""First-run setup: set the admin PIN (no token needed, only while none is set)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from web_ui.deps import ServiceDep
from web_ui.routers.auth import PairAnswer, client_address, grant_answer

router = APIRouter(prefix="/api/setup", tags=["setup"])

SENTENCE_OR_LIST_422: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "An unacceptable admin PIN (a sentence) or a malformed body (a list)",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"detail": {"anyOf": [{"type": "string"}, {"type": "array", "items": {}}]}},
                    "required": ["detail"],
                }
            }
        },
    }
}


class SetupState(BaseModel):
    admin_pin_set: bool


class AdminPinBody(BaseModel):
    pairing_pin: Annotated[str, Field(min_length=1, max_length=16)]
    """The PIN shown on the projector: proves the person setting up is in the room."""
    admin_pin: Annotated[str, Field(min_length=1, max_length=32)]
    """6-12 digits, different from the pairing PIN."""


@router.get("")
async def setup_state(service: ServiceDep) -> SetupState:
    """Whether first-run setup is done (the admin PIN is set). No pairing needed."""
    return SetupState(admin_pin_set=service.pairing.admin_pin_set)


@router.post("/admin-pin", responses=SENTENCE_OR_LIST_422)
async def set_admin_pin(
    body: AdminPinBody, request: Request, response: Response, service: ServiceDep
) -> PairAnswer:
    """Set the admin PIN once and pair this tablet as admin. 409 when it is set already, 401 wrong
    pairing PIN (counts toward the 5-a-minute limit, then 429), 422 unacceptable admin PIN."""
    try:
        grant = await service.pairing.setup_admin(
            body.pairing_pin.strip(), body.admin_pin.strip(), client_address(request)
        )
    except ValueError as exc:
        message = str(exc)
        raise HTTPException(422, message[:1].upper() + message[1:]) from None
    return grant_answer(grant, response, service)
