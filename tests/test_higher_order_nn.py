"""Second (and third) derivatives through conv2d, max/avg pooling, dropout and batch norm,
against PyTorch in float64 to 1e-9.

The pattern: loss = (act(f(inputs)) * r).sum() for a random upstream r; g = d loss / d inputs
with create_graph=True; z = sum_i (g_i * v_i).sum() for random v_i; then dz / d(inputs, r),
computed by both frameworks from the same numbers. With act = tanh every input reaches every
gradient; with act = identity the op's gradient rules (which are linear) are tested alone,
and r is differentiated too: that exercises the gradient of each gradient op for its
upstream gradient (the transposed convolution's conv2d, the scatter's gather, ...).
"""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOL = dict(rtol=1e-9, atol=1e-9)


def _ours(a):
    return tl.Tensor(np.array(a, dtype=np.float64), requires_grad=True)


def _theirs(a):
    return torch.tensor(np.array(a, dtype=np.float64), requires_grad=True)


def _value(g, like):
    """A gradient as an array (None, an unused input, counts as zeros)."""
    if g is None:
        return np.zeros(like.shape)
    return g.detach().numpy() if isinstance(g, torch.Tensor) else np.asarray(g.data)


def _assert_close(ours, theirs, inputs, what):
    for i, (a, b, x) in enumerate(zip(ours, theirs, inputs)):
        np.testing.assert_allclose(
            _value(a, x), _value(b, x), err_msg=f"{what}, input {i}", **TOL
        )


def _double_backward(f, tf, arrays, seed=0, nonlinear=True):
    """Compare first and second derivatives of loss = (act(f(*inputs)) * r).sum()."""
    rng = np.random.default_rng(seed)
    ins, tins = [_ours(a) for a in arrays], [_theirs(a) for a in arrays]
    y, ty = f(*ins), tf(*tins)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **TOL)
    r = rng.standard_normal(y.shape)
    rs, trs = _ours(r), _theirs(r)
    if nonlinear:
        y, ty = y.tanh(), ty.tanh()
    loss, tloss = (y * rs).sum(), (ty * trs).sum()
    g = tl.autograd.grad(loss, ins, create_graph=True)
    tg = torch.autograd.grad(tloss, tins, create_graph=True)
    _assert_close(g, tg, arrays, "first derivative")
    vs = [rng.standard_normal(np.shape(a)) for a in arrays]
    z = sum(((gi * _ours(v).detach()).sum() for gi, v in zip(g, vs)), tl.Tensor(0.0))
    tz = sum((gi * torch.tensor(v)).sum() for gi, v in zip(tg, vs))
    wrt, twrt = ins + [rs], tins + [trs]
    second = tl.autograd.grad(z, wrt, allow_unused=True)
    tsecond = torch.autograd.grad(tz, twrt, allow_unused=True)
    _assert_close(second, tsecond, [*arrays, r], "second derivative")
    return second


# ---- convolution ----------------------------------------------------------------------------
CONV_CASES = [
    # (N, C, H, W), (O, kh, kw), stride, padding, bias
    ((2, 3, 7, 6), (4, 3, 2), (2, 1), (1, 2), True),
    ((1, 2, 5, 5), (3, 3, 3), (1, 1), (0, 0), False),
    ((2, 1, 8, 7), (2, 2, 3), (3, 2), (1, 0), True),  # rows the stride never reaches
    ((3, 2, 4, 4), (2, 1, 1), (1, 1), (0, 0), True),
]


@pytest.mark.parametrize("nonlinear", [True, False])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_double_backward_matches_torch(case, nonlinear):
    x_shape, (o, kh, kw), stride, padding, bias = case
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal((o, x_shape[1], kh, kw)) * 0.5]
    if bias:
        arrays.append(rng.standard_normal(o))
    second = _double_backward(
        lambda *a: F.conv2d(*a, stride=stride, padding=padding),
        lambda *a: TF.conv2d(*a, stride=stride, padding=padding),
        arrays, seed=2, nonlinear=nonlinear,
    )
    if not nonlinear:  # linear in x and w separately: d(dx)/dx is zero, d(dx)/dr is not
        assert second[-1] is not None and np.abs(second[-1].data).max() > 0


def test_conv2d_third_derivative_matches_torch():
    rng = np.random.default_rng(3)
    xa, wa, ba = rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((3, 2, 3, 2)), \
        rng.standard_normal(3)
    r, v = rng.standard_normal((2, 3, 3, 5)), rng.standard_normal((2, 2, 5, 6))
    results = []
    for lib, f, make in ((tl, F.conv2d, _ours), (torch, TF.conv2d, _theirs)):
        x, w, b = make(xa), make(wa), make(ba)
        rr, vv = (tl.Tensor(r), tl.Tensor(v)) if lib is tl else (torch.tensor(r), torch.tensor(v))
        loss = (f(x, w, b, stride=(2, 1), padding=(1, 0)).tanh() * rr).sum()
        (gx,) = lib.autograd.grad(loss, [x], create_graph=True)
        (gw,) = lib.autograd.grad((gx * vv).sum(), [w], create_graph=True)
        third = lib.autograd.grad((gw * gw).sum(), [x, w, b])
        results.append([_value(t, a) for t, a in zip(third, (xa, wa, ba))])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, **TOL)


# ---- pooling --------------------------------------------------------------------------------
POOL_CASES = [
    # (N, C, H, W), kernel, stride, padding
    ((2, 3, 7, 6), 3, 2, 1),  # overlapping windows, padding
    ((2, 2, 6, 6), 2, None, 0),
    ((1, 2, 7, 8), (2, 3), (1, 2), (1, 1)),
]


@pytest.mark.parametrize("nonlinear", [True, False])
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool2d_double_backward_matches_torch(case, nonlinear):
    x_shape, kernel, stride, padding = case
    x = np.random.default_rng(4).standard_normal(x_shape)  # no ties: one argmax per window
    _double_backward(
        lambda a: F.max_pool2d(a, kernel, stride, padding),
        lambda a: TF.max_pool2d(a, kernel, stride, padding),
        [x], seed=5, nonlinear=nonlinear,
    )


@pytest.mark.parametrize("nonlinear", [True, False])
@pytest.mark.parametrize("case", POOL_CASES)
def test_avg_pool2d_double_backward_matches_torch(case, nonlinear):
    x_shape, kernel, stride, padding = case
    x = np.random.default_rng(6).standard_normal(x_shape)
    _double_backward(
        lambda a: F.avg_pool2d(a, kernel, stride, padding),
        lambda a: TF.avg_pool2d(a, kernel, stride, padding),
        [x], seed=7, nonlinear=nonlinear,
    )


# ---- dropout --------------------------------------------------------------------------------
@pytest.mark.parametrize("nonlinear", [True, False])
def test_dropout_double_backward_matches_the_same_mask_in_torch(nonlinear):
    tl.manual_seed(0)
    x = np.random.default_rng(8).standard_normal((4, 5)) + 3.0  # no zeros: the mask is y / x
    y = F.dropout(tl.Tensor(x), p=0.4).data
    scaled_mask = torch.tensor(y / x)
    assert 0 < np.count_nonzero(y) < y.size

    def ours(a):
        tl.manual_seed(0)
        return F.dropout(a, p=0.4)

    _double_backward(ours, lambda a: a * scaled_mask, [x], seed=9, nonlinear=nonlinear)


# ---- batch normalisation --------------------------------------------------------------------
@pytest.mark.parametrize("nonlinear", [True, False])  # train mode is nonlinear in x anyway
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("x_shape", [(4, 3, 3, 2), (6, 4), (3, 2, 5)])
def test_batch_norm_train_double_backward_matches_torch(x_shape, affine, nonlinear):
    rng = np.random.default_rng(10)
    c = x_shape[1]
    arrays = [rng.standard_normal(x_shape) * 2 + 1]
    if affine:
        arrays += [rng.standard_normal(c), rng.standard_normal(c)]
    stats = [np.zeros(c), np.ones(c)]
    tstats = [torch.zeros(c, dtype=torch.float64), torch.ones(c, dtype=torch.float64)]
    _double_backward(
        lambda *a: F.batch_norm(a[0], *stats, *a[1:], training=True, eps=1e-3),
        lambda *a: TF.batch_norm(a[0], *tstats, *a[1:], training=True, eps=1e-3),
        arrays, seed=11, nonlinear=nonlinear,
    )


@pytest.mark.parametrize("nonlinear", [True, False])
def test_batch_norm_eval_double_backward_matches_torch(nonlinear):
    rng = np.random.default_rng(12)
    arrays = [rng.standard_normal((4, 3, 2, 2)), rng.standard_normal(3), rng.standard_normal(3)]
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)
    _double_backward(
        lambda *a: F.batch_norm(a[0], mean.copy(), var.copy(), *a[1:], training=False),
        lambda *a: TF.batch_norm(a[0], torch.tensor(mean), torch.tensor(var), *a[1:],
                                 training=False),
        arrays, seed=13, nonlinear=nonlinear,
    )


# ---- a whole network: a gradient penalty (the gradient's norm, differentiated) ---------------
def test_cnn_gradient_penalty_matches_torch():
    """d/dparams of ||d out / d x||^2 through conv, batch norm, ReLU, max and avg pooling."""
    rng = np.random.default_rng(14)
    xa = rng.standard_normal((3, 2, 8, 8))
    params = [rng.standard_normal((4, 2, 3, 3)) * 0.4, rng.standard_normal(4) * 0.1,
              rng.standard_normal(4) + 1.0, rng.standard_normal(4) * 0.1,
              rng.standard_normal((2, 4, 2, 2)) * 0.4]

    def run(lib, fn, make):
        x, (w1, b1, gamma, beta, w2) = make(xa), [make(p) for p in params]
        c = 4
        if lib is tl:
            stats = [np.zeros(c), np.ones(c)]
        else:
            stats = [torch.zeros(c, dtype=torch.float64), torch.ones(c, dtype=torch.float64)]
        h = fn.conv2d(x, w1, b1, stride=1, padding=1)
        h = fn.batch_norm(h, *stats, gamma, beta, training=True).relu()
        h = fn.max_pool2d(h, 2, 2, 0)
        h = fn.conv2d(h, w2, None, stride=1, padding=0)
        out = (fn.avg_pool2d(h, 3, 1, 1).tanh() ** 2).sum()
        (gx,) = lib.autograd.grad(out, [x], create_graph=True)
        penalty = (gx * gx).sum()
        return [_value(g, p) for g, p in zip(
            lib.autograd.grad(penalty, [w1, b1, gamma, beta, w2, x]), [*params, xa])]

    for ours, theirs in zip(run(tl, F, _ours), run(torch, TF, _theirs)):
        np.testing.assert_allclose(ours, theirs, **TOL)
