"""conv2d's dilation / groups / padding="same"|"valid" / unbatched inputs, and the pools'
ceil_mode / count_include_pad / divisor_override / unbatched inputs: values and gradients
against torch in float64 (hypothesis over the options), gradcheck, and the modules."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F

TOL = dict(rtol=1e-9, atol=1e-10)
CASES = settings(max_examples=25, deadline=None)


def _pair(draw, lo, hi):
    a = draw(st.integers(lo, hi))
    return a if draw(st.booleans()) else (a, draw(st.integers(lo, hi)))


def _hw(v):
    return (v, v) if isinstance(v, int) else v


@st.composite
def conv_options(draw):
    groups = draw(st.sampled_from([1, 2, 3]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k = _pair(draw, 1, 3)
    dilation = _pair(draw, 1, 3)
    padding = draw(st.sampled_from(["same", "valid", "int"]))
    stride = 1 if padding == "same" else _pair(draw, 1, 2)
    if padding == "int":
        padding = _pair(draw, 0, 2)
    unbatched = draw(st.booleans())
    n = draw(st.integers(1, 2))
    h, w = draw(st.integers(4, 8)), draw(st.integers(4, 8))
    kh, kw = _hw(k)
    dh, dw = _hw(dilation)
    ph, pw = (0, 0) if isinstance(padding, str) else _hw(padding)
    assume(h + 2 * ph >= dh * (kh - 1) + 1 and w + 2 * pw >= dw * (kw - 1) + 1)
    bias = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((cin, h, w) if unbatched else (n, cin, h, w))
    weight = rng.standard_normal((cout, cin // groups, kh, kw))
    b = rng.standard_normal(cout) if bias else None
    return x, weight, b, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


def _run_both(torch, fn_ours, fn_theirs, arrays, seed=0):
    """Values and gradients of sum(y * u), u a fixed random upstream gradient."""
    ours = [None if a is None else tl.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [None if a is None else torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = fn_ours(*ours), fn_theirs(*theirs)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **TOL)
    u = np.random.default_rng(seed).standard_normal(y.shape)
    (y * tl.Tensor(u)).sum().backward()
    (ty * torch.tensor(u)).sum().backward()
    for a, t in zip(ours, theirs):
        if a is not None:
            np.testing.assert_allclose(a.grad.data, t.grad.numpy(), **TOL)


@CASES
@given(conv_options())
def test_conv2d_options_match_torch(case):
    torch = pytest.importorskip("torch")
    x, w, b, opts = case
    _run_both(
        torch,
        lambda x_, w_, b_: F.conv2d(x_, w_, b_, **opts),
        lambda x_, w_, b_: torch.nn.functional.conv2d(x_, w_, b_, **opts),
        [x, w, b],
    )


@st.composite
def pool_options(draw):
    k = _pair(draw, 1, 3)
    kh, kw = _hw(k)
    stride = draw(st.one_of(st.none(), st.just(1), st.just(2), st.just((1, 2)), st.just(3)))
    padding = (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2)))
    ceil_mode = draw(st.booleans())
    unbatched = draw(st.booleans())
    h, w = draw(st.integers(3, 8)), draw(st.integers(3, 8))
    seed = draw(st.integers(0, 2**16))
    x = np.random.default_rng(seed).standard_normal((2, h, w) if unbatched else (2, 2, h, w))
    return x, dict(kernel_size=k, stride=stride, padding=padding, ceil_mode=ceil_mode)


@CASES
@given(pool_options())
def test_max_pool2d_options_match_torch(case):
    torch = pytest.importorskip("torch")
    x, opts = case
    _run_both(
        torch,
        lambda a: F.max_pool2d(a, **opts),
        lambda a: torch.nn.functional.max_pool2d(a, **opts),
        [x],
    )


@CASES
@given(pool_options(), st.booleans(), st.sampled_from([None, 1, 5]))
def test_avg_pool2d_options_match_torch(case, count_include_pad, divisor_override):
    torch = pytest.importorskip("torch")
    x, opts = case
    opts = dict(opts, count_include_pad=count_include_pad, divisor_override=divisor_override)
    _run_both(
        torch,
        lambda a: F.avg_pool2d(a, **opts),
        lambda a: torch.nn.functional.avg_pool2d(a, **opts),
        [x],
    )


def test_modules_match_torch_with_the_same_weights():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 9, 9))
    cases = [
        (dict(in_channels=4, out_channels=6, kernel_size=3, padding="same", dilation=2, groups=2)),
        (dict(in_channels=4, out_channels=4, kernel_size=(2, 3), padding="valid", groups=4)),
        (dict(in_channels=4, out_channels=2, kernel_size=3, stride=2, padding=1, dilation=(1, 2))),
    ]
    for kwargs in cases:
        ours = nn.Conv2d(**kwargs, dtype=np.float64)
        theirs = torch.nn.Conv2d(**kwargs, dtype=torch.float64)
        assert tuple(ours.weight.shape) == tuple(theirs.weight.shape)
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(ours.weight.data))
            theirs.bias.copy_(torch.tensor(ours.bias.data))
        for inp in (x, x[0]):  # batched and unbatched
            y = ours(tl.tensor(inp))
            ty = theirs(torch.tensor(inp))
            np.testing.assert_allclose(y.data, ty.detach().numpy(), **TOL)
        # PyTorch's init bound uses fan_in = in_channels / groups * kh * kw
        fan_in = kwargs["in_channels"] // kwargs.get("groups", 1) * np.prod(ours.kernel_size)
        assert np.abs(ours.bias.data).max() <= 1 / np.sqrt(fan_in)
    pools = [
        (nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
        (
            nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
            torch.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
        ),
        (nn.AvgPool2d(2, divisor_override=3), torch.nn.AvgPool2d(2, divisor_override=3)),
    ]
    for ours, theirs in pools:
        for inp in (x, x[0]):
            np.testing.assert_allclose(
                ours(tl.tensor(inp)).data, theirs(torch.tensor(inp)).numpy(), **TOL
            )


def test_gradcheck_of_the_options():
    rng = np.random.default_rng(1)
    x = tl.Tensor(rng.standard_normal((1, 4, 6, 6)), requires_grad=True)
    w = tl.Tensor(rng.standard_normal((4, 2, 2, 3)), requires_grad=True)
    assert tl.gradcheck(lambda a, b: F.conv2d(a, b, padding="same", dilation=2, groups=2), x, w)
    assert tl.gradcheck(lambda a: F.max_pool2d(a, 3, 2, 1, ceil_mode=True), x)
    assert tl.gradcheck(
        lambda a: F.avg_pool2d(a, 3, 2, 1, ceil_mode=True, count_include_pad=False), x
    )
    assert tl.gradgradcheck(lambda a, b: F.conv2d(a[0], b, dilation=(2, 1), groups=2), x, w)
    assert tl.gradgradcheck(lambda a: F.avg_pool2d(a, 3, 2, 1, True, False), x)


def test_errors_are_torchs():
    torch = pytest.importorskip("torch")
    x, w = np.zeros((1, 4, 5, 5)), np.zeros((2, 2, 3, 3))
    bad = [
        dict(padding="same", stride=2),
        dict(padding="full"),
    ]
    for kwargs in bad:  # RuntimeError from F.conv2d, ValueError from nn.Conv2d, as in torch
        with pytest.raises(RuntimeError):
            torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), groups=2, **kwargs)
        with pytest.raises(RuntimeError):
            F.conv2d(tl.tensor(x), tl.tensor(w), groups=2, **kwargs)
    with pytest.raises(RuntimeError):
        torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), groups=3)
    with pytest.raises(RuntimeError):
        F.conv2d(tl.tensor(x), tl.tensor(w), groups=3)
    for kwargs in (dict(groups=3), dict(padding="same", stride=2), dict(padding="full")):
        with pytest.raises(ValueError):
            torch.nn.Conv2d(4, 4, 3, **kwargs)
        with pytest.raises(ValueError):
            nn.Conv2d(4, 4, 3, **kwargs)
    assert repr(nn.Conv2d(4, 4, 3, padding="same", dilation=2, groups=2)) == (
        "Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding='same', dilation=(2, 2), "
        "groups=2)"
    )
