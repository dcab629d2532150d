"""Stateless functions on tensors (PyTorch's `torch.nn.functional`)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import ops, ops_nn
from ..random import get_rng
from ..tensor import Tensor


def linear(x: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """x (..., in) @ weight (out, in)^T + bias (out,)."""
    return ops.Linear.apply(x, weight) if bias is None else ops.Linear.apply(x, weight, bias)


def relu(x: Tensor) -> Tensor:
    return ops.ReLU.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    return ops.Sigmoid.apply(x)


def tanh(x: Tensor) -> Tensor:
    return ops.Tanh.apply(x)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    return ops.Softmax.apply(x, axis=axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    return ops.LogSoftmax.apply(x, axis=axis)


def cross_entropy(logits: Tensor, targets: Any) -> Tensor:
    """Mean negative log-likelihood of integer class `targets` (N,) under softmax(`logits` (N, C)).

    Fused softmax + NLL: stable for huge logits, and its gradient is exactly
    (softmax(logits) - onehot(targets)) / N.
    """
    targets = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must be (N, C); got shape {logits.shape}")
    n, c = logits.shape
    if targets.dtype.kind not in "iu":
        raise TypeError(
            f"cross_entropy: targets must be integer class indices; got dtype {targets.dtype}"
        )
    if targets.shape != (n,):
        raise ValueError(
            f"cross_entropy: targets must have shape ({n},) to match logits {logits.shape}; "
            f"got {targets.shape}"
        )
    if n and (targets.min() < 0 or targets.max() >= c):
        bad = targets[(targets < 0) | (targets >= c)][0]
        raise ValueError(f"cross_entropy: target {bad} is outside [0, {c}) for {c} classes")
    return ops.CrossEntropy.apply(logits, Tensor._make(targets, False, None))


# ---- convolution, pooling, dropout, batch norm (ops in `ops_nn.py`) -------------------------


def conv2d(
    x: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: Any = 1, padding: Any = 0
) -> Tensor:
    """2-D cross-correlation: x (N, C, H, W), weight (O, C, kh, kw), bias (O,) -> (N, O, OH, OW).

    OH = (H + 2 * padding - kh) // stride + 1 (likewise OW); `stride` and `padding` are an int
    or an (h, w) pair.
    """
    stride, padding = ops_nn.pair(stride, "stride"), ops_nn.pair(padding, "padding")
    if min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"conv2d: stride must be >= 1 and padding >= 0, got {stride}, {padding}")
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ops_nn.Conv2d.apply(*inputs, stride=stride, padding=padding)


def max_pool2d(x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Maximum over kh x kw windows of x (N, C, H, W); `stride` defaults to `kernel_size`."""
    kernel_size = ops_nn.pair(kernel_size, "kernel_size")
    stride = kernel_size if stride is None else ops_nn.pair(stride, "stride")
    return ops_nn.MaxPool2d.apply(
        x, kernel_size=kernel_size, stride=stride, padding=ops_nn.pair(padding, "padding")
    )


def avg_pool2d(x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Mean over kh x kw windows of x (N, C, H, W) (zero padding counted, as PyTorch)."""
    kernel_size = ops_nn.pair(kernel_size, "kernel_size")
    stride = kernel_size if stride is None else ops_nn.pair(stride, "stride")
    return ops_nn.AvgPool2d.apply(
        x, kernel_size=kernel_size, stride=stride, padding=ops_nn.pair(padding, "padding")
    )


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1 / (1 - p) when `training`;
    the identity otherwise. The mask comes from the generator seeded by `tl.manual_seed`."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    return ops_nn.Dropout.apply(x, p=p, rng=get_rng())


def batch_norm(
    x: Tensor,
    running_mean: Optional[np.ndarray],
    running_var: Optional[np.ndarray],
    weight: Optional[Tensor] = None,
    bias: Optional[Tensor] = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise x (N, C, ...) per channel (axis 1), then scale by `weight` and shift by `bias`.

    training=True uses the batch's statistics and updates `running_mean` / `running_var` (numpy
    arrays, in place) with `momentum`; training=False uses the running statistics. PyTorch's
    signature and semantics.
    """
    if weight is None and bias is not None:
        weight = Tensor._make(np.ones(bias.shape, dtype=bias.dtype), False, None)
    inputs = (x,) if weight is None else (x, weight) if bias is None else (x, weight, bias)
    return ops_nn.BatchNorm.apply(
        *inputs,
        running_mean=running_mean,
        running_var=running_var,
        training=training,
        momentum=momentum,
        eps=eps,
    )
