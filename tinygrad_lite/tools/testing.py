"""Hypothesis strategies for gradient tests, shared by the test suite and by users checking
their own ops. Needs `hypothesis` (installed with the `test` extra).

    from hypothesis import given
    from tinygrad_lite.tools.testing import arrays, check_gradient

    @given(arrays())
    def test_cube(x):
        assert check_gradient(lambda t: Cube.apply(t), x)

    @given(arrays(), gradient_seeds())
    def test_cube_twice(x, seed):      # second derivatives, random u and w per example
        assert check_gradgrad(lambda t: Cube.apply(t), x, seed=seed)

Values are float64 and bounded, so central differences are accurate; strategies that keep
values away from kinks and domain edges (ReLU at 0, log near 0, max ties) are provided.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..core.tensor import Tensor
from .gradcheck import gradcheck, gradgradcheck

MAX_SIDE = 4


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = MAX_SIDE):
    """Array shapes, including size-1 axes."""
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def values(low: float = -3.0, high: float = 3.0):
    """Bounded float64 values."""
    return st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)


def away_from_zero(low: float = 0.1, high: float = 3.0):
    """Values in [-high, -low] or [low, high]: no kink at 0, no division by ~0."""
    return st.one_of(values(low, high), values(-high, -low))


def arrays(shape: Any = None, elements: Any = None, unique: bool = False):
    """float64 arrays of the given shape (or a drawn one), elements in [-3, 3] by default."""
    return hnp.arrays(
        np.float64,
        shapes() if shape is None else shape,
        elements=values() if elements is None else elements,
        unique=unique,
    )


def positive_arrays(shape: Any = None, low: float = 0.1, high: float = 3.0):
    """float64 arrays in [low, high]: the domain of log and sqrt, away from 0."""
    return arrays(shape, elements=values(low, high))


def separated_arrays(shape: Any = None, gap: float = 0.01):
    """float64 arrays whose elements differ pairwise by at least `gap`: no near-ties for max."""
    grid = st.integers(-300, 300).map(lambda i: i * gap)
    return hnp.arrays(np.float64, shapes() if shape is None else shape, elements=grid, unique=True)


@st.composite
def broadcastable_arrays(draw, num: int = 2, elements: Any = None) -> tuple:
    """`num` arrays whose shapes broadcast together (new leading axes and size-1 axes)."""
    shapes_ = draw(
        hnp.mutually_broadcastable_shapes(num_shapes=num, min_dims=0, max_dims=3, max_side=3)
    )
    return tuple(draw(arrays(s, elements)) for s in shapes_.input_shapes)


@st.composite
def matmul_arrays(draw) -> tuple:
    """(a, b) valid for a @ b: matrix @ matrix, batched with broadcast batch axes, or 1-D."""
    n, k, m = (draw(st.integers(1, MAX_SIDE)) for _ in range(3))
    kind = draw(st.sampled_from(["2d", "batched", "vec-mat", "mat-vec", "batched-vec"]))
    if kind == "2d":
        a_shape, b_shape = (n, k), (k, m)
    elif kind == "batched":
        batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=2,
                                                       max_side=3))
        a_shape = batch.input_shapes[0] + (n, k)
        b_shape = batch.input_shapes[1] + (k, m)
    elif kind == "vec-mat":
        a_shape, b_shape = (k,), (k, m)
    elif kind == "mat-vec":
        a_shape, b_shape = (n, k), (k,)
    else:
        a_shape, b_shape = (2, n, k), (k,)
    return draw(arrays(a_shape)), draw(arrays(b_shape))


@st.composite
def axis_args(draw, ndim: int) -> Any:
    """An `axis` argument valid for `ndim` dims: None, an int (maybe negative) or a tuple."""
    if ndim == 0:
        return None
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(axes)


def check_gradient(fn: Callable[..., Tensor], *arrays_: np.ndarray, **kwargs: Any) -> bool:
    """gradcheck `fn` at float64 `arrays_`, every one of them requiring grad."""
    inputs = [Tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays_]
    return gradcheck(fn, *inputs, **kwargs)


def gradient_seeds():
    """Seeds for the random upstream (and second-order) gradients of `check_gradgrad`."""
    return st.integers(0, 2**32 - 1)


def check_gradgrad(fn: Callable[..., Any], *arrays_: np.ndarray, **kwargs: Any) -> bool:
    """gradgradcheck `fn` at float64 `arrays_`, every one of them requiring grad: autograd's
    second derivatives (also with respect to the upstream gradient) against finite
    differences of its first derivatives. `seed=` picks the random upstream gradient u and
    second-order gradient w (draw it with `gradient_seeds()`)."""
    inputs = [Tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays_]
    return gradgradcheck(fn, *inputs, **kwargs)
