from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from appliance.scenario.load import ScenarioPackage
from appliance.snapshot import choice_json
from web_ui.deps import ClientDep, ServiceDep

router = APIRouter(prefix="/api/scenarios", tags=["scenarios"])


def card(package: ScenarioPackage) -> dict[str, Any]:
    m = package.manifest
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
    }


@router.get("")
async def list_scenarios(service: ServiceDep, client: ClientDep) -> list[dict[str, Any]]:
    """The scenario library as cards, sorted by title."""
    return [card(p) for p in service.library.list()]


@router.get("/{scenario_id}")
async def get_scenario(scenario_id: str, service: ServiceDep, client: ClientDep) -> dict[str, Any]:
    """One scenario: its card, scenes with their choices and transitions, and rubric."""
    package = service.library.get(scenario_id)
    m = package.manifest
    scenes = {}
    for sid, scene in m.scenes.items():
        scenes[sid] = scene.model_dump(mode="json", exclude={"choices"})
        scenes[sid]["choices"] = [choice_json(c) for c in scene.choices]
    return {**card(package), "scenes": scenes, "rubric": [r.model_dump(mode="json") for r in m.rubric]}
