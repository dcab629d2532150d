"""OneCycleLR, ReduceLROnPlateau, SequentialLR, ChainedScheduler, CyclicLR and PolynomialLR
against torch.optim.lr_scheduler: the lr of every group (and the momentum, SGD's or Adam's beta1,
where the schedule cycles it) over many steps, state_dict contents and round trips (also
loading torch's own state_dict), and the same exception types for bad arguments."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import optim
from tinygrad_lite.optim import lr_scheduler

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Detected call of")
tsched = torch.optim.lr_scheduler

FAST = settings(max_examples=20, deadline=None)
NEW = ["ChainedScheduler", "CyclicLR", "OneCycleLR", "PolynomialLR", "ReduceLROnPlateau",
       "SequentialLR"]


def _pair(opt_name: str, group_options=({},), **kwargs):
    """The same optimizer here and in torch over one parameter per group."""
    ours = [tl.Tensor(np.zeros(2), requires_grad=True) for _ in group_options]
    theirs = [torch.zeros(2, dtype=torch.float64, requires_grad=True) for _ in group_options]
    mine = getattr(optim, opt_name)([{"params": [p], **o} for p, o in zip(ours, group_options)],
                                    **kwargs)
    ref = getattr(torch.optim, opt_name)(
        [{"params": [p], **o} for p, o in zip(theirs, group_options)], **kwargs)
    return mine, ref


def _momenta(opt) -> list:
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def _assert_same(opt, topt, sched, ref, where=""):
    lrs, tlrs = [g["lr"] for g in opt.param_groups], [g["lr"] for g in topt.param_groups]
    np.testing.assert_allclose(lrs, tlrs, rtol=1e-12, atol=1e-15, err_msg=f"lr {where}")
    np.testing.assert_allclose(sched.get_last_lr(), ref.get_last_lr(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(_momenta(opt), _momenta(topt), rtol=1e-12, atol=1e-15,
                               err_msg=f"momentum {where}")
    if "betas" in opt.param_groups[0]:
        assert [g["betas"][1] for g in opt.param_groups] == \
               [g["betas"][1] for g in topt.param_groups]


def _run(opt, topt, make, steps: int, metrics=None):
    """Construct with make(optimizer, module) and step both `steps` times, comparing."""
    sched, ref = make(opt, lr_scheduler), make(topt, tsched)
    _assert_same(opt, topt, sched, ref, "at construction")
    for i in range(steps):
        if metrics is None:
            sched.step()
            ref.step()
        else:
            sched.step(metrics[i])
            ref.step(metrics[i])
        _assert_same(opt, topt, sched, ref, f"after step {i + 1}")
    return sched, ref


GROUPS = ({}, {"lr": 0.03})


# ---- OneCycleLR ---------------------------------------------------------------------------------
@FAST
@given(
    total=st.integers(2, 60),
    pct=st.floats(0.05, 0.95),
    anneal=st.sampled_from(["cos", "linear"]),
    three=st.booleans(),
    div=st.floats(2.0, 50.0),
    final=st.floats(10.0, 1e4),
    opt_name=st.sampled_from(["SGD", "Adam", "AdamW"]),
)
def test_one_cycle_matches_torch(total, pct, anneal, three, div, final, opt_name):
    kwargs = dict(lr=0.1, momentum=0.9) if opt_name == "SGD" else dict(lr=0.1)
    opt, topt = _pair(opt_name, GROUPS, **kwargs)
    _run(opt, topt, lambda o, m: m.OneCycleLR(
        o, max_lr=[0.5, 0.2], total_steps=total, pct_start=pct, anneal_strategy=anneal,
        three_phase=three, div_factor=div, final_div_factor=final), total - 1)


def test_one_cycle_epochs_steps_and_without_momentum():
    for opt_name in ("SGD", "Adam", "RMSprop"):
        opt, topt = _pair(opt_name, lr=0.1)
        _run(opt, topt, lambda o, m: m.OneCycleLR(o, max_lr=1.0, epochs=3, steps_per_epoch=7,
                                                   cycle_momentum=False), 20)
    opt, topt = _pair("SGD", lr=0.1, momentum=0.5)
    _run(opt, topt, lambda o, m: m.OneCycleLR(o, 1.0, 30, base_momentum=[0.7],
                                               max_momentum=0.99), 29)


def test_one_cycle_past_total_steps_raises_as_torch():
    opt, topt = _pair("SGD", lr=0.1, momentum=0.9)
    sched, ref = _run(opt, topt, lambda o, m: m.OneCycleLR(o, 1.0, total_steps=5), 4)
    sched.step()  # step 5 of 5 is allowed (as torch), the next is not
    ref.step()
    with pytest.raises(ValueError, match="Tried to step 6 times"):
        sched.step()
    with pytest.raises(ValueError):
        ref.step()


# ---- CyclicLR -----------------------------------------------------------------------------------
@FAST
@given(
    up=st.integers(1, 8),
    down=st.one_of(st.none(), st.integers(1, 8)),
    mode=st.sampled_from(["triangular", "triangular2", "exp_range"]),
    gamma=st.floats(0.8, 1.0),
    opt_name=st.sampled_from(["SGD", "Adam"]),
    cycle_momentum=st.booleans(),
)
def test_cyclic_matches_torch(up, down, mode, gamma, opt_name, cycle_momentum):
    kwargs = dict(lr=0.1, momentum=0.9) if opt_name == "SGD" else dict(lr=0.1)
    opt, topt = _pair(opt_name, GROUPS, **kwargs)
    _run(opt, topt, lambda o, m: m.CyclicLR(
        o, base_lr=[0.01, 0.001], max_lr=0.1, step_size_up=up, step_size_down=down, mode=mode,
        gamma=gamma, cycle_momentum=cycle_momentum, base_momentum=[0.8, 0.7],
        max_momentum=0.95), 60)


def test_cyclic_custom_scale_fn_both_modes():
    for scale_mode in ("cycle", "iterations"):
        opt, topt = _pair("SGD", lr=0.1, momentum=0.9)
        _run(opt, topt, lambda o, m, mode=scale_mode: m.CyclicLR(
            o, 0.01, 0.2, step_size_up=3, scale_fn=lambda x: 1 / (1 + x), scale_mode=mode), 40)


def test_cyclic_drives_sgd_and_adam_like_torch():
    """Parameters after 25 optimizer steps under CyclicLR (momentum cycled) agree with torch."""
    rng = np.random.default_rng(0)
    for opt_name, kwargs in (("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.1))):
        opt, topt = _pair(opt_name, **kwargs)
        sched = lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=4)
        ref = tsched.CyclicLR(topt, 0.01, 0.1, step_size_up=4)
        p, t = opt.param_groups[0]["params"][0], topt.param_groups[0]["params"][0]
        for _ in range(25):
            g = rng.standard_normal(2)
            p.grad, t.grad = g.copy(), torch.tensor(g)
            opt.step()
            topt.step()
            sched.step()
            ref.step()
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-10, atol=1e-12)


# ---- PolynomialLR -------------------------------------------------------------------------------
@FAST
@given(total=st.integers(1, 12), power=st.floats(0.1, 3.0))
def test_polynomial_matches_torch_and_closed_form(total, power):
    opt, topt = _pair("SGD", GROUPS, lr=0.1)
    _run(opt, topt, lambda o, m: m.PolynomialLR(o, total_iters=total, power=power), total + 5)
    sched = lr_scheduler.PolynomialLR(optim.SGD([tl.Tensor(np.zeros(1))], lr=2.0), total, power)
    for epoch in (0, 1, total, total + 3):
        sched.step(epoch)
        expected = 2.0 * (1 - min(epoch, total) / total) ** power
        assert math.isclose(sched.get_last_lr()[0], expected, rel_tol=1e-12, abs_tol=1e-15)


# ---- ReduceLROnPlateau --------------------------------------------------------------------------
@FAST
@given(
    metrics=st.lists(st.floats(0.0, 2.0), min_size=5, max_size=60),
    mode=st.sampled_from(["min", "max"]),
    threshold_mode=st.sampled_from(["rel", "abs"]),
    threshold=st.floats(0.0, 0.2),
    patience=st.integers(0, 4),
    cooldown=st.integers(0, 3),
    factor=st.floats(0.1, 0.9),
    min_lr=st.sampled_from([0.0, 1e-3, [1e-2, 1e-4]]),
)
def test_plateau_matches_torch(metrics, mode, threshold_mode, threshold, patience, cooldown,
                               factor, min_lr):
    opt, topt = _pair("SGD", GROUPS, lr=0.1)
    sched, ref = _run(opt, topt, lambda o, m: m.ReduceLROnPlateau(
        o, mode=mode, factor=factor, patience=patience, threshold=threshold,
        threshold_mode=threshold_mode, cooldown=cooldown, min_lr=min_lr), len(metrics), metrics)
    assert (sched.best, sched.num_bad_epochs, sched.cooldown_counter, sched.last_epoch) == \
           (ref.best, ref.num_bad_epochs, ref.cooldown_counter, ref.last_epoch)


def test_plateau_reads_a_tensor_metric_and_reduces():
    opt = optim.SGD([tl.Tensor(np.zeros(1), requires_grad=True)], lr=1.0)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=1)
    for loss in (1.0, 1.0, 1.0):
        sched.step(tl.Tensor(np.array(loss)))
    assert sched.get_last_lr() == [0.1]  # two bad epochs > patience 1


# ---- SequentialLR and ChainedScheduler ----------------------------------------------------------
def _warmup_then_cosine(o, m):
    return m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=5),
                              m.CosineAnnealingLR(o, T_max=20, eta_min=1e-4),
                              m.ExponentialLR(o, gamma=0.9)], milestones=[5, 25])


def _chain(o, m):
    return m.ChainedScheduler([m.StepLR(o, 3, 0.5), m.ExponentialLR(o, 0.95),
                               m.PolynomialLR(o, total_iters=10, power=2.0)])


@pytest.mark.parametrize("make", [
    _warmup_then_cosine,
    _chain,
    lambda o, m: m.SequentialLR(o, [_chain(o, m), m.MultiStepLR(o, [2, 3])], [6]),
    lambda o, m: m.ChainedScheduler([m.PolynomialLR(o, 4), _warmup_then_cosine(o, m)], o),
], ids=["sequential", "chained", "sequential_of_chained", "chained_of_sequential"])
def test_composite_schedulers_match_torch(make):
    opt, topt = _pair("Adam", GROUPS, lr=0.1)
    _run(opt, topt, make, 40)


# ---- state_dict ---------------------------------------------------------------------------------
CONSTRUCT = {
    "OneCycleLR": lambda o, m: m.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=30),
    "CyclicLR": lambda o, m: m.CyclicLR(o, [0.01, 0.02], 0.1, step_size_up=4,
                                        mode="triangular2"),
    "PolynomialLR": lambda o, m: m.PolynomialLR(o, total_iters=8, power=0.5),
    "ReduceLROnPlateau": lambda o, m: m.ReduceLROnPlateau(o, patience=0, cooldown=1),
    "SequentialLR": _warmup_then_cosine,
    "ChainedScheduler": _chain,
}


def _step(sched, i):
    if isinstance(sched, (lr_scheduler.ReduceLROnPlateau, tsched.ReduceLROnPlateau)):
        sched.step([1.0, 0.9, 0.95, 0.99, 0.8, 0.81, 0.85, 0.9, 0.7][i % 9])
    else:
        sched.step()


@pytest.mark.parametrize("name", NEW)
def test_state_dict_as_torch_and_round_trip(name):
    make = CONSTRUCT[name]
    opt, topt = _pair("SGD", GROUPS, lr=0.1, momentum=0.9)
    sched, ref = make(opt, lr_scheduler), make(topt, tsched)
    for i in range(7):
        _step(sched, i)
        _step(ref, i)
    state, tstate = sched.state_dict(), ref.state_dict()
    assert state.keys() == tstate.keys()
    plain = {k: v for k, v in tstate.items() if k != "_schedulers"}
    assert {k: state[k] for k in plain} == plain
    if "_schedulers" in tstate:
        assert state["_schedulers"] == tstate["_schedulers"]
    # restored (from our state, and from torch's) into a fresh scheduler, ours continues as
    # torch's does
    for saved in (state, tstate):
        opt2, topt2 = _pair("SGD", GROUPS, lr=0.1, momentum=0.9)
        sched2, ref2 = make(opt2, lr_scheduler), make(topt2, tsched)
        sched2.load_state_dict(copy.deepcopy(saved))
        ref2.load_state_dict(copy.deepcopy(tstate))  # torch's CyclicLR pops a key from it
        for g, g2, tg2 in zip(opt.param_groups, opt2.param_groups, topt2.param_groups):
            hyper = {k: v for k, v in g.items() if k != "params"}
            g2.update(hyper)
            tg2.update(hyper)
        for i in range(7, 15):
            _step(sched2, i)
            _step(ref2, i)
            _assert_same(opt2, topt2, sched2, ref2, f"{name} step {i}")
    assert "optimizer" not in state


def test_cyclic_state_dict_saves_a_callable_objects_state():
    class Scale:
        def __init__(self):
            self.k = 2.0

        def __call__(self, x):
            return 1.0 / (self.k * x)

    opt = optim.SGD([tl.Tensor(np.zeros(1), requires_grad=True)], lr=0.1, momentum=0.9)
    fn = Scale()
    sched = lr_scheduler.CyclicLR(opt, 0.01, 0.1, scale_fn=fn)
    fn.k = 5.0
    state = sched.state_dict()
    assert state["_scale_fn_custom"] == {"k": 5.0} and "_scale_fn_ref" not in state
    other = Scale()
    sched2 = lr_scheduler.CyclicLR(opt, 0.01, 0.1, scale_fn=other)
    sched2.load_state_dict(state)
    assert other.k == 5.0 and "_scale_fn_custom" in state  # the caller's dict is kept
    plain = lr_scheduler.CyclicLR(opt, 0.01, 0.1, scale_fn=lambda x: 1.0).state_dict()
    assert plain["_scale_fn_custom"] is None


# ---- errors: the exception type torch raises ----------------------------------------------------
def _sgd(m, lr=0.1, **kw):
    p = tl.Tensor(np.zeros(1), requires_grad=True) if m is lr_scheduler else torch.zeros(
        1, requires_grad=True)
    return (optim if m is lr_scheduler else torch.optim).SGD([p], lr=lr, **kw)


BAD = {
    "one_cycle_no_steps": lambda m: m.OneCycleLR(_sgd(m), 1.0),
    "one_cycle_zero_steps": lambda m: m.OneCycleLR(_sgd(m), 1.0, total_steps=0),
    "one_cycle_float_steps": lambda m: m.OneCycleLR(_sgd(m), 1.0, total_steps=5.0),
    "one_cycle_bad_epochs": lambda m: m.OneCycleLR(_sgd(m), 1.0, epochs=0, steps_per_epoch=2),
    "one_cycle_bad_spe": lambda m: m.OneCycleLR(_sgd(m), 1.0, epochs=2, steps_per_epoch=-1),
    "one_cycle_pct": lambda m: m.OneCycleLR(_sgd(m), 1.0, 10, pct_start=1.5),
    "one_cycle_int_pct": lambda m: m.OneCycleLR(_sgd(m), 1.0, 10, pct_start=0),
    "one_cycle_anneal": lambda m: m.OneCycleLR(_sgd(m), 1.0, 10, anneal_strategy="exp"),
    "one_cycle_max_lr_list": lambda m: m.OneCycleLR(_sgd(m), [1.0, 2.0], 10),
    "one_cycle_not_optimizer": lambda m: m.OneCycleLR("sgd", 1.0, 10),
    "cyclic_mode": lambda m: m.CyclicLR(_sgd(m), 0.01, 0.1, mode="sine"),
    "cyclic_base_list": lambda m: m.CyclicLR(_sgd(m), [0.01, 0.02], 0.1),
    "cyclic_momentum_list": lambda m: m.CyclicLR(_sgd(m), 0.01, 0.1, max_momentum=[0.9, 0.8]),
    "cyclic_not_optimizer": lambda m: m.CyclicLR(None, 0.01, 0.1),
    "plateau_factor": lambda m: m.ReduceLROnPlateau(_sgd(m), factor=1.0),
    "plateau_mode": lambda m: m.ReduceLROnPlateau(_sgd(m), mode="median"),
    "plateau_threshold_mode": lambda m: m.ReduceLROnPlateau(_sgd(m), threshold_mode="pct"),
    "plateau_min_lrs": lambda m: m.ReduceLROnPlateau(_sgd(m), min_lr=[0.1, 0.2]),
    "plateau_not_optimizer": lambda m: m.ReduceLROnPlateau(object()),
    "sequential_empty": lambda m: m.SequentialLR(_sgd(m), [], []),
    "sequential_milestones": lambda m: (lambda o: m.SequentialLR(
        o, [m.StepLR(o, 2), m.StepLR(o, 3)], [1, 2]))(_sgd(m)),
    "sequential_other_optimizer": lambda m: m.SequentialLR(
        _sgd(m), [m.StepLR(_sgd(m), 2)], []),
    "sequential_plateau": lambda m: (lambda o: m.SequentialLR(
        o, [m.ReduceLROnPlateau(o)], []))(_sgd(m)),
    "sequential_no_optimizer": lambda m: (lambda o: m.SequentialLR(o, [object()], []))(_sgd(m)),
    "chained_empty": lambda m: m.ChainedScheduler([]),
    "chained_plateau": lambda m: (lambda o: m.ChainedScheduler(
        [m.StepLR(o, 2), m.ReduceLROnPlateau(o)]))(_sgd(m)),
    "chained_other_optimizer": lambda m: m.ChainedScheduler(
        [m.StepLR(_sgd(m), 2), m.StepLR(_sgd(m), 2)]),
    "polynomial_resume": lambda m: m.PolynomialLR(_sgd(m), last_epoch=3),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_errors_are_torchs(case):
    with pytest.raises(Exception) as theirs:
        BAD[case](tsched)
    with pytest.raises(Exception) as ours:
        BAD[case](lr_scheduler)
    assert type(ours.value) is type(theirs.value), (ours.value, theirs.value)
    assert "\n" not in str(ours.value)


def test_cycle_momentum_needs_a_momentum():
    """An optimizer without momentum or betas (Adagrad-like) cannot cycle momentum: torch's
    ValueError; with cycle_momentum=False it can."""

    class Plain(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=0.1))

        def step(self, closure=None):
            return None

    opt = Plain([tl.Tensor(np.zeros(1), requires_grad=True)])
    for make in (lambda o, **k: lr_scheduler.CyclicLR(o, 0.01, 0.1, **k),
                 lambda o, **k: lr_scheduler.OneCycleLR(o, 0.1, 10, **k)):
        with pytest.raises(ValueError, match="momentum or beta1"):
            make(opt)
        make(opt, cycle_momentum=False).step()


def test_exported_names():
    for name in NEW:
        assert getattr(optim, name) is getattr(lr_scheduler, name)
        assert name in optim.__all__ and name in lr_scheduler.__all__
        assert issubclass(getattr(lr_scheduler, name), lr_scheduler.LRScheduler)
