"""Loss modules, as PyTorch's `torch.nn`: a constructor that fixes the options, and
`forward(input, target)` that calls the function of the same name in `nn.functional`.

Constructor keywords are PyTorch's (reduction, weight, ignore_index, label_smoothing,
pos_weight); `weight` is the only positional one (the deprecated size_average / reduce are
not accepted). Weights are kept as numpy buffers, so they appear in `state_dict()` and follow
`module.to(dtype)`, as in PyTorch.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..core.tensor import Tensor
from . import functional as F
from .module import Module

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "L1Loss",
    "MSELoss",
    "NLLLoss",
]


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        F._check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def _buffer(self, name: str, value: Any) -> None:
        """A weight as a buffer (saved in state_dict), or None (not saved, as in PyTorch)."""
        if value is None:
            setattr(self, name, None)
            return
        if isinstance(value, Tensor):
            value = value.data
        self.register_buffer(name, np.array(value, copy=True))

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Squared error (input - target)**2, reduced; see `nn.functional.mse_loss`."""

    def __init__(self, *, reduction: str = "mean"):
        super().__init__(reduction)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Absolute error |input - target|, reduced; see `nn.functional.l1_loss`."""

    def __init__(self, *, reduction: str = "mean"):
        super().__init__(reduction)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class NLLLoss(_Loss):
    """Negative log-likelihood of class targets (N,) given log-probabilities (N, C); also
    (C,) with a 0-d target and (N, C, d1, ...) with targets (N, d1, ...)."""

    def __init__(
        self, weight: Any = None, *, ignore_index: int = -100, reduction: str = "mean"
    ):
        super().__init__(reduction)
        self._buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.nll_loss(
            input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction
        )


class CrossEntropyLoss(_Loss):
    """Cross-entropy of softmax(logits (N, C)) against class indices (N,) or probabilities;
    also (C,) with a 0-d target and (N, C, d1, ...) with targets (N, d1, ...).

    `CrossEntropyLoss()` is the mean over the batch (the fused, exact-gradient op); see
    `nn.functional.cross_entropy` for weight, ignore_index, label_smoothing and reduction.
    """

    def __init__(
        self,
        weight: Any = None,
        *,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ):
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(
                f"CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0; "
                f"got {label_smoothing}"
            )
        self._buffer("weight", weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities in [0, 1]; see `binary_cross_entropy`."""

    def __init__(self, weight: Any = None, *, reduction: str = "mean"):
        super().__init__(reduction)
        self._buffer("weight", weight)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of sigmoid(logits), fused and stable (optional pos_weight)."""

    def __init__(
        self, weight: Any = None, *, reduction: str = "mean", pos_weight: Optional[Any] = None
    ):
        super().__init__(reduction)
        self._buffer("weight", weight)
        self._buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )
