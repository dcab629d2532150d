"""How many threads tinygrad_lite computes with: `tl.set_num_threads(n)`, as in PyTorch.

With `set_num_threads(n)`, BLAS runs on one thread (threadpoolctl sets it, at run time, for the
whole process) and the products of core/blas.py share their blocks out over n threads of
their own (why, in core/blas.py). It is a process-wide setting, as in PyTorch: numpy products
outside tinygrad_lite run on one BLAS thread too until `restore_num_threads()`. Nothing changes
until it is called; the examples call it (examples/common/cli.py, `--threads`).
"""

from __future__ import annotations

from typing import Any, List

from .core import blas

_limits: List[Any] = []  # the threadpoolctl limit in force (it lasts while referenced)


def set_num_threads(n: int) -> None:
    """Compute with `n` threads: BLAS on one thread, tinygrad_lite's products on n (needs
    threadpoolctl: ``pip install threadpoolctl``)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive integer, got {n!r}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise RuntimeError(
            "set_num_threads needs threadpoolctl to limit BLAS to one thread "
            "(pip install threadpoolctl)"
        ) from None
    if not _limits:  # the first call remembers BLAS's own setting, for restore_num_threads
        _limits.append(threadpool_limits(limits=1, user_api="blas"))
    blas.set_num_threads(n)


def get_num_threads() -> int:
    """The number of threads tinygrad_lite's matrix products use (1 until set)."""
    return blas.get_num_threads()


def restore_num_threads() -> None:
    """Undo `set_num_threads`: BLAS gets its own thread count back, the products one thread."""
    blas.set_num_threads(1)
    while _limits:
        _limits.pop().restore_original_limits()
