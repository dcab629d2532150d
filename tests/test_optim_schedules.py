"""Optimizers and learning-rate schedules against PyTorch's rules: closed forms written out
here, and (if torch is installed) step-by-step agreement with torch.optim."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import nn, optim

FAST = settings(max_examples=25, deadline=None)


def _param(value=0.0):
    return tl.Tensor(np.array([value]), requires_grad=True)


# ---- schedules: closed forms --------------------------------------------------------------------
@FAST
@given(st.integers(1, 5), st.floats(0.05, 0.9), st.floats(1e-4, 1.0))
def test_step_lr_closed_form(step_size, gamma, lr):
    opt = optim.SGD([_param()], lr=lr)
    sched = optim.StepLR(opt, step_size=step_size, gamma=gamma)
    assert opt.lr == lr
    for epoch in range(1, 12):
        sched.step()
        assert math.isclose(opt.lr, lr * gamma ** (epoch // step_size), rel_tol=1e-12)
        assert sched.get_last_lr() == [opt.lr]  # one lr per parameter group, as PyTorch


@FAST
@given(st.integers(1, 10), st.floats(1e-4, 1.0), st.floats(0.0, 1e-4))
def test_cosine_annealing_closed_form_and_end_points(t_max, lr, eta_min):
    opt = optim.Adam([_param()], lr=lr)
    sched = optim.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min)
    lrs = [opt.lr]
    for _ in range(t_max):
        sched.step()
        lrs.append(opt.lr)
    expected = [
        eta_min + (lr - eta_min) * (1 + math.cos(math.pi * e / t_max)) / 2 for e in range(t_max + 1)
    ]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    assert math.isclose(lrs[-1], eta_min, abs_tol=1e-15)
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))  # non-increasing up to T_max


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
        lambda ps: optim.Adam(ps, lr=0.1),
        lambda ps: optim.AdamW(ps, lr=0.1, weight_decay=0.5),
    ],
)
def test_schedule_drives_the_step_size_of_any_optimizer(make_opt):
    """After StepLR(gamma=0) sets lr to 0, a step leaves the parameter unchanged."""
    p = _param(1.0)
    opt = make_opt([p])
    sched = optim.StepLR(opt, step_size=1, gamma=0.0)
    p.grad = np.array([1.0])
    opt.step()
    moved = p.data.copy()
    assert moved[0] != 1.0
    sched.step()
    assert opt.lr == 0.0
    opt.step()
    np.testing.assert_array_equal(p.data, moved)


def test_adamw_decay_is_decoupled_from_the_gradient():
    """With zero gradient, Adam's L2 term moves p through the adaptive step (by ~lr), while
    AdamW only shrinks p by the factor (1 - lr * weight_decay)."""
    a, b = _param(2.0), _param(2.0)
    adam, adamw = optim.Adam([a], lr=0.01, weight_decay=0.1), optim.AdamW([b], lr=0.01,
                                                                          weight_decay=0.1)
    for opt, p in ((adam, a), (adamw, b)):
        p.grad = np.array([0.0])
        opt.step()
    np.testing.assert_allclose(b.data, 2.0 * (1 - 0.01 * 0.1), rtol=1e-12)
    np.testing.assert_allclose(a.data, 2.0 - 0.01, rtol=1e-6)  # m/sqrt(v) = 1 on step 1
    assert optim.AdamW([_param()]).defaults["weight_decay"] == 1e-2  # PyTorch's default


def test_optimizers_skip_parameters_without_grad():
    p, q = _param(1.0), _param(1.0)
    for opt in (optim.SGD([p, q], lr=0.1, momentum=0.9), optim.Adam([p, q]), optim.AdamW([p, q])):
        p.grad, q.grad = np.array([1.0]), None
        opt.step()
        assert q.data[0] == 1.0  # even AdamW's decay only touches parameters with a gradient


# ---- PyTorch cross-checks (optional) -----------------------------------------------------------
def _torch_pair(torch, rng, shapes=((3, 2), (2,))):
    arrays = [rng.standard_normal(s) for s in shapes]
    ours = [tl.Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    return ours, theirs


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.02, weight_decay=0.3)),
]


@pytest.mark.parametrize("name, kwargs", CASES)
@pytest.mark.parametrize("schedule", ["none", "step", "cosine"])
def test_optimizer_and_schedule_match_torch(name, kwargs, schedule):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ours, theirs = _torch_pair(torch, rng)
    opt, topt = getattr(optim, name)(ours, **kwargs), getattr(torch.optim, name)(theirs, **kwargs)
    if schedule == "step":
        sched, tsched = optim.StepLR(opt, 2, 0.5), torch.optim.lr_scheduler.StepLR(topt, 2, 0.5)
    elif schedule == "cosine":
        sched = optim.CosineAnnealingLR(opt, T_max=6, eta_min=1e-3)
        tsched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=6, eta_min=1e-3)
    for _ in range(6):  # epochs, within T_max
        for _ in range(3):  # batches: random gradients
            grads = [rng.standard_normal(p.shape) for p in ours]
            for p, t, g in zip(ours, theirs, grads):
                p.grad, t.grad = g.copy(), torch.tensor(g.copy())
            opt.step()
            topt.step()
        if schedule != "none":
            sched.step()
            tsched.step()
            assert math.isclose(opt.lr, tsched.get_last_lr()[0], rel_tol=1e-12)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_adam_matches_torch_when_a_parameter_starts_late():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    ours, theirs = _torch_pair(torch, rng)
    opt, topt = optim.Adam(ours, lr=0.1), torch.optim.Adam(theirs, lr=0.1)
    for step in range(3):
        for i, (p, t) in enumerate(zip(ours, theirs)):
            g = rng.standard_normal(p.shape)
            late = i == 1 and step == 0  # the second parameter gets no gradient on step 1
            p.grad, t.grad = (None, None) if late else (g.copy(), torch.tensor(g.copy()))
        opt.step()
        topt.step()
    np.testing.assert_allclose(ours[1].data, theirs[1].detach().numpy(), rtol=1e-10)


def test_adamw_with_cosine_trains_a_small_cnn():
    """The new layers, AdamW and a schedule together: a tiny CNN fits a separable toy task."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 6, 6)).astype(np.float32)
    y = (x[:, 0, :3].sum(axis=(1, 2)) > x[:, 0, 3:].sum(axis=(1, 2))).astype(np.int64)
    tl.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Dropout(0.1), nn.Flatten(), nn.Linear(36, 2),
    )
    opt = optim.AdamW(model.parameters(), lr=0.05)
    sched = optim.CosineAnnealingLR(opt, T_max=40)
    for _ in range(40):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(tl.Tensor(x)), y)
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    with tl.no_grad():
        acc = (model(tl.Tensor(x)).data.argmax(1) == y).mean()
    assert acc > 0.9
