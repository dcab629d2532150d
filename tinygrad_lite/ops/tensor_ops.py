"""More Tensor methods under PyTorch's names: triangles, splitting, repeating, flipping,
ordering (sort, topk), running sums, powers, the named arithmetic and comparison methods,
tensors made like another (`new_zeros`, ...), sampling, and devices (`.device`, `.to`).

Their ops are in ops/shape.py; like methods.py, the class is copied onto Tensor (`attach`).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from .. import devices
from ..core.ops import _to, normalize_axes, normalize_axis, operands
from ..core.tensor import Tensor
from . import shape as ops
from .math import _check_divisor
from .methods import ValuesIndices, attach, floating

_NOT_DTYPES = (str, int, Tensor, devices.device)  # what to()'s one argument is, if no dtype


def _dims(dims: tuple) -> tuple:
    """`f(0, 1)` or `f((0, 1))` / `f([0, 1])`: the dims as one tuple."""
    return tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims


def _order(data: np.ndarray, axis: int, descending: bool, stable: bool) -> np.ndarray:
    """Indices that sort `data` along `axis`; equal elements keep their order when `stable`
    (descending too: the flipped array sorted stably, flipped back). NaN is largest."""
    if not descending:
        return np.argsort(data, axis=axis, kind="stable" if stable else None)
    n = data.shape[axis]
    order = np.argsort(np.flip(data, axis), axis=axis, kind="stable")
    return (n - 1) - np.flip(order, axis)


def _matrices(t: Tensor, who: str) -> Tensor:
    """`t`, which must have the two axes of a matrix (or more)."""
    if t.ndim < 2:
        raise RuntimeError(f"{who}: input tensor must have at least 2 dimensions")
    return t


class SequenceMethods:
    """The methods below become Tensor's (see `methods.attach`)."""

    # ---- triangles, flips, repeats ------------------------------------------------------------
    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle of the last two axes: zeros above the `diagonal`-th diagonal."""
        return ops.Triangle.apply(_matrices(self, "tril"), diagonal=int(diagonal))

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle of the last two axes: zeros below the `diagonal`-th diagonal."""
        return ops.Triangle.apply(_matrices(self, "triu"), diagonal=int(diagonal), upper=True)

    def flip(self, *dims: Any) -> Tensor:
        """The elements reversed along `dims` (a copy, as PyTorch's)."""
        axes = normalize_axes(_dims(dims), self.ndim)
        return ops.Flip.apply(self, axes=axes or ()) if self.ndim else self.clone()

    def repeat(self, *sizes: Any) -> Tensor:
        """The tensor tiled sizes[i] times along axis i (leading sizes add axes)."""
        if not sizes:
            raise TypeError('repeat() missing 1 required positional arguments: "repeats"')
        sizes = tuple(int(n) for n in _dims(sizes))
        if len(sizes) < self.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than "
                               "number of dimensions of tensor")
        if any(n < 0 for n in sizes):
            raise RuntimeError(f"Trying to create tensor with negative dimension: {sizes}")
        return ops.Repeat.apply(self, repeats=sizes)

    # ---- splitting -----------------------------------------------------------------------
    def split(self, split_size_or_sections: Union[int, Sequence[int]], dim: int = 0) -> tuple:
        """Views of consecutive pieces along `dim`: of `split_size` each (the last may be
        smaller), or of the sizes in a list (which must add up to the axis's length)."""
        d = normalize_axis(dim, self.ndim)
        n = self.shape[d]
        if isinstance(split_size_or_sections, (int, np.integer)):
            size = int(split_size_or_sections)
            if size < 0:
                raise RuntimeError(f"split expects split_size be non-negative, but got "
                                   f"split_size={size}")
            if size == 0 and n != 0:
                raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                                   f"dimension size of {n}")
            if n == 0:
                sizes = [0]  # one empty piece, as PyTorch
            else:
                sizes = [size] * (n // size) + ([n % size] if n % size else [])
        else:
            sizes = [int(s) for s in split_size_or_sections]
            if sum(sizes) != n or any(s < 0 for s in sizes):
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                                   f"(input tensor's size at dimension {d}), but got "
                                   f"split_sizes={sizes}")
        before, start, pieces = (slice(None),) * d, 0, []
        for s in sizes:
            pieces.append(self[before + (slice(start, start + s),)])
            start += s
        return tuple(pieces)

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        """At most `chunks` pieces along `dim`, each ceil(n / chunks) long but the last."""
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        n = self.shape[normalize_axis(dim, self.ndim)]
        if n == 0:
            return self.split(0, dim) * chunks  # `chunks` empty pieces, as PyTorch
        return self.split(-(-n // chunks), dim)

    def unbind(self, dim: int = 0) -> tuple:
        """The slices along `dim`, that axis removed: `tuple(t)` along any axis."""
        d = normalize_axis(dim, self.ndim)
        return tuple(self[(slice(None),) * d + (i,)] for i in range(self.shape[d]))

    # ---- ordering ------------------------------------------------------------------------
    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        """(values, indices) sorted along `dim`; the gradient goes back to where each value
        came from. Equal elements keep their order when `stable` (NaN sorts largest)."""
        x = self.reshape(1) if self.ndim == 0 else self
        d = normalize_axis(dim, self.ndim)
        index = _order(x.data, d, descending, stable)
        values = ops.TakeAlong.apply(x, index=index, axis=d)
        if self.ndim == 0:
            values, index = values.reshape(()), index.reshape(())
        return ValuesIndices(values, Tensor._make(index.astype(np.int64, copy=False)))

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        """The indices of `sort` (int64)."""
        return self.sort(dim, descending, stable).indices

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:  # noqa: A002
        """(values, indices) of the k largest (smallest, if not `largest`) along `dim`,
        largest first. The gradient goes back to where each value came from."""
        x = self.reshape(1) if self.ndim == 0 else self
        d = normalize_axis(dim, self.ndim)
        if not 0 <= k <= x.shape[d]:
            raise RuntimeError("selected index k out of range")
        index = np.take(_order(x.data, d, largest, True), np.arange(k), axis=d)
        values = ops.TakeAlong.apply(x, index=index, axis=d)
        if self.ndim == 0:
            values, index = values.reshape(()), index.reshape(())
        return ValuesIndices(values, Tensor._make(index.astype(np.int64, copy=False)))

    def cumsum(self, dim: int, *, dtype: Any = None) -> Tensor:
        """Running sums along `dim`; integers and bools sum as int64, as PyTorch."""
        x = self if dtype is None else self.to(dtype)
        if x.dtype.kind == "b" or (x.dtype.kind in "iu" and dtype is None):
            x = x.to(np.int64)
        if x.ndim == 0:
            normalize_axis(dim, 0)
            return ops.Cumsum.apply(x.reshape(1), axis=0).reshape(())
        return ops.Cumsum.apply(x, axis=normalize_axis(dim, x.ndim))

    # ---- powers --------------------------------------------------------------------------
    def pow(self, exponent: Any) -> Tensor:
        """self ** exponent: a number, or a tensor (elementwise, broadcasting)."""
        return self**exponent

    def rsqrt(self) -> Tensor:
        """1 / sqrt(x)."""
        return ops.Rsqrt.apply(floating(self))

    # ---- arithmetic and comparisons by name --------------------------------------------------
    def add(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """self + alpha * other."""
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """self - alpha * other."""
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other: Any) -> Tensor:
        return self * other

    def div(self, other: Any, *, rounding_mode: Optional[str] = None) -> Tensor:
        """self / other; rounding_mode "trunc" rounds toward 0, "floor" toward -inf (integers
        stay integers; the gradient is 0, as PyTorch's)."""
        if rounding_mode is None:
            return self / other
        if rounding_mode not in ("trunc", "floor"):
            raise RuntimeError("div expected rounding_mode to be one of None, 'trunc', or "
                               f"'floor' but found '{rounding_mode}'")
        a, b = operands(self, other)
        _check_divisor("div", np.asarray(b.data if isinstance(b, Tensor) else b))
        return ops.RoundedDiv.apply(a, b, mode=rounding_mode)

    multiply, subtract, divide, true_divide = mul, sub, div, div

    def eq(self, other: Any) -> Tensor:
        return self == other

    def ne(self, other: Any) -> Tensor:
        return self != other

    def lt(self, other: Any) -> Tensor:
        return self < other

    def le(self, other: Any) -> Tensor:
        return self <= other

    def gt(self, other: Any) -> Tensor:
        return self > other

    def ge(self, other: Any) -> Tensor:
        return self >= other

    # ---- like another tensor -----------------------------------------------------------------
    def type_as(self, other: Tensor) -> Tensor:
        """This tensor in `other`'s dtype."""
        return self.to(other.dtype)

    def view_as(self, other: Tensor) -> Tensor:
        """A view in `other`'s shape."""
        return self.view(other.shape)

    def new_tensor(self, data: Any, *, dtype: Any = None, device: Any = None,
                   requires_grad: bool = False) -> Tensor:
        """A new tensor of `data`, in this tensor's dtype unless `dtype`."""
        return self._new(np.asarray(data.data if isinstance(data, Tensor) else data),
                         dtype, device, requires_grad)

    def new_full(self, size: Sequence[int], fill_value: Any, *, dtype: Any = None,
                 device: Any = None, requires_grad: bool = False) -> Tensor:
        """A tensor of `size` filled with `fill_value`, in this tensor's dtype unless `dtype`."""
        return self._new(np.full(tuple(size), fill_value), dtype, device, requires_grad)

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> Tensor:
        return self._new(np.zeros(_dims(size)), dtype, device, requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:
        return self._new(np.ones(_dims(size)), dtype, device, requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> Tensor:
        """Uninitialised in PyTorch; zeros here."""
        return self._new(np.zeros(_dims(size)), dtype, device, requires_grad)

    def _new(self, data: np.ndarray, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
        if device is not None:
            devices.check(device)
        return Tensor(data, dtype=self.dtype if dtype is None else dtype,
                      requires_grad=requires_grad)

    # ---- sampling ----------------------------------------------------------------------------
    def multinomial(self, num_samples: int, replacement: bool = False, *,
                    generator: Any = None) -> Tensor:
        """`tl.multinomial(self, ...)`: category indices drawn with these weights."""
        from ..random import multinomial

        return multinomial(self, num_samples, replacement, generator=generator)

    # ---- devices -------------------------------------------------------------------------
    @property
    def device(self) -> devices.device:
        """Where the tensor lives: always `device(type='cpu')`."""
        return devices.CPU

    is_cuda = property(lambda self: False)

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """This tensor in another dtype (and on the CPU): `to(dtype)`, `to('cpu')`,
        `to(device, dtype)`, `to(other)`; itself when nothing changes, unless `copy=True`.
        To a floating dtype it is differentiable; to integers or bool it leaves the graph."""
        if not kwargs and len(args) == 1 and not isinstance(args[0], _NOT_DTYPES):
            return _to(self, args[0])  # to(dtype): the common call, without parsing
        _, dtype, copy = devices.to_args(args, kwargs)
        out = self if dtype is None else _to(self, dtype)
        return out.clone() if copy and out is self else out

    def cpu(self) -> Tensor:
        return self

    def cuda(self, device: Any = None, non_blocking: bool = False) -> Tensor:
        devices.check("cuda" if device is None else devices.device("cuda", device)
                      if isinstance(device, int) else device)
        return self  # (not reached: check raises)


attach(SequenceMethods)

