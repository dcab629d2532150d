"""PyTorch's map-style data pieces (`torch.utils.data`): datasets, samplers and the default
collate function, for `DataLoader(dataset, ...)`.

    ds = TensorDataset(images, labels)         # ds[i] == (images[i], labels[i])
    loader = DataLoader(ds, batch_size=64, shuffle=True, generator=np.random.default_rng(0))
    for xb, yb in loader:                      # Tensors: xb (64, ...), yb (64,)

Random order comes from a numpy Generator: the sampler's `generator` (a
`np.random.Generator`, an int seed, or an object holding one), else the framework's global
one (`tl.manual_seed` makes it reproducible). The orders differ from PyTorch's (another
random number generator); which samples a batch holds, and how they are collated, do not.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Iterable, Iterator, List, Optional, Union

import numpy as np

from ..core.tensor import Tensor
from ..ops.factories import stack

__all__ = [
    "BatchSampler",
    "ConcatDataset",
    "Dataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "default_collate",
    "default_convert",
    "random_split",
]


# ---- datasets --------------------------------------------------------------------------------
class Dataset:
    """A map-style dataset: subclasses define `__getitem__(index)` and `__len__()`.
    `a + b` concatenates two datasets."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are `(t[i] for t in tensors)`: Tensors (or arrays) sharing their first
    dimension. `tensors` keeps them."""

    def __init__(self, *tensors: Any) -> None:
        if tensors and any(len(tensors[0]) != len(t) for t in tensors):
            raise AssertionError("Size mismatch between tensors")  # torch asserts
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return len(self.tensors[0])


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """The datasets one after the other."""

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")  # torch asserts
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> Any:
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][idx - start]


def random_split(
    dataset: Any, lengths: Sequence[Union[int, float]], generator: Any = None
) -> List[Subset]:
    """Split `dataset` into non-overlapping random subsets of the given lengths (or
    fractions summing to 1, the remainder dealt round-robin as PyTorch does)."""
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    perm = _numpy_generator(generator).permutation(n).tolist()
    out, start = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[start : start + length]))
        start += length
    return out


# ---- samplers --------------------------------------------------------------------------------
def _numpy_generator(generator: Any) -> np.random.Generator:
    """The numpy Generator behind `generator`: a np.random.Generator, an int seed, None (the
    framework's global generator), or an object with one in `.rng`, `._rng` or
    `.generator`."""
    if generator is None:
        from ..random import get_rng

        return get_rng()
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    for name in ("rng", "_rng", "generator"):
        inner = getattr(generator, name, None)
        if isinstance(inner, np.random.Generator):
            return inner
    raise TypeError(
        "generator must be a np.random.Generator, an int seed or None, got "
        + type(generator).__name__
    )


class Sampler:
    """Yields dataset indices; subclasses define `__iter__` (and usually `__len__`)."""

    def __init__(self, data_source: Any = None) -> None:
        pass

    def __iter__(self) -> Iterator:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh permutation of the indices each epoch (or `num_samples` indices drawn with
    replacement when `replacement`)."""

    def __init__(
        self,
        data_source: Any,
        replacement: bool = False,
        num_samples: Optional[int] = None,
        generator: Any = None,
    ) -> None:
        self.data_source, self.replacement, self._num_samples = (
            data_source, replacement, num_samples
        )
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(
                "num_samples should be a positive integer value, but got "
                f"num_samples={self.num_samples}"
            )

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        rng, n = _numpy_generator(self.generator), len(self.data_source)
        if self.replacement:
            if self.generator is None:  # a generator of its own, seeded from the global one
                rng = np.random.default_rng(int(rng.integers(2**63)))
            return _draws_with_replacement(rng, n, self.num_samples)
        reps, rest = divmod(self.num_samples, n)
        order = [rng.permutation(n) for _ in range(reps)] + [rng.permutation(n)[:rest]]
        return iter(np.concatenate(order).tolist())

    def __len__(self) -> int:
        return self.num_samples


def _draws_with_replacement(rng: np.random.Generator, n: int, count: int) -> Iterator[int]:
    """`count` indices in [0, n), drawn 32 at a time as they are consumed (as PyTorch): a
    sampler with num_samples=10**10 is an endless stream, not an array of them."""
    while count > 0:
        chunk = min(count, 32)
        yield from rng.integers(0, n, size=chunk).tolist()
        count -= chunk


class SubsetRandomSampler(Sampler):
    """The given indices, in a fresh random order each epoch."""

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        self.indices, self.generator = indices, generator

    def __iter__(self) -> Iterator[int]:
        perm = _numpy_generator(self.generator).permutation(len(self.indices))
        return (self.indices[i] for i in perm.tolist())

    def __len__(self) -> int:
        return len(self.indices)


class BatchSampler(Sampler):
    """Groups the indices of `sampler` into lists of `batch_size` (the last one shorter,
    unless `drop_last`)."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self) -> Iterator[List[int]]:
        batch: List[int] = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# ---- collation -------------------------------------------------------------------------------
def default_convert(data: Any) -> Any:
    """Without batching: numpy arrays (of numbers) become Tensors, inside tuples, lists and
    dicts too; everything else is left as it is."""
    if isinstance(data, np.ndarray) and data.dtype.kind in "biufc":
        return Tensor(data)
    if isinstance(data, Mapping):
        return type(data)({k: default_convert(v) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (tuple, list)):
        return type(data)(default_convert(d) for d in data)
    return data


def default_collate(batch: Sequence[Any]) -> Any:
    """PyTorch's default collation of a list of samples into a batch: Tensors and numpy
    arrays are stacked on a new first axis (a Tensor); ints give an int64 Tensor, floats a
    float64 one, bools a bool one; strings are returned as given (a tuple inside a tuple
    sample); dicts and named tuples are collated field by field, and so are tuples and
    lists, into a list (as PyTorch)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        if any(t.requires_grad for t in batch):
            return stack(list(batch), 0)
        return Tensor(np.stack([t.data for t in batch]))
    if isinstance(elem, (np.ndarray, np.generic)) and not isinstance(elem, (np.str_, np.bytes_)):
        if elem.dtype.kind not in "biufc":
            raise TypeError(
                "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
                f"lists; found {elem.dtype}"
            )
        return Tensor(np.stack([np.asarray(b) for b in batch]))
    if isinstance(elem, bool):
        return Tensor(np.array(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return Tensor(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return Tensor(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, Mapping):
        return type(elem)({key: default_collate([d[key] for d in batch]) for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, Sequence):
        if any(len(e) != len(elem) for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(s) for s in zip(*batch)]  # a tuple gives a list too
    raise TypeError(
        "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        f"found {type(elem)}"
    )


CollateFn = Callable[[List[Any]], Any]
