"""deploy/rauc/bootchooser on its own: the trial logic and the Raspberry Pi tryboot file it keeps in step."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

CHOOSER = Path(__file__).resolve().parent.parent / "deploy" / "rauc" / "bootchooser"


class Chooser:
    """Runs the script with its state and autoboot.txt in a test folder."""

    def __init__(self, folder: Path) -> None:
        self.autoboot = folder / "autoboot.txt"
        self.env = {
            **os.environ,
            "OPENRANGE_BOOT_STATE": str(folder / "state"),
            "OPENRANGE_AUTOBOOT": str(self.autoboot),
        }

    def __call__(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            ["sh", str(CHOOSER), *args], env=self.env, capture_output=True, text=True, check=check
        )
        return done.stdout.strip() if check else done.stderr.strip()


@pytest.fixture
def chooser(tmp_path: Path) -> Chooser:
    return Chooser(tmp_path)


def test_a_fresh_box_boots_a_and_b_is_not_bootable(chooser: Chooser) -> None:
    assert chooser("get-primary") == "A"
    assert (chooser("get-state", "A"), chooser("get-state", "B")) == ("good", "bad")
    assert chooser("boot") == "A"


def test_a_new_slot_gets_one_try_and_is_kept_only_when_marked_good(chooser: Chooser) -> None:
    chooser("set-state", "B", "bad")  # what RAUC does before writing the slot
    chooser("set-primary", "B")  # ... and after
    assert chooser("get-state", "B") == "good"
    assert chooser.autoboot.read_text() == (
        "[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n"
    ), "confirmed slot A stays the default; B only on the one-time tryboot"
    assert chooser("boot") == "B"
    assert chooser("get-state", "B") == "bad", "its try is used up"
    assert chooser("boot") == "A", "not confirmed: the next boot falls back"
    assert chooser("get-primary") == "A"

    chooser("set-state", "B", "bad")
    chooser("set-primary", "B")
    assert chooser("boot") == "B"
    chooser("set-state", "B", "good")  # rauc status mark-good, after the health check
    assert chooser.autoboot.read_text().startswith("[all]\ntryboot_a_b=1\nboot_partition=3\n")
    assert [chooser("boot") for _ in range(3)] == ["B", "B", "B"]


def test_booted_records_what_the_pi_firmware_chose(chooser: Chooser) -> None:
    chooser("set-primary", "B")
    chooser("booted", "B")  # the tryboot boot
    assert chooser("get-current") == "B"
    chooser("booted", "A")  # a plain restart without confirmation: the firmware's default
    assert (chooser("get-primary"), chooser("get-state", "B")) == ("A", "bad")


def test_unknown_slots_and_states_are_refused(chooser: Chooser) -> None:
    assert "unknown slot 'C'" in chooser("set-primary", "C", check=False)
    assert "good or bad" in chooser("set-state", "A", "maybe", check=False)


FALLBACK = CHOOSER.parent.parent / "bin" / "fallback-if-trial"


@pytest.mark.parametrize(("state", "restarts"), [("trial:0", True), ("good", False)])
def test_a_service_that_gives_up_on_a_trial_slot_restarts_the_box(
    tmp_path: Path, state: str, restarts: bool
) -> None:
    (tmp_path / "state").write_text(f"primary=B\nA=good\nB={state}\nbooted=B\n")
    marker = tmp_path / "restarted"
    env = {
        **os.environ,
        "OPENRANGE_BOOT_STATE": str(tmp_path / "state"),
        "OPENRANGE_REBOOT": f"touch {marker}",
    }
    subprocess.run(["sh", str(FALLBACK)], env=env, check=True, capture_output=True)
    assert marker.exists() is restarts
