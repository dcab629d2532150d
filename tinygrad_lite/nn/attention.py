"""`nn.MultiheadAttention` (PyTorch's), on the attention of ops/attention.py."""

from __future__ import annotations

import math
from typing import Any, Optional, Tuple

import numpy as np

from ..core.tensor import Tensor, as_tensor
from ..ops.attention import mask_array as _mask_array
from ..ops.attention import safe_softmax as _safe_softmax
from ..ops.attention import scaled_dot_product_attention  # noqa: F401 - nn.attention's too
from ..ops.conv import Dropout
from ..ops.factories import cat
from ..random import get_rng
from . import init
from .layers import Linear
from .module import Module, Parameter

# ---- multi-head attention -------------------------------------------------------------------


def _merge_masks(attn_mask: Any, key_padding_mask: Any, dtype: np.dtype, batch: int,
                 heads: int, length: int, source: int) -> Optional[np.ndarray]:
    """One additive mask (batch, heads, L, S) (or broadcastable to it) from MultiheadAttention's
    attn_mask ((L, S) or (batch * heads, L, S); bool True = may NOT attend) and
    key_padding_mask ((batch, S); True = ignore that key), -inf where masked; None if neither.
    """

    def additive(mask: Any) -> np.ndarray:
        m = _mask_array(mask)
        if m.dtype == np.bool_:
            return np.where(m, -np.inf, 0.0).astype(dtype)
        if m.dtype.kind != "f":
            raise AssertionError(f"only bool and floating types of masks are supported, got "
                                 f"{m.dtype}")
        return m.astype(dtype)

    out = None
    if attn_mask is not None:
        m = additive(attn_mask)
        if m.ndim == 2:
            if m.shape != (length, source):
                raise RuntimeError(f"The shape of the 2D attn_mask is {m.shape}, but should be "
                                   f"{(length, source)}.")
            out = m
        elif m.ndim == 3:
            if m.shape != (batch * heads, length, source):
                raise RuntimeError(f"The shape of the 3D attn_mask is {m.shape}, but should be "
                                   f"{(batch * heads, length, source)}.")
            out = m.reshape(batch, heads, length, source)
        else:
            raise RuntimeError(f"attn_mask's dimension {m.ndim} is not supported")
    if key_padding_mask is not None:
        p = additive(key_padding_mask)
        if p.shape != (batch, source):
            raise AssertionError(f"expecting key_padding_mask shape of {(batch, source)}, but "
                                 f"got {p.shape}")
        p = p.reshape(batch, 1, 1, source)
        out = p if out is None else out + p
    return out


class MultiheadAttention(Module):
    """Attention with `num_heads` heads over embed_dim = num_heads * head_dim (PyTorch's):

        Q = query W_q^T + b_q, K = key W_k^T + b_k, V = value W_v^T + b_v   (split in heads)
        head_i = softmax(Q_i K_i^T / sqrt(head_dim) + mask) V_i
        output = concat(heads) W_o^T + b_o

    Parameters as PyTorch names them: `in_proj_weight` (3 E, E) holding W_q, W_k, W_v
    (xavier-uniform), or `q_proj_weight`, `k_proj_weight`, `v_proj_weight` when kdim or vdim
    differ from E; `in_proj_bias` (3 E,) zeros; `out_proj` a Linear whose bias starts at 0.
    add_bias_kv appends a learned key `bias_k` and value `bias_v` (1, 1, E) (xavier-normal)
    to the projected keys and values, add_zero_attn a key and value of zeros to each head's;
    masks let every query attend to these extra keys.
    Inputs are (L, N, E) sequences first, (N, L, E) with batch_first, or unbatched (L, E).
    forward returns (output, weights): weights (N, L, S) averaged over heads, (N, heads, L, S)
    with average_attn_weights=False, None with need_weights=False.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: Optional[int] = None, vdim: Optional[int] = None,
                 batch_first: bool = False, device: Any = None, dtype: Any = np.float32):
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype=dtype))
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:
            self.in_proj_weight = None
            self.q_proj_weight = Parameter(np.empty((embed_dim, embed_dim), dtype=dtype))
            self.k_proj_weight = Parameter(np.empty((embed_dim, self.kdim), dtype=dtype))
            self.v_proj_weight = Parameter(np.empty((embed_dim, self.vdim), dtype=dtype))
        self.in_proj_bias = Parameter(np.empty(3 * embed_dim, dtype=dtype)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if add_bias_kv:  # one more key and value, learned, that every query may attend to
            self.bias_k = Parameter(np.empty((1, 1, embed_dim), dtype=dtype))
            self.bias_v = Parameter(np.empty((1, 1, embed_dim), dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn  # one more key and value of zeros, per head
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _projections(self, query: Tensor, key: Tensor, value: Tensor) -> Tuple[Tensor, ...]:
        e = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            wq, wk, wv = w[:e], w[e:2 * e], w[2 * e:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight

        def project(x: Tensor, w: Tensor, bias: Optional[Tensor]) -> Tensor:
            y = x @ w.transpose(0, 1)
            return y if bias is None else y + bias

        if query is key and key is value and self._qkv_same_embed_dim:  # one product
            qkv = project(query, self.in_proj_weight, b)
            return qkv[..., :e], qkv[..., e:2 * e], qkv[..., 2 * e:]
        return project(query, wq, bq), project(key, wk, bk), project(value, wv, bv)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Any = None,
                need_weights: bool = True, attn_mask: Any = None,
                average_attn_weights: bool = True,
                is_causal: bool = False) -> Tuple[Tensor, Optional[Tensor]]:
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use "
                               "the Transformer module method `generate_square_subsequent_mask`"
                               " to create this mask.")
        query, key, value = as_tensor(query), as_tensor(key), as_tensor(value)
        batched = query.ndim == 3
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but "
                                 f"received {query.ndim}-D query tensor")
        if not batched:  # (L, E): a batch of one
            query, key, value = (t.unsqueeze(1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = _mask_array(key_padding_mask)[None]
            if attn_mask is not None and _mask_array(attn_mask).ndim == 3:
                attn_mask = _mask_array(attn_mask)
        elif self.batch_first:  # (N, L, E) -> (L, N, E)
            same_kv = key is value
            same_qk = query is key
            query = query.transpose(0, 1)
            key = query if same_qk else key.transpose(0, 1)
            value = key if same_kv else value.transpose(0, 1)
        length, batch, e = query.shape
        if e != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, but "
                                 f"got {e}")
        source = key.shape[0]
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(f"key shape {key.shape} does not match value shape "
                                 f"{value.shape}")
        q, k, v = self._projections(query, key, value)
        h, d = self.num_heads, self.head_dim
        mask = _merge_masks(attn_mask, key_padding_mask, q.dtype, batch, h, length, source)
        extra = 0  # keys added after the given ones, which no mask hides
        if self.bias_k is not None:
            k = cat([k, self.bias_k.expand(1, batch, e)])
            v = cat([v, self.bias_v.expand(1, batch, e)])
            extra += 1

        def heads(t: Tensor, n: int) -> Tensor:  # (n, N, E) -> (N, h, n, d)
            return t.reshape(n, batch, h, d).permute(1, 2, 0, 3)

        q, k, v = heads(q, length), heads(k, source + extra), heads(v, source + extra)
        if self.add_zero_attn:
            zeros = np.zeros((batch, h, 1, d), q.dtype)
            k, v = cat([k, zeros], dim=2), cat([v, zeros], dim=2)
            extra += 1
        if mask is not None and extra:
            mask = np.pad(mask, [(0, 0)] * (mask.ndim - 1) + [(0, extra)])
        scores = (q * (1.0 / math.sqrt(d))) @ k.transpose(-2, -1)
        if mask is not None:
            scores = scores + mask
        weights = _safe_softmax(scores)
        if self.dropout > 0.0 and self.training:
            weights = Dropout.apply(weights, p=self.dropout, rng=get_rng())
        out = (weights @ v).permute(2, 0, 1, 3).reshape(length, batch, e)
        out = self.out_proj(out)
        if self.batch_first and batched:
            out = out.transpose(0, 1)
        if not batched:
            out = out.reshape(length, e)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(axis=1)
        if not batched:
            weights = weights.reshape(weights.shape[1:])
        return out, weights

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"batch_first={self.batch_first}")
