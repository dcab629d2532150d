"""Higher-order autodiff at work: double backward through cross_entropy and a gradient-penalty
training run against PyTorch (float64, 1e-9), Newton's method, the Hessian of the notebook
net's loss with respect to W2 against finite differences, the backward of the backward traced,
and memory that stays flat over 500 create_graph training steps."""

from __future__ import annotations

import gc
import io

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import func, nn
from tinygrad_lite.nn import functional as F

TOL = dict(rtol=1e-9, atol=1e-9)


def t64(a, requires_grad=False):
    return tl.Tensor(np.array(a, dtype=np.float64), requires_grad=requires_grad)


# ---- Newton's method ---------------------------------------------------------------------------
def logistic_problem(seed=0, n=200, d=4):
    rng = np.random.default_rng(seed)
    x = np.hstack([rng.standard_normal((n, d - 1)), np.ones((n, 1))])  # a bias column
    w_true = np.array([1.5, -2.0, 0.5, 0.3])
    y = (rng.random(n) < 1 / (1 + np.exp(-x @ w_true))).astype(np.float64)
    return t64(x), t64(y)


def logistic_loss(w, x, y, ridge=1e-3):
    """mean BCE of sigmoid(x w) against y, plus ridge/2 |w|^2: strictly convex."""
    return F.binary_cross_entropy_with_logits(x @ w, y) + ridge / 2 * (w * w).sum()


def test_newtons_method_on_logistic_regression_converges_in_at_most_10_steps():
    x, y = logistic_problem()
    w = t64(np.zeros(4))
    norms = []
    for _ in range(10):
        g = func.grad(logistic_loss)(w, x, y)
        norms.append(float(np.linalg.norm(g.data)))
        if norms[-1] < 1e-12:
            break
        h = func.hessian(logistic_loss)(w, x, y)
        w = w - t64(np.linalg.solve(h.data, g.data))  # w <- w - H^-1 g
    assert norms[-1] < 1e-12, norms
    assert len(norms) <= 10
    # quadratic convergence: each late step squares the error (up to the curvature constant)
    late = [n for n in norms if n < 1e-2]
    assert all(b <= 10 * a * a for a, b in zip(late, late[1:]) if b > 1e-15), norms
    # gradient descent with the same budget is nowhere near
    v = t64(np.zeros(4))
    for _ in range(10):
        v = v - 1.0 * func.grad(logistic_loss)(v, x, y)
    assert np.linalg.norm(func.grad(logistic_loss)(v, x, y).data) > 1e-3


# ---- the notebook's net: the Hessian of the loss with respect to W2 -----------------------------
def notebook_net(n_images=300, steps=100, seed=0):
    """784 -> 10 ReLU -> 10, U[-0.5, 0.5) init, a few full-batch GD steps (lr 0.1) on the
    first MNIST test images, in float64. Returns (model, x, y)."""
    from tinygrad_lite.data import load_mnist, to_float

    images, labels = load_mnist("test")
    x, y = tl.Tensor(to_float(images[:n_images], np.float64)), labels[:n_images].astype(np.int64)
    model = nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10)).to(np.float64)
    rng = np.random.RandomState(seed)
    for p in model.parameters():
        nn.init.notebook_uniform_(p, rng)
    opt = tl.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    model.zero_grad()
    return model, x, y


def test_hessian_of_the_notebook_loss_wrt_w2_matches_finite_differences():
    model, x, y = notebook_net()
    w1, b1, w2, b2 = model[0].weight, model[0].bias, model[2].weight, model[2].bias
    hidden = (x @ w1.detach().T + b1.detach()).relu()  # W1, b1 fixed: a function of W2 alone

    def loss(w):
        return F.cross_entropy(hidden @ w.T + b2.detach(), y)

    h = func.hessian(loss)(w2).data.reshape(100, 100)
    assert w2.grad is None  # the model is left alone
    # central differences of the (first-order) gradient, column by column
    eps, w0 = 1e-5, w2.data.copy()
    fd = np.empty((100, 100))
    for j in range(100):
        e = np.zeros(100)
        e[j] = eps
        plus = func.grad(loss)(t64((w0.ravel() + e).reshape(10, 10))).data.ravel()
        minus = func.grad(loss)(t64((w0.ravel() - e).reshape(10, 10))).data.ravel()
        fd[:, j] = (plus - minus) / (2 * eps)
    np.testing.assert_allclose(h, fd, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(h, h.T, rtol=0, atol=1e-15)
    # the loss is convex in W2 (softmax cross-entropy of a linear map): H is positive
    # semi-definite, with a null space of dimension 10 at least (adding the same vector to
    # every row of W2 shifts all ten logits of each image equally, which softmax ignores)
    eig = np.linalg.eigvalsh(h)
    assert eig[0] > -1e-12
    assert np.all(np.abs(eig[:10]) < 1e-12)
    assert eig[10] > 1e-6
    # hvp agrees with H v without forming H
    v = np.random.default_rng(1).standard_normal((10, 10))
    _, hv = func.hvp(loss, w2, t64(v))
    np.testing.assert_allclose(hv.data.ravel(), h @ v.ravel(), rtol=1e-10, atol=1e-12)


# ---- the backward of the backward, traced -------------------------------------------------------
def test_trace_backward_shows_the_backward_of_the_backward():
    x = t64(2.0, requires_grad=True)
    y = x**3
    out = io.StringIO()
    with tl.trace_backward(file=out):
        (g,) = tl.autograd.grad(y, x, create_graph=True)  # 3 x^2 = 12, recorded
    first = out.getvalue().splitlines()
    assert first == ["Pow: dL/dx = g c x**(c-1) (0 for c = 0, also at x = 0).  [() -> ()]"]
    out = io.StringIO()
    with tl.trace_backward(file=out):
        g.backward()  # d(3 x^2)/dx = 6 x = 12: backpropagates through what the rule computed
    second = [line.split(":")[0] for line in out.getvalue().splitlines()]
    assert "Pow" in second and "Mul" in second
    assert g.item() == 12.0 and x.grad == 12.0


# ---- against PyTorch ----------------------------------------------------------------------------
try:
    import torch
except ImportError:  # without the parity extra these tests skip; the ones above still run
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="needs PyTorch (the parity extra)")
TF = torch.nn.functional if torch is not None else None


def tt(a, requires_grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


CE_CASES = {
    "fused": dict(),
    "weighted, ignored, smoothed": dict(weight=np.array([0.5, 2.0, 1.0, 1.5]), ignore_index=1,
                                        label_smoothing=0.2),
    "sum": dict(reduction="sum", label_smoothing=0.1),
    "none": dict(reduction="none", weight=np.array([1.0, 0.3, 2.0, 1.0])),
    "probabilities": dict(probabilities=True, label_smoothing=0.1),
}


@needs_torch
@pytest.mark.parametrize("case", list(CE_CASES))
def test_double_backward_through_cross_entropy_matches_torch(case):
    rng = np.random.default_rng(3)
    n, c = 5, 4
    kw = dict(CE_CASES[case])
    probabilities = kw.pop("probabilities", False)
    logits = rng.standard_normal((n, c)) * 2
    if probabilities:
        raw = rng.random((n, c)) + 0.1
        target = raw / raw.sum(1, keepdims=True)
    else:
        target = np.array([0, 1, 3, 3, 2])
    weight = kw.pop("weight", None)
    upstream = rng.standard_normal(n) if kw.get("reduction") == "none" else None

    def run(lib):
        z = t64(logits, True) if lib is tl else tt(logits, True)
        if probabilities:
            t = t64(target, True) if lib is tl else tt(target, True)
        else:
            t = tl.tensor(target) if lib is tl else torch.tensor(target)
        w = None if weight is None else (weight if lib is tl else torch.tensor(weight))
        loss = (F if lib is tl else TF).cross_entropy(z, t, weight=w, **kw)
        wrt = [z, t] if probabilities else [z]
        autograd = tl.autograd if lib is tl else torch.autograd
        if upstream is not None:
            loss = (loss * (t64(upstream) if lib is tl else tt(upstream))).sum()
        grads = autograd.grad(loss, wrt, create_graph=True)
        penalty = sum((g * g).sum() for g in grads)  # |dL/d(logits, targets)|^2
        second = autograd.grad(penalty, wrt)
        return [np.asarray(g.detach().numpy() if lib is torch else g.data)
                for g in [*grads, *second]]

    for ours, theirs in zip(run(tl), run(torch)):
        np.testing.assert_allclose(ours, theirs, **TOL)


@needs_torch
def test_gradient_penalty_training_matches_torch_for_3_sgd_steps():
    """loss = CE(model(x), y) + lam |d CE / d x|^2, SGD with momentum, 3 steps."""
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((8, 3)), rng.integers(0, 2, 8)
    w1, b1 = rng.standard_normal((5, 3)), rng.standard_normal(5)
    w2, b2 = rng.standard_normal((2, 5)), rng.standard_normal(2)
    lam = 0.5

    ours = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).to(np.float64)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(),
                                 torch.nn.Linear(5, 2)).double()
    for p, q, v in zip(ours.parameters(), theirs.parameters(), (w1, b1, w2, b2)):
        p.data[...] = v
        with torch.no_grad():
            q.copy_(torch.tensor(v))
    opt = tl.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        xs, txs = t64(x, True), tt(x, True)
        ce, tce = F.cross_entropy(ours(xs), y), TF.cross_entropy(theirs(txs), torch.tensor(y))
        (gx,) = tl.autograd.grad(ce, xs, create_graph=True)
        (tgx,) = torch.autograd.grad(tce, txs, create_graph=True)
        loss, tloss = ce + lam * (gx * gx).sum(), tce + lam * (tgx * tgx).sum()
        np.testing.assert_allclose(loss.item(), tloss.item(), **TOL)
        opt.zero_grad()
        topt.zero_grad()
        loss.backward()
        tloss.backward()
        for p, q in zip(ours.parameters(), theirs.parameters()):
            np.testing.assert_allclose(p.grad, q.grad.numpy(), **TOL)
        opt.step()
        topt.step()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.data, q.detach().numpy(), **TOL)


# ---- memory: 500 create_graph training steps --------------------------------------------------
def _live(kind) -> int:
    return sum(1 for o in gc.get_objects() if issubclass(type(o), kind))  # type(): no __class__


def _flat_over_500_steps(step) -> tuple:
    """Run `step` 500 times with the cyclic GC off: anything a step leaves in a reference cycle
    would pile up. Returns (live Tensors, live Functions) after step 100 and after step 500."""
    counts = []
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for i in range(500):
            step()
            if i + 1 in (100, 500):
                counts.append((_live(tl.Tensor), _live(tl.Function)))
    finally:
        if enabled:
            gc.enable()
    return counts


def test_gradient_penalty_loop_keeps_memory_flat():
    rng = np.random.default_rng(5)
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3)).to(np.float64)
    opt = tl.optim.SGD(model.parameters(), lr=0.01)
    x, y = rng.standard_normal((32, 4)), rng.integers(0, 3, 32)

    def step():
        xs = t64(x, True)
        ce = F.cross_entropy(model(xs), y)
        (gx,) = tl.autograd.grad(ce, xs, create_graph=True)
        loss = ce + 0.1 * (gx * gx).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()

    (t100, f100), (t500, f500) = _flat_over_500_steps(step)
    assert t500 <= t100 and f500 <= f100, ((t100, f100), (t500, f500))


def test_backward_create_graph_loop_keeps_memory_flat_when_grads_are_cleared():
    """backward(create_graph=True) makes each .grad a Tensor whose graph reaches the parameter
    itself (p -> p.grad -> graph -> p, a reference cycle, as in PyTorch). Clearing .grad after
    the update, as zero_grad() does, breaks it: nothing accumulates."""
    rng = np.random.default_rng(6)
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1)).to(np.float64)
    x, y = t64(rng.standard_normal((32, 4))), t64(rng.standard_normal((32, 1)))

    def step():
        loss = F.mse_loss(model(x), y)
        loss.backward(create_graph=True)
        grad_norm = sum((p.grad * p.grad).sum() for p in model.parameters())
        assert grad_norm.requires_grad  # the gradients carry their graph
        with tl.no_grad():
            for p in model.parameters():
                p -= 0.01 * p.grad  # (tl.optim's step needs array gradients)
        model.zero_grad()  # .grad = None: the cycle through each parameter is gone

    (t100, f100), (t500, f500) = _flat_over_500_steps(step)
    assert t500 <= t100 and f500 <= f100, ((t100, f100), (t500, f500))
    # without clearing, every step's graph stays reachable from the parameters
    model.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward(create_graph=True)
    assert model[0].weight.grad.grad_fn is not None
    model.zero_grad()


def test_optimizers_step_after_backward_create_graph():
    model = nn.Linear(3, 2).to(np.float64)
    opt = tl.optim.SGD(model.parameters(), lr=0.1)
    (model(t64(np.ones((4, 3)))) ** 2).sum().backward(create_graph=True)
    before = [p.data.copy() for p in model.parameters()]
    grads = [np.array(p.grad.data if isinstance(p.grad, tl.Tensor) else p.grad)
             for p in model.parameters()]
    assert all(np.any(g != 0) for g in grads)
    opt.step()
    for p, b, g in zip(model.parameters(), before, grads):
        np.testing.assert_allclose(p.data, b - 0.1 * g, **TOL)
        assert p.grad_fn is None and p.requires_grad  # still a leaf after the step
