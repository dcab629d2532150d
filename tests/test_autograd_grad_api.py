"""`tl.autograd.grad` and `backward(inputs=, create_graph=)`: PyTorch's semantics, checked
against torch where it has an answer."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)
X, W = RNG.standard_normal((4, 3)), RNG.standard_normal((3, 2))


def pair():
    """(x, w, loss) in tinygrad_lite and in torch, float64: loss = sum(tanh(x @ w)**2)."""
    x, w = tl.tensor(X, requires_grad=True), tl.tensor(W, requires_grad=True)
    tx, tw = torch.tensor(X, requires_grad=True), torch.tensor(W, requires_grad=True)
    return (x, w, ((x @ w).tanh() ** 2).sum()), (tx, tw, ((tx @ tw).tanh() ** 2).sum())


def test_grad_returns_gradients_and_leaves_dot_grad_alone():
    (x, w, loss), (tx, tw, tloss) = pair()
    gx, gw = tl.autograd.grad(loss, [x, w])
    tgx, tgw = torch.autograd.grad(tloss, [tx, tw])
    np.testing.assert_allclose(gx.data, tgx.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gw.data, tgw.numpy(), rtol=1e-12)
    assert x.grad is None and w.grad is None
    assert gx.grad_fn is None and not gx.requires_grad  # no graph without create_graph


def test_grad_of_an_intermediate_tensor_and_with_grad_outputs():
    (x, w, _), (tx, tw, _) = pair()
    h, th = x @ w, tx @ tw
    y, ty = h.tanh(), th.tanh()
    v = RNG.standard_normal(y.shape)
    (gh,) = tl.autograd.grad(y, h, grad_outputs=tl.tensor(v))
    (tgh,) = torch.autograd.grad(ty, th, grad_outputs=torch.tensor(v))
    np.testing.assert_allclose(gh.data, tgh.numpy(), rtol=1e-12)


def test_grad_errors_as_pytorch():
    (x, w, loss), _ = pair()
    unused = tl.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match="not used in the graph"):
        tl.autograd.grad(loss, [x, unused], retain_graph=True)
    gx, none = tl.autograd.grad(loss, [x, unused], allow_unused=True, retain_graph=True)
    assert none is None and gx.shape == x.shape
    with pytest.raises(RuntimeError, match="does not require grad"):
        tl.autograd.grad(loss, tl.tensor(np.ones(3)), retain_graph=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        tl.autograd.grad(tl.tensor(1.0), x)
    with pytest.raises(RuntimeError, match="implicitly created only for a scalar"):
        tl.autograd.grad(x @ w, x)
    tl.autograd.grad(loss, x)  # retain_graph defaults to create_graph (False): freed after
    with pytest.raises(RuntimeError, match="second time"):
        tl.autograd.grad(loss, x)


def test_backward_inputs_accumulates_only_into_them():
    (x, w, loss), (tx, tw, tloss) = pair()
    loss.backward(inputs=[w])
    tloss.backward(inputs=[tw])
    assert x.grad is None and tx.grad is None
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-12)


def test_backward_create_graph_leaves_a_differentiable_grad():
    (x, w, loss), (tx, tw, tloss) = pair()
    loss.backward(create_graph=True)
    tloss.backward(create_graph=True)
    assert isinstance(w.grad, tl.Tensor) and w.grad.grad_fn is not None
    (w.grad**2).sum().backward(inputs=[x])  # d/dx of |dL/dw|^2, as a gradient penalty
    (tw.grad**2).sum().backward(inputs=[tx])
    # x.grad = dL/dx (from the first backward) + d|dL/dw|^2/dx, in both frameworks
    np.testing.assert_allclose(x.grad.data, tx.grad.detach().numpy(), rtol=1e-10)
