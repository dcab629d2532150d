"""Draw the computation graph: `to_dot(tensor)` gives Graphviz DOT text, `draw` renders it.

    loss = tl.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    print(tl.viz.to_dot(loss, model))        # parameters labelled "0.weight", "2.bias", ...
    tl.viz.draw(loss, "graph.svg", model)     # needs Graphviz's `dot` program; ".dot" does not

Each tensor of the graph is one node. An op's output shows the op's name and the output
shape; a leaf shows its label (module path from `params`, else its `name` attribute, else
"input"/"leaf"/"const") and shape. Edges run forward, from inputs to the op that used them;
backpropagation walks them in reverse.

Gradient norms: after `backward()`, a node shows `|grad| = ...` (the Frobenius norm) when
its gradient is known. Leaves keep `.grad`; intermediate tensors do not, unless you called
`t.retain_grad()` before backward, or you pass `trace=` the object that
`with tl.trace_backward() as tr:` yields, which recorded every gradient flowing through.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any, Optional

import numpy as np

from .autograd import topological_order
from .tensor import Tensor

__all__ = ["GraphvizNotFoundError", "draw", "parameter_labels", "to_dot"]

_INSTALL_HINT = (
    "install Graphviz (apt-get install graphviz, brew install graphviz, or "
    "conda install graphviz), or write a .dot file instead"
)


class GraphvizNotFoundError(RuntimeError):
    """`draw` was asked for an image but Graphviz's `dot` program is not on PATH."""


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
    """Every tensor reachable from `root` through `grad_fn` parents, inputs before users.

    Unlike `autograd.topological_order` this keeps tensors that need no gradient (the input
    batch, integer targets, constants), so the drawing shows the whole computation.
    """
    return topological_order(root, all_nodes=True)


def _quote(text: str) -> str:
    """A DOT double-quoted string; newlines become DOT's centred line breaks."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\n", "\\n") + '"'


def _grad_norm(node: Tensor, trace: Any) -> Optional[float]:
    if node.grad is not None:
        return float(np.linalg.norm(node.grad))
    if trace is not None:
        return trace.grad_norm(node)
    return None


def to_dot(tensor: Tensor, params: Any = None, trace: Any = None, rankdir: str = "TB") -> str:
    """Graphviz DOT text (a `digraph`) of the graph that computed `tensor`.

    `params`: a Module (`model`), a dict `dict(model.named_parameters())`, or (name, tensor)
    pairs; those tensors are labelled by name. Otherwise a tensor's `name` attribute is used.
    `trace`: the object yielded by `tl.trace_backward()`, to show intermediate gradient norms.
    `rankdir`: "TB" draws inputs at the top and the loss at the bottom; "LR" left to right.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    labels = parameter_labels(params)
    nodes = graph_nodes(tensor)
    ids = {id(node): f"n{i}" for i, node in enumerate(nodes)}
    lines = [
        "digraph tinygrad_lite {",
        f"  rankdir={rankdir};",
        '  node [fontname="Helvetica", fontsize=11];',
    ]
    for node in nodes:
        ctx = node._ctx
        name = labels.get(id(node)) or node.name
        if ctx is not None:
            title = f"{name} = {type(ctx).__name__}" if name else type(ctx).__name__
            style = 'shape=box, style="rounded,filled", fillcolor="#e8eef7"'
        elif name:
            title = name
            style = 'shape=box, style=filled, fillcolor="#fff2cc"'
        else:
            title = "leaf" if node.requires_grad else ("const" if node.ndim == 0 else "input")
            style = 'shape=ellipse, style=filled, fillcolor="#eeeeee"'
        label = f"{title}\n{node.shape}"
        if node.dtype.kind != "f":
            label += f" {node.dtype}"
        norm = _grad_norm(node, trace)
        if norm is not None:
            label += f"\n|grad| = {norm:.4g}"
        if node is tensor:
            style += ", peripheries=2"
        lines.append(f"  {ids[id(node)]} [label={_quote(label)}, {style}];")
    for node in nodes:
        if node._ctx is not None:
            for parent in node._ctx.parents:
                lines.append(f"  {ids[id(parent)]} -> {ids[id(node)]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(
    tensor: Tensor,
    path: str,
    params: Any = None,
    trace: Any = None,
    rankdir: str = "TB",
) -> str:
    """Write the graph of `tensor` to `path`; the suffix picks the format. Returns `path`.

    ".dot"/".gv" is written directly (no dependency). Any other suffix (".svg", ".png",
    ".pdf", ...) is rendered by Graphviz's `dot` program; without it, GraphvizNotFoundError
    says how to install it. Arguments as for `to_dot`.
    """
    text = to_dot(tensor, params=params, trace=trace, rankdir=rankdir)
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lstrip(".").lower()
    if not fmt:
        raise ValueError(f"draw: {path!r} has no suffix; use .dot, .svg, .png or .pdf")
    if fmt in ("dot", "gv"):
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizNotFoundError(
            f"draw: rendering {path!r} needs Graphviz's `dot` program, not found on PATH; "
            + _INSTALL_HINT
        )
    result = subprocess.run(
        [dot, f"-T{fmt}", "-o", path], input=text.encode("utf-8"), capture_output=True
    )
    if result.returncode != 0:
        err = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"draw: dot -T{fmt} failed: {err[0] if err else result.returncode}")
    return path
