"""Scaled dot-product attention, composed of matmuls and the fused last-axis softmax:

    attention(Q, K, V) = softmax(Q K^T * scale + mask) V,   scale = 1 / sqrt(E) by default

for Q (..., L, E), K (..., S, E), V (..., S, Ev); its gradients (of any order) are those of
the ops it is made of. PyTorch's `F.scaled_dot_product_attention` (re-exported by nn.functional).
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from ..core.tensor import Tensor, as_tensor
from ..random import get_rng
from . import math as ops
from .conv import Dropout


def mask_array(mask: Any) -> np.ndarray:
    return mask.data if isinstance(mask, Tensor) else np.asarray(mask)


def safe_softmax(scores: Tensor) -> Tensor:
    """softmax over the last axis, 0 (not nan) on rows where every score is -inf, as
    PyTorch's attention does for a fully masked query."""
    dead = np.isneginf(scores.data).all(axis=-1, keepdims=True)
    if not dead.any():
        return ops.Softmax.apply(scores, axis=-1)
    shifted = scores.masked_fill(np.broadcast_to(dead, scores.shape), 0.0)
    probs = ops.Softmax.apply(shifted, axis=-1)
    return probs.masked_fill(np.broadcast_to(dead, probs.shape), 0.0)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Any = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: Optional[float] = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(query key^T * scale + mask) value over the last two axes, batch axes
    broadcasting. A bool `attn_mask` says which keys each query may attend to (True: take
    part); a float one is added to the scores. `is_causal` lets query i see keys j <= i (the
    top-left triangle; an explicit mask then is an error). Rows with no key to attend to give
    0. Dropout on the attention weights with probability `dropout_p`."""
    if enable_gqa:
        raise NotImplementedError("scaled_dot_product_attention: enable_gqa is not supported")
    q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise RuntimeError("scaled_dot_product_attention: query, key and value need at least "
                           "2 dimensions (..., L, E)")
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                           "set when is_causal=True")
    factor = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    scores = (q * factor) @ k.transpose(-2, -1)
    length, source = scores.shape[-2], scores.shape[-1]
    if is_causal:
        attn_mask = np.tril(np.ones((length, source), dtype=bool))
    if attn_mask is not None:
        mask = mask_array(attn_mask)
        if mask.dtype == np.bool_:
            scores = scores.masked_fill(np.broadcast_to(~mask, scores.shape), -np.inf)
        else:
            scores = scores + (attn_mask if isinstance(attn_mask, Tensor)
                               else mask.astype(scores.dtype))
    weights = safe_softmax(scores)
    if dropout_p > 0.0:
        weights = Dropout.apply(weights, p=dropout_p, rng=get_rng())
    return weights @ v
