"""What mpv's OSD draws over the video: the idle "ready" card and the blank pause screen.

Kept as ASS text for mpv's ``osd-overlay`` command (``format=ass-events``): no image file to
ship or find at run time, it scales with the output, and it never shows the desktop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RES_X = 1920
RES_Y = 1080
OVERLAY_ID = 61  # any id of our own; mpv keeps one overlay per id and client
BLANK_ID = 62  # drawn above the video and the idle card (overlays are drawn in id order)


@dataclass(frozen=True, slots=True)
class IdleCard:
    title: str = "OpenRange"
    subtitle: str = "Ready"


def _plain(text: str) -> str:
    """Strip what ASS would read as markup (override blocks, escapes) and keep one line."""
    return " ".join(text.replace("{", "(").replace("}", ")").replace("\\", "/").split())


def idle_card_ass(card: IdleCard, text: str | None = None) -> str:
    """ASS events for ``card``: a centred title, a smaller grey subtitle under it and, if
    given, the lines of ``text`` (e.g. the panel's address and pairing PIN, the Wi-Fi to join
    and the certificate's fingerprint)."""
    title = _plain(card.title)
    subtitle = _plain(card.subtitle)
    line = "\\N".join(p for p in (_plain(part) for part in (text or "").split("\n")) if p)
    out = "{\\an5\\bord0\\shad0\\fs96\\1c&HFFFFFF&}" + title
    if subtitle:
        out += "\\N{\\fs48\\1c&HA0A0A0&}" + subtitle
    if line:
        out += "\\N\\N{\\fs40\\1c&HD0D0D0&}" + line
    return out


def blank_ass() -> str:
    """ASS events for an opaque black rectangle larger than any output (pause: blank screen)."""
    return (
        "{\\an7\\pos(0,0)\\bord0\\shad0\\1c&H000000&\\1a&H00&\\p1}"
        "m -4000 -4000 l 8000 -4000 8000 8000 -4000 8000{\\p0}"
    )


class Overlays:
    """The idle card and the blank screen on one mpv instance, each sent only when it changes.

    Calls go to mpv synchronously (raise what python-mpv raises); the caller holds its lock.
    """

    def __init__(self, card: IdleCard) -> None:
        self.card = card
        self.card_shown = False
        self.blank_shown = False

    def reset(self) -> None:
        self.card_shown = self.blank_shown = False

    def show_card(self, mpv: Any, visible: bool, text: str | None = None) -> None:
        if visible:
            data = idle_card_ass(self.card, text)
            mpv.command(
                "osd-overlay", id=OVERLAY_ID, format="ass-events", data=data, res_x=RES_X, res_y=RES_Y
            )
        elif self.card_shown:
            mpv.command("osd-overlay", id=OVERLAY_ID, format="none", data="")
        self.card_shown = visible

    def show_blank(self, mpv: Any, visible: bool) -> None:
        if visible == self.blank_shown:
            return
        if visible:
            data = blank_ass()
            mpv.command("osd-overlay", id=BLANK_ID, format="ass-events", data=data, res_x=RES_X, res_y=RES_Y)
        else:
            mpv.command("osd-overlay", id=BLANK_ID, format="none", data="")
        self.blank_shown = visible
