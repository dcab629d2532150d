"""Loading MNIST-style digit data into numpy arrays, plus a minimal batch iterator.

Sources read here:

* **IDX files** (the format MNIST is distributed in), gzipped or raw.  An IDX file is

  - a 4-byte magic number: two zero bytes, a type code (``0x08`` uint8, ``0x09`` int8,
    ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64) and the number of
    dimensions ``ndim`` -- so MNIST labels start ``00 00 08 01`` and images ``00 00 08 03``;
  - ``ndim`` big-endian uint32 sizes, one per dimension (images: N, 28, 28; labels: N);
  - the values themselves, big-endian, row-major, nothing else after them.

  Whether a file is gzipped is decided by its first two bytes (``1f 8b``), not its name.
* **Kaggle "Digit Recognizer" CSV**: ``train.csv`` has the header
  ``label,pixel0,...,pixel783``; ``test.csv`` the same without ``label``.

The repository ships the four MNIST files in ``data/mnist/`` (see ``data/README.md``).

Every problem with the input raises :class:`DataError` (a ``ValueError``) whose message is a
single line naming the file and the row / offset / value / shape at fault.

Only numpy is needed to import this module; pandas is imported inside
:func:`load_kaggle_csv` only.
"""

from __future__ import annotations

import gzip
import math
import os
import re
import warnings
import zlib
from itertools import islice
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from ..errors import OneLineError

__all__ = [
    "DataError",
    "MAX_IDX_BYTES",
    "load_idx",
    "default_data_root",
    "load_mnist",
    "load_kaggle_csv",
    "load_dataset",
    "dataset_files",
]

PathLike = Union[str, "os.PathLike[str]"]
Split = Tuple[np.ndarray, np.ndarray]

_GZIP_MAGIC = b"\x1f\x8b"

# IDX type code -> big-endian numpy dtype
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

# file-name stems of the four MNIST files, per split
_MNIST_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# load_idx refuses headers declaring more than this many bytes of values (MNIST's training
# images are 47 MB), and reads at most _TRAILING_CHECK bytes past the declared end
MAX_IDX_BYTES = 2**30
_TRAILING_CHECK = 2**26

_N_PIXELS = 784
_PIXEL_COLUMNS = [f"pixel{i}" for i in range(_N_PIXELS)]


class DataError(OneLineError):
    """Bad or missing input data. The message is one line naming the file and the fault."""


# --------------------------------------------------------------------------------------------
# IDX
# --------------------------------------------------------------------------------------------


class _GunzipStream:
    """Reads the decompressed bytes of a gzip file `n` at a time, never decompressing more
    than asked for (zlib's max_length), so a bomb costs only what is read of it. Multi-member
    files (concatenated gzip streams) are read through; the CRC of each member is checked when
    its end is reached."""

    _CHUNK = 2**24  # compressed bytes read from the file at a time

    def __init__(self, raw: Any) -> None:
        self.raw, self.tail = raw, b""
        self.d = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def read(self, n: int) -> bytes:
        parts, need = [], n
        while need > 0:
            if self.d.eof:
                rest = self.d.unused_data + self.tail
                self.tail = b""
                if not rest:
                    rest = self.raw.read(self._CHUNK)
                if not rest:
                    break
                self.d, self.tail = zlib.decompressobj(16 + zlib.MAX_WBITS), rest
            if not self.tail:
                self.tail = self.raw.read(self._CHUNK)
                if not self.tail:
                    raise EOFError("compressed file ended before the end-of-stream marker")
            chunk = self.d.decompress(self.tail, need)
            self.tail = self.d.unconsumed_tail
            parts.append(chunk)
            need -= len(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def close(self) -> None:
        self.raw.close()


def check_regular_file(path: Path) -> None:
    """DataError unless `path` names an existing regular file."""
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file")


def _open_idx(path: Path) -> Tuple[Any, bool]:
    """(stream of the payload with read(n) and close(), was_gzipped); errors name the file."""
    check_regular_file(path)
    try:
        f = open(path, "rb")
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from e
    head = f.read(2)
    f.seek(0)
    if not head:
        f.close()
        raise DataError(f"{path}: empty file (0 bytes)")
    if head != _GZIP_MAGIC:
        return f, False
    return _GunzipStream(f), True


def _read(f: Any, n: int, path: Path) -> bytes:
    """Up to `n` bytes of `f` (fewer only at the end of the data)."""
    try:
        return f.read(n)
    except (OSError, EOFError, zlib.error) as e:
        size = path.stat().st_size
        raise DataError(f"{path}: corrupt gzip data ({size} bytes compressed): {e}") from e


def load_idx(path: PathLike, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read one IDX file (gzipped or raw) into an array of the shape its header declares.

    MNIST image files give ``(N, 28, 28)`` uint8, label files ``(N,)`` uint8.  Multi-byte
    types are returned in native byte order.  The array is writable.

    The file is read as a stream: a header that declares more than `max_bytes` of values
    (default :data:`MAX_IDX_BYTES`, 1 GiB; MNIST's training images are 47 MB) is refused
    before anything else is read, and a gzip stream that goes on past the declared size (a
    "gzip bomb") is reported as over-long without decompressing more than 64 MiB of it.
    """
    path = Path(path)
    f, gz = _open_idx(path)
    try:
        where = " (decompressed)" if gz else ""
        head = _read(f, 4, path)
        if not head and gz:
            raise DataError(f"{path}: empty file (gzip stream decompresses to 0 bytes)")
        if len(head) < 4:
            raise DataError(f"{path}: truncated header{where}: {len(head)} bytes, need at "
                            f"least 4 for the magic")
        b0, b1, code, ndim = head
        if b0 != 0 or b1 != 0 or code not in _IDX_DTYPES or ndim == 0:
            known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
            raise DataError(
                f"{path}: bad IDX magic 0x{bytes(head).hex().upper()} at offset 0{where}: "
                f"expected 00 00 <type> <ndim> with type in {{{known}}} and ndim >= 1 "
                f"(MNIST: 0x00000803 images, 0x00000801 labels)"
            )
        header_len = 4 + 4 * ndim
        sizes = _read(f, 4 * ndim, path)
        if len(sizes) < 4 * ndim:
            raise DataError(
                f"{path}: truncated header{where}: {ndim} dimensions need a {header_len}-byte "
                f"header, file has {4 + len(sizes)} bytes"
            )
        shape = tuple(int(d) for d in np.frombuffer(bytes(sizes), dtype=">u4"))
        dtype = _IDX_DTYPES[code]
        expected = math.prod(shape) * dtype.itemsize
        if expected > max_bytes:
            raise DataError(
                f"{path}: header declares shape {shape} of {dtype.newbyteorder('=')} = "
                f"{expected:,} bytes, over the limit of {max_bytes:,} bytes (load_idx's "
                f"max_bytes); not read"
            )
        data = _read(f, expected, path)
        extra = _read(f, _TRAILING_CHECK, path)  # also runs gzip's CRC check
        actual = len(data) + len(extra)
    finally:
        f.close()
    if actual != expected:
        kind = "truncated data" if actual < expected else "over-long data"
        if actual < expected:
            detail = f" ({expected - actual} bytes missing)"
        elif len(extra) == _TRAILING_CHECK:
            detail = f" (at least {len(extra)} extra trailing bytes; not read further)"
        else:
            detail = f" ({actual - expected} extra trailing bytes)"
        found = f"at least {actual}" if len(extra) == _TRAILING_CHECK else str(actual)
        raise DataError(
            f"{path}: {kind}{where}: header declares shape {shape} of {dtype.newbyteorder('=')}"
            f" = {expected} bytes after the {header_len}-byte header, found {found}{detail}"
        )
    arr = np.frombuffer(data, dtype=dtype, count=math.prod(shape))
    # astype copies: the result is writable, native-endian and doesn't pin `data`
    return arr.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


# --------------------------------------------------------------------------------------------
# MNIST folders
# --------------------------------------------------------------------------------------------


def default_data_root() -> Path:
    """The MNIST copy shipped with the repository: ``<repo>/data/mnist``.

    Found relative to this file, so it works from a clone or an editable install (not from a
    wheel, which doesn't carry ``data/``).
    """
    root = Path(__file__).resolve().parents[2] / "data" / "mnist"
    if not root.is_dir():
        raise DataError(
            f"{root}: shipped MNIST folder not found (is tinygrad_lite installed without its "
            f"repository?); pass a folder holding the four MNIST IDX files instead"
        )
    return root


def _find_idx_file(root: Path, stem: str) -> Optional[Path]:
    """``stem``(.gz) in ``root``, also accepting the ``name.idx3-ubyte`` spelling."""
    alt = stem.replace("-idx", ".idx")
    for name in (stem + ".gz", stem, alt + ".gz", alt):
        p = root / name
        if p.is_file():
            return p
    return None


def _check_split(split: str) -> None:
    if split not in _MNIST_STEMS:
        raise DataError(f"bad split {split!r}: expected 'train' or 'test'")


def load_mnist(split: str = "train", root: Optional[PathLike] = None) -> Split:
    """Load one MNIST split from a folder of IDX files.

    Args:
        split: ``"train"`` (``train-*`` files) or ``"test"`` (``t10k-*`` files).
        root: folder holding ``train-images-idx3-ubyte(.gz)``, ``train-labels-idx1-ubyte(.gz)``,
            ``t10k-images-idx3-ubyte(.gz)``, ``t10k-labels-idx1-ubyte(.gz)``;
            ``None`` = the shipped copy (:func:`default_data_root`).  Any dataset stored the
            same way (e.g. Fashion-MNIST) works.

    Returns:
        ``(images, labels)``: uint8 arrays of shape ``(N, H, W)`` (28x28 for MNIST) and ``(N,)``.
    """
    _check_split(split)
    root = default_data_root() if root is None else Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder (expected one holding MNIST-named IDX files)")
    img_stem, lbl_stem = _MNIST_STEMS[split]
    img_path = _find_idx_file(root, img_stem)
    lbl_path = _find_idx_file(root, lbl_stem)
    for stem, p in ((img_stem, img_path), (lbl_stem, lbl_path)):
        if p is None:
            raise DataError(f"{root / stem}.gz: file not found (nor {stem} without .gz)")
    assert img_path is not None and lbl_path is not None
    images, labels = load_idx(img_path), load_idx(lbl_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(
            f"{img_path}: expected uint8 images of shape (N, H, W), got {images.dtype} "
            f"{images.shape}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DataError(
            f"{lbl_path}: expected uint8 labels of shape (N,), got {labels.dtype} {labels.shape}"
        )
    if len(images) != len(labels):
        raise DataError(
            f"{img_path}: holds {len(images)} images but {lbl_path} holds {len(labels)} labels"
        )
    return images, labels


# --------------------------------------------------------------------------------------------
# Kaggle CSV
# --------------------------------------------------------------------------------------------


def _open_text(path: Path, gz: bool):
    if gz:
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _nth_data_line(path: Path, gz: bool, row: int) -> Tuple[int, str]:
    """(1-based file line number, text) of data row ``row`` (0-based), skipping blank lines
    the way pandas does.  Only called on the error path, to name the bad line."""
    with _open_text(path, gz) as f:
        n = -1
        for lineno, line in enumerate(islice(f, 1, None), start=2):
            if line.strip():
                n += 1
                if n == row:
                    return lineno, line.rstrip("\r\n")
    return -1, ""


def _first_data_line(path: Path, gz: bool) -> Tuple[int, str]:
    return _nth_data_line(path, gz, 0)


def load_kaggle_csv(path: PathLike) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Read a Kaggle Digit Recognizer CSV (``train.csv`` or ``test.csv``, optionally gzipped).

    The header (line 1) must be ``label,pixel0,...,pixel783`` (train) or
    ``pixel0,...,pixel783`` (test).  Every cell must be an integer; labels 0..9, pixels 0..255.
    Error messages give 1-based line numbers in the file (the header is line 1).

    Returns:
        ``(images, labels)``: uint8 ``(N, 28, 28)`` and uint8 ``(N,)``, or ``None`` for labels
        when the file has no ``label`` column.
    """
    import pandas as pd

    path = Path(path)
    check_regular_file(path)
    try:
        with open(path, "rb") as f:
            gz = f.read(2) == _GZIP_MAGIC
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from e
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file (0 bytes)")

    # --- header, read by hand so its column count can't be confused with the data's -------
    try:
        with _open_text(path, gz) as f:
            header_line = f.readline()
    except (UnicodeDecodeError, OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: not a readable UTF-8 CSV file ({e})") from e
    if not header_line.strip():
        raise DataError(
            f"{path}: line 1: empty, expected the header 'label,pixel0,...,pixel783' "
            f"(train) or 'pixel0,...,pixel783' (test)"
        )
    header = [h.strip().strip('"') for h in header_line.rstrip("\r\n").split(",")]
    if len(header) == _N_PIXELS + 1:
        expected_header = ["label", *_PIXEL_COLUMNS]
    elif len(header) == _N_PIXELS:
        expected_header = _PIXEL_COLUMNS
    else:
        raise DataError(
            f"{path}: line 1 (header): found {len(header)} columns, expected 785 "
            f"(label,pixel0..pixel783) or 784 (pixel0..pixel783)"
        )
    for j, (got, want) in enumerate(zip(header, expected_header)):
        if got != want:
            raise DataError(
                f"{path}: line 1 (header), column {j + 1}: found {got[:40]!r}, expected {want!r}"
                f" (the file must start with the header line)"
            )
    has_label = expected_header[0] == "label"
    ncols = len(expected_header)

    # --- body --------------------------------------------------------------------------------
    try:
        with warnings.catch_warnings():
            # a column whose chunks parse to different types comes back as object: handled below
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            df = pd.read_csv(
                path,
                header=None,
                skiprows=1,
                compression="gzip" if gz else None,
                encoding="utf-8-sig",
            )
    except pd.errors.EmptyDataError as e:
        raise DataError(f"{path}: no data rows after the header (line 1)") from e
    except pd.errors.ParserError as e:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(e))
        if m is None:
            raise DataError(f"{path}: CSV parse error: {e}") from e
        exp_f, line, saw = (int(g) for g in m.groups())
        if exp_f != ncols:
            # pandas sized the table from the first data row, which was the odd one out
            line, _ = _first_data_line(path, gz)
            saw = exp_f
        raise DataError(
            f"{path}: line {line}: found {saw} columns, expected {ncols} (as in the header)"
        ) from e
    except (UnicodeDecodeError, OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: not a readable UTF-8 CSV file ({e})") from e

    if df.shape[1] != ncols:
        # every data row had the same (wrong) width, or the first row's width set the table
        line, _ = _first_data_line(path, gz)
        raise DataError(
            f"{path}: line {line}: found {df.shape[1]} columns, expected {ncols} (as in the header)"
        )
    if len(df) == 0:
        raise DataError(f"{path}: no data rows after the header (line 1)")

    n = len(df)
    is_num = [
        pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in df.dtypes
    ]
    is_int = [ok and pd.api.types.is_integer_dtype(t) for ok, t in zip(is_num, df.dtypes)]
    hi = np.full(ncols, 255, dtype=np.int64)
    if has_label:
        hi[0] = 9
    if all(is_int):
        # fast path: pandas parsed every column as integers -- only the ranges can be wrong
        vals = df.to_numpy()
        missing = None
        bad = (vals < 0) | (vals > hi)
    else:
        # some column holds text, empty cells or floats: coerce it (text -> NaN) and check all
        missing = df.isna().to_numpy()
        num = df.copy()
        for j, ok in enumerate(is_num):
            if not ok:
                num[j] = pd.to_numeric(df[j].astype(str), errors="coerce")
        vals = num.to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(vals) | (vals != np.round(vals)) | (vals < 0) | (vals > hi)
    if bad.any():
        # report the first offending cell in file order
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        col = int(np.flatnonzero(bad[row])[0])
        line, text = _nth_data_line(path, gz, row)
        fields = text.split(",")
        if len(fields) != ncols:  # a short row: pandas padded it with NaN
            raise DataError(
                f"{path}: line {line}: found {len(fields)} columns, expected {ncols} "
                f"(as in the header)"
            )
        cell = fields[col].strip()
        shown = repr(cell[:40])
        where = f"{path}: line {line}, column {col + 1} ({expected_header[col]})"
        if missing is not None and missing[row, col]:
            raise DataError(f"{where}: " + ("empty cell" if not cell else f"missing value {shown}"))
        value = float(vals[row, col])
        if np.isnan(value):
            raise DataError(f"{where}: non-numeric value {shown}")
        if not np.isfinite(value) or value != round(value):
            raise DataError(f"{where}: non-integer value {shown}")
        what = "label" if (has_label and col == 0) else "pixel"
        raise DataError(f"{where}: {what} value {cell[:40]} out of range 0..{int(hi[col])}")

    vals = vals.astype(np.uint8)
    if has_label:
        labels: Optional[np.ndarray] = np.ascontiguousarray(vals[:, 0])
        images = np.ascontiguousarray(vals[:, 1:])
    else:
        labels, images = None, vals
    return images.reshape(n, 28, 28), labels


# --------------------------------------------------------------------------------------------
# one entry point for the examples
# --------------------------------------------------------------------------------------------


def load_dataset(source: Optional[PathLike] = None) -> Dict[str, Any]:
    """Load a training set (and a test set when there is one) from wherever it lives.

    Args:
        source: ``None`` -- the shipped MNIST copy (:func:`default_data_root`);
            a folder -- MNIST-named IDX files (``train-images-idx3-ubyte(.gz)`` etc., e.g. MNIST
            or Fashion-MNIST), the ``t10k-*`` pair being optional;
            a ``.csv`` / ``.csv.gz`` file -- Kaggle ``train.csv`` format (must have labels).

    Returns:
        ``{"train": (X, y), "test": (X, y) or None, "source": str}`` with ``X`` uint8
        ``(N, 28, 28)`` and ``y`` uint8 ``(N,)``.  A CSV gives ``"test": None`` (Kaggle's
        ``test.csv`` has no labels; split off a validation set yourself).
    """
    if source is None:
        root = default_data_root()
        return {
            "train": load_mnist("train", root),
            "test": load_mnist("test", root),
            "source": f"MNIST (shipped copy, {root})",
        }
    path = Path(source)
    if path.is_dir():
        train = load_mnist("train", path)
        has_test = all(_find_idx_file(path, stem) for stem in _MNIST_STEMS["test"])
        return {
            "train": train,
            "test": load_mnist("test", path) if has_test else None,
            "source": f"IDX folder {path}",
        }
    if not path.exists():
        raise DataError(f"{path}: not found (expected an IDX folder or a .csv file)")
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    if suffixes[-1:] == [".csv"] or suffixes == [".csv", ".gz"]:
        images, labels = load_kaggle_csv(path)
        if labels is None:
            raise DataError(
                f"{path}: has no 'label' column (Kaggle test.csv format); training needs train.csv"
            )
        return {"train": (images, labels), "test": None, "source": f"Kaggle CSV {path}"}
    raise DataError(f"{path}: expected a folder of MNIST-named IDX files or a .csv file")


def dataset_files(source: Optional[PathLike] = None) -> List[Path]:
    """The files :func:`load_dataset` reads for `source` (those that exist), so a caller can
    refuse to write over them."""
    if source is None:
        try:
            source = default_data_root()
        except DataError:
            return []
    path = Path(source)
    if not path.is_dir():
        return [path]
    found = (_find_idx_file(path, stem) for stems in _MNIST_STEMS.values() for stem in stems)
    return [p for p in found if p is not None]
