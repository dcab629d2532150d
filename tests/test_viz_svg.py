"""tl.viz's pictures without Graphviz: SVG in pure Python, PNG/PDF through matplotlib.

Every SVG must be well-formed XML with one box per tensor of the graph, and no two boxes may
overlap, whatever the graph (a hypothesis test draws random layered graphs).
"""

from __future__ import annotations

import io
import itertools
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from examples.common.models import build_cnn
from tinygrad_lite import nn, viz
from tinygrad_lite.tools.viz_layout import layered_layout
from tinygrad_lite.tools.viz_render import PALETTE

SVG = "{http://www.w3.org/2000/svg}"


def two_layer(batch: int = 4):
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10))
    loss = nn.functional.cross_entropy(model(tl.randn(batch, 784)), np.arange(batch) % 10)
    return model, loss


def boxes_of(svg: str) -> list:
    """[(text lines, fill, (x, y, w, h))] of every node box; the SVG must parse as XML."""
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    out = []
    for group in root.iter(SVG + "g"):
        if group.get("class") != "node":
            continue
        rect = group.find(SVG + "rect")
        lines = [span.text for span in group.iter(SVG + "tspan")]
        box = tuple(float(rect.get(k)) for k in ("x", "y", "width", "height"))
        out.append((lines, rect.get("fill"), box))
    return out


def overlapping(boxes: list) -> list:
    """Pairs of boxes (x, y, w, h) whose interiors intersect."""
    return [
        (a, b) for a, b in itertools.combinations(boxes, 2)
        if a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]
    ]


def check_picture(svg: str, n_nodes: int) -> list:
    boxes = boxes_of(svg)
    assert len(boxes) == n_nodes
    rects = [box for _, _, box in boxes]
    assert overlapping(rects) == []
    root = ET.fromstring(svg)
    width, height = float(root.get("width")), float(root.get("height"))
    for x, y, w, h in rects:
        assert 0 <= x and x + w <= width and 0 <= y and y + h <= height
    return boxes


@pytest.mark.parametrize("rankdir", ["TB", "LR"])
def test_two_layer_net_svg_has_every_node_and_no_overlap(rankdir):
    model, loss = two_layer()
    with tl.trace_backward(file=io.StringIO()) as tr:
        loss.backward()
    picture = viz.graph(loss, model, trace=tr, rankdir=rankdir)
    nodes = viz.graph_nodes(loss)
    boxes = check_picture(picture.svg, len(nodes))
    texts = {"\n".join(lines) for lines, _, _ in boxes}
    dot_labels = {label.replace("\\n", "\n") for label in
                  re.findall(r'label="((?:[^"\\]|\\.)*)"', picture.dot)}
    assert texts == dot_labels  # the same boxes as the DOT text
    fills = {lines[0]: fill for lines, fill, _ in boxes}
    assert fills["0.weight"] == fills["2.bias"] == PALETTE["parameter"]
    assert fills["CrossEntropy"] == PALETTE["output"]
    assert fills["ReLU"] == fills["Linear"] == PALETTE["op"]
    assert all(any(line.startswith("|grad| = ") for line in lines) for lines, _, _ in boxes)
    assert "Frobenius norm" in picture.svg
    assert picture.svg.count('<g class="edge">') == 7  # no data or targets: they need no grad
    assert picture._repr_svg_() == picture.svg


def test_ranks_run_in_the_chosen_direction():
    model, loss = two_layer()
    for rankdir, axis in (("TB", 1), ("LR", 0)):
        boxes = {lines[0]: box for lines, _, box in boxes_of(viz.graph(loss, model,
                                                                        rankdir=rankdir).svg)}
        order = ["0.weight", "ReLU", "CrossEntropy"]
        assert [boxes[name][axis] for name in order] == sorted(boxes[n][axis] for n in order)


def test_draw_writes_svg_png_pdf_and_dot(tmp_path):
    model, loss = two_layer()
    loss.backward()
    svg = viz.draw(loss, tmp_path / "g.svg", model)
    check_picture(open(svg).read(), 8)
    png = viz.draw(loss, tmp_path / "g.png", model, rankdir="LR")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    pdf = viz.draw(loss, tmp_path / "g.pdf", model)
    assert open(pdf, "rb").read(5) == b"%PDF-"
    assert open(viz.draw(loss, tmp_path / "g.dot", model)).read() == viz.to_dot(loss, model)
    with pytest.raises(ValueError, match="unknown format 'nosuchformat'"):
        viz.draw(loss, tmp_path / "g.nosuchformat", model)
    with pytest.raises(ValueError, match="rankdir"):
        viz.graph(loss, rankdir="BT")
    with pytest.raises(TypeError):
        viz.graph(np.zeros(3))


def test_png_is_the_svg_drawn_by_matplotlib(tmp_path):
    """Same size (1 SVG pixel = 1 point, at 120 dpi) and the same colours in it."""
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    model, loss = two_layer()
    picture = viz.graph(loss, model)
    picture.save(tmp_path / "g.png")
    image = imread(tmp_path / "g.png")
    root = ET.fromstring(picture.svg)
    assert image.shape[1] == pytest.approx(float(root.get("width")) * 120 / 72, abs=2)
    colours = {tuple(np.round(px[:3] * 255).astype(int)) for px in image.reshape(-1, 4)}
    for fill in PALETTE.values():
        rgb = tuple(int(fill[k : k + 2], 16) for k in (1, 3, 5))
        assert rgb in colours, fill


def test_text_is_escaped_and_reused_tensors_are_labelled():
    a = tl.Tensor([1.0, 2.0], requires_grad=True)
    a.name = '<a & "b">'
    y = (a * a).sum() + (a.exp() * 2.0).sum()
    svg = viz.graph(y).svg
    boxes = check_picture(svg, 7)
    assert ['<a & "b">', "(2,)"] in [lines for lines, _, _ in boxes]
    assert ">x2</text>" in svg  # a -> Mul, twice


def test_a_cnn_graph_has_no_overlap():
    tl.manual_seed(0)
    model = build_cnn((28, 28), [4, 8], 16, 10, dropout=0.25)
    loss = nn.functional.cross_entropy(model(tl.randn(2, 784)), np.array([1, 2]))
    loss.backward()
    for rankdir in ("TB", "LR"):
        check_picture(viz.graph(loss, model, rankdir=rankdir).svg, len(viz.graph_nodes(loss)))


@st.composite
def dags(draw):
    n = draw(st.integers(1, 14))
    sizes = [(draw(st.floats(4, 160)), draw(st.floats(4, 60))) for _ in range(n)]
    pairs = [(s, t) for t in range(n) for s in range(t)]
    edges = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=25)) if pairs else []
    return sizes, edges


@settings(max_examples=60, deadline=None)
@given(dags(), st.sampled_from(["TB", "LR"]))
def test_layout_never_overlaps_and_routes_join_their_boxes(dag, direction):
    sizes, edges = dag
    layout = layered_layout(sizes, edges, direction=direction)
    assert overlapping(layout.boxes) == []
    for (x, y, w, h), (sw, sh) in zip(layout.boxes, sizes):
        assert (w, h) == (sw, sh)
        assert 0 <= x and x + w <= layout.width + 1e-9 and 0 <= y and y + h <= layout.height + 1e-9
    for (s, t), route in zip(edges, layout.routes):
        (x0, y0), (x1, y1) = route[0], route[-1]
        sx, sy, sw, sh = layout.boxes[s]
        tx, ty, tw, th = layout.boxes[t]
        if direction == "TB":  # leaves the source's bottom, enters the target's top
            assert y0 == pytest.approx(sy + sh) and sx <= x0 <= sx + sw
            assert y1 == pytest.approx(ty) and tx <= x1 <= tx + tw
        else:
            assert x0 == pytest.approx(sx + sw) and sy <= y0 <= sy + sh
            assert x1 == pytest.approx(tx) and ty <= y1 <= ty + th
        for px, py in route[1:-1]:  # waypoints lie outside every box
            assert not any(bx < px < bx + bw and by < py < by + bh
                           for bx, by, bw, bh in layout.boxes)


def test_layout_rejects_backward_edges():
    with pytest.raises(ValueError, match="earlier to later"):
        layered_layout([(10, 10), (10, 10)], [(1, 0)])
    with pytest.raises(ValueError, match="direction"):
        layered_layout([(10, 10)], [], direction="RL")
