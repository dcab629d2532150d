"""Stateless functions on tensors (PyTorch's `torch.nn.functional`)."""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

from ..core import dtypes
from ..core import ops as core
from ..core.ops import pick_axis
from ..core.tensor import Tensor, as_tensor
from ..ops import conv as ops_nn
from ..ops import loss as ops_loss
from ..ops.activation import elu, gelu, hardtanh, leaky_relu, silu, softplus  # noqa: F401
from ..ops.conv_options import avg_pool2d, conv2d, max_pool2d  # noqa: F401
from ..random import get_rng
from . import class_axes


def linear(x: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """x (..., in) @ weight (out, in)^T + bias (out,)."""
    return core.Linear.apply(x, weight) if bias is None else core.Linear.apply(x, weight, bias)


def relu(x: Tensor) -> Tensor:
    return core.ReLU.apply(x)  # a bool tensor: RuntimeError, as PyTorch


def sigmoid(x: Tensor) -> Tensor:
    return _as_tensor(x).sigmoid()  # an integer tensor as float32, as PyTorch


def tanh(x: Tensor) -> Tensor:
    return _as_tensor(x).tanh()  # an integer tensor as float32, as PyTorch


def softmax(x: Tensor, dim: Optional[int] = None, *, axis: Optional[int] = None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim`, stable for large x. Without `dim`, PyTorch's implicit
    dim, with its warning (see `_get_softmax_dim`)."""
    return x.softmax(_softmax_dim("softmax", x, pick_axis(axis, dim)))


def log_softmax(x: Tensor, dim: Optional[int] = None, *, axis: Optional[int] = None) -> Tensor:
    """x - logsumexp(x) along `dim`; without `dim`, PyTorch's implicit one, with a warning."""
    return x.log_softmax(_softmax_dim("log_softmax", x, pick_axis(axis, dim)))


def _get_softmax_dim(name: str, ndim: int, stacklevel: int = 3) -> int:
    """PyTorch's deprecated choice when no dim is given (0 for 0-, 1- and 3-D input, else 1),
    with its UserWarning."""
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to "
        "include dim=X as an argument.",
        UserWarning,
        stacklevel=stacklevel,
    )
    return 0 if ndim in (0, 1, 3) else 1


def _softmax_dim(name: str, x: Tensor, dim: Optional[int]) -> int:
    """The dim `name` ("softmax" or "log_softmax") works along, as PyTorch picks it. (A
    non-floating `x` gets PyTorch's NotImplementedError from the op.)"""
    return _get_softmax_dim(name, x.ndim, stacklevel=4) if dim is None else dim


# ---- losses (ops in `ops_loss.py`): PyTorch's signatures and semantics ----------------------
#
# Every loss takes reduction="mean" | "sum" | "none" (anything else: ValueError). Targets may
# be a Tensor, an ndarray or a list. Differences from PyTorch: the options after `weight` are
# keyword-only (PyTorch's deprecated size_average / reduce are not accepted), and where PyTorch
# warns and broadcasts an input and a target of different shapes (mse_loss, l1_loss) we raise
# ValueError instead.


def _check_reduction(name: str, reduction: Any) -> None:
    if not isinstance(reduction, str) or reduction not in ops_loss.REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none'; got {reduction!r}")


def _as_tensor(x: Any) -> Tensor:
    return as_tensor(x)


def _floating_input(kernel: str, input: Any) -> Tensor:
    """`input` as a Tensor when it holds floats; for an integer, bool or complex one, the
    NotImplementedError PyTorch raises, naming its kernel: '"mse_cpu" not implemented for
    \'Long\''. (numpy would compute in integers, or promote, and return a silently wrong dtype.)"""
    x = _as_tensor(input)
    dtypes.require_floating(kernel, x.dtype)
    return x


def _in_dtype(t: Tensor, dtype: np.dtype) -> Tensor:
    """`t` in `dtype`; differentiably (a Cast op) when it requires grad."""
    if t.dtype == dtype:
        return t
    return t.to(dtype) if t.requires_grad else Tensor._make(t.data.astype(dtype), False, None)


def _promoted(tensors: list) -> list:
    """The operands of an elementwise loss in PyTorch's result dtype (see dtypes.py)."""
    dtype = dtypes.result_type(*tensors)
    return [t.to(dtype) for t in tensors]


def _same_shape(name: str, what: str, input: Tensor, other: Any) -> Tensor:
    """`other` (a target or weight) as a Tensor of exactly the input's shape and dtype.

    No broadcasting: a (4, 1) target against a (4,) input would silently become (4, 4).
    """
    if not isinstance(other, Tensor):
        other = Tensor._make(np.asarray(other, dtype=input.dtype), False, None)
    if other.shape != input.shape:
        raise ValueError(
            f"{name}: {what} shape {other.shape} differs from input shape {input.shape}; they "
            "must match exactly (PyTorch would broadcast them, with a warning; we refuse)"
        )
    return other


def _error_operands(name: str, input: Any, target: Any, weight: Any, reduction: Any) -> list:
    """[input, target(, weight)] of an elementwise error loss: checked, same shape, one dtype."""
    x = _as_tensor(input)
    _check_reduction(name, reduction)
    inputs = [x, _same_shape(name, "target", x, target)]
    if weight is not None:
        inputs.append(_same_shape(name, "weight", x, weight))
    return _promoted(inputs)


def _constant(name: str, what: str, value: Any, dtype: np.dtype) -> Optional[np.ndarray]:
    """A weight the loss is not differentiable in (as in PyTorch): None or an array."""
    if value is None:
        return None
    if isinstance(value, Tensor):
        if value.requires_grad:
            raise ValueError(
                f"{name}: {what} cannot require grad: the loss is not differentiable with "
                "respect to it (as in PyTorch)"
            )
        value = value.data
    return np.asarray(value, dtype=dtype)


def _elementwise_weight(name: str, what: str, value: Any, input: Tensor) -> Optional[np.ndarray]:
    """A constant weight that broadcasts to the input's shape without enlarging it."""
    w = _constant(name, what, value, input.dtype)
    if w is not None:
        try:
            ok = np.broadcast_shapes(w.shape, input.shape) == input.shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(
                f"{name}: {what} of shape {w.shape} does not broadcast to the input shape "
                f"{input.shape}"
            )
    return w


def _check_classes(name: str, what: str, input: Tensor) -> None:
    if input.ndim != 2:
        raise ValueError(f"{name}: {what} must be (N, C); got shape {input.shape}")


def _class_targets(name: str, what: str, input: Tensor, targets: np.ndarray, ignore_index: int):
    """Validate integer class targets (N,) for input (N, C); True when some are ignored."""
    n, c = input.shape
    if targets.dtype.kind not in "iu":
        also = ""
        if name == "cross_entropy":
            also = f" (or float class probabilities of shape {input.shape})"
        raise TypeError(
            f"{name}: targets must be integer class indices{also}; got dtype {targets.dtype}"
        )
    if targets.shape != (n,):
        raise ValueError(
            f"{name}: targets must have shape ({n},) to match {what} {input.shape}; "
            f"got {targets.shape}"
        )
    if n and (targets.min() < 0 or targets.max() >= c):
        bad = ((targets < 0) | (targets >= c)) & (targets != ignore_index)
        if bad.any():
            raise ValueError(
                f"{name}: target {targets[bad][0]} is outside [0, {c}) for {c} classes "
                f"(and is not ignore_index={ignore_index})"
            )
        return True
    return bool(n) and 0 <= ignore_index < c and bool((targets == ignore_index).any())


def _plain_classes(logits: Tensor, targets: np.ndarray, ignore_index: int) -> bool:
    """Whether floating logits (N, C) have one class index in [0, C) per row as targets, none
    of them `ignore_index`: the fused CrossEntropy's case (others are checked further on)."""
    n_c = logits.shape
    return (logits.data.dtype.kind == "f" and len(n_c) == 2 and targets.shape == n_c[:1]
            and targets.dtype.kind in "iu" and (not targets.size or 0 <= targets.min() and
            targets.max() < n_c[1] and not (targets == ignore_index).any()))


def _class_operands(name: str, what: str, input: Any, target: Any, reduction: str) -> tuple:
    """(input as a Tensor, target as an array) of a loss over C classes, its reduction and its
    input's shape (N, C) checked."""
    x = _as_tensor(input)
    _check_reduction(name, reduction)
    _check_classes(name, what, x)
    return x, target.data if isinstance(target, Tensor) else np.asarray(target)


def _class_weight(name: str, weight: Any, input: Tensor) -> Optional[np.ndarray]:
    w = _constant(name, "weight", weight, input.dtype)
    c = input.shape[1]
    if w is not None and w.shape != (c,):
        raise ValueError(f"{name}: weight must have shape ({c},), one per class; got {w.shape}")
    return w


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of softmax(`input` (N, C)) against `target`, as `torch.nn.functional`;
    also (C,) with a 0-d target and (N, C, d1, ...) with targets (N, d1, ...) (or probabilities
    of the input's shape): one row per position (`class_axes.py`).

    `target` is either integer class indices (N,) or class probabilities of the input's shape
    (N, C), float. With class weights w (C,), label smoothing e and l_n the loss of row n:
        indices:        l_n = -(1 - e) w[t_n] log p[n, t_n] - (e / C) sum_c w_c log p[n, c],
                        0 for rows with t_n == ignore_index; 'mean' = sum(l) / sum of w[t_n]
                        over the kept rows (so e's term is normalised by the target weights too);
        probabilities:  l_n = -sum_c w_c ((1 - e) y[n, c] + e / C) log p[n, c]; 'mean' divides
                        by N; the gradient also flows to y; ignore_index must stay negative.
    The default case (no weight, no ignored target, no smoothing, 'mean') is the fused op
    `CrossEntropy`: stable for huge logits, and its gradient is exactly
    (softmax(input) - onehot(target)) / N.
    """
    logits = as_tensor(input)
    targets = target.data if isinstance(target, Tensor) else np.asarray(target)
    if weight is None and reduction == "mean" and label_smoothing == 0.0 and _plain_classes(
            logits, targets, ignore_index):
        return core.CrossEntropy.apply(logits, targets)  # the notebook's loss, one fused op
    input = _floating_input("log_softmax_lastdim_kernel_impl", logits)
    if input.ndim == 1 or input.ndim > 2:  # (C,) or (N, C, d1, ...): one row per position
        return class_axes.per_position(
            cross_entropy, "cross_entropy", input, target, weight, ignore_index=ignore_index,
            reduction=reduction, label_smoothing=label_smoothing,
        )
    logits, targets = _class_operands("cross_entropy", "logits", input, target, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(
            f"cross_entropy: label_smoothing must be between 0.0 and 1.0; got {label_smoothing}"
        )
    w = _class_weight("cross_entropy", weight, logits)
    options = dict(weight=w, label_smoothing=float(label_smoothing), reduction=reduction)
    if targets.dtype.kind == "f" and targets.shape == logits.shape:  # class probabilities
        if ignore_index >= 0:
            raise ValueError(
                "cross_entropy: ignore_index is not supported for probability targets; "
                f"got {ignore_index}"
            )
        y = target if isinstance(target, Tensor) else Tensor._make(targets, False, None)
        y = _in_dtype(y, logits.dtype)
        return ops_loss.WeightedCrossEntropy.apply(logits, y, probabilities=True, **options)
    _class_targets("cross_entropy", "logits", logits, targets, ignore_index)
    return ops_loss.WeightedCrossEntropy.apply(
        logits, Tensor._make(targets), ignore_index=ignore_index, **options
    )


def nll_loss(
    input: Tensor, target: Any, weight: Any = None, *, ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of integer class `target` (N,) given log-probabilities (N, C);
    also (C,) with a 0-d target and (N, C, d1, ...) with (N, d1, ...) (`class_axes.py`).

    l_n = -w[t_n] input[n, t_n] (w = 1 unless `weight` (C,) is given), 0 where
    t_n == ignore_index; 'mean' = sum(l) / sum of w[t_n] over the kept rows (PyTorch's weighted
    mean; nan when every target is ignored). cross_entropy = nll_loss(log_softmax(input)).
    """
    input = _floating_input("nll_loss_out_frame", input)
    if input.ndim == 1 or input.ndim > 2:  # (C,) or (N, C, d1, ...): one row per position
        return class_axes.per_position(
            nll_loss, "nll_loss", input, target, weight, ignore_index=ignore_index,
            reduction=reduction,
        )
    x, targets = _class_operands("nll_loss", "input", input, target, reduction)
    _class_targets("nll_loss", "input", x, targets, ignore_index)
    w = _class_weight("nll_loss", weight, x)
    return ops_loss.NLL.apply(
        x,
        Tensor._make(targets, False, None),
        weight=w,
        ignore_index=ignore_index,
        reduction=reduction,
    )


def mse_loss(input: Tensor, target: Any, *, reduction: str = "mean", weight: Any = None) -> Tensor:
    """Squared error (input - target)**2, elementwise, reduced; gradients flow to both.

    Input and target must have the same shape: ValueError otherwise (PyTorch warns and
    broadcasts). `weight` (input's shape) multiplies each error and makes 'mean' the weighted
    mean sum(w (x - y)**2) / sum(w), as PyTorch 2.13; it may require grad.
    """
    operands = _error_operands("mse_loss", input, target, weight, reduction)
    if weight is None:  # PyTorch's weighted loss computes in Python, in the promoted dtype
        _floating_input("mse_cpu", operands[0])
    return ops_loss.SquaredError.apply(*operands, reduction=reduction)


def l1_loss(input: Tensor, target: Any, *, reduction: str = "mean", weight: Any = None) -> Tensor:
    """Absolute error |input - target|, elementwise, reduced; gradients flow to both.

    d/dinput = sign(input - target) (0 where they are equal, as PyTorch). Input and target
    must have the same shape: ValueError otherwise (PyTorch warns and broadcasts). `weight` as
    in `mse_loss`.
    """
    operands = _error_operands("l1_loss", input, target, weight, reduction)
    bools = sum(isinstance(t, Tensor) and t.dtype == np.bool_ for t in (input, target))
    if bools:  # PyTorch's errors: it subtracts first, then takes a mean of the promoted dtype
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "
            "or `logical_xor()` operator instead." if bools == 2 else
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    if weight is None and reduction == "mean" and operands[0].dtype.kind != "f":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {dtypes.torch_name(operands[0].dtype)}"
        )
    return ops_loss.AbsoluteError.apply(*operands, reduction=reduction)


def binary_cross_entropy(
    input: Tensor, target: Any, weight: Any = None, *, reduction: str = "mean"
) -> Tensor:
    """-w (y log x + (1 - y) log(1 - x)) for probabilities x = `input` in [0, 1], elementwise.

    Each log is clamped to >= -100 (as PyTorch), so x = 0 or 1 gives a finite loss. Input and
    target must have the same shape (ValueError otherwise) and lie in [0, 1]; the gradient
    flows to the target too. `weight` broadcasts to the input's shape and is a constant.
    """
    x = _as_tensor(input)
    if x.dtype.kind != "f" and isinstance(target, Tensor) and target.dtype != x.dtype:
        raise RuntimeError(f"Found dtype {dtypes.torch_name(target.dtype)} but expected "
                           f"{dtypes.torch_name(x.dtype)}")  # PyTorch checks this first
    _floating_input("binary_cross_entropy", x)
    _check_reduction("binary_cross_entropy", reduction)
    y = _in_dtype(_same_shape("binary_cross_entropy", "target", x, target), x.dtype)
    for what, values in (("input", x.data), ("target", y.data)):
        if values.size and not (values.min() >= 0 and values.max() <= 1):  # nan fails too
            raise ValueError(f"binary_cross_entropy: all elements of {what} must be in [0, 1]")
    w = _elementwise_weight("binary_cross_entropy", "weight", weight, x)
    return ops_loss.BinaryCrossEntropy.apply(x, y, weight=w, reduction=reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Any,
    weight: Any = None,
    *,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """Binary cross-entropy of sigmoid(`input`) against `target`, fused and stable.

    l = w (max(x, 0) - x y + log1p(exp(-|x|))) — no overflow for any logit; with `pos_weight`
    pw (broadcast along the last axis, e.g. one per class) the positive term is scaled:
    l = w ((1 - y) x - (1 + (pw - 1) y) log sigmoid(x)). Input and target must have the same
    shape (ValueError otherwise); the gradient flows to the target too. `weight` and
    `pos_weight` broadcast to the input's shape and are constants.
    """
    name = "binary_cross_entropy_with_logits"
    x = _floating_input("log_sigmoid_cpu", input)
    _check_reduction(name, reduction)
    y = _in_dtype(_same_shape(name, "target", x, target), x.dtype)
    w = _elementwise_weight(name, "weight", weight, x)
    pw = _elementwise_weight(name, "pos_weight", pos_weight, x)
    return ops_loss.BinaryCrossEntropyWithLogits.apply(
        x, y, weight=w, pos_weight=pw, reduction=reduction
    )


# ---- dropout, batch norm (ops in `ops/conv.py`) -----------------------------------------------
# conv2d, max_pool2d and avg_pool2d are those of `ops/conv_options.py` (imported above)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1 / (1 - p) when `training`;
    the identity otherwise. The mask comes from the generator seeded by `tl.manual_seed`."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    return ops_nn.Dropout.apply(x, p=p, rng=get_rng())


def batch_norm(
    x: Tensor,
    running_mean: Optional[np.ndarray],
    running_var: Optional[np.ndarray],
    weight: Optional[Tensor] = None,
    bias: Optional[Tensor] = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise x (N, C, ...) per channel (axis 1), then scale by `weight` and shift by `bias`.

    training=True uses the batch's statistics and updates `running_mean` / `running_var` (numpy
    arrays, in place) with `momentum`; training=False uses the running statistics. PyTorch's
    signature and semantics.
    """
    if weight is None and bias is not None:
        weight = Tensor._make(np.ones(bias.shape, dtype=bias.dtype), False, None)
    inputs = (x,) if weight is None else (x, weight) if bias is None else (x, weight, bias)
    return ops_nn.BatchNorm.apply(
        *inputs,
        running_mean=running_mean,
        running_var=running_var,
        training=training,
        momentum=momentum,
        eps=eps,
    )


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 (..., num_classes): 1 at each value's class, 0 elsewhere. `num_classes=-1` takes
    the largest value + 1. The values must be int64 and in [0, num_classes)."""
    index = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if index.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if index.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(index.max()) + 1
    if index.size and index.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if index.size and index.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = np.zeros(index.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, index[..., None], 1, axis=-1)
    return Tensor._make(out)


# ---- sequence models: embedding, layer norm, attention (in their own modules) ---------------
from ..ops.attention import scaled_dot_product_attention  # noqa: E402, F401
from .embedding import embedding  # noqa: E402, F401
from .layer_norm import layer_norm  # noqa: E402, F401
