"""``openrange update`` against a real RAUC box (tests/rauc_rig.py), as a separate process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rauc_rig import Pki, RaucBox, make_bundle, make_pki, missing_tools

pytestmark = pytest.mark.skipif(bool(missing_tools()), reason=f"needs {', '.join(missing_tools())}")


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[RaucBox, Pki]]:
    pki = make_pki(tmp_path / "pki")
    box = RaucBox(tmp_path / "box", pki.keyring, factory_version="2.0.0")
    try:
        yield box, pki
    finally:
        box.close()


def openrange(box: RaucBox, *args: str) -> subprocess.CompletedProcess:
    env = {**box.env, "OPENRANGE_PORT": "9"}  # nothing listens there: the panel is "down"
    return subprocess.run(
        [sys.executable, "-m", "appliance", "update", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_install_status_and_boot_previous_from_the_command_line(
    setup: tuple[RaucBox, Pki], tmp_path: Path
) -> None:
    box, pki = setup
    old = make_bundle(tmp_path / "old.raucb", version="1.9.0", cert=pki.cert, key=pki.key)
    refused = openrange(box, str(old))
    assert refused.returncode == 1
    assert "older than the running system (version 2.0.0): downgrades are refused" in refused.stderr
    assert "Traceback" not in refused.stderr

    new = make_bundle(tmp_path / "new.raucb", version="2.1.0", cert=pki.cert, key=pki.key)
    done = openrange(box, str(new))
    assert done.returncode == 0, done.stderr
    assert "100% Installing done." in done.stderr and "Restart the box" in done.stdout
    status = json.loads(openrange(box, "status", "--json").stdout)
    assert (status["booted"], status["next_boot"], status["reboot_pending"]) == ("A", "B", True)
    assert [s["version"] for s in status["slots"]] == [None, "2.1.0"]

    # Installed but not started yet: "boot previous" keeps the running version.
    back = openrange(box, "boot-previous")
    assert back.returncode == 0 and "Slot A" in back.stdout
    assert json.loads(openrange(box, "status", "--json").stdout)["next_boot"] == "A"
    assert box.power_cycle() == "A"

    unhealthy = openrange(box, "mark-good")
    assert unhealthy.returncode == 1 and "does not answer" in unhealthy.stderr
    assert openrange(box, "mark-good", "--force").returncode == 0
    assert openrange(box, str(tmp_path / "missing.raucb")).returncode == 1
