#!/usr/bin/env python
"""MNIST with tinygrad_lite: the notebook's two-layer net reproduced, then pushed further.

With no flags this is the original notebook, exactly, on the MNIST copy shipped in data/mnist:
the 60,000 training images are shuffled with the seed, the first 1,000 held out as a dev set
and the other 59,000 trained on; the net is 784 -> 10 ReLU -> 10 with the notebook's
U[-0.5, 0.5) init (drawn from the same random stream, after the shuffle, as the notebook's
`np.random.rand`), trained by full-batch gradient descent on the cross-entropy, lr 0.1, 2,000
iterations, printing the iteration and training accuracy every 200 as the notebook did. It
ends with train, dev and MNIST-test accuracy and the wall time. The net is built from
nn.Linear, nn.ReLU and cross_entropy; every gradient comes from autograd.

    python examples/mnist_two_layer.py                     # the notebook (~2.5 min on 2 cores)
    python examples/mnist_two_layer.py --preset fast       # 784-512-10, Adam: >= 98% in ~10 s
    python examples/mnist_two_layer.py --limit 2000 --iterations 300 --plot run.png
    python examples/mnist_two_layer.py --dtype float64 --check-manual 200
    python examples/mnist_two_layer.py --iterations 10 --graph graph.svg   # + graph.dot
    python examples/mnist_two_layer.py --save model.npz
    python examples/predict.py model.npz my_digit.png        # or a Kaggle test.csv
    python examples/mnist_two_layer.py --data path/to/kaggle/train.csv
    python examples/mnist_two_layer.py --data path/to/fashion-mnist/   # any 28x28 10-class IDX set

Bad input (a missing or malformed file, a checkpoint of another architecture, a non-positive
learning rate...) exits with status 2 and a one-line message. A loss that stops being finite
(a too-large learning rate) stops training with a message naming the iteration (status 1).

On a machine busy with other work, OPENBLAS_NUM_THREADS=1 makes runs several times faster
(OpenBLAS's threads wait on each other when they have to share the cores).
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np
from tqdm import tqdm

import tinygrad_lite as tl
from tinygrad_lite import nn, reference
from tinygrad_lite.checkpoint import (
    CheckpointError,
    atomic_write,
    build_mlp,
    describe,
    load_checkpoint,
    mlp_arch,
    save_checkpoint,
)
from tinygrad_lite.data import DataError, DataLoader, load_dataset, to_float
from tinygrad_lite.nn.functional import cross_entropy

NUM_CLASSES = 10
DEV_SIZE = 1000  # the notebook's dev set: the first 1,000 shuffled images

# What each preset sets; flags given on the command line override.
PRESETS: Dict[str, Dict[str, Any]] = {
    # the notebook: 784-10-10, U[-0.5, 0.5) init, full-batch gradient descent
    "notebook": {"hidden": [10], "init": "notebook", "optimizer": "gd", "lr": 0.1,
                 "iterations": 2000, "schedule": "constant"},
    # how far the same framework goes in ~20 s: wider, Adam, mini-batches, cosine decay
    "fast": {"hidden": [512], "init": "kaiming", "optimizer": "adam", "lr": 2e-3,
             "epochs": 6, "batch_size": 128, "schedule": "cosine"},
}
# learning rate used when --optimizer differs from the preset's and --lr is not given
DEFAULT_LR = {"gd": 0.1, "sgd": 0.1, "momentum": 0.05, "adam": 1e-3}
DEFAULT_BATCH_SIZE = 128
DEFAULT_EPOCHS = 5


class UsageError(Exception):
    """Bad command-line input discovered after parsing (reported like argparse's errors)."""


class NonFiniteLoss(Exception):
    def __init__(self, iteration: int, value: float):
        super().__init__(
            f"loss became {value} at iteration {iteration}; training stopped "
            f"(learning rate too large?)"
        )


class OneLineParser(argparse.ArgumentParser):
    """argparse, but errors are one line on stderr (no usage block) and exit with status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see --help)\n")


def positive(kind: type):
    """argparse type: a number of `kind` that must be > 0."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if not value > 0 or (kind is float and not math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"must be positive and finite, got {text}")
        return value

    parse.__name__ = f"positive {kind.__name__}"
    return parse


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def make_parser() -> OneLineParser:
    p = OneLineParser(
        description="Train an MLP on MNIST with tinygrad_lite. No flags = the notebook, exactly.",
        epilog="Presets: " + "; ".join(
            f"{name}: " + ", ".join(f"{k}={v}" for k, v in cfg.items())
            for name, cfg in PRESETS.items()
        ),
    )
    p.add_argument("--preset", choices=sorted(PRESETS), default="notebook",
                   help="starting configuration; other flags override it (default: notebook)")
    p.add_argument("--data", metavar="PATH",
                   help="a folder of MNIST-named IDX files (train-images-idx3-ubyte[.gz] ...; "
                        "any 28x28 10-class set such as Fashion-MNIST) or a Kaggle train.csv "
                        "(default: the MNIST copy shipped in data/mnist)")
    p.add_argument("--hidden", type=positive(int), nargs="+", metavar="WIDTH",
                   help="hidden layer widths, e.g. --hidden 10 (the notebook) or --hidden 256 128")
    p.add_argument("--init", choices=["notebook", "kaiming"],
                   help="notebook: U[-0.5, 0.5) for every weight and bias, drawn after the "
                        "shuffle from the seeded stream; kaiming: nn.Linear's default "
                        "(PyTorch's) init (default: the preset's for its widths, else kaiming)")
    p.add_argument("--optimizer", choices=["gd", "sgd", "momentum", "adam"],
                   help="gd: full-batch gradient descent (the notebook); sgd: mini-batch SGD; "
                        "momentum: SGD with momentum 0.9; adam: Adam")
    p.add_argument("--lr", type=positive(float),
                   help="learning rate (default: the preset's; else gd/sgd 0.1, momentum 0.05, "
                        "adam 1e-3)")
    p.add_argument("--schedule", choices=["constant", "cosine"],
                   help="learning-rate schedule over the run (cosine: decays to 0 at the end)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--iterations", type=non_negative_int, metavar="N",
                        help="number of optimizer steps (0 only with --load: just evaluate)")
    length.add_argument("--epochs", type=non_negative_int, metavar="N",
                        help="passes over the training set (for gd one epoch is one step)")
    p.add_argument("--batch-size", type=positive(int), metavar="B",
                   help=f"mini-batch size for sgd/momentum/adam (default {DEFAULT_BATCH_SIZE}); "
                        f"gd always uses the whole training set")
    p.add_argument("--limit", type=positive(int), metavar="N",
                   help="train on the first N (shuffled) training images only, for quick runs")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the shuffle, the init and the batch order (default 0)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                   help="training precision (default float32; float64 matches the hand-written "
                        "reference to rounding)")
    p.add_argument("--log-every", type=positive(int), metavar="N",
                   help="print progress every N iterations (default: 200 for gd, as the "
                        "notebook; every epoch otherwise)")
    p.add_argument("--check-manual", type=positive(int), metavar="N",
                   help="every N iterations compare the autograd gradients with the notebook's "
                        "hand-derived ones (tinygrad_lite.reference) on the current batch and "
                        "print the max abs difference (one hidden layer only)")
    p.add_argument("--save", metavar="PATH",
                   help="save weights and architecture to this .npz (written atomically)")
    p.add_argument("--load", metavar="PATH",
                   help="start from a model saved with --save (its architecture must match)")
    p.add_argument("--plot", metavar="PATH",
                   help="write a PNG with loss and accuracy curves, the test confusion matrix "
                        "and misclassified test digits")
    p.add_argument("--graph", metavar="PATH",
                   help="after training, write the net's computation graph (ops, shapes, "
                        "parameter names, gradient norms of one forward/backward pass) as "
                        "PATH with suffix .dot, and render PATH itself (.svg, .png, .pdf) "
                        "with Graphviz's dot program when it is installed")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


# ---- configuration -------------------------------------------------------------------------


def resolve_config(args: argparse.Namespace) -> Dict[str, Any]:
    """Merge the preset and the flags into one plain dict; reject inconsistent combinations."""
    preset = PRESETS[args.preset]
    optimizer = args.optimizer or preset["optimizer"]
    same_optimizer = optimizer == preset["optimizer"]
    hidden = args.hidden or preset["hidden"]
    cfg: Dict[str, Any] = {
        "hidden": hidden,
        # the notebook's U[-0.5, 0.5) init suits only its narrow net: wider nets get Kaiming
        "init": args.init or (preset["init"] if hidden == preset["hidden"] else "kaiming"),
        "optimizer": optimizer,
        "lr": args.lr or (preset["lr"] if same_optimizer else DEFAULT_LR[optimizer]),
        "schedule": args.schedule or preset["schedule"],
        "dtype": np.dtype(args.dtype),
        "seed": args.seed,
    }
    if optimizer == "gd":
        if args.batch_size is not None:
            raise UsageError("--batch-size does not apply to --optimizer gd (full batch); "
                             "use --optimizer sgd for mini-batches")
        cfg["batch_size"] = None
    else:
        cfg["batch_size"] = args.batch_size or preset.get("batch_size", DEFAULT_BATCH_SIZE)
    if args.iterations is not None:
        cfg["iterations"], cfg["epochs"] = args.iterations, None
    elif args.epochs is not None:
        cfg["iterations"], cfg["epochs"] = None, args.epochs
    elif same_optimizer:
        cfg["iterations"], cfg["epochs"] = preset.get("iterations"), preset.get("epochs")
    elif optimizer == "gd":
        cfg["iterations"], cfg["epochs"] = PRESETS["notebook"]["iterations"], None
    else:
        cfg["iterations"], cfg["epochs"] = None, DEFAULT_EPOCHS
    if (cfg["iterations"] == 0 or cfg["epochs"] == 0) and not args.load:
        raise UsageError("--iterations/--epochs must be positive (0 only with --load, to "
                         "evaluate a saved model)")
    if args.check_manual and len(cfg["hidden"]) != 1:
        widths = " ".join(map(str, cfg["hidden"]))
        raise UsageError("--check-manual compares with the notebook's two-layer net: it needs "
                         f"exactly one hidden layer, got --hidden {widths}")
    for flag, path in (("--save", args.save), ("--plot", args.plot), ("--graph", args.graph)):
        if path is not None:
            folder = Path(path).parent
            if not folder.is_dir():
                raise UsageError(f"{flag} {path}: folder {folder} does not exist")
            if Path(path).is_dir():
                raise UsageError(f"{flag} {path}: is a folder")
    return cfg


# ---- data ----------------------------------------------------------------------------------


def prepare_data(
    source: Optional[str],
    rng: np.random.RandomState,
    limit: Optional[int],
    dtype: np.dtype,
    train_order: str = "C",
) -> Dict[str, Any]:
    """Load, shuffle with `rng` (as the notebook's np.random.shuffle), split off the dev set.

    Returns {"train": (X, y), "dev": (X, y), "test": (X, y) or None, "source", "image_shape"}
    with X (N, 784) floats in [0, 1] and y (N,) int64 labels. `train_order="F"` stores the
    training images column-major: x = X.T for the notebook's X (784, N), the layout in which
    nn.Linear's full-batch products run ~1.5x faster (W @ X rather than x @ W.T).
    """
    ds = load_dataset(source)
    images, labels = ds["train"]
    if len(images) < 2:
        raise DataError(f"{ds['source']}: only {len(images)} training image(s)")
    for name in ("train", "test"):
        if ds[name] is not None and int(ds[name][1].max()) >= NUM_CLASSES:
            raise DataError(f"{ds['source']}: {name} labels go up to {int(ds[name][1].max())}; "
                            f"this example trains {NUM_CLASSES}-class classifiers")
    perm = rng.permutation(len(images))  # the same draws as np.random.shuffle(data)
    images, labels = images[perm], labels[perm]
    n_dev = min(DEV_SIZE, len(images) // 10)

    def split(x: np.ndarray, y: np.ndarray, order: str = "C") -> Tuple[np.ndarray, np.ndarray]:
        return to_float(x, dtype, order), y.astype(np.int64)

    train_x, train_y = images[n_dev:], labels[n_dev:]
    if limit is not None:
        train_x, train_y = train_x[:limit], train_y[:limit]
    return {
        "train": split(train_x, train_y, train_order),
        "dev": split(images[:n_dev], labels[:n_dev]),
        "test": split(*ds["test"]) if ds["test"] is not None else None,
        "source": ds["source"],
        "image_shape": images.shape[1:],
    }


def batches(
    X: np.ndarray, y: np.ndarray, batch_size: Optional[int], seed: int
) -> Iterator[Tuple[tl.Tensor, np.ndarray]]:
    """Endless (x, y) batches: the whole set every step (batch_size None, gradient descent), or
    shuffled mini-batches, a fresh order every epoch."""
    if batch_size is None:
        xt = tl.Tensor(X)
        while True:
            yield xt, y
    loader = DataLoader(X, y, batch_size=batch_size, shuffle=True, rng=np.random.default_rng(seed))
    while True:
        for xb, yb in loader:
            yield tl.Tensor(xb), yb


# ---- model ---------------------------------------------------------------------------------


def build_model(
    arch: Dict[str, Any], init: str, seed: int, rng: Optional[np.random.RandomState] = None
) -> nn.Sequential:
    """Sequential(Linear, ReLU, ..., Linear) for `arch` (checkpoint.mlp_arch), initialised:

    * "kaiming": nn.Linear's default (PyTorch's Kaiming-uniform weights), seeded by `seed`;
    * "notebook": every weight and bias U[-0.5, 0.5), in the order W1, b1, W2, b2, ..., drawn
      from `rng` -- the notebook's `np.random.rand(*shape) - 0.5` on the same stream.
    """
    tl.manual_seed(seed)
    model = build_mlp(arch)
    if init == "notebook":
        for p in model.parameters():
            nn.init.uniform_(p, -0.5, 0.5, rng)
    return model


def model_from_checkpoint(
    path: str,
    state: Dict[str, np.ndarray],
    arch: Dict[str, Any],
    hidden: Optional[List[int]],
    n_in: int,
    dtype: np.dtype,
) -> Tuple[nn.Sequential, Dict[str, Any]]:
    """The saved model, checked against the requested --hidden and the data, cast to `dtype`."""
    if hidden and list(hidden) != arch.get("hidden"):
        raise CheckpointError(f"{path}: checkpoint is {describe(arch)}, but --hidden asks for "
                              f"{describe(mlp_arch(n_in, hidden, NUM_CLASSES))}")
    if arch.get("in_features") != n_in or arch.get("out_features") != NUM_CLASSES:
        raise CheckpointError(f"{path}: checkpoint is {describe(arch)}, but the data needs "
                              f"{n_in} inputs and {NUM_CLASSES} classes")
    arch = mlp_arch(n_in, arch["hidden"], NUM_CLASSES, dtype)
    model = build_mlp(arch)
    try:
        model.load_state_dict(state)
    except ValueError as e:
        raise CheckpointError(f"{path}: {e}") from None
    return model, arch


def make_optimizer(model: nn.Module, name: str, lr: float) -> tl.optim.Optimizer:
    if name in ("gd", "sgd"):
        return tl.optim.SGD(model.parameters(), lr=lr)
    if name == "momentum":
        return tl.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    return tl.optim.Adam(model.parameters(), lr=lr)


def predict_labels(model: nn.Module, X: np.ndarray, batch_size: int = 8192) -> np.ndarray:
    """Predicted class of each row of X, without recording a graph."""
    out = [np.zeros(0, dtype=np.int64)]
    with tl.no_grad():
        for i in range(0, len(X), batch_size):
            out.append(model(tl.Tensor(X[i : i + batch_size])).data.argmax(axis=1))
    return np.concatenate(out)


def accuracy(model: nn.Module, split: Optional[Tuple[np.ndarray, np.ndarray]]) -> Optional[float]:
    if split is None or len(split[0]) == 0:
        return None
    return float(np.mean(predict_labels(model, split[0]) == split[1]))


def check_manual(model: nn.Module, xb: np.ndarray, yb: np.ndarray) -> Tuple[float, float]:
    """(max |autograd - hand-derived| over all gradients, largest hand-derived gradient) on this
    batch, using the notebook's backward_prop in the column convention (X = xb.T)."""
    params = list(model.parameters())
    W1, b1, W2, b2 = reference.params_from_state([p.data for p in params])
    X = xb.T
    Z1, A1, Z2, A2 = reference.forward_prop(W1, b1, W2, b2, X)
    manual = reference.backward_prop(Z1, A1, Z2, A2, W1, W2, X, yb)
    auto = reference.params_from_state([p.grad for p in params])
    diff = max(float(np.max(np.abs(a - m))) for a, m in zip(auto, manual))
    return diff, max(float(np.max(np.abs(m))) for m in manual)


# ---- training ------------------------------------------------------------------------------


def train(
    model: nn.Module,
    data: Dict[str, Any],
    cfg: Dict[str, Any],
    steps: int,
    log_every: int,
    check_every: Optional[int] = None,
    progress: bool = True,
) -> Dict[str, List[float]]:
    """`steps` optimizer steps; returns the history (per-step loss and batch accuracy, dev
    accuracy at each log line). Raises NonFiniteLoss if the loss stops being finite."""
    X, y = data["train"]
    optimizer = make_optimizer(model, cfg["optimizer"], cfg["lr"])
    schedule = None
    if cfg["schedule"] == "cosine":  # stepped every iteration, reaching 0 at the end
        schedule = tl.optim.CosineAnnealingLR(optimizer, T_max=steps)
    full_batch = cfg["batch_size"] is None
    history: Dict[str, List[float]] = {"loss": [], "acc": [], "dev_step": [], "dev_acc": []}
    since_log: List[Tuple[float, float]] = []
    stream = batches(X, y, cfg["batch_size"], cfg["seed"])
    bar = tqdm(range(steps), desc="training", unit="it", disable=not progress, file=sys.stderr)
    for i in bar:
        xb, yb = next(stream)
        logits = model(xb)
        loss = cross_entropy(logits, yb)
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            bar.close()
            raise NonFiniteLoss(i, loss_value)
        optimizer.zero_grad()
        loss.backward()
        if check_every and i % check_every == 0:
            diff, scale = check_manual(model, xb.data, yb)
            tqdm.write(f"check-manual iteration {i}: max |autograd - hand-derived| gradient "
                       f"difference {diff:.3g} (largest gradient {scale:.3g})")
        optimizer.step()
        if schedule is not None:
            schedule.step()

        batch_acc = float(np.mean(logits.data.argmax(axis=1) == yb))
        history["loss"].append(loss_value)
        history["acc"].append(batch_acc)
        since_log.append((loss_value, batch_acc))
        if full_batch and i % log_every == 0:
            # the notebook's report: accuracy of this iteration's forward pass on the train set
            tqdm.write(f"Iteration: {i}  Accuracy: {batch_acc:.4f}")
        elif not full_batch and ((i + 1) % log_every == 0 or i + 1 == steps):
            dev_acc = accuracy(model, data["dev"])
            history["dev_step"].append(i + 1)
            history["dev_acc"].append(np.nan if dev_acc is None else dev_acc)
            mean_loss, mean_acc = np.mean(since_log, axis=0)
            epoch = (i + 1) / math.ceil(len(X) / cfg["batch_size"])
            tqdm.write(f"Iteration: {i + 1} (epoch {epoch:.2f})  loss {mean_loss:.4f}  "
                       f"train acc {mean_acc:.4f}  dev acc {fmt(dev_acc)}")
            since_log = []
        if progress and i % 20 == 0:
            bar.set_postfix(loss=f"{loss_value:.4f}", refresh=False)
    bar.close()
    return history


def fmt(acc: Optional[float]) -> str:
    return "n/a" if acc is None else f"{acc:.4f}"


# ---- the plot ------------------------------------------------------------------------------


def save_plot(
    path: str,
    history: Dict[str, List[float]],
    split: Tuple[np.ndarray, np.ndarray],
    split_name: str,
    model: nn.Module,
    image_shape: Tuple[int, ...],
    title: str,
) -> None:
    """PNG: loss and accuracy curves, confusion matrix and misclassified digits of `split`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y = split
    pred = predict_labels(model, X)
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
    ax.set(xlabel="iteration", ylabel="cross-entropy", title="loss", yscale="log")
    ax.legend(fontsize=8)

    ax = fig.add_subplot(grid[0, 1])
    ax.plot(steps, history["acc"], lw=0.8, label="training accuracy (per batch)")
    if history["dev_step"]:
        ax.plot(history["dev_step"], history["dev_acc"], "o-", label="dev accuracy")
    ax.set(xlabel="iteration", ylabel="accuracy", title="accuracy", ylim=(0, 1))
    ax.legend(fontsize=8, loc="lower right")

    ax = fig.add_subplot(grid[1, 0])
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(confusion, (y, pred), 1)
    ax.imshow(confusion, cmap="Blues")
    for t in range(NUM_CLASSES):
        for p in range(NUM_CLASSES):
            if confusion[t, p]:
                dark = confusion[t, p] > confusion.max() / 2
                ax.text(p, t, str(confusion[t, p]), ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
    ax.set(xlabel="predicted", ylabel="true", xticks=range(NUM_CLASSES),
           yticks=range(NUM_CLASSES),
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
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=90))
    plt.close(fig)


# ---- the graph -----------------------------------------------------------------------------


def write_graph(path: str, model: nn.Module, X: np.ndarray, y: np.ndarray) -> None:
    """One forward/backward pass on (X, y), traced; its graph to PATH.dot, and to PATH rendered
    by Graphviz when PATH is an image and `dot` is installed (otherwise a one-line note)."""
    model.zero_grad()
    loss = cross_entropy(model(tl.Tensor(X)), y)
    with tl.trace_backward(file=io.StringIO()) as trace:  # keeps intermediate gradient norms
        loss.backward()
    dot_path = str(Path(path).with_suffix(".dot"))
    print(f"saved graph {tl.viz.draw(loss, dot_path, model, trace=trace)}")
    if dot_path != path:
        try:
            print(f"saved graph {tl.viz.draw(loss, path, model, trace=trace)}")
        except RuntimeError as e:  # no Graphviz, or a format it does not know
            print(f"{path} not written: {e}", file=sys.stderr)


# ---- main ----------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    cfg = resolve_config(args)
    loaded = load_checkpoint(args.load) if args.load else None  # bad checkpoints fail fast
    rng = np.random.RandomState(cfg["seed"])  # the notebook's np.random stream: shuffle, then init
    full_batch = cfg["batch_size"] is None
    data = prepare_data(args.data, rng, args.limit, cfg["dtype"], "F" if full_batch else "C")
    n_in = int(np.prod(data["image_shape"]))

    if loaded is not None:
        model, arch = model_from_checkpoint(args.load, *loaded, args.hidden, n_in, cfg["dtype"])
        cfg["hidden"] = arch["hidden"]
        if args.check_manual and len(cfg["hidden"]) != 1:
            raise UsageError(f"--check-manual needs one hidden layer; {args.load} is "
                             f"{describe(arch)}")
        init_text = f"loaded from {args.load}"
    else:
        arch = mlp_arch(n_in, cfg["hidden"], NUM_CLASSES, cfg["dtype"])
        model = build_model(arch, cfg["init"], cfg["seed"], rng)
        init_text = f"{cfg['init']} init"

    n_train = len(data["train"][0])
    batch = n_train if full_batch else min(cfg["batch_size"], n_train)
    steps_per_epoch = math.ceil(n_train / batch)
    steps = cfg["iterations"] if cfg["iterations"] is not None else cfg["epochs"] * steps_per_epoch
    log_every = args.log_every or (200 if full_batch else steps_per_epoch)

    n_test = 0 if data["test"] is None else len(data["test"][0])
    print(f"data: {data['source']}: train {n_train:,}, dev {len(data['dev'][0]):,}, "
          f"test {n_test:,} images")
    batch_text = "full batch" if full_batch else f"batches of {batch}"
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {describe(arch)} MLP ({n_params:,} parameters, "
          f"{cfg['dtype'].name}, {init_text}); {cfg['optimizer']} lr {cfg['lr']:g} "
          f"({cfg['schedule']}), {steps:,} iterations, {batch_text}, seed {cfg['seed']}")

    history: Dict[str, List[float]] = {"loss": [], "acc": [], "dev_step": [], "dev_acc": []}
    train_start = time.perf_counter()
    if steps:
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is caught by name
            history = train(model, data, cfg, steps, log_every, args.check_manual,
                            progress=not args.no_progress)
    train_time = time.perf_counter() - train_start

    results = {name: accuracy(model, data[name]) for name in ("train", "dev", "test")}
    print(f"train accuracy {fmt(results['train'])}  dev accuracy {fmt(results['dev'])}  "
          f"test accuracy {fmt(results['test'])}")

    if args.save:
        arch["trained"] = {
            "data": data["source"], "seed": cfg["seed"], "optimizer": cfg["optimizer"],
            "lr": cfg["lr"], "iterations": steps, "batch_size": batch,
            "input": "pixels / 255, (H*W,) row-major, white digit on black",
            "image_shape": list(data["image_shape"]), **{f"{k}_accuracy": v
                                                        for k, v in results.items()},
        }
        save_checkpoint(args.save, model, arch)
        print(f"saved {args.save}")
    if args.plot:
        split_name = "test" if data["test"] is not None else "dev"
        save_plot(args.plot, history, data[split_name], split_name, model, data["image_shape"],
                  f"{describe(arch)} MLP, {cfg['optimizer']} lr {cfg['lr']:g}, {steps} iterations"
                  f" - {data['source']}")
        print(f"saved plot {args.plot}")
    if args.graph:
        write_graph(args.graph, model, data["train"][0][:batch], data["train"][1][:batch])
    print(f"wall time {time.perf_counter() - start:.1f} s (training {train_time:.1f} s)")
    return 0


def run_cli(parser: argparse.ArgumentParser, body: Any, args: argparse.Namespace) -> int:
    """`body(args)`, with the scripts' exit conventions: bad input (UsageError, DataError,
    CheckpointError) -> one line on stderr and status 2; a diverging run -> status 1;
    Ctrl-C -> status 130. No tracebacks for any of these."""
    try:
        return body(args)
    except UsageError as e:
        parser.error(str(e))
    except (DataError, CheckpointError) as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 2
    except NonFiniteLoss as e:
        print(f"{parser.prog}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    return 2  # parser.error exits; not reached


def main(argv: Optional[List[str]] = None) -> int:
    parser = make_parser()
    return run_cli(parser, run, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
