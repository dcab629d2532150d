"""Loss functions: gradients vs finite differences, values and gradients vs PyTorch, errors.

Every loss in `nn.functional` (mse_loss, l1_loss, nll_loss, binary_cross_entropy,
binary_cross_entropy_with_logits, cross_entropy) for every reduction; the Module classes of
`nn.loss`; stability at logits of +-1e4. PyTorch parity tests skip when torch is missing.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.core import ops as core_ops
from tinygrad_lite.nn import functional as F
from tinygrad_lite.ops import loss as ops_loss
from tinygrad_lite.tools.testing import arrays, away_from_zero, shapes, values

REDUCTIONS = ["mean", "sum", "none"]
FAST = settings(max_examples=15, deadline=None)


def t64(x, grad=True):
    return tl.Tensor(np.asarray(x, dtype=np.float64), requires_grad=grad)


# ---- strategies -------------------------------------------------------------------------------


@st.composite
def class_problem(draw, ignore=True):
    """(logits (N, C), integer targets (N,) some maybe -100, weight (C,) or None)."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    logits = draw(arrays((n, c)))
    choices = st.integers(0, c - 1)
    if ignore:
        choices = st.one_of(choices, st.just(-100))
    targets = draw(st.lists(choices, min_size=n, max_size=n))
    if all(t == -100 for t in targets):  # at least one kept row: the mean is not 0 / 0
        targets[0] = 0
    weight = draw(st.one_of(st.none(), arrays((c,), elements=values(0.2, 2.0))))
    return logits, np.array(targets), weight


@st.composite
def probabilities(draw, shape):
    """Rows of non-negative numbers that sum to 1."""
    raw = draw(arrays(shape, elements=values(0.05, 1.0)))
    return raw / raw.sum(axis=-1, keepdims=True)


@st.composite
def pair(draw, elements=None, target_elements=None):
    """Input and target of one drawn shape."""
    shape = draw(shapes(min_dims=0, max_dims=2))
    return draw(arrays(shape, elements)), draw(arrays(shape, target_elements))


# ---- gradients vs central differences (float64) ---------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(xy=pair(), data=st.data())
def test_mse_gradcheck(reduction, xy, data):
    x, y = xy
    assert tl.gradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction), t64(x), t64(y))
    w = data.draw(arrays(x.shape, elements=values(0.2, 2.0)))
    assert tl.gradcheck(
        lambda a, b, c: F.mse_loss(a, b, reduction=reduction, weight=c), t64(x), t64(y), t64(w)
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(xd=pair(target_elements=away_from_zero()), data=st.data())
def test_l1_gradcheck(reduction, xd, data):
    x, d = xd  # target = x - d with |d| >= 0.1: away from the kink of |x - y|
    y = x - d
    assert tl.gradcheck(lambda a, b: F.l1_loss(a, b, reduction=reduction), t64(x), t64(y))
    w = data.draw(arrays(x.shape, elements=values(0.2, 2.0)))
    assert tl.gradcheck(
        lambda a, b, c: F.l1_loss(a, b, reduction=reduction, weight=c), t64(x), t64(y), t64(w)
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(problem=class_problem())
def test_nll_gradcheck(reduction, problem):
    x, targets, weight = problem
    assert tl.gradcheck(
        lambda a: F.nll_loss(a, targets, weight, reduction=reduction), t64(x)
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(problem=class_problem(), smoothing=st.sampled_from([0.0, 0.1, 0.5, 1.0]))
def test_cross_entropy_gradcheck(reduction, problem, smoothing):
    x, targets, weight = problem
    assert tl.gradcheck(
        lambda a: F.cross_entropy(
            a, targets, weight, reduction=reduction, label_smoothing=smoothing
        ),
        t64(x),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(data=st.data(), smoothing=st.sampled_from([0.0, 0.2]))
def test_cross_entropy_probability_targets_gradcheck(reduction, data, smoothing):
    n, c = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    x, y = data.draw(arrays((n, c))), data.draw(probabilities((n, c)))
    weight = data.draw(st.one_of(st.none(), arrays((c,), elements=values(0.2, 2.0))))
    assert tl.gradcheck(
        lambda a, b: F.cross_entropy(a, b, weight, reduction=reduction, label_smoothing=smoothing),
        t64(x),
        t64(y),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(xy=pair(values(0.05, 0.95), values(0.01, 0.99)), weighted=st.booleans())
def test_bce_gradcheck(reduction, xy, weighted):
    x, y = xy
    w = np.linspace(0.5, 1.5, x.size).reshape(x.shape) if weighted else None
    assert tl.gradcheck(
        lambda a, b: F.binary_cross_entropy(a, b, w, reduction=reduction), t64(x), t64(y)
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(xy=pair(values(-4.0, 4.0), values(0.0, 1.0)), data=st.data())
def test_bce_with_logits_gradcheck(reduction, xy, data):
    x, y = xy
    last = x.shape[-1:] if x.ndim else ()
    w = data.draw(st.one_of(st.none(), arrays(x.shape, elements=values(0.2, 2.0))))
    pw = data.draw(st.one_of(st.none(), arrays(last, elements=values(0.2, 3.0))))
    assert tl.gradcheck(
        lambda a, b: F.binary_cross_entropy_with_logits(
            a, b, w, reduction=reduction, pos_weight=pw
        ),
        t64(x),
        t64(y),
    )


# ---- parity with PyTorch (float64, 1e-10) ------------------------------------------------------

RNG = np.random.default_rng(1234)
N, C = 6, 5
LOGITS = RNG.standard_normal((N, C)) * 3
TARGETS = np.array([0, 4, 2, -100, 1, 4])
CLASS_WEIGHT = RNG.uniform(0.2, 2.0, C)
SOFT = RNG.uniform(0.0, 1.0, (N, C))
SOFT /= SOFT.sum(axis=1, keepdims=True)
PROBS = RNG.uniform(0.01, 0.99, (N, C))
BINARY = RNG.uniform(0.0, 1.0, (N, C))
ELEM_WEIGHT = RNG.uniform(0.2, 2.0, (N, C))
POS_WEIGHT = RNG.uniform(0.2, 3.0, C)

# name -> (our function, torch function name, input, target, target differentiable, kwargs).
# kwargs values that are arrays are passed as tensors to both libraries.
CASES = {
    "mse": (F.mse_loss, "mse_loss", LOGITS, BINARY, True, {}),
    "mse_weight": (F.mse_loss, "mse_loss", LOGITS, BINARY, True, {"weight": ELEM_WEIGHT}),
    "l1": (F.l1_loss, "l1_loss", LOGITS, BINARY, True, {}),
    "l1_weight": (F.l1_loss, "l1_loss", LOGITS, BINARY, True, {"weight": ELEM_WEIGHT}),
    "nll": (F.nll_loss, "nll_loss", LOGITS, TARGETS, False, {}),
    "nll_weight": (F.nll_loss, "nll_loss", LOGITS, TARGETS, False, {"weight": CLASS_WEIGHT}),
    "nll_ignore_2": (F.nll_loss, "nll_loss", LOGITS, np.abs(TARGETS) % C, False,
                     {"weight": CLASS_WEIGHT, "ignore_index": 2}),
    "ce": (F.cross_entropy, "cross_entropy", LOGITS, np.abs(TARGETS) % C, False, {}),
    "ce_ignore": (F.cross_entropy, "cross_entropy", LOGITS, TARGETS, False, {}),
    "ce_weight": (F.cross_entropy, "cross_entropy", LOGITS, TARGETS, False,
                  {"weight": CLASS_WEIGHT}),
    "ce_smooth": (F.cross_entropy, "cross_entropy", LOGITS, TARGETS, False,
                  {"label_smoothing": 0.2}),
    "ce_weight_smooth": (F.cross_entropy, "cross_entropy", LOGITS, TARGETS, False,
                         {"weight": CLASS_WEIGHT, "label_smoothing": 0.3}),
    "ce_weight_smooth_ignore_4": (F.cross_entropy, "cross_entropy", LOGITS, np.abs(TARGETS) % C,
                                  False, {"weight": CLASS_WEIGHT, "label_smoothing": 0.1,
                                          "ignore_index": 4}),
    "ce_soft": (F.cross_entropy, "cross_entropy", LOGITS, SOFT, True, {}),
    "ce_soft_weight_smooth": (F.cross_entropy, "cross_entropy", LOGITS, SOFT, True,
                              {"weight": CLASS_WEIGHT, "label_smoothing": 0.25}),
    "bce": (F.binary_cross_entropy, "binary_cross_entropy", PROBS, BINARY, True, {}),
    "bce_weight": (F.binary_cross_entropy, "binary_cross_entropy", PROBS, BINARY, True,
                   {"weight": ELEM_WEIGHT[0]}),
    "bce_logits": (F.binary_cross_entropy_with_logits, "binary_cross_entropy_with_logits",
                   LOGITS, BINARY, True, {}),
    "bce_logits_weights": (F.binary_cross_entropy_with_logits, "binary_cross_entropy_with_logits",
                           LOGITS, BINARY, True, {"weight": ELEM_WEIGHT,
                                                  "pos_weight": POS_WEIGHT}),
}


def _run_both(torch, name, reduction, scale=1.0):
    """(ours, torch's): loss value, input grad, target grad (None when not differentiable)."""
    ours_fn, torch_name, x, y, y_grad, kwargs = CASES[name]
    x = x * scale
    a, b = t64(x), (t64(y) if y_grad else y)
    ours = ours_fn(a, b, reduction=reduction, **kwargs)
    v = RNG.standard_normal(ours.shape) if reduction == "none" else None  # non-uniform
    ours.backward(v)

    ta = torch.tensor(x, requires_grad=True)
    tb = torch.tensor(y, requires_grad=y_grad)
    tkw = {k: torch.tensor(val) if isinstance(val, np.ndarray) else val
           for k, val in kwargs.items()}
    theirs = getattr(torch.nn.functional, torch_name)(ta, tb, reduction=reduction, **tkw)
    theirs.backward(None if v is None else torch.tensor(v))
    return (
        (ours.data, a.grad, b.grad if y_grad else None),
        (theirs.detach().numpy(), ta.grad.numpy(), tb.grad.numpy() if y_grad else None),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name, reduction):
    torch = pytest.importorskip("torch")
    ours, theirs = _run_both(torch, name, reduction)
    for what, o, t in zip(["value", "input grad", "target grad"], ours, theirs):
        if t is None:
            continue
        assert o.shape == t.shape, (what, o.shape, t.shape)
        np.testing.assert_allclose(o, t, rtol=1e-10, atol=1e-10, err_msg=what)


def test_weighted_mse_weight_gradient_matches_torch():
    torch = pytest.importorskip("torch")
    for reduction in REDUCTIONS:
        w = t64(ELEM_WEIGHT)
        F.mse_loss(t64(LOGITS), BINARY, reduction=reduction, weight=w).sum().backward()
        tw = torch.tensor(ELEM_WEIGHT, requires_grad=True)
        torch.nn.functional.mse_loss(
            torch.tensor(LOGITS), torch.tensor(BINARY), reduction=reduction, weight=tw
        ).sum().backward()
        np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("scale", [1e4, -1e4])
@pytest.mark.parametrize(
    "name", ["ce", "ce_weight_smooth", "ce_soft_weight_smooth", "bce_logits", "bce_logits_weights"]
)
def test_huge_logits_match_torch(name, scale):
    torch = pytest.importorskip("torch")
    for reduction in REDUCTIONS:
        ours, theirs = _run_both(torch, name, reduction, scale=scale)
        for o, t in zip(ours, theirs):
            if t is not None:
                assert np.all(np.isfinite(o))
                np.testing.assert_allclose(o, t, rtol=1e-10, atol=1e-10)


# ---- stability at logits of +-1e4 (no torch needed) -----------------------------------------


@pytest.mark.parametrize("scale", [1e4, -1e4])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_huge_logits_finite(scale, reduction):
    z = np.array([[1.0, 2.0, -3.0], [0.5, 0.0, 0.25], [-1.0, 1.0, 0.0]]) * scale
    targets = np.array([0, 2, 1])
    soft = np.full((3, 3), 1 / 3)
    losses = [
        lambda a: F.cross_entropy(a, targets, reduction=reduction),
        lambda a: F.cross_entropy(
            a, targets, [1.0, 2.0, 0.5], reduction=reduction, label_smoothing=0.1
        ),
        lambda a: F.cross_entropy(a, soft, reduction=reduction, label_smoothing=0.1),
        lambda a: F.nll_loss(a.log_softmax(), targets, reduction=reduction),
        lambda a: F.binary_cross_entropy_with_logits(a, np.eye(3), reduction=reduction),
        lambda a: F.binary_cross_entropy_with_logits(
            a, np.eye(3), np.ones((3, 3)), reduction=reduction, pos_weight=[2.0, 0.5, 1.0]
        ),
        lambda a: F.binary_cross_entropy(a.sigmoid(), np.eye(3), reduction=reduction),
    ]
    for i, loss_fn in enumerate(losses):
        a = t64(z)
        loss = loss_fn(a)
        loss.sum().backward()
        assert np.all(np.isfinite(loss.data)), i
        assert np.all(np.isfinite(a.grad)), i


def test_bce_with_logits_uses_the_stable_formula():
    x = np.array([-1e4, -30.0, 0.0, 30.0, 1e4])
    y = np.array([0.0, 1.0, 0.5, 0.0, 1.0])
    loss = F.binary_cross_entropy_with_logits(t64(x), y, reduction="none")
    expected = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    np.testing.assert_allclose(loss.data, expected, rtol=1e-15, atol=0)


def test_bce_clamps_log_at_minus_100():
    loss = F.binary_cross_entropy(t64([0.0, 1.0, 0.0]), [1.0, 0.0, 0.0], reduction="none")
    np.testing.assert_array_equal(loss.data, [100.0, 100.0, 0.0])


# ---- the fast path and dtypes -------------------------------------------------------------------


def test_default_cross_entropy_is_the_fused_op():
    z = t64(LOGITS)
    targets = np.abs(TARGETS) % C
    assert type(F.cross_entropy(z, targets).grad_fn) is core_ops.CrossEntropy
    for kwargs in (
        {"reduction": "sum"},
        {"weight": CLASS_WEIGHT},
        {"label_smoothing": 0.1},
        {"ignore_index": int(targets[0])},  # a target actually ignored
    ):
        fn = F.cross_entropy(z, targets, **kwargs).grad_fn
        assert type(fn) is ops_loss.WeightedCrossEntropy, kwargs
    # an ignore_index that no target equals keeps the fused op
    assert type(F.cross_entropy(z, targets, ignore_index=3 + C).grad_fn) is core_ops.CrossEntropy


def test_general_path_equals_fast_path_in_the_default_case():
    z1, z2 = t64(LOGITS), t64(LOGITS)
    targets = np.abs(TARGETS) % C
    a = F.cross_entropy(z1, targets)
    b = F.cross_entropy(z2, targets, np.ones(C))  # all-ones weights: the general op
    a.backward()
    b.backward()
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-14)
    np.testing.assert_allclose(z1.grad, z2.grad, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize(
    "fn, x, y",
    [
        (F.mse_loss, LOGITS, BINARY),
        (F.l1_loss, LOGITS, BINARY),
        (F.binary_cross_entropy, PROBS, BINARY),
        (F.binary_cross_entropy_with_logits, LOGITS, BINARY),
        (F.cross_entropy, LOGITS, np.abs(TARGETS) % C),
        (F.nll_loss, LOGITS, np.abs(TARGETS) % C),
    ],
)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_float32_in_float32_out(fn, x, y, reduction):
    a = tl.Tensor(x.astype(np.float32), requires_grad=True)
    out = fn(a, y, reduction=reduction)  # a float64 target does not promote the loss
    assert out.dtype == np.float32
    out.sum().backward()
    assert a.grad.dtype == np.float32


def test_targets_as_tensor_ndarray_or_list():
    x = LOGITS[:2, :3]
    y = BINARY[:2, :3]
    for fn in (F.mse_loss, F.l1_loss, F.binary_cross_entropy_with_logits):
        expected = fn(t64(x), y).item()
        assert fn(t64(x), y.tolist()).item() == pytest.approx(expected, rel=1e-7)
        assert fn(t64(x), tl.Tensor(y)).item() == pytest.approx(expected, rel=1e-15)
    for fn in (F.cross_entropy, F.nll_loss):
        expected = fn(t64(x), np.array([0, 2])).item()
        assert fn(t64(x), [0, 2]).item() == expected
        assert fn(t64(x), tl.Tensor(np.array([0, 2]))).item() == expected


# ---- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn, x",
    [
        (F.mse_loss, np.zeros(4)),
        (F.l1_loss, np.zeros(4)),
        (F.binary_cross_entropy, np.full(4, 0.5)),
        (F.binary_cross_entropy_with_logits, np.zeros(4)),
    ],
)
def test_shape_mismatch_is_an_error_not_a_broadcast(fn, x):
    with pytest.raises(ValueError, match=r"target shape \(4, 1\).*input shape \(4,\)"):
        fn(t64(x), np.zeros((4, 1)))
    with pytest.raises(ValueError, match=r"target shape \(4,\).*input shape \(4, 1\)"):
        fn(t64(x.reshape(4, 1)), tl.Tensor(np.zeros(4), requires_grad=True))
    with pytest.raises(ValueError, match=r"target shape \(3,\).*input shape \(4,\)"):
        fn(t64(x), [0.0, 1.0, 0.0])


LOSS_CALLS = [
    lambda r: F.mse_loss(t64(np.zeros(2)), np.zeros(2), reduction=r),
    lambda r: F.l1_loss(t64(np.zeros(2)), np.zeros(2), reduction=r),
    lambda r: F.binary_cross_entropy(t64(np.full(2, 0.5)), np.zeros(2), reduction=r),
    lambda r: F.binary_cross_entropy_with_logits(t64(np.zeros(2)), np.zeros(2), reduction=r),
    lambda r: F.nll_loss(t64(np.zeros((2, 3))), [0, 1], reduction=r),
    lambda r: F.cross_entropy(t64(np.zeros((2, 3))), [0, 1], reduction=r),
    lambda r: nn.MSELoss(reduction=r),
    lambda r: nn.L1Loss(reduction=r),
    lambda r: nn.NLLLoss(reduction=r),
    lambda r: nn.BCELoss(reduction=r),
    lambda r: nn.BCEWithLogitsLoss(reduction=r),
    lambda r: nn.CrossEntropyLoss(reduction=r),
]


@pytest.mark.parametrize("call", LOSS_CALLS)
def test_bad_reduction(call):
    with pytest.raises(ValueError, match="'average'"):
        call("average")
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'; got None"):
        call(None)


def test_class_target_errors():
    x = t64(np.zeros((3, 4)))
    for fn in (F.nll_loss, F.cross_entropy):
        with pytest.raises(TypeError, match="integer class indices"):
            fn(x, np.array([0.0, 1.0, 2.0]))
        with pytest.raises(ValueError, match=r"target 4 is outside \[0, 4\)"):
            fn(x, [0, 4, -100])
        with pytest.raises(ValueError, match=r"target -100 is outside"):
            fn(x, [0, 1, -100], ignore_index=1)
        with pytest.raises(ValueError, match=r"weight must have shape \(4,\)"):
            fn(x, [0, 1, 2], np.ones(3))
        with pytest.raises(ValueError, match="cannot require grad"):
            fn(x, [0, 1, 2], t64(np.ones(4)))
        with pytest.raises(ValueError, match=r"\(N, C\)"):
            fn(t64(np.array(0.0)), 0)  # (C,) with a 0-d target is a loss (as torch)
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0; got 1.5"):
        F.cross_entropy(x, [0, 1, 2], label_smoothing=1.5)
    with pytest.raises(ValueError, match="ignore_index is not supported for probability"):
        F.cross_entropy(x, np.full((3, 4), 0.25), ignore_index=0)


def test_bce_domain_and_weight_errors():
    with pytest.raises(ValueError, match="input must be in"):
        F.binary_cross_entropy(t64([0.5, 1.5]), [0.0, 1.0])
    with pytest.raises(ValueError, match="target must be in"):
        F.binary_cross_entropy(t64([0.5, 0.5]), [0.0, 2.0])
    with pytest.raises(ValueError, match=r"weight of shape \(3,\) does not broadcast"):
        F.binary_cross_entropy(t64([0.5, 0.5]), [0.0, 1.0], np.ones(3))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(2, 2\) does not broadcast"):
        F.binary_cross_entropy_with_logits(t64([0.5, 0.5]), [0.0, 1.0], pos_weight=np.ones((2, 2)))
    with pytest.raises(ValueError, match="cannot require grad"):
        F.binary_cross_entropy_with_logits(t64([0.5]), [1.0], t64([1.0]))
    with pytest.raises(ValueError, match=r"weight shape \(3,\) differs from input shape \(2,\)"):
        F.mse_loss(t64([0.5, 0.5]), [0.0, 1.0], weight=np.ones(3))


def test_all_ignored_mean_is_nan_as_torch():
    loss = F.cross_entropy(t64(np.zeros((2, 3))), [-100, -100])
    assert np.isnan(loss.item())
    assert np.isnan(F.nll_loss(t64(np.zeros((2, 3))), [-100, -100]).item())


# ---- modules ------------------------------------------------------------------------------------


def test_modules_match_functional():
    x, y = t64(LOGITS), BINARY
    idx = np.abs(TARGETS) % C
    pairs = [
        (nn.MSELoss(reduction="sum")(x, y), F.mse_loss(x, y, reduction="sum")),
        (nn.L1Loss()(x, y), F.l1_loss(x, y)),
        (nn.NLLLoss(CLASS_WEIGHT, ignore_index=2)(x, idx),
         F.nll_loss(x, idx, CLASS_WEIGHT, ignore_index=2)),
        (nn.CrossEntropyLoss(weight=tl.Tensor(CLASS_WEIGHT), label_smoothing=0.1,
                             reduction="none")(x, TARGETS),
         F.cross_entropy(x, TARGETS, CLASS_WEIGHT, label_smoothing=0.1, reduction="none")),
        (nn.BCELoss(ELEM_WEIGHT)(t64(PROBS), y),
         F.binary_cross_entropy(t64(PROBS), y, ELEM_WEIGHT)),
        (nn.BCEWithLogitsLoss(pos_weight=POS_WEIGHT)(x, y),
         F.binary_cross_entropy_with_logits(x, y, pos_weight=POS_WEIGHT)),
    ]
    for module_out, fn_out in pairs:
        np.testing.assert_array_equal(module_out.data, fn_out.data)


def test_module_weights_are_buffers():
    loss = nn.CrossEntropyLoss(CLASS_WEIGHT)
    assert list(loss.state_dict()) == ["weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    assert list(nn.BCEWithLogitsLoss(pos_weight=POS_WEIGHT).state_dict()) == ["pos_weight"]
    assert loss.to(np.float32).weight.dtype == np.float32
    assert nn.CrossEntropyLoss().weight is None and nn.CrossEntropyLoss().ignore_index == -100
    assert repr(nn.MSELoss()) == "MSELoss()"
    assert repr(nn.L1Loss(reduction="sum")) == "L1Loss(reduction='sum')"
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=-0.1)


def test_module_in_a_training_step():
    tl.manual_seed(0)
    model = nn.Linear(3, 1)
    x = tl.Tensor(np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32))
    y = (x.data.sum(axis=1, keepdims=True) > 0).astype(np.float32)
    loss = nn.BCEWithLogitsLoss()(model(x), y)
    loss.backward()
    assert model.weight.grad.shape == (1, 3) and np.all(np.isfinite(model.weight.grad))
