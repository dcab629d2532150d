"""`tl.trace_backward()`: print each step of backpropagation, with the local rule it applied.

    with tl.trace_backward(params=model):
        loss.backward()

prints one line per op, in the order backpropagation visits them (the reverse of the forward
pass), for the notebook's two-layer net::

    CrossEntropy: dL/dz = (softmax(z) - onehot(t)) / N.  [(4, 10), (4,) no grad -> ()]
    Linear: dL/dx = g W, dL/dW = g^T x, dL/db = g summed over the batch.  [...]
    ReLU: dL/dx = g [x > 0] (0 at exactly 0, as the notebook's `Z > 0`).  [(4, 10) -> (4, 10)]
    Linear: dL/dx = g W, dL/dW = g^T x, dL/db = g summed over the batch.  [...]

Each line is `Op: rule  [input shapes -> output shape]`; inputs that need no gradient (the
data, integer targets) are marked "no grad", and parameters are labelled by module path when
`params` is given. The rule is what the op class's docstring states after the ";" of its
first paragraph, "y = f(x);  dL/dx = ..." (`rule_of`).

The context manager yields a `BackwardTrace` that keeps the steps (`.steps`, `.lines`) and the
norm of every gradient that flowed through, so `tl.viz.to_dot(loss, trace=tr)` can show
gradient norms on intermediate nodes, which backward does not otherwise keep.
"""

from __future__ import annotations

import contextlib
import sys
import weakref
from dataclasses import dataclass
from typing import Any, Iterator, Optional

import numpy as np

from .. import autograd
from .viz import parameter_labels

__all__ = ["BackwardTrace", "TraceStep", "rule_of", "trace_backward"]


def rule_of(function_class: type) -> str:
    """The gradient rule of a Function class, from its docstring, whose first paragraph states
    the op and its derivative ("y = exp(x);  dL/dx = g y"): the part after the ";", or the
    whole first paragraph when it has none."""
    doc = function_class.__doc__  # not inherited: an undocumented op does not get Function's
    if not doc or not doc.strip():
        return "(no rule documented)"
    first = " ".join(doc.strip().split("\n\n")[0].split())
    return first.split(";", 1)[1].strip() if ";" in first else first


def _input_shape(ctx: Any, k: int, node: Any) -> Optional[tuple]:
    """Input k's shape: its node's, or for an input that needs no gradient, that of its array
    if the op saved it; else unknown (None)."""
    if node is not None:
        return node._shape
    for _, _, j, i in getattr(ctx, "_versions", ()) if ctx._saved else ():
        if j == k:
            return ctx._saved[i].shape
    return None


@dataclass
class TraceStep:
    """One node of backpropagation: the op, its inputs and output, the rule applied."""

    op: str
    rule: str
    inputs: tuple  # (label or None, shape (None if unknown), needs_grad) per input
    output_shape: tuple
    grad_out_norm: float

    @property
    def input_shapes(self) -> tuple:
        return tuple(shape for _, shape, _ in self.inputs)

    def line(self, show_norms: bool = False) -> str:
        parts = []
        for label, shape, needs_grad in self.inputs:
            words = [label, "" if shape is None else str(shape), "" if needs_grad else "no grad"]
            parts.append(" ".join([w for w in words if w]))
        line = f"{self.op}: {self.rule}  [{', '.join(parts)} -> {self.output_shape}]"
        if show_norms:
            line += f"  |grad_out| = {self.grad_out_norm:.4g}"
        return line


class BackwardTrace:
    """An `autograd.backward_hooks` callable that records, and prints, each backward step."""

    def __init__(self, file: Any = None, params: Any = None, show_norms: bool = False):
        self.file = file
        self.show_norms = show_norms
        self.labels = parameter_labels(params)
        self.steps: list = []
        self._norms: dict = {}  # id(grad_fn) -> (weak reference, norm of dL/d its output)

    def __call__(self, ctx: Any, grad_out: np.ndarray, parent_grads: Any) -> None:
        norm = float(np.linalg.norm(grad_out))
        inputs = tuple(
            (None if node is None else self.labels.get(id(getattr(node, "variable", node)))
             or node._name, _input_shape(ctx, k, node), node is not None)
            for k, node in enumerate(ctx.next)
        )
        step = TraceStep(type(ctx).__name__, rule_of(type(ctx)), inputs, ctx._shape, norm)
        self.steps.append(step)
        self._norms[id(ctx)] = (weakref.ref(ctx), norm)  # by grad_fn: outlives the graph's data
        print(step.line(self.show_norms), file=sys.stdout if self.file is None else self.file)

    @property
    def lines(self) -> list:
        return [step.line(self.show_norms) for step in self.steps]

    def grad_norm(self, tensor: Any) -> Optional[float]:
        """Norm of the last gradient dL/dtensor seen for this (non-leaf) tensor, or for the
        output of this grad_fn, or None."""
        ctx = getattr(tensor, "_ctx", tensor)  # a Tensor's grad_fn, or a grad_fn itself
        entry = self._norms.get(id(ctx))
        if ctx is None or entry is None or entry[0]() is not ctx:
            return None
        return entry[1]

    def __str__(self) -> str:
        return "\n".join(self.lines)


@contextlib.contextmanager
def trace_backward(
    file: Any = None, params: Any = None, show_norms: bool = False
) -> Iterator[BackwardTrace]:
    """Inside the block, every `backward()` prints its steps in backprop order.

    `file`: where to print (default: the current `sys.stdout`). `params`: a Module or a
    {name: tensor} dict, to label parameters by path (`0.weight`). `show_norms`: also print
    the norm of each op's incoming gradient. Yields the `BackwardTrace`; the hook is removed
    when the block exits, also on an exception.
    """
    tracer = BackwardTrace(file=file, params=params, show_norms=show_norms)
    autograd.backward_hooks.append(tracer)
    try:
        yield tracer
    finally:
        for i, hook in enumerate(autograd.backward_hooks):
            if hook is tracer:
                del autograd.backward_hooks[i]
                break
