"""`gradcheck` and `gradgradcheck`: compare autograd's first and second derivatives with
central finite differences, in float64."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import autograd
from ..autograd import enable_grad, no_grad
from ..core.tensor import Tensor


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
        mismatch = _mismatch(analytic, _central_differences(x, loss, eps), rtol, atol)
        if mismatch:
            raise GradcheckError(f"gradcheck: input {i} (shape {x.shape}) {mismatch}")
    return True


def gradgradcheck(
    fn: Callable[..., Any],
    *inputs: Any,
    grad_outputs: Any = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
    raise_exception: bool = True,
) -> bool:
    """Check the second derivatives of `fn`: autograd's against finite differences of its
    first derivatives (PyTorch's `gradgradcheck`, with its defaults).

    The first-order function checked is the vector-Jacobian product
        vjp(x, u) = sum_k u_k^T d fn(x)_k / dx
    for every input x that requires grad, with upstream gradients u (`grad_outputs`: one per
    output of `fn`; by default random normal, non-uniform). It is contracted with random
    second-order gradients w, L2(x, u) = sum_i <vjp_i(x, u), w_i>, and autograd's dL2/dx and
    dL2/du (a backward pass through the recorded backward pass, `create_graph=True`) are
    compared, element by element, with (L2(x + eps e_j) - L2(x - eps e_j)) / (2 eps), where
    each L2 is a first-order backward at the perturbed point. An element passes when
    |autograd - numerical| <= atol + rtol * |numerical|.

    `fn` returns a Tensor or a tuple of Tensors (integer outputs are ignored). Float inputs
    are copied to float64 first. Returns True; on a mismatch raises `GradcheckError` naming
    the variable (input i or grad_output k), the index and both values, or returns False
    when `raise_exception=False`. `seed` fixes u (when not given) and w.
    """
    inputs64 = [_float64(x) for x in inputs]
    diff = [x for x in inputs64 if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradgradcheck: no input requires grad")
    rng = np.random.default_rng(seed)
    outputs = _float_outputs(fn, inputs64)
    if grad_outputs is None:
        gos = [Tensor(rng.standard_normal(o.shape), requires_grad=True) for o in outputs]
    else:
        given = [grad_outputs] if not isinstance(grad_outputs, (tuple, list)) else grad_outputs
        if len(given) != len(outputs):
            raise ValueError(f"gradgradcheck: {len(given)} grad_outputs for {len(outputs)} "
                             "floating-point outputs")
        gos = [Tensor(np.array(np.asarray(g), dtype=np.float64), requires_grad=True)
               for g in given]
        for k, (g, o) in enumerate(zip(gos, outputs)):
            if g.shape != o.shape:
                raise ValueError(f"gradgradcheck: grad_outputs[{k}] has shape {g.shape}, the "
                                 f"output has shape {o.shape}")
    ws = [rng.standard_normal(x.shape) for x in diff]

    def second_loss(create: bool) -> Any:
        """L2 = sum_i <vjp_i, w_i> (a Tensor), or None when no output depends on the inputs."""
        with enable_grad():
            pairs = [(o, g) for o, g in zip(_float_outputs(fn, inputs64), gos) if o.requires_grad]
            if not pairs:
                return None
            vjps = autograd.grad([o for o, _ in pairs], diff, [g for _, g in pairs],
                                 create_graph=create, allow_unused=True)
            terms = [(v * Tensor(w)).sum() for v, w in zip(vjps, ws) if v is not None]
            total = terms[0] if terms else None
            for t in terms[1:]:
                total = total + t
        return total

    variables = diff + gos
    names = [f"input {i}" for i, x in enumerate(inputs64)
             if isinstance(x, Tensor) and x.requires_grad]
    names += [f"grad_output {k}" for k in range(len(gos))]
    total = second_loss(True)
    if total is None or not total.requires_grad:
        analytic = [np.zeros(x.shape) for x in variables]
    else:
        found = autograd.grad(total, variables, allow_unused=True)
        analytic = [np.zeros(x.shape) if g is None else g.data for g, x in zip(found, variables)]

    def value() -> float:
        total = second_loss(False)
        return 0.0 if total is None else float(total.data)

    for x, name, a in zip(variables, names, analytic):
        mismatch = _mismatch(a, _central_differences(x, value, eps), rtol, atol)
        if mismatch:
            if not raise_exception:
                return False
            raise GradcheckError(
                f"gradgradcheck: second derivative with respect to {name} (shape {x.shape}) "
                f"{mismatch}"
            )
    return True


def _mismatch(analytic: np.ndarray, numeric: np.ndarray, rtol: float, atol: float) -> str:
    """'' if the two agree elementwise, else where the first disagreement is, and how many."""
    bad = ~np.isclose(analytic, numeric, rtol=rtol, atol=atol)
    if not bad.any():
        return ""
    index = tuple(int(k) for k in np.argwhere(bad)[0])
    return (
        f"at index {index}: autograd {float(analytic[index])!r} != numerical "
        f"{float(numeric[index])!r} ({int(bad.sum())} of {bad.size} elements differ)"
    )


def _float64(x: Any) -> Any:
    """A float Tensor as a float64 copy (same requires_grad); anything else as it is."""
    if isinstance(x, Tensor) and x.dtype.kind == "f":
        return Tensor(x.data.astype(np.float64), requires_grad=x.requires_grad)
    return x


def _float_outputs(fn: Callable[..., Any], inputs: list) -> list:
    """fn's floating-point output Tensors, as a list."""
    out = fn(*inputs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"gradgradcheck: fn must return Tensors, got {type(o).__name__}")
    return [o for o in outs if o.dtype.kind == "f"]


def _central_differences(x: Tensor, value: Callable[[], float], eps: float) -> np.ndarray:
    """d value / d x by central differences, perturbing x's elements in place one by one."""
    flat = x.data.reshape(-1)  # a view: perturbing it perturbs x
    numeric = np.empty(flat.size)
    for j in range(flat.size):
        orig = flat[j]
        flat[j] = orig + eps
        plus = value()
        flat[j] = orig - eps
        minus = value()
        flat[j] = orig
        numeric[j] = (plus - minus) / (2 * eps)
    return numeric.reshape(x.shape)
