"""The mission's property: autograd on Linear -> ReLU -> Linear -> cross_entropy produces
exactly the notebook's hand-derived backprop, and one SGD step is the notebook's update.

The notebook works in columns (X is (n_in, m), W1 is (n_hidden, n_in), b1 is (n_hidden, 1));
the framework in rows (x is (m, n_in), weight (n_hidden, n_in), bias (n_hidden,)). So
x = X^T, the weights are the same arrays, and b = b_col[:, 0].
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from examples.common import reference
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F
from tinygrad_lite.tools.testing import arrays


@st.composite
def notebook_problem(draw):
    m = draw(st.integers(1, 12))
    n_in = draw(st.integers(1, 8))
    n_hidden = draw(st.integers(1, 8))
    n_classes = draw(st.integers(2, 6))
    X = draw(arrays((n_in, m)))
    W1, b1 = draw(arrays((n_hidden, n_in))), draw(arrays((n_hidden, 1)))
    W2, b2 = draw(arrays((n_classes, n_hidden))), draw(arrays((n_classes, 1)))
    labels = np.array(draw(st.lists(st.integers(0, n_classes - 1), min_size=m, max_size=m)))
    return X, labels, (W1, b1, W2, b2)


def framework_net(W1, b1, W2, b2):
    """The notebook's parameters loaded into nn.Linear layers (float64)."""
    model = nn.Sequential(
        nn.Linear(W1.shape[1], W1.shape[0], dtype=np.float64),
        nn.ReLU(),
        nn.Linear(W2.shape[1], W2.shape[0], dtype=np.float64),
    )
    model.load_state_dict({"0.weight": W1, "0.bias": b1[:, 0], "2.weight": W2, "2.bias": b2[:, 0]})
    return model


def notebook_gradients(X, labels, W1, b1, W2, b2):
    """The notebook's backward_prop: dZ2 = A2 - Y, dW2 = dZ2 A1^T / m, ... (column form)."""
    Z1, A1, Z2, A2 = reference.forward_prop(W1, b1, W2, b2, X)
    return reference.backward_prop(Z1, A1, Z2, A2, W1, W2, X, labels)


@settings(max_examples=200, deadline=None)
@given(notebook_problem())
def test_autograd_equals_hand_derived_backprop(problem):
    X, labels, (W1, b1, W2, b2) = problem
    model = framework_net(W1, b1, W2, b2)
    loss = F.cross_entropy(model(tl.Tensor(X.T)), labels)
    loss.backward()

    dW1, db1, dW2, db2 = notebook_gradients(X, labels, W1, b1, W2, b2)
    got = dict(model.named_parameters())
    tol = dict(rtol=0, atol=1e-10)
    np.testing.assert_allclose(got["2.weight"].grad, dW2, **tol)  # dZ2 A1^T / m
    np.testing.assert_allclose(got["2.bias"].grad, db2[:, 0], **tol)  # sum(dZ2, axis=1) / m
    np.testing.assert_allclose(got["0.weight"].grad, dW1, **tol)  # dZ1 X^T / m
    np.testing.assert_allclose(got["0.bias"].grad, db1[:, 0], **tol)  # sum(dZ1, axis=1) / m


@settings(max_examples=100, deadline=None)
@given(notebook_problem())
def test_dZ2_is_softmax_minus_onehot(problem):
    X, labels, (W1, b1, W2, b2) = problem
    model = framework_net(W1, b1, W2, b2)
    logits = model(tl.Tensor(X.T)).retain_grad()
    F.cross_entropy(logits, labels).backward()
    Z1, A1, Z2, A2 = reference.forward_prop(W1, b1, W2, b2, X)
    dZ2 = A2 - reference.one_hot(labels, W2.shape[0])
    m = X.shape[1]
    # the fused cross-entropy's gradient is dZ2 / m (the notebook folds 1/m into dW, db)
    np.testing.assert_allclose(logits.grad, dZ2.T / m, rtol=0, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(notebook_problem(), st.floats(0.001, 1.0))
def test_one_sgd_step_equals_update_params(problem, alpha):
    X, labels, (W1, b1, W2, b2) = problem
    model = framework_net(W1, b1, W2, b2)
    opt = tl.optim.SGD(model.parameters(), lr=alpha)
    opt.zero_grad()
    F.cross_entropy(model(tl.Tensor(X.T)), labels).backward()
    opt.step()

    grads = notebook_gradients(X, labels, W1, b1, W2, b2)
    nW1, nb1, nW2, nb2 = reference.update_params(W1, b1, W2, b2, *grads, alpha)
    state = model.state_dict()
    tol = dict(rtol=0, atol=1e-10)
    np.testing.assert_allclose(state["0.weight"], nW1, **tol)
    np.testing.assert_allclose(state["0.bias"], nb1[:, 0], **tol)
    np.testing.assert_allclose(state["2.weight"], nW2, **tol)
    np.testing.assert_allclose(state["2.bias"], nb2[:, 0], **tol)


def test_relu_kink_follows_the_notebook():
    """A hidden unit with Z1 exactly 0 passes no gradient, as the notebook's `Z1 > 0`."""
    X = np.array([[1.0], [2.0]])  # (n_in=2, m=1)
    W1 = np.array([[1.0, -0.5], [0.5, 0.25]])  # unit 0: 1*1 - 0.5*2 = 0 exactly
    b1 = np.zeros((2, 1))
    W2 = np.array([[1.0, 2.0], [-1.0, 0.5]])
    b2 = np.zeros((2, 1))
    model = framework_net(W1, b1, W2, b2)
    F.cross_entropy(model(tl.Tensor(X.T)), np.array([1])).backward()
    dW1, db1, _, _ = notebook_gradients(X, np.array([1]), W1, b1, W2, b2)
    w1 = model[0].weight
    np.testing.assert_array_equal(w1.grad[0], [0.0, 0.0])
    np.testing.assert_allclose(w1.grad, dW1, rtol=0, atol=1e-12)
