"""PyTorch's module-level functions (`tl.exp(x)`, `tl.softmax(x, dim)`, `tl.tril(x)`, ...).

Each is the Tensor method of the same name with the tensor as first argument: `tl.f(x, ...)`
is `x.f(...)`, so the two never differ. `_function` makes them; `einsum` and `pow` (whose
first argument may be a number) are written out.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .core.tensor import Tensor, as_tensor
from .ops import einsum as einsum_ops


def _function(name: str) -> Callable[..., Any]:
    """`tl.<name>(input, *args, **kwargs)`: `input.<name>(*args, **kwargs)`."""

    def function(input: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A002 - PyTorch's name
        return getattr(input if isinstance(input, Tensor) else as_tensor(input), name)(
            *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    method = getattr(Tensor, name)
    function.__doc__ = f"`tl.{name}(input, ...)` is `input.{name}(...)`." + (
        f"\n\n{method.__doc__}" if method.__doc__ else "")
    return function


# elementwise
abs = _function("abs")  # noqa: A001 - PyTorch's names shadow the builtins, as torch's do
exp = _function("exp")
log = _function("log")
log1p = _function("log1p")
sqrt = _function("sqrt")
rsqrt = _function("rsqrt")
sin = _function("sin")
cos = _function("cos")
tanh = _function("tanh")
sigmoid = _function("sigmoid")
relu = _function("relu")
clamp = _function("clamp")
clip = _function("clip")
add = _function("add")
sub = _function("sub")
mul = _function("mul")
div = _function("div")
multiply, subtract, divide, true_divide = mul, sub, div, div
floor_divide = _function("floor_divide")
remainder = _function("remainder")
masked_fill = _function("masked_fill")
eq = _function("eq")
ne = _function("ne")
lt = _function("lt")
le = _function("le")
gt = _function("gt")
ge = _function("ge")
# reductions and scans
sum = _function("sum")  # noqa: A001
mean = _function("mean")
prod = _function("prod")
max = _function("max")  # noqa: A001
min = _function("min")  # noqa: A001
amax = _function("amax")
amin = _function("amin")
argmax = _function("argmax")
argmin = _function("argmin")
std = _function("std")
var = _function("var")
norm = _function("norm")
logsumexp = _function("logsumexp")
softmax = _function("softmax")
log_softmax = _function("log_softmax")
cumsum = _function("cumsum")
sort = _function("sort")
argsort = _function("argsort")
topk = _function("topk")
multinomial = _function("multinomial")
# shapes
reshape = _function("reshape")
transpose = _function("transpose")
permute = _function("permute")
squeeze = _function("squeeze")
unsqueeze = _function("unsqueeze")
flatten = _function("flatten")
t = _function("t")
numel = _function("numel")
clone = _function("clone")
tril = _function("tril")
triu = _function("triu")
flip = _function("flip")
roll = _function("roll")
split = _function("split")
chunk = _function("chunk")
unbind = _function("unbind")


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001 - PyTorch's name
    """input ** exponent, elementwise; either may be a number (not both)."""
    if not isinstance(input, Tensor) and np.ndim(input) == 0:
        if not isinstance(exponent, Tensor):
            raise TypeError("pow(): one of input and exponent must be a Tensor")
        return input**exponent  # exponent.__rpow__
    return as_tensor(input) ** exponent


def einsum(equation: Any, *operands: Any) -> Tensor:
    """Sums of products over named axes, numpy's and PyTorch's notation (`"bij,bjk->bik"`,
    `"ii"`, `"...ij,...jk"`); the operands may also come as one list, or in the sublist form
    `einsum(x, [0, 1], y, [1, 2], [0, 2])` (integers in [0, 52) name axes, `...` the broadcast
    ones). Differentiable to any order (ops/einsum.py)."""
    if not isinstance(equation, str):
        equation, operands = _sublist_equation((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = [x if isinstance(x, Tensor) else as_tensor(x) for x in operands]
    if not tensors:
        raise RuntimeError("einsum(): must provide at least one operand")
    if len({x.dtype for x in tensors}) > 1:
        raise RuntimeError(f"einsum(): expected all operands to have the same dtype, got "
                           f"{sorted(str(x.dtype) for x in tensors)}")
    return einsum_ops.Einsum.apply(*tensors, equation=equation)


def _sublist_equation(args: tuple) -> tuple:
    """(equation, operands) of einsum's sublist form: operand, sublist, ..., [output]."""
    def letters(sublist: Any) -> str:
        out = ""
        for i in sublist:
            if i is Ellipsis:
                out += "..."
            elif isinstance(i, (int, np.integer)) and 0 <= i < 52:
                out += chr(ord("A") + i) if i < 26 else chr(ord("a") + i - 26)
            else:
                raise ValueError(f"einsum(): subscript in subscript list is not within the "
                                 f"valid range [0, 52), got {i!r}")
        return out

    pairs = len(args) // 2
    operands = tuple(args[0:2 * pairs:2])
    equation = ",".join(letters(s) for s in args[1:2 * pairs:2])
    if len(args) % 2:
        equation += "->" + letters(args[-1])
    return equation, operands


__all__ = [name for name, value in list(globals().items())
           if callable(value) and getattr(value, "__module__", None) == __name__
           and not name.startswith("_")]
