"""The PyTorch bridge: ``to_torch(module)`` builds the equivalent ``torch.nn`` module,
``from_torch(torch_module)`` the equivalent tinygrad_lite one, with identical weights and
buffers (batch norm's running statistics and ``num_batches_tracked``), the same
``state_dict`` keys, dtypes (float32 / float64), ``requires_grad`` flags and train/eval modes.

    torch_model = tl.interop.to_torch(model)          # continue training in PyTorch
    model = tl.interop.from_torch(torch_model)        # and come back

Layers, both ways: Linear, Conv2d, BatchNorm1d/2d, RNN, GRU, LSTM, RNNCell, GRUCell,
LSTMCell, Embedding, LayerNorm, MultiheadAttention, ReLU, LeakyReLU, GELU, Sigmoid, Tanh,
Softmax, LogSoftmax, MaxPool2d, AvgPool2d, Flatten, Unflatten, Dropout, Identity and Sequential
(names kept, nested too). A layer held twice stays one layer held twice.
Anything else, or a PyTorch option this framework lacks (dilation, groups, ceil_mode...),
raises :class:`ConversionError` naming the layer. PyTorch is imported on first use only;
without it the functions raise ImportError with one line saying how to install it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Dict, Optional

import numpy as np

from .. import nn
from ..errors import OneLineError
from .optional import require

__all__ = ["ConversionError", "from_torch", "require_torch", "to_torch"]

INSTALL_HINT = "pip install torch (or the tests' pin: pip install \"tinygrad_lite[parity]\")"


class ConversionError(OneLineError):
    """A module that has no equivalent on the other side. The message is one line."""


def require_torch() -> Any:
    """The ``torch`` module, or ImportError with one line saying how to install it."""
    return require("torch", f"tl.interop needs PyTorch: {INSTALL_HINT}")


def _torch_dtype(torch: Any, dtype: Any, where: str) -> Any:
    table = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}
    if np.dtype(dtype) not in table:
        raise ConversionError(f"{where}: dtype {np.dtype(dtype).name} has no bridge "
                              f"(float32 and float64 do)")
    return table[np.dtype(dtype)]


def _numpy_dtype(torch: Any, dtype: Any, where: str) -> Any:
    table = {torch.float32: np.float32, torch.float64: np.float64}
    if dtype not in table:
        raise ConversionError(f"{where}: dtype {dtype} has no bridge (float32 and float64 do)")
    return table[dtype]


def _tl_dtype(module: nn.Module) -> Any:
    """The dtype of a tinygrad_lite layer's first parameter or buffer (float32 if none)."""
    for _, p in module.named_parameters():
        return p.dtype
    return next((b.dtype for _, b in module.named_buffers() if b.dtype.kind == "f"), np.float32)


def _torch_dtype_of(torch: Any, module: Any) -> Any:
    """The dtype of a torch layer's first parameter or floating buffer (float32 if none)."""
    for p in module.parameters():
        return p.dtype
    return next((b.dtype for b in module.buffers() if b.dtype.is_floating_point), torch.float32)


def _where(path: str) -> str:
    return f"layer {path!r}" if path else "the model"


# ---- tinygrad_lite -> torch: layers without their weights (copied afterwards, by key) -------


def _to_torch_layer(torch: Any, m: Any, kind: type, path: str) -> Any:
    tnn = torch.nn
    dtype = None
    if isinstance(m, (nn.Linear, nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d, nn.RNNBase,
                      nn.RNNCellBase) + _SEQ_LAYERS):
        dtype = _torch_dtype(torch, _tl_dtype(m), _where(path))
    if isinstance(m, (nn.RNNBase, nn.RNNCellBase)):
        return _recurrent_layer(tnn, m, kind, dtype)
    if isinstance(m, _SEQ_LAYERS):
        return _seq_layer(tnn, m, next(c for c in _SEQ_LAYERS if isinstance(m, c)), dtype)
    if isinstance(m, nn.Linear):
        return tnn.Linear(m.in_features, m.out_features, bias=m.bias is not None, dtype=dtype)
    if isinstance(m, nn.Conv2d):
        return tnn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, stride=m.stride,
                          padding=m.padding, bias=m.bias is not None, dtype=dtype)
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        cls = tnn.BatchNorm1d if isinstance(m, nn.BatchNorm1d) else tnn.BatchNorm2d
        return cls(m.num_features, eps=m.eps, momentum=m.momentum, affine=m.affine,
                   track_running_stats=m.track_running_stats, dtype=dtype)
    simple: Dict[type, Callable[[], Any]] = {
        nn.ReLU: tnn.ReLU,
        nn.Sigmoid: tnn.Sigmoid,
        nn.Tanh: tnn.Tanh,
        nn.Identity: tnn.Identity,
        nn.LeakyReLU: lambda: tnn.LeakyReLU(m.negative_slope),
        nn.GELU: lambda: tnn.GELU(approximate=m.approximate),
        nn.Softmax: lambda: tnn.Softmax(dim=-1 if m.dim is None else m.dim),  # ours: -1
        nn.LogSoftmax: lambda: tnn.LogSoftmax(dim=m.dim),  # both: PyTorch's implicit dim
        nn.Flatten: lambda: tnn.Flatten(m.start_dim, m.end_dim),
        nn.Dropout: lambda: tnn.Dropout(m.p),
        nn.MaxPool2d: lambda: tnn.MaxPool2d(m.kernel_size, m.stride, m.padding),
        nn.AvgPool2d: lambda: tnn.AvgPool2d(m.kernel_size, m.stride, m.padding),
        nn.Unflatten: lambda: tnn.Unflatten(m.dim, m.unflattened_size),
    }
    return simple[kind]()


_TO_TORCH = (nn.Linear, nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d, nn.RNN, nn.GRU, nn.LSTM,
             nn.RNNCell, nn.GRUCell, nn.LSTMCell, nn.ReLU, nn.Sigmoid, nn.Tanh, nn.Identity,
             nn.LeakyReLU, nn.GELU, nn.Softmax, nn.LogSoftmax, nn.Flatten,
             nn.Dropout, nn.MaxPool2d, nn.AvgPool2d, nn.Unflatten, nn.Embedding, nn.LayerNorm,
             nn.MultiheadAttention)


def _recurrent_layer(lib: Any, m: Any, kind: type, dtype: Any) -> Any:
    """An RNN, GRU, LSTM or cell of the library `lib` (``torch.nn`` or ``tinygrad_lite.nn``)
    with the options of `m` (a layer of the other library) and parameters of `dtype`."""
    name = kind.__name__
    if name.endswith("Cell"):
        extra = {"nonlinearity": m.nonlinearity} if name == "RNNCell" else {}
        return getattr(lib, name)(m.input_size, m.hidden_size, bias=m.bias, dtype=dtype,
                                  **extra)
    extra = {"nonlinearity": m.nonlinearity} if name == "RNN" else {}
    if name == "LSTM":
        extra["proj_size"] = m.proj_size
    return getattr(lib, name)(m.input_size, m.hidden_size, num_layers=m.num_layers,
                              bias=m.bias, batch_first=m.batch_first, dropout=m.dropout,
                              bidirectional=m.bidirectional, dtype=dtype, **extra)


def _same_forward(m: Any, cls: type) -> bool:
    return isinstance(m, cls) and type(m).forward is cls.forward


def _names(classes: Any) -> str:
    return ", ".join(sorted({c.__name__ for c in classes} | {"Sequential"}))


def _build_torch(torch: Any, m: Any, path: str, memo: Dict[int, Any]) -> Any:
    if id(m) in memo:
        return memo[id(m)]
    if _same_forward(m, nn.Sequential):
        out = torch.nn.Sequential(OrderedDict(
            (name, _build_torch(torch, child, f"{path}.{name}" if path else name, memo))
            for name, child in m._child_items()))
    else:
        cls = next((c for c in _TO_TORCH if _same_forward(m, c)), None)
        if cls is None:
            raise ConversionError(f"to_torch: {_where(path)} ({type(m).__name__}) has no "
                                  f"torch.nn equivalent here; layers that convert: "
                                  f"{_names(_TO_TORCH)}")
        out = _to_torch_layer(torch, m, cls, path)  # a subclass keeping forward: as its base
    out.training = m.training  # this module's own mode (train() would reset the children's)
    memo[id(m)] = out
    return out


def to_torch(module: nn.Module) -> Any:
    """The ``torch.nn`` module equivalent to `module`: same structure and names, identical
    parameters (bit for bit, same dtype and requires_grad) and buffers, same modes."""
    torch = require_torch()
    out = _build_torch(torch, module, "", {})
    state = module.state_dict()
    with torch.no_grad():
        out.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v))
                             for k, v in state.items()}, strict=True)
    requires = dict(module.named_parameters())
    for name, p in out.named_parameters():
        p.requires_grad_(requires[name].requires_grad)
    return out


# ---- the layers of sequence models, both ways --------------------------------------------------

_SEQ_LAYERS = (nn.Embedding, nn.LayerNorm, nn.MultiheadAttention)


def _seq_layer(lib: Any, m: Any, kind: type, dtype: Any) -> Any:
    """An Embedding, LayerNorm or MultiheadAttention (`kind`'s name) of the library `lib`
    (``torch.nn`` or ``tinygrad_lite.nn``) with the options of `m` (the layer of the other
    library) and parameters of `dtype`."""
    name = kind.__name__
    if name == "Embedding":
        return lib.Embedding(m.num_embeddings, m.embedding_dim, padding_idx=m.padding_idx,
                             max_norm=m.max_norm, norm_type=m.norm_type,
                             scale_grad_by_freq=m.scale_grad_by_freq, dtype=dtype)
    if name == "LayerNorm":
        return lib.LayerNorm(tuple(m.normalized_shape), eps=m.eps,
                             elementwise_affine=m.elementwise_affine,
                             bias=m.bias is not None or not m.elementwise_affine, dtype=dtype)
    return lib.MultiheadAttention(m.embed_dim, m.num_heads, dropout=m.dropout,
                                  bias=m.in_proj_bias is not None,
                                  add_bias_kv=m.bias_k is not None,
                                  add_zero_attn=m.add_zero_attn, kdim=m.kdim, vdim=m.vdim,
                                  batch_first=m.batch_first, dtype=dtype)


def _seq_from_torch(torch: Any, m: Any, path: str) -> nn.Module:
    tnn = torch.nn
    dtype = _numpy_dtype(torch, _torch_dtype_of(torch, m), _where(path))
    if isinstance(m, tnn.Embedding) and m.sparse:
        _refuse(path, m, "sparse=True (sparse gradients)")
    kinds = (tnn.Embedding, tnn.LayerNorm, tnn.MultiheadAttention)
    return _seq_layer(nn, m, next(c for c in kinds if isinstance(m, c)), dtype)


# ---- torch -> tinygrad_lite -------------------------------------------------------------------


def _refuse(path: str, m: Any, what: str) -> None:
    raise ConversionError(f"from_torch: {_where(path)} {m!r}: {what} is not supported here")


def _conv_padding(m: Any, path: str) -> Any:
    if m.padding == "valid":
        return 0
    if m.padding == "same":
        if tuple(m.stride) != (1, 1) or any(k % 2 == 0 for k in m.kernel_size):
            _refuse(path, m, "padding='same' with an even kernel or a stride")
        return tuple(k // 2 for k in m.kernel_size)
    return tuple(m.padding)


def _from_torch_layer(torch: Any, m: Any, path: str) -> nn.Module:
    tnn = torch.nn
    if isinstance(m, (tnn.Embedding, tnn.LayerNorm, tnn.MultiheadAttention)):
        return _seq_from_torch(torch, m, path)
    if isinstance(m, (tnn.Linear, tnn.Conv2d, tnn.BatchNorm1d, tnn.BatchNorm2d, tnn.RNNBase,
                      tnn.RNNCellBase)):
        dtype = _numpy_dtype(torch, _torch_dtype_of(torch, m), _where(path))
    recurrent = (tnn.RNN, tnn.GRU, tnn.LSTM, tnn.RNNCell, tnn.GRUCell, tnn.LSTMCell)
    if isinstance(m, recurrent):
        return _recurrent_layer(nn, m, next(c for c in recurrent if isinstance(m, c)), dtype)
    if isinstance(m, tnn.Linear):
        return nn.Linear(m.in_features, m.out_features, bias=m.bias is not None, dtype=dtype)
    if isinstance(m, tnn.Conv2d):
        if tuple(m.dilation) != (1, 1) or m.groups != 1 or m.padding_mode != "zeros":
            _refuse(path, m, "dilation, groups or a padding_mode other than 'zeros'")
        return nn.Conv2d(m.in_channels, m.out_channels, tuple(m.kernel_size),
                         stride=tuple(m.stride), padding=_conv_padding(m, path),
                         bias=m.bias is not None, dtype=dtype)
    if isinstance(m, (tnn.BatchNorm1d, tnn.BatchNorm2d)):
        cls = nn.BatchNorm1d if isinstance(m, tnn.BatchNorm1d) else nn.BatchNorm2d
        return cls(m.num_features, eps=m.eps, momentum=m.momentum, affine=m.affine,
                   track_running_stats=m.track_running_stats, dtype=dtype)
    if isinstance(m, tnn.MaxPool2d):
        if m.dilation not in (1, (1, 1)) or m.ceil_mode or m.return_indices:
            _refuse(path, m, "dilation, ceil_mode or return_indices")
        return nn.MaxPool2d(m.kernel_size, m.stride, m.padding)
    if isinstance(m, tnn.AvgPool2d):
        if m.ceil_mode or not m.count_include_pad or m.divisor_override is not None:
            _refuse(path, m, "ceil_mode, count_include_pad=False or divisor_override")
        return nn.AvgPool2d(m.kernel_size, m.stride, m.padding)
    if isinstance(m, tnn.Softmax):
        if m.dim is None:  # PyTorch picks the axis from the input's rank; ours is -1
            _refuse(path, m, "dim=None (give the axis: Softmax(dim=1))")
        return nn.Softmax(dim=m.dim)
    if isinstance(m, tnn.Unflatten):
        if not isinstance(m.dim, int):
            _refuse(path, m, "a named dimension")
        return nn.Unflatten(m.dim, m.unflattened_size)
    simple: Dict[type, Callable[[], nn.Module]] = {
        tnn.ReLU: nn.ReLU,
        tnn.Sigmoid: nn.Sigmoid,
        tnn.Tanh: nn.Tanh,
        tnn.Identity: nn.Identity,
        tnn.LeakyReLU: lambda: nn.LeakyReLU(m.negative_slope),
        tnn.GELU: lambda: nn.GELU(approximate=m.approximate),
        tnn.LogSoftmax: lambda: nn.LogSoftmax(dim=m.dim),
        tnn.Flatten: lambda: nn.Flatten(m.start_dim, m.end_dim),
        tnn.Dropout: lambda: nn.Dropout(m.p),
    }
    return simple[next(c for c in simple if isinstance(m, c))]()


def _from_torch_classes(torch: Any) -> tuple:
    tnn = torch.nn
    return (tnn.Linear, tnn.Conv2d, tnn.BatchNorm1d, tnn.BatchNorm2d, tnn.RNN, tnn.GRU,
            tnn.LSTM, tnn.RNNCell, tnn.GRUCell, tnn.LSTMCell, tnn.MaxPool2d,
            tnn.AvgPool2d, tnn.Softmax, tnn.Unflatten, tnn.ReLU, tnn.Sigmoid, tnn.Tanh,
            tnn.Identity, tnn.LeakyReLU, tnn.GELU, tnn.LogSoftmax, tnn.Flatten, tnn.Dropout,
            tnn.Embedding, tnn.LayerNorm, tnn.MultiheadAttention)


def _build_tl(torch: Any, m: Any, path: str, memo: Dict[int, nn.Module]) -> nn.Module:
    if id(m) in memo:
        return memo[id(m)]
    out: Optional[nn.Module] = None
    if _same_forward(m, torch.nn.Sequential):
        out = nn.Sequential(OrderedDict(
            (name, _build_tl(torch, child, f"{path}.{name}" if path else name, memo))
            for name, child in m._modules.items() if child is not None))
    elif any(_same_forward(m, c) for c in _from_torch_classes(torch)):
        out = _from_torch_layer(torch, m, path)
    if out is None:
        raise ConversionError(f"from_torch: {_where(path)} ({type(m).__name__}) has no "
                              f"tinygrad_lite equivalent; layers that convert: "
                              f"{_names(_from_torch_classes(torch))}")
    out.training = m.training  # this module's own mode (train() would reset the children's)
    memo[id(m)] = out
    return out


def from_torch(torch_module: Any) -> nn.Module:
    """The tinygrad_lite module equivalent to `torch_module`: same structure and names,
    identical parameters (same dtype and requires_grad) and buffers, same modes."""
    torch = require_torch()
    if not isinstance(torch_module, torch.nn.Module):
        raise ConversionError(f"from_torch: expected a torch.nn.Module, got "
                              f"{type(torch_module).__name__}")
    out = _build_tl(torch, torch_module, "", {})
    state = {k: v.detach().cpu().numpy() for k, v in torch_module.state_dict().items()}
    out.load_state_dict(state, strict=True)
    requires = dict(torch_module.named_parameters())
    for name, p in out.named_parameters():
        p.requires_grad_(requires[name].requires_grad)
    return out
