"""Hand-written numpy 784-128-10 MLP trained with Adam: the baseline of benchmark case 2.

Written the way a careful numpy user would write it without a framework: rows are samples,
weights are (in, out) so the forward pass is `x @ W + b`, the softmax cross-entropy gradient
is `(softmax - onehot) / n`, and Adam (PyTorch's form) updates the arrays in place.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


class NumpyMLP:
    """x (N, 784) -> Linear -> ReLU -> Linear -> logits (N, 10), with an Adam step."""

    def __init__(
        self,
        sizes: Sequence[int] = (784, 128, 10),
        dtype: type = np.float32,
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        seed: int = 0,
    ):
        rng = np.random.default_rng(seed)
        n_in, n_hidden, n_out = sizes
        b1, b2 = 1 / math.sqrt(n_in), 1 / math.sqrt(n_hidden)  # PyTorch's Linear init bounds
        self.W1 = rng.uniform(-b1, b1, (n_in, n_hidden)).astype(dtype)
        self.b1 = rng.uniform(-b1, b1, n_hidden).astype(dtype)
        self.W2 = rng.uniform(-b2, b2, (n_hidden, n_out)).astype(dtype)
        self.b2 = rng.uniform(-b2, b2, n_out).astype(dtype)
        self.params = [self.W1, self.b1, self.W2, self.b2]
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.lr, self.betas, self.eps, self.t = lr, betas, eps, 0

    def forward(self, x: np.ndarray) -> np.ndarray:
        z1 = x @ self.W1 + self.b1
        return np.maximum(z1, 0) @ self.W2 + self.b2

    def train_step(self, x: np.ndarray, y: np.ndarray) -> float:
        """One forward, backward and Adam update on the batch; returns the mean loss."""
        n = len(x)
        z1 = x @ self.W1
        z1 += self.b1
        a1 = np.maximum(z1, 0)
        z2 = a1 @ self.W2
        z2 += self.b2
        z2 -= z2.max(axis=1, keepdims=True)
        p = np.exp(z2)
        sums = p.sum(axis=1, keepdims=True)
        rows = np.arange(n)
        loss = float(np.mean(np.log(sums[:, 0]) - z2[rows, y]))
        p /= sums
        p[rows, y] -= 1
        p /= n  # dL/dz2
        dW2 = a1.T @ p
        db2 = p.sum(axis=0)
        da1 = p @ self.W2.T
        da1 *= z1 > 0  # dL/dz1
        dW1 = x.T @ da1
        db1 = da1.sum(axis=0)
        self._adam((dW1, db1, dW2, db2))
        return loss

    def _adam(self, grads: Sequence[np.ndarray]) -> None:
        self.t += 1
        beta1, beta2 = self.betas
        step_size = self.lr / (1 - beta1**self.t)
        sqrt_bc2 = math.sqrt(1 - beta2**self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * (g * g)
            denom = np.sqrt(v)
            denom /= sqrt_bc2
            denom += self.eps
            p -= step_size * m / denom
