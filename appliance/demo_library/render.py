"""Render one demo scene to an intermediate clip with ffmpeg (picture) and espeak-ng (voice).

The picture is a backdrop of flat boxes for the setting, figures built from boxes on a transparent
canvas (moved and scaled by time expressions through ``overlay``/``scale``), a title band, the
spoken line as a subtitle, on a scenario's first scene a title card, and in the top-left corner
the segment marker (``markers.py``). Text always reaches drawtext through ``textfile=`` in the
job's own folder, so no user text is ever escaped by hand.

The clip is an intermediate (lossless H.264 at the fastest preset, PCM audio in Matroska): the
package's one media file is encoded once, when the packer joins the scenes (``__init__.py``).
"""

from __future__ import annotations

import logging
import math
import shutil
import subprocess
import tempfile
import textwrap
import wave
from dataclasses import dataclass
from pathlib import Path

from appliance.demo_library.figures import figure_source, overlay_expressions
from appliance.demo_library.markers import marker_level, marker_rect
from appliance.demo_library.staging import BACKDROPS, Backdrop, Box, ScenarioScript, SceneScript, Speaker

log = logging.getLogger(__name__)

RENDERER_VERSION = "2"
"""Bump when the picture or sound changes: every cached package is rendered again."""

TITLE_CARD_S = 2.5
"""How long the scenario's title card covers the start of its first scene."""
SPEECH_LEAD_S = 0.4
"""Silence before the line is spoken in scenes without a title card."""
SPEECH_RATE_WPM = 160
VOICES = {Speaker.subject: "en-us", Speaker.narrator: "en-gb+f3"}
FFMPEG_QUIET = ("-nostdin", "-hide_banner", "-loglevel", "error")

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/share/fonts/dejavu"),
)


@dataclass(frozen=True)
class RenderTools:
    """The programs and fonts a render needs, found once per library build."""

    ffmpeg: str
    ffprobe: str
    espeak: str | None
    fonts: dict[str, Path]
    """'regular', 'bold' and 'italic' DejaVu Sans font files."""


def speech_available() -> bool:
    return shutil.which("espeak-ng") is not None


def find_tools() -> RenderTools:
    """Locate ffmpeg, espeak-ng (optional) and the DejaVu fonts, or raise RuntimeError."""
    ffmpeg, ffprobe = shutil.which("ffmpeg"), shutil.which("ffprobe")
    if ffmpeg is None:
        raise RuntimeError("ffmpeg not found: install it (apt install ffmpeg)")
    if ffprobe is None:
        raise RuntimeError("ffprobe not found: install it (apt install ffmpeg)")
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        log.warning("espeak-ng not found: demo clips get silent audio, the lines only as subtitles")
    names = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf", "italic": "DejaVuSans-Oblique.ttf"}
    fonts: dict[str, Path] = {}
    for role, name in names.items():
        found = next((d / name for d in FONT_DIRS if (d / name).is_file()), None)
        if found is None:
            raise RuntimeError(f"font {name} not found: install it (apt install fonts-dejavu-core)")
        fonts[role] = found
    return RenderTools(ffmpeg=ffmpeg, ffprobe=ffprobe, espeak=espeak, fonts=fonts)


def render_scene(
    scenario: ScenarioScript,
    scene: SceneScript,
    out_path: Path,
    *,
    scene_index: int,
    size: tuple[int, int],
    fps: int,
    tools: RenderTools,
) -> None:
    """Render ``scene`` of ``scenario`` to ``out_path`` (.mkv); RuntimeError names the clip if ffmpeg fails.

    ``scene_index`` is the scene's place in the manifest's scenes order (it picks the marker's grey).
    """
    label = f"{scenario.id}/{scene.id}"
    with tempfile.TemporaryDirectory(prefix="openrange-demo-") as tmp:
        job = _Job(Path(tmp), tools)
        speech_start = TITLE_CARD_S if scene.title_card else SPEECH_LEAD_S
        wav = job.speech(scene, max_s=scene.duration_s - speech_start - 0.2)
        graph = _scene_graph(job, scenario, scene, size, fps, speech_start, scene_index)
        audio_input = ["-i", wav.name] if wav else ["-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono"]
        delay_ms = round(speech_start * 1000)
        audio_graph = f"[1:a]adelay=delays={delay_ms}:all=1,apad,atrim=end={scene.duration_s}[a]"
        width, height = size
        command = [
            tools.ffmpeg,
            *FFMPEG_QUIET,
            "-f", "lavfi",
            "-i", f"color=c=0x000000:s={width}x{height}:r={fps}:d={scene.duration_s}",
            *audio_input,
            "-filter_complex", f"{graph};{audio_graph}",
            "-map", "[v]", "-map", "[a]",
            "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", "-r", str(fps),
            "-c:a", "pcm_s16le", "-ar", "48000", "-ac", "2",
            "-t", str(scene.duration_s), "-f", "matroska", "-y", str(out_path.resolve()),
        ]  # fmt: skip
        result = subprocess.run(command, cwd=tmp, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = "\n".join(result.stderr.strip().splitlines()[-8:])
            raise RuntimeError(f"ffmpeg failed rendering {label} (exit {result.returncode}):\n{tail}")


class _Job:
    """One clip's scratch folder: the text files drawtext reads and the synthesised speech."""

    def __init__(self, folder: Path, tools: RenderTools) -> None:
        self.folder = folder
        self.tools = tools
        self._texts = 0
        for role, path in tools.fonts.items():
            (folder / f"{role}.ttf").symlink_to(path)

    def text_file(self, text: str) -> str:
        """Write ``text`` to a new file in the job folder and return its (filter-safe) name."""
        self._texts += 1
        name = f"text{self._texts}.txt"
        (self.folder / name).write_text(text, encoding="utf-8")
        return name

    def speech(self, scene: SceneScript, max_s: float) -> Path | None:
        """The line spoken into a wav no longer than ``max_s``, or None without espeak-ng."""
        if self.tools.espeak is None:
            return None
        source = self.folder / self.text_file(scene.line)
        wav = self.folder / "speech.wav"
        rate = SPEECH_RATE_WPM
        for _attempt in range(3):
            command = [self.tools.espeak, "-v", VOICES[scene.speaker], "-s", str(rate), "-w", str(wav)]
            result = subprocess.run(
                [*command, "-f", str(source)], capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                log.warning("espeak-ng failed (%s); scene %s gets silence", result.stderr.strip(), scene.id)
                return None
            try:
                spoken_s = _wav_seconds(wav)
            except (OSError, EOFError, wave.Error) as exc:
                log.warning("espeak-ng wrote an unreadable wav (%s); scene %s gets silence", exc, scene.id)
                return None
            if spoken_s <= max_s:
                return wav
            rate = min(400, math.ceil(rate * spoken_s / max_s * 1.05))
        log.warning("line of scene %s is too long for its clip; the end is cut", scene.id)
        return wav


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


# --- filter graph ---------------------------------------------------------------------------


def _scene_graph(
    job: _Job,
    scenario: ScenarioScript,
    scene: SceneScript,
    size: tuple[int, int],
    fps: int,
    speech_start: float,
    scene_index: int,
) -> str:
    """The video part of the filter graph, ending in the label [v]."""
    backdrop = BACKDROPS[scenario.setting]
    scenery = _drawn_once(_backdrop_filters(job, backdrop, size), scene.duration_s)
    chains = [f"[0:v]{','.join(scenery)}[bg]"]
    stage = "bg"
    figures = [f for f in (scene.bystander, scene.subject) if f is not None]  # far to near
    for n, figure in enumerate(figures):
        chains.append(f"{figure_source(figure, size, fps, scene.duration_s)}[fig{n}]")
        x, y = overlay_expressions(figure, scene.duration_s)
        chains.append(f"[{stage}][fig{n}]overlay=x='{x}':y='{y}':eval=frame[stage{n}]")
        stage = f"stage{n}"
    finish = [*_title_band(job, scene, size), *_subtitle(job, scene, size, speech_start)]
    if scene.title_card:
        finish += _title_card(job, scenario, size)
    if scene.shots_fired:
        finish += _shots_fired(scene, size)
    finish.append(segment_marker(scene_index, size))
    chains.append(f"[{stage}]{','.join([*finish, 'format=yuv420p'])}[v]")
    return ";".join(chains)


def segment_marker(scene_index: int, size: tuple[int, int]) -> str:
    """The marker square (drawn over everything else) in the scene's grey."""
    x, y, w, h = marker_rect(*size)
    level = marker_level(scene_index)
    return f"drawbox=x={x}:y={y}:w={w}:h={h}:c=0x{level:02X}{level:02X}{level:02X}:t=fill"


def _drawn_once(filters: list[str], duration_s: float) -> list[str]:
    """Run ``filters`` on the first frame only and repeat the result: static scenery costs one frame."""
    repeat = ["loop=loop=-1:size=1", "setpts=N/FRAME_RATE/TB", f"trim=duration={duration_s}"]
    return ["trim=end_frame=1", *filters, *repeat]


def drawbox(box: Box, size: tuple[int, int], colour: str, *, enable: str | None = None) -> str:
    """A filled drawbox over ``box`` (picture units); never zero-sized (0 means 'whole frame')."""
    width, height = size
    x, y = round(box.x * width), round(box.y * height)
    w, h = max(1, round(box.w * width)), max(1, round(box.h * height))
    when = f":enable='{enable}'" if enable else ""
    return f"drawbox=x={x}:y={y}:w={w}:h={h}:c={colour}:t=fill{when}"


def drawtext(
    textfile: str,
    *,
    font: str,
    size_px: int,
    colour: str,
    x: str,
    y: str,
    enable: str | None = None,
    backing: str | None = None,
) -> str:
    """Text from a file in the job folder; ``x``/``y`` are drawtext expressions (no quotes inside)."""
    options = [
        f"fontfile={font}.ttf",
        f"textfile={textfile}",
        "expansion=none",
        f"fontsize={max(6, size_px)}",
        f"fontcolor={colour}",
        f"line_spacing={max(1, size_px // 4)}",
        f"x='{x}'",
        f"y='{y}'",
    ]
    if backing:
        options += ["box=1", f"boxcolor={backing}", f"boxborderw={max(2, size_px // 3)}"]
    if enable:
        options.append(f"enable='{enable}'")
    return "drawtext=" + ":".join(options)


def _wrapped(text: str, size: tuple[int, int], size_px: int, share: float = 0.9) -> str:
    """``text`` broken into lines that fit ``share`` of the picture width at ``size_px``."""
    columns = max(12, int(size[0] * share / (0.55 * max(6, size_px))))
    return "\n".join(textwrap.wrap(text, columns))


def _backdrop_filters(job: _Job, backdrop: Backdrop, size: tuple[int, int]) -> list[str]:
    filters = [drawbox(Box(0, 0, 1, 1), size, backdrop.base)]
    filters += [drawbox(box, size, colour) for box, colour in backdrop.boxes]
    if backdrop.sign is not None:
        box, text = backdrop.sign
        x, y = round(box.x * size[0]), round(box.y * size[1])
        w, h = round(box.w * size[0]), round(box.h * size[1])
        sign = job.text_file(text)
        filters.append(
            drawtext(
                sign,
                font="bold",
                size_px=round(h * 0.55),
                colour="white",
                x=f"{x}+({w}-text_w)/2",
                y=f"{y}+({h}-text_h)/2",
            )
        )
    return filters


def _title_band(job: _Job, scene: SceneScript, size: tuple[int, int]) -> list[str]:
    band_h = 0.09
    text_px = round(size[1] * band_h * 0.5)
    margin = round(size[0] * 0.025)
    centre = f"({round(size[1] * band_h)}-text_h)/2"
    title = job.text_file(scene.title)
    brand = job.text_file("OpenRange demo")
    return [
        drawbox(Box(0, 0, 1, band_h), size, "black@0.6"),
        drawtext(title, font="bold", size_px=text_px, colour="white", x=str(margin), y=centre),
        drawtext(
            brand,
            font="regular",
            size_px=round(text_px * 0.8),
            colour="0xBBBBBB",
            x=f"w-text_w-{margin}",
            y=centre,
        ),
    ]


def _subtitle(job: _Job, scene: SceneScript, size: tuple[int, int], speech_start: float) -> list[str]:
    text_px = round(size[1] * 0.045)
    narrated = scene.speaker is Speaker.narrator
    text = _wrapped(scene.line, size, text_px, share=0.85)
    return [
        drawtext(
            job.text_file(text),
            font="italic" if narrated else "regular",
            size_px=text_px,
            colour="0xFFE08A" if narrated else "white",
            x="(w-text_w)/2",
            y=f"h-text_h-{round(size[1] * 0.05)}",
            enable=f"gte(t,{speech_start})",
            backing="black@0.6",
        )
    ]


def _title_card(job: _Job, scenario: ScenarioScript, size: tuple[int, int]) -> list[str]:
    showing = f"lt(t,{TITLE_CARD_S})"
    height = size[1]
    title_px, summary_px, tag_px = round(height * 0.07), round(height * 0.04), round(height * 0.035)
    summary = _wrapped(scenario.summary, size, summary_px, share=0.75)
    audience = " · ".join(str(a).replace("-", " ") for a in scenario.audience)
    return [
        drawbox(Box(0, 0, 1, 1), size, "0x101820", enable=showing),
        drawtext(
            job.text_file("OPENRANGE DEMO SCENARIO"),
            font="regular",
            size_px=tag_px,
            colour="0x9FB3C8",
            x="(w-text_w)/2",
            y=str(round(height * 0.24)),
            enable=showing,
        ),
        drawtext(
            job.text_file(scenario.title),
            font="bold",
            size_px=title_px,
            colour="white",
            x="(w-text_w)/2",
            y=str(round(height * 0.34)),
            enable=showing,
        ),
        drawtext(
            job.text_file(summary),
            font="regular",
            size_px=summary_px,
            colour="0xDDDDDD",
            x="(w-text_w)/2",
            y=str(round(height * 0.50)),
            enable=showing,
        ),
        drawtext(
            job.text_file(audience),
            font="italic",
            size_px=tag_px,
            colour="0x9FB3C8",
            x="(w-text_w)/2",
            y=str(round(height * 0.72)),
            enable=showing,
        ),
    ]


MUZZLE = Box(0.98, 0.14, 0.22, 0.20)
"""Muzzle flash, in the subject's figure box units (just beyond the weapon)."""


def _shots_fired(scene: SceneScript, size: tuple[int, int]) -> list[str]:
    flashing = "lt(mod(t,0.8),0.12)"
    return [
        drawbox(scene.subject.box.part(MUZZLE), size, "0xFFF2A0", enable=flashing),
        drawbox(Box(0, 0, 1, 1), size, "red@0.35", enable=flashing),
    ]
