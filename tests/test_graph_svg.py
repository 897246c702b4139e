"""The branch graph picture: complete, highlighted, valid XML, safe on cycles, fast on big graphs."""

from __future__ import annotations

import copy
import time
import xml.etree.ElementTree as ET

from scenario_builders import TEST_SCENARIO

from appliance.scenario.graph_svg import render_graph_svg
from appliance.scenario.model import Manifest

SVG = "{http://www.w3.org/2000/svg}"


def manifest(data: dict | None = None) -> Manifest:
    return Manifest.model_validate(copy.deepcopy(data or TEST_SCENARIO))


def texts(root: ET.Element) -> str:
    return " ".join("".join(el.itertext()) for el in root.iter(f"{SVG}text"))


def is_path(g: ET.Element) -> bool:
    return "path" in g.get("class", "").split()


def edges(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if "edge" in g.get("class", "").split()]


def test_every_scene_and_choice_is_drawn_and_it_parses() -> None:
    m = manifest()
    root = ET.fromstring(render_graph_svg(m))
    assert root.tag == f"{SVG}svg"
    shown = texts(root)
    for sid, scene in m.scenes.items():
        assert sid in shown and scene.title in shown
        for choice in scene.choices:
            assert choice.label in shown
    scenes = {g.get("data-scene") for g in root.iter(f"{SVG}g") if g.get("data-scene")}
    assert scenes == set(m.scenes)
    # 3 choices + end + timeout + on_hit + on_input
    assert len(edges(root)) == 7
    kinds = {(g.get("data-from"), g.get("data-to")): g.get("class") for g in edges(root)}
    assert "choice" in kinds[("intro", "calm")].split()
    assert "auto" in kinds[("angry", "assault")].split()  # on_end: dashed
    for label in ("end", "timeout 20 s", "hit threat", "input trigger"):
        assert label in shown


def test_choice_arrows_use_the_choice_colour_and_autos_are_dashed() -> None:
    svg = render_graph_svg(manifest())
    root = ET.fromstring(svg)
    calm = next(g for g in edges(root) if (g.get("data-from"), g.get("data-to")) == ("intro", "calm"))
    assert calm.find(f"{SVG}path").get("stroke") == "#2e7d32"  # de-escalate green
    assert ".edge.auto path{stroke-dasharray" in svg


def test_path_is_highlighted_and_numbered() -> None:
    root = ET.fromstring(render_graph_svg(manifest(), ["intro", "angry", "assault"]))
    on_path = {(g.get("data-from"), g.get("data-to")) for g in edges(root) if is_path(g)}
    assert on_path == {("intro", "angry"), ("angry", "assault")}
    highlighted = {
        g.get("data-scene") for g in root.iter(f"{SVG}g") if "on-path" in g.get("class", "").split()
    }
    assert highlighted == {"intro", "angry", "assault"}
    steps = [
        "".join(g.itertext()) for g in root.iter(f"{SVG}g") if g.get("class") == "step"
    ]  # scene visit numbers 1..3 and edge step numbers 1..2
    assert sorted(steps) == ["1", "1", "2", "2", "3"]


def test_unknown_path_scenes_are_ignored() -> None:
    root = ET.fromstring(render_graph_svg(manifest(), ["intro", "nowhere", "<script>"]))
    assert not [g for g in edges(root) if "path" in g.get("class").split()]


def test_cycle_is_drawn_as_a_back_edge_without_looping() -> None:
    data = copy.deepcopy(TEST_SCENARIO)
    data["scenes"]["angry"]["choices"].append({"id": "again", "label": "Start over", "goto": "intro"})
    data["scenes"]["calm"]["choices"] = [{"id": "stay", "label": "Stay & <watch>", "goto": "calm"}]
    started = time.perf_counter()
    svg = render_graph_svg(manifest(data), ["intro", "angry", "intro", "calm", "calm"])
    assert time.perf_counter() - started < 1.0
    root = ET.fromstring(svg)
    assert "Stay &amp; &lt;watch&gt;" in svg and "Stay & <watch>" in texts(root)
    back = next(g for g in edges(root) if (g.get("data-from"), g.get("data-to")) == ("angry", "intro"))
    assert "path" in back.get("class").split()
    visits = {"".join(g.itertext()) for g in root.iter(f"{SVG}g") if g.get("class") == "step"}
    assert "1,3" in visits  # intro visited first and third


def test_fifty_scenes_render_fast_and_deterministically() -> None:
    scenes = {}
    for i in range(50):
        nxt = [j for j in (i + 1, i + 2, i // 2) if j < 50 and j != i]
        scenes[f"s{i}"] = {
            "title": f"Scene number {i} with a fairly long title to wrap",
            "media": "m.mp4",
            "choices": [
                {"id": f"c{j}", "label": f"Go to scene {j}", "goto": f"s{j}", "kind": "escalate"} for j in nxt
            ],
            **({"outcome": "done"} if i == 49 else {}),
        }
    data = {**copy.deepcopy(TEST_SCENARIO), "start": "s0", "scenes": scenes, "rubric": []}
    m = manifest(data)
    started = time.perf_counter()
    svg = render_graph_svg(m, [f"s{i}" for i in range(0, 50, 2)])
    elapsed = time.perf_counter() - started
    assert elapsed < 0.3, elapsed
    root = ET.fromstring(svg)
    assert len({g.get("data-scene") for g in root.iter(f"{SVG}g") if g.get("data-scene")}) == 50
    assert svg == render_graph_svg(m, [f"s{i}" for i in range(0, 50, 2)])
