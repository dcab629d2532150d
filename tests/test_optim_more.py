"""Adadelta, Adagrad, Adamax and NAdam against torch.optim: step by step in float64 with every
option, parameter groups, parameters without a gradient, state_dict layout and round trip,
and the argument errors."""

import copy

import numpy as np
import pytest
from test_optim_api import TOL, _assert_same, _params, _set_grads, _step_alike, _stepped_twins
from test_optim_api import _run_against_torch as _run
from test_optim_api import _torch_twins as _twins

import tinygrad_lite as tl
from tinygrad_lite import optim

CASES = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4)),
    ("Adadelta", dict(lr=0.5, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, eps=1e-6)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.3, weight_decay=0.2)),
    ("Adagrad", dict(lr=0.1, maximize=True, lr_decay=0.01)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-4)),
    ("Adamax", dict(lr=0.01, betas=(0.3, 0.9), weight_decay=0.1)),  # lerp's other branch
    ("Adamax", dict(lr=0.01, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=0.01, betas=(0.3, 0.9), maximize=True)),
]


@pytest.mark.parametrize("name, kwargs", CASES)
def test_matches_torch_step_by_step(name, kwargs):
    _run(name, kwargs)


@pytest.mark.parametrize(
    "name, kwargs, groups",
    [
        ("Adadelta", dict(lr=1.0), [dict(lr=0.3), dict(rho=0.5, weight_decay=0.1)]),
        ("Adagrad", dict(lr=0.1), [dict(lr_decay=0.1), dict(initial_accumulator_value=1.0)]),
        ("Adamax", dict(lr=0.01), [dict(betas=(0.5, 0.9)), dict(lr=0.05)]),
        ("NAdam", dict(lr=0.01), [dict(momentum_decay=0.1), dict(lr=0.002, weight_decay=0.3)]),
    ],
)
def test_param_groups_match_torch(name, kwargs, groups):
    opt, topt = _run(name, kwargs, groups)
    for ours, theirs in zip(opt.param_groups, topt.param_groups):
        for key in ours:
            if key != "params":
                assert ours[key] == theirs[key], key


def test_defaults_are_torchs():
    torch = pytest.importorskip("torch")
    p = tl.Tensor(np.zeros(2), requires_grad=True)
    t = torch.zeros(2, requires_grad=True)
    for name in ("Adadelta", "Adagrad", "Adamax", "NAdam"):
        ours = getattr(optim, name)([p]).defaults
        theirs = getattr(torch.optim, name)([t]).defaults
        assert set(ours) <= set(theirs)
        for key, value in ours.items():
            assert value == theirs[key], (name, key)


def test_scheduler_drives_the_new_optimizers():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    ours = _params(rng)
    theirs = _twins(torch, ours)
    opt, topt = optim.Adadelta(ours, lr=1.0), torch.optim.Adadelta(theirs, lr=1.0)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    tsched = torch.optim.lr_scheduler.StepLR(topt, step_size=1, gamma=0.7)
    for step in range(5):
        _set_grads(torch, rng, ours, theirs, step)
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        _assert_same(ours, theirs)
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-14)


STATE_KEYS = {
    "Adadelta": {"step", "square_avg", "acc_delta"},
    "Adagrad": {"step", "sum"},
    "Adamax": {"step", "exp_avg", "exp_inf"},
    "NAdam": {"step", "mu_product", "exp_avg", "exp_avg_sq"},
}


@pytest.mark.parametrize("name, kwargs", [c for c in CASES if c[1]])
def test_state_dict_loads_into_torch_and_back(name, kwargs):
    """Our state dict (arrays made tensors) loads into torch.optim, torch's (tensors made
    arrays) into ours, and all four continue alike."""
    torch, rng, ours, theirs, opt, topt = _stepped_twins(name, kwargs)
    ours_sd, theirs_sd = opt.state_dict(), topt.state_dict()
    assert ours_sd["state"].keys() == theirs_sd["state"].keys()
    for i in ours_sd["state"]:
        assert set(ours_sd["state"][i]) == set(theirs_sd["state"][i]) == STATE_KEYS[name]
    assert [g["params"] for g in ours_sd["param_groups"]] == [[0, 1, 2, 3]]

    def to_torch(value, key):
        if key in ("step", "mu_product"):
            return torch.tensor(float(value))
        return torch.tensor(value) if isinstance(value, np.ndarray) else value

    def from_torch(value, key):
        if key == "step":
            return int(value.item())
        if key == "mu_product":
            return float(value.item())
        return value.numpy().copy() if isinstance(value, torch.Tensor) else value

    to_theirs = {
        "state": {
            i: {k: to_torch(v, k) for k, v in s.items()} for i, s in ours_sd["state"].items()
        },
        "param_groups": theirs_sd["param_groups"],
    }
    to_ours = {
        "state": {
            i: {k: from_torch(v, k) for k, v in s.items()} for i, s in theirs_sd["state"].items()
        },
        "param_groups": copy.deepcopy(ours_sd["param_groups"]),
    }
    ours2 = [tl.Tensor(p.data.copy(), requires_grad=True) for p in ours]
    theirs2 = [torch.tensor(p.data.copy(), requires_grad=True) for p in ours]
    opt2 = getattr(optim, name)(ours2, **kwargs)
    topt2 = getattr(torch.optim, name)(theirs2, **kwargs)
    opt2.load_state_dict(to_ours)
    topt2.load_state_dict(to_theirs)
    for _ in range(4):
        g = [rng.standard_normal(p.shape) for p in ours]
        for ps in (ours, ours2):
            for p, gi in zip(ps, g):
                p.grad = gi.copy()
        for ps in (theirs, theirs2):
            for p, gi in zip(ps, g):
                p.grad = torch.tensor(gi.copy())
        for o in (opt, opt2, topt, topt2):
            o.step()
        _assert_same(ours, theirs)
        _assert_same(ours, ours2)
        # torch's load_state_dict casts NAdam's float32 mu_product to the parameter's dtype
        # (float64 here), so the torch copy that loaded a state goes on in float64
        tol = dict(rtol=1e-9, atol=1e-12) if name == "NAdam" else TOL
        for p, t in zip(ours2, theirs2):
            np.testing.assert_allclose(p.data, t.detach().numpy(), **tol)


@pytest.mark.parametrize("name", ["Adadelta", "Adagrad", "Adamax", "NAdam"])
def test_state_dict_round_trip_continues_identically(name):
    rng = np.random.default_rng(1)
    ours = _params(rng)
    opt = getattr(optim, name)([{"params": ours[:2]}, {"params": ours[2:], "lr": 0.002}])
    g = [[rng.standard_normal(p.shape) for p in ours] for _ in range(8)]
    for step in range(4):
        for p, gi in zip(ours, g[step]):
            p.grad = gi.copy()
        opt.step()
    state = opt.state_dict()
    frozen = copy.deepcopy(state)
    clones = [tl.Tensor(p.data.copy(), requires_grad=True) for p in ours]
    opt2 = getattr(optim, name)([{"params": clones[:2]}, {"params": clones[2:]}])
    opt2.load_state_dict(state)
    assert [gr["lr"] for gr in opt2.param_groups] == [gr["lr"] for gr in opt.param_groups]
    _step_alike(opt, opt2, ours, clones, g[4:8])
    for i, s in state["state"].items():  # stepping did not change the saved copy
        for key, value in s.items():
            np.testing.assert_array_equal(value, frozen["state"][i][key])


def test_adagrad_state_is_made_by_the_constructor():
    p = tl.Tensor(np.ones(3), requires_grad=True)
    opt = optim.Adagrad([p], initial_accumulator_value=0.5)
    assert opt.state[p]["step"] == 0
    np.testing.assert_array_equal(opt.state[p]["sum"], np.full(3, 0.5))
    q = tl.Tensor(np.ones(2), requires_grad=True)
    opt.add_param_group({"params": [q], "initial_accumulator_value": 2.0})
    np.testing.assert_array_equal(opt.state[q]["sum"], np.full(2, 2.0))


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("Adadelta", dict(lr=-1.0)),
        ("Adadelta", dict(rho=1.5)),
        ("Adadelta", dict(eps=-1.0)),
        ("Adadelta", dict(weight_decay=-0.1)),
        ("Adagrad", dict(lr_decay=-0.1)),
        ("Adagrad", dict(initial_accumulator_value=-1.0)),
        ("Adagrad", dict(eps=-1.0)),
        ("Adamax", dict(betas=(1.0, 0.9))),
        ("Adamax", dict(betas=(0.9, -0.1))),
        ("NAdam", dict(momentum_decay=-1.0)),
        ("NAdam", dict(weight_decay=-1.0)),
    ],
)
def test_bad_arguments_raise_value_error_as_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError):
        getattr(optim, name)([tl.Tensor(np.zeros(2), requires_grad=True)], **kwargs)


@pytest.mark.parametrize("name", ["Adadelta", "Adagrad", "Adamax", "NAdam"])
def test_float32_parameters_stay_float32_and_train(name):
    rng = np.random.default_rng(0)
    w = tl.Tensor(rng.standard_normal((5, 1)).astype(np.float32), requires_grad=True)
    x = tl.Tensor(rng.standard_normal((20, 5)).astype(np.float32))
    y = x @ tl.Tensor(np.arange(5, dtype=np.float32).reshape(5, 1))
    lr = {"Adadelta": 1.0, "Adagrad": 0.5}.get(name, 0.1)
    opt = getattr(optim, name)([w], lr=lr)
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = ((x @ w - y) ** 2).mean()
        first = loss.item() if first is None else first
        loss.backward()
        opt.step()
    assert w.dtype == np.float32
    assert loss.item() < (0.99 if name == "Adadelta" else 0.5) * first
