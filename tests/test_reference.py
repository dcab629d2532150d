"""The framework reproduces the notebook's hand-written numpy net (examples.common.reference).

The central property: from the same seed and init, K steps of nn.Linear + nn.ReLU +
cross_entropy + optim.SGD (every gradient from autograd) and K steps of the notebook's
gradient_descent (every gradient derived by hand) give the same parameters to 1e-9 in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from examples.common import reference
from tinygrad_lite import nn
from tinygrad_lite.data import load_mnist, to_float
from tinygrad_lite.nn.functional import cross_entropy


@pytest.fixture(scope="module")
def mnist_subset():
    """500 MNIST training images, column convention X (784, m) float64, labels (m,)."""
    images, labels = load_mnist("train")
    return to_float(images[:500], np.float64).T, labels[:500].astype(np.int64)


def notebook_model(seed: int, n_hidden: int = 10, dtype=np.float64) -> nn.Sequential:
    """784-h-10 with the notebook's init from np.random.RandomState(seed)."""
    model = nn.Sequential(
        nn.Linear(784, n_hidden, dtype=dtype), nn.ReLU(), nn.Linear(n_hidden, 10, dtype=dtype)
    )
    rng = np.random.RandomState(seed)
    for p in model.parameters():  # W1, b1, W2, b2: the notebook's draw order
        nn.init.uniform_(p, -0.5, 0.5, rng)
    return model


def framework_steps(model, X_rows, Y, k, lr):
    opt = tl.optim.SGD(model.parameters(), lr=lr)
    x = tl.Tensor(X_rows)
    for _ in range(k):
        loss = cross_entropy(model(x), Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


@pytest.mark.parametrize("k", [1, 5, 25])
def test_k_steps_of_framework_equal_k_steps_of_reference(mnist_subset, k):
    X, Y = mnist_subset
    seed, lr = 3, 0.1
    model = framework_steps(notebook_model(seed), X.T, Y, k, lr)
    ref = reference.gradient_descent(X, Y, k, lr, rng=np.random.RandomState(seed))
    got = reference.params_from_state(model.state_dict())
    for name, a, b in zip(("W1", "b1", "W2", "b2"), got, ref):
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9, err_msg=name)
    # and the parameters did move: the comparison is not of two untouched inits
    init = reference.init_params(np.random.RandomState(seed))
    assert max(np.abs(a - b).max() for a, b in zip(ref, init)) > 1e-3


def test_same_init_draws_as_reference(mnist_subset):
    model = notebook_model(7)
    init = reference.init_params(np.random.RandomState(7))
    for a, b in zip(reference.params_from_state(model.state_dict()), init):
        np.testing.assert_array_equal(a, b)


def test_autograd_gradients_equal_hand_derived(mnist_subset):
    X, Y = mnist_subset
    model = notebook_model(11, n_hidden=16)
    loss = cross_entropy(model(tl.Tensor(X.T)), Y)
    loss.backward()
    W1, b1, W2, b2 = reference.params_from_state(model.state_dict())
    Z1, A1, Z2, A2 = reference.forward_prop(W1, b1, W2, b2, X)
    manual = reference.backward_prop(Z1, A1, Z2, A2, W1, W2, X, Y)
    auto = reference.params_from_state([p.grad for p in model.parameters()])
    for name, a, m in zip(("dW1", "db1", "dW2", "db2"), auto, manual):
        np.testing.assert_allclose(a, m, rtol=0, atol=1e-13, err_msg=name)
    assert reference.cross_entropy(A2, Y) == pytest.approx(loss.item(), abs=1e-12)


def test_float32_stays_float32_and_close(mnist_subset):
    X, Y = mnist_subset
    X32 = X.astype(np.float32)
    params = reference.init_params(np.random.RandomState(0), dtype=np.float32)
    assert all(p.dtype == np.float32 for p in params)
    out = reference.forward_prop(*params, X32)
    grads = reference.backward_prop(*out, params[0], params[2], X32, Y)
    assert all(g.dtype == np.float32 for g in grads)
    ref64 = reference.backward_prop(
        *reference.forward_prop(*(p.astype(np.float64) for p in params), X), params[0], params[2],
        X, Y,
    )
    for g32, g64 in zip(grads, ref64):
        np.testing.assert_allclose(g32, g64, rtol=0, atol=1e-5)


def test_reference_gradient_matches_finite_differences():
    """The per-unit db (sum over axis 1), not the original notebook's sum over everything."""
    rng = np.random.RandomState(0)
    X = rng.rand(6, 9)
    Y = np.array([0, 1, 2, 3, 1, 2, 0, 3, 3])
    params = [p * 2 for p in reference.init_params(rng, n_in=6, n_hidden=5, n_out=4)]
    out = reference.forward_prop(*params, X)
    grads = reference.backward_prop(*out, params[0], params[2], X, Y)

    def loss():
        return reference.cross_entropy(reference.forward_prop(*params, X)[3], Y)

    def central_difference(p, idx, eps=1e-6):
        old = p[idx]
        p[idx] = old + eps
        up = loss()
        p[idx] = old - eps
        down, p[idx] = loss(), old
        return (up - down) / (2 * eps)

    for p, g in zip(params, grads):
        num = np.array([central_difference(p, idx) for idx in np.ndindex(p.shape)])
        np.testing.assert_allclose(g, num.reshape(p.shape), rtol=1e-4, atol=1e-7)


def test_softmax_is_stable_and_equals_the_notebook_form():
    Z = np.array([[1.0, 1000.0], [2.0, 1001.0], [3.0, -1000.0]])
    s = reference.softmax(Z)
    assert np.all(np.isfinite(s))
    np.testing.assert_allclose(s.sum(axis=0), 1.0)
    naive = np.exp(Z[:, :1]) / sum(np.exp(Z[:, :1]))  # the notebook's form, where it is finite
    np.testing.assert_allclose(s[:, :1], naive)
    np.testing.assert_allclose(s[:, 1], [1 / (1 + np.e), np.e / (1 + np.e), 0.0])


def test_one_hot_has_all_classes_even_without_a_nine():
    oh = reference.one_hot(np.array([0, 3, 3]))
    assert oh.shape == (10, 3)
    np.testing.assert_array_equal(oh.argmax(axis=0), [0, 3, 3])


def test_notebook_stream_shuffle_then_init_equals_explicit_generator():
    """np.random.seed(s); np.random.shuffle(rows); init_params() -- the notebook -- draws what
    the example draws: RandomState(s).permutation, then uniform_ in W1, b1, W2, b2 order."""
    saved = np.random.get_state()  # noqa: NPY002 - the notebook used the global stream
    try:
        np.random.seed(5)  # noqa: NPY002
        rows = np.arange(300 * 3).reshape(300, 3)
        np.random.shuffle(rows)  # noqa: NPY002
        nb = reference.init_params()  # numpy's global stream, as the notebook
    finally:
        np.random.set_state(saved)  # noqa: NPY002
    rs = np.random.RandomState(5)
    perm = rs.permutation(300)
    np.testing.assert_array_equal(rows, np.arange(900).reshape(300, 3)[perm])
    model = nn.Sequential(nn.Linear(784, 10, dtype=np.float64), nn.ReLU(),
                          nn.Linear(10, 10, dtype=np.float64))
    for p in model.parameters():
        nn.init.uniform_(p, -0.5, 0.5, rs)
    for a, b in zip(reference.params_from_state(model.state_dict()), nb):
        np.testing.assert_array_equal(a, b)


def test_conversion_round_trip_and_layouts():
    model = notebook_model(2, n_hidden=7)
    W1, b1, W2, b2 = reference.params_from_state(model.state_dict())
    assert (W1.shape, b1.shape, W2.shape, b2.shape) == ((7, 784), (7, 1), (10, 7), (10, 1))
    np.testing.assert_array_equal(W1, model[0].weight.data)  # no transpose: both (out, in)
    other = notebook_model(3, n_hidden=7)
    other.load_state_dict(reference.state_from_params(W1, b1, W2, b2))
    for (k, a), (k2, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert k == k2
        np.testing.assert_array_equal(a, b)
    # the converted arrays are copies
    W1[0, 0] = 99.0
    assert model[0].weight.data[0, 0] != 99.0


def test_params_from_state_rejects_other_architectures():
    deep = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 2))
    with pytest.raises(ValueError, match="4 arrays"):
        reference.params_from_state(deep.state_dict())
    w1, b1, w2, b2 = np.zeros((3, 4)), np.zeros(3), np.zeros((2, 5)), np.zeros(2)
    with pytest.raises(ValueError, match="does not follow"):
        reference.params_from_state([w1, b1, w2, b2])
    with pytest.raises(ValueError, match="shapes"):
        reference.params_from_state([w1, np.zeros((3, 1)), np.zeros((2, 3)), b2])


def test_gradient_descent_logs_like_the_notebook(mnist_subset):
    X, Y = mnist_subset
    lines: list = []
    reference.gradient_descent(X, Y, 5, 0.1, rng=np.random.RandomState(0), log_every=2,
                               log=lines.append)
    assert [line.split()[1] for line in lines] == ["0", "2", "4"]
    assert all(line.startswith("Iteration: ") and "Accuracy: " in line for line in lines)
