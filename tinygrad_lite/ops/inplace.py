"""In-place operations (`add_`, `t[i] = v`, `+=`, ...), as PyTorch does them.

`t.op_(x)` computes `op(t, x)` and writes the result into t's memory, which t's views and its
base share, and bumps their one version counter: any node that saved that memory refuses to
backpropagate through it from then on. While the graph is recorded, t becomes the output of
the op (its grad_fn is the op's node, applied to t's old value). When t is a view, the change
is a change of its base: the base becomes `CopySlices(base, new values of the view)`, and every
view of that base is made again from it the next time it is used (core/tensor.py).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..core.autograd import grad_mode, no_grad
from ..core.tensor import Function, Tensor, to_array
from .math import SetItem, Where, is_basic_index
from .methods import _ints_first, _plain_index, attach


class CopySlices(Function):
    """y = base with its view `make(base)` replaced by v (a write through a view);  dL/dbase =
    g with the view's elements zeroed, dL/dv = the view of g.

    The values are written already: forward returns the base's memory itself.
    """

    is_view = True

    def forward(self, base, v, make):
        self.make = make
        return base

    def backward(self, g):
        need_base, need_v = self.needs_input_grad
        dbase = write_view(g, self.make, 0) if need_base else None
        dv = view_of(self.make, g) if need_v else None
        return dbase, dv


def view_of(make: Callable, x: Any) -> Any:
    """The view `make` takes of a base, taken of `x` (an array, or a Tensor)."""
    return make(x) if isinstance(x, Tensor) else make(Tensor._make(x)).data


def write_view(x: Any, make: Callable, v: Any) -> Any:
    """A copy of x with its view `make(x)` set to v: an array, or a recorded CopySlices."""
    if not isinstance(x, Tensor):
        y = x.copy()
        view_of(make, y)[...] = v
        return y
    y = x.clone()
    view_of(make, y.data)[...] = np.asarray(v)  # the values first, as `inplace` writes them
    return CopySlices.apply(y, v, make=make)


def inplace(t: Tensor, op: Callable[..., Tensor], *args: Any) -> Tensor:
    """t <- op(t, *args), in t's memory, with PyTorch's rules (see the module docstring)."""
    if t._view is not None:
        t._refresh()
    recording = grad_mode.enabled and (
        t.requires_grad or any([isinstance(a, Tensor) and a.requires_grad for a in args]))
    if recording and t._ctx is None and t.requires_grad:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation. (Update parameters inside `with tl.no_grad():`.)")
    if recording and t._view is not None and t._view[0].requires_grad and t._view[0].is_leaf:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    if not t.data.flags.writeable:
        raise RuntimeError("unsupported operation: more than one element of the written-to "
                           "tensor refers to a single memory location. Please clone() the "
                           "tensor before performing the operation.")
    if not recording:
        with no_grad():
            result = op(t, *args)
        _write(t, result)
        return t
    old = Tensor._make(t.data.copy(), t.requires_grad, t._ctx)  # what op's graph starts from
    result = op(old, *args)
    floating = t.data.dtype.kind in "fc"
    _write(t, result)
    if not floating:  # an integer tensor takes the values, never a gradient (as PyTorch)
        return t
    if t._view is None:
        _rebind(t, result._ctx)
        return t
    base, make, _ = t._view
    written = CopySlices.apply(Tensor._make(base.data, base.requires_grad, base._ctx), result,
                               make=make)
    _rebind(base, written._ctx)
    t._view = (base, make, base._version)
    _rebind(t, make(base)._ctx)
    return t


def _write(t: Tensor, result: Tensor) -> None:
    """Copy an op's result into t's memory (shape and dtype as PyTorch checks them) and
    count the change."""
    if result.shape != t.shape:
        raise RuntimeError(f"output with shape {list(t.shape)} doesn't match the broadcast "
                           f"shape {list(result.shape)}")
    if not np.can_cast(result.dtype, t.dtype, "same_kind"):
        raise RuntimeError(f"result type {result.dtype} can't be cast to the desired output "
                           f"type {t.dtype}")
    t.data[...] = result.data
    t._bump_version()


def _rebind(t: Tensor, ctx: Any) -> None:
    """After an in-place op, `t` is the op's output: ctx is its grad_fn, which takes over its
    name and its retain_grad()."""
    previous, t._ctx, t.requires_grad = t._ctx, ctx, ctx is not None or t.requires_grad
    if ctx is None:
        return
    if t._name is not None:
        ctx._name = t._name
    if previous is not None and previous._retained is not None:
        ctx._retained, previous._retained = previous._retained, None


class InplaceMethods:
    """The in-place methods; they become Tensor's (`attach`)."""

    def add_(self, other: Any, alpha: Any = 1) -> Tensor:
        """self += alpha * other, in place."""
        return inplace(self, lambda t, o: t + (o if alpha == 1 else alpha * o), other)

    def sub_(self, other: Any, alpha: Any = 1) -> Tensor:
        """self -= alpha * other, in place."""
        return inplace(self, lambda t, o: t - (o if alpha == 1 else alpha * o), other)

    def mul_(self, other: Any) -> Tensor:
        return inplace(self, Tensor.__mul__, other)

    def div_(self, other: Any) -> Tensor:
        return inplace(self, Tensor.__truediv__, other)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - PyTorch's names
        return inplace(self, lambda t: t.clamp(min, max))

    def copy_(self, src: Any) -> Tensor:
        """Copy `src` (broadcast to this shape, cast to this dtype) into this tensor; the
        gradient flows to src (none to the old values)."""
        if not isinstance(src, Tensor):
            src = Tensor._make(to_array(src))
        everywhere = np.ones((), dtype=bool)
        return inplace(self, lambda t, s: Where.apply(everywhere, s.to(t.dtype), t), src)

    def fill_(self, value: Any) -> Tensor:
        """Every element becomes `value` (no gradient reaches the old values)."""
        return self.copy_(value)

    def zero_(self) -> Tensor:
        return self.fill_(0)

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    def __setitem__(self, index: Any, value: Any) -> None:
        """`t[index] = value` writes in place (the same rules as the in-place methods)."""
        index = _plain_index(index)
        split = None if is_basic_index(index) else _ints_first(index)
        if split is not None:  # t[0, :, [0, 1]] = v: into the view t[0, :, :], as PyTorch
            self[split[0]][split[1]] = value
            return
        if not isinstance(value, Tensor):
            value = np.asarray(to_array(value), dtype=self.dtype)
        inplace(self, lambda t, v: SetItem.apply(t, v.to(t.dtype) if isinstance(v, Tensor)
                                                 else v, index=index), value)


attach(InplaceMethods)
