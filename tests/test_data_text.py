"""The character-level text helper (tinygrad_lite.data.text) and the shipped text files."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.data import CharVocab, DataError, get_batch, load_text, split_train_val

REPO = Path(__file__).resolve().parent.parent
NAMES = REPO / "data" / "names" / "names.txt"
SHAKESPEARE = REPO / "data" / "tinyshakespeare" / "input.txt"


@pytest.mark.parametrize("path", [NAMES, SHAKESPEARE])
def test_shipped_text_matches_readme_checksum(path):
    readme = (REPO / "data" / "README.md").read_text()
    rel = path.relative_to(REPO / "data").as_posix()
    m = re.search(rf"^([0-9a-f]{{64}})\s+{re.escape(rel)}\s*$", readme, re.M)
    assert m, f"checksum of {rel} missing from data/README.md"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == m.group(1)


def test_shakespeare_vocabulary_and_split_are_nanogpts():
    text = load_text(SHAKESPEARE)
    assert len(text) == 1_115_394
    vocab = CharVocab.from_text(text)
    assert vocab.size == len(vocab) == 65
    data = vocab.encode(text)
    assert data.dtype == np.int64 and data.shape == (len(text),)
    assert data[:10].tolist() == [18, 47, 56, 57, 58, 1, 15, 47, 58, 47]  # "First Citi"
    train, val = split_train_val(data, 0.9)
    assert (len(train), len(val)) == (1_003_854, 111_540)
    assert vocab.decode(val[:50]) == text[1_003_854:1_003_904]


def test_names_vocabulary_with_dot_first():
    words = load_text(NAMES).splitlines()
    assert len(words) == 32_033
    vocab = CharVocab.from_text("".join(words) + ".")
    assert vocab.size == 27 and vocab.itos[0] == "." and vocab.stoi["a"] == 1
    assert vocab.stoi["z"] == 26


def test_encode_decode_round_trip_with_any_order():
    vocab = CharVocab(["z", "é", "a", "\n", "日"])
    text = "aé日\nzza"
    ids = vocab.encode(text)
    assert ids.tolist() == [2, 1, 4, 3, 0, 0, 2]
    assert vocab.decode(ids) == text
    assert vocab.decode(tl.tensor(ids)) == text
    assert vocab.decode(list(ids)) == text
    assert vocab.encode("").shape == (0,) and vocab.decode([]) == ""
    assert vocab.stoi == {c: i for i, c in enumerate(vocab.itos)}


@pytest.mark.parametrize("text, char, pos", [("abcx", "x", 3), ("Abc", "A", 0), ("ab\tc", "\t", 2)])
def test_unknown_character_is_one_line_error_naming_it(text, char, pos):
    vocab = CharVocab("abc")
    with pytest.raises(DataError) as e:
        vocab.encode(text)
    msg = str(e.value)
    assert "\n" not in msg and repr(char) in msg and str(pos) in msg


def test_decode_out_of_range_id_is_an_error():
    vocab = CharVocab("abc")
    for bad in ([0, 3], [-1], np.array([0.5])):
        with pytest.raises(DataError):
            vocab.decode(bad)


def test_vocab_refuses_repeats_and_strings():
    with pytest.raises(ValueError):
        CharVocab("aba")
    with pytest.raises(ValueError):
        CharVocab(["ab"])
    with pytest.raises(ValueError):
        CharVocab([])


def test_get_batch_windows_and_targets_are_shifted():
    data = np.arange(100, dtype=np.int64) * 3
    x, y = get_batch(data, 8, 5, generator=np.random.default_rng(0))
    assert x.shape == y.shape == (8, 5)
    xs, ys = x.numpy(), y.numpy()
    assert xs.dtype == ys.dtype == np.int64
    assert (ys[:, :-1] == xs[:, 1:]).all()
    starts = xs[:, 0] // 3
    assert ((starts >= 0) & (starts < 95)).all()
    assert (xs == (starts[:, None] + np.arange(5)) * 3).all()
    assert (ys == xs + 3).all()


def test_get_batch_generator_is_reproducible_and_covers_every_start():
    data = np.arange(20)
    a = get_batch(data, 4, 3, generator=np.random.default_rng(7))[0].numpy()
    b = get_batch(data, 4, 3, generator=np.random.default_rng(7))[0].numpy()
    assert (a == b).all()
    starts = get_batch(data, 4000, 3, generator=np.random.default_rng(1))[0].numpy()[:, 0]
    assert set(starts.tolist()) == set(range(17))  # every start in [0, len - T), none beyond
    tl.manual_seed(3)
    c = get_batch(data, 4, 3)[0].numpy()
    tl.manual_seed(3)
    assert (get_batch(data, 4, 3)[0].numpy() == c).all()


def test_get_batch_with_framework_generator():
    g = tl.Generator().manual_seed(5)
    a = get_batch(np.arange(50), 6, 4, generator=g)[0].numpy()
    g = tl.Generator().manual_seed(5)
    assert (get_batch(np.arange(50), 6, 4, generator=g)[0].numpy() == a).all()


def test_get_batch_bad_sizes():
    with pytest.raises(ValueError):
        get_batch(np.arange(5), 2, 5)
    with pytest.raises(ValueError):
        get_batch(np.arange(5), 0, 2)
    with pytest.raises(ValueError):
        get_batch(np.zeros((3, 3)), 1, 1)


def test_split_fraction_bounds():
    a, b = split_train_val(list(range(10)), 0.8)
    assert a == list(range(8)) and b == [8, 9]
    with pytest.raises(ValueError):
        split_train_val([1, 2], 1.0)


def test_load_text_errors_are_one_line(tmp_path):
    with pytest.raises(DataError):
        load_text(tmp_path / "missing.txt")
    with pytest.raises(DataError):
        load_text(tmp_path)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\xff\xfe")
    with pytest.raises(DataError) as e:
        load_text(bad)
    assert "\n" not in str(e.value)
    good = tmp_path / "good.txt"
    good.write_text("a\r\nb")
    assert load_text(good) == "a\r\nb"  # newlines kept as they are
