"""The machinery of the MNIST example scripts: flags and presets, loading and checking the
data, checkpoints with their records, the training log, the final evaluation and outputs.

The scripts (``examples/mnist_two_layer.py``, ``mnist_cnn.py``, ``predict.py``) keep what a
reader should see -- the data split, the model, the training loop -- and call these for the
rest.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np

from tinygrad_lite import Tensor, from_numpy, nn, no_grad, optim, trace_backward, viz
from tinygrad_lite import onnx as tl_onnx
from tinygrad_lite.data import DataError, DataLoader, dataset_files, load_dataset, to_float
from tinygrad_lite.nn.functional import cross_entropy
from tinygrad_lite.tools.compare import compare_gradients

from . import checkpoint, models, reference
from .checkpoint import CheckpointError
from .cli import (
    LossWatch,
    OneLineParser,
    UsageError,
    add_threads_flag,
    check_paths,
    non_negative_int,
    note_saved,
    positive,
    progress,
    say,
    seed,
    set_postfix,
)
from .plots import training_plot

NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28)
DEV_SIZE = 1000  # the notebook's dev set: the first 1,000 shuffled images
MIN_TRAIN = 10  # fewer images leave no dev set (a tenth of the set, at most 1,000)
GRAPH_SUFFIXES = (".dot", ".svg", ".png", ".pdf")

# What each preset of mnist_two_layer.py sets; flags given on the command line override.
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

DATA_HELP = ("a folder of MNIST-named IDX files (train-images-idx3-ubyte[.gz] ...; any 28x28 "
             "10-class set such as Fashion-MNIST) or a Kaggle train.csv (default: the MNIST "
             "copy shipped in data/mnist)")
PLOT_HELP = ("write a PNG with loss and accuracy curves, the test confusion matrix and "
             "misclassified test digits")


# ---- mnist_two_layer.py's flags --------------------------------------------------------------


def mlp_parser() -> OneLineParser:
    p = OneLineParser(
        prog="mnist_two_layer.py",
        description="Train an MLP on MNIST with tinygrad_lite. No flags = the notebook, exactly.",
        epilog="Presets: " + "; ".join(
            f"{name}: " + ", ".join(f"{k}={v}" for k, v in cfg.items())
            for name, cfg in PRESETS.items()
        ),
    )
    p.add_argument("--preset", choices=sorted(PRESETS), default="notebook",
                   help="starting configuration; other flags override it (default: notebook)")
    p.add_argument("--data", metavar="PATH", help=DATA_HELP)
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
    p.add_argument("--seed", type=seed, default=0,
                   help="seed of the shuffle, the init and the batch order, 0 <= seed < 2**32 "
                        "(default 0)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                   help="training precision (default float32; float64 matches the hand-written "
                        "reference to rounding)")
    p.add_argument("--log-every", type=positive(int), metavar="N",
                   help="print progress every N iterations (default: 200 for gd, as the "
                        "notebook; every epoch otherwise)")
    p.add_argument("--check-manual", type=positive(int), metavar="N",
                   help="every N iterations compare the autograd gradients with the notebook's "
                        "hand-derived ones (examples.common.reference) on the current batch and "
                        "print the max abs difference (one hidden layer only)")
    p.add_argument("--save", metavar="PATH",
                   help="save weights and architecture to this .npz (written atomically, "
                        "before the final evaluation)")
    p.add_argument("--load", metavar="PATH",
                   help="start from a model saved with --save (its architecture must match)")
    add_export_onnx_flag(p)
    p.add_argument("--plot", metavar="PATH", help=PLOT_HELP)
    p.add_argument("--graph", metavar="PATH",
                   help="after training, write the net's computation graph (ops, shapes, "
                        "parameter names, gradient norms of one forward/backward pass) as "
                        "PATH with suffix .dot, and draw PATH itself (.svg, .png, .pdf) "
                        "without Graphviz")
    add_run_flags(p)
    return p


def resolve_mlp(args: argparse.Namespace) -> argparse.Namespace:
    """Merge the preset into `args` (flags win), check the combination and the file paths.

    Afterwards args.hidden, init, optimizer, lr, schedule, batch_size (None for gd: full
    batch), iterations / epochs (one of them None) and dtype (a numpy dtype) are all set;
    args.hidden_flag keeps what --hidden said (None if not given)."""
    preset = PRESETS[args.preset]
    args.hidden_flag = args.hidden
    optimizer = args.optimizer or preset["optimizer"]
    same_optimizer = optimizer == preset["optimizer"]
    args.hidden = args.hidden or preset["hidden"]
    # the notebook's U[-0.5, 0.5) init suits only its narrow net: wider nets get Kaiming
    args.init = args.init or (preset["init"] if args.hidden == preset["hidden"] else "kaiming")
    args.optimizer = optimizer
    args.lr = args.lr or (preset["lr"] if same_optimizer else DEFAULT_LR[optimizer])
    args.schedule = args.schedule or preset["schedule"]
    args.dtype = np.dtype(args.dtype)
    if optimizer == "gd":
        if args.batch_size is not None:
            raise UsageError("--batch-size does not apply to --optimizer gd (full batch); "
                             "use --optimizer sgd for mini-batches")
    else:
        args.batch_size = args.batch_size or preset.get("batch_size", DEFAULT_BATCH_SIZE)
    if args.iterations is None and args.epochs is None:
        if same_optimizer:
            args.iterations, args.epochs = preset.get("iterations"), preset.get("epochs")
        elif optimizer == "gd":
            args.iterations = PRESETS["notebook"]["iterations"]
        else:
            args.epochs = DEFAULT_EPOCHS
    if 0 in (args.iterations, args.epochs) and not args.load:
        raise UsageError("--iterations/--epochs must be positive (0 only with --load, to "
                         "evaluate a saved model)")
    if args.check_manual and len(args.hidden) != 1:
        widths = " ".join(map(str, args.hidden))
        raise UsageError("--check-manual compares with the notebook's two-layer net: it needs "
                         f"exactly one hidden layer, got --hidden {widths}")
    if not args.load:  # a model that cannot fit is refused before the data is read
        models.check_size(models.mlp_arch(784, args.hidden, NUM_CLASSES, dtype=args.dtype))
    check_outputs(args)
    return args


def graph_outputs(path: Optional[str]) -> List[Optional[str]]:
    """The files --graph PATH writes: PATH.dot and PATH (when not itself .dot)."""
    if path is None:
        return []
    if Path(path).suffix.lower() not in GRAPH_SUFFIXES:
        raise UsageError(f"--graph {path}: needs one of the suffixes {', '.join(GRAPH_SUFFIXES)}")
    return list(dict.fromkeys([str(Path(path).with_suffix(".dot")), path]))


def add_run_flags(p: argparse.ArgumentParser) -> None:
    """--no-progress and --threads, the training scripts' last flags."""
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (there is none anyway when stderr is not a terminal)")
    add_threads_flag(p)


def add_export_onnx_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--export-onnx", metavar="PATH",
                   help="also write the trained model (the one --save saves) as an ONNX graph "
                        "for ONNX Runtime: input 'input' (batch, 784) pixel rows, output "
                        "'output' (batch, 10) logits; needs the onnx extra "
                        f"({tl_onnx.EXTRA_HINT})")


def export_onnx(path: str, model: nn.Module, X: np.ndarray) -> None:
    """--export-onnx: `model` (eval semantics) as ONNX, `X[:1]` the example input."""
    tl_onnx.export(model, X[:1], path)
    note_saved(path)
    say(f"exported {path} (ONNX opset {tl_onnx.OPSET}: 'input' (batch, {X.shape[1]}) "
        f"{X.dtype.name} -> 'output' (batch, {NUM_CLASSES}) logits)")


def check_outputs(args: argparse.Namespace) -> None:
    """cli.check_paths for the training scripts' flags; --export-onnx needs the onnx package."""
    if getattr(args, "export_onnx", None):
        try:
            tl_onnx.require_onnx()
        except ImportError as e:
            raise UsageError(f"--export-onnx: {e}") from None
    check_paths(
        inputs={"--data": dataset_files(args.data), "--load": [args.load]},
        outputs={"--save": [args.save], "--plot": [args.plot],
                 "--export-onnx": [getattr(args, "export_onnx", None)],
                 "--graph": graph_outputs(getattr(args, "graph", None))},
    )


# ---- mnist_cnn.py's flags --------------------------------------------------------------------


def cnn_parser() -> OneLineParser:
    p = OneLineParser(prog="mnist_cnn.py",
                      description="Train a small CNN on MNIST with tinygrad_lite.")
    p.add_argument("--data", metavar="PATH", help=DATA_HELP)
    p.add_argument("--epochs", type=non_negative_int, default=4,
                   help="passes over the training set (default 4; 0 with --load: evaluate only)")
    p.add_argument("--batch-size", type=positive(int), default=128, metavar="B",
                   help="mini-batch size (default 128)")
    p.add_argument("--lr", type=positive(float), default=3e-3,
                   help="peak AdamW learning rate, decayed to 0 by a cosine (default 3e-3)")
    p.add_argument("--weight-decay", type=float, default=1e-2,
                   help="AdamW's decoupled weight decay (default 1e-2)")
    p.add_argument("--channels", type=positive(int), nargs="+", default=[16, 32], metavar="C",
                   help="output channels of the conv blocks (default 16 32)")
    p.add_argument("--hidden", type=positive(int), default=128,
                   help="width of the hidden layer of the head (default 128)")
    p.add_argument("--dropout", type=float, default=0.25, help="dropout probability (0.25)")
    p.add_argument("--limit", type=positive(int), metavar="N",
                   help="train on the first N (shuffled) training images only, for quick runs")
    p.add_argument("--seed", type=seed, default=0,
                   help="seed of the shuffle, the init, dropout and the batch order (default 0)")
    p.add_argument("--save", metavar="PATH",
                   help="save weights, batch-norm statistics and architecture to this .npz "
                        "(before the final evaluation)")
    p.add_argument("--load", metavar="PATH", help="start from a model saved with --save")
    add_export_onnx_flag(p)
    p.add_argument("--plot", metavar="PATH", help=PLOT_HELP)
    add_run_flags(p)
    return p


def resolve_cnn(args: argparse.Namespace) -> argparse.Namespace:
    if args.epochs == 0 and not args.load:
        raise UsageError("--epochs must be positive (0 only with --load, to evaluate)")
    if not 0 <= args.dropout < 1:
        raise UsageError(f"--dropout must be in [0, 1), got {args.dropout}")
    if not args.weight_decay >= 0:
        raise UsageError(f"--weight-decay must be >= 0, got {args.weight_decay}")
    if not args.load:
        models.check_size(models.cnn_arch(IMAGE_SHAPE, args.channels, args.hidden,
                                          dropout=args.dropout))
    check_outputs(args)
    return args


# ---- data ------------------------------------------------------------------------------------


def load(source: Optional[str], dtype: Any = np.float32) -> Tuple[np.ndarray, np.ndarray,
                                                                   Optional[Tuple], str]:
    """(images uint8 (N, 28, 28), labels int64 (N,), test set (X rows of `dtype` in [0, 1],
    y int64) or None, description) of a dataset (load_dataset), checked for what the examples
    need: 28x28 images, labels 0..9, at least 10 training images."""
    ds = load_dataset(source)
    images, labels = ds["train"]
    for name in ("train", "test"):
        if ds[name] is None:
            continue
        x, y = ds[name]
        if x.shape[1:] != IMAGE_SHAPE:
            raise DataError(f"{ds['source']}: {name} images are {x.shape[1]}x{x.shape[2]}; "
                            f"these examples take 28x28 images")
        if len(y) and int(y.max()) >= NUM_CLASSES:
            raise DataError(f"{ds['source']}: {name} labels go up to {int(y.max())}; these "
                            f"examples train {NUM_CLASSES}-class classifiers")
    if len(images) < MIN_TRAIN:
        raise DataError(f"{ds['source']}: only {len(images)} training image(s); at least "
                        f"{MIN_TRAIN} are needed (a tenth is held out as the dev set)")
    test = None
    if ds["test"] is not None:
        test = (to_float(ds["test"][0], dtype), ds["test"][1].astype(np.int64))
    return images, labels.astype(np.int64), test, ds["source"]


def prepare_data(source: Optional[str], rng: np.random.RandomState, limit: Optional[int] = None,
                 dtype: Any = np.float32) -> Dict[str, Any]:
    """mnist_two_layer.py's data, for code that wants it without the script (the benchmarks'
    hand-written reference): load, shuffle with `rng` (as np.random.shuffle), the first
    min(1,000, N/10) images as the dev set, the next `limit` as the training set.
    Returns {"train": (X, y), "dev": (X, y), "test": (X, y) or None, "source": str}."""
    images, labels, test, source = load(source, dtype)
    perm = rng.permutation(len(images))
    images, labels = images[perm], labels[perm]
    n_dev = min(DEV_SIZE, len(images) // 10)
    return {"train": (to_float(images[n_dev:][:limit], dtype), labels[n_dev:][:limit]),
            "dev": (to_float(images[:n_dev], dtype), labels[:n_dev]), "test": test,
            "source": source}


def batches(X: np.ndarray, y: np.ndarray, batch_size: Optional[int],
            seed: int) -> Iterator[Tuple[Tensor, np.ndarray]]:
    """Endless (x, y) batches: the whole set every step (batch_size None: gradient descent, as
    the notebook), or shuffled mini-batches, a fresh order every epoch."""
    if batch_size is None:
        xt = from_numpy(X)
        while True:
            yield xt, y
    loader = DataLoader(X, y, batch_size=batch_size, shuffle=True, rng=np.random.default_rng(seed))
    while True:
        for xb, yb in loader:
            yield from_numpy(xb), yb


# ---- models from checkpoints -----------------------------------------------------------------


def resume(path: str, kind: str, hidden: Optional[List[int]] = None) -> nn.Sequential:
    """The model of a checkpoint that must hold a `kind` ("mlp"/"cnn") for 28x28 digits (and
    an MLP of the widths --hidden gives, when it was given)."""
    model, arch = checkpoint.load_model(path)
    if arch["kind"] != kind:
        script = {"mlp": "mnist_two_layer.py", "cnn": "mnist_cnn.py"}[arch["kind"]]
        raise CheckpointError(f"{path}: holds {models.describe(arch)}, but this script trains "
                              f"{'an MLP' if kind == 'mlp' else 'a CNN'} (use {script})")
    takes = arch["in_features"] == 784 if kind == "mlp" else arch["image_shape"] == [28, 28]
    if not takes or arch["out_features"] != NUM_CLASSES:
        raise CheckpointError(f"{path}: {models.describe(arch)} does not take 28x28 images to "
                              f"{NUM_CLASSES} classes")
    if hidden and list(hidden) != arch["hidden"]:
        asked = models.describe(models.mlp_arch(784, hidden, NUM_CLASSES))
        raise CheckpointError(f"{path}: checkpoint is {models.describe(arch)}, but --hidden "
                              f"asks for {asked}")
    return model


# ---- training log ----------------------------------------------------------------------------


def make_optimizer(model: nn.Module, name: str, lr: float) -> Any:
    """gd and sgd: SGD (the notebook's update, W = W - lr * dW); momentum: SGD with 0.9; adam."""
    if name in ("gd", "sgd"):
        return optim.SGD(model.parameters(), lr=lr)
    if name == "momentum":
        return optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    return optim.Adam(model.parameters(), lr=lr)


def make_schedule(optimizer: Any, name: str, iterations: int) -> Any:
    """cosine: CosineAnnealingLR to 0 over the run, stepped every iteration; constant: None."""
    if name != "cosine" or iterations == 0:
        return None
    return optim.CosineAnnealingLR(optimizer, T_max=iterations)


class TrainingLog:
    """The bookkeeping around a training loop, so that the loop itself stays the notebook's:
    the setup lines, the progress bar, the history (per-step loss and accuracy, dev accuracy
    at each report), the divergence check, the report lines, and `finish`.

    This one is mnist_two_layer.py's: it works out the number of iterations from --iterations
    or --epochs (`.iterations`) and how often to report (`.every`)."""

    eval_batch = 8192  # images per forward pass when evaluating
    train_eval = None  # the final train accuracy on at most this many images (None: all)

    def __init__(self, args: argparse.Namespace, model: nn.Module, source: str,
                 X_train: np.ndarray, dev: Tuple[np.ndarray, np.ndarray],
                 test: Optional[Tuple[np.ndarray, np.ndarray]]) -> None:
        self.args, self.model, self.source, self.dev = args, model, source, dev
        self.start = getattr(args, "start_time", time.perf_counter())
        self.train_start = time.perf_counter()
        self.train_time = 0.0
        self.history: Dict[str, List[float]] = {"loss": [], "acc": [], "dev_step": [],
                                                "dev_acc": []}
        self.watch = LossWatch()
        self.since: List[Tuple[float, float]] = []
        self.arch = models.arch_of(model)
        self.setup(len(X_train))
        n_test = 0 if test is None else len(test[0])
        self.header(f"data: {source}: train {len(X_train):,}, dev {len(dev[0]):,}, test "
                    f"{n_test:,} images; {args.threads_text}")

    def setup(self, n_train: int) -> None:
        args = self.args
        self.full_batch = args.batch_size is None
        self.batch = n_train if self.full_batch else min(args.batch_size, n_train)
        per_epoch = -(-n_train // self.batch)
        self.iterations = args.iterations if args.epochs is None else args.epochs * per_epoch
        self.every = args.log_every or (200 if self.full_batch else per_epoch)
        self.dev_every = max(self.iterations // 50, 1)
        self.record_fields = {"optimizer": args.optimizer, "lr": args.lr,
                              "iterations": self.iterations, "batch_size": self.batch}
        if args.check_manual and len(self.arch["hidden"]) != 1:
            raise UsageError(f"--check-manual needs one hidden layer; {args.load} is "
                             f"{models.describe(self.arch)}")
        init = f"loaded from {args.load}" if args.load else f"{args.init} init"
        batches = "full batch" if self.full_batch else f"batches of {self.batch}"
        self.title = (f"{models.describe(self.arch)}, {args.optimizer} lr {args.lr:g}, "
                      f"{self.iterations} iterations")
        self.model_line = (
            f"model: {models.describe(self.arch)} ({self.n_params():,} parameters, "
            f"{self.arch['dtype']}, {init}); {args.optimizer} lr {args.lr:g} ({args.schedule}), "
            f"{self.iterations:,} iterations, {batches}, seed {args.seed}")

    def n_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def header(self, data_line: str) -> None:
        say(data_line)
        say(self.model_line)

    def range(self) -> Iterator[int]:
        """range(self.iterations), with a progress bar when stderr is a terminal."""
        self.train_start = time.perf_counter()
        yield from progress(range(self.iterations), enabled=not self.args.no_progress,
                            desc="training", unit="it")
        self.train_time = time.perf_counter() - self.train_start

    def record(self, i: int, loss: Tensor, logits: Tensor, y: np.ndarray) -> float:
        """Note step i's loss and batch accuracy; raise TrainingDiverged if the loss diverges."""
        value = loss.item()
        self.watch.check(i, value)
        acc = float(np.mean(logits.data.argmax(axis=1) == y))
        self.history["loss"].append(value)
        self.history["acc"].append(acc)
        self.since.append((value, acc))
        if i % 20 == 0:
            set_postfix(loss=f"{value:.4f}")
        if self.full_batch and getattr(self.args, "plot", None) and i % self.dev_every == 0:
            self.dev_accuracy(i)  # --plot's dev-accuracy curve: 50 points, after i steps
        return value

    def dev_accuracy(self, step: int) -> Optional[float]:
        dev = accuracy(self.model, self.dev, self.eval_batch)
        self.history["dev_step"].append(step)
        self.history["dev_acc"].append(np.nan if dev is None else dev)
        return dev

    def line(self, i: int) -> str:
        """The report at step i. Full batch: the notebook's `Iteration: i  Accuracy: a`, the
        accuracy of this step's forward pass on the training set. Mini-batches: the mean
        training accuracy and loss of the batches since the last report, and dev accuracy."""
        loss, acc = np.mean(self.since, axis=0)
        self.since = []
        if self.full_batch:
            return f"Iteration: {i}  Accuracy: {self.history['acc'][-1]:.4f}"
        dev = self.dev_accuracy(i + 1)
        return f"Iteration: {i}  Accuracy: {acc:.4f}  loss {loss:.4f}  dev accuracy {fmt(dev)}"

    def finish(self, splits: Dict[str, Optional[Tuple[np.ndarray, np.ndarray]]]) -> int:
        """After training: save (first, so that nothing later can lose the model), measure the
        accuracy on each split ("train", "dev", "test"), save again with the accuracies in
        the record, then --plot and --graph, and the wall time."""
        args, model = self.args, self.model
        if self.train_eval is not None and splits["train"] is not None:
            x, y = splits["train"]
            splits = {**splits, "train": (x[: self.train_eval], y[: self.train_eval])}
        arch = {**self.arch, "trained": {
            "data": self.source, "seed": args.seed, **self.record_fields,
            "input": "pixels / 255, (H*W,) row-major, white digit on black",
            "image_shape": list(IMAGE_SHAPE)}}
        if args.save:
            checkpoint.save_checkpoint(args.save, model, arch)
            note_saved(args.save)
        if getattr(args, "export_onnx", None):
            export_onnx(args.export_onnx, model, splits["train"][0])
        results = {name: accuracy(model, split, self.eval_batch) for name, split in splits.items()}
        n = len(splits["train"][0])
        note = f" (first {n:,} images)" if self.train_eval is not None else ""
        say(f"train accuracy {fmt(results['train'])}{note}  dev accuracy "
            f"{fmt(results['dev'])}  test accuracy {fmt(results['test'])}")
        if args.save:
            arch["trained"].update({f"{k}_accuracy": v for k, v in results.items()})
            checkpoint.save_checkpoint(args.save, model, arch)
            say(f"saved {args.save}")
        if args.plot:
            name = "test" if splits["test"] is not None else "dev"
            steps = self.history["dev_step"]
            if results["dev"] is not None and steps and steps[-1] != len(self.history["loss"]):
                steps.append(len(self.history["loss"]))  # the final dev accuracy ends the curve
                self.history["dev_acc"].append(results["dev"])
            pred = predict_labels(model, splits[name][0], 1000)
            training_plot(args.plot, self.history, splits[name], name, pred, IMAGE_SHAPE,
                          f"{self.title} - {self.source}", full_batch=self.full_batch)
            say(f"saved plot {args.plot}")
        if getattr(args, "graph", None):
            x, y = splits["train"]
            write_graph(args.graph, model, x[: self.batch], y[: self.batch])
        say(f"wall time {time.perf_counter() - self.start:.1f} s (training "
            f"{self.train_time:.1f} s); {self.n_params():,} parameters")
        return 0


class EpochLog(TrainingLog):
    """mnist_cnn.py's log: epochs of mini-batches, a progress bar per epoch, the dev accuracy
    after each, evaluation 1,000 images at a time (bounds im2col's memory), the final train
    accuracy on the first 10,000 training images."""

    eval_batch = 1000
    train_eval = 10_000

    def setup(self, n_train: int) -> None:
        args = self.args
        self.full_batch, self.batch = False, min(args.batch_size, n_train)
        self.per_epoch = -(-n_train // self.batch)
        self.iterations = args.epochs * self.per_epoch
        self.record_fields = {"epochs": args.epochs, "optimizer": "adamw", "lr": args.lr,
                              "weight_decay": args.weight_decay, "batch_size": self.batch}
        origin = f"loaded from {args.load}" if args.load else "PyTorch-style init"
        self.title = f"{models.describe(self.arch)}, {args.epochs} epochs"
        self.model_line = f"model: {models.describe(self.arch)}; {self.n_params():,} " \
                          f"parameters ({origin})"
        if args.epochs:
            self.model_line += (f"\ntraining: {args.epochs} epochs, batches of {self.batch}, "
                                f"AdamW lr {args.lr:g} (cosine to 0), weight decay "
                                f"{args.weight_decay:g}, seed {args.seed}")

    def epoch(self, loader: Any, epoch: int) -> Iterator:
        """The batches of one epoch, with a progress bar when stderr is a terminal."""
        if epoch == 1:
            self.train_start = time.perf_counter()
        yield from progress(loader, enabled=not self.args.no_progress, unit="batch",
                            desc=f"epoch {epoch}/{self.args.epochs}")
        self.train_time = time.perf_counter() - self.train_start

    def epoch_line(self, epoch: int) -> str:
        loss, acc = np.mean(self.since, axis=0)
        self.since = []
        dev = self.dev_accuracy(len(self.history["loss"]))
        return f"epoch {epoch}: loss {loss:.4f}  train acc {acc:.4f}  dev acc {fmt(dev)}"


def check_manual(model: nn.Module, x: Tensor, y: np.ndarray, i: int) -> None:
    """Compare autograd's gradients for this batch with the notebook's hand-derived ones
    (reference.backward_prop, on X = x.T) through tl.compare_gradients: print the largest
    difference, and the whole table when a gradient does not match. The .grad arrays the
    training loop computed are left as they are."""
    params = list(model.parameters())
    W1, b1, W2, b2 = reference.params_from_state([p.data for p in params])

    def loss_fn(model: nn.Module) -> Tuple[Tensor, Dict[str, Tensor]]:
        return cross_entropy(model(x), y), dict(zip(("W1", "b1", "W2", "b2"), params))

    def backward_prop(model: nn.Module) -> Dict[str, np.ndarray]:
        X = x.data.T
        Z1, A1, Z2, A2 = reference.forward_prop(W1, b1, W2, b2, X)
        grads = reference.backward_prop(Z1, A1, Z2, A2, W1, W2, X, y)
        return dict(zip(("dW1", "db1", "dW2", "db2"), grads))

    report = compare_gradients(loss_fn, model, backward_prop)
    scale = max(float(np.max(np.abs(g))) for g in report.autograd.values())
    say(f"check-manual iteration {i}: max |autograd - hand-derived| gradient difference "
        f"{report.max_abs_diff:.3g} (largest gradient {scale:.3g})")
    if not report.ok:
        say(str(report))


# ---- evaluation and outputs ------------------------------------------------------------------


def predict_labels(model: nn.Module, X: np.ndarray, batch_size: int = 8192) -> np.ndarray:
    """Predicted class of each row of X, in eval mode (batch norm's running statistics, no
    dropout), without recording a graph."""
    was_training = model.training
    model.eval()
    out = [np.zeros(0, dtype=np.int64)]
    try:
        with no_grad():
            for i in range(0, len(X), batch_size):
                out.append(model(from_numpy(X[i : i + batch_size])).data.argmax(axis=1))
    finally:
        model.train(was_training)
    return np.concatenate(out)


def accuracy(model: nn.Module, split: Optional[Tuple[np.ndarray, np.ndarray]],
             batch_size: int = 8192) -> Optional[float]:
    if split is None or len(split[0]) == 0:
        return None
    return float(np.mean(predict_labels(model, split[0], batch_size) == split[1]))


def fmt(acc: Optional[float]) -> str:
    return "n/a" if acc is None else f"{acc:.4f}"


def write_graph(path: str, model: nn.Module, X: np.ndarray, y: np.ndarray) -> None:
    """One forward/backward pass on (X, y), traced; its graph to PATH.dot, and to PATH drawn
    without Graphviz (.svg in pure Python, .png/.pdf through matplotlib; without matplotlib
    a one-line note)."""
    model.zero_grad()
    loss = cross_entropy(model(from_numpy(X)), y)
    with trace_backward(file=io.StringIO()) as trace:  # keeps intermediate gradient norms
        loss.backward()
    dot_path = str(Path(path).with_suffix(".dot"))
    say(f"saved graph {viz.draw(loss, dot_path, model, trace=trace)}")
    if dot_path != path:
        try:
            say(f"saved graph {viz.draw(loss, path, model, trace=trace)}")
        except ImportError as e:  # a .png or .pdf without matplotlib
            print(f"{path} not written: {e}", file=sys.stderr)


# ---- predict.py ------------------------------------------------------------------------------


def predict_parser() -> OneLineParser:
    p = OneLineParser(
        prog="predict.py",
        description="Predict digits with a model saved by mnist_two_layer.py --save or "
                    "mnist_cnn.py --save: one PNG (or other image) per argument, or a Kaggle "
                    "test.csv -> submission.csv.",
    )
    p.add_argument("model", help="the .npz written by --save (an MLP or a CNN)")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image files (grey or colour, 8 or 16 bit; centred and scaled as MNIST's "
                        "digits were), or one Kaggle .csv")
    p.add_argument("--out", default="submission.csv",
                   help="where a .csv input's predictions go (default submission.csv)")
    add_threads_flag(p)
    return p


def resolve_predict(args: argparse.Namespace) -> argparse.Namespace:
    """args.csv: the one .csv input, or None for images; --out checked when it will be written."""
    csvs = [p for p in args.inputs if p.lower().endswith((".csv", ".csv.gz"))]
    if csvs and len(args.inputs) > 1:
        raise UsageError("give either one .csv or image files, not both / several csvs")
    args.csv = csvs[0] if csvs else None
    check_paths(inputs={"MODEL": [args.model], "INPUT": args.inputs},
                outputs={"--out": [args.out] if args.csv else []})
    return args
