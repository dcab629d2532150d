"""Class losses on other shapes than (N, C): an unbatched input (C,) with a 0-d target, and
(N, C, d1, ..., dk) with targets (N, d1, ..., dk) (or class probabilities of the input's shape),
as PyTorch's `cross_entropy` and `nll_loss`.

Every position (n, d1, ..., dk) is one row of C class scores, so the loss is the (N, C) loss of
the rows: the class axis moved last and the rest flattened,
    rows = input.permute(0, 2, ..., k + 1, 1).reshape(-1, C),
then the 'none' losses reshaped back to (N, d1, ..., dk) (a 0-d loss for an unbatched input).
'mean' and 'sum' are the (N, C) ones over all rows: the mean over every position (or over the
target weights of the kept positions), as PyTorch's. Both are views the autograd already
differentiates, so gradients (and second derivatives) need no new rule.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..core.tensor import Tensor


def _rows(t: Tensor, classes: int) -> Tensor:
    """(N, C, d1, ...) -> (N * d1 * ..., C); (C,) -> (1, C)."""
    if t.ndim == 1:
        return t.reshape(1, classes)
    moved = t.permute(0, *range(2, t.ndim), 1)
    return moved.reshape(int(np.prod(moved.shape[:-1], dtype=np.int64)), classes)


def _spatial_target(name: str, input: Tensor, targets: np.ndarray) -> tuple:
    """The shape (N, d1, ...) the class targets must have; PyTorch's errors otherwise."""
    shape = (input.shape[0], *input.shape[2:])
    if targets.ndim >= 1 and targets.shape[0] != input.shape[0]:
        raise ValueError(
            f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
            f"({targets.shape[0]})."
        )
    if targets.shape != shape:
        raise RuntimeError(
            f"{name}: expected target size {list(shape)}, got {list(targets.shape)}"
        )
    return shape


def per_position(
    loss: Callable[..., Tensor], name: str, input: Tensor, target: Any, *args: Any,
    reduction: str = "mean", **options: Any,
) -> Tensor:
    """`loss` (cross_entropy or nll_loss on (N, C)) of an input (C,) or (N, C, d1, ...), one
    row per position; the 'none' losses in the target's shape (N, d1, ...), or 0-d."""
    classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    targets = target.data if isinstance(target, Tensor) else np.asarray(target)
    if name == "cross_entropy" and targets.dtype.kind == "f" and targets.shape == input.shape:
        y = target if isinstance(target, Tensor) else Tensor._make(targets, False, None)
        rows_target: Any = _rows(y, classes)  # probabilities: their gradient flows
        shape: tuple = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
    elif input.ndim == 1:
        if targets.ndim > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if targets.size != 1:
            raise ValueError(
                f"For 1D input, 1D target must have size 1, but got target size: {targets.size}"
            )
        rows_target, shape = targets.reshape(1), ()
    else:
        shape = _spatial_target(name, input, targets)
        rows_target = targets.reshape(-1)
    out = loss(_rows(input, classes), rows_target, *args, reduction=reduction, **options)
    return out.reshape(shape) if reduction == "none" else out
