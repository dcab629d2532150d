"""The examples' pictures (matplotlib, imported when a plot is asked for): training curves
with a confusion matrix and misclassified digits, and a 2-D decision boundary. Both are
written with tinygrad_lite.io.atomic.atomic_write."""

from __future__ import annotations

import re
from pathlib import Path, PureWindowsPath
from typing import Any, Dict, List, Tuple

import numpy as np

from tinygrad_lite import Tensor, nn, no_grad
from tinygrad_lite.io.atomic import atomic_write


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def training_plot(
    path: str,
    history: Dict[str, List[float]],
    split: Tuple[np.ndarray, np.ndarray],
    split_name: str,
    pred: np.ndarray,
    image_shape: Tuple[int, ...],
    title: str,
    num_classes: int = 10,
    full_batch: bool = False,
) -> None:
    """PNG: loss and accuracy curves, confusion matrix and misclassified digits of `split`
    (images, labels), whose predicted labels are `pred`.

    `history`: per-step "loss" and "acc" (of the batch, or of the whole training set when
    `full_batch`), and the dev accuracy "dev_acc" after the steps "dev_step". Absolute paths
    in `title` are shortened (relative to the working directory, else the last component).
    """
    plt = _pyplot()
    X, y = split
    fig = plt.figure(figsize=(13, 10))
    fig.suptitle(without_absolute_paths(title), fontsize=10)
    grid = fig.add_gridspec(2, 2, hspace=0.3, wspace=0.25)
    loss_axes(fig.add_subplot(grid[0, 0]), history["loss"], full_batch)
    accuracy_axes(fig.add_subplot(grid[0, 1]), history, full_batch)

    ax = fig.add_subplot(grid[1, 0])
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (y, pred), 1)
    ax.imshow(confusion, cmap="Blues")
    for t in range(num_classes):
        for p in range(num_classes):
            if confusion[t, p]:
                dark = confusion[t, p] > confusion.max() / 2
                ax.text(p, t, str(confusion[t, p]), ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
    ax.set(xlabel="predicted", ylabel="true", xticks=range(num_classes),
           yticks=range(num_classes),
           title=f"confusion matrix, {split_name} (accuracy {np.mean(pred == y):.4f})")

    wrong = np.flatnonzero(pred != y)[:24]
    cells = grid[1, 1].subgridspec(4, 6, hspace=0.5, wspace=0.1)
    for k in range(24):
        ax = fig.add_subplot(cells[k // 6, k % 6])
        ax.axis("off")
        if k < len(wrong):
            j = wrong[k]
            ax.imshow(X[j].reshape(image_shape), cmap="gray")
            ax.set_title(f"{pred[j]} (true {y[j]})", fontsize=8, color="crimson")
        if k == 2:
            ax.text(1.0, 1.6, f"misclassified {split_name} digits: predicted (true) label; "
                    f"{len(np.flatnonzero(pred != y))} in all", transform=ax.transAxes,
                    ha="center", fontsize=10)
    try:
        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=90))
    finally:
        plt.close(fig)


def smoothing_window(n_steps: int, full_batch: bool) -> int:
    """Steps per running mean of a per-batch curve (1: none). A full-batch curve is the whole
    training set's at every step, already smooth: it is drawn as it is."""
    if full_batch or n_steps <= 200:
        return 1
    return max(n_steps // 100, 2)


def loss_axes(ax: Any, losses: List[float], full_batch: bool) -> None:
    """The training loss per step (log scale), with its running mean for mini-batches."""
    steps = np.arange(1, len(losses) + 1)
    window = smoothing_window(len(steps), full_batch)
    what = "training loss (whole training set)" if full_batch else "training loss (per batch)"
    ax.plot(steps, losses, lw=1.2 if window == 1 else 0.8, alpha=1.0 if window == 1 else 0.5,
            label=what)
    if window > 1:
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1 :], smooth, lw=1.5, label=f"mean of {window} batches")
    ax.set(xlabel="iteration", ylabel="cross-entropy", title="loss")
    if len(steps):
        ax.set_yscale("log")
    ax.legend(fontsize=8)


def accuracy_axes(ax: Any, history: Dict[str, List[float]], full_batch: bool) -> None:
    """Training and dev accuracy, the y axis zoomed to the data (accuracy_limits)."""
    acc = np.asarray(history["acc"], dtype=float)
    steps = np.arange(1, len(acc) + 1)
    window = smoothing_window(len(acc), full_batch)
    if window == 1:
        ax.plot(steps, acc, lw=1.2, label="training accuracy (whole training set)" if full_batch
                else "training accuracy (per batch)")
        curve, curve_steps = acc, steps
    else:
        ax.plot(steps, acc, lw=0.6, alpha=0.35, label="training accuracy (per batch)")
        curve = np.convolve(acc, np.ones(window) / window, mode="valid")
        curve_steps = steps[window - 1 :]
        ax.plot(curve_steps, curve, lw=1.5, label=f"mean of {window} batches")
    dev_steps, dev = history["dev_step"], np.asarray(history["dev_acc"], dtype=float)
    if len(dev_steps):
        ax.plot(dev_steps, dev, "o-", ms=3 if len(dev_steps) > 20 else 4, label="dev accuracy")
    low, high, hidden = accuracy_limits(curve_steps, curve, dev_steps, dev)
    title = "accuracy"
    if hidden:
        title += f" (zoomed: iterations up to {hidden} lie below)"
    ax.set(xlabel="iteration", ylabel="accuracy", title=title, ylim=(low, high))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")


def accuracy_limits(steps: np.ndarray, curve: np.ndarray, dev_steps: Any,
                    dev: np.ndarray) -> Tuple[float, float, int]:
    """(low, high, k): a y range holding the training curve and the dev accuracies after the
    first 5% of the steps (the climb from chance would squash the rest), padded and within
    [0, 1]; k is the last step left below the axis (0 when none is)."""
    steps, dev_steps = np.asarray(steps), np.asarray(dev_steps, dtype=float)
    first = steps[int(np.ceil(0.05 * len(steps)))] if len(steps) else 0
    late = np.concatenate([curve[steps >= first], dev[dev_steps >= first]])
    late = late[np.isfinite(late)]
    if late.size == 0:
        return 0.0, 1.0, 0
    low, high = float(late.min()), float(late.max())
    pad = max(0.05 * (high - low), 0.005)
    low, high = max(low - pad, 0.0), min(high + pad, 1.0)
    hidden = np.concatenate([steps[curve < low], dev_steps[dev < low]])
    return low, high, int(hidden.max()) if hidden.size else 0


def without_absolute_paths(text: str) -> str:
    """`text` with each absolute path made relative to the working directory when it lies
    inside it, else cut to its last component: a title should not show a home directory."""

    def shorten(match: re.Match) -> str:
        text = match.group(0)
        path = PureWindowsPath(text) if text[1:2] == ":" else Path(text)
        try:
            return str(path.relative_to(Path.cwd())) or "."
        except ValueError:
            return path.name or str(path)

    return _ABSOLUTE_PATH.sub(shorten, text)


_ABSOLUTE_PATH = re.compile(r"(?:(?<![\w.])/|\b[A-Za-z]:[\\/])[^\s,;()]*")


def boundary_plot(path: str, model: nn.Module, x: np.ndarray, y: np.ndarray, title: str) -> None:
    """PNG: P(class 1) over the plane around the points `x`, the 0.5 contour (the decision
    boundary), and the points coloured by their class `y`."""
    plt = _pyplot()
    pad = 0.5
    (x0, y0), (x1, y1) = x.min(axis=0) - pad, x.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(x0, x1, 300), np.linspace(y0, y1, 300))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    with no_grad():
        prob = model(Tensor(grid)).softmax(axis=1).data[:, 1].reshape(gx.shape)
    fig, ax = plt.subplots(figsize=(7, 5.5))
    cs = ax.contourf(gx, gy, prob, levels=np.linspace(0, 1, 21), cmap="RdBu_r", alpha=0.8)
    ax.contour(gx, gy, prob, levels=[0.5], colors="k", linewidths=1.5)
    fig.colorbar(cs, ax=ax, label="P(class 1)")
    ax.scatter(*x[y == 0].T, s=12, c="tab:blue", edgecolors="w", linewidths=0.4, label="class 0")
    ax.scatter(*x[y == 1].T, s=12, c="tab:red", edgecolors="w", linewidths=0.4, label="class 1")
    ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    try:
        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))
    finally:
        plt.close(fig)
