"""Zip packages (member checks; safe, re-used extraction), loading packages and the scenario library."""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
from scenario_fixtures import (
    assert_problem,
    good_manifest,
    good_zip,
    symlink_member,
    write_package,
    zip_folder,
    zip_with,
)

from appliance.errors import NotFound, ScenarioError
from appliance.scenario import load, validate
from appliance.scenario.library import ScenarioLibrary
from appliance.scenario.load import ScenarioPackage, extract_zip, load_package
from appliance.scenario.validate import validate_path


@pytest.fixture
def unpack_count(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every extraction actually performed (its destination)."""
    calls: list[Path] = []
    real = load._unpack_into

    def counting(zf: zipfile.ZipFile, extract_dir: Path, final: Path) -> None:
        calls.append(final)
        real(zf, extract_dir, final)

    monkeypatch.setattr(load, "_unpack_into", counting)
    return calls


def _files_under(path: Path) -> set[Path]:
    return {p for p in path.rglob("*")}


# --- zips ------------------------------------------------------------------------------------------

# (id, members added to the good package's zip, expected "where: part of the message")
ZIP_CASES: list[tuple[str, dict[str | zipfile.ZipInfo, bytes], str]] = [
    ("absolute", {"/etc/cron.d/x": b"x"}, "/etc/cron.d/x: absolute path"),
    ("dotdot", {"clips/../../evil.sh": b"x"}, "clips/../../evil.sh: contains '..'"),
    ("backslash", {"clips\\..\\evil": b"x"}, "clips\\..\\evil: contains '\\'"),
    ("drive", {"C:/evil": b"x"}, "C:/evil: absolute path"),
    (
        "symlink",
        {symlink_member("clips/link"): b"/etc/passwd"},
        "clips/link: symlink members are not allowed",
    ),
    ("bomb", {"clips/zeros.bin": bytes(11 << 20)}, "clips/zeros.bin: compressed more than 200:1 (zip bomb?)"),
]


@pytest.mark.parametrize(("members", "expected"), [c[1:] for c in ZIP_CASES], ids=[c[0] for c in ZIP_CASES])
def test_unsafe_zip_member_is_named(tmp_path: Path, members: dict[Any, bytes], expected: str) -> None:
    path = zip_with(tmp_path / "bad.zip", members, base=write_package(tmp_path / "src"))
    assert_problem(validate_path(path)[1], expected)


def test_zip_member_twice(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = zip_with(tmp_path / "bad.zip", {"clips/intro.mp4": b"x"}, base=write_package(tmp_path / "src"))
    assert_problem(validate_path(path)[1], "clips/intro.mp4: appears twice")


def test_zip_with_too_many_members(tmp_path: Path) -> None:
    path = zip_with(
        tmp_path / "many.zip", {f"f{i}": b"" for i in range(2001)}, base=write_package(tmp_path / "s")
    )
    assert [str(p) for p in validate_path(path)[1]] == ["many.zip: 2006 members: at most 2000"]


def test_zip_too_big_unpacked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate, "MAX_ZIP_TOTAL", 100)
    assert_problem(validate_path(good_zip(tmp_path, tmp_path / "big.zip"))[1], "big.zip: unpacks to")


def test_zip_without_manifest(tmp_path: Path) -> None:
    path = zip_with(tmp_path / "none.zip", {"pkg/clips/a.mp4": b"x"})
    assert_problem(validate_path(path)[1], "none.zip: no manifest.yaml or manifest.json")


def test_manifest_too_deep_in_zip(tmp_path: Path) -> None:
    write_package(tmp_path / "src" / "inner")
    path = zip_folder(tmp_path / "src", tmp_path / "deep.zip", top="outer")
    assert_problem(validate_path(path)[1], "deep.zip: no manifest.yaml")


def test_zip_with_two_packages(tmp_path: Path) -> None:
    write_package(tmp_path / "src" / "one")
    write_package(tmp_path / "src" / "two")
    path = zip_folder(tmp_path / "src", tmp_path / "two.zip", top=None)
    assert_problem(validate_path(path)[1], "two.zip: manifests in several folders (one/, two/)")


def test_zip_media_missing_or_empty(tmp_path: Path) -> None:
    root = write_package(tmp_path / "src")
    (root / "clips/shot.mp4").unlink()
    (root / "clips/bystander.mp4").write_bytes(b"")
    problems = validate_path(zip_folder(root, tmp_path / "p.zip"))[1]
    assert_problem(problems, "scenes.shot.media: file 'clips/shot.mp4' is missing")
    assert_problem(problems, "scenes.bystander.media: file 'clips/bystander.mp4' is empty")


def test_zip_with_two_manifests(tmp_path: Path) -> None:
    root = write_package(tmp_path / "src")
    write_package(root, name="manifest.json")
    assert_problem(validate_path(zip_folder(root, tmp_path / "p.zip"))[1], "pkg/: both manifest.yaml")


def test_zip_syntax_error_names_the_member(tmp_path: Path) -> None:
    path = zip_folder(write_package(tmp_path / "src", b"id: [\n"), tmp_path / "p.zip")
    assert_problem(validate_path(path)[1], "pkg/manifest.yaml line 2, column 1: YAML error")


# --- load_package ----------------------------------------------------------------------------------


def test_load_folder(tmp_path: Path) -> None:
    root = write_package(tmp_path / "pkg")
    package = load_package(root)
    assert package.id == "test-visitor"
    assert package.root == root.resolve() and package.source == root
    assert package.media_path("shot") == root.resolve() / "clips/shot.mp4"
    assert package.media_path("calm").is_absolute() and package.media_path("calm").is_file()
    with pytest.raises(NotFound):
        package.media_path("nowhere")
    assert hash(package) == hash(load_package(root))  # usable in sets despite the manifest's dicts


@pytest.mark.parametrize("top", ["pkg", None])
def test_load_zip_extracts_inside_extract_dir(tmp_path: Path, top: str | None) -> None:
    cache = tmp_path / "cache"
    source = good_zip(tmp_path, tmp_path / "lib" / "visitor.zip", top=top)
    package = load_package(source, extract_dir=cache)
    assert package.source == source
    assert package.root.is_relative_to(cache.resolve())
    assert (package.root / "manifest.yaml").is_file()
    assert package.media_path("agitated").read_bytes() == b"not really a video"
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_zip_extraction_is_reused_until_the_zip_changes(tmp_path: Path, unpack_count: list[Path]) -> None:
    cache = tmp_path / "cache"
    source = good_zip(tmp_path, tmp_path / "visitor.zip")
    first = load_package(source, extract_dir=cache)
    second = load_package(source, extract_dir=cache)
    assert first.root == second.root and len(unpack_count) == 1

    st = source.stat()
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    third = load_package(source, extract_dir=cache)
    assert len(unpack_count) == 2 and third.root != first.root
    assert not first.root.exists(), "the older extraction is removed"
    assert len(list(cache.iterdir())) == 1


def test_damaged_extraction_is_unpacked_again(tmp_path: Path, unpack_count: list[Path]) -> None:
    cache = tmp_path / "cache"
    source = good_zip(tmp_path, tmp_path / "visitor.zip")
    package = load_package(source, extract_dir=cache)
    package.media_path("shot").unlink()
    again = load_package(source, extract_dir=cache)
    assert again.media_path("shot").is_file() and len(unpack_count) == 2


def test_load_bad_package_lists_every_problem(tmp_path: Path) -> None:
    m = good_manifest()
    m["start"] = "nowhere"
    m["scenes"]["intro"]["choices"][0]["goto"] = "nope"
    root = write_package(tmp_path / "pkg", m)
    (root / "clips/shot.mp4").unlink()
    with pytest.raises(ScenarioError) as info:
        load_package(root)
    assert isinstance(info.value, ValueError)
    assert set(info.value.problems) >= {
        "start: no scene 'nowhere'",
        "scenes.intro.choices[0].goto: no scene 'nope'",
        "scenes.shot.media: file 'clips/shot.mp4' is missing",
    }


def test_load_bad_zip_writes_nothing(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    base = write_package(tmp_path / "src")
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.write(base / "manifest.yaml", "manifest.yaml")
        zf.writestr("../escaped.txt", b"x")
    with pytest.raises(ScenarioError) as info:
        load_package(bad, extract_dir=cache)
    assert "../escaped.txt: contains '..': must stay inside the package" in info.value.problems
    assert not cache.exists() and not (tmp_path / "escaped.txt").exists()


@pytest.mark.parametrize("evil", ["../escaped.txt", "/tmp/escaped.txt", "a/../../escaped.txt"])
def test_extraction_refuses_unsafe_members_even_without_validation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, evil: str
) -> None:
    base = write_package(tmp_path / "src")
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        for f in base.rglob("*"):
            if f.is_file():
                zf.write(f, f.relative_to(base).as_posix())
        zf.writestr(evil, b"x")
    before = _files_under(tmp_path)
    with pytest.raises(ScenarioError, match="unsafe zip"):
        extract_zip(bad, tmp_path / "cache")
    # with the member check switched off, the unpacking loop's own path check still holds
    monkeypatch.setattr(load, "zip_member_problem", lambda info: None)
    dest = tmp_path / "cache" / "dest"
    dest.mkdir(parents=True)
    with zipfile.ZipFile(bad) as zf, pytest.raises(ScenarioError, match="outside the package"):
        load._unpack(zf, dest)
    written = _files_under(tmp_path) - before
    assert all(p.is_relative_to(tmp_path / "cache") for p in written)
    assert not (tmp_path / "escaped.txt").exists() and not Path("/tmp/escaped.txt").exists()


def test_package_is_frozen(tmp_path: Path) -> None:
    package = load_package(write_package(tmp_path / "pkg"))
    with pytest.raises(AttributeError):
        package.root = tmp_path  # type: ignore[misc]
    assert isinstance(package, ScenarioPackage)


# --- the library -----------------------------------------------------------------------------------


def _library(tmp_path: Path) -> tuple[ScenarioLibrary, Path]:
    lib = tmp_path / "scenarios"
    write_package(lib / "b-folder", good_manifest() | {"id": "bridge", "title": "Zebra crossing"})
    good_zip(tmp_path, lib / "a-visitor.zip", id="visitor", title="Angry visitor")
    broken = good_manifest() | {"id": "broken", "start": "nowhere"}
    write_package(lib / "c-broken", broken)
    (lib / "README.txt").write_text("not a package")
    (lib / ".hidden").mkdir()
    return ScenarioLibrary(lib, tmp_path / "cache"), lib


def test_library_scan(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    library, lib = _library(tmp_path)
    with caplog.at_level(logging.WARNING):
        library.scan()
    assert [p.id for p in library.list()] == ["visitor", "bridge"]  # sorted by title
    assert library.get("bridge").source == lib / "b-folder"
    assert library.get("visitor").media_path("intro").is_file()
    assert list(library.broken) == [lib / "c-broken"]
    assert [str(p) for p in library.broken[lib / "c-broken"]] == ["start: no scene 'nowhere'"]
    assert "c-broken" in caplog.text and "start: no scene 'nowhere'" in caplog.text
    with pytest.raises(NotFound):
        library.get("nowhere")


def test_library_reuses_zip_extraction(tmp_path: Path, unpack_count: list[Path]) -> None:
    library, _ = _library(tmp_path)
    library.scan()
    root = library.get("visitor").root
    library.scan()
    library.scan()
    assert len(unpack_count) == 1 and library.get("visitor").root == root


def test_library_rescan_drops_removed_packages_and_their_cache(tmp_path: Path) -> None:
    library, lib = _library(tmp_path)
    library.scan()
    (lib / "a-visitor.zip").unlink()
    library.scan()
    assert [p.id for p in library.list()] == ["bridge"]
    assert list((tmp_path / "cache").iterdir()) == []
    with pytest.raises(NotFound):
        library.get("visitor")


def test_library_duplicate_id_is_broken(tmp_path: Path) -> None:
    library, lib = _library(tmp_path)
    write_package(lib / "d-copy", good_manifest() | {"id": "bridge"})
    library.scan()
    assert [str(p) for p in library.broken[lib / "d-copy"]] == ["id: 'bridge' is already used by b-folder"]
    assert library.get("bridge").source == lib / "b-folder"


def test_library_survives_garbage(tmp_path: Path) -> None:
    lib = tmp_path / "scenarios"
    lib.mkdir()
    (lib / "fake.zip").write_bytes(os.urandom(1000))
    (lib / "empty").mkdir()
    write_package(lib / "list", b"[1, 2]")
    library = ScenarioLibrary(lib, tmp_path / "cache")
    library.scan()
    assert library.list() == [] and set(library.broken) == {lib / "fake.zip", lib / "empty", lib / "list"}


def test_library_missing_dir_is_empty(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    library = ScenarioLibrary(tmp_path / "nope", tmp_path / "cache")
    library.scan()
    assert library.list() == [] and library.broken == {}
    assert "cannot read the scenario library" in caplog.text


def test_library_skips_its_own_cache(tmp_path: Path) -> None:
    lib = tmp_path / "scenarios"
    good_zip(tmp_path, lib / "visitor.zip")
    library = ScenarioLibrary(lib, lib / "cache")
    library.scan()
    library.scan()
    assert [p.id for p in library.list()] == ["test-visitor"] and library.broken == {}
