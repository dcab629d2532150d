"""Devices, as PyTorch names them: tinygrad_lite has one, the CPU.

`tl.device('cpu')` prints and compares like `torch.device('cpu')`, `t.device` is that device,
and `t.to('cpu')`, `t.cpu()`, `module.to('cpu')` keep everything where it is. Any other
device can be named (code often builds `device('cuda' if cuda.is_available() else 'cpu')`),
but moving a tensor there is a one-line error. `tl.cuda.is_available()` is False.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Optional

import numpy as np

from .core.tensor import Tensor

# PyTorch's device types (any may be named; only "cpu" can hold tensors)
DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
                "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                "privateuseone")


class device:  # noqa: N801 - PyTorch's name
    """A device: `device('cpu')`, `device('cpu:0')`, `device('cpu', 0)`; `.type`, `.index`."""

    __slots__ = ("type", "index")

    def __init__(self, type: Any, index: Optional[int] = None) -> None:  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a string such as 'cpu', got {type!r}")
        name, _, number = type.partition(":")
        if name not in DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(DEVICE_TYPES)} device type at start "
                               f"of device string: {type}")
        if number:
            if index is not None or not number.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(number)
        if index is not None and (isinstance(index, bool) or int(index) < 0):
            raise RuntimeError(f"Device index must not be negative; got {index!r}")
        self.type = name
        self.index = None if index is None else int(index)

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


def check(where: Any) -> device:
    """`where` (a device, its name or None) as a device, when it is the CPU; else a one-line
    error."""
    if where is None:
        return CPU
    d = where if isinstance(where, device) else device(where)
    if d.type != "cpu":
        raise RuntimeError(f"tinygrad_lite runs on the CPU only: there is no device {str(d)!r} "
                           "(use 'cpu')")
    return d


def is_device(x: Any) -> bool:
    """Whether a positional argument of `to()` names a device (rather than a dtype)."""
    return isinstance(x, (device, str)) or (isinstance(x, int) and not isinstance(x, bool))


def to_args(args: tuple, kwargs: dict) -> tuple:
    """`to()`'s arguments, as PyTorch takes them ((device), (dtype), (device, dtype),
    (tensor), each with device=/dtype= keywords, non_blocking and copy) as (device, dtype):
    either may be None. A device other than the CPU raises."""
    kwargs = dict(kwargs)
    where, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    copy = kwargs.pop("copy", False)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, bool):
            continue  # to(dtype, non_blocking, copy) written positionally
        if is_device(a):
            where = cuda_index(a) if isinstance(a, int) else a
        elif isinstance(a, Tensor):  # another tensor: its dtype
            dtype = a.dtype
        elif a is not None:
            dtype = a
    if where is not None:
        check(where)
    return where, (None if dtype is None else np.dtype(dtype)), copy


def cuda_index(i: int) -> device:
    return device("cuda", i)


def _false() -> bool:
    return False


def _zero() -> int:
    return 0


# `torch.cuda.is_available()` and friends, as code written for PyTorch asks them
cuda = SimpleNamespace(is_available=_false, device_count=_zero)
backends = SimpleNamespace(mps=SimpleNamespace(is_available=_false),
                           cudnn=SimpleNamespace(is_available=_false))
accelerator = SimpleNamespace(is_available=_false, device_count=_zero)
