"""The char GPT (examples/common/gpt.py) through tl.onnx.export and ONNX Runtime: the graph
passes onnx.checker, takes token ids (batch, T) int64 and returns the logits of every position
(batch, T, vocab), the ones forward(idx, targets) computes in eval mode (1e-5 in float32, 1e-10
in float64), with and without biases, at any batch size and at T below block_size. Also: the
onnx_nodes hook of a user's module inside a Sequential, the hook's refusals, an unwritable
path, and char_gpt.py --export-onnx."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
from examples.common.checkpoint import read_checkpoint
from examples.common.gpt import GPT, GPTConfig
from tinygrad_lite import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parent.parent
VOCAB, BLOCK = 11, 8


def small_gpt(bias: bool, dtype=np.float32, dropout: float = 0.0) -> GPT:
    """block_size 8, vocab 11, 2 layers, 2 heads, 16 wide; weights (and LayerNorm scales and
    biases) moved well away from their initial values, so that logits are O(1)."""
    tl.manual_seed(0)
    model = GPT(GPTConfig(block_size=BLOCK, vocab_size=VOCAB, n_layer=2, n_head=2, n_embd=16,
                          bias=bias, dropout=dropout)).to(dtype)
    rng = np.random.default_rng(0)
    for p in model.parameters():
        p.data[...] = p.data + 0.3 * rng.standard_normal(p.shape)
    return model


def session(path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def all_logits(model: GPT, idx: np.ndarray) -> np.ndarray:
    """forward(idx, targets)'s logits, every position, in eval mode."""
    was = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with tl.no_grad():
            return model(tl.tensor(idx), tl.tensor(idx))[0].data
    finally:
        for m, training in was:
            m.training = training


@pytest.mark.parametrize("bias", [False, True])
def test_gpt_logits_in_onnx_runtime(bias, tmp_path):
    model = small_gpt(bias)
    idx = np.random.default_rng(1).integers(0, VOCAB, (5, BLOCK))
    path = tmp_path / "gpt.onnx"
    proto = tl.onnx.export(model, idx[:1], path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    assert proto.opset_import[0].version == 17
    ops = {n.op_type for n in proto.graph.node}
    assert {"Gather", "LayerNormalization", "Erf", "Softmax", "MatMul", "Add"} <= ops
    (inp,), (out,) = proto.graph.input, proto.graph.output
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim] == \
        ["batch", BLOCK]
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == \
        ["batch", BLOCK, VOCAB]
    # the weights under their state_dict names; lm_head's is wte's, stored once
    names = {t.name for t in proto.graph.initializer}
    assert set(model.state_dict()) - {"lm_head.weight"} <= names
    assert "lm_head.weight" not in names
    s = session(path)
    for batch in (idx[:1], idx):
        got = s.run(None, {"input": batch})[0]
        want = all_logits(model, batch)
        assert got.shape == (len(batch), BLOCK, VOCAB) and got.dtype == np.float32
        assert np.abs(want).max() > 1  # logits that a wrong graph would miss by far more
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    with tl.no_grad():  # forward(idx) alone: the last position's row
        last = model.eval()(tl.tensor(idx))[0].data
    np.testing.assert_allclose(got[:, -1:], last, rtol=0, atol=1e-5)


# float64: ONNX Runtime has no double Erf kernel, so this model's GELU is the tanh form; its
# LayerNormalization differs from the two-pass mean and variance by ~1e-12 (4e-12 measured on
# these logits)
def test_gpt_float64(tmp_path):
    model = small_gpt(bias=True, dtype=np.float64)
    for block in model.transformer.h:
        block.mlp.gelu = nn.GELU(approximate="tanh")
    idx = np.random.default_rng(2).integers(0, VOCAB, (4, BLOCK))
    proto = tl.onnx.export(model, idx[:1], tmp_path / "gpt64.onnx")
    assert proto.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    got = session(tmp_path / "gpt64.onnx").run(None, {"input": idx})[0]
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, all_logits(model, idx), rtol=0, atol=1e-10)


def test_gpt_shorter_context_and_eval_mode(tmp_path):
    """Exported at T = 5 < block_size (a 5 x 5 causal mask) from training mode with dropout:
    the graph is the eval-mode model, and the model keeps its mode."""
    model = small_gpt(bias=False, dropout=0.5)
    idx = np.random.default_rng(3).integers(0, VOCAB, (3, 5))
    path = tmp_path / "gpt5.onnx"
    tl.onnx.export(model, idx[:1], path)
    assert all(m.training for m in model.modules())
    got = session(path).run(None, {"input": idx})[0]
    assert got.shape == (3, 5, VOCAB)
    np.testing.assert_allclose(got, all_logits(model, idx), rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="block size"):
        tl.onnx.export(model, np.zeros((1, BLOCK + 1), np.int64))


def test_unwritable_path_is_named_in_one_line(tmp_path):
    model = small_gpt(bias=False)
    x = np.zeros((1, BLOCK), np.int64)
    for path in (tmp_path / "missing" / "gpt.onnx", tmp_path):  # no such folder; a folder
        with pytest.raises(OSError) as info:
            tl.onnx.export(model, x, path)
        message = str(info.value)
        assert str(path) in message and "\n" not in message and ".tmp" not in message
    assert list(tmp_path.iterdir()) == []  # no temporary file left


# ---- the hook in a user's model ----------------------------------------------------------------


class Residual(nn.Module):
    """x + f(x), with the ONNX nodes to match."""

    def __init__(self, f: nn.Module) -> None:
        super().__init__()
        self.f = f

    def forward(self, x):
        return x + self.f(x)

    def onnx_nodes(self, g, path, x, shape):
        y, _ = g.layer(self.f, x, shape)
        return g.node("Add", [x, y], path), shape


class Scaled(Residual):
    """Another forward under Residual's hook: the exporter refuses it."""

    def forward(self, x):
        return 2 * super().forward(x)


class Foreign(nn.Module):
    """A hook that emits a module which is not part of the model."""

    def forward(self, x):
        return x

    def onnx_nodes(self, g, path, x, shape):
        return g.layer(nn.ReLU(), x, shape)


def test_hooked_module_inside_a_sequential(tmp_path):
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 4), Residual(nn.Sequential(nn.Linear(4, 4), nn.Tanh())),
                          nn.Linear(4, 3), nn.LogSoftmax(dim=1))
    x = np.random.default_rng(4).standard_normal((9, 6)).astype(np.float32)
    path = tmp_path / "res.onnx"
    proto = tl.onnx.export(model, x[:2], path)
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert "1.f.0.weight" in {t.name for t in proto.graph.initializer}
    with tl.no_grad():
        want = model(tl.Tensor(x)).data
    np.testing.assert_allclose(session(path).run(None, {"input": x})[0], want, rtol=0,
                               atol=1e-5)


def test_hook_refusals():
    x = np.zeros((1, 4), np.float32)
    with pytest.raises(tl.onnx.ExportError, match=r"'0' \(Scaled\).*forward"):
        tl.onnx.export(nn.Sequential(Scaled(nn.Linear(4, 4))), x)
    with pytest.raises(tl.onnx.ExportError, match="ReLU is not a part"):
        tl.onnx.export(Foreign(), x)


# ---- char_gpt.py --export-onnx -----------------------------------------------------------------


def _char_gpt(argv: list, monkeypatch) -> int:
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    import char_gpt

    monkeypatch.setattr(char_gpt, "eval_iters", 2)  # a quick validation loss
    try:
        return char_gpt.main([*map(str, argv)])
    except SystemExit as e:
        return e.code


def test_char_gpt_exports_what_it_saves(tmp_path, monkeypatch, capsys):
    ckpt, exported = tmp_path / "gpt.npz", tmp_path / "gpt.onnx"
    code = _char_gpt(["--iters", 1, "--sample", 0, "--threads", 1, "--save", ckpt,
                      "--export-onnx", exported], monkeypatch)
    out = capsys.readouterr().out
    assert code == 0 and f"exported {exported}" in out, out
    import char_gpt

    config = GPTConfig(block_size=char_gpt.block_size, vocab_size=65, n_layer=char_gpt.n_layer,
                       n_head=char_gpt.n_head, n_embd=char_gpt.n_embd, bias=char_gpt.bias)
    model = GPT(config)
    model.load_state_dict(read_checkpoint(ckpt)[0])
    idx = np.random.default_rng(5).integers(0, 65, (2, char_gpt.block_size))
    got = session(exported).run(None, {"input": idx})[0]
    np.testing.assert_allclose(got, all_logits(model, idx), rtol=0, atol=1e-5)


def test_char_gpt_export_flag_checks_before_any_work(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "missing" / "gpt.onnx"
    code = _char_gpt(["--export-onnx", missing], monkeypatch)
    out, err = capsys.readouterr()
    assert code == 2 and str(missing) in err and len(err.strip().splitlines()) == 1, err
    assert "model:" not in out
    monkeypatch.setitem(sys.modules, "onnx", None)
    code = _char_gpt(["--export-onnx", tmp_path / "gpt.onnx"], monkeypatch)
    out, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert 'pip install "tinygrad_lite[onnx]"' in err and "model:" not in out
    assert list(tmp_path.iterdir()) == []
