"""Memory-layout methods under PyTorch's names: `contiguous()` and `is_contiguous()`.

Programs written for PyTorch call `x.transpose(1, 2).contiguous().view(...)`: `view` needs a
layout it can reinterpret without a copy, and `contiguous()` makes one. Here, as in PyTorch,
a tensor whose data is already in row-major (C) order is returned as it is, and any other
is copied into that order, staying in the graph (gradient: identity).
"""

from __future__ import annotations

from typing import Any

from ..core.tensor import Tensor
from . import math as ops
from .methods import attach


class LayoutMethods:
    """The methods below become Tensor's (see `methods.attach`)."""

    def is_contiguous(self, memory_format: Any = None) -> bool:
        """Whether the data is laid out in row-major order (PyTorch's default memory format)."""
        return bool(self.data.flags.c_contiguous)

    def contiguous(self, memory_format: Any = None) -> Tensor:
        """`self` when its data is row-major already; else a row-major copy in the graph
        (y = x;  dL/dx = g)."""
        return self if self.data.flags.c_contiguous else ops.Clone.apply(self)


attach(LayoutMethods)
