"""nn.Module bookkeeping, layers, initialisers and optimizers."""

import math

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn


class TwoLayer(nn.Module):
    def __init__(self):
        self.fc1 = nn.Linear(4, 3)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(3, 2, bias=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def test_named_parameters_recursive_and_stable():
    model = nn.Sequential(TwoLayer(), nn.Linear(2, 2))
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.fc1.weight", "0.fc1.bias", "0.fc2.weight", "1.weight", "1.bias"]
    assert len(list(model.parameters())) == 5


def test_shared_parameter_listed_once():
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(list(model.parameters())) == 2


def test_unknown_attribute_raises():
    with pytest.raises(AttributeError):
        _ = TwoLayer().mode  # no magic that swallows typos


def test_train_eval_recursive():
    model = nn.Sequential(TwoLayer(), nn.ReLU())
    model.eval()
    assert all(not m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_state_dict_roundtrip_and_errors():
    a, b = TwoLayer(), TwoLayer()
    b.load_state_dict(a.state_dict())
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    state = a.state_dict()
    state["fc1.weight"][...] = 7  # a copy: the model is untouched
    assert not np.any(a.fc1.weight.data == 7)
    with pytest.raises(ValueError, match=r"missing keys \['fc2.weight'\]"):
        b.load_state_dict({k: v for k, v in a.state_dict().items() if k != "fc2.weight"})
    with pytest.raises(ValueError, match=r"unexpected keys \['extra'\]"):
        b.load_state_dict({**a.state_dict(), "extra": np.zeros(1)})
    with pytest.raises(ValueError, match=r"fc1.weight: checkpoint \(4, 4\) vs model \(3, 4\)"):
        b.load_state_dict({**a.state_dict(), "fc1.weight": np.zeros((4, 4))})


def test_load_state_dict_checks_buffer_shapes():
    bn = nn.BatchNorm2d(3)
    state = bn.state_dict()
    state["running_mean"] = np.zeros(4)
    with pytest.raises(ValueError, match=r"running_mean: checkpoint \(4,\) vs model \(3,\)"):
        bn.load_state_dict(state)


def test_buffers_in_state_dict():
    class WithBuffer(nn.Module):
        def __init__(self):
            self.lin = nn.Linear(2, 2)
            self.register_buffer("count", np.zeros(1))

    m = WithBuffer()
    m.count += 3
    state = m.state_dict()
    assert "count" in state
    m2 = WithBuffer()
    m2.load_state_dict(state)
    assert m2.count[0] == 3


def test_repr_is_readable():
    text = repr(nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10)))
    assert text.splitlines() == [
        "Sequential(",
        "  (0): Linear(in_features=784, out_features=10, bias=True)",
        "  (1): ReLU()",
        "  (2): Linear(in_features=10, out_features=10, bias=True)",
        ")",
    ]


def test_linear_shapes_init_and_dtype():
    tl.manual_seed(0)
    layer = nn.Linear(100, 7)
    assert layer.weight.shape == (7, 100) and layer.bias.shape == (7,)
    assert layer.weight.dtype == np.float32
    bound = 1 / math.sqrt(100)
    assert np.abs(layer.weight.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.9 * bound  # uses the range
    out = layer(tl.Tensor(np.ones((5, 100), np.float32)))
    assert out.shape == (5, 7) and out.dtype == np.float32
    assert nn.Linear(3, 2).to(np.float64).weight.dtype == np.float64


def test_notebook_uniform_init_matches_np_random_rand():
    w = nn.Linear(784, 10, dtype=np.float64).weight
    nn.init.notebook_uniform_(w, rng=np.random.RandomState(3))
    np.random.seed(3)  # noqa: NPY002 - the notebook's legacy global RNG, on purpose
    np.testing.assert_array_equal(w.data, np.random.rand(10, 784) - 0.5)  # noqa: NPY002


def test_layers_forward():
    x = tl.Tensor(np.array([[-1.0, 0.0, 2.0]]))
    np.testing.assert_allclose(nn.ReLU()(x).data, [[0, 0, 2]])
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh(x.data))
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp(-x.data)))
    np.testing.assert_allclose(nn.Softmax()(x).data.sum(), 1.0)
    assert nn.Flatten()(tl.Tensor(np.zeros((2, 1, 3, 3)))).shape == (2, 9)
    assert nn.CrossEntropyLoss()(tl.Tensor(np.zeros((2, 3))), np.array([0, 1])).shape == ()


# ---- optimizers: PyTorch's update rules written out by hand -----------------------------
def _quadratic_setup():
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(5)
    target = rng.standard_normal(5)
    return p0, target


def _run(opt_factory, steps=5):
    p0, target = _quadratic_setup()
    p = tl.Tensor(p0.copy(), requires_grad=True)
    opt = opt_factory([p])
    for _ in range(steps):
        opt.zero_grad()
        ((p - target) ** 2).sum().backward()
        opt.step()
    return p.data


def test_sgd_momentum_weight_decay_matches_formula():
    p, target = _quadratic_setup()
    buf = None
    for _ in range(5):
        g = 2 * (p - target) + 0.01 * p
        buf = g.copy() if buf is None else 0.9 * buf + g
        p = p - 0.1 * buf
    got = _run(lambda ps: tl.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01))
    np.testing.assert_allclose(got, p, rtol=1e-12)


def _adam_reference(decoupled, wd):
    p, target = _quadratic_setup()
    m = v = np.zeros_like(p)
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    for t in range(1, 6):
        g = 2 * (p - target)
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat, vhat = m / (1 - b1**t), v / (1 - b2**t)
        p = p - lr * mhat / (np.sqrt(vhat) + eps)
    return p


def test_adam_matches_formula():
    got = _run(lambda ps: tl.optim.Adam(ps, lr=0.01, weight_decay=0.1))
    np.testing.assert_allclose(got, _adam_reference(False, 0.1), rtol=1e-10)


def test_adamw_matches_formula():
    got = _run(lambda ps: tl.optim.AdamW(ps, lr=0.01, weight_decay=0.1))
    np.testing.assert_allclose(got, _adam_reference(True, 0.1), rtol=1e-10)


def test_adam_counts_steps_per_parameter():
    """A parameter with no gradient on the first step starts its bias correction at t = 1."""
    early = tl.Tensor(np.zeros(3), requires_grad=True)
    late = tl.Tensor(np.zeros(3), requires_grad=True)
    opt = tl.optim.Adam([early, late], lr=0.1)
    g = np.array([1.0, -2.0, 0.5])
    early.grad = g.copy()
    opt.step()  # late has no gradient yet
    late.grad = g.copy()
    opt.step()
    # one Adam step from zero moves each element by lr * sign(g) (up to eps)
    np.testing.assert_allclose(late.data, -0.1 * np.sign(g), rtol=1e-6)


def test_cosine_schedule_continues_past_t_max():
    p = tl.Tensor(np.zeros(1), requires_grad=True)
    opt = tl.optim.SGD([p], lr=1.0)
    sched = tl.optim.CosineAnnealingLR(opt, T_max=2)
    lrs = []
    for _ in range(4):
        sched.step()
        lrs.append(opt.lr)
    np.testing.assert_allclose(lrs, [0.5, 0.0, 0.5, 1.0], atol=1e-12)  # PyTorch's closed form


def test_optimizer_bad_arguments():
    p = tl.Tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match="learning rate must be >= 0, got -1"):
        tl.optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="empty parameter list"):
        tl.optim.Adam([])


def test_training_a_small_net_learns():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)  # XOR-like quadrants
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    opt = tl.optim.Adam(model.parameters(), lr=0.05)
    xt = tl.Tensor(x.astype(np.float32))
    for _ in range(200):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(xt), y)
        loss.backward()
        opt.step()
    with tl.no_grad():
        acc = (model(xt).data.argmax(1) == y).mean()
    assert acc > 0.9
