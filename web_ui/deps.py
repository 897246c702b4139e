"""Short dependency aliases for the routers: the service, and the paired client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, WebSocket

from appliance.controller import Controller
from appliance.service import Service

TOKEN_COOKIE = "openrange_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_service(request: Request) -> Service:
    return request.app.state.service


def get_controller(request: Request) -> Controller:
    return request.app.state.service.controller


@dataclass(frozen=True)
class Client:
    role: str
    via_cookie: bool
    token_hash: str = ""
    """SHA-256 of the tablet's token (the admin token list marks it as ``current``)."""
    address: str = ""
    """Where the tablet paired from."""
    paired_wall: float = 0.0
    expires_wall: float = 0.0


def bearer_token(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


async def paired_client(request: Request) -> Client:
    """The request's paired tablet; 401 without a valid token, 403 on a cookie without CSRF."""
    service: Service = request.app.state.service
    token = bearer_token(request.headers.get("authorization"))
    via_cookie = token is None
    if token is None:
        token = request.cookies.get(TOKEN_COOKIE)
    info = await service.pairing.check(token or "")
    if info is None:
        raise HTTPException(401, "Not paired: pair this tablet with the PIN shown on the screen")
    if via_cookie and request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != info["csrf"]:
        raise HTTPException(403, f"Missing or wrong {CSRF_HEADER} header for a cookie-authenticated request")
    return Client(
        role=str(info["role"]),
        via_cookie=via_cookie,
        token_hash=str(info.get("token_hash", "")),
        address=str(info.get("client", "")),
        paired_wall=float(info.get("created_wall", 0.0)),  # type: ignore[arg-type]
        expires_wall=float(info.get("expires_wall", 0.0)),  # type: ignore[arg-type]
    )


async def admin_client(client: Annotated[Client, Depends(paired_client)]) -> Client:
    """The request's paired tablet, which must hold the admin role (403 otherwise)."""
    if client.role != "admin":
        raise HTTPException(403, "This needs the admin role: pair with the admin PIN on the admin page")
    return client


async def websocket_paired(websocket: WebSocket) -> str | None:
    """The hash of the socket's valid token (truthy), or None when it is not paired."""
    service: Service = websocket.app.state.service
    token = websocket.query_params.get("token") or websocket.cookies.get(TOKEN_COOKIE) or ""
    info = await service.pairing.check(token)
    return str(info["token_hash"]) if info is not None else None


ServiceDep = Annotated[Service, Depends(get_service)]
ControllerDep = Annotated[Controller, Depends(get_controller)]
ClientDep = Annotated[Client, Depends(paired_client)]
AdminDep = Annotated[Client, Depends(admin_client)]
