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
import gc
import threading
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

if TYPE_CHECKING:
    from .tensor import Tensor

class _GradState(threading.local):
    """Grad mode is per thread, as in PyTorch: a `no_grad()` evaluation in one thread does not
    switch off recording in another. A new thread starts with grad mode on."""

    enabled = True


_grad_state = _GradState()


def is_grad_enabled() -> bool:
    """True when operations record the graph (the default)."""
    return _grad_state.enabled


class _GradMode(contextlib.ContextDecorator):
    """Sets grad mode inside a `with` block or a decorated function, restoring it afterwards."""

    enabled: bool

    def __enter__(self) -> None:
        self._previous = _grad_state.enabled
        _grad_state.enabled = self.enabled

    def __exit__(self, *exc: object) -> None:
        _grad_state.enabled = self._previous

    def _recreate_cm(self) -> _GradMode:
        return type(self)()  # a fresh one per decorated call: safe across threads


class no_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """`with tl.no_grad():` — operations inside record no graph (evaluation, parameter updates)."""

    enabled = False


class enable_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """`with tl.enable_grad():` — turns graph recording back on inside a `no_grad` block."""

    enabled = True


class set_grad_enabled(_GradMode):  # noqa: N801 - PyTorch's name
    """`tl.set_grad_enabled(False)` switches grad mode for this thread; as `with` it restores it."""

    def __init__(self, mode: bool):
        self.enabled = bool(mode)
        self._previous = _grad_state.enabled
        _grad_state.enabled = self.enabled

    def __enter__(self) -> None:
        pass  # already switched by __init__, as PyTorch's set_grad_enabled

    def _recreate_cm(self) -> _GradMode:
        return self


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

    __slots__ = (
        "parents", "needs_input_grad", "saved_tensors", "versions", "__dict__", "__weakref__"
    )

    # True when `backward` returns newly allocated arrays that nothing else references (and a
    # different one per input): the engine may then hand such an array to a leaf as its `.grad`
    # instead of copying it. False (the safe default) for rules that pass `grad` through or
    # return views of it (Add, Sub, Reshape, Transpose, Concatenate, Stack).
    fresh_grads = False
    output_version = ([0], 0)  # (counter, value) of the output, when backward reads it

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
        """Run the op on tensors (arrays and scalars are wrapped) and record it in the graph.

        Recording also notes each input's version: if an input is later changed in place,
        `backward` refuses to use this node (its gradient would be computed from stale data).
        An output that is a view of the first input's memory shares that input's version
        counter, so an in-place change through either is seen by both.
        """
        tensors = [x if isinstance(x, Tensor) else Tensor(x) for x in inputs]
        ctx = cls(*tensors)
        try:
            data = ctx.forward(*[t.data for t in tensors], **options)
        except ValueError as e:
            shapes = ", ".join(str(t.shape) for t in tensors)
            raise ShapeError(f"{cls.__name__}: {e} (input shapes {shapes})") from None
        if type(data) is not np.ndarray:  # numpy turns 0-d results into scalars
            data = _as_output_array(cls, data)
        if _grad_state.enabled and True in ctx.needs_input_grad:
            ctx.versions = tuple([t._version_counter[0] for t in tensors])
            out = Tensor._make(data, True, ctx)
            if ctx.saved_tensors and any([s is data for s in ctx.saved_tensors]):
                ctx.output_version = (out._version_counter, 0)  # backward reads the output
        else:
            out = Tensor._make(data, False, None)
        if tensors and data.base is not None and np.may_share_memory(data, tensors[0].data):
            out._version_counter = tensors[0]._version_counter  # a view: one shared counter
            out._base = tensors[0] if tensors[0]._base is None else tensors[0]._base
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


def _as_output_array(cls: type, data: Any) -> np.ndarray:
    """`forward` returned a numpy scalar or a Python number: make it an array; else refuse."""
    if isinstance(data, Tensor) or not isinstance(data, (np.generic, int, float, bool)):
        raise TypeError(
            f"{cls.__name__}.forward must return a numpy array (it works on the inputs' arrays, "
            f"not on Tensors); it returned a {type(data).__name__}"
        )
    return np.asarray(data)


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
    grads = {id(root): grad}
    private: set = set()  # ids of tensors whose pending gradient is a temporary nobody else holds
    adopt = not backward_hooks  # hooks may keep the arrays they are shown
    for node in reversed(order):
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
        _check_usable(ctx)
        parent_grads = _checked_grads(ctx, ctx.backward(g))
        for hook in backward_hooks:
            hook(node, ctx, g, parent_grads)
        fresh = ctx.fresh_grads
        for parent, pg, needed in zip(ctx.parents, parent_grads, ctx.needs_input_grad):
            if not needed or pg is None:
                continue
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
        if parent._version_counter[0] != version:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: input {i} of {ctx!r} (shape {parent.shape}) is at version "
                f"{parent._version_counter[0]}; expected version {version} instead. Do the "
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
            if isinstance(g, Tensor) or not isinstance(g, (np.ndarray, np.generic, int, float)):
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
            ctx.saved_tensors = None
            ctx.parents = tuple([_stand_in(p, stand_ins) for p in ctx.parents])
    finally:
        if collecting:
            gc.enable()


def _stand_in(t: Tensor, memo: dict) -> Tensor:
    data = t.data
    if (t._ctx is None and t.requires_grad) or t._retains_grad or data.size <= 1:
        return t  # a parameter, a tensor asked to keep its grad, or no bigger than a stand-in
    key = id(t)
    if key not in memo:
        zero = _zeros.get(data.dtype)
        if zero is None:
            zero = _zeros[data.dtype] = np.zeros(1, data.dtype)
            zero.flags.writeable = False
        empty = np.ndarray(data.shape, data.dtype, zero, 0, (0,) * data.ndim)  # every element
        s = Tensor._make(empty, t.requires_grad, t._ctx)  # is the one shared read-only zero
        s.name, s._version_counter = t.name, t._version_counter
        memo[key] = (t, s)  # keeps t alive until the walk ends: its id stays unique
    return memo[key][1]


_zeros: dict = {}  # dtype -> a read-only one-element zero array that stand-ins view


from .tensor import Tensor  # noqa: E402  (Tensor builds on this module; imported last)
