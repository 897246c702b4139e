from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from web_ui.deps import TOKEN_COOKIE, ClientDep, ServiceDep, bearer_token

router = APIRouter(prefix="/api/auth", tags=["auth"])


class PairBody(BaseModel):
    pin: Annotated[str, Field(min_length=1, max_length=16)]


class PairAnswer(BaseModel):
    token: str
    csrf_token: str
    role: str


@router.post("/pair")
async def pair(body: PairBody, request: Request, response: Response, service: ServiceDep) -> PairAnswer:
    """Pair a tablet with the PIN shown on the projector. 401 wrong PIN, 429 after 5 misses a minute."""
    client = request.client.host if request.client else "unknown"
    grant = await service.pairing.pair(body.pin.strip(), client)
    response.set_cookie(
        TOKEN_COOKIE,
        grant.token,
        httponly=True,
        samesite="strict",
        max_age=int(service.settings.web.token_ttl_h * 3600),
    )
    return PairAnswer(token=grant.token, csrf_token=grant.csrf_token, role=grant.role)


@router.post("/unpair")
async def unpair(
    request: Request, response: Response, client: ClientDep, service: ServiceDep
) -> dict[str, str]:
    """Forget this tablet's token."""
    token = bearer_token(request.headers.get("authorization")) or request.cookies.get(TOKEN_COOKIE, "")
    await service.pairing.revoke(token)
    response.delete_cookie(TOKEN_COOKIE)
    return {"detail": "unpaired"}
