"""Draw the computation graph, with nothing to install: SVG in pure Python, PNG via matplotlib.

    loss = tl.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    tl.viz.draw(loss, "graph.svg", model)     # parameters labelled "0.weight", "2.bias", ...
    tl.viz.draw(loss, "graph.png", model)     # the same picture through matplotlib
    tl.viz.graph(loss, model)                 # in Jupyter: shown inline (it has _repr_svg_)
    print(tl.viz.to_dot(loss, model))         # Graphviz DOT text, for Graphviz users

Each node of the graph is one box, as torchviz draws it: an op shows its name (with its
output tensor's `name`, if one was set) and its output's shape; a leaf that requires grad
shows its label (module path from `params`, else its `name` attribute, else "leaf") and shape.
Inputs that need no gradient (a data batch, targets, constants) are not part of the graph
(it holds no node for them), so they are not drawn. Colours follow torchviz: leaves light
blue, ops light grey, the output dark olive green. Edges run forward, from inputs to the op
that used them; backpropagation walks them in reverse. The layout is layered
(`viz_layout.py`): top to bottom (`rankdir="TB"`) or left to right ("LR"), boxes never overlap.

Gradient norms: after `backward()`, a box shows `|grad| = ...`, the Frobenius norm
sqrt(sum of squares) of dL/dtensor, when its gradient is known. Leaves keep `.grad`;
intermediate tensors do not, unless you called `t.retain_grad()` before backward, or you pass
`trace=` the object that `with tl.trace_backward() as tr:` yields, which recorded every
gradient flowing through.

Graphviz is used only when you ask for it: `draw(..., graphviz=True)` renders with its `dot`
program (GraphvizNotFoundError if it is not installed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

import numpy as np

from ..autograd import node_of, topological_order
from ..core.autograd import AccumulateGrad
from ..core.tensor import Tensor
from .viz_layout import Layout, layered_layout
from .viz_render import PALETTE, box_size, save_matplotlib, to_svg

__all__ = ["Graph", "GraphvizNotFoundError", "draw", "graph", "parameter_labels", "to_dot"]

_INSTALL_HINT = (
    "install Graphviz (apt-get install graphviz, brew install graphviz, or "
    "conda install graphviz), or leave out graphviz=True to draw without it"
)


class GraphvizNotFoundError(RuntimeError):
    """`draw(..., graphviz=True)` was asked for, but Graphviz's `dot` program is not on PATH."""


def parameter_labels(params: Any = None) -> dict:
    """id(tensor) -> label, from a Module, a {name: tensor} dict, or (name, tensor) pairs."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        items = params.named_parameters()
    elif isinstance(params, dict):
        items = params.items()
    else:
        items = params
    labels = {}
    for name, tensor in items:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"params: {name!r} is a {type(tensor).__name__}, not a Tensor")
        labels.setdefault(id(tensor), str(name))
    return labels


def graph_nodes(root: Tensor) -> list:
    """The nodes of the graph that computed `root`, inputs before users: its ops (`Function`
    nodes) and the leaves that require grad; `[root]` for a tensor that requires none."""
    return topological_order(root) if root.requires_grad else [node_of(root)]


def _edges(nodes: list) -> list:
    """(input node, op node) for every input of every op that needs a gradient, in order."""
    return [(parent, node) for node in nodes for parent in getattr(node, "next", ())
            if parent is not None]


@dataclass
class Node:
    """One box: its lines of text, its kind (a colour of PALETTE) and a tooltip."""

    lines: List[str]
    kind: str  # "parameter", "op" or "output"
    tooltip: str


def _grad_norm(node: Any, trace: Any) -> Optional[float]:
    """The norm of dL/d(the node's tensor): a leaf's `.grad`, a retained grad, or the trace's."""
    leaf = isinstance(node, AccumulateGrad)
    tensor = node.variable if leaf else node._retained and node._retained()
    if tensor is not None and tensor.grad is not None:
        return float(np.linalg.norm(tensor.grad.data))
    if trace is not None and not leaf:
        return trace.grad_norm(node)
    return None


def _describe(node: Any, root: Any, labels: dict, trace: Any) -> Node:
    """The box of one node: title, its tensor's shape (and dtype if not float), |grad| when
    known."""
    leaf = isinstance(node, AccumulateGrad)
    name = labels.get(id(node.variable if leaf else node)) or node._name
    if not leaf:  # an op
        title = f"{name} = {type(node).__name__}" if name else type(node).__name__
        kind = "op"
    else:
        title, kind = name or "leaf", "parameter"
    if node is root:
        kind = "output"
    shape, dtype = node._shape, node._dtype
    lines = [title, str(shape) + ("" if dtype.kind == "f" else f" {dtype}")]
    norm = _grad_norm(node, trace)
    if norm is not None:
        lines.append(f"|grad| = {norm:.4g}")
    tooltip = f"{title}: {kind}, shape {shape}, {dtype}"
    if norm is not None:
        tooltip += f", Frobenius norm of dL/dtensor {norm:.6g}"
    return Node(lines, kind, tooltip)


def _check_tensor(tensor: Any, who: str) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{who}: expected a Tensor, got {type(tensor).__name__}")


def _quote(text: str) -> str:
    """A DOT double-quoted string; newlines become DOT's centred line breaks."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\n", "\\n") + '"'


def to_dot(tensor: Tensor, params: Any = None, trace: Any = None, rankdir: str = "TB") -> str:
    """Graphviz DOT text (a `digraph`) of the graph that computed `tensor`.

    `params`: a Module (`model`), a dict `dict(model.named_parameters())`, or (name, tensor)
    pairs; those tensors are labelled by name. Otherwise a tensor's `name` attribute is used.
    `trace`: the object yielded by `tl.trace_backward()`, to show intermediate gradient norms.
    `rankdir`: "TB" draws inputs at the top and the loss at the bottom; "LR" left to right.
    """
    _check_tensor(tensor, "to_dot")
    labels = parameter_labels(params)
    nodes = graph_nodes(tensor)
    root = node_of(tensor)
    ids = {id(node): f"n{i}" for i, node in enumerate(nodes)}
    lines = [
        "digraph tinygrad_lite {",
        f"  rankdir={rankdir};",
        '  node [fontname="Helvetica", fontsize=11, style="rounded,filled", shape=box];',
    ]
    for node in nodes:
        box = _describe(node, root, labels, trace)
        style = f'fillcolor="{PALETTE[box.kind]}"'
        if node is root:
            style += ", peripheries=2"
        lines.append(f"  {ids[id(node)]} [label={_quote(chr(10).join(box.lines))}, {style}];")
    for parent, node in _edges(nodes):
        lines.append(f"  {ids[id(parent)]} -> {ids[id(node)]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


class Graph:
    """A drawing of the graph that computed a tensor, laid out and ready to save or show.

    `svg` is the SVG text (Jupyter shows the object inline through `_repr_svg_`), `dot` the
    Graphviz DOT text; `save(path)` writes either, or PNG/PDF through matplotlib. The labels
    (gradient norms included) are those of the moment the Graph was made.
    """

    def __init__(self, tensor: Tensor, params: Any = None, trace: Any = None,
                 rankdir: str = "TB") -> None:
        _check_tensor(tensor, "graph")
        if rankdir not in ("TB", "LR"):
            raise ValueError(f"rankdir must be 'TB' or 'LR', got {rankdir!r}")
        labels = parameter_labels(params)
        nodes = graph_nodes(tensor)
        index = {id(node): k for k, node in enumerate(nodes)}
        self.nodes = [_describe(node, node_of(tensor), labels, trace) for node in nodes]
        uses: dict = {}
        for parent, node in _edges(nodes):
            edge = (index[id(parent)], index[id(node)])
            uses[edge] = uses.get(edge, 0) + 1
        self.edges: List[Tuple[int, int]] = list(uses)
        self.edge_labels = [f"x{uses[e]}" if uses[e] > 1 else "" for e in self.edges]
        self.rankdir = rankdir
        self.dot = to_dot(tensor, params=params, trace=trace, rankdir=rankdir)
        self.layout: Layout = layered_layout(
            [box_size(node.lines) for node in self.nodes], self.edges, direction=rankdir
        )
        self.svg = to_svg(self.layout, self.nodes, self.edge_labels, rankdir == "LR")

    def _repr_svg_(self) -> str:
        return self.svg

    def __repr__(self) -> str:
        return (f"<tinygrad_lite.viz.Graph: {len(self.nodes)} nodes, {len(self.edges)} edges, "
                f"{self.rankdir}; .svg, .dot, .save(path)>")

    def save(self, path: Any, graphviz: bool = False) -> str:
        """Write the picture to `path`; the suffix picks the format. Returns the path as a str.

        ".svg" is written in pure Python, ".dot"/".gv" is the DOT text, other suffixes
        (".png", ".pdf", ...) go through matplotlib. `graphviz=True` renders with Graphviz's
        `dot` program instead (any format it knows).
        """
        path = os.fspath(path)
        fmt = os.path.splitext(path)[1].lstrip(".").lower()
        if not fmt:
            raise ValueError(f"draw: {path!r} has no suffix; use .svg, .png, .pdf or .dot")
        if fmt in ("dot", "gv"):
            _write_text(path, self.dot)
        elif graphviz:
            _render_with_graphviz(self.dot, path, fmt)
        elif fmt == "svg":
            _write_text(path, self.svg)
        else:
            _check_matplotlib_format(fmt, path)
            save_matplotlib(self.layout, self.nodes, self.edge_labels, self.rankdir == "LR",
                            path, fmt)
        return path


def graph(tensor: Tensor, params: Any = None, trace: Any = None, rankdir: str = "TB") -> Graph:
    """The drawing of `tensor`'s graph as a `Graph`; Jupyter shows it inline.

    `params`: a Module or {name: tensor} dict, to label parameters by module path. `trace`:
    from `with tl.trace_backward() as tr:`, for intermediate gradient norms. `rankdir`: "TB"
    (inputs at the top, the output at the bottom) or "LR" (left to right).
    """
    return Graph(tensor, params=params, trace=trace, rankdir=rankdir)


def draw(
    tensor: Tensor,
    path: Any,
    params: Any = None,
    trace: Any = None,
    rankdir: str = "TB",
    graphviz: bool = False,
) -> str:
    """Write the graph of `tensor` to `path`; the suffix picks the format. Returns `path`.

    ".svg" needs nothing (pure Python), ".png"/".pdf" need matplotlib, ".dot"/".gv" is
    Graphviz's text format. `graphviz=True` renders with Graphviz's `dot` program instead.
    Other arguments as for `graph`.
    """
    return graph(tensor, params=params, trace=trace, rankdir=rankdir).save(path, graphviz)


def _write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _check_matplotlib_format(fmt: str, path: str) -> None:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(f"draw: writing {path!r} needs matplotlib (pip install matplotlib); "
                          ".svg and .dot need nothing") from None
    known = Figure().canvas.get_supported_filetypes()
    if fmt not in known:
        raise ValueError(f"draw: {path!r}: unknown format {fmt!r}; use .svg, .dot, or one of "
                         f"matplotlib's: {', '.join(sorted(known))}")


def _render_with_graphviz(text: str, path: str, fmt: str) -> None:
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizNotFoundError(
            f"draw: rendering {path!r} with graphviz=True needs Graphviz's `dot` program, not "
            "found on PATH; " + _INSTALL_HINT
        )
    result = subprocess.run(
        [dot, f"-T{fmt}", "-o", path], input=text.encode("utf-8"), capture_output=True
    )
    if result.returncode != 0:
        err = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"draw: dot -T{fmt} failed: {err[0] if err else result.returncode}")
