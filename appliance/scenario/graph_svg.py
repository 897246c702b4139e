"""A picture of a scenario's branch graph as a self-contained SVG (no fonts, scripts or links).

Layout: deterministic layers from left to right by breadth-first depth from the start scene;
scenes in a layer keep their discovery order, then one barycentre pass per layer reduces
crossings. Scenes are boxes sized to their (wrapped) title; instructor choices are solid arrows
in the choice's colour, automatic transitions (end, timeout, on_hit, on_input) dashed grey
arrows; every arrow is labelled. An arrow to the same or an earlier layer (a cycle) is routed
below the boxes as a back edge. A ``path`` (scene ids in the order played) is highlighted:
its scenes and arrows are thick and numbered by step.

Text widths are estimated from character counts (no font metrics are needed or loaded).
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from itertools import pairwise
from xml.sax.saxutils import escape, quoteattr

from appliance.scenario.model import Manifest
from appliance.snapshot import DEFAULT_COLOURS

FONT = 14
SMALL = 11
CHAR_W = 0.6
"""Average glyph width in em for a sans-serif face: a safe over-estimate for Latin text."""
PAD = 10
LAYER_GAP = 190
ROW_GAP = 46
MARGIN = 24
AUTO_COLOUR = "#555555"
PATH_COLOUR = "#ff8f00"
TITLE_CHARS = 24
LABEL_CHARS = 22


@dataclass
class _Box:
    id: str
    lines: list[str]
    w: float
    h: float
    layer: int
    start: bool
    ending: bool
    x: float = 0.0
    y: float = 0.0

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass
class _Edge:
    src: str
    dst: str
    label: str
    colour: str
    auto: bool
    steps: list[int] = field(default_factory=list)
    on_path: bool = False


def _wrap(text: str, width: int, max_lines: int = 3) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        while len(word) > width:  # a very long word is cut
            if line:
                lines.append(line)
                line = ""
            lines.append(word[: width - 1] + "-")
            word = word[width - 1 :]
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return lines or [""]


def _text_w(text: str, size: float) -> float:
    return len(text) * size * CHAR_W


def _depths(manifest: Manifest) -> dict[str, int]:
    scenes = manifest.scenes
    depth: dict[str, int] = {}
    order = [manifest.start] if manifest.start in scenes else []
    order += [sid for sid in scenes if sid != manifest.start]
    for root in order:  # unreachable scenes start their own search, one layer after the rest
        if root in depth:
            continue
        depth[root] = 0 if root == manifest.start else max(depth.values(), default=-1) + 1
        queue = deque([root])
        while queue:
            sid = queue.popleft()
            for _, goto in scenes[sid].targets():
                if goto in scenes and goto not in depth:
                    depth[goto] = depth[sid] + 1
                    queue.append(goto)
    return depth


def _edges(manifest: Manifest) -> list[_Edge]:
    out = []
    for sid, scene in manifest.scenes.items():
        for c in scene.choices:
            colour = c.colour or DEFAULT_COLOURS[c.kind.value]
            hotkey = f" [{c.hotkey}]" if c.hotkey else ""
            out.append(_Edge(sid, c.goto, c.label + hotkey, colour, auto=False))
        if scene.on_end:
            out.append(_Edge(sid, scene.on_end, "end", AUTO_COLOUR, auto=True))
        if scene.timeout:
            label = f"timeout {scene.timeout.after_s:g} s"
            out.append(_Edge(sid, scene.timeout.goto, label, AUTO_COLOUR, auto=True))
        for h in scene.on_hit:
            out.append(_Edge(sid, h.goto, f"hit {h.zone or h.kind}", AUTO_COLOUR, auto=True))
        for i in scene.on_input:
            out.append(_Edge(sid, i.goto, f"input {i.input}", AUTO_COLOUR, auto=True))
    return [e for e in out if e.dst in manifest.scenes]


def _layout(manifest: Manifest, edges: list[_Edge]) -> tuple[dict[str, _Box], float, float]:
    depth = _depths(manifest)
    boxes: dict[str, _Box] = {}
    for sid, scene in manifest.scenes.items():
        lines = _wrap(scene.title, TITLE_CHARS)
        w = max(110.0, max(_text_w(t, FONT) for t in lines), _text_w(sid, SMALL)) + 2 * PAD
        h = len(lines) * FONT * 1.25 + SMALL * 1.3 + 2 * PAD
        boxes[sid] = _Box(sid, lines, w, h, depth[sid], sid == manifest.start, scene.outcome is not None)
    layers: dict[int, list[str]] = defaultdict(list)
    for sid in sorted(boxes, key=lambda s: depth[s]):  # stable: discovery order within a layer
        layers[depth[sid]].append(sid)
    preds: dict[str, list[str]] = defaultdict(list)
    for e in edges:
        if depth[e.src] < depth[e.dst]:
            preds[e.dst].append(e.src)
    position: dict[str, float] = {}
    for d in sorted(layers):
        if d > 0:
            layers[d].sort(
                key=lambda s: sum(position[p] for p in preds[s]) / len(preds[s]) if preds[s] else float("inf")
            )
        for i, sid in enumerate(layers[d]):
            position[sid] = i
    heights = {d: sum(boxes[s].h for s in ids) + ROW_GAP * (len(ids) - 1) for d, ids in layers.items()}
    total_h = max(heights.values(), default=0.0)
    x = MARGIN
    for d in sorted(layers):
        ids = layers[d]
        y = MARGIN + (total_h - heights[d]) / 2
        width = max(boxes[s].w for s in ids)
        for sid in ids:
            box = boxes[sid]
            box.x, box.y = x + (width - box.w) / 2, y
            y += box.h + ROW_GAP
        x += width + LAYER_GAP
    return boxes, x - LAYER_GAP + MARGIN, total_h + 2 * MARGIN


def _bezier(p: list[tuple[float, float]], t: float) -> tuple[float, float]:
    u = 1 - t
    x = u**3 * p[0][0] + 3 * u * u * t * p[1][0] + 3 * u * t * t * p[2][0] + t**3 * p[3][0]
    y = u**3 * p[0][1] + 3 * u * u * t * p[1][1] + 3 * u * t * t * p[2][1] + t**3 * p[3][1]
    return x, y


def _route(e: _Edge, a: _Box, b: _Box, bend: float, spread: float, below: float) -> list[tuple[float, float]]:
    """Four control points of the edge's cubic curve."""
    if a is b:  # a loop over the box's top
        x0, x1, y = a.x + a.w * 0.3, a.x + a.w * 0.7, a.y
        return [(x1, y), (x1 + 40, y - 70 - bend), (x0 - 40, y - 70 - bend), (x0, y)]
    if b.layer > a.layer:  # forward: right side to left side
        start, end = (a.x + a.w, a.cy + spread), (b.x, b.cy)
        dx = (end[0] - start[0]) * 0.45
        return [start, (start[0] + dx, start[1] + bend), (end[0] - dx, end[1] + bend), end]
    if b.layer == a.layer:  # same layer: out of the right side and back in
        start, end = (a.x + a.w, a.cy + spread), (b.x + b.w, b.cy)
        out = max(start[0], end[0]) + 60 + abs(bend)
        return [start, (out, start[1]), (out, end[1]), end]
    # back edge (a cycle): under every box
    start, end = (a.x + a.w * 0.6, a.y + a.h), (b.x + b.w * 0.4, b.y + b.h)
    low = below + 30 + 12 * abs(a.layer - b.layer) + bend
    return [start, (start[0], low), (end[0], low), end]


def _marker(colour: str) -> str:
    return "ah-" + colour.lstrip("#").lower()


def render_graph_svg(manifest: Manifest, path: list[str] | None = None) -> str:
    """The scenario's branch graph as an SVG document; ``path`` (scene ids played) highlighted."""
    edges = _edges(manifest)
    boxes, width, height = _layout(manifest, edges)
    path = [s for s in (path or []) if s in boxes]
    visits: dict[str, list[int]] = defaultdict(list)
    for i, sid in enumerate(path, 1):
        visits[sid].append(i)
    by_pair: dict[tuple[str, str], list[_Edge]] = defaultdict(list)
    for e in edges:
        by_pair[(e.src, e.dst)].append(e)
    for step, (a, b) in enumerate(pairwise(path), 1):
        pair = by_pair.get((a, b))
        if pair:  # every arrow between the two is on the path; the first carries the number
            for e in pair:
                e.on_path = True
            pair[0].steps.append(step)
    below = max((bx.y + bx.h for bx in boxes.values()), default=0.0)
    out_count: dict[str, int] = defaultdict(int)
    out_index: dict[int, int] = {}
    for i, e in enumerate(edges):
        out_index[i] = out_count[e.src]
        out_count[e.src] += 1
    colours = sorted({e.colour for e in edges} | {PATH_COLOUR})
    pair_seen: dict[tuple[str, str], int] = defaultdict(int)
    routes = []
    for i, e in enumerate(edges):
        a, b = boxes[e.src], boxes[e.dst]
        j = pair_seen[(e.src, e.dst)]
        pair_seen[(e.src, e.dst)] += 1
        m = len(by_pair[(e.src, e.dst)])
        bend = (j - (m - 1) / 2) * 44 if a is not b else j * 30
        n = out_count[e.src]
        spread = (out_index[i] - (n - 1) / 2) * min(10.0, a.h / (n + 1))
        routes.append(_route(e, a, b, bend, spread, below))
    ys = [y for pts in routes for _, y in pts]
    top = min([0.0, *(y - 20 for y in ys)])
    bottom = max([height, *(y + 20 for y in ys)])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 {top:.0f} {width:.0f} {bottom - top:.0f}"'
        f' width="{width:.0f}" height="{bottom - top:.0f}" font-family="sans-serif" role="img"'
        f" aria-label={quoteattr('Branch graph of ' + manifest.title)}>",
        f"<title>{escape(manifest.title)}</title>",
        "<style>.scene rect{fill:#fff;stroke:#37474f;stroke-width:1.5}"
        ".scene.start rect{stroke-width:3}.scene.ending rect{fill:#eceff1}"
        f".scene.on-path rect{{stroke:{PATH_COLOUR};stroke-width:5}}"
        ".edge path{fill:none;stroke-width:2}.edge.auto path{stroke-dasharray:7 5}"
        f".edge.path path{{stroke-width:6}}.step circle{{fill:{PATH_COLOUR}}}"
        ".step text{fill:#fff;font-weight:bold}.lbl rect{fill:#fff;fill-opacity:.9}</style>",
        "<defs>",
    ]
    for c in colours:
        parts.append(
            f'<marker id="{_marker(c)}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="12"'
            f' markerHeight="12" markerUnits="userSpaceOnUse"'
            f' orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="{c}"/></marker>'
        )
    parts.append("</defs>")
    labels: list[str] = []
    placed: list[tuple[float, float, float, float]] = []
    for e, pts in zip(edges, routes, strict=True):
        d = f"M{pts[0][0]:.1f},{pts[0][1]:.1f}C" + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts[1:])
        classes = "edge" + (" auto" if e.auto else " choice") + (" path" if e.on_path else "")
        stroke = PATH_COLOUR if e.on_path and e.auto else e.colour
        parts.append(
            f'<g class="{classes}" data-from={quoteattr(e.src)} data-to={quoteattr(e.dst)}>'
            f"<title>{escape(f'{e.src} → {e.dst}: {e.label}')}</title>"
            f'<path d="{d}" stroke="{stroke}" marker-end="url(#{_marker(stroke)})"/></g>'
        )
        lx, ly = _bezier(pts, 0.5)
        lines = _wrap(e.label, LABEL_CHARS, 2)
        labels.append(_label(lines, lx, ly, e.colour if not e.auto else AUTO_COLOUR, placed))
        if e.steps:
            sx, sy = _bezier(pts, 0.22)
            labels.append(_badge(",".join(map(str, e.steps)), sx, sy))
    for box in boxes.values():
        parts.append(_box(box, visits.get(box.id, [])))
    parts += labels
    parts.append("</svg>")
    return "".join(parts)


def _label(
    lines: list[str], x: float, y: float, colour: str, placed: list[tuple[float, float, float, float]]
) -> str:
    """A label centred at (x, y), moved down past labels already ``placed`` (which it joins)."""
    w = max(_text_w(t, SMALL + 1) for t in lines) + 8
    h = len(lines) * (SMALL + 3) + 4
    top = y - h / 2
    for _ in range(len(placed) + 1):
        hit = next(
            (p for p in placed if x - w / 2 < p[2] and p[0] < x + w / 2 and top < p[3] and p[1] < top + h),
            None,
        )
        if hit is None:
            break
        top = hit[3] + 2
    placed.append((x - w / 2, top, x + w / 2, top + h))
    spans = "".join(
        f'<tspan x="{x:.1f}" y="{top + 2 + (k + 1) * (SMALL + 3) - 3:.1f}">{escape(t)}</tspan>'
        for k, t in enumerate(lines)
    )
    return (
        f'<g class="lbl"><rect x="{x - w / 2:.1f}" y="{top:.1f}" width="{w:.1f}" height="{h:.1f}" rx="3"/>'
        f'<text text-anchor="middle" font-size="{SMALL + 1}" fill="{colour}">{spans}</text></g>'
    )


def _badge(text: str, x: float, y: float) -> str:
    r = max(11.0, _text_w(text, SMALL) / 2 + 5)
    return (
        f'<g class="step"><circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}"/>'
        f'<text x="{x:.1f}" y="{y + SMALL * 0.38:.1f}" text-anchor="middle" font-size="{SMALL}">'
        f"{escape(text)}</text></g>"
    )


def _box(box: _Box, visits: list[int]) -> str:
    classes = "scene" + (" start" if box.start else "") + (" ending" if box.ending else "")
    classes += " on-path" if visits else ""
    cx = box.x + box.w / 2
    texts = "".join(
        f'<text x="{cx:.1f}" y="{box.y + PAD + (k + 1) * FONT * 1.25 - 4:.1f}" text-anchor="middle"'
        f' font-size="{FONT}" fill="#111">{escape(line)}</text>'
        for k, line in enumerate(box.lines)
    )
    id_y = box.y + box.h - PAD
    out = (
        f'<g class="{classes}" data-scene={quoteattr(box.id)}><title>{escape(box.id)}</title>'
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" rx="6"/>{texts}'
        f'<text x="{cx:.1f}" y="{id_y:.1f}" text-anchor="middle" font-size="{SMALL}" fill="#607d8b">'
        f"{escape(box.id)}</text></g>"
    )
    if visits:
        out += _badge(",".join(map(str, visits)), box.x, box.y)
    return out
