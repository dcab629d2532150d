"""BLAS products: the one place where the speed of matrix products and row reductions is
tuned. The ops call `matmul(a, b)`, `column_sums(g)`, `row_max(x)`, `row_sums(x)` (and the
convolution's `matmul_wide`, `matmul_nt`, `channel_sums`, `channel_dots`) instead of `a @ b`
and `.sum`/`.max`: the numbers are the same (float32 sums may differ in the last digits, as
BLAS sums in blocks), only faster with numpy's OpenBLAS. Anything but numpy arrays (Tensors,
while a backward is recorded) is computed with the plain operators. The tricks, each measured
by `benchmarks/run.py` (figures in BENCHMARKS.md; docs/performance.md says how):

* **Tall, narrow products in row blocks.** OpenBLAS multiplies a small product directly and a
  larger one only after copying ("packing") its operands; for the first layer's x (N, 784) @
  W^T (784, 10) packing reads the big x twice. In row blocks of BLOCK_WORK multiply-adds every
  block takes the direct path and x is read once. Products of a few columns only: for wider
  outputs the blocks are slower (MIN_BLOCK_ROWS). Only for a big x: under PARALLEL_WORK
  multiply-adds (a mini-batch) x stays in cache, and one call is faster.
* **Sums and maxima along short rows.** numpy reduces each row of an (N, C) array on its own,
  which for C = 10 costs more than the arithmetic: `column_sums` and `row_sums` are products
  with a vector of ones, `row_max` reduces the transposed copy (up to SHORT_ROW columns).
* **Per-channel sums of images** (batch norm): a channel-major (N, C, H, W) array is a
  (C, N H W) matrix, summed by one matrix-vector product (`channel_sums`, `channel_dots`).
* **Wide products in column blocks** (a convolution's W @ cols: `matmul_wide`), and products
  over a long shared axis in blocks along it (its weight gradient: `matmul_nt`).
* **Threads of their own.** `set_num_threads(n)` (tinygrad_lite.threads, opt-in) shares the
  blocks of a product out over n threads (numpy lets go of the GIL inside BLAS), with BLAS
  itself on one thread: OpenBLAS's own threads pack the tall x of x @ W^T even when threaded,
  and its idle workers spin on the cores the blocks want. A share must save more than waking
  a sleeping worker costs, so products under PARALLEL_WORK multiply-adds stay on the calling
  thread. One product at a time uses the workers; the worker list is read under the same lock
  that `set_num_threads` takes to replace it.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, List, Optional

import numpy as np

BLOCK_WORK = 500_000  # m * n * k of one row block: inside OpenBLAS's direct (unpacked) path
MIN_BLOCK_ROWS = 32  # fewer rows per block than this: one call is faster
SHORT_ROW = 12  # row_max: the transposed copy pays up to this many columns
MIN_BLOCK_COLS = 1024  # matmul_wide: narrower column blocks are slower than one call
WIDE_BLOCK = 4096  # matmul_nt: length of the shared axis per block
PARALLEL_WORK = 16_000_000  # m * n * k below which a product stays on the calling thread


# ---- the threads ------------------------------------------------------------------------------


class _Worker(threading.Thread):
    """A daemon thread that runs one share of a product at a time: `begin(work, lo, hi)`, then
    `end()` for its result. Two locks hand the job over and back (cheaper than a
    ThreadPoolExecutor's futures)."""

    def __init__(self) -> None:
        super().__init__(name="tinygrad_lite-blas", daemon=True)
        self._go, self._done = threading.Lock(), threading.Lock()
        self._go.acquire()
        self._done.acquire()
        self._job: Any = None
        self._result: Any = None
        self.start()

    def run(self) -> None:
        while True:
            self._go.acquire()
            if self._job is None:  # retired by set_num_threads
                return
            work, lo, hi = self._job
            self._job = None
            try:
                self._result = (True, work(lo, hi))
            except BaseException as e:  # handed to the caller, raised there
                self._result = (False, e)
            self._done.release()

    def begin(self, work: Optional[Callable[[int, int], Any]], lo: int = 0, hi: int = 0) -> None:
        self._job = None if work is None else (work, lo, hi)
        self._go.release()

    def end(self) -> tuple:
        """(True, result) or (False, the exception its share raised)."""
        self._done.acquire()
        outcome, self._result = self._result, None
        return outcome


_threads = 1
_workers: List[_Worker] = []  # _threads - 1 of them; the calling thread takes the last share
_busy = threading.Lock()  # one product at a time uses the workers; another runs on its own


def set_num_threads(n: int) -> None:
    """Spread the products of this module over `n` threads (1, the default: the calling
    thread only). Pair n > 1 with BLAS on one thread (threadpoolctl), or the threads compete."""
    global _threads, _workers
    n = int(n)
    if n < 1:
        raise ValueError(f"set_num_threads: the number of threads must be >= 1, got {n}")
    with _busy:
        for worker in _workers:
            worker.begin(None)
        _threads, _workers = n, [_Worker() for _ in range(n - 1)]


def get_num_threads() -> int:
    """The number of threads the products of this module use."""
    return _threads


def _after_fork() -> None:  # a child process has none of its parent's threads
    global _workers, _busy
    _busy = threading.Lock()
    _workers = [_Worker() for _ in range(_threads - 1)]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def shared(work: Callable[[int, int], Any], total: int, step: int, size: int,
           least: int = PARALLEL_WORK) -> List[Any]:
    """[work(start, stop), ...] over consecutive ranges that cover range(total), one per
    thread, each a multiple of `step` long; on the calling thread alone when the work is
    under `least` (`size`: a product's multiply-adds; an elementwise kernel's elements,
    ops/parallel.py), there is one thread, or another call has the workers."""
    if size < least or _threads == 1 or not _busy.acquire(blocking=False):
        return [work(0, total)]
    try:  # the workers are read under the lock: set_num_threads may replace them meanwhile
        shares = min(len(_workers) + 1, -(-total // max(step, 1)))
        length = -(-total // (shares * step)) * step
        bounds = [(i, min(i + length, total)) for i in range(0, total, length)]
        helpers = _workers[: len(bounds) - 1]
        for worker, (lo, hi) in zip(helpers, bounds):
            worker.begin(work, lo, hi)
        try:
            last = work(*bounds[-1])
        finally:
            outcomes = [worker.end() for worker in helpers]  # every share ends before a raise
        for ok, value in outcomes:
            if not ok:
                raise value
        return [value for _, value in outcomes] + [last]
    finally:
        _busy.release()


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b (numpy's semantics). A 2-D b with a narrow output is applied to a's rows in blocks;
    with several threads, a's rows (or, for a short a, the shared axis) are shared out."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray or b.ndim != 2 or a.ndim < 2 or (
            a.size * b.shape[1] < PARALLEL_WORK):
        return a @ b  # products that fit in cache, and Tensors (a backward being recorded)
    k, n = b.shape
    m = a.size // k if k else 0
    rows = BLOCK_WORK // max(k * n, 1)
    blocked = MIN_BLOCK_ROWS <= rows < m
    if not blocked:
        if _threads == 1 or a.ndim != 2:
            return a @ b
        if m < k and n < k:  # a small output over a long shared axis: g^T @ x
            return sum(shared(lambda lo, hi: a[:, lo:hi] @ b[lo:hi], k, 1, m * n * k))
        rows = m
    a2 = a.reshape(m, k)  # the leading axes are rows too
    if blocked and b.dtype == np.float64:
        b = np.ascontiguousarray(b)  # float64 blocks run faster with b in C order (above)
    out = np.empty((m, n), dtype=np.result_type(a, b))

    def some_rows(lo: int, hi: int) -> None:
        for i in range(lo, hi, rows):
            np.matmul(a2[i : min(i + rows, hi)], b, out=out[i : min(i + rows, hi)])

    shared(some_rows, m, rows if blocked else 1, m * n * k)
    return out.reshape(a.shape[:-1] + (n,))


def column_sums(g: np.ndarray) -> np.ndarray:
    """The sum of the rows of a 2-D g (N, C): g.sum(axis=0), as one BLAS product."""
    if type(g) is not np.ndarray:
        return g.sum(axis=0)
    return np.ones(g.shape[0], dtype=g.dtype) @ g


def row_sums(x: np.ndarray) -> np.ndarray:
    """The sum of each row of a 2-D x (N, C): x.sum(axis=1), as one BLAS product."""
    return x @ np.ones(x.shape[1], dtype=x.dtype)


def row_max(x: np.ndarray) -> np.ndarray:
    """The maximum of each row of a 2-D x (N, C): x.max(axis=1). Rows of at most SHORT_ROW
    elements are reduced over a transposed copy (the C columns become contiguous rows, and
    numpy takes their elementwise maximum); longer rows by numpy's own reduction."""
    if x.shape[1] > SHORT_ROW:
        return x.max(axis=1)
    return np.ascontiguousarray(x.T).max(axis=0)


def _channel_matrix(x: np.ndarray):
    """x (N, C, ...) as the (C, N * ...) matrix of its channels when that is a free view (x is
    channel-major in memory); None otherwise."""
    xt = np.moveaxis(x, 1, 0)
    return xt.reshape(x.shape[1], -1) if xt.flags.c_contiguous else None


def channel_sums(x: np.ndarray) -> np.ndarray:
    """x (N, C, ...) summed over every axis but the channel axis 1 -> (C,), as BLAS products:
    one for a channel-major x, two for a C-contiguous one; numpy's sum for other layouts."""
    # numpy's own sum for empty, integer and float16 arrays (it accumulates float16 wider)
    if x.ndim < 2 or x.size == 0 or x.dtype not in (np.float32, np.float64):
        return x.sum(axis=(0,) + tuple(range(2, x.ndim)))
    xc = _channel_matrix(x)
    if xc is not None:
        return xc @ np.ones(xc.shape[1], dtype=x.dtype)
    if x.flags.c_contiguous:  # the rows of (N, C * L) summed, then each channel's L pixels
        per_pixel = np.ones(x.shape[0], dtype=x.dtype) @ x.reshape(x.shape[0], -1)
        per_pixel = per_pixel.reshape(x.shape[1], -1)
        return per_pixel @ np.ones(per_pixel.shape[1], dtype=x.dtype)
    return x.sum(axis=(0,) + tuple(range(2, x.ndim)))


def channel_dots(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(x * y) summed over every axis but the channel axis 1 -> (C,), for x and y of one
    shape: one batched dot product of their channel rows when both are channel-major (the
    product x * y is never written); else `channel_sums(x * y)`."""
    floats = x.dtype in (np.float32, np.float64)
    if x.shape == y.shape and x.dtype == y.dtype and floats and x.ndim >= 2 and x.size:
        xc, yc = _channel_matrix(x), _channel_matrix(y)
        if xc is not None and yc is not None:
            return (xc[:, None, :] @ yc[:, :, None]).reshape(x.shape[1])
    return channel_sums(x * y)


def matmul_wide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for 2-D a (m, k) and a wide 2-D b (k, n): applied to b's columns in blocks of
    BLOCK_WORK // (m k) columns when a block holds at least MIN_BLOCK_COLS; else one call (one
    per thread, with several)."""
    if a.ndim != 2 or b.ndim != 2:
        return a @ b
    (m, k), n = a.shape, b.shape[1]
    cols = BLOCK_WORK // max(m * k, 1)
    blocked = MIN_BLOCK_COLS <= cols < n
    if not blocked:
        if _threads == 1 or m * n * k < PARALLEL_WORK:
            return a @ b
        cols = n
    out = np.empty((m, n), dtype=np.result_type(a, b))

    def some_columns(lo: int, hi: int) -> None:
        for i in range(lo, hi, cols):
            np.matmul(a, b[:, i : min(i + cols, hi)], out=out[:, i : min(i + cols, hi)])

    shared(some_columns, n, cols if blocked else 1, m * n * k)
    return out


def matmul_nt(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b.T for 2-D a (m, K) and b (n, K) sharing a long axis K: the transpose of
    b @ a.T, summed over blocks of WIDE_BLOCK along K. Returns an (m, n) array (a transposed
    view: copy it for C order)."""

    def some_blocks(lo: int, hi: int) -> np.ndarray:
        out = b[:, lo : min(lo + WIDE_BLOCK, hi)] @ a[:, lo : min(lo + WIDE_BLOCK, hi)].T
        for i in range(lo + WIDE_BLOCK, hi, WIDE_BLOCK):
            out += b[:, i : min(i + WIDE_BLOCK, hi)] @ a[:, i : min(i + WIDE_BLOCK, hi)].T
        return out

    k = a.shape[1]
    return sum(shared(some_blocks, max(k, 1), WIDE_BLOCK, a.shape[0] * b.shape[0] * k)).T
