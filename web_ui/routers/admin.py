"""Admin-only endpoints: paired tablets, the pairing PIN, logs, xAPI status."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from appliance.errors import NotFound
from appliance.records import iso
from appliance.tokens_store import token_id
from web_ui.deps import AdminDep, ServiceDep

router = APIRouter(prefix="/api/admin", tags=["admin"])


@router.get("/tokens")
async def list_tokens(service: ServiceDep, client: AdminDep) -> list[dict[str, Any]]:
    """Paired tablets (unexpired tokens, revoked ones included), newest first."""
    return [
        {
            "id": token_id(t["token_hash"]),
            "role": t["role"],
            "client": t["client"],
            "paired_at": iso(t["created_wall"]),
            "expires_at": iso(t["expires_wall"]),
            "revoked": t["revoked"],
            "current": t["token_hash"] == client.token_hash,
        }
        for t in await service.pairing.list_tokens()
    ]


@router.delete("/tokens/{token_id}")
async def revoke_token(token_id: str, service: ServiceDep, client: AdminDep) -> dict[str, str]:
    """Unpair a tablet: its next call gets 401 and its live feed closes. 404 unknown id."""
    await service.pairing.revoke_id(token_id)
    return {"detail": "revoked"}


@router.post("/pairing-pin/rotate")
async def rotate_pin(service: ServiceDep, client: AdminDep) -> dict[str, str]:
    """Choose a new pairing PIN; the projector's idle card shows it. Paired tablets stay paired."""
    await service.pairing.rotate_pin()
    return {"detail": "new pairing PIN shown on the projector"}


def log_files(data_dir: Path) -> list[Path]:
    """The rotating log files, oldest first (openrange.log.5 ... openrange.log.1, openrange.log)."""
    log_dir = data_dir / "logs"
    backups = sorted(
        (p for p in log_dir.glob("openrange.log.*") if p.suffix[1:].isdigit()),
        key=lambda p: int(p.suffix[1:]),
        reverse=True,
    )
    current = log_dir / "openrange.log"
    return backups + ([current] if current.exists() else [])


@router.get("/logs", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def download_logs(service: ServiceDep, client: AdminDep) -> Response:
    """The service's log files, oldest first, as one text download. 404 when there is no log file."""
    files = log_files(service.settings.data_dir)
    if not files:
        raise NotFound("no log file yet: the service logs to the journal only")

    def _read() -> bytes:
        return b"".join(f"===== {p.name} =====\n".encode() + p.read_bytes() for p in files)

    body = await asyncio.to_thread(_read)
    name = time.strftime("openrange-logs-%Y%m%d-%H%M%S.txt")
    return Response(
        body,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/xapi")
async def xapi_status(service: ServiceDep, client: AdminDep) -> dict[str, Any]:
    """The xAPI outbox: enabled, endpoint, statements queued and sent, last error, next retry."""
    if service.xapi is None:
        raise NotFound("xAPI is not available on this service")
    return await service.xapi.status()


@router.post("/xapi/retry")
async def xapi_retry(service: ServiceDep, client: AdminDep) -> dict[str, str]:
    """Send the queued statements now instead of waiting for the next retry."""
    if service.xapi is None:
        raise NotFound("xAPI is not available on this service")
    service.xapi.retry_now()
    return {"detail": "retrying now" if service.xapi.settings.enabled else "xAPI is disabled in the settings"}
