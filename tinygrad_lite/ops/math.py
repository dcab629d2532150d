"""The elementwise, reduction and indexing ops beyond the core, forward beside gradient rule.

Notation as in core/ops.py: `grad` is dL/dy for the op's output y; `backward` returns dL/dx
for each input x (None where `needs_input_grad` is False), of x's shape, of a shape x was
broadcast to, or of one that broadcasts to x's: the engine sums back or copies out.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

from ..core.ops import broadcast_to, normalize_axis, reduced_shape
from ..core.ops import normalize_axes as _axes
from ..core.tensor import Function, sum_to


def _expand(grad: Any, shape: tuple, axes: Optional[tuple], keepdims: bool) -> Any:
    """`grad` of a reduction over `axes` of an x of `shape`, copied back to x's shape."""
    return broadcast_to(grad.reshape(reduced_shape(shape, axes)), shape)


def _masked(grad: Any, mask: Any) -> Any:
    """grad where `mask` (a bool constant) holds, 0 elsewhere: grad * [mask]."""
    return Where.run(mask, grad, np.zeros((), grad.dtype))


# ---- arithmetic ---------------------------------------------------------------------------


class Pow(Function):
    """y = x**c for a constant c;  dy/dx = c * x**(c-1)  (0 for c = 0, also at x = 0)."""

    def forward(self, x, exponent: float):
        self.exponent = exponent
        self.save_for_backward(x)
        return x**exponent

    def backward(self, grad):
        (x,) = self.saved_tensors
        c = self.exponent
        if c == 0:
            return grad * 0  # y = 1: a constant, even where x**(c-1) is inf
        return grad * (c * x ** (c - 1))


class ScalarPow(Function):
    """y = c**x for a constant base c (`2 ** t`);  dy/dx = ln(c) c**x = ln(c) y.

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

    def backward(self, grad):
        y, *nonnegative = self.saved_tensors
        with np.errstate(invalid="ignore"):
            g = grad * (y * self.log_base)
        return _masked(g, ~np.asarray(nonnegative[0])) if self.zero_base else g


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
    """y = floor(a / b), rounded toward -inf (`a // b`; integers stay integers, float x / 0 is
    inf or nan). Its derivative is 0 wherever it exists, but PyTorch does not implement it:
    backward raises, as PyTorch's does, rather than return a silent zero."""

    def forward(self, a, b):
        _check_divisor("floor_divide", b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.floor_divide(a, b)

    def backward(self, grad):
        raise RuntimeError(
            "derivative for floor_divide is not implemented (as in PyTorch); detach its "
            "operands (a.detach() // b) to use it as a constant"
        )


class Remainder(Function):
    """y = a - b floor(a / b), the remainder with the sign of the divisor (`a % b`, PyTorch's
    remainder, Python's %);  dy/da = 1, dy/db = -floor(a / b) (a constant: nan and inf
    where b = 0, as PyTorch)."""

    def forward(self, a, b):
        _check_divisor("remainder", b)
        self.save_for_backward(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.remainder(a, b)

    def backward(self, grad):
        a, b = (np.asarray(t) for t in self.saved_tensors)
        db = None
        if self.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                db = -grad * np.floor_divide(a, b)
        return grad, db


# ---- linear algebra -----------------------------------------------------------------------


# ---- shape --------------------------------------------------------------------------------


def is_basic_index(index) -> bool:
    """Only ints, slices, None and Ellipsis: numpy returns a view (and no element twice)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice, type(None), type(Ellipsis))) for p in parts)


class GetItem(Function):
    """y = x[index];  dx = zeros with grad added at `index` (np.add.at: repeats accumulate).
    A basic index (ints, slices) gives a view of x's memory, as numpy and PyTorch do."""

    is_view = True

    def forward(self, x, index):
        self.index = index
        self.input_shape = x.shape
        self.dtype = x.dtype
        return x[index]

    def backward(self, grad):
        return IndexAdd.run(grad, index=self.index, shape=self.input_shape)


class IndexAdd(Function):
    """y = zeros(shape) with x added at `index` (repeated elements accumulate);
    dx = grad[index]. The adjoint of indexing: GetItem's backward, and GetItem is its."""

    def forward(self, x, index, shape):
        self.index = index
        y = np.zeros(shape, dtype=x.dtype)
        if is_basic_index(index):  # slices cannot repeat an element: plain assignment
            y[index] = x
        else:
            np.add.at(y, index, x)
        return y

    def backward(self, grad):
        return GetItem.run(grad, index=self.index)


class SetItem(Function):
    """y = x with y[index] = v (`t[index] = v`);  dx = grad, zeroed at index;  dv = grad[index]."""

    def forward(self, x, v, index):
        self.index = index
        y = x.copy()
        y[index] = v
        return y

    def backward(self, grad):
        dx = dv = None
        if self.needs_input_grad[0]:
            dx = SetItem.run(grad, np.zeros((), grad.dtype), index=self.index)
        if self.needs_input_grad[1]:
            dv = GetItem.run(grad, index=self.index)
        return dx, dv


class Concatenate(Function):
    """y = concatenate(xs, axis);  each dx_i = its slice of grad along `axis`."""

    def forward(self, *xs, axis=0):
        self.axis = axis = normalize_axis(axis, xs[0].ndim)
        self.sizes = [x.shape[axis] for x in xs]
        return np.ascontiguousarray(np.concatenate(xs, axis=axis))  # C order, as PyTorch's cat

    def backward(self, grad):
        ends = np.cumsum(self.sizes)
        before = (slice(None),) * self.axis
        return tuple(
            GetItem.run(grad, index=before + (slice(int(end - n), int(end)),))
            for n, end in zip(self.sizes, ends)
        )


class Stack(Function):
    """y = stack(xs, axis) (a new axis);  each dx_i = grad indexed at i along `axis`."""

    def forward(self, *xs, axis=0):
        self.axis = axis = normalize_axis(axis, xs[0].ndim + 1)
        return np.stack(xs, axis=axis)

    def backward(self, grad):
        before = (slice(None),) * self.axis
        return tuple(
            GetItem.run(grad, index=before + (i,)) for i in range(grad.shape[self.axis])
        )


# ---- reductions ---------------------------------------------------------------------------


class Prod(Function):
    """y = product of x over `axis`;  dy/dx_i = product of the other elements of x_i's slice.

    As PyTorch: y / x_i in a slice without zeros; with one zero, the zero's derivative is the
    product of the nonzeros and the others' 0; with two or more zeros every derivative is 0.
    The backward is exact as a function of x, so its derivative is the second derivative
    (`_product_of_others`).
    """

    def forward(self, x, axis=None, keepdims=False):
        self.axes, self.keepdims = _axes(axis, x.ndim), keepdims
        y = np.prod(x, axis=self.axes, keepdims=keepdims)
        self.save_for_backward(x, y)
        return y

    def backward(self, grad):
        x, y = self.saved_tensors
        g = _expand(grad, x.shape, self.axes, self.keepdims)
        zero = np.asarray(x) == 0
        if not zero.any():
            return g * (_expand(y, x.shape, self.axes, self.keepdims) / x)
        return g * _product_of_others(x, zero, self.axes)


def _product_of_others(x: Any, zero: np.ndarray, axes: Optional[tuple]) -> Any:
    """prod_{j != i} x_j over each slice, where the slice holds zeros (`zero`, a constant mask),
    right in value and in first derivative (so Prod's second derivative is exact):

        (p / x1_i) * z_i,  x1 = x with its zeros as ones, p = product of x1 (no zeros: Prod's
        division rule), z_i = the product of the zeros other than x_i: 1 where there is none,
        the other zero's value x_k where there is one (0, with derivative 1 in x_k), 0 beyond.
    """
    one = np.ones((), x.dtype)
    x1 = Where.run(zero, one, x)
    p = Prod.run(x1, axis=axes, keepdims=True)
    count = zero.sum(axis=axes, keepdims=True)  # zeros in each slice
    other_zero = _masked(x, zero).sum(axis=axes, keepdims=True) - _masked(x, zero)
    none_other = (count == 0) | ((count == 1) & zero)
    one_other = ((count == 1) & ~zero) | ((count == 2) & zero)
    z = Where.run(none_other, one, _masked(other_zero, one_other))
    return p / x1 * z


class Max(Function):
    """y = max of x over `axis`;  dx = grad at the maximal elements (ties share it equally)."""

    reduce = staticmethod(np.max)

    def forward(self, x, axis=None, keepdims=False):
        self.axes, self.keepdims = _axes(axis, x.ndim), keepdims
        out = self.reduce(x, axis=self.axes, keepdims=True)
        self.save_for_backward(x, out)
        return out if keepdims else np.squeeze(out, axis=self.axes)

    def backward(self, grad):
        x, out = (np.asarray(t) for t in self.saved_tensors)
        mask = (x == out) | (np.isnan(x) & np.isnan(out))  # a NaN maximum is the NaN
        share = mask / mask.sum(axis=self.axes, keepdims=True)  # a constant: 1/k at k maxima
        share = share.astype(x.dtype)
        return share * _expand(grad, x.shape, self.axes, self.keepdims)


class Min(Max):
    """y = min of x over `axis`;  dx = grad at the minimal elements (ties share it equally).

    Max's forward with np.min, and its backward (the gradient goes where x equals y). Not
    -max(-x): negation wraps unsigned integers (uint8 [0, 1] would give 1) and refuses bools.
    """
    reduce = staticmethod(np.min)


# ---- elementwise --------------------------------------------------------------------------


class Exp(Function):
    """y = exp(x);  dy/dx = exp(x) = y."""

    def forward(self, x):
        y = np.exp(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * y


class Log(Function):
    """y = log(x);  dy/dx = 1/x."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.log(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / x


class Sqrt(Function):
    """y = sqrt(x);  dy/dx = 1 / (2 sqrt(x)) = 1 / (2y)."""

    def forward(self, x):
        y = np.sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad / (2 * y)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x)), computed as (1 + tanh(x/2)) / 2 (no overflow);  dy/dx = y (1 - y)."""

    def forward(self, x):
        y = 0.5 * (np.tanh(0.5 * x) + 1)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * y * (1 - y)


class Tanh(Function):
    """y = tanh(x);  dy/dx = 1 - y**2."""

    def forward(self, x):
        y = np.tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * (1 - y * y)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """log softmax(x) = x - max - log(sum(exp(x - max))): no overflow for huge logits."""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Function):
    """s = exp(x) / sum(exp(x)) along `axis`;  dx = s * (grad - sum(grad * s))."""

    def forward(self, x, axis=-1):
        self.axis = axis = normalize_axis(axis, x.ndim)
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        s = e / e.sum(axis=axis, keepdims=True)
        self.save_for_backward(s)
        return s

    def backward(self, grad):
        (s,) = self.saved_tensors
        return s * (grad - (grad * s).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """y = x - logsumexp(x) along `axis`;  dx = grad - softmax(x) * sum(grad)."""

    def forward(self, x, axis=-1):
        self.axis = axis = normalize_axis(axis, x.ndim)
        y = _log_softmax(x, axis)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad - Exp.run(y) * grad.sum(axis=self.axis, keepdims=True)


# ---- PyTorch-named elementwise and shape ops ------------------------------------------------


class Abs(Function):
    """y = |x|;  dy/dx = sign(x) (0 at x = 0, as PyTorch)."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.abs(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * np.sign(np.asarray(x))  # sign(x): a constant


class Sin(Function):
    """y = sin(x);  dy/dx = cos(x)."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.sin(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * Cos.run(x)


class Cos(Function):
    """y = cos(x);  dy/dx = -sin(x)."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.cos(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return -grad * Sin.run(x)


class Log1p(Function):
    """y = log(1 + x) (accurate for small x);  dy/dx = 1 / (1 + x)."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.log1p(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / (1 + x)


class Clamp(Function):
    """y = min(max(x, low), high) (either bound may be None);  dy/dx = [low <= x <= high].

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

    def backward(self, grad):
        (inside,) = self.saved_tensors
        return grad * inside


class Maximum(Function):
    """y = max(a, b) elementwise, broadcasting;  dy/da = [a > b], dy/db = [b > a].

    At a tie a == b the gradient is split half/half between a and b, as PyTorch does; where
    either is NaN (y is NaN) both receive the full gradient, again as PyTorch.
    """

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return np.maximum(a, b)

    def backward(self, grad):
        a, b = (np.asarray(t) for t in self.saved_tensors)
        return _tie_split(grad, ~(a < b), ~(a > b), a == b, self.needs_input_grad)


class Minimum(Function):
    """y = min(a, b) elementwise, broadcasting;  dy/da = [a < b], dy/db = [b < a].

    Ties split the gradient half/half and NaN passes it to both, as in `Maximum` (PyTorch's rule).
    """

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return np.minimum(a, b)

    def backward(self, grad):
        a, b = (np.asarray(t) for t in self.saved_tensors)
        return _tie_split(grad, ~(a > b), ~(a < b), a == b, self.needs_input_grad)


def _tie_split(grad: Any, to_a: np.ndarray, to_b: np.ndarray, tie: np.ndarray,
               needs: tuple) -> tuple:
    """Maximum/Minimum's rule: grad to a where `to_a`, to b where `to_b` (bool constants),
    halved at ties. NaN compares False, so `~(a > b)` passes it to both, as PyTorch."""
    shared = grad * np.where(tie, 0.5, 1.0).astype(grad.dtype)
    da = _masked(shared, to_a) if needs[0] else None
    db = _masked(shared, to_b) if needs[1] else None
    return da, db


class Where(Function):
    """y = x where cond else z (cond a bool array, all three broadcast together);
    dy/dx = [cond], dy/dz = [not cond], cond gets no gradient."""

    def forward(self, cond, x, z):
        self.save_for_backward(cond)
        return np.where(cond, x, z)

    def backward(self, grad):
        (cond,) = self.saved_tensors
        dx = _masked(grad, cond) if self.needs_input_grad[1] else None
        dz = _masked(grad, ~np.asarray(cond)) if self.needs_input_grad[2] else None
        return None, dx, dz


class Clone(Function):
    """y = a copy of x (its own memory, still in the graph);  dy/dx = 1."""

    def forward(self, x):
        return x.copy()

    def backward(self, grad):
        return grad


class SumToSize(Function):
    """y = x summed over the axes it was broadcast along, to `shape`;  dx = grad copied back
    to x's shape. The adjoint of broadcasting (Expand), and Expand is its adjoint."""

    def forward(self, x, shape):
        self.input_shape = x.shape
        return sum_to(x, shape)

    def backward(self, grad):
        return broadcast_to(grad, self.input_shape)


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
    dv/dx = 2 (x - mean) / (n - correction) (the mean's own term sums to zero).

    n - correction <= 0 divides by 0: inf (nan for 0/0) with a warning, as PyTorch.
    """

    def forward(self, x, axis=None, correction=1, keepdims=False):
        self.axes, self.keepdims = _axes(axis, x.ndim), keepdims
        centered, var, self.dof = _centered_var(x, self.axes, correction)
        self.save_for_backward(x)
        return var if keepdims else np.squeeze(var, axis=self.axes)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return _expand(grad, x.shape, self.axes, self.keepdims) * _dvar_dx(x, self.axes, self.dof)


class Std(Function):
    """s = sqrt(var(x)) (`axis` and `correction` as for Var);  ds/dx = dvar/dx / (2 s),
    taken as 0 where s == 0 (a constant slice), as PyTorch."""

    def forward(self, x, axis=None, correction=1, keepdims=False):
        self.axes, self.keepdims = _axes(axis, x.ndim), keepdims
        centered, var, self.dof = _centered_var(x, self.axes, correction)
        std = np.sqrt(var)
        out = std if keepdims else np.squeeze(std, axis=self.axes)
        self.save_for_backward(x, out)
        return out

    def backward(self, grad):
        x, std = self.saved_tensors
        std = _expand(std, x.shape, self.axes, self.keepdims)
        g = _expand(grad, x.shape, self.axes, self.keepdims)
        with np.errstate(divide="ignore", invalid="ignore"):
            nonzero = np.asarray(std) != 0
            return _masked(g / (2 * std), nonzero) * _dvar_dx(x, self.axes, self.dof)


def _dvar_dx(x: Any, axes: Optional[tuple], dof: int) -> Any:
    """d var / dx = 2 (x - mean) / dof (an array, or a Tensor: differentiable again)."""
    scale = 2.0 / dof if dof else float("inf")
    with np.errstate(invalid="ignore"):
        return (x - x.mean(axis=axes, keepdims=True)) * scale
