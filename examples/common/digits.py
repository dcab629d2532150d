"""One digit from an image file, prepared as MNIST's digits were (predict.py's input)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, List, Optional, Tuple, Union

import numpy as np

from tinygrad_lite.data import DataError
from tinygrad_lite.data.files import check_regular_file

__all__ = ["fit_like_mnist", "load_digit_image", "looks_like_mnist"]

PathLike = Union[str, "os.PathLike[str]"]

MNIST_SIDE = 28  # MNIST images are 28x28 ...
MNIST_BOX = 20  # ... with the digit scaled so its longer side is 20 pixels ...
MNIST_CENTRE = 14.0  # ... and its centre of mass moved to (14, 14) (row, column), +- 0.5
MAX_IMAGE_PIXELS = 4096 * 4096  # larger images are refused before they are decoded


def load_digit_image(path: PathLike) -> Tuple[np.ndarray, List[str]]:
    """A 28x28 uint8 white-on-black digit from an image file, prepared as MNIST's digits were,
    and notes on what was done (for the user).

    * Any format Pillow reads; 16-bit greyscale (PNG ``I;16``) is scaled to 0..255, not
      clipped; a transparent background is composited over white, as a viewer shows it.
    * An image that is mostly light (mean above half brightness) is taken to be a dark digit
      on light paper and inverted.
    * Every image, 28x28 or larger, is fitted as MNIST's were: cropped to the ink, scaled so its
      longer side is 20 pixels, and placed in 28x28 with its centre of mass at the centre.
      A 28x28 image that already looks like that (ink 17..20 pixels tall or wide, centre of
      mass within half a pixel of the centre: every MNIST test digit) is used as it is.
    * Images of more than ``MAX_IMAGE_PIXELS`` (4096x4096) or fewer than 28x28 pixels, and
      files that are not images, raise :class:`DataError`.
    """
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        raise DataError(f"{path}: reading images needs Pillow (pip install pillow)") from None

    path = Path(path)
    check_regular_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise DataError(f"{path}: image is {width}x{height}, more than the "
                                    f"{MAX_IMAGE_PIXELS:,} pixels read here; scale it down")
                grey = _grey_pixels(im, Image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise DataError(f"{path}: image too large to decode safely ({e})") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        if isinstance(e, DataError):
            raise
        if isinstance(e, PermissionError):
            raise DataError(f"{path}: cannot read ({e.strerror})") from None
        raise DataError(f"{path}: not a readable image ({e})") from None
    if grey.shape[0] < MNIST_SIDE or grey.shape[1] < MNIST_SIDE:
        raise DataError(
            f"{path}: image is {grey.shape[1]}x{grey.shape[0]}, need at least 28x28 pixels"
        )
    notes = []
    if grey.mean() > 127.5:
        grey = 255 - grey
        notes.append("inverted (mostly white: read as a dark digit on light paper)")
    if grey.shape != (MNIST_SIDE, MNIST_SIDE):
        notes.append(f"fitted from {grey.shape[1]}x{grey.shape[0]} to 28x28 as MNIST")
        grey = fit_like_mnist(grey)
    elif not looks_like_mnist(grey):
        notes.append("re-centred and scaled as MNIST (the digit was off-centre or not "
                     "20 pixels high/wide)")
        grey = fit_like_mnist(grey)
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8), notes


def _grey_pixels(im: Any, Image: Any) -> np.ndarray:
    """An opened Pillow image as float64 grey levels 0..255."""
    if im.mode.startswith("I;16") or im.mode == "I":
        values = np.asarray(im, dtype=np.float64)
        # 16-bit greyscale (or 32-bit integer holding it): scale, not clip, to 0..255
        return values * (255.0 / 65535.0) if values.max(initial=0) > 255 or \
            im.mode.startswith("I;16") else values
    if im.mode == "F":
        values = np.asarray(im, dtype=np.float64)
        return values * 255.0 if values.max(initial=0) <= 1.0 else np.clip(values, 0, 255)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, rgba)
    return np.asarray(im.convert("L"), dtype=np.float64)


def _ink_box_and_centre(grey: np.ndarray) -> Optional[Tuple[slice, slice, float, float]]:
    """(rows, columns) of the ink's bounding box (pixels above 20% of the brightest) and the
    centre of mass (row, column) of all the pixels; None for a blank image."""
    peak = grey.max(initial=0)
    if peak <= 0:
        return None
    ink = grey > 0.2 * peak
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    total = grey.sum()
    cy = float((grey.sum(axis=1) * np.arange(grey.shape[0])).sum() / total)
    cx = float((grey.sum(axis=0) * np.arange(grey.shape[1])).sum() / total)
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1), cy, cx


def looks_like_mnist(grey: np.ndarray) -> bool:
    """A 28x28 white-on-black image already prepared as MNIST's digits: the ink's longer side
    17..20 pixels, the centre of mass within half a pixel of (14, 14)."""
    found = _ink_box_and_centre(grey)
    if found is None:
        return True
    rows, cols, cy, cx = found
    longer = max(rows.stop - rows.start, cols.stop - cols.start)
    return 17 <= longer <= MNIST_BOX and max(abs(cy - MNIST_CENTRE), abs(cx - MNIST_CENTRE)) <= 0.5


def fit_like_mnist(grey: np.ndarray) -> np.ndarray:
    """MNIST's preprocessing for a white-on-black image of any size >= 1x1: crop to the ink,
    scale the longer side to 20 px (keeping the aspect ratio), then shift by whole pixels so
    the centre of mass is at (14, 14) of the 28x28 result, as far as the frame allows."""
    from PIL import Image

    found = _ink_box_and_centre(grey)
    if found is None:
        return np.zeros((MNIST_SIDE, MNIST_SIDE))
    rows, cols, _, _ = found
    crop = grey[rows, cols]
    scale = MNIST_BOX / max(crop.shape)
    h, w = (max(1, round(n * scale)) for n in crop.shape)
    small = Image.fromarray(crop.astype(np.float32)).resize((w, h), Image.LANCZOS)
    small = np.clip(np.asarray(small, dtype=np.float64), 0, 255)
    out = np.zeros((MNIST_SIDE, MNIST_SIDE))
    top, left = (MNIST_SIDE - h) // 2, (MNIST_SIDE - w) // 2
    out[top : top + h, left : left + w] = small
    placed = _ink_box_and_centre(out)
    if placed is not None:  # move the centre of mass to (14, 14): whole pixels, as np.roll
        _, _, cy, cx = placed
        dy = int(np.clip(round(MNIST_CENTRE - cy), -top, MNIST_SIDE - h - top))
        dx = int(np.clip(round(MNIST_CENTRE - cx), -left, MNIST_SIDE - w - left))
        out = np.roll(out, (dy, dx), axis=(0, 1))
    return out
