"""--plot's training curves (examples/common/plots.py): what each axis shows and how it is
zoomed, for full-batch and mini-batch runs, and titles without absolute paths."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from examples.common import plots
from tinygrad_lite import nn

pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402


def notebook_history(n: int = 600, dev_every: int = 12) -> dict:
    """A full-batch run: accuracy climbing from chance (0.1) to ~0.86, smooth."""
    steps = np.arange(n)
    acc = 0.86 - 0.76 * np.exp(-steps / 60)
    dev_steps = list(range(0, n, dev_every)) + [n]
    dev = [0.87 - 0.77 * np.exp(-s / 60) for s in dev_steps]
    return {"loss": list(2.3 * np.exp(-steps / 300)), "acc": list(acc), "dev_step": dev_steps,
            "dev_acc": dev}


def test_full_batch_accuracy_is_zoomed_with_a_dev_curve_and_no_smoothing():
    history = notebook_history()
    ax = Figure().add_subplot()
    plots.accuracy_axes(ax, history, full_batch=True)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["training accuracy (whole training set)", "dev accuracy"]
    low, high = ax.get_ylim()
    late = history["acc"][30:] + [a for s, a in zip(history["dev_step"], history["dev_acc"])
                                  if s >= 30]
    assert low == pytest.approx(min(late) - 0.05 * (max(late) - min(late)))
    assert high == pytest.approx(max(late) + 0.05 * (max(late) - min(late)))
    assert 0.3 < low < 0.5 and high < 0.9  # not (0, 1): zoomed to the data
    assert ax.get_title() == "accuracy (zoomed: iterations up to 28 lie below)"

    ax = Figure().add_subplot()
    plots.loss_axes(ax, history["loss"], full_batch=True)
    assert [line.get_label() for line in ax.get_lines()] == ["training loss (whole training set)"]


def test_mini_batch_curves_are_smoothed():
    rng = np.random.default_rng(0)
    acc = list(np.clip(0.95 + 0.03 * rng.standard_normal(1000), 0, 1))
    history = {"loss": list(0.1 + rng.random(1000)), "acc": acc, "dev_step": [1, 500, 1000],
               "dev_acc": [0.6, 0.96, 0.97]}
    ax = Figure().add_subplot()
    plots.loss_axes(ax, history["loss"], full_batch=False)
    assert [line.get_label() for line in ax.get_lines()] == [
        "training loss (per batch)", "mean of 10 batches"]
    ax = Figure().add_subplot()
    plots.accuracy_axes(ax, history, full_batch=False)
    assert [line.get_label() for line in ax.get_lines()] == [
        "training accuracy (per batch)", "mean of 10 batches", "dev accuracy"]
    low, high = ax.get_ylim()
    assert 0.85 < low < 0.95 and high <= 1.0  # the dev point after step 1 lies below
    assert "up to 1 lie below" in ax.get_title()


def test_accuracy_limits_edge_cases():
    assert plots.accuracy_limits(np.arange(0), np.zeros(0), [], np.zeros(0)) == (0.0, 1.0, 0)
    low, high, hidden = plots.accuracy_limits(np.arange(1, 11), np.full(10, 0.5), [10],
                                              np.array([0.5]))
    assert (low, high, hidden) == (pytest.approx(0.495), pytest.approx(0.505), 0)
    low, high, _ = plots.accuracy_limits(np.arange(1, 5), np.array([0.99, 1.0, 1.0, 1.0]), [],
                                         np.zeros(0))
    assert high == 1.0  # never above 1
    assert plots.smoothing_window(5000, full_batch=True) == 1
    assert plots.smoothing_window(150, full_batch=False) == 1
    assert plots.smoothing_window(5000, full_batch=False) == 50


def test_titles_lose_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shorten = plots.without_absolute_paths
    assert shorten(f"MLP - MNIST (shipped copy, {tmp_path}/data/mnist)") == \
        "MLP - MNIST (shipped copy, data/mnist)"
    assert shorten("MLP - IDX folder /somewhere/else/fashion") == "MLP - IDX folder fashion"
    assert shorten("Kaggle CSV C:\\Users\\me\\train.csv") == "Kaggle CSV train.csv"
    relative = "784-10-10 MLP, lr 0.1, data/mnist 1/2"
    assert shorten(relative) == relative


def test_training_plot_writes_a_png(tmp_path):
    model = nn.Sequential(nn.Linear(784, 10))
    rng = np.random.default_rng(0)
    X, y = rng.random((50, 784)).astype(np.float32), rng.integers(0, 10, 50)
    path = tmp_path / "run.png"
    pred = model(tl.Tensor(X)).data.argmax(axis=1)
    plots.training_plot(str(path), notebook_history(), (X, y), "dev", pred, (28, 28),
                        f"784-10 - IDX folder {tmp_path}", full_batch=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
