"""Dropout."""

from __future__ import annotations

from ..core.tensor import Tensor
from . import functional as F
from .module import Module


class Dropout(Module):
    """During training zero each element with probability `p` and scale the others by
    1 / (1 - p), so the expected output equals the input; in `eval()` mode the identity.

    Masks are drawn from the generator seeded by `tl.manual_seed`.
    """

    def __init__(self, p: float = 0.5):
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: probability p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
