#!/usr/bin/env python
"""Two moons: the smallest "other net" -- an MLP on a 2-D toy problem, and its decision boundary.

Two interleaved half circles of points (generated here in numpy, as scikit-learn's
`make_moons`, with Gaussian noise) are split into a training and a test set; a 2-16-16-2 MLP
(Tanh) is trained with Adam on full batches; the script prints train/test accuracy and writes
a PNG of the decision boundary (predicted class probability over the plane) with the points.

    python examples/moons.py                       # writes moons.png
    python examples/moons.py --noise 0.3 --samples 1000 --plot boundary.png
    python examples/moons.py --spirals             # two interleaved spirals: a harder problem
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository: examples.common

import tinygrad_lite as tl
from examples.common import cli
from examples.common.models import build_mlp
from examples.common.plots import boundary_plot
from tinygrad_lite import optim
from tinygrad_lite.nn.functional import cross_entropy


def make_moons(n, noise, rng):
    """n points (x (n, 2) float32, label (n,) int64): an upper half circle of radius 1 centred
    at (0, 0) (class 0) and a lower one centred at (1, 0.5) (class 1), plus N(0, noise^2)."""
    n0 = n // 2
    t0, t1 = rng.uniform(0, np.pi, n0), rng.uniform(0, np.pi, n - n0)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    x = np.concatenate([upper, lower]) + rng.normal(0, noise, (n, 2))
    return x.astype(np.float32), np.concatenate([np.zeros(n0, np.int64), np.ones(n - n0, np.int64)])


def make_spirals(n, noise, rng):
    """Two interleaved spirals (1.5 turns each), class 1 the point reflection of class 0."""
    n0 = n // 2
    r = np.sqrt(rng.uniform(0, 1, n))  # more points further out, where the arms are longer
    t = r * 3 * np.pi
    arm = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n - n0, np.int64)])
    x = np.where(y[:, None] == 0, arm, -arm) * 2 + rng.normal(0, noise, (n, 2))
    return x.astype(np.float32), y


def accuracy(model, x, y):
    with tl.no_grad():
        return float(np.mean(model(tl.Tensor(x)).data.argmax(axis=1) == y))


def train(args) -> int:
    if args.noise is None:
        args.noise = 0.1 if args.spirals else 0.2
    if not args.noise >= 0:
        raise cli.UsageError(f"--noise must be >= 0, got {args.noise}")
    if args.samples < 4:
        raise cli.UsageError(f"--samples must be at least 4, got {args.samples}")
    cli.check_paths(inputs={}, outputs={"--plot": [args.plot]})

    rng = np.random.default_rng(args.seed)
    x, y = (make_spirals if args.spirals else make_moons)(args.samples, args.noise, rng)
    perm = rng.permutation(len(x))
    test, train = perm[: len(x) // 4], perm[len(x) // 4 :]  # a quarter held out
    tl.manual_seed(args.seed)
    model = build_mlp(2, args.hidden, 2, activation="tanh")
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    watch = cli.LossWatch()
    xt = tl.Tensor(x[train])
    for step in range(args.epochs):
        loss = cross_entropy(model(xt), y[train])
        watch.check(step, loss.item())  # stops the run if the loss diverges
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (step + 1) % max(args.epochs // 5, 1) == 0:
            print(f"step {step + 1}: loss {loss.item():.4f}")

    train_acc, test_acc = accuracy(model, x[train], y[train]), accuracy(model, x[test], y[test])
    name = "spirals" if args.spirals else "moons"
    print(f"{name}: train accuracy {train_acc:.4f}  test accuracy {test_acc:.4f}")
    widths = "-".join(str(w) for w in [2, *args.hidden, 2])
    boundary_plot(args.plot, model, x, y,
                  f"two {name}, {widths} MLP: train {train_acc:.3f}, test {test_acc:.3f}")
    print(f"saved plot {args.plot}")
    print(f"wall time {time.perf_counter() - args.start_time:.1f} s")
    return 0


def parser():
    p = cli.OneLineParser(prog="moons.py",
                          description="Train an MLP on two moons (or spirals); plot its boundary.")
    p.add_argument("--samples", type=cli.positive(int), default=600, help="number of points (600)")
    p.add_argument("--noise", type=float,
                   help="Gaussian noise std (default 0.2 for moons, 0.1 for spirals)")
    p.add_argument("--spirals", action="store_true", help="two spirals instead of two moons")
    p.add_argument("--hidden", type=cli.positive(int), nargs="+", default=[16, 16], metavar="W",
                   help="hidden layer widths (default 16 16)")
    p.add_argument("--epochs", type=cli.positive(int), default=500,
                   help="full-batch Adam steps (default 500)")
    p.add_argument("--lr", type=cli.positive(float), default=0.02, help="Adam learning rate (0.02)")
    p.add_argument("--seed", type=cli.seed, default=0, help="seed of the data and the init (0)")
    p.add_argument("--plot", metavar="PATH", default="moons.png",
                   help="decision-boundary PNG to write (default moons.png)")
    cli.add_threads_flag(p)
    return p


def main(argv=None) -> int:
    return cli.run(parser(), train, argv)


if __name__ == "__main__":
    sys.exit(main())
