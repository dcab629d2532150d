"""cross_entropy and nll_loss (and nn.CrossEntropyLoss / NLLLoss) on an unbatched input (C,)
with a 0-d target, and on (N, C, d1, ...) with targets (N, d1, ...) or class probabilities of
the input's shape: values and gradients against PyTorch in float64 (1e-9) over hypothesis-drawn
shapes, weights, ignore_index, label smoothing and reductions; gradcheck and gradgradcheck; the
errors PyTorch raises; the plain (N, C) case still the one fused op."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.core import ops as core_ops
from tinygrad_lite.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

FAST = settings(max_examples=40, deadline=None)
TOL = dict(rtol=1e-9, atol=1e-9)


@st.composite
def problems(draw, probabilities=False):
    """(input, target, weight, ignore_index): input (C,) or (N, C, d1, ...) up to 3 spatial axes,
    class targets (some maybe ignored) or probabilities; the target is never all-ignored
    in a way that changes nothing (a nan mean is compared as nan)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    c = draw(st.integers(1, 5))
    unbatched = draw(st.booleans())
    if unbatched:
        shape = (c,)
    else:
        n = draw(st.integers(1, 3))
        spatial = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
        shape = (n, c, *spatial)
    x = rng.standard_normal(shape) * 2
    weight = rng.uniform(0.2, 2.0, c) if draw(st.booleans()) else None
    ignore_index = draw(st.sampled_from([-100, 0, c - 1]))
    if probabilities:
        y = rng.uniform(0.0, 1.0, shape)
        return x, y, weight, -100
    tshape = () if unbatched else (shape[0], *shape[2:])
    t = rng.integers(0, c, tshape)
    if ignore_index < 0 and t.ndim and draw(st.booleans()):
        t[(0,) * t.ndim] = -100
    return x, t, weight, ignore_index


def _both(fn_name, x, target, weight, kwargs, probabilities=False):
    """(our loss, torch's loss, our input, torch's input, our target, torch's target)."""
    ours_x, theirs_x = tl.Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
    if probabilities:
        ours_t = tl.Tensor(target.copy(), requires_grad=True)
        theirs_t = torch.tensor(target, requires_grad=True)
    else:
        ours_t, theirs_t = target, torch.tensor(target)
    ours_w = None if weight is None else tl.Tensor(weight)
    theirs_w = None if weight is None else torch.tensor(weight)
    ours = getattr(F, fn_name)(ours_x, ours_t, ours_w, **kwargs)
    theirs = getattr(TF, fn_name)(theirs_x, theirs_t, theirs_w, **kwargs)
    return ours, theirs, ours_x, theirs_x, ours_t, theirs_t


def _compare(ours, theirs, ours_x, theirs_x, ours_t=None, theirs_t=None, seed=0):
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), **TOL)
    if np.isnan(ours.data).any():
        return
    up = np.random.default_rng(seed).uniform(0.5, 1.5, ours.shape)  # non-uniform upstream
    (ours * tl.Tensor(up)).sum().backward()
    (theirs * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(np.asarray(ours_x.grad.data if hasattr(ours_x.grad, "data")
                                          else ours_x.grad), theirs_x.grad.numpy(), **TOL)
    if theirs_t is not None and getattr(theirs_t, "grad", None) is not None:
        grad = ours_t.grad
        np.testing.assert_allclose(np.asarray(grad.data if hasattr(grad, "data") else grad),
                                   theirs_t.grad.numpy(), **TOL)


REDUCTION = st.sampled_from(["mean", "sum", "none"])


@FAST
@given(problem=problems(), reduction=REDUCTION, smoothing=st.sampled_from([0.0, 0.1, 0.7]))
def test_cross_entropy_class_targets_match_torch(problem, reduction, smoothing):
    x, t, w, ignore = problem
    kwargs = dict(ignore_index=ignore, reduction=reduction, label_smoothing=smoothing)
    _compare(*_both("cross_entropy", x, t, w, kwargs))


@FAST
@given(problem=problems(probabilities=True), reduction=REDUCTION,
       smoothing=st.sampled_from([0.0, 0.2]))
def test_cross_entropy_probability_targets_match_torch(problem, reduction, smoothing):
    x, y, w, _ = problem
    _compare(*_both("cross_entropy", x, y, w, dict(reduction=reduction,
                                                   label_smoothing=smoothing),
                    probabilities=True))


@FAST
@given(problem=problems(), reduction=REDUCTION)
def test_nll_loss_matches_torch(problem, reduction):
    x, t, w, ignore = problem
    _compare(*_both("nll_loss", x, t, w, dict(ignore_index=ignore, reduction=reduction)))


@pytest.mark.parametrize("module", ["CrossEntropyLoss", "NLLLoss"])
@pytest.mark.parametrize("shape", [(4,), (2, 4, 3), (2, 4, 3, 2)])
def test_loss_modules_match_torch(module, shape):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    t = rng.integers(0, 4, shape[:1] + shape[2:] if len(shape) > 1 else ())
    w = rng.uniform(0.5, 2.0, 4)
    for reduction in ("mean", "sum", "none"):
        extra = {"label_smoothing": 0.1} if module == "CrossEntropyLoss" else {}
        ours_x, theirs_x = tl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ours = getattr(nn, module)(tl.Tensor(w), ignore_index=1, reduction=reduction, **extra)
        theirs = getattr(torch.nn, module)(torch.tensor(w), ignore_index=1, reduction=reduction,
                                           **extra)
        _compare(ours(ours_x, t), theirs(theirs_x, torch.tensor(t)), ours_x, theirs_x)


def test_unbatched_accepts_a_one_element_target_and_a_tensor_target():
    x = np.array([0.3, -1.2, 2.0, 0.1])
    for t in (np.array([2]), tl.Tensor(np.array(2)), 2):
        ours = F.cross_entropy(tl.Tensor(x), t, reduction="none")
        theirs = TF.cross_entropy(torch.tensor(x), torch.tensor(np.asarray(
            t.data if isinstance(t, tl.Tensor) else t)), reduction="none")
        assert ours.shape == () and np.allclose(ours.data, theirs.numpy(), rtol=1e-12)
    assert np.isclose(F.nll_loss(tl.Tensor(x), np.array(1)).item(), 1.2)


# the core's fused CrossEntropy (the plain case) computes 0 / 0 with numpy's warning
@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_empty_positions_give_torchs_nan_and_zero():
    x = np.zeros((2, 3, 0))
    t = np.zeros((2, 0), np.int64)
    for fn, tfn in ((F.cross_entropy, TF.cross_entropy), (F.nll_loss, TF.nll_loss)):
        for reduction in ("mean", "sum", "none"):
            ours = fn(tl.Tensor(x), t, reduction=reduction).data
            theirs = tfn(torch.tensor(x), torch.tensor(t), reduction=reduction).numpy()
            assert ours.shape == theirs.shape
            np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradcheck_and_gradgradcheck(reduction):
    rng = np.random.default_rng(2)
    x = tl.Tensor(rng.standard_normal((2, 3, 2, 2)), requires_grad=True)
    t = rng.integers(0, 3, (2, 2, 2))
    t[0, 0, 0] = -100
    w = rng.uniform(0.5, 2.0, 3)
    y = tl.Tensor(rng.uniform(0, 1, (2, 3, 2, 2)), requires_grad=True)
    xu = tl.Tensor(rng.standard_normal(3), requires_grad=True)
    cases = [
        (lambda a: F.cross_entropy(a, t, w, reduction=reduction, label_smoothing=0.2), (x,)),
        (lambda a: F.nll_loss(a, t, w, reduction=reduction), (x,)),
        (lambda a, b: F.cross_entropy(a, b, w, reduction=reduction, label_smoothing=0.1), (x, y)),
        (lambda a: F.cross_entropy(a, np.array(1), reduction=reduction), (xu,)),
        (lambda a: F.cross_entropy(a, y.detach().data[0, :, 0, 0], reduction=reduction), (xu,)),
    ]
    for fn, inputs in cases:
        assert tl.gradcheck(fn, *inputs)
        assert tl.gradgradcheck(fn, *inputs)


def test_second_derivative_matches_torch():
    """d/dx of sum((dL/dx)**2): the double backward through the moved class axis."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 3))
    t = rng.integers(0, 4, (2, 3))
    w = rng.uniform(0.5, 2.0, 4)
    a, b = tl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (ga,) = tl.autograd.grad(F.cross_entropy(a, t, tl.Tensor(w), label_smoothing=0.3), [a],
                             create_graph=True)
    (gb,) = torch.autograd.grad(TF.cross_entropy(b, torch.tensor(t), torch.tensor(w),
                                                 label_smoothing=0.3), [b], create_graph=True)
    (ga * ga).sum().backward()
    (gb * gb).sum().backward()
    np.testing.assert_allclose(a.grad.data if hasattr(a.grad, "data") else a.grad,
                               b.grad.numpy(), **TOL)


def test_plain_two_d_is_still_the_fused_op_and_nd_plain_reuses_it():
    rng = np.random.default_rng(4)
    z = tl.Tensor(rng.standard_normal((6, 4)), requires_grad=True)
    assert type(F.cross_entropy(z, rng.integers(0, 4, 6)).grad_fn) is core_ops.CrossEntropy
    z3 = tl.Tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    loss = F.cross_entropy(z3, rng.integers(0, 4, (2, 3)))
    assert type(loss.grad_fn) is core_ops.CrossEntropy  # the rows go through the fused op


ERRORS = {
    "batch mismatch": lambda f, lib, x3: f(x3, lib.zeros((3, 3), dtype=lib.int64)),
    "spatial mismatch": lambda f, lib, x3: f(x3, lib.zeros((2, 4), dtype=lib.int64)),
    "target too few dims": lambda f, lib, x3: f(x3, lib.zeros((2,), dtype=lib.int64)),
    "1-D input, long target": lambda f, lib, x3: f(x3[0, :, 0], lib.zeros((2,), dtype=lib.int64)),
    "1-D input, 2-D target": lambda f, lib, x3: f(x3[0, :, 0],
                                                   lib.zeros((2, 2), dtype=lib.int64)),
    "bad reduction": lambda f, lib, x3: f(x3, lib.zeros((2, 3), dtype=lib.int64),
                                          reduction="avg"),
}


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_are_torchs(name, case):
    x = np.random.default_rng(5).standard_normal((2, 5, 3))
    with pytest.raises(Exception) as theirs:
        ERRORS[case](getattr(TF, name), torch, torch.tensor(x))
    with pytest.raises(Exception) as ours:
        ERRORS[case](getattr(F, name), tl, tl.Tensor(x))
    assert type(ours.value) is type(theirs.value), (ours.value, theirs.value)
    assert "\n" not in str(ours.value)
