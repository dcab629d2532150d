#!/usr/bin/env python
"""Predict digits with a model saved by `mnist_two_layer.py --save`.

    python examples/predict.py model.npz digit.png [more.png ...]
        prints the predicted digit of each image (and the model's probability for it)
    python examples/predict.py model.npz test.csv [--out submission.csv]
        reads a Kaggle Digit Recognizer test.csv (pixel0..pixel783; a train.csv with labels
        works too and also prints the accuracy) and writes a Kaggle submission
        (`ImageId,Label`, ImageId from 1), atomically

Images: any format PIL reads (PNG...), converted to grey. MNIST digits are white on black; an
image that is mostly white (mean above half brightness) is taken to be a dark digit on light
paper and inverted, and the script says so. A 28x28 image is used as it is; a larger one is
fitted the way MNIST was made: cropped to the digit's bounding box, scaled so its longer side
is 20 pixels, and placed in a 28x28 frame with its centre of mass at the centre.

Bad input (missing file, unreadable image, a checkpoint that is not one) exits with status 2
and a one-line message.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, List, Optional, Tuple

import numpy as np
from mnist_two_layer import OneLineParser, predict_labels, run_cli  # the sibling script

import tinygrad_lite as tl
from tinygrad_lite.checkpoint import CheckpointError, atomic_write, describe, load_model
from tinygrad_lite.data import DataError, load_kaggle_csv, to_float

MNIST_SIDE = 28  # images are 28x28 ...
MNIST_BOX = 20  # ... with the digit scaled into a 20x20 box


def load_image(path: Path) -> Tuple[np.ndarray, List[str]]:
    """A 28x28 uint8 white-on-black digit from an image file, and notes on what was done."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        with Image.open(path) as im:
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                # transparent background: composite over white, as an image viewer shows it
                rgba = im.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                im = Image.alpha_composite(background, rgba)
            grey = np.asarray(im.convert("L"), dtype=np.float64)
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable image ({e})") from None
    notes = []
    if grey.shape[0] < MNIST_SIDE or grey.shape[1] < MNIST_SIDE:
        raise DataError(
            f"{path}: image is {grey.shape[1]}x{grey.shape[0]}, need at least 28x28 pixels"
        )
    if grey.mean() > 127.5:
        grey = 255 - grey
        notes.append("inverted (mostly white: read as a dark digit on light paper)")
    if grey.shape != (MNIST_SIDE, MNIST_SIDE):
        notes.append(f"fitted from {grey.shape[1]}x{grey.shape[0]} to 28x28 as MNIST")
        grey = fit_like_mnist(grey)
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8), notes


def fit_like_mnist(grey: np.ndarray) -> np.ndarray:
    """MNIST's preprocessing for a larger white-on-black image: crop to the ink, scale the
    longer side to 20 px (keeping the aspect ratio), centre of mass at the centre of 28x28."""
    from PIL import Image

    ink = grey > 0.2 * grey.max() if grey.max() > 0 else np.zeros(grey.shape, bool)
    if not ink.any():
        return np.zeros((MNIST_SIDE, MNIST_SIDE))
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = grey[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = MNIST_BOX / max(crop.shape)
    h, w = (max(1, round(n * scale)) for n in crop.shape)
    small = Image.fromarray(crop.astype(np.float32)).resize((w, h), Image.LANCZOS)
    small = np.clip(np.asarray(small, dtype=np.float64), 0, 255)
    out = np.zeros((MNIST_SIDE, MNIST_SIDE))
    top, left = (MNIST_SIDE - h) // 2, (MNIST_SIDE - w) // 2
    out[top : top + h, left : left + w] = small
    total = out.sum()
    if total > 0:  # shift the centre of mass to the middle (whole pixels, as np.roll)
        cy = (out.sum(axis=1) * np.arange(MNIST_SIDE)).sum() / total
        cx = (out.sum(axis=0) * np.arange(MNIST_SIDE)).sum() / total
        dy, dx = round((MNIST_SIDE - 1) / 2 - cy), round((MNIST_SIDE - 1) / 2 - cx)
        dy = int(np.clip(dy, -top, MNIST_SIDE - h - top))
        dx = int(np.clip(dx, -left, MNIST_SIDE - w - left))
        out = np.roll(out, (dy, dx), axis=(0, 1))
    return out


def probabilities(model: tl.nn.Module, X: np.ndarray) -> np.ndarray:
    with tl.no_grad():
        return model(tl.Tensor(X)).softmax(axis=1).data


def predict_images(model: tl.nn.Module, dtype: np.dtype, paths: List[Path]) -> None:
    for path in paths:
        image, notes = load_image(path)
        p = probabilities(model, to_float(image[None], dtype))[0]
        digit = int(p.argmax())
        extra = f"  [{'; '.join(notes)}]" if notes else ""
        print(f"{path}: {digit} (probability {p[digit]:.3f}){extra}")


def predict_csv(model: tl.nn.Module, dtype: np.dtype, path: Path, out: Path) -> None:
    images, labels = load_kaggle_csv(path)
    pred = predict_labels(model, to_float(images, dtype))
    rows = "".join(f"{i},{d}\n" for i, d in enumerate(pred, start=1))
    atomic_write(out, lambda f: f.write(("ImageId,Label\n" + rows).encode()))
    counts = np.bincount(pred, minlength=10)
    print(f"{path}: predicted {len(pred):,} digits (counts 0-9: {' '.join(map(str, counts))})")
    if labels is not None:
        print(f"accuracy against its label column: {np.mean(pred == labels):.4f}")
    print(f"wrote {out}")


def main(argv: Optional[List[str]] = None) -> int:
    parser = OneLineParser(
        description="Predict digits with a model saved by mnist_two_layer.py --save: one PNG "
                    "(or other image) per argument, or a Kaggle test.csv -> submission.csv."
    )
    parser.add_argument("model", help="the .npz written by mnist_two_layer.py --save")
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="image files (28x28 grey, or larger: fitted as MNIST), or one "
                             "Kaggle .csv")
    parser.add_argument("--out", default="submission.csv",
                        help="where a .csv input's predictions go (default submission.csv)")
    args = parser.parse_args(argv)
    inputs = [Path(p) for p in args.inputs]
    csvs = [p for p in inputs if p.name.lower().endswith((".csv", ".csv.gz"))]
    if csvs and len(inputs) > 1:
        parser.error("give either one .csv or image files, not both / several csvs")
    out = Path(args.out)
    if csvs and not (out.parent if str(out.parent) else Path(".")).is_dir():
        parser.error(f"--out {out}: folder {out.parent} does not exist")
    return run_cli(parser, lambda args: predict(args, csvs, inputs, out), args)


def predict(args: Any, csvs: List[Path], inputs: List[Path], out: Path) -> int:
    model, arch = load_model(args.model)
    if arch.get("in_features") != MNIST_SIDE * MNIST_SIDE:
        raise CheckpointError(f"{args.model}: model {describe(arch)} does not take 28x28 images")
    dtype = np.dtype(arch.get("dtype", "float32"))
    if csvs:
        predict_csv(model, dtype, csvs[0], out)
    else:
        predict_images(model, dtype, inputs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
