"""Self-describing checkpoints end to end: an MLP and a CNN go through save_checkpoint,
load_model and predict.py (a PNG digit) unchanged; corrupted and foreign files (truncated,
bit-flipped, empty, a plain `tl.save` state dict, an ONNX file) give one clear line, from
load_model and from predict.py (exit status 2)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
from examples.common.checkpoint import CheckpointError, load_model, save_checkpoint
from examples.common.digits import load_digit_image
from examples.common.models import arch_of, build_cnn, build_mlp, from_arch
from tinygrad_lite.data import load_mnist, to_float

Image = pytest.importorskip("PIL.Image")

ROOT = Path(__file__).resolve().parent.parent


def predict_main(monkeypatch, capsys, *argv) -> tuple:
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    import predict

    capsys.readouterr()
    try:
        code = predict.main([*map(str, argv)])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def mlp() -> tl.nn.Sequential:
    tl.manual_seed(0)
    return build_mlp(784, [16], 10)


def cnn() -> tl.nn.Sequential:
    """A small CNN whose batch-norm statistics have moved (eval mode then differs)."""
    tl.manual_seed(0)
    model = build_cnn(channels=[2, 4], hidden=8)
    with tl.no_grad():
        model(tl.Tensor(np.random.default_rng(0).random((16, 784)).astype(np.float32)))
    return model


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> list:
    """Three MNIST test digits as PNG files."""
    folder = tmp_path_factory.mktemp("digits")
    images, _ = load_mnist("test")
    paths = []
    for i in range(3):
        path = folder / f"digit{i}.png"
        Image.fromarray(images[i]).save(path)
        paths.append(path)
    return paths


@pytest.mark.parametrize("make", [mlp, cnn], ids=["mlp", "cnn"])
def test_save_load_predict_round_trip(make, digits, tmp_path, monkeypatch, capsys):
    model = make()
    arch = {**arch_of(model), "trained": {"note": "extra fields are kept"}}
    path = tmp_path / "model.npz"
    save_checkpoint(path, model, arch)
    loaded, arch2 = load_model(path)
    assert arch2 == arch and repr(loaded) == repr(model)
    for key, value in model.state_dict().items():  # buffers too: BN statistics, counts
        np.testing.assert_array_equal(loaded.state_dict()[key], value)
        assert loaded.state_dict()[key].dtype == value.dtype

    code, out, err = predict_main(monkeypatch, capsys, path, *digits)
    assert code == 0 and err == "", err
    model.eval()
    for line, png in zip(out.splitlines(), digits):
        image, _ = load_digit_image(png)
        with tl.no_grad():
            p = model(tl.Tensor(to_float(image[None]))).softmax(axis=1).data[0]
        m = re.match(rf".*{png.name}: (\d) \(probability ([0-9.]+)\)", line)
        assert m, line
        assert int(m.group(1)) == int(p.argmax()) and float(m.group(2)) == round(p.max(), 3)


def corrupt_files(folder: Path) -> list:
    """(file, what the one line says) for damaged and foreign files."""
    model = cnn()
    good = folder / "good.npz"
    save_checkpoint(good, model, arch_of(model))
    data = good.read_bytes()
    files = []

    def add(name: str, content: bytes, message: str) -> None:
        path = folder / name
        path.write_bytes(content)
        files.append((path, message))

    add("truncated.npz", data[: len(data) // 2], "not an .npz checkpoint (not a zip archive)")
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF  # inside an array: the zip's CRC-32 check fails
    add("flipped.npz", bytes(flipped), "not a readable .npz checkpoint (Bad CRC-32")
    add("empty.npz", b"", "not a zip archive")
    add("model.onnx", b"\x08\x08\x12\x0ctinygrad_lite" + bytes(64), "not a zip archive")
    plain = folder / "state.npz"
    tl.save(model.state_dict(), plain)  # tl.save: the plain state-dict route, no architecture
    files.append((plain, "not a tinygrad_lite checkpoint (no '__arch__' entry"))
    return files


def test_corrupt_and_foreign_files_give_one_line(tmp_path, digits, monkeypatch, capsys):
    for path, message in corrupt_files(tmp_path):
        with pytest.raises(CheckpointError) as info:
            load_model(path)
        text = str(info.value)
        assert "\n" not in text and str(path) in text and message in text, text
        code, out, err = predict_main(monkeypatch, capsys, path, digits[0])
        assert code == 2 and out == "", (path, out)
        assert len(err.strip().splitlines()) == 1 and message in err, err
        assert "Traceback" not in err


def test_tl_save_stays_the_plain_state_dict_route(tmp_path):
    """`tl.save(model.state_dict())` holds only the state dict; it loads into a model built
    from the architecture record (what load_model does for a checkpoint)."""
    model = cnn()
    tl.save(model.state_dict(), tmp_path / "state.npz")
    state = tl.load(tmp_path / "state.npz")
    assert list(state) == list(model.state_dict())
    fresh = from_arch(arch_of(model))
    fresh.load_state_dict(state)
    x = np.random.default_rng(1).random((4, 784)).astype(np.float32)
    model.eval(), fresh.eval()
    np.testing.assert_array_equal(fresh(tl.Tensor(x)).data, model(tl.Tensor(x)).data)
