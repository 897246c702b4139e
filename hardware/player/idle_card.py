"""The idle "ready" card, drawn by mpv's OSD over its black idle window.

Kept as ASS text for mpv's ``osd-overlay`` command (``format=ass-events``): no image file to
ship or find at run time, it scales with the output, and it never shows the desktop.
"""

from __future__ import annotations

from dataclasses import dataclass

RES_X = 1920
RES_Y = 1080
OVERLAY_ID = 61  # any id of our own; mpv keeps one overlay per id and client


@dataclass(frozen=True, slots=True)
class IdleCard:
    title: str = "OpenRange"
    subtitle: str = "Ready"


def _plain(text: str) -> str:
    """Strip what ASS would read as markup (override blocks, escapes) and keep one line."""
    return " ".join(text.replace("{", "(").replace("}", ")").replace("\\", "/").split())


def idle_card_ass(card: IdleCard) -> str:
    """ASS events for ``card``: a centred title with a smaller grey subtitle under it."""
    title = _plain(card.title)
    subtitle = _plain(card.subtitle)
    text = "{\\an5\\bord0\\shad0\\fs96\\1c&HFFFFFF&}" + title
    if subtitle:
        text += "\\N{\\fs48\\1c&HA0A0A0&}" + subtitle
    return text
