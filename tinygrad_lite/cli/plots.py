"""The examples' pictures (matplotlib, imported when a plot is asked for): training curves
with a confusion matrix and misclassified digits, and a 2-D decision boundary. Both are
written with checkpoint.atomic_write."""

from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..checkpoint import atomic_write
from ..tensor import Tensor


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
    model: nn.Module,
    image_shape: Tuple[int, ...],
    title: str,
    num_classes: int = 10,
) -> None:
    """PNG: loss and accuracy curves, confusion matrix and misclassified digits of `split`."""
    from .mnist import predict_labels

    plt = _pyplot()
    X, y = split
    pred = predict_labels(model, X, 1000)
    fig = plt.figure(figsize=(13, 10))
    fig.suptitle(title, fontsize=10)
    grid = fig.add_gridspec(2, 2, hspace=0.3, wspace=0.25)

    steps = np.arange(1, len(history["loss"]) + 1)
    ax = fig.add_subplot(grid[0, 0])
    ax.plot(steps, history["loss"], lw=0.8, alpha=0.5 if len(steps) > 200 else 1.0,
            label="training loss (per batch)")
    if len(steps) > 200:
        window = max(len(steps) // 100, 2)
        smooth = np.convolve(history["loss"], np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1 :], smooth, lw=1.5, label=f"mean of {window}")
    ax.set(xlabel="iteration", ylabel="cross-entropy", title="loss")
    if len(steps):
        ax.set_yscale("log")
    ax.legend(fontsize=8)

    ax = fig.add_subplot(grid[0, 1])
    ax.plot(steps, history["acc"], lw=0.8, label="training accuracy (per batch)")
    if history["dev_step"]:
        ax.plot(history["dev_step"], history["dev_acc"], "o-", label="dev accuracy")
    ax.set(xlabel="iteration", ylabel="accuracy", title="accuracy", ylim=(0, 1))
    ax.legend(fontsize=8, loc="lower right")

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
