"""nn API: LeakyReLU, GELU (and erf), Identity, LogSoftmax, ModuleDict, named Sequential,
Module.apply / double / float, nn.init, load_state_dict's all-or-nothing checks, and batch norm
buffers that a failed forward leaves alone. PyTorch is the spec (parity tests skip without it)."""

import math
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import init
from tinygrad_lite.ops.activation import erf, erfc, gelu, leaky_relu
from tinygrad_lite.tools.testing import arrays, away_from_zero, check_gradient

FAST = settings(max_examples=25, deadline=None)


def _t64(x, grad=True):
    return tl.Tensor(np.array(x, dtype=np.float64), requires_grad=grad)


# ---- erf ---------------------------------------------------------------------------------------
def test_erf_matches_math_erf_to_1e_12():
    x = np.concatenate([
        np.linspace(-30, 30, 120_001),
        np.linspace(-1e-3, 1e-3, 2001),
        [0.46875, -0.46875, 4.0, -4.0, np.nextafter(4.0, 5), 5e-324, -0.0, 26.5, 28.0, 1e300],
    ])
    ref = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(erf(x) - ref)) <= 1e-12
    refc = np.array([math.erfc(v) for v in x])
    assert np.max(np.abs(erfc(x) - refc)) <= 1e-12
    normal = refc > 1e-300  # erfc keeps relative accuracy in the far tail too
    assert np.max(np.abs(erfc(x) - refc)[normal] / refc[normal]) <= 1e-13


def test_erf_special_values_and_dtypes():
    np.testing.assert_array_equal(erf(np.array([np.inf, -np.inf, 0.0])), [1, -1, 0])
    np.testing.assert_array_equal(erfc(np.array([np.inf, -np.inf])), [0, 2])
    assert np.isnan(erf(np.array([np.nan]))).all() and np.isnan(erfc(np.array([np.nan]))).all()
    assert erf(np.float32([0.5, 3.0])).dtype == np.float32
    assert erf(np.array(0.5)).shape == ()
    np.testing.assert_allclose(erf(np.float32([0.5, 3.0])), [math.erf(0.5), math.erf(3.0)],
                               rtol=1e-6)


# ---- LeakyReLU -----------------------------------------------------------------------------
def test_leaky_relu_forward_repr_and_kink():
    x = _t64([-2.0, 0.0, 3.0])
    y = nn.LeakyReLU(0.1)(x)
    np.testing.assert_allclose(y.data, [-0.2, 0.0, 3.0])
    y.backward(np.ones(3))
    np.testing.assert_allclose(x.grad, [0.1, 0.1, 1.0])  # slope at 0, as PyTorch
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert nn.LeakyReLU()(tl.zeros(2)).dtype == np.float32
    with pytest.raises(TypeError, match="floating-point"):
        nn.LeakyReLU()(tl.Tensor(np.array([1, 2])))


@FAST
@given(arrays(elements=away_from_zero()))
def test_leaky_relu_gradcheck(x):
    assert check_gradient(lambda t: leaky_relu(t, 0.2), x)
    assert check_gradient(lambda t: nn.LeakyReLU(-1.5)(t), x)


# ---- GELU ----------------------------------------------------------------------------------
@FAST
@given(arrays())
def test_gelu_gradcheck_both_forms(x):
    assert check_gradient(nn.GELU(), x)
    assert check_gradient(nn.GELU(approximate="tanh"), x)


def test_gelu_values_repr_and_errors():
    x = np.array([-3.0, -1.0, 0.0, 0.5, 2.0])
    phi = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x])
    np.testing.assert_allclose(nn.GELU()(_t64(x)).data, x * phi, rtol=1e-14, atol=1e-16)
    tanh_form = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(gelu(_t64(x), "tanh").data, tanh_form, rtol=1e-14)
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"
    assert nn.GELU()(tl.ones(2, 3)).dtype == np.float32
    with pytest.raises(ValueError, match="none or tanh"):
        nn.GELU("sigmoid")
    with pytest.raises(ValueError, match="none or tanh"):
        gelu(tl.ones(2), "fast")
    with pytest.raises(TypeError, match="floating-point"):
        gelu(tl.Tensor(np.array([1, 2])))


def _torch_parity(torch, ours, theirs, x):
    """Forward and backward of our layer vs torch's, float64, same upstream gradient."""
    g = np.random.default_rng(0).standard_normal(x.shape)
    t = _t64(x)
    y = ours(t)
    y.backward(g)
    tt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ty = theirs(tt)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=0, atol=1e-10)


def test_activation_parity_with_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = np.concatenate([np.linspace(-12, 12, 2401), rng.standard_normal(500) * 3, [0.0]])
    x = x.reshape(-1, 2)
    _torch_parity(torch, nn.GELU(), torch.nn.GELU(), x)
    _torch_parity(torch, nn.GELU("tanh"), torch.nn.GELU(approximate="tanh"), x)
    for slope in (0.01, 0.2, -0.5, 1.5):
        _torch_parity(torch, nn.LeakyReLU(slope), torch.nn.LeakyReLU(slope), x)
    x3 = rng.standard_normal((3, 4, 5)) * 4
    for dim in (0, 1, 2, -1):
        _torch_parity(torch, nn.LogSoftmax(dim), torch.nn.LogSoftmax(dim), x3)


# ---- LogSoftmax, Identity --------------------------------------------------------------------
def test_log_softmax_layer():
    x = np.random.default_rng(2).standard_normal((2, 3))
    y = nn.LogSoftmax(dim=1)(_t64(x)).data
    np.testing.assert_allclose(np.exp(y).sum(axis=1), 1.0)
    assert repr(nn.LogSoftmax(1)) == "LogSoftmax(dim=1)"
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y2 = nn.LogSoftmax()(_t64(x)).data  # 2-D: dim 1, as PyTorch's legacy rule
    np.testing.assert_allclose(y2, y)
    s = _t64(3.0)
    out = nn.LogSoftmax(0)(s)
    out.backward()
    assert out.shape == () and out.item() == 0.0 and s.grad == 0.0


def test_identity_passes_input_through():
    x = tl.ones(2)
    assert nn.Identity(54, unused="x")(x) is x
    assert repr(nn.Identity()) == "Identity()"


# ---- Sequential with names, ModuleDict --------------------------------------------------------
def test_sequential_from_ordered_dict():
    model = nn.Sequential(OrderedDict([("fc", nn.Linear(4, 3)), ("act", nn.ReLU()),
                                       ("out", nn.Linear(3, 2))]))
    assert [n for n, _ in model.named_parameters()] == [
        "fc.weight", "fc.bias", "out.weight", "out.bias"]
    assert list(model.state_dict()) == ["fc.weight", "fc.bias", "out.weight", "out.bias"]
    assert len(model) == 3 and model[0] is model.fc and model[-1] is model.out
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]
    head = model[1:]
    assert isinstance(head, nn.Sequential) and [n for n, _ in head.named_children()] == [
        "act", "out"]
    assert model(tl.ones(5, 4)).shape == (5, 2)
    assert repr(model).splitlines()[1] == "  (fc): Linear(in_features=4, out_features=3, bias=True)"
    model.append(nn.Tanh())
    assert [n for n, _ in model.named_children()][-1] == "3"
    model[1] = nn.Sigmoid()
    assert isinstance(model.act, nn.Sigmoid)
    with pytest.raises(IndexError):
        model[4]
    with pytest.raises(TypeError, match="dict is not a Module"):
        nn.Sequential({"fc": nn.Linear(1, 1)})  # only an OrderedDict names children
    with pytest.raises(KeyError, match="contain"):
        nn.Sequential(OrderedDict([("a.b", nn.ReLU())]))


def test_sequential_positional_repeats_and_delete_renumbers():
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(model) == 3 and len(list(model.parameters())) == 2
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # as torch
    del model[0]
    assert [n for n, _ in model.named_children()] == ["0", "1"]


def test_sequential_state_dict_keys_match_torch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(OrderedDict([("fc", nn.Linear(4, 3)), ("bn", nn.BatchNorm1d(3)),
                                      ("out", nn.Linear(3, 2))]))
    theirs = torch.nn.Sequential(OrderedDict([("fc", torch.nn.Linear(4, 3)),
                                              ("bn", torch.nn.BatchNorm1d(3)),
                                              ("out", torch.nn.Linear(3, 2))]))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    result = ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    x = np.random.default_rng(3).standard_normal((5, 4)).astype(np.float32)
    theirs.eval()
    ours.eval()
    np.testing.assert_allclose(ours(tl.Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_module_dict():
    d = nn.ModuleDict({"enc": nn.Linear(2, 3), "act": nn.ReLU()})
    d["dec"] = nn.Linear(3, 2)
    assert list(d) == ["enc", "act", "dec"] and len(d) == 3 and "dec" in d and "x" not in d
    assert d.keys() == ["enc", "act", "dec"] and isinstance(d["enc"], nn.Linear)
    assert [k for k, _ in d.items()] == d.keys() and len(d.values()) == 3
    assert [n for n, _ in d.named_parameters()] == ["enc.weight", "enc.bias", "dec.weight",
                                                    "dec.bias"]
    old = d["enc"]
    d["enc"] = nn.Linear(2, 3)  # replacing keeps the position
    assert d.keys()[0] == "enc" and d["enc"] is not old
    assert isinstance(d.pop("act"), nn.ReLU) and list(d) == ["enc", "dec"]
    del d["dec"]
    assert list(d) == ["enc"]
    d.update([("a", nn.Tanh()), ("b", nn.Sigmoid())])
    assert list(d) == ["enc", "a", "b"]
    with pytest.raises(KeyError):
        d["missing"]
    for bad in ("keys", "training", "a.b", ""):
        with pytest.raises(KeyError):
            d[bad] = nn.ReLU()
    with pytest.raises(TypeError):
        d["x"] = 3
    assert repr(d).startswith("ModuleDict(\n  (enc): Linear(")
    d.clear()
    assert len(d) == 0 and list(d.parameters()) == []

    class Net(nn.Module):
        def __init__(self):
            self.heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 1)})

    net, other = Net(), Net()
    assert list(net.state_dict()) == ["heads.a.weight", "heads.a.bias", "heads.b.weight",
                                      "heads.b.bias"]
    other.load_state_dict(net.state_dict())
    np.testing.assert_array_equal(other.heads["b"].weight.data, net.heads["b"].weight.data)


# ---- Module.apply, double, float ---------------------------------------------------------------
def test_apply_visits_children_first_and_returns_self():
    inner = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    model = nn.Sequential(inner, nn.Linear(2, 1))
    seen = []
    assert model.apply(seen.append) is model
    assert seen == [inner[0], inner[1], inner, model[1], model]

    def init_weights(m):
        if isinstance(m, nn.Linear):
            init.ones_(m.weight)
            init.zeros_(m.bias)

    model.apply(init_weights)
    assert all(np.all(m.weight.data == 1) for m in model.modules() if isinstance(m, nn.Linear))


def test_apply_order_matches_torch():
    torch = pytest.importorskip("torch")

    def build(lib):
        return lib.nn.Sequential(lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Tanh()),
                                 lib.nn.ReLU(), lib.nn.Linear(2, 1))

    names_ours, names_torch = [], []
    build(tl).apply(lambda m: names_ours.append(type(m).__name__))
    build(torch).apply(lambda m: names_torch.append(type(m).__name__))
    assert names_ours == names_torch


def test_double_and_float_cast_parameters_buffers_and_bump_versions():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    model(tl.ones(2, 3)).sum().backward()
    w = model[0].weight
    v = w._version
    assert model.double() is model
    assert w.dtype == np.float64 and w.grad.dtype == np.float64 and w._version == v + 1
    assert model[1].running_mean.dtype == np.float64 and model[1].running_var.dtype == np.float64
    assert model[1].num_batches_tracked.dtype == np.int64  # integer buffers stay integer
    assert model(tl.Tensor(np.ones((2, 3)))).dtype == np.float64
    model.double()
    assert w._version == v + 1  # already float64: nothing changed
    model.float()
    assert w.dtype == np.float32 and model[1].running_var.dtype == np.float32
    assert w._version == v + 2


def test_cast_invalidates_graphs_that_saved_the_old_weight():
    layer = nn.Linear(3, 2)
    out = layer(tl.ones(1, 3, requires_grad=True)).sum()
    layer.double()
    with pytest.raises(RuntimeError, match="version"):
        out.backward()


# ---- nn.init ---------------------------------------------------------------------------------
GAIN_CASES = [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
              ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 0),
              ("leaky_relu", math.sqrt(5)), ("selu", None)]
FAN_SHAPES = [(3, 5), (7, 2, 3, 3), (4, 6, 2), (1, 1), (2, 3, 1, 4, 5)]


def test_calculate_gain_and_fans_formulas():
    assert init.calculate_gain("tanh") == 5 / 3 and init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    assert init._calculate_fan_in_and_fan_out(tl.zeros(7, 2, 3, 3)) == (18, 63)
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(tl.zeros(5))
    with pytest.raises(ValueError, match="fan_avg not supported"):
        init.kaiming_normal_(tl.zeros(3, 3), mode="fan_avg")
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(tl.zeros(0, 3))


def test_init_formulas_match_torch():
    torch = pytest.importorskip("torch")
    for name, param in GAIN_CASES:
        assert init.calculate_gain(name, param) == pytest.approx(
            torch.nn.init.calculate_gain(name, param), rel=1e-15)
    for shape in FAN_SHAPES:
        assert init._calculate_fan_in_and_fan_out(tl.zeros(*shape)) == (
            torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape)))
        for mode in ("fan_in", "fan_out"):
            assert init._calculate_correct_fan(tl.zeros(*shape), mode) == (
                torch.nn.init._calculate_correct_fan(torch.zeros(shape), mode))


def _moments(fill, shape=(400, 250, 2)):
    t = tl.zeros(*shape, dtype=np.float64)
    v = t._version
    assert fill(t) is t and t._version == v + 1
    return t.data.mean(), t.data.std(), np.abs(t.data).max()


def test_init_distributions():
    tl.manual_seed(0)
    fan_in, fan_out = 250 * 2, 400 * 2
    # xavier_uniform_: U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)); std a / sqrt(3)
    a = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    mean, std, top = _moments(lambda t: init.xavier_uniform_(t, gain=2.0))
    assert abs(mean) < 0.01 * a and std == pytest.approx(a / math.sqrt(3), rel=0.01)
    assert a * 0.999 < top <= a
    # xavier_normal_
    mean, std, _ = _moments(lambda t: init.xavier_normal_(t, gain=0.5))
    assert std == pytest.approx(0.5 * math.sqrt(2 / (fan_in + fan_out)), rel=0.01)
    # kaiming_normal_: std = gain / sqrt(fan)
    for mode, fan in (("fan_in", fan_in), ("fan_out", fan_out)):
        for nonlin, a_ in (("relu", 0), ("leaky_relu", 0.3), ("tanh", 0)):
            gain = init.calculate_gain(nonlin, a_)
            mean, std, _ = _moments(
                lambda t, m=mode, n=nonlin, s=a_: init.kaiming_normal_(t, a=s, mode=m,
                                                                        nonlinearity=n))
            assert abs(mean) < 0.01 * std and std == pytest.approx(gain / math.sqrt(fan), rel=0.01)
    # kaiming_uniform_: bound = gain sqrt(3 / fan)
    bound = math.sqrt(2) * math.sqrt(3 / fan_out)
    _, std, top = _moments(lambda t: init.kaiming_uniform_(t, mode="fan_out",
                                                           nonlinearity="relu"))
    assert bound * 0.999 < top <= bound and std == pytest.approx(bound / math.sqrt(3), rel=0.01)
    mean, std, _ = _moments(lambda t: init.normal_(t, mean=3.0, std=0.5))
    assert mean == pytest.approx(3.0, abs=0.005) and std == pytest.approx(0.5, rel=0.01)
    mean, std, top = _moments(lambda t: init.uniform_(t, -2.0, 2.0))
    assert abs(mean) < 0.01 and top <= 2.0 and std == pytest.approx(4 / math.sqrt(12), rel=0.01)
    for fill, value in ((init.zeros_, 0.0), (init.ones_, 1.0), (lambda t: init.constant_(t, 2.5),
                                                                 2.5)):
        t = _moments(fill, (3, 2))
        assert t == (value, 0.0, value)


def test_init_generator_and_rng_are_reproducible():
    a, b, c = tl.zeros(30, 20), tl.zeros(30, 20), tl.zeros(30, 20)
    init.kaiming_normal_(a, generator=np.random.default_rng(5))
    init.kaiming_normal_(b, rng=np.random.default_rng(5))
    init.kaiming_normal_(c, 0.0, "fan_in", "leaky_relu", np.random.default_rng(5))
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.data, c.data)
    with pytest.raises(TypeError, match="not both"):
        init.normal_(a, generator=np.random.default_rng(), rng=np.random.default_rng())
    init.uniform_(a, -0.5, 0.5, np.random.RandomState(3))  # the notebook's stream, positional
    np.testing.assert_array_equal(
        a.data, (np.random.RandomState(3).random((30, 20)) - 0.5).astype(np.float32))


# ---- load_state_dict ---------------------------------------------------------------------------
class _Net(nn.Module):
    def __init__(self):
        self.fc1 = nn.Linear(4, 3)
        self.bn = nn.BatchNorm1d(3)
        self.fc2 = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc2(self.bn(self.fc1(x)))


def _snapshot(model):
    return ({k: v.copy() for k, v in model.state_dict().items()},
            {k: (p.data, p._version) for k, p in model.named_parameters()},
            {k: b for k, b in model.named_buffers()})


def _assert_untouched(model, snap):
    state, params, buffers = snap
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, state[k])
    for k, p in model.named_parameters():
        assert p.data is params[k][0] and p._version == params[k][1]
    for k, b in model.named_buffers():
        assert b is buffers[k]


def test_load_state_dict_in_place_with_version_bumps():
    tl.manual_seed(0)
    a, b = _Net(), _Net()
    a(tl.randn(5, 4))  # running stats move away from their initial values
    snap = _snapshot(b)
    result = b.load_state_dict(a.state_dict())
    assert result == ([], []) and repr(result) == "<All keys matched successfully>"
    for k, p in b.named_parameters():
        assert p.data is snap[1][k][0] and p._version == snap[1][k][1] + 1  # same array, bumped
    for k, buf in b.named_buffers():
        assert buf is snap[2][k]  # buffers too are written in place
    for x, y in zip(a.state_dict().values(), b.state_dict().values()):
        np.testing.assert_array_equal(x, y)
    assert b.bn.num_batches_tracked == 1


def test_load_state_dict_failure_on_a_later_key_changes_nothing():
    a, b = _Net(), _Net()
    snap = _snapshot(b)
    good = a.state_dict()
    bad_cases = [
        ({**good, "fc2.bias": np.zeros(5)}, r"shape mismatch.*fc2\.bias: checkpoint \(5,\)"),
        ({**good, "fc2.weight": np.zeros((2, 3), np.complex128)}, r"fc2\.weight: .*complex128"),
        ({**good, "bn.num_batches_tracked": np.array(1.5)}, r"float64 cannot be cast to int64"),
        ({**good, "fc2.bias": np.array(["a", "b"])}, "dtype mismatch"),
        ({**good, "fc2.bias": None}, "NoneType cannot be cast"),
        ({k: v for k, v in good.items() if k != "fc2.bias"}, r"missing keys \['fc2.bias'\]"),
        ({**good, "zzz": np.zeros(1)}, r"unexpected keys \['zzz'\]"),
    ]
    for state, message in bad_cases:
        with pytest.raises(nn.StateDictError, match=message):
            b.load_state_dict(state)
        _assert_untouched(b, snap)
    with pytest.raises(RuntimeError):  # PyTorch's exception type ...
        b.load_state_dict(bad_cases[0][0])
    with pytest.raises(ValueError):  # ... and this package's earlier one
        b.load_state_dict(bad_cases[0][0])
    with pytest.raises(TypeError, match="dict-like"):
        b.load_state_dict([("fc1.weight", np.zeros((3, 4)))])
    _assert_untouched(b, snap)


def test_load_state_dict_non_strict_and_casts():
    a, b = _Net(), _Net()
    state = {k: v.astype(np.float64) if v.dtype.kind == "f" else v
             for k, v in a.state_dict().items()}  # float64 into float32: allowed
    del state["fc2.bias"]
    state["extra.weight"] = np.zeros(2)
    old_bias = b.fc2.bias.data.copy()
    with pytest.raises(nn.StateDictError, match="missing keys"):
        b.load_state_dict(state)
    result = b.load_state_dict(state, strict=False)
    assert result.missing_keys == ["fc2.bias"] and result.unexpected_keys == ["extra.weight"]
    assert isinstance(result, tuple) and result == (["fc2.bias"], ["extra.weight"])
    np.testing.assert_array_equal(b.fc2.bias.data, old_bias)
    np.testing.assert_array_equal(b.fc1.weight.data, a.fc1.weight.data)
    assert b.fc1.weight.dtype == np.float32
    with pytest.raises(nn.StateDictError, match="shape mismatch"):  # even when not strict
        b.load_state_dict({"fc1.weight": np.zeros((2, 2))}, strict=False)
    b.load_state_dict({"fc1.bias": tl.Tensor(np.ones(3)), "bn.num_batches_tracked": 7},
                      strict=False)  # Tensors and Python numbers are array-like too
    assert np.all(b.fc1.bias.data == 1) and b.bn.num_batches_tracked == 7


def test_load_state_dict_invalidates_graphs_that_saved_the_old_weight():
    layer = nn.Linear(3, 2)
    out = layer(tl.ones(1, 3, requires_grad=True)).sum()
    layer.load_state_dict(nn.Linear(3, 2).state_dict())
    with pytest.raises(RuntimeError, match="version"):
        out.backward()


def test_init_invalidates_graphs_that_saved_the_old_weight():
    layer = nn.Linear(3, 2)
    out = layer(tl.ones(1, 3, requires_grad=True)).sum()
    init.xavier_uniform_(layer.weight)
    with pytest.raises(RuntimeError, match="version"):
        out.backward()


# ---- batch norm: a forward that raises changes no buffer ------------------------------------
def _bn_buffers(bn):
    return {k: (v, np.array(v, copy=True)) for k, v in bn.named_buffers()}


def _assert_bn_unchanged(bn, before):
    for k, v in bn.named_buffers():
        assert v is before[k][0]
        np.testing.assert_array_equal(v, before[k][1])


def test_batchnorm_failed_forward_changes_no_buffer():
    bn = nn.BatchNorm1d(3)
    bn(tl.randn(4, 3))
    before = _bn_buffers(bn)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(tl.randn(1, 3))  # a batch of one in training, as PyTorch
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(tl.randn(1, 3, 1))
    with pytest.raises(tl.ShapeError):
        bn(tl.randn(4, 5))
    with pytest.raises(tl.ShapeError):
        bn(tl.randn(4))
    _assert_bn_unchanged(bn, before)
    assert bn.num_batches_tracked == 1
    bn2 = nn.BatchNorm2d(2)
    before = _bn_buffers(bn2)
    with pytest.raises(tl.ShapeError):
        bn2(tl.randn(2, 2, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn2(tl.randn(1, 2, 1, 1))
    _assert_bn_unchanged(bn2, before)
    bn2(tl.randn(1, 2, 2, 1))  # two values per channel: fine
    assert bn2.num_batches_tracked == 1
    bn2.reset_running_stats()
    assert bn2.num_batches_tracked == 0 and np.all(bn2.running_var == 1)


def test_functional_batch_norm_updates_running_stats_only_on_success():
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.functional.batch_norm(tl.randn(1, 3), rm, rv, training=True)
    with pytest.raises(ValueError, match="weight has shape"):
        nn.functional.batch_norm(tl.randn(4, 3), rm, rv, tl.ones(2), training=True)
    assert np.all(rm == 0) and np.all(rv == 1)
    x = np.random.default_rng(5).standard_normal((8, 3)).astype(np.float32)
    nn.functional.batch_norm(tl.Tensor(x), rm, rv, training=True, momentum=0.5)
    np.testing.assert_allclose(rm, 0.5 * x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(rv, 0.5 + 0.5 * x.var(axis=0, ddof=1), rtol=1e-5)


def test_batchnorm_running_stats_and_momentum_none_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    for momentum in (0.1, None):
        ours = nn.BatchNorm1d(3, momentum=momentum, dtype=np.float64)
        theirs = torch.nn.BatchNorm1d(3, momentum=momentum, dtype=torch.float64)
        for _ in range(3):
            x = rng.standard_normal((6, 3)) * 2 + 1
            ours(tl.Tensor(x))
            theirs(torch.tensor(x))
        for k, v in theirs.state_dict().items():
            np.testing.assert_allclose(ours.state_dict()[k], v.numpy(), rtol=1e-12)
        try:
            theirs(torch.tensor(rng.standard_normal((1, 3))))
        except ValueError as e:
            torch_error = str(e)
        assert "more than 1 value per channel" in torch_error
