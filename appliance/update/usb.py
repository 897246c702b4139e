"""Update bundles on USB sticks: where sticks are mounted, and which ``.raucb`` files they hold.

On the box, a udev rule (deploy/udev/90-openrange-usb.rules) mounts every USB stick read-only
under ``/media/openrange-usb/<name>``; the service only reads that folder, so it needs no
mount rights. :func:`find_bundles` is polled by the :class:`~appliance.update.updater.Updater`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

BUNDLE_SUFFIX = ".raucb"
MAX_DEPTH = 2
"""A bundle is found at the top of a stick or one folder down (``/openrange/update.raucb``)."""


@dataclass(frozen=True)
class FoundBundle:
    """A bundle file on a stick, identified by path, size and modification time."""

    path: Path
    size: int
    mtime: float

    @property
    def key(self) -> tuple[str, int, float]:
        return (str(self.path), self.size, self.mtime)


def find_bundles(roots: list[Path]) -> list[FoundBundle]:
    """Every ``*.raucb`` under the mount roots (hidden files and folders skipped), sorted by path."""
    found: list[FoundBundle] = []
    for root in roots:
        _walk(root, 0, found)
    return sorted(found, key=lambda b: str(b.path))


def _walk(folder: Path, depth: int, found: list[FoundBundle]) -> None:
    try:
        entries = list(folder.iterdir())
    except OSError:
        return  # not mounted, pulled out mid-scan, or unreadable: nothing there
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_file() and entry.name.lower().endswith(BUNDLE_SUFFIX):
                st = entry.stat()
                found.append(FoundBundle(entry, st.st_size, st.st_mtime))
            elif entry.is_dir() and depth < MAX_DEPTH:
                _walk(entry, depth + 1, found)
        except OSError:
            continue
