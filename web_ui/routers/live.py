"""The live view: a small JPEG of what the projector shows now."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from web_ui.deps import ClientDep, ServiceDep

router = APIRouter(prefix="/api/live", tags=["live"])


@router.get("/frame.jpg", response_class=Response)
async def live_frame(service: ServiceDep, client: ClientDep) -> Response:
    """What the projector shows (scene frame, black when blank-paused, the idle card when idle).

    At most 640 px wide; decoded at most about twice a second, the cached frame in between.
    Hit markers are not drawn here: the tablet draws them from the hit events.
    """
    if service.frames is None:
        raise HTTPException(404, "frames are not available on this box")
    data = await service.frames.live(service.controller.projector_view())
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
