"""Every op's gradient equals central differences (float64, non-uniform upstream gradient)."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite.core import ops as core_ops
from tinygrad_lite.nn import functional as F
from tinygrad_lite.ops import math as ops
from tinygrad_lite.tools.testing import (
    arrays,
    away_from_zero,
    axis_args,
    broadcastable_arrays,
    check_gradient,
    matmul_arrays,
    positive_arrays,
    separated_arrays,
    shapes,
    values,
)

per_op = settings(max_examples=40)  # per test: a profile loaded here would apply to all modules


# ---- binary arithmetic, broadcasting both ways ----------------------------------------------
@per_op
@given(broadcastable_arrays())
def test_add(ab):
    assert check_gradient(lambda a, b: a + b, *ab)


@per_op
@given(broadcastable_arrays())
def test_sub(ab):
    assert check_gradient(lambda a, b: a - b, *ab)


@per_op
@given(broadcastable_arrays())
def test_mul(ab):
    assert check_gradient(lambda a, b: a * b, *ab)


@per_op
@given(broadcastable_arrays(elements=away_from_zero(0.5)))
def test_div(ab):
    assert check_gradient(lambda a, b: a / b, *ab)


@per_op
@given(arrays())
def test_neg(x):
    assert check_gradient(lambda a: -a, x)


@per_op
@given(positive_arrays(low=0.5), st.sampled_from([-2.0, -1.0, 0.5, 1.0, 2.0, 3.0]))
def test_pow(x, c):
    assert check_gradient(lambda a: a**c, x)


@per_op
@given(arrays(), values())
def test_scalar_on_either_side(x, c):
    assume(abs(c) > 0.1)
    assert check_gradient(lambda a: 2 - a * c + c / (a * a + 1) - (c + a), x)


# ---- linear algebra -------------------------------------------------------------------------
@per_op
@given(matmul_arrays())
def test_matmul(ab):
    a, b = ab
    assert check_gradient(lambda x, y: x @ y, a, b)
    np.testing.assert_allclose((tl.Tensor(a) @ tl.Tensor(b)).data, a @ b)


@per_op
@given(st.data())
def test_linear_fused(data):
    n, i, o = (data.draw(st.integers(1, 4)) for _ in range(3))
    x, w, b = (data.draw(arrays(s)) for s in [(n, i), (o, i), (o,)])
    assert check_gradient(lambda x, w, b: F.linear(x, w, b), x, w, b)
    assert check_gradient(lambda x, w: F.linear(x, w), x, w)
    np.testing.assert_allclose(F.linear(tl.Tensor(x), tl.Tensor(w), tl.Tensor(b)).data,
                               x @ w.T + b)


# ---- shape ops ------------------------------------------------------------------------------
@per_op
@given(st.data())
def test_transpose(data):
    x = data.draw(arrays(shapes(min_dims=1)))
    axes = tuple(data.draw(st.permutations(range(x.ndim))))
    assert check_gradient(lambda a: a.transpose(axes), x)
    assert check_gradient(lambda a: a.T, x)


@per_op
@given(arrays(shapes(min_dims=1)))
def test_reshape_and_flatten(x):
    assert check_gradient(lambda a: a.reshape(-1), x)
    assert check_gradient(lambda a: a.reshape(x.shape[::-1]), x)
    assert check_gradient(lambda a: a.flatten(), x)


@per_op
@given(st.data())
def test_getitem_slices(data):
    x = data.draw(arrays(shapes(min_dims=1)))
    index = tuple(
        slice(data.draw(st.integers(0, n - 1)), None, data.draw(st.integers(1, 2))) for n in x.shape
    )
    assert check_gradient(lambda a: a[index], x)


@per_op
@given(st.data())
def test_getitem_integer_arrays_with_repeats(data):
    x = data.draw(arrays(shapes(min_dims=1, max_dims=2)))
    rows = np.array(data.draw(st.lists(st.integers(0, x.shape[0] - 1), min_size=1, max_size=6)))
    assert check_gradient(lambda a: a[rows], x)  # repeated rows must accumulate


def test_getitem_repeats_accumulate():
    x = tl.Tensor(np.arange(3.0), requires_grad=True)
    x[np.array([0, 0, 2])].sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 1.0])


@per_op
@given(st.data())
def test_concatenate_and_stack(data):
    shape = data.draw(shapes(min_dims=1))
    axis = data.draw(st.integers(0, len(shape) - 1))
    k = data.draw(st.integers(1, 3))
    parts = [data.draw(arrays(shape)) for _ in range(k)]
    assert check_gradient(lambda *ts: tl.concatenate(ts, axis=axis), *parts)
    assert check_gradient(lambda *ts: tl.stack(ts, axis=axis), *parts)


# ---- reductions -----------------------------------------------------------------------------
@per_op
@given(st.data(), st.booleans())
def test_sum_mean(data, keepdims):
    x = data.draw(arrays())
    axis = data.draw(axis_args(x.ndim))
    assert check_gradient(lambda a: a.sum(axis=axis, keepdims=keepdims), x)
    assert check_gradient(lambda a: a.mean(axis=axis, keepdims=keepdims), x)
    np.testing.assert_allclose(tl.Tensor(x).mean(axis, keepdims).data,
                               np.mean(x, axis=axis, keepdims=keepdims))


@per_op
@given(st.data(), st.booleans())
def test_max_without_ties(data, keepdims):
    x = data.draw(separated_arrays())
    axis = data.draw(axis_args(x.ndim))
    assert check_gradient(lambda a: a.amax(axis=axis, keepdims=keepdims), x)
    assert check_gradient(lambda a: a.amin(axis=axis, keepdims=keepdims), x)
    if isinstance(axis, int):  # max(dim) / min(dim): (values, indices), as in PyTorch
        assert check_gradient(lambda a: a.max(axis, keepdims).values, x)
        assert check_gradient(lambda a: a.min(dim=axis, keepdim=keepdims)[0], x)


def test_max_ties_share_the_gradient():
    x = tl.Tensor(np.array([1.0, 3.0, 3.0]), requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.5, 0.5])


# ---- elementwise ----------------------------------------------------------------------------
@per_op
@given(arrays())
def test_exp_sigmoid_tanh(x):
    assert check_gradient(lambda a: a.exp(), x)
    assert check_gradient(lambda a: a.sigmoid(), x)
    assert check_gradient(lambda a: a.tanh(), x)


@per_op
@given(positive_arrays())
def test_log_sqrt(x):
    assert check_gradient(lambda a: a.log(), x)
    assert check_gradient(lambda a: a.sqrt(), x)


@per_op
@given(arrays(elements=away_from_zero(0.01)))
def test_relu(x):
    assert check_gradient(lambda a: a.relu(), x)


def test_relu_derivative_at_zero_is_zero():
    x = tl.Tensor(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])  # the notebook's Z > 0


@per_op
@given(st.data())
def test_softmax_log_softmax(data):
    x = data.draw(arrays(shapes(min_dims=1)))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    assert check_gradient(lambda a: a.softmax(axis), x)
    assert check_gradient(lambda a: a.log_softmax(axis), x)
    np.testing.assert_allclose(tl.Tensor(x).softmax(axis).data.sum(axis=axis), 1.0)


@per_op
@given(st.data())
def test_cross_entropy(data):
    n, c = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    logits = data.draw(arrays((n, c)))
    targets = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    assert check_gradient(lambda z: F.cross_entropy(z, targets), logits)


@per_op
@given(st.data())
def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n(data):
    n, c = data.draw(st.integers(1, 6)), data.draw(st.integers(2, 6))
    logits = data.draw(arrays((n, c)))
    targets = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    z = tl.Tensor(logits, requires_grad=True)
    loss = F.cross_entropy(z, targets)
    loss.backward()
    onehot = np.eye(c)[targets]
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(z.grad, (expected - onehot) / n, rtol=0, atol=1e-12)
    nll = -np.log(expected[np.arange(n), targets]).mean()
    np.testing.assert_allclose(loss.item(), nll, rtol=1e-12)


@per_op
@given(arrays())
def test_cast(x):
    assert check_gradient(lambda a: a.to(np.float64) * 2, x)
    x32 = tl.Tensor(x.astype(np.float32), requires_grad=True)
    w = np.arange(x.size, dtype=np.float64).reshape(x.shape)
    y = x32.to(np.float64)
    assert y.dtype == np.float64
    (y * w).sum().backward()
    assert x32.grad.dtype == np.float32
    np.testing.assert_array_equal(x32.grad, w.astype(np.float32))


# ---- a user-defined op through the public Function API ----------------------------------------
class Cube(tl.Function):
    """y = x**3;  dy/dx = 3 x**2."""

    def forward(self, x):
        self.save_for_backward(x)
        return x**3

    def backward(self, grad):
        (x,) = self.saved_tensors
        return 3 * x**2 * grad


@per_op
@given(arrays())
def test_user_function(x):
    assert check_gradient(lambda a: Cube.apply(a), x)


def test_gradcheck_catches_a_wrong_rule():
    class WrongCube(Cube):
        def backward(self, grad):
            (x,) = self.saved_tensors
            return 2 * x**2 * grad

    x = tl.Tensor(np.array([[1.0, 2.0]]), requires_grad=True)
    with pytest.raises(tl.GradcheckError, match=r"input 0 \(shape \(1, 2\)\) at index \(0, 0\)"):
        tl.gradcheck(lambda a: WrongCube.apply(a), x)


def test_every_op_has_a_docstring_stating_its_derivative():
    functions = [v for v in [*vars(core_ops).values(), *vars(ops).values()]
                 if isinstance(v, type) and issubclass(v, tl.Function) and v is not tl.Function]
    assert len(functions) >= 25
    for fn in functions:
        assert fn.__doc__ and ("d" in fn.__doc__), fn.__name__


# ---- the matmul helper: the same products as numpy, in row blocks where that is faster ------
@settings(deadline=None, max_examples=30)
@given(st.integers(1, 300), st.integers(1, 40), st.integers(1, 12), st.sampled_from([1, 2, 3]))
def test_matmul_helper_equals_numpy(m, k, n, lead):
    from tinygrad_lite.core import blas as mm

    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    a = rng.standard_normal((lead, m, k) if lead > 1 else (m, k))
    b = rng.standard_normal((k, n))
    old = mm.BLOCK_WORK
    mm.BLOCK_WORK = 32 * k * n  # blocks of 32 rows, so small arrays take the blocked path
    try:
        np.testing.assert_allclose(mm.matmul(a, b), a @ b, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(mm.matmul(a, b.T.copy().T), a @ b, rtol=1e-12, atol=1e-12)
    finally:
        mm.BLOCK_WORK = old
    g = rng.standard_normal((m, n)).astype(np.float32)
    np.testing.assert_allclose(mm.column_sums(g), g.sum(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(mm.row_sums(g), g.sum(axis=1), rtol=1e-5, atol=1e-5)
    g[0, n // 2] = np.nan  # a NaN is the row's maximum, as in numpy
    np.testing.assert_array_equal(mm.row_max(g), g.max(axis=1))
    wide = rng.standard_normal((m, mm.SHORT_ROW + k))  # numpy's own reduction
    np.testing.assert_array_equal(mm.row_max(wide), wide.max(axis=1))
    assert mm.row_max(g).dtype == mm.row_sums(g).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
def test_reductions_on_strided_views_equal_numpy(dtype, dim) -> None:
    """The reductions call the array's own methods (x.sum, x.mean, x.max): on a transposed,
    sliced (non-contiguous) view, in every float dtype, they give numpy's functions' values."""
    rng = np.random.default_rng(0)
    base = rng.standard_normal((7, 12)).astype(dtype)
    view = base.T[::2]  # (6, 7), strided both ways
    t = tl.Tensor(view)
    np.testing.assert_array_equal(t.sum(dim=dim).numpy(), np.sum(view, axis=dim))
    np.testing.assert_allclose(t.mean(dim=dim).numpy(), np.mean(view, axis=dim), rtol=1e-3)
    if isinstance(dim, int):
        shifted = view - np.max(view, axis=dim, keepdims=True)
        soft = np.exp(shifted) / np.sum(np.exp(shifted), axis=dim, keepdims=True)
        np.testing.assert_allclose(t.softmax(dim=dim).numpy(), soft, rtol=2e-3, atol=1e-4)
        np.testing.assert_allclose(t.logsumexp(dim).numpy(),
                                   np.log(np.sum(np.exp(view.astype(np.float64)), axis=dim)),
                                   rtol=2e-3)
