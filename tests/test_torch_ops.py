"""The PyTorch-named ops: gradients against central differences (hypothesis, float64), values
and gradients against PyTorch 2.x itself (float64, to 1e-10), PyTorch's error cases, and the
factories' shapes and dtypes."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lite as tl
from tinygrad_lite.tools.testing import (
    arrays,
    away_from_zero,
    broadcastable_arrays,
    check_gradient,
    matmul_arrays,
    separated_arrays,
    shapes,
    values,
)

try:
    import torch
except ImportError:  # without the parity extra the comparisons with PyTorch skip, the rest runs
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="needs PyTorch (the parity extra)")

fast = settings(max_examples=25, deadline=None)
RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.standard_normal(shape)


# ---- gradients against central differences -------------------------------------------------
@fast
@given(arrays())
def test_view_reshape_gradient(x):
    assert check_gradient(lambda a: a.view(-1) * 1.0, x)
    assert check_gradient(lambda a: a.view(x.size, 1), x)


@fast
@given(arrays(), st.data())
def test_unsqueeze_gradient(x, data):
    dim = data.draw(st.integers(-x.ndim - 1, x.ndim))
    assert check_gradient(lambda a: a.unsqueeze(dim), x)


@fast
@given(arrays(shapes(max_side=2)), st.data())
def test_squeeze_gradient(x, data):
    assert check_gradient(lambda a: a.squeeze(), x)
    if x.ndim:
        dims = data.draw(st.lists(st.integers(0, x.ndim - 1), unique=True, max_size=x.ndim))
        assert check_gradient(lambda a: a.squeeze(tuple(dims)), x)


@fast
@given(arrays(shapes(min_dims=1)), st.data())
def test_permute_gradient(x, data):
    perm = data.draw(st.permutations(range(x.ndim)))
    assert check_gradient(lambda a: a.permute(*perm), x)


@fast
@given(arrays(shapes(max_dims=2)))
def test_t_gradient(x):
    assert check_gradient(lambda a: a.t(), x)


@fast
@given(arrays(shapes(max_side=2)), st.data())
def test_expand_gradient(x, data):
    lead = data.draw(st.lists(st.integers(1, 3), max_size=2))
    sizes = lead + [data.draw(st.sampled_from([-1, 3])) if n == 1 else -1 for n in x.shape]
    assert check_gradient(lambda a: a.expand(*sizes), x)


@fast
@given(arrays())
def test_clone_gradient(x):
    assert check_gradient(lambda a: a.clone() * a, x)


@fast
@given(arrays(elements=away_from_zero()))
def test_abs_gradient(x):
    assert check_gradient(lambda a: a.abs(), x)


@fast
@given(arrays())
def test_sin_cos_gradient(x):
    assert check_gradient(lambda a: a.sin(), x)
    assert check_gradient(lambda a: a.cos(), x)


@fast
@given(arrays(elements=values(-0.5, 3.0)))
def test_log1p_gradient(x):
    assert check_gradient(lambda a: a.log1p(), x)


@fast
@given(separated_arrays(), st.sampled_from([(-1.005, 1.005), (None, 0.505), (-0.005, None)]))
def test_clamp_gradient(x, bounds):
    # grid values are multiples of 0.01: the bounds lie between them, so no kink is probed
    low, high = bounds
    assert check_gradient(lambda a: a.clamp(low, high), x)
    assert check_gradient(lambda a: a.clip(min=low, max=high), x)


@fast
@given(broadcastable_arrays())
def test_maximum_minimum_gradient(ab):
    a, b = ab
    assume(np.all(np.abs(a - b) > 1e-3))  # away from ties (a kink)
    assert check_gradient(tl.maximum, a, b)
    assert check_gradient(tl.minimum, a, b)
    assert check_gradient(lambda u, v: u.maximum(v) + u.minimum(v), a, b)


@st.composite
def where_args(draw):
    s = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3))
    cond = draw(hnp.arrays(np.bool_, s.input_shapes[0]))
    return cond, draw(arrays(s.input_shapes[1])), draw(arrays(s.input_shapes[2]))


@fast
@given(where_args())
def test_where_gradient(args):
    cond, x, y = args
    assert check_gradient(lambda a, b: tl.where(cond, a, b), x, y)
    assert check_gradient(lambda a: tl.where(cond, a, 0.5), x)
    assert check_gradient(lambda b: tl.where(cond, -1.0, b), y)
    assert check_gradient(lambda a, b: a.where(tl.Tensor(cond), b), x, y)


@fast
@given(arrays(shapes(min_dims=1)), st.data())
def test_masked_fill_gradient(x, data):
    mask = data.draw(hnp.arrays(np.bool_, x.shape[1:]))  # broadcasts against x
    assert check_gradient(lambda a: a.masked_fill(mask, 2.0), x)


@st.composite
def var_std_cases(draw) -> tuple:
    """(x, kwargs of var/std): separated values (every slice has std > 0), dims drawn among
    None, one axis and several, correction 0-2 with more elements than it, keepdim or not."""
    x = draw(separated_arrays(shapes(min_dims=1)))
    correction = draw(st.sampled_from([0, 1, 2]))
    dims = draw(st.lists(st.integers(-x.ndim, x.ndim - 1), min_size=1, max_size=x.ndim,
                         unique_by=lambda d: d % x.ndim))
    dim = draw(st.sampled_from([None, dims[0], tuple(dims)]))
    keepdim = draw(st.booleans())
    n = x.size if dim is None else int(np.prod([x.shape[d] for d in np.atleast_1d(dim)]))
    assume(n - correction > 0 and n > 1)
    return x, dict(dim=dim, correction=correction, keepdim=keepdim)


@fast
@given(var_std_cases())
def test_var_std_gradient(case):
    x, kw = case
    assert check_gradient(lambda a: a.var(**kw), x)
    assert check_gradient(lambda a: a.std(**kw), x)


@fast
@given(matmul_arrays())
def test_matmul_gradient(ab):
    assert check_gradient(tl.matmul, *ab)
    assert check_gradient(lambda a, b: a.matmul(b), *ab)


@fast
@given(st.data())
def test_cat_gradient(data):
    shape = data.draw(shapes(min_dims=1))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    xs = [
        data.draw(arrays(shape[: dim % len(shape)] + (k,) + shape[dim % len(shape) + 1 :]))
        for k in sizes
    ]
    assert check_gradient(lambda *ts: tl.cat(ts, dim=dim), *xs)


# ---- values and gradients against PyTorch ------------------------------------------------
def _tensors(arrays_, lib):
    out = []
    for a in arrays_:
        if isinstance(a, np.ndarray) and a.dtype == np.float64:
            out.append(tl.Tensor(a.copy(), requires_grad=True) if lib == "tl"
                       else torch.tensor(a, requires_grad=True))
        elif isinstance(a, np.ndarray):
            out.append(tl.Tensor(a.copy()) if lib == "tl" else torch.tensor(a))
        else:
            out.append(a)
    return out


def assert_parity(tl_fn, torch_fn, *inputs, atol=1e-10):
    """Same values, dtype and shape, and the same gradients for a random upstream gradient."""
    ours, theirs = _tensors(inputs, "tl"), _tensors(inputs, "torch")
    y, y_ref = tl_fn(*ours), torch_fn(*theirs)
    assert y.shape == tuple(y_ref.shape)
    assert y.dtype == y_ref.detach().numpy().dtype
    np.testing.assert_allclose(y.data, y_ref.detach().numpy(), rtol=0, atol=atol)
    g = RNG.standard_normal(y.shape)
    y.backward(g)
    y_ref.backward(torch.tensor(g))
    for a, b in zip(ours, theirs):
        if isinstance(a, tl.Tensor) and a.requires_grad:
            expected = np.zeros(a.shape) if b.grad is None else b.grad.numpy()
            got = np.zeros(a.shape) if a.grad is None else a.grad
            np.testing.assert_allclose(got, expected, rtol=0, atol=atol)


TIES = np.array([[1.0, 2.0, 2.0, -1.0], [0.0, 0.0, 3.0, 3.0]])
TIES_B = np.array([[2.0, 2.0, 1.0, -1.0], [0.0, 1.0, 3.0, 2.5]])

PARITY = {
    "view": (lambda a: a.view(4, 6), lambda a: a.view(4, 6), rand(2, 3, 4)),
    "view_infer": (lambda a: a.view(-1, 2), lambda a: a.view(-1, 2), rand(2, 3, 4)),
    "unsqueeze": (lambda a: a.unsqueeze(1), lambda a: a.unsqueeze(1), rand(2, 3)),
    "unsqueeze_neg": (lambda a: a.unsqueeze(-1), lambda a: a.unsqueeze(-1), rand(2, 3)),
    "unsqueeze_0d": (lambda a: a.unsqueeze(0), lambda a: a.unsqueeze(0), rand()),
    "squeeze_all": (lambda a: a.squeeze(), lambda a: a.squeeze(), rand(1, 3, 1, 2)),
    "squeeze_dim": (lambda a: a.squeeze(2), lambda a: a.squeeze(2), rand(1, 3, 1, 2)),
    "squeeze_non1": (lambda a: a.squeeze(1), lambda a: a.squeeze(1), rand(1, 3, 1, 2)),
    "squeeze_tuple": (lambda a: a.squeeze((0, -2, 1)), lambda a: a.squeeze((0, -2, 1)),
                      rand(1, 3, 1, 2)),
    "permute": (lambda a: a.permute(2, 0, 1), lambda a: a.permute(2, 0, 1), rand(2, 3, 4)),
    "permute_tuple": (lambda a: a.permute((1, -1, 0)), lambda a: a.permute((1, -1, 0)),
                      rand(2, 3, 4)),
    "t": (lambda a: a.t(), lambda a: a.t(), rand(2, 3)),
    "t_1d": (lambda a: a.t(), lambda a: a.t(), rand(3)),
    "expand": (lambda a: a.expand(2, 3, -1), lambda a: a.expand(2, 3, -1), rand(3, 1)),
    "expand_1s": (lambda a: a.expand(2, 4, 3), lambda a: a.expand(2, 4, 3), rand(1, 3)),
    "clone": (lambda a: a.clone() * a, lambda a: a.clone() * a, rand(2, 3)),
    "abs": (lambda a: a.abs(), lambda a: a.abs(), np.array([-1.5, 0.0, 2.0, -0.0])),
    "sin": (lambda a: a.sin(), lambda a: a.sin(), rand(3, 4)),
    "cos": (lambda a: a.cos(), lambda a: a.cos(), rand(3, 4)),
    "log1p": (lambda a: a.log1p(), lambda a: a.log1p(), np.abs(rand(3, 4)) - 0.5),
    "clamp": (lambda a: a.clamp(-1.0, 1.0), lambda a: a.clamp(-1.0, 1.0),
              np.array([-2.0, -1.0, -0.5, 0.0, 1.0, 1.5])),  # boundaries pass the gradient
    "clamp_min": (lambda a: a.clamp(min=0.0), lambda a: a.clamp(min=0.0),
                  np.array([-2.0, 0.0, 1.5])),
    "clamp_max": (lambda a: a.clamp(max=0.0), lambda a: a.clamp(max=0.0),
                  np.array([-2.0, 0.0, 1.5])),
    "clamp_empty": (lambda a: a.clamp(1.0, -1.0), lambda a: a.clamp(1.0, -1.0),
                    np.array([-2.0, 0.0, 1.5])),  # min > max: all max, no gradient
    "clip": (lambda a: a.clip(-0.5, 0.5), lambda a: a.clip(-0.5, 0.5), rand(3, 4)),
    "maximum_ties": (tl.maximum, lambda a, b: torch.maximum(a, b), TIES, TIES_B),
    "minimum_ties": (tl.minimum, lambda a, b: torch.minimum(a, b), TIES, TIES_B),
    "maximum_broadcast": (tl.maximum, lambda a, b: torch.maximum(a, b), rand(3, 1), rand(4)),
    "minimum_self": (lambda a: a.minimum(a), lambda a: a.minimum(a), rand(3)),
    "where": (lambda c, a, b: tl.where(c, a, b), lambda c, a, b: torch.where(c, a, b),
              rand(3, 4) > 0, rand(3, 4), rand(4)),
    "where_scalar": (lambda c, a: tl.where(c, a, 0.0), lambda c, a: torch.where(c, a, 0.0),
                     rand(3, 1) > 0, rand(4)),
    "where_method": (lambda c, a, b: a.where(c, b), lambda c, a, b: a.where(c, b),
                     rand(3, 4) > 0, rand(3, 4), rand(3, 4)),
    "masked_fill": (lambda a, m: a.masked_fill(m, -1.0), lambda a, m: a.masked_fill(m, -1.0),
                    rand(3, 4), rand(4) > 0),
    "masked_fill_tensor_value": (lambda a, m, v: a.masked_fill(m, v),
                                 lambda a, m, v: a.masked_fill(m, v),
                                 rand(3, 4), rand(3, 1) > 0, np.array(2.0)),
    "matmul": (tl.matmul, lambda a, b: torch.matmul(a, b), rand(2, 3, 4), rand(4, 5)),
    "matmul_vec": (lambda a, b: a.matmul(b), lambda a, b: a.matmul(b), rand(3, 4), rand(4)),
    "cat": (lambda a, b: tl.cat([a, b], dim=-1), lambda a, b: torch.cat([a, b], dim=-1),
            rand(2, 3), rand(2, 2)),
    "cat_default": (lambda a, b: tl.cat((a, b)), lambda a, b: torch.cat((a, b)),
                    rand(2, 3), rand(1, 3)),
    "var": (lambda a: a.var(), lambda a: a.var(), rand(3, 4)),
    "var_dim": (lambda a: a.var(1), lambda a: a.var(1), rand(3, 4)),
    "var_dims_keep": (lambda a: a.var(dim=(0, 2), keepdim=True),
                      lambda a: a.var(dim=(0, 2), keepdim=True), rand(3, 4, 2)),
    "var_correction0": (lambda a: a.var(0, correction=0), lambda a: a.var(0, correction=0),
                        rand(3, 4)),
    "var_correction2": (lambda a: a.var(-1, correction=2), lambda a: a.var(-1, correction=2),
                        rand(3, 4)),
    "var_unbiased_false": (lambda a: a.var(0, False), lambda a: a.var(0, False), rand(3, 4)),
    "var_unbiased_only": (lambda a: a.var(False), lambda a: a.var(False), rand(3, 4)),
    "var_constant": (lambda a: a.var(1), lambda a: a.var(1), np.ones((2, 3))),
    "std": (lambda a: a.std(), lambda a: a.std(), rand(3, 4)),
    "std_dim_keep": (lambda a: a.std(0, keepdim=True), lambda a: a.std(0, keepdim=True),
                     rand(3, 4)),
    "std_correction": (lambda a: a.std(1, correction=0), lambda a: a.std(1, correction=0),
                       rand(3, 4)),
    "std_constant_row": (lambda a: a.std(1), lambda a: a.std(1),
                         np.array([[1.0, 2.0, 4.0], [1.0, 1.0, 1.0]])),  # gradient 0 there
    "amax_ties": (lambda a: a.amax(dim=1), lambda a: a.amax(dim=1), TIES),
    "amin_ties": (lambda a: a.amin(), lambda a: a.amin(), TIES),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(PARITY))
def test_matches_torch(name):
    tl_fn, torch_fn, *inputs = PARITY[name]
    assert_parity(tl_fn, torch_fn, *inputs)


@needs_torch
def test_var_std_with_no_degrees_of_freedom_match_torch():
    """n - correction <= 0: PyTorch warns and divides by 0 (nan for 0/0); so do we."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_parity(lambda a: a.var(), lambda a: a.var(), np.array([3.0]))
        assert_parity(lambda a: a.std(), lambda a: a.std(), np.array([3.0]))
        # 0.5 / 0 = inf (the value only: PyTorch's gradient there has no consistent sign rule)
        assert tl.Tensor(np.array([1.0, 2.0])).var(correction=2).item() == np.inf
        assert torch.tensor([1.0, 2.0]).var(correction=2).item() == np.inf
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        tl.Tensor([1.0]).var()


@needs_torch
def test_var_over_empty_dims_reduces_everything():
    """PyTorch: dim=() means every axis (its gradient there is inf, a PyTorch bug we don't copy)."""
    x = rand(3, 4)
    expected = torch.tensor(x).var(dim=()).numpy()
    np.testing.assert_allclose(tl.Tensor(x).var(dim=()).data, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(tl.Tensor(x).std(dim=[]).data, np.sqrt(expected), atol=1e-12)
    assert check_gradient(lambda a: a.var(dim=()), x)


def test_float32_stays_float32_with_python_numbers():
    x = tl.Tensor([[-0.5, 0.5, 2.0]], requires_grad=True)
    assert x.dtype == np.float32
    for y in (x.clamp(0.0, 1.0), x.clamp(min=0), tl.where(x.data > 0, x, 0.0),
              tl.where(x.data > 0, 1.0, x), x.masked_fill(x.data > 0, 3.0), x.var(), x.std(1),
              x.maximum(0.0), x.abs(), x.sin(), x.log1p(), x.clone(), x.expand(2, 3)):
        assert y.dtype == np.float32, y
        y.sum().backward()
        assert x.grad.dtype == np.float32


@needs_torch
def test_where_scalar_dtypes_match_torch():
    cond = np.array([True, False])
    cases = [
        (lambda w: w(cond, 1.0, 0.0)),
        (lambda w: w(cond, 1, 0)),
        (lambda w: w(cond, 1, 0.5)),
        (lambda w: w(cond, np.array([1, 2]), 0.5)),
        (lambda w: w(cond, np.array([1.0, 2.0]), 0)),
        (lambda w: w(cond, np.array([1.0, 2.0], np.float32), np.array([1.0, 2.0]))),
    ]
    for case in cases:
        ours = case(lambda c, a, b: tl.where(tl.Tensor(c), tl.Tensor(a) if isinstance(
            a, np.ndarray) else a, tl.Tensor(b) if isinstance(b, np.ndarray) else b))
        theirs = case(lambda c, a, b: torch.where(torch.tensor(c), torch.tensor(a) if isinstance(
            a, np.ndarray) else a, torch.tensor(b) if isinstance(b, np.ndarray) else b))
        assert ours.dtype == theirs.numpy().dtype
        np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_clone_owns_its_memory_and_views_share():
    x = tl.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    c = x.clone()
    assert c.grad_fn is not None and not np.shares_memory(c.data, x.data)
    for view in (x.view(3, 2), x.unsqueeze(0), x.permute(1, 0), x.t(), x.expand(4, 2, 3)):
        assert np.shares_memory(view.data, x.data)
    assert not x.expand(4, 2, 3).data.flags.writeable  # as PyTorch forbids writes to it
    y = x.detach().clone()
    y.data[0, 0] = 100.0
    assert x.data[0, 0] == 0.0


def test_dim_and_axis_spellings():
    x = tl.Tensor(rand(1, 3, 1))
    assert x.squeeze(axis=0).shape == x.squeeze(dim=0).shape == (3, 1)
    assert x.unsqueeze(axis=1).shape == x.unsqueeze(dim=1).shape == (1, 1, 3, 1)
    np.testing.assert_allclose(x.var(axis=1, keepdims=True).data, x.var(dim=1, keepdim=True).data)
    np.testing.assert_allclose(x.std(axis=(0, 1)).data, x.std(dim=(0, 1)).data)
    assert tl.cat([x, x], axis=1).shape == tl.cat([x, x], dim=1).shape == (1, 6, 1)
    with pytest.raises(TypeError):
        x.squeeze(0, axis=0)
    with pytest.raises(TypeError):
        tl.cat([x], dim=0, axis=0)
    with pytest.raises(TypeError):
        x.var(unbiased=False, correction=0)


# ---- error cases, as PyTorch -------------------------------------------------------------
def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the point is to catch whatever it raises
        return e
    raise AssertionError("no error raised")


ERRORS = {
    "permute_too_few": (lambda m, x: x.permute(0, 1), True),
    "permute_duplicate": (lambda m, x: x.permute(0, 1, 1), True),
    "permute_out_of_range": (lambda m, x: x.permute(0, 1, 3), True),
    "permute_negative_out_of_range": (lambda m, x: x.permute(0, 1, -4), True),
    "t_3d": (lambda m, x: x.t(), True),
    "squeeze_out_of_range": (lambda m, x: x.squeeze(3), False),
    "squeeze_negative_out_of_range": (lambda m, x: x.squeeze(-4), False),
    "squeeze_repeated": (lambda m, x: x[:1].squeeze((0, 0)), True),
    "unsqueeze_out_of_range": (lambda m, x: x.unsqueeze(4), True),
    "unsqueeze_negative_out_of_range": (lambda m, x: x.unsqueeze(-5), True),
    "unsqueeze_0d": (lambda m, x: m.zeros(()).unsqueeze(1), True),
    "clamp_no_bounds": (lambda m, x: x.clamp(), True),
    "expand_mismatch": (lambda m, x: x.expand(3, 3, 4), True),
    "expand_leading_minus_one": (lambda m, x: x[:1, :1, :1].expand(-1, 1, 1, 1), True),
    "expand_too_few": (lambda m, x: x.expand(3, 4), False),
    "where_float_condition": (lambda m, x: m.where(x, x, x), False),
    "masked_fill_float_mask": (lambda m, x: x.masked_fill(x, 0.0), False),
    "arange_zero_step": (lambda m, x: m.arange(0, 1, 0), True),
    "arange_wrong_sign": (lambda m, x: m.arange(0, -1, 1), True),
    "cat_empty": (lambda m, x: m.cat([]), False),
    "cat_dim_out_of_range": (lambda m, x: m.cat([x, x], dim=3), True),
    "cat_0d": (lambda m, x: m.cat([x[0, 0, 0], x[0, 0, 0]]), True),
    "zeros_negative": (lambda m, x: m.zeros(2, -1), False),
    "ones_negative": (lambda m, x: m.ones(2, -1), True),
    "randn_negative": (lambda m, x: m.randn([2, -1]), True),
    "full_negative": (lambda m, x: m.full((2, -1), 1.0), True),
    "zeros_no_size": (lambda m, x: m.zeros(), False),
    "from_numpy_list": (lambda m, x: m.from_numpy([1.0]), True),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    fn, same_message = ERRORS[name]
    base = np.zeros((2, 3, 4))
    ours = _error(lambda: fn(tl, tl.Tensor(base)))
    theirs = _error(lambda: fn(torch, torch.tensor(base)))
    assert type(ours) is type(theirs), (ours, theirs)
    if same_message:
        assert str(ours).startswith(str(theirs)) or str(ours) in str(theirs), (ours, theirs)


# ---- factories ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["zeros", "ones", "randn", "rand"])
def test_factories_take_varargs_tuples_and_lists(name):
    f = getattr(tl, name)
    for args in [(2, 3), ((2, 3),), ([2, 3],)]:
        t = f(*args)
        assert t.shape == (2, 3) and t.dtype == np.float32
    assert f(()).shape == () and f([]).shape == ()
    assert f(2, dtype=tl.float64).dtype == np.float64
    assert f(2, dtype=None).dtype == np.float32
    assert f(2, requires_grad=True).requires_grad


@needs_torch
@pytest.mark.parametrize("value", [1, 1.5, True, -3, 0.0])
def test_full_infers_dtype_like_torch(value):
    ours, theirs = tl.full((2, 3), value), torch.full((2, 3), value)
    assert ours.dtype == theirs.numpy().dtype and ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.data, theirs.numpy())
    assert tl.full([2], value, dtype=tl.float64).dtype == np.float64
    assert tl.full((), value).shape == ()
    with pytest.raises(TypeError):
        tl.full(3, value)


def test_like_factories():
    x = tl.Tensor(np.arange(6, dtype=np.int32).reshape(2, 3))
    for f, v in ((tl.zeros_like, 0), (tl.ones_like, 1)):
        y = f(x)
        assert y.shape == (2, 3) and y.dtype == np.int32 and np.all(y.data == v)
        assert f(x, dtype=tl.float64).dtype == np.float64
        assert f(np.zeros((4,), np.float32)).dtype == np.float32
        assert f(tl.zeros(2), requires_grad=True).requires_grad
    y = tl.full_like(x, 7)
    assert y.dtype == np.int32 and np.all(y.data == 7)


ARANGE = [(5,), (0, 1, 0.1), (-1, 1, 0.3), (1, 2.5, 0.25), (0.5, 3), (3.0,), (10, 0, -3),
          (0, 10, 3), (-3.7, 4.1, 0.7), (2, -1.3, -0.17), (1, 1), (np.int64(4),), (0, 100, 0.37)]


@needs_torch
@pytest.mark.parametrize("args", ARANGE)
def test_arange_matches_torch(args):
    ours, theirs = tl.arange(*args), torch.arange(*args).numpy()
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    # PyTorch fills the lanes of a SIMD vector in float32 arithmetic: a few ulp from ours
    # (start + i * step in float64, rounded once)
    scale = max(abs(float(a)) for a in args)
    np.testing.assert_allclose(ours.data, theirs, rtol=0, atol=1e-6 * scale)
    ours64 = tl.arange(*args, dtype=tl.float64).data
    np.testing.assert_allclose(ours64, torch.arange(*args, dtype=torch.float64).numpy(),
                               rtol=0, atol=1e-12)


def test_from_numpy_shares_memory_and_keeps_dtype():
    for dtype in (np.float64, np.float32, np.int32, np.bool_):
        a = np.zeros(3, dtype=dtype)
        t = tl.from_numpy(a)
        assert t.dtype == dtype and np.shares_memory(t.data, a)
        a[1] = 1
        assert t.data[1] == 1


def test_dtype_names():
    assert tl.float32 is np.float32 and tl.float64 is np.float64
    assert tl.int64 is np.int64 and tl.int32 is np.int32
    assert tl.bool_ is np.bool_ and tl.bool is np.bool_
    assert "bool" not in tl.__all__  # `from tinygrad_lite import *` keeps the builtin
    assert tl.zeros(2).dtype == tl.float32
    assert tl.zeros(2, dtype=tl.bool).dtype == np.bool_
    assert tl.Tensor([1.0]).to(tl.float64).dtype == tl.float64


def test_exports():
    for name in ("cat", "zeros_like", "ones_like", "full", "full_like", "arange", "from_numpy",
                 "where", "maximum", "minimum", "matmul", "float32", "float64", "int64",
                 "int32", "bool_"):
        assert name in tl.__all__ and hasattr(tl, name)
