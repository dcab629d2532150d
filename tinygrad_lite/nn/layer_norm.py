"""`nn.LayerNorm` and `F.layer_norm`: normalisation over each sample's last axes (PyTorch's)."""

from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import numpy as np

from ..core.tensor import Tensor, as_tensor
from ..ops.sequence import LayerNorm as LayerNormOp
from .module import Module, Parameter

Shape = Union[int, Tuple[int, ...], list]


def _shape(normalized_shape: Shape) -> Tuple[int, ...]:
    if isinstance(normalized_shape, (int, np.integer)):
        return (int(normalized_shape),)
    return tuple(int(n) for n in normalized_shape)


def layer_norm(input: Tensor, normalized_shape: Shape, weight: Optional[Tensor] = None,
               bias: Optional[Tensor] = None, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias, mean and (biased) var over the last
    len(normalized_shape) axes, which must be `normalized_shape`."""
    x = as_tensor(input)
    shape = _shape(normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size"
                           f"{list(x.shape)}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {list(p.shape)} and normalized_shape = "
                               f"{list(shape)}")
    if weight is None and bias is not None:
        weight = Tensor._make(np.ones(shape, dtype=bias.dtype), False, None)
    params = () if weight is None else (weight,) if bias is None else (weight, bias)
    affine = (weight is not None, bias is not None)
    return LayerNormOp.apply(x, *params, k=k, eps=float(eps), affine=affine)


class LayerNorm(Module):
    """Layer normalisation over the last axes, which must be `normalized_shape`:
    y = (x - mean) / sqrt(var + eps) * weight + bias (biased var, per sample).

    `weight` (ones) and `bias` (zeros) of shape normalized_shape when `elementwise_affine`
    (bias only when `bias=True`), as PyTorch.
    """

    def __init__(self, normalized_shape: Shape, eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device: Any = None,
                 dtype: Any = np.float32):
        self.normalized_shape = _shape(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            self.bias = (Parameter(np.zeros(self.normalized_shape, dtype=dtype)) if bias
                         else None)
        else:
            self.weight = self.bias = None

    def reset_parameters(self) -> None:
        if self.weight is not None:
            self.weight.data[...] = 1
        if self.bias is not None:
            self.bias.data[...] = 0

    def forward(self, input: Tensor) -> Tensor:
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
