"""Admin: install a scenario package (.zip upload) into the library, or remove one."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from appliance.scenario.install import (
    MAX_UPLOAD_BYTES,
    InstallRefused,
    incoming_path,
    install_package,
    remove_package,
)
from appliance.scenario.media_probe import find_media_tools
from web_ui.deps import AdminDep, ServiceDep
from web_ui.routers.scenarios import card

router = APIRouter(prefix="/api/admin/scenarios", tags=["admin"])

ZIP_MAGIC = b"PK\x03\x04"


def _refused(exc: InstallRefused) -> JSONResponse:
    return JSONResponse(
        {
            "detail": f"the package was not installed: {exc.problems[0]}",
            "problems": [str(p) for p in exc.problems],
        },
        status_code=exc.status,
    )


async def _receive(request: Request, target: Path) -> int:
    """Stream the request body to ``target`` (never all in memory); 413 past the size limit."""
    loop = asyncio.get_running_loop()
    size = 0
    with target.open("wb") as fh:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise HTTPException(413, f"a scenario package may be at most {MAX_UPLOAD_BYTES >> 30} GiB")
            await loop.run_in_executor(None, fh.write, chunk)
    return size


@router.post("", status_code=201, responses={409: {"description": "the id is installed already"}})
async def install(
    request: Request,
    service: ServiceDep,
    client: AdminDep,
    replace: Annotated[bool, Query(description="replace an installed scenario with the same id")] = False,
) -> Any:
    """Upload a scenario package .zip as the request body (Content-Type application/zip). It is
    checked completely (manifest, every rule, every media file decoded) before it joins the
    library; 422 lists every problem and leaves nothing behind."""
    library = service.library
    upload = incoming_path(library)
    try:
        size = await _receive(request, upload)
        with upload.open("rb") as fh:
            if size == 0 or fh.read(4) != ZIP_MAGIC:
                raise HTTPException(422, "the upload is not a .zip scenario package")
        live = service.controller.live
        tools = find_media_tools()
        installed = await asyncio.get_running_loop().run_in_executor(
            None, lambda: install_package(upload, library, tools, replace=replace)
        )
    except InstallRefused as exc:
        return _refused(exc)
    finally:
        upload.unlink(missing_ok=True)
    if live is not None and live.status != "ended" and live.row.scenario_id == installed.package.id:
        note = "the running session keeps the version it started with"
    else:
        note = ""
    return {**card(installed.package), "replaced": installed.replaced, "note": note}


@router.delete("/{scenario_id}")
async def remove(scenario_id: str, service: ServiceDep, client: AdminDep) -> Any:
    """Remove an installed scenario package (its records stay)."""
    live = service.controller.live
    if live is not None and live.status != "ended" and live.row.scenario_id == scenario_id:
        raise HTTPException(409, "that scenario is running: end the session first")
    try:
        source = await asyncio.get_running_loop().run_in_executor(
            None, remove_package, service.library, scenario_id
        )
    except InstallRefused as exc:
        return _refused(exc)
    return {"detail": f"removed {source.name}"}
