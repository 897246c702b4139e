"""The command line answers bad input with a message and an exit code, never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from appliance.cli import main


def test_port_in_use_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["run", "--data-dir", str(tmp_path), "--port", str(port), "--no-demo", "--player", "sim"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"could not listen on 127.0.0.1:{port}" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OPENRANGE_PORT": "abc"}, "web.port"),
        ({"OPENRANGE_PIN": "12"}, "web.pin"),
        ({"OPENRANGE_HARDWARE": "mainframe"}, "hardware"),
    ],
)
def test_bad_settings_name_the_field(
    env: dict[str, str],
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["run", "--data-dir", str(tmp_path), "--no-demo"]) == 2
    err = capsys.readouterr().err
    assert "invalid settings" in err and expected in err


def test_bad_settings_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "settings.yaml").write_text("web: [not, a, mapping\n")
    assert main(["run", "--data-dir", str(tmp_path), "--no-demo"]) == 2
    assert "settings.yaml" in capsys.readouterr().err


def test_conflicting_pin_map_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "settings.yaml").write_text(
        "gpio:\n  inputs:\n    - {name: pedal, pin: 17}\n    - {name: trigger, pin: 17}\n"
    )
    assert main(["run", "--data-dir", str(tmp_path), "--no-demo"]) == 2
    err = capsys.readouterr().err
    assert "pin 17" in err and "inputs[0]" in err
