"""Figures as ffmpeg filter chains: boxes on a transparent canvas, moved by time expressions.

A figure is drawn once per clip on its own ``yuva444p`` canvas (drawbox with ``replace=1`` writes
the alpha), optionally rescaled every frame (stepping closer = growing) and laid over the backdrop
by ``overlay`` with x/y expressions of ``t``. All positions come from the figure's ``Box`` in
picture units, the same numbers the manifest's hit zones are built from.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.demo_library.staging import (
    AIMING_ARM,
    ARMS_DOWN,
    ARMS_UP,
    HEAD,
    LEGS,
    TORSO,
    UPPER_ARMS,
    WEAPON,
    Box,
    FigureScript,
    Mood,
    Motion,
    Pose,
)

MOOD_COLOURS: dict[Mood, str] = {
    Mood.calm: "0x3E9B5A",
    Mood.uneasy: "0xD9A93A",
    Mood.agitated: "0xE06A1F",
    Mood.hostile: "0xC62828",
    Mood.distressed: "0x7E57C2",
    Mood.bystander: "0x5B8DB8",
}
"""Clothing (torso and arms) colour by mood, as ffmpeg colours."""
SKIN = "0xD9A679"
TROUSERS = "0x2F3542"
EYES = "0x222222"
WEAPON_COLOUR = "0x111111"


@dataclass(frozen=True)
class MotionPath:
    """How a figure moves: offsets (picture units) and a size factor, as expressions of t."""

    dx: str = "0"
    dy: str = "0"
    scale: str = "1"
    max_scale: float = 1.0


def motion_path(motion: Motion, duration_s: float) -> MotionPath:
    """The time expressions for ``motion`` over a clip of ``duration_s``."""
    progress = f"min(t/{duration_s},1)"
    match motion:
        case Motion.still:
            return MotionPath()
        case Motion.sway:
            return MotionPath(dx="0.008*sin(2*PI*t*0.7)")
        case Motion.pace:
            return MotionPath(dx="0.12*sin(2*PI*t/4)")
        case Motion.approach:
            return MotionPath(dy=f"0.06*{progress}", scale=f"1+0.4*{progress}", max_scale=1.4)
        case Motion.lunge:
            fast = "min(t/1.2,1)"
            return MotionPath(dy=f"0.08*{fast}", scale=f"1+0.8*{fast}", max_scale=1.8)
        case Motion.retreat:
            return MotionPath(dy=f"-0.03*{progress}", scale=f"1-0.15*{progress}")
        case Motion.climb:
            return MotionPath(dy=f"-0.16*min(t/{duration_s * 0.7},1)")


def figure_source(figure: FigureScript, size: tuple[int, int], fps: int, duration_s: float) -> str:
    """A filter chain (no input label) producing the figure on a transparent canvas."""
    path = motion_path(figure.motion, duration_s)
    canvas_w = max(2, round(figure.box.w * size[0] * path.max_scale))
    canvas_h = max(2, round(figure.box.h * size[1] * path.max_scale))
    filters = [
        f"color=c=black@0.0:s={canvas_w}x{canvas_h}:r={fps}:d={duration_s}",
        "format=yuva444p",
        *_body(figure, (canvas_w, canvas_h)),
    ]
    if path.scale != "1":
        factor = f"({path.scale})/{path.max_scale}"
        filters.append(f"scale=w='max(1,round(iw*{factor}))':h='max(1,round(ih*{factor}))':eval=frame")
    if figure.pose is Pose.down:
        filters.append("transpose=clock")
    return ",".join(filters)


def overlay_expressions(figure: FigureScript, duration_s: float) -> tuple[str, str]:
    """overlay's x and y: the canvas centred on the figure's centre line, feet on its ground line."""
    path = motion_path(figure.motion, duration_s)
    centre_x = figure.box.x + figure.box.w / 2
    feet_y = figure.box.y + figure.box.h
    return (
        f"({centre_x:.5f}+{path.dx})*main_w-overlay_w/2",
        f"({feet_y:.5f}+{path.dy})*main_h-overlay_h",
    )


def _body(figure: FigureScript, canvas: tuple[int, int]) -> list[str]:
    """drawbox filters for every body part, in the canvas's pixels."""
    clothes = MOOD_COLOURS[figure.mood]
    parts = [_part(leg, canvas, TROUSERS) for leg in LEGS]
    parts.append(_part(TORSO, canvas, clothes))
    parts += _head(canvas)
    match figure.pose:
        case Pose.arms_down | Pose.down:
            parts += [_part(arm, canvas, clothes) for arm in ARMS_DOWN]
        case Pose.hands_up:
            parts += [_part(arm, canvas, clothes) for arm in ARMS_UP]
        case Pose.hands_hidden:
            parts += [_part(arm, canvas, clothes) for arm in UPPER_ARMS]
        case Pose.aiming:
            raised = f"gte(t,{figure.weapon_from_s or 0.0})"
            hidden = f"lt(t,{figure.weapon_from_s or 0.0})"
            parts += [
                _part(UPPER_ARMS[0], canvas, clothes),
                _part(UPPER_ARMS[1], canvas, clothes, enable=hidden),
                _part(AIMING_ARM, canvas, clothes, enable=raised),
                _part(WEAPON, canvas, WEAPON_COLOUR, enable=raised),
            ]
    return parts


def _head(canvas: tuple[int, int]) -> list[str]:
    """A roundish head: a wide box and a tall box crossed, plus eyes when there is room."""
    wide = Box(HEAD.x, HEAD.y + HEAD.h * 0.2, HEAD.w, HEAD.h * 0.6)
    tall = Box(HEAD.x + HEAD.w * 0.2, HEAD.y, HEAD.w * 0.6, HEAD.h)
    parts = [_part(wide, canvas, SKIN), _part(tall, canvas, SKIN)]
    if HEAD.w * canvas[0] >= 12:
        eyes = (
            Box(HEAD.x + HEAD.w * x, HEAD.y + HEAD.h * 0.35, HEAD.w * 0.12, HEAD.h * 0.14)
            for x in (0.28, 0.6)
        )
        parts += [_part(eye, canvas, EYES) for eye in eyes]
    return parts


def _part(box: Box, canvas: tuple[int, int], colour: str, *, enable: str | None = None) -> str:
    """One filled box on the canvas, replacing its alpha (never zero-sized: 0 = whole canvas)."""
    width, height = canvas
    x, y = round(box.x * width), round(box.y * height)
    w, h = max(1, round(box.w * width)), max(1, round(box.h * height))
    when = f":enable='{enable}'" if enable else ""
    return f"drawbox=x={x}:y={y}:w={w}:h={h}:c={colour}:t=fill:replace=1{when}"
