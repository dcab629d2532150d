"""Stochastic gradient descent with momentum, dampening, Nesterov, weight decay (PyTorch's
`torch.optim.SGD` update rule)."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from .optimizer import Optimizer, check_lr, flush_denormals_, grads


class SGD(Optimizer):
    """g = grad (negated if `maximize`) + weight_decay * p; with momentum
    buf = momentum * buf + (1 - dampening) * g (buf = g on the first step), and
    g = g + momentum * buf if `nesterov` else buf; then p -= lr * g.

    State per parameter: "momentum_buffer" (only when momentum != 0).
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ):
        check_lr(type(self).__name__, lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
            nesterov=nesterov, maximize=maximize,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        weight_decay, nesterov, maximize = (
            group["weight_decay"], group["nesterov"], group["maximize"]
        )  # fmt: skip
        for p, g in grads(group["params"], maximize=maximize, weight_decay=weight_decay):
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = np.array(g, dtype=p.dtype)
                else:
                    buf *= momentum
                    if dampening != 0:
                        buf += (1 - dampening) * g
                    else:
                        buf += g
                    flush_denormals_(buf, self._scratch_for(p))  # see flush_denormals_
                g = g + momentum * buf if nesterov else buf
            p.data -= lr * g
            p._bump_version()
