"""ONNX export: ``tl.onnx.export(model, example_input, "model.onnx")``, PyTorch's
``torch.onnx.export`` for the layers this framework has.

    tl.onnx.export(model, X[:1], "model.onnx")          # X (N, 784) float32
    session = onnxruntime.InferenceSession("model.onnx")
    logits = session.run(None, {"input": X})[0]         # any batch size: (N, 10)

The graph has one input, ``"input"``, and one output, ``"output"``; their first axis is the
dynamic ``"batch"`` axis, the others have `example_input`'s shapes. Weights are initializers
named as in ``model.state_dict()`` (``"0.weight"``, ``"1.running_mean"``...). The export is
the model in evaluation mode, as PyTorch's exporter does by default: Dropout is the identity
and BatchNorm uses its running statistics (batch statistics when built with
``track_running_stats=False``, as it would in eval mode here). The model's own mode is left as
it was.

Layers: Linear, Conv2d, BatchNorm1d/2d, ReLU, LeakyReLU, GELU (both forms), ELU, SiLU,
Hardtanh, Sigmoid, Tanh, Softmax, LogSoftmax, MaxPool2d, AvgPool2d, Flatten, Unflatten (of a
non-batch axis), Dropout, Identity, Embedding (Gather; the input is then int64 indices),
LayerNorm (LayerNormalization), MultiheadAttention as self-attention without masks (its output
alone: MatMul, Softmax...) and Sequential of these, nested too. Anything else raises
:class:`ExportError`, naming the layer. Opset 17, IR version 8: what ONNX Runtime 1.13 and
later read. ``onnx`` is imported on first use only: ``import tinygrad_lite`` never needs it;
without it, :func:`export` raises ImportError with one line, ``pip install
"tinygrad_lite[onnx]"``.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..core.tensor import Tensor, as_tensor
from ..errors import OneLineError
from ..version import __version__
from .atomic import atomic_write
from .optional import require

__all__ = ["EXTRA_HINT", "IR_VERSION", "OPSET", "ExportError", "export", "require_onnx"]

OPSET = 17
IR_VERSION = 8
EXTRA_HINT = 'pip install "tinygrad_lite[onnx]"'
INPUT, OUTPUT, BATCH = "input", "output", "batch"
PathLike = Union[str, "os.PathLike[str]"]


class ExportError(OneLineError):
    """A model that cannot be exported (an unsupported layer). The message is one line."""


def require_onnx() -> Any:
    """The ``onnx`` module, or ImportError with one line saying how to install it."""
    return require("onnx", f"ONNX export needs the onnx package: {EXTRA_HINT}")


class _Graph:
    """Nodes and initializers collected while walking the model; names are unique."""

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self.nodes: List[Tuple[str, List[str], List[str], Dict[str, Any]]] = []
        self.initializers: Dict[str, np.ndarray] = {}
        self.count = 0

    def node(self, op: str, inputs: Sequence[str], name: str, **attrs: Any) -> str:
        """Add `op`(inputs) with attributes; returns the name of its one output."""
        self.count += 1
        out = f"{name or 'model'}/{op}_{self.count}"
        self.nodes.append((op, list(inputs), [out], attrs))
        return out

    def weight(self, name: str, array: np.ndarray) -> str:
        """An initializer (a copy of `array`) under `name`, made unique if taken."""
        key, i = name, 1
        while key in self.initializers:
            key, i = f"{name}_{i}", i + 1
        self.initializers[key] = np.array(array, copy=True)
        return key

    def const(self, name: str, value: Any, dtype: Any = None) -> str:
        """A constant initializer (scalars in the model's dtype unless `dtype` is given)."""
        return self.weight(name, np.asarray(value, dtype=dtype or self.dtype))


# ---- one emitter per layer: (graph, layer, path, input name, input shape) -> output name -----

Emitter = Callable[[_Graph, Any, str, str, Tuple[int, ...]], str]


def _dot(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _linear(g: _Graph, m: nn.Linear, path: str, x: str, shape: Tuple[int, ...]) -> str:
    """y = x W^T + b: Gemm(transB=1) for (N, in) input, else MatMul with W^T, then Add."""
    w = g.weight(_dot(path, "weight"), m.weight.data)
    b = None if m.bias is None else g.weight(_dot(path, "bias"), m.bias.data)
    if len(shape) == 2:
        return g.node("Gemm", [x, w] + ([b] if b else []), path, transB=1)
    y = g.node("MatMul", [x, g.node("Transpose", [w], path, perm=[1, 0])], path)
    return g.node("Add", [y, b], path) if b else y


def _conv2d(g: _Graph, m: nn.Conv2d, path: str, x: str, shape: Tuple[int, ...]) -> str:
    inputs = [x, g.weight(_dot(path, "weight"), m.weight.data)]
    if m.bias is not None:
        inputs.append(g.weight(_dot(path, "bias"), m.bias.data))
    ph, pw = m.padding
    return g.node("Conv", inputs, path, kernel_shape=list(m.kernel_size),
                  strides=list(m.stride), pads=[ph, pw, ph, pw])


def _batch_norm(g: _Graph, m: Any, path: str, x: str, shape: Tuple[int, ...]) -> str:
    """Eval mode: (x - running_mean) / sqrt(running_var + eps) * weight + bias, per channel
    (axis 1). Without running statistics the batch's (biased) mean and variance."""
    c = m.num_features
    ones, zeros = np.ones(c, g.dtype), np.zeros(c, g.dtype)
    w = g.weight(_dot(path, "weight"), ones if m.weight is None else m.weight.data)
    b = g.weight(_dot(path, "bias"), zeros if m.bias is None else m.bias.data)
    if m.track_running_stats:
        mean = g.weight(_dot(path, "running_mean"), m.running_mean)
        var = g.weight(_dot(path, "running_var"), m.running_var)
        return g.node("BatchNormalization", [x, w, b, mean, var], path, epsilon=float(m.eps))
    axes = [0, *range(2, len(shape))]
    centred = g.node("Sub", [x, g.node("ReduceMean", [x], path, axes=axes, keepdims=1)], path)
    var = g.node("ReduceMean", [g.node("Mul", [centred, centred], path)], path, axes=axes,
                 keepdims=1)
    std = g.node("Sqrt", [g.node("Add", [var, g.const(_dot(path, "eps"), m.eps)], path)], path)
    per_channel = g.const(_dot(path, "channel_shape"), [1, c] + [1] * (len(shape) - 2), np.int64)
    w, b = (g.node("Reshape", [t, per_channel], path) for t in (w, b))
    y = g.node("Div", [centred, std], path)
    return g.node("Add", [g.node("Mul", [y, w], path), b], path)


def _gelu(g: _Graph, m: nn.GELU, path: str, x: str, shape: Tuple[int, ...]) -> str:
    """x (1 + erf(x / sqrt 2)) / 2, or x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2."""
    if m.approximate == "tanh":
        cube = g.node("Mul", [g.node("Mul", [x, x], path), x], path)
        inner = g.node("Add", [x, g.node("Mul", [cube, g.const(_dot(path, "kappa"), 0.044715)],
                                         path)], path)
        scaled = g.node("Mul", [inner, g.const(_dot(path, "sqrt_2_over_pi"),
                                               math.sqrt(2 / math.pi))], path)
        s = g.node("Tanh", [scaled], path)
    else:
        s = g.node("Erf", [g.node("Mul", [x, g.const(_dot(path, "inv_sqrt_2"),
                                                     1 / math.sqrt(2))], path)], path)
    one_plus = g.node("Add", [s, g.const(_dot(path, "one"), 1.0)], path)
    half_x = g.node("Mul", [x, g.const(_dot(path, "half"), 0.5)], path)
    return g.node("Mul", [half_x, one_plus], path)


def _leaky_relu(g: _Graph, m: nn.LeakyReLU, path: str, x: str, shape: Tuple[int, ...]) -> str:
    """x where x >= 0, slope x elsewhere: PRelu with the slope in the model's dtype (LeakyRelu's
    alpha attribute is a float32, which would round a float64 model's slope)."""
    return g.node("PRelu", [x, g.const(_dot(path, "negative_slope"), [m.negative_slope])], path)


def _elu(g: _Graph, m: nn.ELU, path: str, x: str, shape: Tuple[int, ...]) -> str:
    """x where x > 0, alpha (exp(x) - 1) elsewhere: ONNX Elu in float32 (its alpha attribute
    is a float32); in float64, which ONNX Runtime's Elu lacks, Where(x > 0, x, alpha (exp(x) -
    1)) with alpha in the model's dtype."""
    if g.dtype != np.float64:
        return g.node("Elu", [x], path, alpha=float(m.alpha))
    zero, one = g.const(_dot(path, "zero"), 0.0), g.const(_dot(path, "one"), 1.0)
    negative = g.node("Mul", [g.const(_dot(path, "alpha"), m.alpha),
                              g.node("Sub", [g.node("Exp", [x], path), one], path)], path)
    return g.node("Where", [g.node("Greater", [x, zero], path), x, negative], path)


def _silu(g: _Graph, m: nn.SiLU, path: str, x: str, shape: Tuple[int, ...]) -> str:
    """x sigmoid(x) (opset 17 has no Swish): Mul(x, Sigmoid(x))."""
    return g.node("Mul", [x, g.node("Sigmoid", [x], path)], path)


def _hardtanh(g: _Graph, m: nn.Hardtanh, path: str, x: str, shape: Tuple[int, ...]) -> str:
    """x clamped to [min_val, max_val]: Clip with its bounds as inputs in the model's dtype."""
    low = g.const(_dot(path, "min_val"), m.min_val)
    return g.node("Clip", [x, low, g.const(_dot(path, "max_val"), m.max_val)], path)


def _softmax_axis(dim: Optional[int], ndim: int) -> int:
    return -1 if dim is None else dim


def _log_softmax_axis(dim: Optional[int], ndim: int) -> int:
    return (0 if ndim in (0, 1, 3) else 1) if dim is None else dim  # PyTorch's implicit dim


def _flatten(g: _Graph, m: nn.Flatten, path: str, x: str, shape: Tuple[int, ...]) -> str:
    """Axes start_dim..end_dim merged: ONNX Flatten for (N, ...) -> (N, rest), else Reshape
    to [0 (kept) before start, -1, the sizes after end] (the batch axis stays dynamic)."""
    n = len(shape)
    start, end = m.start_dim % max(n, 1), m.end_dim % max(n, 1)
    if start == 1 and end == n - 1:
        return g.node("Flatten", [x], path, axis=1)
    target = [0] * start + [-1] + list(shape[end + 1:])
    if start >= end:  # nothing to merge
        target = [0] * n
    return g.node("Reshape", [x, g.const(_dot(path, "shape"), target, np.int64)], path)


def _pool(op: str, **extra: Any) -> Emitter:
    def emit(g: _Graph, m: Any, path: str, x: str, shape: Tuple[int, ...]) -> str:
        ph, pw = m.padding
        return g.node(op, [x], path, kernel_shape=list(m.kernel_size), strides=list(m.stride),
                      pads=[ph, pw, ph, pw], **extra)

    return emit


def _unflatten(g: _Graph, m: nn.Unflatten, path: str, x: str, shape: Tuple[int, ...]) -> str:
    """Reshape to [0 (kept) before dim, the new sizes, the sizes after dim]."""
    dim = m.dim % len(shape)
    if dim == 0:
        raise ExportError(f"layer {path or 'model'} (Unflatten): the batch axis (dim 0) "
                          "cannot be split in the exported graph")
    target = [0] * dim + list(m.unflattened_size) + list(shape[dim + 1 :])
    return g.node("Reshape", [x, g.const(_dot(path, "shape"), target, np.int64)], path)


def _simple(op: str, **attrs: Callable[[Any, Tuple[int, ...]], Any]) -> Emitter:
    """A one-node layer; each attribute is computed from (layer, input shape)."""

    def emit(g: _Graph, m: Any, path: str, x: str, shape: Tuple[int, ...]) -> str:
        return g.node(op, [x], path, **{k: f(m, shape) for k, f in attrs.items()})

    return emit


def _embedding(g: _Graph, m: nn.Embedding, path: str, x: str, shape: Tuple[int, ...]) -> str:
    """weight[indices]: Gather along axis 0. With max_norm, every row is stored rescaled as a
    lookup would rescale it, so the graph needs no renorm of its own."""
    w = m.weight.data
    if m.max_norm is not None:
        norms = np.linalg.norm(w, ord=m.norm_type, axis=1, keepdims=True)
        w = np.where(norms > m.max_norm, w * (m.max_norm / (norms + 1e-7)), w).astype(w.dtype)
    return g.node("Gather", [g.weight(_dot(path, "weight"), w), x], path, axis=0)


def _layer_norm(g: _Graph, m: nn.LayerNorm, path: str, x: str, shape: Tuple[int, ...]) -> str:
    """LayerNormalization over the last len(normalized_shape) axes (scale 1 without affine)."""
    k = len(m.normalized_shape)
    scale = (m.weight.data if m.weight is not None
             else np.ones(m.normalized_shape, g.dtype))
    inputs = [x, g.weight(_dot(path, "weight"), scale)]
    if m.bias is not None:
        inputs.append(g.weight(_dot(path, "bias"), m.bias.data))
    stash = 11 if g.dtype == np.float64 else 1  # mean and 1/sigma in double for a double model
    return g.node("LayerNormalization", inputs, path, axis=-k, epsilon=float(m.eps),
                  stash_type=stash)


def attention_nodes(g: _Graph, q: str, k: str, v: str, path: str, scale: float,
                    causal: Optional[int] = None) -> str:
    """softmax(q k^T * scale [+ causal mask]) v for q, k, v (..., L, d): MatMul, Mul, Softmax,
    MatMul. `causal` = L adds the (L, L) mask of -inf above the diagonal (a constant)."""
    kt = g.node("Transpose", [k], path, perm=[0, 1, 3, 2])
    scores = g.node("Mul", [g.node("MatMul", [q, kt], path),
                            g.const(_dot(path, "scale"), scale)], path)
    if causal is not None:
        mask = np.triu(np.full((causal, causal), -np.inf, g.dtype), 1)
        scores = g.node("Add", [scores, g.const(_dot(path, "causal_mask"), mask)], path)
    return g.node("MatMul", [g.node("Softmax", [scores], path, axis=-1), v], path)


def _multihead_attention(g: _Graph, m: nn.MultiheadAttention, path: str, x: str,
                         shape: Tuple[int, ...]) -> str:
    """Self-attention m(x, x, x)[0], no masks: per head softmax(Q K^T / sqrt(d)) V, then
    out_proj. Sequence-first input is transposed to (N, L, E) and back."""
    if not m._qkv_same_embed_dim or len(shape) != 3 or m.bias_k is not None or m.add_zero_attn:
        raise ExportError(f"layer {path or 'model'} (MultiheadAttention): only batched "
                          "self-attention with kdim = vdim = embed_dim, without add_bias_kv "
                          "or add_zero_attn, exports")
    e, h, d = m.embed_dim, m.num_heads, m.head_dim
    if not m.batch_first:
        x = g.node("Transpose", [x], path, perm=[1, 0, 2])
    heads = g.const(_dot(path, "heads_shape"), [0, 0, h, d], np.int64)
    parts = []
    for i, name in enumerate("qkv"):
        w = m.in_proj_weight.data[i * e:(i + 1) * e]
        y = g.node("MatMul", [x, g.weight(_dot(path, f"{name}_proj_weight_t"), w.T)], path)
        if m.in_proj_bias is not None:
            b = m.in_proj_bias.data[i * e:(i + 1) * e]
            y = g.node("Add", [y, g.weight(_dot(path, f"{name}_proj_bias"), b)], path)
        y = g.node("Reshape", [y, heads], path)
        parts.append(g.node("Transpose", [y], path, perm=[0, 2, 1, 3]))  # (N, h, L, d)
    y = attention_nodes(g, *parts, path, 1.0 / math.sqrt(d))
    y = g.node("Transpose", [y], path, perm=[0, 2, 1, 3])
    y = g.node("Reshape", [y, g.const(_dot(path, "merged_shape"), [0, 0, e], np.int64)], path)
    y = _linear(g, m.out_proj, _dot(path, "out_proj"), y, (0, 0, e))
    return y if m.batch_first else g.node("Transpose", [y], path, perm=[1, 0, 2])


def _call(module: Any, x: Tensor) -> Tensor:
    """The module applied to one input as the graph computes it: self-attention's output for
    MultiheadAttention, also inside a Sequential."""
    if isinstance(module, nn.MultiheadAttention):
        return module(x, x, x, need_weights=False)[0]
    if _is_sequential(module):
        for child in module._child_items():
            x = _call(child[1], x)
        return x
    return module(x)


EMITTERS: Dict[type, Emitter] = {
    nn.Linear: _linear,
    nn.Conv2d: _conv2d,
    nn.BatchNorm1d: _batch_norm,
    nn.BatchNorm2d: _batch_norm,
    nn.ReLU: _simple("Relu"),
    nn.Sigmoid: _simple("Sigmoid"),
    nn.Tanh: _simple("Tanh"),
    nn.LeakyReLU: _leaky_relu,
    nn.GELU: _gelu,
    nn.ELU: _elu,
    nn.SiLU: _silu,
    nn.Hardtanh: _hardtanh,
    nn.Softmax: _simple("Softmax", axis=lambda m, s: _softmax_axis(m.dim, len(s))),
    nn.LogSoftmax: _simple("LogSoftmax", axis=lambda m, s: _log_softmax_axis(m.dim, len(s))),
    nn.MaxPool2d: _pool("MaxPool"),
    nn.AvgPool2d: _pool("AveragePool", count_include_pad=1),  # zero padding counted
    nn.Flatten: _flatten,
    nn.Dropout: _simple("Identity"),  # eval mode
    nn.Identity: _simple("Identity"),
    nn.Unflatten: _unflatten,
    nn.Embedding: _embedding,
    nn.LayerNorm: _layer_norm,
    nn.MultiheadAttention: _multihead_attention,
}


def _emitter(module: Any) -> Optional[Emitter]:
    """The emitter of `module`'s class, or of a base class whose forward it keeps."""
    for cls in type(module).__mro__:
        if cls in EMITTERS and type(module).forward is cls.forward:
            return EMITTERS[cls]
    return None


def _is_sequential(module: Any) -> bool:
    return isinstance(module, nn.Sequential) and type(module).forward is nn.Sequential.forward


def _supported() -> str:
    return ", ".join(sorted({c.__name__ for c in EMITTERS} | {"Sequential"}))


def _walk(g: _Graph, module: Any, path: str, x_name: str, x: Tensor) -> Tuple[str, Tensor]:
    """Emit `module` applied to `x_name` (whose example value is `x`): (output name, value)."""
    if _is_sequential(module):
        for name, child in list(module._child_items()):
            x_name, x = _walk(g, child, _dot(path, name), x_name, x)
        return x_name, x
    emit = _emitter(module)
    if emit is None:
        where = f"layer {path!r} " if path else "the model "
        raise ExportError(f"tl.onnx.export: {where}({type(module).__name__}) is not supported; "
                          f"layers that export: {_supported()}")
    return emit(g, module, path, x_name, tuple(x.shape)), _call(module, x)


def _output_shape(model: nn.Module, x: Tensor, y: Tensor) -> List[Any]:
    """y's shape with "batch" where it is the batch size (at this batch and twice it), None
    where it changes otherwise (e.g. batch x channels after Flatten(0, 1))."""
    with no_grad():
        y2 = _call(model, Tensor(np.concatenate([x.data, x.data])))
    n = x.shape[0]
    return [d if d == d2 else BATCH if (d, d2) == (n, 2 * n) else None
            for d, d2 in zip(y.shape, y2.shape)]


def _first_layer(model: nn.Module) -> Any:
    """The first layer the input meets (inside nested Sequentials); None if there is none."""
    while _is_sequential(model):
        children = list(model._child_items())
        if not children:
            return None
        model = children[0][1]
    return model


def _model_dtype(model: nn.Module) -> Any:
    """The dtype of the model's first floating parameter (float32 if it has none)."""
    return next((p.dtype for p in model.parameters() if p.dtype.kind == "f"), np.float32)


_ONNX_TYPES = {np.dtype(np.float32): "FLOAT", np.dtype(np.float64): "DOUBLE",
               np.dtype(np.float16): "FLOAT16"}


def export(model: nn.Module, example_input: Any, path: Optional[PathLike] = None) -> Any:
    """Write `model` (evaluation semantics) as an ONNX graph to `path`, atomically; returns
    the checked ``onnx.ModelProto``.

    `example_input` (a Tensor or array, e.g. one batch of one) fixes the dtype and every axis
    but the first, which is the dynamic "batch" axis of "input" and "output". With
    ``path=None`` nothing is written.
    """
    onnx = require_onnx()
    from onnx import TensorProto, helper, numpy_helper

    x = as_tensor(np.asarray(example_input) if not isinstance(example_input, Tensor)
                  else example_input)
    if x.ndim < 1:
        raise ExportError("tl.onnx.export: example_input needs a batch axis, got a 0-d input")
    # integer lookups of a first Embedding: int64 in the graph
    indices = np.dtype(x.dtype).kind in "iu" and isinstance(_first_layer(model), nn.Embedding)
    if indices:
        x = as_tensor(x.data.astype(np.int64))
    elif np.dtype(x.dtype) not in _ONNX_TYPES:
        raise ExportError(f"tl.onnx.export: example_input must be a float tensor (integer "
                          f"indices for a model that starts with an Embedding), got {x.dtype}")
    elem = TensorProto.INT64 if indices else getattr(TensorProto, _ONNX_TYPES[np.dtype(x.dtype)])
    g = _Graph(np.dtype(_model_dtype(model) if indices else x.dtype))
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            last, y = _walk(g, model, "", INPUT, x)
        out_shape = _output_shape(model, x, y)
    finally:
        for m, training in modes:
            m.training = training
    if last == INPUT:  # an empty Sequential
        last = g.node("Identity", [INPUT], "")
    for _, _, outputs, _ in g.nodes:
        outputs[:] = [OUTPUT if o == last else o for o in outputs]

    nodes = [helper.make_node(op, ins, outs, name=outs[0], **attrs)
             for op, ins, outs, attrs in g.nodes]
    out_elem = getattr(TensorProto, _ONNX_TYPES.get(np.dtype(y.dtype), "FLOAT"))
    graph = helper.make_graph(
        nodes, f"tinygrad_lite {type(model).__name__}",
        [helper.make_tensor_value_info(INPUT, elem, [BATCH, *x.shape[1:]])],
        [helper.make_tensor_value_info(OUTPUT, out_elem, out_shape)],
        initializer=[numpy_helper.from_array(a, name) for name, a in g.initializers.items()],
    )
    proto = helper.make_model(graph, producer_name="tinygrad_lite", producer_version=__version__,
                              opset_imports=[helper.make_opsetid("", OPSET)])
    proto.ir_version = IR_VERSION
    onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        data = proto.SerializeToString()
        atomic_write(path, lambda f: f.write(data))
    return proto
