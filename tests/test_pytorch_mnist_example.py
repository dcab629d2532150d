"""PyTorch's own MNIST example (pytorch/examples mnist/main.py, vendored in
tests/vendored/ with its BSD-3 license) runs with its imports pointed at tinygrad_lite: its
Net, train and test unchanged, main()'s loop (Adadelta(lr=1.0), StepLR(step_size=1,
gamma=0.7), DataLoader) on a small subset of the shipped MNIST; and test() prints PyTorch's
numbers for the same weights."""

import contextlib
import importlib.util
import io
import re
import types
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.data import load_mnist
from tinygrad_lite.utils.data import DataLoader, TensorDataset

SOURCE = Path(__file__).parent / "vendored" / "pytorch_examples_mnist_main.py"


def _example(lib: str) -> types.ModuleType:
    """The vendored example with its imports pointed at `lib` ("tinygrad_lite" or "torch")."""
    if lib == "tinygrad_lite":
        spec = importlib.util.spec_from_file_location("pytorch_mnist_example", SOURCE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    text = SOURCE.read_text()
    pattern = r"tinygrad_lite(\.nn|\.optim)?( as torch)?"
    text = re.sub(pattern, lambda m: "torch" + (m[1] or ""), text)
    module = types.ModuleType("pytorch_mnist_example_torch")
    exec(compile(text, "pytorch_mnist_example_torch", "exec"), module.__dict__)
    return module


def _mnist(n_train: int, n_test: int) -> tuple:
    """Normalised as the example's transforms: (pixels / 255 - 0.1307) / 0.3081, (N, 1, 28, 28)."""
    def prepare(images):
        return ((images.astype(np.float32) / 255 - 0.1307) / 0.3081)[:, None]

    x_train, y_train = load_mnist("train")
    x_test, y_test = load_mnist("test")
    return (
        prepare(x_train[:n_train]), y_train[:n_train].astype(np.int64),
        prepare(x_test[:n_test]), y_test[:n_test].astype(np.int64),
    )


def _run_quiet(fn, *args) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        fn(*args)
    return out.getvalue()


def test_mnist_example_trains_with_its_own_loop():
    ex = _example("tinygrad_lite")
    x_train, y_train, x_test, y_test = _mnist(192, 200)
    args = Namespace(log_interval=10, dry_run=False, lr=1.0, gamma=0.7, epochs=2)
    tl.manual_seed(1)
    train_loader = DataLoader(
        TensorDataset(tl.tensor(x_train), tl.tensor(y_train)), batch_size=64, shuffle=True
    )
    test_loader = DataLoader(TensorDataset(tl.tensor(x_test), tl.tensor(y_test)), batch_size=1000)
    model = ex.Net()  # main() moves it with .to(device); cpu is the only device here
    optimizer = ex.optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = ex.StepLR(optimizer, step_size=1, gamma=args.gamma)
    printed = ""
    for epoch in range(1, args.epochs + 1):
        printed += _run_quiet(ex.train, args, model, "cpu", train_loader, optimizer, epoch)
        printed += _run_quiet(ex.test, model, "cpu", test_loader)
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.49)
    losses = [float(v) for v in re.findall(r"Loss: ([0-9.]+)", printed)]
    assert len(losses) == 2 * 1 and "[0/192 (0%)]" in printed  # batch 0 of each epoch
    accuracy = [int(a) for a in re.findall(r"Accuracy: (\d+)/200", printed)]
    assert len(accuracy) == 2
    assert accuracy[-1] >= 50  # 6 steps on 192 images: well above chance (10%)


def test_test_loop_prints_pytorchs_numbers_for_the_same_weights():
    torch = pytest.importorskip("torch")
    ours_ex, theirs_ex = _example("tinygrad_lite"), _example("torch")
    _, _, x_test, y_test = _mnist(0, 300)
    tl.manual_seed(0)
    ours = ours_ex.Net()
    theirs = theirs_ex.Net()
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            p.copy_(torch.tensor(dict(ours.named_parameters())[name].data))
    ours_loader = DataLoader(TensorDataset(tl.tensor(x_test), tl.tensor(y_test)), batch_size=128)
    theirs_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(x_test), torch.tensor(y_test)), batch_size=128
    )
    assert len(ours_loader) == len(theirs_loader) == 3
    ours_out = _run_quiet(ours_ex.test, ours, "cpu", ours_loader)
    theirs_out = _run_quiet(theirs_ex.test, theirs, "cpu", theirs_loader)
    assert ours_out == theirs_out and "Accuracy:" in ours_out
