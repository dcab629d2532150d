"""Activation ops beyond ReLU/Sigmoid/Tanh: LeakyReLU, GELU (exact and tanh forms), ELU,
Softplus and HardTanh (SiLU is x * sigmoid(x), composed).

Same conventions as `math.py`: each op is a `Function` with `forward` and its gradient rule
`backward` side by side; `g` is dL/dy for the output y.

numpy has no erf, and `math.erf` applied element by element is slow, so `erf` / `erfc` here
are W. J. Cody's rational Chebyshev approximations (Math. Comp. 23 (1969), the CALERF
coefficients), vectorised over three ranges of |x|:

    |x| <= 0.46875:       erf(x)  = x P1(x^2) / Q1(x^2)
    0.46875 < |x| <= 4:   erfc(x) = exp(-x^2) P2(x) / Q2(x)
    |x| > 4:              erfc(x) = exp(-x^2) / x (1/sqrt(pi) + P3(1/x^2) / (x^2 Q3(1/x^2)))

with exp(-x^2) evaluated as exp(-z^2) exp(-(x - z)(x + z)), z = x rounded down to 1/16, so the
large argument loses no accuracy. In float64 the error is below 1e-15 everywhere (the tests
check max |erf - math.erf| <= 1e-12 over a dense grid).
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from ..core.tensor import Function, Tensor, as_tensor
from . import parallel
from .math import Clamp, sigmoid, where

# ---- erf / erfc -----------------------------------------------------------------------------

_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)
_RSQRTPI = 0.56418958354775628695  # 1 / sqrt(pi)
_THRESH = 0.46875


def _float_array(x: Any) -> tuple:
    """(array to compute in, dtype to return): float32/float64 as they are, others float64."""
    x = np.asarray(x)
    out_dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    work = x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)
    return work, out_dtype


def _erf_small(x: np.ndarray) -> np.ndarray:
    """erf(x) for |x| <= 0.46875: x P1(x^2) / Q1(x^2)."""
    z = x * x
    num, den = _A[4] * z, z
    for i in range(3):
        num = (num + _A[i]) * z
        den = (den + _B[i]) * z
    return x * (num + _A[3]) / (den + _B[3])


def _erfc_large(y: np.ndarray) -> np.ndarray:
    """erfc(y) for y > 0.46875 (exactly 0 from y = 28 on, where it underflows anyway)."""
    y = np.minimum(y, 28.0)
    out = np.empty_like(y)
    mid = y <= 4.0
    if mid.any():
        ym = y[mid]
        num, den = _C[8] * ym, ym
        for i in range(7):
            num = (num + _C[i]) * ym
            den = (den + _D[i]) * ym
        out[mid] = (num + _C[7]) / (den + _D[7])
    far = ~mid
    if far.any():
        yf = y[far]
        r = 1.0 / (yf * yf)
        num, den = _P[5] * r, r
        for i in range(4):
            num = (num + _P[i]) * r
            den = (den + _Q[i]) * r
        out[far] = (_RSQRTPI - r * (num + _P[4]) / (den + _Q[4])) / yf
    z = np.trunc(y * 16.0) / 16.0  # exp(-y^2) = exp(-z^2) exp(-(y - z)(y + z)), z ~ y
    return out * (np.exp(-z * z) * np.exp(-(y - z) * (y + z)))


def erf(x: Any) -> np.ndarray:
    """The error function erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt, elementwise.

    float32 and float64 are computed in their own precision; other inputs in float64.
    """
    x, dtype = _float_array(x)
    y = np.abs(x)
    small = y <= _THRESH
    out = np.empty_like(x)
    out[small] = _erf_small(x[small])
    large = ~small  # NaN lands here and stays NaN
    out[large] = np.copysign(1.0 - _erfc_large(y[large]), x[large])
    return out.astype(dtype, copy=False)


def erfc(x: Any) -> np.ndarray:
    """The complementary error function 1 - erf(x), elementwise, accurate also where it is
    tiny (x >> 1) and so where 1 - erf(x) would cancel."""
    x, dtype = _float_array(x)
    y = np.abs(x)
    small = y <= _THRESH
    out = np.empty_like(x)
    out[small] = 1.0 - _erf_small(x[small])
    large = ~small
    c = _erfc_large(y[large])
    out[large] = np.where(x[large] < 0, 2.0 - c, c)
    return out.astype(dtype, copy=False)


# ---- ops ------------------------------------------------------------------------------------


def _check_float(name: str, x: np.ndarray) -> None:
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point input, got dtype {x.dtype}")


class LeakyReLU(Function):
    """y = x if x > 0 else a x (a = negative_slope);  dL/dx = g if x > 0 else a g (a g at 0,
    as PyTorch)."""

    def forward(self, x, negative_slope: float = 0.01):
        _check_float("leaky_relu", x)
        positive = x > 0
        self.negative_slope = negative_slope
        self.save_for_backward(positive)
        return np.where(positive, x, x * negative_slope)

    def backward(self, g):
        (positive,) = self.saved_tensors
        return where(positive, g, g * self.negative_slope)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_KAPPA = 0.044715


class GELU(Function):
    """y = x Phi(x), the Gaussian error linear unit;  dL/dx = g (Phi(x) + x phi(x)).

    approximate="none":  Phi(x) = (1 + erf(x / sqrt 2)) / 2, phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
    approximate="tanh":  y = x (1 + t) / 2, t = tanh(u), u = sqrt(2/pi) (x + 0.044715 x^3);
                         dL/dx = g ((1 + t) / 2 + x (1 - t^2) du/dx / 2),
                         du/dx = sqrt(2/pi) (1 + 3 * 0.044715 x^2).

    When x requires grad, forward also computes dy/dx (from the Phi(x) or t it has), and the
    ordinary backward is g dy/dx; under create_graph it is recomputed from x with
    differentiable ops. float32's exact form uses `_gelu_erf_float32` (error below 2e-7). The
    elements are shared out over `tl.set_num_threads` threads (ops/parallel.py).
    """

    def forward(self, x, approximate: str = "none"):
        _check_float("gelu", x)
        self.approximate = approximate
        flat = x.reshape(-1)  # 1-d: numpy's in-place ufuncs need arrays, not scalars
        y = np.empty_like(flat)
        d = np.empty_like(flat) if self.needs_input_grad[0] else None  # dy/dx
        kernel = _gelu_tanh if approximate == "tanh" else _gelu_erf

        def elements(lo: int, hi: int) -> None:
            kernel(flat[lo:hi], y[lo:hi], None if d is None else d[lo:hi])

        parallel.over_rows(elements, flat.size, flat.size)
        self.save_for_backward(x, d)
        return y.reshape(x.shape)

    def backward(self, g):
        x, d = self.saved_tensors  # d = dy/dx; recomputed from x when recorded
        if isinstance(x, Tensor):
            if self.approximate == "tanh":
                t = (_SQRT_2_OVER_PI * (x + _KAPPA * (x * x * x))).tanh()
                du = _SQRT_2_OVER_PI * (1.0 + (3 * _KAPPA) * (x * x))
                return g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du)
            return g * (normal_cdf(x) + x * _normal_pdf(x))
        return g * d.reshape(x.shape)


def _gelu_erf(x: np.ndarray, y: np.ndarray, d: Optional[np.ndarray]) -> None:
    """y = x Phi(x) and, unless d is None, d = Phi(x) + x phi(x), for a 1-d x."""
    if x.dtype == np.float32:
        _gelu_erf_float32(x, y, d)
        return
    cdf = normal_cdf(x)
    np.multiply(x, cdf, out=y)
    if d is not None:
        np.multiply(x, x, out=d)
        d *= -0.5
        np.exp(d, out=d)
        d *= x
        d *= _INV_SQRT_2PI
        d += cdf


def _gelu_tanh(x: np.ndarray, y: np.ndarray, d: Optional[np.ndarray]) -> None:
    """y = x (1 + t) / 2 and, unless d is None, d = (1 + t) (1 + x (1 - t) du/dx) / 2 (the
    docstring's dy/dx), t = tanh(u), u = sqrt(2/pi) (x + 0.044715 x^3); 1-d arrays."""
    t = np.multiply(x, x)
    t *= _KAPPA
    t += 1.0
    t *= x
    t *= _SQRT_2_OVER_PI
    np.tanh(t, out=t)
    np.add(t, 1.0, out=y)
    if d is not None:
        np.multiply(x, x, out=d)
        d *= 3 * _KAPPA * _SQRT_2_OVER_PI
        d += _SQRT_2_OVER_PI
        d *= x
        np.subtract(1.0, t, out=t)
        d *= t
        d += 1.0
        d *= y  # 1 + t
        d *= 0.5
    y *= x
    y *= 0.5


# Phi(-|x|) = erfc(u) / 2, u = |x| / sqrt 2, by Abramowitz and Stegun's 7.1.26:
# erfc(u) = (a1 t + ... + a5 t^5) exp(-u^2), t = 1 / (1 + p u), error below 1.5e-7. Written in
# s = 1 - t = p u / (1 + p u) (well conditioned near u = 0, where t is close to 1), halved.
_AS_P = 0.3275911
_AS_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _half_erfc_coefficients() -> tuple:
    """b_0..b_5 (lowest degree first, float32) with sum_k b_k s^k = sum_k a_k t^k / 2."""
    b = np.zeros(len(_AS_A) + 1)
    for k, a in enumerate(_AS_A, start=1):  # a_k t^k = a_k (1 - s)^k
        b[: k + 1] += a * np.array([math.comb(k, j) * (-1.0) ** j for j in range(k + 1)])
    return tuple(np.float32(c / 2.0) for c in b)


_HALF_ERFC_B = _half_erfc_coefficients()
_AS_SCALE = np.float32(math.sqrt(2.0) / _AS_P)  # s = |x| / (|x| + sqrt 2 / p)
_SIGN_BIT = np.uint32(0x80000000)


def _gelu_erf_float32(x: np.ndarray, y: np.ndarray, d: Optional[np.ndarray]) -> None:
    """y = x Phi(x) and, unless d is None, d = Phi(x) + x phi(x), of a 1-d float32 x, in
    float32: Phi(x) = 1/2 +- (1/2 - Phi(-|x|)) with the sign of x, Phi(-|x|) = h(s) e, where
    e = exp(-x^2 / 2) (the same e gives phi(x) = e / sqrt(2 pi)) and h the polynomial of
    `_half_erfc_coefficients`. Error below 2e-7 against math.erf's Phi and e's phi; Phi is
    exactly 0 and 1 where e underflows (|x| > 14), as float32's erf. About 25 passes over x.
    """
    s = np.abs(x)
    np.clip(s, 0, np.float32(1e4), out=s)  # inf: s = 1 (y = inf); np.minimum is slower
    scratch = y if d is None else d
    np.add(s, _AS_SCALE, out=scratch)
    s /= scratch
    h = np.multiply(s, _HALF_ERFC_B[-1], out=scratch)  # Horner's rule, in place
    for b in _HALF_ERFC_B[-2:0:-1]:
        h += b
        h *= s
    h += _HALF_ERFC_B[0]
    e = np.multiply(x, x, out=s)
    e *= np.float32(-0.5)
    np.exp(e, out=e)
    h *= e  # Phi(-|x|)
    cdf = np.subtract(np.float32(0.5), h, out=h)  # Phi(|x|) - 1/2 >= 0 ...
    sign = np.bitwise_and(x.view(np.uint32), _SIGN_BIT, out=(s if d is None else y).view(
        np.uint32))  # memory free until the end
    np.bitwise_or(cdf.view(np.uint32), sign, out=cdf.view(np.uint32))  # ... with x's sign
    cdf += np.float32(0.5)  # Phi(x)
    if d is not None:  # cdf is d's memory
        e *= x
        e *= np.float32(_INV_SQRT_2PI)
        np.multiply(x, cdf, out=y)
        d += e
    else:  # cdf is y's memory
        y *= x


def _normal_pdf(x: Any) -> Any:
    """phi(x) = exp(-x^2 / 2) / sqrt(2 pi)."""
    return np.exp(-0.5 * (x * x)) * _INV_SQRT_2PI


def normal_cdf(x: Any) -> Any:
    """Phi(x) = P(N(0, 1) <= x) = erfc(-x / sqrt(2)) / 2: an array, or a NormalCDF."""
    return NormalCDF.apply(x) if isinstance(x, Tensor) else 0.5 * erfc(x * -math.sqrt(0.5))


class NormalCDF(Function):
    """y = Phi(x), the standard normal CDF;  dL/dx = g phi(x) = g exp(-x^2 / 2) / sqrt(2 pi)."""

    def forward(self, x):
        self.save_for_backward(x)
        return normal_cdf(x)

    def backward(self, g):
        (x,) = self.saved_tensors
        return g * _normal_pdf(x)


class ELU(Function):
    """y = x if x > 0 else alpha (exp(x) - 1);  dL/dx = g if x > 0 else g alpha exp(x) =
    g (y + alpha) (g alpha at 0, as PyTorch).

    The backward reads y, so it never evaluates exp of a large x."""

    def forward(self, x, alpha: float = 1.0):
        _check_float("elu", x)
        positive = x > 0
        self.alpha = alpha
        y = np.where(positive, x, alpha * np.expm1(np.minimum(x, 0)))
        self.save_for_backward(positive, y)
        return y

    def backward(self, g):
        positive, y = self.saved_tensors
        return where(positive, g, g * (y + self.alpha))


class Softplus(Function):
    """y = log(1 + exp(beta x)) / beta;  dL/dx = g sigmoid(beta x).

    Where beta x > threshold, y = x and dL/dx = g (PyTorch's linear regime: no overflow)."""

    def forward(self, x, beta: float = 1.0, threshold: float = 20.0):
        _check_float("softplus", x)
        bx = x * beta
        linear = bx > threshold
        self.beta = beta
        self.save_for_backward(x, linear)
        return np.where(linear, x, np.log1p(np.exp(np.minimum(bx, threshold))) / beta)

    def backward(self, g):
        x, linear = self.saved_tensors
        return where(linear, g, g * sigmoid(x * self.beta))


class HardTanh(Clamp):
    """y = min(max(x, min_val), max_val);  dL/dx = g [min_val < x < max_val].

    Clamp's backward, with PyTorch's hardtanh mask: open at the bounds (0 there, where clamp
    passes the gradient). Integer tensors stay integers (the bounds cast to their dtype).
    """

    def forward(self, x, low: float = -1.0, high: float = 1.0):
        low, high = (np.asarray(v).astype(x.dtype) for v in (low, high))
        self.save_for_backward((x > low) & (x < high))
        return np.minimum(np.maximum(x, low), high)


# ---- functional forms (PyTorch's torch.nn.functional names) --------------------------------


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, negative_slope * x elsewhere (PyTorch's F.leaky_relu)."""
    return LeakyReLU.apply(x, negative_slope=float(negative_slope))


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) ("none", exact, via erf) or its tanh approximation ("tanh"): F.gelu."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate argument must be either none or tanh, got "
                         f"{approximate!r}")
    return GELU.apply(x, approximate=approximate)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x where x > 0, alpha * (exp(x) - 1) elsewhere (PyTorch's F.elu)."""
    return ELU.apply(x, alpha=float(alpha))


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, x itself where beta x > threshold (F.softplus)."""
    return Softplus.apply(x, beta=float(beta), threshold=float(threshold))


def silu(x: Tensor) -> Tensor:
    """x * sigmoid(x), the swish (F.silu): composed, so its derivatives are Mul's and
    Sigmoid's."""
    x = as_tensor(x)
    _check_float("silu", x.data)
    return x * x.sigmoid()


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """x clamped to [min_val, max_val], with no gradient at the bounds (F.hardtanh)."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if np.dtype(x.dtype).kind == "u" and min_val < 0:
        raise RuntimeError("cannot do hardtanh on an unsigned type with negative limits")
    return HardTanh.apply(x, low=min_val, high=max_val)
