#!/usr/bin/env python
"""Two moons: the smallest "other net" — an MLP on a 2-D toy problem, and its decision boundary.

Two interleaved half circles of points (generated here in numpy, as scikit-learn's
`make_moons`, with Gaussian noise) are split into a training and a test set; a 2-16-16-2 MLP
(Tanh) is trained with Adam on full batches; the script prints train/test accuracy and writes
a PNG of the decision boundary (predicted class probability over the plane) with the points.

    python examples/moons.py                       # writes moons.png
    python examples/moons.py --noise 0.3 --samples 1000 --plot boundary.png
    python examples/moons.py --spirals             # two interleaved spirals: a harder problem

Bad input exits with status 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
from mnist_two_layer import OneLineParser, positive  # the sibling script's CLI conventions

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn.functional import cross_entropy


def make_moons(n: int, noise: float, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """n points (x (n, 2) float32, label (n,) int64): an upper half circle of radius 1 centred
    at (0, 0) (class 0) and a lower one centred at (1, 0.5) (class 1), plus N(0, noise^2)."""
    n0 = n // 2
    t0 = rng.uniform(0, np.pi, n0)
    t1 = rng.uniform(0, np.pi, n - n0)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    x = np.concatenate([upper, lower]) + rng.normal(0, noise, (n, 2))
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n - n0, np.int64)])
    return x.astype(np.float32), y


def make_spirals(n: int, noise: float, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals (1.5 turns each), class 1 the point reflection of class 0."""
    n0 = n // 2
    r = np.sqrt(rng.uniform(0, 1, n))  # more points further out, where the arms are longer
    t = r * 3 * np.pi
    arm = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n - n0, np.int64)])
    x = np.where(y[:, None] == 0, arm, -arm) * 2 + rng.normal(0, noise, (n, 2))
    return x.astype(np.float32), y


def build_mlp(hidden: List[int]) -> nn.Sequential:
    layers: List[nn.Module] = []
    width = 2
    for h in hidden:
        layers += [nn.Linear(width, h), nn.Tanh()]
        width = h
    layers.append(nn.Linear(width, 2))
    return nn.Sequential(*layers)


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    with tl.no_grad():
        return float(np.mean(model(tl.Tensor(x)).data.argmax(axis=1) == y))


def save_boundary(path: str, model: nn.Module, x: np.ndarray, y: np.ndarray, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pad = 0.5
    (x0, y0), (x1, y1) = x.min(axis=0) - pad, x.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(x0, x1, 300), np.linspace(y0, y1, 300))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    with tl.no_grad():
        prob = model(tl.Tensor(grid)).softmax(axis=1).data[:, 1].reshape(gx.shape)
    fig, ax = plt.subplots(figsize=(7, 5.5))
    cs = ax.contourf(gx, gy, prob, levels=np.linspace(0, 1, 21), cmap="RdBu_r", alpha=0.8)
    ax.contour(gx, gy, prob, levels=[0.5], colors="k", linewidths=1.5)
    fig.colorbar(cs, ax=ax, label="P(class 1)")
    ax.scatter(*x[y == 0].T, s=12, c="tab:blue", edgecolors="w", linewidths=0.4, label="class 0")
    ax.scatter(*x[y == 1].T, s=12, c="tab:red", edgecolors="w", linewidths=0.4, label="class 1")
    ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def make_parser() -> OneLineParser:
    p = OneLineParser(description="Train an MLP on two moons (or spirals); plot its boundary.")
    p.add_argument("--samples", type=positive(int), default=600, help="number of points (600)")
    p.add_argument("--noise", type=float,
                   help="Gaussian noise std (default 0.2 for moons, 0.1 for spirals)")
    p.add_argument("--spirals", action="store_true", help="two spirals instead of two moons")
    p.add_argument("--hidden", type=positive(int), nargs="+", default=[16, 16], metavar="W",
                   help="hidden layer widths (default 16 16)")
    p.add_argument("--epochs", type=positive(int), default=500,
                   help="full-batch Adam steps (default 500)")
    p.add_argument("--lr", type=positive(float), default=0.02, help="Adam learning rate (0.02)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data and the init (0)")
    p.add_argument("--plot", metavar="PATH", default="moons.png",
                   help="decision-boundary PNG to write (default moons.png)")
    return p


def run(args: argparse.Namespace, parser: OneLineParser) -> int:
    start = time.perf_counter()
    if args.noise is None:
        args.noise = 0.1 if args.spirals else 0.2
    if not args.noise >= 0:
        parser.error(f"--noise must be >= 0, got {args.noise}")
    if args.samples < 4:
        parser.error(f"--samples must be at least 4, got {args.samples}")
    folder = Path(args.plot).parent
    if not folder.is_dir():
        parser.error(f"--plot {args.plot}: folder {folder} does not exist")
    rng = np.random.default_rng(args.seed)
    x, y = (make_spirals if args.spirals else make_moons)(args.samples, args.noise, rng)
    perm = rng.permutation(len(x))
    n_test = len(x) // 4
    test, train = perm[:n_test], perm[n_test:]
    tl.manual_seed(args.seed)
    model = build_mlp(args.hidden)
    optimizer = tl.optim.Adam(model.parameters(), lr=args.lr)
    xt = tl.Tensor(x[train])
    for step in range(args.epochs):
        optimizer.zero_grad()
        loss = cross_entropy(model(xt), y[train])
        loss.backward()
        optimizer.step()
        if (step + 1) % max(args.epochs // 5, 1) == 0:
            print(f"step {step + 1}: loss {loss.item():.4f}")
    train_acc = accuracy(model, x[train], y[train])
    test_acc = accuracy(model, x[test], y[test])
    name = "spirals" if args.spirals else "moons"
    print(f"{name}: train accuracy {train_acc:.4f}  test accuracy {test_acc:.4f}")
    widths = "-".join(str(w) for w in [2, *args.hidden, 2])
    save_boundary(args.plot, model, x, y,
                  f"two {name}, {widths} MLP: train {train_acc:.3f}, test {test_acc:.3f}")
    print(f"saved plot {args.plot}")
    print(f"wall time {time.perf_counter() - start:.1f} s")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    return run(args, parser)


if __name__ == "__main__":
    sys.exit(main())
