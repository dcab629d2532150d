"""`nn.Embedding` and `F.embedding`: a lookup table of learned rows (PyTorch's)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..core.tensor import Tensor
from ..ops.sequence import Embedding as EmbeddingOp
from . import init
from .module import Module, Parameter, options_repr


def _indices(input: Any) -> np.ndarray:
    """The lookups as an integer array (a Tensor's data, an ndarray, a list)."""
    index = input.data if isinstance(input, Tensor) else np.asarray(input)
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {index.dtype} instead "
                           "(while checking arguments for embedding)")
    return index


def _padding(padding_idx: Optional[int], num_embeddings: int) -> Optional[int]:
    """padding_idx in [0, num_embeddings) (a negative one counts from the end), as PyTorch."""
    if padding_idx is None:
        return None
    if padding_idx >= num_embeddings or padding_idx < -num_embeddings:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx % num_embeddings


def embedding(input: Any, weight: Tensor, padding_idx: Optional[int] = None,
              max_norm: Optional[float] = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """weight[input]: the rows of `weight` (num_embeddings, D) at the integer `input`, of shape
    input.shape + (D,). No gradient reaches row `padding_idx`. With `max_norm`, the rows
    looked up are first rescaled in place to a `norm_type`-norm of at most max_norm (as
    PyTorch's embedding_renorm_); `scale_grad_by_freq` divides each lookup's gradient by how
    often its row occurs in `input`."""
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported here (there "
                                  "are no sparse tensors); use sparse=False")
    padding = _padding(padding_idx, weight.shape[0])
    index = _indices(input)
    if max_norm is not None:
        _renorm_rows_(weight, index, max_norm, norm_type)
    return EmbeddingOp.apply(weight, indices=index, padding_idx=padding,
                             scale_grad_by_freq=scale_grad_by_freq)


def _renorm_rows_(weight: Tensor, index: np.ndarray, max_norm: float, norm_type: float) -> None:
    """w[r] *= max_norm / (||w[r]||_p + 1e-7) for each row r in `index` whose p-norm exceeds
    max_norm: an in-place change of the weight outside the graph (its version counts it)."""
    rows = np.unique(index)
    rows = rows[(rows >= 0) & (rows < weight.shape[0])]  # the lookup reports a bad index
    w = weight.data
    norms = np.linalg.norm(w[rows], ord=norm_type, axis=1)
    over = norms > max_norm
    if over.any():
        scale = (max_norm / (norms[over] + 1e-7)).astype(w.dtype)
        w[rows[over]] *= scale[:, None]
        weight._bump_version()


class Embedding(Module):
    """A table of `num_embeddings` vectors of size `embedding_dim`: y = weight[input].

    `weight` (num_embeddings, embedding_dim) ~ N(0, 1), its row `padding_idx` (if given) set
    to zero and never updated by the gradient, as PyTorch.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int,
                 padding_idx: Optional[int] = None, max_norm: Optional[float] = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Any = None, _freeze: bool = False,
                 device: Any = None, dtype: Any = np.float32):
        if sparse:
            raise NotImplementedError("Embedding: sparse gradients are not supported here "
                                      "(there are no sparse tensors); use sparse=False")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = _padding(padding_idx, num_embeddings)
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=dtype))
            self.reset_parameters()
        else:
            data = _weight.data if isinstance(_weight, Tensor) else np.asarray(_weight)
            if data.shape != (num_embeddings, embedding_dim):
                raise AssertionError("Shape of weight does not match num_embeddings and "
                                     "embedding_dim")
            self.weight = Parameter(np.array(data))
        if _freeze:
            self.weight.requires_grad_(False)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, input: Any) -> Tensor:
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                         self.scale_grad_by_freq)

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True,
                        padding_idx: Optional[int] = None, max_norm: Optional[float] = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding holding a copy of the 2-D `embeddings`; frozen (no gradient) unless
        freeze=False."""
        data = embeddings.data if isinstance(embeddings, Tensor) else np.asarray(embeddings)
        if data.ndim != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = data.shape
        return cls(rows, cols, padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, _weight=data,
                   _freeze=freeze)

    def extra_repr(self) -> str:
        return options_repr(
            self, f"{self.num_embeddings}, {self.embedding_dim}", padding_idx=None,
            max_norm=None, norm_type=2, scale_grad_by_freq=False,
        )
