"""`torch.utils.data` under its PyTorch name: the datasets, samplers, collate functions and
the one `DataLoader` of `tinygrad_lite.data` (re-exported, not copied).

    from tinygrad_lite.utils.data import DataLoader, TensorDataset
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
"""

from ...data import datasets as _datasets
from ...data.datasets import *  # noqa: F403 - the datasets, samplers and collate functions
from ...data.loader import DataLoader
from . import dataloader, dataset, sampler  # noqa: F401 - torch.utils.data's submodules

__all__ = ["DataLoader", *_datasets.__all__]
