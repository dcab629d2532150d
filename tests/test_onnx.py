"""tl.onnx.export: the exported graph passes onnx.checker and ONNX Runtime computes what
tinygrad_lite computes (1e-5 in float32) for the MLP, the notebook net and the CNN, on random
and MNIST inputs, at any batch size, with eval-mode BatchNorm/Dropout; every layer that exports;
errors that name the layer; the one-line message without the onnx extra; --export-onnx.

CI installs the [onnx] extra (.ci/run), so these run there; importorskip only spares a local
checkout without it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from layer_zoo import every_layer  # the shared test model with every convertible layer

import tinygrad_lite as tl
from examples.common.checkpoint import load_model
from examples.common.models import build_cnn, build_mlp
from tinygrad_lite import nn
from tinygrad_lite.data import load_mnist, to_float

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parent.parent
ATOL32 = 1e-5


def session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_ort(path: Path, x: np.ndarray) -> np.ndarray:
    return session(path).run(None, {"input": x})[0]


def tl_eval(model: nn.Module, x: np.ndarray) -> np.ndarray:
    was = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with tl.no_grad():
            return model(tl.Tensor(x)).data
    finally:
        for m, training in was:
            m.training = training


@pytest.fixture(scope="module")
def inputs() -> dict:
    """64 random rows in [0, 1) and 64 MNIST test digits, (64, 784) float32 each."""
    images, _ = load_mnist("test")
    return {"random": np.random.default_rng(0).random((64, 784)).astype(np.float32),
            "mnist": to_float(images[:64])}


def small_cnn() -> nn.Sequential:
    """build_cnn with few channels; a few training-mode passes move its batch-norm statistics
    away from (0, 1), so that eval mode differs from batch statistics."""
    tl.manual_seed(0)
    model = build_cnn(channels=[4, 8], hidden=16)
    x = np.random.default_rng(1).random((3, 32, 784)).astype(np.float32)
    with tl.no_grad():
        for batch in x:
            model(tl.Tensor(batch))
    return model


def notebook_net() -> nn.Sequential:
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10))
    rng = np.random.RandomState(0)
    for p in model.parameters():
        nn.init.notebook_uniform_(p, rng)
    return model


MODELS = {
    "mlp": lambda: (tl.manual_seed(0), build_mlp(784, [64, 32], 10))[1],
    "notebook": notebook_net,
    "cnn": small_cnn,
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_onnx_runtime_matches_on_random_and_mnist_inputs(name, inputs, tmp_path):
    model = MODELS[name]()
    path = tmp_path / f"{name}.onnx"
    proto = tl.onnx.export(model, inputs["random"][:1], path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    assert proto.opset_import[0].version == tl.onnx.OPSET
    assert [i.name for i in proto.graph.input] == ["input"]
    assert [o.name for o in proto.graph.output] == ["output"]
    names = {t.name for t in proto.graph.initializer}
    assert set(model.state_dict()) - {k for k in model.state_dict()
                                      if k.endswith("num_batches_tracked")} <= names
    for kind, x in inputs.items():
        ours, theirs = tl_eval(model, x), run_ort(path, x)
        assert theirs.shape == (64, 10) and theirs.dtype == np.float32
        np.testing.assert_allclose(theirs, ours, rtol=0, atol=ATOL32, err_msg=f"{name} {kind}")
        assert (theirs.argmax(1) == ours.argmax(1)).all()


def test_dynamic_batch_size(tmp_path):
    model = small_cnn()
    path = tmp_path / "cnn.onnx"
    proto = tl.onnx.export(model, np.zeros((5, 784), np.float32), path)  # exported at batch 5
    for value in (*proto.graph.input, *proto.graph.output):
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param == "batch" and dims[1].dim_value in (784, 10)
    s = session(path)
    x = np.random.default_rng(2).random((33, 784)).astype(np.float32)
    for n in (1, 2, 33):
        out = s.run(None, {"input": x[:n]})[0]
        np.testing.assert_allclose(out, tl_eval(model, x[:n]), rtol=0, atol=ATOL32)


def test_export_is_eval_mode_and_leaves_the_model_as_it_was(tmp_path):
    """Exported from training mode: Dropout is the identity and BatchNorm uses its running
    statistics (as model.eval() computes), while the model keeps its modes and buffers."""
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(8, 3))
    x = np.random.default_rng(3).standard_normal((16, 6)).astype(np.float32)
    with tl.no_grad():
        model(tl.Tensor(x))  # moves the running statistics
    state = model.state_dict()
    path = tmp_path / "m.onnx"
    tl.onnx.export(model, x[:1], path)
    assert all(m.training for m in model.modules())
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, state[key])
    out = run_ort(path, x)
    np.testing.assert_array_equal(out, run_ort(path, x))  # no random dropout mask
    np.testing.assert_allclose(out, tl_eval(model, x), rtol=0, atol=ATOL32)
    with tl.no_grad():
        train_out = model(tl.Tensor(x)).data  # batch statistics and a dropout mask
    assert np.abs(train_out - out).max() > 1e-2




def test_every_layer_exports(tmp_path):
    model = every_layer()
    x = np.random.default_rng(4).standard_normal((20, 2, 9, 9)).astype(np.float32)
    with tl.no_grad():
        model(tl.Tensor(x))  # batch-norm statistics away from (0, 1)
    path = tmp_path / "all.onnx"
    proto = tl.onnx.export(model, x[:2], path)
    ops = {n.op_type for n in proto.graph.node}
    assert {"Conv", "BatchNormalization", "PRelu", "MaxPool", "Erf", "AveragePool", "Flatten",
            "Gemm", "Tanh", "Sigmoid", "Relu", "Softmax", "LogSoftmax", "Identity"} <= ops
    assert {"features.conv.weight", "fc.bias", "bn1.running_var"} <= \
        {t.name for t in proto.graph.initializer}
    np.testing.assert_allclose(run_ort(path, x), tl_eval(model, x), rtol=0, atol=ATOL32)


@pytest.mark.filterwarnings("ignore:Implicit dimension choice")
@pytest.mark.parametrize("layer, shape", [
    (nn.Flatten(2), (3, 2, 4, 5)),
    (nn.Flatten(0, 1), (3, 2, 4, 5)),  # merges the batch axis: the output's first axis is free
    (nn.Flatten(1, 2), (3, 2, 4, 5)),
    (nn.Linear(5, 4), (3, 2, 4, 5)),   # a Linear on (..., in): MatMul, not Gemm
    (nn.Softmax(), (3, 2, 4, 5)),      # dim None: the last axis, as here
    (nn.LogSoftmax(), (3, 4)),         # dim None: PyTorch's implicit axis
    (nn.Sequential(), (3, 4)),
])
def test_shapes_and_implicit_axes(layer, shape, tmp_path):
    x = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    path = tmp_path / "m.onnx"
    tl.onnx.export(layer, x[:2], path)
    np.testing.assert_allclose(run_ort(path, x), tl_eval(layer, x), rtol=0, atol=ATOL32)


def test_float64_models_export_in_float64(tmp_path):
    """ONNX Runtime's CPU kernels for Conv, AveragePool and Erf are float32 only; an MLP in
    float64 runs there and agrees to rounding."""
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.LeakyReLU(0.2), nn.BatchNorm1d(16),
                          nn.GELU("tanh"), nn.Linear(16, 4), nn.LogSoftmax(dim=1)).double()
    x = np.random.default_rng(6).standard_normal((10, 8))
    proto = tl.onnx.export(model, x[:1], tmp_path / "d.onnx")
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    out = run_ort(tmp_path / "d.onnx", x)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, tl_eval(model, x), rtol=0, atol=1e-12)


class Doubler(nn.Module):
    def forward(self, x):
        return x * 2


class MyLinear(nn.Linear):
    def forward(self, x):
        return super().forward(x) + 1


class KeptLinear(nn.Linear):
    """A subclass that keeps Linear's forward exports as a Linear."""


def test_unsupported_layers_are_named(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    x = np.zeros((1, 4), np.float32)
    cases = [
        (nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.ReLU(), Doubler())),
         r"'1\.1' \(Doubler\)"),
        (nn.Sequential(MyLinear(4, 4)), r"'0' \(MyLinear\)"),
        (Doubler(), r"the model \(Doubler\)"),
        (nn.Sequential(nn.ModuleList([nn.ReLU()])), r"'0' \(ModuleList\)"),
    ]
    for model, message in cases:
        with pytest.raises(tl.onnx.ExportError, match=message) as info:
            tl.onnx.export(model, x, path)
        assert "\n" not in str(info.value) and "Linear" in str(info.value)  # the supported list
    assert path.read_bytes() == b"old"  # nothing written
    tl.onnx.export(nn.Sequential(KeptLinear(4, 2)), x, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # atomic: no temporaries
    with pytest.raises(tl.onnx.ExportError, match="float"):
        tl.onnx.export(nn.Identity(), np.zeros((1, 4), np.int64), path)


def test_without_onnx_the_error_is_one_line_and_import_never_needs_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` raises ImportError
    with pytest.raises(ImportError) as info:
        tl.onnx.export(nn.Sequential(nn.Linear(2, 2)), np.zeros((1, 2), np.float32), None)
    assert str(info.value) == \
        'ONNX export needs the onnx package: pip install "tinygrad_lite[onnx]"'
    code = ("import sys; sys.modules['onnx'] = sys.modules['torch'] = None\n"
            "import tinygrad_lite as tl\n"
            "assert 'onnxruntime' not in sys.modules\n"
            "print(tl.onnx.export.__name__, tl.interop.to_torch.__name__)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.split() == ["export", "to_torch"], r.stderr


# ---- the command lines -------------------------------------------------------------------------


def _main(script: str, argv: list, monkeypatch) -> int:
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    module = __import__(script)
    try:
        return module.main([*map(str, argv)])
    except SystemExit as e:
        return e.code


def test_export_onnx_flag_checks_before_any_work(tmp_path, monkeypatch, capsys):
    same = tmp_path / "same"
    code = _main("mnist_cnn", ["--save", same, "--export-onnx", same], monkeypatch)
    err = capsys.readouterr().err
    assert code == 2 and "--export-onnx" in err and "also the output of --save" in err, err
    monkeypatch.setitem(sys.modules, "onnx", None)
    code = _main("mnist_two_layer", ["--export-onnx", tmp_path / "m.onnx"], monkeypatch)
    out, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert 'pip install "tinygrad_lite[onnx]"' in err and "model:" not in out
    assert list(tmp_path.iterdir()) == []


def test_mnist_two_layer_exports_what_it_saves(tmp_path, monkeypatch, capsys):
    ckpt, exported = tmp_path / "m.npz", tmp_path / "m.onnx"
    code = _main("mnist_two_layer", ["--limit", 200, "--iterations", 3, "--no-progress",
                                     "--threads", 1, "--save", ckpt, "--export-onnx", exported],
                 monkeypatch)
    out = capsys.readouterr().out
    assert code == 0 and f"exported {exported}" in out, out
    model, _ = load_model(ckpt)
    x = to_float(load_mnist("test")[0][:64])
    np.testing.assert_allclose(run_ort(exported, x), tl_eval(model, x), rtol=0, atol=ATOL32)
