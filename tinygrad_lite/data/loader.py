"""Mini-batches (PyTorch's DataLoader over a dataset, or numpy batches of arrays) and the
small conversions between raw pixels, floats and labels."""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator, Optional, Tuple, Union

import numpy as np
from numpy.typing import DTypeLike

from ..core.tensor import Tensor
from .datasets import (
    BatchSampler,
    RandomSampler,
    SequentialSampler,
    TensorDataset,
    default_collate,
    default_convert,
)
from .files import DataError

__all__ = ["DataLoader", "one_hot", "to_float"]


_ARRAY_DEFAULTS = dict(y=None, batch_size=128, shuffle=False, drop_last=False, rng=None)
_ARRAY_ORDER = ("y", "batch_size", "shuffle", "drop_last", "rng")


def _is_number(x: Any) -> bool:
    return x is None or isinstance(x, (int, np.integer))


class DataLoader:
    """Mini-batches, in two forms that share this class.

    PyTorch's (`torch.utils.data.DataLoader`), for a dataset (anything with `__getitem__` and
    `__len__`, e.g. `TensorDataset`)::

        DataLoader(dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                   num_workers=0, collate_fn=None, pin_memory=False, drop_last=False,
                   timeout=0, worker_init_fn=None, multiprocessing_context=None,
                   generator=None, *, prefetch_factor=None, persistent_workers=False,
                   pin_memory_device="", in_order=True)

    yields `collate_fn([dataset[i] for i in batch])` for each list of indices of the batch
    sampler (`default_collate`: Tensors). `shuffle` draws a new order each epoch from
    `generator` (a `np.random.Generator`, an int seed, or None for the framework's global
    generator). Samples are loaded in this process whatever `num_workers` says (the
    batches are the same).

    This package's array loader, for a numpy array of samples (and optional labels)::

        DataLoader(X, y=None, batch_size=128, shuffle=False, drop_last=False, rng=None)

    yields numpy `(xb, yb)` batches (`xb` alone without `y`): slices in order, or a fresh
    permutation from `rng` (None, an int seed or a `np.random.Generator`) each epoch. This
    form is chosen when `X` is a numpy array, or `y` / `rng` is given; wrap arrays in a
    `TensorDataset` for PyTorch's form.

    `len(loader)` is the number of batches, `loader.dataset` the data.
    """

    def __init__(self, dataset: Any, *args: Any, **kwargs: Any) -> None:
        arrays = (
            isinstance(dataset, np.ndarray)
            or "y" in kwargs
            or "rng" in kwargs
            or (args and not _is_number(args[0]))
        )
        if arrays:
            self._init_arrays(dataset, *args, **kwargs)
        else:
            self._init_dataset(dataset, *args, **kwargs)

    # ---- PyTorch's form --------------------------------------------------------------------
    def _init_dataset(
        self,
        dataset: Any,
        batch_size: Optional[int] = 1,
        shuffle: Optional[bool] = None,
        sampler: Any = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        collate_fn: Optional[Callable] = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Optional[Callable] = None,
        multiprocessing_context: Any = None,
        generator: Any = None,
        *,
        prefetch_factor: Optional[int] = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable "
                "multiprocessing."
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing. let "
                "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None."
            )
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive "
                "with drop_last"
            )
        if sampler is None:
            sampler = (
                RandomSampler(dataset, generator=generator)
                if shuffle
                else SequentialSampler(dataset)
            )
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self._arrays = False
        self.dataset = dataset
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.worker_init_fn, self.prefetch_factor = worker_init_fn, prefetch_factor
        self.persistent_workers, self.in_order = persistent_workers, in_order
        self.multiprocessing_context, self.pin_memory_device = (
            multiprocessing_context, pin_memory_device
        )
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn

    def _batches(self) -> Iterator[Any]:
        dataset, collate = self.dataset, self.collate_fn
        if self.batch_sampler is None:
            for i in self.sampler:
                yield collate(dataset[i])
            return
        fast = _fast_tensor_dataset(dataset) if collate is default_collate else None
        for indices in self.batch_sampler:
            if fast is not None:  # a TensorDataset of plain arrays: one gather per field
                index = np.asarray(indices, dtype=np.intp)
                yield [Tensor(a[index]) for a in fast]
            else:
                yield collate([dataset[i] for i in indices])

    # ---- the array loader ------------------------------------------------------------------
    def _init_arrays(self, X: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(_ARRAY_ORDER):
            raise TypeError(f"DataLoader: too many positional arguments ({len(args) + 1})")
        options = dict(_ARRAY_DEFAULTS)
        for name, value in zip(_ARRAY_ORDER, args):
            if name in kwargs:
                raise TypeError(f"DataLoader: got multiple values for argument '{name}'")
            options[name] = value
        unknown = set(kwargs) - set(_ARRAY_DEFAULTS)
        if unknown:
            raise TypeError(
                f"DataLoader of arrays: unexpected keyword argument {sorted(unknown)[0]!r} "
                "(wrap the arrays in a TensorDataset for PyTorch's options)"
            )
        options.update(kwargs)
        y, batch_size, rng = options["y"], options["batch_size"], options["rng"]
        X = np.asarray(X)
        if X.ndim == 0:
            raise DataError(f"DataLoader: X must have a sample axis, got a scalar {X!r}")
        if y is not None:
            y = np.asarray(y)
            if y.ndim == 0 or len(y) != len(X):
                got = y.shape if y.ndim else "a scalar"
                raise DataError(
                    f"DataLoader: X has {len(X)} samples (shape {X.shape}) but y has "
                    f"{len(y) if y.ndim else 'no sample axis'} (shape {got})"
                )
        if (
            isinstance(batch_size, (bool, np.bool_))
            or not isinstance(batch_size, (int, np.integer))
            or batch_size <= 0
        ):
            raise DataError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if rng is None or isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
            rng = np.random.default_rng(rng)
        elif not isinstance(rng, np.random.Generator):
            raise DataError(
                f"DataLoader: rng must be None, an int seed or a np.random.Generator, "
                f"got {type(rng).__name__}"
            )
        self._arrays = True
        self.X, self.y = X, y
        self.dataset = X
        self.batch_size = int(batch_size)
        self.shuffle = bool(options["shuffle"])
        self.drop_last = bool(options["drop_last"])
        self.rng = rng

    def _array_batches(self) -> Iterator[Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]]:
        n, b = len(self.X), self.batch_size
        perm = self.rng.permutation(n) if self.shuffle else None
        for i in range(len(self)):
            sel = slice(i * b, min((i + 1) * b, n)) if perm is None else perm[i * b : (i + 1) * b]
            xb = self.X[sel]
            yield xb if self.y is None else (xb, self.y[sel])

    # ---- both ------------------------------------------------------------------------------
    def __len__(self) -> int:
        if self._arrays:
            n, b = len(self.X), self.batch_size
            return n // b if self.drop_last else -(-n // b)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def __iter__(self) -> Iterator[Any]:
        return self._array_batches() if self._arrays else self._batches()


def _fast_tensor_dataset(dataset: Any) -> Optional[list]:
    """The fields of a TensorDataset as numpy arrays, when gathering rows from them gives
    what default_collate of its samples would (no field requires grad)."""
    if type(dataset) is not TensorDataset:
        return None
    fields = []
    for t in dataset.tensors:
        if isinstance(t, Tensor) and not t.requires_grad:
            fields.append(t.data)
        elif isinstance(t, np.ndarray) and t.dtype.kind in "biufc":
            fields.append(t)
        else:
            return None
    return fields


def to_float(images: np.ndarray, dtype: DTypeLike = np.float32, order: str = "C") -> np.ndarray:
    """uint8 images ``(N, H, W)`` (or already ``(N, D)``) -> ``(N, H*W)`` floats in [0, 1].

    ``order="F"`` lays the result out column-major, i.e. as the transpose of the notebook's
    ``(H*W, N)`` array, written directly (no second copy in memory).
    """
    images = np.asarray(images)
    if images.dtype.kind not in "ui":
        raise DataError(
            f"to_float: expected raw integer pixels 0..255 (uint8), got dtype {images.dtype} "
            f"(already converted?)"
        )
    if images.ndim < 2:
        raise DataError(f"to_float: expected (N, H, W) or (N, D) images, got shape {images.shape}")
    if np.dtype(dtype).kind != "f":
        raise DataError(f"to_float: dtype must be a float type, got {np.dtype(dtype)}")
    flat = images.reshape(len(images), math.prod(images.shape[1:]))  # -1 fails for N = 0
    out = np.empty(flat.shape, dtype=dtype, order=order)
    return np.divide(flat, np.dtype(dtype).type(255), out=out)


def one_hot(labels: np.ndarray, num_classes: int = 10, dtype: DTypeLike = np.float32) -> np.ndarray:
    """Integer labels ``(N,)`` -> ``(N, num_classes)`` one-hot rows."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "ui":
        raise DataError(
            f"one_hot: expected 1-D integer labels, got {labels.dtype} shape {labels.shape}"
        )
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        bad = int(np.flatnonzero((labels < 0) | (labels >= num_classes))[0])
        raise DataError(
            f"one_hot: label {int(labels[bad])} at index {bad} outside 0..{num_classes - 1}"
        )
    out = np.zeros((len(labels), num_classes), dtype=dtype)
    out[np.arange(len(labels)), labels] = 1
    return out
