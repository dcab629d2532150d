"""The optimizer API, against PyTorch's: parameter groups, every option of SGD / Adam / AdamW /
RMSprop, the schedulers of `tl.optim.lr_scheduler`, `zero_grad(set_to_none)`, `state_dict` /
`load_state_dict`, version bumps. Step-by-step agreement with torch.optim in float64 (when torch
is installed), and closed forms written out here for the rest."""

import copy
import math

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import optim
from tinygrad_lite.optim import lr_scheduler

SHAPES = ((3, 2), (2,), (4,), (1, 3))
TOL = dict(rtol=1e-12, atol=1e-12)


def _params(rng, shapes=SHAPES):
    return [tl.Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


def _torch_twins(torch, params):
    return [torch.tensor(p.data.copy(), requires_grad=True) for p in params]


def _as_groups(params, group_options):
    """None: a plain list; else one group per options dict, splitting the params in order."""
    if group_options is None:
        return list(params)
    groups, start = [], 0
    sizes = [len(params) // len(group_options)] * len(group_options)
    sizes[-1] += len(params) - sum(sizes)
    for options, n in zip(group_options, sizes):
        groups.append({"params": list(params[start : start + n]), **options})
        start += n
    return groups


def _set_grads(torch, rng, ours, theirs, step, skip=True):
    """Random gradients; parameter 1 gets none on step 0 and parameter 2 none on step 3
    (a parameter without a gradient is skipped, and Adam's step count is per parameter)."""
    for i, (p, t) in enumerate(zip(ours, theirs)):
        if skip and (i, step) in ((1, 0), (2, 3)):
            p.grad, t.grad = None, None
        else:
            g = rng.standard_normal(p.shape)
            p.grad, t.grad = g.copy(), torch.tensor(g.copy())


def _assert_same(ours, theirs):
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), **TOL)


def _run_against_torch(name, kwargs, group_options=None, schedule=None, steps=10, seed=0):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    ours = _params(rng)
    theirs = _torch_twins(torch, ours)
    opt = getattr(optim, name)(_as_groups(ours, group_options), **kwargs)
    topt = getattr(torch.optim, name)(_as_groups(theirs, group_options), **kwargs)
    sched = tsched = None
    if schedule is not None:
        sched_name, sched_kwargs = schedule
        sched = getattr(lr_scheduler, sched_name)(opt, **sched_kwargs)
        tsched = getattr(torch.optim.lr_scheduler, sched_name)(topt, **sched_kwargs)
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-13)
    for step in range(steps):
        _set_grads(torch, rng, ours, theirs, step)
        opt.step()
        topt.step()
        _assert_same(ours, theirs)
        if sched is not None:
            sched.step()
            tsched.step()
            assert len(sched.get_last_lr()) == len(topt.param_groups)
            np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-13)
            lrs = [g["lr"] for g in opt.param_groups]
            np.testing.assert_allclose(lrs, [g["lr"] for g in topt.param_groups], rtol=1e-13)
    return opt, topt


# ---- every optimizer and option against torch ---------------------------------------------
OPTIMIZER_CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.7, weight_decay=0.05, nesterov=True, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.7, dampening=0.5, weight_decay=0.05, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9))),  # lerp's other branch (weight >= 0.5)
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True, weight_decay=0.2)),
    ("Adam", dict(lr=0.01, weight_decay=0.2, decoupled_weight_decay=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.02, weight_decay=0.3, amsgrad=True)),
    ("AdamW", dict(lr=0.02, weight_decay=0.3, maximize=True, betas=(0.5, 0.9))),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.005, alpha=0.9, eps=1e-6)),
    ("RMSprop", dict(lr=0.005, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.005, momentum=0.9)),
    ("RMSprop", dict(lr=0.005, centered=True)),
    ("RMSprop", dict(lr=0.005, alpha=0.3, centered=True)),  # lerp's other branch
    ("RMSprop", dict(lr=0.005, momentum=0.5, centered=True, weight_decay=0.1, maximize=True)),
]


@pytest.mark.parametrize("name, kwargs", OPTIMIZER_CASES)
def test_optimizer_matches_torch_step_by_step(name, kwargs):
    _run_against_torch(name, kwargs)


GROUP_CASES = [
    ("SGD", dict(lr=0.1, momentum=0.9), [dict(lr=0.01), dict(momentum=0.5, nesterov=True)]),
    ("Adam", dict(lr=0.01), [dict(lr=0.001, amsgrad=True), dict(betas=(0.5, 0.9))]),
    ("AdamW", dict(lr=0.01), [dict(weight_decay=0.5), dict(lr=0.03)]),
    ("RMSprop", dict(lr=0.01), [dict(centered=True), dict(lr=0.002, momentum=0.9)]),
]


@pytest.mark.parametrize("name, kwargs, groups", GROUP_CASES)
def test_param_groups_with_their_own_options_match_torch(name, kwargs, groups):
    opt, topt = _run_against_torch(name, kwargs, groups)
    for ours, theirs in zip(opt.param_groups, topt.param_groups):
        for key, value in ours.items():
            if key != "params":
                assert value == theirs[key], key


SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 8], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.8)),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=1e-4)),  # 10 steps: down, up, down again
    ("LambdaLR", dict(lr_lambda=lambda epoch: 1 / (1 + epoch))),
    ("LinearLR", dict(start_factor=0.25, end_factor=0.9, total_iters=6)),
]


@pytest.mark.parametrize("schedule", SCHEDULES, ids=[s[0] for s in SCHEDULES])
@pytest.mark.parametrize("name, kwargs, groups", GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
def test_schedules_on_param_groups_match_torch(name, kwargs, groups, schedule):
    _run_against_torch(name, kwargs, groups, schedule)


def test_lambda_lr_with_one_function_per_group_matches_torch():
    schedule = ("LambdaLR", dict(lr_lambda=[lambda e: 0.9**e, lambda e: 1.0 + e]))
    _run_against_torch("SGD", dict(lr=0.1), [dict(), dict(lr=0.01)], schedule)


def test_two_schedulers_chain_as_in_torch():
    """The chainable form: each scheduler works from the groups' current lrs."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    ours = _params(rng)
    theirs = _torch_twins(torch, ours)
    opt, topt = optim.SGD(ours, lr=0.1), torch.optim.SGD(theirs, lr=0.1)
    mine = [lr_scheduler.ExponentialLR(opt, 0.9), lr_scheduler.StepLR(opt, 3, 0.5)]
    ref = [torch.optim.lr_scheduler.ExponentialLR(topt, 0.9),
           torch.optim.lr_scheduler.StepLR(topt, 3, 0.5)]
    for step in range(8):
        _set_grads(torch, rng, ours, theirs, step)
        opt.step()
        topt.step()
        for s, t in zip(mine, ref):
            s.step()
            t.step()
        assert math.isclose(opt.lr, topt.param_groups[0]["lr"], rel_tol=1e-13)
    _assert_same(ours, theirs)


def test_add_param_group_mid_training_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    ours = _params(rng)
    theirs = _torch_twins(torch, ours)
    opt = optim.Adam(ours[:2], lr=0.01)
    topt = torch.optim.Adam(theirs[:2], lr=0.01)
    for step in range(6):
        if step == 3:
            opt.add_param_group({"params": ours[2:], "lr": 0.05, "amsgrad": True})
            topt.add_param_group({"params": theirs[2:], "lr": 0.05, "amsgrad": True})
        _set_grads(torch, rng, ours, theirs, step, skip=False)
        opt.step()
        topt.step()
        _assert_same(ours, theirs)
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)  # the defaults fill the new group


# ---- closed forms (no torch) --------------------------------------------------------------
def _quadratic(steps, make_opt, seed=0):
    """Minimise sum((p - target)^2) from a fixed start; returns (p0, target, final p)."""
    rng = np.random.default_rng(seed)
    p0, target = rng.standard_normal(5), rng.standard_normal(5)
    p = tl.Tensor(p0.copy(), requires_grad=True)
    opt = make_opt([p])
    for _ in range(steps):
        opt.zero_grad()
        ((p - target) ** 2).sum().backward()
        opt.step()
    return p0, target, p.data


def test_sgd_nesterov_closed_form():
    lr, mu, wd = 0.05, 0.9, 0.01
    p, target, got = _quadratic(8, lambda ps: optim.SGD(ps, lr, mu, weight_decay=wd, nesterov=True))
    buf = None
    for _ in range(8):
        g = 2 * (p - target) + wd * p
        buf = g.copy() if buf is None else mu * buf + g
        p = p - lr * (g + mu * buf)
    np.testing.assert_allclose(got, p, rtol=1e-12)


def test_sgd_dampening_and_maximize_closed_form():
    lr, mu, damp = 0.05, 0.8, 0.25
    p, target, got = _quadratic(6, lambda ps: optim.SGD(ps, lr, mu, dampening=damp, maximize=True))
    buf = None
    for _ in range(6):
        g = -2 * (p - target)  # maximize: ascend
        buf = g.copy() if buf is None else mu * buf + (1 - damp) * g  # no dampening at first
        p = p - lr * buf
    np.testing.assert_allclose(got, p, rtol=1e-12)


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_rmsprop_closed_form(centered, momentum):
    lr, alpha, eps, wd = 0.01, 0.9, 1e-8, 0.1
    p, target, got = _quadratic(
        7,
        lambda ps: optim.RMSprop(ps, lr, alpha, eps, wd, momentum=momentum, centered=centered),
    )
    sq, ga, buf = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for _ in range(7):
        g = 2 * (p - target) + wd * p
        sq = alpha * sq + (1 - alpha) * g * g
        ga = alpha * ga + (1 - alpha) * g
        avg = np.sqrt(sq - ga * ga if centered else sq) + eps
        if momentum:
            buf = momentum * buf + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
    np.testing.assert_allclose(got, p, rtol=1e-12)


def test_adam_amsgrad_closed_form():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    p, target, got = _quadratic(6, lambda ps: optim.Adam(ps, lr, amsgrad=True))
    m = v = vmax = np.zeros_like(p)
    for t in range(1, 7):
        g = 2 * (p - target)
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        p = p - lr / (1 - b1**t) * m / (np.sqrt(vmax / (1 - b2**t)) + eps)
    np.testing.assert_allclose(got, p, rtol=1e-10)


def test_schedules_closed_forms_and_epoch_argument():
    p = tl.Tensor(np.zeros(1), requires_grad=True)
    opt = optim.SGD([{"params": [p], "lr": 0.2}], lr=1.0)
    sched = lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=4)
    assert opt.lr == 0.1 and opt.param_groups[0]["initial_lr"] == 0.2  # step 0 taken at once
    for epoch in range(1, 7):
        sched.step()
        assert math.isclose(opt.lr, 0.2 * (0.5 + 0.5 * min(epoch, 4) / 4), rel_tol=1e-13)
    sched = lr_scheduler.MultiStepLR(opt, milestones=[2, 4], gamma=0.1)
    assert sched.base_lrs == [0.2]  # from the group's initial lr, not its current one
    sched.step(5)  # an explicit epoch: the closed form
    assert math.isclose(opt.lr, 0.2 * 0.01, rel_tol=1e-13) and sched.last_epoch == 5
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    sched.step(3)
    assert math.isclose(opt.lr, 0.2 * 0.125, rel_tol=1e-13)
    assert sched.get_last_lr() == [opt.lr]


def test_scheduler_errors_and_resume():
    p = tl.Tensor(np.zeros(1), requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(opt, 2, last_epoch=4)  # resuming needs the group's initial lr
    with pytest.raises(ValueError, match="Expected 1 lr_lambdas, but got 2"):
        lr_scheduler.LambdaLR(opt, [lambda e: 1.0, lambda e: 1.0])
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        lr_scheduler.LinearLR(opt, start_factor=0.0)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR("sgd", 2)
    assert optim.StepLR is lr_scheduler.StepLR  # both spellings


def test_scheduler_state_dict_round_trip():
    p = tl.Tensor(np.zeros(1), requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    for _ in range(3):
        sched.step()
    state = sched.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 3
    opt2 = optim.SGD([tl.Tensor(np.zeros(1), requires_grad=True)], lr=1.0)
    sched2 = lr_scheduler.CosineAnnealingLR(opt2, T_max=10)
    sched2.load_state_dict(state)
    opt2.lr = opt.lr
    for _ in range(4):
        sched.step()
        sched2.step()
        assert sched.get_last_lr() == sched2.get_last_lr()


# ---- parameter groups -------------------------------------------------------------------
def test_duplicate_parameters_raise():
    p, q = (tl.Tensor(np.zeros(2), requires_grad=True) for _ in range(2))
    message = "some parameters appear in more than one parameter group"
    with pytest.raises(ValueError, match=message):
        optim.SGD([p, q, p], lr=0.1)
    with pytest.raises(ValueError, match=message):
        optim.Adam([{"params": [p]}, {"params": [q, p]}])
    opt = optim.RMSprop([p])
    with pytest.raises(ValueError, match=message):
        opt.add_param_group({"params": p})
    assert len(opt.param_groups) == 1
    # identity, not equality: equal values are different parameters
    twin = tl.Tensor(np.zeros(2), requires_grad=True)
    assert len(optim.SGD([p, twin], lr=0.1).param_groups[0]["params"]) == 2


def test_param_groups_defaults_and_lr_property():
    a, b = (tl.Tensor(np.ones(2), requires_grad=True) for _ in range(2))
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[0]["momentum"] == 0 and opt.param_groups[1]["momentum"] == 0.9
    assert len(opt.param_groups[1]["params"]) == 1 and opt.param_groups[1]["params"][0] is b
    with pytest.raises(ValueError, match="different learning rates"):
        opt.lr  # noqa: B018
    opt.lr = 0.3  # the convenience setter: every group
    assert opt.lr == 0.3 and all(g["lr"] == 0.3 for g in opt.param_groups)


def test_bad_arguments():
    p = tl.Tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero damp"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero damp"):
        optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid momentum value: -1"):
        optim.SGD([p], lr=0.1, momentum=-1)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid alpha value: -0.5"):
        optim.RMSprop([p], alpha=-0.5)
    with pytest.raises(ValueError, match="learning rate must be >= 0, got -1"):
        optim.RMSprop([p], lr=-1)
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.RMSprop([])


# ---- zero_grad, closure, versions ---------------------------------------------------------
def test_zero_grad_set_to_none_or_in_place():
    p, q = (tl.Tensor(np.ones(3), requires_grad=True) for _ in range(2))
    opt = optim.SGD([p, q], lr=0.1)
    p.grad = np.full(3, 2.0)
    kept = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is kept and not p.grad.data.any() and q.grad is None
    opt.zero_grad()  # default: set_to_none=True
    assert p.grad is None and q.grad is None


def test_step_with_closure_returns_the_loss():
    p = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with tl.no_grad():  # the closure runs with gradients on, as in PyTorch
        loss = opt.step(closure)
    assert loss.item() == 5.0
    np.testing.assert_allclose(p.data, [0.8, 1.6], rtol=1e-15)


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
        lambda ps: optim.Adam(ps),
        lambda ps: optim.AdamW(ps),
        lambda ps: optim.RMSprop(ps, centered=True),
    ],
)
def test_step_bumps_the_version_of_each_updated_parameter(make_opt):
    w = tl.Tensor(np.ones(3), requires_grad=True)
    idle = tl.Tensor(np.ones(3), requires_grad=True)
    opt = make_opt([w, idle])
    x = tl.Tensor(np.array([1.0, 2.0, 3.0]))
    y = (w**2 * x).sum()  # the graph saved w's data as it was (Pow's input)
    w.grad = np.ones(3)
    before, idle_before = w._version, idle._version
    opt.step()
    assert w._version == before + 1 and idle._version == idle_before  # no grad: not updated
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()  # PyTorch refuses too: the saved weights changed


# ---- state_dict ------------------------------------------------------------------------------
STATE_CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
]


def _plain(value):
    """Only numpy arrays and Python values in a state dict (no Tensors)."""
    if isinstance(value, dict):
        return all(_plain(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return isinstance(value, (np.ndarray, int, float, bool, str, type(None)))


@pytest.mark.parametrize("name, kwargs", STATE_CASES)
def test_state_dict_round_trip_continues_identically(name, kwargs):
    rng = np.random.default_rng(5)
    ours = _params(rng)
    groups = [{"params": ours[:2]}, {"params": ours[2:], "lr": 0.002}]
    opt = getattr(optim, name)(groups, **kwargs)
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    grads = [[rng.standard_normal(p.shape) for p in ours] for _ in range(10)]
    for step in range(5):
        for p, g in zip(ours, grads[step]):
            p.grad = None if (step == 0 and p is ours[1]) else g.copy()
        opt.step()
        sched.step()
    state = opt.state_dict()
    assert _plain(state)
    assert sorted(state["state"]) == [0, 1, 2, 3]
    assert [g["params"] for g in state["param_groups"]] == [[0, 1], [2, 3]]
    assert state["param_groups"][1]["initial_lr"] == 0.002
    frozen = copy.deepcopy(state)

    clones = [tl.Tensor(p.data.copy(), requires_grad=True) for p in ours]
    opt2 = getattr(optim, name)([{"params": clones[:2]}, {"params": clones[2:]}], **kwargs)
    opt2.load_state_dict(state)
    assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt.param_groups]
    _step_alike(opt, opt2, ours, clones, grads[5:10])
    # the saved dict is a copy: stepping did not change it, and loading did not alias it
    for i, s in state["state"].items():
        for key, value in s.items():
            np.testing.assert_array_equal(value, frozen["state"][i][key])


def test_state_dict_mismatches_raise():
    a, b = (tl.Tensor(np.zeros(2), requires_grad=True) for _ in range(2))
    state = optim.Adam([a, b]).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.Adam([{"params": [a]}, {"params": [b]}]).load_state_dict(state)
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.Adam([a]).load_state_dict(state)


def _step_alike(opt, opt2, ours, clones, grads):
    """Step two optimizers on the same gradients (one list per step); their parameters stay
    bit-identical."""
    for g in grads:
        for ps in (ours, clones):
            for p, gi in zip(ps, g):
                p.grad = gi.copy()
        opt.step()
        opt2.step()
        for p, c in zip(ours, clones):
            np.testing.assert_array_equal(p.data, c.data)


def _stepped_twins(name, kwargs, steps=4):
    """(torch, rng, ours, theirs, opt, topt): optimizer `name` here and in torch on twin
    parameters, after `steps` steps with the same gradients."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    ours = _params(rng)
    theirs = _torch_twins(torch, ours)
    opt = getattr(optim, name)(ours, **kwargs)
    topt = getattr(torch.optim, name)(theirs, **kwargs)
    for step in range(steps):
        _set_grads(torch, rng, ours, theirs, step)
        opt.step()
        topt.step()
    return torch, rng, ours, theirs, opt, topt


@pytest.mark.parametrize("name, kwargs", STATE_CASES)
def test_state_dict_has_torchs_layout(name, kwargs):
    """Our state dict, its arrays made tensors, loads into torch.optim, and both continue
    alike (and torch's state has the same keys)."""
    torch, rng, ours, _, opt, topt = _stepped_twins(name, kwargs)
    ours_sd, theirs_sd = opt.state_dict(), topt.state_dict()
    assert ours_sd["state"].keys() == theirs_sd["state"].keys()
    for i in ours_sd["state"]:
        assert ours_sd["state"][i].keys() == theirs_sd["state"][i].keys()
    assert set(ours_sd["param_groups"][0]) <= set(theirs_sd["param_groups"][0])

    def to_torch(value, key):
        if key == "step":
            return torch.tensor(float(value))
        return torch.tensor(value) if isinstance(value, np.ndarray) else value

    converted = {
        "state": {
            i: {k: to_torch(v, k) for k, v in s.items()} for i, s in ours_sd["state"].items()
        },
        "param_groups": theirs_sd["param_groups"],
    }
    fresh = [torch.tensor(p.data.copy(), requires_grad=True) for p in ours]
    topt2 = getattr(torch.optim, name)(fresh, **kwargs)
    topt2.load_state_dict(converted)
    for step in range(4, 8):
        _set_grads(torch, rng, ours, fresh, step)
        opt.step()
        topt2.step()
        _assert_same(ours, fresh)


# ---- moments that decay to zero skip the denormal range ------------------------------------
def _decay_after_one_gradient(make_opt, dtype, steps, moment):
    """One step with gradient 1e-3 (NaN in the last entry), then `steps` with gradient 0: the
    moment decays geometrically. Returns (params after each step, the moment after each)."""
    p = tl.Tensor(np.full(4, 0.5, dtype=dtype), requires_grad=True)
    opt = make_opt([p])
    params, moments = [], []
    for step in range(steps + 1):
        p.grad = np.array([1e-3, -1e-3, 2e-3, np.nan] if step == 0 else [0, 0, 0, 0], dtype)
        opt.step()
        params.append(p.data.copy())
        moments.append(opt.state[p][moment].copy())
    return params, moments


@pytest.mark.parametrize("name, moment, make_opt", [
    ("Adam", "exp_avg", lambda ps: optim.Adam(ps, lr=1e-3)),
    ("SGD", "momentum_buffer", lambda ps: optim.SGD(ps, lr=1e-3, momentum=0.9)),
    ("RMSprop", "momentum_buffer", lambda ps: optim.RMSprop(ps, lr=1e-3, momentum=0.9)),
])
def test_decaying_moments_are_flushed_to_zero_not_denormal(name, moment, make_opt):
    """m *= 0.9 with no gradient takes ~800 steps from 1e-3 to the float32 denormal range,
    where arithmetic is ~10x slower: the optimizer sets such entries to 0. NaN stays NaN, and
    the parameters are those of the unflushed update (the flushed part is below float32's
    resolution of them)."""
    tiny = np.finfo(np.float32).tiny
    params, moments = _decay_after_one_gradient(make_opt, np.float32, 1000, moment)
    for m in moments:
        finite = np.abs(m[:3])
        assert not ((finite > 0) & (finite < tiny)).any(), f"{name}: a denormal {moment}: {m}"
        assert np.isnan(m[3])
    assert (moments[-1][:3] == 0).all()  # decayed through, as 0.9^1000 * 1e-3 would
    assert (np.abs(moments[700][:3]) >= tiny).all()  # 0.9^700 of its first value: still normal

    # the same run in float64 (no flush in this range): the float32 parameters equal it rounded
    ref, _ = _decay_after_one_gradient(make_opt, np.float64, 1000, moment)
    for got, want in zip(params[::50], ref[::50]):
        np.testing.assert_allclose(got[:3], want[:3], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flush_denormals_zeroes_only_denormal_entries(dtype):
    from tinygrad_lite.optim.optimizer import flush_denormals_

    tiny = np.finfo(dtype).tiny
    a = np.array([tiny / 2, -tiny / 1000, tiny, -tiny, 1.0, np.nan, -np.inf, 0.0], dtype)
    flush_denormals_(a, np.empty_like(a))
    np.testing.assert_array_equal(a, np.array([0, 0, tiny, -tiny, 1, np.nan, -np.inf, 0], dtype))
    half = np.array([3e-5, -1e-7, 1.0], np.float16)  # float16 denormals: numpy computes them
    flush_denormals_(half, np.empty_like(half))  # in float32, at full speed, so they stay
    np.testing.assert_array_equal(half, np.array([3e-5, -1e-7, 1.0], np.float16))
