"""Embedding, LayerNorm, GELU and softmax of sequence models against PyTorch (float64, values and
gradients to 1e-9, hypothesis-drawn shapes), their gradchecks, state_dict round trips, the
scatter of the embedding's backward against np.add.at, and errors as PyTorch raises them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F
from tinygrad_lite.ops import activation as ops_activation
from tinygrad_lite.ops.sequence import scatter_rows

FAST = settings(max_examples=15, deadline=None)
TOL = dict(rtol=1e-9, atol=1e-9)


def torch_or_skip():
    return pytest.importorskip("torch")


def upstream(shape, seed=1):
    """A non-uniform upstream gradient."""
    return np.random.default_rng(seed).standard_normal(shape)


def both_backward(ours, theirs, shape, seed=1):
    torch = torch_or_skip()
    u = upstream(shape, seed)
    ours.backward(u)
    theirs.backward(torch.from_numpy(u))


# ---- embedding ------------------------------------------------------------------------------


@st.composite
def lookups(draw):
    rows = draw(st.integers(1, 7))
    dim = draw(st.integers(1, 5))
    shape = draw(st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, rows, shape)
    pad = draw(st.one_of(st.none(), st.integers(-rows, rows - 1)))
    return rng.standard_normal((rows, dim)), idx, pad


@FAST
@given(lookups())
def test_embedding_matches_torch(case):
    torch = torch_or_skip()
    w, idx, pad = case
    ours = tl.Tensor(w, requires_grad=True)
    theirs = torch.tensor(w, requires_grad=True)
    y = F.embedding(tl.Tensor(idx), ours, padding_idx=pad)
    ty = torch.nn.functional.embedding(torch.from_numpy(idx), theirs, padding_idx=pad)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **TOL)
    if y.data.size:
        both_backward(y, ty, y.shape)
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), **TOL)


def test_embedding_module_init_and_padding_row_never_learns():
    torch = torch_or_skip()
    tl.manual_seed(0)
    e = nn.Embedding(10, 4, padding_idx=-3, dtype=np.float64)
    assert e.padding_idx == 7 and list(e.state_dict()) == ["weight"]
    assert np.all(e.weight.data[7] == 0) and e.weight.data.std() > 0.3  # N(0, 1) elsewhere
    idx = np.array([[7, 1, 7], [2, 2, 7]])
    e(idx).sum().backward()
    assert np.all(e.weight.grad.data[7] == 0)
    np.testing.assert_array_equal(e.weight.grad.data[2], 2.0)
    t = torch.nn.Embedding(10, 4, padding_idx=-3, dtype=torch.float64)
    t.load_state_dict({k: torch.from_numpy(v) for k, v in e.state_dict().items()})
    np.testing.assert_allclose(t(torch.from_numpy(idx)).detach().numpy(), e(idx).data)
    back = nn.Embedding(10, 4, dtype=np.float64)
    back.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    np.testing.assert_array_equal(back.weight.data, e.weight.data)


def test_embedding_from_pretrained_freezes():
    w = np.arange(12.0).reshape(4, 3)
    e = nn.Embedding.from_pretrained(tl.Tensor(w))
    assert not e.weight.requires_grad
    np.testing.assert_array_equal(e(np.array([3, 0])).data, w[[3, 0]])
    e2 = nn.Embedding.from_pretrained(w, freeze=False, padding_idx=1)
    assert e2.weight.requires_grad and e2.padding_idx == 1
    np.testing.assert_array_equal(e2.weight.data[1], w[1])  # not zeroed, as PyTorch
    with pytest.raises(AssertionError):
        nn.Embedding.from_pretrained(np.zeros(3))


def test_embedding_errors():
    e = nn.Embedding(5, 2)
    with pytest.raises(IndexError):
        e(np.array([5]))
    with pytest.raises(IndexError):
        e(np.array([-1]))
    with pytest.raises(RuntimeError):
        e(tl.Tensor([1.0]))
    with pytest.raises(AssertionError):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(NotImplementedError):
        nn.Embedding(5, 2, sparse=True)


@pytest.mark.parametrize("rows, n, width", [(5, 7, 3), (27, 600, 10), (3000, 200, 4)])
@pytest.mark.parametrize("pad", [None, 2])
def test_scatter_rows_is_add_at(rows, n, width, pad):
    rng = np.random.default_rng(0)
    idx = rng.integers(0, rows, n)
    g = rng.standard_normal((n, width))
    want = np.zeros((rows, width))
    np.add.at(want, idx, g)
    if pad is not None:
        want[pad] = 0
    np.testing.assert_allclose(scatter_rows(g, idx, rows, pad), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("pad", [None, 1])
def test_embedding_gradcheck_and_gradgradcheck(pad):
    rng = np.random.default_rng(0)
    idx = np.array([[0, 1, 1], [3, 1, 0]])
    w = tl.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    if pad is None:  # (with padding_idx the rule is 0 on that row on purpose)
        assert tl.gradcheck(lambda w: F.embedding(idx, w) ** 2, w)
    assert tl.gradgradcheck(lambda w: F.embedding(idx, w, padding_idx=pad) ** 2, w)
    assert tl.gradgradcheck(lambda w: F.embedding(idx, w, padding_idx=pad), w)


# ---- layer norm -----------------------------------------------------------------------------


@st.composite
def layer_norm_cases(draw):
    k = draw(st.integers(1, 2))
    lead = draw(st.lists(st.integers(1, 3), min_size=0, max_size=2))
    norm = draw(st.lists(st.integers(2, 5), min_size=k, max_size=k))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(tuple(lead + norm)) * draw(st.sampled_from([1e-3, 1.0, 100.0]))
    affine = draw(st.sampled_from(["both", "weight", "bias", "none"]))
    w = rng.standard_normal(norm) if affine in ("both", "weight") else None
    b = rng.standard_normal(norm) if affine in ("both", "bias") else None
    eps = draw(st.sampled_from([1e-5, 1e-3]))
    return x, tuple(norm), w, b, eps


@FAST
@given(layer_norm_cases())
def test_layer_norm_matches_torch(case):
    torch = torch_or_skip()
    x, shape, w, b, eps = case
    ours = [tl.Tensor(a, requires_grad=True) if a is not None else None for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) if a is not None else None for a in (x, w, b)]
    y = F.layer_norm(ours[0], shape, ours[1], ours[2], eps=eps)
    ty = torch.nn.functional.layer_norm(theirs[0], shape, theirs[1], theirs[2], eps=eps)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **TOL)
    both_backward(y, ty, y.shape)
    for o, t in zip(ours, theirs):
        if o is not None:
            np.testing.assert_allclose(o.grad.data, t.grad.numpy(), rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("affine, bias", [(True, True), (True, False), (False, True)])
def test_layer_norm_module_state_dict_and_init(affine, bias):
    torch = torch_or_skip()
    m = nn.LayerNorm((3, 4), eps=1e-6, elementwise_affine=affine, bias=bias, dtype=np.float64)
    t = torch.nn.LayerNorm((3, 4), eps=1e-6, elementwise_affine=affine, bias=bias,
                           dtype=torch.float64)
    assert list(m.state_dict()) == list(t.state_dict())
    for k, v in t.state_dict().items():
        np.testing.assert_array_equal(m.state_dict()[k], v.numpy())
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for p in t.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape))))
    m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    x = rng.standard_normal((2, 3, 4))
    np.testing.assert_allclose(m(tl.Tensor(x)).data, t(torch.from_numpy(x)).detach().numpy(),
                               **TOL)


def test_layer_norm_float32_close_to_torch():
    torch = torch_or_skip()
    x = np.random.default_rng(0).standard_normal((4, 5, 16)).astype(np.float32) * 3 + 1
    y = F.layer_norm(tl.Tensor(x), 16)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, torch.nn.functional.layer_norm(torch.from_numpy(x), (16,))
                               .numpy(), atol=2e-6)


@pytest.mark.parametrize("wants", [(True, False, False), (False, True, False),
                                   (False, False, True), (False, True, True), (True, True, True)])
def test_layer_norm_grads_of_any_inputs_match_torch(wants):
    """Only the inputs that require grad get one, each as PyTorch's (float64, 1e-9)."""
    torch = torch_or_skip()
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((3, 5, 6)) * 2 + 1, rng.standard_normal(6),
              rng.standard_normal(6)]
    ours = [tl.Tensor(a, requires_grad=r) for a, r in zip(arrays, wants)]
    theirs = [torch.tensor(a, requires_grad=r) for a, r in zip(arrays, wants)]
    y = F.layer_norm(ours[0], 6, ours[1], ours[2])
    ty = torch.nn.functional.layer_norm(theirs[0], (6,), theirs[1], theirs[2])
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **TOL)
    both_backward(y, ty, y.shape)
    for a, t, r in zip(ours, theirs, wants):
        assert (a.grad is not None) == r
        if r:
            np.testing.assert_allclose(a.grad.data, t.grad.numpy(), **TOL)


def test_layer_norm_errors():
    with pytest.raises(RuntimeError):
        F.layer_norm(tl.Tensor(np.zeros((2, 3))), 4)
    with pytest.raises(RuntimeError):
        F.layer_norm(tl.Tensor(np.zeros((2, 3))), 3, weight=tl.Tensor(np.ones(2)))


@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm_gradcheck_and_gradgradcheck(affine):
    rng = np.random.default_rng(0)
    x = tl.Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    w = tl.Tensor(rng.standard_normal(4), requires_grad=True)
    b = tl.Tensor(rng.standard_normal(4), requires_grad=True)
    params = {"both": (w, b), "weight": (w,), "none": ()}[affine]

    def fn(x, *p):
        return F.layer_norm(x, 4, *p, eps=1e-3)

    assert tl.gradcheck(fn, x, *params)
    assert tl.gradgradcheck(fn, x, *params)
    assert tl.gradgradcheck(lambda x, *p: fn(x, *p).sin(), x, *params)


# ---- GELU and softmax -----------------------------------------------------------------------


def test_erf_float64_exact_and_float32_close():
    x = np.linspace(-7, 7, 20001)
    want = np.array([math.erf(v) for v in x])
    assert np.abs(ops_activation.erf(x) - want).max() <= 1e-12
    # float32's exact GELU y = x Phi(x) and dy/dx = Phi(x) + x phi(x), against float64's
    # math.erf and math.exp of the same float32 x
    x32 = np.linspace(-12, 12, 200001).astype(np.float32)
    x64 = x32.astype(np.float64)
    cdf = np.array([0.5 * math.erfc(-v / math.sqrt(2.0)) for v in x64])
    dydx = cdf + x64 * np.exp(-0.5 * x64 * x64) / math.sqrt(2.0 * math.pi)
    y, d = np.empty_like(x32), np.empty_like(x32)
    ops_activation._gelu_erf_float32(x32, y, d)
    assert y.dtype == d.dtype == np.float32
    assert np.all(np.abs(y - x64 * cdf) <= 2e-7 * np.abs(x64) + 1e-30)  # Phi to 2e-7
    assert np.abs(d - dydx).max() <= 2.5e-7
    y_alone = np.empty_like(x32)
    ops_activation._gelu_erf_float32(x32, y_alone, None)
    np.testing.assert_array_equal(y_alone, y)  # the same y without dy/dx
    tail = np.abs(x32) >= 14  # exp(-x^2 / 2) underflows: Phi is exactly 0 or 1
    np.testing.assert_array_equal(y[tail], np.where(x32[tail] > 0, x32[tail], 0))
    special = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0], np.float32)
    ys, ds = np.empty_like(special), np.empty_like(special)
    with np.errstate(invalid="ignore"):
        ops_activation._gelu_erf_float32(special, ys, ds)
        theirs = [v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in special.tolist()]
    np.testing.assert_array_equal(ys, np.array(theirs, np.float32))  # inf, nan (-inf * 0), ...
    np.testing.assert_array_equal(ds[3:], [0.5, 0.5])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("shape", [(), (5,), (3, 4, 6)])
def test_gelu_matches_torch(approximate, shape):
    torch = torch_or_skip()
    x = np.asarray(np.random.default_rng(0).standard_normal(shape) * 3)
    ours, theirs = tl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = F.gelu(ours, approximate=approximate)
    ty = torch.nn.functional.gelu(theirs, approximate=approximate)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    both_backward(y, ty, y.shape)
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-12, atol=1e-12)
    x32 = np.asarray(x, dtype=np.float32)
    np.testing.assert_allclose(F.gelu(tl.Tensor(x32), approximate=approximate).data,
                               torch.nn.functional.gelu(torch.from_numpy(x32),
                                                        approximate=approximate).numpy(),
                               atol=2e-6)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_softmax_matches_torch(fn, dim):
    torch = torch_or_skip()
    x = np.random.default_rng(0).standard_normal((3, 4, 5)) * 10
    ours, theirs = tl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = getattr(F, fn)(ours, dim)
    ty = getattr(torch.nn.functional, fn)(theirs, dim)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **TOL)
    both_backward(y, ty, y.shape)
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), **TOL)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_rows_far_below_the_maximum_and_masked_rows(dtype):
    """The last-axis softmax shifts by the global maximum unless a row would underflow: rows
    100 below the others, -inf entries and whole -inf rows (nan, as PyTorch) still match."""
    torch = torch_or_skip()
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(dtype)
    x[1] -= 100
    x[2, :3] = -np.inf
    for a in (x, x[[0, 2]], np.where(np.arange(4)[:, None] == 3, -np.inf, x)):
        got = F.softmax(tl.Tensor(a), -1).data
        want = torch.softmax(torch.from_numpy(a), -1).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-13,
                                   atol=0)


def test_float32_exact_gelu_is_zero_far_left_and_x_far_right_as_torch():
    torch = pytest.importorskip("torch")
    x = np.array([-672.0, -40.0, -6.0, -5.5, 5.5, 6.0, 40.0, 672.0], np.float32)
    ours = tl.nn.functional.gelu(tl.tensor(x)).data
    theirs = torch.nn.functional.gelu(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(ours[[0, 1, 6, 7]], theirs[[0, 1, 6, 7]])
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
