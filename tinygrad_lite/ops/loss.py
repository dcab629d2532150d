"""Loss functions as fused ops: each forward and its gradient rule on the same screen.

Notation as in `math.py`: `g` is dL/dy for the op's output y (the loss, reduced or not);
`backward` returns dL/dx for each input x, None for inputs that need no gradient.

Every op here takes `reduction` in {"mean", "sum", "none"} (the notebook's fused
`CrossEntropy` is in core/ops.py): "none" returns the per-element (per-sample) losses l,
"sum" returns sum(l), "mean" returns sum(l) / D, where D is the number of elements unless
the op says otherwise (class-weighted losses divide by the total weight of their targets, as
PyTorch does). Per-class weights and pos_weight are constants (options, not graph inputs):
PyTorch does not differentiate through them either. Argument checking lives in
`nn/functional.py`; the ops trust their inputs.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..core.tensor import Function, Tensor
from .math import log_softmax, sigmoid, softmax

REDUCTIONS = ("mean", "sum", "none")
# In the rules, g is the gradient of each unreduced loss element: dL/dy, or dL/dy / D for
# "mean".


def _reduce(loss: np.ndarray, reduction: str, dtype: np.dtype, count=None) -> np.ndarray:
    """'none': loss; 'sum': sum(loss); 'mean': sum(loss) / count (default loss.size).

    An empty 'mean' (or a zero total weight) is 0 / 0 = nan, as in PyTorch, without a warning.
    """
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            total = total / (loss.size if count is None else count)
    return np.asarray(total, dtype=dtype)


def _per_element(g: Any, reduction: str, count: Any) -> Any:
    """dL/dl for each element l of the unreduced loss (broadcastable to its shape).

    A 'mean' over nothing (every target ignored, or zero total weight) is nan, but its gradient
    is 0, as in PyTorch: no element contributed, so none gets a gradient.
    """
    if reduction == "mean":
        if not count:
            return g * 0
        # a Python float, never a numpy scalar (that would promote float32 to float64), or
        # the Tensor sum(w) when a weighted mean is differentiated twice
        return g / (count if isinstance(count, Tensor) else float(count))
    return g  # 'sum': the same g for every element; 'none': g is already per element


def _log_sigmoid(x: Any) -> Any:
    """log sigmoid(x) = min(x, 0) - log1p(exp(-|x|)): finite for any finite x (an array, or
    Tensor ops)."""
    return np.minimum(x, 0) - np.log1p(np.exp(-abs(x)))


# ---- classification over C classes -----------------------------------------------------------


class WeightedCrossEntropy(Function):
    """l_n = -sum_c q_nc log p_nc, p = softmax(logits) (N, C);  dL/dlogits_n = g_n ((sum_c
    q_nc) p_n - q_n), dL/dy_n = -g_n (1 - e) w log p_n.

    Cross-entropy with class weights w, ignore_index, label smoothing e, any reduction. Each
    row n gets target coefficients q_n (C,):
        class targets t (N,):          q_n = w * ((1 - e) onehot(t_n) + e / C),  0 if ignored
        probability targets y (N, C):  q_n = w * ((1 - e) y_n + e / C)
    'mean' divides by D = sum of w[t_n] over the kept rows for class targets (PyTorch's
    weighted mean, used for the smoothing term too), by N for probability targets.
    """

    def forward(self, logits, targets, weight=None, ignore_index=-100, label_smoothing=0.0,
                reduction="mean", probabilities=False):
        n, c = logits.shape
        dtype = logits.dtype
        logp = log_softmax(logits, 1)
        w = np.ones(c, dtype=dtype) if weight is None else weight.astype(dtype, copy=False)
        eps = label_smoothing
        if probabilities:
            y = targets.astype(dtype, copy=False)
            q = w * ((1 - eps) * y + eps / c) if eps else w * y
            count = n
        else:
            kept = targets != ignore_index
            safe = np.where(kept, targets, 0)  # ignored rows: any valid column, zeroed below
            q = np.empty((n, c), dtype=dtype)
            q[...] = (eps / c) * w
            q[np.arange(n), safe] += (1 - eps) * w[safe]
            q[~kept] = 0
            count = w[safe][kept].sum()
        self.options = (w, eps, reduction, count, probabilities)
        self.save_for_backward(logits, targets, q)
        return _reduce(-(q * logp).sum(axis=1), reduction, dtype, count)

    def backward(self, g):
        logits, targets, q = self.saved_tensors
        w, eps, reduction, count, probabilities = self.options
        c = logits.shape[1]
        if probabilities:  # q as ops of the targets: its own gradient can flow
            q = (targets * (1 - eps) + eps / c) * w if eps else targets * w
        g = _per_element(g, reduction, count)
        g = g.reshape(-1, 1) if reduction == "none" else g
        dlogits = (q.sum(axis=1, keepdims=True) * softmax(logits, 1) - q) * g
        dtargets = None
        if self.needs_input_grad[1]:
            dtargets = log_softmax(logits, 1) * (-(1 - eps) * w) * g
        return dlogits, dtargets


class NLL(Function):
    """l_n = -w[t_n] x[n, t_n] for log-probabilities x (N, C), integer targets t (N,);
    dL/dx[n, c] = -g_n w[t_n] if c == t_n else 0.

    l_n = 0 where t_n == ignore_index; 'mean' divides by D = sum of w[t_n] over kept rows.
    """

    def forward(self, x, targets, weight=None, ignore_index=-100, reduction="mean"):
        n, c = x.shape
        kept = targets != ignore_index
        safe = np.where(kept, targets, 0)
        w = np.ones(c, dtype=x.dtype) if weight is None else weight.astype(x.dtype, copy=False)
        wt = np.where(kept, w[safe], 0).astype(x.dtype, copy=False)  # w[t_n], 0 if ignored
        rows = np.arange(n)
        count = wt.sum()
        self.options = (x.shape, x.dtype, rows, safe, wt, reduction, count)
        self.save_for_backward()
        return _reduce(-wt * x[rows, safe], reduction, x.dtype, count)

    def backward(self, g):
        shape, dtype, rows, safe, wt, reduction, count = self.options
        picked = np.zeros(shape, dtype=dtype)  # -w[t_n] at [n, t_n]: a constant matrix
        picked[rows, safe] = -wt
        g = _per_element(g, reduction, count)
        return picked * (g.reshape(-1, 1) if reduction == "none" else g), None


# ---- elementwise losses: input x and target y of the same shape --------------------------------


class _ElementwiseError(Function):
    """l = w e(x - y) elementwise (w = 1 unless given), for the error e a subclass defines;
    dL/dx = g w e'(x - y) = -dL/dy.

    With a weight, 'mean' is sum(l) / sum(w) and dL/dw = e / sum(w) - L / sum(w).
    """

    @staticmethod
    def error(diff):
        """(e(diff), de/d(diff)) for the difference x - y (an array in forward, a Tensor in
        backward): the elementwise error and its derivative."""
        raise NotImplementedError

    def forward(self, x, y, weight=None, reduction="mean"):
        err, _ = self.error(x - y)
        loss = err if weight is None else err * weight
        count = None if weight is None else weight.sum()
        out = _reduce(loss, reduction, x.dtype, count)
        self.options = (reduction, loss.size if count is None else count)
        self.save_for_backward(x, y, weight, out)
        return out

    def backward(self, g):
        x, y, weight, out = self.saved_tensors
        reduction, count = self.options
        if weight is not None:
            count = weight.sum()  # sum(w): as an op of w, so second derivatives see it
        err, slope = self.error(x - y)
        g = _per_element(g, reduction, count)
        dx = slope * g if weight is None else slope * weight * g
        dy = -dx if self.needs_input_grad[1] else None
        if weight is None:
            return dx, dy
        dw = None
        if self.needs_input_grad[2]:
            dw = (err - out) * g if reduction == "mean" else err * g
        return dx, dy, dw


class SquaredError(_ElementwiseError):
    """l = w (x - y)**2 elementwise (w = 1 unless given);  dL/dx = 2 g w (x - y) = -dL/dy.

    With a weight, 'mean' is sum(l) / sum(w) and dL/dw = (x - y)**2 / sum(w) - L / sum(w).
    """

    @staticmethod
    def error(diff):
        return diff * diff, 2 * diff


class AbsoluteError(_ElementwiseError):
    """l = w |x - y| elementwise (w = 1 unless given);  dL/dx = g w sign(x - y) = -dL/dy.

    With a weight, 'mean' is sum(l) / sum(w) and dL/dw = |x - y| / sum(w) - L / sum(w).
    """

    @staticmethod
    def error(diff):
        return abs(diff), np.sign(diff)  # sign: an array, a constant, also for a Tensor


class BinaryCrossEntropy(Function):
    """l = -w (y log x + (1 - y) log(1 - x)) for probabilities x;  dL/dx = g w (x - y) /
    max(x (1 - x), 1e-12), dL/dy = g w (log(1 - x) - log x).

    Each log is clamped to >= -100. The derivatives are PyTorch's formulas (at x = 0 or 1
    they are +-1e12 and +-inf, as there).
    """

    def forward(self, x, y, weight: Optional[np.ndarray] = None, reduction="mean"):
        with np.errstate(divide="ignore"):  # log(0) = -inf, clamped
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        loss = (y - 1) * log_1mx - y * log_x
        if weight is not None:
            loss = loss * weight
        self.options = (reduction, x.size, weight)
        self.save_for_backward(x, y)
        return _reduce(loss, reduction, x.dtype)

    def backward(self, g):
        x, y = self.saved_tensors
        reduction, count, weight = self.options
        g = _per_element(g, reduction, count)
        if weight is not None:
            g = g * weight
        dx = (x - y) / np.maximum(x * (1 - x), 1e-12) * g
        dy = None
        if self.needs_input_grad[1]:
            with np.errstate(divide="ignore"):
                dy = (np.log1p(-x) - np.log(x)) * g
        return dx, dy


class BinaryCrossEntropyWithLogits(Function):
    """l = w ((1 - y) x - (1 + (pw - 1) y) log sigmoid(x)) for logits x (pw = pos_weight);
    dL/dx = g w ((1 + (pw - 1) y) sigmoid(x) - pw y), dL/dy = -g w (x + (pw - 1) log sigmoid(x)).

    Without pos_weight: l = w (max(x, 0) - x y + log1p(exp(-|x|))), stable for any x.
    """

    def forward(self, x, y, weight=None, pos_weight=None, reduction="mean"):
        log_sig = _log_sigmoid(x)
        log_weight = 1 if pos_weight is None else (pos_weight - 1) * y + 1
        loss = (1 - y) * x - log_weight * log_sig
        if weight is not None:
            loss = loss * weight
        self.options = (reduction, x.size, weight, pos_weight)
        self.save_for_backward(x, y)
        return _reduce(loss, reduction, x.dtype)

    def backward(self, g):
        x, y = self.saved_tensors
        reduction, count, weight, pw = self.options
        g = _per_element(g, reduction, count)
        if weight is not None:
            g = g * weight
        if pw is None:
            dx = (sigmoid(x) - y) * g
        else:
            pw = np.asarray(pw, dtype=x.dtype)
            dx = ((pw * y + 1 - y) * sigmoid(x) - pw * y) * g
        dy = None
        if self.needs_input_grad[1]:
            dy = -x * g if pw is None else -(x + (pw - 1) * _log_sigmoid(x)) * g
        return dx, dy
