from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from web_ui.deps import ServiceDep

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health")
async def health(service: ServiceDep) -> dict[str, Any]:
    """Liveness and readiness, hardware warnings, library size. No pairing needed."""
    return service.health()
