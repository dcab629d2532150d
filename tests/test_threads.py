"""`tl.set_num_threads`: tinygrad_lite's products shared out over threads of their own give
numpy's results (to rounding) for every product kind, and BLAS is back as found afterwards."""

import os

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.core import blas

threadpoolctl = pytest.importorskip("threadpoolctl")


@pytest.fixture
def threads():
    """Run the test with the products on 3 threads (more than this machine's cores: the shares
    still add up), and put everything back afterwards."""
    tl.set_num_threads(3)
    yield
    tl.restore_num_threads()


def blas_threads():
    return [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]


def close(dtype):
    return {"rtol": 1e-4, "atol": 1e-3} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-9}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m, k, n, how", [
    (5000, 784, 10, "row blocks"),           # x @ W^T: blocks of rows, shared out
    (10, 5000, 784, "long shared axis"),     # g^T @ x: partial products summed
    (700, 784, 256, "rows of one call"),     # a wide layer: rows shared out
    (7, 11, 5, "small: calling thread"),
])
def test_matmul_on_threads_is_numpys_product(threads, dtype, m, k, n, how):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    for x, y in ((a, b), (np.asfortranarray(a), b.T.copy().T), (a[::-1], b[:, ::-1])):
        out = blas.matmul(x, y)
        assert out.shape == (m, n) and out.dtype == dtype
        np.testing.assert_allclose(out, x @ y, **close(dtype))


def test_batched_and_vector_products_on_threads(threads):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 900, 784))  # leading axes are rows too
    for b in (rng.standard_normal((784, 10)), rng.standard_normal(784),
              rng.standard_normal((3, 784, 10))):
        out = blas.matmul(a, b)
        assert out.shape == (a @ b).shape
        np.testing.assert_allclose(out, a @ b, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("o, k, n", [(16, 9, 50000), (32, 144, 20000)])  # blocks / one call each
def test_convolution_products_on_threads(threads, dtype, o, k, n):
    rng = np.random.default_rng(2)
    w = rng.standard_normal((o, k)).astype(dtype)
    cols = rng.standard_normal((k, n)).astype(dtype)
    np.testing.assert_allclose(blas.matmul_wide(w, cols), w @ cols, **close(dtype))
    np.testing.assert_allclose(blas.matmul_wide(w.T.copy(), w @ cols), w.T @ (w @ cols),
                               **close(dtype))  # the gradient's product, (k, o) @ (o, n)
    g = rng.standard_normal((o, n)).astype(dtype)
    np.testing.assert_allclose(blas.matmul_nt(g, cols), g @ cols.T, **close(dtype))


def test_a_training_step_on_threads_matches_one_thread():
    """The same SGD steps on 1 and on 3 threads: the same weights, to float64 rounding."""
    rng = np.random.default_rng(3)
    x = tl.Tensor(rng.random((3000, 784)))
    y = tl.Tensor(rng.integers(0, 10, 3000))

    def train():
        tl.manual_seed(0)
        model = tl.nn.Sequential(tl.nn.Linear(784, 64), tl.nn.ReLU(), tl.nn.Linear(64, 10))
        model.to(tl.float64)
        opt = tl.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            tl.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        return [p.data.copy() for p in model.parameters()]

    one = train()
    tl.set_num_threads(3)
    try:
        assert tl.get_num_threads() == 3 and set(blas_threads()) <= {1}
        three = train()
    finally:
        tl.restore_num_threads()
    for p1, p3 in zip(one, three):
        np.testing.assert_allclose(p3, p1, rtol=1e-12, atol=1e-14)


def test_restore_puts_blas_back():
    before = blas_threads()
    tl.set_num_threads(2)
    tl.set_num_threads(4)  # a second call changes our threads, and BLAS stays on 1
    assert tl.get_num_threads() == 4 and set(blas_threads()) <= {1}
    tl.restore_num_threads()
    assert tl.get_num_threads() == 1 and blas_threads() == before


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True, None])
def test_set_num_threads_refuses_what_is_not_a_positive_integer(bad):
    with pytest.raises(ValueError, match="positive integer"):
        tl.set_num_threads(bad)
    assert tl.get_num_threads() == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_computes_on_threads(threads):
    """The child of a fork has none of its parent's threads; the products get new ones."""
    a = np.random.default_rng(4).standard_normal((4000, 784))
    b = np.ones((784, 10))
    expected = a @ b
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the threaded product is right
        ok = np.allclose(blas.matmul(a, b), expected) and blas.get_num_threads() == 3
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_an_error_in_any_share_reaches_the_caller_and_the_threads_go_on(threads):
    def work(lo, hi):
        if lo == 0:
            raise MemoryError("share 0")  # a worker's share
        return hi - lo

    with pytest.raises(MemoryError, match="share 0"):
        blas.shared(work, 9, 1, blas.PARALLEL_WORK)
    assert blas.shared(lambda lo, hi: (lo, hi), 9, 1, blas.PARALLEL_WORK) == [(0, 3), (3, 6),
                                                                               (6, 9)]
    a = np.ones((5000, 784))
    np.testing.assert_array_equal(blas.matmul(a, np.ones((784, 10))), np.full((5000, 10), 784.0))


def test_products_from_several_python_threads_at_once(threads):
    """A product that finds the workers busy runs on its own thread: every result is right."""
    import threading

    rng = np.random.default_rng(5)
    pairs = [(rng.standard_normal((3000, 784)), rng.standard_normal((784, 10)))
             for _ in range(4)]
    results = [None] * 4

    def run(i):
        for _ in range(5):
            results[i] = blas.matmul(*pairs[i])

    ts = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for (a, b), out in zip(pairs, results):
        np.testing.assert_allclose(out, a @ b, rtol=1e-10, atol=1e-9)
