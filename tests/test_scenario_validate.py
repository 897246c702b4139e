"""Scenario validation: one good package passes, and every kind of bad package is named precisely."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from scenario_fixtures import (
    DELETE,
    GARBAGE,
    GOOD_COUNTS,
    assert_problem,
    change,
    good_manifest,
    good_zip,
    make_garbage,
    scene,
    write_package,
    zip_folder,
)

from appliance.scenario import validate
from appliance.scenario.commands import validate_command
from appliance.scenario.model import Rect
from appliance.scenario.validate import Problem, check_manifest, validate_path

Changes = dict[str, Any] | Callable[[dict[str, Any]], object]


# --- the good package ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["manifest.yaml", "manifest.json"])
def test_good_folder_passes(tmp_path: Path, name: str) -> None:
    manifest, problems = validate_path(write_package(tmp_path / "pkg", name=name))
    assert problems == []
    assert manifest is not None and manifest.id == "test-visitor"
    assert isinstance(manifest.scenes["agitated"].zones[0].area, Rect)


def test_manifest_file_path_validates_its_folder(tmp_path: Path) -> None:
    root = write_package(tmp_path / "pkg")
    assert validate_path(root / "manifest.yaml")[1] == []


@pytest.mark.parametrize("top", ["pkg", None])
def test_good_zip_passes(tmp_path: Path, top: str | None) -> None:
    manifest, problems = validate_path(good_zip(tmp_path, tmp_path / "good.zip", top=top))
    assert problems == [] and manifest is not None


def test_rect_without_shape_is_a_rect(tmp_path: Path) -> None:
    m = good_manifest()
    del m["scenes"]["agitated"]["zones"][0]["area"]["shape"]
    manifest, problems = validate_path(write_package(tmp_path / "pkg", m))
    assert problems == [] and manifest is not None
    assert isinstance(manifest.scenes["agitated"].zones[0].area, Rect)


def test_problem_str() -> None:
    assert str(Problem("scenes.a.media", "file 'x' is missing")) == "scenes.a.media: file 'x' is missing"


# --- manifest contents: typing and semantics -------------------------------------------------------


def _no_endings(m: dict[str, Any]) -> None:
    for scene_ in m["scenes"].values():
        if scene_.pop("outcome", None):
            scene_["on_end"] = "intro"


INTRO, AGIT = "scenes.intro.", "scenes.agitated."
WHOLE_RECT = {"x": 0, "y": 0, "w": 1, "h": 1}

# (id, changes to the good manifest, expected "where: part of the message")
MANIFEST_CASES: list[tuple[str, Changes, str]] = [
    ("start", {"start": "nowhere"}, "start: no scene 'nowhere'"),
    (
        "choice-goto",
        {INTRO + "choices.1.goto": "agitatd"},
        "scenes.intro.choices[1].goto: did you mean 'agitated'?",
    ),
    ("on-end", {AGIT + "on_end": "nope"}, "scenes.agitated.on_end: no scene 'nope'"),
    ("timeout", {INTRO + "timeout.goto": "nope"}, "scenes.intro.timeout.goto: no scene 'nope'"),
    ("on-hit-goto", {AGIT + "on_hit.0.goto": "nope"}, "scenes.agitated.on_hit[0].goto: no scene 'nope'"),
    ("on-input-goto", {AGIT + "on_input.0.goto": "x"}, "scenes.agitated.on_input[0].goto: no scene 'x'"),
    ("on-hit-zone", {AGIT + "on_hit.0.zone": "gun"}, "scenes.agitated.on_hit[0].zone: has no zone 'gun'"),
    (
        "on-hit-kind",
        {AGIT + "on_hit.1.kind": "vital"},
        "scenes.agitated.on_hit[1].kind: no zone of kind 'vital'",
    ),
    (
        "dup-choice",
        {INTRO + "choices.1.id": "greet"},
        "scenes.intro.choices[1].id: duplicate choice id 'greet'",
    ),
    ("dup-hotkey", {INTRO + "choices.1.hotkey": "1"}, "scenes.intro.choices[1].hotkey: duplicate hotkey '1'"),
    ("dup-zone", {AGIT + "zones.1.id": "knife"}, "scenes.agitated.zones[1].id: duplicate zone id 'knife'"),
    ("dup-rubric", {"rubric.1.id": "listen"}, "rubric[1].id: duplicate rubric id 'listen' (also rubric[0])"),
    (
        "dup-input",
        {AGIT + "on_input.1": {"input": "branch1", "goto": "shot"}},
        "scenes.agitated.on_input[1].input: ",
    ),
    (
        "zone-times",
        {AGIT + "zones.0.from_s": 8, AGIT + "zones.0.to_s": 8},
        "scenes.agitated.zones[0].to_s: after from_s",
    ),
    (
        "zone-late",
        {INTRO + "zones": [{"id": "z", "kind": "other", "from_s": 20, "area": WHOLE_RECT}]},
        "scenes.intro.zones[0].from_s: after the segment's end (12 s)",
    ),
    ("unreachable", {"scenes.orphan": scene(outcome="lost")}, "scenes.orphan: unreachable"),
    ("dead-end", {"scenes.stuck": scene(), INTRO + "choices.1.goto": "stuck"}, "scenes.stuck: dead end"),
    (
        "trap",
        {
            "scenes.loop1": scene(on_end="loop2"),
            "scenes.loop2": scene(on_end="loop1"),
            INTRO + "choices.1.goto": "loop1",
        },
        "scenes.loop1: trap: no ending",
    ),
    ("no-ending", _no_endings, "scenes: no ending"),
    ("ending-on-end", {"scenes.calm.on_end": "intro"}, "scenes.calm.on_end: an ending scene"),
    # typing errors, converted from pydantic's with a dotted place
    ("unit", {AGIT + "zones.0.area.x": 1.5}, "scenes.agitated.zones[0].area.x: must be <= 1"),
    ("rect-outside", {AGIT + "zones.0.area.x": 0.9}, "scenes.agitated.zones[0].area: outside the picture"),
    (
        "polygon",
        {AGIT + "zones.2.area.points.1": [2, 0]},
        "scenes.agitated.zones[2].area.points[1][0]: must be <= 1",
    ),
    ("radius", {AGIT + "zones.1.area.r": 0}, "scenes.agitated.zones[1].area.r: must be > 0"),
    ("shape", {AGIT + "zones.1.area.shape": "star"}, "scenes.agitated.zones[1].area: shape must be"),
    ("missing", {"title": DELETE}, "title: required field is missing"),
    ("missing-nested", {AGIT + "zones.0.area.w": DELETE}, "scenes.agitated.zones[0].area.w: required"),
    ("extra", {INTRO + "colour": "red"}, "scenes.intro.colour: unknown field"),
    ("type", {"duration_s": "long"}, "duration_s: valid number"),
    ("yaml-number", {INTRO + "choices.0.hotkey": 1}, "scenes.intro.choices[0].hotkey: put it in quotes"),
    ("hotkey", {INTRO + "choices.0.hotkey": "F1"}, "scenes.intro.choices[0].hotkey: one character"),
    ("colour", {INTRO + "choices.0.colour": "green"}, "scenes.intro.choices[0].colour: #rrggbb"),
    ("scene-key", {"scenes.Bad Scene": scene(outcome="x")}, "scenes.Bad Scene: bad key 'Bad Scene'"),
    ("id", {"id": "Has Spaces"}, "id: must be an id"),
    ("audience", {"audience": ["pilots"]}, "audience[0]: 'healthcare'"),
    ("no-audience", {"audience": []}, "audience: at least 1"),
    ("segment", {INTRO + "start_s": 20}, "scenes.intro: end_s must be after start_s"),
    (
        "on-hit-both",
        {AGIT + "on_hit.0.kind": "threat"},
        "scenes.agitated.on_hit[0]: exactly one of 'zone' or 'kind'",
    ),
    ("format", {"format": "openrange-scenario/2"}, "format: unknown format 'openrange-scenario/2'"),
    ("no-format", {"format": DELETE}, "format: required"),
    # media paths
    ("media-absolute", {"scenes.shot.media": "/etc/passwd"}, "scenes.shot.media: absolute path"),
    ("media-drive", {"scenes.shot.media": "C:/clips/a.mp4"}, "scenes.shot.media: absolute path"),
    ("media-dotdot", {"scenes.shot.media": "clips/../../x.mp4"}, "scenes.shot.media: contains '..'"),
    ("media-backslash", {"scenes.shot.media": "clips\\shot.mp4"}, "scenes.shot.media: '\\'"),
]


@pytest.mark.parametrize(
    ("changes", "expected"), [c[1:] for c in MANIFEST_CASES], ids=[c[0] for c in MANIFEST_CASES]
)
def test_bad_manifest_is_named(tmp_path: Path, changes: Changes, expected: str) -> None:
    m = good_manifest()
    if callable(changes):
        changes(m)
    else:
        change(m, changes)
    root = write_package(tmp_path / "pkg", m)
    assert_problem(validate_path(root)[1], expected)
    # the same package as a zip: the same problem at the same place
    assert_problem(validate_path(zip_folder(root, tmp_path / "pkg.zip"))[1], expected)


def test_every_typing_error_is_listed(tmp_path: Path) -> None:
    m = good_manifest()
    m["title"] = ""
    m["scenes"]["intro"]["choices"][0]["kind"] = "shout"
    m["scenes"]["agitated"]["zones"][1]["area"]["cx"] = -1
    m["rubric"][0]["max_score"] = 99
    _, problems = validate_path(write_package(tmp_path / "pkg", m))
    assert {p.where for p in problems} == {
        "title",
        "scenes.intro.choices[0].kind",
        "scenes.agitated.zones[1].area.cx",
        "rubric[0].max_score",
    }


def test_every_semantic_problem_is_listed(tmp_path: Path) -> None:
    m = good_manifest()
    m["start"] = "nowhere"
    m["scenes"]["agitated"]["on_hit"][0]["zone"] = "gun"
    m["rubric"][1]["id"] = "listen"
    _, problems = validate_path(write_package(tmp_path / "pkg", m))
    wheres = {p.where for p in problems}
    assert {"start", "scenes.agitated.on_hit[0].zone", "rubric[1].id"} <= wheres


# --- media files -----------------------------------------------------------------------------------


def _after(tmp_path: Path, alter: Callable[[Path], object]) -> list[Problem]:
    root = write_package(tmp_path / "pkg")
    alter(root)
    return validate_path(root)[1]


def _replace_with_dir(path: Path) -> None:
    path.unlink()
    path.mkdir()


@pytest.mark.parametrize(
    ("alter", "expected"),
    [
        (lambda r: (r / "clips/shot.mp4").unlink(), "scenes.shot.media: file 'clips/shot.mp4' is missing"),
        (
            lambda r: (r / "clips/shot.mp4").write_bytes(b""),
            "scenes.shot.media: file 'clips/shot.mp4' is empty",
        ),
        (lambda r: _replace_with_dir(r / "clips/shot.mp4"), "scenes.shot.media: not a regular file"),
    ],
    ids=["missing", "empty", "folder"],
)
def test_bad_media_file(tmp_path: Path, alter: Callable[[Path], object], expected: str) -> None:
    assert_problem(_after(tmp_path, alter), expected)


def test_media_symlink_leaving_package(tmp_path: Path) -> None:
    outside = tmp_path / "outside.mp4"
    outside.write_bytes(b"x")

    def alter(root: Path) -> None:
        (root / "clips/shot.mp4").unlink()
        (root / "clips/shot.mp4").symlink_to(outside)

    problems = _after(tmp_path, alter)
    assert_problem(problems, "scenes.shot.media: leads outside the package")
    assert_problem(problems, f"clips/shot.mp4: symlink points outside the package (to {outside})")


def test_any_symlink_leaving_package(tmp_path: Path) -> None:
    def alter(root: Path) -> None:
        (root / "notes").symlink_to("/etc")
        (root / "inside").symlink_to("clips")  # a symlink inside the package is fine

    assert [str(p) for p in _after(tmp_path, alter)] == [
        "notes: symlink points outside the package (to /etc)"
    ]


def test_check_manifest_on_a_typed_manifest(tmp_path: Path) -> None:
    root = write_package(tmp_path / "pkg")
    manifest, _ = validate_path(root)
    assert manifest is not None and check_manifest(manifest, root) == []
    (root / "clips/agitated.mp4").unlink()
    assert [p.where for p in check_manifest(manifest, root)] == ["scenes.agitated.media"]


# --- reading the manifest --------------------------------------------------------------------------

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)
Y, J = "manifest.yaml", "manifest.json"

# (id, manifest file name, its bytes, expected "where: part of the message")
RAW_CASES: list[tuple[str, str, bytes, str]] = [
    ("yaml-syntax", Y, b"format: x\nid: a\ntitle: [unclosed\n", "manifest.yaml line 4, column 1: YAML error"),
    (
        "yaml-indent",
        Y,
        b"id: a\n  title: b\n",
        "manifest.yaml line 2, column 8: mapping values are not allowed",
    ),
    ("json-syntax", J, b'{\n  "id": "a",\n  "title": }\n', "manifest.json line 3, column 12: JSON error"),
    ("list", Y, b"- a\n- b\n", "manifest.yaml: must be a mapping of fields, not a list"),
    ("empty", Y, b"", "manifest.yaml: not nothing (the file is empty)"),
    ("text", J, b'"hello"', "manifest.json: not text"),
    ("huge", Y, b"# " + b"x" * (1 << 20) + b"\n", "manifest.yaml: larger than 1 MB"),
    ("deep", Y, b"a: " + b"[" * 5000 + b"]" * 5000, "manifest.yaml: nested too deeply"),
    ("deep-json", J, b'{"a": ' + b"[" * 100 + b"]" * 100 + b"}", "manifest.json: nested more than 64 levels"),
    ("alias-bomb", Y, ALIAS_BOMB.encode(), "manifest.yaml: each use of a YAML alias counts"),
    ("binary", Y, bytes(range(256)) * 4, "manifest.yaml: not UTF-8"),
    ("nul", Y, b"id: a\x00\n", "manifest.yaml: YAML error"),
    (
        "python-tag",
        Y,
        b"id: !!python/object/apply:os.system [ls]\n",
        "manifest.yaml line 1, column 5: constructor",
    ),
    ("two-docs", Y, b"id: a\n---\nid: b\n", "manifest.yaml line 2, column 1: single document"),
]


@pytest.mark.parametrize(
    ("name", "data", "expected"), [c[1:] for c in RAW_CASES], ids=[c[0] for c in RAW_CASES]
)
def test_unreadable_manifest_is_named(tmp_path: Path, name: str, data: bytes, expected: str) -> None:
    manifest, problems = validate_path(write_package(tmp_path / "pkg", data, name=name))
    assert manifest is None
    assert_problem(problems, expected)


def test_no_manifest(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    assert [str(p) for p in validate_path(tmp_path / "pkg")[1]] == [
        "manifest: missing: put manifest.yaml (or manifest.json) at the root"
    ]


def test_two_manifests(tmp_path: Path) -> None:
    root = write_package(tmp_path / "pkg")
    write_package(root, name="manifest.json")
    assert_problem(validate_path(root)[1], "manifest: both manifest.yaml and manifest.json")


# --- the command -----------------------------------------------------------------------------------


def test_command_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate_command(write_package(tmp_path / "pkg")) == 0
    assert capsys.readouterr().out == f"OK test-visitor: {GOOD_COUNTS}\n"


def test_command_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_package(
        tmp_path / "pkg", change(good_manifest(), {"start": "nowhere", "rubric.1.id": "listen"})
    )
    assert validate_command(root) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{root}: start: no scene 'nowhere'",
        f"{root}: rubric[1].id: duplicate rubric id 'listen' (also rubric[0])",
    ]


def test_command_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate_command(good_zip(tmp_path, tmp_path / "p.zip"), as_json=True) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["id"] == "test-visitor" and report["problems"] == []
    assert (report["scenes"], report["choices"], report["zones"]) == (5, 2, 3)


def test_command_unreadable_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate_command(tmp_path / "nope") == 2
    assert capsys.readouterr().out == f"{tmp_path / 'nope'}: cannot read: no such file or folder\n"
    assert validate_command(tmp_path / "nope", as_json=True) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and "no such file" in report["problems"][0]["message"]


def test_command_writes_to_out(tmp_path: Path) -> None:
    out = io.StringIO()
    assert validate_command(write_package(tmp_path / "pkg"), out=out) == 0
    assert out.getvalue().startswith("OK test-visitor")


@pytest.mark.parametrize("kind", sorted(GARBAGE))
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_command_never_raises_on_garbage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, as_json: bool
) -> None:
    assert validate_command(make_garbage(tmp_path, kind), as_json=as_json) == 1
    out = capsys.readouterr().out
    assert out.strip() and "Traceback" not in out
    if as_json:
        assert json.loads(out)["problems"]


def test_unexpected_error_becomes_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(manifest: object) -> list[Problem]:
        raise RuntimeError("bug in a check")

    monkeypatch.setattr(validate, "check_graph", broken)
    root = write_package(tmp_path / "pkg")
    assert_problem(validate_path(root)[1], f"{root}: could not be checked: RuntimeError: bug in a check")
    assert validate_command(root) == 1
    assert "bug in a check" in capsys.readouterr().out
