"""`tl.autograd`: gradients as values (`grad`), custom rules (`once_differentiable`), and the
names of grad mode, as in `torch.autograd`. The engine itself is in core/."""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from .core.autograd import (
    AccumulateGrad,
    backward_hooks,
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from .core.autograd import backward as backpropagate
from .core.autograd import topological_order as _node_order
from .core.tensor import Function, ShapeError, Tensor, release, sum_to

__all__ = ["Function", "ShapeError", "backward_hooks", "enable_grad", "grad", "is_grad_enabled",
           "no_grad", "node_of", "once_differentiable", "set_grad_enabled", "sum_to",
           "topological_order"]


def node_of(t: Tensor) -> Any:
    """The node that stands for `t` in the graph: its grad_fn, or a leaf's AccumulateGrad."""
    return t._grad_node()


def topological_order(roots: Any) -> list:
    """The nodes of the graph behind `roots` (a tensor or a list of them), each after the
    nodes its gradient flows to: leaves (their `AccumulateGrad`) first, the roots' last."""
    tensors = roots if isinstance(roots, (list, tuple)) else [roots]
    return _node_order([t._grad_node() for t in tensors if t.requires_grad])


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: Any = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """d(outputs)/d(inputs), returned rather than added into `.grad`, as torch.autograd.grad.

    `grad_outputs` are the upstream gradients (omit them for single-valued outputs). With
    `create_graph=True` the results carry a graph and can be differentiated again, to any
    order. An input the outputs do not depend on is an error unless `allow_unused=True`
    (then its gradient is None).
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor) or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} "
                           "outputs")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    for i, out in enumerate(outputs):
        if not out.requires_grad:
            raise RuntimeError(f"grad: output {i} does not require grad and has no grad_fn")
    seeds = [out._seed(g, "grad", create_graph) for out, g in zip(outputs, grad_outputs)]
    nodes = [t._grad_node() for t in inputs]
    found: dict = {}
    order = backpropagate([out._grad_node() for out in outputs], seeds,
                          lambda node, g, _: found.__setitem__(node, g),
                          create_graph, set(nodes))
    results = []
    for i, (t, node) in enumerate(zip(inputs, nodes)):
        g = found.get(node)
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) was not used in the graph "
                               "of the outputs; pass allow_unused=True if this is intended")
        if g is not None and not create_graph:
            g = Tensor._make(np.array(g, dtype=t.dtype))  # memory of its own
        results.append(g)
    if not (create_graph if retain_graph is None else retain_graph):
        release(order)
    return tuple(results)


def once_differentiable(backward: Callable) -> Callable:
    """Mark a `backward` written with numpy (PyTorch's decorator of the same name): it gets
    and returns arrays. First-order gradients work as usual; while recording
    (create_graph=True), differentiating the gradients it returned raises, naming the op."""

    @functools.wraps(backward)
    def wrapper(ctx: Function, grad: Any) -> Any:
        if not isinstance(grad, Tensor):  # an ordinary backward: arrays already
            return backward(ctx, grad)
        with no_grad():  # saved_tensors gives arrays
            grads = backward(ctx, grad.data)
        single = not isinstance(grads, (tuple, list))
        inputs = [_input_of(ctx, k) for k, n in enumerate(ctx.next) if n is not None]
        wrapped = []
        for g, n in zip((grads,) if single else grads, ctx.next):
            if g is None or n is None:
                wrapped.append(None)
                continue
            t = Tensor._make(np.asarray(g))
            wrapped.append(_DifferentiatedOnce.apply(grad, t, *inputs, op=type(ctx).__name__))
        return wrapped[0] if single else tuple(wrapped)

    return wrapper


def _input_of(ctx: Function, k: int) -> Tensor:
    """Input k of a node, as a Tensor at its place in the graph (its values do not matter)."""
    node = ctx.next[k]
    if type(node) is AccumulateGrad:
        return node.variable
    return Tensor._make(np.zeros(node._shape, node._dtype), True, node)


class _DifferentiatedOnce(Function):
    """y = g, the gradient a once_differentiable backward returned;  dL/dg: raises (it cannot
    be differentiated again)."""

    def forward(self, upstream, g, *inputs, op):
        self.op = op
        return g.copy()

    def backward(self, grad):
        raise RuntimeError(f"{self.op}.backward is marked @once_differentiable: it cannot be "
                           "differentiated again (a second derivative through it is not "
                           "available)")


