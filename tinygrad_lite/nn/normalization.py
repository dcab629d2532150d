"""Batch normalisation layers (PyTorch's BatchNorm1d / BatchNorm2d)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..autograd import ShapeError
from ..core.tensor import Tensor
from . import functional as F
from .module import Module, Parameter


class _BatchNorm(Module):
    """Per-channel normalisation, then an affine map: y = (x - mean) / sqrt(var + eps) * w + b.

    In `train()` mode mean and var are the batch's (biased var), and the buffers
    `running_mean` / `running_var` move towards them:
    running = (1 - momentum) * running + momentum * batch, with the unbiased batch variance
    (as PyTorch). In `eval()` mode the running statistics are used instead. `weight` (ones) and
    `bias` (zeros) are Parameters when `affine`; `num_batches_tracked` counts training batches.
    With track_running_stats=False there are no buffers and batch statistics are used always.
    `momentum=None` makes the running statistics a cumulative average (factor
    1 / num_batches_tracked), as PyTorch. A forward that raises changes no buffer.
    """

    expected_ndim: tuple = ()
    layout: str = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: Optional[float] = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = np.float32,
    ):
        if num_features < 1:
            raise ValueError(f"{type(self).__name__}: num_features must be positive")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(np.ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype=dtype)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.running_mean = self.running_var = None

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self.expected_ndim or x.shape[1] != self.num_features:
            raise ShapeError(
                f"{self!r}: expected input of shape {self.layout} with C = "
                f"{self.num_features}, got {x.shape}"
            )
        use_batch_stats = self.training or not self.track_running_stats
        tracking = self.training and self.track_running_stats
        momentum = self.momentum
        if momentum is None:  # cumulative moving average: factor 1 / (batches seen, this one too)
            momentum = 1.0 / float(self.num_batches_tracked + 1) if tracking else 0.0
        # the op updates the running statistics as its last step; the count follows only once
        # it has succeeded, so a forward that raises (bad shape, batch of one) changes no buffer
        y = F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            training=use_batch_stats,
            momentum=momentum,
            eps=self.eps,
        )
        if tracking:
            self.num_batches_tracked += 1  # in place: the 0-d array stays the same object
        return y

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch norm of (N, C) or (N, C, L) inputs, statistics per channel C."""

    expected_ndim = (2, 3)
    layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch norm of (N, C, H, W) images, statistics per channel over N, H and W."""

    expected_ndim = (4,)
    layout = "(N, C, H, W)"
