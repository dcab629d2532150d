"""F.scaled_dot_product_attention and nn.MultiheadAttention against PyTorch in float64 (values
and gradients to 1e-9): masks bool and float, broadcast batch axes, is_causal, scale,
batch_first, key_padding_mask, need_weights / average_attn_weights, kdim/vdim, bias=False,
unbatched input; state_dicts load both ways; gradcheck and gradgradcheck."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F

FAST = settings(max_examples=15, deadline=None)
TOL = dict(rtol=1e-9, atol=1e-9)


def torch_or_skip():
    return pytest.importorskip("torch")


def check_grads(ours: list, theirs: list, y, ty, seed: int = 1) -> None:
    torch = torch_or_skip()
    u = np.random.default_rng(seed).standard_normal(y.shape)
    y.backward(u)
    ty.backward(torch.from_numpy(u))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.data, t.grad.numpy(), **TOL)


@st.composite
def sdpa_cases(draw):
    batch = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    length, source = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    e, ev = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    q = rng.standard_normal(batch + (length, e))
    k = rng.standard_normal(batch + (source, e))
    v = rng.standard_normal(batch + (source, ev))
    kind = draw(st.sampled_from(["none", "bool", "float", "causal"]))
    mask = None
    if kind == "bool":  # broadcast over the batch axes; at least one key per query
        mask = rng.random((length, source)) < 0.6
        mask[:, 0] = True
        if batch and draw(st.booleans()):
            mask = np.broadcast_to(mask, (batch[-1], length, source)).copy()
    elif kind == "float":
        mask = rng.standard_normal((1,) * len(batch) + (length, source))
    scale = draw(st.sampled_from([None, 0.3]))
    return q, k, v, mask, kind == "causal", scale


@FAST
@given(sdpa_cases())
def test_sdpa_matches_torch(case):
    torch = torch_or_skip()
    q, k, v, mask, causal, scale = case
    ours = [tl.Tensor(a, requires_grad=True) for a in (q, k, v)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    tmask = None if mask is None else torch.from_numpy(mask)
    y = F.scaled_dot_product_attention(*ours, attn_mask=mask, is_causal=causal, scale=scale)
    ty = torch.nn.functional.scaled_dot_product_attention(*theirs, attn_mask=tmask,
                                                          is_causal=causal, scale=scale)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **TOL)
    check_grads(ours, theirs, y, ty)


def test_sdpa_fully_masked_row_is_zero_and_mask_tensor():
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((2, 3, 4)) for _ in range(3))
    mask = np.ones((3, 3), bool)
    mask[1] = False
    y = F.scaled_dot_product_attention(tl.Tensor(q), tl.Tensor(k), tl.Tensor(v),
                                       attn_mask=tl.Tensor(mask))
    ty = torch.nn.functional.scaled_dot_product_attention(
        *(torch.from_numpy(a) for a in (q, k, v)), attn_mask=torch.from_numpy(mask))
    np.testing.assert_allclose(y.data, ty.numpy(), **TOL)
    assert np.all(y.data[:, 1] == 0)


def test_sdpa_float_mask_gets_gradient():
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 3, 4)) for _ in range(3)] + [rng.standard_normal((3, 3))]
    ours = [tl.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = F.scaled_dot_product_attention(*ours[:3], attn_mask=ours[3])
    ty = torch.nn.functional.scaled_dot_product_attention(*theirs[:3], attn_mask=theirs[3])
    check_grads(ours, theirs, y, ty)


def test_sdpa_errors():
    q = tl.Tensor(np.zeros((2, 3, 4)))
    with pytest.raises(RuntimeError):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((3, 3), bool), is_causal=True)


def test_sdpa_dropout_keeps_shape_and_p_one_gives_zero():
    q = tl.Tensor(np.random.default_rng(0).standard_normal((2, 3, 4)))
    assert np.all(F.scaled_dot_product_attention(q, q, q, dropout_p=1.0).data == 0)
    assert F.scaled_dot_product_attention(q, q, q, dropout_p=0.5).shape == (2, 3, 4)


def test_sdpa_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(0)
    q, k, v = (tl.Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True) for _ in range(3))
    assert tl.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                        q, k, v)
    assert tl.gradgradcheck(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), q, k, v)


# ---- MultiheadAttention ---------------------------------------------------------------------


def pair(embed=8, heads=2, **kw):
    """A torch MultiheadAttention with random parameters and ours loaded from its state_dict."""
    torch = torch_or_skip()
    torch.manual_seed(0)
    t = torch.nn.MultiheadAttention(embed, heads, dtype=torch.float64, **kw)
    with torch.no_grad():
        for p in t.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    m = nn.MultiheadAttention(embed, heads, dtype=np.float64, **kw)
    m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    return m, t


def masks(rng, batch, heads, length, source, kind):
    attn = kpm = None
    if kind in ("bool", "both"):
        attn = rng.random((length, source)) < 0.3
        attn[:, 0] = False
    if kind == "float":
        attn = rng.standard_normal((batch * heads, length, source))
    if kind in ("kpm", "both"):
        kpm = rng.random((batch, source)) < 0.3
        kpm[:, 0] = False
    return attn, kpm


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kind", ["none", "bool", "float", "kpm", "both"])
@pytest.mark.parametrize("average", [True, False])
@pytest.mark.parametrize("self_attention", [True, False])
def test_mha_matches_torch(batch_first, kind, average, self_attention):
    torch = torch_or_skip()
    m, t = pair(batch_first=batch_first)
    rng = np.random.default_rng(1)
    batch, length, source = 3, 4, 4 if self_attention else 5
    seq = (lambda n: (batch, n, 8)) if batch_first else (lambda n: (n, batch, 8))
    x = rng.standard_normal(seq(length))
    kv = x if self_attention else rng.standard_normal(seq(source))
    attn, kpm = masks(rng, batch, 2, length, source, kind)
    q_ours = tl.Tensor(x, requires_grad=True)
    k_ours = q_ours if self_attention else tl.Tensor(kv, requires_grad=True)
    q_theirs = torch.tensor(x, requires_grad=True)
    k_theirs = q_theirs if self_attention else torch.tensor(kv, requires_grad=True)
    out, w = m(q_ours, k_ours, k_ours, key_padding_mask=kpm, attn_mask=attn,
               average_attn_weights=average)
    tout, tw = t(q_theirs, k_theirs, k_theirs,
                 key_padding_mask=None if kpm is None else torch.from_numpy(kpm),
                 attn_mask=None if attn is None else torch.from_numpy(attn),
                 average_attn_weights=average)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), **TOL)
    np.testing.assert_allclose(w.data, tw.detach().numpy(), **TOL)
    u = np.random.default_rng(2).standard_normal(out.shape)
    uw = np.random.default_rng(3).standard_normal(w.shape)
    ((out * tl.Tensor(u)).sum() + (w * tl.Tensor(uw)).sum()).backward()
    ((tout * torch.from_numpy(u)).sum() + (tw * torch.from_numpy(uw)).sum()).backward()
    np.testing.assert_allclose(q_ours.grad.data, q_theirs.grad.numpy(), **TOL)
    if not self_attention:
        np.testing.assert_allclose(k_ours.grad.data, k_theirs.grad.numpy(), **TOL)
    grads = dict(m.named_parameters())
    for name, p in t.named_parameters():
        np.testing.assert_allclose(grads[name].grad.data, p.grad.numpy(), **TOL, err_msg=name)


@pytest.mark.parametrize("kw", [dict(bias=False), dict(kdim=3, vdim=5)])
def test_mha_options_match_torch(kw):
    torch = torch_or_skip()
    m, t = pair(**kw)
    assert list(m.state_dict()) == list(t.state_dict())
    rng = np.random.default_rng(0)
    q = rng.standard_normal((4, 2, 8))
    k = rng.standard_normal((5, 2, kw.get("kdim", 8)))
    v = rng.standard_normal((5, 2, kw.get("vdim", 8)))
    out, w = m(tl.Tensor(q), tl.Tensor(k), tl.Tensor(v))
    tout, tw = t(*(torch.from_numpy(a) for a in (q, k, v)))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), **TOL)
    np.testing.assert_allclose(w.data, tw.detach().numpy(), **TOL)


def test_mha_unbatched_need_weights_false_and_causal_hint():
    torch = torch_or_skip()
    m, t = pair()
    m.eval()
    t.eval()
    x = np.random.default_rng(0).standard_normal((4, 8))
    causal = np.triu(np.ones((4, 4), bool), 1)
    out, w = m(tl.Tensor(x), tl.Tensor(x), tl.Tensor(x), attn_mask=causal, is_causal=True,
               need_weights=False)
    tx = torch.from_numpy(x)
    with torch.no_grad():
        tout, tw = t(tx, tx, tx, attn_mask=torch.from_numpy(causal), is_causal=True,
                     need_weights=False)
    assert w is None and tw is None and out.shape == (4, 8)
    np.testing.assert_allclose(out.data, tout.numpy(), **TOL)
    out, w = m(tl.Tensor(x), tl.Tensor(x), tl.Tensor(x), attn_mask=causal)
    with torch.no_grad():
        tout, tw = t(tx, tx, tx, attn_mask=torch.from_numpy(causal))
    np.testing.assert_allclose(w.data, tw.numpy(), **TOL)
    with pytest.raises(RuntimeError):
        m(tl.Tensor(x), tl.Tensor(x), tl.Tensor(x), is_causal=True)


def test_mha_init_and_state_dict_round_trip():
    torch = torch_or_skip()
    tl.manual_seed(0)
    m = nn.MultiheadAttention(16, 4)
    assert list(m.state_dict()) == ["in_proj_weight", "in_proj_bias", "out_proj.weight",
                                    "out_proj.bias"]
    assert np.all(m.in_proj_bias.data == 0) and np.all(m.out_proj.bias.data == 0)
    bound = np.sqrt(6 / (16 + 48))  # xavier_uniform over (3 E, E)
    assert np.abs(m.in_proj_weight.data).max() <= bound
    assert np.abs(m.in_proj_weight.data).max() > 0.8 * bound
    t = torch.nn.MultiheadAttention(16, 4)
    t.load_state_dict({k: torch.from_numpy(v) for k, v in m.state_dict().items()})
    with pytest.raises(AssertionError):
        nn.MultiheadAttention(10, 3)


def test_mha_gradcheck_and_gradgradcheck():
    tl.manual_seed(0)
    m = nn.MultiheadAttention(4, 2, dtype=np.float64)
    x = tl.Tensor(np.random.default_rng(0).standard_normal((3, 2, 4)), requires_grad=True)
    mask = np.triu(np.ones((3, 3), bool), 1)
    assert tl.gradcheck(lambda x: m(x, x, x, attn_mask=mask)[0], x)
    assert tl.gradgradcheck(lambda x: m(x, x, x, attn_mask=mask)[0], x)
