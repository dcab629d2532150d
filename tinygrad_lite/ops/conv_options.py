"""`F.conv2d`, `F.max_pool2d` and `F.avg_pool2d` (`nn.functional` imports them from here) with
PyTorch's options, built on the ops of `conv.py`:

- unbatched (C, H, W) inputs: a batch of one, squeezed back;
- conv2d `dilation`: the kernel with d - 1 zeros between its taps (`DilateKernel`), then the
  ordinary convolution;
- conv2d `groups`: one convolution per group of channels, joined on the channel axis;
- conv2d `padding='valid'` (none) and `'same'` (total d (k - 1) per axis, the odd one extra
  at the bottom / right, as PyTorch), asymmetric padding by `Pad2d`;
- pools' `ceil_mode`: extra padding at the bottom / right (-inf for max, 0 for the sums of
  avg) so the last, partial window exists, where PyTorch keeps it (it starts inside the
  input or the left padding);
- avg_pool2d `count_include_pad=False` and `divisor_override`: the window sums divided by a
  constant (OH, OW) array of divisors, PyTorch's.

The two new ops are linear, and their gradients are slices (differentiable in turn).
"""

from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np

from ..core.tensor import Function, Tensor
from ..ops.factories import cat
from . import conv as ops_nn

# ---- the two ops ------------------------------------------------------------------------------


class Pad2d(Function):
    """y = x with the last two axes padded by `value`: (top, bottom, left, right) rows and
    columns;  dL/dx = g[..., top : top + H, left : left + W].

    Linear in x (the padding is a constant)."""

    def forward(self, x, pad=(0, 0, 0, 0), value=0.0):
        top, bottom, left, right = pad
        self.pad, self.hw = pad, x.shape[-2:]
        out = np.full(
            x.shape[:-2] + (x.shape[-2] + top + bottom, x.shape[-1] + left + right),
            value,
            dtype=x.dtype,
        )
        out[..., top : top + x.shape[-2], left : left + x.shape[-1]] = x
        return out

    def backward(self, g):
        top, _, left, _ = self.pad
        h, w = self.hw
        return g[..., top : top + h, left : left + w]


class DilateKernel(Function):
    """y[..., i dh, j dw] = w[..., i, j], zero elsewhere: (kh, kw) -> (dh (kh - 1) + 1,
    dw (kw - 1) + 1);  dL/dw = g[..., ::dh, ::dw].

    A convolution with the dilated kernel is the dilated convolution. Linear in w."""

    def forward(self, w, dilation=(1, 1)):
        dh, dw = dilation
        self.dilation = dilation
        kh, kw = w.shape[-2:]
        out = np.zeros(w.shape[:-2] + (dh * (kh - 1) + 1, dw * (kw - 1) + 1), dtype=w.dtype)
        out[..., ::dh, ::dw] = w
        return out

    def backward(self, g):
        dh, dw = self.dilation
        return g[..., ::dh, ::dw]


def pad2d(x: Any, pad: tuple, value: float = 0.0) -> Tensor:
    """x padded on its last two axes by (top, bottom, left, right) with `value`."""
    if not any(pad):
        return x
    return Pad2d.apply(x, pad=tuple(int(p) for p in pad), value=value)


# ---- conv2d -----------------------------------------------------------------------------------


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def conv2d(
    x: Any,
    weight: Any,
    bias: Optional[Any] = None,
    stride: Any = 1,
    padding: Union[str, Any] = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """PyTorch's F.conv2d, the 2-D cross-correlation: x (N, C, H, W) or (C, H, W), weight
    (O, C / groups, kh, kw), bias (O,) -> (N, O, OH, OW),
    OH = (H + 2 ph - dh (kh - 1) - 1) // sh + 1 (likewise OW).

    `stride`, `padding` and `dilation` are an int or an (h, w) pair; `padding` may also be
    "valid" (none) or "same" (output size = input size; stride 1)."""
    x, weight = _as_tensor(x), _as_tensor(weight)
    stride = ops_nn.pair(stride, "stride")
    dilation = ops_nn.pair(dilation, "dilation")
    if min(dilation) < 1:
        raise RuntimeError(f"dilation should be greater than zero, got {dilation}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise RuntimeError(f"non-positive groups is not supported, got {groups}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    if x.ndim != 4 or weight.ndim != 4 or (groups == 1 and dilation == (1, 1)):
        if not isinstance(padding, str):
            padding = ops_nn.pair(padding, "padding")
        if padding == "valid" or (not isinstance(padding, str) and min(padding) >= 0):
            # the plain convolution: its op checks the shapes (ShapeError naming it)
            padding = (0, 0) if padding == "valid" else padding
            if min(stride) < 1:
                raise ValueError(f"conv2d: stride must be >= 1, got {stride}")
            inputs = (x, weight) if bias is None else (x, weight, bias)
            y = ops_nn.Conv2d.apply(*inputs, stride=stride, padding=padding)
            return y.squeeze(0) if unbatched else y
    o = weight.shape[0]
    if x.shape[1] != weight.shape[1] * groups or o % groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
            f"{list(x.shape)} to have {weight.shape[1] * groups} channels, but got "
            f"{x.shape[1]} channels instead"
        )
    k_eff = [d * (k - 1) + 1 for d, k in zip(dilation, weight.shape[2:])]
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            total = [k - 1 for k in k_eff]
            before = [t // 2 for t in total]
            after = [t - b for t, b in zip(total, before)]
            if before != after:
                x = pad2d(x, (before[0], after[0], before[1], after[1]))
                padding = (0, 0)
            else:
                padding = tuple(before)
        else:
            raise RuntimeError(f"Invalid padding string: {padding!r}")
    else:
        padding = ops_nn.pair(padding, "padding")
    if min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"conv2d: stride must be >= 1 and padding >= 0, got {stride}, {padding}")
    if dilation != (1, 1):
        weight = DilateKernel.apply(weight, dilation=dilation)
    if groups == 1:
        inputs = (x, weight) if bias is None else (x, weight, bias)
        y = ops_nn.Conv2d.apply(*inputs, stride=stride, padding=padding)
    else:
        cg, og = x.shape[1] // groups, o // groups
        parts = []
        for k in range(groups):
            inputs = [x[:, k * cg : (k + 1) * cg], weight[k * og : (k + 1) * og]]
            if bias is not None:
                inputs.append(bias[k * og : (k + 1) * og])
            parts.append(ops_nn.Conv2d.apply(*inputs, stride=stride, padding=padding))
        y = cat(parts, 1)
    return y.squeeze(0) if unbatched else y


# ---- pools ------------------------------------------------------------------------------------


def _pool_size(size: int, k: int, s: int, p: int, ceil_mode: bool) -> tuple:
    """(output size, extra padding after the input) of one axis, PyTorch's rule."""
    span = size + 2 * p - k
    if span < 0:
        return span // s + 1, 0  # let the pool op report the kernel that does not fit
    if not ceil_mode:
        return span // s + 1, 0
    out = -(-span // s) + 1
    if (out - 1) * s >= size + p:  # the last window would start in the right padding
        out -= 1
    return out, max(0, (out - 1) * s + k - (size + 2 * p))


def pool_args(name: str, kernel_size: Any, stride: Any, padding: Any, **options: Any) -> tuple:
    """(kernel, stride, padding) pairs of a pool's arguments, checked: those of max_pool2d and
    avg_pool2d, and of their layers (`name` says whose). stride None (or []) is kernel_size.
    TypeError for a size that is not an int or a pair, ValueError unless the kernel and the
    stride are positive and the padding non-negative; NotImplementedError for the options
    this framework lacks: `dilation` other than 1, `return_indices=True`."""
    kernel = ops_nn.pair(kernel_size, f"{name} kernel_size")
    stride = kernel if stride is None or stride == [] else ops_nn.pair(stride, f"{name} stride")
    padding = ops_nn.pair(padding, f"{name} padding")
    if min(kernel) < 1 or min(stride) < 1 or min(padding) < 0:
        raise ValueError(
            f"{name}: kernel_size and stride must be positive and padding non-negative, got "
            f"kernel_size={kernel}, stride={stride}, padding={padding}"
        )
    if ops_nn.pair(options.get("dilation", 1), f"{name} dilation") != (1, 1):
        raise NotImplementedError(f"{name}: dilation other than 1 is not implemented")
    if options.get("return_indices", False):
        raise NotImplementedError(f"{name}: return_indices=True is not implemented")
    return kernel, stride, padding


def max_pool2d(
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor:
    """PyTorch's F.max_pool2d: the maximum over kh x kw windows of x (N, C, H, W) or
    (C, H, W); `stride` defaults to `kernel_size`; `ceil_mode` keeps a last partial window
    (PyTorch's rule). `dilation` 1 and `return_indices=False` only (NotImplementedError
    otherwise)."""
    x = _as_tensor(x)
    kernel, stride, padding = pool_args(
        "max_pool2d", kernel_size, stride, padding, dilation=dilation, return_indices=return_indices
    )
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    if ceil_mode and x.ndim == 4:
        (_, eh), (_, ew) = (
            _pool_size(x.shape[2 + a], kernel[a], stride[a], padding[a], True) for a in (0, 1)
        )
        x = pad2d(x, (0, eh, 0, ew), value=-np.inf)
    y = ops_nn.MaxPool2d.apply(x, kernel_size=kernel, stride=stride, padding=padding)
    return y.squeeze(0) if unbatched else y


def _divisors(size: int, k: int, s: int, p: int, out: int, count_include_pad: bool) -> np.ndarray:
    """Each window's divisor along one axis, as PyTorch's avg_pool2d computes it."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    full = end - start  # the window clipped to the padded input
    if count_include_pad:
        return full
    return np.minimum(end, size) - np.maximum(start, 0)


def avg_pool2d(
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: Optional[int] = None,
) -> Tensor:
    """PyTorch's F.avg_pool2d: the mean over kh x kw windows of x (N, C, H, W) or (C, H, W),
    window sums over a divisor (the window's size within the padded input, zero padding
    counted; its count of input elements when `count_include_pad=False`; or
    `divisor_override`). `stride` defaults to `kernel_size`; `ceil_mode` as max_pool2d."""
    x = _as_tensor(x)
    kernel, stride, padding = pool_args("avg_pool2d", kernel_size, stride, padding)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    if x.ndim != 4 or (not ceil_mode and count_include_pad and divisor_override is None):
        y = ops_nn.AvgPool2d.apply(x, kernel_size=kernel, stride=stride, padding=padding)
        return y.squeeze(0) if unbatched else y
    (oh, eh), (ow, ew) = (
        _pool_size(x.shape[2 + a], kernel[a], stride[a], padding[a], ceil_mode) for a in (0, 1)
    )
    x = pad2d(x, (0, eh, 0, ew))
    window = kernel[0] * kernel[1]
    mean = ops_nn.AvgPool2d.apply(x, kernel_size=kernel, stride=stride, padding=padding)
    if divisor_override is not None:
        divisor = np.full((oh, ow), float(divisor_override))
    else:
        dh = _divisors(x.shape[2] - eh, kernel[0], stride[0], padding[0], oh, count_include_pad)
        dw = _divisors(x.shape[3] - ew, kernel[1], stride[1], padding[1], ow, count_include_pad)
        divisor = np.outer(dh, dw).astype(np.float64)
    if np.all(divisor == window):
        y = mean
    else:
        y = mean * (window / divisor).astype(x.dtype)
    return y.squeeze(0) if unbatched else y


__all__ = ["DilateKernel", "Pad2d", "avg_pool2d", "conv2d", "max_pool2d", "pad2d"]
