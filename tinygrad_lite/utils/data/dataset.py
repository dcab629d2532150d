"""`torch.utils.data.dataset` under its PyTorch name: the datasets of
`tinygrad_lite.utils.data`."""

from ...data.datasets import ConcatDataset, Dataset, Subset, TensorDataset, random_split

__all__ = ["ConcatDataset", "Dataset", "Subset", "TensorDataset", "random_split"]
