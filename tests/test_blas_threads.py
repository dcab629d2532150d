"""The products' own threads (core/blas.py) under a forced race: `set_num_threads` replacing
the workers while a product is about to share its rows out must not lose a share."""

import threading

import numpy as np

from tinygrad_lite.core import blas


class RacingLock:
    """The lock products take, which lets `set_num_threads(1)` run to completion in another
    thread just before a product acquires it: the interleaving that once left some shares of
    a product uncomputed (rows of uninitialised memory)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.raced = False

    def acquire(self, blocking: bool = True) -> bool:
        if not blocking and not self.raced:  # a product, about to share out its rows
            self.raced = True
            other = threading.Thread(target=blas.set_num_threads, args=(1,))
            other.start()
            other.join()
        return self.lock.acquire(blocking)

    def release(self) -> None:
        self.lock.release()

    def __enter__(self) -> "RacingLock":
        self.lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def test_a_product_racing_set_num_threads_computes_every_row(monkeypatch):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3000, 600)), rng.standard_normal((600, 10))
    blas.set_num_threads(2)
    try:
        racing = RacingLock()
        monkeypatch.setattr(blas, "_busy", racing)
        monkeypatch.setattr(blas, "PARALLEL_WORK", 1)  # share even this product out
        out = blas.matmul(a, b)
        assert racing.raced and blas.get_num_threads() == 1
        np.testing.assert_allclose(out, a @ b, rtol=1e-12, atol=1e-12)
    finally:
        monkeypatch.undo()
        blas.set_num_threads(1)


def test_products_shared_over_threads_equal_numpys():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((5000, 300)), rng.standard_normal((300, 8))
    blas.set_num_threads(2)
    try:
        np.testing.assert_allclose(blas.matmul(a, b), a @ b, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(blas.matmul(a.T.copy().T, b), a @ b, rtol=1e-12, atol=1e-12)
    finally:
        blas.set_num_threads(1)
