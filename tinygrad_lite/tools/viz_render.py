"""Pictures of a laid-out graph: SVG text in pure Python, and PNG/PDF through matplotlib.

Both draw the same thing from a `viz_layout.Layout`: a rounded box per node (lines of text,
filled by the node's kind), a curve with an arrowhead per edge, and a legend of the colours.
Text is monospaced, so a box's width is known without a font library: 0.6 em per character.
"""

from __future__ import annotations

from typing import Any, List, Sequence, Tuple
from xml.sax.saxutils import escape, quoteattr

from .viz_layout import Layout, Point

__all__ = ["FONT_SIZE", "PALETTE", "box_size", "save_matplotlib", "to_svg"]

FONT_SIZE = 12.0
LINE_HEIGHT = 1.3 * FONT_SIZE
CHAR_WIDTH = 0.6 * FONT_SIZE  # DejaVu Sans Mono, Menlo, Courier: 0.6 em per character
PAD_X, PAD_Y = 10.0, 6.0
FONTS = "DejaVu Sans Mono, Menlo, Consolas, monospace"
EDGE_COLOUR = "#555555"

# torchviz's colours: leaves (parameters) light blue, the output dark olive green, the ops
# light grey (Graphviz's default fill)
PALETTE = {
    "parameter": "#add8e6",  # lightblue
    "op": "#d3d3d3",  # lightgrey
    "output": "#caff70",  # darkolivegreen1
}
LEGEND = [
    ("parameter", "leaf requiring grad (module path)"),
    ("op", "op (output shape)"),
    ("output", "output"),
]
LEGEND_NOTE = "|grad| = Frobenius norm of dL/dtensor, after backward()"


def box_size(lines: Sequence[str]) -> Tuple[float, float]:
    """(width, height) of a node box holding these lines of text."""
    longest = max((len(line) for line in lines), default=0)
    return longest * CHAR_WIDTH + 2 * PAD_X, len(lines) * LINE_HEIGHT + 2 * PAD_Y


def _frame(layout: Layout) -> Tuple[float, float, List[Tuple[str, str, float, float]]]:
    """(width, height) of the whole picture and the legend's items (kind, text, x, y of the
    swatch): the legend sits under the graph, wrapped to the graph's width, with its note."""
    width = max(layout.width, len(LEGEND_NOTE) * CHAR_WIDTH + 24)
    items, x, y = [], 12.0, layout.height + 4
    for kind, text in LEGEND:
        item_width = 14 + 6 + len(text) * CHAR_WIDTH + 18
        if x > 12.0 and x + item_width > width:
            x, y = 12.0, y + LINE_HEIGHT + 4
        items.append((kind, text, x, y))
        x += item_width
    return width, y + 2 * (LINE_HEIGHT + 4) + 8, items


def _curve(route: Sequence[Point], flip: bool) -> List[Tuple[Point, Point, Point]]:
    """Cubic Bezier segments (control, control, end) through the route, leaving and entering
    each point along the rank direction (vertically for TB, horizontally for LR)."""
    segments = []
    for (x0, y0), (x1, y1) in zip(route, route[1:]):
        if flip:
            mid = (x1 - x0) / 2
            segments.append(((x0 + mid, y0), (x1 - mid, y1), (x1, y1)))
        else:
            mid = (y1 - y0) / 2
            segments.append(((x0, y0 + mid), (x1, y1 - mid), (x1, y1)))
    return segments


def _arrowhead(end: Point, flip: bool, size: float = 8.0) -> List[Point]:
    """A triangle whose tip is `end`, pointing down (TB) or right (LR)."""
    x, y = end
    if flip:
        return [(x, y), (x - size, y - size / 2), (x - size, y + size / 2)]
    return [(x, y), (x - size / 2, y - size), (x + size / 2, y - size)]


def _shortened(route: Sequence[Point], flip: bool, by: float = 7.0) -> List[Point]:
    """The route with its last point pulled back, so the line stops inside the arrowhead."""
    (x, y) = route[-1]
    return [*route[:-1], (x - by, y) if flip else (x, y - by)]


def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def to_svg(layout: Layout, nodes: Sequence[Any], edge_labels: Sequence[str], flip: bool,
           title: str = "tinygrad_lite graph") -> str:
    """The picture as a standalone SVG document. `nodes[i]` has `.lines`, `.kind`, `.tooltip`."""
    width, height, legend = _frame(layout)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(width)}" height="{_f(height)}" '
        f'viewBox="0 0 {_f(width)} {_f(height)}" font-family={quoteattr(FONTS)} '
        f'font-size="{_f(FONT_SIZE)}">',
        f"<title>{escape(title)}</title>",
        f'<rect class="background" x="0" y="0" width="{_f(width)}" height="{_f(height)}" '
        'fill="white"/>',
    ]
    for route, label in zip(layout.routes, edge_labels):
        start, *rest = _shortened(route, flip)
        path = f"M{_f(start[0])},{_f(start[1])}"
        for (c1, c2, end) in _curve([start, *rest], flip):
            path += " C" + " ".join(f"{_f(x)},{_f(y)}" for x, y in (c1, c2, end))
        head = " ".join(f"{_f(x)},{_f(y)}" for x, y in _arrowhead(route[-1], flip))
        out.append(f'<g class="edge"><path d="{path}" fill="none" stroke="{EDGE_COLOUR}" '
                   f'stroke-width="1.2"/><polygon points="{head}" fill="{EDGE_COLOUR}"/>')
        if label:
            x, y = _label_point(route, flip)
            out.append(f'<text x="{_f(x)}" y="{_f(y)}" fill="{EDGE_COLOUR}">'
                       f"{escape(label)}</text>")
        out.append("</g>")
    for k, (node, (x, y, w, h)) in enumerate(zip(nodes, layout.boxes)):
        out.append(f'<g class="node" id="node{k}"><title>{escape(node.tooltip)}</title>')
        out.append(f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(w)}" height="{_f(h)}" rx="6" '
                   f'fill="{PALETTE[node.kind]}" stroke="#333333"/>')
        spans = []  # on one line: whitespace between tspans would shift the centring
        for i, line in enumerate(node.lines):
            baseline = y + PAD_Y + i * LINE_HEIGHT + 0.8 * LINE_HEIGHT
            spans.append(f'<tspan x="{_f(x + w / 2)}" y="{_f(baseline)}">{escape(line)}</tspan>')
        out.append(f'<text text-anchor="middle">{"".join(spans)}</text></g>')
    out.append('<g class="legend">')
    for kind, text, x, y in legend:
        out.append(f'<rect x="{_f(x)}" y="{_f(y)}" width="14" height="14" rx="3" '
                   f'fill="{PALETTE[kind]}" stroke="#333333"/>')
        out.append(f'<text x="{_f(x + 20)}" y="{_f(y + 11)}">{escape(text)}</text>')
    note_y = legend[-1][3] + LINE_HEIGHT + 4 + 11
    out.append(f'<text x="12" y="{_f(note_y)}" fill="#333333">{escape(LEGEND_NOTE)}</text>')
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _label_point(route: Sequence[Point], flip: bool) -> Point:
    """Beside the middle of the route's first segment: where a "x2" label goes."""
    (x0, y0), (x1, y1) = route[0], route[1]
    x, y = (x0 + x1) / 2, (y0 + y1) / 2
    return (x - 6, y - 6) if flip else (x + 6, y + 4)


def save_matplotlib(layout: Layout, nodes: Sequence[Any], edge_labels: Sequence[str],
                    flip: bool, path: str, fmt: str, dpi: float = 120) -> None:
    """The same picture through matplotlib (PNG, PDF, ...): one SVG pixel = one point."""
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch, PathPatch, Polygon
    from matplotlib.path import Path

    width, height, legend = _frame(layout)
    fig = Figure(figsize=(width / 72, height / 72))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    font = {"family": "monospace", "size": FONT_SIZE}
    for route, label in zip(layout.routes, edge_labels):
        start, *rest = _shortened(route, flip)
        vertices, codes = [start], [Path.MOVETO]
        for c1, c2, end in _curve([start, *rest], flip):
            vertices += [c1, c2, end]
            codes += [Path.CURVE4] * 3
        ax.add_patch(PathPatch(Path(vertices, codes), fill=False, edgecolor=EDGE_COLOUR,
                               linewidth=1.2))
        ax.add_patch(Polygon(_arrowhead(route[-1], flip), closed=True, color=EDGE_COLOUR))
        if label:
            x, y = _label_point(route, flip)
            ax.text(x, y, label, color=EDGE_COLOUR, fontdict=font)
    for node, (x, y, w, h) in zip(nodes, layout.boxes):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=6",
                                    facecolor=PALETTE[node.kind], edgecolor="#333333"))
        for i, line in enumerate(node.lines):
            baseline = y + PAD_Y + i * LINE_HEIGHT + 0.8 * LINE_HEIGHT
            ax.text(x + w / 2, baseline, line, ha="center", va="baseline", fontdict=font)
    for kind, text, x, y in legend:
        ax.add_patch(FancyBboxPatch((x, y), 14, 14, boxstyle="round,pad=0,rounding_size=3",
                                    facecolor=PALETTE[kind], edgecolor="#333333"))
        ax.text(x + 20, y + 11, text, va="baseline", fontdict=font)
    note_y = legend[-1][3] + LINE_HEIGHT + 4 + 11
    ax.text(12, note_y, LEGEND_NOTE, va="baseline", color="#333333", fontdict=font)
    fig.savefig(path, format=fmt, dpi=dpi, facecolor="white")

