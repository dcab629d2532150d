"""Adversarial sweep against PyTorch 2.13 semantics: what a PyTorch user would write, compared
with torch itself. Each test either once found a divergence (silent wrong results first) and
now locks in the fix, or locks in a stricter rule that README's "Differences from PyTorch"
documents.
"""

import threading
import warnings

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F

try:
    import torch
except ImportError:  # without the parity extra the comparisons with PyTorch skip, the rest runs
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="needs PyTorch (the parity extra)")
TF = torch.nn.functional if torch is not None else None


def _np(t):
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return t.data if isinstance(t, tl.Tensor) else np.asarray(t)


def _tdtype(t):
    """A torch tensor's dtype as a numpy dtype."""
    return np.dtype(str(t.dtype).replace("torch.", ""))


# =============================================================================================
# SILENT WRONG RESULTS (known bugs: xfail strict)
# =============================================================================================


# ---- `t[idx] = saved` is skipped when `saved` came from `t[idx]` with the same index object ----
# `t[idx] = saved` where `saved = t[idx]` was taken earlier must write (it once was mistaken
# for the tail of `t[i] += v` and skipped). Values and gradients match PyTorch (`saved` was
# computed from y before y.mul_(0) changed it; no op saved y itself, so nothing is stale).

@needs_torch
@pytest.mark.parametrize("kind", ["list", "mask", "tensor"])
def test_setitem_restores_a_saved_selection(kind):
    values, grads = [], []
    for lib in (tl, torch):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 1
        idx = {"list": [0, 1], "mask": y > 1.5, "tensor": lib.tensor([2, 0])}[kind]
        saved = y[idx]  # a copy (advanced indexing)
        y.mul_(0)
        y[idx] = saved  # restore
        values.append(_np(y).copy())
        y.sum().backward()
        grads.append(_np(x.grad).copy())
    np.testing.assert_array_equal(values[0], values[1])
    np.testing.assert_array_equal(grads[0], grads[1])



def test_setitem_restores_a_saved_selection_no_grad_update():
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    idx = [0, 1]
    saved = y[idx]
    with tl.no_grad():
        y.add_(10)
    y[idx] = saved
    np.testing.assert_array_equal(y.data, [1.0, 2.0, 13.0])  # torch: [1, 2, 13]


# ---- fill_ / zero_ / copy_ compute `t * 0 + v`: inf and nan in the old values leak through ----

@pytest.mark.parametrize(
    "op, expected",
    [
        (lambda t: t.fill_(2.0), [2.0, 2.0, 2.0]),
        (lambda t: t.zero_(), [0.0, 0.0, 0.0]),
        (lambda t: t.copy_(tl.tensor([4.0, 5.0, 6.0])), [4.0, 5.0, 6.0]),
    ],
)
def test_fill_zero_copy_overwrite_inf_and_nan(op, expected):
    t = tl.tensor([np.inf, np.nan, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        op(t)
    np.testing.assert_array_equal(t.data, expected)



@needs_torch
def test_fill_while_recording_overwrites_inf():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = x / tl.tensor([0.0, 1.0])  # [inf, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y.fill_(3.0)
        y.sum().backward()
        xt = torch.tensor([1.0, 2.0], requires_grad=True)
        yt = xt / torch.tensor([0.0, 1.0])
        yt.fill_(3.0)
        yt.sum().backward()
    np.testing.assert_array_equal(y.data, [3.0, 3.0])
    np.testing.assert_array_equal(x.grad, xt.grad.numpy())  # [nan, 0]: 0 / 0 in Div, as torch


# ---- .grad arrays that alias each other -----------------------------------------------------
# (Failed before the engine rewrite 0a309af: SetItem's value gradient grad[index] is a view of
# the incoming gradient, which a retain_grad() output adopted as its .grad, so a second
# backward added twice. Fixed there; locked in.)
@needs_torch
def test_setitem_value_grad_does_not_alias_retained_grad():
    res = []
    for lib in (tl, torch):
        x = lib.zeros(4)
        v = lib.tensor([1.0, 2.0], requires_grad=True)
        x[1:3] = v
        x.retain_grad()
        y = (x * lib.tensor([1.0, 2.0, 3.0, 4.0])).sum()
        y.backward(retain_graph=True)
        y.backward()
        res.append((_np(x.grad).copy(), _np(v.grad).copy()))
    np.testing.assert_array_equal(res[0][0], res[1][0])  # torch: [2, 4, 6, 8]
    np.testing.assert_array_equal(res[0][1], res[1][1])  # torch: [4, 6]


# ---- grad mode ------------------------------------------------------------------------------

def test_set_grad_enabled_decorator_leaves_mode_alone_until_called():
    try:
        @tl.set_grad_enabled(False)
        def f():
            return tl.is_grad_enabled()

        assert tl.is_grad_enabled()  # torch: True (decorating does not switch the mode)
        assert f() is False
        assert tl.is_grad_enabled()
    finally:
        tl.set_grad_enabled(True)



def test_no_grad_decorated_generator_body_runs_without_grad():
    @tl.no_grad()
    def gen():
        yield tl.is_grad_enabled()
        yield tl.is_grad_enabled()

    it = gen()
    assert next(it) is False  # torch: False inside, True between yields, False again
    assert tl.is_grad_enabled()
    assert next(it) is False


# ---- gradients ------------------------------------------------------------------------------

def test_pow_zero_exponent_gradient_at_zero():
    x = tl.tensor([0.0, 2.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])  # torch: [0, 0]



@needs_torch
def test_cross_entropy_all_targets_ignored_gives_zero_grad():
    logits = np.random.default_rng(0).standard_normal((3, 4))
    x = tl.tensor(logits, requires_grad=True)
    xt = torch.tensor(logits, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        F.cross_entropy(x, np.full(3, -100)).backward()
    TF.cross_entropy(xt, torch.full((3,), -100)).backward()
    np.testing.assert_array_equal(x.grad, xt.grad.numpy())  # torch: zeros (loss is nan)



@needs_torch
def test_max_with_nan_gradient_goes_to_the_nan():
    data = np.array([1.0, np.nan, 3.0])
    x = tl.tensor(data, requires_grad=True)
    xt = torch.tensor(data, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x.max().backward()
    xt.max().backward()
    np.testing.assert_array_equal(x.grad, xt.grad.numpy())  # torch: [0, 1, 0]



@needs_torch
@pytest.mark.parametrize("op", ["sum", "mean", "amax"])
def test_reduction_over_empty_dim_list_reduces_everything(op):
    x = tl.tensor(np.arange(6.0).reshape(2, 3))
    xt = torch.tensor(np.arange(6.0).reshape(2, 3))
    got = getattr(x, op)(dim=())
    want = getattr(xt, op)(dim=())
    assert got.shape == tuple(want.shape)
    np.testing.assert_allclose(got.data, want.numpy())


# ---- dtype promotion (values right, dtype silently float64 / int64) ---------------------------
_PROMOTION = {
    "int64 * 2.5": lambda m: m.tensor([1, 2]) * 2.5,
    "int32 + 2": lambda m: m.tensor(np.array([1, 2], np.int32)) + 2,
    "float32 + 0-d float64": lambda m: m.tensor([1.0, 2.0]) + m.tensor(np.float64(1.0)),
    "int64 + float32": lambda m: m.tensor([1, 2]) + m.tensor([1.0, 2.0]),
    "int64 / int64": lambda m: m.tensor([1, 2]) / m.tensor([2, 2]),
    "int64 / 2": lambda m: m.tensor([1, 2]) / 2,
    "int64 ** 2": lambda m: m.tensor([1, 2]) ** 2,
}



@needs_torch
@pytest.mark.parametrize("case", sorted(_PROMOTION))
def test_dtype_promotion_matches_torch(case):
    got, want = _PROMOTION[case](tl), _PROMOTION[case](torch)
    assert got.dtype == _tdtype(want)
    np.testing.assert_allclose(got.data, want.numpy())



def test_int_input_times_float_parameter_stays_float32():
    w = tl.tensor([0.5, 0.5], requires_grad=True)
    y = (tl.tensor([1, 2]) * w).sum()
    assert y.dtype == np.float32  # torch: float32



@needs_torch
def test_tensor_of_numpy_float64_scalars_is_float64():
    assert tl.tensor([np.float64(1.0)]).dtype == _tdtype(torch.tensor([np.float64(1.0)]))



@needs_torch
def test_mse_loss_promotes_like_torch():
    a = np.array([1.0, 2.0], np.float32)
    b = np.array([0.5, 0.25])
    got = F.mse_loss(tl.tensor(a), tl.tensor(b))
    want = TF.mse_loss(torch.tensor(a), torch.tensor(b))
    assert got.dtype == _tdtype(want)  # torch: float64


# ---- views that are secretly copies ---------------------------------------------------------

def test_view_of_non_contiguous_raises():
    x = tl.tensor([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(RuntimeError):
        x.t().view(4)  # torch: RuntimeError; here a copy, so writes through it are lost


# =============================================================================================
# CRASHES AND MISSING ERRORS (known bugs: xfail strict)
# =============================================================================================



def test_dot_product_backward():
    a = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = tl.tensor([4.0, 5.0, 6.0], requires_grad=True)
    (a @ b).backward()
    np.testing.assert_array_equal(a.grad, [4.0, 5.0, 6.0])
    np.testing.assert_array_equal(b.grad, [1.0, 2.0, 3.0])



def test_requires_grad_false_on_non_leaf_raises():
    x = tl.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        (x * 2).requires_grad_(False)



def test_linear_dtype_mismatch_raises():
    with pytest.raises(RuntimeError):
        tl.nn.Linear(2, 2)(tl.tensor(np.ones((1, 2))))  # torch: dtype mismatch error



def test_bare_no_grad_decorator():
    @tl.no_grad
    def f():
        return tl.is_grad_enabled()

    assert f() is False


# ---- spurious errors where torch works (conservative, but a PyTorch user hits them) ---------

def test_second_backward_through_graph_without_saved_tensors():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = (x + 1).sum()
    y.backward()
    y.backward()  # torch: fine (AddBackward/SumBackward save no tensors)
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])



@needs_torch
def test_inplace_on_input_not_saved_by_consumer():
    """As torch: only saved tensors are version-checked. AddBackward saved nothing, and its
    graph reaches y's node from before y.mul_(3), so the gradient is that of the old y."""
    grads = []
    for lib in (tl, torch):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        z = y + 1
        y.mul_(3)
        z.sum().backward()
        grads.append(_np(x.grad).copy())
    np.testing.assert_array_equal(grads[0], [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(grads[1], [2.0, 2.0, 2.0])



def test_setitem_from_own_element():
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    y[0] = y[1]
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 2.0, 1.0])  # torch



def test_slice_copy_into_constant_buffer():
    a = tl.zeros(3)
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    a[0:2].copy_(x)
    (a * a).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])  # torch


# =============================================================================================
# RIGHT TODAY: locked in
# =============================================================================================


@needs_torch
def test_inplace_on_view_writes_through_and_backprops():
    res = []
    for lib in (tl, torch):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = x * 1
        v = b[0:2]
        v.mul_(2)
        (b * b).sum().backward()
        res.append((_np(b).copy(), _np(x.grad).copy()))
    np.testing.assert_array_equal(res[0][0], res[1][0])
    np.testing.assert_array_equal(res[0][1], res[1][1])


@needs_torch
def test_setitem_chain_matches_torch():
    res = []
    for lib in (tl, torch):
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        b = x * 1
        b[0] += 5
        b[:, 1] *= x[0]
        b.sum().backward()
        res.append((_np(b).copy(), _np(x.grad).copy()))
    np.testing.assert_array_equal(res[0][0], res[1][0])
    np.testing.assert_array_equal(res[0][1], res[1][1])


@needs_torch
def test_fancy_setitem_with_repeated_index_matches_torch():
    res = []
    for lib in (tl, torch):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        v = lib.tensor([5.0, 6.0], requires_grad=True)
        y = x * 1
        y[[0, 0]] = v
        y.sum().backward()
        res.append((_np(y)[1:].copy(), _np(x.grad).copy(), _np(v.grad).copy()))
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)


def test_detach_shares_memory_and_version():
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    d = x.detach()
    d[0] = 10.0
    assert x.data[0] == 10.0 and x._version == 1
    y = x.sigmoid()
    y.detach().zero_()
    with pytest.raises(RuntimeError, match="inplace"):
        y.sum().backward()


def test_leaf_inplace_requires_no_grad():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        x.add_(1)
    with tl.no_grad():
        x.mul_(2)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])


def test_grads_accumulate_in_place_across_backward_calls():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    g = x.grad
    (x * 3).sum().backward()
    assert g is x.grad  # as torch: accumulated into the same buffer
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])


def test_retain_graph_accumulates_and_retained_grads_are_separate():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    y.retain_grad()
    z = (y * y).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])
    np.testing.assert_array_equal(y.grad, [4.0, 8.0])
    assert not np.shares_memory(x.grad, y.grad)
    with pytest.raises(RuntimeError, match="second time"):
        z.backward()


def test_leaf_grads_never_alias():
    a = tl.tensor([1.0, 2.0], requires_grad=True)
    b = tl.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad, b.grad)
    g = np.ones(2, np.float32)
    (a + 0).backward(g)
    a.grad += 1
    np.testing.assert_array_equal(g, [1.0, 1.0])  # the caller's gradient array is untouched


def test_expand_grad_is_writable_and_own():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    x.expand(3, 2).sum().backward()
    x.grad[0] = 99
    np.testing.assert_array_equal(x.grad, [99.0, 3.0])


def test_grad_mode_nesting_and_threads():
    states = []
    with tl.no_grad():
        states.append(tl.is_grad_enabled())
        with tl.enable_grad():
            states.append(tl.is_grad_enabled())
        states.append(tl.is_grad_enabled())
        seen = {}
        t = threading.Thread(target=lambda: seen.setdefault("g", tl.is_grad_enabled()))
        t.start()
        t.join()
    states.append(tl.is_grad_enabled())
    assert states == [False, True, False, True]
    assert seen["g"] is True
    with pytest.raises(ValueError):
        with tl.no_grad():
            raise ValueError
    assert tl.is_grad_enabled()


@needs_torch
@pytest.mark.parametrize(
    "call",
    [
        lambda m, t: t.max(),
        lambda m, t: t.amax(dim=1),
        lambda m, t: t.amin(dim=0),
        lambda m, t: t.max(dim=1)[0],
        lambda m, t: t.min(dim=0, keepdim=True)[0],
        lambda m, t: t.var(dim=1),
        lambda m, t: t.std(dim=0, correction=0),
        lambda m, t: t.softmax(dim=0),
        lambda m, t: t.log_softmax(dim=1),
        lambda m, t: t.clamp(1.0, 3.0),
        lambda m, t: m.maximum(t, t[0]),
        lambda m, t: t.sum(dim=(0, 1)),
        lambda m, t: t.mean(dim=-1, keepdim=True),
    ],
)
def test_reductions_with_ties_match_torch(call):
    data = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 1.0, 2.0], [5.0, 5.0, 5.0, 5.0]])
    w = np.random.default_rng(0).standard_normal(call(torch, torch.tensor(data)).shape)
    x = tl.tensor(data, requires_grad=True)
    xt = torch.tensor(data, requires_grad=True)
    y, yt = call(tl, x), call(torch, xt)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-12)
    (y * tl.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12, atol=1e-15)


@needs_torch
def test_max_dim_indices_match_torch():
    data = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 1.0, 2.0]])
    for dim in (0, 1):
        np.testing.assert_array_equal(
            tl.tensor(data).max(dim=dim)[1].data, torch.tensor(data).max(dim=dim)[1].numpy()
        )
        np.testing.assert_array_equal(
            tl.tensor(data).argmin(dim=dim).data, torch.tensor(data).argmin(dim=dim).numpy()
        )


@needs_torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "kind", ["plain", "weight", "smooth", "ignore", "weight_smooth_ignore", "probs"]
)
def test_cross_entropy_variants_match_torch(kind, reduction):
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((5, 4))
    target = np.array([0, 3, 1, 1, 2])
    if "ignore" in kind:
        target[2] = -100
    if kind == "probs":
        target = rng.dirichlet(np.ones(4), 5)
    weight = rng.random(4) if "weight" in kind else None
    smoothing = 0.2 if "smooth" in kind else 0.0
    x = tl.tensor(logits, requires_grad=True)
    xt = torch.tensor(logits, requires_grad=True)
    y = F.cross_entropy(x, target, weight, label_smoothing=smoothing, reduction=reduction)
    yt = TF.cross_entropy(
        xt, torch.tensor(target), None if weight is None else torch.tensor(weight),
        label_smoothing=smoothing, reduction=reduction,
    )
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10)
    w = rng.standard_normal(y.shape)
    (y * tl.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-14)


_OPTIMIZERS = [
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True)),
    ("Adam", dict(lr=0.1, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.1, weight_decay=0.5)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
]


@needs_torch
@pytest.mark.parametrize("name, options", _OPTIMIZERS)
def test_optimizer_groups_state_dict_round_trip_match_torch(name, options):
    """Two groups with their own lr; a step where one parameter has no grad; the optimizer is
    rebuilt from its state_dict mid-run; the lr is changed by hand. All as torch."""
    rng = np.random.default_rng(2)
    init = [rng.standard_normal(3), rng.standard_normal((2, 2))]
    P = [tl.tensor(a.copy(), requires_grad=True) for a in init]
    Q = [torch.tensor(a.copy(), requires_grad=True) for a in init]

    def make(lib, params):
        cls = getattr(lib.optim, name)
        return cls([dict(params=[params[0]], lr=0.2), dict(params=[params[1]])], **options)

    opt, opt_t = make(tl, P), make(torch, Q)
    for k in range(6):
        opt.zero_grad()
        opt_t.zero_grad()
        used = 1 if k == 2 else 2
        sum(((p * p).sum() * (k + 1) + p.sum() * 0.3) for p in P[:used]).backward()
        sum(((q * q).sum() * (k + 1) + q.sum() * 0.3) for q in Q[:used]).backward()
        if k == 3:
            opt.param_groups[1]["lr"] = opt_t.param_groups[1]["lr"] = 0.05
        opt.step()
        opt_t.step()
        if k == 1:
            state = opt.state_dict()
            P = [tl.tensor(p.data.copy(), requires_grad=True) for p in P]
            opt = make(tl, P)
            opt.load_state_dict(state)
    for p, q in zip(P, Q):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_optimizer_state_dict_is_a_copy():
    p = tl.tensor([1.0, 2.0], requires_grad=True)
    opt = tl.optim.SGD([p], lr=0.1, momentum=0.9)
    (p * p).sum().backward()
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["momentum_buffer"][...] = 123.0
    sd["param_groups"][0]["lr"] = 5.0
    assert not (opt.state[p]["momentum_buffer"] == 123.0).any()
    assert opt.param_groups[0]["lr"] == 0.1


@needs_torch
@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("train", [True, False])
def test_batchnorm_matches_torch(momentum, train):
    rng = np.random.default_rng(3)
    m = tl.nn.BatchNorm2d(3, momentum=momentum, dtype=np.float64)
    mt = torch.nn.BatchNorm2d(3, momentum=momentum, dtype=torch.float64)
    if not train:
        m.eval()
        mt.eval()
    for _ in range(3):
        data = rng.standard_normal((2, 3, 4, 5)) * 3 + 1
        x = tl.tensor(data, requires_grad=True)
        xt = torch.tensor(data, requires_grad=True)
        y, yt = m(x), mt(xt)
        np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
        g = rng.standard_normal(data.shape)
        (y * tl.tensor(g)).sum().backward()
        (yt * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(m.running_var, mt.running_var.numpy(), rtol=1e-12)
    assert int(m.num_batches_tracked) == int(mt.num_batches_tracked)


@needs_torch
def test_module_state_dict_keys_and_values_load_from_torch():
    mt = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    m = tl.nn.Sequential(tl.nn.Linear(3, 4), tl.nn.BatchNorm1d(4), tl.nn.Linear(4, 2))
    assert list(m.state_dict()) == list(mt.state_dict())
    m.load_state_dict(mt.state_dict())
    m.eval()
    mt.eval()
    x = np.random.default_rng(4).standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_allclose(
        m(tl.tensor(x)).data, mt(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )


@needs_torch
@pytest.mark.parametrize(
    "call, shape_b",
    [
        (lambda lib, a, b: a @ b, (4, 2)),
        (lambda lib, a, b: lib.where(a > 0, a, b), (4,)),
        (lambda lib, a, b: lib.cat([a, b], dim=1), (3, 2)),
        (lambda lib, a, b: lib.stack([a, b], -1) if lib is tl else lib.stack([a, b], dim=-1),
         (3, 4)),
        (lambda lib, a, b: a[[0, 0, 2], [1, 1, 3]] * b[:3], (4,)),
        (lambda lib, a, b: a[a > 0].sum() * b, (2,)),
        (lambda lib, a, b: a[..., None, 1:3] * b, (1, 2)),
    ],
)
def test_indexing_and_joining_grads_match_torch(call, shape_b):
    rng = np.random.default_rng(5)
    A, B = rng.standard_normal((3, 4)), rng.standard_normal(shape_b)
    a, b = tl.tensor(A, requires_grad=True), tl.tensor(B, requires_grad=True)
    at, bt = torch.tensor(A, requires_grad=True), torch.tensor(B, requires_grad=True)
    y, yt = call(tl, a, b), call(torch, at, bt)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-12)
    w = rng.standard_normal(y.shape)
    (y * tl.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad, at.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(b.grad, bt.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_inplace_dtype_and_shape_errors_match_torch():
    with pytest.raises(RuntimeError):
        tl.tensor([1, 2]).add_(1.5)
    with pytest.raises(RuntimeError):
        tl.tensor([1.0, 2.0, 3.0]).add_(tl.ones(2, 3))
    t = tl.tensor([1.0, 2.0])
    t.add_(tl.tensor(np.array([1.0, 1.0])))
    assert t.dtype == np.float32
