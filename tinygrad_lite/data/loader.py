"""Mini-batches and the small conversions between raw pixels, floats and labels."""

from __future__ import annotations

import math
from typing import Iterator, Optional, Tuple, Union

import numpy as np
from numpy.typing import DTypeLike

from .files import DataError

__all__ = ["DataLoader", "one_hot", "to_float"]


class DataLoader:
    """Iterate over ``(xb, yb)`` numpy mini-batches (or ``xb`` alone when ``y`` is None).

    Args:
        X: array with samples along axis 0.
        y: optional array with ``len(y) == len(X)``.
        batch_size: samples per batch (> 0); the last batch may be smaller unless
            ``drop_last``.
        shuffle: draw a fresh permutation from ``rng`` at the start of every epoch (every
            ``iter()``); otherwise batches are consecutive slices (views) in order.
        drop_last: skip the final incomplete batch.
        rng: ``None`` (fresh unseeded generator), an int seed, or a ``np.random.Generator``.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: Optional[np.ndarray] = None,
        batch_size: int = 128,
        shuffle: bool = False,
        drop_last: bool = False,
        rng: Union[None, int, np.random.Generator] = None,
    ) -> None:
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
        self.X, self.y = X, y
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.rng = rng

    def __len__(self) -> int:
        n, b = len(self.X), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]]:
        n, b = len(self.X), self.batch_size
        perm = self.rng.permutation(n) if self.shuffle else None
        for i in range(len(self)):
            sel = slice(i * b, min((i + 1) * b, n)) if perm is None else perm[i * b : (i + 1) * b]
            xb = self.X[sel]
            yield xb if self.y is None else (xb, self.y[sel])


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
