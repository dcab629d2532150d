"""The CNN's numpy kernels in tinygrad_lite.blas give numpy's results, for every layout."""

import numpy as np
import pytest

from tinygrad_lite.core import blas


def _layouts(shape, dtype, seed=0):
    """x (N, C, ...) C-contiguous, channel-major in memory, and neither (a strided view)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    channel_major = np.ascontiguousarray(np.moveaxis(x, 1, 0))
    strided = np.repeat(x, 2, axis=-1)[..., ::2]
    return [x, np.moveaxis(channel_major, 0, 1), strided]


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 7), (4, 3, 5, 6), (1, 2, 1, 1), (3, 0, 2, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channel_sums_and_dots_are_numpys(shape, dtype):
    axes = (0,) + tuple(range(2, len(shape)))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for x in _layouts(shape, dtype):
        for y in _layouts(shape, dtype, seed=1):
            s, d = blas.channel_sums(x), blas.channel_dots(x, y)
            assert s.dtype == d.dtype == dtype and s.shape == d.shape == (shape[1],)
            np.testing.assert_allclose(s, x.sum(axis=axes), **tol)
            np.testing.assert_allclose(d, (x * y).sum(axis=axes), **tol)


def test_channel_sums_of_integers_is_numpys_sum():
    x = np.arange(24).reshape(2, 3, 4)
    assert np.array_equal(blas.channel_sums(x), x.sum(axis=(0, 2)))


@pytest.mark.parametrize("m, k, n", [(16, 9, 10_000), (32, 144, 2_000), (2, 3, 0), (4, 0, 5)])
@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.float64, np.float64),
                                    (np.float32, np.float64)])
def test_matmul_wide_is_numpys_product(m, k, n, dtypes):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(dtypes[0])
    b = rng.standard_normal((k, n)).astype(dtypes[1])
    out = blas.matmul_wide(a, b)
    assert out.dtype == (a @ b).dtype and out.shape == (m, n)
    np.testing.assert_allclose(out, a @ b, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(blas.matmul_wide(a[:, ::-1], b[::-1]), a @ b, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("m, n, k", [(16, 9, 10_000), (32, 144, 5_000), (3, 2, 0), (1, 1, 4097)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_nt_is_numpys_product(m, n, k, dtype):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((n, k)).astype(dtype)
    out = blas.matmul_nt(a, b)
    assert out.dtype == dtype and out.shape == (m, n)
    np.testing.assert_allclose(out, a @ b.T, rtol=1e-5, atol=1e-3)
