"""The rarer options of Embedding and MultiheadAttention against PyTorch in float64: Embedding's
max_norm (rows renormalised in place), norm_type and scale_grad_by_freq; MultiheadAttention's
add_bias_kv and add_zero_attn with every mask; state_dict keys, interop both ways, ONNX."""

from __future__ import annotations

import numpy as np
import pytest
from test_attention import masks, pair

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F

TOL = dict(rtol=1e-9, atol=1e-9)


def torch_or_skip():
    return pytest.importorskip("torch")


# ---- Embedding: max_norm, norm_type, scale_grad_by_freq ---------------------------------------


def embedding_pair(**kw):
    torch = torch_or_skip()
    weight = np.random.default_rng(0).standard_normal((6, 3)) * 2
    ours = nn.Embedding(6, 3, dtype=np.float64, **kw)
    ours.weight.data[...] = weight
    theirs = torch.nn.Embedding(6, 3, dtype=torch.float64, **kw)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(weight))
    return ours, theirs


@pytest.mark.parametrize("kw", [
    dict(max_norm=1.0), dict(max_norm=1.5, norm_type=1.0), dict(max_norm=0.7, norm_type=3.0),
    dict(scale_grad_by_freq=True), dict(scale_grad_by_freq=True, padding_idx=2),
    dict(max_norm=1.0, scale_grad_by_freq=True, padding_idx=0),
])
def test_embedding_options_match_torch(kw):
    torch = torch_or_skip()
    ours, theirs = embedding_pair(**kw)
    idx = np.array([[0, 2, 2, 5], [1, 2, 0, 0]])
    y, ty = ours(tl.tensor(idx)), theirs(torch.from_numpy(idx))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **TOL)
    # the renorm is an in-place change of the weight, as PyTorch's embedding_renorm_
    np.testing.assert_allclose(ours.weight.data, theirs.weight.detach().numpy(), **TOL)
    u = np.random.default_rng(1).standard_normal(y.shape)
    (y * tl.tensor(u)).sum().backward()
    (ty * torch.from_numpy(u)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), **TOL)


def test_embedding_max_norm_bumps_the_version_and_leaves_short_rows_alone():
    e = nn.Embedding(4, 2, max_norm=1.0, dtype=np.float64)
    e.weight.data[...] = [[3.0, 4.0], [0.3, 0.4], [6.0, 8.0], [1.0, 0.0]]
    before = e.weight._version
    e(tl.tensor([0, 1, 0]))
    assert e.weight._version == before + 1
    np.testing.assert_allclose(np.linalg.norm(e.weight.data[0]), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(e.weight.data[1:], [[0.3, 0.4], [6.0, 8.0], [1.0, 0.0]])
    e(tl.tensor([1, 3]))  # no row over the norm: nothing written, no new version
    assert e.weight._version == before + 1


def test_functional_embedding_max_norm_matches_torch():
    torch = torch_or_skip()
    w = np.random.default_rng(2).standard_normal((5, 4)) * 3
    ours, theirs = tl.tensor(w.copy(), requires_grad=True), torch.tensor(w.copy())
    idx = np.array([4, 1, 1])
    y = F.embedding(tl.tensor(idx), ours, max_norm=2.0)
    with torch.no_grad():
        ty = torch.nn.functional.embedding(torch.from_numpy(idx), theirs, max_norm=2.0)
    np.testing.assert_allclose(y.data, ty.numpy(), **TOL)
    np.testing.assert_allclose(ours.data, theirs.numpy(), **TOL)


def test_embedding_scale_grad_by_freq_is_the_gradient_over_the_count():
    """Not the derivative (gradcheck would fail, in PyTorch too): row r's gradient divided
    by how often r is looked up."""
    w = tl.tensor(np.random.default_rng(3).standard_normal((5, 2)), requires_grad=True)
    idx = tl.tensor([[0, 3, 3], [3, 1, 0]])
    F.embedding(idx, w).pow(2).sum().backward()
    plain = w.grad.data.copy()
    w.grad = None
    F.embedding(idx, w, scale_grad_by_freq=True).pow(2).sum().backward()
    counts = np.bincount(idx.data.ravel(), minlength=5)[:, None]
    np.testing.assert_allclose(w.grad.data, plain / np.maximum(counts, 1), **TOL)


def test_embedding_scale_grad_by_freq_second_order_matches_torch():
    """PyTorch's double backward of the embedding looks g up again without the scale."""
    torch = torch_or_skip()
    rng = np.random.default_rng(3)
    w0, u, v = (rng.standard_normal(s) for s in ((5, 2), (2, 3, 2), (5, 2)))
    idx = np.array([[0, 3, 3], [3, 1, 0]])
    w = tl.tensor(w0, requires_grad=True)
    y = F.embedding(tl.tensor(idx), w, scale_grad_by_freq=True) ** 2
    (g,) = tl.autograd.grad((y * tl.tensor(u)).sum(), [w], create_graph=True)
    (g * tl.tensor(v)).sum().backward()
    tw = torch.tensor(w0, requires_grad=True)
    ty = torch.nn.functional.embedding(torch.from_numpy(idx), tw, scale_grad_by_freq=True) ** 2
    (tg,) = torch.autograd.grad((ty * torch.from_numpy(u)).sum(), [tw], create_graph=True)
    (tg * torch.from_numpy(v)).sum().backward()
    np.testing.assert_allclose(g.data, tg.detach().numpy(), **TOL)
    np.testing.assert_allclose(w.grad.data, tw.grad.numpy(), **TOL)


def test_embedding_sparse_is_a_clear_error():
    with pytest.raises(NotImplementedError, match="sparse"):
        nn.Embedding(5, 2, sparse=True)
    with pytest.raises(NotImplementedError, match="sparse"):
        F.embedding(tl.tensor([0]), tl.tensor(np.ones((2, 2))), sparse=True)


# ---- MultiheadAttention: add_bias_kv, add_zero_attn ------------------------------------------


@pytest.mark.parametrize("extra", [dict(add_bias_kv=True), dict(add_zero_attn=True),
                                   dict(add_bias_kv=True, add_zero_attn=True)])
@pytest.mark.parametrize("kind", ["none", "bool", "float", "kpm", "both"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_extra_keys_match_torch(extra, kind, batch_first):
    torch = torch_or_skip()
    m, t = pair(batch_first=batch_first, **extra)
    assert list(m.state_dict()) == list(t.state_dict())
    rng = np.random.default_rng(4)
    batch, length, source = 3, 4, 5
    seq = (lambda n: (batch, n, 8)) if batch_first else (lambda n: (n, batch, 8))
    q, kv = rng.standard_normal(seq(length)), rng.standard_normal(seq(source))
    attn, kpm = masks(rng, batch, 2, length, source, kind)
    qo, ko = tl.tensor(q, requires_grad=True), tl.tensor(kv, requires_grad=True)
    qt, kt = torch.tensor(q, requires_grad=True), torch.tensor(kv, requires_grad=True)
    out, w = m(qo, ko, ko, key_padding_mask=kpm, attn_mask=attn, average_attn_weights=False)
    tout, tw = t(qt, kt, kt, key_padding_mask=None if kpm is None else torch.from_numpy(kpm),
                 attn_mask=None if attn is None else torch.from_numpy(attn),
                 average_attn_weights=False)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), **TOL)
    np.testing.assert_allclose(w.data, tw.detach().numpy(), **TOL)
    u = np.random.default_rng(5).standard_normal(out.shape)
    (out * tl.tensor(u)).sum().backward()
    (tout * torch.from_numpy(u)).sum().backward()
    np.testing.assert_allclose(qo.grad.data, qt.grad.numpy(), **TOL)
    np.testing.assert_allclose(ko.grad.data, kt.grad.numpy(), **TOL)
    grads = dict(m.named_parameters())
    for name, p in t.named_parameters():
        np.testing.assert_allclose(grads[name].grad.data, p.grad.numpy(), **TOL, err_msg=name)


def test_mha_bias_kv_init_and_unbatched():
    torch = torch_or_skip()
    tl.manual_seed(0)
    m = nn.MultiheadAttention(8, 2, add_bias_kv=True, add_zero_attn=True)
    assert m.bias_k.shape == m.bias_v.shape == (1, 1, 8)
    assert m.bias_k.data.std() > 0  # xavier-normal, not left empty
    mp, t = pair(add_bias_kv=True, add_zero_attn=True)
    x = np.random.default_rng(6).standard_normal((4, 8))
    out, w = mp(tl.tensor(x), tl.tensor(x), tl.tensor(x))
    with torch.no_grad():
        tout, tw = t(*[torch.from_numpy(x)] * 3)
    assert w.shape == (4, 6)  # 4 keys, the learned one and the zero one
    np.testing.assert_allclose(out.data, tout.numpy(), **TOL)
    np.testing.assert_allclose(w.data, tw.numpy(), **TOL)


def test_mha_extra_keys_gradgradcheck():
    tl.manual_seed(0)
    m = nn.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True, dtype=np.float64)
    x = tl.tensor(np.random.default_rng(7).standard_normal((3, 2, 4)), requires_grad=True)
    assert tl.gradcheck(lambda x: m(x, x, x)[0], x)
    assert tl.gradgradcheck(lambda x: m(x, x, x)[0], x)


# ---- interop and ONNX -------------------------------------------------------------------------


def test_interop_carries_the_options_both_ways():
    torch = torch_or_skip()
    e = nn.Embedding(6, 3, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True)
    te = tl.interop.to_torch(e)
    assert (te.max_norm, te.norm_type, te.scale_grad_by_freq) == (1.0, 1.0, True)
    back = tl.interop.from_torch(te)
    assert (back.max_norm, back.norm_type, back.scale_grad_by_freq) == (1.0, 1.0, True)
    mha = nn.MultiheadAttention(8, 2, add_bias_kv=True, add_zero_attn=True)
    tm = tl.interop.to_torch(mha)
    assert tm.bias_k is not None and tm.add_zero_attn
    np.testing.assert_array_equal(tm.bias_v.detach().numpy(), mha.bias_v.data)
    x = np.random.default_rng(8).standard_normal((4, 2, 8)).astype(np.float32)
    out, _ = tl.interop.from_torch(tm)(tl.tensor(x), tl.tensor(x), tl.tensor(x))
    with torch.no_grad():
        tout, _ = tm(*[torch.from_numpy(x)] * 3)
    np.testing.assert_allclose(out.data, tout.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(tl.interop.ConversionError):
        tl.interop.from_torch(torch.nn.Embedding(4, 2, sparse=True))


def test_onnx_embedding_with_max_norm_gives_the_renormed_rows():
    pytest.importorskip("onnx")
    from test_seq_interop import ort_run

    from tinygrad_lite.io import onnx as tl_onnx

    e = nn.Embedding(6, 3, max_norm=1.0)
    e.weight.data[...] *= 3
    idx = np.array([[0, 1, 2, 3], [5, 5, 4, 0]])
    proto = tl_onnx.export(e, idx)
    got = ort_run(proto, idx)
    with tl.no_grad():
        np.testing.assert_allclose(got, e(tl.tensor(idx)).data, rtol=1e-5, atol=1e-6)
    with pytest.raises(tl_onnx.ExportError):
        tl_onnx.export(nn.MultiheadAttention(4, 2, add_bias_kv=True), np.ones((3, 1, 4)))


# ---- einsum's sublist form --------------------------------------------------------------------


def test_einsum_sublist_form_matches_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(9)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5))
    for args in ([[0, 1, 2], [2, 3], [0, 1, 3]], [[0, 1, 2], [2, 3]], [[Ellipsis, 2], [2, 3]],
                 [[Ellipsis, 2], [2, 3], [Ellipsis, 3]]):
        x, y = tl.tensor(a, requires_grad=True), tl.tensor(b, requires_grad=True)
        tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        ours = tl.einsum(x, args[0], y, *args[1:])
        theirs = torch.einsum(tx, args[0], ty, *args[1:])
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), **TOL)
        ours.sum().backward()
        theirs.sum().backward()
        np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), **TOL)
        np.testing.assert_allclose(y.grad.data, ty.grad.numpy(), **TOL)
    with pytest.raises(ValueError, match="52"):
        tl.einsum(tl.tensor(a), [0, 1, 60])
