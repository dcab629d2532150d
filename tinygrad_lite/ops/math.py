"""The elementwise, reduction and indexing ops beyond the core, forward beside gradient rule.

Notation as in core/ops.py: `g` is dL/dy for the op's output y; `backward` returns dL/dx
for each input x (None where `needs_input_grad` is False), of x's shape, of a shape x was
broadcast to, or of one that broadcasts to x's: the engine sums back or copies out. A rule
runs on arrays, or on Tensors when it is recorded (create_graph): it uses what both have, and
for an op numpy has no ufunc for, the function beside the op (`where`, `index_add`, ...).
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

from ..core import dtypes
from ..core.blas import row_sums
from ..core.ops import broadcast_to, normalize_axis, reduced_shape
from ..core.ops import normalize_axes as _axes
from ..core.tensor import Function, Tensor, sum_to


def _expand(g: Any, shape: tuple, axes: Optional[tuple]) -> Any:
    """`g` of a reduction over `axes` of an x of `shape`, copied back to x's shape."""
    return broadcast_to(g.reshape(reduced_shape(shape, axes)), shape)


# ---- arithmetic ---------------------------------------------------------------------------


class Pow(Function):
    """y = x**c for a constant c;  dL/dx = g c x**(c-1) (0 for c = 0, also at x = 0)."""

    def forward(self, x, exponent: float):
        self.exponent = exponent
        self.save_for_backward(x)
        return x**exponent

    def backward(self, g):
        (x,) = self.saved_tensors
        c = self.exponent
        if c == 0:
            return g * 0  # y = 1: a constant, even where x**(c-1) is inf
        return g * (c * x ** (c - 1))


class ScalarPow(Function):
    """y = c**x for a constant base c (`2 ** t`);  dL/dx = g ln(c) c**x = g ln(c) y.

    As PyTorch: 0 where c = 0 and x >= 0 (-inf where x < 0), nan for c < 0; integer x stays
    integer, a negative integer power is 0 unless c is 1 or -1 (`_integer_power`).
    """

    def forward(self, x, base):
        self.zero_base = base == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            self.log_base = float(np.log(np.float64(base)))
            c = np.asarray(base, dtype=x.dtype)
            y = _integer_power(c, x) if x.dtype.kind in "iu" else np.power(c, x)
        if self.zero_base:
            self.save_for_backward(y, x >= 0)  # where the derivative is 0 rather than 0 * -inf
        else:
            self.save_for_backward(y)
        return y

    def backward(self, g):
        y, *nonnegative = self.saved_tensors
        with np.errstate(invalid="ignore"):
            dx = g * (y * self.log_base)
        return where(nonnegative[0], 0, dx) if self.zero_base else dx


def _integer_power(c: np.ndarray, x: np.ndarray) -> np.ndarray:
    """c**x for integer x as PyTorch computes it: where x < 0, 1 for c = 1, +-1 for c = -1
    (by the parity of x), 0 otherwise (numpy refuses negative integer powers)."""
    y = np.power(c, np.maximum(x, 0))
    negative = x < 0
    if negative.any():
        at_negative = np.where(x % 2 == 0, 1, -1) if c == -1 else int(c == 1)
        y = np.where(negative, at_negative, y).astype(y.dtype, copy=False)
    return y


def _check_divisor(name: str, b: np.ndarray) -> None:
    """PyTorch's errors for `//` and `%`: none on bools, and an integer zero divisor raises
    (floats give inf and nan instead)."""
    if b.dtype.kind == "b":
        raise NotImplementedError(f'"{name}" not implemented for \'Bool\'')
    if b.dtype.kind in "iu" and not b.all():
        raise RuntimeError("ZeroDivisionError")


class FloorDivide(Function):
    """y = floor(a / b), rounded toward -inf (`a // b`);  dL/da, dL/db: not implemented (as
    in PyTorch; they would be 0 wherever they exist).

    Integers stay integers, float x / 0 is inf or nan. Backward raises, as PyTorch's does,
    rather than return a silent zero."""

    def forward(self, a, b):
        _check_divisor("floor_divide", b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.floor_divide(a, b)

    def backward(self, g):
        raise RuntimeError(
            "derivative for floor_divide is not implemented (as in PyTorch); detach its "
            "operands (a.detach() // b) to use it as a constant"
        )


class Remainder(Function):
    """y = a - b floor(a / b), the remainder with the sign of the divisor (`a % b`, PyTorch's
    remainder, Python's %);  dL/da = g, dL/db = -g floor(a / b) (floor a constant: nan and
    inf where b = 0, as PyTorch)."""

    def forward(self, a, b):
        _check_divisor("remainder", b)
        self.save_for_backward(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.remainder(a, b)

    def backward(self, g):
        a, b = (np.asarray(t) for t in self.saved_tensors)  # floor(a / b): a constant
        db = None
        if self.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                db = -g * np.floor_divide(a, b)
        return g, db


# ---- shape --------------------------------------------------------------------------------


def is_basic_index(index) -> bool:
    """Only ints, slices, None and Ellipsis: numpy returns a view (and no element twice)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice, type(None), type(Ellipsis))) for p in parts)


class GetItem(Function):
    """y = x[index];  dL/dx = index_add(g, index): zeros with g added at index (repeats
    accumulate).

    A basic index (ints, slices) gives a view of x's memory, as numpy and PyTorch do."""

    is_view = True

    def forward(self, x, index):
        self.index, self.input_shape = index, x.shape
        return x[index]

    def backward(self, g):
        return index_add(g, self.index, self.input_shape)


def index_add(x: Any, index: Any, shape: tuple) -> Any:
    """zeros(shape) with x added at `index` (repeats accumulate): an array, or an IndexAdd."""
    if isinstance(x, Tensor):
        return IndexAdd.apply(x, index=index, shape=shape)
    y = np.zeros(shape, dtype=x.dtype)
    if is_basic_index(index):  # slices cannot repeat an element: plain assignment
        y[index] = x
    else:
        np.add.at(y, index, x)
    return y


class IndexAdd(Function):
    """y = zeros(shape) with x added at `index`;  dL/dx = g[index].

    The adjoint of indexing: GetItem's backward, and GetItem is its."""

    def forward(self, x, index, shape):
        self.index = index
        return index_add(x, index, shape)

    def backward(self, g):
        return g[self.index]


def setitem(x: Any, index: Any, v: Any) -> Any:
    """A copy of x with [index] = v: an array, or a recorded SetItem."""
    if isinstance(x, Tensor) or isinstance(v, Tensor):
        return SetItem.apply(x, v, index=index)
    y = x.copy()
    y[index] = v
    return y


class SetItem(Function):
    """y = x with y[index] = v (`t[index] = v`);  dL/dx = g with 0 at index, dL/dv = g[index]."""

    def forward(self, x, v, index):
        self.index = index
        return setitem(x, index, v)

    def backward(self, g):
        dx = setitem(g, self.index, 0) if self.needs_input_grad[0] else None
        dv = g[self.index] if self.needs_input_grad[1] else None
        return dx, dv


class Concatenate(Function):
    """y = concatenate(xs, axis);  dL/dx_i = x_i's slice of g along `axis`."""

    def forward(self, *xs, axis=0):
        self.axis = axis = normalize_axis(axis, xs[0].ndim)
        self.sizes = [x.shape[axis] for x in xs]
        return np.ascontiguousarray(np.concatenate(xs, axis=axis))  # C order, as PyTorch's cat

    def backward(self, g):
        ends = np.cumsum(self.sizes)
        before = (slice(None),) * self.axis
        return tuple(g[before + (slice(int(end - n), int(end)),)]
                     for n, end in zip(self.sizes, ends))


class Stack(Function):
    """y = stack(xs, axis) (a new axis);  dL/dx_i = g indexed at i along `axis`."""

    def forward(self, *xs, axis=0):
        self.axis = axis = normalize_axis(axis, xs[0].ndim + 1)
        return np.stack(xs, axis=axis)

    def backward(self, g):
        before = (slice(None),) * self.axis
        return tuple(g[before + (i,)] for i in range(g.shape[self.axis]))


# ---- reductions ---------------------------------------------------------------------------


class Prod(Function):
    """y = product of x over `axis`;  dL/dx_i = g times the product of the other elements of
    x_i's slice.

    As PyTorch: y / x_i in a slice without zeros; with one zero, the zero's derivative is the
    product of the nonzeros and the others' 0; with two or more zeros every derivative is 0.
    The backward is exact as a function of x, so its derivative is the second derivative
    (`_product_of_others`).
    """

    def forward(self, x, axis=None, keepdims=False):
        self.axes = _axes(axis, x.ndim)
        y = np.prod(x, axis=self.axes, keepdims=keepdims)
        self.save_for_backward(x, y)
        return y

    def backward(self, g):
        x, y = self.saved_tensors
        g = _expand(g, x.shape, self.axes)
        zero = np.asarray(x) == 0  # a constant mask
        if not zero.any():
            return g * (_expand(y, x.shape, self.axes) / x)
        return g * _product_of_others(x, zero, self.axes)


def _product_of_others(x: Any, zero: np.ndarray, axes: Optional[tuple]) -> Any:
    """prod_{j != i} x_j over each slice, where the slice holds zeros (`zero`, a constant mask),
    right in value and in first derivative (so Prod's second derivative is exact):

        (p / x1_i) * z_i,  x1 = x with its zeros as ones, p = product of x1 (no zeros: Prod's
        division rule), z_i = the product of the zeros other than x_i: 1 where there is none,
        the other zero's value x_k where there is one (0, with derivative 1 in x_k), 0 beyond.
    """
    x1 = where(zero, 1, x)
    p = x1.prod(axis=axes, keepdims=True)
    count = zero.sum(axis=axes, keepdims=True)  # zeros in each slice
    zeros = where(zero, x, 0)
    other_zero = zeros.sum(axis=axes, keepdims=True) - zeros
    none_other = (count == 0) | ((count == 1) & zero)
    one_other = ((count == 1) & ~zero) | ((count == 2) & zero)
    z = where(none_other, 1, where(one_other, other_zero, 0))
    return p / x1 * z


class Max(Function):
    """y = max of x over `axis`;  dL/dx = g at the maximal elements (ties share it equally)."""

    reduce = staticmethod(np.max)

    def forward(self, x, axis=None, keepdims=False):
        self.axes = _axes(axis, x.ndim)
        out = self.reduce(x, axis=self.axes, keepdims=True)
        self.save_for_backward(x, out)
        return out if keepdims else np.squeeze(out, axis=self.axes)

    def backward(self, g):
        x, out = (np.asarray(t) for t in self.saved_tensors)
        mask = (x == out) | (np.isnan(x) & np.isnan(out))  # a NaN maximum is the NaN
        share = mask / mask.sum(axis=self.axes, keepdims=True)  # a constant: 1/k at k maxima
        return share.astype(x.dtype) * _expand(g, x.shape, self.axes)


class Min(Max):
    """y = min of x over `axis`;  dL/dx = g at the minimal elements (ties share it equally).

    Max's forward with np.min, and its backward (the gradient goes where x equals y). Not
    -max(-x): negation wraps unsigned integers (uint8 [0, 1] would give 1) and refuses bools.
    """
    reduce = staticmethod(np.min)


# ---- elementwise --------------------------------------------------------------------------


class _Elementwise(Function):
    """y = f(x) elementwise;  dL/dx = rule(g, v), v the x or the y that forward kept.

    Each op is a subclass that states its math in one line, `math = f, "x" or "y", rule`:
    it keeps y where its derivative is cheaper in the output (exp, sqrt, sigmoid, tanh)."""

    math: tuple

    def forward(self, x):
        f, keeps, _ = self.math
        y = f(x)
        self.save_for_backward(y if keeps == "y" else x)
        return y

    def backward(self, g):
        (v,) = self.saved_tensors
        return self.math[2](g, v)


class Exp(_Elementwise):
    """y = exp(x);  dL/dx = g exp(x) = g y."""

    math = np.exp, "y", lambda g, y: g * y


class Log(_Elementwise):
    """y = log(x);  dL/dx = g / x."""

    math = np.log, "x", lambda g, x: g / x


class Sqrt(_Elementwise):
    """y = sqrt(x);  dL/dx = g / (2 sqrt(x)) = g / (2 y)."""

    math = np.sqrt, "y", lambda g, y: g / (2 * y)


def sigmoid(x: Any) -> Any:
    """1 / (1 + exp(-x)) as (1 + tanh(x/2)) / 2 (no overflow): an array, or a Sigmoid."""
    return Sigmoid.apply(x) if isinstance(x, Tensor) else 0.5 * (np.tanh(0.5 * x) + 1)


class Sigmoid(_Elementwise):
    """y = 1 / (1 + exp(-x));  dL/dx = g y (1 - y)."""

    math = sigmoid, "y", lambda g, y: g * y * (1 - y)


class Tanh(_Elementwise):
    """y = tanh(x);  dL/dx = g (1 - y**2)."""

    math = np.tanh, "y", lambda g, y: g * (1 - y * y)


def _require_floating(name: str, x: np.ndarray, axis: int) -> None:
    """PyTorch's NotImplementedError for a softmax of integers, naming the kernel it runs."""
    where = "_lastdim" if axis == max(x.ndim, 1) - 1 else ""
    dtypes.require_floating(f"{name}{where}_kernel_impl", x.dtype)


def _row_sum(a: Any, axis: int) -> Any:
    """a summed along `axis`, kept as a size-1 axis; an array's last axis by one BLAS product
    (core/blas.py: several times faster than numpy's reduction over short rows)."""
    if type(a) is np.ndarray and axis == a.ndim - 1 and a.size and a.dtype.kind == "f":
        return row_sums(a.reshape(-1, a.shape[-1])).reshape(a.shape[:-1] + (1,))
    return a.sum(axis=axis, keepdims=True)


_LOWEST_ROW_SUM = 2e-9  # ~exp(-20): a row this far below the global maximum loses no accuracy


def softmax(x: Any, axis: int) -> Any:
    """exp(x) / sum(exp(x)) along `axis`, shifted by the maximum: an array, or a Softmax.

    Along the last axis the shift is first the maximum of the whole array (one fast reduction,
    no per-row broadcast); a row whose largest exponential falls below ~exp(-20) (it would
    lose accuracy to underflow) is computed again with its own maximum.
    """
    if isinstance(x, Tensor):
        return Softmax.apply(x, axis=axis)
    if axis == x.ndim - 1 and x.size and x.dtype in (np.float32, np.float64):
        top = x.max()
        if np.isfinite(top):
            x2 = x.reshape(-1, x.shape[-1])
            out = np.empty_like(x2)
            _softmax_rows(x2, top, out)
            return out.reshape(x.shape)
    e = np.asarray(x - x.max(axis=axis, keepdims=True))
    np.exp(e, out=e)
    e /= _row_sum(e, axis)
    return e


def _softmax_rows(x: np.ndarray, top: Any, out: np.ndarray) -> None:
    """out = softmax of each row of a 2-D x, shifted by `top` (>= every entry) unless a
    row's sum of exponentials is under _LOWEST_ROW_SUM; then by the row's own maximum."""
    np.subtract(x, top, out=out)
    np.exp(out, out=out)
    total = row_sums(out)
    low = np.flatnonzero(total < _LOWEST_ROW_SUM)
    if low.size:
        rows = x[low]
        with np.errstate(invalid="ignore"):  # a row of -inf gives nan, as PyTorch, silently
            e = np.exp(rows - rows.max(axis=1, keepdims=True))
        out[low] = e
        total[low] = row_sums(e)
    out /= total[:, None]


def softmax_grad(g: Any, s: Any, axis: int) -> Any:
    """dL/dx = s (g - sum(g s)) along `axis` for s = softmax(x): an array (along the last
    axis in three passes), or Tensors recorded."""
    if type(g) is not np.ndarray or type(s) is not np.ndarray or axis != s.ndim - 1 or (
            g.shape != s.shape or g.dtype != s.dtype or s.size == 0):
        gs = g * s
        return gs - s * _row_sum(gs, axis)
    s2 = s.reshape(-1, s.shape[-1])
    g2 = g.reshape(s2.shape)
    dot = np.einsum("ij,ij->i", g2, s2)  # sum(g s) of each row, no temporary
    out = np.subtract(g2, dot[:, None])
    out *= s2
    return out.reshape(s.shape)


class Softmax(Function):
    """s = exp(x) / sum(exp(x)) along `axis`;  dL/dx = s (g - sum(g s)).

    Forward computes `of(x, axis)` and keeps its output for `grad`, the rule in terms of it:
    LogSoftmax is this op with log_softmax and its own rule."""

    of = staticmethod(softmax)

    def forward(self, x, axis=-1):
        self.axis = axis = normalize_axis(axis, x.ndim)
        _require_floating(self.of.__name__, x, axis)
        y = self.of(x, axis)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        (y,) = self.saved_tensors
        return self.grad(g, y, self.axis)

    grad = staticmethod(softmax_grad)


def log_softmax(x: Any, axis: int) -> Any:
    """x - max - log(sum(exp(x - max))) along `axis`: an array, or a LogSoftmax."""
    if isinstance(x, Tensor):
        return LogSoftmax.apply(x, axis=axis)
    shifted = np.asarray(x - x.max(axis=axis, keepdims=True))
    e = np.exp(shifted)
    shifted -= np.log(_row_sum(e, axis))
    return shifted


class LogSoftmax(Softmax):
    """y = x - logsumexp(x) along `axis`;  dL/dx = g - exp(y) sum(g) (Softmax's forward and
    backward, with log_softmax and this rule)."""

    of = staticmethod(log_softmax)

    @staticmethod
    def grad(g, y, axis):
        return g - np.exp(y) * _row_sum(g, axis)


# ---- PyTorch-named elementwise and shape ops ------------------------------------------------


class Abs(_Elementwise):
    """y = |x|;  dL/dx = g sign(x) (0 at x = 0, as PyTorch; sign(x) is an array also for a
    Tensor x: a constant)."""

    math = np.abs, "x", lambda g, x: g * np.sign(x)


class Sin(_Elementwise):
    """y = sin(x);  dL/dx = g cos(x)."""

    math = np.sin, "x", lambda g, x: g * np.cos(x)


class Cos(_Elementwise):
    """y = cos(x);  dL/dx = -g sin(x)."""

    math = np.cos, "x", lambda g, x: -g * np.sin(x)


class Log1p(_Elementwise):
    """y = log(1 + x) (accurate for small x);  dL/dx = g / (1 + x)."""

    math = np.log1p, "x", lambda g, x: g / (1 + x)


class Clamp(Function):
    """y = min(max(x, low), high) (either bound may be None);  dL/dx = g [low <= x <= high].

    As PyTorch: the gradient passes where x lies inside the closed interval, boundaries
    included; when low > high every y is `high` and no gradient passes. NaN stays NaN (no grad).
    """

    def forward(self, x, low=None, high=None):
        inside = np.ones(x.shape, dtype=bool)
        if low is not None:
            inside &= x >= low
        if high is not None:
            inside &= x <= high
        self.save_for_backward(inside)
        if low is not None:
            x = np.maximum(x, low)
        if high is not None:
            x = np.minimum(x, high)
        return x if low is not None or high is not None else x.copy()

    def backward(self, g):
        (inside,) = self.saved_tensors
        return g * inside


class Maximum(Function):
    """y = max(a, b) elementwise, broadcasting;  dL/da = g [a > b], dL/db = g [b > a] (g / 2
    each at a tie a == b).

    As PyTorch: ties split the gradient half/half; where either is NaN (y is NaN) both receive
    the whole gradient (NaN compares False, so neither "loses").
    """

    choose, loses = staticmethod(np.maximum), staticmethod(np.less)

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return self.choose(a, b)

    def backward(self, g):
        a, b = (np.asarray(t) for t in self.saved_tensors)  # the masks are constants
        g = where(a == b, g / 2, g)
        da = where(self.loses(a, b), 0, g) if self.needs_input_grad[0] else None
        db = where(self.loses(b, a), 0, g) if self.needs_input_grad[1] else None
        return da, db


class Minimum(Maximum):
    """y = min(a, b) elementwise, broadcasting;  dL/da = g [a < b], dL/db = g [b < a] (g / 2
    each at a tie a == b).

    Maximum's rule, with "loses" meaning greater: ties and NaN as there (PyTorch's rule).
    """

    choose, loses = staticmethod(np.minimum), staticmethod(np.greater)


def where(cond: Any, x: Any, z: Any) -> Any:
    """x where the bool `cond` holds, else z: an array, or a recorded Where."""
    if isinstance(x, Tensor) or isinstance(z, Tensor):
        return Where.apply(cond, x, z)
    return np.where(cond, x, z)


class Where(Function):
    """y = x where cond else z (cond a bool array, all three broadcast together);
    dL/dx = g [cond], dL/dz = g [not cond] (cond gets no gradient)."""

    def forward(self, cond, x, z):
        self.save_for_backward(cond)
        return np.where(cond, x, z)

    def backward(self, g):
        (cond,) = self.saved_tensors
        dx = where(cond, g, 0) if self.needs_input_grad[1] else None
        dz = where(cond, 0, g) if self.needs_input_grad[2] else None
        return None, dx, dz


class Clone(Function):
    """y = a copy of x (its own memory, still in the graph);  dL/dx = g."""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


class SumToSize(Function):
    """y = x summed over the axes it was broadcast along, to `shape`;  dL/dx = g copied back
    to x's shape.

    The adjoint of broadcasting (Expand), and Expand is its adjoint."""

    def forward(self, x, shape):
        self.input_shape = x.shape
        return sum_to(x, shape)

    def backward(self, g):
        return broadcast_to(g, self.input_shape)


def _centered_var(x, axes, correction):
    """(x - mean, sum((x - mean)**2) / max(0, n - correction) with the axes kept, max(0, n - c))."""
    n = x.size if axes is None else int(np.prod([x.shape[a] for a in axes]))
    dof = max(0, n - correction)
    if dof == 0:
        warnings.warn(
            "var(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "reduction factor (input numel divided by output numel).", stacklevel=6
        )
    centered = x - x.mean(axis=axes, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = (centered * centered).sum(axis=axes, keepdims=True) / dof
    return centered, var, dof


class Var(Function):
    """v = sum((x - mean)**2) / (n - correction) over `axis` (n elements each);
    dL/dx = g 2 (x - mean) / (n - correction) (the mean's own term sums to zero).

    n - correction <= 0 divides by 0: inf (nan for 0/0) with a warning, as PyTorch.
    """

    def forward(self, x, axis=None, correction=1, keepdims=False):
        self.axes = _axes(axis, x.ndim)
        centered, var, self.dof = _centered_var(x, self.axes, correction)
        self.save_for_backward(x)
        return var if keepdims else np.squeeze(var, axis=self.axes)

    def backward(self, g):
        (x,) = self.saved_tensors
        return _expand(g, x.shape, self.axes) * _dvar_dx(x, self.axes, self.dof)


class Std(Function):
    """s = sqrt(var(x)) (`axis` and `correction` as for Var);  dL/dx = g (dvar/dx) / (2 s),
    0 where s == 0 (a constant slice), as PyTorch."""

    def forward(self, x, axis=None, correction=1, keepdims=False):
        self.axes = _axes(axis, x.ndim)
        centered, var, self.dof = _centered_var(x, self.axes, correction)
        std = np.sqrt(var)
        out = std if keepdims else np.squeeze(std, axis=self.axes)
        self.save_for_backward(x, out)
        return out

    def backward(self, g):
        x, std = self.saved_tensors
        std, g = _expand(std, x.shape, self.axes), _expand(g, x.shape, self.axes)
        with np.errstate(divide="ignore", invalid="ignore"):
            return where(std != 0, g / (2 * std), 0) * _dvar_dx(x, self.axes, self.dof)


def _dvar_dx(x: Any, axes: Optional[tuple], dof: int) -> Any:
    """d var / dx = 2 (x - mean) / dof (an array, or a Tensor: differentiable again)."""
    scale = 2.0 / dof if dof else float("inf")
    with np.errstate(invalid="ignore"):
        return (x - x.mean(axis=axes, keepdims=True)) * scale
