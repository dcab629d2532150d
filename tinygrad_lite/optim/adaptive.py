"""Adadelta, Adagrad, Adamax and NAdam: PyTorch's `torch.optim` update rules, arguments,
defaults, errors and state keys. With g = grad (negated if `maximize`) + weight_decay * p
(L2; NAdam can decouple it), per parameter:

    Adadelta: sq = rho sq + (1 - rho) g^2;  d = sqrt(acc + eps) / sqrt(sq + eps) * g
              acc = rho acc + (1 - rho) d^2;  p -= lr d
    Adagrad:  sum += g^2;  p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(sum) + eps)
    Adamax:   m = b1 m + (1 - b1) g;  u = max(b2 u, |g| + eps);  p -= lr / (1 - b1^t) * m / u
    NAdam:    mu_t = b1 (1 - 0.5 * 0.96^(t psi));  m, v as Adam's
              p -= lr (1 - mu_t) / (1 - prod_{i<=t} mu_i) * g / d
                 + lr mu_{t+1} / (1 - prod_{i<=t+1} mu_i) * m / d,  d = sqrt(v / (1 - b2^t)) + eps

State keys are PyTorch's ("step", "square_avg", "acc_delta", "sum", "exp_avg", "exp_inf",
"exp_avg_sq", "mu_product"); "step" is an int and "mu_product" a float here (0-dim tensors in
PyTorch). NAdam's "mu_product" is rounded to float32 after each product, as PyTorch keeps it
(in its default float32 scalar dtype), so the two agree to rounding on float64 parameters.
"""

from __future__ import annotations

import numpy as np

from .optimizer import (
    Optimizer,
    add_square_,
    check_betas,
    flush_denormals_,
    grads,
    lerp_,
    options_init,
)


def _check_rho(options: dict) -> None:
    if not 0.0 <= options["rho"] <= 1.0:
        raise ValueError(f"Invalid rho value: {options['rho']}")


class Adadelta(Optimizer):
    """Adadelta (Zeiler), PyTorch's form (lr scales the step; default 1.0).

    State per parameter: "step", "square_avg", "acc_delta"."""

    __init__ = options_init(
        dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, foreach=None),
        dict(capturable=False, maximize=False, differentiable=False),
        checks=(_check_rho, "eps", "weight_decay"),
    )

    def _update_group(self, group: dict) -> None:
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        for p, g in grads(group):
            state, _ = self._step_state(p, "square_avg", "acc_delta")
            sq, acc = state["square_avg"], state["acc_delta"]
            tmp = self._scratch_for(p)
            add_square_(sq, g, rho, tmp)  # sq = rho sq + (1 - rho) g g
            delta = np.sqrt(acc + eps)
            delta /= np.sqrt(sq + eps)
            delta *= g
            add_square_(acc, delta, rho, tmp)  # acc = rho acc + (1 - rho) delta delta
            delta *= lr
            p.data -= delta
            p._bump_version()


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.), PyTorch's form. As in PyTorch, every parameter's state
    ("step" 0, "sum" filled with `initial_accumulator_value`) is made by the constructor."""

    __init__ = options_init(
        dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
             foreach=None),
        dict(maximize=False, differentiable=False, fused=None),
        checks=("lr_decay", "weight_decay", "initial_accumulator_value", "eps"),
    )

    def add_param_group(self, param_group: dict) -> None:
        """Add a group, and make its parameters' state at once. As PyTorch's constructor,
        the groups given to the constructor start from its `initial_accumulator_value` (a
        group's own value is kept in the group but not used); a group added later starts
        from its own (PyTorch makes no state for it and fails at its first step)."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        start = group if self._constructed else self.defaults
        for p in group["params"]:
            self.state[p] = {
                "step": 0,
                "sum": np.full_like(p.data, start["initial_accumulator_value"]),
            }

    def _update_group(self, group: dict) -> None:
        lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
        for p, g in grads(group):
            state, t = self._step_state(p)  # made by add_param_group
            clr = lr / (1 + (t - 1) * lr_decay)
            acc = state["sum"]
            tmp = self._scratch_for(p)
            np.multiply(g, g, out=tmp)
            acc += tmp
            np.sqrt(acc, out=tmp)
            tmp += eps
            np.divide(g, tmp, out=tmp)
            tmp *= clr
            p.data -= tmp
            p._bump_version()


class Adamax(Optimizer):
    """Adamax (Kingma & Ba, the infinity-norm Adam), PyTorch's form.

    State per parameter: "step", "exp_avg", "exp_inf"."""

    __init__ = options_init(
        dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, foreach=None),
        dict(maximize=False, differentiable=False, capturable=False),
        checks=("eps", check_betas, "weight_decay"),
    )

    def _update_group(self, group: dict) -> None:
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        for p, g in grads(group):
            state, t = self._step_state(p, "exp_avg", "exp_inf")
            m, u = state["exp_avg"], state["exp_inf"]
            tmp = self._scratch_for(p)
            lerp_(m, g, 1 - b1, tmp)  # m = b1 m + (1 - b1) g
            flush_denormals_(m, tmp)  # see flush_denormals_
            u *= b2
            np.abs(g, out=tmp)
            tmp += eps
            np.maximum(u, tmp, out=u)
            clr = lr / (1 - b1**t)
            np.divide(m, u, out=tmp)
            tmp *= clr
            p.data -= tmp
            p._bump_version()


class NAdam(Optimizer):
    """NAdam (Dozat: Adam with Nesterov momentum), PyTorch's form, with `momentum_decay`
    (psi) and `decoupled_weight_decay` (NAdamW).

    State per parameter: "step", "mu_product", "exp_avg", "exp_avg_sq"."""

    __init__ = options_init(
        dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
             decoupled_weight_decay=False),
        dict(foreach=None, maximize=False, capturable=False, differentiable=False),
        checks=("eps", check_betas, "weight_decay", "momentum_decay"),
    )

    def _update_group(self, group: dict) -> None:
        lr, (b1, b2), eps, psi = group["lr"], group["betas"], group["eps"], group["momentum_decay"]
        for p, g in grads(group):  # with the decoupled weight decay, if any
            state, t = self._step_state(p, "exp_avg", "exp_avg_sq", mu_product=1.0)
            mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
            mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
            mu_product = float(np.float32(np.float32(state["mu_product"]) * np.float32(mu)))
            state["mu_product"] = mu_product
            mu_product_next = mu_product * mu_next
            m, v = state["exp_avg"], state["exp_avg_sq"]
            tmp = self._scratch_for(p)
            lerp_(m, g, 1 - b1, tmp)  # m = b1 m + (1 - b1) g
            flush_denormals_(m, tmp)  # see flush_denormals_
            add_square_(v, g, b2, tmp)  # v = b2 v + (1 - b2) g g
            np.divide(v, 1 - b2**t, out=tmp)
            np.sqrt(tmp, out=tmp)
            tmp += eps  # d
            p.data -= lr * (1.0 - mu) / (1.0 - mu_product) * g / tmp
            p.data -= lr * mu_next / (1.0 - mu_product_next) * m / tmp
            p._bump_version()


__all__ = ["Adadelta", "Adagrad", "Adamax", "NAdam"]
