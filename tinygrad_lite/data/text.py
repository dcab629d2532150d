"""Character-level text data: a vocabulary, encode/decode, a train/val split, random batches.

What nanoGPT's ``shakespeare_char`` preparation and ``get_batch`` do, and what makemore's
lectures do with ``stoi``/``itos``::

    from tinygrad_lite.data import CharVocab, get_batch, load_text, split_train_val
    text = load_text("data/tinyshakespeare/input.txt")
    vocab = CharVocab.from_text(text)                 # 65 characters, sorted
    data = vocab.encode(text)                          # int64 array, one id per character
    train, val = split_train_val(data, 0.9)            # the first 90%, the last 10%
    x, y = get_batch(train, 12, 64, generator=g)       # (12, 64) int64 Tensors, y = x shifted by 1
    print(vocab.decode(x[0]))

Ids are the characters' ranks in the sorted vocabulary (``sorted(set(text))``), so the same
text always gives the same ids. A character outside the vocabulary is a :class:`DataError`
(a one-line ``ValueError``) naming the character and its position.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, List, Optional, Tuple, Union

import numpy as np

from ..core.tensor import Tensor
from .files import DataError

__all__ = ["CharVocab", "get_batch", "load_text", "split_train_val"]

PathLike = Union[str, "os.PathLike[str]"]


def load_text(path: PathLike, encoding: str = "utf-8") -> str:
    """The whole text of the file at `path`. A missing, unreadable or undecodable file is a
    :class:`DataError` naming it."""
    try:
        with open(path, encoding=encoding, newline="") as f:
            return f.read()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not a text file") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not {encoding} text (byte {e.start}: {e.reason})") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None


def _codepoints(text: str) -> np.ndarray:
    """The Unicode code points of `text` as a uint32 array (vectorised: no Python loop)."""
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


class CharVocab:
    """A character vocabulary: id ``i`` is ``itos[i]``, and ``stoi[c]`` is the id of ``c``.

    ``CharVocab(chars)`` keeps `chars` in the order given (no repeats);
    ``CharVocab.from_text(text)`` takes ``sorted(set(text))``, as nanoGPT and makemore do.
    """

    def __init__(self, chars: Iterable[str]) -> None:
        itos: List[str] = list(chars)
        for c in itos:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"CharVocab: expected single characters, got {c!r}")
        if len(set(itos)) != len(itos):
            seen = set()
            dup = next(c for c in itos if c in seen or seen.add(c))  # type: ignore[func-returns-value]
            raise ValueError(f"CharVocab: character {dup!r} given twice")
        if not itos:
            raise ValueError("CharVocab: no characters")
        self.itos = itos
        self.stoi = {c: i for i, c in enumerate(itos)}
        codes = _codepoints("".join(itos)).astype(np.int64)
        self._order = np.argsort(codes, kind="stable")
        self._sorted_codes = codes[self._order]  # for a vectorised encode: searchsorted

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """The vocabulary of every character in `text`, sorted by code point."""
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.itos)

    @property
    def size(self) -> int:
        """The number of characters (the model's vocab_size)."""
        return len(self.itos)

    def __repr__(self) -> str:
        shown = "".join(self.itos)
        more = "..." if len(shown) > 40 else ""
        return f"CharVocab({len(self)} characters: {shown[:40]!r}{more})"

    def encode(self, text: str) -> np.ndarray:
        """The ids of the characters of `text`, an int64 array of ``len(text)``. A character
        outside the vocabulary raises :class:`DataError` naming it and its position."""
        codes = _codepoints(text).astype(np.int64)
        pos = np.searchsorted(self._sorted_codes, codes)
        pos_clipped = np.minimum(pos, len(self._sorted_codes) - 1)
        bad = self._sorted_codes[pos_clipped] != codes
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"character {text[i]!r} at position {i} is not in the vocabulary "
                            f"of {len(self)} characters")
        return self._order[pos_clipped].astype(np.int64)

    def decode(self, ids: Any) -> str:
        """The text of `ids`: a sequence of ints, a 1-D int array or Tensor."""
        arr = ids.numpy() if isinstance(ids, Tensor) else np.asarray(ids)
        arr = arr.reshape(-1)
        if arr.size and (arr.dtype.kind not in "iu" or arr.min() < 0 or arr.max() >= len(self)):
            bad = next((int(v) if float(v).is_integer() else v) for v in arr.tolist()
                       if not (float(v).is_integer() and 0 <= v < len(self)))
            raise DataError(f"id {bad} is not in the vocabulary of {len(self)} characters "
                            f"(ids 0..{len(self) - 1})")
        return "".join(self.itos[i] for i in arr.tolist())


def split_train_val(data: Any, train_fraction: float = 0.9) -> Tuple[Any, Any]:
    """(the first ``int(len(data) * train_fraction)`` items, the rest): nanoGPT's split of
    tiny-shakespeare (90% / 10%), in the text's order."""
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"split_train_val: train_fraction must be in (0, 1), got {train_fraction}")
    n = int(len(data) * train_fraction)
    return data[:n], data[n:]


def _randint(high: int, n: int, generator: Optional[Any]) -> np.ndarray:
    """`n` ints in [0, high): from `generator` (a ``tl.Generator``, or a numpy Generator), or
    the framework's generator (``tl.manual_seed``) when it is None."""
    if generator is None:
        from ..random import get_rng

        return get_rng().integers(0, high, size=n)
    if isinstance(generator, np.random.Generator):
        return generator.integers(0, high, size=n)
    from .. import randint  # type: ignore[attr-defined]  # torch.randint(high, size, generator=)

    return np.asarray(randint(high, (n,), generator=generator).numpy(), dtype=np.int64)


def get_batch(
    data: np.ndarray, batch_size: int, block_size: int, generator: Optional[Any] = None
) -> Tuple[Tensor, Tensor]:
    """A random batch of `batch_size` windows of `block_size` ids, as nanoGPT's ``get_batch``:
    ``x[b] = data[i_b : i_b + T]`` and ``y[b] = data[i_b + 1 : i_b + 1 + T]`` (the next
    character at every position), with each start ``i_b`` uniform in
    ``[0, len(data) - block_size)``. Returns two int64 (B, T) Tensors."""
    data = np.asarray(data)
    if data.ndim != 1:
        raise ValueError(f"get_batch: data must be 1-D ids, got shape {data.shape}")
    if batch_size < 1 or block_size < 1:
        raise ValueError(f"get_batch: batch_size and block_size must be >= 1, got "
                         f"{batch_size} and {block_size}")
    if len(data) < block_size + 1:
        raise ValueError(f"get_batch: {len(data)} ids are too few for windows of "
                         f"{block_size} + 1")
    starts = _randint(len(data) - block_size, batch_size, generator)
    window = starts[:, None] + np.arange(block_size)
    x = data[window].astype(np.int64)
    y = data[window + 1].astype(np.int64)
    return Tensor(x), Tensor(y)
