"""BatchNorm1d/2d and Dropout: gradients vs central differences, running statistics,
train/eval behaviour, error messages, and (if torch is installed) agreement with PyTorch."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F
from tinygrad_lite.tools.testing import arrays, away_from_zero, check_gradient, positive_arrays

FAST = settings(max_examples=25, deadline=None)


@st.composite
def bn_shapes(draw):
    """(N, C), (N, C, L) or (N, C, H, W) with N >= 2 (training needs > 1 value per channel)."""
    ndim = draw(st.sampled_from([2, 3, 4]))
    return (draw(st.integers(2, 4)), draw(st.integers(1, 3))) + tuple(
        draw(st.integers(1, 3)) for _ in range(ndim - 2)
    )


@st.composite
def bn_cases(draw):
    shape = draw(bn_shapes())
    c = shape[1]
    # values spread out (a batch of near-equal values has var ~ 0: badly conditioned)
    x = draw(arrays(shape)) + np.linspace(-1, 1, int(np.prod(shape))).reshape(shape)
    assume(np.all(x.var(axis=(0,) + tuple(range(2, x.ndim))) > 0.01))
    return x, draw(arrays((c,))), draw(arrays((c,)))


# ---- batch norm: gradients --------------------------------------------------------------------
@FAST
@given(bn_cases())
def test_batch_norm_training_gradient(case):
    x, w, b = case
    assert check_gradient(lambda x_, w_, b_: F.batch_norm(x_, None, None, w_, b_, True), x, w, b)


@FAST
@given(bn_cases())
def test_batch_norm_training_gradient_without_affine(case):
    x, _, _ = case
    assert check_gradient(lambda x_: F.batch_norm(x_, None, None, training=True), x)


@FAST
@given(bn_cases(), st.data())
def test_batch_norm_eval_gradient(case, data):
    x, w, b = case
    c = x.shape[1]
    mean = data.draw(arrays((c,)))
    var = data.draw(positive_arrays((c,)))
    assert check_gradient(
        lambda x_, w_, b_: F.batch_norm(x_, mean, var, w_, b_, training=False), x, w, b
    )


@FAST
@given(bn_cases())
def test_batch_norm_training_normalises_each_channel(case):
    x, _, _ = case
    y = F.batch_norm(tl.Tensor(x), None, None, training=True, eps=0.0).data
    axes = (0,) + tuple(range(2, x.ndim))
    np.testing.assert_allclose(y.mean(axis=axes), 0, atol=1e-9)
    np.testing.assert_allclose(y.var(axis=axes), 1, rtol=1e-9)


# ---- batch norm: layers -----------------------------------------------------------------------
def test_batchnorm2d_running_stats_momentum_and_unbiased_var():
    rng = np.random.default_rng(0)
    bn = nn.BatchNorm2d(3)
    assert [name for name, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [name for name, _ in bn.named_buffers()] == [
        "running_mean", "running_var", "num_batches_tracked",
    ]
    x1 = rng.standard_normal((4, 3, 5, 5)).astype(np.float32) * 2 + 3
    x2 = rng.standard_normal((4, 3, 5, 5)).astype(np.float32) - 1
    bn(tl.Tensor(x1))
    bn(tl.Tensor(x2))
    mean, var = np.zeros(3), np.ones(3)
    for x in (x1, x2):
        mean = 0.9 * mean + 0.1 * x.mean(axis=(0, 2, 3))
        var = 0.9 * var + 0.1 * x.var(axis=(0, 2, 3), ddof=1)  # unbiased, as PyTorch
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var, var, rtol=1e-5)
    assert bn.num_batches_tracked == 2 and bn.running_mean.dtype == np.float32


def test_batchnorm_eval_uses_running_stats_and_does_not_update_them():
    rng = np.random.default_rng(1)
    bn = nn.BatchNorm1d(4)
    bn.weight.data[:] = [1, 2, 3, 4]
    bn.bias.data[:] = [0, 1, 0, -1]
    bn(tl.Tensor(rng.standard_normal((8, 4)).astype(np.float32)))
    state = {k: np.array(v) for k, v in bn.named_buffers()}
    bn.eval()
    x = rng.standard_normal((3, 4)).astype(np.float32)
    y = bn(tl.Tensor(x)).data
    expected = (x - state["running_mean"]) / np.sqrt(state["running_var"] + 1e-5)
    np.testing.assert_allclose(y, expected * [1, 2, 3, 4] + [0, 1, 0, -1], rtol=1e-5, atol=1e-6)
    for k, v in bn.named_buffers():
        np.testing.assert_array_equal(v, state[k])
    # a batch of one is fine in eval mode, but not in training mode (as PyTorch)
    assert bn(tl.Tensor(x[:1])).shape == (1, 4)
    bn.train()
    with pytest.raises(tl.ShapeError, match=r"more than 1 value per channel.*\(1, 4\)"):
        bn(tl.Tensor(x[:1]))


def test_batchnorm_without_running_stats_always_uses_the_batch():
    bn = nn.BatchNorm1d(2, affine=False, track_running_stats=False).eval()
    assert list(bn.parameters()) == [] and list(bn.named_buffers()) == []
    x = np.array([[1.0, 10.0], [3.0, 30.0]])
    np.testing.assert_allclose(bn(tl.Tensor(x)).data, [[-1, -1], [1, 1]], rtol=1e-4)


def test_batchnorm_state_dict_roundtrip_and_to_float64():
    rng = np.random.default_rng(2)
    a, b = nn.BatchNorm2d(2), nn.BatchNorm2d(2)
    a(tl.Tensor(rng.standard_normal((3, 2, 2, 2)).astype(np.float32)))
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(b.running_var, a.running_var)
    assert b.num_batches_tracked == 1
    b.to(np.float64)
    assert b.running_mean.dtype == np.float64 and b.weight.dtype == np.float64


def test_batchnorm_shape_errors_name_layer_and_shapes():
    with pytest.raises(tl.ShapeError, match=r"BatchNorm2d\(3.*\(N, C, H, W\).*C = 3.*\(2, 3, 4\)"):
        nn.BatchNorm2d(3)(tl.zeros(2, 3, 4))
    with pytest.raises(tl.ShapeError, match=r"BatchNorm1d\(3.*C = 3, got \(2, 5\)"):
        nn.BatchNorm1d(3)(tl.zeros(2, 5))
    with pytest.raises(tl.ShapeError, match=r"weight has shape \(2,\), expected \(3,\)"):
        F.batch_norm(tl.zeros(2, 3), None, None, tl.ones(2), training=True)


def test_batchnorm_matches_torch_over_train_and_eval_steps():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    ours, theirs = nn.BatchNorm2d(3).to(np.float64), torch.nn.BatchNorm2d(3).double()
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    ours.weight.data[:], ours.bias.data[:] = w, b
    with torch.no_grad():
        theirs.weight[:], theirs.bias[:] = torch.tensor(w), torch.tensor(b)
    for mode in ("train", "train", "eval", "train", "eval"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        x = rng.standard_normal((4, 3, 3, 2)) * 3 + 1
        up = rng.standard_normal(x.shape)
        xa, xt = tl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, yt = ours(xa), theirs(xt)
        y.backward(up)
        yt.backward(torch.tensor(up))
        np.testing.assert_allclose(y.data, yt.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(xa.grad, xt.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), atol=1e-12)
        ours.zero_grad()
        theirs.zero_grad()


# ---- dropout ----------------------------------------------------------------------------------
def test_dropout_train_zeroes_about_p_and_scales_the_rest():
    tl.manual_seed(0)
    x = np.full((200, 500), 2.0, dtype=np.float32)
    y = nn.Dropout(0.3)(tl.Tensor(x)).data
    kept = y != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    np.testing.assert_allclose(y[kept], 2.0 / 0.7, rtol=1e-6)
    assert abs(y.mean() - 2.0) < 0.02  # inverted dropout keeps the expectation
    assert y.dtype == np.float32


def test_dropout_eval_is_identity_and_p_zero_is_identity():
    x = tl.Tensor(np.arange(6.0), requires_grad=True)
    drop = nn.Dropout(0.5).eval()
    assert drop(x) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout(x, 0.9, training=False) is x
    drop.train()
    assert drop(x) is not x


def test_dropout_p_one_drops_everything():
    x = tl.Tensor(np.ones((3, 3)), requires_grad=True)
    y = F.dropout(x, 1.0)
    np.testing.assert_array_equal(y.data, 0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, 0)


@FAST
@given(arrays(elements=away_from_zero()), st.sampled_from([0.1, 0.5, 0.8]))
def test_dropout_gradient_is_the_same_scaled_mask(x, p):
    xt = tl.Tensor(x, requires_grad=True)
    y = F.dropout(xt, p)
    up = np.random.default_rng(0).standard_normal(x.shape)
    y.backward(up)
    mask = y.data / x  # 0 or 1/(1-p) per element (x is away from 0)
    assert np.all(np.isclose(mask, 0) | np.isclose(mask, 1 / (1 - p)))
    np.testing.assert_allclose(xt.grad, up * mask, rtol=1e-12)


def test_dropout_is_reproducible_under_manual_seed():
    x = tl.ones(4, 8)
    tl.manual_seed(7)
    a = F.dropout(x, 0.5).data
    tl.manual_seed(7)
    b = F.dropout(x, 0.5).data
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, F.dropout(x, 0.5).data)


def test_dropout_bad_p():
    with pytest.raises(ValueError, match=r"Dropout: probability p must be in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="dropout: probability"):
        F.dropout(tl.ones(2), -0.1)
    assert repr(nn.Dropout(0.25)) == "Dropout(p=0.25)"
