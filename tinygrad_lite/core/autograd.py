"""Reverse-mode automatic differentiation: grad mode and the backward walk.

The graph is made of nodes, as in PyTorch. An op's node (a `Function`, see tensor.py) keeps
in `next`, per input, the node that input's gradient goes to: the input's own grad_fn, an
`AccumulateGrad` for a leaf that requires grad, None for an input that needs no gradient.
So the graph holds no intermediate tensor: a node keeps only what its rule needs.

`backward` walks the nodes once, children before parents (an iterative depth-first search:
deep graphs do not hit Python's recursion limit), runs each node's rule on the gradient that
flowed in, and *adds* what it returns into the gradients of its `next` nodes: a tensor used
twice receives the sum of both contributions, the multivariate chain rule. This module
imports nothing from the package: it sees nodes, and gradients it only adds.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import operator
import threading
import weakref
from typing import Any, Callable, Optional

import numpy as np


class _GradMode(threading.local):
    """Grad mode is per thread, as in PyTorch; a new thread starts with it on."""

    enabled = True


grad_mode = _GradMode()
sequence = itertools.count()  # numbers the nodes in the order they are made


def is_grad_enabled() -> bool:
    """True when operations record the graph (the default)."""
    return grad_mode.enabled


class set_grad_enabled:  # noqa: N801 - PyTorch's name
    """Switch grad mode for this thread: at once when called, back afterwards in a `with`
    block; as a decorator, only during each call (of a function or a generator)."""

    def __init__(self, mode: bool) -> None:
        self.mode, self.previous = bool(mode), grad_mode.enabled
        grad_mode.enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        grad_mode.enabled = self.previous

    def __call__(self, func: Callable) -> Callable:
        grad_mode.enabled, mode = self.previous, self.mode  # a decorator waits for the call
        return run_inside(lambda: set_grad_enabled(mode), func)


def run_inside(context: Callable[[], Any], func: Callable) -> Callable:
    """`func` with each call inside `with context():`; for a generator function, each step
    of the generator, so the mode holds only while its own code runs."""
    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def generator(*args: Any, **kwargs: Any) -> Any:
            gen, sent = func(*args, **kwargs), None
            while True:
                with context():
                    try:
                        item = gen.send(sent)
                    except StopIteration as stop:
                        return stop.value
                sent = yield item

        return generator

    @functools.wraps(func)
    def function(*args: Any, **kwargs: Any) -> Any:
        with context():
            return func(*args, **kwargs)

    return function


class no_grad(set_grad_enabled):  # noqa: N801 - PyTorch's name
    """`with no_grad():` records nothing (evaluation, parameter updates); `@no_grad` too."""

    def __new__(cls, func: Any = None) -> Any:
        if callable(func):  # `@no_grad` without parentheses
            return cls()(func)
        return super().__new__(cls)

    def __init__(self, func: Any = None) -> None:
        super().__init__(False)


class enable_grad(no_grad):  # noqa: N801 - PyTorch's name
    """`with enable_grad():` records again inside a `no_grad` block."""

    def __init__(self, func: Any = None) -> None:
        set_grad_enabled.__init__(self, True)


class AccumulateGrad:
    """The node where a leaf's gradient ends (PyTorch's name): `variable` is the leaf. The
    leaf keeps its node; the node refers to the leaf weakly, so neither keeps the other in a
    reference cycle."""

    __slots__ = ("_variable", "_shape", "_dtype", "_seq", "__weakref__")
    next = next_functions = _saved = ()  # (no inputs, nothing saved)
    _retained = None
    variable = property(lambda self: self._variable())
    _name = property(lambda self: getattr(self._variable(), "_name", None))

    def __init__(self, variable: Any) -> None:
        self._variable = weakref.ref(variable)
        self._shape, self._dtype = variable.shape, variable.dtype  # what its gradient has
        self._seq = next(sequence)  # made before the first op that uses the leaf

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


def topological_order(roots: list) -> list:
    """The nodes reachable from `roots` (nodes), each after every node in its `next`: in the
    order they were made (`_seq`, counted by Function.apply), since an op's node is always
    made after the nodes of its inputs, as in PyTorch's engine."""
    seen, stack = set(roots), list(roots)
    while stack:
        for parent in stack.pop().next:
            if parent is not None and parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return sorted(seen, key=_made)


_made = operator.attrgetter("_seq")


# Callables hook(node, grad, input_grads) run after each node's rule (tools/trace.py's tracer).
backward_hooks: list = []


def backward(roots: list, grads: list, deliver: Callable, create_graph: bool = False,
             only: Optional[set] = None) -> list:
    """The chain rule over the graph behind `roots` (nodes), seeded with `grads` (dL/droot).

    Calls `deliver(node, dL/dnode, create_graph)` for every leaf's `AccumulateGrad` node and
    every node asked to retain its output's gradient, or, when `only` (a set of nodes) is
    given, for those nodes alone. Returns the nodes in order, for releasing their saved arrays.
    Gradients are numpy arrays, or Tensors recorded into a graph of their own when
    `create_graph` (so they can be differentiated again).
    """
    order = topological_order(roots)
    if only is not None:
        order = _leading_to(order, only)
    flowing: dict = {}
    for node, g in zip(roots, grads):
        flowing[node] = flowing[node] + g if node in flowing else g
    previous, grad_mode.enabled = grad_mode.enabled, create_graph
    try:
        for node in reversed(order):
            g = flowing.pop(node, None)
            if g is None:
                continue
            if isinstance(g, np.generic):  # numpy makes a sum of 0-d arrays a scalar
                g = np.asarray(g)
            leaf = type(node) is AccumulateGrad
            if (node in only) if only is not None else (leaf or node._retained is not None):
                deliver(node, g, create_graph)
            if leaf:  # the gradient ends here
                continue
            input_grads = node.gradients(g)  # the chain rule, one step
            for hook in backward_hooks:
                hook(node, g, input_grads)
            for parent, pg in zip(node.next, input_grads):
                if parent is not None and pg is not None:
                    flowing[parent] = flowing[parent] + pg if parent in flowing else pg
    finally:
        grad_mode.enabled = previous
    return order


def _leading_to(order: list, wanted: set) -> list:
    """The nodes of `order` that are in `wanted` or lead to one (the rest is wasted work)."""
    useful, kept = set(wanted), []
    for node in order:
        if node in useful or any([p in useful for p in node.next]):
            useful.add(node)
            kept.append(node)
    return kept
