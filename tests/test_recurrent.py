"""RNN, GRU, LSTM and their cells against PyTorch: values and gradients in float64, state_dict
keys, load_state_dict from torch, interop, gradcheck/gradgradcheck, unbatched inputs, errors."""

import math

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn

torch = pytest.importorskip("torch")

from tinygrad_lite.io.interop import from_torch, to_torch  # noqa: E402

T, N, IN, H = 4, 3, 3, 4  # sequence length, batch, input features, hidden features
TOL = dict(rtol=1e-9, atol=1e-9)


def _rng(seed=0):
    return np.random.default_rng(seed)


def _pair(kind, **options):
    """The torch layer (float64, seeded) and ours with its weights, loaded from its state dict."""
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(IN, H, **options).double()
    ours = getattr(nn, kind)(IN, H, dtype=np.float64, **options)
    ours.load_state_dict(theirs.state_dict())  # torch tensors load directly
    return theirs, ours


def _leaves(arrays):
    """The same float64 arrays as torch and tinygrad_lite leaves requiring grad."""
    return ([torch.tensor(a, requires_grad=True) for a in arrays],
            [tl.Tensor(a.copy(), requires_grad=True) for a in arrays])


def _flat(out):
    """(output, h) or (output, (h, c)) or h or (h, c) as a flat list of tensors."""
    if not isinstance(out, tuple):
        return [out]
    return [t for part in out for t in _flat(part)]


def _check_parity(theirs, ours, arrays, call):
    """Run `call(module, *leaves)` on both; compare every output, then the gradients of a
    non-uniform loss sum_k <out_k, v_k> with respect to the leaves and all parameters."""
    t_leaves, o_leaves = _leaves(arrays)
    t_out, o_out = _flat(call(theirs, *t_leaves)), _flat(call(ours, *o_leaves))
    assert [tuple(t.shape) for t in t_out] == [o.shape for o in o_out]
    for t, o in zip(t_out, o_out):
        np.testing.assert_allclose(o.data, t.detach().numpy(), **TOL)
    vs = [_rng(k + 1).standard_normal(tuple(t.shape)) for k, t in enumerate(t_out)]
    sum(((t * torch.from_numpy(v)).sum() for t, v in zip(t_out, vs))).backward()
    total = None
    for o, v in zip(o_out, vs):
        term = (o * tl.Tensor(v)).sum()
        total = term if total is None else total + term
    total.backward()
    for t, o in zip(t_leaves, o_leaves):
        np.testing.assert_allclose(o.grad.data, t.grad.numpy(), **TOL)
    ours_params = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(ours_params[name].grad.data, p.grad.numpy(), **TOL,
                                   err_msg=name)


# ---- the sequence layers -------------------------------------------------------------------

LAYERS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("GRU", {}), ("LSTM", {})]
OPTIONS = [
    {},
    {"num_layers": 2},
    {"bidirectional": True},
    {"batch_first": True},
    {"bias": False},
    {"num_layers": 3, "bidirectional": True, "batch_first": True},
    {"num_layers": 2, "dropout": 0.5},  # dropout: between layers, training only (eval here)
]


def _ids(params):
    return [f"{k}-{'-'.join(f'{a}={b}' for a, b in o.items()) or 'default'}" for k, o in params]


CASES = [(k, {**base, **opt}) for k, base in LAYERS for opt in OPTIONS]
CASES.append(("LSTM", {"proj_size": 2, "num_layers": 2, "bidirectional": True}))
CASES.append(("LSTM", {"proj_size": 3, "bias": False, "batch_first": True}))


def _states(kind, options, batched=True):
    directions = 2 if options.get("bidirectional") else 1
    lead = (options.get("num_layers", 1) * directions,) + ((N,) if batched else ())
    h = _rng(2).standard_normal(lead + (options.get("proj_size") or H,))
    c = _rng(3).standard_normal(lead + (H,))
    return [h, c] if kind == "LSTM" else [h]


def _call_with_state(kind):
    if kind == "LSTM":
        return lambda m, x, h, c: m(x, (h, c))
    return lambda m, x, h: m(x, h)


@pytest.mark.parametrize("kind, options", CASES, ids=_ids(CASES))
def test_sequence_layer_matches_pytorch(kind, options):
    theirs, ours = _pair(kind, **options)
    theirs.eval(), ours.eval()
    shape = (N, T, IN) if options.get("batch_first") else (T, N, IN)
    x = _rng().standard_normal(shape)
    _check_parity(theirs, ours, [x] + _states(kind, options), _call_with_state(kind))


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("block", [3, None])
def test_sequences_longer_than_one_projection_block(kind, block, monkeypatch):
    """The input projection runs per block of `BLOCK` steps: sequences of several blocks,
    forwards and backwards, give PyTorch's values and gradients."""
    from tinygrad_lite.nn import recurrent

    if block is not None:
        monkeypatch.setattr(recurrent, "BLOCK", block)
    options = {"num_layers": 2, "bidirectional": True}
    theirs, ours = _pair(kind, **options)
    x = _rng().standard_normal((2 * recurrent.BLOCK + 1, N, IN))
    _check_parity(theirs, ours, [x] + _states(kind, options), _call_with_state(kind))


@pytest.mark.parametrize("kind, options", [("RNN", {}), ("GRU", {"num_layers": 2}),
                                           ("LSTM", {"bidirectional": True}),
                                           ("LSTM", {"proj_size": 2})])
def test_without_initial_state_and_unbatched(kind, options):
    theirs, ours = _pair(kind, **options)
    x = _rng().standard_normal((T, N, IN))
    _check_parity(theirs, ours, [x], lambda m, x: m(x))  # zeros as the initial state
    theirs, ours = _pair(kind, **options, batch_first=True)  # unbatched ignores batch_first
    x = _rng().standard_normal((T, IN))
    _check_parity(theirs, ours, [x], lambda m, x: m(x))
    _check_parity(theirs, ours, [x] + _states(kind, options, batched=False),
                  _call_with_state(kind))


def test_dropout_between_layers_in_training_only():
    theirs, ours = _pair("GRU", num_layers=2, dropout=1.0)  # p=1: deterministic, all zeroed
    x = _rng().standard_normal((T, N, IN))
    _check_parity(theirs, ours, [x], lambda m, x: m(x))  # in training mode
    ours = nn.LSTM(IN, H, num_layers=2, dropout=0.5, dtype=np.float64)
    xt = tl.Tensor(x)
    tl.manual_seed(0)
    a, b = ours(xt)[0].data, ours(xt)[0].data
    assert not np.allclose(a, b)  # two training passes draw two masks
    ours.eval()
    np.testing.assert_array_equal(ours(xt)[0].data, ours(xt)[0].data)
    with pytest.warns(UserWarning):  # as PyTorch: dropout with one layer does nothing
        one = nn.RNN(IN, H, dropout=0.5, dtype=np.float64)
    with pytest.warns(UserWarning):
        torch.nn.RNN(IN, H, dropout=0.5)
    np.testing.assert_array_equal(one(xt)[0].data, one(xt)[0].data)  # last layer: never dropped


# ---- the cells ---------------------------------------------------------------------------

CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("RNNCell", {"bias": False}),
         ("GRUCell", {}), ("GRUCell", {"bias": False}), ("LSTMCell", {}),
         ("LSTMCell", {"bias": False})]


@pytest.mark.parametrize("kind, options", CELLS, ids=_ids(CELLS))
@pytest.mark.parametrize("batched", [True, False])
def test_cell_matches_pytorch(kind, options, batched):
    theirs, ours = _pair(kind, **options)
    lead = (N,) if batched else ()
    x = _rng().standard_normal(lead + (IN,))
    states = [_rng(k + 2).standard_normal(lead + (H,)) for k in range(1 + (kind == "LSTMCell"))]
    call = (lambda m, x, h, c: m(x, (h, c))) if kind == "LSTMCell" else (lambda m, x, h: m(x, h))
    _check_parity(theirs, ours, [x] + states, call)
    theirs.zero_grad(), ours.zero_grad()
    _check_parity(theirs, ours, [x], lambda m, x: m(x))  # zeros as the state


def _as_inputs(module, arrays):
    """A function of (inputs..., parameters...) that runs `module` with those parameters and
    returns all its outputs as one flat tensor; and the float64 leaves to call it with: for
    gradcheck over the weights too."""
    names = [n for n, _ in module.named_parameters()]
    n_in = len(arrays)

    def fn(*args):
        for name, p in zip(names, args[n_in:]):
            setattr(module, name, p)
        x, states = args[0], args[1:n_in]
        if not states:
            out = module(x)
        else:
            out = module(x, tuple(states) if len(states) == 2 else states[0])
        return tl.cat([o.reshape(-1) for o in _flat(out)])

    leaves = [tl.Tensor(a, requires_grad=True) for a in arrays]
    leaves += [tl.Tensor(p.data.copy(), requires_grad=True) for _, p in module.named_parameters()]
    return fn, leaves


@pytest.mark.parametrize("kind", ["RNNCell", "GRUCell", "LSTMCell"])
def test_cells_pass_gradcheck(kind):
    cell = getattr(nn, kind)(2, 3, dtype=np.float64)
    arrays = [_rng().standard_normal((2, 2))]
    arrays += [_rng(k + 1).standard_normal((2, 3)) for k in range(1 + (kind == "LSTMCell"))]
    fn, leaves = _as_inputs(cell, arrays)
    assert tl.gradcheck(fn, *leaves)


def test_lstm_cell_passes_gradgradcheck():
    cell = nn.LSTMCell(2, 2, dtype=np.float64)
    arrays = [_rng().standard_normal((2, 2)), _rng(1).standard_normal((2, 2)),
              _rng(2).standard_normal((2, 2))]
    fn, leaves = _as_inputs(cell, arrays)
    assert tl.gradgradcheck(fn, *leaves)


def test_gru_layer_passes_gradgradcheck():
    gru = nn.GRU(2, 2, bidirectional=True, dtype=np.float64)
    fn, leaves = _as_inputs(gru, [_rng().standard_normal((3, 1, 2))])
    assert tl.gradgradcheck(fn, *leaves)


# ---- state dicts, initialisation and interop -----------------------------------------------

STATE_CASES = [("RNN", {"num_layers": 2, "bidirectional": True}), ("GRU", {"bias": False}),
               ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 2}),
               ("LSTM", {"bias": False, "proj_size": 1}), ("RNNCell", {}),
               ("GRUCell", {"bias": False}), ("LSTMCell", {})]


@pytest.mark.parametrize("kind, options", STATE_CASES, ids=_ids(STATE_CASES))
def test_state_dict_keys_shapes_and_initialisation_as_pytorch(kind, options):
    theirs = getattr(torch.nn, kind)(IN, H, **options)
    ours = getattr(nn, kind)(IN, H, **options)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname and p.shape == tuple(tp.shape) and p.dtype == np.float32
    values = np.concatenate([p.data.ravel() for p in ours.parameters()])
    bound = 1 / math.sqrt(H)  # all ~ U(-bound, bound): standard deviation bound / sqrt(3)
    assert np.all(np.abs(values) <= bound) and 0.4 < values.std() / bound < 0.75
    missing = ours.load_state_dict(theirs.state_dict())
    assert not missing.missing_keys and not missing.unexpected_keys
    for name, p in ours.named_parameters():
        np.testing.assert_array_equal(p.data, theirs.state_dict()[name].numpy())


@pytest.mark.parametrize("kind, options", STATE_CASES + [("RNN", {"nonlinearity": "relu",
                                                                  "batch_first": True,
                                                                  "num_layers": 2,
                                                                  "dropout": 0.25})],
                         ids=_ids(STATE_CASES) + ["RNN-relu-all"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
def test_interop_both_ways(kind, options, dtype):
    theirs = getattr(torch.nn, kind)(IN, H, dtype=dtype, **options).eval()
    ours = from_torch(theirs)
    assert type(ours) is getattr(nn, kind) and not ours.training
    back = to_torch(ours)
    assert type(back) is type(theirs) and repr(back) == repr(theirs)
    assert repr(ours) == repr(theirs)
    shape = (N, T, IN) if options.get("batch_first") else (T, N, IN)
    x = _rng().standard_normal(shape if "Cell" not in kind else (N, IN))
    x = x.astype(np.float32 if dtype == torch.float32 else np.float64)
    for t, o in zip(_flat(back(torch.from_numpy(x))), _flat(ours(tl.Tensor(x)))):
        np.testing.assert_allclose(o.data, t.detach().numpy(),
                                   **(TOL if dtype == torch.float64 else dict(atol=1e-6)))
    for (name, p), (_, q) in zip(theirs.state_dict().items(), back.state_dict().items()):
        assert torch.equal(p, q), name


# ---- errors: PyTorch's exception types, one-line messages --------------------------------


def _same_error(make_theirs, make_ours):
    with pytest.raises(Exception) as theirs:
        make_theirs(torch.nn, torch.zeros, torch.float64)
    with pytest.raises(type(theirs.value)) as ours:
        make_ours(nn, lambda *s, dtype: tl.zeros(*s, dtype=dtype), np.float64)
    message = str(ours.value)
    assert message and "\n" not in message


def _run(kind, shape, state_shapes=None, **options):
    def go(lib, zeros, dtype):
        m = getattr(lib, kind)(IN, H, dtype=dtype, **options)
        x = zeros(*shape, dtype=dtype)
        if state_shapes is None:
            return m(x)
        states = [zeros(*s, dtype=dtype) for s in state_shapes]
        return m(x, tuple(states) if kind.startswith("LSTM") else states[0])
    return go


BAD_CALLS = {
    "rnn 4-d input": _run("RNN", (1, T, N, IN)),
    "gru 1-d input": _run("GRU", (IN,)),
    "lstm wrong input size": _run("LSTM", (T, N, IN + 1)),
    "rnn wrong h0 shape": _run("RNN", (T, N, IN), [(1, N + 1, H)]),
    "gru h0 2-d for batched input": _run("GRU", (T, N, IN), [(N, H)]),
    "rnn h0 3-d for unbatched input": _run("RNN", (T, IN), [(1, 1, H)]),
    "lstm wrong c0 shape": _run("LSTM", (T, N, IN), [(1, N, H), (1, N, H + 1)]),
    "lstm c0 2-d": _run("LSTM", (T, N, IN), [(1, N, H), (N, H)]),
    "lstm proj h0 of hidden size": _run("LSTM", (T, N, IN), [(1, N, H), (1, N, H)],
                                        proj_size=2),
    "rnn cell 3-d input": _run("RNNCell", (1, N, IN)),
    "gru cell 3-d hidden": _run("GRUCell", (N, IN), [(1, N, H)]),
    "lstm cell 3-d c": _run("LSTMCell", (N, IN), [(N, H), (1, N, H)]),
    "rnn cell wrong input size": _run("RNNCell", (N, IN + 1)),
    "gru cell batch mismatch": _run("GRUCell", (N, IN), [(N + 1, H)]),
    "lstm cell wrong hidden size": _run("LSTMCell", (N, IN), [(N, H + 1), (N, H)]),
}


@pytest.mark.parametrize("name", list(BAD_CALLS))
def test_bad_shapes_raise_pytorchs_error(name):
    _same_error(BAD_CALLS[name], BAD_CALLS[name])


def test_input_of_another_dtype_raises_pytorchs_error():
    def go(lib, zeros, dtype):
        return lib.GRU(IN, H)(zeros(T, N, IN, dtype=dtype))  # float32 weights, float64 input
    _same_error(go, go)


BAD_CONSTRUCTORS = {
    "dropout above 1": lambda lib: lib.LSTM(IN, H, dropout=1.5),
    "dropout a bool": lambda lib: lib.GRU(IN, H, dropout=True),
    "hidden_size 0": lambda lib: lib.RNN(IN, 0),
    "hidden_size a float": lambda lib: lib.GRU(IN, 4.0),
    "input_size 0": lambda lib: lib.LSTM(0, H),
    "num_layers 0": lambda lib: lib.LSTM(IN, H, num_layers=0),
    "bias not bool": lambda lib: lib.RNN(IN, H, bias=1),
    "batch_first not bool": lambda lib: lib.RNN(IN, H, batch_first=None),
    "unknown nonlinearity": lambda lib: lib.RNN(IN, H, nonlinearity="sigmoid"),
    "proj_size too big": lambda lib: lib.LSTM(IN, H, proj_size=H),
    "proj_size negative": lambda lib: lib.LSTM(IN, H, proj_size=-1),
    "proj_size for a GRU": lambda lib: lib.GRU(IN, H, proj_size=0),
    "cell unknown nonlinearity": lambda lib: lib.RNNCell(IN, H, nonlinearity="gelu")(
        tl.zeros(N, IN) if lib is nn else torch.zeros(N, IN)),
}


@pytest.mark.parametrize("name", list(BAD_CONSTRUCTORS))
def test_bad_arguments_raise_pytorchs_error(name):
    make = BAD_CONSTRUCTORS[name]
    _same_error(lambda lib, *_: make(lib), lambda lib, *_: make(lib))


def test_positional_arguments_and_pytorch_helpers():
    args = (IN, H, 2, "relu", False, True)  # num_layers, nonlinearity, bias, batch_first
    ours, theirs = nn.RNN(*args), torch.nn.RNN(*args)
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    lstm = nn.LSTM(IN, H, 2, True, True, 0.0, True)
    assert lstm.batch_first and lstm.bidirectional and lstm.num_layers == 2
    lstm.flatten_parameters()  # PyTorch code calls it; nothing to do here
    assert [len(w) for w in lstm.all_weights] == [4] * 4
    assert lstm.all_weights[1][0] is lstm.weight_ih_l0_reverse
    with pytest.raises(TypeError, match="tuple"):
        lstm(tl.zeros(T, N, IN), tl.zeros(4, N, H))  # (h0, c0) is a pair


class Tagger:
    """The same PyTorch-style program for either library: embedding-free sequence tagger."""

    def __init__(self, lib, kind):
        self.rnn = getattr(lib, kind)(IN, H, num_layers=2, batch_first=True, bidirectional=True)
        self.head = lib.Linear(2 * H, 5)

    def params(self):
        return list(self.rnn.parameters()) + list(self.head.parameters())

    def loss(self, F, x, y):
        out, _ = self.rnn(x)
        logits = self.head(out)
        return F.cross_entropy(logits.reshape(-1, 5), y.reshape(-1))


@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
def test_a_pytorch_training_loop_gives_pytorchs_numbers(kind):
    torch.manual_seed(0)
    theirs, ours = Tagger(torch.nn, kind), Tagger(nn, kind)
    for mine, other in ((ours.rnn, theirs.rnn), (ours.head, theirs.head)):
        mine.load_state_dict(other.state_dict())
    x = _rng().standard_normal((N, T, IN)).astype(np.float32)
    y = _rng(1).integers(0, 5, (N, T))
    t_opt = torch.optim.SGD(theirs.params(), lr=0.5)
    o_opt = tl.optim.SGD(ours.params(), lr=0.5)
    for _ in range(3):
        t_opt.zero_grad(), o_opt.zero_grad()
        t_loss = theirs.loss(torch.nn.functional, torch.from_numpy(x), torch.from_numpy(y))
        o_loss = ours.loss(nn.functional, tl.Tensor(x), tl.Tensor(y))
        t_loss.backward(), o_loss.backward()
        t_opt.step(), o_opt.step()
        np.testing.assert_allclose(o_loss.item(), t_loss.item(), rtol=1e-5)
    for (name, p), q in zip(ours.rnn.named_parameters(), theirs.rnn.parameters()):
        np.testing.assert_allclose(p.data, q.detach().numpy(), atol=1e-5, err_msg=name)
