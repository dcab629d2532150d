"""`torch.utils.data.dataloader` under its PyTorch name, for programs that import from it
(`from torch.utils.data.dataloader import DataLoader`): the same objects as
`tinygrad_lite.utils.data`."""

from ...data.datasets import default_collate, default_convert
from ...data.loader import DataLoader

__all__ = ["DataLoader", "default_collate", "default_convert"]
