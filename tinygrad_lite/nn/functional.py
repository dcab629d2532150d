"""Stateless functions on tensors (PyTorch's `torch.nn.functional`)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import ops
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
