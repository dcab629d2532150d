"""The tensor ops sequence models use, against PyTorch in float64 (values and gradients to
1e-9): tril/triu, flip, repeat, split/chunk/unbind, sort/topk, cumsum, rsqrt, pow, einsum,
the named arithmetic methods, norm; plus finite-difference gradchecks, the module-level
functions, F.one_hot, and the errors PyTorch raises."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite.nn import functional as F
from tinygrad_lite.tools.testing import (
    arrays,
    broadcastable_arrays,
    check_gradient,
    positive_arrays,
    separated_arrays,
    shapes,
    values,
)

torch = pytest.importorskip("torch")

FAST = settings(max_examples=25, deadline=None)


def parity(fn, torch_fn, *arrays_, seed=0):
    """fn on tinygrad_lite tensors against torch_fn on torch tensors (float64): the outputs
    (a tensor or a tuple of them) and the gradients of a random non-uniform weighting."""
    xs = [tl.tensor(np.asarray(a, np.float64), requires_grad=True) for a in arrays_]
    ts = [torch.tensor(np.asarray(a, np.float64), requires_grad=True) for a in arrays_]
    ys, yts = fn(*xs), torch_fn(*ts)
    ys = ys if isinstance(ys, (tuple, list)) else (ys,)
    yts = yts if isinstance(yts, (tuple, list)) else (yts,)
    assert len(ys) == len(yts)
    rng = np.random.default_rng(seed)
    loss, loss_t = 0.0, 0.0
    for y, yt in zip(ys, yts):
        assert y.shape == tuple(yt.shape)
        np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-9, atol=1e-9)
        if y.requires_grad:
            w = rng.standard_normal(y.shape)
            loss = loss + (y * tl.tensor(w)).sum()
            loss_t = loss_t + (yt * torch.tensor(w)).sum()
    if isinstance(loss, float):
        return
    loss.backward()
    loss_t.backward()
    for x, t in zip(xs, ts):
        expected = np.zeros(x.shape) if t.grad is None else t.grad.numpy()
        got = np.zeros(x.shape) if x.grad is None else x.grad.data
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


# ---- triangles, flip, repeat ----------------------------------------------------------------
@FAST
@given(arrays(shapes(min_dims=2, max_dims=4)), st.integers(-4, 4))
def test_tril_triu(x, k):
    parity(lambda a: a.tril(k), lambda a: a.tril(k), x)
    parity(lambda a: tl.triu(a, diagonal=k), lambda a: torch.triu(a, diagonal=k), x)
    assert check_gradient(lambda a: a.tril(k) * a.triu(-k), x)


def test_tril_needs_a_matrix():
    for f in (tl.tril, tl.triu):
        with pytest.raises(RuntimeError):
            f(tl.tensor([1.0, 2.0]))


@FAST
@given(arrays(shapes(min_dims=1, max_dims=3)), st.data())
def test_flip(x, data):
    dims = data.draw(st.lists(st.integers(-x.ndim, x.ndim - 1), max_size=x.ndim,
                              unique_by=lambda d: d % x.ndim))
    parity(lambda a: a.flip(dims), lambda a: a.flip(dims), x)
    parity(lambda a: tl.flip(a, dims), lambda a: torch.flip(a, dims), x)
    assert check_gradient(lambda a: a.flip(dims) * a, x)


def test_flip_refuses_a_repeated_dim():
    with pytest.raises(RuntimeError):
        tl.zeros(2, 3).flip(0, -2)


@FAST
@given(arrays(shapes(max_dims=3, max_side=3)), st.data())
def test_repeat(x, data):
    extra = data.draw(st.integers(0 if x.ndim else 1, 2))  # repeat() with no sizes: TypeError
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=x.ndim + extra,
                               max_size=x.ndim + extra))
    parity(lambda a: a.repeat(*sizes), lambda a: a.repeat(*sizes), x)
    parity(lambda a: a.repeat(sizes), lambda a: a.repeat(sizes), x)
    if 0 not in sizes:
        assert check_gradient(lambda a: a.repeat(*sizes) ** 2, x)


def test_repeat_needs_a_size_per_dim():
    with pytest.raises(RuntimeError):
        tl.zeros(2, 3).repeat(2)
    with pytest.raises(TypeError):
        tl.zeros(()).repeat()


# ---- splitting ---------------------------------------------------------------------------
@FAST
@given(arrays(shapes(min_dims=1, max_dims=3, max_side=6)), st.data())
def test_split_chunk_unbind(x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    n = x.shape[dim]
    size = data.draw(st.integers(1, n + 1))
    parity(lambda a: a.split(size, dim), lambda a: a.split(size, dim), x)
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=3)))
    sections = np.diff([0, *cuts, n]).tolist()
    parity(lambda a: tl.split(a, sections, dim), lambda a: torch.split(a, sections, dim), x)
    chunks = data.draw(st.integers(1, n + 2))
    parity(lambda a: a.chunk(chunks, dim), lambda a: a.chunk(chunks, dim), x)
    parity(lambda a: tl.unbind(a, dim), lambda a: torch.unbind(a, dim), x)


def test_split_and_chunk_of_an_empty_axis():
    for f in (lambda t: t.split(0), lambda t: t.split(3), lambda t: t.chunk(3),
              lambda t: t.split([0, 0])):
        ours, theirs = f(tl.zeros(0, 2)), f(torch.zeros(0, 2))
        assert [p.shape for p in ours] == [tuple(p.shape) for p in theirs]


def test_split_errors_as_torch():
    x = tl.zeros(5)
    with pytest.raises(RuntimeError):
        x.split([2, 2])
    with pytest.raises(RuntimeError):
        x.chunk(0)
    with pytest.raises(IndexError):
        x.split(2, dim=1)


# ---- ordering ------------------------------------------------------------------------------
@FAST
@given(separated_arrays(shapes(min_dims=1, max_dims=3)), st.data())
def test_sort_and_topk(x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    descending, stable = data.draw(st.booleans()), data.draw(st.booleans())
    parity(lambda a: a.sort(dim, descending, stable),
           lambda a: a.sort(dim=dim, descending=descending, stable=stable), x)
    k = data.draw(st.integers(0, x.shape[dim]))
    largest = data.draw(st.booleans())
    parity(lambda a: tl.topk(a, k, dim, largest), lambda a: torch.topk(a, k, dim, largest), x)
    parity(lambda a: a.argsort(dim, descending).double(),
           lambda a: a.argsort(dim=dim, descending=descending).double(), x)
    assert check_gradient(lambda a: a.sort(dim).values * a, x)
    if k:
        assert check_gradient(lambda a: a.topk(k, dim).values ** 2, x)


def test_sort_stable_and_nan_like_torch():
    x = np.array([[2.0, 1.0, 2.0, np.nan, 1.0, 2.0]])
    for descending in (False, True):
        ours = tl.tensor(x).sort(descending=descending, stable=True)
        theirs = torch.tensor(x).sort(descending=descending, stable=True)
        np.testing.assert_array_equal(ours.indices.data, theirs.indices.numpy())
        np.testing.assert_array_equal(ours.values.data, theirs.values.numpy())
        assert ours.indices.dtype == np.int64


def test_topk_out_of_range_and_namedtuple():
    with pytest.raises(RuntimeError):
        tl.arange(5.0).topk(6)
    values, indices = tl.arange(5.0).topk(2)
    assert indices.tolist() == [4, 3] and values.tolist() == [4.0, 3.0]
    assert tl.arange(5.0).topk(2).indices is not None


@FAST
@given(arrays(shapes(min_dims=0, max_dims=3)), st.data())
def test_cumsum(x, data):
    dim = data.draw(st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1))
    parity(lambda a: a.cumsum(dim), lambda a: a.cumsum(dim), x)
    parity(lambda a: tl.cumsum(a, dim=dim), lambda a: torch.cumsum(a, dim=dim), x)
    assert check_gradient(lambda a: a.cumsum(dim) ** 2, x)


def test_cumsum_dtypes_as_torch():
    for dtype, tdtype in [(np.int32, torch.int32), (np.bool_, torch.bool)]:
        ours = tl.tensor(np.array([1, 1, 0], dtype)).cumsum(0)
        theirs = torch.tensor(np.array([1, 1, 0], dtype), dtype=tdtype).cumsum(0)
        assert ours.dtype == np.int64 == np.dtype(str(theirs.dtype).split(".")[1])
        assert ours.tolist() == theirs.tolist()


# ---- powers ---------------------------------------------------------------------------------
@FAST
@given(positive_arrays())
def test_rsqrt(x):
    parity(lambda a: a.rsqrt(), lambda a: a.rsqrt(), x)
    parity(lambda a: tl.rsqrt(a), lambda a: torch.rsqrt(a), x)
    assert check_gradient(lambda a: a.rsqrt(), x)
    assert tl.tensor([4]).rsqrt().dtype == np.float32  # an integer tensor: float32, as torch


@FAST
@given(broadcastable_arrays(elements=values(0.5, 3.0)))
def test_pow_tensor_exponent(ab):
    a, b = ab[0], ab[1] - 1.75  # exponents in [-1.25, 1.25]
    parity(lambda x, y: x.pow(y), lambda x, y: x.pow(y), a, b)
    parity(lambda x, y: tl.pow(x, y), lambda x, y: torch.pow(x, y), a, b)
    parity(lambda x, y: x ** y, lambda x, y: x ** y, a, b)
    assert check_gradient(lambda x, y: x**y, a, b)


def test_pow_numbers_either_side():
    x = np.array([0.5, 1.5, 2.0])
    parity(lambda a: tl.pow(2.0, a), lambda a: torch.pow(2.0, a), x)
    parity(lambda a: tl.pow(a, 3), lambda a: torch.pow(a, 3), x)
    parity(lambda a: a.pow(0.5), lambda a: a.pow(0.5), x)


def test_pow_at_zero_base_like_torch():
    a, b = np.array([0.0, 0.0, 2.0]), np.array([2.0, 0.0, 0.0])
    parity(lambda x, y: x**y, lambda x, y: x**y, a, b)


# ---- einsum --------------------------------------------------------------------------------
EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ii->", [(3, 3)]),
    ("iij->j", [(2, 2, 3)]),
    ("iji->ij", [(3, 2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("i,i", [(4,), (4,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,i,i->", [(3,), (3,), (3,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("ij,k->ijk", [(2, 3), (2,)]),
    ("ij,jk->i", [(2, 3), (3, 4)]),
    ("...ij,...jk", [(5, 2, 3), (3, 4)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]),
    ("...i->i", [(2, 3, 4)]),
    ("i...->...", [(2, 3, 4)]),
    ("b...,b...->b", [(2, 3, 4), (2, 3, 4)]),
    ("ij,ij->ij", [(2, 3), (1, 3)]),
    ("bi, bi -> b", [(3, 4), (3, 4)]),
    ("Ab,bC->AC", [(2, 3), (3, 2)]),
]


@pytest.mark.parametrize("equation,shapes_", EINSUMS)
def test_einsum_matches_torch(equation, shapes_):
    rng = np.random.default_rng(len(equation))
    xs = [rng.standard_normal(s) for s in shapes_]
    parity(lambda *a: tl.einsum(equation, *a), lambda *a: torch.einsum(equation, *a), *xs)
    parity(lambda *a: tl.einsum(equation, list(a)), lambda *a: torch.einsum(equation, a), *xs)
    assert check_gradient(lambda *a: tl.einsum(equation, *a), *xs)


def test_einsum_of_large_operands_goes_through_the_planner():
    rng = np.random.default_rng(0)
    q, k = rng.standard_normal((2, 2, 32, 32)), rng.standard_normal((2, 2, 32, 32))
    parity(lambda a, b: tl.einsum("bhqd,bhkd->bhqk", a, b),
           lambda a, b: torch.einsum("bhqd,bhkd->bhqk", a, b), q, k)


def test_einsum_errors():
    a = tl.zeros(2, 3, dtype=tl.float64)
    with pytest.raises(RuntimeError):
        tl.einsum("ij,jk", a, tl.zeros(3, 2))  # float64 with float32, as torch refuses
    for bad in ("ij,jk", "ijk", "ij->k", "ij->ii", "i.j"):
        with pytest.raises(ValueError):
            tl.einsum(bad, a)
    np.testing.assert_array_equal(tl.einsum(a, [0, 1]).data, a.data)  # the sublist form
    with pytest.raises(ValueError):
        tl.einsum(a, [0, 52])  # subscripts name axes with 0..51


# ---- named arithmetic and comparisons --------------------------------------------------------
@FAST
@given(arrays((2, 3)), arrays((3,), elements=st.floats(0.5, 3)), st.sampled_from([1, 2, -0.5]))
def test_named_arithmetic(a, b, alpha):
    parity(lambda x, y: x.add(y, alpha=alpha), lambda x, y: x.add(y, alpha=alpha), a, b)
    parity(lambda x, y: tl.sub(x, y, alpha=alpha), lambda x, y: torch.sub(x, y, alpha=alpha),
           a, b)
    parity(lambda x, y: x.mul(y), lambda x, y: x.mul(y), a, b)
    parity(lambda x, y: x.div(y), lambda x, y: x.div(y), a, b)
    for mode in ("trunc", "floor"):
        parity(lambda x, y, m=mode: x.div(y, rounding_mode=m),
               lambda x, y, m=mode: x.div(y, rounding_mode=m), a, b)


def test_div_rounding_on_integers_and_errors():
    a, b = np.array([7, -7, 7, -7]), np.array([2, 2, -2, -2])
    for mode in ("trunc", "floor"):
        ours = tl.tensor(a).div(tl.tensor(b), rounding_mode=mode)
        theirs = torch.tensor(a).div(torch.tensor(b), rounding_mode=mode)
        assert ours.tolist() == theirs.tolist() and ours.dtype == np.int64
    with pytest.raises(RuntimeError):
        tl.tensor([1.0]).div(2, rounding_mode="round")
    with pytest.raises(RuntimeError):
        tl.tensor([1]).div(0, rounding_mode="floor")


def test_comparison_methods():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0])
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        ours = getattr(tl.tensor(a), name)(tl.tensor(b))
        assert ours.tolist() == getattr(torch.tensor(a), name)(torch.tensor(b)).tolist()
        assert getattr(tl, name)(tl.tensor(a), 2.0).tolist() == getattr(torch, name)(
            torch.tensor(a), 2.0).tolist()


def test_like_another_tensor():
    x = tl.zeros(2, 3, dtype=tl.float64)
    i = tl.tensor([1, 2])
    assert x.new_zeros(4).dtype == np.float64 and x.new_zeros(2, 2).shape == (2, 2)
    assert x.new_ones((2, 1)).tolist() == [[1.0], [1.0]]
    assert x.new_full((2,), 7).tolist() == [7.0, 7.0] and x.new_full((2,), 7).dtype == np.float64
    assert x.new_empty(3).shape == (3,)
    assert i.new_tensor([1.5]).dtype == np.int64  # the tensor's dtype, as torch
    assert x.new_zeros(2, dtype=tl.int32).dtype == np.int32
    assert x.new_zeros(2, requires_grad=True).requires_grad
    assert i.type_as(x).dtype == np.float64
    v = tl.arange(6.0).view_as(x)
    assert v.shape == (2, 3)
    with pytest.raises(RuntimeError):
        x.new_zeros(2, device="cuda")


# ---- norm, flatten and the module-level functions ---------------------------------------------
@FAST
@given(arrays(shapes(min_dims=1, max_dims=3), elements=st.floats(0.1, 3)), st.data())
def test_norm_matches_torch(x, data):
    x = x * data.draw(st.sampled_from([1, -1]))
    p = data.draw(st.sampled_from(["fro", 1, 2, 3, 0.5, float("inf"), -float("inf"), 0]))
    dim = data.draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1)))
    keepdim = data.draw(st.booleans())
    if p == "fro" and dim is None:
        parity(lambda a: a.norm(), lambda a: a.norm(), x)
    if p in (float("inf"), -float("inf")) and len(np.unique(np.abs(x))) != x.size:
        return  # ties: PyTorch splits the gradient differently
    parity(lambda a: a.norm(p, dim, keepdim), lambda a: a.norm(p, dim, keepdim), x)
    parity(lambda a: tl.norm(a, p, dim, keepdim), lambda a: torch.norm(a, p, dim, keepdim), x)


def test_flatten_function_and_method():
    x = np.arange(24.0).reshape(2, 3, 4)
    for args in [(), (1,), (0, 1), (-2, -1), (1, 1)]:
        parity(lambda a, args=args: tl.flatten(a, *args),
               lambda a, args=args: torch.flatten(a, *args), x)
    parity(lambda a: a.flatten(start_dim=1), lambda a: a.flatten(start_dim=1), x)


FUNCTIONS = [  # (name, args after the tensor) for tl.name(x, *args) vs torch.name(x, *args)
    ("exp", ()), ("log", ()), ("log1p", ()), ("tanh", ()), ("sigmoid", ()), ("sqrt", ()),
    ("rsqrt", ()), ("abs", ()), ("sin", ()), ("cos", ()), ("relu", ()), ("softmax", (1,)),
    ("log_softmax", (-1,)), ("clamp", (0.5, 2.0)), ("clip", (0.5,)), ("sum", ()),
    ("sum", (1,)), ("mean", (0, True)), ("prod", (1,)), ("amax", (1,)), ("amin", (0,)),
    ("logsumexp", (1,)), ("std", (1,)), ("var", (0,)), ("tril", ()), ("triu", (1,)),
    ("cumsum", (1,)), ("transpose", (0, 1)), ("reshape", ((3, 2),)), ("flatten", ()),
    ("squeeze", ()), ("unsqueeze", (0,)), ("permute", ((1, 0),)), ("t", ()), ("clone", ()),
    ("pow", (2,)), ("mul", (3.0,)), ("add", (1.0,)), ("div", (2.0,)), ("sub", (1.0,)),
]


@pytest.mark.parametrize("name,args", FUNCTIONS)
def test_module_level_functions(name, args):
    x = np.random.default_rng(1).uniform(0.2, 3.0, (2, 3))
    parity(lambda a: getattr(tl, name)(a, *args), lambda a: getattr(torch, name)(a, *args), x)


def test_module_level_reductions_with_indices():
    x = np.random.default_rng(2).standard_normal((3, 4))
    for name in ("max", "min"):
        parity(lambda a, n=name: getattr(tl, n)(a), lambda a, n=name: getattr(torch, n)(a), x)
        ours, theirs = getattr(tl, name)(tl.tensor(x), 1), getattr(torch, name)(
            torch.tensor(x), 1)
        assert ours.indices.tolist() == theirs.indices.tolist()
    for name in ("argmax", "argmin"):
        assert getattr(tl, name)(tl.tensor(x), 1).tolist() == getattr(torch, name)(
            torch.tensor(x), 1).tolist()
    assert tl.numel(tl.tensor(x)) == 12


def test_builtin_names_stay_out_of_star_import():
    for name in ("sum", "max", "min", "abs", "pow"):
        assert hasattr(tl, name) and name not in tl.__all__
    assert "exp" in tl.__all__ and "einsum" in tl.__all__


# ---- one_hot -------------------------------------------------------------------------------
@pytest.mark.parametrize("values,num_classes", [([0, 2, 1], -1), ([[0, 1], [3, 0]], 5),
                                                ([], 3), (2, 4)])
def test_one_hot_matches_torch(values, num_classes):
    ours = F.one_hot(tl.tensor(np.array(values, dtype=np.int64)), num_classes)
    theirs = torch.nn.functional.one_hot(torch.tensor(values, dtype=torch.long), num_classes)
    assert ours.dtype == np.int64 and ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.data, theirs.numpy())


@pytest.mark.parametrize("values,num_classes", [([1.0], -1), ([-1, 2], -1), ([1, 5], 3),
                                                ([], -1)])
def test_one_hot_errors_as_torch(values, num_classes):
    dtype = torch.float32 if isinstance(values[0] if values else 0, float) else torch.long
    with pytest.raises(RuntimeError):
        torch.nn.functional.one_hot(torch.tensor(values, dtype=dtype), num_classes)
    with pytest.raises(RuntimeError):
        F.one_hot(tl.tensor(np.array(values, dtype=np.float32 if dtype == torch.float32
                                     else np.int64)), num_classes)


def test_dtype_aliases_as_torch():
    for name in ("long", "float", "double", "int", "half", "short"):
        assert np.dtype(getattr(tl, name)) == np.dtype(str(getattr(torch, name)).split(".")[1])
    assert tl.zeros(2, dtype=tl.long).dtype == np.int64
    for name in ("float", "int"):  # builtin names stay out of a star import
        assert name not in tl.__all__
