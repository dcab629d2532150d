"""Smoke tests of examples/mnist_cnn.py and examples/moons.py, run as scripts on tiny settings."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lite.data import load_mnist

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_example(script, *args, timeout=120):
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *map(str, args)],
        capture_output=True, text=True, timeout=timeout, cwd=EXAMPLES.parent,
    )


def write_idx(path: Path, array: np.ndarray) -> None:
    """Raw (uncompressed) IDX: magic 0x0000 08 ndim, big-endian sizes, uint8 values."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def small_mnist(tmp_path_factory):
    """A 1,200-image training set and a 300-image test set in MNIST's IDX layout."""
    folder = tmp_path_factory.mktemp("small_mnist")
    for split, n, stems in (
        ("train", 1200, ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")),
        ("test", 300, ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")),
    ):
        images, labels = load_mnist(split)
        write_idx(folder / stems[0], images[:n])
        write_idx(folder / stems[1], labels[:n])
    return folder


def accuracy_of(stdout: str, split: str) -> float:
    match = re.search(rf"{split} accuracy ([0-9.]+)", stdout)
    assert match, stdout
    return float(match.group(1))


def test_mnist_cnn_trains_saves_loads_and_plots(small_mnist, tmp_path):
    ckpt, plot = tmp_path / "cnn.npz", tmp_path / "cnn.png"
    small = ["--channels", 8, 16, "--hidden", 32, "--batch-size", 32, "--no-progress"]
    r = run_example("mnist_cnn.py", "--data", small_mnist, "--epochs", 1, "--seed", 1,
                    *small, "--save", ckpt, "--plot", plot)
    assert r.returncode == 0, r.stderr
    assert "parameters" in r.stdout and "epoch 1:" in r.stdout
    test_acc = accuracy_of(r.stdout, "test")
    assert test_acc > 0.5  # chance is 0.1
    assert plot.read_bytes()[:8] == PNG_MAGIC
    # the checkpoint (weights and batch-norm running statistics) gives the same test accuracy
    r2 = run_example("mnist_cnn.py", "--data", small_mnist, "--load", ckpt, "--epochs", 0)
    assert r2.returncode == 0, r2.stderr
    assert accuracy_of(r2.stdout, "test") == test_acc


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "/no/such/folder"], "not found"),
        (["--lr", "-1"], "--lr"),
        (["--epochs", "0"], "--epochs must be positive"),
        (["--load", __file__], "not an .npz checkpoint"),
        (["--plot", "/no/such/folder/x.png"], "does not exist"),
        (["--seed", "-1"], "--seed"),
        (["--save", "same.npz", "--plot", "same.npz"], "also the output of --save"),
        (["--channels", "8", "8", "8", "8", "8", "8"], "leave no pixel"),
        (["--hidden", "100000000"], "more than this machine's"),
    ],
)
def test_mnist_cnn_bad_input_exits_2_with_one_line(args, message):
    r = run_example("mnist_cnn.py", *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_mnist_cnn_rejects_an_mlp_checkpoint(tmp_path):
    from examples.common.checkpoint import save_checkpoint
    from examples.common.models import build_mlp, mlp_arch

    save_checkpoint(tmp_path / "mlp.npz", build_mlp(784, [10], 10), mlp_arch(784, [10], 10))
    r = run_example("mnist_cnn.py", "--load", tmp_path / "mlp.npz", "--epochs", 0)
    assert r.returncode == 2 and "784-10-10 MLP" in r.stderr
    assert "(use mnist_two_layer.py)" in r.stderr


def test_mnist_cnn_is_a_short_script_without_environment_tricks():
    text = (EXAMPLES / "mnist_cnn.py").read_text()
    assert len(text.splitlines()) < 120
    assert "OPENBLAS_NUM_THREADS" not in text and "os.environ" not in text
    assert "argparse" not in text


def test_moons_learns_and_writes_a_png(tmp_path):
    plot = tmp_path / "moons.png"
    r = run_example("moons.py", "--samples", 300, "--epochs", 300, "--plot", plot)
    assert r.returncode == 0, r.stderr
    assert accuracy_of(r.stdout, "test") > 0.9
    assert plot.read_bytes()[:8] == PNG_MAGIC
    r = run_example("moons.py", "--samples", 2)
    assert r.returncode == 2 and "--samples must be at least 4" in r.stderr
    r = run_example("moons.py", "--plot", tmp_path)
    assert r.returncode == 2 and "is a folder" in r.stderr
    r = run_example("moons.py", "--lr", "1e6", "--epochs", 50, "--plot", plot)
    assert r.returncode == 1 and "training stopped" in r.stderr
