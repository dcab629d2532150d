"""Convolution layers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.tensor import ShapeError, Tensor
from ..ops.conv import check_layer_input, pair
from . import functional as F
from . import init
from .module import Module, Parameter


class Conv2d(Module):
    """2-D convolution (cross-correlation, as PyTorch): x (N, C_in, H, W) or (C_in, H, W) ->
    (N, C_out, OH, OW), OH = (H + 2 ph - dh (kh - 1) - 1) // sh + 1, likewise OW.

    `weight` (C_out, C_in / groups, kh, kw) and `bias` (C_out,), initialised as PyTorch:
    Kaiming-uniform weight (a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in))) and bias ~
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = C_in / groups * kh * kw. `kernel_size`,
    `stride`, `padding` and `dilation` are an int or an (h, w) pair; `padding` may be "valid"
    or "same". Only `padding_mode="zeros"` is implemented.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = np.float32,
    ):
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair(kernel_size, "Conv2d kernel_size")
        self.stride = pair(stride, "Conv2d stride")
        self.dilation = pair(dilation, "Conv2d dilation")
        self.groups = groups
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"Invalid padding string {padding!r}, should be one of ['valid', 'same']"
                )
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = pair(padding, "Conv2d padding")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(
                "padding_mode must be one of ['zeros', 'reflect', 'replicate', 'circular'], "
                f"but got padding_mode='{padding_mode}'"
            )
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv2d: padding_mode={padding_mode!r} is not implemented")
        if device not in (None, "cpu"):
            raise RuntimeError(f"Conv2d: only the 'cpu' device exists, got {device!r}")
        self.padding_mode = padding_mode
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if in_channels < 1 or out_channels < 1 or min(self.kernel_size) < 1:
            raise ValueError(
                f"Conv2d: channels and kernel_size must be positive, got in_channels="
                f"{in_channels}, out_channels={out_channels}, kernel_size={self.kernel_size}"
            )
        pad = (0, 0) if isinstance(self.padding, str) else self.padding
        if min(self.stride) < 1 or min(pad) < 0 or min(self.dilation) < 1:
            raise ValueError(
                f"Conv2d: stride must be >= 1, dilation >= 1 and padding >= 0, got "
                f"stride={self.stride}, dilation={self.dilation}, padding={self.padding}"
            )
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        shape = tuple(x.shape)
        batched = (1,) + shape if len(shape) == 3 else shape
        if isinstance(self.padding, str) or self.dilation != (1, 1) or self.groups != 1:
            if len(batched) != 4 or batched[1] != self.in_channels:
                raise ShapeError(
                    f"{self!r}: expected input of shape (N, {self.in_channels}, H, W) or "
                    f"({self.in_channels}, H, W), got {shape}"
                )
        else:
            check_layer_input(
                repr(self), batched, self.kernel_size, self.padding, self.in_channels
            )
        return F.conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0, 0):
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else (
                f", padding={self.padding}"
            )
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s
