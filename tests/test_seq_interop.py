"""Embedding, LayerNorm and MultiheadAttention across the PyTorch bridge (to_torch / from_torch:
same weights, same outputs) and through ONNX export (opset 17) run in ONNX Runtime: Gather,
LayerNormalization, GELU's Erf and Tanh forms, and attention's MatMul / Softmax."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.io import onnx as tl_onnx


def seq_model(dtype=np.float32) -> nn.Sequential:
    tl.manual_seed(0)
    model = nn.Sequential(OrderedDict([
        ("emb", nn.Embedding(11, 8, padding_idx=0, dtype=dtype)),
        ("ln", nn.LayerNorm(8, dtype=dtype)),
        ("attn", nn.MultiheadAttention(8, 2, batch_first=True, dtype=dtype)),
        ("ln2", nn.LayerNorm(8, bias=False, dtype=dtype)),
        ("gelu", nn.GELU(approximate="none" if dtype == np.float32 else "tanh")),
        ("ln3", nn.LayerNorm((8,), elementwise_affine=False, dtype=dtype)),
        ("tanh_gelu", nn.GELU(approximate="tanh")),
        ("out", nn.Linear(8, 11, dtype=dtype)),
    ]))
    rng = np.random.default_rng(0)
    for p in model.parameters():  # away from the initial ones / zeros
        p.data[...] = p.data + 0.1 * rng.standard_normal(p.shape)
    return model


def run_tl(model, x):
    with tl.no_grad():
        h = x
        for name, layer in model._child_items():
            h = layer(h, h, h, need_weights=False)[0] if name == "attn" else layer(h)
        return h.data


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_to_torch_and_back(dtype):
    torch = pytest.importorskip("torch")
    tl_dtype = np.dtype(dtype)
    layers = [nn.Embedding(7, 4, padding_idx=2, dtype=dtype), nn.LayerNorm((2, 4), dtype=dtype),
              nn.LayerNorm(4, bias=False, dtype=dtype),
              nn.LayerNorm(4, elementwise_affine=False, dtype=dtype),
              nn.MultiheadAttention(4, 2, batch_first=True, dtype=dtype),
              nn.MultiheadAttention(4, 1, bias=False, kdim=3, vdim=5, dtype=dtype)]
    for m in layers:
        t = tl.interop.to_torch(m)
        assert type(t).__name__ == type(m).__name__
        assert list(t.state_dict()) == list(m.state_dict())
        for k, v in t.state_dict().items():
            np.testing.assert_array_equal(v.numpy(), m.state_dict()[k])
            assert v.numpy().dtype == tl_dtype
        back = tl.interop.from_torch(t)
        for k, v in back.state_dict().items():
            np.testing.assert_array_equal(v, m.state_dict()[k])
    emb, ln = layers[0], layers[1]
    t_emb, t_ln = tl.interop.to_torch(emb), tl.interop.to_torch(ln)
    assert t_emb.padding_idx == 2 and t_ln.normalized_shape == (2, 4)
    idx = np.array([[0, 2, 6]])
    np.testing.assert_allclose(emb(idx).data, t_emb(torch.from_numpy(idx)).detach().numpy())
    x = np.random.default_rng(0).standard_normal((3, 2, 4)).astype(dtype)
    np.testing.assert_allclose(ln(tl.Tensor(x)).data, t_ln(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)
    mha = layers[4]
    t_mha = tl.interop.to_torch(mha)
    out, w = mha(tl.Tensor(x[:, 0]), tl.Tensor(x[:, 1]), tl.Tensor(x[:, 1]))
    tx = [torch.from_numpy(np.ascontiguousarray(x[:, i])) for i in (0, 1)]
    tout, tw = t_mha(tx[0], tx[1], tx[1])
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_from_torch_refuses_what_it_lacks():
    torch = pytest.importorskip("torch")
    with pytest.raises(tl.interop.ConversionError):
        tl.interop.from_torch(torch.nn.Embedding(4, 2, sparse=True))


# ---- ONNX -----------------------------------------------------------------------------------


def ort_run(proto, x):
    ort = pytest.importorskip("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(proto.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


# float64: ONNX Runtime's LayerNormalization differs by ~1e-12 from the two-pass mean and
# variance, which the three layer norms in a row amplify to ~1e-10
@pytest.mark.parametrize("dtype, atol", [(np.float32, 1e-5), (np.float64, 1e-9)])
def test_onnx_embedding_layernorm_attention_gelu(dtype, atol):
    pytest.importorskip("onnx")
    model = seq_model(dtype)
    idx = np.random.default_rng(1).integers(0, 11, (3, 5))
    proto = tl_onnx.export(model, idx[:1])
    ops = {n.op_type for n in proto.graph.node}
    assert {"Gather", "LayerNormalization", "Tanh", "Softmax", "MatMul"} <= ops
    assert ("Erf" in ops) == (dtype == np.float32)  # ONNX Runtime has no double Erf kernel
    assert proto.opset_import[0].version == 17
    for batch in (idx, idx[:1]):
        got = ort_run(proto, batch)
        want = run_tl(model, batch)
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, want, rtol=atol, atol=atol)


@pytest.mark.parametrize("batch_first", [False, True])
def test_onnx_multihead_attention_alone(batch_first):
    pytest.importorskip("onnx")
    tl.manual_seed(0)
    m = nn.MultiheadAttention(8, 4, batch_first=batch_first, dtype=np.float64)
    m.in_proj_bias.data[...] = np.random.default_rng(0).standard_normal(24)
    x = np.random.default_rng(1).standard_normal((5, 3, 8))
    proto = tl_onnx.export(m, x)
    with tl.no_grad():
        want = m(tl.Tensor(x), tl.Tensor(x), tl.Tensor(x))[0].data
    np.testing.assert_allclose(ort_run(proto, x), want, rtol=1e-12, atol=1e-12)


def test_onnx_attention_nodes_causal():
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    g = tl_onnx._Graph(np.dtype(np.float64))
    out = tl_onnx.attention_nodes(g, "q", "k", "v", "att", 0.5, causal=4)
    nodes = [helper.make_node(op, ins, outs, **attrs) for op, ins, outs, attrs in g.nodes]
    info = [helper.make_tensor_value_info(n, TensorProto.DOUBLE, [1, 2, 4, 3]) for n in "qkv"]
    result = helper.make_tensor_value_info(out, TensorProto.DOUBLE, [1, 2, 4, 3])
    graph = helper.make_graph(nodes, "att", info, [result],
                              initializer=[numpy_helper.from_array(a, n)
                                           for n, a in g.initializers.items()])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    onnx.checker.check_model(proto)
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((1, 2, 4, 3)) for _ in range(3))
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, dict(q=q, k=k, v=v))
    want = tl.nn.functional.scaled_dot_product_attention(
        tl.Tensor(q), tl.Tensor(k), tl.Tensor(v), is_causal=True, scale=0.5).data
    np.testing.assert_allclose(got[0], want, rtol=1e-12, atol=1e-12)
