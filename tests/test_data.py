"""Tests for tinygrad_lite.data: IDX / Kaggle CSV loading, the shipped MNIST copy, DataLoader,
digits from image files."""

import gzip
import hashlib
import re
import zlib
from pathlib import Path

import numpy as np
import pytest
from fake_files import png_header_only

import tinygrad_lite.data.files as data_files
from examples.common.digits import fit_like_mnist, load_digit_image, looks_like_mnist
from tinygrad_lite.data import (
    DataError,
    DataLoader,
    dataset_files,
    default_data_root,
    load_dataset,
    load_idx,
    load_kaggle_csv,
    load_mnist,
    one_hot,
    to_float,
)

REPO = Path(__file__).resolve().parent.parent
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

IDX_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}


# ----------------------------------------------------------------------------- helpers


def idx_bytes(arr: np.ndarray) -> bytes:
    """Encode ``arr`` as IDX, written independently of the loader."""
    kind = arr.dtype.str[1:]
    header = bytes([0, 0, IDX_CODES[kind], arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes()
    return header + arr.astype(">" + kind).tobytes()


def write(path: Path, data: bytes, gz: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def err(exc_info) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg, msg
    return msg


def assert_names(msg: str, path: Path, *parts: str) -> None:
    assert str(path) in msg, msg
    for part in parts:
        assert part in msg, (part, msg)


def sample_images(n: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    return (
        rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, size=n, dtype=np.uint8),
    )


def write_mnist_folder(root: Path, n_train=4, n_train_labels=None, n_test=None, gz=True):
    root.mkdir(parents=True, exist_ok=True)
    X, y = sample_images(n_train)
    n_lab = n_train if n_train_labels is None else n_train_labels
    y = np.resize(y, n_lab).astype(np.uint8)
    ext = ".gz" if gz else ""
    write(root / f"train-images-idx3-ubyte{ext}", idx_bytes(X), gz)
    write(root / f"train-labels-idx1-ubyte{ext}", idx_bytes(y), gz)
    if n_test is not None:
        Xt, yt = sample_images(n_test, seed=1)
        write(root / f"t10k-images-idx3-ubyte{ext}", idx_bytes(Xt), gz)
        write(root / f"t10k-labels-idx1-ubyte{ext}", idx_bytes(yt), gz)
    return X, y


# ----------------------------------------------------------------------------- load_idx


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip_images_and_labels(tmp_path, gz):
    X, y = sample_images(7)
    xi = load_idx(write(tmp_path / "imgs", idx_bytes(X), gz))
    yi = load_idx(write(tmp_path / "labels", idx_bytes(y), gz))
    assert xi.shape == (7, 28, 28) and xi.dtype == np.uint8
    assert yi.shape == (7,) and yi.dtype == np.uint8
    np.testing.assert_array_equal(xi, X)
    np.testing.assert_array_equal(yi, y)
    assert xi.flags.writeable and yi.flags.writeable


def test_idx_gzip_detected_by_magic_not_extension(tmp_path):
    X, _ = sample_images(3)
    # gzipped content without .gz, raw content with .gz
    np.testing.assert_array_equal(load_idx(write(tmp_path / "a.idx", idx_bytes(X), True)), X)
    np.testing.assert_array_equal(load_idx(write(tmp_path / "b.gz", idx_bytes(X), False)), X)


@pytest.mark.parametrize("kind", ["i1", "i2", "i4", "f4", "f8"])
def test_idx_other_type_codes(tmp_path, kind):
    arr = (np.arange(24).reshape(2, 3, 4) - 7).astype(kind) * 3
    out = load_idx(write(tmp_path / "x.idx", idx_bytes(arr)))
    assert out.dtype == np.dtype(kind) and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)


def test_idx_zero_items(tmp_path):
    out = load_idx(write(tmp_path / "e.idx", idx_bytes(np.zeros((0, 28, 28), np.uint8))))
    assert out.shape == (0, 28, 28)


def test_idx_missing_file(tmp_path):
    p = tmp_path / "nope-idx3-ubyte.gz"
    with pytest.raises(DataError) as e:
        load_idx(p)
    assert_names(err(e), p, "not found")


@pytest.mark.parametrize("gz", [False, True])
def test_idx_empty_file(tmp_path, gz):
    p = tmp_path / "empty.idx"
    p.write_bytes(gzip.compress(b"") if gz else b"")
    with pytest.raises(DataError) as e:
        load_idx(p)
    assert_names(err(e), p, "empty")


@pytest.mark.parametrize(
    "magic",
    [
        b"\x01\x00\x08\x03",
        b"\x00\x01\x08\x01",
        b"\x00\x00\x07\x03",
        b"\x00\x00\x08\x00",
        b"PK\x03\x04",
    ],
)
def test_idx_bad_magic(tmp_path, magic):
    p = write(tmp_path / "bad.idx", magic + b"\x00" * 20)
    with pytest.raises(DataError) as e:
        load_idx(p)
    assert_names(err(e), p, "magic", magic.hex().upper(), "offset 0")


@pytest.mark.parametrize("gz", [False, True])
def test_idx_truncated_header(tmp_path, gz):
    # images declare 3 dims -> 16-byte header; give only 10 bytes
    p = write(tmp_path / "th.idx", b"\x00\x00\x08\x03" + b"\x00\x00\x00\x02\x00\x00", gz)
    with pytest.raises(DataError) as e:
        load_idx(p)
    assert_names(err(e), p, "truncated header", "16", "10")
    p2 = write(tmp_path / "th2.idx", b"\x00\x00", gz)
    with pytest.raises(DataError) as e:
        load_idx(p2)
    assert_names(err(e), p2, "truncated header")


@pytest.mark.parametrize("gz", [False, True])
def test_idx_truncated_data(tmp_path, gz):
    X, _ = sample_images(3)
    p = write(tmp_path / "td.idx", idx_bytes(X)[:-10], gz)
    with pytest.raises(DataError) as e:
        load_idx(p)
    assert_names(err(e), p, "truncated data", "(3, 28, 28)", str(3 * 784), str(3 * 784 - 10))


@pytest.mark.parametrize("gz", [False, True])
def test_idx_extra_trailing_bytes(tmp_path, gz):
    _, y = sample_images(5)
    p = write(tmp_path / "xt.idx", idx_bytes(y) + b"\x01\x02\x03", gz)
    with pytest.raises(DataError) as e:
        load_idx(p)
    assert_names(err(e), p, "over-long", "= 5 bytes", "found 8", "3 extra")


def test_idx_corrupt_gzip(tmp_path):
    X, _ = sample_images(4)
    good = gzip.compress(idx_bytes(X))
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    for name, data in [("flipped.gz", bytes(flipped)), ("cut.gz", good[: len(good) // 2])]:
        p = write(tmp_path / name, data)
        with pytest.raises(DataError) as e:
            load_idx(p)
        assert_names(err(e), p, "corrupt gzip")


def test_idx_path_is_directory(tmp_path):
    with pytest.raises(DataError) as e:
        load_idx(tmp_path)
    assert_names(err(e), tmp_path)


def test_idx_header_declaring_gigabytes_is_refused_before_reading(tmp_path):
    """A gzip "bomb": the header says (10**7, 28, 28) uint8 = 7.8 GB; nothing past it is read."""
    header = bytes([0, 0, 8, 3]) + np.asarray([10**7, 28, 28], ">u4").tobytes()
    p = write(tmp_path / "bomb.gz", header + bytes(1000), gz=True)
    with pytest.raises(DataError) as e:
        load_idx(p)
    assert_names(err(e), p, "7,840,000,000 bytes", "over the limit", "not read")
    with pytest.raises(DataError, match="over the limit of 100 bytes"):
        load_idx(write(tmp_path / "small", idx_bytes(np.zeros((5, 5, 5), np.uint8))), 100)


def test_idx_gzip_that_decompresses_far_past_its_header_stops_early(tmp_path, monkeypatch):
    """5 labels declared, then 200 MB of zeros (200 KB compressed): reported as over-long
    after decompressing at most 64 MiB of it (counted at zlib, which gzip also goes through)."""
    _, y = sample_images(5)
    z = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(2**20)
    body = z.compress(idx_bytes(y)) + b"".join(z.compress(zeros) for _ in range(200)) + z.flush()
    p = write(tmp_path / "long.gz", body)
    decompressed = []
    real_decompressobj = zlib.decompressobj

    class Counting:
        def __init__(self, *args, **kwargs):
            self._d = real_decompressobj(*args, **kwargs)

        def decompress(self, *args, **kwargs):
            out = self._d.decompress(*args, **kwargs)
            decompressed.append(len(out))
            return out

        def __getattr__(self, name):
            return getattr(self._d, name)

    monkeypatch.setattr(zlib, "decompressobj", Counting)
    with pytest.raises(DataError) as e:
        load_idx(p)
    monkeypatch.undo()
    assert 0 < sum(decompressed) <= 64 * 2**20 + 2**20  # 200 MiB are there to decompress
    assert_names(err(e), p, "over-long", "= 5 bytes", "at least", "not read further")


def test_idx_unreadable_file_is_a_one_line_error(tmp_path, monkeypatch):
    p = write(tmp_path / "x.idx", idx_bytes(np.zeros(3, np.uint8)))
    real_open = open

    def refusing_open(file, *args, **kwargs):
        if str(file) == str(p):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refusing_open)
    with pytest.raises(DataError) as e:
        load_idx(p)
    assert_names(err(e), p, "cannot read (Permission denied)")
    csv = tmp_path / "train.csv"
    csv.write_text("label\n")
    p = csv
    with pytest.raises(DataError) as e:
        load_kaggle_csv(csv)
    assert_names(err(e), csv, "cannot read (Permission denied)")


# ----------------------------------------------------------------------------- shipped MNIST


@pytest.fixture(scope="module")
def mnist():
    return load_mnist("train"), load_mnist("test")


def test_default_root_is_repo_data_mnist():
    assert default_data_root() == REPO / "data" / "mnist"


def test_shipped_mnist_shapes_and_counts(mnist):
    (X, y), (Xt, yt) = mnist
    assert X.shape == (60000, 28, 28) and y.shape == (60000,)
    assert Xt.shape == (10000, 28, 28) and yt.shape == (10000,)
    assert X.dtype == y.dtype == Xt.dtype == yt.dtype == np.uint8
    assert np.bincount(y, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(yt, minlength=10).tolist() == TEST_COUNTS
    assert abs(float(X.mean()) - 33.318) < 1e-3


def test_shipped_train_labels_sha256_matches_readme():
    readme = (REPO / "data" / "README.md").read_text()
    m = re.search(r"^([0-9a-f]{64})\s+train-labels-idx1-ubyte\s*$", readme, re.M)
    assert m, "checksum of decompressed train labels missing from data/README.md"
    raw = gzip.decompress((REPO / "data" / "mnist" / "train-labels-idx1-ubyte.gz").read_bytes())
    assert hashlib.sha256(raw).hexdigest() == m.group(1)
    assert m.group(1) == "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_from_folder(tmp_path, gz):
    X, y = write_mnist_folder(tmp_path, n_train=6, gz=gz)
    Xl, yl = load_mnist("train", tmp_path)
    np.testing.assert_array_equal(Xl, X)
    np.testing.assert_array_equal(yl, y)


def test_load_mnist_count_mismatch(tmp_path):
    write_mnist_folder(tmp_path, n_train=5, n_train_labels=4)
    with pytest.raises(DataError) as e:
        load_mnist("train", tmp_path)
    msg = err(e)
    assert "train-images-idx3-ubyte.gz" in msg and "train-labels-idx1-ubyte.gz" in msg
    assert "5 images" in msg and "4 labels" in msg


def test_load_mnist_missing_file_and_bad_split(tmp_path):
    write_mnist_folder(tmp_path)
    with pytest.raises(DataError) as e:
        load_mnist("test", tmp_path)
    assert_names(err(e), tmp_path, "t10k-images-idx3-ubyte")
    with pytest.raises(DataError) as e:
        load_mnist("validation", tmp_path)
    assert "validation" in err(e)
    with pytest.raises(DataError) as e:
        load_mnist("train", tmp_path / "nowhere")
    assert_names(err(e), tmp_path / "nowhere")


def test_load_mnist_wrong_shape(tmp_path):
    X, y = sample_images(3)
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(X.reshape(3, 784)))
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(y))
    with pytest.raises(DataError) as e:
        load_mnist("train", tmp_path)
    assert_names(err(e), tmp_path / "train-images-idx3-ubyte", "(3, 784)")


# ----------------------------------------------------------------------------- Kaggle CSV

HEADER_TRAIN = "label," + ",".join(f"pixel{i}" for i in range(784))
HEADER_TEST = ",".join(f"pixel{i}" for i in range(784))


def csv_rows(n=4, labels=True, seed=0):
    X, y = sample_images(n, seed)
    rows = []
    for i in range(n):
        cells = [str(v) for v in X[i].ravel()]
        rows.append(([str(y[i])] if labels else []) + cells)
    return X, (y if labels else None), rows


def write_csv(path: Path, rows, header=HEADER_TRAIN, gz=False) -> Path:
    lines = ([header] if header is not None else []) + [
        ",".join(r) if isinstance(r, list) else r for r in rows
    ]
    return write(path, ("\n".join(lines) + "\n").encode(), gz)


def assert_line(msg: str, path: Path, line: int, *parts: str) -> None:
    assert_names(msg, path, *parts)
    assert re.search(rf"\bline {line}\b", msg), (line, msg)


@pytest.mark.parametrize("gz", [False, True])
def test_kaggle_train_format(tmp_path, gz):
    X, y, rows = csv_rows(4)
    Xl, yl = load_kaggle_csv(write_csv(tmp_path / "train.csv", rows, gz=gz))
    assert Xl.shape == (4, 28, 28) and Xl.dtype == np.uint8
    assert yl is not None and yl.dtype == np.uint8
    np.testing.assert_array_equal(Xl, X)
    np.testing.assert_array_equal(yl, y)


def test_kaggle_test_format(tmp_path):
    X, _, rows = csv_rows(3, labels=False)
    Xl, yl = load_kaggle_csv(write_csv(tmp_path / "test.csv", rows, header=HEADER_TEST))
    assert yl is None
    np.testing.assert_array_equal(Xl, X)


def test_kaggle_accepts_crlf_blank_lines_and_integral_floats(tmp_path):
    X, y, rows = csv_rows(3)
    rows[1][5] = f"{rows[1][5]}.0"
    text = HEADER_TRAIN + "\r\n" + ",".join(rows[0]) + "\r\n\r\n"
    text += "\r\n".join(",".join(r) for r in rows[1:]) + "\r\n"
    p = write(tmp_path / "train.csv", text.encode())
    Xl, yl = load_kaggle_csv(p)
    np.testing.assert_array_equal(Xl, X)
    np.testing.assert_array_equal(yl, y)


def test_kaggle_missing_and_empty_file(tmp_path):
    p = tmp_path / "missing.csv"
    with pytest.raises(DataError) as e:
        load_kaggle_csv(p)
    assert_names(err(e), p, "not found")
    p = write(tmp_path / "empty.csv", b"")
    with pytest.raises(DataError) as e:
        load_kaggle_csv(p)
    assert_names(err(e), p, "empty")
    p = write_csv(tmp_path / "header_only.csv", [])
    with pytest.raises(DataError) as e:
        load_kaggle_csv(p)
    assert_names(err(e), p, "no data rows")


def test_kaggle_bad_header(tmp_path):
    _, _, rows = csv_rows(2)
    p = write_csv(tmp_path / "h.csv", rows, header=HEADER_TRAIN + ",extra")
    with pytest.raises(DataError) as e:
        load_kaggle_csv(p)
    assert_line(err(e), p, 1, "786", "785")
    p = write_csv(tmp_path / "noheader.csv", rows, header=None)
    with pytest.raises(DataError) as e:
        load_kaggle_csv(p)
    assert_line(err(e), p, 1, "header", "'label'")


def _mutate(rows, r, c, value):
    rows[r][c] = value
    return rows


@pytest.mark.parametrize(
    "make_rows, line, parts",
    [
        # ragged rows
        (lambda rows: rows[:1] + [rows[1] + ["0"]] + rows[2:], 3, ["786 columns", "785"]),
        (lambda rows: rows[:2] + [rows[2][:-1]] + rows[3:], 4, ["784 columns", "785"]),
        (lambda rows: [rows[0] + ["7"]] + rows[1:], 2, ["786 columns", "785"]),
        (lambda rows: [rows[0][:-2]] + rows[1:], 2, ["783 columns", "785"]),
        (lambda rows: [r + ["1"] for r in rows], 2, ["786 columns", "785"]),
        # bad cells
        (lambda rows: _mutate(rows, 2, 6, "abc"), 4, ["pixel5", "non-numeric", "'abc'"]),
        (lambda rows: _mutate(rows, 1, 10, ""), 3, ["pixel9", "empty cell"]),
        (lambda rows: _mutate(rows, 0, 3, "NaN"), 2, ["pixel2", "missing value", "NaN"]),
        (lambda rows: _mutate(rows, 3, 0, "10"), 5, ["label", "10", "0..9"]),
        (lambda rows: _mutate(rows, 1, 784, "256"), 3, ["pixel783", "256", "0..255"]),
        (lambda rows: _mutate(rows, 2, 1, "-1"), 4, ["pixel0", "-1", "0..255"]),
        (lambda rows: _mutate(rows, 0, 100, "12.5"), 2, ["pixel99", "non-integer", "12.5"]),
        (lambda rows: _mutate(rows, 3, 0, "x"), 5, ["label", "non-numeric"]),
    ],
    ids=[
        "long_row",
        "short_row",
        "long_first_row",
        "short_first_row",
        "all_rows_long",
        "non_numeric",
        "empty_cell",
        "nan",
        "label_10",
        "pixel_256",
        "pixel_minus_1",
        "non_integer",
        "label_text",
    ],
)
def test_kaggle_bad_rows(tmp_path, make_rows, line, parts):
    _, _, rows = csv_rows(4)
    p = write_csv(tmp_path / "train.csv", make_rows(rows))
    with pytest.raises(DataError) as e:
        load_kaggle_csv(p)
    assert_line(err(e), p, line, *parts)


def test_kaggle_reports_first_bad_line_counting_blank_lines(tmp_path):
    _, _, rows = csv_rows(4)
    rows[3][200] = "300"
    rows[2][0] = "11"
    lines = [",".join(rows[0]), "", ",".join(rows[1]), ",".join(rows[2]), ",".join(rows[3])]
    p = write_csv(tmp_path / "train.csv", lines)
    with pytest.raises(DataError) as e:
        load_kaggle_csv(p)
    assert_line(err(e), p, 5, "label", "11")


# ----------------------------------------------------------------------------- load_dataset


def test_load_dataset_none_means_shipped_copy(tmp_path, monkeypatch):
    # the real shipped files are loaded (once) by the `mnist` fixture; here only check that
    # None routes to default_data_root() and loads both splits from it
    write_mnist_folder(tmp_path, n_train=3, n_test=2)
    monkeypatch.setattr(data_files, "default_data_root", lambda: tmp_path)
    d = load_dataset(None)
    assert d["train"][0].shape == (3, 28, 28) and d["train"][1].shape == (3,)
    assert d["test"][0].shape == (2, 28, 28) and d["test"][1].shape == (2,)


def test_load_dataset_folder_and_csv(tmp_path):
    write_mnist_folder(tmp_path / "only_train", n_train=3)
    d = load_dataset(tmp_path / "only_train")
    assert d["train"][0].shape == (3, 28, 28) and d["test"] is None
    write_mnist_folder(tmp_path / "both", n_train=3, n_test=2, gz=False)
    d = load_dataset(str(tmp_path / "both"))
    assert d["test"][0].shape == (2, 28, 28) and d["test"][1].shape == (2,)

    X, y, rows = csv_rows(3)
    d = load_dataset(write_csv(tmp_path / "train.csv", rows))
    np.testing.assert_array_equal(d["train"][0], X)
    np.testing.assert_array_equal(d["train"][1], y)
    assert d["test"] is None

    _, _, rows = csv_rows(2, labels=False)
    p = write_csv(tmp_path / "test.csv", rows, header=HEADER_TEST)
    with pytest.raises(DataError) as e:
        load_dataset(p)
    assert_names(err(e), p, "label")
    for bad in (tmp_path / "nowhere", write(tmp_path / "x.txt", b"hi")):
        with pytest.raises(DataError) as e:
            load_dataset(bad)
        assert_names(err(e), bad)


# ----------------------------------------------------------------------------- DataLoader


def test_dataloader_batch_counts():
    X, y = np.arange(10), np.arange(10) * 2
    dl = DataLoader(X, y, batch_size=4)
    batches = list(dl)
    assert len(dl) == 3 and [len(xb) for xb, _ in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in batches]), X)
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]), y)
    dl = DataLoader(X, y, batch_size=4, drop_last=True)
    assert len(dl) == 2 and [len(xb) for xb, _ in dl] == [4, 4]
    assert len(DataLoader(X, batch_size=5)) == 2 and len(DataLoader(X, batch_size=11)) == 1
    assert len(DataLoader(X, batch_size=11, drop_last=True)) == 0
    assert all(isinstance(xb, np.ndarray) for xb in DataLoader(X, batch_size=3))


def test_dataloader_shuffle_covers_every_sample_and_keeps_pairs():
    X = np.arange(103)
    dl = DataLoader(X, X * 10, batch_size=16, shuffle=True, rng=0)
    for _ in range(3):
        xs, ys = zip(*dl)
        xs, ys = np.concatenate(xs), np.concatenate(ys)
        assert sorted(xs.tolist()) == X.tolist()
        np.testing.assert_array_equal(ys, xs * 10)


def test_dataloader_seeding_and_epochs():
    X = np.arange(50)

    def epochs(rng, n=2):
        dl = DataLoader(X, batch_size=7, shuffle=True, rng=rng)
        return [np.concatenate(list(dl)) for _ in range(n)]

    a, b = epochs(123), epochs(np.random.default_rng(123))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], a[1])  # new permutation each epoch
    assert not np.array_equal(epochs(1)[0], epochs(2)[0])
    assert not np.array_equal(a[0], X)


def test_dataloader_bad_arguments():
    X = np.zeros((5, 2))
    for bs in (0, -3, 2.5, True, "8"):
        with pytest.raises(DataError, match="batch_size"):
            DataLoader(X, batch_size=bs)
    with pytest.raises(DataError, match="5 samples"):
        DataLoader(X, np.zeros(4))
    with pytest.raises(DataError, match="rng"):
        DataLoader(X, rng="seed")


# ----------------------------------------------------------------------------- conversions


def test_to_float_and_one_hot():
    X = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    f = to_float(X)
    assert f.shape == (1, 4) and f.dtype == np.float32
    np.testing.assert_allclose(f, [[0.0, 1.0, 0.2, 0.4]], rtol=1e-6)
    assert to_float(X, np.float64).dtype == np.float64
    with pytest.raises(DataError):
        to_float(f)
    oh = one_hot(np.array([3, 0, 9], dtype=np.uint8))
    assert oh.shape == (3, 10) and oh.dtype == np.float32
    np.testing.assert_array_equal(oh.argmax(1), [3, 0, 9])
    assert oh.sum() == 3
    with pytest.raises(DataError, match="10"):
        one_hot(np.array([1, 10]))


def test_to_float_column_major_layout():
    images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    rows, cols = to_float(images), to_float(images, order="F")
    assert rows.flags.c_contiguous and cols.flags.f_contiguous
    np.testing.assert_array_equal(rows, cols)
    np.testing.assert_array_equal(rows, images.reshape(2, 9) / np.float32(255))


def test_to_float_of_no_images():
    assert to_float(np.zeros((0, 28, 28), np.uint8)).shape == (0, 784)


def test_dataset_files_lists_what_load_dataset_reads(tmp_path):
    write_mnist_folder(tmp_path / "both", n_test=2, gz=False)
    names = sorted(p.name for p in dataset_files(tmp_path / "both"))
    assert names == ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
                     "train-images-idx3-ubyte", "train-labels-idx1-ubyte"]
    assert dataset_files(tmp_path / "train.csv") == [tmp_path / "train.csv"]
    assert len(dataset_files(None)) == 4


# ----------------------------------------------------------------------------- image files


@pytest.fixture(scope="module")
def seven():
    images, labels = load_mnist("test")
    return images[0]  # a 7


def test_mnist_digits_are_used_as_they_are(seven, tmp_path):
    from PIL import Image

    Image.fromarray(seven).save(tmp_path / "d.png")
    image, notes = load_digit_image(tmp_path / "d.png")
    assert notes == [] and np.array_equal(image, seven)
    images, _ = load_mnist("test")
    assert all(looks_like_mnist(x.astype(float)) for x in images[:2000])


def centre_and_size(image):
    g = image.astype(float)
    rows = np.flatnonzero((g > 0.2 * g.max()).any(axis=1))
    cols = np.flatnonzero((g > 0.2 * g.max()).any(axis=0))
    cy = (g.sum(axis=1) * np.arange(28)).sum() / g.sum()
    cx = (g.sum(axis=0) * np.arange(28)).sum() / g.sum()
    return cy, cx, max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1


def test_off_centre_28x28_digits_are_centred_as_larger_images_are(seven, tmp_path):
    """A digit drawn in a corner of a 28x28 canvas, or filling it, is cropped, scaled to 20
    pixels and moved to the centre of mass (14, 14) -- as a larger image would be."""
    from PIL import Image

    corner = np.zeros((28, 28), np.uint8)
    corner[:14, :14] = np.asarray(Image.fromarray(seven[4:24, 4:24]).resize((14, 14)))
    filling = np.asarray(Image.fromarray(seven[4:24, 4:24]).resize((28, 28)))
    for name, array in (("corner", corner), ("filling", filling)):
        Image.fromarray(array).save(tmp_path / f"{name}.png")
        image, notes = load_digit_image(tmp_path / f"{name}.png")
        assert notes and "re-centred" in notes[0], name
        cy, cx, size = centre_and_size(image)
        assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5 and 19 <= size <= 20, name
        big = np.kron(array, np.ones((3, 3), np.uint8))  # the same drawing at 84x84
        Image.fromarray(big).save(tmp_path / f"{name}_big.png")
        same, _ = load_digit_image(tmp_path / f"{name}_big.png")
        assert np.abs(same.astype(int) - image.astype(int)).mean() < 8, name


def test_16_bit_images_are_scaled_not_clipped(seven, tmp_path):
    from PIL import Image

    Image.fromarray(seven.astype(np.uint16) * 257).save(tmp_path / "d16.png")
    image, notes = load_digit_image(tmp_path / "d16.png")
    assert notes == [] and np.array_equal(image, seven)




@pytest.mark.parametrize("side", [20000, 5000])
def test_huge_images_are_refused_before_decoding(tmp_path, side):
    """20000x20000 trips Pillow's DecompressionBombError; 5000x5000 this module's own limit."""
    p = png_header_only(tmp_path / "huge.png", side, side)
    with pytest.raises(DataError) as e:
        load_digit_image(p)
    assert_names(err(e), p, "too large" if side == 20000 else f"{side}x{side}")


def test_bad_image_files(tmp_path):
    text = tmp_path / "t.png"
    text.write_text("not an image")
    for path, what in ((tmp_path / "missing.png", "not found"), (tmp_path, "not a regular"),
                       (text, "not a readable image")):
        with pytest.raises(DataError) as e:
            load_digit_image(path)
        assert_names(err(e), path, what)
    small = png_header_only(tmp_path / "small.png", 10, 10)
    with pytest.raises(DataError):
        load_digit_image(small)


def test_fit_like_mnist_of_a_blank_image():
    assert not fit_like_mnist(np.zeros((40, 40))).any()
