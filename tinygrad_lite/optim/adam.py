"""Adam (Kingma & Ba) and AdamW (Loshchilov & Hutter), PyTorch's `torch.optim.Adam` /
`AdamW` update rules, with `amsgrad` and `maximize`. The update works in preallocated
buffers: no array is allocated per step (except for L2 `weight_decay` or `maximize`)."""

from __future__ import annotations

from typing import Iterable, Optional

import numpy as np

from .optimizer import (
    Optimizer,
    add_square_,
    check_adam_options,
    check_implementation_options,
    flush_denormals_,
    grads,
)


class Adam(Optimizer):
    """Adam, PyTorch's form. With g = grad (negated if `maximize`) and t the parameter's own
    step count:

        weight decay: g += weight_decay * p   (L2)  or, decoupled (AdamW),
                      p *= 1 - lr * weight_decay
        m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  vmax = max(vmax, v) if amsgrad
        p -= lr / (1 - b1^t) * m / (sqrt(v or vmax) / sqrt(1 - b2^t) + eps)

    State per parameter: "step", "exp_avg", "exp_avg_sq" (and "max_exp_avg_sq" with amsgrad).

    PyTorch's implementation switches are accepted and kept in the groups: `foreach` and
    `fused` (one vectorised numpy update serves all three, with the same numbers), while
    `capturable` (CUDA graphs) and `differentiable` raise (see check_implementation_options).
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        foreach: Optional[bool] = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: Optional[bool] = None,
        decoupled_weight_decay: bool = False,
    ):
        check_adam_options(type(self).__name__, lr, betas, eps, weight_decay)
        check_implementation_options(foreach, capturable, differentiable, fused)
        defaults = dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
            maximize=maximize, foreach=foreach, capturable=capturable,
            differentiable=differentiable, fused=fused,
            decoupled_weight_decay=decoupled_weight_decay,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        lr, (b1, b2), eps, amsgrad = group["lr"], group["betas"], group["eps"], group["amsgrad"]
        for p, g in grads(group):  # with the decoupled weight decay, if any
            state, t = self._step_state(p, "exp_avg", "exp_avg_sq")
            m, v = state["exp_avg"], state["exp_avg_sq"]
            tmp = self._scratch_for(p)
            m *= b1
            np.multiply(g, 1 - b1, out=tmp)
            m += tmp  # m = b1 m + (1 - b1) g (torch's lerp_ rounds slightly differently)
            flush_denormals_(m, tmp)  # else a decaying m slows every pass over it ~10x
            add_square_(v, g, b2, tmp)  # v = b2 v + (1 - b2) g g
            if amsgrad:
                vmax = state.get("max_exp_avg_sq")
                if vmax is None:
                    vmax = state["max_exp_avg_sq"] = np.zeros_like(p.data)
                np.maximum(vmax, v, out=vmax)
                v = vmax
            step_size = lr / (1 - b1**t)
            np.sqrt(v, out=tmp)
            tmp *= 1 / (1 - b2**t) ** 0.5
            tmp += eps  # sqrt(v / (1 - b2^t)) + eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p.data -= tmp
            p._bump_version()


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * weight_decay before the Adam step,
    instead of adding weight_decay * p to the gradient. PyTorch's default weight_decay 1e-2."""

    def __init__(  # PyTorch's AdamW signature: Adam's, less decoupled_weight_decay
        self, params: Iterable, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
        weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
        foreach: Optional[bool] = None, capturable: bool = False, differentiable: bool = False,
        fused: Optional[bool] = None,
    ):  # fmt: skip
        super().__init__(
            params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, foreach=foreach,
            capturable=capturable, differentiable=differentiable, fused=fused,
            decoupled_weight_decay=True,
        )  # fmt: skip
