"""`gradcheck`: compare autograd's gradients with central finite differences, in float64."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .autograd import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Autograd and finite differences disagree; the message names the input and index."""


def gradcheck(
    fn: Callable[..., Tensor],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Check d(fn)/d(input) for every input that requires grad; True, or GradcheckError.

    The output is contracted with a fixed random (non-uniform) upstream gradient v, so the
    checked quantity is L = sum(fn(*inputs) * v): autograd's dL/dx against
    (L(x + eps e_i) - L(x - eps e_i)) / (2 eps) for every element i. Float inputs are copied to
    float64 first (finite differences are meaningless in float32).
    """
    inputs64 = [
        Tensor(x.data.astype(np.float64), requires_grad=x.requires_grad)
        if isinstance(x, Tensor) and x.dtype.kind == "f"
        else x
        for x in inputs
    ]
    out = fn(*inputs64)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    v = np.random.default_rng(seed).standard_normal(out.shape)
    if not out.requires_grad:
        raise GradcheckError("gradcheck: the output does not depend on any input requiring grad")
    out.backward(v)

    def loss() -> float:
        with no_grad():
            return float(np.sum(fn(*inputs64).data * v))

    for i, x in enumerate(inputs64):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        analytic = np.zeros_like(x.data) if x.grad is None else x.grad
        flat = x.data.reshape(-1)  # a view: perturbing it perturbs the input
        numeric = np.empty(flat.size)
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            plus = loss()
            flat[j] = orig - eps
            minus = loss()
            flat[j] = orig
            numeric[j] = (plus - minus) / (2 * eps)
        numeric = numeric.reshape(x.shape)
        bad = ~np.isclose(analytic, numeric, rtol=rtol, atol=atol)
        if bad.any():
            index = tuple(int(k) for k in np.argwhere(bad)[0])
            raise GradcheckError(
                f"gradcheck: input {i} (shape {x.shape}) at index {index}: "
                f"autograd {float(analytic[index])!r} != numerical {float(numeric[index])!r} "
                f"({int(bad.sum())} of {bad.size} elements differ)"
            )
    return True
