"""Pooling layers: a layer keeps the options of its functional (`F.max_pool2d`,
`F.avg_pool2d`) as attributes, and its forward is the functional with them."""

from __future__ import annotations

import inspect
from typing import Any, Callable

from ..core.tensor import Tensor
from ..ops.conv import check_layer_input
from ..ops.conv_options import pool_args
from ..signatures import init_from_signature, self_and
from . import functional as F
from .module import Module


def _batched_shape(shape: tuple) -> tuple:
    return (1,) + tuple(shape) if len(shape) == 3 else tuple(shape)


class _Pool2d(Module):
    """A pooling layer: `_pool` (its functional) applied to the input with the layer's
    options. `_options` names them in PyTorch's order for the layer; the constructor takes
    them with the functional's defaults (so `inspect.signature` shows them) and keeps each as
    an attribute, kernel_size, stride and padding as the checked pairs of `pool_args`, the
    functional's own check."""

    _pool: Callable
    _options: tuple

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in vars(cls) or "_options" not in vars(cls):
            return  # a subclass that writes its own constructor, or keeps its parent's
        given = inspect.signature(cls._pool).parameters
        signature = self_and(*(given[name] for name in cls._options))
        cls.__init__ = init_from_signature(signature, _Pool2d._keep)  # type: ignore[method-assign]

    def _keep(self, options: dict) -> None:
        """Keep the options as attributes; kernel_size, stride, padding as checked pairs."""
        for name, value in options.items():
            setattr(self, name, value)
        pairs = pool_args(type(self).__name__, **options)
        self.kernel_size, self.stride, self.padding = pairs

    def forward(self, x: Tensor) -> Tensor:
        check_layer_input(repr(self), _batched_shape(x.shape), self.kernel_size, self.padding)
        return self._pool(x, **{name: getattr(self, name) for name in self._options})

    def extra_repr(self) -> str:
        s = f"kernel_size={self.kernel_size}, stride={self.stride}"
        s += f", padding={self.padding}" if self.padding != (0, 0) else ""
        return s + (", ceil_mode=True" if self.ceil_mode else "")


class MaxPool2d(_Pool2d):
    """Maximum over kh x kw windows: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW),
    OH = (H + 2p - kh) // s + 1 (rounded up with `ceil_mode`, PyTorch's rule).

    `MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
    ceil_mode=False)`: `stride` defaults to `kernel_size` (non-overlapping windows); padding
    counts as -inf. The gradient goes to each window's maximum. `dilation` 1 and
    `return_indices=False` only.
    """

    _pool = staticmethod(F.max_pool2d)
    _options = ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode")


class AvgPool2d(_Pool2d):
    """Mean over kh x kw windows: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW); zero padding
    is counted unless `count_include_pad=False`; `ceil_mode` and `divisor_override` as
    PyTorch.

    `AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
    divisor_override=None)`."""

    _pool = staticmethod(F.avg_pool2d)
    _options = (
        "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"
    )
