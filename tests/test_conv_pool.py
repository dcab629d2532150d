"""Conv2d, MaxPool2d, AvgPool2d: gradients vs central differences, forward vs a direct loop
definition, error messages for impossible shapes, and (if torch is installed) vs PyTorch."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F
from tinygrad_lite.tools.testing import arrays, check_gradient, separated_arrays

FAST = settings(max_examples=25, deadline=None)


# ---- strategies -----------------------------------------------------------------------------
@st.composite
def conv_cases(draw):
    """(x, w, b, stride, padding) with random N, C, O, H, W, kernel, stride, padding that fit."""
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h = draw(st.integers(max(1, kh - 2 * ph), 6))
    w = draw(st.integers(max(1, kw - 2 * pw), 6))
    x = draw(arrays((n, c, h, w)))
    weight = draw(arrays((o, c, kh, kw)))
    bias = draw(arrays((o,)))
    return x, weight, bias, (sh, sw), (ph, pw)


@st.composite
def pool_cases(draw, distinct=False):
    """(x, kernel, stride, padding) with padding <= kernel / 2 and a kernel that fits."""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h = draw(st.integers(max(1, kh - 2 * ph), 6))
    w = draw(st.integers(max(1, kw - 2 * pw), 6))
    shape = (n, c, h, w)
    # max pooling: distinct values keep the argmax away from ties (a kink)
    x = draw(separated_arrays(shape) if distinct else arrays(shape))
    return x, (kh, kw), (sh, sw), (ph, pw)


def conv_reference(x, w, b, stride, padding):
    """The definition, one output pixel at a time."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    oh = (h + 2 * padding[0] - kh) // stride[0] + 1
    ow = (wd + 2 * padding[1] - kw) // stride[1] + 1
    y = np.zeros((n, o, oh, ow))
    for p in range(oh):
        for q in range(ow):
            patch = xp[:, :, p * stride[0] : p * stride[0] + kh, q * stride[1] : q * stride[1] + kw]
            y[:, :, p, q] = np.einsum("ncij,ocij->no", patch, w) + b
    return y


def pool_reference(x, kernel, stride, padding, reduce, pad_value):
    n, c, h, w = x.shape
    xp = np.pad(
        x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2), constant_values=pad_value
    )
    oh = (h + 2 * padding[0] - kernel[0]) // stride[0] + 1
    ow = (w + 2 * padding[1] - kernel[1]) // stride[1] + 1
    y = np.zeros((n, c, oh, ow))
    for p in range(oh):
        for q in range(ow):
            patch = xp[:, :, p * stride[0] : p * stride[0] + kernel[0],
                       q * stride[1] : q * stride[1] + kernel[1]]
            y[:, :, p, q] = reduce(patch, axis=(2, 3))
    return y


# ---- convolution ------------------------------------------------------------------------------
@FAST
@given(conv_cases())
def test_conv2d_forward_matches_definition(case):
    x, w, b, stride, padding = case
    y = F.conv2d(tl.Tensor(x), tl.Tensor(w), tl.Tensor(b), stride, padding)
    np.testing.assert_allclose(y.data, conv_reference(x, w, b, stride, padding), atol=1e-12)


@FAST
@given(conv_cases())
def test_conv2d_gradient(case):
    x, w, b, stride, padding = case
    assert check_gradient(lambda x_, w_, b_: F.conv2d(x_, w_, b_, stride, padding), x, w, b)


@FAST
@given(conv_cases())
def test_conv2d_gradient_without_bias(case):
    x, w, _, stride, padding = case
    assert check_gradient(lambda x_, w_: F.conv2d(x_, w_, None, stride, padding), x, w)


def test_conv2d_input_without_grad_gets_none_and_weight_still_learns():
    x = tl.Tensor(np.ones((1, 1, 3, 3)))
    w = tl.Tensor(np.ones((2, 1, 2, 2)), requires_grad=True)
    F.conv2d(x, w).sum().backward()
    assert x.grad is None
    np.testing.assert_array_equal(w.grad, np.full((2, 1, 2, 2), 4.0))


def test_conv2d_layer_shapes_init_dtype_repr():
    tl.manual_seed(0)
    conv = nn.Conv2d(3, 8, kernel_size=3, stride=2, padding=1)
    assert conv.weight.shape == (8, 3, 3, 3) and conv.bias.shape == (8,)
    bound = 1 / math.sqrt(3 * 3 * 3)  # PyTorch: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in))
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.bias.data).max() <= bound
    assert np.abs(conv.weight.data).max() > 0.8 * bound
    y = conv(tl.randn(2, 3, 7, 5))
    assert y.shape == (2, 8, 4, 3) and y.dtype == np.float32
    assert repr(conv) == "Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"
    assert len(list(nn.Conv2d(1, 2, (1, 2), bias=False).parameters())) == 1


# ---- pooling ----------------------------------------------------------------------------------
@FAST
@given(pool_cases())
def test_max_pool2d_forward_matches_definition(case):
    x, kernel, stride, padding = case
    y = F.max_pool2d(tl.Tensor(x), kernel, stride, padding)
    np.testing.assert_array_equal(
        y.data, pool_reference(x, kernel, stride, padding, np.max, -np.inf)
    )


@FAST
@given(pool_cases(distinct=True))
def test_max_pool2d_gradient(case):
    x, kernel, stride, padding = case
    assert check_gradient(lambda t: F.max_pool2d(t, kernel, stride, padding), x)


@FAST
@given(pool_cases())
def test_avg_pool2d_forward_matches_definition(case):
    x, kernel, stride, padding = case
    y = F.avg_pool2d(tl.Tensor(x), kernel, stride, padding)
    np.testing.assert_allclose(
        y.data, pool_reference(x, kernel, stride, padding, np.mean, 0.0), atol=1e-12
    )


@FAST
@given(pool_cases())
def test_avg_pool2d_gradient(case):
    x, kernel, stride, padding = case
    assert check_gradient(lambda t: F.avg_pool2d(t, kernel, stride, padding), x)


def test_max_pool_routes_gradient_to_the_first_maximum_and_adds_overlaps():
    x = tl.Tensor(np.array([[[[1.0, 5.0, 5.0], [0.0, 2.0, 1.0]]]]), requires_grad=True)
    y = F.max_pool2d(x, kernel_size=2, stride=1)  # windows overlap at column 1
    np.testing.assert_array_equal(y.data, [[[[5.0, 5.0]]]])
    y.backward(np.array([[[[1.0, 10.0]]]]))
    # the first window's tie-free max is x[0,1]; the second window ties 5 = 5: first one wins
    np.testing.assert_array_equal(x.grad, [[[[0.0, 11.0, 0.0], [0.0, 0.0, 0.0]]]])


def test_pool_layers_default_stride_is_kernel_size():
    x = tl.Tensor(np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4))
    y = nn.MaxPool2d(2)(x)
    assert y.shape == (1, 2, 2, 2)
    np.testing.assert_array_equal(y.data[0, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(nn.AvgPool2d(2)(x).data[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    assert nn.AvgPool2d(3, stride=1).stride == (1, 1)
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=(2, 2), stride=(2, 2))"


# ---- error messages ---------------------------------------------------------------------------
def test_conv_kernel_larger_than_padded_input_names_layer_and_shapes():
    conv = nn.Conv2d(1, 2, kernel_size=5, padding=1)
    with pytest.raises(ValueError) as info:
        conv(tl.zeros(2, 1, 2, 3))
    msg = str(info.value)
    assert "Conv2d(1, 2, kernel_size=(5, 5)" in msg and "(5, 5)" in msg and "(4, 5)" in msg
    assert "(2, 1, 2, 3)" in msg
    with pytest.raises(tl.ShapeError, match=r"Conv2d: kernel \(3, 3\) is larger than the padded"):
        F.conv2d(tl.zeros(1, 1, 2, 2), tl.zeros(1, 1, 3, 3))


def test_conv_channel_mismatch_names_layer_and_shapes():
    conv = nn.Conv2d(3, 4, kernel_size=3)
    with pytest.raises(tl.ShapeError, match=r"Conv2d\(3, 4.*\(N, 3, H, W\).*\(2, 1, 8, 8\)"):
        conv(tl.zeros(2, 1, 8, 8))
    with pytest.raises(tl.ShapeError, match=r"Conv2d: input has 1 channels but weight"):
        F.conv2d(tl.zeros(2, 1, 8, 8), tl.zeros(4, 3, 3, 3))
    with pytest.raises(tl.ShapeError, match=r"bias must have shape \(4,\)"):
        F.conv2d(tl.zeros(2, 3, 8, 8), tl.zeros(4, 3, 3, 3), tl.zeros(5))


def test_wrong_ndim_names_layer_and_shape():
    with pytest.raises(tl.ShapeError, match=r"Conv2d\(1, 1.*got \(8, 8\)"):
        nn.Conv2d(1, 1, 3)(tl.zeros(8, 8))
    # (1, 8, 8) is an unbatched image, as in PyTorch; a 2-D input is refused
    with pytest.raises(tl.ShapeError, match=r"MaxPool2d\(kernel_size=\(2, 2\).*\(8, 8\)"):
        nn.MaxPool2d(2)(tl.zeros(8, 8))
    with pytest.raises(tl.ShapeError, match=r"AvgPool2d: expected a 4-D input.*\(8,\)"):
        F.avg_pool2d(tl.zeros(8), 2)


def test_pool_kernel_too_large_and_bad_arguments():
    with pytest.raises(tl.ShapeError, match=r"MaxPool2d.*kernel \(3, 3\) is larger.*\(2, 2\)"):
        nn.MaxPool2d(3)(tl.zeros(1, 1, 2, 2))
    with pytest.raises(tl.ShapeError, match=r"padding \(2, 2\) must be at most half"):
        F.max_pool2d(tl.zeros(1, 1, 8, 8), 2, padding=2)
    with pytest.raises(TypeError, match="kernel_size must be an int or a pair"):
        nn.AvgPool2d((2, 2, 2))
    with pytest.raises(ValueError, match="stride must be >= 1"):
        nn.Conv2d(1, 1, 3, stride=0)


# ---- PyTorch cross-check (optional) -----------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(conv_cases(), st.integers(0, 2**31 - 1))
def test_conv_and_pools_match_torch(case, seed):
    torch = pytest.importorskip("torch")
    x, w, b, stride, padding = case
    g = np.random.default_rng(seed)
    ours = [tl.Tensor(a, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    y = F.conv2d(*ours, stride, padding)
    yt = torch.nn.functional.conv2d(*theirs, stride=stride, padding=padding)
    up = g.standard_normal(y.shape)
    y.backward(up)
    yt.backward(torch.tensor(up))
    np.testing.assert_allclose(y.data, yt.detach().numpy(), atol=1e-10)
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, t.grad.numpy(), atol=1e-10)
    kernel = (min(x.shape[2], 2), min(x.shape[3], 3))
    for ours_fn, torch_fn in (
        (F.max_pool2d, torch.nn.functional.max_pool2d),
        (F.avg_pool2d, torch.nn.functional.avg_pool2d),
    ):
        xa, xt = tl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, yt = ours_fn(xa, kernel, stride), torch_fn(xt, kernel, stride)
        up = g.standard_normal(y.shape)
        y.backward(up)
        yt.backward(torch.tensor(up))
        np.testing.assert_allclose(y.data, yt.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(xa.grad, xt.grad.numpy(), atol=1e-12)
