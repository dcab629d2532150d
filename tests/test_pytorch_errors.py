"""Where PyTorch raises or warns instead of computing, so do we; checked against PyTorch 2.13.

- integer, bool and complex inputs to floating losses and functions raise PyTorch's exception,
  with its message (numpy would compute in integers and return a silently wrong loss);
- softmax / log_softmax without a dim warn and use PyTorch's implicit dim;
- max pooling over padding sends every window's gradient to an input element, never to the
  padding, with the values and gradients of PyTorch in float64.
"""

import itertools
import warnings

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

DTYPES = ["int64", "int32", "int16", "int8", "uint8", "bool"]


def raised(call):
    """(exception type, message) of `call()`, or None when it returns."""
    try:
        call()
    except Exception as e:  # noqa: BLE001 - any exception is the result under test
        return type(e), str(e)
    return None


def pair(values, dtype):
    """The same values as a tinygrad_lite tensor and a torch tensor of one dtype."""
    a = np.asarray(values).astype(dtype)
    return tl.tensor(a), torch.tensor(a)


# ---- integer and bool inputs: PyTorch's exception and message ---------------------------------
# (name, call(lib, functional, x, target)): each gets the same program in both libraries
LOSSES = {
    "cross_entropy": lambda lib, f, x, t: f.cross_entropy(x, t),
    "cross_entropy weight": lambda lib, f, x, t: f.cross_entropy(
        x, t, weight=lib.tensor(np.ones(3))),
    "cross_entropy smoothing": lambda lib, f, x, t: f.cross_entropy(x, t, label_smoothing=0.1),
    "cross_entropy probabilities": lambda lib, f, x, t: f.cross_entropy(
        x, lib.tensor(np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]))),
    "nll_loss": lambda lib, f, x, t: f.nll_loss(x, t),
    "mse_loss": lambda lib, f, x, t: f.mse_loss(x, x),
    "mse_loss sum": lambda lib, f, x, t: f.mse_loss(x, x, reduction="sum"),
    "mse_loss none": lambda lib, f, x, t: f.mse_loss(x, x, reduction="none"),
    "l1_loss": lambda lib, f, x, t: f.l1_loss(x, x),
    "binary_cross_entropy": lambda lib, f, x, t: f.binary_cross_entropy(x, x),
    "binary_cross_entropy float target": lambda lib, f, x, t: f.binary_cross_entropy(
        x, lib.tensor(np.ones((2, 3)))),
    "binary_cross_entropy_with_logits": lambda lib, f, x, t: f.binary_cross_entropy_with_logits(
        x, x),
    "binary_cross_entropy_with_logits float target":
        lambda lib, f, x, t: f.binary_cross_entropy_with_logits(x, lib.tensor(np.ones((2, 3)))),
    "softmax": lambda lib, f, x, t: f.softmax(x, dim=1),
    "softmax dim 0": lambda lib, f, x, t: f.softmax(x, dim=0),
    "softmax 1-D": lambda lib, f, x, t: f.softmax(x[0], dim=0),
    "log_softmax": lambda lib, f, x, t: f.log_softmax(x, dim=-1),
    "log_softmax dim 0": lambda lib, f, x, t: f.log_softmax(x, dim=0),
    "Tensor.softmax": lambda lib, f, x, t: x.softmax(1),
    "Tensor.log_softmax": lambda lib, f, x, t: x.log_softmax(0),
    "nn.LogSoftmax": lambda lib, f, x, t: lib.nn.LogSoftmax(dim=1)(x),
    "relu": lambda lib, f, x, t: f.relu(x),
    "nn.ReLU": lambda lib, f, x, t: lib.nn.ReLU()(x),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(LOSSES))
def test_integer_and_bool_inputs_raise_as_pytorch(name, dtype):
    values = [[1, 0, 1], [0, 1, 1]]
    ours_x, theirs_x = pair(values, dtype)
    targets = np.array([0, 2])
    ours = raised(lambda: LOSSES[name](tl, F, ours_x, tl.tensor(targets)))
    theirs = raised(lambda: LOSSES[name](torch, TF, theirs_x, torch.tensor(targets)))
    assert ours == theirs, (ours, theirs)


def test_the_examples_of_the_issue():
    with pytest.raises(NotImplementedError) as e:
        F.cross_entropy(tl.tensor([[1, 2, 3]]), tl.tensor([0]))
    assert str(e.value) == "\"log_softmax_lastdim_kernel_impl\" not implemented for 'Long'"
    with pytest.raises(NotImplementedError, match="^\"mse_cpu\" not implemented for 'Long'$"):
        F.mse_loss(tl.tensor([1, 2, 3]), tl.tensor([2, 2, 2]))
    with pytest.raises(RuntimeError, match="^Boolean inputs not supported for relu$"):
        tl.tensor([True, False]).relu()


# mixed dtypes: what PyTorch promotes, it computes; what it refuses, we refuse the same way
MIXED = [
    ("mse_loss", "int64", "float64", None), ("mse_loss", "bool", "float64", None),
    ("mse_loss", "bool", "int64", None), ("mse_loss", "int64", "int64", "float64"),
    ("l1_loss", "int64", "float64", None), ("l1_loss", "int64", "int64", "float64"),
    ("l1_loss", "bool", "float64", None), ("l1_loss", "float64", "bool", None),
    ("l1_loss", "int64", "bool", None), ("l1_loss", "bool", "bool", "float64"),
    ("binary_cross_entropy", "int64", "bool", None),
    ("binary_cross_entropy", "int64", "int64", "float64"),
    ("binary_cross_entropy_with_logits", "int64", "float64", None),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name, input_dtype, target_dtype, weight_dtype", MIXED)
def test_mixed_dtypes_raise_or_compute_as_pytorch(name, input_dtype, target_dtype, weight_dtype,
                                                   reduction):
    values = np.array([[1, 0, 1], [0, 1, 1]])
    def run(lib, f):
        x, y = lib.tensor(values.astype(input_dtype)), lib.tensor(values.astype(target_dtype))
        options = dict(reduction=reduction)
        if weight_dtype is not None:
            options["weight"] = lib.tensor(np.full(values.shape, 2).astype(weight_dtype))
        result = []
        error = raised(lambda: result.append(getattr(f, name)(x, y, **options)))
        return error if error else np.asarray(result[0].detach().numpy())

    ours, theirs = run(tl, F), run(torch, TF)
    if isinstance(theirs, tuple):
        assert ours == theirs
    else:
        assert not isinstance(ours, tuple), ours
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_floating_inputs_still_compute():
    x = tl.tensor(np.array([[0.5, -1.0, 2.0]]), requires_grad=True)
    F.cross_entropy(x, tl.tensor([2])).backward()
    assert x.grad.dtype == np.float64
    h = x.detach().to(np.float16)
    assert F.mse_loss(h, h).dtype == np.float16


# ---- softmax without a dim: PyTorch's warning and implicit dim ---------------------------------
@pytest.mark.parametrize("function", ["softmax", "log_softmax"])
@pytest.mark.parametrize("ndim", [0, 1, 2, 3, 4])
def test_softmax_without_dim_warns_and_uses_pytorchs_implicit_dim(function, ndim):
    shape = (2, 3, 4, 5)[:ndim]
    x = np.random.default_rng(ndim).standard_normal(shape)
    with pytest.warns(UserWarning, match=f"^Implicit dimension choice for {function} has been "
                      "deprecated") as ours_warning:
        ours = getattr(F, function)(tl.tensor(x))
    assert ours_warning[0].filename == __file__  # points at the caller, as PyTorch's
    with warnings.catch_warnings(record=True) as theirs_warning:
        warnings.simplefilter("always")
        theirs = getattr(TF, function)(torch.tensor(x))
    assert str(ours_warning[0].message) == str(theirs_warning[0].message)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
def test_softmax_implicit_dim_is_pytorchs(ndim):
    """The sums along PyTorch's implicit dim are 1: 0 for 1- and 3-D input, 1 otherwise."""
    x = tl.tensor(np.random.default_rng(0).standard_normal((2, 3, 4, 5)[:ndim]))
    with pytest.warns(UserWarning):
        s = F.softmax(x)
    dim = 0 if ndim in (1, 3) else 1
    np.testing.assert_allclose(s.numpy().sum(axis=dim), 1.0, rtol=1e-12)


def test_softmax_with_a_dim_does_not_warn():
    x = tl.tensor(np.ones((2, 3, 4)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.softmax(x, dim=-1), F.log_softmax(x, 0), F.softmax(x, axis=1)
    with pytest.raises(TypeError):
        F.softmax(x, 1, axis=1)


# ---- max pooling over padding: gradients go to input elements only -----------------------------
def _inputs():
    rng = np.random.default_rng(0)
    yield "all -inf", np.full((1, 2, 3, 4), -np.inf)
    yield "-inf rows and columns", np.where(rng.random((2, 1, 4, 5)) < 0.5, -np.inf,
                                            rng.integers(-2, 2, (2, 1, 4, 5)).astype(float))
    yield "ties", rng.integers(-1, 1, (1, 2, 5, 4)).astype(float)
    yield "random", rng.standard_normal((2, 2, 5, 5))


GEOMETRIES = [(k, s, 1) for k, s in itertools.product((2, 3), (1, 2))] + [(3, 1, (1, 0)),
                                                                           ((2, 3), (2, 1), (1, 1))]


@pytest.mark.parametrize("kernel, stride, padding", GEOMETRIES)
@pytest.mark.parametrize("case, x", list(_inputs()), ids=[c for c, _ in _inputs()])
def test_max_pool_over_padding_matches_pytorch(case, x, kernel, stride, padding):
    ours_x = tl.tensor(x, requires_grad=True)
    theirs_x = torch.tensor(x, requires_grad=True)
    ours = F.max_pool2d(ours_x, kernel, stride=stride, padding=padding)
    theirs = TF.max_pool2d(theirs_x, kernel, stride=stride, padding=padding)
    np.testing.assert_array_equal(ours.numpy(), theirs.detach().numpy())
    g = np.random.default_rng(1).standard_normal(theirs.shape)
    ours.backward(tl.tensor(g))
    theirs.backward(torch.tensor(g))
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-12)


def test_max_pool_of_minus_infinity_keeps_every_window_gradient():
    """The issue's example: 9 windows of a 2x2 all -inf input, padding 1; none lost."""
    a = tl.tensor(np.full((1, 1, 2, 2), -np.inf), requires_grad=True)
    F.max_pool2d(a, 2, stride=1, padding=1).sum().backward()
    assert a.grad.numpy().sum() == 9
    np.testing.assert_array_equal(a.grad.numpy()[0, 0], [[4, 2], [2, 1]])


def test_max_pool_double_backward_through_padding_matches_pytorch():
    """The gradient's own gradient (a gather at the chosen elements) sees the same choice."""
    x = np.full((1, 1, 3, 3), -np.inf)
    x[0, 0, 2, 2] = 1.0
    u = np.arange(9.0).reshape(1, 1, 3, 3)
    results = []
    for lib in (tl, torch):
        xt = lib.tensor(x, requires_grad=True)
        w = lib.tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
        y = (lib.nn.functional.max_pool2d(xt, 2, stride=1, padding=1) * w).sum()
        (gx,) = lib.autograd.grad(y, xt, create_graph=True)
        (gx * lib.tensor(u)).sum().backward()
        results.append((np.asarray(gx.detach().numpy()), np.asarray(w.grad.numpy())))
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)
