"""Optimizers (PyTorch's update rules) and learning-rate schedules.

An optimizer holds the parameters; `zero_grad()` clears their `.grad`, `step()` updates
`.data` in place from `.grad`. `optimizer.lr` is the current learning rate (schedules set it).
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from .tensor import Tensor


class Optimizer:
    def __init__(self, params: Iterable[Tensor], lr: float):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        for p in self.params:
            if not (isinstance(p, Tensor) and p.requires_grad):
                raise TypeError(f"{type(self).__name__}: parameters must be Tensors requiring grad")
        if not lr >= 0:
            raise ValueError(f"{type(self).__name__}: learning rate must be >= 0, got {lr}")
        self.lr = lr

    def zero_grad(self) -> None:
        """Forget the accumulated gradients (set `.grad` to None)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """p -= lr * g, with g = grad + weight_decay * p, and with momentum
    buf = momentum * buf + g; p -= lr * buf (PyTorch's form)."""

    def __init__(
        self, params: Iterable[Tensor], lr: float, momentum: float = 0.0, weight_decay: float = 0.0
    ):
        super().__init__(params, lr)
        self.momentum, self.weight_decay = momentum, weight_decay
        self.buffers: list = [None] * len(self.params)

    def step(self) -> None:
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.momentum:
                buf = self.buffers[i]
                if buf is None:
                    buf = self.buffers[i] = np.array(g, dtype=p.dtype)
                else:
                    buf *= self.momentum
                    buf += g
                g = buf
            p.data -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba), PyTorch's form:

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
    p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

    `weight_decay` adds weight_decay * p to g (L2, as torch.optim.Adam).
    """

    decoupled = False

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(params, lr)
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self.scratch = [np.empty_like(p.data) for p in self.params]  # no allocation per step
        self.steps = [0] * len(self.params)  # per parameter, as PyTorch: one may start late

    def step(self) -> None:
        b1, b2 = self.betas
        for i, (p, m, v, tmp) in enumerate(zip(self.params, self.m, self.v, self.scratch)):
            g = p.grad
            if g is None:
                continue
            self.steps[i] = t = self.steps[i] + 1
            step_size = self.lr / (1 - b1**t)
            inv_sqrt_bc2 = 1 / math.sqrt(1 - b2**t)
            if self.weight_decay:
                if self.decoupled:
                    p.data *= 1 - self.lr * self.weight_decay
                else:
                    g = g + self.weight_decay * p.data
            m *= b1
            np.multiply(g, 1 - b1, out=tmp)
            m += tmp  # m = b1 m + (1 - b1) g
            v *= b2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - b2
            v += tmp  # v = b2 v + (1 - b2) g^2
            np.sqrt(v, out=tmp)
            tmp *= inv_sqrt_bc2
            tmp += self.eps  # sqrt(v / (1 - b2^t)) + eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p.data -= tmp


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr * weight_decay
    before the Adam step, instead of adding weight_decay * p to the gradient."""

    decoupled = True

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ):
        super().__init__(params, lr, betas, eps, weight_decay)


class LRScheduler:
    """Sets `optimizer.lr` from the epoch count; call `step()` once per epoch (as PyTorch)."""

    def __init__(self, optimizer: Optimizer):
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> float:
        return self.optimizer.lr


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (epoch // step_size)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        super().__init__(optimizer)
        self.step_size, self.gamma = step_size, gamma

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):  # noqa: N803
        super().__init__(optimizer)
        self.T_max, self.eta_min = T_max, eta_min

    def lr_at(self, epoch: int) -> float:
        cos = math.cos(math.pi * epoch / self.T_max)  # past T_max it rises again, as PyTorch
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + cos) / 2
