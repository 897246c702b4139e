"""The vocabulary the demo scenarios are written in: figure geometry, staging, scene and scenario scripts.

Everything the renderer draws and everything the manifest says about positions comes from these
numbers, so a hit zone always sits over the figure it names. Coordinates are normalised to the
picture (0..1 on both axes) and multiplied by the render size only when drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from appliance.scenario.model import (
    FORMAT_V1,
    Audience,
    Choice,
    OnHit,
    OnInput,
    Rect,
    RubricItem,
    Timeout,
    Zone,
)


@dataclass(frozen=True)
class Box:
    """A rectangle in normalised picture coordinates."""

    x: float
    y: float
    w: float
    h: float

    def part(self, relative: Box) -> Box:
        """The sub-rectangle ``relative`` (given in this box's own 0..1 units) in picture units."""
        return Box(
            self.x + relative.x * self.w,
            self.y + relative.y * self.h,
            relative.w * self.w,
            relative.h * self.h,
        )

    def centre(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)

    def as_rect(self) -> Rect:
        """The manifest's ``rect`` area for this box, rounded to 4 decimals."""
        return Rect(x=round(self.x, 4), y=round(self.y, 4), w=round(self.w, 4), h=round(self.h, 4))


FIGURE_WIDTH_PER_HEIGHT = 0.28
"""Figure box width (in picture widths) per unit of height (in picture heights); ~1:2 at 16:9."""


def standing_figure(centre_x: float, feet_y: float, height: float) -> Box:
    """The box of a standing figure whose feet touch ``feet_y``, centred on ``centre_x``."""
    width = height * FIGURE_WIDTH_PER_HEIGHT
    return Box(centre_x - width / 2, feet_y - height, width, height)


# Body parts, in the figure box's own units. The zones below are built from the same boxes.
HEAD = Box(0.35, 0.06, 0.30, 0.15)
TORSO = Box(0.28, 0.22, 0.44, 0.36)
LEGS = (Box(0.30, 0.58, 0.18, 0.42), Box(0.52, 0.58, 0.18, 0.42))
ARMS_DOWN = (Box(0.10, 0.23, 0.16, 0.33), Box(0.74, 0.23, 0.16, 0.33))
ARMS_UP = (Box(0.10, 0.00, 0.16, 0.30), Box(0.74, 0.00, 0.16, 0.30))
UPPER_ARMS = (Box(0.12, 0.23, 0.14, 0.16), Box(0.74, 0.23, 0.14, 0.16))
"""Hands hidden behind the back: only the upper arms show."""
AIMING_ARM = Box(0.60, 0.25, 0.30, 0.10)
WEAPON = Box(0.84, 0.20, 0.16, 0.10)


class Setting(StrEnum):
    waiting_room = "waiting-room"
    bridge = "bridge"
    parking_lot = "parking-lot"


class Mood(StrEnum):
    """What the figure's clothing colour signals."""

    calm = "calm"
    uneasy = "uneasy"
    agitated = "agitated"
    hostile = "hostile"
    distressed = "distressed"
    bystander = "bystander"


class Pose(StrEnum):
    arms_down = "arms-down"
    hands_hidden = "hands-hidden"
    hands_up = "hands-up"
    aiming = "aiming"
    """Hands hidden until ``weapon_from_s``, then the weapon arm comes up."""
    down = "down"
    """Lying on the ground (the standing figure turned on its side)."""


class Motion(StrEnum):
    still = "still"
    sway = "sway"
    pace = "pace"
    approach = "approach"
    lunge = "lunge"
    retreat = "retreat"
    climb = "climb"


class Speaker(StrEnum):
    subject = "subject"
    narrator = "narrator"


@dataclass(frozen=True)
class FigureScript:
    """A figure in the picture: where it stands at the start and how it behaves."""

    box: Box
    mood: Mood
    pose: Pose = Pose.arms_down
    motion: Motion = Motion.still
    weapon_from_s: float | None = None


@dataclass(frozen=True)
class SceneScript:
    """One scene: its clip (length, staging, line) and its place in the manifest's graph."""

    id: str
    title: str
    duration_s: float
    line: str
    subject: FigureScript
    speaker: Speaker = Speaker.subject
    bystander: FigureScript | None = None
    description: str | None = None
    title_card: bool = False
    shots_fired: bool = False
    choices: tuple[Choice, ...] = ()
    on_end: str | None = None
    timeout: Timeout | None = None
    on_hit: tuple[OnHit, ...] = ()
    on_input: tuple[OnInput, ...] = ()
    zones: tuple[Zone, ...] = ()
    outcome: str | None = None


@dataclass(frozen=True)
class ScenarioScript:
    id: str
    title: str
    summary: str
    audience: tuple[Audience, ...]
    objectives: tuple[str, ...]
    duration_s: float
    setting: Setting
    scenes: tuple[SceneScript, ...]
    rubric: tuple[RubricItem, ...]
    version: str = "1"
    start: str = field(default="intro")

    def scene(self, scene_id: str) -> SceneScript:
        return next(s for s in self.scenes if s.id == scene_id)


def source_clip_path(scene: SceneScript) -> str:
    """Where a scene's rendered intermediate clip lives, relative to the folder the packer reads."""
    return f"media/{scene.id}.mkv"


def manifest_for(scenario: ScenarioScript) -> dict[str, Any]:
    """The scenario's source manifest (format v1, one clip per scene) as plain data.

    The packer rewrites every scene's media, start_s and end_s to its segment of the joined file.
    """
    return {
        "format": FORMAT_V1,
        "id": scenario.id,
        "title": scenario.title,
        "version": scenario.version,
        "summary": scenario.summary,
        "audience": [str(a) for a in scenario.audience],
        "objectives": list(scenario.objectives),
        "duration_s": scenario.duration_s,
        "start": scenario.start,
        "scenes": {scene.id: _scene_entry(scene) for scene in scenario.scenes},
        "rubric": [item.model_dump(mode="json", exclude_defaults=True) for item in scenario.rubric],
    }


def _scene_entry(scene: SceneScript) -> dict[str, Any]:
    entry: dict[str, Any] = {"title": scene.title, "media": source_clip_path(scene)}
    if scene.description:
        entry["description"] = scene.description
    if scene.choices:
        entry["choices"] = [c.model_dump(mode="json", exclude_defaults=True) for c in scene.choices]
    if scene.on_end:
        entry["on_end"] = scene.on_end
    if scene.timeout:
        entry["timeout"] = scene.timeout.model_dump(mode="json")
    if scene.on_hit:
        entry["on_hit"] = [h.model_dump(mode="json", exclude_none=True) for h in scene.on_hit]
    if scene.on_input:
        entry["on_input"] = [i.model_dump(mode="json") for i in scene.on_input]
    if scene.zones:
        entry["zones"] = [
            {**z.model_dump(mode="json", exclude_none=True, exclude={"area"}), "area": z.area.model_dump()}
            for z in scene.zones
        ]
    if scene.outcome:
        entry["outcome"] = scene.outcome
    return entry


@dataclass(frozen=True)
class Backdrop:
    """A setting's flat scenery: a base colour, boxes drawn in order, and an optional sign."""

    base: str
    boxes: tuple[tuple[Box, str], ...]
    sign: tuple[Box, str] | None = None


def _posts(xs: tuple[float, ...], y: float, w: float, h: float, colour: str) -> tuple[tuple[Box, str], ...]:
    return tuple((Box(x, y, w, h), colour) for x in xs)


BACKDROPS: dict[Setting, Backdrop] = {
    Setting.waiting_room: Backdrop(
        base="0xB7C2B2",  # pale green-grey walls
        boxes=(
            (Box(0.0, 0.72, 1.0, 0.28), "0x6B6A5F"),  # floor
            (Box(0.0, 0.71, 1.0, 0.012), "0x4E4D45"),  # skirting
            (Box(0.80, 0.30, 0.12, 0.41), "0x8C7B62"),  # door to the treatment area
            (Box(0.83, 0.36, 0.06, 0.10), "0xD8E4EA"),  # door window
            *_posts((0.03, 0.12, 0.21), 0.55, 0.075, 0.07, "0x2F5D8A"),  # chair backs
            *_posts((0.03, 0.12, 0.21), 0.62, 0.075, 0.04, "0x264B70"),  # chair seats
            *_posts((0.04, 0.095, 0.13, 0.185, 0.22, 0.275), 0.66, 0.008, 0.06, "0x333333"),  # chair legs
        ),
        sign=(Box(0.36, 0.16, 0.28, 0.08), "WAITING ROOM"),
    ),
    Setting.bridge: Backdrop(
        base="0x34476E",  # dusk blue
        boxes=(
            (Box(0.0, 0.0, 1.0, 0.22), "0x26355A"),  # upper sky
            (Box(0.0, 0.40, 1.0, 0.05), "0xC9826B"),  # last light on the horizon
            (Box(0.0, 0.45, 1.0, 0.04), "0x8A6A7A"),
            (Box(0.0, 0.49, 1.0, 0.31), "0x1E2A44"),  # water
            (Box(0.0, 0.80, 1.0, 0.20), "0x5A5F66"),  # walkway
            (Box(0.0, 0.60, 1.0, 0.015), "0xB0B4B8"),  # railing top
            (Box(0.0, 0.70, 1.0, 0.01), "0x8C9096"),  # middle rail
            *_posts(tuple(i / 10 + 0.02 for i in range(10)), 0.60, 0.012, 0.20, "0x8C9096"),
            (Box(0.86, 0.22, 0.012, 0.58), "0x2B2B2B"),  # lamp post
            (Box(0.845, 0.21, 0.042, 0.025), "0xFFE9A8"),  # lamp
        ),
    ),
    Setting.parking_lot: Backdrop(
        base="0x4B4C4F",  # asphalt
        boxes=(
            (Box(0.0, 0.0, 1.0, 0.30), "0x6F7A86"),  # building wall
            *_posts((0.06, 0.26, 0.46, 0.66, 0.86), 0.08, 0.10, 0.10, "0x9FB4C4"),  # windows
            (Box(0.0, 0.30, 1.0, 0.02), "0x2E2F31"),  # kerb
            (Box(0.0, 0.45, 1.0, 0.008), "0xD8D8D0"),  # end of the bays
            *_posts((0.08, 0.30, 0.52, 0.74, 0.96), 0.45, 0.008, 0.55, "0xD8D8D0"),  # bay lines
            (Box(0.19, 0.40, 0.19, 0.11), "0x5E1A1E"),  # car cabin
            (Box(0.21, 0.42, 0.15, 0.07), "0x9FB4C4"),  # car windows
            (Box(0.14, 0.50, 0.30, 0.17), "0x7A1F24"),  # car body
            (Box(0.17, 0.65, 0.05, 0.06), "0x151515"),  # wheels
            (Box(0.36, 0.65, 0.05, 0.06), "0x151515"),
        ),
    ),
}
