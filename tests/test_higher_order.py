"""Second derivatives of every op: `gradgradcheck` over the first-order tests' strategies.

Each property draws the inputs as the first-order test of the same op does (test_ops.py,
test_torch_ops.py, test_losses.py, test_nn_api.py, via tinygrad_lite.tools.testing) and a seed for
the random, non-uniform upstream gradient u and second-order gradient w, then checks
d<vjp(x, u), w>/d(x, u) from autograd (the backward pass differentiated) against central
differences of the first-order backward, in float64. The nn ops draw test_conv_pool.py's and
test_norm_dropout.py's cases; their gradient ops (Conv2dGradInput, MaxPool2dScatter, ...) are
also checked on their own (`.apply`) and through third derivatives (`vjp_of`). Every op class
of ops.py, ops_loss.py, ops_activation.py and ops_nn.py must be exercised (`covers`, checked
by the last tests).

Also: `gradgradcheck`'s own behaviour, `once_differentiable`, and what a custom Function
with a numpy backward does under create_graph.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.lib.stride_tricks import sliding_window_view
from test_conv_pool import conv_cases, pool_cases  # the first-order strategies
from test_losses import class_problem, pair, probabilities
from test_norm_dropout import bn_cases
from test_ops import Cube  # the public Function API's example op
from test_torch_ops import var_std_cases

import tinygrad_lite as tl
from tinygrad_lite import autograd
from tinygrad_lite.core import ops as core_ops
from tinygrad_lite.nn import functional as F
from tinygrad_lite.ops import activation as ops_activation
from tinygrad_lite.ops import conv as ops_nn
from tinygrad_lite.ops import conv_options as ops_conv_options
from tinygrad_lite.ops import einsum as ops_einsum
from tinygrad_lite.ops import inplace as ops_inplace
from tinygrad_lite.ops import loss as ops_loss
from tinygrad_lite.ops import math as ops
from tinygrad_lite.ops import roll as ops_roll
from tinygrad_lite.ops import sequence as ops_sequence
from tinygrad_lite.ops import shape as ops_shape
from tinygrad_lite.tools.testing import (
    arrays,
    away_from_zero,
    axis_args,
    broadcastable_arrays,
    check_gradgrad,
    gradient_seeds,
    matmul_arrays,
    positive_arrays,
    separated_arrays,
    shapes,
    values,
)

FAST = settings(max_examples=10, deadline=None)
REDUCTIONS = ["mean", "sum", "none"]

# ---- which op classes each test differentiates twice -----------------------------------------
DECLARED: dict = {}  # op class -> names of the tests that cover it


def covers(*classes):
    """Declare the ops a test differentiates twice; the autouse fixture checks that each of
    them did run its backward inside the test."""

    def mark(test):
        test.covered_ops = classes
        for cls in classes:
            DECLARED.setdefault(cls, []).append(test.__name__)
        return test

    return mark


@pytest.fixture(autouse=True)
def _ops_seen(request):
    seen: set = set()

    def hook(ctx, grad_out, parent_grads):
        seen.add(type(ctx))

    autograd.backward_hooks.append(hook)
    try:
        yield seen
    finally:
        autograd.backward_hooks.remove(hook)
    missing = [c.__name__ for c in getattr(request.function, "covered_ops", ()) if c not in seen]
    assert not missing, f"{request.function.__name__} never backpropagated through {missing}"


def ggc(fn, *arrays_, seed=0):
    return check_gradgrad(fn, *arrays_, seed=seed)


# ---- binary arithmetic, broadcasting both ways -------------------------------------------------
@covers(core_ops.Add, core_ops.Sub, core_ops.Mul)
@FAST
@given(broadcastable_arrays(), gradient_seeds())
def test_add_sub_mul(ab, seed):
    assert ggc(lambda a, b: a + b, *ab, seed=seed)
    assert ggc(lambda a, b: a - b, *ab, seed=seed)
    assert ggc(lambda a, b: a * b, *ab, seed=seed)
    assert ggc(lambda a, b: (a + b) * (a - b) * a, *ab, seed=seed)  # non-zero second derivatives


@covers(core_ops.Div)
@FAST
@given(broadcastable_arrays(elements=away_from_zero(0.5)), gradient_seeds())
def test_div(ab, seed):
    assert ggc(lambda a, b: a / b, *ab, seed=seed)


@covers(core_ops.Neg)
@FAST
@given(arrays(), gradient_seeds())
def test_neg(x, seed):
    assert ggc(lambda a: -a * a, x, seed=seed)


@covers(ops.Pow)
@FAST
@given(positive_arrays(low=0.5), st.sampled_from([-2.0, -1.0, 0.0, 0.5, 1.0, 2.0, 3.0]),
       gradient_seeds())
def test_pow(x, c, seed):
    assert ggc(lambda a: a**c, x, seed=seed)


@covers(core_ops.Add, core_ops.Sub, core_ops.Mul, core_ops.Div)
@FAST
@given(arrays(), values(), gradient_seeds())
def test_scalar_on_either_side(x, c, seed):
    assume(abs(c) > 0.1)
    assert ggc(lambda a: 2 - a * c + c / (a * a + 1) - (c + a), x, seed=seed)


@st.composite
def remainder_arrays(draw):
    """(a, b) of one shape, b away from 0 and a / b away from integers: no jump of a % b is
    within the finite differences' reach."""
    b = draw(arrays(elements=away_from_zero(0.5)))
    q = draw(arrays(b.shape))
    q = np.floor(q) + 0.1 + 0.8 * (q - np.floor(q))  # k + [0.1, 0.9)
    return q * b, b


@covers(ops.Remainder)
@FAST
@given(remainder_arrays(), gradient_seeds())
def test_remainder(ab, seed):
    assert ggc(lambda a, b: a % b, *ab, seed=seed)
    assert ggc(lambda a, b: (a % b) * a * b, *ab, seed=seed)  # non-zero second derivatives
    a, b = ab
    assert ggc(lambda t: (t % 1.5) * t, np.floor(a / 1.5) * 1.5 + 0.75, seed=seed)


@covers(ops.ScalarPow)
@FAST
@given(arrays(), st.sampled_from([0.5, 2, 3.5, float(np.e)]), gradient_seeds())
def test_number_to_the_power_of_a_tensor(x, base, seed):
    assert ggc(lambda t: base**t, x, seed=seed)
    assert ggc(lambda t: base**t * t, x, seed=seed)


NOT_DIFFERENTIABLE = {ops.FloorDivide}  # PyTorch has no derivative for them either


def test_floor_divide_backward_raises_first_and_second_order():
    x = tl.Tensor(X + 0.1, requires_grad=True)  # x / 0.5 away from integers (its jumps)
    for make_graph in (False, True):
        with pytest.raises(RuntimeError, match="derivative for floor_divide is not implemented"):
            tl.autograd.grad((x // 0.5).sum(), x, create_graph=make_graph)
    (g,) = tl.autograd.grad((x.detach() // 0.5 * x * x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, 2 * (x.data // 0.5) * x.data)
    assert ggc(lambda t: t.detach() // 0.5 * t * t, x.data)  # as a constant it is fine


@covers(core_ops.Cast)
@FAST
@given(arrays(), gradient_seeds())
def test_cast(x, seed):
    assert ggc(lambda a: core_ops.Cast.apply(a, dtype=np.float64) * a, x, seed=seed)


def test_cast_float32_second_derivative_keeps_the_dtype():
    x = tl.Tensor(np.array([1.5, -2.0], dtype=np.float32), requires_grad=True)
    y = (x.to(np.float64) ** 3).sum()
    (g,) = tl.autograd.grad(y, x, create_graph=True)
    (h,) = tl.autograd.grad(g.sum(), x)
    assert g.dtype == h.dtype == np.float32
    np.testing.assert_array_equal(h.data, 6 * x.data)


# ---- linear algebra --------------------------------------------------------------------------
@covers(core_ops.MatMul)
@FAST
@given(matmul_arrays(), gradient_seeds())
def test_matmul(ab, seed):
    assert ggc(lambda x, y: x @ y, *ab, seed=seed)


@covers(core_ops.Linear)
@FAST
@given(st.data(), gradient_seeds())
def test_linear_fused(data, seed):
    n, i, o = (data.draw(st.integers(1, 4)) for _ in range(3))
    lead = data.draw(st.sampled_from([(), (2,)]))
    x, w, b = (data.draw(arrays(s)) for s in [lead + (n, i), (o, i), (o,)])
    assert ggc(lambda x, w, b: F.linear(x, w, b).tanh(), x, w, b, seed=seed)
    assert ggc(lambda x, w: F.linear(x, w), x, w, seed=seed)


# ---- shape ops -------------------------------------------------------------------------------
@covers(core_ops.Transpose)
@FAST
@given(st.data(), gradient_seeds())
def test_transpose(data, seed):
    x = data.draw(arrays(shapes(min_dims=1)))
    axes = tuple(data.draw(st.permutations(range(x.ndim))))
    assert ggc(lambda a: a.transpose(axes) * a.transpose(axes), x, seed=seed)
    assert ggc(lambda a: a.T, x, seed=seed)


@covers(core_ops.Reshape)
@FAST
@given(arrays(shapes(min_dims=1)), gradient_seeds())
def test_reshape_and_flatten(x, seed):
    assert ggc(lambda a: a.reshape(-1) * a.flatten(), x, seed=seed)
    assert ggc(lambda a: a.reshape(x.shape[::-1]), x, seed=seed)


@covers(ops.GetItem)
@FAST
@given(st.data(), gradient_seeds())
def test_getitem_slices(data, seed):
    x = data.draw(arrays(shapes(min_dims=1)))
    index = tuple(
        slice(data.draw(st.integers(0, n - 1)), None, data.draw(st.integers(1, 2))) for n in x.shape
    )
    assert ggc(lambda a: a[index] * a[index], x, seed=seed)


@covers(ops.GetItem, ops.IndexAdd)
@FAST
@given(st.data(), gradient_seeds())
def test_getitem_integer_arrays_with_repeats(data, seed):
    x = data.draw(arrays(shapes(min_dims=1, max_dims=2)))
    rows = np.array(data.draw(st.lists(st.integers(0, x.shape[0] - 1), min_size=1, max_size=6)))
    assert ggc(lambda a: a[rows] * a[rows].sin(), x, seed=seed)  # repeats accumulate


@covers(ops.SetItem)
@FAST
@given(st.data(), gradient_seeds())
def test_setitem_in_a_graph(data, seed):
    x = data.draw(arrays(shapes(min_dims=1)))
    k = data.draw(st.integers(1, x.shape[0]))
    v = data.draw(arrays((k,) + x.shape[1:]))

    def f(a, b):
        y = a * a
        y[:k] = b.sin() * a[:k]  # recorded: SetItem(old y, value)
        return y * a

    assert ggc(f, x, v, seed=seed)


@covers(ops_inplace.CopySlices)
@FAST
@given(st.data(), gradient_seeds())
def test_write_through_a_view_in_a_graph(data, seed):
    x = data.draw(arrays(shapes(min_dims=1)))
    k = data.draw(st.integers(1, x.shape[0]))

    def f(a):
        y = a * a
        y[:k].mul_(2.0)  # recorded: CopySlices(old y, the view's new values)
        return y * y

    assert ggc(f, x, seed=seed)


def test_write_through_a_view_recorded_gradient_is_the_plain_one():
    """CopySlices' recorded rule zeroes the written elements of g, as its plain rule does."""
    x = tl.tensor([1.0, 2.0, 3.0], dtype=tl.float64, requires_grad=True)
    y = x * x
    y[0:2].mul_(2.0)
    (recorded,) = tl.autograd.grad((y * y).sum(), x, create_graph=True)
    np.testing.assert_allclose(recorded.data, [16.0, 128.0, 108.0])  # 16 x**3, then 4 x**3


@covers(ops.Concatenate, ops.Stack)
@FAST
@given(st.data(), gradient_seeds())
def test_concatenate_and_stack(data, seed):
    shape = data.draw(shapes(min_dims=1))
    axis = data.draw(st.integers(0, len(shape) - 1))
    k = data.draw(st.integers(1, 3))
    parts = [data.draw(arrays(shape)) for _ in range(k)]
    assert ggc(lambda *ts: tl.concatenate([t * t for t in ts], axis=axis), *parts, seed=seed)
    assert ggc(lambda *ts: tl.stack([t * t for t in ts], axis=axis), *parts, seed=seed)


@covers(core_ops.Expand, ops.SumToSize)
@FAST
@given(arrays(shapes(max_side=2)), st.data(), gradient_seeds())
def test_expand_and_sum_to_size(x, data, seed):
    lead = data.draw(st.lists(st.integers(1, 3), max_size=2))
    sizes = lead + [data.draw(st.sampled_from([-1, 3])) if n == 1 else -1 for n in x.shape]
    assert ggc(lambda a: a.expand(*sizes) * a, x, seed=seed)
    big = data.draw(arrays(tuple(lead) + tuple(3 if n == 1 else n for n in x.shape)))
    assert ggc(lambda b: b.sum_to_size(x.shape) * b.sum_to_size(x.shape), big, seed=seed)


@covers(ops.Clone)
@FAST
@given(arrays(), gradient_seeds())
def test_clone(x, seed):
    assert ggc(lambda a: a.clone() * a, x, seed=seed)


# ---- reductions ------------------------------------------------------------------------------
@covers(core_ops.Sum, core_ops.Mean)
@FAST
@given(st.data(), st.booleans(), gradient_seeds())
def test_sum_mean(data, keepdims, seed):
    x = data.draw(arrays())
    axis = data.draw(axis_args(x.ndim))
    assert ggc(lambda a: (a * a).sum(axis=axis, keepdims=keepdims), x, seed=seed)
    assert ggc(lambda a: (a * a).mean(axis=axis, keepdims=keepdims), x, seed=seed)


@covers(ops.Prod, ops.Where)
@FAST
@given(st.data(), st.booleans(), gradient_seeds())
def test_prod_with_zeros(data, keepdims, seed):
    """Exact zeros (none, one or several per slice): the backward's product of the others is
    right in value and first derivative there, so the second derivatives are too."""
    zero_or_not = st.one_of(st.just(0.0), away_from_zero(0.25, 2.0))
    x = data.draw(arrays(elements=zero_or_not))
    axis = data.draw(axis_args(x.ndim))
    assert ggc(lambda a: a.prod(axis, keepdims=keepdims), x, seed=seed)
    assert ggc(lambda a: a.prod(axis, keepdims=keepdims).sum() * a, x, seed=seed)


@covers(ops.Exp, ops.Log, core_ops.Sum)
@FAST
@given(st.data(), st.booleans(), gradient_seeds())
def test_logsumexp(data, keepdim, seed):
    x = data.draw(arrays(shapes(min_dims=1)))
    dim = data.draw(st.one_of(st.integers(-x.ndim, x.ndim - 1),
                              st.lists(st.integers(0, x.ndim - 1), min_size=1, unique=True)
                              .map(tuple)))
    assert ggc(lambda a: a.logsumexp(dim, keepdim=keepdim), x * 100, seed=seed)


@covers(ops.Max, ops.Min)
@FAST
@given(st.data(), st.booleans(), gradient_seeds())
def test_max_without_ties(data, keepdims, seed):
    x = data.draw(separated_arrays())
    axis = data.draw(axis_args(x.ndim))
    # a smooth function after the max: its backward then sees an upstream gradient that
    # depends on x (the max itself is piecewise linear)
    assert ggc(lambda a: a.amax(axis=axis, keepdims=keepdims).exp(), x, seed=seed)
    assert ggc(lambda a: a.amin(axis=axis, keepdims=keepdims).sin(), x, seed=seed)
    if isinstance(axis, int):
        assert ggc(lambda a: a.max(axis, keepdims).values.tanh(), x, seed=seed)


@covers(ops.Var, ops.Std)
@FAST
@given(var_std_cases(), gradient_seeds())
def test_var_std(case, seed):
    x, kw = case
    assert ggc(lambda a: a.var(**kw), x, seed=seed)
    assert ggc(lambda a: a.std(**kw), x, seed=seed)


# ---- elementwise -----------------------------------------------------------------------------
@covers(ops.Exp, ops.Sigmoid, ops.Tanh, ops.Sin, ops.Cos)
@FAST
@given(arrays(), gradient_seeds())
def test_exp_sigmoid_tanh_sin_cos(x, seed):
    for f in (tl.Tensor.exp, tl.Tensor.sigmoid, tl.Tensor.tanh, tl.Tensor.sin, tl.Tensor.cos):
        assert ggc(f, x, seed=seed)


@covers(ops.Log, ops.Sqrt)
@FAST
@given(positive_arrays(), gradient_seeds())
def test_log_sqrt(x, seed):
    assert ggc(lambda a: a.log(), x, seed=seed)
    assert ggc(lambda a: a.sqrt(), x, seed=seed)


@covers(ops.Log1p)
@FAST
@given(arrays(elements=values(-0.5, 3.0)), gradient_seeds())
def test_log1p(x, seed):
    assert ggc(lambda a: a.log1p(), x, seed=seed)


@covers(core_ops.ReLU, ops.Abs)
@FAST
@given(arrays(elements=away_from_zero(0.01)), gradient_seeds())
def test_relu_abs(x, seed):
    assert ggc(lambda a: a.relu() * a, x, seed=seed)
    assert ggc(lambda a: a.abs() * a, x, seed=seed)


@covers(ops.Softmax, ops.LogSoftmax)
@FAST
@given(st.data(), gradient_seeds())
def test_softmax_log_softmax(data, seed):
    x = data.draw(arrays(shapes(min_dims=1)))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    assert ggc(lambda a: a.softmax(axis), x, seed=seed)
    assert ggc(lambda a: a.log_softmax(axis), x, seed=seed)


@covers(ops.Clamp)
@FAST
@given(separated_arrays(), st.sampled_from([(-1.005, 1.005), (None, 0.505), (-0.005, None)]),
       gradient_seeds())
def test_clamp(x, bounds, seed):
    low, high = bounds  # between the grid's multiples of 0.01: no kink is probed
    assert ggc(lambda a: a.clamp(low, high) * a, x, seed=seed)


@covers(ops.Maximum, ops.Minimum)
@FAST
@given(broadcastable_arrays(), gradient_seeds())
def test_maximum_minimum(ab, seed):
    a, b = ab
    assume(np.all(np.abs(a - b) > 1e-3))  # away from ties (a kink)
    assert ggc(lambda u, v: tl.maximum(u, v) * u, a, b, seed=seed)
    assert ggc(lambda u, v: tl.minimum(u, v) * v, a, b, seed=seed)


@st.composite
def where_args(draw):
    s = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3))
    cond = draw(hnp.arrays(np.bool_, s.input_shapes[0]))
    return cond, draw(arrays(s.input_shapes[1])), draw(arrays(s.input_shapes[2]))


@covers(ops.Where)
@FAST
@given(where_args(), gradient_seeds())
def test_where_and_masked_fill(args, seed):
    cond, x, y = args
    assert ggc(lambda a, b: tl.where(cond, a * a, b.exp()), x, y, seed=seed)
    mask = cond if cond.ndim <= x.ndim else cond.any(axis=tuple(range(cond.ndim - x.ndim)))
    assert ggc(lambda a: (a * a).masked_fill(mask, 2.0), x, seed=seed)


# ---- activations -------------------------------------------------------------------------------
@covers(ops_activation.LeakyReLU)
@FAST
@given(arrays(elements=away_from_zero()), gradient_seeds())
def test_leaky_relu(x, seed):
    assert ggc(lambda t: F.leaky_relu(t, 0.2) * t, x, seed=seed)
    assert ggc(lambda t: tl.nn.LeakyReLU(-1.5)(t) * t, x, seed=seed)


@covers(ops_activation.GELU, ops_activation.NormalCDF)
@FAST
@given(arrays(), gradient_seeds())
def test_gelu_both_forms(x, seed):
    assert ggc(tl.nn.GELU(), x, seed=seed)
    assert ggc(tl.nn.GELU(approximate="tanh"), x, seed=seed)
    assert ggc(lambda t: ops_activation.NormalCDF.apply(t), x, seed=seed)


@covers(ops_activation.ELU, ops_activation.Softplus, ops_activation.HardTanh, ops.Sigmoid)
@FAST
@given(separated_arrays(), gradient_seeds())
def test_elu_softplus_silu_hardtanh(x, seed):
    x = x + 0.005  # between the grid's multiples of 0.01: no kink (0, the bounds) is probed
    assert ggc(lambda t: F.elu(t) * t, x, seed=seed)
    assert ggc(tl.nn.ELU(alpha=0.5), x, seed=seed)
    assert ggc(lambda t: F.softplus(t) * t, x, seed=seed)
    assert ggc(tl.nn.Softplus(beta=2.0, threshold=1.0), x, seed=seed)  # linear above x = 0.5
    assert ggc(lambda t: F.silu(t) * t, x, seed=seed)
    assert ggc(lambda t: F.hardtanh(t) * t, x, seed=seed)
    assert ggc(tl.nn.Hardtanh(-0.5, 2.0), x, seed=seed)


# ---- losses (test_losses.py's strategies) --------------------------------------------------------
def t64(x):
    return np.asarray(x, dtype=np.float64)


@covers(core_ops.CrossEntropy)
@FAST
@given(st.data(), gradient_seeds())
def test_cross_entropy_fused(data, seed):
    n, c = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    logits = data.draw(arrays((n, c)))
    targets = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    assert ggc(lambda z: F.cross_entropy(z, targets), logits, seed=seed)


@covers(ops_loss.WeightedCrossEntropy)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(problem=class_problem(), smoothing=st.sampled_from([0.0, 0.1, 1.0]), seed=gradient_seeds())
def test_cross_entropy_weighted(reduction, problem, smoothing, seed):
    x, targets, weight = problem
    assert ggc(lambda a: F.cross_entropy(a, targets, weight, reduction=reduction,
                                         label_smoothing=smoothing), x, seed=seed)


@covers(ops_loss.WeightedCrossEntropy)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(data=st.data(), smoothing=st.sampled_from([0.0, 0.2]), seed=gradient_seeds())
def test_cross_entropy_probability_targets(reduction, data, smoothing, seed):
    n, c = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    x, y = data.draw(arrays((n, c))), data.draw(probabilities((n, c)))
    weight = data.draw(st.one_of(st.none(), arrays((c,), elements=values(0.2, 2.0))))
    assert ggc(lambda a, b: F.cross_entropy(a, b, weight, reduction=reduction,
                                            label_smoothing=smoothing), x, y, seed=seed)


@covers(ops_loss.NLL)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(problem=class_problem(), seed=gradient_seeds())
def test_nll(reduction, problem, seed):
    x, targets, weight = problem
    assert ggc(lambda a: F.nll_loss(a.log_softmax(1), targets, weight, reduction=reduction),
               x, seed=seed)


@covers(ops_loss.SquaredError)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(xy=pair(), data=st.data(), seed=gradient_seeds())
def test_mse(reduction, xy, data, seed):
    x, y = xy
    assert ggc(lambda a, b: F.mse_loss(a, b, reduction=reduction), x, y, seed=seed)
    if reduction != "mean":  # the weighted mean: test_weighted_mean_losses_second_derivative
        w = data.draw(arrays(x.shape, elements=values(0.2, 2.0)))
        assert ggc(lambda a, b, c: F.mse_loss(a, b, reduction=reduction, weight=c), x, y, w,
                   seed=seed)


@covers(ops_loss.AbsoluteError)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(xd=pair(target_elements=away_from_zero()), data=st.data(), seed=gradient_seeds())
def test_l1(reduction, xd, data, seed):
    x, d = xd  # target = x - d with |d| >= 0.1: away from the kink of |x - y|
    y = x - d
    assert ggc(lambda a, b: F.l1_loss(a, b, reduction=reduction), x, y, seed=seed)
    if reduction != "mean":
        w = data.draw(arrays(x.shape, elements=values(0.2, 2.0)))
        assert ggc(lambda a, b, c: F.l1_loss(a, b, reduction=reduction, weight=c), x, y, w,
                   seed=seed)


@pytest.mark.parametrize("loss", [F.mse_loss, F.l1_loss])
def test_weighted_mean_losses_second_derivative(loss):
    x, y, w = np.array([0.0, 2.0]), np.array([1.0, 1.5]), np.array([0.5, 2.0])
    assert check_gradgrad(lambda a, b, c: loss(a, b, weight=c), x, y, w)


@covers(ops_loss.BinaryCrossEntropy)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(xy=pair(values(0.05, 0.95), values(0.01, 0.99)), weighted=st.booleans(),
       seed=gradient_seeds())
def test_bce(reduction, xy, weighted, seed):
    x, y = xy
    w = np.linspace(0.5, 1.5, x.size).reshape(x.shape) if weighted else None
    assert ggc(lambda a, b: F.binary_cross_entropy(a, b, w, reduction=reduction), x, y,
               seed=seed)


@covers(ops_loss.BinaryCrossEntropyWithLogits)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(xy=pair(values(-4.0, 4.0), values(0.0, 1.0)), data=st.data(), seed=gradient_seeds())
def test_bce_with_logits(reduction, xy, data, seed):
    x, y = xy
    last = x.shape[-1:] if x.ndim else ()
    w = data.draw(st.one_of(st.none(), arrays(x.shape, elements=values(0.2, 2.0))))
    pw = data.draw(st.one_of(st.none(), arrays(last, elements=values(0.2, 3.0))))
    assume(pw is None or np.all(x != 0))  # x == 0 exactly: test_bce_with_logits_at_zero
    assert ggc(lambda a, b: F.binary_cross_entropy_with_logits(a, b, w, reduction=reduction,
                                                               pos_weight=pw), x, y, seed=seed)


def test_bce_with_logits_at_zero():
    x, y = t64(0.0), t64(0.0)
    assert check_gradgrad(
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=np.array(0.5),
                                                        reduction="none"), x, y)


# ---- nn ops (test_conv_pool.py's and test_norm_dropout.py's strategies) ------------------------
def vjp_of(f):
    """(*inputs, u) -> f's first-order gradients for the upstream gradient u, recorded
    (create_graph): gradgradcheck on it checks f's third derivatives, that is the second
    derivatives of the gradient ops that f's backward is made of."""

    def first_order(*args):
        *inputs, u = args
        return tl.autograd.grad(f(*inputs), inputs, u, create_graph=True)

    return first_order


def out_hw(x_shape, kernel, stride, padding):
    return tuple((x_shape[2 + a] + 2 * padding[a] - kernel[a]) // stride[a] + 1 for a in (0, 1))


def window_argmax(x, kernel, stride, padding):
    """The kernel offset i * kw + j of each window's maximum, laid out (C, N, OH, OW) as
    MaxPool2d keeps it (a reference, independent of the op; padding counts as -inf)."""
    (ph, pw), (sh, sw) = padding, stride
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    oh, ow = out_hw(x.shape, kernel, stride, padding)
    windows = sliding_window_view(xp, kernel, axis=(2, 3))[:, :, ::sh, ::sw][:, :, :oh, :ow]
    arg = windows.reshape(*windows.shape[:4], -1).argmax(axis=-1)
    return arg.transpose(1, 0, 2, 3)


@covers(ops_nn.Conv2d, ops_nn.Conv2dGradInput, ops_nn.Conv2dGradWeight)
@FAST
@given(conv_cases(), st.booleans(), st.data(), gradient_seeds())
def test_conv2d(case, with_bias, data, seed):
    x, w, b, stride, padding = case
    opts = dict(stride=stride, padding=padding)
    if with_bias:
        assert ggc(lambda a, v, c: F.conv2d(a, v, c, **opts).sin(), x, w, b, seed=seed)
        assert ggc(lambda a, v, c: F.conv2d(a, v, c, **opts), x, w, b, seed=seed)  # bilinear
    else:
        assert ggc(lambda a, v: F.conv2d(a, v, None, **opts).sin(), x, w, seed=seed)
        assert ggc(lambda a, v: F.conv2d(a, v, None, **opts), x, w, seed=seed)
    # the gradient ops on their own: g2 is the output's gradient as an (O, N OH OW) matrix
    o, _, kh, kw = w.shape
    oh, ow = out_hw(x.shape, (kh, kw), stride, padding)
    g2 = data.draw(arrays((o, x.shape[0] * oh * ow)))
    assert ggc(lambda g, v: ops_nn.Conv2dGradInput.apply(g, v, x_shape=x.shape, **opts).sin(),
               g2, w, seed=seed)
    assert ggc(lambda g, a: ops_nn.Conv2dGradWeight.apply(g, a, kernel=(kh, kw), **opts).sin(),
               g2, x, seed=seed)


@covers(ops_nn.Conv2d, ops_nn.Conv2dGradInput, ops_nn.Conv2dGradWeight)
@FAST
@given(conv_cases(), st.data(), gradient_seeds())
def test_conv2d_third_derivatives(case, data, seed):
    x, w, _, stride, padding = case
    x, w = x[:1, :2], w[:2, :2]  # small: every element of x, w, u and both gradients is probed
    u = data.draw(arrays((1, w.shape[0], *out_hw(x.shape, w.shape[2:], stride, padding))))
    assert ggc(vjp_of(lambda a, v: F.conv2d(a, v, stride=stride, padding=padding).sin()),
               x, w, u, seed=seed)


@covers(ops_nn.MaxPool2d, ops_nn.MaxPool2dScatter, ops_nn.MaxPool2dGather)
@FAST
@given(pool_cases(distinct=True), st.data(), gradient_seeds())
def test_max_pool2d_without_ties(case, data, seed):
    x, kernel, stride, padding = case  # distinct values 0.01 apart: the argmax is locally fixed

    def pool(a):
        return F.max_pool2d(a, kernel, stride, padding)

    assert ggc(lambda a: pool(a).sin(), x, seed=seed)
    assert ggc(pool, x, seed=seed)
    u = data.draw(arrays((*x.shape[:2], *out_hw(x.shape, kernel, stride, padding))))
    assert ggc(vjp_of(lambda a: pool(a).sin()), x, u, seed=seed)  # third order
    # the scatter (the gradient) and the gather (its adjoint) on their own
    opts = dict(arg=window_argmax(x, kernel, stride, padding), kernel=kernel, stride=stride,
                padding=padding)
    assert ggc(lambda g: ops_nn.MaxPool2dScatter.apply(g, x_shape=x.shape, **opts).sin(), u,
               seed=seed)
    assert ggc(lambda a: ops_nn.MaxPool2dGather.apply(a, **opts).sin(), x, seed=seed)


@covers(ops_nn.AvgPool2d, ops_nn.AvgPool2dGrad)
@FAST
@given(pool_cases(), st.data(), gradient_seeds())
def test_avg_pool2d(case, data, seed):
    x, kernel, stride, padding = case

    def pool(a):
        return F.avg_pool2d(a, kernel, stride, padding)

    assert ggc(lambda a: pool(a).sin(), x, seed=seed)
    assert ggc(pool, x, seed=seed)
    u = data.draw(arrays((*x.shape[:2], *out_hw(x.shape, kernel, stride, padding))))
    assert ggc(vjp_of(lambda a: pool(a).sin()), x, u, seed=seed)  # third order
    assert ggc(lambda g: ops_nn.AvgPool2dGrad.apply(g, x_shape=x.shape, kernel=kernel,
                                                    stride=stride, padding=padding).sin(),
               u, seed=seed)


@covers(ops_nn.Dropout)
@FAST
@given(arrays(), st.sampled_from([0.1, 0.5, 0.8, 1.0]), st.integers(0, 2**32 - 1),
       gradient_seeds())
def test_dropout_with_a_fixed_mask(x, p, mask_seed, seed):
    def drop(a):  # the same generator state on every call: the same mask
        return ops_nn.Dropout.apply(a, p=p, rng=np.random.default_rng(mask_seed))

    assert ggc(lambda a: drop(a) * a, x, seed=seed)
    assert ggc(lambda a: drop(a.sin()), x, seed=seed)
    assert ggc(drop, x, seed=seed)  # linear: only d/du is non-zero


@covers(ops_nn.ChannelSums, ops_nn.ChannelDots)
@FAST
@given(st.data(), gradient_seeds())
def test_channel_sums_and_dots(data, seed):
    """batch norm's per-channel reductions, on (N, C), (N, C, L) and (N, C, H, W)."""
    shape = data.draw(st.sampled_from([(3, 2), (2, 3, 4), (2, 2, 3, 2)]))
    a, b = data.draw(arrays(shape)), data.draw(arrays(shape))
    assert ggc(lambda x: ops_nn.ChannelSums.apply(x).sin(), a, seed=seed)
    assert ggc(lambda x, y: ops_nn.ChannelDots.apply(x, y), a, b, seed=seed)
    assert ggc(lambda x: ops_nn.ChannelDots.apply(x, x.tanh()), a, seed=seed)


AFFINE = {"none": (False, False), "weight": (True, False), "bias": (False, True),
          "both": (True, True)}


def batch_norm_fn(affine, **kwargs):
    """(x, *params) -> batch_norm, params being weight and/or bias as `affine` says."""
    has_w, has_b = AFFINE[affine]

    def bn(x, *params):
        weight = params[0] if has_w else None
        bias = params[-1] if has_b else None
        stats = kwargs.get("stats")
        mean, var = (None, None) if stats is None else (s.copy() for s in stats)
        return F.batch_norm(x, mean, var, weight, bias, training=kwargs["training"])

    return bn


@covers(ops_nn.BatchNorm)
@FAST
@given(bn_cases(), st.sampled_from(sorted(AFFINE)), st.booleans(), gradient_seeds())
def test_batch_norm_training(case, affine, running, seed):
    x, w, b = case
    c = x.shape[1]
    stats = (np.zeros(c), np.ones(c)) if running else None  # updated (copies), never read
    params = [p for p, has in zip((w, b), AFFINE[affine]) if has]
    bn = batch_norm_fn(affine, training=True, stats=stats)
    assert ggc(bn, x, *params, seed=seed)
    assert ggc(lambda *a: bn(*a).sin(), x, *params, seed=seed)


@covers(ops_nn.BatchNorm)
@FAST
@given(bn_cases(), st.sampled_from(sorted(AFFINE)), st.data(), gradient_seeds())
def test_batch_norm_eval(case, affine, data, seed):
    x, w, b = case
    c = x.shape[1]
    stats = (data.draw(arrays((c,))), data.draw(positive_arrays((c,))))
    params = [p for p, has in zip((w, b), AFFINE[affine]) if has]
    bn = batch_norm_fn(affine, training=False, stats=stats)
    assert ggc(bn, x, *params, seed=seed)  # affine in x: the cross terms with gamma and u
    assert ggc(lambda *a: bn(*a).sin(), x, *params, seed=seed)


# ---- sequence-model ops (ops/shape.py, ops/einsum.py) -------------------------------------------
@covers(ops_shape.Triangle)
@FAST
@given(arrays(shapes(min_dims=2)), st.integers(-2, 2), gradient_seeds())
def test_tril_triu(x, k, seed):
    assert ggc(lambda a: a.tril(k) * a.triu(-k), x, seed=seed)


@covers(ops_shape.Flip, ops_shape.Repeat, ops_shape.Cumsum)
@FAST
@given(arrays(shapes(min_dims=1)), st.data(), gradient_seeds())
def test_flip_repeat_cumsum(x, data, seed):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    sizes = data.draw(st.lists(st.integers(1, 2), min_size=x.ndim + 1, max_size=x.ndim + 1))
    assert ggc(lambda a: a.flip(dim) * a, x, seed=seed)
    assert ggc(lambda a: a.repeat(*sizes) ** 2, x, seed=seed)
    assert ggc(lambda a: a.cumsum(dim) ** 2, x, seed=seed)


@covers(ops_roll.Roll)
@FAST
@given(arrays(shapes(min_dims=1)), st.data(), gradient_seeds())
def test_roll(x, data, seed):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    shift = data.draw(st.integers(-5, 5))
    assert ggc(lambda a: a.roll(shift, dim) * a, x, seed=seed)
    assert ggc(lambda a: a.roll(shift) ** 2, x, seed=seed)


@covers(ops_shape.TakeAlong, ops_shape.PutAlong)
@FAST
@given(separated_arrays(shapes(min_dims=1)), st.data(), gradient_seeds())
def test_sort_topk(x, data, seed):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    k = data.draw(st.integers(1, x.shape[dim]))
    assert ggc(lambda a: a.sort(dim, descending=True).values ** 2, x, seed=seed)
    assert ggc(lambda a: a.topk(k, dim).values.sin(), x, seed=seed)


@covers(ops_shape.Rsqrt, ops_shape.PowTensor)
@FAST
@given(broadcastable_arrays(elements=values(0.5, 3.0)), gradient_seeds())
def test_rsqrt_and_tensor_power(xb, seed):
    x, b = xb
    assert ggc(lambda a: a.rsqrt(), x, seed=seed)
    assert ggc(lambda a, e: a ** (e - 1.5), x, b, seed=seed)
    assert ggc(lambda a, e: a**e, x, np.zeros_like(b), seed=seed)  # exponent 0


@covers(ops_shape.RoundedDiv)
def test_rounded_division_has_zero_derivatives():
    a, b = np.array([1.3, -2.7, 5.1]), np.array([0.7, 1.1, -2.0])
    for mode in ("trunc", "floor"):
        assert ggc(lambda x, y, m=mode: x.div(y, rounding_mode=m) * x * y, a, b)


@covers(ops_einsum.Einsum)
@pytest.mark.parametrize("equation,shapes_", [
    ("ij,jk->ik", [(2, 3), (3, 2)]), ("bij,bjk", [(2, 2, 3), (2, 3, 2)]), ("ii->i", [(3, 3)]),
    ("iij->j", [(2, 2, 3)]), ("ij->", [(2, 3)]), ("i,j->ij", [(3,), (2,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]), ("...ij,...jk", [(2, 2, 3), (3, 2)]),
    ("ij,ij->i", [(2, 3), (1, 3)]), ("ij,k->ijk", [(2, 3), (2,)]),
])
def test_einsum(equation, shapes_):
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal(s) for s in shapes_]
    assert ggc(lambda *a: tl.einsum(equation, *a), *xs)
    assert ggc(lambda *a: tl.einsum(equation, *a).sin(), *xs)


# ---- sequence models: embedding and layer norm (ops/sequence.py) -----------------------------
@st.composite
def embedding_cases(draw):
    """A weight (rows, D), integer lookups of any shape, and maybe a padding row."""
    rows, width = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    w = draw(arrays((rows, width)))
    idx = draw(hnp.arrays(np.int64, shapes(max_dims=2), elements=st.integers(0, rows - 1)))
    pad = draw(st.one_of(st.none(), st.integers(0, rows - 1)))
    return w, idx, pad


@covers(ops_sequence.Embedding, ops_sequence.EmbeddingBackward)
@FAST
@given(embedding_cases(), gradient_seeds())
def test_embedding(case, seed):
    w, idx, pad = case
    assert ggc(lambda w: F.embedding(idx, w, padding_idx=pad) ** 2, w, seed=seed)
    assert ggc(lambda w: F.embedding(idx, w, padding_idx=pad).sin(), w, seed=seed)


@covers(ops_sequence.LayerNorm)
@FAST
@given(st.integers(1, 2), st.sampled_from(["both", "weight", "none"]), st.data(),
       gradient_seeds())
def test_layer_norm(k, affine, data, seed):
    norm = data.draw(hnp.array_shapes(min_dims=k, max_dims=k, min_side=2, max_side=4))
    lead = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
    x = data.draw(arrays(lead + norm))
    assume(np.all(x.reshape(-1, int(np.prod(norm))).std(axis=1) > 0.3))  # no flat rows
    params = [data.draw(arrays(norm)) for _ in range({"both": 2, "weight": 1, "none": 0}[affine])]
    assert ggc(lambda x, *p: F.layer_norm(x, norm, *p, eps=1e-3), x, *params, seed=seed)


# ---- every op is covered ---------------------------------------------------------------------
# ---- conv2d / pool options: padding and kernel dilation ---------------------------------------
@covers(ops_conv_options.Pad2d)
@FAST
@given(st.integers(0, 2), st.integers(0, 2), st.integers(0, 2), st.integers(0, 2), gradient_seeds())
def test_pad2d_and_asymmetric_same_padding(top, bottom, left, right, seed):
    x = np.random.default_rng(seed).standard_normal((2, 3, 3, 4))
    w = np.random.default_rng(seed + 1).standard_normal((2, 3, 2, 3))
    assert ggc(lambda a: ops_conv_options.pad2d(a, (top, bottom, left, right)) ** 2, x, seed=seed)
    # an even kernel under padding="same" pads asymmetrically through Pad2d
    assert ggc(lambda a, b: F.conv2d(a, b, padding="same") ** 2, x, w, seed=seed)


@covers(ops_conv_options.DilateKernel)
@FAST
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), gradient_seeds())
def test_dilated_and_grouped_convolution(dh, dw, groups, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2 * groups, 7, 7))
    w = rng.standard_normal((2 * groups, 2, 2, 2))
    b = rng.standard_normal(2 * groups)
    assume((dh, dw) != (1, 1))
    fn = lambda a, k, c: F.conv2d(a, k, c, dilation=(dh, dw), groups=groups) ** 2  # noqa: E731
    assert ggc(fn, x, w, b, seed=seed)


def _op_classes():
    found = set()
    for module in (core_ops, ops, ops_loss, ops_activation, ops_nn, ops_inplace, ops_shape,
                   ops_einsum, ops_conv_options, ops_sequence, ops_roll):
        for name, value in vars(module).items():
            if (isinstance(value, type) and issubclass(value, tl.Function)
                    and value is not tl.Function and not name.startswith("_")
                    and value.__module__ == module.__name__):
                found.add(value)
    return found


def test_every_op_is_differentiated_twice_by_some_test():
    classes = _op_classes()
    assert len(classes) >= 50
    missing = sorted(c.__name__ for c in classes - set(DECLARED) - NOT_DIFFERENTIABLE)
    assert not missing, f"no second-derivative test for {missing}"


# ---- gradgradcheck itself --------------------------------------------------------------------
class CutCube(Cube):
    """Right first derivative, but 3 x**2 is computed from x's numbers: cut from the graph."""

    def backward(self, grad):
        (x,) = self.saved_tensors
        return 3 * np.asarray(x) ** 2 * grad


class DetachedUpstreamCube(Cube):
    """Right first derivative, but the upstream gradient is used as a constant."""

    def backward(self, grad):
        (x,) = self.saved_tensors
        return 3 * x**2 * np.asarray(grad)


X = np.array([[0.5, -1.5], [2.0, 0.25]])


@FAST
@given(arrays(), gradient_seeds())
def test_a_custom_function_in_tensor_ops_is_differentiable_twice(x, seed):
    assert check_gradgrad(lambda t: Cube.apply(t), x, seed=seed)


def test_gradgradcheck_catches_a_backward_cut_from_its_input():
    x = tl.Tensor(X, requires_grad=True)
    assert tl.gradcheck(lambda t: CutCube.apply(t), x)  # first order is right
    with pytest.raises(tl.GradcheckError, match=r"with respect to input 0 \(shape \(2, 2\)\)"):
        tl.gradgradcheck(lambda t: CutCube.apply(t), x)
    assert tl.gradgradcheck(lambda t: CutCube.apply(t), x, raise_exception=False) is False


def test_gradgradcheck_catches_a_backward_not_linear_in_its_upstream_gradient():
    x = tl.Tensor(X, requires_grad=True)
    assert tl.gradcheck(lambda t: DetachedUpstreamCube.apply(t), x)
    with pytest.raises(tl.GradcheckError, match="with respect to grad_output 0"):
        tl.gradgradcheck(lambda t: DetachedUpstreamCube.apply(t) * 1.0, x)


def test_gradgradcheck_options_outputs_and_inputs():
    x = tl.Tensor(X.astype(np.float32), requires_grad=True)  # float32: checked in float64 copies
    y = tl.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    const = tl.Tensor(np.array([3.0, 4.0]))  # not requiring grad: not checked
    u = [np.ones((2, 2)), np.array([0.5, -1.0])]
    assert tl.gradgradcheck(lambda a, b, c: ((a * b).tanh(), (b * c).exp()), x, y, const,
                            grad_outputs=u)
    assert tl.gradgradcheck(lambda a: (a.exp(), a.argmax()), x)  # integer outputs ignored
    assert x.grad is None and y.grad is None and x.dtype == np.float32  # inputs untouched
    np.testing.assert_array_equal(x.data, X.astype(np.float32))
    with pytest.raises(ValueError, match="no input requires grad"):
        tl.gradgradcheck(lambda a: a * a, const)
    with pytest.raises(ValueError, match=r"grad_outputs\[0\] has shape \(3,\)"):
        tl.gradgradcheck(lambda a: a * a, y, grad_outputs=np.ones(3))


def test_gradgradcheck_defaults_are_pytorchs():
    import inspect

    torch = pytest.importorskip("torch")
    ours = inspect.signature(tl.gradgradcheck).parameters
    theirs = inspect.signature(torch.autograd.gradgradcheck).parameters
    for name in ("grad_outputs", "eps", "atol", "rtol", "raise_exception"):
        assert ours[name].default == theirs[name].default, name


# ---- once_differentiable, and a numpy backward without it ------------------------------------
class NumpyCube(tl.Function):
    """y = x**3, with a backward written in numpy."""

    def forward(self, x):
        self.save_for_backward(x)
        return x**3

    @tl.once_differentiable
    def backward(self, grad):
        (x,) = self.saved_tensors
        assert isinstance(x, np.ndarray) and isinstance(grad, np.ndarray)
        return 3 * x**2 * grad


class RawNumpyCube(NumpyCube):
    """The same numpy backward, not marked: fine first order, refused under create_graph."""

    def backward(self, grad):
        (x,) = self.saved_tensors
        return 3 * np.asarray(x) ** 2 * np.asarray(grad)


def test_once_differentiable_works_first_order():
    x = tl.Tensor(X, requires_grad=True)
    assert tl.gradcheck(lambda t: NumpyCube.apply(t), x)
    NumpyCube.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad, 3 * X**2)
    (g,) = tl.autograd.grad(NumpyCube.apply(x).sum(), x, create_graph=True)  # values fine
    np.testing.assert_allclose(g.data, 3 * X**2)


def test_once_differentiable_raises_naming_the_op_when_differentiated_twice():
    x = tl.Tensor(X, requires_grad=True)
    (g,) = tl.autograd.grad((NumpyCube.apply(x) * x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match=r"NumpyCube\.backward is marked @once_differentiable"):
        g.sum().backward()
    with pytest.raises(RuntimeError, match="NumpyCube"):
        tl.gradgradcheck(lambda t: NumpyCube.apply(t), x)  # its upstream gradient requires grad


def test_once_differentiable_raises_in_a_hessian():
    x = tl.Tensor(X, requires_grad=True)
    with pytest.raises(RuntimeError, match="NumpyCube"):
        tl.func.hessian(lambda t: NumpyCube.apply(t).sum())(x)


def test_a_numpy_backward_without_the_mark_is_refused_under_create_graph():
    x = tl.Tensor(X, requires_grad=True)
    assert tl.gradcheck(lambda t: RawNumpyCube.apply(t), x)  # first order: wrapped, works
    with pytest.raises(RuntimeError, match=(
            r"RawNumpyCube\.backward returned a numpy array for input 0.*create_graph=True.*"
            r"once_differentiable")):
        tl.autograd.grad(RawNumpyCube.apply(x).sum(), x, create_graph=True)
