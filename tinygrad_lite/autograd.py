"""Reverse-mode automatic differentiation: grad mode and the backward walk.

Every differentiable operation is a `Function` (in tensor.py, beside `Tensor`) with its
`forward` and its local gradient rule `backward` side by side. Running one records it as its
output's `grad_fn`, whose `parents` are the input tensors: the records form the graph.

`backward(root, grad)` walks that graph once, children before parents (reverse topological
order, found iteratively so deep graphs do not hit Python's recursion limit), applies each
node's rule to the gradient flowing in, and *adds* the results into the parents' gradients: a
tensor used twice receives the sum of both contributions (the multivariate chain rule). Leaf
tensors (`requires_grad=True`, made by the user) accumulate into `.grad` across calls, as in
PyTorch; `optimizer.zero_grad()` clears them. Then the graph lets go of its arrays.
"""

from __future__ import annotations

import functools
import gc
import inspect
import threading
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:  # for annotations only: tensor.py imports this module, not the reverse
    from .tensor import Function, Tensor

class _GradState(threading.local):
    """Grad mode is per thread, as in PyTorch: a `no_grad()` evaluation in one thread does not
    switch off recording in another. A new thread starts with grad mode on."""

    enabled = True


grad_state = _GradState()  # grad_state.enabled: read by every op, so a plain attribute


def is_grad_enabled() -> bool:
    """True when operations record the graph (the default)."""
    return grad_state.enabled


class _GradMode:
    """Sets grad mode inside a `with` block or a decorated function (or generator), restoring
    it afterwards. `@tl.no_grad` works with and without parentheses, as in PyTorch."""

    enabled: bool

    def __new__(cls, func: Any = None) -> Any:
        if not callable(func):  # `no_grad()`, `set_grad_enabled(False)`
            return super().__new__(cls)
        return cls()(func)  # `@no_grad` without parentheses

    def __enter__(self) -> None:
        self._previous = grad_state.enabled
        grad_state.enabled = self.enabled

    def __exit__(self, *exc: object) -> None:
        grad_state.enabled = self._previous

    def __call__(self, func: Callable) -> Callable:
        mode = self.enabled
        if inspect.isgeneratorfunction(func):

            @functools.wraps(func)
            def generator(*args: Any, **kwargs: Any) -> Any:
                gen = func(*args, **kwargs)
                sent = None
                while True:  # each step of the generator runs in the mode
                    with _Mode(mode):
                        try:
                            item = gen.send(sent)
                        except StopIteration as stop:
                            return stop.value
                    sent = yield item

            return generator

        @functools.wraps(func)
        def function(*args: Any, **kwargs: Any) -> Any:
            with _Mode(mode):  # a fresh context per call: safe across threads and recursion
                return func(*args, **kwargs)

        return function


class _Mode(_GradMode):
    def __init__(self, enabled: bool):
        self.enabled = enabled


class no_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """`with tl.no_grad():` — operations inside record no graph (evaluation, parameter updates)."""

    enabled = False


class enable_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """`with tl.enable_grad():` — turns graph recording back on inside a `no_grad` block."""

    enabled = True


class set_grad_enabled(_GradMode):  # noqa: N801 - PyTorch's name
    """`tl.set_grad_enabled(False)` switches grad mode for this thread at once; as `with` it
    restores the previous mode at the end; as a decorator it applies to each call only."""

    def __init__(self, mode: bool):
        self.enabled = bool(mode)
        self._previous = grad_state.enabled
        grad_state.enabled = self.enabled

    def __enter__(self) -> None:
        pass  # already switched by __init__

    def __call__(self, func: Callable) -> Callable:
        grad_state.enabled = self._previous  # as a decorator: leave the mode alone until called
        return super().__call__(func)


class ShapeError(ValueError):
    """An operation was given inputs whose shapes it cannot combine."""


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum `grad` back to `shape`: the adjoint of numpy broadcasting.

    Broadcasting copies an input along new leading axes and along its size-1 axes, so the
    gradient of the input is the sum of the gradient over exactly those axes. A `grad` whose
    shape `shape` does not broadcast to is an error (ShapeError), never silently reshaped.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead < 0 or any(n != 1 and n != m for n, m in zip(shape, grad.shape[lead:])):
        raise ShapeError(f"a gradient of shape {grad.shape} does not fit an input of shape {shape}")
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
    order = topological_order(root)
    grads = {id(root): grad}  # id(tensor) -> dL/dtensor, summed over the uses seen so far
    for node in reversed(order):  # every use of a tensor is visited before the tensor
        g = grads.pop(id(node), None)
        if g is None:
            continue
        if node._ctx is None or node._retains_grad:  # a leaf, or asked to keep its grad
            if node.grad is None:
                node.grad = np.array(g, dtype=node.data.dtype)  # its own copy, to add into
            else:
                node.grad += g
        ctx = node._ctx
        if ctx is None:
            continue
        _check_usable(ctx)
        parent_grads = _checked_grads(ctx, ctx.backward(g))  # the chain rule, one step
        for hook in backward_hooks:
            hook(node, ctx, g, parent_grads)
        for parent, pg in zip(ctx.parents, parent_grads):
            if pg is not None and parent.requires_grad:
                key = id(parent)
                grads[key] = np.asarray(grads[key] + pg) if key in grads else pg  # 0-d: array
    if not retain_graph:
        release_graph(order)


def _check_usable(ctx: Function) -> None:
    """The node still has its saved arrays, and none of its inputs was changed in place."""
    if ctx.saved_tensors is None:
        raise RuntimeError(
            f"{ctx!r}: trying to backward through the graph a second time; its saved "
            "arrays were freed. Pass retain_graph=True to the first backward()."
        )
    counter, version = ctx.output_version
    if counter[0] != version:
        raise RuntimeError(
            "one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: the output of {ctx!r} is at version {counter[0]}; expected "
            f"version {version} instead. Do the in-place update after backward(), or use an "
            "out-of-place op."
        )
    for i, (parent, version) in enumerate(zip(ctx.parents, ctx.versions)):
        if parent._version != version:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: input {i} of {ctx!r} (shape {parent.shape}) is at version "
                f"{parent._version}; expected version {version} instead. Do the "
                "in-place update after backward(), or use an out-of-place op."
            )


def _checked_grads(ctx: Function, grads: Any) -> tuple:
    """`ctx.backward`'s result as one array (or None) per input, each of its input's shape."""
    if not isinstance(grads, (tuple, list)):
        grads = (grads,)
    if len(grads) == len(ctx.parents) and all(
        [g is None or (type(g) is np.ndarray and g.shape == p.data.shape)
         for g, p in zip(grads, ctx.parents)]
    ):
        return grads  # the common case: nothing to fix
    name = type(ctx).__name__
    if len(grads) != len(ctx.parents):
        raise RuntimeError(
            f"{name}.backward returned {len(grads)} gradient(s), but the op has "
            f"{len(ctx.parents)} input(s): return one per input (None where none is needed)"
        )
    checked = []
    for i, (parent, g) in enumerate(zip(ctx.parents, grads)):
        if g is not None and ctx.needs_input_grad[i]:
            if not isinstance(g, (np.ndarray, np.generic, int, float)):
                raise TypeError(
                    f"{name}.backward returned a {type(g).__name__} as the gradient of input "
                    f"{i}; it must return numpy arrays"
                )
            g = np.asarray(g)
            if g.shape != parent.data.shape:
                try:
                    g = unbroadcast(g, parent.data.shape)
                except ShapeError:
                    raise ShapeError(
                        f"{name}.backward returned a gradient of shape {g.shape} for input {i}, "
                        f"which has shape {parent.data.shape}"
                    ) from None
        checked.append(g)
    return tuple(checked)


def release_graph(order: list) -> None:
    """Free what a graph holds once it has been backpropagated (as PyTorch does).

    The saved arrays go, and so does the data of every intermediate result and constant the
    graph refers to: each is replaced, in its consumer's `parents`, by a stand-in with the same
    shape, dtype, name and `grad_fn` but no memory. What remains is the graph's structure
    (for drawing it, or for the error a second backward raises); leaves that require grad,
    and tensors that asked to `retain_grad()`, stay themselves.
    """
    stand_ins: dict = {}
    collecting = gc.isenabled()
    gc.disable()  # many small objects are made here; none can form a cycle worth collecting
    try:
        for node in order:
            ctx = node._ctx
            if ctx is None:
                continue
            if ctx.saved_tensors:  # a node that saved nothing stays usable, as in PyTorch
                ctx.saved_tensors = None
            ctx.parents = tuple([_stand_in(p, stand_ins) for p in ctx.parents])
    finally:
        if collecting:
            gc.enable()


def _stand_in(t: Tensor, memo: dict) -> Tensor:
    if (t._ctx is None and t.requires_grad) or t._retains_grad or t.data.size <= 1:
        return t  # a parameter, a tensor asked to keep its grad, or no bigger than a stand-in
    if id(t) not in memo:
        memo[id(t)] = (t, t._stand_in())  # keeps t alive until the walk ends: ids stay unique
    return memo[id(t)][1]
