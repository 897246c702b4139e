"""The running session as the controller holds it: scene, pause bookkeeping, scene time."""

from __future__ import annotations

from dataclasses import dataclass, field

from appliance.records import EventRow, SessionRow
from appliance.scenario.load import ScenarioPackage
from appliance.scenario.model import Scene, Zone
from appliance.scene_timers import SceneTimers


@dataclass
class LiveSession:
    row: SessionRow
    package: ScenarioPackage
    started_mono: float
    timers: SceneTimers
    status: str = "running"  # running | paused | ended
    outcome: str | None = None
    scene_id: str = ""
    token: int = 0
    next_token: int | None = None
    """The player was told to run on into the scene's ``on_end`` successor under this token."""
    scene_started_mono: float = 0.0
    scene_paused_total: float = 0.0
    paused_at: float | None = None
    held: bool = False
    seq: int = 0
    events: list[EventRow] = field(default_factory=list)
    path: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.row.id

    @property
    def scene(self) -> Scene:
        return self.package.manifest.scenes[self.scene_id]

    def scene_time(self, t_mono: float) -> float:
        """Seconds of the current scene that had played at ``t_mono`` (pauses excluded)."""
        paused = self.scene_paused_total
        if self.paused_at is not None and t_mono >= self.paused_at:
            paused += t_mono - self.paused_at
        return max(0.0, t_mono - self.scene_started_mono - paused)

    def session_time(self, t_mono: float) -> float:
        return max(0.0, t_mono - self.started_mono)

    def zones_at(self, x: float, y: float, scene_t: float) -> list[Zone]:
        return [z for z in self.scene.zones if z.active_at(scene_t) and z.area.contains(x, y)]
