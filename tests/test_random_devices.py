"""`tl.Generator` and the random factories that take `generator=` (reproducible, with the
right distributions), devices (`tl.device`, `.to('cpu')`, `.cpu()`, one-line errors for any
other), and `nn.utils.clip_grad_norm_` / `clip_grad_value_` against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn

# ---- Generator ------------------------------------------------------------------------------


def test_a_seed_gives_the_same_numbers():
    for make in (lambda g: tl.randn(2, 3, generator=g), lambda g: tl.rand((4,), generator=g),
                 lambda g: tl.randint(0, 10, (5,), generator=g),
                 lambda g: tl.randperm(7, generator=g),
                 lambda g: tl.multinomial(tl.tensor([1.0, 2.0, 3.0]), 4, True, generator=g)):
        a = make(tl.Generator().manual_seed(5))
        b = make(tl.Generator().manual_seed(5))
        c = make(tl.Generator().manual_seed(6))
        np.testing.assert_array_equal(a.data, b.data)
        assert not np.array_equal(a.data, c.data) or a.numel() < 3


def test_manual_seed_seeds_the_default_generator():
    tl.manual_seed(3)
    a = (tl.randn(4), tl.randint(5, (3,)), tl.nn.Linear(2, 2).weight.data.copy())
    g = tl.manual_seed(3)
    b = (tl.randn(4), tl.randint(5, (3,)), tl.nn.Linear(2, 2).weight.data.copy())
    for x, y in zip(a[:2], b[:2]):
        np.testing.assert_array_equal(x.data, y.data)
    np.testing.assert_array_equal(a[2], b[2])
    assert isinstance(g, tl.Generator) and tl.initial_seed() == 3 == g.initial_seed()


def test_a_generator_is_independent_of_the_default():
    g = tl.Generator().manual_seed(1)
    first = tl.randn(3, generator=g)
    g.manual_seed(1)
    tl.randn(10)  # the default stream moves; g's does not
    np.testing.assert_array_equal(tl.randn(3, generator=g).data, first.data)


def test_get_state_and_set_state_restore_the_stream():
    g = tl.Generator().manual_seed(11)
    tl.randint(0, 2**31, (3,), generator=g, dtype=tl.int32)
    state = g.get_state()
    assert state.dtype == np.uint8 and state.ndim == 1
    a = tl.rand(5, generator=g)
    other = tl.Generator().set_state(state)
    np.testing.assert_array_equal(tl.rand(5, generator=other).data, a.data)
    assert other.initial_seed() == 11
    with pytest.raises(TypeError):
        g.set_state(tl.zeros(state.shape))  # not uint8
    with pytest.raises(RuntimeError):
        g.set_state(tl.zeros(3, dtype=tl.uint8))


def test_seed_and_initial_seed():
    g = tl.Generator()
    assert g.initial_seed() == 67280421310721  # torch.Generator()'s
    s = g.seed()
    assert g.initial_seed() == s
    assert tl.Generator().manual_seed(-1).initial_seed() == 2**64 - 1  # wraps, as torch
    state = tl.get_rng_state()
    x = tl.rand(3)
    tl.set_rng_state(state)
    np.testing.assert_array_equal(tl.rand(3).data, x.data)


def test_init_accepts_a_generator():
    w1, w2 = tl.zeros(3, 4), tl.zeros(3, 4)
    nn.init.normal_(w1, generator=tl.Generator().manual_seed(2))
    nn.init.normal_(w2, generator=tl.Generator().manual_seed(2))
    np.testing.assert_array_equal(w1.data, w2.data)


def test_randint_as_torch():
    g = tl.Generator().manual_seed(0)
    x = tl.randint(3, 7, (1000,), generator=g)
    assert x.dtype == np.int64 and set(x.tolist()) == {3, 4, 5, 6}
    assert tl.randint(2, (2, 3)).shape == (2, 3)
    assert tl.randint(0, 2, size=(4,), dtype=tl.int32).dtype == np.int32
    with pytest.raises(TypeError):
        tl.randint(3, 2)  # size must be a tuple
    with pytest.raises(RuntimeError):
        tl.randint(3, 1, (2,))


def test_randperm_and_dtypes():
    p = tl.randperm(50, generator=tl.Generator().manual_seed(0))
    assert sorted(p.tolist()) == list(range(50)) and p.dtype == np.int64
    assert tl.randn(2, dtype=tl.float64).dtype == np.float64
    assert tl.rand(2, requires_grad=True).requires_grad
    assert tl.randn(2, device="cpu").shape == (2,)
    with pytest.raises(RuntimeError):
        tl.randn(2, device="cuda")


def _chi2(counts, expected):
    return float(((counts - expected) ** 2 / expected).sum())


def test_multinomial_with_replacement_frequencies():
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.0])
    n = 40000
    draws = tl.multinomial(tl.tensor(p * 7), n, replacement=True,  # unnormalised weights
                           generator=tl.Generator().manual_seed(0))
    assert draws.dtype == np.int64 and draws.shape == (n,)
    counts = np.bincount(draws.data, minlength=5)
    assert counts[4] == 0  # weight 0: never drawn
    assert _chi2(counts[:4], n * p[:4]) < 16.27  # chi-square, 3 dof, p = 0.001


def test_multinomial_without_replacement_is_successive_sampling():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    rows = 40000
    draws = tl.tensor(np.tile(p, (rows, 1))).multinomial(
        2, generator=tl.Generator().manual_seed(1))
    assert draws.shape == (rows, 2)
    first, second = draws.data[:, 0], draws.data[:, 1]
    assert (first != second).all()
    counts = np.zeros((4, 4))
    np.add.at(counts, (first, second), 1)
    expected = p[:, None] * p[None, :] / (1 - p[:, None])  # P(i then j)
    np.fill_diagonal(expected, 0)
    mask = expected > 0
    assert counts[~mask].sum() == 0
    assert _chi2(counts[mask], rows * expected[mask]) < 31.26  # 11 dof, p = 0.001


def test_multinomial_rows_and_all_categories():
    w = tl.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    assert tl.multinomial(w, 3, True).tolist() == [[1, 1, 1], [0, 0, 0]]
    perm = tl.multinomial(tl.ones(6), 6, generator=tl.Generator().manual_seed(0))
    assert tl.multinomial(tl.tensor([1.0, 0.0]), 2).tolist() == [0, 1]  # weight 0 last, as torch
    assert sorted(perm.tolist()) == list(range(6))


@pytest.mark.parametrize("args", [([0.0, 1.0], 3), ([0.0, 0.0], 1, True), ([-1.0, 1.0], 1),
                                  (np.zeros((2, 2, 2)), 1), ([1.0, 1.0], 0),
                                  ([float("nan"), 1.0], 1)])
def test_multinomial_errors_as_torch(args):
    torch = pytest.importorskip("torch")
    w, *rest = args
    with pytest.raises(RuntimeError):
        torch.multinomial(torch.tensor(np.asarray(w, dtype=np.float64)), *rest)
    with pytest.raises(RuntimeError):
        tl.multinomial(tl.tensor(np.asarray(w, dtype=np.float64)), *rest)


# ---- devices ---------------------------------------------------------------------------------


def test_device_object_like_torch():
    torch = pytest.importorskip("torch")
    for spec in (("cpu",), ("cpu:0",), ("cpu", 0), ("cuda",), ("cuda", 1)):
        ours, theirs = tl.device(*spec), torch.device(*spec)
        assert (str(ours), repr(ours), ours.type, ours.index) == (
            str(theirs), repr(theirs), theirs.type, theirs.index)
    assert tl.device("cpu") == tl.device("cpu") != tl.device("cpu", 0)
    assert tl.device("cpu") != "cpu"  # as torch: a device is not equal to its name
    assert hash(tl.device("cpu")) == hash(tl.device("cpu"))
    with pytest.raises(RuntimeError):
        tl.device("foo")
    assert tl.zeros(2).device == tl.device("cpu") and str(tl.zeros(2).device) == "cpu"
    assert not tl.cuda.is_available() and not tl.zeros(1).is_cuda


def test_tensor_to_cpu_and_dtype():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    assert x.to("cpu") is x and x.cpu() is x and x.to(tl.device("cpu")) is x
    assert x.to("cpu", tl.float64).dtype == np.float64
    assert x.to(tl.device("cpu"), dtype=tl.float64).dtype == np.float64
    assert x.to(device="cpu", dtype=tl.int64).dtype == np.int64
    assert x.to(tl.zeros(1, dtype=tl.float64)).dtype == np.float64
    assert x.to(tl.float64).requires_grad
    copy = x.to("cpu", copy=True)
    assert copy is not x and copy.tolist() == x.tolist()


@pytest.mark.parametrize("move", [lambda t: t.to("cuda"), lambda t: t.cuda(),
                                  lambda t: t.to("cuda:0", tl.float64),
                                  lambda t: t.to(tl.device("mps")), lambda t: t.to(0),
                                  lambda t: t.to(device="cuda")])
def test_other_devices_are_one_line_errors(move):
    with pytest.raises(RuntimeError, match="CPU only") as info:
        move(tl.zeros(2))
    assert "\n" not in str(info.value)


def test_factories_take_the_cpu_device():
    cpu = tl.device("cpu")
    made = [tl.tensor([1.0], device="cpu"), tl.zeros(2, device=cpu), tl.ones(2, device="cpu"),
            tl.full((2,), 1.0, device="cpu"), tl.arange(3, device=cpu),
            tl.zeros_like(tl.ones(2), device="cpu"), tl.ones_like(tl.ones(2), device="cpu"),
            tl.full_like(tl.ones(2), 3.0, device="cpu"), tl.rand(2, device=cpu)]
    assert all(t.device == cpu for t in made)
    assert tl.tensor([1.0], True, tl.float64).dtype == np.float64  # positional order kept
    for make in (lambda: tl.zeros(2, device="cuda"), lambda: tl.arange(3, device="cuda:0"),
                 lambda: tl.tensor([1.0], device=tl.device("mps"))):
        with pytest.raises(RuntimeError, match="CPU only"):
            make()


def test_module_to_device():
    m = nn.Linear(2, 3)
    assert m.to("cpu") is m and m.cpu() is m and m.weight.dtype == np.float32
    m.to(tl.device("cpu"), tl.float64)
    assert m.weight.dtype == np.float64
    m.to(tl.zeros(1))  # a tensor's dtype
    assert m.weight.dtype == np.float32
    m.to(dtype=tl.float64)
    assert m.bias.dtype == np.float64
    with pytest.raises(RuntimeError, match="CPU only"):
        m.cuda()
    with pytest.raises(RuntimeError, match="CPU only"):
        m.to("cuda")


# ---- gradient clipping -----------------------------------------------------------------------


def _params(torch, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal(5) * 3, rng.standard_normal(2)]
    ours = [tl.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    for i, (p, t) in enumerate(zip(ours, theirs)):
        if i == 2:
            continue  # a parameter without a gradient is skipped
        g = rng.standard_normal(p.shape)
        p.grad, t.grad = g.copy(), torch.tensor(g)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1, 3, 0.5, float("inf"), "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    torch = pytest.importorskip("torch")
    ours, theirs = _params(torch)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, tl.Tensor) and total.shape == ()
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-12)
    for p, t in zip(ours, theirs):
        if t.grad is not None:
            np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_clip_grad_norm_single_tensor_empty_and_nonfinite():
    p = tl.tensor([3.0, 4.0], requires_grad=True)
    p.grad = np.array([3.0, 4.0], np.float32)
    assert abs(nn.utils.clip_grad_norm_(p, 1.0).item() - 5.0) < 1e-6
    assert np.allclose(p.grad.data, [0.6, 0.8], atol=1e-6)
    assert nn.utils.clip_grad_norm_([], 1.0).item() == 0.0
    p.grad = np.array([np.inf, 1.0], np.float32)
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


def test_clip_grad_value_matches_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = _params(torch, seed=3)
    assert nn.utils.clip_grad_value_(ours, 0.7) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, t in zip(ours, theirs):
        if t.grad is not None:
            np.testing.assert_array_equal(p.grad.data, t.grad.numpy())
