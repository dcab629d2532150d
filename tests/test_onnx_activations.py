"""tl.onnx.export of ELU, SiLU and Hardtanh: ONNX Runtime computes what tinygrad_lite computes
(1e-5 in float32, 1e-12 in float64), for default and non-default options, alone and inside a
model, at another batch size than the exported one. (The exporter walks modules, so the F.
forms export through these layers.)"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _run_ort(path, x: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def _ours(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with tl.no_grad():
        return model(tl.Tensor(x)).data


LAYERS = {
    "elu": (nn.ELU(), "Elu"),
    "elu_alpha": (nn.ELU(alpha=0.3), "Elu"),
    "silu": (nn.SiLU(), "Sigmoid"),
    "hardtanh": (nn.Hardtanh(), "Clip"),
    "hardtanh_bounds": (nn.Hardtanh(-0.25, 1.7), "Clip"),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_exports_and_runs(name, dtype, tmp_path):
    layer, op = LAYERS[name]
    # values across both sides of every kink and bound, and large ones
    x = np.random.default_rng(0).standard_normal((7, 3, 5)).astype(dtype) * 3
    path = tmp_path / f"{name}.onnx"
    proto = tl.onnx.export(layer, x[:2], path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    ops = {n.op_type for n in proto.graph.node}
    if dtype == np.float32 or op != "Elu":
        assert op in ops
    else:
        assert {"Exp", "Where"} <= ops  # ONNX Runtime has no float64 Elu kernel
    out = _run_ort(path, x)
    assert out.dtype == dtype and out.shape == x.shape
    atol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, _ours(layer, x), rtol=0, atol=atol)


def test_in_a_model(tmp_path):
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ELU(0.5), nn.Linear(8, 8), nn.SiLU(),
                          nn.Linear(8, 4), nn.Hardtanh(-0.5, 0.5))
    x = np.random.default_rng(1).standard_normal((9, 6)).astype(np.float32) * 2
    tl.onnx.export(model, x[:1], tmp_path / "m.onnx")
    out = _run_ort(tmp_path / "m.onnx", x)
    np.testing.assert_allclose(out, _ours(model, x), rtol=0, atol=1e-5)
    assert np.abs(out).max() <= 0.5 and (np.abs(out) == 0.5).any()  # the clip is reached
