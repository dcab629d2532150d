#!/usr/bin/env python
"""Predict digits with a model saved by `mnist_two_layer.py --save` or `mnist_cnn.py --save`.

    python examples/predict.py model.npz digit.png [more.png ...]
        prints the predicted digit of each image (and the model's probability for it)
    python examples/predict.py model.npz test.csv [--out submission.csv]
        reads a Kaggle Digit Recognizer test.csv (a train.csv with labels also prints the
        accuracy) and writes a Kaggle submission (`ImageId,Label`, ImageId from 1), atomically

Images are prepared as MNIST's digits were (examples/common/digits.py): grey,
white on black (a mostly light image is inverted), 16-bit images scaled, the digit cropped,
scaled to 20 pixels and centred by its centre of mass in 28x28 -- a 28x28 image too, unless
it is already centred that way.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository: examples.common

import tinygrad_lite as tl
from examples.common import cli, mnist
from examples.common.checkpoint import load_model
from examples.common.digits import load_digit_image
from examples.common.models import describe
from tinygrad_lite.data import load_kaggle_csv, to_float
from tinygrad_lite.io.atomic import atomic_write


def predict(args) -> int:
    args = mnist.resolve_predict(args)  # args.csv; --out may not be the model or an input
    model, arch = load_model(args.model)  # an MLP or a CNN: the checkpoint says which
    model.eval()  # batch norm's running statistics, no dropout
    if arch.get("in_features", 784) != 784 or arch.get("image_shape", [28, 28]) != [28, 28]:
        raise cli.UsageError(f"{args.model}: {describe(arch)} does not take 28x28 images")
    dtype = np.dtype(arch["dtype"])

    if args.csv:
        images, labels = load_kaggle_csv(args.csv)
        digits = mnist.predict_labels(model, to_float(images, dtype))
        rows = "".join(f"{i},{d}\n" for i, d in enumerate(digits, start=1))
        atomic_write(args.out, lambda f: f.write(("ImageId,Label\n" + rows).encode()))
        counts = " ".join(map(str, np.bincount(digits, minlength=10)))
        print(f"{args.csv}: predicted {len(digits):,} digits (counts 0-9: {counts})")
        if labels is not None:
            print(f"accuracy against its label column: {np.mean(digits == labels):.4f}")
        print(f"wrote {args.out}")
        return 0

    for path in args.inputs:
        image, notes = load_digit_image(path)  # 28x28 uint8, white on black, centred
        with tl.no_grad():
            p = model(tl.Tensor(to_float(image[None], dtype))).softmax(axis=1).data[0]
        digit = int(p.argmax())
        extra = f"  [{'; '.join(notes)}]" if notes else ""
        print(f"{path}: {digit} (probability {p[digit]:.3f}){extra}")
    return 0


def main(argv=None) -> int:
    return cli.run(mnist.predict_parser(), predict, argv)


if __name__ == "__main__":
    sys.exit(main())
