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
