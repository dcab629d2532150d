"""Convolution layers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.tensor import Tensor
from ..ops.conv import check_layer_input, pair
from . import functional as F
from . import init
from .module import Module, Parameter


class Conv2d(Module):
    """2-D convolution (cross-correlation, as PyTorch): x (N, C_in, H, W) -> (N, C_out, OH, OW).

    OH = (H + 2 * padding - kh) // stride + 1, likewise OW. `weight` (C_out, C_in, kh, kw) and
    `bias` (C_out,), initialised as PyTorch: Kaiming-uniform weight (a = sqrt(5), i.e.
    U(-1/sqrt(fan_in), 1/sqrt(fan_in))) and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
    fan_in = C_in * kh * kw. `kernel_size`, `stride` and `padding` are an int or an (h, w) pair.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        bias: bool = True,
        dtype: Any = np.float32,
    ):
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair(kernel_size, "Conv2d kernel_size")
        self.stride = pair(stride, "Conv2d stride")
        self.padding = pair(padding, "Conv2d padding")
        if in_channels < 1 or out_channels < 1 or min(self.kernel_size) < 1:
            raise ValueError(
                f"Conv2d: channels and kernel_size must be positive, got in_channels="
                f"{in_channels}, out_channels={out_channels}, kernel_size={self.kernel_size}"
            )
        if min(self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(
                f"Conv2d: stride must be >= 1 and padding >= 0, got stride={self.stride}, "
                f"padding={self.padding}"
            )
        shape = (out_channels, in_channels) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        check_layer_input(repr(self), x.shape, self.kernel_size, self.padding, self.in_channels)
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.bias is None:
            s += ", bias=False"
        return s
