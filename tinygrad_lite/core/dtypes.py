"""PyTorch's type promotion: which dtype `a + b` has when the operands' dtypes differ.

numpy's rules differ from PyTorch's in the cases a PyTorch user meets first: an int64 tensor
times a float32 weight is float64 in numpy (float32 in PyTorch); an int32 tensor plus 2 is
int64 in numpy (int32); a float32 tensor plus a 0-d float64 array is float64 in numpy
(float32). PyTorch's rule, used by every arithmetic operator here:

1. Each operand has a *category*: bool < integer < floating < complex.
2. Operands form three groups, by priority: tensors with dimensions, 0-d tensors (and 0-d
   arrays), Python numbers (a float counts as float32, an int as int64, the default dtypes).
   numpy scalars (`np.float64(2.5)`) count as Python numbers of their kind, as in PyTorch:
   `int tensor * np.float64(2.5)` is float32.
   Within a group the dtypes promote as usual (int32 with int64 is int64).
3. The result is the highest-priority group's dtype, unless a lower group has a higher
   category: then that group's dtype. So `int tensor * 2.5` is float32, `float32 tensor +
   0-d float64` stays float32, `int32 tensor + 2` stays int32.
4. True division of integers gives the default float dtype, float32.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

DEFAULT_FLOAT = np.dtype(np.float32)
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_PYTHON_NUMBER = {
    bool: np.dtype(np.bool_),
    int: np.dtype(np.int64),
    float: DEFAULT_FLOAT,
    complex: np.dtype(np.complex64),
}

# PyTorch's names of the dtypes, as its errors print them ("not implemented for 'Long'")
_TORCH_NAMES = {
    np.dtype(t): name
    for t, name in [
        (np.bool_, "Bool"), (np.uint8, "Byte"), (np.int8, "Char"), (np.int16, "Short"),
        (np.int32, "Int"), (np.int64, "Long"), (np.uint16, "UInt16"), (np.uint32, "UInt32"),
        (np.uint64, "UInt64"), (np.float16, "Half"), (np.float32, "Float"),
        (np.float64, "Double"), (np.complex64, "ComplexFloat"), (np.complex128, "ComplexDouble"),
    ]
}

_NUMPY_SCALAR = {kind: _PYTHON_NUMBER[t] for kind, t in
                 (("b", bool), ("i", int), ("u", int), ("f", float), ("c", complex))}


def _promote(a: Optional[np.dtype], b: np.dtype) -> np.dtype:
    """Two dtypes of one priority group: the higher category wins, else the wider type."""
    if a is None or a == b:
        return b
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca == cb:
        return np.promote_types(a, b)
    return a if ca > cb else b


def result_type(*operands: Any) -> np.dtype:
    """The dtype PyTorch gives an elementwise op on `operands` (tensors, arrays, numbers)."""
    groups: list = [None, None, None]  # dimensioned, 0-d, Python numbers
    for x in operands:
        dtype = getattr(x, "dtype", None)
        if isinstance(x, np.generic):  # a numpy scalar: a Python number of its kind
            groups[2] = _promote(groups[2], _NUMPY_SCALAR.get(x.dtype.kind, x.dtype))
        elif dtype is None:
            groups[2] = _promote(groups[2], _PYTHON_NUMBER[type(x)] if type(x) in _PYTHON_NUMBER
                                 else np.asarray(x).dtype)
        else:
            dim = 0 if np.ndim(x) else 1
            groups[dim] = _promote(groups[dim], np.dtype(dtype))
    result = None
    for dtype in groups:  # a lower-priority group counts only with a higher category
        if dtype is not None and (result is None or _CATEGORY[dtype.kind] > _CATEGORY[result.kind]):
            result = dtype
    if result is None:
        raise TypeError("result_type() needs at least one operand")
    return result


def division_type(*operands: Any) -> np.dtype:
    """True division: as `result_type`, but integers and bools give the default float."""
    dtype = result_type(*operands)
    return dtype if _CATEGORY[dtype.kind] >= 2 else DEFAULT_FLOAT


def torch_name(dtype: np.dtype) -> str:
    """PyTorch's name of `dtype` in its error messages: int64 is 'Long', float64 'Double'."""
    return _TORCH_NAMES.get(np.dtype(dtype), np.dtype(dtype).name)


def require_floating(kernel: str, dtype: np.dtype) -> None:
    """PyTorch's NotImplementedError when a floating-only kernel gets an integer, bool or
    complex dtype: '"mse_cpu" not implemented for 'Long''. numpy would compute in integers
    (or wrap around, or promote) and return a silently wrong result."""
    if dtype.kind != "f":
        raise NotImplementedError(f'"{kernel}" not implemented for {torch_name(dtype)!r}')
