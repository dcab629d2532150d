"""Pooling layers."""

from __future__ import annotations

from typing import Any, Optional

from ..core.tensor import Tensor
from ..ops.conv import check_layer_input, pair
from . import functional as F
from .module import Module


def _batched_shape(shape: tuple) -> tuple:
    return (1,) + tuple(shape) if len(shape) == 3 else tuple(shape)


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
        s += f", padding={self.padding}" if self.padding != (0, 0) else ""
        return s + (", ceil_mode=True" if self.ceil_mode else "")


class MaxPool2d(_Pool2d):
    """Maximum over kh x kw windows: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW),
    OH = (H + 2p - kh) // s + 1 (rounded up with `ceil_mode`, PyTorch's rule).

    `stride` defaults to `kernel_size` (non-overlapping windows); padding counts as -inf. The
    gradient goes to each window's maximum. `dilation` 1 and `return_indices=False` only.
    """

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ):
        super().__init__(kernel_size, stride, padding)
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode
        if pair(dilation, "MaxPool2d dilation") != (1, 1) or return_indices:
            raise NotImplementedError(
                "MaxPool2d: dilation other than 1 and return_indices=True are not implemented"
            )

    def forward(self, x: Tensor) -> Tensor:
        check_layer_input(repr(self), _batched_shape(x.shape), self.kernel_size, self.padding)
        return F.max_pool2d(
            x, self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil_mode
        )


class AvgPool2d(_Pool2d):
    """Mean over kh x kw windows: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW); zero padding
    is counted unless `count_include_pad=False`; `ceil_mode` and `divisor_override` as
    PyTorch."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: Optional[int] = None,
    ):
        super().__init__(kernel_size, stride, padding)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x: Tensor) -> Tensor:
        check_layer_input(repr(self), _batched_shape(x.shape), self.kernel_size, self.padding)
        return F.avg_pool2d(
            x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
            self.count_include_pad, self.divisor_override,
        )  # fmt: skip
