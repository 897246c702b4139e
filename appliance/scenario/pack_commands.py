"""``openrange scenario pack SOURCE -o PACKAGE [--profile P] [--hold-s S] [--force]``.

Exit codes: 0 packed, 1 the source cannot be packed (its problems are listed), 2 nothing was tried
(no source, the output exists or overlaps the source, an unknown profile, a bad hold, ffmpeg
missing), 130 interrupted. Progress goes to stderr as a bar with percentage and ETA; the result or
the problems go to ``out``. Never a traceback.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import TextIO

from appliance.errors import ScenarioError
from appliance.scenario.media_probe import find_media_tools
from appliance.scenario.pack import (
    DEFAULT_PROFILE,
    OutputExists,
    Profile,
    check_hold,
    check_paths,
    pack_package,
    resolve_profile,
)

log = logging.getLogger(__name__)

EXIT_OK, EXIT_PROBLEMS, EXIT_NOT_RUN, EXIT_INTERRUPTED = 0, 1, 2, 130
BAR_WIDTH = 30


def pack_command(
    source: Path,
    output: Path,
    *,
    profile: str | Profile = DEFAULT_PROFILE,
    hold_s: float = 0.0,
    force: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Pack ``source`` into ``output`` and report; returns the exit code."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    source, output = Path(source), Path(output)
    try:  # what can be told before any work: exit 2
        resolve_profile(profile)
        check_hold(hold_s)
        find_media_tools()
        if not source.exists():
            raise ValueError(f"{source}: no such file or folder")
        check_paths(source, output, force)
    except (ValueError, RuntimeError, OutputExists) as exc:
        return _fail(None, out, EXIT_NOT_RUN, str(exc))
    bar = ProgressBar(err)
    try:
        result = pack_package(
            source, output, profile=profile, hold_s=hold_s, force=force, progress=bar.update
        )
    except KeyboardInterrupt:
        return _fail(bar, out, EXIT_INTERRUPTED, f"interrupted: {output} was not written")
    except OutputExists as exc:
        return _fail(bar, out, EXIT_NOT_RUN, str(exc))
    except ScenarioError as exc:
        return _fail(bar, out, EXIT_PROBLEMS, str(exc), getattr(exc, "problems", []))
    except (ValueError, RuntimeError) as exc:
        return _fail(bar, out, EXIT_PROBLEMS, str(exc))
    except OSError as exc:
        return _fail(bar, out, EXIT_PROBLEMS, f"{exc.filename or output}: {exc.strerror or exc}")
    except Exception as exc:  # the command must not end in a traceback
        log.exception("packing %s failed", source)
        return _fail(bar, out, EXIT_PROBLEMS, f"packing failed: {type(exc).__name__}: {exc}")
    bar.finish()
    scenes = len(result.manifest.scenes)
    out.write(
        f"OK {result.manifest.id}: {scenes} scenes, {result.duration_s:.1f} s, "
        f"profile {result.profile.name} -> {result.output}\n"
    )
    return EXIT_OK


def _fail(
    bar: ProgressBar | None, out: TextIO, code: int, message: str, problems: list[str] | None = None
) -> int:
    if bar is not None:
        bar.finish()
    out.write(f"openrange: {message}\n")
    out.writelines(f"  {p}\n" for p in problems or [])
    return code


class ProgressBar:
    """'encoding [#########.........]  31%  ETA 0:42' on one line of a terminal; plain lines otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.shown = False
        self._last_draw = 0.0
        self._last_tenth = -1

    def update(self, fraction: float, stage: str) -> None:
        now = time.monotonic()
        if self.tty:
            if now - self._last_draw < 0.1 and fraction < 1.0:
                return
            self._last_draw = now
            self.stream.write("\r" + self.line(fraction, stage, now - self.started))
            self.shown = True
        else:
            tenth = int(fraction * 10)
            if tenth == self._last_tenth:
                return
            self._last_tenth = tenth
            self.stream.write(self.line(fraction, stage, now - self.started) + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False

    @staticmethod
    def line(fraction: float, stage: str, elapsed_s: float) -> str:
        filled = round(fraction * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        if 0.01 < fraction < 1.0:
            eta = f"ETA {_clock(elapsed_s * (1 - fraction) / fraction)}"
        elif fraction >= 1.0:
            eta = f"took {_clock(elapsed_s)}"
        else:
            eta = "ETA --:--"
        return f"{stage:<9} [{bar}] {fraction * 100:3.0f}%  {eta}"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
