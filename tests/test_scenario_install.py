"""Installing scenario packages on the running service, and a corpus of broken ones.

Each broken package is refused with a message naming the problem, nothing is written outside
the library (not even a leftover in its hidden incoming folder), the library is unchanged and
the service stays up.
"""

from __future__ import annotations

import copy
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from media_fixtures import ffmpeg_available, make_test_clip
from scenario_builders import TEST_SCENARIO, write_scenario
from scenario_fixtures import symlink_member, zip_with
from service_runner import RunningService

pytestmark = pytest.mark.skipif(not ffmpeg_available(), reason="needs ffmpeg")

ADMIN_PIN = "7654321"
ZIP = {"Content-Type": "application/zip"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_clip(tmp_path_factory.mktemp("clips") / "all.mp4", 16.0, size=(160, 90), label="T")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    running = RunningService(tmp_path_factory.mktemp("install") / "data").start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def admin(service: RunningService) -> httpx.Client:
    return service.admin_client(ADMIN_PIN, timeout=60)


def package_zip(tmp: Path, clip: Path, manifest: dict[str, Any] | None = None, **members: bytes) -> Path:
    folder = write_scenario(tmp / "src", manifest or TEST_SCENARIO, media=clip.read_bytes())
    return zip_with(tmp / "pkg.zip", dict(members), base=folder)


def tree(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix() for p in root.rglob("*") if "cache" not in p.relative_to(root).parts
    }


def test_instructor_cannot_install(service: RunningService, clip: Path, tmp_path: Path) -> None:
    refused = service.client().post("/api/admin/scenarios", content=package_zip(tmp_path, clip).read_bytes())
    assert refused.status_code == 403


def test_install_then_replace_then_remove(
    admin: httpx.Client, service: RunningService, clip: Path, tmp_path: Path
) -> None:
    body = package_zip(tmp_path, clip).read_bytes()
    installed = admin.post("/api/admin/scenarios", content=body, headers=ZIP)
    assert installed.status_code == 201, installed.text
    assert installed.json()["id"] == "triage-desk" and installed.json()["replaced"] is False
    assert (service.settings.library_dir / "triage-desk.zip").is_file()
    assert "triage-desk" in {c["id"] for c in admin.get("/api/scenarios").json()}
    again = admin.post("/api/admin/scenarios", content=body, headers=ZIP)
    assert again.status_code == 409 and "already installed" in again.json()["detail"]
    replaced = admin.post("/api/admin/scenarios?replace=true", content=body, headers=ZIP)
    assert replaced.status_code == 201 and replaced.json()["replaced"] is True
    started = admin.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["A"]})
    assert started.status_code == 201
    assert admin.delete("/api/admin/scenarios/triage-desk").status_code == 409, "not while it runs"
    admin.post(f"/api/sessions/{started.json()['id']}/end")
    assert admin.delete("/api/admin/scenarios/triage-desk").status_code == 200
    assert "triage-desk" not in {c["id"] for c in admin.get("/api/scenarios").json()}
    assert admin.delete("/api/admin/scenarios/triage-desk").status_code == 404


def _manifest(**changes: Any) -> dict[str, Any]:
    manifest = copy.deepcopy(TEST_SCENARIO)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = manifest
        for key in parents:
            node = node[key]
        node[last] = value
    return manifest


FFMPEG_TESTSRC = [
    "ffmpeg",
    "-v",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=160x90:rate=30:duration=16",
]


def _mpeg4_clip(tmp: Path) -> bytes:
    out = tmp / "mpeg4.mp4"
    subprocess.run(
        [*FFMPEG_TESTSRC, "-c:v", "mpeg4", str(out)],
        check=True,
    )
    return out.read_bytes()


def _cycle_without_exit() -> dict[str, Any]:
    manifest = copy.deepcopy(TEST_SCENARIO)
    for scene in manifest["scenes"].values():
        scene.pop("outcome", None)
    manifest["scenes"]["calm"]["on_end"] = "intro"
    manifest["scenes"]["assault"]["on_end"] = "intro"
    manifest["scenes"]["down"]["on_end"] = "intro"
    return manifest


def _missing_media(tmp: Path, clip: Path) -> Path:
    folder = write_scenario(tmp / "src", media=clip.read_bytes())
    manifest = _manifest(scenes__down__media="media/gone.mp4")
    (folder / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return zip_with(tmp / "missing.zip", {}, base=folder)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


BuildZip = Callable[[Path, Path], Path]
CORPUS: list[tuple[str, BuildZip, str]] = [
    ("zip slip", lambda t, c: package_zip(t, c, **{"../evil.txt": b"x"}), "evil.txt"),
    ("absolute path", lambda t, c: package_zip(t, c, **{"/tmp/evil.txt": b"x"}), "evil.txt"),
    (
        "symlink",
        lambda t, c: zip_with(
            t / "s.zip",
            {symlink_member("media/link.mp4"): b"/etc/passwd"},
            base=write_scenario(t / "s", media=c.read_bytes()),
        ),
        "link.mp4",
    ),
    (
        "malformed yaml",
        lambda t, c: zip_with(t / "y.zip", {"manifest.yaml": b"id: [unclosed\n"}),
        "manifest.yaml",
    ),
    ("malformed json", lambda t, c: zip_with(t / "j.zip", {"manifest.json": b'{"id": '}), "manifest.json"),
    ("wrong types", lambda t, c: package_zip(t, c, _manifest(scenes__intro__start_s="soon")), "start_s"),
    ("cycle with no exit", lambda t, c: package_zip(t, c, _cycle_without_exit()), "no ending"),
    (
        "missing media",
        _missing_media,
        "gone.mp4",
    ),
    (
        "corrupt media",
        lambda t, c: zip_with(t / "c.zip", {}, base=write_scenario(t / "c", media=b"\x00junk" * 999)),
        "all.mp4",
    ),
    (
        "unsupported codec",
        lambda t, c: zip_with(t / "m.zip", {}, base=write_scenario(t / "m", media=_mpeg4_clip(t))),
        "mpeg4",
    ),
    ("media too short", lambda t, c: package_zip(t, c, _manifest(scenes__down__end_s=40)), "past the end"),
    ("not a zip", lambda t, c: _write(t / "n.zip", b"%PDF-1.4 not a zip"), "not a .zip"),
    ("empty", lambda t, c: _write(t / "e.zip", b""), "not a .zip"),
    ("huge manifest", lambda t, c: zip_with(t / "h.zip", {"manifest.yaml": b"#" * (2 << 20)}), "manifest"),
]


@pytest.mark.parametrize(("build", "named"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_broken_package_is_refused_and_leaves_nothing(
    admin: httpx.Client, service: RunningService, clip: Path, tmp_path: Path, build: BuildZip, named: str
) -> None:
    data_dir = Path(service.settings.data_dir)
    before = tree(data_dir)
    library_before = admin.get("/api/scenarios").json()
    answer = admin.post("/api/admin/scenarios", content=build(tmp_path, clip).read_bytes(), headers=ZIP)
    assert answer.status_code == 422, answer.text
    assert named in answer.text, answer.text
    assert tree(data_dir) - before <= {"scenarios/.incoming"}, tree(data_dir) - before
    assert not list((data_dir / "scenarios" / ".incoming").glob("*")), "the upload was not cleaned away"
    assert not Path("/tmp/evil.txt").exists() and not (data_dir / "evil.txt").exists()
    assert admin.get("/api/scenarios").json() == library_before
    assert admin.get("/api/health").json()["status"] in ("ok", "degraded")


def test_zip_bomb_is_refused(admin: httpx.Client, clip: Path, tmp_path: Path) -> None:
    bomb = package_zip(tmp_path, clip, **{"media/padding.bin": b"\0" * (64 << 20)})
    assert bomb.stat().st_size < 1 << 20, "a bomb: small packed, large unpacked"
    answer = admin.post("/api/admin/scenarios", content=bomb.read_bytes(), headers=ZIP)
    assert answer.status_code == 422 and "zip bomb" in answer.text, answer.text
    assert ".zip:" not in answer.text, "problems name the package, not the box's temporary file"


def test_manifest_example_still_loads(tmp_path: Path) -> None:
    """The corpus is built from TEST_SCENARIO: it must be valid unmutated."""
    folder = write_scenario(tmp_path / "pkg")
    assert yaml.safe_load((folder / "manifest.yaml").read_text())["id"] == "triage-desk"
    with zipfile.ZipFile(zip_with(tmp_path / "ok.zip", {}, base=folder)) as zf:
        assert "manifest.yaml" in zf.namelist()
