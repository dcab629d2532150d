"""The constructors made from a table of options (optimizers) or from a functional's signature
(pooling layers): PyTorch's parameters, kinds and defaults, every keyword PyTorch accepts,
Python's TypeError for a wrong call, and PyTorch's implementation switches."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim

OPTIMIZERS = ["SGD", "Adam", "AdamW", "Adamax", "NAdam", "Adadelta", "Adagrad", "RMSprop"]


def _parameters(cls: type) -> list:
    return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]


def _param() -> tl.Tensor:
    return tl.Tensor(np.ones(3), requires_grad=True)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_signature_is_torchs(name):
    torch = pytest.importorskip("torch")
    assert _parameters(getattr(optim, name)) == _parameters(getattr(torch.optim, name))


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_takes_every_keyword_torch_takes_and_keeps_torchs_defaults(name):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.optim, name)
    keywords = [k for k in inspect.signature(theirs).parameters if k != "params"]
    defaults = {k: inspect.signature(theirs).parameters[k].default for k in keywords}
    opt = getattr(optim, name)([_param()], **defaults)
    reference = theirs([torch.zeros(3, requires_grad=True)]).defaults
    assert set(opt.defaults) <= set(reference)
    assert set(keywords) <= set(opt.defaults)
    for key, value in opt.defaults.items():
        assert value == reference[key], key


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad"])
def test_foreach_and_fused_choose_nothing_here(name):
    """One numpy implementation serves every choice: the same steps."""
    results = []
    for switches in (dict(), dict(foreach=True), dict(fused=True), dict(foreach=False)):
        p = tl.Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
        opt = getattr(optim, name)([p], lr=0.1, **switches)
        for _ in range(3):
            p.grad = tl.Tensor(p.data * 2 + 1)
            opt.step()
        assert opt.param_groups[0].get("fused") == switches.get("fused", None)
        results.append(p.data.copy())
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


def test_implementation_switches_refused_as_torch_refuses():
    with pytest.raises(RuntimeError):
        optim.Adam([_param()], foreach=True, fused=True)
    with pytest.raises(AssertionError):  # PyTorch's, at its first step on the CPU
        optim.Adamax([_param()], capturable=True)
    with pytest.raises(NotImplementedError):
        optim.SGD([_param()], differentiable=True)


def test_constructor_call_errors_are_pythons():
    with pytest.raises(TypeError):
        optim.Adam([_param()], momentum=0.9)  # not an Adam option
    with pytest.raises(TypeError):
        optim.Adamax([_param()], 1e-3, (0.9, 0.99), 1e-8, 0.0, None, False)  # maximize: kw only
    with pytest.raises(TypeError):
        optim.SGD()
    with pytest.raises(TypeError):
        nn.MaxPool2d(2, count_include_pad=False)  # an AvgPool2d option
    with pytest.raises(TypeError):
        nn.AvgPool2d()


def test_options_checked_in_torchs_order():
    p = [_param()]
    with pytest.raises(ValueError, match="learning rate"):  # lr before eps
        optim.Adam(p, lr=-1, eps=-1)
    with pytest.raises(ValueError, match="epsilon"):  # eps before the betas
        optim.Adam(p, eps=-1, betas=(2.0, 0.9))
    with pytest.raises(ValueError, match="index 1"):
        optim.NAdam(p, betas=(0.9, 1.0), weight_decay=-1)
    with pytest.raises(ValueError, match="rho"):  # rho before eps
        optim.Adadelta(p, rho=1.5, eps=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(p, nesterov=True)
    assert optim.SGD(p, momentum=float("nan")).defaults["momentum"] != 0  # PyTorch lets it by


def test_a_subclass_may_write_its_own_constructor():
    class Fixed(optim.Adam):
        def __init__(self, params, lr=0.5):
            super().__init__(params, lr=lr, amsgrad=True)

    opt = Fixed([_param()])
    assert opt.defaults["lr"] == 0.5 and opt.defaults["amsgrad"] is True
    assert opt.defaults["betas"] == (0.9, 0.999)


def test_betas_kept_as_a_tuple():
    assert optim.Adam([_param()], betas=[0.5, 0.6]).defaults["betas"] == (0.5, 0.6)


@pytest.mark.parametrize("name", ["MaxPool2d", "AvgPool2d"])
def test_pool_layer_signature_is_torchs(name):
    torch = pytest.importorskip("torch")
    ours = [(n, d) for n, _, d in _parameters(getattr(nn, name))]
    theirs = [(n, d) for n, _, d in _parameters(getattr(torch.nn, name))]
    assert ours == theirs


def test_pool_layers_keep_their_options_as_attributes():
    m = nn.MaxPool2d(3, 2, 1, 1, False, True)
    assert (m.kernel_size, m.stride, m.padding) == ((3, 3), (2, 2), (1, 1))
    assert m.dilation == 1 and m.return_indices is False and m.ceil_mode is True
    a = nn.AvgPool2d(2, count_include_pad=False, divisor_override=3)
    assert a.stride == (2, 2) and a.ceil_mode is False
    assert a.count_include_pad is False and a.divisor_override == 3
    with pytest.raises(NotImplementedError):
        nn.MaxPool2d(2, dilation=2)
    with pytest.raises(ValueError):
        nn.AvgPool2d(2, stride=0)


def test_a_pool_layer_subclass_may_write_its_own_constructor():
    class Halve(nn.MaxPool2d):
        def __init__(self):
            super().__init__(2)

    class Padded(nn.AvgPool2d):
        pass

    assert Halve().kernel_size == (2, 2) and Halve().ceil_mode is False
    assert Padded(3, padding=1).padding == (1, 1)
    x = tl.Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    np.testing.assert_array_equal(Halve()(x).data, nn.MaxPool2d(2)(x).data)


@pytest.mark.parametrize(
    "kwargs",
    [dict(), dict(padding_idx=1), dict(max_norm=1.0), dict(norm_type=1.0),
     dict(max_norm=0.5, norm_type=3.0, scale_grad_by_freq=True)],
)
def test_embedding_repr_shows_the_options_torch_shows(kwargs):
    torch = pytest.importorskip("torch")
    assert repr(nn.Embedding(5, 3, **kwargs)) == repr(torch.nn.Embedding(5, 3, **kwargs))
