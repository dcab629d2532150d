"""Parameter initialisers (in place, PyTorch's `torch.nn.init` names).

Each takes an optional `rng`: a `np.random.Generator` or a legacy `np.random.RandomState`
(anything with `.random(shape)`); the default is the generator seeded by `tl.manual_seed`.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from ..random import get_rng
from ..tensor import Tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, rng: Optional[Any] = None) -> Tensor:
    """Fill with U[a, b): a + (b - a) * U[0, 1).

    `uniform_(t, -0.5, 0.5, rng)` is the notebook's `np.random.rand(*shape) - 0.5` bit for bit
    when `rng` is the same stream (e.g. `np.random.RandomState(seed)` for `np.random.seed(seed)`).
    """
    rng = get_rng() if rng is None else rng
    tensor.data[...] = a + (b - a) * rng.random(tensor.shape)
    return tensor


def notebook_uniform_(tensor: Tensor, rng: Optional[Any] = None) -> Tensor:
    """The notebook's init: U[-0.5, 0.5) for weights and biases alike."""
    return uniform_(tensor, -0.5, 0.5, rng)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, rng: Optional[Any] = None) -> Tensor:
    """U[-bound, bound) with bound = sqrt(2 / (1 + a^2)) * sqrt(3 / fan_in).

    fan_in = tensor.shape[1] * (product of the remaining axes), as PyTorch. With a = sqrt(5)
    (PyTorch's Linear/Conv default) the bound is 1 / sqrt(fan_in).
    """
    fan_in = tensor.shape[1] if tensor.ndim > 1 else tensor.shape[0]
    for n in tensor.shape[2:]:
        fan_in *= n
    gain = math.sqrt(2.0 / (1 + a * a))
    bound = gain * math.sqrt(3.0 / fan_in) if fan_in else 0.0
    return uniform_(tensor, -bound, bound, rng)


def zeros_(tensor: Tensor) -> Tensor:
    tensor.data[...] = 0
    return tensor


def ones_(tensor: Tensor) -> Tensor:
    tensor.data[...] = 1
    return tensor
