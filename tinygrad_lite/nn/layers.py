"""Layers: small Modules that hold parameters and call ops."""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Iterator, Optional, Union

import numpy as np

from ..core import ops as core
from ..core.tensor import Tensor
from ..ops import activation as ops_activation
from ..ops import math as ops
from . import init
from .functional import _get_softmax_dim
from .module import Module, Parameter


class Linear(Module):
    """y = x W^T + b: x (N, in_features) -> y (N, out_features).

    `weight` (out_features, in_features) — the notebook's W1 layout and PyTorch's — and `bias`
    (out_features,). Initialised as PyTorch: Kaiming-uniform weight and
    bias ~ U(-1/sqrt(in), 1/sqrt(in)).
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, dtype: Any = np.float32
    ):
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        if self.bias is None:
            return core.Linear.apply(x, self.weight)
        return core.Linear.apply(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class ReLU(Module):
    """max(0, x), elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return core.ReLU.apply(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.Sigmoid.apply(x)


class Tanh(Module):
    """tanh(x), elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.Tanh.apply(x)


class Softmax(Module):
    """exp(x) / sum(exp(x)) along `dim` (stable); `axis=` is accepted too."""

    def __init__(self, dim: Optional[int] = -1, *, axis: Optional[int] = None):
        self.dim = dim if axis is None else axis

    def forward(self, x: Tensor) -> Tensor:
        return ops.Softmax.apply(x, axis=-1 if self.dim is None else self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Flatten(Module):
    """Merge axes start_dim..end_dim: (N, 1, 28, 28) -> (N, 784) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis `dim` into `unflattened_size`: ``Unflatten(1, (1, 28, 28))`` takes (N, 784)
    pixel rows to (N, 1, 28, 28) images (PyTorch's ``nn.Unflatten``; one size may be -1)."""

    def __init__(self, dim: int, unflattened_size: Any):
        self.dim, self.unflattened_size = int(dim), tuple(int(s) for s in unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        dim = self.dim % x.ndim
        return x.reshape(*x.shape[:dim], *self.unflattened_size, *x.shape[dim + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Identity(Module):
    """y = x (a placeholder layer; constructor arguments are accepted and ignored, as in
    PyTorch)."""

    def __init__(self, *args: Any, **kwargs: Any):
        pass

    def forward(self, x: Any) -> Any:
        return x


class LeakyReLU(Module):
    """x where x > 0, negative_slope * x elsewhere, elementwise."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        if inplace:
            raise NotImplementedError("LeakyReLU(inplace=True) is not supported")
        self.negative_slope = float(negative_slope)

    def forward(self, x: Tensor) -> Tensor:
        return ops_activation.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class GELU(Module):
    """x * Phi(x), Phi the standard normal CDF (approximate="none", exact via erf), or
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (approximate="tanh")."""

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(
                f"GELU: approximate argument must be either none or tanh, got {approximate!r}"
            )
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return ops_activation.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class ELU(Module):
    """x where x > 0, alpha * (exp(x) - 1) elsewhere, elementwise."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        if inplace:
            raise NotImplementedError("ELU(inplace=True) is not supported")
        self.alpha = alpha  # as given: repr as PyTorch's

    def forward(self, x: Tensor) -> Tensor:
        return ops_activation.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, elementwise; x itself where beta x > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        self.beta, self.threshold = beta, threshold  # as given: repr as PyTorch's

    def forward(self, x: Tensor) -> Tensor:
        return ops_activation.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class SiLU(Module):
    """x * sigmoid(x), elementwise (the swish)."""

    def __init__(self, inplace: bool = False):
        if inplace:
            raise NotImplementedError("SiLU(inplace=True) is not supported")

    def forward(self, x: Tensor) -> Tensor:
        return ops_activation.silu(x)


class Hardtanh(Module):
    """x clamped to [min_val, max_val], elementwise (no gradient at the bounds)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        if inplace:
            raise NotImplementedError("Hardtanh(inplace=True) is not supported")
        if min_val > max_val:
            raise ValueError("min_val cannot be greater than max_val")
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x: Tensor) -> Tensor:
        return ops_activation.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class LogSoftmax(Module):
    """log(softmax(x)) along `dim`, computed stably as x - logsumexp(x)."""

    def __init__(self, dim: Optional[int] = None):
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        dim = _get_softmax_dim("log_softmax", x.ndim) if self.dim is None else self.dim
        if x.ndim == 0:
            if dim not in (0, -1):
                raise IndexError(f"Dimension out of range (expected to be in range of [-1, 0], "
                                 f"but got {dim})")
            return ops.LogSoftmax.apply(x.reshape(1), axis=0).reshape(())
        return ops.LogSoftmax.apply(x, axis=dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Sequential(Module):
    """Modules applied in order: Sequential(a, b, c)(x) == c(b(a(x))).

    Children are named "0", "1", ... or, given one `OrderedDict`, by its keys (as PyTorch):
    `Sequential(OrderedDict([("fc", Linear(4, 2)), ("act", ReLU())]))` has parameters
    "fc.weight", "fc.bias". Indexing by position (and slicing, which keeps the names), `len`,
    iteration, `append` and `extend` work as on a list.
    """

    def __init__(self, *args: Any):
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def _index(self, index: int) -> int:
        n = len(self)
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"Sequential indices must be integers or slices, not "
                            f"{type(index).__name__}")
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range")
        return int(index) % n

    def __getitem__(self, index: Union[int, slice]) -> Any:
        items = self._child_items()
        if isinstance(index, slice):
            return type(self)(OrderedDict(items[index]))
        return items[self._index(index)][1]

    def __setitem__(self, index: int, module: Module) -> None:
        name = self._child_items()[self._index(index)][0]
        self.add_module(name, module)

    def __delitem__(self, index: Union[int, slice]) -> None:
        """Remove modules, then renumber the remaining ones "0", "1", ... (as PyTorch)."""
        items = self._child_items()
        doomed = items[index] if isinstance(index, slice) else [items[self._index(index)]]
        for name, _ in doomed:
            delattr(self, name)
        rest = self._child_items()
        for name, _ in rest:
            delattr(self, name)
        for i, (_, module) in enumerate(rest):
            setattr(self, str(i), module)

    def __len__(self) -> int:
        return len(self._child_items())

    def __iter__(self) -> Iterator[Module]:
        return iter([m for _, m in self._child_items()])

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Any) -> Sequential:
        for module in modules:
            self.append(module)
        return self

    def forward(self, x: Any) -> Any:
        for module in self:
            x = module(x)
        return x
