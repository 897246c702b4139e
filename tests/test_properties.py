"""Property tests (hypothesis) for the two parsers of untrusted input: the scenario manifest and
the detector's camera frames.

Manifests: whatever the document, ``validate_path`` names its problems in sentences; it never
raises and never falls back to its "could not be checked" catch-all (which would mean an input
nobody thought about). Frames: any uint8 frame of the right size is processed and the shots it
yields lie inside the frame; anything else (odd sizes, float frames with NaNs, empty arrays, wrong
channel counts) is refused with a ValueError that says what was wrong, and the detector carries on.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scenario_builders import TEST_SCENARIO, write_scenario

from appliance.detection.laser import LaserDetector
from appliance.scenario.validate import validate_path

CATCH_ALL = "could not be checked"

json_scalars = st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
FIELD_PATHS = [
    ("id",),
    ("title",),
    ("audience",),
    ("start",),
    ("scenes",),
    ("rubric",),
    ("duration_s",),
    ("scenes", "intro"),
    ("scenes", "intro", "choices"),
    ("scenes", "intro", "start_s"),
    ("scenes", "intro", "end_s"),
    ("scenes", "intro", "media"),
    ("scenes", "intro", "zones"),
    ("scenes", "intro", "timeout"),
    ("scenes", "intro", "on_hit"),
    ("scenes", "intro", "cues"),
    ("scenes", "calm", "outcome"),
]
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _set(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node: Any = doc
    for key in path[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            return
        node = node[key]
    if isinstance(node, dict):
        node[path[-1]] = value


@PROPERTY_SETTINGS
@given(changes=st.lists(st.tuples(st.sampled_from(FIELD_PATHS), json_values), min_size=1, max_size=4))
def test_mutated_manifest_is_answered_in_sentences(
    tmp_path_factory: pytest.TempPathFactory, changes: Any
) -> None:
    doc = copy.deepcopy(TEST_SCENARIO)
    for path, value in changes:
        _set(doc, path, value)
    root = write_scenario(tmp_path_factory.mktemp("pkg"))
    (root / "manifest.yaml").unlink()
    (root / "manifest.json").write_text(json.dumps(doc, allow_nan=True))
    manifest, problems = validate_path(root)
    assert all(CATCH_ALL not in str(p) for p in problems), problems
    assert all(str(p).strip() for p in problems)
    assert manifest is not None or problems, "no manifest and no reason"


@PROPERTY_SETTINGS
@given(document=json_values)
def test_any_document_as_manifest_is_answered_in_sentences(
    tmp_path_factory: pytest.TempPathFactory, document: Any
) -> None:
    root = tmp_path_factory.mktemp("pkg")
    (root / "manifest.yaml").write_text(yaml.safe_dump(document))
    manifest, problems = validate_path(root)
    assert manifest is None and problems, "a random document is never a valid scenario"
    assert all(CATCH_ALL not in str(p) for p in problems), problems


@PROPERTY_SETTINGS
@given(data=st.binary(max_size=2000))
def test_any_bytes_as_manifest_are_answered_in_sentences(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    root = tmp_path_factory.mktemp("pkg")
    (root / "manifest.yaml").write_bytes(data)
    manifest, problems = validate_path(root)
    assert problems and manifest is None
    assert all(CATCH_ALL not in str(p) for p in problems), problems


frame_sizes = st.tuples(st.integers(1, 48), st.integers(1, 48))


@settings(max_examples=60, deadline=None)
@given(size=frame_sizes, seed=st.integers(0, 2**32 - 1), colour=st.booleans())
def test_any_uint8_frames_of_the_right_size_give_shots_inside_the_frame(
    size: tuple[int, int], seed: int, colour: bool
) -> None:
    width, height = size
    rng = np.random.default_rng(seed)
    detector = LaserDetector(width, height)
    shape = (height, width, 3) if colour else (height, width)
    shots = []
    for i in range(14):
        frame = rng.integers(0, 256, size=shape, dtype=np.uint8) if i % 3 else np.zeros(shape, np.uint8)
        shots += detector.process(frame, i * 16.7)
    shots += detector.flush()
    for shot in shots:
        assert math.isfinite(shot.x) and math.isfinite(shot.y)
        assert -0.5 <= shot.x <= width - 0.5 and -0.5 <= shot.y <= height - 0.5, shot


BAD_FRAMES = [
    ("float with NaN", lambda: np.full((24, 32), np.nan, dtype=np.float32)),
    ("float", lambda: np.zeros((24, 32, 3), dtype=np.float64)),
    ("empty", lambda: np.zeros((0, 0), dtype=np.uint8)),
    ("one row short", lambda: np.zeros((23, 32), dtype=np.uint8)),
    ("transposed", lambda: np.zeros((32, 24), dtype=np.uint8)),
    ("four channels", lambda: np.zeros((24, 32, 4), dtype=np.uint8)),
    ("two channels", lambda: np.zeros((24, 32, 2), dtype=np.uint8)),
    ("one dimension", lambda: np.zeros(24 * 32, dtype=np.uint8)),
    ("sixteen bit", lambda: np.zeros((24, 32), dtype=np.uint16)),
    ("not an array", lambda: [[0] * 32] * 24),
]


@pytest.mark.parametrize("make", [b[1] for b in BAD_FRAMES], ids=[b[0] for b in BAD_FRAMES])
def test_bad_frames_are_refused_with_a_reason_and_the_detector_goes_on(make: Any) -> None:
    detector = LaserDetector(32, 24)
    good = np.zeros((24, 32), dtype=np.uint8)
    detector.process(good, 0.0)
    with pytest.raises(ValueError) as refused:
        detector.process(make(), 16.7)
    assert str(refused.value).strip()
    assert detector.process(good, 33.3) == []
    assert detector.frames_seen == 2, "a refused frame is not counted"


@settings(max_examples=40, deadline=None)
@given(
    frame=hnp.arrays(
        dtype=st.sampled_from([np.uint8, np.float32, np.int16, np.bool_]),
        shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6),
    )
)
def test_arbitrary_arrays_raise_only_value_error(frame: np.ndarray) -> None:
    detector = LaserDetector(6, 6)
    try:
        detector.process(frame, 0.0)
    except ValueError as exc:
        assert str(exc).strip()


def test_write_scenario_helper_still_valid(tmp_path: Path) -> None:
    """The property tests mutate this package; unmutated, it must be valid or they prove little."""
    manifest, problems = validate_path(write_scenario(tmp_path / "pkg"))
    assert manifest is not None and problems == []
