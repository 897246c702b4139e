"""``openrange gpio test`` end to end: sim mode presses the mock pins itself; on "pi" (a mock
pin factory standing in for lgpio) nobody presses and the tester answers the prompts."""

from __future__ import annotations

import io

import pytest
from gpiozero import Device

from appliance import gpio_test_command as command
from appliance.gpio_test_command import gpio_test_command
from appliance.settings import Settings


def run(settings: Settings, **kwargs) -> tuple[int, str]:
    out = io.StringIO()
    kwargs.setdefault("timeout_s", 2.0)
    kwargs.setdefault("pulse_s", 0.05)
    code = gpio_test_command(settings, out=out, **kwargs)
    return code, out.getvalue()


def test_sim_walks_every_input_and_output_and_passes() -> None:
    code, text = run(Settings(hardware="sim"), interactive=True)  # sim never asks
    assert code == 0, text
    assert "press and release the foot pedal now" in text
    assert "press and release the emergency stop now" in text
    assert "the threat relay should click now" in text
    assert "the room lights should switch on now" in text
    lines = text.splitlines()
    summary = lines[lines.index("kind    name         BCM hdr  result  detail") :]
    assert len(summary) == 1 + 7 + 3 + 1
    assert summary[1].split()[:5] == ["input", "pedal", "17", "11", "OK"]
    assert "pressed at +0." in summary[1] and "released at +0." in summary[1] and "held 0." in summary[1]
    assert summary[7].split()[:5] == ["input", "estop", "26", "37", "OK"]
    assert summary[8].split()[:5] == ["output", "threat_relay", "23", "16", "OK"]
    assert "on for 0." in summary[8] and "(mock pin)" in summary[8]
    assert summary[-1] == "10 of 10 OK"


def test_sim_reports_a_configured_hold_gesture() -> None:
    settings = Settings.model_validate(
        {"hardware": "sim", "gpio": {"inputs": [{"name": "pedal", "pin": 17, "hold_s": 0.1}], "outputs": []}}
    )
    code, text = run(settings)
    assert code == 0, text
    assert "gesture hold at +0." in text


def test_a_swapped_wire_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.model_validate(
        {
            "hardware": "sim",
            "gpio": {"inputs": [{"name": "pedal", "pin": 17}, {"name": "trigger", "pin": 27}], "outputs": []},
        }
    )
    real = command._press_later

    def swapped(gpio, name: str, *, delay: float, held: float) -> None:
        real(gpio, "trigger" if name == "pedal" else "pedal", delay=delay, held=held)

    monkeypatch.setattr(command, "_press_later", swapped)
    code, text = run(settings, timeout_s=0.5)
    assert code == 1
    assert "no press within 0.5 s; also changed: trigger (swapped or shorted wires?)" in text
    assert text.splitlines()[-1] == "0 of 2 OK, 2 FAILED"


def test_pi_without_presses_times_out_and_asks_about_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")  # stands in for lgpio here
    settings = Settings.model_validate(
        {"hardware": "pi", "gpio": {"inputs": [{"name": "pedal", "pin": 17}], "status_output": None}}
    )
    answers = iter(["y", "n", "yes"])
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    code, text = run(settings, timeout_s=0.05, ask=ask)
    assert code == 1
    assert "pedal" in text and "no press within 0.05 s" in text
    assert prompts == ["  did it? [y/N] "] * 3
    rows = {line.split()[1]: line for line in text.splitlines() if line.startswith("output ")}
    assert " OK " in rows["threat_relay"] and "confirmed" in rows["threat_relay"]
    assert "FAILED" in rows["lights"] and "not confirmed by the tester" in rows["lights"]
    assert "(driver read-back)" in rows["status_led"]
    assert Device.pin_factory.pin(23).state in (0, False)  # left off


def test_pi_non_interactive_does_not_ask(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    settings = Settings.model_validate({"hardware": "pi", "gpio": {"inputs": []}})

    def ask(prompt: str) -> str:
        raise AssertionError("asked")

    code, text = run(settings, interactive=False, ask=ask)
    assert code == 0, text


def test_no_pin_factory_means_nothing_to_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "no-such-factory")
    code, text = run(Settings(hardware="pi"))
    assert code == 2
    assert "no pin factory" in text and "nothing to test" in text


def test_eof_at_a_prompt_counts_as_no(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    settings = Settings.model_validate(
        {"hardware": "pi", "gpio": {"inputs": [], "outputs": [{"name": "lights", "pin": 24}]}}
    )

    def ask(prompt: str) -> str:
        raise EOFError

    code, text = run(settings, ask=ask)
    assert code == 1 and "not confirmed" in text
