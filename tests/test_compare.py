"""tl.compare_gradients: hand-written backprop against autograd, tensor by tensor.

The net is the notebook's (784 -> 10 ReLU -> 10 softmax), its backward_prop written out in the
notebook's column layout; the planted bug is the original Kaggle notebook's
`db2 = 1 / m * np.sum(dZ2)` (no axis: one number instead of one per output unit).
"""

from __future__ import annotations

import io

import numpy as np
import pytest

import tinygrad_lite as tl
from examples.common import mnist, reference
from tinygrad_lite import nn

M = 8  # images per batch (not 10, so (10, M) and (M, 10) differ)


def notebook_net(dtype=np.float64, seed=0):
    """(model, X (784, M), Y, [W1, b1, W2, b2] in the notebook's layout)."""
    rng = np.random.default_rng(seed)
    X = rng.random((784, M))
    Y = rng.integers(0, 10, size=M)
    params = [rng.random(shape) - 0.5 for shape in [(10, 784), (10, 1), (10, 10), (10, 1)]]
    model = nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10)).to(dtype)
    model.load_state_dict(reference.state_from_params(*params))
    return model, X.astype(dtype), Y, [p.astype(dtype) for p in params]


def loss_fn_for(X, Y):
    """loss_fn naming the parameters and intermediates as the notebook does."""

    def loss_fn(model):
        z1 = model[0](tl.Tensor(X.T))
        a1 = model[1](z1)
        z2 = model[2](a1)
        names = {"W1": model[0].weight, "b1": model[0].bias, "W2": model[2].weight,
                 "b2": model[2].bias, "Z1": z1, "A1": a1, "Z2": z2}
        return nn.functional.cross_entropy(z2, Y), names

    return loss_fn


def backward_prop(params, X, Y, bug=None):
    """The notebook's forward_prop + backward_prop; `bug` plants one mistake."""
    W1, b1, W2, b2 = params
    m = Y.size
    Z1 = W1.dot(X) + b1
    A1 = np.maximum(Z1, 0)
    Z2 = W2.dot(A1) + b2
    E = np.exp(Z2 - Z2.max(axis=0))
    A2 = E / E.sum(axis=0)
    one_hot_Y = np.eye(10)[Y].T
    dZ2 = A2 - one_hot_Y
    dW2 = 1 / m * dZ2.dot(A1.T)
    db2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)
    if bug == "db2":
        db2 = 1 / m * np.sum(dZ2)  # the original Kaggle notebook's line
    dZ1 = W2.T.dot(dZ2) * (Z1 > 0)
    if bug == "relu":
        dZ1 = W2.T.dot(dZ2)  # forgot deriv_ReLU
    dW1 = 1 / m * dZ1.dot(X.T)
    db1 = 1 / m * np.sum(dZ1, axis=1, keepdims=True)
    return {"dZ2": dZ2 / m, "dW2": dW2, "db2": db2, "dZ1": dZ1 / m, "dW1": dW1, "db1": db1}


# ---- the minimal call ------------------------------------------------------------------------


def test_parameters_only_by_named_parameters_names():
    model, X, Y, params = notebook_net()
    grads = backward_prop(params, X, Y)
    manual = {"0.weight": grads["dW1"], "0.bias": grads["db1"], "2.weight": grads["dW2"],
              "2.bias": grads["db2"]}
    report = tl.compare_gradients(lambda model: loss_fn_for(X, Y)(model)[0], model, manual)
    assert report.ok and report.first_mismatch is None
    # backprop order: the second layer's gradients first
    assert [row.name for row in report.rows] == ["2.bias", "2.weight", "0.bias", "0.weight"]
    assert report.not_checked == []
    assert {row.layout for row in report.rows} == {"", "reshaped"}  # (10, 1) biases
    assert report.max_abs_diff < 1e-15
    text = str(report)
    assert "all 4 gradients match" in text and "Frobenius" in text
    for label in ("0.weight", "2.bias", "(10, 784)", "(10, 1)"):
        assert label in text


def test_the_kaggle_db2_bug_is_caught_at_step_0_and_named():
    """Gradient descent checked at every step stops at step 0 and names db2 with its shapes."""
    model, X, Y, params = notebook_net()
    loss_fn = loss_fn_for(X, Y)
    caught = None
    for step in range(5):
        W1, b1, W2, b2 = (p.data.copy() for p in model.parameters())
        notebook = [W1, b1[:, None], W2, b2[:, None]]
        report = tl.compare_gradients(loss_fn, model, backward_prop(notebook, X, Y, bug="db2"))
        if not report.ok:
            caught = step, report
            break
        with tl.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
    assert caught is not None
    step, report = caught
    assert step == 0
    row = report.first_mismatch
    assert row.name == "db2" and row.tensor == "b2"
    assert row.manual_shape == () and row.autograd_shape == (10,)
    assert "np.sum without axis=" in row.note
    line = str(row)
    assert line.startswith("db2 (b2): yours (), autograd (10,)")
    assert f"first mismatch: {line}" in str(report)
    assert [r.name for r in report.rows if not r.ok] == ["db2"]  # everything else is right


def test_intermediates_transposed_and_the_missing_one_over_m():
    model, X, Y, params = notebook_net()
    grads = backward_prop(params, X, Y)
    report = tl.compare_gradients(loss_fn_for(X, Y), model, grads)
    assert report.ok, report
    assert [row.name for row in report.rows] == ["dZ2", "db2", "dW2", "dZ1", "db1", "dW1"]
    by_name = {row.name: row for row in report.rows}
    assert by_name["dZ2"].layout == "transposed"
    assert by_name["dZ2"].manual_shape == (10, M) and by_name["dZ2"].autograd_shape == (M, 10)
    assert "(10, 8) T" in str(report)
    # the notebook's own dZ2 = A2 - Y is the gradient of the *summed* loss: m times too big
    report = tl.compare_gradients(loss_fn_for(X, Y), model, {**grads, "dZ2": grads["dZ2"] * M})
    row = report.first_mismatch
    assert row.name == "dZ2" and "= 8 x autograd" in row.note
    assert row.rel_error == pytest.approx(M - 1)


def test_first_mismatch_follows_backprop_order_not_the_dict_order():
    model, X, Y, params = notebook_net()
    grads = backward_prop(params, X, Y, bug="relu")  # dZ1 and everything after it are wrong
    grads = dict(reversed(list(grads.items())))
    report = tl.compare_gradients(loss_fn_for(X, Y), model, grads)
    assert [row.name for row in report.rows if not row.ok] == ["dZ1", "db1", "dW1"]
    assert report.first_mismatch.name == "dZ1"
    assert report.first_mismatch.note == "values differ"
    assert report.first_mismatch.max_abs_diff > 1e-3


def test_a_transposed_square_gradient_is_flagged():
    model, X, Y, params = notebook_net()
    grads = backward_prop(params, X, Y)
    report = tl.compare_gradients(loss_fn_for(X, Y), model, {"dW2": grads["dW2"].T})
    assert not report.ok
    assert report.first_mismatch.note == "equals autograd's transpose"


def test_callable_gets_the_model_and_model_grads_are_left_alone():
    model, X, Y, params = notebook_net()
    before = [tl.tensor(np.full(p.shape, 7.0)) for p in model.parameters()]
    for p, g in zip(model.parameters(), before):
        p.grad = g
    seen = []

    def manual(m):
        seen.append(m)
        return {"dW1": backward_prop(params, X, Y)["dW1"]}

    report = tl.compare_gradients(loss_fn_for(X, Y), model, manual)
    assert report.ok and seen == [model]
    assert all(p.grad is g for p, g in zip(model.parameters(), before))
    assert report.not_checked == ["0.bias", "2.weight", "2.bias"]
    assert "not checked (no gradient given): 0.bias, 2.weight, 2.bias" in str(report)


def test_float32_autograd_against_float64_hand_written():
    model, X, Y, params = notebook_net(dtype=np.float32)
    params64 = [p.data.astype(np.float64) for p in model.parameters()]
    notebook = [params64[0], params64[1][:, None], params64[2], params64[3][:, None]]
    report = tl.compare_gradients(loss_fn_for(X, Y), model,
                                  backward_prop(notebook, X.astype(np.float64), Y))
    assert report.ok, report
    assert (report.rtol, report.atol) == (1e-3, 1e-5)
    assert not all(row.exact for row in report.rows)
    strict = tl.compare_gradients(loss_fn_for(X, Y), model,
                                  backward_prop(notebook, X.astype(np.float64), Y), rtol=0,
                                  atol=0)
    assert not strict.ok


def test_named_tensor_resolution():
    model, X, Y, params = notebook_net()
    grads = backward_prop(params, X, Y)
    # "d" prefix, plain names and parameter paths all work; exact names win over the prefix
    report = tl.compare_gradients(loss_fn_for(X, Y), model,
                                  {"Z2": grads["dZ2"], "dW2": grads["dW2"], "2.bias": grads["db2"]})
    assert [(row.name, row.tensor) for row in report.rows] == [
        ("Z2", "Z2"), ("2.bias", "2.bias"), ("dW2", "W2")]
    assert report.ok
    assert isinstance(report.autograd["dW2"], np.ndarray)
    assert "<GradientReport: 3 gradients, ok=True>" == repr(report)


def test_errors_name_the_problem():
    model, X, Y, params = notebook_net()
    grads = backward_prop(params, X, Y)
    loss_fn = loss_fn_for(X, Y)
    with pytest.raises(KeyError, match="no tensor named 'dZ3'.*Z1"):
        tl.compare_gradients(loss_fn, model, {"dZ3": grads["dZ2"]})
    with pytest.raises(ValueError, match="non-empty"):
        tl.compare_gradients(loss_fn, model, {})
    with pytest.raises(ValueError, match="scalar"):
        tl.compare_gradients(lambda m: m(tl.Tensor(X.T)), model, grads)
    with pytest.raises(TypeError, match="loss Tensor"):
        tl.compare_gradients(lambda m: 1.0, model, grads)
    with pytest.raises(ValueError, match="'X' does not require grad"):
        tl.compare_gradients(lambda m: (loss_fn(m)[0], {"X": tl.Tensor(X)}), model, grads)
    with pytest.raises(ValueError, match="already a parameter"):
        tl.compare_gradients(lambda m: (loss_fn(m)[0], {"0.bias": m[2].bias}), model, grads)
    with pytest.raises(TypeError, match="not numeric"):
        tl.compare_gradients(loss_fn, model, {"dW1": "zero"})
    with pytest.raises(TypeError, match="Module"):
        tl.compare_gradients(loss_fn, 3, grads)
    with tl.no_grad():  # grad mode is switched on for loss_fn
        assert tl.compare_gradients(loss_fn, model, grads).ok


def test_a_wrong_shape_that_is_not_a_layout():
    model, X, Y, params = notebook_net()
    report = tl.compare_gradients(loss_fn_for(X, Y), model, {"dW1": np.zeros((784, 5))})
    row = report.first_mismatch
    assert row.note == "shape (784, 5) cannot be (10, 784)"
    assert report.max_abs_diff == np.inf


def test_check_manual_prints_the_table_for_a_wrong_rule(monkeypatch):
    """--check-manual's check, with the reference's db2 broken as in the Kaggle notebook."""
    model, X, Y, params = notebook_net(dtype=np.float32)
    x = tl.Tensor(X.T)
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    mnist.check_manual(model, x, Y, 0)
    assert out.getvalue().startswith("check-manual iteration 0: max |autograd - hand-derived|")
    assert len(out.getvalue().splitlines()) == 1  # all match: one line

    right = reference.backward_prop

    def kaggle_backward_prop(*args):
        dW1, db1, dW2, db2 = right(*args)
        return dW1, db1, dW2, np.float32(db2.sum())

    monkeypatch.setattr(reference, "backward_prop", kaggle_backward_prop)
    out.truncate(0)
    out.seek(0)
    mnist.check_manual(model, x, Y, 5)
    text = out.getvalue()
    assert "gradient difference inf" in text
    assert "first mismatch: db2 (b2): yours (), autograd (10,)" in text
