"""Elementwise numpy work shared over threads: the one place where an op of the library
(the exact GELU's forward, ops/activation.py) uses more than one core outside BLAS.

numpy lets go of the GIL inside a ufunc on a large array, so threads that each run an op's
kernel on some of the elements (or rows) run at the same time. With `tl.set_num_threads(n)`,
n > 1 (tinygrad_lite/threads.py; the examples and the benchmark's default setting call it),
`over_rows(work, rows, size)` calls `work(lo, hi)` on n consecutive ranges, n - 1 of them on
the worker threads of the products (core/blas.py's `shared`) and the last on the calling
thread, and returns their results in order. With one thread (the default), under
MIN_PARALLEL elements (`size`), or while another call has the workers, it is one call
`work(0, rows)` on the calling thread.

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

from typing import Any, Callable, List

from ..core import blas

MIN_PARALLEL = 1 << 16  # elements under which waking a worker costs more than it saves
ALIGN = 16  # ranges of rows start at multiples of this


def over_rows(work: Callable[[int, int], Any], rows: int, size: int) -> List[Any]:
    """[work(lo, hi), ...] over consecutive ranges covering range(rows), one per thread of
    `tl.set_num_threads` (starts at multiples of ALIGN); `size`: the elements the work
    touches. One call on the calling thread with one thread or under MIN_PARALLEL."""
    if rows < 2 * ALIGN:
        return [work(0, rows)]
    return blas.shared(work, rows, ALIGN, size, least=MIN_PARALLEL)
