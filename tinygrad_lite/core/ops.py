"""The ops the notebook's net is made of, each forward pass beside its gradient rule.

In each rule `g` is dL/dy for the op's output y, and the rule returns dL/dx for each input x.
A rule may return a gradient of a shape its input was broadcast to, or one that broadcasts to
its input (as a sum's does): the engine sums it back or copies it out (`Function.gradients`).
The notebook's six backprop lines are here: `CrossEntropy` gives dZ2 = A2 - Y (over m),
`Linear` dW = dZ A^T / m and db = sum(dZ) / m and dA = W^T dZ, `ReLU` dZ1 = dA1 * [Z1 > 0].

Their products and row reductions go through core/blas.py, the one place where speed is
tuned (the same numbers as `@` and `.sum`, faster). The Tensor methods these ops provide are
attached at the end of the file.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from . import dtypes
from .blas import column_sums, matmul, row_max, row_sums
from .tensor import Function, ShapeError, Tensor, as_tensor

Axis = Union[None, int, Sequence[int]]


# ---- arithmetic ------------------------------------------------------------------------------


class Add(Function):
    """y = a + b;  dL/da = g, dL/db = g."""

    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    """y = a - b;  dL/da = g, dL/db = -g."""

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, -g if self.needs_input_grad[1] else None


class Mul(Function):
    """y = a * b;  dL/da = g b, dL/db = g a."""

    def forward(self, a, b):
        need_a, need_b = self.needs_input_grad
        self.save_for_backward(a if need_b else None, b if need_a else None)  # only what is used
        return a * b

    def backward(self, g):
        a, b = self.saved_tensors
        return g * b if b is not None else None, g * a if a is not None else None


class Div(Function):
    """y = a / b;  dL/da = g / b, dL/db = -g (a / b) / b (not a / b**2: b**2 underflows)."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a / b

    def backward(self, g):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        return g / b if need_a else None, -g * (a / b) / b if need_b else None


class Neg(Function):
    """y = -x;  dL/dx = -g."""

    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


class _Converted(Function):
    """y = x.<convert>(value), the one option a new shape or dtype;  dL/dx = g converted back,
    g.<convert>(x.<attribute>): Reshape and Cast."""

    convert: str  # the array (and Tensor) method that sets
    attribute: str  # this attribute of theirs

    def forward(self, x, **option):
        (value,) = option.values()
        self.before = getattr(x, self.attribute)
        return getattr(x, self.convert)(value)

    def backward(self, g):
        return getattr(g, self.convert)(self.before)


class Cast(_Converted):
    """y = x converted to `dtype`;  dL/dx = g converted back to x's dtype."""

    convert, attribute = "astype", "dtype"


# ---- products ---------------------------------------------------------------------------------


class MatMul(Function):
    """y = a @ b (matrices, batches of them, or vectors);  dL/da = g b^T, dL/db = a^T g."""

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul needs operands of at least one dimension")
        self.save_for_backward(a, b)
        return matmul(a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        a2 = a.reshape(1, -1) if a.ndim == 1 else a  # a vector a is one row,
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b  # a vector b one column
        if b.ndim == 1:
            g = g.reshape(g.shape + (1,))
        if a.ndim == 1:
            g = g.reshape(g.shape[:-1] + (1,) + g.shape[-1:])
        da = db = None
        if self.needs_input_grad[0]:
            da = matmul(g, b2.swapaxes(-1, -2))
            da = da.reshape(da.shape[:-2] + da.shape[-1:]) if a.ndim == 1 else da
        if self.needs_input_grad[1]:
            db = matmul(a2.swapaxes(-1, -2), g)
            db = db.reshape(db.shape[:-1]) if b.ndim == 1 else db
        return da, db  # (summed over broadcast batch axes by the engine)


class Linear(Function):
    """y = x W^T + b;  dL/dx = g W,  dL/dW = g^T x,  dL/db = g summed over the batch.

    x (N, in), W (out, in), b (out,): the notebook's Z = W A + b, with its backprop lines
    dA = W^T dZ, dW = dZ A^T and db = sum(dZ) (the notebook's 1/m is in g already).
    """

    def forward(self, x, weight, bias=None):
        if x.dtype != weight.dtype:
            raise RuntimeError(f"linear: input is {x.dtype} but the weight is {weight.dtype}; "
                               "convert one (x.to(dtype) or model.to(dtype))")
        if x.shape[-1:] != weight.shape[1:]:
            raise ValueError(f"linear: input has {x.shape[-1:]} features but the weight "
                             f"{weight.shape} expects {weight.shape[1]}")
        self.save_for_backward(x, weight)
        y = matmul(x, weight.T)
        if bias is not None:
            y += bias
        return y

    def backward(self, g):
        x, weight = self.saved_tensors
        g2, x2 = g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])  # batch axes as rows
        need = self.needs_input_grad
        dx = matmul(g, weight) if need[0] else None
        dw = matmul(g2.T, x2) if need[1] else None
        db = column_sums(g2) if len(need) > 2 and need[2] else None
        return (dx, dw, db)[: len(need)]


# ---- the nonlinearity and the loss ---------------------------------------------------------


class ReLU(Function):
    """y = max(0, x);  dL/dx = g [x > 0] (0 at exactly 0, as the notebook's `Z > 0`)."""

    def forward(self, x):
        if x.dtype.kind == "b":
            raise RuntimeError("Boolean inputs not supported for relu")  # PyTorch's error
        self.save_for_backward(x > 0)
        return np.maximum(x, 0)

    def backward(self, g):
        (positive,) = self.saved_tensors
        return g * positive


class CrossEntropy(Function):
    """L = mean_n -log softmax(z)[n, t_n];  dL/dz = (softmax(z) - onehot(t)) / N.

    For logits z (N, C) and class indices t (N,): the notebook's dZ2 = A2 - Y, over m.
    Softmax is computed shifted by the row maximum, so large logits cannot overflow.
    """

    def forward(self, z, t):
        n = z.shape[0]
        shifted = z - row_max(z)[:, None]
        e = np.exp(shifted)
        total = row_sums(e)
        self.save_for_backward(z, t)
        self.probs = e / total[:, None]
        return np.asarray((np.log(total) - shifted[np.arange(n), t]).sum() / n, z.dtype)

    def backward(self, g):
        z, t = self.saved_tensors
        if isinstance(z, Tensor):  # recorded: softmax again, as ops of z (second derivatives)
            p = z.softmax(1)
        else:
            p = self.probs
        onehot = np.zeros(p.shape, p.dtype)
        onehot[np.arange(len(onehot)), np.asarray(t)] = 1
        return (p - onehot) * (g / len(onehot)), None


# ---- sums and shapes ---------------------------------------------------------------------------


class Sum(Function):
    """y = x summed over `axes`;  dL/dx = g copied back over the summed axes."""

    def forward(self, x, axes=None, keepdims=False):
        self.shape, self.kept = x.shape, reduced_shape(x.shape, axes)
        return x.sum(axis=axes, keepdims=keepdims)

    def backward(self, g):
        return broadcast_to(g.reshape(self.kept), self.shape)


class Mean(Function):
    """y = x averaged over `axes` (n elements each);  dL/dx = g / n copied back."""

    def forward(self, x, axes=None, keepdims=False):
        self.shape, self.kept = x.shape, reduced_shape(x.shape, axes)
        self.n = x.size // max(int(np.prod(self.kept)), 1) if x.size else 1
        return x.mean(axis=axes, keepdims=keepdims)

    def backward(self, g):
        return broadcast_to(g.reshape(self.kept) / self.n, self.shape)


class Reshape(_Converted):
    """y = x with a new `shape` (a view when numpy can make one);  dL/dx = g reshaped back."""

    is_view = True
    convert, attribute = "reshape", "shape"


class Transpose(Function):
    """y = x with its axes permuted (a view);  dL/dx = g with the axes permuted back."""

    is_view = True

    def forward(self, x, axes=None):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, g):
        return g.transpose() if self.axes is None else g.transpose(tuple(np.argsort(self.axes)))


class Expand(Function):
    """y = x broadcast to `shape` (a read-only view);  dL/dx = g summed back (by the engine)."""

    is_view = True

    def forward(self, x, shape):
        return np.broadcast_to(x, shape)

    def backward(self, g):
        return g


def broadcast_to(g: Any, shape: tuple) -> Any:
    """`g` copied out to `shape`: a read-only view of an array, or a recorded `Expand`."""
    if isinstance(g, Tensor):
        return Expand.apply(g, shape=shape)
    out = np.empty(shape, g.dtype)  # (faster than np.broadcast_to's view for small arrays)
    out[...] = g
    return out


def reduced_shape(shape: tuple, axes: Optional[tuple]) -> tuple:
    """`shape` after a reduction over `axes` (all when None) that keeps them as size 1."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def normalize_axis(axis: Any, ndim: int) -> int:
    """`axis` in [-ndim, ndim) as an index in [0, ndim); anything else an IndexError. A 0-d
    tensor accepts 0 and -1, as in PyTorch."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"dim must be an integer, got {axis!r}")
    n = max(ndim, 1)
    if not -n <= axis < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {axis})")
    return int(axis) % n


def normalize_axes(axis: Axis, ndim: int) -> Optional[tuple]:
    """None, an int or a sequence of them as a sorted tuple of axes (None: all of them)."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if not axes:
        return None  # dim=() reduces over every axis, as in PyTorch
    normal = sorted(normalize_axis(a, ndim) for a in axes)
    if len(set(normal)) != len(normal):
        raise RuntimeError(f"dim {axis!r} appears multiple times in the list of dims")
    return tuple(normal) if ndim else ()


def pick_axis(axis: Any, dim: Any, name: str = "dim") -> Any:
    """PyTorch's `dim=` and numpy's `axis=` are one argument: take whichever was given."""
    if dim is not None and axis is not None:
        raise TypeError(f"give either axis= or {name}=, not both")
    return dim if dim is not None else axis


def pick_keep(keepdims: bool, keepdim: Optional[bool], out: Any = None) -> bool:
    """numpy's keepdims= or PyTorch's keepdim= (numpy's `out=` is not supported)."""
    if out is not None:
        raise TypeError("out= is not supported; use the returned tensor")
    return bool(keepdims if keepdim is None else keepdim)


# ---- the Tensor methods of these ops -----------------------------------------------------------


def operands(a: Any, b: Any, rule: Any = dtypes.result_type) -> tuple:
    """Both operands of a binary op in the dtype PyTorch gives the result (core/dtypes.py):
    Tensors as Tensors, numbers as constant arrays (the graph keeps no node for them)."""
    if type(a) is Tensor:  # the common cases first: nothing to decide
        kind = a.data.dtype.kind
        if type(b) is Tensor and a.data.dtype == b.data.dtype and (
                kind == "f" or rule is dtypes.result_type):
            return a, b
        if kind == "f" and type(b) in (float, int):  # a number takes the tensor's dtype
            return a, np.array(b, a.data.dtype)
    elif type(b) is Tensor and b.data.dtype.kind == "f" and type(a) in (float, int):
        return np.array(a, b.data.dtype), b
    a, b = [x if isinstance(x, Tensor) or type(x) in (bool, int, float)
            else x.item() if isinstance(x, np.generic) else as_tensor(x) for x in (a, b)]
    dtype = rule(a, b)
    return tuple([x.to(dtype) if isinstance(x, Tensor) else np.array(x, dtype) for x in (a, b)])


def _sum(self: Tensor, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
         keepdim: Optional[bool] = None, dtype: Any = None, out: None = None) -> Tensor:
    """The sum over `dim` (every axis when None); bools and integers sum as int64."""
    x = self if dtype is None else self.to(dtype)
    if x.data.dtype.kind == "b" or (x.data.dtype.kind in "iu" and x.data.dtype.itemsize < 8):
        x = x.to(np.int64)
    axis, keep = pick_axis(axis, dim), pick_keep(keepdims, keepdim, out)
    return Sum.apply(x, axes=normalize_axes(axis, x.ndim), keepdims=keep)


def _mean(self: Tensor, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
          keepdim: Optional[bool] = None, dtype: Any = None, out: None = None) -> Tensor:
    """The mean over `dim` (every axis when None); integers and bools average as float32."""
    x = self if dtype is None else self.to(dtype)
    if x.data.dtype.kind not in "fc":
        x = x.to(dtypes.DEFAULT_FLOAT)
    axis, keep = pick_axis(axis, dim), pick_keep(keepdims, keepdim, out)
    return Mean.apply(x, axes=normalize_axes(axis, x.ndim), keepdims=keep)


def _reshape(self: Tensor, *shape: Any) -> Tensor:
    """The same elements in a new shape (one entry may be -1): a view when it can be one."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(int(n) for n in shape)
    if any(n < -1 for n in shape) or shape.count(-1) > 1:
        raise ShapeError(f"invalid shape {shape}: sizes must be >= 0, with at most one -1")
    return Reshape.apply(self, shape=shape)


def _transpose(self: Tensor, *axes: Any) -> Tensor:
    """`t.transpose(d0, d1)` swaps two axes (PyTorch); `t.transpose(p)` with a whole
    permutation p permutes them (numpy); with none, the axes are reversed."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    elif len(axes) == 2:
        d0, d1 = (normalize_axis(a, self.ndim) for a in axes)
        perm = list(range(self.ndim))
        if self.ndim:  # a 0-d tensor accepts axes 0 and -1, and stays as it is
            perm[d0], perm[d1] = perm[d1], perm[d0]
        axes = tuple(perm)
    if axes and self.ndim:
        axes = tuple(normalize_axis(a, self.ndim) for a in axes)
        if sorted(axes) != list(range(self.ndim)):
            raise IndexError(f"axes {axes} are not a permutation of the {self.ndim} axes")
    return Transpose.apply(self, axes=axes if axes and self.ndim else None)


def _expand(self: Tensor, *sizes: Any) -> Tensor:
    """Broadcast to `sizes` without copying (a read-only view); -1 keeps an axis's size."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    if len(sizes) < self.ndim:
        raise RuntimeError(f"expand(Tensor{{{list(self.shape)}}}, size={list(sizes)}): the "
                           f"number of sizes provided ({len(sizes)}) must be greater or equal "
                           f"to the number of dimensions in the tensor ({self.ndim})")
    lead, shape = len(sizes) - self.ndim, []
    for i, n in enumerate(sizes):
        if i < lead and n < 0:
            raise RuntimeError(f"The expanded size of the tensor ({n}) isn't allowed in a "
                               f"leading, non-existing dimension {i}")
        old = self.shape[i - lead] if i >= lead else 1
        n = old if n == -1 and i >= lead else n
        if old != 1 and n != old:
            raise RuntimeError(f"The expanded size of the tensor ({n}) must match the existing "
                               f"size ({old}) at non-singleton dimension {i}.  Target sizes: "
                               f"{list(sizes)}.  Tensor sizes: {list(self.shape)}")
        shape.append(int(n))
    return Expand.apply(self, shape=tuple(shape))


def _to(self: Tensor, *args: Any, dtype: Any = None, **kwargs: Any) -> Tensor:
    """The tensor in another dtype: itself when nothing changes. To a floating dtype it is
    differentiable (the gradient is cast back); to integers or bool it leaves the graph."""
    for a in args:
        if isinstance(a, str) or a is None:
            check_device(a)
        else:
            dtype = a.dtype if isinstance(a, Tensor) else a
    check_device(kwargs.pop("device", None))
    kwargs.pop("non_blocking", None)
    if kwargs.pop("copy", False):
        raise TypeError("to(copy=True) is not supported; use .clone()")
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    if dtype is None or np.dtype(dtype) == self.data.dtype:
        return self
    dtype = np.dtype(dtype)
    if dtype.kind not in "fc":
        return Tensor._make(self.data.astype(dtype))
    return Cast.apply(self, dtype=dtype)


def check_device(device: Any) -> None:
    """tinygrad_lite runs on one device, the CPU; any other is a one-line error."""
    if device is not None and str(device).split(":")[0] != "cpu":
        raise RuntimeError(f"tinygrad_lite runs on the CPU only; device {device!r} is not "
                           "available")


def matmul_operands(a: Any, b: Any) -> tuple:
    """Matrix products do not promote, as in PyTorch: both operands share one dtype."""
    a, b = [as_tensor(x) for x in (a, b)]
    if a.data.dtype != b.data.dtype:
        raise RuntimeError(f"expected both operands to have the same dtype, but got {a.dtype} "
                           f"and {b.dtype}")
    return a, b


Tensor.__add__ = lambda self, other: Add.apply(*operands(self, other))
Tensor.__radd__ = lambda self, other: Add.apply(*operands(other, self))
Tensor.__sub__ = lambda self, other: Sub.apply(*operands(self, other))
Tensor.__rsub__ = lambda self, other: Sub.apply(*operands(other, self))
Tensor.__mul__ = lambda self, other: Mul.apply(*operands(self, other))
Tensor.__rmul__ = lambda self, other: Mul.apply(*operands(other, self))
Tensor.__truediv__ = lambda self, other: Div.apply(*operands(self, other, dtypes.division_type))
Tensor.__rtruediv__ = lambda self, other: Div.apply(*operands(other, self, dtypes.division_type))
Tensor.__neg__ = lambda self: Neg.apply(self)
Tensor.__matmul__ = lambda self, other: MatMul.apply(*matmul_operands(self, other))
Tensor.__rmatmul__ = lambda self, other: MatMul.apply(*matmul_operands(other, self))
Tensor.relu = lambda self: ReLU.apply(self)
Tensor.sum, Tensor.mean = _sum, _mean
Tensor.reshape, Tensor.transpose, Tensor.expand, Tensor.to = _reshape, _transpose, _expand, _to
Tensor.T = property(lambda self: Transpose.apply(self, axes=None), doc="The axes reversed.")
Tensor.swapaxes = lambda self, axis0, axis1: _transpose(self, axis0, axis1)
Tensor.astype = lambda self, dtype: _to(self, dtype)  # numpy's name: rules call it on both
