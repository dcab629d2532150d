#!/usr/bin/env python
"""A small convolutional net on MNIST with tinygrad_lite: >= 99% test accuracy on a CPU.

    image (1, 28, 28)
    -> Conv2d(1, 16, 3, padding=1) -> BatchNorm2d -> ReLU -> MaxPool2d(2)      16 x 14 x 14
    -> Conv2d(16, 32, 3, padding=1) -> BatchNorm2d -> ReLU -> MaxPool2d(2)     32 x 7 x 7
    -> Flatten -> Dropout(0.25) -> Linear(1568, 128) -> ReLU -> Dropout(0.25) -> Linear(128, 10)

206,970 parameters (the convolutions have no bias: batch norm's shift replaces it), trained
with AdamW and a cosine learning-rate schedule on mini-batches of 128; the dev accuracy after
each epoch, train/dev/MNIST-test accuracy at the end. The data split is mnist_two_layer.py's.

    python examples/mnist_cnn.py                         # 4 epochs: >= 99% test accuracy
    python examples/mnist_cnn.py --channels 32 64        # wider (421,738 parameters)
    python examples/mnist_cnn.py --epochs 1 --limit 5000 --plot cnn.png
    python examples/mnist_cnn.py --save cnn.npz          # then: --load cnn.npz --epochs 0
    python examples/mnist_cnn.py --help                  # every flag
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository: examples.common

import tinygrad_lite as tl
from examples.common import cli, mnist
from examples.common.models import build_cnn
from tinygrad_lite import optim
from tinygrad_lite.data import DataLoader, to_float
from tinygrad_lite.nn.functional import cross_entropy


def train(args) -> int:
    args = mnist.resolve_cnn(args)  # flags checked; outputs checked before any work
    rng = np.random.RandomState(args.seed)

    # load, shuffle, and hold out the first 1,000 images as the dev set
    images, labels, test, source = mnist.load(args.data)
    perm = rng.permutation(len(images))
    images, labels = images[perm], labels[perm]
    n_dev = min(1000, len(images) // 10)
    X_dev, Y_dev = to_float(images[:n_dev]), labels[:n_dev]
    X_train, Y_train = to_float(images[n_dev:][: args.limit]), labels[n_dev:][: args.limit]

    tl.manual_seed(args.seed)  # the init and the dropout masks
    if args.load:
        model = mnist.resume(args.load, "cnn")
    else:
        model = build_cnn(channels=args.channels, hidden=args.hidden, dropout=args.dropout)

    log = mnist.EpochLog(args, model, source, X_train, (X_dev, Y_dev), test)  # prints the setup
    loader = DataLoader(X_train, Y_train, batch_size=log.batch, shuffle=True,
                        rng=np.random.default_rng(args.seed))
    optimizer = optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    schedule = mnist.make_schedule(optimizer, "cosine", log.iterations)  # to 0, every step
    step = 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        for xb, yb in log.epoch(loader, epoch):  # a progress bar when stderr is a terminal
            logits = model(tl.from_numpy(xb))
            loss = cross_entropy(logits, yb)
            log.record(step, loss, logits, yb)  # stops the run if the loss diverges
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
        cli.say(log.epoch_line(epoch))  # mean loss and train accuracy, dev accuracy

    # save the model, then train / dev / test accuracy and --plot
    return log.finish({"train": (X_train, Y_train), "dev": (X_dev, Y_dev), "test": test})


def main(argv=None) -> int:
    return cli.run(mnist.cnn_parser(), train, argv)


if __name__ == "__main__":
    sys.exit(main())
