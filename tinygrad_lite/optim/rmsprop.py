"""RMSprop (Hinton), PyTorch's `torch.optim.RMSprop` update rule, with momentum, the
centered variant, weight decay and `maximize`."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from .optimizer import Optimizer, check_lr, flush_denormals_, grads, lerp_


class RMSprop(Optimizer):
    """With g = grad (negated if `maximize`) + weight_decay * p:

        sq = alpha sq + (1 - alpha) g^2
        centered: ga = alpha ga + (1 - alpha) g;  avg = sqrt(sq - ga^2) + eps
        otherwise:                                avg = sqrt(sq) + eps
        momentum > 0: buf = momentum buf + g / avg;  p -= lr * buf
        otherwise:    p -= lr * g / avg

    State per parameter: "step", "square_avg" (and "momentum_buffer", "grad_avg").
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ):
        check_lr(type(self).__name__, lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(
            lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
            centered=centered, maximize=maximize,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        lr, alpha, eps, weight_decay, momentum, centered, maximize = (
            group["lr"], group["alpha"], group["eps"], group["weight_decay"], group["momentum"],
            group["centered"], group["maximize"],
        )  # fmt: skip
        for p, g in grads(group["params"], maximize=maximize, weight_decay=weight_decay):
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["square_avg"] = np.zeros_like(p.data)
            tmp = self._scratch_for(p)
            state["step"] += 1
            sq = state["square_avg"]
            sq *= alpha
            np.multiply(g, g, out=tmp)
            tmp *= 1 - alpha
            sq += tmp  # sq = alpha sq + (1 - alpha) g g
            if centered:
                ga = state.get("grad_avg")
                if ga is None:
                    ga = state["grad_avg"] = np.zeros_like(p.data)
                lerp_(ga, g, 1 - alpha, tmp)  # ga = alpha ga + (1 - alpha) g
                np.multiply(ga, ga, out=tmp)
                np.subtract(sq, tmp, out=tmp)
                np.sqrt(tmp, out=tmp)
            else:
                np.sqrt(sq, out=tmp)
            tmp += eps
            np.divide(g, tmp, out=tmp)  # g / avg
            if momentum > 0:
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = np.zeros_like(p.data)
                buf *= momentum
                buf += tmp
                flush_denormals_(buf, tmp)  # see flush_denormals_
                np.multiply(buf, lr, out=tmp)
            else:
                tmp *= lr
            p.data -= tmp
            p._bump_version()
