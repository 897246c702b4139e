"""The house rule: web_ui → appliance → hardware, and only appliance/main.py wires all three."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "hardware": {"hardware"},
    "appliance": {"appliance", "hardware"},
    "web_ui": {"web_ui", "appliance"},
}
COMPOSITION_ROOT = ROOT / "appliance" / "main.py"
FORBIDDEN_LIBRARIES = {
    "appliance": {"fastapi", "starlette", "uvicorn", "mpv", "gpiozero", "picamera2"},
    "web_ui": {"gpiozero", "mpv", "picamera2", "cv2"},
    "hardware": {"fastapi", "starlette", "asyncio", "uvicorn"},
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


def source_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_follow_the_arrows(package: str) -> None:
    wrong = []
    for path in source_files(package):
        if path == COMPOSITION_ROOT:
            continue
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            if top in ALLOWED and top not in ALLOWED[package]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
            if top in FORBIDDEN_LIBRARIES[package]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not wrong, "imports against the house direction:\n" + "\n".join(wrong)


def test_the_checker_catches_a_wrong_arrow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from web_ui.app import create_app\nimport fastapi\n")
    modules = [m for _, m in imported_modules(bad)]
    assert "web_ui.app" in modules and "fastapi" in modules
    assert "web_ui" not in ALLOWED["appliance"]


def test_composition_root_is_the_only_wiring_point() -> None:
    wiring = []
    for path in source_files("appliance"):
        tops = {m.split(".")[0] for _, m in imported_modules(path)}
        if "web_ui" in tops:
            wiring.append(path)
    assert wiring == [COMPOSITION_ROOT]
