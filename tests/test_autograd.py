"""The engine: graph walk, accumulation, graph release, grad mode, dtypes, errors, stability."""

import gc
import tracemalloc

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.nn import functional as F


def t64(x, requires_grad=True):
    return tl.Tensor(np.asarray(x, dtype=np.float64), requires_grad=requires_grad)


# ---- the graph walk -----------------------------------------------------------------------
def test_node_used_twice_gets_both_contributions():
    x = t64([3.0])
    y = x * x + x  # x appears three times
    z = y * y  # y used twice
    z.backward(np.ones(1))
    # z = (x^2 + x)^2, dz/dx = 2 (x^2 + x)(2x + 1) = 2 * 12 * 7
    np.testing.assert_allclose(x.grad, [168.0])


def test_diamond_graph():
    x = t64(2.0)
    a, b = x * 3, x.exp()
    (a * b).backward()
    np.testing.assert_allclose(x.grad, 3 * np.exp(2) + 6 * np.exp(2))


def test_gradients_accumulate_across_backward_calls_until_zeroed():
    x = t64([1.0, 2.0])
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * 2 * x.data)
    opt = tl.optim.SGD([x], lr=0.1)
    opt.zero_grad()
    assert x.grad is None


def test_deep_chain_of_100k_ops_backpropagates():
    x = t64(1.0)
    y = x
    for _ in range(100_000):
        y = y + 1e-6
    y.backward()
    assert x.grad == 1.0


def test_graph_released_after_backward_unless_retained():
    x = t64([1.0, 2.0])
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 4 * np.exp(x.data))
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_grad_keeps_intermediate_gradient():
    x = t64([1.0, -2.0])
    h = (x * 3).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * h.data)
    np.testing.assert_allclose(x.grad, 18 * x.data)


def test_training_memory_stays_flat():
    tl.manual_seed(0)
    model = tl.nn.Sequential(tl.nn.Linear(20, 32), tl.nn.ReLU(), tl.nn.Linear(32, 5))
    opt = tl.optim.Adam(model.parameters(), lr=1e-3)
    x = tl.Tensor(np.random.default_rng(0).standard_normal((64, 20)).astype(np.float32))
    y = np.random.default_rng(1).integers(0, 5, 64)

    def steps(n):
        for _ in range(n):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()

    steps(50)
    gc.collect()
    tracemalloc.start()
    steps(100)
    gc.collect()
    after_100, _ = tracemalloc.get_traced_memory()
    steps(900)
    gc.collect()
    after_1000, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert after_1000 - after_100 < 50_000, (after_100, after_1000)


# ---- grad mode ----------------------------------------------------------------------------
def test_no_grad_records_nothing():
    x = t64([1.0])
    with tl.no_grad():
        y = x * 2
        assert not tl.is_grad_enabled()
    assert tl.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad


def test_no_grad_as_decorator_and_enable_grad_inside():
    x = t64([1.0])

    @tl.no_grad()
    def f():
        with tl.enable_grad():
            inner = x * 2
        return x * 2, inner

    outer, inner = f()
    assert not outer.requires_grad and inner.requires_grad


def test_detach_cuts_the_graph():
    x = t64([1.0, 2.0])
    y = (x * x).detach()
    assert y.grad_fn is None and not y.requires_grad
    np.testing.assert_array_equal(y.data, [1.0, 4.0])


# ---- dtypes and operand types -------------------------------------------------------------
def test_dtype_rules():
    assert tl.Tensor(1.5).dtype == np.float32
    assert tl.Tensor([1.0, 2.0]).dtype == np.float32
    assert tl.Tensor(np.zeros(2)).dtype == np.float64
    assert tl.Tensor(np.zeros(2, np.float32)).dtype == np.float32
    assert tl.Tensor([1, 2]).dtype.kind == "i"
    x32 = tl.Tensor(np.ones(2, np.float32), requires_grad=True)
    assert (x32 * 2.5).dtype == np.float32
    assert (np.float64(2.0) * x32).dtype == np.float32
    assert (1 / x32).dtype == np.float32
    assert (x32.exp().sum() / 3).dtype == np.float32
    i = tl.Tensor([1, 2])
    np.testing.assert_allclose((i * 2.5).data, [2.5, 5.0])  # no silent truncation


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating point.*int"):  # PyTorch's error
        tl.Tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        tl.Tensor(np.arange(3)).requires_grad_()


@pytest.mark.parametrize(
    "expr",
    [
        lambda a, t: a * t,
        lambda a, t: a + t,
        lambda a, t: a - t,
        lambda a, t: a / t,
        lambda a, t: a @ t,
    ],
)
def test_ndarray_on_the_left_returns_a_tensor(expr):
    t = t64(np.ones((2, 2)))
    a = np.full((2, 2), 2.0)
    out = expr(a, t)
    assert isinstance(out, tl.Tensor)
    out.sum().backward()
    assert t.grad is not None


def test_reflected_scalars():
    t = t64([1.0, 2.0])
    np.testing.assert_allclose((2 - t).data, [1.0, 0.0])
    np.testing.assert_allclose((1 / t).data, [1.0, 0.5])
    np.testing.assert_allclose((np.float64(3) * t).data, [3.0, 6.0])
    assert isinstance(np.float64(3) - t, tl.Tensor)


def test_attributes_and_repr():
    x = t64(np.arange(6.0).reshape(2, 3))
    y = x.sum(axis=0)
    assert x.shape == (2, 3) and x.ndim == 2 and x.dtype == np.float64
    assert x.requires_grad and x.is_leaf and not y.is_leaf
    assert "SumBackward" in repr(y) and "shape=(3,)" in repr(y) and "float64" in repr(y)
    assert "requires_grad=True" in repr(x)
    assert y.numpy() is y.data
    assert tl.Tensor(np.array([4.0])).item() == 4.0


# ---- errors -------------------------------------------------------------------------------
def test_matmul_shape_error_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"MatMul.*\(3, 4\).*\(5, 6\)"):
        tl.Tensor(np.ones((3, 4))) @ tl.Tensor(np.ones((5, 6)))


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"Add.*\(2, 3\).*\(4,\)"):
        tl.Tensor(np.ones((2, 3))) + tl.Tensor(np.ones(4))
    with pytest.raises(tl.ShapeError, match=r"Mul"):
        tl.Tensor(np.ones((2, 3))) * np.ones((3, 2))


def test_backward_of_non_scalar_needs_a_gradient():
    y = t64(np.ones((2, 2))) * 2
    with pytest.raises(RuntimeError, match=r"scalar.*\(2, 2\)"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"grad has shape \(3,\)"):  # as PyTorch
        y.backward(np.ones(3))


def test_backward_without_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tl.Tensor(np.ones(1)).backward()


def test_cross_entropy_bad_targets():
    logits = t64(np.zeros((3, 4)))
    with pytest.raises(TypeError, match="integer class indices.*float"):
        F.cross_entropy(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"target 4 is outside \[0, 4\)"):
        F.cross_entropy(logits, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"target -1"):
        F.cross_entropy(logits, np.array([0, -1, 1]))
    with pytest.raises(ValueError, match=r"shape \(3,\).*got \(2,\)"):
        F.cross_entropy(logits, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        F.cross_entropy(t64(np.array(0.0)), np.array(0))  # (C,) with a target is a loss


def test_pow_with_a_tensor_exponent_is_elementwise():
    y = t64([2.0, 3.0]) ** t64([2.0, 0.5])  # as PyTorch (it used to be refused)
    np.testing.assert_allclose(y.data, [4.0, 3.0**0.5])


# ---- numerical stability --------------------------------------------------------------------
@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_softmax_family_finite_for_huge_logits(scale):
    z = t64(np.array([[1.0, 2.0, -3.0], [0.5, 0.0, 0.25]]) * scale)
    s = z.softmax()
    ls = z.log_softmax()
    loss = F.cross_entropy(z, np.array([0, 2]))
    for out in (s, ls, loss):
        assert np.all(np.isfinite(out.data))
    np.testing.assert_allclose(s.data.sum(axis=1), 1.0)
    loss.backward()
    assert np.all(np.isfinite(z.grad))
    s32 = tl.Tensor((np.ones((2, 3)) * 1e4).astype(np.float32)).softmax()
    assert np.all(np.isfinite(s32.data))


def test_sigmoid_no_overflow():
    x = t64([-1e4, 0.0, 1e4])
    y = x.sigmoid()
    np.testing.assert_allclose(y.data, [0.0, 0.5, 1.0])


# ---- leaf gradients adopted without a copy must never alias ----------------------------------
def test_leaf_grads_never_alias_each_other_or_user_arrays():
    rng = np.random.default_rng(0)
    a, b = t64(rng.random((3, 4))), t64(rng.random((3, 4)))
    g = rng.random((3, 4))
    g0 = g.copy()
    (a + b).backward(g)  # Add passes the user's array through to both leaves
    assert a.grad is not g and b.grad is not g and a.grad is not b.grad
    a.grad += 1
    np.testing.assert_array_equal(g, g0)
    np.testing.assert_array_equal(b.grad, g0)


def test_adopted_grads_accumulate_correctly():
    x = tl.Tensor(np.random.default_rng(1).random((5, 3)))
    lin = tl.nn.Linear(3, 2, dtype=np.float64)
    targets = np.array([0, 1, 0, 1, 1])
    for _ in range(2):
        F.cross_entropy(lin(x), targets).backward()
    twice = lin.weight.grad.data.copy()
    lin.weight.grad = None
    F.cross_entropy(lin(x), targets).backward()
    np.testing.assert_allclose(twice, 2 * lin.weight.grad)
    assert type(lin.weight.grad) is tl.Tensor and lin.weight.grad.dtype == np.float64


def test_grad_is_a_tensor_as_in_pytorch():
    x = tl.Tensor(np.float32(2.0), requires_grad=True)
    (x * 3.0).backward()
    assert type(x.grad) is tl.Tensor and x.grad.shape == () and x.grad == 3
    assert type(x.grad.data) is np.ndarray and not x.grad.requires_grad
    w = tl.Tensor(np.ones((2, 3)), requires_grad=True)
    (w * w).sum().backward()
    assert float(w.grad.sum()) == 12.0 and w.grad.zero_() is w.grad and w.grad.data.sum() == 0


def test_linear_gives_the_same_numbers_for_either_memory_layout():
    rng = np.random.default_rng(2)
    columns = rng.random((6, 40))  # the notebook's (n_in, m) array
    lin = tl.nn.Linear(6, 3, dtype=np.float64)
    rows = tl.Tensor(np.ascontiguousarray(columns.T))
    transposed = tl.Tensor(columns.T)  # F-ordered view: Linear computes (W @ X).T
    np.testing.assert_allclose(lin(rows).data, lin(transposed).data, rtol=1e-14)


def test_zero_dim_results_stay_arrays():
    x = tl.Tensor(np.float64(2.0), requires_grad=True)
    y = (x * 3.0).exp()
    assert type(y.data) is np.ndarray and y.shape == ()
