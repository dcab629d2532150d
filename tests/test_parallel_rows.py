"""ops/parallel.py: rows shared out over threads, and the fused sequence ops (softmax over the
last axis, layer norm, GELU) giving the same bits on one thread and on several."""

import threading

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.core import blas
from tinygrad_lite.nn import functional as F
from tinygrad_lite.ops import parallel


@pytest.fixture
def threads():
    """Run with `n` threads of tinygrad_lite's own (BLAS untouched), restored after."""
    before = blas.get_num_threads()
    yield blas.set_num_threads
    blas.set_num_threads(before)


def test_over_rows_covers_the_rows_in_aligned_ranges_on_several_threads(threads):
    threads(3)
    calls = []
    lock = threading.Lock()

    def work(lo, hi):
        with lock:
            calls.append((lo, hi, threading.get_ident()))
        return hi - lo

    rows = 1000
    sizes = parallel.over_rows(work, rows, parallel.MIN_PARALLEL)
    spans = sorted((lo, hi) for lo, hi, _ in calls)
    assert spans[0][0] == 0 and spans[-1][1] == rows
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    assert all(lo % parallel.ALIGN == 0 for lo, _ in spans)
    assert len(spans) == 3 and sum(sizes) == rows
    assert len({ident for _, _, ident in calls}) == 3


def test_over_rows_is_one_call_with_one_thread_or_little_work(threads):
    calls = []

    def work(lo, hi):
        calls.append((lo, hi))

    threads(1)
    parallel.over_rows(work, 4096, 1 << 20)
    threads(2)
    parallel.over_rows(work, 4096, parallel.MIN_PARALLEL - 1)  # too little work to share
    parallel.over_rows(work, parallel.ALIGN, 1 << 20)  # too few rows
    assert calls == [(0, 4096), (0, 4096), (0, parallel.ALIGN)]


def test_over_rows_raises_a_workers_exception_after_every_range_ended(threads):
    threads(2)
    ended = []

    def work(lo, hi):
        if lo == 0:  # the worker's range
            raise ValueError("bad rows")
        ended.append((lo, hi))

    with pytest.raises(ValueError, match="bad rows"):
        parallel.over_rows(work, 256, 1 << 20)
    assert ended == [(128, 256)]
    assert parallel.over_rows(lambda lo, hi: hi - lo, 256, 1 << 20) == [128, 128]  # still usable


def _sequence_ops(dtype):
    """Values and gradients of softmax(dim=-1), layer_norm (weight, bias) and both GELUs."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((6, 50, 40)) * 3).astype(dtype)
    x[1, 7] -= 200  # a row far below the array's maximum: shifted by its own maximum
    g = rng.standard_normal(x.shape).astype(dtype)
    w, b = (rng.standard_normal(40).astype(dtype) for _ in range(2))
    out = []
    for fn in (lambda x, w, b: F.softmax(x, -1), lambda x, w, b: F.layer_norm(x, 40, w, b),
               lambda x, w, b: F.gelu(x), lambda x, w, b: F.gelu(x, approximate="tanh")):
        leaves = [tl.Tensor(a, requires_grad=True) for a in (x, w, b)]
        y = fn(*leaves)
        y.backward(g)
        out.append([y.data] + [t.grad.data for t in leaves if t.grad is not None])
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sequence_ops_give_the_same_bits_on_one_thread_and_on_several(threads, dtype,
                                                                       monkeypatch):
    monkeypatch.setattr(parallel, "MIN_PARALLEL", 1)  # share out even these small arrays
    threads(1)
    one = _sequence_ops(dtype)
    for n in (2, 3):
        threads(n)
        for got, want in zip(_sequence_ops(dtype), one):
            for a, b in zip(got, want):
                np.testing.assert_array_equal(a, b)
