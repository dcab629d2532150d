"""Gradient clipping, as PyTorch's `torch.nn.utils`: `clip_grad_norm_`, `clip_grad_value_`."""

from __future__ import annotations

from typing import Any, Iterable, Union

import numpy as np

from ..core.tensor import Tensor

Parameters = Union[Tensor, Iterable[Tensor]]


def _grads(parameters: Parameters) -> list:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def clip_grad_norm_(parameters: Parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: Any = None) -> Tensor:
    """Scale the gradients in place so that their total `norm_type`-norm (all gradients as
    one vector) is at most `max_norm`: each g becomes g * min(1, max_norm / (norm + 1e-6)).
    Returns the total norm before clipping, a 0-d tensor."""
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor._make(np.array(0.0, dtype=np.float32))
    norms = [_norm(g.data, norm_type) for g in grads]
    total = _norm(np.stack(norms), norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    eps, limit = total.dtype.type(1e-6), total.dtype.type(max_norm)
    coef = np.minimum(limit / (total + eps), total.dtype.type(1.0))  # in the norm's dtype
    for g in grads:
        g.data *= coef.astype(g.dtype)
        g._bump_version()
    return Tensor._make(np.asarray(total))


def _norm(x: np.ndarray, p: float) -> np.ndarray:
    """The p-norm of all of x's elements, as `Tensor.norm` (inf: the largest |x|)."""
    a = np.abs(x)
    if p == np.inf:
        return a.max(initial=0)
    if p == -np.inf:
        return a.min()
    if p == 0:
        return np.asarray((a != 0).sum(), dtype=x.dtype)
    return np.asarray((a**p).sum() ** (1 / p), dtype=x.dtype)


def clip_grad_value_(parameters: Parameters, clip_value: float, foreach: Any = None) -> None:
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        np.clip(g.data, -clip_value, clip_value, out=g.data)
        g._bump_version()
