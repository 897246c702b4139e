from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from appliance.pairing import Grant
from appliance.records import iso
from appliance.service import Service
from web_ui.deps import TOKEN_COOKIE, ClientDep, ServiceDep, bearer_token

router = APIRouter(prefix="/api/auth", tags=["auth"])


class PairBody(BaseModel):
    pin: Annotated[str, Field(min_length=1, max_length=16)]


class PairAnswer(BaseModel):
    token: str
    csrf_token: str
    role: str


class MeAnswer(BaseModel):
    role: str
    client: str
    paired_at: str | None
    expires_at: str | None


def client_address(request: Request) -> str:
    """The address failed PINs are counted against."""
    return request.client.host if request.client else "unknown"


def grant_answer(grant: Grant, response: Response, service: Service) -> PairAnswer:
    """The pairing answer, with the token also set as an HTTP-only cookie."""
    response.set_cookie(
        TOKEN_COOKIE,
        grant.token,
        httponly=True,
        samesite="strict",
        max_age=int(service.settings.web.token_ttl_h * 3600),
    )
    return PairAnswer(token=grant.token, csrf_token=grant.csrf_token, role=grant.role)


@router.post("/pair")
async def pair(body: PairBody, request: Request, response: Response, service: ServiceDep) -> PairAnswer:
    """Pair a tablet: the projector's PIN gives the instructor role, the admin PIN the admin role.
    401 wrong PIN, 429 after 5 misses a minute."""
    grant = await service.pairing.pair(body.pin.strip(), client_address(request))
    return grant_answer(grant, response, service)


@router.get("/me")
async def me(client: ClientDep) -> MeAnswer:
    """This tablet's role, where it paired from, and when its pairing expires."""
    return MeAnswer(
        role=client.role,
        client=client.address,
        paired_at=iso(client.paired_wall) if client.paired_wall else None,
        expires_at=iso(client.expires_wall) if client.expires_wall else None,
    )


@router.post("/unpair")
async def unpair(
    request: Request, response: Response, client: ClientDep, service: ServiceDep
) -> dict[str, str]:
    """Forget this tablet's token."""
    token = bearer_token(request.headers.get("authorization")) or request.cookies.get(TOKEN_COOKIE, "")
    await service.pairing.revoke(token)
    response.delete_cookie(TOKEN_COOKIE)
    return {"detail": "unpaired"}
