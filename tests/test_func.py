"""`tl.func`: grad, value_and_grad, grad_and_value, vjp, jvp, hvp, jacrev/jacobian, jacfwd and
hessian. Closed forms, PyTorch parity (float64, 1e-9), composition with each other and with
backward(), argument handling, and the caller's tensors left alone."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import func
from tinygrad_lite.nn import functional as F

TOL = dict(rtol=1e-9, atol=1e-9)


def t64(a, requires_grad=False):
    return tl.Tensor(np.array(a, dtype=np.float64), requires_grad=requires_grad)


def rng(seed=0):
    return np.random.default_rng(seed)


# ---- closed forms ----------------------------------------------------------------------------
def test_hessian_of_a_quadratic_form_is_a_plus_a_transpose():
    a = rng().standard_normal((5, 5))
    x = t64(rng(1).standard_normal(5))
    h = func.hessian(lambda v: v @ t64(a) @ v)(x)
    assert h.shape == (5, 5)
    np.testing.assert_allclose(h.data, a + a.T, rtol=0, atol=1e-12)


def test_hessian_shape_is_input_shape_twice():
    x = t64(rng().standard_normal((2, 3)))
    h = func.hessian(lambda v: (v.tanh() * v).sum())(x)
    assert h.shape == (2, 3, 2, 3)
    flat = func.hessian(lambda v: (v.tanh() * v).sum())(x.reshape(-1))
    np.testing.assert_allclose(h.data.reshape(6, 6), flat.data, **TOL)


SMOOTH_B = np.arange(16.0).reshape(4, 4) / 10


def _smooth(v):
    return (v.tanh() * (t64(SMOOTH_B) @ v)).sum() + (v**4).sum() + (v.sin() * v).sum()


def test_hvp_equals_the_hessian_times_the_vector():
    x, v = t64(rng().standard_normal(4)), t64(rng(1).standard_normal(4))
    h = func.hessian(_smooth)(x).data
    value, (hv,) = func.hvp(_smooth, (x,), (v,))
    np.testing.assert_allclose(hv.data, h @ v.data, **TOL)
    np.testing.assert_allclose(value.data, _smooth(x).data, **TOL)
    _, hv_single = func.hvp(_smooth, x, v)  # a bare Tensor in, a bare Tensor out
    np.testing.assert_allclose(hv_single.data, h @ v.data, **TOL)
    _, fwd = func.jvp(func.grad(_smooth), (x,), (v,))  # forward over reverse: the same
    np.testing.assert_allclose(fwd.data, h @ v.data, **TOL)
    np.testing.assert_allclose(h, h.T, **TOL)


def test_nth_derivative_of_tanh_by_repeated_grad_is_the_known_polynomial():
    x = t64(np.linspace(-2.5, 2.5, 11))
    t = np.tanh(x.data)
    expected = {
        1: 1 - t**2,
        2: -2 * t + 2 * t**3,
        3: -2 + 8 * t**2 - 6 * t**4,
        4: 16 * t - 40 * t**3 + 24 * t**5,
    }
    derivative = tl.Tensor.tanh  # elementwise, so d/dx of the sum gives each element's slope
    for n in range(1, 5):
        derivative = func.grad(lambda v, d=derivative: d(v).sum())
        np.testing.assert_allclose(derivative(x).data, expected[n], rtol=1e-12, atol=1e-12,
                                   err_msg=f"derivative {n}")


def test_jacobian_of_a_linear_map_is_its_matrix():
    a = rng().standard_normal((3, 4))
    x = t64(rng(1).standard_normal(4))
    for jac in (func.jacobian, func.jacrev, func.jacfwd):
        np.testing.assert_allclose(jac(lambda v: t64(a) @ v)(x).data, a, rtol=0, atol=1e-15)
    b = rng(2).standard_normal((4, 3))  # a matrix argument: X -> X B, J[i,j,k,l] = [i=k] B[l,j]
    xm = t64(rng(3).standard_normal((2, 4)))
    expected = np.einsum("ik,lj->ijkl", np.eye(2), b)
    for jac in (func.jacrev, func.jacfwd):
        got = jac(lambda m: m @ t64(b))(xm)
        assert got.shape == (2, 3, 2, 4)
        np.testing.assert_allclose(got.data, expected, rtol=0, atol=1e-15)


# ---- argument handling ------------------------------------------------------------------------
def test_grad_argnums_values_and_aux():
    x, y = t64([1.0, 2.0]), t64([3.0, -1.0])

    def f(a, b):
        return (a * a * b).sum()

    np.testing.assert_allclose(func.grad(f)(x, y).data, 2 * x.data * y.data)
    ga, gb = func.grad(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gb.data, x.data**2)
    np.testing.assert_allclose(func.grad(f, argnums=-1)(x, y).data, x.data**2)
    value, g = func.value_and_grad(f)(x, y)
    g2, value2 = func.grad_and_value(f)(x, y)
    assert value.item() == value2.item() == f(x, y).item()
    np.testing.assert_array_equal(g.data, g2.data)
    g, aux = func.grad(lambda a: (f(a, y), a * 3), has_aux=True)(x)
    np.testing.assert_allclose(aux.data, 3 * x.data)
    (v, aux), g = func.value_and_grad(lambda a: (f(a, y), "note"), has_aux=True)(x)
    assert aux == "note" and v.item() == f(x, y).item()
    unused = func.grad(lambda a, b: (a * 2).sum(), argnums=1)(x, y)  # zeros, as torch.func
    np.testing.assert_array_equal(unused.data, [0.0, 0.0])


def test_grad_of_a_dict_of_parameters():
    params = {"w": t64([[1.0, 2.0]]), "b": t64([0.5])}
    x = t64([[3.0], [4.0]])

    def loss(p):
        return ((x @ p["w"] + p["b"]) ** 2).sum()

    g = func.grad(loss)(params)
    assert set(g) == {"w", "b"} and g["w"].shape == (1, 2)
    y = x.data @ params["w"].data + params["b"].data
    np.testing.assert_allclose(g["w"].data, (2 * y * x.data).sum(0, keepdims=True))
    np.testing.assert_allclose(g["b"].data, [2 * y.sum()])


def test_errors_name_the_problem():
    x = t64([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"scalar Tensor, got a tensor of shape \(2,\)"):
        func.grad(lambda a: a * 2)(x)
    with pytest.raises(TypeError, match="argument 0 must be a Tensor"):
        func.grad(lambda a: a)(np.ones(2))
    with pytest.raises(TypeError, match="floating-point"):
        func.grad(lambda a: a.sum())(tl.tensor([1, 2]))
    with pytest.raises(ValueError, match="argnums=3"):
        func.grad(lambda a: a.sum(), argnums=3)(x)
    with pytest.raises(ValueError, match="repeats"):
        func.grad(lambda a, b: a.sum(), argnums=(0, -2))(x, x)
    _, vjp_fn = func.vjp(lambda a: a * 2, x)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        vjp_fn(t64([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="2 primals but 1 tangents"):
        func.jvp(lambda a, b: a * b, (x, x), (x,))


# ---- the caller's tensors; composition with backward() -------------------------------------
def test_inputs_are_not_mutated_and_results_are_plain_when_nothing_requires_grad():
    x = t64([0.5, -1.0])
    g = func.grad(lambda a: (a**3).sum())(x)
    h = func.hessian(lambda a: (a**3).sum())(x)
    assert not x.requires_grad and x.grad is None
    assert g.grad_fn is None and not g.requires_grad and h.grad_fn is None
    np.testing.assert_array_equal(x.data, [0.5, -1.0])
    np.testing.assert_allclose(h.data, np.diag(6 * x.data))


def test_results_are_differentiable_when_the_argument_requires_grad():
    x = t64([0.5, -1.0], requires_grad=True)
    g = func.grad(lambda a: (a**3).sum())(x)
    assert x.grad is None and g.requires_grad  # returned, not accumulated
    (g * g).sum().backward()  # d/dx sum (3x^2)^2 = 36 x^3
    np.testing.assert_allclose(x.grad, 36 * x.data**3)


def test_a_parameter_the_function_closes_over_stays_in_the_graph():
    w = t64([2.0, 3.0], requires_grad=True)
    x = t64([1.0, -4.0])
    g = func.grad(lambda a: (w * a**2).sum())(x)  # 2 w x
    np.testing.assert_allclose(g.data, 2 * w.data * x.data)
    g.sum().backward()
    np.testing.assert_allclose(w.grad, 2 * x.data)


def test_transforms_work_under_no_grad_and_give_plain_results():
    x = t64([0.5, -1.0], requires_grad=True)
    with tl.no_grad():
        g = func.grad(lambda a: (a**3).sum())(x)
        h = func.hessian(lambda a: (a**3).sum())(x)
    assert not g.requires_grad and not h.requires_grad
    np.testing.assert_allclose(h.data, np.diag(6 * x.data))


def test_vjp_fn_can_be_called_again():
    x = t64([1.0, 2.0])
    out, vjp_fn = func.vjp(lambda a: a.exp() * a, x)
    for v in ([1.0, 0.0], [0.0, 2.0]):
        (g,) = vjp_fn(t64(v))
        np.testing.assert_allclose(g.data, np.array(v) * np.exp(x.data) * (1 + x.data))


def test_third_order_through_nested_transforms():
    x = t64([0.3, -0.7, 1.1])
    third = func.jacrev(func.hessian(lambda a: (a.sin() * a).sum()))(x)
    assert third.shape == (3, 3, 3)
    # d^3/dx^3 of x sin x = -3 sin x - x cos x, on the diagonal only
    expected = np.zeros((3, 3, 3))
    for i, v in enumerate(x.data):
        expected[i, i, i] = -3 * np.sin(v) - v * np.cos(v)
    np.testing.assert_allclose(third.data, expected, **TOL)


# ---- against torch.func / torch.autograd.functional ------------------------------------------
try:
    import torch
except ImportError:  # without the parity extra these tests skip; the ones above still run
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="needs PyTorch (the parity extra)")


def tt(a):
    return torch.tensor(np.asarray(a.data if isinstance(a, tl.Tensor) else a, dtype=np.float64))


def close(ours, theirs):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            close(o, t)
        return
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), **TOL)


A, B = rng(5).standard_normal((3, 4)), rng(6).standard_normal((4, 2))


def two_outputs(a, b):
    """Two outputs; the same code runs on tinygrad_lite and torch tensors."""
    return (a @ b).tanh(), (a * a).sum(1).exp()


@needs_torch
def test_vjp_and_jvp_match_torch_func():
    a, b = t64(A * 0.3), t64(B)
    u = (t64(rng(7).standard_normal((3, 2))), t64(rng(8).standard_normal(3)))
    out, vjp_fn = func.vjp(two_outputs, a, b)
    tout, tvjp_fn = torch.func.vjp(two_outputs, tt(a), tt(b))
    close(out, tout)
    close(vjp_fn(u), tvjp_fn(tuple(tt(v) for v in u)))
    ta, tb = t64(rng(9).standard_normal(A.shape)), t64(rng(10).standard_normal(B.shape))
    out, jv = func.jvp(two_outputs, (a, b), (ta, tb))
    tout, tjv = torch.func.jvp(two_outputs, (tt(a), tt(b)), (tt(ta), tt(tb)))
    close(out, tout)
    close(jv, tjv)


@needs_torch
def test_jacobians_and_hessian_match_torch_func():
    a, b = t64(A * 0.3), t64(B)
    theirs = torch.func.jacrev(two_outputs, argnums=(0, 1))(tt(a), tt(b))
    close(func.jacrev(two_outputs, argnums=(0, 1))(a, b), theirs)
    close(func.jacfwd(two_outputs, argnums=(0, 1))(a, b), theirs)

    def scalar(p, q):
        first, second = two_outputs(p, q)
        return (first**2).sum() + second.sum()

    close(func.hessian(scalar, argnums=(0, 1))(a, b),
          torch.func.hessian(scalar, argnums=(0, 1))(tt(a), tt(b)))
    close(func.hessian(scalar)(a, b), torch.func.hessian(scalar)(tt(a), tt(b)))


@needs_torch
def test_hvp_matches_torch_autograd_functional():
    x, v = t64(rng(11).standard_normal(4)), t64(rng(12).standard_normal(4))
    value, hv = func.hvp(_smooth, (x,), (v,))

    def tsmooth(t):
        b = torch.tensor(np.arange(16.0).reshape(4, 4) / 10)
        return (t.tanh() * (b @ t)).sum() + (t**4).sum() + (t.sin() * t).sum()

    tvalue, thv = torch.autograd.functional.hvp(tsmooth, (tt(x),), (tt(v),))
    close(value, tvalue)
    close(hv, thv)


# ---- Hessians of small MLPs, against torch.autograd.functional.hessian ----------------------
def softplus(z):
    """log(1 + exp(z)), stable: max(z, 0) + log1p(exp(-|z|)); for both libraries."""
    return z.clamp(min=0) + (-z.abs()).exp().log1p()


def mlp_loss(lib, kind, x, y):
    """loss(W1, b1, W2, b2) of a one-hidden-layer MLP, built from `lib`'s ops."""
    lin = F.linear if lib is tl else torch.nn.functional.linear

    def loss(w1, b1, w2, b2):
        z = lin(x, w1, b1)
        if kind == "tanh-mse":
            return ((lin(z.tanh(), w2, b2) - y) ** 2).mean()
        if kind == "softplus-logistic":  # softplus hidden layer, logistic loss softplus(-y f)
            return softplus(-y * lin(softplus(z), w2, b2)).mean()
        ce = F.cross_entropy if lib is tl else torch.nn.functional.cross_entropy
        return ce(lin(z.tanh(), w2, b2), y)

    return loss


@needs_torch
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kind", ["tanh-mse", "softplus-logistic", "cross-entropy"])
def test_mlp_hessians_match_torch(kind, seed):
    r = rng(seed)
    n, d, h = 6, 3, 4
    k = 3 if kind == "cross-entropy" else 1
    x = r.standard_normal((n, d))
    if kind == "cross-entropy":
        y = r.integers(0, k, n)
    elif kind == "tanh-mse":
        y = r.standard_normal((n, 1))
    else:
        y = np.where(r.random((n, 1)) < 0.5, -1.0, 1.0)
    params = [r.standard_normal(s) for s in [(h, d), (h,), (k, h), (k,)]]
    y_ours = y if kind == "cross-entropy" else t64(y)
    y_theirs = torch.tensor(y) if kind == "cross-entropy" else tt(y)
    ours, theirs = mlp_loss(tl, kind, t64(x), y_ours), mlp_loss(torch, kind, tt(x), y_theirs)
    h_ours = func.hessian(ours, argnums=(0, 1, 2, 3))(*[t64(p) for p in params])
    h_theirs = torch.autograd.functional.hessian(theirs, tuple(tt(p) for p in params))
    close(h_ours, h_theirs)
    # and with respect to the input: d^2 loss / dx^2, shape (n, d, n, d)
    hx = func.hessian(lambda xx: mlp_loss(tl, kind, xx, y_ours)(*map(t64, params)))(t64(x))
    thx = torch.autograd.functional.hessian(
        lambda xx: mlp_loss(torch, kind, xx, y_theirs)(*map(tt, params)), tt(x))
    close(hx, thx)
