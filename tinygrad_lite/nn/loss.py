"""Loss modules."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from .functional import cross_entropy
from .module import Module


class CrossEntropyLoss(Module):
    """Mean cross-entropy of integer targets (N,) under softmax(logits (N, C))."""

    def forward(self, logits: Tensor, targets: Any) -> Tensor:
        return cross_entropy(logits, targets)
