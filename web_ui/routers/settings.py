"""Admin: the settings in force, and changes written as overrides (applied at the next start)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from appliance.settings_admin import SettingsRejected, change_settings, settings_view
from web_ui.deps import AdminDep, ServiceDep

router = APIRouter(prefix="/api/admin/settings", tags=["admin"])


class SettingsChange(BaseModel):
    changes: dict[str, Any]
    """A nested mapping of the settings to change, e.g. {"camera": {"display_latency_ms": 60}};
    null removes an override."""


@router.get("")
async def get_settings(service: ServiceDep, client: AdminDep) -> dict[str, Any]:
    """The settings in force (secrets shown only as "set"), the overrides made here, and when they apply."""
    return settings_view(service.settings)


@router.patch("")
async def patch_settings(body: SettingsChange, service: ServiceDep, client: AdminDep) -> dict[str, Any]:
    """Check the whole settings tree with the change and write it as overrides; 422 names every
    wrong field and writes nothing. Takes effect at the next start of the service."""
    try:
        return change_settings(service.settings, body.changes)
    except SettingsRejected as exc:
        raise HTTPException(422, "; ".join(exc.problems)) from None
