"""PyTorch's `torch.utils` names: `tinygrad_lite.utils.data` (datasets, samplers, DataLoader)."""

from . import data

__all__ = ["data"]
