"""Reverse-mode automatic differentiation: `Function`, grad mode, and the backward walk.

Every differentiable operation is a `Function` subclass with two methods side by side:

    forward(*arrays, **options) -> ndarray      computes y = f(x1, x2, ...)
    backward(grad) -> tuple of ndarray | None   given dL/dy, returns dL/dx_i for each input

`Function.apply(*tensors)` runs `forward` on the tensors' arrays and, when any input requires a
gradient (and grad mode is on), records the `Function` object as the output's `grad_fn`. Its
`parents` are the input tensors, so the records form the computation graph.

`backward(root)` walks that graph once, children before parents (reverse topological order,
found iteratively so deep graphs do not hit Python's recursion limit), applies each node's
local rule to the gradient flowing in, and *adds* the results into the parents' gradients: a
tensor used twice receives the sum of both contributions (the multivariate chain rule).
Leaf tensors (created by the user, `requires_grad=True`) accumulate into `.grad` across calls,
as in PyTorch; `optimizer.zero_grad()` clears them.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

if TYPE_CHECKING:
    from .tensor import Tensor

_grad_enabled = True


def is_grad_enabled() -> bool:
    """True when operations record the graph (the default)."""
    return _grad_enabled


class _GradMode(contextlib.ContextDecorator):
    """Sets grad mode inside a `with` block or a decorated function, restoring it afterwards."""

    enabled: bool

    def __enter__(self) -> None:
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = self.enabled

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self._previous


class no_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """`with tl.no_grad():` — operations inside record no graph (evaluation, parameter updates)."""

    enabled = False


class enable_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """`with tl.enable_grad():` — turns graph recording back on inside a `no_grad` block."""

    enabled = True


class ShapeError(ValueError):
    """An operation was given inputs whose shapes it cannot combine."""


class Function:
    """One differentiable operation: `forward` and its local gradient rule `backward`.

    Subclass it to add an op::

        class Cube(tl.Function):
            '''y = x**3;  dy/dx = 3 x**2'''
            def forward(self, x):
                self.save_for_backward(x)
                return x ** 3
            def backward(self, grad):
                (x,) = self.saved_tensors
                return 3 * x ** 2 * grad

        y = Cube.apply(t)

    `backward` returns one gradient per input (a bare array when there is one input). A
    gradient may have the input's shape or any shape it was broadcast to: the engine sums it
    back to the input's shape. Return None for inputs whose `needs_input_grad` is False to skip
    work. Keyword arguments of `apply` are passed to `forward` (axes, shapes, options).
    """

    __slots__ = ("parents", "needs_input_grad", "saved_tensors", "__dict__")

    # True when `backward` returns newly allocated arrays that nothing else references (and a
    # different one per input): the engine may then hand such an array to a leaf as its `.grad`
    # instead of copying it. False (the safe default) for rules that pass `grad` through or
    # return views of it (Add, Sub, Reshape, Transpose, Concatenate, Stack).
    fresh_grads = False

    def __init__(self, *parents: Tensor):
        self.parents = parents
        self.needs_input_grad = tuple([p.requires_grad for p in parents])
        self.saved_tensors: Optional[tuple] = ()

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep what `backward` needs; released after backward unless `retain_graph=True`."""
        self.saved_tensors = arrays

    def forward(self, *arrays: np.ndarray, **options: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, grad: np.ndarray) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.backward is not implemented")

    @classmethod
    def apply(cls, *inputs: Any, **options: Any) -> Tensor:
        """Run the op on tensors (arrays and scalars are wrapped) and record it in the graph."""
        tensors = [x if isinstance(x, Tensor) else Tensor(x) for x in inputs]
        ctx = cls(*tensors)
        try:
            data = ctx.forward(*[t.data for t in tensors], **options)
        except ValueError as e:
            shapes = ", ".join(str(t.shape) for t in tensors)
            raise ShapeError(f"{cls.__name__}: {e} (input shapes {shapes})") from None
        if type(data) is not np.ndarray:  # numpy turns 0-d results into scalars
            data = np.asarray(data)
        if _grad_enabled and True in ctx.needs_input_grad:
            return Tensor._make(data, True, ctx)
        return Tensor._make(data, False, None)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum `grad` back to `shape`: the adjoint of numpy broadcasting.

    Broadcasting copies an input along new leading axes and along its size-1 axes, so the
    gradient of the input is the sum of the gradient over exactly those axes.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1
    )
    summed = grad.sum(axis=axes, keepdims=True) if axes else grad
    return summed.reshape(shape)


def topological_order(root: Tensor, all_nodes: bool = False) -> list:
    """Tensors of the graph, parents before children (iterative DFS: no recursion limit).

    By default only the tensors that need a gradient; `all_nodes=True` keeps the rest too
    (input batches, targets, constants), which is what a drawing of the graph wants.
    """
    order: list = []
    visited: set = set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        ctx = node._ctx
        if ctx is not None:
            for parent in reversed(ctx.parents):
                if (all_nodes or parent.requires_grad) and id(parent) not in visited:
                    stack.append((parent, False))
    return order


# Callables f(node, ctx, grad_out, parent_grads) run after each node's backward rule, in the
# order backpropagation visits nodes (used by `tl.trace_backward`; empty in normal use).
backward_hooks: list = []


def backward(root: Tensor, grad: np.ndarray, retain_graph: bool = False) -> None:
    """Backpropagate `grad` (dL/droot) through the graph that produced `root`."""
    grads = {id(root): grad}
    private: set = set()  # ids of tensors whose pending gradient is a temporary nobody else holds
    adopt = not backward_hooks  # hooks may keep the arrays they are shown
    for node in reversed(topological_order(root)):
        key = id(node)
        g = grads.pop(key, None)
        if g is None:
            continue
        ctx = node._ctx
        if ctx is None or node._retains_grad:  # a leaf, or a tensor asked to keep its grad
            if node.grad is not None:
                node.grad += g
            elif (
                adopt and key in private and type(g) is np.ndarray
                and g.dtype == node.data.dtype
            ):
                node.grad = g  # a private temporary: no copy needed to += into it later
            else:
                node.grad = np.array(g, dtype=node.data.dtype)  # own copy: safe to += later
        if ctx is None:
            continue
        if ctx.saved_tensors is None:
            raise RuntimeError(
                f"{ctx!r}: trying to backward through the graph a second time; its saved "
                "arrays were freed. Pass retain_graph=True to the first backward()."
            )
        parent_grads = ctx.backward(g)
        if not isinstance(parent_grads, tuple):
            parent_grads = (parent_grads,)
        for hook in backward_hooks:
            hook(node, ctx, g, parent_grads)
        fresh = ctx.fresh_grads
        for parent, pg, needed in zip(ctx.parents, parent_grads, ctx.needs_input_grad):
            if not needed or pg is None:
                continue
            pg = unbroadcast(pg, parent.data.shape)
            pkey = id(parent)
            if pkey in grads:
                grads[pkey] = grads[pkey] + pg  # a new array
                private.add(pkey)
            else:
                grads[pkey] = pg
                if fresh:
                    private.add(pkey)
                else:
                    private.discard(pkey)
        if not retain_graph:
            ctx.saved_tensors = None


from .tensor import Tensor  # noqa: E402  (Tensor builds on this module; imported last)
