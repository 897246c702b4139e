"""The scenario library: every package folder or .zip directly under one directory.

``scan`` does blocking file I/O (and may unpack zips); call it at start-up or from an executor.
A broken package never stops the others: it is kept in ``broken`` with its problems and logged.
"""

from __future__ import annotations

import logging
from pathlib import Path

from appliance.errors import NotFound
from appliance.scenario.load import ScenarioPackage, prune_extractions, try_load
from appliance.scenario.validate import Problem

log = logging.getLogger(__name__)


class ScenarioLibrary:
    """Packages under ``library_dir``; zips are unpacked (once per version) under ``cache_dir``."""

    def __init__(self, library_dir: Path, cache_dir: Path) -> None:
        self.library_dir = Path(library_dir)
        self.cache_dir = Path(cache_dir)
        self.broken: dict[Path, list[Problem]] = {}
        """Source path of each package that could not be loaded -> every problem found."""
        self._packages: dict[str, ScenarioPackage] = {}

    def scan(self) -> None:
        """(Re)load every package; never raises."""
        packages: dict[str, ScenarioPackage] = {}
        broken: dict[Path, list[Problem]] = {}
        for entry in self._entries():
            try:
                package, problems = try_load(entry, extract_dir=self.cache_dir)
            except Exception as exc:  # one bad package must not stop the library
                log.exception("unexpected error loading scenario package %s", entry)
                package, problems = None, [Problem(entry.name, f"could not be loaded: {exc}")]
            if package is not None and package.id in packages:
                other = packages[package.id].source.name
                package, problems = None, [Problem("id", f"'{package.id}' is already used by {other}")]
            if package is None:
                broken[entry] = problems
                log.warning(
                    "scenario package %s is broken (%d problem(s)):\n  %s",
                    entry,
                    len(problems),
                    "\n  ".join(map(str, problems)),
                )
            else:
                packages[package.id] = package
        self._packages, self.broken = packages, broken
        log.info(
            "scenario library %s: %d package(s), %d broken", self.library_dir, len(packages), len(broken)
        )
        zips = [p.source for p in packages.values() if p.source.is_file()]
        try:
            prune_extractions(self.cache_dir, zips)
        except OSError as exc:
            log.warning("could not tidy the scenario cache %s: %s", self.cache_dir, exc)

    def get(self, scenario_id: str) -> ScenarioPackage:
        try:
            return self._packages[scenario_id]
        except KeyError:
            raise NotFound(f"no scenario '{scenario_id}'") from None

    def list(self) -> list[ScenarioPackage]:
        """Every loaded package, sorted by title."""
        return sorted(self._packages.values(), key=lambda p: (p.manifest.title.casefold(), p.id))

    def _entries(self) -> list[Path]:
        try:
            entries = sorted(self.library_dir.iterdir())
        except OSError as exc:
            log.warning("cannot read the scenario library %s: %s", self.library_dir, exc)
            return []
        cache = self.cache_dir.resolve()
        return [
            e
            for e in entries
            if not e.name.startswith(".")
            and e.resolve() != cache
            and (e.is_dir() or (e.is_file() and e.suffix.lower() == ".zip"))
        ]
