"""The CNN that examples/mnist_cnn.py trains runs in ONNX Runtime and
in PyTorch with the same predictions, and predict.py classifies a PNG with it. And
docs/interop.md runs as written.

The blocks of docs/interop.md are fenced ```py, not ```python: tests/test_docs.py runs the
```python blocks of the documents it lists in a checkout without the optional extras too, and
these need onnxruntime and torch. They are run here instead, the same way (in order, in one
namespace, a ```text block after one being exactly what it printed), and skipped only where
the extras are missing; CI installs them (.ci/run).
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
from examples.common import mnist
from examples.common.checkpoint import load_model
from examples.common.digits import load_digit_image
from tinygrad_lite.data import load_mnist, to_float
from tinygrad_lite.io.interop import to_torch

ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")

ROOT = Path(__file__).resolve().parent.parent


def run(script: str, *args) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / script), *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_the_trained_cnn_runs_in_onnx_runtime_pytorch_and_predict(tmp_path):
    ckpt, exported = tmp_path / "cnn.npz", tmp_path / "cnn.onnx"
    proc = run("mnist_cnn.py", "--epochs", 1, "--limit", 1000, "--channels", 4, 8,
               "--hidden", 16, "--no-progress", "--threads", 1, "--save", ckpt,
               "--export-onnx", exported)
    assert f"exported {exported}" in proc.stdout and f"saved {ckpt}" in proc.stdout

    model, arch = load_model(ckpt)
    assert arch["kind"] == "cnn" and arch["channels"] == [4, 8]
    model.eval()
    images, _ = load_mnist("test")
    x = to_float(images[:64])
    with tl.no_grad():
        here = model(tl.Tensor(x)).data
    session = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    served = session.run(None, {"input": x})[0]
    with torch.no_grad():
        theirs = to_torch(model).eval()(torch.from_numpy(x)).numpy()
    for other in (served, theirs):
        np.testing.assert_allclose(other, here, rtol=0, atol=1e-5)
        assert (other.argmax(1) == here.argmax(1)).all()

    # predict.py on PNGs, as a user runs it: the digit ONNX Runtime and PyTorch predict
    pngs = []
    for i in range(3):
        pngs.append(tmp_path / f"digit{i}.png")
        Image.fromarray(images[i]).save(pngs[-1])
    lines = run("predict.py", ckpt, *pngs).stdout.splitlines()
    for png, line in zip(pngs, lines):
        pixels = to_float(load_digit_image(png)[0][None])
        digit = int(session.run(None, {"input": pixels})[0].argmax())
        with torch.no_grad():
            assert int(to_torch(model)(torch.from_numpy(pixels)).argmax()) == digit
        assert re.match(rf".*{png.name}: {digit} \(probability", line), line


INTEROP_DOC = ROOT / "docs" / "interop.md"


def interop_doc_blocks() -> list:
    """(language, line, source) of the fenced blocks of docs/interop.md."""
    text = INTEROP_DOC.read_text(encoding="utf-8")
    fence = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
    return [(m.group(1), text.count("\n", 0, m.start(2)) + 1, m.group(2))
            for m in fence.finditer(text)]


def test_interop_doc_runs(tmp_path, monkeypatch):
    blocks = interop_doc_blocks()
    assert [lang for lang, _, _ in blocks] == \
        ["bash", "py", "py", "py", "text", "bash", "py", "text", ""]
    monkeypatch.chdir(tmp_path)  # the blocks write cnn.npz, cnn.onnx and gpt.onnx
    namespace: dict = {"__name__": "docs_interop"}
    for i, (lang, line, source) in enumerate(blocks):
        if lang != "py":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile("\n" * (line - 1) + source, str(INTEROP_DOC), "exec"), namespace)
        if i + 1 < len(blocks) and blocks[i + 1][0] == "text":
            assert out.getvalue().strip() == blocks[i + 1][2].strip(), out.getvalue()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cnn.npz", "cnn.onnx", "gpt.onnx"]
    # the command lines of the bash blocks name flags that exist
    flags = set(re.findall(r"--[a-z-]+", blocks[0][2]))
    assert flags <= set(re.findall(r"--[a-z-]+", mnist.cnn_parser().format_help()))
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    import char_gpt

    flags = set(re.findall(r"--[a-z-]+", blocks[5][2]))
    assert flags <= set(re.findall(r"--[a-z-]+", char_gpt.parser().format_help()))
