#!/usr/bin/env python
"""The notebook -- a two-layer net for MNIST, written out in numpy -- in framework form.

No flags: the notebook, exactly. The 60,000 MNIST training images (shipped in data/mnist) are
shuffled with the seed and the first 1,000 held out as the dev set; the net is 784 -> 10 ReLU
-> 10 with every weight and bias U[-0.5, 0.5); full-batch gradient descent on the
cross-entropy, lr 0.1, 2,000 iterations, printing the training accuracy every 200. Every
gradient comes from autograd: `loss.backward()` replaces the notebook's backward_prop.

    python examples/mnist_two_layer.py                   # the notebook (about 2 min on 2 cores)
    python examples/mnist_two_layer.py --preset fast     # 784-512-10, Adam, batches: ~98%
    python examples/mnist_two_layer.py --dtype float64 --check-manual 200
    python examples/mnist_two_layer.py --save model.npz --plot run.png --graph graph.svg
    python examples/mnist_two_layer.py --help            # every flag

The flags, presets, checks and outputs live in examples/common/ (shared by the examples).
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository: examples.common

import tinygrad_lite as tl
from examples.common import cli, mnist
from examples.common.models import build_mlp
from tinygrad_lite import nn
from tinygrad_lite.data import to_float
from tinygrad_lite.nn.functional import cross_entropy


def train(args) -> int:
    args = mnist.resolve_mlp(args)  # the preset, overridden by the flags; outputs checked
    rng = np.random.RandomState(args.seed)  # the notebook's np.random: the shuffle, then the init

    # load, shuffle, and hold out the first 1,000 images as the dev set
    images, labels, test, source = mnist.load(args.data, args.dtype)
    perm = rng.permutation(len(images))  # the same draws as np.random.shuffle(data)
    images, labels = images[perm], labels[perm]
    n_dev = min(1000, len(images) // 10)
    X_dev, Y_dev = to_float(images[:n_dev], args.dtype), labels[:n_dev]
    X_train = to_float(images[n_dev:][: args.limit], args.dtype)  # (59000, 784): pixels / 255
    Y_train = labels[n_dev:][: args.limit]

    # the net: 784 -> 10 ReLU -> 10, every weight and bias U[-0.5, 0.5)
    tl.manual_seed(args.seed)  # the default (kaiming) init of other widths draws from it
    if args.load:
        model = mnist.resume(args.load, "mlp", args.hidden_flag)
    elif args.hidden == [10]:
        model = nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10))
    else:
        model = build_mlp(784, args.hidden, 10)  # --hidden
    model.to(args.dtype)
    if args.init == "notebook" and not args.load:
        for p in model.parameters():  # W1, b1, W2, b2, in the notebook's order
            nn.init.notebook_uniform_(p, rng)  # np.random.rand(*shape) - 0.5

    # gradient descent on the whole training set, lr 0.1 (or --optimizer, --batch-size)
    log = mnist.TrainingLog(args, model, source, X_train, (X_dev, Y_dev), test)  # prints the setup
    optimizer = mnist.make_optimizer(model, args.optimizer, args.lr)  # gd: optim.SGD(lr=0.1)
    schedule = mnist.make_schedule(optimizer, args.schedule, log.iterations)  # None: constant lr
    batches = mnist.batches(X_train, Y_train, args.batch_size, args.seed)
    for i in log.range():  # range(iterations), with a progress bar when stderr is a terminal
        x, y = next(batches)  # the whole training set (gd) or a shuffled mini-batch
        logits = model(x)
        loss = cross_entropy(logits, y)
        log.record(i, loss, logits, y)  # stops the run if the loss diverges
        optimizer.zero_grad()
        loss.backward()
        if args.check_manual and i % args.check_manual == 0:
            mnist.check_manual(model, x, y, i)  # autograd vs the notebook's hand-derived rules
        optimizer.step()
        if schedule is not None:
            schedule.step()
        if i % log.every == 0:
            cli.say(log.line(i))  # "Iteration: 200  Accuracy: 0.7570", as the notebook prints

    # save the model, then train / dev / test accuracy, --plot and --graph
    return log.finish({"train": (X_train, Y_train), "dev": (X_dev, Y_dev), "test": test})


def main(argv=None) -> int:
    return cli.run(mnist.mlp_parser(), train, argv)


if __name__ == "__main__":
    sys.exit(main())
