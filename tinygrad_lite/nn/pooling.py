"""Pooling layers."""

from __future__ import annotations

from typing import Any

from ..core.tensor import Tensor
from ..ops.conv import check_layer_input, pair
from . import functional as F
from .module import Module


class _Pool2d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0):
        name = type(self).__name__
        self.kernel_size = pair(kernel_size, f"{name} kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, f"{name} stride")
        self.padding = pair(padding, f"{name} padding")
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(
                f"{name}: kernel_size and stride must be positive and padding non-negative, got "
                f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
            )

    def extra_repr(self) -> str:
        s = f"kernel_size={self.kernel_size}, stride={self.stride}"
        return s + (f", padding={self.padding}" if self.padding != (0, 0) else "")


class MaxPool2d(_Pool2d):
    """Maximum over kh x kw windows: (N, C, H, W) -> (N, C, OH, OW), OH = (H + 2p - kh) // s + 1.

    `stride` defaults to `kernel_size` (non-overlapping windows); padding counts as -inf. The
    gradient goes to each window's maximum.
    """

    def forward(self, x: Tensor) -> Tensor:
        check_layer_input(repr(self), x.shape, self.kernel_size, self.padding)
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """Mean over kh x kw windows: (N, C, H, W) -> (N, C, OH, OW); zero padding is counted."""

    def forward(self, x: Tensor) -> Tensor:
        check_layer_input(repr(self), x.shape, self.kernel_size, self.padding)
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)
