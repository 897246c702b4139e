"""The scenario library: cards, one scenario's detail, its thumbnail and its branch graph."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from appliance.rubric import rubric_items
from appliance.scenario.graph_svg import render_graph_svg
from appliance.scenario.load import ScenarioPackage
from appliance.snapshot import choice_json
from web_ui.deps import ClientDep, ServiceDep

router = APIRouter(prefix="/api/scenarios", tags=["scenarios"])


def card(package: ScenarioPackage) -> dict[str, Any]:
    m = package.manifest
    base = f"/api/scenarios/{quote(m.id)}"
    return {
        "id": m.id,
        "title": m.title,
        "version": m.version,
        "summary": m.summary,
        "audience": [a.value for a in m.audience],
        "objectives": list(m.objectives),
        "duration_s": m.duration_s,
        "scene_count": len(m.scenes),
        "start": m.start,
        "rubric": rubric_items(m),
        "thumbnail_url": f"{base}/thumbnail.jpg",
        "graph_url": f"{base}/graph.svg",
    }


@router.get("")
async def list_scenarios(service: ServiceDep, client: ClientDep) -> list[dict[str, Any]]:
    """The scenario library as cards, sorted by title."""
    return [card(p) for p in service.library.list()]


@router.get("/{scenario_id}")
async def get_scenario(scenario_id: str, service: ServiceDep, client: ClientDep) -> dict[str, Any]:
    """One scenario: its card (with the full rubric, built-ins first) and its scenes."""
    package = service.library.get(scenario_id)
    m = package.manifest
    scenes = {}
    for sid, scene in m.scenes.items():
        scenes[sid] = scene.model_dump(mode="json", exclude={"choices"})
        scenes[sid]["choices"] = [choice_json(c) for c in scene.choices]
    return {**card(package), "scenes": scenes}


@router.get("/{scenario_id}/thumbnail.jpg", response_class=Response)
async def thumbnail(scenario_id: str, service: ServiceDep, client: ClientDep) -> Response:
    """A frame of the start scene (JPEG, cached; 404 with a reason if none can be made)."""
    package = service.library.get(scenario_id)
    if service.frames is None:
        raise HTTPException(404, "frames are not available on this box")
    data = await service.frames.thumbnail(package)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"})


@router.get("/{scenario_id}/graph.svg", response_class=Response)
async def graph(
    scenario_id: str,
    service: ServiceDep,
    client: ClientDep,
    path: Annotated[str, Query(max_length=20_000, description="scene ids played, comma-separated")] = "",
) -> Response:
    """The branch graph as SVG: choices solid, automatic transitions dashed, ``path`` highlighted."""
    package = service.library.get(scenario_id)
    scenes = [s for s in path.split(",") if s]
    svg = render_graph_svg(package.manifest, scenes)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=60"})
