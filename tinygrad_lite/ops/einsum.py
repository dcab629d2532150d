"""`einsum`: sums of products over named axes, differentiable to any order.

The equation is first written out in full (`normalize`): the ellipsis becomes letters of its
own, an implicit output (no `->`) becomes the letters used once, in alphabetical order, after
the ellipsis. Then the gradient of operand i is itself an einsum: g (the output's subscripts)
times the other operands, contracted to operand i's subscripts. Two cases need more:

- a letter of operand i found in no other operand nor the output (summed away): its gradient
  is the same along that axis, so a constant ones(n) operand with that letter broadcasts it;
- a letter repeated within operand i (`ii->i`, a diagonal): the gradient lives on that
  diagonal, so each repeat is renamed to a fresh letter and an identity matrix eye(n) with
  the letter and its new name puts it there.

With those constants the gradient is an einsum of g, the operands and constants, so it is
recorded as one more `Einsum` under create_graph and differentiates again.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from ..core.tensor import Function, Tensor

LETTERS = string.ascii_letters


def normalize(equation: str, ndims: list) -> tuple:
    """(input subscripts, output subscripts) of `equation` for operands of `ndims` axes, with
    no ellipsis and an explicit output. Raises ValueError (as numpy does) if it is malformed."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(ndims):
        raise ValueError(f"einsum(): {len(inputs)} operand subscripts in {equation!r} but "
                         f"{len(ndims)} operands were given")
    for part in inputs + [rhs]:
        if any(c not in LETTERS and c != "." for c in part) or part.replace("...", "").count("."):
            raise ValueError(f"einsum(): invalid subscript in equation {equation!r}; use "
                             "letters a-z, A-Z and '...'")
    used = set("".join(inputs) + rhs) - {"."}
    spare = [c for c in LETTERS if c not in used]
    ellipsis_ndim = 0
    for part, ndim in zip(inputs, ndims):
        named = len(part.replace("...", ""))
        if ("..." in part and named > ndim) or ("..." not in part and named != ndim):
            raise ValueError(f"einsum(): the subscript {part!r} does not match an operand "
                             f"with {ndim} dimensions")
        if "..." in part:
            ellipsis_ndim = max(ellipsis_ndim, ndim - named)
    dots = "".join(spare[:ellipsis_ndim])
    full = [p.replace("...", dots[len(dots) - (n - len(p.replace("...", ""))):])
            for p, n in zip(inputs, ndims)]
    if arrow:
        if "..." not in rhs and ellipsis_ndim and any("..." in p for p in inputs):
            out = rhs  # the ellipsis axes are summed over, as numpy does
        else:
            out = rhs.replace("...", dots)
        if len(set(out)) != len(out) or any(c not in "".join(full) for c in out):
            raise ValueError(f"einsum(): output subscript {rhs!r} repeats a letter or names "
                             "one no operand has")
    else:
        counts = {c: "".join(inputs).count(c) for c in set("".join(inputs)) - {"."}}
        out = dots + "".join(sorted(c for c, k in counts.items() if k == 1))
    return full, out


def einsum(equation: str, *operands: Any) -> Any:
    """The einsum of arrays, or a recorded `Einsum` when an operand is a Tensor."""
    if any(isinstance(x, Tensor) for x in operands):
        return Einsum.apply(*operands, equation=equation)
    return np.einsum(equation, *operands, optimize=_optimize(operands))


def _optimize(arrays: tuple) -> Any:
    """numpy's contraction planner (matrix products through BLAS) for three or more operands
    or large ones; for small ones planning costs more than it saves."""
    return "greedy" if len(arrays) > 2 or max(np.size(a) for a in arrays) >= 4096 else False


class Einsum(Function):
    """y = einsum(equation, x_1, ..., x_n);  dL/dx_i = einsum(g and every x_j, j != i, to x_i's
    subscripts), with ones(n) for the letters x_i alone has and eye(n) for its repeated
    letters (see the module's docstring)."""

    def forward(self, *xs, equation):
        inputs, self.out = normalize(equation, [x.ndim for x in xs])
        self.inputs = inputs
        self.shapes = [x.shape for x in xs]
        self.save_for_backward(*xs)
        return np.einsum(",".join(inputs) + "->" + self.out, *xs, optimize=_optimize(xs))

    def backward(self, g):
        xs = self.saved_tensors
        return tuple(self._grad(i, g, xs) if need else None
                     for i, need in enumerate(self.needs_input_grad))

    def _grad(self, i: int, g: Any, xs: tuple) -> Any:
        subs, shape = self.inputs[i], self.shapes[i]
        others = [s for j, s in enumerate(self.inputs) if j != i]
        terms = [self.out] + others
        operands = [g] + [x for j, x in enumerate(xs) if j != i]
        seen = "".join(terms)
        fresh = iter(c for c in LETTERS if c not in seen + subs)
        target = ""
        for axis, c in enumerate(subs):
            n = shape[axis]
            if c in target:  # a repeated letter: a diagonal, through eye(n)
                new = next(fresh)
                terms.append(c + new)
                operands.append(np.eye(n, dtype=np.asarray(g).dtype))
                target += new
                continue
            if c not in seen:  # a letter summed away in forward: broadcast back by ones(n)
                terms.append(c)
                operands.append(np.ones(n, dtype=np.asarray(g).dtype))
                seen += c
            target += c
        return einsum(",".join(terms) + "->" + target, *operands)
