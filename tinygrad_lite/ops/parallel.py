"""Elementwise numpy work shared over threads: the one place where an op of the library
(the exact GELU's forward, ops/activation.py) uses more than one core outside BLAS.

numpy lets go of the GIL inside a ufunc on a large array, so threads that each run an op's
kernel on some of the elements (or rows) run at the same time. With `tl.set_num_threads(n)`,
n > 1 (tinygrad_lite/threads.py; the examples and the benchmark's default setting call it),
`over_rows(work, rows, size)` calls `work(lo, hi)` on n consecutive ranges, n - 1 of them on
worker threads of this module and the last on the calling thread, and returns their results
in order. With one thread (the default), under MIN_PARALLEL elements (`size`), or while
another call has the workers, it is one call `work(0, rows)` on the calling thread.

Threads do not change results: a kernel computes each element (or row) with the same ufuncs
whatever range it falls in, and ranges start at multiples of ALIGN, so SIMD loops group the
elements alike.

It pays where a kernel makes many passes over the same data: `benchmarks/run.py --only seqops
--threads default` (2 cores, four runs each way) put the exact GELU's forward + backward of a
(32, 64, 128) float32 input at 2.7x PyTorch's time with two threads against 3.2x with one.
Softmax and layer norm, whose kernels make two to five light passes, ran no faster shared out
(the second core mostly reads what the first one wrote), so they stay on one thread.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, List

from ..core import blas

MIN_PARALLEL = 1 << 16  # elements under which waking a worker costs more than it saves
ALIGN = 16  # ranges of rows start at multiples of this


class _Worker(threading.Thread):
    """A daemon thread that runs one range of rows at a time: `begin(work, lo, hi)`, then
    `end()` for (True, its result) or (False, the exception it raised)."""

    def __init__(self) -> None:
        super().__init__(name="tinygrad_lite-rows", daemon=True)
        self._go, self._done = threading.Lock(), threading.Lock()
        self._go.acquire()
        self._done.acquire()
        self._job: Any = None
        self._result: Any = None
        self.start()

    def run(self) -> None:
        while True:
            self._go.acquire()
            if self._job is None:  # retired
                return
            work, lo, hi = self._job
            self._job = None
            try:
                self._result = (True, work(lo, hi))
            except BaseException as e:  # handed to the caller, raised there
                self._result = (False, e)
            self._done.release()

    def begin(self, work: Any, lo: int = 0, hi: int = 0) -> None:
        self._job = None if work is None else (work, lo, hi)
        self._go.release()

    def end(self) -> tuple:
        self._done.acquire()
        outcome, self._result = self._result, None
        return outcome


_workers: List[_Worker] = []
_busy = threading.Lock()  # one call at a time uses the workers; another runs on its own


def _after_fork() -> None:  # a child process has none of its parent's threads
    global _workers, _busy
    _workers, _busy = [], threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def over_rows(work: Callable[[int, int], Any], rows: int, size: int) -> List[Any]:
    """[work(lo, hi), ...] over consecutive ranges covering range(rows), one per thread of
    `tl.set_num_threads` (starts at multiples of ALIGN); `size`: the elements the work
    touches. One call on the calling thread with one thread or under MIN_PARALLEL."""
    global _workers
    threads = blas.get_num_threads()
    if threads < 2 or rows < 2 * ALIGN or size < MIN_PARALLEL or not _busy.acquire(
            blocking=False):
        return [work(0, rows)]
    try:
        if len(_workers) != threads - 1:  # set_num_threads changed: new workers
            for worker in _workers:
                worker.begin(None)
            _workers = [_Worker() for _ in range(threads - 1)]
        length = -(-rows // (threads * ALIGN)) * ALIGN
        bounds = [(lo, min(lo + length, rows)) for lo in range(0, rows, length)]
        helpers = _workers[: len(bounds) - 1]
        for worker, (lo, hi) in zip(helpers, bounds):
            worker.begin(work, lo, hi)
        try:
            last = work(*bounds[-1])
        finally:
            outcomes = [worker.end() for worker in helpers]  # every range ends before a raise
        for ok, value in outcomes:
            if not ok:
                raise value
        return [value for _, value in outcomes] + [last]
    finally:
        _busy.release()
