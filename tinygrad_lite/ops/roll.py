"""`roll`: elements shifted cyclically along axes, PyTorch's `torch.roll` / `Tensor.roll`.

    t.roll(1, 1)            # along axis 1, by one place: the last column comes first
    t.roll((1, -2), (0, 1))
    t.roll(3)               # no dims: the flattened tensor rolled, then given t's shape

makemore's MLP model shifts its token indices this way (`torch.roll(idx, 1, 1)`).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..core.ops import normalize_axis
from ..core.tensor import Function, Tensor
from .methods import attach


def roll(x: Any, shifts: tuple, axes: Optional[tuple]) -> Any:
    """x rolled by `shifts` along `axes` (None: flattened), on arrays; recorded on Tensors."""
    if isinstance(x, Tensor):
        return Roll.apply(x, shifts=shifts, axes=axes)
    return np.roll(x, shifts if axes is not None else shifts[0], axes)


class Roll(Function):
    """y[..., (i + s) mod n, ...] = x[..., i, ...] along each axis (every element when axes
    is None, in row-major order);  dL/dx = g rolled back by -s (a permutation's adjoint is
    its inverse)."""

    def forward(self, x, shifts, axes):
        self.shifts, self.axes = shifts, axes
        return roll(x, shifts, axes)

    def backward(self, g):
        return roll(g, tuple(-s for s in self.shifts), self.axes)


def _ints(value: Any, what: str) -> tuple:
    values = (value,) if isinstance(value, (int, np.integer)) else tuple(value)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"roll(): {what} must be integers, got {v!r}")
    return tuple(int(v) for v in values)


class RollMethods:
    """The methods below become Tensor's (see `methods.attach`)."""

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        """The elements shifted by `shifts` places along `dims` (int or tuples of the same
        length), wrapping around; with no `dims`, along the flattened tensor. A copy."""
        shifts = _ints(shifts, "shifts")
        dims = None if dims is None else _ints(dims, "dims")
        if not shifts:
            raise RuntimeError("`shifts` required")
        if dims is None and len(shifts) != 1 or dims is not None and len(dims) != len(shifts):
            raise RuntimeError("shifts and dimensions must align. shifts: "
                               f"{len(shifts)}, dims:{0 if dims is None else len(dims)}")
        if dims is not None:
            dims = tuple(normalize_axis(d, self.ndim) for d in dims)
            if self.ndim == 0:
                return Roll.apply(self, shifts=shifts, axes=None)
        return Roll.apply(self, shifts=shifts, axes=dims)


attach(RollMethods)
