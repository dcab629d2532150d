"""Random numbers: `tl.Generator`, the default generator `tl.manual_seed` seeds, and the
random factories (`rand`, `randn`, `randint`, `randperm`, `multinomial`) that take
`generator=`.

A Generator wraps a numpy PCG64 generator. The numbers differ from PyTorch's (another
algorithm), but the same seed gives the same numbers, and `get_state`/`set_state` save and
restore the stream. Initialisers and dropout draw from the default generator (`get_rng()`).
"""

from __future__ import annotations

import secrets
from typing import Any, Optional

import numpy as np

from . import devices
from .core.tensor import Tensor
from .ops.factories import _size

_STATE_BYTES = 8 + 16 + 16 + 1 + 4  # seed, PCG64 state and increment, a cached 32-bit draw


class Generator:
    """A stream of random numbers: `g = tl.Generator().manual_seed(0)`, then
    `tl.randn(3, generator=g)`. A new generator starts from PyTorch's default seed."""

    def __init__(self, device: Any = "cpu") -> None:
        self.device = devices.check(device)
        self.manual_seed(67280421310721)  # torch.Generator()'s initial seed

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from `seed` (an integer; negative seeds wrap, as PyTorch)."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            seed = int(seed)  # a string of digits, a 0-d tensor, ...
        seed = int(seed)
        if not -(2**63) <= seed < 2**64:
            raise RuntimeError("Overflow when unpacking long")
        self._seed = seed % 2**64
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; returns that seed."""
        seed = secrets.randbits(63)
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        """The seed the stream started from."""
        return self._seed

    def get_state(self) -> Tensor:
        """The generator's state as a uint8 tensor (for `set_state`)."""
        s = self._rng.bit_generator.state
        parts = [self._seed.to_bytes(8, "little"), s["state"]["state"].to_bytes(16, "little"),
                 s["state"]["inc"].to_bytes(16, "little"), bytes([s["has_uint32"]]),
                 int(s["uinteger"]).to_bytes(4, "little")]
        return Tensor._make(np.frombuffer(b"".join(parts), dtype=np.uint8).copy())

    def set_state(self, new_state: Any) -> Generator:
        """Restore a state from `get_state`."""
        if not isinstance(new_state, Tensor) or new_state.dtype != np.uint8:
            raise TypeError("RNG state must be a uint8 tensor (from Generator.get_state())")
        raw = new_state.data.tobytes()
        if new_state.data.size != _STATE_BYTES:
            raise RuntimeError(f"Expected a generator state of size {_STATE_BYTES} but found "
                               f"the input RNG state size to be {new_state.data.size}")
        seed, state, inc = (int.from_bytes(raw[a:b], "little")
                            for a, b in ((0, 8), (8, 24), (24, 40)))
        bits = np.random.PCG64()
        bits.state = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc},
                      "has_uint32": raw[40], "uinteger": int.from_bytes(raw[41:45], "little")}
        self._seed, self._rng = seed, np.random.Generator(bits)
        return self

    @property
    def numpy(self) -> np.random.Generator:
        """The numpy generator underneath (what the initialisers draw from)."""
        return self._rng

    def __repr__(self) -> str:
        return f"<tinygrad_lite.Generator seed={self._seed}>"


default_generator = Generator()
default_generator.seed()  # nondeterministic until tl.manual_seed, as PyTorch's


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (initialisers, dropout, the random factories)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator nondeterministically; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(new_state: Tensor) -> None:
    default_generator.set_state(new_state)


def get_rng() -> np.random.Generator:
    """The default generator's numpy generator."""
    return default_generator._rng


def as_numpy(generator: Any) -> np.random.Generator:
    """A `tl.Generator` (None: the default one) as its numpy generator; a numpy generator
    (Generator or RandomState) as it is."""
    if generator is None:
        return default_generator._rng
    if isinstance(generator, Generator):
        return generator._rng
    return generator  # a numpy Generator or RandomState, as the initialisers accept


def _factory(shape: tuple, name: str, dtype: Any, device: Any) -> tuple:
    if device is not None:
        devices.check(device)
    return _size(shape, name), np.float32 if dtype is None else dtype


def randn(*size: Any, generator: Optional[Generator] = None, dtype: Any = None,
          device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples: `randn(2, 3)`, `randn((2, 3))` or `randn([2, 3])`."""
    shape, dtype = _factory(size, "randn", dtype, device)
    data = as_numpy(generator).standard_normal(shape).astype(dtype)
    return Tensor(data, requires_grad=requires_grad)


def rand(*size: Any, generator: Optional[Generator] = None, dtype: Any = None,
         device: Any = None, requires_grad: bool = False) -> Tensor:
    """U[0, 1) samples: `rand(2, 3)`, `rand((2, 3))` or `rand([2, 3])`."""
    shape, dtype = _factory(size, "rand", dtype, device)
    return Tensor(as_numpy(generator).random(shape).astype(dtype), requires_grad=requires_grad)


def randint(*args: Any, size: Any = None, generator: Optional[Generator] = None,
            dtype: Any = np.int64, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Integers uniform in [low, high): `randint(high, size)` or `randint(low, high, size)`,
    `size` a tuple; int64 by default."""
    if size is None:
        if not args:
            raise TypeError("randint() missing required argument 'size'")
        *args, size = args
    if len(args) == 1:
        low, high = 0, args[0]
    elif len(args) == 2:
        low, high = args
    else:
        raise TypeError("randint() takes (high, size) or (low, high, size)")
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"randint(): argument 'size' must be tuple of ints, not "
                        f"{type(size).__name__}")
    low, high = int(low), int(high)
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    shape, dtype = _factory(tuple(size), "randint", dtype, device)
    data = as_numpy(generator).integers(low, high, shape).astype(dtype)
    return Tensor(data, requires_grad=requires_grad)


def randperm(n: int, *, generator: Optional[Generator] = None, dtype: Any = np.int64,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """A random permutation of 0, ..., n - 1."""
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got {n}")
    if device is not None:
        devices.check(device)
    data = as_numpy(generator).permutation(int(n)).astype(dtype)
    return Tensor(data, requires_grad=requires_grad)


def multinomial(input: Any, num_samples: int, replacement: bool = False, *,  # noqa: A002
                generator: Optional[Generator] = None) -> Tensor:
    """Category indices drawn from the (unnormalised, non-negative) weights in each row of
    `input` (1-D or 2-D): (num_samples,) or (rows, num_samples), int64.

    With replacement, each draw inverts the row's cumulative distribution at a uniform u.
    Without, each category gets an exponential key E / w (E ~ Exp(1)) and the smallest keys
    win: the same law as drawing one at a time and removing what was drawn. As PyTorch,
    categories of weight 0 come last, when the others are used up."""
    w = np.asarray(input.data if isinstance(input, Tensor) else input, dtype=np.float64)
    if w.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    rows = w.reshape(-1, w.shape[-1])
    if not np.isfinite(rows).all() or (rows < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    total = rows.sum(axis=1, keepdims=True)
    if (total <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    rng = as_numpy(generator)
    if replacement:
        cdf = np.cumsum(rows, axis=1)
        cdf /= cdf[:, -1:]  # exactly 1 from the last category of nonzero weight on
        u = rng.random((len(rows), num_samples))
        index = np.stack([np.searchsorted(c, ui, side="right") for c, ui in zip(cdf, u)])
        index = np.minimum(index, rows.shape[1] - 1)
    else:
        with np.errstate(divide="ignore"):
            keys = rng.standard_exponential(rows.shape) / rows  # weight 0: drawn last
        index = np.argsort(keys, axis=1, kind="stable")[:, :num_samples]
    index = index.astype(np.int64)
    return Tensor._make(index[0] if w.ndim == 1 else index)
