"""Scenario package format v1: the manifest's typed model.

A scenario package is a folder (or a .zip of one) holding ``manifest.yaml`` (or ``manifest.json``)
and its media. This module is only the shape of the manifest; loading, zip handling and the
semantic checks (reachability, dead ends, missing media) live in ``load.py`` and ``validate.py``.
docs/scenarios.md is the authors' reference and must change together with this file.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

FORMAT_V1 = "openrange-scenario/1"

Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
"""Scene, choice, zone and rubric ids: lower-case letters, digits, '-' and '_'."""

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
"""A normalised video coordinate: 0 is the left/top edge, 1 the right/bottom edge."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Audience(StrEnum):
    healthcare = "healthcare"
    law_enforcement = "law-enforcement"
    corrections = "corrections"
    school = "school"
    mental_health = "mental-health"
    security = "security"


class ChoiceKind(StrEnum):
    """What an instructor choice means for the subject's behaviour."""

    comply = "comply"
    de_escalate = "de-escalate"
    escalate = "escalate"
    neutral = "neutral"


class ZoneKind(StrEnum):
    threat = "threat"
    no_shoot = "no-shoot"
    vital = "vital"
    non_vital = "non-vital"
    cover = "cover"
    other = "other"


class Choice(_Strict):
    """A branch button on the instructor's tablet."""

    id: Identifier
    label: str = Field(min_length=1, max_length=60)
    goto: Identifier
    kind: ChoiceKind = ChoiceKind.neutral
    colour: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    """Button colour; defaults by kind (green de-escalate, blue comply, red escalate, grey neutral)."""
    hotkey: str | None = Field(default=None, pattern=r"^[0-9a-z]$")


class Timeout(_Strict):
    """Go to another scene when the scene has run this long with no other transition."""

    after_s: float = Field(gt=0)
    goto: Identifier


class OnHit(_Strict):
    """Go to another scene when a hit lands in a zone (by zone id) or any zone of a kind."""

    goto: Identifier
    zone: Identifier | None = None
    kind: ZoneKind | None = None

    @model_validator(mode="after")
    def _one_target(self) -> OnHit:
        if (self.zone is None) == (self.kind is None):
            raise ValueError("give exactly one of 'zone' or 'kind'")
        return self


class OnInput(_Strict):
    """Go to another scene when a named GPIO input is pressed (e.g. 'branch1', 'trigger')."""

    input: Identifier
    goto: Identifier


class Rect(_Strict):
    shape: Literal["rect"] = "rect"
    x: Unit
    y: Unit
    w: Unit
    h: Unit

    @model_validator(mode="after")
    def _inside(self) -> Rect:
        if self.x + self.w > 1.0 + 1e-9 or self.y + self.h > 1.0 + 1e-9:
            raise ValueError("rectangle reaches outside the picture (x+w and y+h must be <= 1)")
        return self

    def contains(self, px: float, py: float) -> bool:
        return self.x <= px <= self.x + self.w and self.y <= py <= self.y + self.h


class Circle(_Strict):
    shape: Literal["circle"]
    cx: Unit
    cy: Unit
    r: float = Field(gt=0, le=0.5)

    def contains(self, px: float, py: float) -> bool:
        return (px - self.cx) ** 2 + (py - self.cy) ** 2 <= self.r**2


class Polygon(_Strict):
    shape: Literal["polygon"]
    points: list[tuple[Unit, Unit]] = Field(min_length=3, max_length=64)

    def contains(self, px: float, py: float) -> bool:
        inside = False
        pts = self.points
        j = len(pts) - 1
        for i, (xi, yi) in enumerate(pts):
            xj, yj = pts[j]
            if (yi > py) != (yj > py) and px < (xj - xi) * (py - yi) / (yj - yi) + xi:
                inside = not inside
            j = i
        return inside


def _shape_tag(value: object) -> str | None:
    """The zone shape's tag; a mapping without 'shape' is a rect (the documented default)."""
    if isinstance(value, dict):
        tag = value.get("shape", "rect")
        return tag if isinstance(tag, str) else None
    return getattr(value, "shape", None)


Shape = Annotated[
    Annotated[Rect, Tag("rect")] | Annotated[Circle, Tag("circle")] | Annotated[Polygon, Tag("polygon")],
    Discriminator(
        _shape_tag,
        custom_error_type="invalid_shape",
        custom_error_message="shape must be 'rect', 'circle' or 'polygon'",
    ),
]


class Zone(_Strict):
    """A hit zone over the video, active between from_s and to_s of the scene's own time."""

    id: Identifier
    kind: ZoneKind
    label: str | None = None
    area: Shape
    from_s: float = Field(default=0.0, ge=0)
    to_s: float | None = Field(default=None, gt=0)

    def active_at(self, scene_t: float) -> bool:
        return self.from_s <= scene_t and (self.to_s is None or scene_t <= self.to_s)


class Cue(_Strict):
    """Switch a GPIO output of the box on for a while at a moment of the scene (e.g. the
    threat-fire relay when the subject shoots). Whether the box has the output is checked when
    a session starts, not here: packages do not know the box they will play on."""

    at_s: float = Field(ge=0)
    """Scene time (pauses excluded) when the output switches on."""
    output: Identifier
    """The output's name in the box's settings, e.g. 'threat_relay', 'lights'."""
    duration_s: float = Field(gt=0, le=10)
    """How long it stays on, in seconds (at most 10)."""


class Scene(_Strict):
    """One video segment of the scenario and the ways out of it."""

    title: str = Field(min_length=1, max_length=120)
    media: str = Field(min_length=1)
    """Path of the media file, relative to the package root."""
    start_s: float = Field(default=0.0, ge=0)
    """Where the segment starts in the media file (several scenes may share one file)."""
    end_s: float | None = Field(default=None, gt=0)
    """Where the segment ends in the media file; None = the end of the file."""
    description: str | None = None
    choices: list[Choice] = Field(default_factory=list, max_length=8)
    on_end: Identifier | None = None
    """Scene to play when this segment ends; None = hold the last frame for the instructor."""
    timeout: Timeout | None = None
    on_hit: list[OnHit] = Field(default_factory=list)
    on_input: list[OnInput] = Field(default_factory=list)
    zones: list[Zone] = Field(default_factory=list)
    cues: list[Cue] = Field(default_factory=list, max_length=32)
    """GPIO output cues at moments of the scene."""
    outcome: str | None = Field(default=None, min_length=1, max_length=60)
    """Set on an ending scene: the session ends with this outcome when the segment ends."""

    @model_validator(mode="after")
    def _segment(self) -> Scene:
        if self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError("end_s must be after start_s")
        if self.end_s is not None:
            length = self.end_s - self.start_s
            late = [f"cues[{i}].at_s" for i, c in enumerate(self.cues) if c.at_s >= length]
            if late:
                raise ValueError(
                    f"{', '.join(late)}: at or after the segment's end ({length:g} s of scene time)"
                )
        return self

    def targets(self) -> list[tuple[str, str]]:
        """Every (how, scene id) this scene can lead to."""
        out = [(f"choice {c.id}", c.goto) for c in self.choices]
        if self.on_end:
            out.append(("on_end", self.on_end))
        if self.timeout:
            out.append(("timeout", self.timeout.goto))
        out += [(f"on_hit {h.zone or h.kind}", h.goto) for h in self.on_hit]
        out += [(f"on_input {i.input}", i.goto) for i in self.on_input]
        return out


class RubricItem(_Strict):
    """A de-escalation skill the instructor scores, 0..max_score."""

    id: Identifier
    label: str = Field(min_length=1, max_length=80)
    max_score: int = Field(default=3, ge=1, le=10)
    description: str | None = None


class Manifest(_Strict):
    format: Literal["openrange-scenario/1"]
    id: Identifier
    title: str = Field(min_length=1, max_length=120)
    version: str = "1"
    summary: str = ""
    audience: list[Audience] = Field(min_length=1)
    objectives: list[str] = Field(default_factory=list)
    duration_s: float | None = Field(default=None, gt=0)
    """Typical running time, shown on the library card."""
    start: Identifier
    scenes: dict[Identifier, Scene] = Field(min_length=1)
    rubric: list[RubricItem] = Field(default_factory=list)
