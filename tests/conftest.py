"""Shared fixtures: a small branching test scenario library."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario_builders import write_scenario


@pytest.fixture
def test_scenario_library(tmp_path: Path) -> Path:
    library = tmp_path / "scenarios"
    write_scenario(library / "triage-desk")
    return library


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
