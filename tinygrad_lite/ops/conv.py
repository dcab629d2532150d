"""Neural-network ops: convolution, pooling, dropout, batch normalisation.

Same conventions as `math.py`: each op is a `Function` with `forward` and its gradient rule
`backward` side by side; `g` is dL/dy for the output y. Images are NCHW: x (N, C, H, W).
Each `backward` is written once: on numpy arrays in a first-order backward, recorded on
Tensors with create_graph, so it can be differentiated again. Where a gradient needs a numpy
kernel (col2im, the scatter of pooling gradients), that kernel is an op of its own with its
own gradient rule, as in PyTorch, and a function beside it that runs the kernel on arrays and
records the op on Tensors: the convolution's gradients are `conv2d_grad_input` (the
transposed convolution) and `conv2d_grad_weight`, max pooling's is `max_pool_scatter` (whose
adjoint is `max_pool_gather`), average pooling's is `avg_pool_grad` (whose adjoint is the
average pooling, `avg_pool`).

Convolution is im2col + one matrix product. The windows of the (padded) input are a strided
*view* (`sliding_window_view`); one copy lays them out as a column matrix

    cols[(c, i, j), (n, oh, ow)] = x_pad[n, c, oh * sh + i, ow * sw + j]     (C*kh*kw, N*OH*OW)

so that y = W.reshape(O, C*kh*kw) @ cols is the whole convolution in a single BLAS call. The
backward pass is two more products (dW = grad @ cols^T, dcols = W^T @ grad) and col2im, which
adds dcols back onto the input: one vectorised slice-add per kernel offset (i, j), kh*kw in
all, never a loop over pixels or batch elements. The pooling ops use the same offset loop.

Working in the (C, N, H, W) memory order inside these ops is deliberate: the output of one
convolution comes out of the matrix product channel-major, a transposed *view* presents it as
NCHW, elementwise ops that follow keep that memory order, and the next convolution's im2col
reads it without an extra transpose.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..core import blas
from ..core.blas import matmul_nt, matmul_wide
from ..core.ops import broadcast_to
from ..core.tensor import Function, ShapeError, Tensor

# ---- helpers --------------------------------------------------------------------------------


def pair(value, name: str = "value") -> tuple:
    """An int or a pair of ints -> (height, width) pair; anything else is a TypeError."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value), int(value))
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
    ):
        return (int(value[0]), int(value[1]))
    raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")


def _check_image(x: np.ndarray) -> None:
    if x.ndim != 4:
        raise ValueError(f"expected a 4-D input (N, C, H, W), got shape {x.shape}")


def _out_size(x_shape: tuple, kernel: tuple, stride: tuple, padding: tuple) -> tuple:
    """(OH, OW) = floor((H + 2p - k) / s) + 1 per axis; ValueError if the kernel cannot fit."""
    h, w = x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1]
    if kernel[0] > h or kernel[1] > w:
        raise ValueError(
            f"kernel {kernel} is larger than the padded input {(h, w)} "
            f"(input {x_shape}, padding {padding})"
        )
    return (h - kernel[0]) // stride[0] + 1, (w - kernel[1]) // stride[1] + 1


def check_layer_input(
    layer: str, x_shape: tuple, kernel: tuple, padding: tuple, channels: Optional[int] = None
) -> None:
    """ShapeError naming `layer` (e.g. its repr) unless x is (N, C, H, W), with C = `channels`
    if given, and the kernel fits inside the padded input."""
    if len(x_shape) != 4 or (channels is not None and x_shape[1] != channels):
        c = "C" if channels is None else channels
        raise ShapeError(f"{layer}: expected input of shape (N, {c}, H, W), got {x_shape}")
    h, w = x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1]
    if kernel[0] > h or kernel[1] > w:
        raise ShapeError(
            f"{layer}: kernel {kernel} is larger than the padded input {(h, w)} "
            f"(input shape {x_shape}, padding {padding})"
        )


def _pad_cnhw(x: np.ndarray, padding: tuple, value: float = 0.0, dtype=None) -> np.ndarray:
    """x (N, C, H, W) -> a padded copy laid out (C, N, H + 2ph, W + 2pw) in memory."""
    n, c, h, w = x.shape
    ph, pw = padding
    out = np.empty((c, n, h + 2 * ph, w + 2 * pw), dtype=dtype or x.dtype)
    if ph or pw:
        out.fill(value)
    out[:, :, ph : ph + h, pw : pw + w] = x.transpose(1, 0, 2, 3)
    return out


def _windows(xc: np.ndarray, kernel: tuple, stride: tuple, out_hw: tuple) -> np.ndarray:
    """View (C, N, OH, OW, kh, kw) of the windows of a padded (C, N, Hp, Wp) array."""
    view = sliding_window_view(xc, kernel, axis=(2, 3))
    return view[:, :, : (out_hw[0] - 1) * stride[0] + 1 : stride[0],
                : (out_hw[1] - 1) * stride[1] + 1 : stride[1]]


def _offset_slices(i: int, j: int, stride: tuple, out_hw: tuple) -> tuple:
    """Index of the input pixels at kernel offset (i, j) of every window, in (C, N, Hp, Wp)."""
    return (
        slice(None),
        slice(None),
        slice(i, i + stride[0] * (out_hw[0] - 1) + 1, stride[0]),
        slice(j, j + stride[1] * (out_hw[1] - 1) + 1, stride[1]),
    )


def _unpad(dxc: np.ndarray, padding: tuple) -> np.ndarray:
    """(C, N, Hp, Wp) gradient of the padded input -> NCHW gradient of the input (a view)."""
    ph, pw = padding
    hp, wp = dxc.shape[2:]
    return dxc[:, :, ph : hp - ph, pw : wp - pw].transpose(1, 0, 2, 3)


def _im2col(x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple, out_hw: tuple,
            dtype=None) -> np.ndarray:
    """The column matrix cols[(c, i, j), (n, p, q)] = x_pad[n, c, p sh + i, q sw + j]."""
    c = x.shape[1]
    xc = _pad_cnhw(x, padding, dtype=dtype)
    # the one copy: (C, kh, kw, N, OH, OW) -> (C kh kw, N OH OW)
    cols = _windows(xc, kernel, stride, out_hw).transpose(0, 4, 5, 1, 2, 3)
    return cols.reshape(c * kernel[0] * kernel[1], -1)


def _col2im(dcols: np.ndarray, x_shape: tuple, kernel: tuple, stride: tuple, padding: tuple,
            out_hw: tuple) -> np.ndarray:
    """The adjoint of `_im2col`: add each column entry back onto the input pixel it was read
    from, one vectorised slice-add per kernel offset (i, j). Returns an NCHW view."""
    n, c, h, w = x_shape
    kh, kw = kernel
    dcols = dcols.reshape(c, kh, kw, n, *out_hw)
    dxc = np.zeros((c, n, h + 2 * padding[0], w + 2 * padding[1]), dtype=dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            dxc[_offset_slices(i, j, stride, out_hw)] += dcols[:, i, j]
    return _unpad(dxc, padding)


def _as_matrix(y):
    """NCHW (N, O, OH, OW) -> the (O, N OH OW) matrix the im2col products use (an array or a
    Tensor; a free view when y is channel-major in memory, as a convolution's output is)."""
    return y.transpose(1, 0, 2, 3).reshape(y.shape[1], -1)


# ---- convolution ----------------------------------------------------------------------------


class Conv2d(Function):
    """y = x cross-correlated with W, plus b (PyTorch's conv2d, NCHW);  dL/dx =
    conv2d_grad_input(g, W), dL/dW = conv2d_grad_weight(g, x), dL/db = g summed over (N, OH, OW).

    x (N, C, H, W), W (O, C, kh, kw), b (O,)  ->  y (N, O, OH, OW),
    OH = (H + 2 ph - kh) // sh + 1 (likewise OW), and

        y[n, o, p, q] = b[o] + sum_{c,i,j} W[o, c, i, j] * x_pad[n, c, p sh + i, q sw + j].

    As matrices (im2col): y2 = W2 @ cols + b with W2 = W.reshape(O, C kh kw) and y2 the
    (O, N OH OW) matrix of y. Hence, with g2 the matrix of g,

        dx = col2im(W2^T @ g2)   (Conv2dGradInput: the transposed convolution)
        dW = g2 @ cols^T         (Conv2dGradWeight)
        db = g2 summed over its columns.

    y is linear in x and in W separately, so the second derivatives live in the two gradient
    ops' own rules (each is a convolution or the other gradient op).
    """

    def forward(self, x, weight, bias=None, stride=(1, 1), padding=(0, 0)):
        _check_image(x)
        if weight.ndim != 4:
            raise ValueError(f"weight must be 4-D (out, in, kh, kw), got shape {weight.shape}")
        if x.shape[1] != weight.shape[1]:
            raise ValueError(
                f"input has {x.shape[1]} channels but weight {weight.shape} expects "
                f"{weight.shape[1]} (input shape {x.shape})"
            )
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"bias must have shape ({weight.shape[0]},), got {bias.shape}")
        y, cols = _convolve(x, weight, bias, stride, padding)
        self.stride, self.padding = stride, padding
        # x and W themselves (so a second derivative reaches them); cols, a function of x
        # alone, only as a cache that spares the weight gradient a second im2col
        self.save_for_backward(x, weight, cols if self.needs_input_grad[1] else None)
        return y

    def backward(self, g):
        x, weight, cols = self.saved_tensors
        needs = self.needs_input_grad
        g2 = _as_matrix(g)  # (O, N OH OW); free if g is laid out as our output
        geometry = (self.stride, self.padding)
        dx = conv2d_grad_input(g2, weight, x.shape, *geometry) if needs[0] else None
        dw = None
        if needs[1]:
            cols = None if cols is None else np.asarray(cols)
            dw = conv2d_grad_weight(g2, x, weight.shape[2:], *geometry, cols=cols)
        db = g2.sum(axis=1) if len(needs) > 2 and needs[2] else None
        return (dx, dw, db)[: len(needs)]


def _convolve(x, weight, bias, stride: tuple, padding: tuple) -> tuple:
    """(y, cols): the im2col product y = W2 @ cols (+ b), y an NCHW view of the channel-major
    (O, N, OH, OW) result, and x's column matrix cols."""
    o, c, kh, kw = weight.shape
    out_hw = _out_size(x.shape, (kh, kw), stride, padding)
    cols = _im2col(x, (kh, kw), stride, padding, out_hw, np.result_type(x.dtype, weight.dtype))
    y = matmul_wide(weight.reshape(o, -1), cols)  # (O, N OH OW)
    if bias is not None:
        y += bias[:, None]
    return y.reshape(o, x.shape[0], *out_hw).transpose(1, 0, 2, 3), cols


def conv2d(x, weight, stride: tuple, padding: tuple):
    """x cross-correlated with weight (no bias): an array, or a recorded Conv2d."""
    if isinstance(x, Tensor) or isinstance(weight, Tensor):
        return Conv2d.apply(x, weight, stride=stride, padding=padding)
    return _convolve(x, weight, None, stride, padding)[0]


def conv2d_grad_input(g2, weight, x_shape: tuple, stride: tuple, padding: tuple):
    """col2im(W2^T @ g2), of shape x_shape: an array, or a recorded Conv2dGradInput."""
    if isinstance(g2, Tensor) or isinstance(weight, Tensor):
        return Conv2dGradInput.apply(g2, weight, x_shape=x_shape, stride=stride, padding=padding)
    o, c, kh, kw = weight.shape
    out_hw = _out_size(x_shape, (kh, kw), stride, padding)
    dcols = matmul_wide(weight.reshape(o, -1).T, g2)  # (C kh kw, N OH OW)
    return _col2im(dcols, x_shape, (kh, kw), stride, padding, out_hw)


class Conv2dGradInput(Function):
    """dx = col2im(W2^T @ g2), the transposed convolution;  dL/dg2 = the matrix of
    conv2d(g, W), dL/dW = conv2d_grad_weight(g2, g).

    The gradient of a convolution for its input x (N, C, H, W), from g2 (O, N OH OW), the
    output's gradient as a matrix, and W (O, C, kh, kw). It is bilinear in (g2, W); in its
    rule g = dL/d(dx) has the shape of x, and the convolution's geometry is kept.
    """

    def forward(self, g2, weight, x_shape, stride, padding):
        self.stride, self.padding = stride, padding
        self.save_for_backward(g2, weight)
        return conv2d_grad_input(g2, weight, x_shape, stride, padding)

    def backward(self, g):
        g2, weight = self.saved_tensors
        geometry = (self.stride, self.padding)
        dg = _as_matrix(conv2d(g, weight, *geometry)) if self.needs_input_grad[0] else None
        dw = None
        if self.needs_input_grad[1]:
            dw = conv2d_grad_weight(g2, g, weight.shape[2:], *geometry)
        return dg, dw


def conv2d_grad_weight(g2, x, kernel: tuple, stride: tuple, padding: tuple, cols=None):
    """g2 @ cols(x)^T as (O, C, kh, kw) (cols: given, or made): an array, or a Conv2dGradWeight."""
    if isinstance(g2, Tensor) or isinstance(x, Tensor):
        return Conv2dGradWeight.apply(g2, x, kernel=kernel, stride=stride, padding=padding,
                                      cols=cols)
    if cols is None:
        out_hw = _out_size(x.shape, kernel, stride, padding)
        cols = _im2col(x, kernel, stride, padding, out_hw, np.result_type(g2.dtype, x.dtype))
    return matmul_nt(g2, cols).reshape(g2.shape[0], x.shape[1], *kernel)  # g2 @ cols^T


class Conv2dGradWeight(Function):
    """dW = (g2 @ cols(x)^T).reshape(O, C, kh, kw);  dL/dg2 = the matrix of conv2d(x, g),
    dL/dx = conv2d_grad_input(g2, g).

    The gradient of a convolution for its weight, from g2 (O, N OH OW), the output's gradient
    as a matrix, and the input x; `cols` (optional) is x's im2col matrix when the caller
    already has it. It is bilinear in (g2, x); in its rule g = dL/d(dW) has the shape of W.
    """

    def forward(self, g2, x, kernel, stride, padding, cols=None):
        self.stride, self.padding = stride, padding
        self.save_for_backward(g2, x)
        return conv2d_grad_weight(g2, x, kernel, stride, padding, cols)

    def backward(self, g):
        g2, x = self.saved_tensors
        geometry = (self.stride, self.padding)
        dg = _as_matrix(conv2d(x, g, *geometry)) if self.needs_input_grad[0] else None
        dx = conv2d_grad_input(g2, g, x.shape, *geometry) if self.needs_input_grad[1] else None
        return dg, dx


# ---- pooling --------------------------------------------------------------------------------


def _pool_geometry(x, kernel_size, stride, padding):
    _check_image(x)
    if min(kernel_size) < 1 or min(stride) < 1 or min(padding) < 0:
        raise ValueError(
            f"kernel_size and stride must be positive and padding non-negative, got "
            f"kernel_size={kernel_size}, stride={stride}, padding={padding}"
        )
    if padding[0] * 2 > kernel_size[0] or padding[1] * 2 > kernel_size[1]:
        raise ValueError(
            f"padding {padding} must be at most half the kernel size {kernel_size}"
        )
    return _out_size(x.shape, kernel_size, stride, padding)


def _padded_cnhw_shape(x_shape: tuple, padding: tuple) -> tuple:
    n, c, h, w = x_shape
    return (c, n, h + 2 * padding[0], w + 2 * padding[1])


class MaxPool2d(Function):
    """y[n, c, p, q] = max of x over the window at (p sh, q sw);  dL/dx = max_pool_scatter(g):
    each g added onto its window's argmax.

    x (N, C, H, W) -> y (N, C, OH, OW), OH = (H + 2 ph - kh) // sh + 1; padding counts as -inf.
    dy/dx is 1 at the window's maximum and 0 elsewhere: backward routes each g element to the
    argmax of its window among the input's elements, never the padding (the first one on
    ties, the first input element of a window of -infs, as PyTorch), overlapping windows adding up
    (MaxPool2dScatter). The argmax is piecewise constant in x, so it is kept as a constant.
    """

    def forward(self, x, kernel_size=(2, 2), stride=None, padding=(0, 0)):
        stride = kernel_size if stride is None else stride
        out_hw = _pool_geometry(x, kernel_size, stride, padding)
        # (C, N, H, W) order, as the convolution's output already is in memory: no copy
        xc = _pad_cnhw(x, padding, value=-np.inf) if max(padding) else x.transpose(1, 0, 2, 3)
        kh, kw = kernel_size
        offsets = [xc[_offset_slices(k // kw, k % kw, stride, out_hw)] for k in range(kh * kw)]
        # running max over the kernel offsets; arg remembers which offset won. A strictly
        # greater value takes over, so ties keep the first maximum (as PyTorch).
        best = np.array(offsets[0])
        arg = np.zeros(best.shape, dtype=np.min_scalar_type(kh * kw))
        better, step = np.empty(best.shape, dtype=bool), np.empty_like(arg)
        for k in range(1, kh * kw):
            np.greater(offsets[k], best, out=better)
            np.maximum(best, offsets[k], out=best)  # NaN propagates, as in PyTorch
            np.subtract(arg.dtype.type(k), arg, out=step)  # arg += better * (k - arg):
            step *= better  # branch-free, faster than a masked copy
            arg += step
        if max(padding):  # a window of -infs (padding included) chose its first offset, which
            # may be padding: PyTorch chooses the window's first real element, as here
            np.copyto(arg, _first_real_offset(kernel_size, stride, padding, out_hw),
                      where=best == -np.inf, casting="unsafe")
        if np.isnan(best).any():  # a NaN window: its gradient goes to its (last) NaN, as PyTorch
            for k in range(kh * kw):
                np.copyto(arg, k, where=np.isnan(offsets[k]))
        self.kernel, self.stride, self.padding, self.x_shape = kernel_size, stride, padding, x.shape
        self.save_for_backward(arg)
        return best.transpose(1, 0, 2, 3)

    def backward(self, g):
        (arg,) = self.saved_tensors
        return max_pool_scatter(g, np.asarray(arg), self.x_shape, self.kernel, self.stride,
                                self.padding)


def _first_real_offset(kernel: tuple, stride: tuple, padding: tuple, out_hw: tuple) -> np.ndarray:
    """(OH, OW): the kernel offset k = i kw + j of each window's first input (not padding)
    element in row-major order. A window starts at row p sh - ph, so its first real row is
    i = max(ph - p sh, 0); likewise the column."""
    (sh, sw), (ph, pw), (oh, ow) = stride, padding, out_hw
    i = np.maximum(ph - sh * np.arange(oh), 0)
    j = np.maximum(pw - sw * np.arange(ow), 0)
    return i[:, None] * kernel[1] + j[None, :]


def max_pool_scatter(u, arg, x_shape: tuple, kernel: tuple, stride: tuple, padding: tuple):
    """u added onto the pixel each window chose: an array, or a recorded MaxPool2dScatter."""
    if isinstance(u, Tensor):
        return MaxPool2dScatter.apply(u, arg=arg, x_shape=x_shape, kernel=kernel, stride=stride,
                                      padding=padding)
    kh, kw = kernel
    out_hw = arg.shape[2:]
    uc = u.transpose(1, 0, 2, 3)  # (C, N, OH, OW), like arg
    dxc = np.zeros(_padded_cnhw_shape(x_shape, padding), dtype=u.dtype)
    scratch, hit = np.empty(uc.shape, dtype=u.dtype), np.empty(uc.shape, dtype=bool)
    for k in range(kh * kw):
        np.equal(arg, k, out=hit)
        np.multiply(uc, hit, out=scratch)
        dxc[_offset_slices(k // kw, k % kw, stride, out_hw)] += scratch
    return _unpad(dxc, padding)


class MaxPool2dScatter(Function):
    """y = u added onto the input pixel each window chose;  dL/du = max_pool_gather(g): g
    read at those pixels.

    u (N, C, OH, OW) -> y (N, C, H, W): y[n, c, p sh + i_k - ph, q sw + j_k - pw] +=
    u[n, c, p, q] with k = arg[c, n, p, q] the window's kernel offset (a constant): max
    pooling's gradient. Linear in u; its adjoint is the gather at the same positions
    (MaxPool2dGather), and that is its backward."""

    def forward(self, u, arg, x_shape, kernel, stride, padding):
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.save_for_backward(arg)
        return max_pool_scatter(u, arg, x_shape, kernel, stride, padding)

    def backward(self, g):
        (arg,) = self.saved_tensors
        return max_pool_gather(g, np.asarray(arg), self.kernel, self.stride, self.padding)


def max_pool_gather(u, arg, kernel: tuple, stride: tuple, padding: tuple):
    """u read at the pixel each window chose: an array, or a recorded MaxPool2dGather."""
    if isinstance(u, Tensor):
        return MaxPool2dGather.apply(u, arg=arg, kernel=kernel, stride=stride, padding=padding)
    kh, kw = kernel
    out_hw = arg.shape[2:]
    uc = _pad_cnhw(u, padding) if max(padding) else u.transpose(1, 0, 2, 3)
    y = np.zeros(arg.shape, dtype=u.dtype)
    hit = np.empty(arg.shape, dtype=bool)
    for k in range(kh * kw):
        np.equal(arg, k, out=hit)
        np.copyto(y, uc[_offset_slices(k // kw, k % kw, stride, out_hw)], where=hit)
    return y.transpose(1, 0, 2, 3)


class MaxPool2dGather(Function):
    """y[n, c, p, q] = u_pad[n, c, p sh + i_k, q sw + j_k], k = arg[c, n, p, q];  dL/du =
    max_pool_scatter(g): g added onto those pixels.

    u (N, C, H, W) read at each window's chosen pixel (zero padding). Linear in u; its
    adjoint, and its backward, is the scatter to the same positions (MaxPool2dScatter)."""

    def forward(self, u, arg, kernel, stride, padding):
        self.kernel, self.stride, self.padding, self.x_shape = kernel, stride, padding, u.shape
        self.save_for_backward(arg)
        return max_pool_gather(u, arg, kernel, stride, padding)

    backward = MaxPool2d.backward  # the scatter to the chosen pixels, as max pooling's


class AvgPool2d(Function):
    """y[n, c, p, q] = mean of x over the kh x kw window at (p sh, q sw);  dL/dx =
    avg_pool_grad(g): g / (kh kw) added onto every pixel of its window.

    x (N, C, H, W) -> y (N, C, OH, OW). Zero padding is counted in the mean (PyTorch's
    count_include_pad=True); overlapping windows add up.
    """

    def forward(self, x, kernel_size=(2, 2), stride=None, padding=(0, 0)):
        stride = kernel_size if stride is None else stride
        _pool_geometry(x, kernel_size, stride, padding)
        self.kernel, self.stride, self.padding, self.x_shape = kernel_size, stride, padding, x.shape
        return avg_pool(x, kernel_size, stride, padding)

    def backward(self, g):
        return avg_pool_grad(g, self.x_shape, self.kernel, self.stride, self.padding)


def avg_pool(x, kernel: tuple, stride: tuple, padding: tuple):
    """The mean of x over each window: an array, or a recorded AvgPool2d."""
    if isinstance(x, Tensor):
        return AvgPool2d.apply(x, kernel_size=kernel, stride=stride, padding=padding)
    out_hw = _out_size(x.shape, kernel, stride, padding)
    xc = _pad_cnhw(x, padding)
    kh, kw = kernel
    total = np.array(xc[_offset_slices(0, 0, stride, out_hw)])
    for k in range(1, kh * kw):
        total += xc[_offset_slices(k // kw, k % kw, stride, out_hw)]
    total /= kh * kw
    return total.transpose(1, 0, 2, 3)


def avg_pool_grad(u, x_shape: tuple, kernel: tuple, stride: tuple, padding: tuple):
    """u / (kh kw) added onto every pixel of its window: an array, or an AvgPool2dGrad."""
    if isinstance(u, Tensor):
        return AvgPool2dGrad.apply(u, x_shape=x_shape, kernel=kernel, stride=stride,
                                   padding=padding)
    kh, kw = kernel
    out_hw = u.shape[2:]
    uc = u.transpose(1, 0, 2, 3) / (kh * kw)
    dxc = np.zeros(_padded_cnhw_shape(x_shape, padding), dtype=uc.dtype)
    for k in range(kh * kw):
        dxc[_offset_slices(k // kw, k % kw, stride, out_hw)] += uc
    return _unpad(dxc, padding)


class AvgPool2dGrad(Function):
    """y = u / (kh kw) added onto every pixel of its window;  dL/du = avg_pool(g).

    u (N, C, OH, OW) -> y of x_shape: average pooling's gradient. Linear in u; its adjoint,
    and its backward, is the average pooling itself."""

    def forward(self, u, x_shape, kernel, stride, padding):
        self.kernel, self.stride, self.padding = kernel, stride, padding
        return avg_pool_grad(u, x_shape, kernel, stride, padding)

    def backward(self, g):
        return avg_pool(g, self.kernel, self.stride, self.padding)


# ---- dropout --------------------------------------------------------------------------------


class Dropout(Function):
    """y = x m / (1 - p) with m ~ Bernoulli(1 - p) per element (inverted dropout);  dL/dx =
    g m / (1 - p).

    Kept elements are scaled by 1 / (1 - p) so E[y] = x. The mask is a constant, so the rule
    is linear in g and differentiable again. p = 1 drops everything (y = 0). The mask is drawn
    from `rng` (default `tl.random.get_rng()`).
    """

    def forward(self, x, p=0.5, rng=None):
        if p >= 1:
            scaled_mask = np.zeros(x.shape, dtype=x.dtype)
        else:
            dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
            keep = rng.random(x.shape, dtype=dtype) >= p
            scaled_mask = keep.astype(x.dtype) * x.dtype.type(1 / (1 - p))
        self.save_for_backward(scaled_mask)
        return x * scaled_mask

    def backward(self, g):
        (scaled_mask,) = self.saved_tensors
        return g * scaled_mask


# ---- batch normalisation --------------------------------------------------------------------


def _per_channel(v, ndim: int):
    """v (C,) reshaped to (1, C, 1, ...) so it broadcasts along the channel axis 1."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def channel_sums(x):
    """x summed over every axis but the channel axis 1: an array, or a ChannelSums."""
    return ChannelSums.apply(x) if isinstance(x, Tensor) else blas.channel_sums(x)


class ChannelSums(Function):
    """y[c] = x summed over every axis but the channel axis 1: x (N, C, ...) -> (C,);
    dL/dx = g[c] copied to every element of channel c.

    As BLAS products (blas.channel_sums, about 2x faster than numpy's sum for images)."""

    def forward(self, x):
        self.x_shape = x.shape
        return channel_sums(x)

    def backward(self, g):
        return broadcast_to(_per_channel(g, len(self.x_shape)), self.x_shape)


def channel_dots(a, b):
    """(a * b) summed over every axis but the channel axis 1: an array, or a ChannelDots."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return ChannelDots.apply(a, b)
    return blas.channel_dots(a, b)


class ChannelDots(Function):
    """y[c] = (a * b) summed over every axis but the channel axis 1: (N, C, ...) -> (C,);
    dL/da = g[c] b, dL/db = g[c] a.

    One batched BLAS dot product that never writes a * b (blas.channel_dots)."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return channel_dots(a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        gc = _per_channel(g, a.ndim)
        da = gc * b if self.needs_input_grad[0] else None
        db = gc * a if self.needs_input_grad[1] else None
        return da, db


class BatchNorm(Function):
    """y = gamma xhat + beta, xhat = (x - mu) / sqrt(var + eps) per channel;  dL/dx = gamma (g -
    mean(g) - xhat mean(g xhat)) / sqrt(var + eps), dL/dgamma = sum(g xhat), dL/dbeta = sum(g).

    Batch normalisation over every axis but the channel axis 1 (PyTorch's batch_norm).
    x (N, C) or (N, C, L) or (N, C, H, W); weight gamma and bias beta (C,) or absent.
    Per channel, over the M = x.size / C values of that channel:

        xhat = (x - mu) / sqrt(var + eps),   y = gamma * xhat + beta

    Training (`training=True`): mu and var (biased) are the batch's; `running_mean` and
    `running_var` (if given) are updated in place, running = (1 - momentum) running +
    momentum * batch, with the *unbiased* batch variance var * M / (M - 1), as PyTorch — as the
    last step of forward, so a forward that raises leaves them untouched. mu and var
    depend on x, so with dxhat = g * gamma,

        dx = (M dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)) / (M sqrt(var + eps)).

    Evaluation (`training=False`): mu, var are the running statistics, constants, so
    dx = g * gamma / sqrt(var + eps). Both modes: dgamma = sum(g * xhat), dbeta = sum(g).

    xhat and 1 / sqrt(var + eps) depend on x: a first-order backward (on arrays) uses the
    values forward computed; a recorded one (create_graph, on Tensors) recomputes them from x,
    so that second derivatives reach x through them.
    """

    def forward(
        self,
        x,
        weight=None,
        bias=None,
        running_mean: Optional[np.ndarray] = None,
        running_var: Optional[np.ndarray] = None,
        training: bool = True,
        momentum: float = 0.1,
        eps: float = 1e-5,
    ):
        if x.ndim < 2:
            raise ValueError(f"batch_norm: expected an input (N, C, ...), got shape {x.shape}")
        c = x.shape[1]
        for name, a in (
            ("weight", weight),
            ("bias", bias),
            ("running_mean", running_mean),
            ("running_var", running_var),
        ):
            if a is not None and a.shape != (c,):
                raise ValueError(
                    f"batch_norm: {name} has shape {a.shape}, expected ({c},) for input {x.shape}"
                )
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, c) + (1,) * (x.ndim - 2)
        m = x.size // c if c else 0
        if training:
            if m <= 1:
                raise ValueError(
                    f"batch_norm: expected more than 1 value per channel when training, got "
                    f"input of shape {x.shape}"
                )
            mean = channel_sums(x) / m
            centered = x - mean.reshape(shape)
            var = channel_dots(centered, centered) / m
        else:
            if running_mean is None or running_var is None:
                raise ValueError("batch_norm: evaluation mode needs running_mean and running_var")
            mean, var = running_mean, running_var
            centered = x - mean.reshape(shape).astype(x.dtype, copy=False)
        invstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat = centered
        xhat *= invstd.reshape(shape)  # centered is our own temporary: normalise in place
        y = xhat * weight.reshape(shape) if weight is not None else xhat.copy()
        if bias is not None:
            y += bias.reshape(shape)
        if training:  # last, once nothing can fail: a forward that raises changes no statistic
            new_mean = new_var = None
            if running_mean is not None:
                new_mean = running_mean * (1 - momentum) + momentum * mean
            if running_var is not None:
                new_var = running_var * (1 - momentum) + momentum * var * (m / (m - 1))
            if new_mean is not None:
                running_mean[...] = new_mean
            if new_var is not None:
                running_var[...] = new_var
        self.axes, self.shape, self.m, self.training, self.eps = axes, shape, m, training, eps
        # eval: the running mean as it is now (a constant; the buffer may change later)
        mean_used = None if training else np.array(mean, dtype=x.dtype)
        self.save_for_backward(x, weight, xhat, invstd, mean_used)
        return y

    def _statistics(self, x, xhat, invstd, mean) -> tuple:
        """(xhat, invstd): recomputed from x (Tensor ops) when the backward is recorded and x
        needs a gradient, so the second derivative sees their dependence on x; else as saved."""
        if not (isinstance(x, Tensor) and x.requires_grad):
            return xhat, invstd  # first order (arrays): forward's values are exact
        axes, shape = self.axes, self.shape
        if not self.training:  # constant statistics: xhat is affine in x
            return (x - mean.reshape(shape)) * invstd.reshape(shape), invstd
        centered = x - x.mean(axis=axes, keepdims=True)
        var = (centered * centered).mean(axis=axes)
        invstd = 1 / (var + self.eps).sqrt()
        return centered * invstd.reshape(shape), invstd

    def backward(self, g):
        x, weight, xhat, invstd, mean = self.saved_tensors
        xhat, invstd = self._statistics(x, xhat, invstd, mean)
        shape, m = self.shape, self.m
        needs = self.needs_input_grad
        dx = dw = db = None
        sum_g = channel_sums(g)
        sum_gx = channel_dots(g, xhat)
        if len(needs) > 1 and needs[1]:
            dw = sum_gx
        if len(needs) > 2 and needs[2]:
            db = sum_g
        if needs[0]:
            scale = invstd if weight is None else invstd * weight  # gamma / std, per channel
            if self.training:
                # dxhat = gamma g; the sums of dxhat are gamma times the sums of g:
                # dx = scale (g - mean(g) - xhat mean(g xhat)), one expression so that numpy
                # reuses its temporaries
                mean_g, mean_gx = (sum_g / m).reshape(shape), (sum_gx / m).reshape(shape)
                dx = (g - mean_g - xhat * mean_gx) * scale.reshape(shape)
            else:
                dx = g * scale.reshape(shape)
        return (dx, dw, db)[: len(self.needs_input_grad)]
