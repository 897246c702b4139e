"""The mpv options MpvPlayer starts with, and how libmpv's log reaches ``logging``.

docs/player.md lists the options worth setting per machine (``player.extra_options`` in the
settings), e.g. ``gpu-context=drm`` and ``hwdec`` on a Raspberry Pi.
"""

from __future__ import annotations

import logging

# Options the player's logic depends on; callers cannot override these.
REQUIRED_OPTIONS: dict[str, str] = {
    "idle": "yes",  # stay alive with no file (idle card)
    "keep-open": "yes",  # hold the last frame at EOF (and at ``end``)
    # With keep-open-pause=yes (the default) libmpv 0.35 leaves the player paused again when
    # it is unpaused at EOF and then seeks; with "no" it just holds the last frame.
    "keep-open-pause": "no",
    "hr-seek": "yes",  # exact seeks, also for loadfile's start=
}
# Sensible defaults for an appliance; callers may override.
DEFAULT_OPTIONS: dict[str, str] = {
    "input-default-bindings": "no",
    "input-vo-keyboard": "no",
    "osc": "no",
    "osd-on-seek": "no",
    "osd-bar": "no",
    "cursor-autohide": "always",
    "ytdl": "no",
    "title": "OpenRange",
    # Hand each frame to the video output at its display time, not up to 50 ms before (mpv's
    # default): a frame already handed over is always shown, so a seek had to wait for it,
    # 0-33 ms at 30 fps. With 0 the first frame of a seek follows in a few ms (bench, 720p:
    # p95 35 -> 7 ms; 1080p: 36 -> 11 ms). The price: the renderer gets no head start, so CPU
    # load shows as late frames sooner; measure on the box (docs/player.md, "What limits the
    # switch time") and raise it (0.01, or mpv's 0.05) through player.extra_options if needed.
    "video-timing-offset": "0",
    # After a seek, start video and audio at once and let mpv pull them together over ~1 s
    # (audio late by <= ~37 ms, converging; frames run ~8 % long meanwhile; lip sync tolerates
    # ~45 ms early / 125 ms late). With "yes" mpv aligns the audio first and, without the 50 ms
    # offset, held the second new frame one frame interval too long (68 ms) in ~1/3 of seeks.
    "initial-audio-sync": "no",
    # ... and pull them together by at most 1.5 ms a frame (mpv's default is 10 ms): the frames
    # stretched while audio catches up last <= ~35 ms instead of up to ~43 ms, so no frame is held
    # noticeably long across a switch (bench, demo library: longest hold 40.6 -> 35.6 ms; whole
    # bench 43.4 -> 37.6 ms). A large desync (a CPU stall) then takes a few seconds to recover.
    "mc": "0.0015",
}
# Options added when the video output is a real screen (not vo=null or vo=libmpv).
SCREEN_OPTIONS: dict[str, str] = {"fullscreen": "yes", "force-window": "immediate"}
NO_SCREEN_VOS = ("null", "libmpv")

_MPV_LOG_LEVELS = {
    "fatal": logging.CRITICAL,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.DEBUG,  # per-file chatter (tracks, decoders): not worth INFO
    "v": logging.DEBUG,
    "debug": logging.DEBUG,
    "trace": logging.DEBUG,
}


def build_options(options: dict[str, str]) -> dict[str, str]:
    """``options`` (``_`` or ``-`` in names) over the defaults, under the required ones."""
    opts = {**DEFAULT_OPTIONS}
    if options.get("vo", "") not in NO_SCREEN_VOS:
        opts.update(SCREEN_OPTIONS)
    opts.update({k.replace("_", "-"): str(v) for k, v in options.items()})
    opts.update(REQUIRED_OPTIONS)
    return opts


def log_level(level: str, prefix: str) -> int:
    """The ``logging`` level for one libmpv message."""
    if prefix == "ao/null":  # tests and benches: it calls a seek that restarts audio while
        return logging.DEBUG  # paused an "illegal state"; real audio outputs do not
    return _MPV_LOG_LEVELS.get(level, logging.DEBUG)


def error_text(code: int) -> str:
    try:
        import mpv

        return str(mpv.ErrorCode.human_readable(code))
    except Exception:
        return f"error {code}"
