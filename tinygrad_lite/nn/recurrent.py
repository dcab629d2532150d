"""Recurrent layers: `RNN`, `GRU`, `LSTM` and their cells, with PyTorch's names, arguments,
defaults, initialisation, return values and `state_dict` keys.

Everything is composed from differentiable Tensor ops (linear, sigmoid, tanh, relu,
slicing, stack), so backward, and backward of backward, come for free. The input-to-hidden
product is one matmul over many time steps at once, `x @ W_ih^T + b_ih` for a block of up to
`BLOCK` steps; only the hidden-to-hidden product runs step by step. Gates are stacked in
`weight_ih`/`weight_hh` rows in PyTorch's order: GRU (r, z, n), LSTM (i, f, g, o).
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, List, Optional, Tuple

import numpy as np

from ..core import ops as core
from ..core.tensor import Tensor
from ..ops.factories import cat, stack, zeros
from . import functional as F
from . import init
from .module import Module, Parameter, options_repr

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase"]

# Time steps whose input projection is one matmul. Not the whole sequence: each step reads its
# slice of the projection, and in backward every slice's gradient is scattered into a zeros
# array of the projection's full size, so one projection of T steps costs O(T^2) in backward
# (T=64: 1.6x slower than blocks of 16).
BLOCK = 16


# ---- one time step, given gi = x W_ih^T + b_ih (the input's part, computed beforehand) -------


def _linear(x: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """x W^T + b."""
    return core.Linear.apply(x, weight) if bias is None else core.Linear.apply(x, weight, bias)


def rnn_tanh_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Optional[Tensor]) -> Tensor:
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh)."""
    return (gi + _linear(h, w_hh, b_hh)).tanh()


def rnn_relu_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Optional[Tensor]) -> Tensor:
    """h' = relu(W_ih x + b_ih + W_hh h + b_hh)."""
    return core.ReLU.apply(gi + _linear(h, w_hh, b_hh))


def gru_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Optional[Tensor]) -> Tensor:
    """r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    h' = (1 - z) * n + z * h
    """
    H = h.shape[-1]
    gh = _linear(h, w_hh, b_hh)
    rz = (gi[..., : 2 * H] + gh[..., : 2 * H]).sigmoid()
    r, z = rz[..., :H], rz[..., H:]
    n = (gi[..., 2 * H :] + r * gh[..., 2 * H :]).tanh()
    return (1 - z) * n + z * h


def lstm_step(gi: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Optional[Tensor],
              w_hr: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (W_ih x + b_ih + W_hh h + b_hh)
    c' = f * c + i * g
    h' = o * tanh(c')            (h' = W_hr (o * tanh(c')) with a projection)
    """
    H = c.shape[-1]
    gates = gi + _linear(h, w_hh, b_hh)
    i_f = gates[..., : 2 * H].sigmoid()
    i, f = i_f[..., :H], i_f[..., H:]
    g = gates[..., 2 * H : 3 * H].tanh()
    o = gates[..., 3 * H :].sigmoid()
    c = f * c + i * g
    h = o * c.tanh()
    return (h if w_hr is None else _linear(h, w_hr)), c


# ---- cells ----------------------------------------------------------------------------------


def _check_size(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be greater than zero")



def _uniform_init(layer: Module) -> None:
    """Every weight and bias of a recurrent layer from U(-1/sqrt(hidden), 1/sqrt(hidden)), as
    PyTorch initialises them."""
    stdv = 1.0 / math.sqrt(layer.hidden_size)
    for weight in layer.parameters():
        init.uniform_(weight, -stdv, stdv)

class RNNCellBase(Module):
    """weight_ih (chunks*hidden, input), weight_hh (chunks*hidden, hidden), bias_ih and bias_hh
    (chunks*hidden,), all ~ U(-1/sqrt(hidden), 1/sqrt(hidden)) as PyTorch."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 dtype: Any = np.float32):
        _check_size("input_size", input_size)
        _check_size("hidden_size", hidden_size)
        self.input_size, self.hidden_size, self.bias = int(input_size), int(hidden_size), bias
        gate = num_chunks * self.hidden_size
        dtype = np.float32 if dtype is None else dtype
        self.weight_ih = Parameter(np.empty((gate, self.input_size), dtype=dtype))
        self.weight_hh = Parameter(np.empty((gate, self.hidden_size), dtype=dtype))
        self.bias_ih = Parameter(np.empty(gate, dtype=dtype)) if bias else None
        self.bias_hh = Parameter(np.empty(gate, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _uniform_init(self)

    def extra_repr(self) -> str:
        head = f"{self.input_size}, {self.hidden_size}"
        return options_repr(self, head, bias=True, nonlinearity="tanh")

    def _batched(self, x: Tensor, hx: Optional[Tensor], what: str) -> Tuple[Tensor, bool]:
        """x as (N, input_size), checked as PyTorch; and whether it came batched."""
        name = type(self).__name__
        if x.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {x.ndim}D instead")
        if hx is not None and hx.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {hx.ndim}D instead")
        if x.dtype != self.weight_ih.dtype:
            raise RuntimeError(f"{name}: input is {x.dtype} but the weights are "
                               f"{self.weight_ih.dtype}; convert one")
        batched = x.ndim == 2
        x = x if batched else x.unsqueeze(0)
        if x.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {x.shape[1]} "
                               f"expected {self.input_size}")
        return x, batched

    def _hidden(self, x: Tensor, hx: Optional[Tensor], batched: bool, label: str) -> Tensor:
        """hx as (N, hidden_size): zeros when None; checked against x as PyTorch."""
        if hx is None:
            return zeros(x.shape[0], self.hidden_size, dtype=x.dtype)
        hx = hx if batched else hx.unsqueeze(0)
        if hx.ndim != 2 or hx.shape[0] != x.shape[0]:
            raise RuntimeError(f"Input batch size {x.shape[0]} doesn't match hidden{label} "
                               f"batch size {hx.shape[0]}")
        if hx.shape[1] != self.hidden_size:
            raise RuntimeError(f"hidden{label} has inconsistent hidden_size: got "
                               f"{hx.shape[1]}, expected {self.hidden_size}")
        return hx


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)  (relu with nonlinearity="relu").

    input (N, input_size) or (input_size,); hx likewise with hidden_size (zeros when None);
    returns h' of hx's shape."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", *, dtype: Any = np.float32):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:  # noqa: A002
        x, batched = self._batched(input, hx, "hidden")
        h = self._hidden(x, hx, batched, "")
        if self.nonlinearity == "tanh":
            step = rnn_tanh_step
        elif self.nonlinearity == "relu":
            step = rnn_relu_step
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        h = step(_linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh)
        return h if batched else h.squeeze(0)


class GRUCell(RNNCellBase):
    """r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz),
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h.

    input (N, input_size) or (input_size,); hx likewise with hidden_size (zeros when None)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 dtype: Any = np.float32):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, dtype=dtype)

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:  # noqa: A002
        x, batched = self._batched(input, hx, "hidden")
        h = self._hidden(x, hx, batched, "")
        h = gru_step(_linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (W_ih x + b_ih + W_hh h + b_hh);
    c' = f * c + i * g,  h' = o * tanh(c').

    input (N, input_size) or (input_size,); hx = (h, c), each like the input with hidden_size
    (zeros when None); returns (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 dtype: Any = np.float32):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, dtype=dtype)

    def forward(self, input: Tensor,  # noqa: A002
                hx: Optional[Tuple[Tensor, Tensor]] = None) -> Tuple[Tensor, Tensor]:
        if hx is not None:
            for idx, value in enumerate(hx):
                if value.ndim not in (1, 2):
                    raise ValueError(f"LSTMCell: Expected hx[{idx}] to be 1D or 2D, got "
                                     f"{value.ndim}D instead")
        x, batched = self._batched(input, None, "hidden")
        h0, c0 = (None, None) if hx is None else hx
        h = self._hidden(x, h0, batched, "[0]")
        c = self._hidden(x, c0, batched, "[1]")
        h, c = lstm_step(_linear(x, self.weight_ih, self.bias_ih), h, c,
                         self.weight_hh, self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


# ---- multi-layer, optionally bidirectional, sequence layers ---------------------------------


class RNNBase(Module):
    """The common part of RNN, GRU and LSTM: parameters named as PyTorch's
    (weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, then weight_hr_l{k} for an
    LSTM with proj_size, and `_reverse` for the backward direction), all initialised
    U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).

    forward(input, hx): input (L, N, input_size) ((N, L, input_size) with batch_first) or
    unbatched (L, input_size). Each layer runs over the sequence (forwards, and backwards too
    when bidirectional: the two outputs concatenated on the feature axis) and feeds the next;
    dropout (training only) sits between layers. Returns the last layer's output
    (L, N, D * H_out) and the final states (num_layers * D, N, H_out), layer by layer, the
    forward direction before the backward one.
    """

    _gates = {"RNN_TANH": 1, "RNN_RELU": 1, "GRU": 3, "LSTM": 4}

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, dtype: Any = np.float32):
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: "
                            f"{type(batch_first).__name__}")
        _check_size("input_size", input_size)
        _check_size("hidden_size", hidden_size)
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in self._gates:
            raise ValueError("Unrecognized RNN mode: " + mode)
        self.mode = mode
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.num_layers, self.bias, self.batch_first = int(num_layers), bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.proj_size = int(proj_size)
        dtype = np.float32 if dtype is None else dtype
        gate = self._gates[mode] * self.hidden_size
        real_hidden = self.proj_size or self.hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names: List[str] = []
        self._all_weights: List[List[str]] = []
        for layer in range(self.num_layers):
            for direction in range(directions):
                layer_input = self.input_size if layer == 0 else real_hidden * directions
                shapes = {"weight_ih": (gate, layer_input), "weight_hh": (gate, real_hidden)}
                if bias:
                    shapes.update(bias_ih=(gate,), bias_hh=(gate,))
                if self.proj_size:
                    shapes["weight_hr"] = (self.proj_size, self.hidden_size)
                suffix = "_reverse" if direction == 1 else ""
                names = []
                for kind, shape in shapes.items():
                    name = f"{kind}_l{layer}{suffix}"
                    setattr(self, name, Parameter(np.empty(shape, dtype=dtype)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _uniform_init(self)

    def flatten_parameters(self) -> None:
        """Nothing to do: PyTorch packs the weights for cuDNN here; numpy needs no packing."""

    @property
    def all_weights(self) -> List[List[Parameter]]:
        """The parameters, one list per layer and direction (PyTorch's `all_weights`)."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        return options_repr(
            self, f"{self.input_size}, {self.hidden_size}", proj_size=0, num_layers=1,
            bias=True, batch_first=False, dropout=0, bidirectional=False,
        )

    # ---- checks, as PyTorch's ------------------------------------------------------------
    def _check_input(self, x: Tensor) -> None:
        dtype = self.weight_ih_l0.dtype
        if x.dtype != dtype:
            raise ValueError(f"RNN input dtype ({x.dtype}) does not match weight dtype "
                             f"({dtype}). Convert input, or convert the model")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {x.shape[-1]}")

    def _expected_hidden(self, batch: int, size: int) -> Tuple[int, int, int]:
        return (self.num_layers * (2 if self.bidirectional else 1), batch, size)

    def _state(self, given: Optional[Tensor], batched: bool, batch: int, size: int,
               dtype: Any, what: str) -> Tensor:
        """A state (layers * directions, N, size): zeros when not given; given unbatched as
        (layers * directions, size)."""
        expected = self._expected_hidden(batch, size)
        if given is None:
            return zeros(*expected, dtype=dtype)
        if not batched:
            given = given.unsqueeze(1)
        if tuple(given.shape) != expected:
            raise RuntimeError(f"Expected {what} size {expected}, got {list(given.shape)}")
        return given

    def _prepare(self, input: Tensor, hx: Any) -> Tuple[Tensor, bool]:  # noqa: A002
        """input as (L, N, input_size); and whether it came batched."""
        name = "RNN" if self.mode.startswith("RNN") else self.mode
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D "
                             f"tensor instead")
        batched = input.ndim == 3
        if hx is not None:
            if self.mode == "LSTM" and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                raise TypeError("LSTM: hx must be a tuple (h_0, c_0)")
            states = hx if self.mode == "LSTM" else (hx,)
            want = 3 if batched else 2
            if any(s.ndim != want for s in states):
                dims = ", ".join(f"{s.ndim}-D" for s in states)
                kind = "batched 3-D" if batched else "unbatched 2-D"
                raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got "
                                   f"({dims}) tensor(s)")
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        self._check_input(x)
        return x, batched

    # ---- the recurrence ----------------------------------------------------------------
    def _run(self, x: Tensor, h0: Tensor, c0: Optional[Tensor]) -> Tuple[Tensor, list, list]:
        """All layers and directions over x (L, N, in). Returns the output and the final h
        and c of each layer and direction."""
        directions = 2 if self.bidirectional else 1
        hs, cs = [], []
        for layer in range(self.num_layers):
            if layer > 0:
                x = F.dropout(x, self.dropout, self.training)  # between layers only
            outs = []
            for direction in range(directions):
                k = layer * directions + direction
                out, h, c = self._direction(x, h0[k], None if c0 is None else c0[k],
                                            direction == 1, *self._weights(layer, direction))
                outs.append(out)
                hs.append(h)
                cs.append(c)
            x = outs[0] if directions == 1 else cat(outs, -1)  # features side by side
        return x, hs, cs

    def _weights(self, layer: int, direction: int) -> Tuple[Optional[Parameter], ...]:
        """(weight_ih, weight_hh, bias_ih, bias_hh, weight_hr) of one layer and direction;
        None for those it lacks."""
        suffix = "_reverse" if direction == 1 else ""
        return tuple(getattr(self, f"{kind}_l{layer}{suffix}", None)
                     for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"))

    def _direction(self, x: Tensor, h: Tensor, c: Optional[Tensor], reverse: bool,
                   weight_ih: Tensor, weight_hh: Tensor, bias_ih: Optional[Tensor],
                   bias_hh: Optional[Tensor], w_hr: Optional[Tensor]) -> Tuple[Tensor, ...]:
        """One layer in one direction: h_t = cell(x_t, h_{t-1}) for t over the sequence (from
        the end when `reverse`). The input's part of the steps, x W_ih^T + b_ih, is one matmul
        per block of `BLOCK` steps."""
        L = x.shape[0]
        outs: List[Any] = [None] * L
        starts = range(0, L, BLOCK)
        for start in (reversed(starts) if reverse else starts):
            gi = _linear(x[start : start + BLOCK], weight_ih, bias_ih)  # (<=BLOCK, N, gates*H)
            steps = range(gi.shape[0])
            for j in (reversed(steps) if reverse else steps):
                if self.mode == "LSTM":
                    h, c = lstm_step(gi[j], h, c, weight_hh, bias_hh, w_hr)
                elif self.mode == "GRU":
                    h = gru_step(gi[j], h, weight_hh, bias_hh)
                elif self.mode == "RNN_TANH":
                    h = rnn_tanh_step(gi[j], h, weight_hh, bias_hh)
                else:
                    h = rnn_relu_step(gi[j], h, weight_hh, bias_hh)
                outs[start + j] = h
        return stack(outs, 0), h, c

    def _forward_h(self, input: Tensor,  # noqa: A002
                   hx: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        """RNN's and GRU's forward: (output, h_n), their state being h alone."""
        x, batched = self._prepare(input, hx)
        h0 = self._state(hx, batched, x.shape[1], self.hidden_size, x.dtype, "hidden")
        out, hs, _ = self._run(x, h0, None)
        h_n = stack(hs, 0)
        return self._finish(out, batched), (h_n if batched else h_n.squeeze(1))

    def _finish(self, out: Tensor, batched: bool) -> Tensor:
        if not batched:
            return out.squeeze(1)
        return out.transpose(0, 1) if self.batch_first else out


def _no_projection(kwargs: dict) -> None:
    """RNN and GRU take no proj_size (PyTorch's ValueError), nor other unknown keywords."""
    if "proj_size" in kwargs:
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
    if kwargs:
        raise TypeError(f"unexpected keyword argument {next(iter(kwargs))!r}")


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), per layer.

    RNN(input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
    batch_first=False, dropout=0.0, bidirectional=False); forward(input, hx=None) returns
    (output, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, *, dtype: Any = np.float32,
                 **kwargs: Any):
        _no_projection(kwargs)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             f"'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype)

    def forward(self, input: Tensor,  # noqa: A002
                hx: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        return self._forward_h(input, hx)


class GRU(RNNBase):
    """Gated recurrent unit, per layer and time step (gates r, z, n as PyTorch):
    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz),
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h.

    GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False); forward(input, hx=None) returns (output, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, *, dtype: Any = np.float32, **kwargs: Any):
        _no_projection(kwargs)
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, dtype=dtype)

    def forward(self, input: Tensor,  # noqa: A002
                hx: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        return self._forward_h(input, hx)


class LSTM(RNNBase):
    """Long short-term memory, per layer and time step (gates i, f, g, o as PyTorch):
    i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (W_ih x + b_ih + W_hh h + b_hh),
    c' = f * c + i * g,  h' = o * tanh(c')  (h' = W_hr (o * tanh(c')) with proj_size > 0).

    LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, proj_size=0); forward(input, (h0, c0)=None) returns
    (output, (h_n, c_n))."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, *,
                 dtype: Any = np.float32):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, dtype=dtype)

    def forward(self, input: Tensor,  # noqa: A002
                hx: Optional[Tuple[Tensor, Tensor]] = None
                ) -> Tuple[Tensor, Tuple[Tensor, Tensor]]:
        x, batched = self._prepare(input, hx)
        h_in, c_in = (None, None) if hx is None else hx
        h0 = self._state(h_in, batched, x.shape[1], self.proj_size or self.hidden_size,
                         x.dtype, "hidden[0]")
        c0 = self._state(c_in, batched, x.shape[1], self.hidden_size, x.dtype, "hidden[1]")
        out, hs, cs = self._run(x, h0, c0)
        h_n, c_n = stack(hs, 0), stack(cs, 0)
        if not batched:
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return self._finish(out, batched), (h_n, c_n)
