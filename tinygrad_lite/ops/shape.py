"""Ops that move, mask, order or accumulate elements: tril/triu, flip, repeat, cumsum, rsqrt,
a tensor power, a rounded division, and the gather behind sort/topk (`TakeAlong`).

Notation as in ops/math.py: `g` is dL/dy; each rule runs on arrays, or on Tensors when it is
recorded (create_graph). A rule that needs the op itself again (tril's gradient is a tril)
calls the function beside the op (`tril`, `flip`, `cumsum`, `take_along`), which computes on
arrays and records on Tensors, so every gradient is differentiable again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.tensor import Function, Tensor
from .math import where


def _recorded(*xs: Any) -> bool:
    return any(isinstance(x, Tensor) for x in xs)


# ---- triangles ----------------------------------------------------------------------------


def tril(x: Any, diagonal: int = 0) -> Any:
    """The lower triangle of the last two axes (on and below `diagonal`), the rest 0."""
    return Triangle.apply(x, diagonal=diagonal) if _recorded(x) else np.tril(x, diagonal)


def triu(x: Any, diagonal: int = 0) -> Any:
    """The upper triangle of the last two axes (on and above `diagonal`), the rest 0."""
    return (Triangle.apply(x, diagonal=diagonal, upper=True) if _recorded(x)
            else np.triu(x, diagonal))


class Triangle(Function):
    """y = x on and below (`tril`) or on and above (`triu`, upper=True) the k-th diagonal of
    the last two axes, 0 elsewhere;  dL/dx = the same triangle of g."""

    def forward(self, x, diagonal=0, upper=False):
        self.diagonal, self.upper = diagonal, upper
        return np.triu(x, diagonal) if upper else np.tril(x, diagonal)

    def backward(self, g):
        return triu(g, self.diagonal) if self.upper else tril(g, self.diagonal)


# ---- reordering ---------------------------------------------------------------------------


def flip(x: Any, axes: tuple) -> Any:
    """x reversed along `axes` (a copy, as PyTorch's flip)."""
    return Flip.apply(x, axes=axes) if _recorded(x) else np.flip(x, axes).copy()


class Flip(Function):
    """y = x reversed along `axes`;  dL/dx = g reversed along the same axes (its own adjoint)."""

    def forward(self, x, axes):
        self.axes = axes
        return np.flip(x, axes).copy()

    def backward(self, g):
        return flip(g, self.axes)


class Repeat(Function):
    """y = x tiled `repeats` times along each axis (PyTorch's repeat, numpy's tile; x is first
    given leading size-1 axes up to len(repeats));  dL/dx = g viewed as (r0, n0, r1, n1, ...)
    and summed over the r axes: every copy's gradient added back to its source."""

    def forward(self, x, repeats):
        x = x.reshape((1,) * (len(repeats) - x.ndim) + x.shape)
        self.split = tuple(n for pair in zip(repeats, x.shape) for n in pair)
        self.shape = x.shape
        return np.tile(x, repeats)

    def backward(self, g):
        summed = tuple(range(0, 2 * len(self.shape), 2))
        return g.reshape(self.split).sum(axis=summed).reshape(self.shape)


# ---- gathering along an axis (sort, topk) ------------------------------------------------------


def take_along(x: Any, index: np.ndarray, axis: int) -> Any:
    """y[..., j, ...] = x[..., index[..., j, ...], ...] along `axis` (numpy's take_along_axis)."""
    if _recorded(x):
        return TakeAlong.apply(x, index=index, axis=axis)
    return np.take_along_axis(x, index, axis)


def put_along(x: Any, index: np.ndarray, axis: int, shape: tuple) -> Any:
    """zeros(shape) with x put at `index` along `axis`: the adjoint of `take_along` for an
    index without repeats along `axis` (a permutation's first k, as sort and topk take)."""
    if _recorded(x):
        return PutAlong.apply(x, index=index, axis=axis, shape=shape)
    y = np.zeros(shape, dtype=x.dtype)
    np.put_along_axis(y, index, x, axis)
    return y


class TakeAlong(Function):
    """y = x gathered at `index` along `axis` (the values of sort and topk; no index repeats
    along `axis`);
    dL/dx = put_along(g, index): zeros with g put where each element was taken from."""

    def forward(self, x, index, axis):
        self.index, self.axis, self.shape = index, axis, x.shape
        return np.take_along_axis(x, index, axis)

    def backward(self, g):
        return put_along(g, self.index, self.axis, self.shape)


class PutAlong(Function):
    """y = zeros(shape) with x put at `index` along `axis`;  dL/dx = take_along(g, index):
    TakeAlong's gradient, and TakeAlong is its."""

    def forward(self, x, index, axis, shape):
        self.index, self.axis = index, axis
        return put_along(x, index, axis, shape)

    def backward(self, g):
        return take_along(g, self.index, self.axis)


# ---- accumulation --------------------------------------------------------------------------


def cumsum(x: Any, axis: int) -> Any:
    """Running sums along `axis`."""
    return Cumsum.apply(x, axis=axis) if _recorded(x) else np.cumsum(x, axis)


class Cumsum(Function):
    """y_i = sum_{j <= i} x_j along `axis`;  dL/dx_j = sum_{i >= j} g_i: the running sum of g
    taken from the end, flip(cumsum(flip(g)))."""

    def forward(self, x, axis):
        self.axis = axis
        return np.cumsum(x, axis)

    def backward(self, g):
        return flip(cumsum(flip(g, (self.axis,)), self.axis), (self.axis,))


# ---- powers and division ------------------------------------------------------------------------


class Rsqrt(Function):
    """y = 1 / sqrt(x);  dL/dx = -g y**3 / 2."""

    def forward(self, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            y = 1 / np.sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        (y,) = self.saved_tensors
        return g * (y * y * y) * -0.5


def power(a: Any, b: Any) -> Any:
    """a**b elementwise, both tensors (or arrays)."""
    return PowTensor.apply(a, b) if _recorded(a, b) else np.power(a, b)


class PowTensor(Function):
    """y = a**b elementwise (both tensors, broadcasting);  dL/da = g b a**(b-1) (0 where
    a = b = 0), dL/db = g y ln(a), taken as 0 where a = 0 and b >= 0 (PyTorch's convention)."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.power(a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        da = db = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.needs_input_grad[0]:
                zero = (np.asarray(b) == 0) & (np.asarray(a) == 0)  # 0 * inf there
                da = g * where(zero, 0.0, b * power(a, b - 1))
            if self.needs_input_grad[1]:
                safe = where((np.asarray(a) == 0) & (np.asarray(b) >= 0), 1.0, a)
                db = g * power(safe, b) * (safe.log() if _recorded(safe) else np.log(safe))
        return da, db


class RoundedDiv(Function):
    """y = a / b rounded toward zero ("trunc") or toward -inf ("floor"): PyTorch's
    div(rounding_mode=);  dL/da = dL/db = 0 (a step function; PyTorch gives zeros too)."""

    def forward(self, a, b, mode):
        with np.errstate(divide="ignore", invalid="ignore"):
            if mode == "floor":
                return np.floor_divide(a, b)
            if a.dtype.kind in "iub":
                q = np.floor_divide(a, b)
                return np.where((q < 0) & (q * b != a), q + 1, q).astype(q.dtype)
            return np.trunc(a / b)

    def backward(self, g):
        zero = g * 0
        return zero, zero
