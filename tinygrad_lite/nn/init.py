"""Parameter initialisers: in place, with PyTorch's `torch.nn.init` names and signatures.

    init.xavier_uniform_(w, gain=init.calculate_gain("tanh"))
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")

Each writes into `tensor.data` in place, bumps the tensor's version (`Tensor._version`: a graph
that saved the old values will refuse to backpropagate) and returns the tensor. The random
ones take `generator` (PyTorch's name; also accepted as the keyword `rng`): a
`np.random.Generator` or a legacy `np.random.RandomState` (anything with `.random(shape)` and
`.standard_normal(shape)`); the default is the generator seeded by `tl.manual_seed`.

Fans, as PyTorch: for a weight of shape (out, in, *kernel), receptive = prod(kernel),
fan_in = in * receptive and fan_out = out * receptive; fewer than 2 axes is an error.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Optional

from ..core.tensor import Tensor
from ..random import as_numpy


def _generator(generator: Optional[Any], rng: Optional[Any]) -> Any:
    if generator is not None and rng is not None:
        raise TypeError("pass the random generator as `generator` or `rng`, not both")
    chosen = generator if generator is not None else rng
    return as_numpy(chosen)  # None: the default generator; a tl.Generator: its numpy one


def _fill(tensor: Tensor, values: Any) -> Tensor:
    tensor.data[...] = values
    tensor._bump_version()
    return tensor


def calculate_gain(nonlinearity: str, param: Optional[float] = None) -> float:
    """The recommended gain for `nonlinearity` (PyTorch's table).

    linear, conv*, sigmoid: 1;  tanh: 5/3;  relu: sqrt(2);
    leaky_relu: sqrt(2 / (1 + a^2)) with a = param (default 0.01);  selu: 3/4.
    """
    linear_fns = [
        "linear", "conv1d", "conv2d", "conv3d",
        "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    ]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, numbers.Number):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple:
    """(fan_in, fan_out) of a weight (out, in, *kernel): in * receptive, out * receptive."""
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _no_elements(tensor: Tensor) -> bool:
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


# ---- fills --------------------------------------------------------------------------------


def uniform_(
    tensor: Tensor, a: float = 0.0, b: float = 1.0,
    generator: Optional[Any] = None, *, rng: Optional[Any] = None,
) -> Tensor:
    """Fill with U[a, b): a + (b - a) * U[0, 1).

    `uniform_(t, -0.5, 0.5, rng)` is the notebook's `np.random.rand(*shape) - 0.5` bit for bit
    when `rng` is the same stream (e.g. `np.random.RandomState(seed)` for `np.random.seed(seed)`).
    """
    gen = _generator(generator, rng)
    return _fill(tensor, a + (b - a) * gen.random(tensor.shape))


def normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0,
    generator: Optional[Any] = None, *, rng: Optional[Any] = None,
) -> Tensor:
    """Fill with N(mean, std^2) samples: mean + std * standard normal."""
    gen = _generator(generator, rng)
    return _fill(tensor, mean + std * gen.standard_normal(tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with the value `val`."""
    return _fill(tensor, val)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return _fill(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return _fill(tensor, 1)


def notebook_uniform_(tensor: Tensor, rng: Optional[Any] = None) -> Tensor:
    """The notebook's init: U[-0.5, 0.5) for weights and biases alike."""
    return uniform_(tensor, -0.5, 0.5, rng)


# ---- scaled by the fans ---------------------------------------------------------------------


def _xavier_std(tensor: Tensor, gain: float) -> float:
    """Glorot's standard deviation: gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return gain * math.sqrt(2.0 / float(fan_in + fan_out))


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    """He's standard deviation: calculate_gain(nonlinearity, a) / sqrt(fan of `mode`)."""
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def xavier_uniform_(
    tensor: Tensor, gain: float = 1.0, generator: Optional[Any] = None, *, rng: Optional[Any] = None
) -> Tensor:
    """Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    std = _xavier_std(tensor, gain)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, _generator(generator, rng))


def xavier_normal_(
    tensor: Tensor, gain: float = 1.0, generator: Optional[Any] = None, *, rng: Optional[Any] = None
) -> Tensor:
    """Glorot normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    std = _xavier_std(tensor, gain)
    return normal_(tensor, 0.0, std, _generator(generator, rng))


def kaiming_uniform_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
    generator: Optional[Any] = None, *, rng: Optional[Any] = None,
) -> Tensor:
    """He uniform: U(-bound, bound), bound = gain * sqrt(3 / fan), gain =
    calculate_gain(nonlinearity, a), fan = fan_in or fan_out (`mode`).

    With a = sqrt(5) (PyTorch's Linear/Conv default) the bound is 1 / sqrt(fan_in).
    """
    if _no_elements(tensor):
        return tensor
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, _generator(generator, rng))


def kaiming_normal_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
    generator: Optional[Any] = None, *, rng: Optional[Any] = None,
) -> Tensor:
    """He normal: N(0, std^2), std = calculate_gain(nonlinearity, a) / sqrt(fan)."""
    if _no_elements(tensor):
        return tensor
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    return normal_(tensor, 0.0, std, _generator(generator, rng))


__all__ = [
    "calculate_gain",
    "constant_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "notebook_uniform_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]
