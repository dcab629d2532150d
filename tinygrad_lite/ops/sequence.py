"""Fused ops of sequence models: embedding lookup (and its scatter), and layer normalisation.

Same conventions as `math.py`: each op is a `Function` with `forward` and its gradient rule
`backward` side by side; `g` is dL/dy for the output y. Each backward runs on numpy arrays in an
ordinary backward pass (the fast path, from what forward saved), and on Tensors under
`create_graph=True`, where it is written with differentiable ops of the inputs (so second
derivatives are right).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..core.tensor import Function, Tensor

# ---- embedding ------------------------------------------------------------------------------

_ONE_HOT_LIMIT = 1 << 18  # num_weights * lookups up to which the scatter is a one-hot matmul


def scatter_rows(g: np.ndarray, index: np.ndarray, num_rows: int,
                 padding_idx: Optional[int] = None) -> np.ndarray:
    """out[r] = sum of g[i] over the lookups i with index[i] == r (rows at `padding_idx` 0):
    `np.add.at(zeros, index, g)` for g (n, D) and integer index (n,), done faster.

    Few rows x lookups: a one-hot (num_rows, n) matrix times g (one BLAS call). Otherwise the
    lookups sorted by row and summed in runs with `np.add.reduceat`.
    """
    n, width = g.shape
    if padding_idx is not None:
        keep = index != padding_idx
        if not keep.all():
            g, index = g[keep], index[keep]
            n = index.size
    if n == 0:
        return np.zeros((num_rows, width), g.dtype)
    if num_rows * n <= _ONE_HOT_LIMIT:
        one_hot = np.zeros((num_rows, n), g.dtype)
        one_hot[index, np.arange(n)] = 1
        return one_hot @ g
    order = np.argsort(index, kind="stable")
    rows = index[order]
    starts = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))
    out = np.zeros((num_rows, width), g.dtype)
    out[rows[starts]] = np.add.reduceat(g[order], starts, axis=0)
    return out


def _check_indices(index: np.ndarray, num_rows: int) -> None:
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {index.dtype} instead")
    if index.size and (index.min() < 0 or index.max() >= num_rows):
        bad = index[(index < 0) | (index >= num_rows)].flat[0]
        raise IndexError(f"index {bad} is out of range for an embedding of {num_rows} rows")


class Embedding(Function):
    """y = W[idx]: row idx[...] of the weight W (num_embeddings, D), for integer idx of any
    shape (y: idx.shape + (D,));  dL/dW = scatter_add(g, idx): row r gets the sum of g over
    the lookups of r, and no gradient at all for r = padding_idx.

    `zero_padding` makes y 0 at the lookups of padding_idx: the adjoint of the scatter
    (EmbeddingBackward), which its own backward uses.
    """

    def forward(self, weight, indices=None, padding_idx=None, zero_padding=False):
        index = np.asarray(indices)
        _check_indices(index, weight.shape[0])
        self.index, self.padding_idx, self.num_rows = index, padding_idx, weight.shape[0]
        y = weight[index]
        if zero_padding and padding_idx is not None:
            y[index == padding_idx] = 0
        return y

    def backward(self, g):
        if isinstance(g, Tensor):
            return EmbeddingBackward.apply(g, indices=self.index, num_rows=self.num_rows,
                                           padding_idx=self.padding_idx)
        width = g.shape[-1]
        return scatter_rows(g.reshape(-1, width), self.index.reshape(-1), self.num_rows,
                            self.padding_idx)


class EmbeddingBackward(Function):
    """y = scatter_add(g, idx) into `num_rows` rows (row padding_idx left 0);
    dL/dg = u[idx], 0 at the lookups of padding_idx (u = dL/dy): the lookup again."""

    def forward(self, g, indices=None, num_rows=0, padding_idx=None):
        self.index, self.padding_idx = np.asarray(indices), padding_idx
        width = g.shape[-1]
        return scatter_rows(g.reshape(-1, width), self.index.reshape(-1), num_rows, padding_idx)

    def backward(self, u):
        if isinstance(u, Tensor):
            return Embedding.apply(u, indices=self.index, padding_idx=self.padding_idx,
                                   zero_padding=True)
        y = u[self.index]
        if self.padding_idx is not None:
            y[self.index == self.padding_idx] = 0
        return y


# ---- layer norm -----------------------------------------------------------------------------


class LayerNorm(Function):
    """Normalise over the last k axes (k = len(normalized_shape)), then scale and shift:

        mu = mean(x), var = mean((x - mu)^2)   (biased, over those axes)
        xhat = (x - mu) / sigma,  sigma = sqrt(var + eps)
        y = xhat * gamma + beta

        dL/dgamma = sum over the leading axes of g * xhat,  dL/dbeta = sum of g
        dL/dx = (1 / sigma) (g' - mean(g') - xhat mean(g' xhat)),  g' = g * gamma

    `affine` says which of gamma, beta are inputs after x: (True, True), (True, False) or
    (False, False). The ordinary backward uses xhat and 1/sigma saved by forward; under
    create_graph it recomputes them from x with differentiable ops.
    """

    def forward(self, x, *params, k=1, eps=1e-5, affine=(False, False)):
        self.k, self.eps, self.affine = k, eps, affine
        lead = x.shape[: x.ndim - k]
        width = int(np.prod(x.shape[x.ndim - k:], dtype=np.int64))
        x2 = x.reshape(-1, width)
        inv_n = 1.0 / max(width, 1)
        xhat = x2 - x2 @ np.full((width, 1), inv_n, x.dtype)  # a matrix-vector mean: fast
        var = np.einsum("ij,ij->i", xhat, xhat).reshape(-1, 1)  # no (M, width) temporary
        var *= inv_n
        var += eps
        rstd = np.sqrt(var, out=var)
        np.divide(1.0, rstd, out=rstd)
        xhat *= rstd
        gamma = params[0].reshape(1, width) if affine[0] else None
        if gamma is None:
            y = xhat.copy()
        else:
            y = xhat * gamma
        if affine[1]:
            y += params[1].reshape(1, width)
        self.save_for_backward(x, gamma if gamma is None else params[0], xhat, rstd)
        self.lead = lead
        return y.reshape(x.shape)

    def backward(self, g):
        x, gamma, xhat, rstd = self.saved_tensors
        if isinstance(g, Tensor) or isinstance(x, Tensor):
            return self._recorded(g, x, gamma)
        shape = x.shape
        width = xhat.shape[1]
        g2 = g.reshape(-1, width)
        grads = [None]
        if self.needs_input_grad[0]:
            gp = g2 * gamma.reshape(1, width) if gamma is not None else g2.copy()
            ones = np.full((width, 1), 1.0 / width, gp.dtype)
            mean_g = gp @ ones
            mean_gx = np.einsum("ij,ij->i", gp, xhat).reshape(-1, 1)
            mean_gx *= 1.0 / width
            gp -= mean_g
            gp -= xhat * mean_gx
            gp *= rstd
            grads[0] = gp.reshape(shape)
        pshape = shape[len(shape) - self.k:]
        if self.affine[0]:
            grads.append(np.einsum("ij,ij->j", g2, xhat).reshape(pshape)
                         if self.needs_input_grad[1] else None)
        if self.affine[1]:
            grads.append((np.ones(g2.shape[0], g2.dtype) @ g2).reshape(pshape)
                         if self.needs_input_grad[-1] else None)
        return tuple(grads)

    def _recorded(self, g, x, gamma):
        """The same rule with Tensor ops of x (and gamma): differentiable again."""
        axes = tuple(range(x.ndim - self.k, x.ndim))
        lead = tuple(range(x.ndim - self.k))
        mu = x.mean(axis=axes, keepdims=True)
        xc = x - mu
        var = (xc * xc).mean(axis=axes, keepdims=True)
        rstd = (var + self.eps) ** -0.5
        xhat = xc * rstd
        gp = g * gamma if gamma is not None else g
        dx = rstd * (gp - gp.mean(axis=axes, keepdims=True)
                     - xhat * (gp * xhat).mean(axis=axes, keepdims=True))
        grads = [dx]
        if self.affine[0]:
            grads.append((g * xhat).sum(axis=lead) if lead else g * xhat)
        if self.affine[1]:
            grads.append(g.sum(axis=lead) if lead else g)
        return tuple(grads)
