"""RMSprop (Hinton), PyTorch's `torch.optim.RMSprop` update rule, with momentum, the
centered variant, weight decay and `maximize`."""

from __future__ import annotations

import numpy as np

from .optimizer import (
    Optimizer,
    add_square_,
    flush_denormals_,
    grads,
    lerp_,
    options_init,
)


class RMSprop(Optimizer):
    """With g = grad (negated if `maximize`) + weight_decay * p:

        sq = alpha sq + (1 - alpha) g^2
        centered: ga = alpha ga + (1 - alpha) g;  avg = sqrt(sq - ga^2) + eps
        otherwise:                                avg = sqrt(sq) + eps
        momentum > 0: buf = momentum buf + g / avg;  p -= lr * buf
        otherwise:    p -= lr * g / avg

    State per parameter: "step", "square_avg" (and "momentum_buffer", "grad_avg").
    """

    __init__ = options_init(
        dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
             capturable=False, foreach=None, maximize=False, differentiable=False),
        {},
        checks=("eps", "momentum", "weight_decay", "alpha"),
    )

    def _update_group(self, group: dict) -> None:
        lr, alpha, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
        for p, g in grads(group):
            state, _ = self._step_state(p, "square_avg")
            tmp = self._scratch_for(p)
            sq = state["square_avg"]
            add_square_(sq, g, alpha, tmp)  # sq = alpha sq + (1 - alpha) g g
            if group["centered"]:
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
