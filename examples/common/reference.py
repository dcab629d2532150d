"""The notebook's hand-written numpy network, kept as the reference the framework is held to.

This is the two-layer net of the original notebook (784 -> 10 ReLU -> 10 softmax, trained by
full-batch gradient descent on the cross-entropy), with every gradient derived by hand. It is
used by `tests/test_reference.py` (K steps of the framework == K steps of this code, to 1e-9
in float64) and by `examples/mnist_two_layer.py --check-manual N`.

Conventions are the notebook's, *column* convention (one example per column):

    X  (784, m)   pixels in [0, 1], one image per column
    Y  (m,)       integer labels
    W1 (h, 784)   b1 (h, 1)      Z1 = W1 X + b1,  A1 = ReLU(Z1)      (h, m)
    W2 (10, h)    b2 (10, 1)     Z2 = W2 A1 + b2, A2 = softmax(Z2)   (10, m)

Differences from the notebook, none of which changes the mathematics:

* `softmax` subtracts the column maximum before `exp` (the notebook's `exp(Z) / sum(exp(Z))`
  overflows to inf/nan once a logit passes ~88 in float32 or ~709 in float64); the result is
  the same up to rounding.
* `db1`, `db2` are summed per unit, `np.sum(dZ, axis=1, keepdims=True) / m`, as in this
  project's copy of the notebook (the widely copied original sums over *all* elements,
  `np.sum(dZ) / m`, which is not the gradient). This form matches finite differences.
* Randomness comes from an explicit `rng` (a `np.random.RandomState`, or anything with
  `.rand`/`.random`) instead of numpy's global state; `np.random.RandomState(seed)` gives the
  stream `np.random.seed(seed)` gives the notebook.
* Everything stays in the dtype of the inputs (float32 in, float32 out), so the reference can
  check float32 training too; the notebook computed in float64.
* `get_accuracy` does not print the prediction arrays.

Relation to the framework (`tinygrad_lite.nn.Sequential(Linear(784, h), ReLU(), Linear(h, 10))`)
---------------------------------------------------------------------------------------------
The framework uses the *row* convention of PyTorch: a batch `x` is (m, 784), one image per row,
and `Linear` computes `x @ W.T + b`. So:

* **weights need no transpose**: `nn.Linear.weight` is (out_features, in_features), exactly the
  notebook's W1 (h, 784) and W2 (10, h);
* **biases are reshaped**: the framework's bias is (out,), the notebook's (out, 1);
* **data and activations are transposed**: `X_ref = x.T`, and every `Z`, `A` of the reference
  is the transpose of the framework's (m, units) activation. (Transposing
  `Z1 = W1 X + b1` gives `Z1.T = X.T W1.T + b1.T = x @ W1.T + b`: the framework's Linear.)

`params_from_state` / `state_from_params` convert between the two layouts; the same functions
convert gradients (`grads` of the framework's parameters <-> dW1, db1, dW2, db2).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Mapping, Optional, Sequence, Tuple

import numpy as np

from tinygrad_lite import data

Params = Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]

# parameter names of Sequential(Linear, ReLU, Linear) in the framework's state_dict
STATE_KEYS = ("0.weight", "0.bias", "2.weight", "2.bias")


def init_params(
    rng: Any = None, n_in: int = 784, n_hidden: int = 10, n_out: int = 10, dtype: Any = np.float64
) -> Params:
    """The notebook's init: every weight and bias ~ U[-0.5, 0.5), drawn in the order
    W1, b1, W2, b2 (`np.random.rand(*shape) - 0.5`).

    `rng`: a `np.random.RandomState` (bit-for-bit the notebook's `np.random.rand` after
    `np.random.seed(seed)`) or a `np.random.Generator`; None = numpy's global state, as the
    notebook. `tl.nn.init.uniform_(t, -0.5, 0.5, rng)` on the framework's parameters in the same
    order draws the same numbers.
    """
    draw = np.random.random_sample if rng is None else rng.random
    W1 = draw((n_hidden, n_in)) - 0.5
    b1 = draw((n_hidden, 1)) - 0.5
    W2 = draw((n_out, n_hidden)) - 0.5
    b2 = draw((n_out, 1)) - 0.5
    return tuple(p.astype(dtype, copy=False) for p in (W1, b1, W2, b2))  # type: ignore[return-value]


def ReLU(Z: np.ndarray) -> np.ndarray:  # noqa: N802 - the notebook's name
    return np.maximum(Z, 0)


def deriv_ReLU(Z: np.ndarray) -> np.ndarray:  # noqa: N802 - the notebook's name
    """1 where Z > 0, else 0 (0 at exactly 0, as the notebook and the framework's ReLU)."""
    return Z > 0


def softmax(Z: np.ndarray) -> np.ndarray:
    """Column-wise softmax, stable: exp(Z - max) / sum(exp(Z - max)).

    The notebook wrote `np.exp(Z) / sum(np.exp(Z))`, equal in exact arithmetic but overflowing
    for large logits; subtracting each column's maximum keeps every exp() in (0, 1].
    """
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def forward_prop(
    W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray, X: np.ndarray
) -> Params:
    """Z1, A1, Z2, A2 for X (784, m)."""
    Z1 = W1.dot(X) + b1
    A1 = ReLU(Z1)
    Z2 = W2.dot(A1) + b2
    A2 = softmax(Z2)
    return Z1, A1, Z2, A2


def one_hot(Y: np.ndarray, num_classes: int = 10, dtype: Any = np.float64) -> np.ndarray:
    """(num_classes, m): column j is the one-hot vector of Y[j].

    The notebook sized it `Y.max() + 1`, which breaks on a batch without a 9; here the class
    count is explicit.
    """
    return data.one_hot(np.ravel(Y), num_classes, dtype).T


def backward_prop(
    Z1: np.ndarray,
    A1: np.ndarray,
    Z2: np.ndarray,
    A2: np.ndarray,
    W1: np.ndarray,
    W2: np.ndarray,
    X: np.ndarray,
    Y: np.ndarray,
) -> Params:
    """Hand-derived gradients of the mean cross-entropy: dW1, db1, dW2, db2.

    dZ2 = A2 - onehot(Y)                  (softmax + cross-entropy, per example)
    dW2 = dZ2 A1^T / m,  db2 = sum_cols(dZ2) / m
    dZ1 = W2^T dZ2 * [Z1 > 0]
    dW1 = dZ1 X^T / m,   db1 = sum_cols(dZ1) / m
    """
    m = Y.size
    dZ2 = A2 - one_hot(Y, A2.shape[0], A2.dtype)
    dW2 = 1 / m * dZ2.dot(A1.T)
    db2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = W2.T.dot(dZ2) * deriv_ReLU(Z1)
    dW1 = 1 / m * dZ1.dot(X.T)
    db1 = 1 / m * np.sum(dZ1, axis=1, keepdims=True)
    return dW1, db1, dW2, db2


def update_params(
    W1: np.ndarray,
    b1: np.ndarray,
    W2: np.ndarray,
    b2: np.ndarray,
    dW1: np.ndarray,
    db1: np.ndarray,
    dW2: np.ndarray,
    db2: np.ndarray,
    alpha: float,
) -> Params:
    """One gradient-descent step, p - alpha * dp (new arrays; the inputs are not modified)."""
    W1 = W1 - alpha * dW1
    b1 = b1 - alpha * db1
    W2 = W2 - alpha * dW2
    b2 = b2 - alpha * db2
    return W1, b1, W2, b2


def get_predictions(A2: np.ndarray) -> np.ndarray:
    return np.argmax(A2, 0)


def get_accuracy(predictions: np.ndarray, Y: np.ndarray) -> float:
    return float(np.sum(predictions == Y) / Y.size)


def cross_entropy(A2: np.ndarray, Y: np.ndarray) -> float:
    """Mean -log A2[Y_j, j] (the loss whose gradient backward_prop computes)."""
    p = A2[np.asarray(Y), np.arange(Y.size)]
    return float(-np.mean(np.log(p)))


def gradient_descent(
    X: np.ndarray,
    Y: np.ndarray,
    iterations: int,
    alpha: float,
    rng: Any = None,
    params: Optional[Params] = None,
    n_hidden: int = 10,
    log_every: int = 200,
    log: Optional[Callable[[str], None]] = None,
) -> Params:
    """The notebook's training loop: `iterations` full-batch steps of size `alpha`.

    Starts from `params` when given, else from `init_params(rng, ...)` in X's dtype. When `log`
    is given (e.g. `print`), reports the iteration and training accuracy every `log_every`
    iterations as the notebook did (the accuracy of the forward pass *before* that step).
    """
    if params is None:
        params = init_params(rng, X.shape[0], n_hidden, 10, X.dtype)
    W1, b1, W2, b2 = params
    for i in range(iterations):
        Z1, A1, Z2, A2 = forward_prop(W1, b1, W2, b2, X)
        dW1, db1, dW2, db2 = backward_prop(Z1, A1, Z2, A2, W1, W2, X, Y)
        W1, b1, W2, b2 = update_params(W1, b1, W2, b2, dW1, db1, dW2, db2, alpha)
        if log is not None and i % log_every == 0:
            log(f"Iteration: {i}  Accuracy: {get_accuracy(get_predictions(A2), Y):.4f}")
    return W1, b1, W2, b2


# ---- conversion to and from the framework -----------------------------------------------


def params_from_state(arrays: Any) -> Params:
    """The framework's (weight, bias, weight, bias) -> the notebook's (W1, b1, W2, b2).

    `arrays`: a state_dict of `Sequential(Linear, ReLU, Linear)` (a mapping; its four entries in
    order), or any sequence of the four arrays in that order: parameters' `.data`, or their
    `.grad` to get (dW1, db1, dW2, db2). Weights are kept as they are ((out, in) in both
    layouts); biases (out,) become columns (out, 1). The arrays are copied.
    """
    values = list(arrays.values()) if isinstance(arrays, Mapping) else list(arrays)
    if len(values) != 4:
        raise ValueError(
            f"params_from_state: expected the 4 arrays of Linear-ReLU-Linear "
            f"(weight, bias, weight, bias), got {len(values)}"
        )
    w1, b1, w2, b2 = (np.array(v, copy=True) for v in values)
    if w1.ndim != 2 or w2.ndim != 2 or b1.shape != (w1.shape[0],) or b2.shape != (w2.shape[0],):
        raise ValueError(
            f"params_from_state: shapes {[np.shape(v) for v in values]} are not "
            f"(h, in), (h,), (out, h), (out,)"
        )
    if w2.shape[1] != w1.shape[0]:
        raise ValueError(f"params_from_state: W2 {w2.shape} does not follow W1 {w1.shape}")
    return w1, b1.reshape(-1, 1), w2, b2.reshape(-1, 1)


def state_from_params(
    W1: np.ndarray,
    b1: np.ndarray,
    W2: np.ndarray,
    b2: np.ndarray,
    keys: Sequence[str] = STATE_KEYS,
) -> OrderedDict[str, np.ndarray]:
    """The notebook's (W1, b1, W2, b2) -> a state_dict for `Sequential(Linear, ReLU, Linear)`:
    weights as they are, biases (out, 1) flattened to (out,). Load it with
    `model.load_state_dict(...)`."""
    return OrderedDict(
        zip(keys, (np.array(W1), np.ravel(b1).copy(), np.array(W2), np.ravel(b2).copy()))
    )
