"""Tensor methods beyond the core, under PyTorch's names: Python's protocols, comparisons,
indexing, reductions, elementwise functions, shapes and dtype conversions.

They are written as the methods of `TensorMethods` and copied onto `Tensor` at import
(`attach`): the class reads as one more part of Tensor, and the core stays free of them.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, NamedTuple, Optional, Sequence, Union

import numpy as np

from ..core import dtypes
from ..core.ops import Transpose, normalize_axes, normalize_axis, operands, pick_axis, pick_keep
from ..core.tensor import Tensor, to_array
from . import math as ops
from .shape import PowTensor

Axis = Union[None, int, Sequence[int]]


class ValuesIndices(NamedTuple):
    """What `max(dim)` / `min(dim)` return, as PyTorch's `torch.return_types.max`."""

    values: Tensor
    indices: Tensor


def floating(t: Tensor) -> Tensor:
    """`t`, or an integer or bool tensor as float32: what PyTorch's exp, log, sin, ...
    compute in (numpy would give float64, or float16 for small integers)."""
    return t if t.data.dtype.kind == "f" else t.to(dtypes.DEFAULT_FLOAT)


def _elementwise(op: type) -> Callable[[Tensor], Tensor]:
    """The method `t.f()` of the elementwise op `f`, on `floating(t)`; its docstring is the op's
    math."""

    def method(self: Tensor) -> Tensor:
        return op.apply(floating(self))

    method.__name__ = method.__qualname__ = op.__name__.lower()
    method.__doc__ = op.__doc__
    return method


# numpy's ufuncs that are Tensor operations: (method, the method for `array op tensor`)
_UFUNC_METHODS = {
    np.add: ("__add__", "__radd__"), np.subtract: ("__sub__", "__rsub__"),
    np.multiply: ("__mul__", "__rmul__"), np.true_divide: ("__truediv__", "__rtruediv__"),
    np.matmul: ("__matmul__", "__rmatmul__"), np.power: ("__pow__", "__rpow__"),
    np.floor_divide: ("__floordiv__", "__rfloordiv__"), np.remainder: ("__mod__", "__rmod__"),
    np.maximum: ("maximum", "maximum"), np.minimum: ("minimum", "minimum"),
    np.equal: ("__eq__", "__eq__"), np.not_equal: ("__ne__", "__ne__"),
    np.less: ("__lt__", "__gt__"), np.less_equal: ("__le__", "__ge__"),
    np.greater: ("__gt__", "__lt__"), np.greater_equal: ("__ge__", "__le__"),
    **{f: (name, name) for f, name in [
        (np.negative, "__neg__"), (np.exp, "exp"), (np.log, "log"), (np.sqrt, "sqrt"),
        (np.tanh, "tanh"), (np.sin, "sin"), (np.cos, "cos"), (np.log1p, "log1p"),
        (np.absolute, "abs")]},
}


class TensorMethods:
    """The methods below become Tensor's (see `attach`)."""

    def size(self, dim: Optional[int] = None) -> Any:
        """The shape (PyTorch's `size()`), or the length of axis `dim`."""
        return self.shape if dim is None else self.shape[normalize_axis(dim, self.ndim)]

    def dim(self) -> int:
        """The number of axes (PyTorch's name for ndim)."""
        return self.data.ndim

    def numel(self) -> int:
        """The number of elements."""
        return self.data.size


    @property
    def name(self) -> Optional[str]:
        """A label for drawings and traces (`tl.viz`); its grad_fn carries it too, so a drawing
        of the graph, which holds nodes and not tensors, can show it."""
        return self._name

    @name.setter
    def name(self, name: Optional[str]) -> None:
        self._name = name
        if self._ctx is not None:
            self._ctx._name = name

    # ---- Python protocols, as for a PyTorch tensor ----------------------------------------
    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        """Iterate over the first axis (each item is a differentiable slice)."""
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with more than one value is ambiguous ({self.shape})"
                if self.data.size else "Boolean value of Tensor with no values is ambiguous"
            )
        return bool(self.data.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iub" or self.data.size != 1:
            raise TypeError(
                "only integer tensors of a single element can be converted to an index"
            )
        return int(self.data.item())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """`np.asarray(t)` gives the numbers (the array itself, not a copy, when it can)."""
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """numpy's functions on Tensors: `np.exp(t)` is `t.exp()`, `array * t` is `array * t`
        in Tensor arithmetic (recorded), as are the other ufuncs that have a Tensor method;
        any other (np.isfinite, ...) computes on the numbers and returns an array."""
        names = _UFUNC_METHODS.get(ufunc)
        if names is not None and method == "__call__" and not kwargs:
            first, *rest = inputs
            if not isinstance(first, Tensor):  # `array op t`: t's reflected operator
                return getattr(rest[0], names[1])(first)
            return getattr(first, names[0])(*rest)
        arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(x.data if isinstance(x, Tensor) else x for x in kwargs["out"])
        return getattr(ufunc, method)(*arrays, **kwargs)


    def tolist(self) -> Any:
        return self.data.tolist()


    def sum_to_size(self, *size: Any) -> Tensor:
        """Sum over the axes this tensor was broadcast along, to `size` (PyTorch's name).

        The adjoint of broadcasting: the engine uses it to give each input of a binary op a
        gradient of its own shape."""
        shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
        return ops.SumToSize.apply(self, shape=tuple(shape))

    # ---- arithmetic: operands promote to PyTorch's result dtype (`dtypes.result_type`) --------

    def __floordiv__(self, other: Any) -> Tensor:
        return ops.FloorDivide.apply(*operands(self, other))

    def __rfloordiv__(self, other: Any) -> Tensor:
        return ops.FloorDivide.apply(*operands(other, self))

    def __mod__(self, other: Any) -> Tensor:
        return ops.Remainder.apply(*operands(self, other))

    def __rmod__(self, other: Any) -> Tensor:
        return ops.Remainder.apply(*operands(other, self))

    def floor_divide(self, other: Any) -> Tensor:
        """`self // other`: rounded toward -inf, in PyTorch's result dtype (int // int is int);
        not differentiable (backward raises, as in PyTorch)."""
        return self // other

    def remainder(self, other: Any) -> Tensor:
        """`self % other`: the remainder with the sign of `other` (Python's %, PyTorch's
        remainder); an integer division by zero raises RuntimeError, as in PyTorch."""
        return self % other


    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, Tensor) or np.ndim(exponent) != 0:  # elementwise a**b
            return PowTensor.apply(*operands(self, exponent))
        base = self.to(dtypes.result_type(self, exponent))  # int ** 2 stays int, ** 0.5 floats
        exponent = exponent.item() if isinstance(exponent, np.generic) else exponent
        return ops.Pow.apply(base, exponent=exponent)

    def __rpow__(self, base: Any) -> Tensor:
        """`c ** t` for a number c: in PyTorch's result dtype (2 ** int tensor stays int);
        the gradient is ln(c) * c**t."""
        if isinstance(base, Tensor) or np.ndim(base) != 0:
            return PowTensor.apply(*operands(base, self))
        base = base.item() if isinstance(base, np.generic) else base
        return ops.ScalarPow.apply(self.to(dtypes.result_type(base, self)), base=base)


    def _compare(self, other: Any, ufunc: Callable) -> Any:
        if other is None:
            return ufunc is np.not_equal  # `t == None` is False, as in PyTorch
        a = self.data
        if isinstance(other, Tensor):
            other = other.data
        elif isinstance(other, np.generic):
            other = other.item()  # a number, as PyTorch takes it (numpy: in a's dtype)
        elif not isinstance(other, (np.ndarray, int, float, bool, list, tuple)):
            return NotImplemented  # let the other object answer (e.g. pytest.approx)
        if type(other) is float:  # in PyTorch's dtype: float32 0 != 1e-165 is False there
            dtype = dtypes.result_type(a, other)
            with np.errstate(over="ignore"):
                a, other = a.astype(dtype, copy=False), dtype.type(other)
        elif isinstance(other, np.ndarray) and other.dtype != a.dtype:
            # compared in PyTorch's result dtype (float32 vs a 0-d float64: in float32)
            dtype = dtypes.result_type(a, other)
            a, other = a.astype(dtype, copy=False), other.astype(dtype, copy=False)
        return Tensor._make(np.asarray(ufunc(a, other)), False, None)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal)

    # ---- in-place operations ------------------------------------------------------------

    def __getitem__(self, index: Any) -> Tensor:
        index = _plain_index(index)
        if not ops.is_basic_index(index):
            split = _ints_first(index)
            if split is not None:  # t[0, :, [0, 1]]: (t[0, :, :])[:, [0, 1]], as PyTorch
                return self[split[0]][split[1]]
        elif not _has_ellipsis(index):
            index = (index if isinstance(index, tuple) else (index,)) + (Ellipsis,)  # t[1, 2]:
        return ops.GetItem.apply(self, index=index)  # a 0-d view, as PyTorch's, not a copy

    # ---- shape ------------------------------------------------------------------------

    @property
    def mT(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """Swap the last two axes (a batch of matrices transposed)."""
        if self.ndim == 1:
            raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                               "Got 1-D tensor.")
        return self.transpose(-2, -1) if self.ndim else Transpose.apply(self, axes=None)


    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge axes start_dim..end_dim into one (PyTorch's flatten)."""
        if self.ndim == 0:
            normalize_axis(start_dim, 0), normalize_axis(end_dim, 0)
            return self.reshape(1)
        start = normalize_axis(start_dim, self.ndim)
        end = normalize_axis(end_dim, self.ndim)
        if start > end:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        if start == end:
            return self  # nothing to merge: the tensor itself, as in PyTorch
        shape = self.shape[:start] + (-1,) + self.shape[end + 1 :]
        return self.reshape(shape)

    # ---- reductions: numpy's axis=/keepdims= and PyTorch's dim=/keepdim= are both accepted ---

    def prod(self, axis: Optional[int] = None, keepdims: bool = False, *,
             dim: Optional[int] = None, keepdim: Optional[bool] = None,
             dtype: Any = None) -> Tensor:
        """The product over `dim` (all elements by default); integers and bools give int64, as
        in PyTorch. The gradient is the product of the other elements, zeros included."""
        x = self if dtype is None else self.to(dtype)
        if x.dtype.kind == "b" or (x.dtype.kind in "iu" and x.dtype.itemsize < 8):
            x = x.to(np.int64)
        axis, keepdims = pick_axis(axis, dim), pick_keep(keepdims, keepdim)
        return ops.Prod.apply(x, axis=axis, keepdims=keepdims)

    def logsumexp(self, dim: Axis, keepdim: bool = False) -> Tensor:
        """log(sum(exp(x))) over `dim`, without overflow: m + log(sum(exp(x - m))), m the
        slice's maximum held constant (0 where it is +-inf, as PyTorch: a slice of -inf, or an
        empty one, gives -inf). Integer tensors as float32. The gradient is softmax(x) over
        the slice."""
        x = floating(self)
        m = x.data.max(axis=normalize_axes(dim, x.ndim), keepdims=True, initial=-np.inf)
        m = Tensor._make(np.where(np.isinf(m), 0, m).astype(x.dtype, copy=False), False, None)
        with np.errstate(divide="ignore"):  # log(0) = -inf: a slice of -inf, silently
            out = (x - m).exp().sum(dim, keepdim=keepdim).log()
        return out + m.reshape(out.shape)

    def amax(self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
             keepdim: Optional[bool] = None) -> Tensor:
        """The maximum over one or more axes; tied maxima share the gradient equally."""
        axis, keepdims = pick_axis(axis, dim), pick_keep(keepdims, keepdim)
        return ops.Max.apply(self, axis=axis, keepdims=keepdims)

    def amin(self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
             keepdim: Optional[bool] = None) -> Tensor:
        """The minimum over one or more axes; tied minima share the gradient equally."""
        axis, keepdims = pick_axis(axis, dim), pick_keep(keepdims, keepdim)
        return ops.Min.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: Optional[bool] = None) -> Any:
        """`t.max()`: the largest element. `t.max(dim)`: (values, indices) along `dim`, as in
        PyTorch (the gradient goes to the index returned). `t.max(other)`: `maximum`."""
        axis, keepdims = pick_axis(axis, dim), pick_keep(keepdims, keepdim)
        return self._max_or_min(axis, keepdims, self.maximum, ops.Max, np.argmax)

    def min(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: Optional[bool] = None) -> Any:
        """As `max`, for the smallest: `t.min()`, `t.min(dim)` -> (values, indices), or minimum."""
        axis, keepdims = pick_axis(axis, dim), pick_keep(keepdims, keepdim)
        return self._max_or_min(axis, keepdims, self.minimum, ops.Min, np.argmin)

    def _max_or_min(self, axis: Any, keepdims: bool, pairwise: Callable, reduce: Any,
                    arg: Callable) -> Any:
        """`max`/`min` after their arguments are picked: `pairwise` (maximum/minimum) for a
        Tensor `axis`, the `reduce` op over everything for None, else (values, indices)."""
        if isinstance(axis, Tensor):
            return pairwise(axis)
        if axis is None:
            return reduce.apply(self, axis=None, keepdims=keepdims)
        return self._select_along(arg, axis, keepdims)

    def _select_along(self, arg: Callable, axis: Any, keepdims: bool) -> ValuesIndices:
        if not isinstance(axis, (int, np.integer)):
            raise TypeError(f"max/min take one integer dim, got {axis!r}; amax/amin take several")
        axis = normalize_axis(axis, self.ndim)
        data = self.data.reshape(1) if self.ndim == 0 else self.data
        index = arg(data, axis=axis, keepdims=True)
        grid = list(np.ogrid[tuple(slice(n) for n in index.shape)])
        grid[axis] = index
        values = (self.reshape(1) if self.ndim == 0 else self)[tuple(grid)]
        if not keepdims or self.ndim == 0:  # a 0-d tensor stays 0-d, as in PyTorch
            reduced = self.shape[:axis] + self.shape[axis + 1 :]
            values, index = values.reshape(reduced), index.reshape(reduced)
        return ValuesIndices(values, Tensor._make(index, False, None))

    def argmax(self, axis: Optional[int] = None, keepdims: bool = False, *,
               dim: Optional[int] = None, keepdim: Optional[bool] = None) -> Tensor:
        """Indices of the maxima (int64, not differentiable); with no axis, in the flat array."""
        return self._arg(np.argmax, pick_axis(axis, dim), pick_keep(keepdims, keepdim))

    def argmin(self, axis: Optional[int] = None, keepdims: bool = False, *,
               dim: Optional[int] = None, keepdim: Optional[bool] = None) -> Tensor:
        """Indices of the minima (an int64 tensor; not differentiable)."""
        return self._arg(np.argmin, pick_axis(axis, dim), pick_keep(keepdims, keepdim))

    def _arg(self, arg: Callable, axis: Optional[int], keepdims: bool) -> Tensor:
        if axis is None:
            index = np.asarray(arg(self.data))
            if keepdims:
                index = index.reshape((1,) * self.ndim)
        else:
            axis = normalize_axis(axis, self.ndim)
            index = arg(self.data.reshape(1) if self.ndim == 0 else self.data, axis=axis,
                        keepdims=keepdims and self.ndim > 0)
        return Tensor._make(np.asarray(index, dtype=np.int64), False, None)

    # ---- elementwise --------------------------------------------------------------------

    # computed in floating point (integers as float32), as PyTorch: one op each
    exp, log, sqrt = _elementwise(ops.Exp), _elementwise(ops.Log), _elementwise(ops.Sqrt)
    sin, cos, log1p = _elementwise(ops.Sin), _elementwise(ops.Cos), _elementwise(ops.Log1p)
    sigmoid, tanh = _elementwise(ops.Sigmoid), _elementwise(ops.Tanh)


    def softmax(self, axis: Optional[int] = None, *, dim: Optional[int] = None) -> Tensor:
        axis = pick_axis(axis, dim)
        return ops.Softmax.apply(self, axis=-1 if axis is None else axis)

    def log_softmax(self, axis: Optional[int] = None, *, dim: Optional[int] = None) -> Tensor:
        axis = pick_axis(axis, dim)
        return ops.LogSoftmax.apply(self, axis=-1 if axis is None else axis)

    # ---- dtype conversions --------------------------------------------------------------

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def int(self) -> Tensor:
        return self.to(np.int32)

    def bool(self) -> Tensor:
        return self.to(np.bool_)

    # ---- PyTorch-named ops ----

    def view(self, *shape: Any) -> Tensor:
        """The same memory in a new shape; a layout that needs a copy is an error, as PyTorch."""
        out = self.reshape(*shape)
        if out.data.size > 1 and not np.shares_memory(out.data, self.data):
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            )
        return out

    def unsqueeze(self, dim: Optional[int] = None, *, axis: Optional[int] = None) -> Tensor:
        """A new size-1 axis at position `dim`, which may be in [-ndim-1, ndim]."""
        dim = pick_axis(axis, dim)
        if dim is None:
            raise TypeError("unsqueeze() missing 1 required positional argument: 'dim'")
        n = self.ndim + 1
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"unsqueeze(): dim must be an integer, got {dim!r}")
        if not -n <= dim < n:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got "
                f"{dim})"
            )
        d = int(dim) % n
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def squeeze(self, dim: Axis = None, *, axis: Axis = None) -> Tensor:
        """Drop size-1 axes: all of them, or those among `dim` (an int or a tuple); naming an
        axis whose size is not 1 leaves it in place, as in PyTorch."""
        dim = pick_axis(axis, dim)
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        normal = [normalize_axis(d, self.ndim) for d in dims]
        for i, d in enumerate(normal):
            if d in normal[:i]:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if n != 1 or i not in normal))

    def permute(self, *dims: Any) -> Tensor:
        """Reorder the axes: `t.permute(2, 0, 1)` or `t.permute((2, 0, 1))` (a permutation)."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if len(dims) != self.ndim:
            raise RuntimeError(
                "permute(sparse_coo): number of dimensions in the tensor input does not match the "
                "length of the desired ordering of dimensions i.e. input.dim() = "
                f"{self.ndim} is not equal to len(dims) = {len(dims)}"
            )
        normal = tuple(normalize_axis(d, self.ndim) for d in dims)
        if len(set(normal)) != len(normal):
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        return Transpose.apply(self, axes=normal or None)

    def t(self) -> Tensor:
        """The transpose of a matrix; 0-d and 1-d tensors come back as they are (PyTorch)."""
        if self.ndim > 2:
            raise RuntimeError(
                f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D"
            )
        return Transpose.apply(self, axes=None)


    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def clone(self) -> Tensor:
        """A copy with its own memory that stays in the graph (gradient: identity)."""
        return ops.Clone.apply(self)

    def matmul(self, other: Any) -> Tensor:
        return self @ other

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    __abs__ = abs

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - PyTorch's names
        """Limit the values to [min, max] (numbers; either may be None). The gradient passes
        where min <= x <= max, boundaries included, as in PyTorch."""
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        for bound in (min, max):
            if bound is not None and (isinstance(bound, Tensor) or np.ndim(bound) != 0):
                raise TypeError("clamp: min and max must be numbers (tensor bounds: use "
                                "maximum/minimum)")
        x = self.to(dtypes.result_type(self, *[b for b in (min, max) if b is not None]))
        return ops.Clamp.apply(x, low=min, high=max)  # int.clamp(0.5) is float32, as PyTorch

    clip = clamp

    def maximum(self, other: Any) -> Tensor:
        """Elementwise max (broadcasting); at ties each input gets half the gradient."""
        return ops.Maximum.apply(*operands(self, other))

    def minimum(self, other: Any) -> Tensor:
        """Elementwise min (broadcasting); at ties each input gets half the gradient."""
        return ops.Minimum.apply(*operands(self, other))

    def where(self, condition: Any, other: Any) -> Tensor:
        """`x.where(cond, y)` is `tl.where(cond, x, y)`."""
        return where(condition, self, other)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """`value` where the bool `mask` is True, else self (the gradient flows where not)."""
        mask = to_array(mask)
        if mask.dtype != np.bool_:
            raise RuntimeError(
                f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}"
            )
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise RuntimeError(
                    "masked_fill_ only supports a 0-dimensional value tensor, but got tensor "
                    f"with {value.ndim} dimension(s)."
                )
            value = value.to(self.dtype)
        else:
            value = Tensor._make(np.asarray(value, dtype=self.dtype), False, None)
        return ops.Where.apply(Tensor._make(mask, False, None), value, self)

    def norm(self, p: Any = "fro", dim: Axis = None, keepdim: bool = False) -> Tensor:
        """The p-norm over `dim` (every axis by default), as PyTorch's: (sum |x|^p)^(1/p);
        "fro" is p = 2, p = inf the largest |x| (-inf the smallest), p = 0 the number of
        nonzero elements (whose gradient is 0)."""
        if p == "fro":
            p = 2
        if isinstance(p, str):
            raise ValueError(f"norm: p must be a number or 'fro'; got {p!r}")
        a = self.abs()
        if p == float("inf"):
            return a.amax(dim=dim, keepdim=keepdim)
        if p == -float("inf"):
            return a.amin(dim=dim, keepdim=keepdim)
        if p == 0:
            return (a * 0).sum(dim=dim, keepdim=keepdim) + (a != 0).sum(dim=dim, keepdim=keepdim)
        total = (a**p).sum(dim=dim, keepdim=keepdim)
        empty = total == 0  # (a zero norm: gradient 0, as PyTorch's, not 0 / 0)
        return where(empty, 0.0, where(empty, 1.0, total) ** (1 / p))

    def var(
        self, dim: Axis = None, unbiased: Optional[bool] = None, keepdim: Optional[bool] = None,
        *, correction: Any = None, axis: Axis = None, keepdims: bool = False,
    ) -> Tensor:
        """Variance over `dim` (all axes by default) with Bessel's `correction` (default 1:
        divide by n - 1), PyTorch 2.x; `unbiased=False` means correction=0."""
        return self._moment(ops.Var, dim, unbiased, keepdim, correction, axis, keepdims)

    def std(
        self, dim: Axis = None, unbiased: Optional[bool] = None, keepdim: Optional[bool] = None,
        *, correction: Any = None, axis: Axis = None, keepdims: bool = False,
    ) -> Tensor:
        """sqrt(var) with the same arguments; the gradient is 0 where std is 0 (PyTorch)."""
        return self._moment(ops.Std, dim, unbiased, keepdim, correction, axis, keepdims)

    def _moment(self, op: Any, dim: Any, unbiased: Any, keepdim: Any, correction: Any,
                axis: Any, keepdims: bool) -> Tensor:
        if isinstance(dim, bool) and unbiased is None:  # PyTorch's var(unbiased) overload
            dim, unbiased = None, dim
        if unbiased is not None and correction is not None:
            name = op.__name__.lower()
            raise TypeError(f"{name}(): give either unbiased= or correction=, not both")
        if correction is None:
            correction = 0 if unbiased is not None and not unbiased else 1
        if self.dtype.kind not in "fc":
            raise RuntimeError("std and var only support floating point and complex dtypes")
        axis = pick_axis(axis, dim)
        if isinstance(axis, (tuple, list)) and len(axis) == 0:
            axis = None  # PyTorch: an empty dim list reduces over every axis
        return op.apply(self, axis=axis, correction=correction,
                        keepdims=pick_keep(keepdims, keepdim))



def _has_ellipsis(index: Any) -> bool:
    return any(i is Ellipsis for i in (index if isinstance(index, tuple) else (index,)))


def _ints_first(index: tuple) -> Optional[tuple]:
    """PyTorch's order for an index mixing integers with integer arrays or masks: the
    integers select first (a basic index, a view), then the arrays index what is left.
    numpy treats the integers as arrays too, so `t[0, :, [0, 1]]` on (2, 3, 4) is (2, 3)
    there and (3, 2) in PyTorch. Returns (first, rest), or None when there is nothing to
    split (no integer, no array, or a bool scalar, where numpy and PyTorch agree)."""
    if not isinstance(index, tuple):
        return None
    first: list = []
    rest: list = []
    ints = arrays = False
    for p in index:
        if isinstance(p, np.ndarray) and p.ndim == 0 and p.dtype.kind in "iu":
            p = int(p)  # a 0-d integer tensor indexes as an integer, as in PyTorch
        if isinstance(p, (bool, np.bool_)):
            return None
        if isinstance(p, (int, np.integer)):
            first.append(p)
            ints = True
        elif p is None or isinstance(p, slice):
            first.append(p)
            rest.append(slice(None))  # the axis it made (None) or kept (slice)
        elif p is Ellipsis:
            first.append(p)
            rest.append(p)
        else:
            a = np.asarray(p)
            first.extend([slice(None)] * (a.ndim if a.dtype == np.bool_ else 1))
            rest.append(p)
            arrays = True
    return (tuple(first), tuple(rest)) if ints and arrays else None


def _plain_index(index: Any) -> Any:
    """An index with Tensors replaced by their arrays (bool tensors are masks, as in numpy)."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple) and any(isinstance(i, Tensor) for i in index):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """`input` where the bool `condition` is True, else `other` (all three broadcast).

    The gradient goes to `input` where the condition holds and to `other` elsewhere; either
    may be a number (it takes the other operand's dtype, as in PyTorch).
    """
    cond = to_array(condition)
    if cond.dtype != np.bool_:
        raise RuntimeError(
            f"where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{cond.dtype}"
        )
    x, y = operands(input, other)
    return ops.Where.apply(Tensor._make(cond, False, None), x, y)


def attach(methods: type, cls: type = Tensor) -> None:
    """Copy the methods (and properties) defined on `methods` onto `cls`: the one way the
    layers around the core add to Tensor."""
    for name, value in vars(methods).items():
        if name not in ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__",
                        "__hash__"):  # (set to None by defining __eq__: Tensor keeps its own)
            setattr(cls, name, value)


attach(TensorMethods)
