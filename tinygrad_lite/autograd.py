"""Reverse-mode automatic differentiation: grad mode and the backward walk.

Every differentiable operation is a `Function` (in tensor.py, beside `Tensor`) with its
`forward` and its local gradient rule `backward` side by side. Running one on an input that
requires grad records it as its output's `grad_fn`: a node of the graph. As in PyTorch, the
graph is made of nodes, not tensors: a node's `next` names, per input, the node that input's
gradient goes to: the input's `grad_fn`, the input itself for a leaf that requires grad (its
gradient ends in `.grad`), None for an input that needs no gradient (data, a constant). So the
graph keeps no intermediate tensor alive: a node holds only what its `backward` needs (the
arrays `forward` saved, with the version counters that tell whether one was changed in place
since), its output's shape and dtype, and the nodes in `next`.

`backward(root, grad)` walks the nodes once, children before parents (reverse topological
order, found iteratively so deep graphs do not hit Python's recursion limit), applies each
node's rule to the gradient flowing in, and *adds* the results into the gradients of the nodes
in its `next`: a tensor used twice receives the sum of both contributions (the multivariate
chain rule). Leaves accumulate into `.grad` across calls, as in PyTorch;
`optimizer.zero_grad()` clears them. A tensor that called `retain_grad()` gets its gradient
through a weak reference its node keeps. Then the nodes let go of their saved arrays.
"""

from __future__ import annotations

import functools
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
    unbroadcast_check(grad.shape, shape)
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1
    )
    summed = grad.sum(axis=axes, keepdims=True) if axes else grad
    return summed.reshape(shape)


def unbroadcast_check(grad_shape: tuple, shape: tuple) -> None:
    """ShapeError unless a tensor of `shape` broadcasts to `grad_shape`."""
    lead = len(grad_shape) - len(shape)
    if lead < 0 or any(n != 1 and n != m for n, m in zip(shape, grad_shape[lead:])):
        raise ShapeError(f"a gradient of shape {grad_shape} does not fit an input of shape {shape}")


def node_of(t: Tensor) -> Any:
    """The graph node that stands for tensor `t`: its grad_fn, or `t` itself for a leaf."""
    return t if t._ctx is None else t._ctx


def _next_of(node: Any) -> tuple:
    """The nodes a node's gradient flows to: an op's `next` (None where an input needs no
    gradient); a leaf has none."""
    return getattr(node, "next", ())


def topological_order(roots: Any) -> list:
    """The nodes of the graph that computed `roots` (a tensor, or a list of them), inputs
    before the ops that used them (iterative DFS: no recursion limit): `Function` nodes, and
    the leaves that require grad, as themselves."""
    order: list = []
    visited: set = set()
    tensors = roots if isinstance(roots, list) else [roots]
    stack = [(node_of(t), False) for t in reversed(tensors) if t.requires_grad]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in reversed(_next_of(node)):
            if parent is not None and id(parent) not in visited:
                stack.append((parent, False))
    return order


# Callables f(ctx, grad_out, parent_grads) run after each node's backward rule, in the order
# backpropagation visits nodes, with numpy arrays (used by `tl.trace_backward`).
backward_hooks: list = []


def backpropagate(
    roots: list, root_grads: list, deliver: Callable, create_graph: bool = False,
    inputs: Any = None,
) -> list:
    """The chain rule over the graph: `deliver(t, dL/dt)` for each tensor t in `inputs` (by
    default the leaves and the tensors that retain their grad). Returns the graph's nodes.

    Walks the nodes children-first, so every use of a tensor has added its gradient before
    the node's own rule runs. First order, the gradients are numpy arrays and the rules run
    on arrays; with `create_graph` they are Tensors (`root_grads` too), and the rules run as
    recorded ops, so the gradients they return can be differentiated again.
    """
    from .tensor import Tensor  # at call time: tensor.py imports this module

    order = topological_order(roots)
    wanted = None if inputs is None else {id(node_of(t)): t for t in inputs}
    grads: dict = {}
    for root, g in zip(roots, root_grads):
        key = id(node_of(root))
        grads[key] = grads[key] + g if key in grads else g
    previous = grad_state.enabled
    grad_state.enabled = create_graph  # the rules are recorded ops only with create_graph
    try:
        for node in reversed(order if wanted is None else _leading_to(order, wanted)):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if not create_graph and type(g) is not np.ndarray:
                g = np.asarray(g)  # numpy makes 0-d results scalars
            leaf = isinstance(node, Tensor)
            if wanted is not None:
                t = wanted.get(id(node))
            else:  # a leaf, or the tensor that asked its op to retain its grad (if alive)
                t = node if leaf else node._retained and node._retained()
            if t is not None:
                deliver(t, g)
            if leaf:
                continue
            _check_usable(node)
            parent_grads = node.run_backward(g, create_graph)  # the chain rule, one step
            for hook in backward_hooks:
                hook(node, np.asarray(g), [pg if pg is None else np.asarray(pg)
                                           for pg in parent_grads])
            for parent, pg in zip(node.next, parent_grads):
                if pg is not None and parent is not None:
                    key = id(parent)
                    grads[key] = grads[key] + pg if key in grads else pg
    finally:
        grad_state.enabled = previous
    return order


def _leading_to(order: list, wanted: Any) -> list:
    """The nodes of `order` (inputs first) that are in `wanted` or computed from one."""
    useful = set(wanted)
    kept = []
    for node in order:
        if id(node) in useful or any([id(p) in useful for p in _next_of(node)]):
            useful.add(id(node))
            kept.append(node)
    return kept


def backward(
    root: Tensor, grad: Tensor, retain_graph: bool = False, create_graph: bool = False,
    inputs: Any = None,
) -> None:
    """Backpropagate `grad` (dL/droot) and add the gradients into the leaves' `.grad`.

    First order, `.grad` is a numpy array (the tensor's dtype). With `create_graph`, it is a
    Tensor that carries its own graph, so it can be differentiated again.
    """

    def deliver(t: Tensor, g: Any) -> None:
        _accumulate(t, g, create_graph)

    order = backpropagate([root], [grad if create_graph else grad.data], deliver, create_graph,
                          inputs)
    if not retain_graph:
        release_graph(order)


def _accumulate(t: Tensor, g: Any, create_graph: bool) -> None:
    """t.grad += g, as PyTorch does it: in place on an array of its own, out of place (a new
    Tensor with a graph) when the gradient is to be differentiated again."""
    if create_graph:
        t.grad = g if t.grad is None else t.grad + g  # a Tensor sum: recorded with the graph
    elif t.grad is None:
        t.grad = np.array(g, dtype=t.data.dtype)  # its own copy, to add into later
    elif isinstance(t.grad, np.ndarray):
        t.grad += g
    else:  # a Tensor left by an earlier create_graph backward
        t.grad = t.grad.detach() + g


def grad(
    outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: Any = None,
    create_graph: bool = False, allow_unused: bool = False,
) -> tuple:
    """d(outputs)/d(inputs), returned (not accumulated into `.grad`), as torch.autograd.grad.

    `outputs` and `inputs` are Tensors or sequences of them; `grad_outputs` the upstream
    gradients (omit for scalar outputs). With `create_graph=True` the results carry a graph
    and can be differentiated again, to any order. An input the outputs do not depend on is
    an error unless `allow_unused=True` (then its gradient is None).
    """
    from .tensor import Tensor  # at call time: tensor.py imports this module

    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor) or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(
            f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs"
        )
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    roots, root_grads = [], []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not out.requires_grad:
            raise RuntimeError(
                f"grad: output {i} does not require grad and has no grad_fn"
            )
        roots.append(out)
        seed = out._seed_grad(g, "grad")
        root_grads.append(seed if create_graph else seed.data)
    found: dict = {}
    order = backpropagate(roots, root_grads,
                          lambda t, g: found.__setitem__(id(node_of(t)), g), create_graph,
                          inputs)
    results = []
    for i, t in enumerate(inputs):
        g = found.get(id(node_of(t)))
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {t.shape}) was not used in the graph of the outputs; "
                "pass allow_unused=True if this is intended"
            )
        if g is not None and not create_graph:
            g = Tensor._make(np.array(g, dtype=t.data.dtype), False, None)  # its own memory
        results.append(g)
    if not (create_graph if retain_graph is None else retain_graph):
        release_graph(order)
    return tuple(results)


def _check_usable(ctx: Function) -> None:
    """The node still has its saved arrays, and none of them was changed in place since."""
    if ctx._saved is None:
        raise RuntimeError(
            f"{ctx!r}: trying to backward through the graph a second time; its saved "
            "arrays were freed. Pass retain_graph=True to the first backward()."
        )
    for saved, version in zip(ctx._saved, ctx._versions):  # () when it saved no tensor
        if version is not None and version[1] is not None and version[1][0] != version[2]:
            k, counter, expected = version
            what = (f"the output of {ctx!r}" if k < 0
                    else f"input {k} of {ctx!r} (shape {saved.shape})")
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: {what} is at version {counter[0]}; expected version "
                f"{expected} instead. Do the in-place update after backward(), or use an "
                "out-of-place op."
            )


def release_graph(order: list) -> None:
    """Free what a graph holds once it has been backpropagated (as PyTorch does): the arrays
    its nodes saved. (It holds no other data: no tensor but the leaves.) What remains is the
    graph's structure, for drawing it or for the error a second backward raises; a node
    that saved nothing stays usable, as in PyTorch."""
    for node in order:
        if getattr(node, "_saved", None):  # leaves have none
            node._saved = None
