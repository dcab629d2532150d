"""The framework's random state: `tl.manual_seed`, and `randn`/`rand` that draw from it."""

from __future__ import annotations

from typing import Any

import numpy as np

from .core.tensor import Tensor
from .ops.factories import _size

_rng = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator used by initialisers, dropout and the random factories."""
    global _rng
    _rng = np.random.default_rng(seed)
    return _rng


def get_rng() -> np.random.Generator:
    return _rng


def randn(*shape: Any, requires_grad: bool = False, dtype: Any = np.float32) -> Tensor:
    """Standard normal samples: `randn(2, 3)`, `randn((2, 3))` or `randn([2, 3])`."""
    shape, dtype = _size(shape, "randn"), np.float32 if dtype is None else dtype
    return Tensor(_rng.standard_normal(shape).astype(dtype), requires_grad=requires_grad)


def rand(*shape: Any, requires_grad: bool = False, dtype: Any = np.float32) -> Tensor:
    """U[0, 1) samples: `rand(2, 3)`, `rand((2, 3))` or `rand([2, 3])`."""
    shape, dtype = _size(shape, "rand"), np.float32 if dtype is None else dtype
    return Tensor(_rng.random(shape).astype(dtype), requires_grad=requires_grad)

