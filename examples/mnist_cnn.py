#!/usr/bin/env python
"""A small convolutional net on MNIST with tinygrad_lite: >= 99% test accuracy on a CPU.

    image (1, 28, 28)
    -> Conv2d(1, 16, 3, padding=1) -> BatchNorm2d -> ReLU -> MaxPool2d(2)      16 x 14 x 14
    -> Conv2d(16, 32, 3, padding=1) -> BatchNorm2d -> ReLU -> MaxPool2d(2)     32 x 7 x 7
    -> Flatten -> Dropout(0.25) -> Linear(1568, 128) -> ReLU -> Dropout(0.25) -> Linear(128, 10)

206,970 parameters (the convolutions have no bias: batch norm's shift replaces it). It is
trained with AdamW and a cosine learning-rate schedule on mini-batches, a progress bar per
epoch, the dev accuracy after each epoch, and train/dev/MNIST-test accuracy at the end. Data
handling, the dev split and the plot are those of `mnist_two_layer.py` (the sibling script):
the training images are shuffled with the seed and the first 1,000 held out as a dev set.

    python examples/mnist_cnn.py                         # 4 epochs: >= 99% test accuracy
    python examples/mnist_cnn.py --channels 32 64        # wider (421,738 parameters)
    python examples/mnist_cnn.py --epochs 1 --limit 5000 --plot cnn.png
    python examples/mnist_cnn.py --save cnn.npz          # then: --load cnn.npz --epochs 0
    python examples/mnist_cnn.py --data path/to/kaggle/train.csv
    python examples/mnist_cnn.py --data path/to/fashion-mnist/   # any 28x28 10-class IDX set

Bad input (a missing or malformed file, a checkpoint of another architecture, a non-positive
learning rate...) exits with status 2 and a one-line message. A loss that stops being finite
stops training with a message naming the iteration (status 1).
"""

# ruff: noqa: E402  (the BLAS thread count below must be set before numpy is imported)
from __future__ import annotations

import os

# One BLAS thread unless the environment asks for more; this must happen before numpy loads
# OpenBLAS. numpy's elementwise work is single-threaded anyway, and on the shared 2-core machine
# a second BLAS thread waiting for a busy core stalled every matrix product: an epoch took
# 4 minutes with two threads, 1 with one (examples/README.md). OPENBLAS_NUM_THREADS=2 overrides.
_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
if not any(name in os.environ for name in _BLAS_THREADS):
    os.environ.update({name: "1" for name in _BLAS_THREADS})

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
from mnist_two_layer import (  # the sibling script: same command-line conventions and data
    NUM_CLASSES,
    NonFiniteLoss,
    OneLineParser,
    UsageError,
    fmt,
    non_negative_int,
    positive,
    predict_labels,
    prepare_data,
    run_cli,
    save_plot,
)
from tqdm import tqdm

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tinygrad_lite.data import DataError, DataLoader
from tinygrad_lite.nn.functional import cross_entropy

EVAL_BATCH = 1000  # images per forward pass when evaluating (bounds the im2col memory)
TRAIN_EVAL = 10_000  # the final train accuracy is measured on this many training images


class ToImage(nn.Module):
    """(N, H*W) pixel rows -> (N, 1, H, W) images, so the model takes the MLP's input format."""

    def __init__(self, height: int, width: int):
        self.height, self.width = height, width

    def forward(self, x: tl.Tensor) -> tl.Tensor:
        return x.reshape(len(x), 1, self.height, self.width)

    def extra_repr(self) -> str:
        return f"1, {self.height}, {self.width}"


def cnn_arch(image_shape, channels=(16, 32), hidden=128, dropout=0.25) -> Dict[str, Any]:
    """The architecture description stored in checkpoints."""
    return {
        "kind": "cnn",
        "image_shape": [int(s) for s in image_shape],
        "channels": [int(c) for c in channels],
        "kernel_size": 3,
        "hidden": int(hidden),
        "dropout": float(dropout),
        "out_features": NUM_CLASSES,
        "dtype": "float32",
    }


def build_cnn(arch: Dict[str, Any]) -> nn.Sequential:
    """conv-bn-relu-pool blocks (one per entry of `channels`), then dropout and a 2-layer head."""
    try:
        if arch.get("kind") != "cnn":
            raise CheckpointError(
                f"architecture kind {arch.get('kind')!r} is not a CNN of this script"
                + (" (an MLP: use mnist_two_layer.py)" if arch.get("kind") == "mlp" else "")
            )
        height, width = (int(s) for s in arch["image_shape"])
        channels = [int(c) for c in arch["channels"]]
        k, hidden, p = int(arch["kernel_size"]), int(arch["hidden"]), float(arch["dropout"])
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"malformed architecture {arch!r}: {e}") from e
    layers: List[nn.Module] = [ToImage(height, width)]
    c_in = 1
    for c_out in channels:  # the bias of a conv followed by batch norm is redundant
        layers += [nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False), nn.BatchNorm2d(c_out),
                   nn.ReLU(), nn.MaxPool2d(2)]
        c_in, height, width = c_out, height // 2, width // 2
    layers += [nn.Flatten(), nn.Dropout(p), nn.Linear(c_in * height * width, hidden), nn.ReLU(),
               nn.Dropout(p), nn.Linear(hidden, int(arch["out_features"]))]
    return nn.Sequential(*layers)


def describe_cnn(arch: Dict[str, Any]) -> str:
    convs = "-".join(str(c) for c in arch["channels"])
    return f"CNN conv {convs} (3x3, batch norm, 2x2 max pool), head {arch['hidden']}-" \
           f"{arch['out_features']}, dropout {arch['dropout']}"


def load_cnn(path: str, state: Dict[str, np.ndarray], arch: Dict[str, Any], image_shape) -> tuple:
    """The model a checkpoint (read by `load_checkpoint`) describes, with its weights loaded."""
    try:
        model = build_cnn(arch)
    except CheckpointError as e:
        raise CheckpointError(f"{path}: {e}") from None
    if list(arch["image_shape"]) != list(image_shape):
        raise CheckpointError(f"{path}: the checkpoint expects {arch['image_shape']} images, "
                              f"the data has {list(image_shape)}")
    try:
        model.load_state_dict(state)
    except ValueError as e:
        raise CheckpointError(f"{path}: {e}") from None
    return model, arch


def make_parser() -> OneLineParser:
    p = OneLineParser(description="Train a small CNN on MNIST with tinygrad_lite.")
    p.add_argument("--data", metavar="PATH",
                   help="a folder of MNIST-named IDX files (any 28x28 10-class set) or a Kaggle "
                        "train.csv (default: the MNIST copy shipped in data/mnist)")
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
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the shuffle, the init, dropout and the batch order (default 0)")
    p.add_argument("--save", metavar="PATH",
                   help="save weights, batch-norm statistics and architecture to this .npz")
    p.add_argument("--load", metavar="PATH", help="start from a model saved with --save")
    p.add_argument("--plot", metavar="PATH",
                   help="write a PNG with loss and accuracy curves, the test confusion matrix "
                        "and misclassified test digits")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def check_args(args: argparse.Namespace) -> None:
    if args.epochs == 0 and not args.load:
        raise UsageError("--epochs must be positive (0 only with --load, to evaluate)")
    if not 0 <= args.dropout < 1:
        raise UsageError(f"--dropout must be in [0, 1), got {args.dropout}")
    if args.weight_decay < 0:
        raise UsageError(f"--weight-decay must be >= 0, got {args.weight_decay}")
    for flag, path in (("--save", args.save), ("--plot", args.plot)):
        if path is not None:
            folder = Path(path).parent
            if not folder.is_dir():
                raise UsageError(f"{flag} {path}: folder {folder} does not exist")
            if Path(path).is_dir():
                raise UsageError(f"{flag} {path}: is a folder")


def evaluate(model: nn.Module, split) -> Optional[float]:
    """Accuracy in eval mode (running batch-norm statistics, no dropout)."""
    if split is None or len(split[0]) == 0:
        return None
    was_training = model.training
    model.eval()
    try:
        return float(np.mean(predict_labels(model, split[0], EVAL_BATCH) == split[1]))
    finally:
        model.train(was_training)


def train(model: nn.Module, data: Dict[str, Any], args: argparse.Namespace) -> Dict[str, list]:
    X, y = data["train"]
    loader = DataLoader(X, y, batch_size=min(args.batch_size, len(X)), shuffle=True,
                        rng=np.random.default_rng(args.seed))
    steps = args.epochs * len(loader)
    optimizer = tl.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    schedule = tl.optim.CosineAnnealingLR(optimizer, T_max=steps)  # stepped every iteration
    history: Dict[str, list] = {"loss": [], "acc": [], "dev_step": [], "dev_acc": []}
    model.train()
    step = 0
    for epoch in range(1, args.epochs + 1):
        bar = tqdm(loader, desc=f"epoch {epoch}/{args.epochs}", unit="batch", leave=True,
                   disable=args.no_progress, file=sys.stderr, dynamic_ncols=True)
        for xb, yb in bar:
            logits = model(tl.Tensor(xb))
            loss = cross_entropy(logits, yb)
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                bar.close()
                raise NonFiniteLoss(step, loss_value)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            history["loss"].append(loss_value)
            history["acc"].append(float(np.mean(logits.data.argmax(axis=1) == yb)))
            if step % 10 == 0:
                recent = history["loss"][-50:]
                bar.set_postfix(loss=f"{np.mean(recent):.4f}", lr=f"{optimizer.lr:.2e}",
                                refresh=False)
        bar.close()
        dev_acc = evaluate(model, data["dev"])
        history["dev_step"].append(step)
        history["dev_acc"].append(np.nan if dev_acc is None else dev_acc)
        n = len(loader)
        print(f"epoch {epoch}: loss {np.mean(history['loss'][-n:]):.4f}  train acc "
              f"{np.mean(history['acc'][-n:]):.4f}  dev acc {fmt(dev_acc)}", flush=True)
    return history


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    check_args(args)
    loaded = load_checkpoint(args.load) if args.load else None  # bad checkpoints fail fast
    rng = np.random.RandomState(args.seed)
    data = prepare_data(args.data, rng, args.limit, np.dtype(np.float32))
    image_shape = data["image_shape"]
    if len(image_shape) != 2:
        raise DataError(f"{data['source']}: expected 2-D images, got shape {image_shape}")
    tl.manual_seed(args.seed)  # init and dropout masks
    if loaded is not None:
        model, arch = load_cnn(args.load, *loaded, image_shape)
        origin = f"loaded from {args.load}"
    else:
        arch = cnn_arch(image_shape, args.channels, args.hidden, args.dropout)
        model = build_cnn(arch)
        origin = "PyTorch-style init"
    n_params = sum(p.numel() for p in model.parameters())
    n_test = 0 if data["test"] is None else len(data["test"][0])
    print(f"data: {data['source']}: train {len(data['train'][0]):,}, dev "
          f"{len(data['dev'][0]):,}, test {n_test:,} images")
    print(f"model: {describe_cnn(arch)}; {n_params:,} parameters ({origin})")
    if args.epochs:
        print(f"training: {args.epochs} epochs, batches of {args.batch_size}, AdamW lr {args.lr:g} "
              f"(cosine to 0), weight decay {args.weight_decay:g}, seed {args.seed}")

    history: Dict[str, list] = {"loss": [], "acc": [], "dev_step": [], "dev_acc": []}
    train_start = time.perf_counter()
    if args.epochs:
        history = train(model, data, args)
    train_time = time.perf_counter() - train_start
    model.eval()
    train_x, train_y = data["train"]
    n_train_eval = min(len(train_x), TRAIN_EVAL)
    results = {"train": evaluate(model, (train_x[:n_train_eval], train_y[:n_train_eval])),
               "dev": evaluate(model, data["dev"]), "test": evaluate(model, data["test"])}
    print(f"train accuracy {fmt(results['train'])} (first {n_train_eval:,} images)  "
          f"dev accuracy {fmt(results['dev'])}  test accuracy {fmt(results['test'])}")
    if args.save:
        arch["trained"] = {"data": data["source"], "seed": args.seed, "epochs": args.epochs,
                           "input": "pixels / 255, (H*W,) row-major, white digit on black",
                           **{f"{k}_accuracy": v for k, v in results.items()}}
        save_checkpoint(args.save, model, arch)
        print(f"saved {args.save}")
    if args.plot:
        split_name = "test" if data["test"] is not None else "dev"
        save_plot(args.plot, history, data[split_name], split_name, model, image_shape,
                  f"{describe_cnn(arch)}, {args.epochs} epochs - {data['source']}")
        print(f"saved plot {args.plot}")
    print(f"wall time {time.perf_counter() - start:.1f} s (training {train_time:.1f} s); "
          f"{n_params:,} parameters")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = make_parser()
    return run_cli(parser, run, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
