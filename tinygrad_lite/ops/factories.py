"""Functions that make tensors (`tensor`, `zeros`, `arange`, ...) and combine them (`cat`,
`stack`, `where`, ...), under PyTorch's names."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from .. import devices
from ..core.ops import MatMul, matmul_operands, normalize_axis, pick_axis
from ..core.tensor import Tensor, as_tensor, to_array  # noqa: F401 - tl.as_tensor
from .math import Concatenate, Stack
from .methods import where  # noqa: F401 - tl.where


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None, *,
           device: Any = None) -> Tensor:
    """A new tensor holding a copy of `data` (an array, a number, a nested list or a Tensor;
    Python floats become float32), as `torch.tensor`: changing `data` later changes nothing."""
    devices.check(device)
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape: Any, requires_grad: bool = False, dtype: Any = np.float32,
          device: Any = None) -> Tensor:
    """`tl.zeros(2, 3)`, `tl.zeros((2, 3))` or `tl.zeros([2, 3])`; float32 unless `dtype`."""
    devices.check(device)
    shape, dtype = _size(shape, "zeros"), np.float32 if dtype is None else dtype
    return Tensor(np.zeros(shape, dtype=dtype), requires_grad=requires_grad)


def ones(*shape: Any, requires_grad: bool = False, dtype: Any = np.float32,
         device: Any = None) -> Tensor:
    """`tl.ones(2, 3)`, `tl.ones((2, 3))` or `tl.ones([2, 3])`; float32 unless `dtype`."""
    devices.check(device)
    shape, dtype = _size(shape, "ones"), np.float32 if dtype is None else dtype
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad)


def stack(
    tensors: Sequence[Any], dim: Optional[int] = None, *, axis: Optional[int] = None
) -> Tensor:
    """Join tensors along a new axis `dim` (default 0)."""
    dim = pick_axis(axis, dim)
    return Stack.apply(*tensors, axis=0 if dim is None else dim)


# ---- PyTorch-named factories and functions ----
def _size(shape: tuple, name: str) -> tuple:
    """A factory's size: varargs `(2, 3)` or one tuple/list `((2, 3),)`, validated as PyTorch."""
    if not shape:
        raise TypeError(f'{name}() missing 1 required positional arguments: "size"')
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"{name}(): size must be integers, got {n!r}")
        if n < 0:
            raise RuntimeError(
                f"Trying to create tensor with negative dimension {n}: {[int(m) for m in shape]}"
            )
    return tuple(int(n) for n in shape)


def full(size: Sequence[int], fill_value: Any, *, dtype: Any = None,
         requires_grad: bool = False, device: Any = None) -> Tensor:
    """A tensor of shape `size` (a tuple or list) filled with `fill_value`. Without `dtype`
    the value decides it, as in PyTorch: bool -> bool, int -> int64, float -> float32."""
    devices.check(device)
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full(): size must be a tuple or list of ints, got {type(size).__name__}")
    if dtype is None:
        dtype = to_array(fill_value).dtype
    return Tensor(np.full(_size((size,), "full"), fill_value, dtype=dtype),
                  requires_grad=requires_grad)


def _like(input: Any, dtype: Any) -> tuple:
    data = input.data if isinstance(input, Tensor) else np.asarray(input)
    return data.shape, data.dtype if dtype is None else dtype


def zeros_like(input: Any, *, dtype: Any = None, requires_grad: bool = False,
               device: Any = None) -> Tensor:
    """Zeros of `input`'s shape and dtype (or `dtype`)."""
    devices.check(device)
    shape, dtype = _like(input, dtype)
    return Tensor(np.zeros(shape, dtype=dtype), requires_grad=requires_grad)


def ones_like(input: Any, *, dtype: Any = None, requires_grad: bool = False,
              device: Any = None) -> Tensor:
    """Ones of `input`'s shape and dtype (or `dtype`)."""
    devices.check(device)
    shape, dtype = _like(input, dtype)
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad)


def full_like(input: Any, fill_value: Any, *, dtype: Any = None,
              requires_grad: bool = False, device: Any = None) -> Tensor:
    """`fill_value` in `input`'s shape and dtype (or `dtype`)."""
    devices.check(device)
    shape, dtype = _like(input, dtype)
    return Tensor(np.full(shape, fill_value, dtype=dtype), requires_grad=requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None,
           requires_grad: bool = False, device: Any = None) -> Tensor:
    """start, start + step, ... up to (not including) end; `arange(n)` is 0..n-1.

    As PyTorch: all-integer arguments give int64, any float gives float32 (computed in float64
    as start + i * step, then cast); ceil((end - start) / step) elements.
    """
    devices.check(device)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end > start and step < 0) or (end < start and step > 0):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    integral = all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (start, end, step)
    )
    if dtype is None:
        dtype = np.int64 if integral else np.float32
    if integral:
        n = -(-(int(end) - int(start)) // int(step))
        data = int(start) + int(step) * np.arange(n, dtype=np.int64)
    else:
        n = int(np.ceil((float(end) - float(start)) / float(step)))
        data = float(start) + float(step) * np.arange(n, dtype=np.float64)
    return Tensor(data.astype(dtype, copy=False), requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor on `array`'s memory (no copy; the dtype is kept): changes show in both."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return Tensor._make(array)


def cat(tensors: Sequence[Any], dim: Optional[int] = None, *, axis: Optional[int] = None) -> Tensor:
    """Join tensors along an existing axis `dim` (PyTorch's cat; `concatenate` with dim=)."""
    dim = pick_axis(axis, dim)
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if np.ndim(t.data if isinstance(t, Tensor) else t) == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    ndim = np.ndim(tensors[0].data if isinstance(tensors[0], Tensor) else tensors[0])
    return Concatenate.apply(*tensors, axis=normalize_axis(0 if dim is None else dim, ndim))


concatenate = cat  # numpy's name


def maximum(input: Any, other: Any) -> Tensor:
    """Elementwise max of two tensors (broadcasting); ties split the gradient half/half."""
    return as_tensor(input).maximum(other)


def minimum(input: Any, other: Any) -> Tensor:
    """Elementwise min of two tensors (broadcasting); ties split the gradient half/half."""
    return as_tensor(input).minimum(other)


def matmul(input: Any, other: Any) -> Tensor:
    """Matrix product with numpy/PyTorch broadcasting rules (1-D operands as vectors)."""
    return MatMul.apply(*matmul_operands(input, other))
