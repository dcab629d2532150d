"""`torch.utils.data.sampler` under its PyTorch name: the samplers of
`tinygrad_lite.utils.data`."""

from ...data.datasets import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
)

__all__ = ["BatchSampler", "RandomSampler", "Sampler", "SequentialSampler",
           "SubsetRandomSampler"]
