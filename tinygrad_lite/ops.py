"""Every differentiable operation, forward and gradient rule on the same screen.

Notation: `grad` is dL/dy for the op's output y; `backward` returns dL/dx for each input x.
Binary ops may return a gradient of the broadcast shape; the engine (`autograd.unbroadcast`)
sums it back to the input's shape. Inputs whose `needs_input_grad` is False get None.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .autograd import Function


def _axes(axis, ndim: int) -> Optional[tuple]:
    """Normalise an `axis` argument (None, int or tuple, negatives allowed) to a sorted tuple."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(sorted(a % ndim for a in axes)) if ndim else ()


def _expand(grad: np.ndarray, shape: tuple, axes: Optional[tuple], keepdims: bool) -> np.ndarray:
    """Copy `grad` back over the axes a reduction removed (the adjoint of a sum)."""
    if not keepdims:  # re-insert the reduced axes as size 1
        kept = tuple(1 if axes is None or i in axes else n for i, n in enumerate(shape))
        grad = grad.reshape(kept)
    out = np.empty(shape, dtype=grad.dtype)
    out[...] = grad  # broadcasting assignment: cheaper than np.broadcast_to for small arrays
    return out


# ---- arithmetic ---------------------------------------------------------------------------


class Add(Function):
    """y = a + b;  dy/da = 1, dy/db = 1."""
    rule = "grad_a = grad_out, grad_b = grad_out"

    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    """y = a - b;  dy/da = 1, dy/db = -1."""
    rule = "grad_a = grad_out, grad_b = -grad_out"

    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, (-grad if self.needs_input_grad[1] else None)


class Mul(Function):
    """y = a * b;  dy/da = b, dy/db = a."""
    fresh_grads = True
    rule = "grad_a = grad_out * b, grad_b = grad_out * a"

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, grad):
        a, b = self.saved_tensors
        da = grad * b if self.needs_input_grad[0] else None
        db = grad * a if self.needs_input_grad[1] else None
        return da, db


class Div(Function):
    """y = a / b;  dy/da = 1/b, dy/db = -a/b**2."""
    fresh_grads = True
    rule = "grad_a = grad_out / b, grad_b = -grad_out * a / b**2"

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a / b

    def backward(self, grad):
        a, b = self.saved_tensors
        da = grad / b if self.needs_input_grad[0] else None
        db = -grad * a / (b * b) if self.needs_input_grad[1] else None
        return da, db


class Neg(Function):
    """y = -x;  dy/dx = -1."""
    fresh_grads = True
    rule = "grad_in = -grad_out"

    def forward(self, x):
        return -x

    def backward(self, grad):
        return -grad


class Pow(Function):
    """y = x**c for a constant c;  dy/dx = c * x**(c-1)."""
    fresh_grads = True
    rule = "grad_in = grad_out * c * x**(c-1)"

    def forward(self, x, exponent: float):
        self.exponent = exponent
        self.save_for_backward(x)
        return x**exponent

    def backward(self, grad):
        (x,) = self.saved_tensors
        c = self.exponent
        return grad * (c * x ** (c - 1))


class Cast(Function):
    """y = x converted to `dtype`;  dy/dx = 1 (the gradient goes back in x's dtype)."""
    fresh_grads = True
    rule = "grad_in = grad_out cast back to x's dtype"

    def forward(self, x, dtype):
        self.input_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad):
        return grad.astype(self.input_dtype)


# ---- linear algebra -----------------------------------------------------------------------


class MatMul(Function):
    """y = a @ b (2-D, batched with broadcasting, or 1-D);  da = grad @ b^T,  db = a^T @ grad."""
    fresh_grads = True
    rule = "grad_a = grad_out b^T, grad_b = a^T grad_out"

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul needs at least 1-D operands")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(f"matmul: inner dimensions differ: {a.shape} @ {b.shape}")
        self.save_for_backward(a, b)
        return a @ b

    def backward(self, grad):
        a, b = self.saved_tensors
        # 1-D operands act as a row (a) or a column (b): lift them to 2-D for the rule.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        if b.ndim == 1:
            g = np.expand_dims(g, -1)
        da = db = None
        if self.needs_input_grad[0]:
            da = g @ np.swapaxes(b2, -1, -2)
            if a.ndim == 1:
                da = da[..., 0, :]
        if self.needs_input_grad[1]:
            db = np.swapaxes(a2, -1, -2) @ g
            if b.ndim == 1:
                db = db[..., 0]
        return da, db


class Linear(Function):
    """y = x @ W^T + b, x (..., in), W (out, in), b (out,).

    dx = grad @ W,  dW = grad^T @ x (summed over the batch),  db = grad summed over the batch.
    One fused op instead of MatMul + Transpose + Add: fewer temporaries, one backward.
    """
    fresh_grads = True
    rule = "grad_W = grad_out^T x, grad_x = grad_out W, grad_b = sum(grad_out)"

    def forward(self, x, weight, bias=None):
        if x.shape[-1] != weight.shape[1]:
            raise ValueError(
                f"linear: input has {x.shape[-1]} features but weight {weight.shape} expects "
                f"{weight.shape[1]}"
            )
        self.save_for_backward(x, weight)
        if x.ndim == 2 and x.flags.f_contiguous and not x.flags.c_contiguous:
            # x is the transpose of an (in, N) array (the notebook's layout, e.g. X.T): BLAS
            # runs this product ~1.5x faster as W @ X than as x @ W^T
            y = (weight @ x.T).T
        else:
            y = x @ weight.T
        if bias is not None:
            y += bias
        return y

    def backward(self, grad):
        x, weight = self.saved_tensors
        g2 = grad.reshape(-1, grad.shape[-1])
        dx = grad @ weight if self.needs_input_grad[0] else None
        dw = g2.T @ x.reshape(-1, x.shape[-1]) if self.needs_input_grad[1] else None
        db = None
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            # sum over the batch; for a large batch as a BLAS product (numpy's column sums
            # of an (N, out) array are slow for few columns)
            db = g2.sum(axis=0) if len(g2) < 256 else np.ones(len(g2), g2.dtype) @ g2
        return (dx, dw, db)[: len(self.parents)]


# ---- shape --------------------------------------------------------------------------------


class Transpose(Function):
    """y = x with axes permuted;  dx = grad with the inverse permutation."""
    rule = "grad_in = grad_out with the axes permuted back"

    def forward(self, x, axes=None):
        self.axes = axes
        return np.transpose(x, axes)

    def backward(self, grad):
        if self.axes is None:
            return np.transpose(grad)
        return np.transpose(grad, np.argsort(self.axes))


class Reshape(Function):
    """y = x viewed with a new shape;  dx = grad reshaped back."""
    rule = "grad_in = grad_out reshaped to x's shape"

    def forward(self, x, shape):
        self.input_shape = x.shape
        return x.reshape(shape)

    def backward(self, grad):
        return grad.reshape(self.input_shape)


def _is_basic_index(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice, type(None), type(Ellipsis))) for p in parts)


class GetItem(Function):
    """y = x[index];  dx = zeros with grad added at `index` (np.add.at: repeats accumulate)."""
    fresh_grads = True
    rule = "grad_in = zeros with grad_out added at the index"

    def forward(self, x, index):
        self.index = index
        self.input_shape = x.shape
        self.dtype = x.dtype
        return x[index]

    def backward(self, grad):
        dx = np.zeros(self.input_shape, dtype=self.dtype)
        if _is_basic_index(self.index):  # slices cannot repeat an element: plain assignment
            dx[self.index] = grad
        else:
            np.add.at(dx, self.index, grad)
        return dx


class Concatenate(Function):
    """y = concatenate(xs, axis);  each dx_i = its slice of grad along `axis`."""
    rule = "grad_i = slice i of grad_out along the axis"

    def forward(self, *xs, axis=0):
        self.axis = axis
        self.sizes = [x.shape[axis] for x in xs]
        return np.concatenate(xs, axis=axis)

    def backward(self, grad):
        return tuple(np.split(grad, np.cumsum(self.sizes)[:-1], axis=self.axis))


class Stack(Function):
    """y = stack(xs, axis) (a new axis);  each dx_i = grad indexed at i along `axis`."""
    rule = "grad_i = grad_out[i] along the axis"

    def forward(self, *xs, axis=0):
        self.axis = axis
        return np.stack(xs, axis=axis)

    def backward(self, grad):
        return tuple(np.moveaxis(grad, self.axis, 0))


# ---- reductions ---------------------------------------------------------------------------


class Sum(Function):
    """y = sum of x over `axis`;  dx = grad broadcast back over the summed axes."""
    fresh_grads = True
    rule = "grad_in = grad_out broadcast over the summed axes"

    def forward(self, x, axis=None, keepdims=False):
        self.axes, self.keepdims, self.input_shape = _axes(axis, x.ndim), keepdims, x.shape
        return np.sum(x, axis=self.axes, keepdims=keepdims)

    def backward(self, grad):
        return _expand(grad, self.input_shape, self.axes, self.keepdims)


class Mean(Function):
    """y = mean of x over `axis` (n elements each);  dx = grad / n broadcast back."""
    fresh_grads = True
    rule = "grad_in = grad_out / n broadcast over the averaged axes"

    def forward(self, x, axis=None, keepdims=False):
        self.axes, self.keepdims, self.input_shape = _axes(axis, x.ndim), keepdims, x.shape
        out = np.mean(x, axis=self.axes, keepdims=keepdims)
        self.count = x.size // max(out.size, 1) if x.size else 1
        return out

    def backward(self, grad):
        return _expand(grad / self.count, self.input_shape, self.axes, self.keepdims)


class Max(Function):
    """y = max of x over `axis`;  dx = grad at the maximal elements (ties share it equally)."""
    fresh_grads = True
    rule = "grad_in = grad_out at the maxima (ties share it)"

    def forward(self, x, axis=None, keepdims=False):
        self.axes, self.keepdims = _axes(axis, x.ndim), keepdims
        out = np.max(x, axis=self.axes, keepdims=True)
        self.save_for_backward(x, out)
        return out if keepdims else np.squeeze(out, axis=self.axes)

    def backward(self, grad):
        x, out = self.saved_tensors
        mask = x == out
        share = mask / mask.sum(axis=self.axes, keepdims=True)
        return share * _expand(grad, x.shape, self.axes, self.keepdims)


# ---- elementwise --------------------------------------------------------------------------


class Exp(Function):
    """y = exp(x);  dy/dx = exp(x) = y."""
    fresh_grads = True
    rule = "grad_in = grad_out * exp(x)"

    def forward(self, x):
        y = np.exp(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * y


class Log(Function):
    """y = log(x);  dy/dx = 1/x."""
    fresh_grads = True
    rule = "grad_in = grad_out / x"

    def forward(self, x):
        self.save_for_backward(x)
        return np.log(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / x


class Sqrt(Function):
    """y = sqrt(x);  dy/dx = 1 / (2 sqrt(x)) = 1 / (2y)."""
    fresh_grads = True
    rule = "grad_in = grad_out / (2 sqrt(x))"

    def forward(self, x):
        y = np.sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad / (2 * y)


class ReLU(Function):
    """y = max(0, x);  dy/dx = [x > 0] (0 at exactly 0, as the notebook's `Z > 0`)."""
    fresh_grads = True
    rule = "grad_in = grad_out * (x > 0)"

    def forward(self, x):
        self.save_for_backward(x > 0)
        return np.maximum(x, 0)

    def backward(self, grad):
        (positive,) = self.saved_tensors
        return grad * positive


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x)), computed as (1 + tanh(x/2)) / 2 (no overflow);  dy/dx = y (1 - y)."""
    fresh_grads = True
    rule = "grad_in = grad_out * y * (1 - y)"

    def forward(self, x):
        y = 0.5 * (np.tanh(0.5 * x) + 1)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * y * (1 - y)


class Tanh(Function):
    """y = tanh(x);  dy/dx = 1 - y**2."""
    fresh_grads = True
    rule = "grad_in = grad_out * (1 - y**2)"

    def forward(self, x):
        y = np.tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * (1 - y * y)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """log softmax(x) = x - max - log(sum(exp(x - max))): no overflow for huge logits."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


class Softmax(Function):
    """s = exp(x) / sum(exp(x)) along `axis`;  dx = s * (grad - sum(grad * s))."""
    fresh_grads = True
    rule = "grad_in = s * (grad_out - sum(grad_out * s))"

    def forward(self, x, axis=-1):
        self.axis = axis
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        s = e / np.sum(e, axis=axis, keepdims=True)
        self.save_for_backward(s)
        return s

    def backward(self, grad):
        (s,) = self.saved_tensors
        return s * (grad - np.sum(grad * s, axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """y = x - logsumexp(x) along `axis`;  dx = grad - softmax(x) * sum(grad)."""
    fresh_grads = True
    rule = "grad_in = grad_out - softmax(x) * sum(grad_out)"

    def forward(self, x, axis=-1):
        self.axis = axis
        y = _log_softmax(x, axis)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad - np.exp(y) * np.sum(grad, axis=self.axis, keepdims=True)
