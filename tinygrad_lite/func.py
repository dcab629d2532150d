"""Functional transforms, named as in `torch.func` and JAX: they turn a function into its
derivative.

    import tinygrad_lite as tl
    f = lambda x: (x ** 3).sum()
    tl.func.grad(f)(x)        # 3 x**2
    tl.func.hessian(f)(x)     # diag(6 x)

Each transform calls `f` on fresh tensors that require grad (the caller's tensors are neither
changed nor given a `.grad`), runs the engine's reverse mode on the result
(`tl.autograd.grad`) and gives back what it found. Arguments are Tensors, or tuples, lists
and dicts of Tensors (a "pytree", e.g. a dict of parameters); `argnums` (an int or a tuple of
ints) says which positional arguments are differentiated, the others are passed through.

They compose, to any order (`grad(grad(f))`, `hessian = jacobian(jacobian(f))`), and they
compose with `backward()`: a result is recorded in the graph (computed with
`create_graph=True`) exactly when something outside the transform could want to
differentiate it, that is when grad mode is on and `f`'s result depends on a tensor that
requires grad other than the transform's own fresh inputs: an argument that requires grad,
a parameter `f` closes over, or the input of an enclosing transform. Otherwise results are
plain tensors and first order costs nothing extra. As in torch.func, the transforms compute
gradients also inside `tl.no_grad()` (then no result carries a graph).

Forward mode (`jvp`, `jacfwd`) is the double-vjp trick: u -> J^T u is linear in u, so its
vjp with a tangent v is (J^T)^T v = J v.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence, Union

import numpy as np

from . import autograd
from .autograd import enable_grad, is_grad_enabled, topological_order
from .core.autograd import AccumulateGrad
from .core.tensor import Tensor
from .ops.factories import stack, zeros_like

__all__ = [
    "grad",
    "grad_and_value",
    "hessian",
    "hvp",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jvp",
    "value_and_grad",
    "vjp",
]

Argnums = Union[int, Sequence[int]]


# ---- pytrees: a Tensor, or tuples / lists / dicts of them ------------------------------------
def _flatten(tree: Any, what: str) -> tuple:
    """(list of the Tensors in `tree`, function rebuilding the same structure from a list)."""
    if isinstance(tree, Tensor):
        return [tree], lambda leaves: leaves[0]
    if isinstance(tree, (tuple, list, dict)):
        keys = list(tree) if isinstance(tree, dict) else range(len(tree))
        parts = [_flatten(tree[k], what) for k in keys]
        sizes = [len(p[0]) for p in parts]

        def rebuild(leaves: list) -> Any:
            out, start = [], 0
            for (_, sub), n in zip(parts, sizes):
                out.append(sub(leaves[start : start + n]))
                start += n
            if isinstance(tree, dict):
                return dict(zip(keys, out))
            return type(tree)(out) if type(tree) in (tuple, list) else type(tree)(*out)

        return [t for p in parts for t in p[0]], rebuild
    raise TypeError(
        f"{what} must be a Tensor, or a tuple, list or dict of Tensors; got {type(tree).__name__}"
    )


def _argnums(argnums: Argnums, nargs: int, who: str) -> tuple:
    """`argnums` as a tuple of non-negative positions, checked against the call."""
    many = not isinstance(argnums, (int, np.integer))
    positions = tuple(argnums) if many else (argnums,)
    if not positions or any(isinstance(a, bool) or not isinstance(a, (int, np.integer))
                            for a in positions):
        raise TypeError(f"{who}: argnums must be an int or a non-empty tuple of ints, got "
                        f"{argnums!r}")
    normal = []
    for a in positions:
        if not -nargs <= a < nargs:
            raise ValueError(
                f"{who}: got argnums={argnums!r}, but the function was called with {nargs} "
                "positional argument(s)"
            )
        normal.append(int(a) % nargs)
    if len(set(normal)) != len(normal):
        raise ValueError(f"{who}: argnums {argnums!r} repeats an argument")
    return tuple(normal)


def _fresh(t: Tensor, recording: bool, who: str) -> Tensor:
    """The tensor the function is differentiated at: `t` cut from its graph (a new leaf on
    the same memory), or, when `t` itself requires grad and grad mode is on, a recorded copy
    of it, so that the result stays differentiable with respect to `t` (nesting)."""
    if t.data.dtype.kind != "f":
        raise TypeError(f"{who}: can only differentiate with respect to floating-point "
                        f"Tensors; got dtype {t.data.dtype}")
    if recording and t.requires_grad:
        return t.clone()
    return t.detach().requires_grad_(True)


class _Inputs:
    """The differentiated arguments of one call: fresh leaves, and how to rebuild each."""

    def __init__(self, args: tuple, positions: tuple, recording: bool, who: str):
        self.args = list(args)
        self.leaves: list = []  # all fresh tensors, argument after argument
        self.rebuilders: list = []  # (position, number of leaves, rebuild)
        for i in positions:
            leaves, rebuild = _flatten(args[i], f"{who}: argument {i}")
            fresh = [_fresh(t, recording, who) for t in leaves]
            self.args[i] = rebuild(fresh)
            self.leaves += fresh
            self.rebuilders.append((i, len(fresh), rebuild))

    @classmethod
    def call(cls, func: Callable, args: tuple, kwargs: dict, positions: tuple,
             who: str) -> tuple:
        """(recording, inputs, out): whether grad mode was on, the fresh leaves for the
        arguments at `positions`, and func called at them, with grad mode on."""
        recording = is_grad_enabled()
        inputs = cls(args, positions, recording, who)
        with enable_grad():
            out = func(*inputs.args, **kwargs)
        return recording, inputs, out

    def structured(self, flat: list) -> list:
        """Per differentiated argument, `flat` (one item per leaf) in the argument's structure."""
        out, start = [], 0
        for _, n, rebuild in self.rebuilders:
            out.append(rebuild(flat[start : start + n]))
            start += n
        return out


def _reaches_outside(outputs: list, inside: list) -> bool:
    """Whether the outputs depend on a tensor requiring grad that is not in `inside`: then
    what is computed from them must keep its graph, for whoever differentiates it next."""
    roots = [o for o in outputs if o.requires_grad]
    if not roots:
        return False
    own = {id(t) for t in inside}
    return any(isinstance(n, AccumulateGrad) and id(n.variable) not in own
               for n in topological_order(roots))


def _grads(outputs: list, inputs: list, grad_outputs: list, create: bool,
           retain: bool = False) -> list:
    """d(outputs)/d(inputs) contracted with grad_outputs; zeros where an input is unused."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    wanted = [t for t in inputs if t.requires_grad]
    found: dict = {}
    if pairs and wanted:
        with enable_grad():
            grads = autograd.grad([o for o, _ in pairs], wanted, [g for _, g in pairs],
                                  retain_graph=retain or create, create_graph=create,
                                  allow_unused=True)
        found = {id(t): g for t, g in zip(wanted, grads)}
    return [zeros_like(t) if found.get(id(t)) is None else found[id(t)] for t in inputs]


def _detached(tree: Any, keep: bool) -> Any:
    """`tree` with its Tensors detached, unless `keep` (then they stay in the graph)."""
    if keep:
        return tree
    if isinstance(tree, Tensor):
        return tree.detach()
    if isinstance(tree, (tuple, list)):
        return type(tree)(_detached(t, keep) for t in tree)
    if isinstance(tree, dict):
        return {k: _detached(v, keep) for k, v in tree.items()}
    return tree


def _split_aux(out: Any, has_aux: bool, who: str) -> tuple:
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{who}(f)(*args): with has_aux=True, f must return a pair "
                           "(output, aux)")
    return out


def _scalar(out: Any, who: str) -> Tensor:
    if not isinstance(out, Tensor):
        raise RuntimeError(f"{who}(f)(*args): expected f(*args) to return a Tensor, got "
                           f"{type(out).__name__}")
    if out.ndim != 0:
        raise RuntimeError(
            f"{who}(f)(*args): expected f(*args) to return a scalar Tensor, got a tensor of "
            f"shape {out.shape}. Maybe you wanted to use the vjp or jacobian APIs instead?"
        )
    return out


def _like(t: Any, primal: Tensor, who: str) -> Tensor:
    """A tangent or cotangent as a Tensor of `primal`'s shape and dtype."""
    if not isinstance(t, Tensor):
        t = Tensor(np.asarray(t, dtype=primal.data.dtype))
    if t.shape != primal.shape:
        raise ValueError(f"{who}: expected a tensor of shape {primal.shape} (as the primal or "
                         f"output it goes with), got shape {t.shape}")
    return t


def _total(terms: list) -> Any:
    """The sum of some 0-d Tensors, or None when there are none."""
    total = None
    for t in terms:
        total = t if total is None else total + t
    return total


def _unwrap(seq: list, many: bool) -> Any:
    return tuple(seq) if many else seq[0]


# ---- gradients --------------------------------------------------------------------------------
def grad_and_value(func: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """`grad_and_value(f)(*args)` -> (grad, value): as `grad`, also returning f(*args)
    (torch.func's order; JAX's `value_and_grad` returns (value, grad)). With `has_aux`,
    f returns (value, aux) and the result is (grad, (value, aux))."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> tuple:
        positions = _argnums(argnums, len(args), "grad")
        recording, inputs, out = _Inputs.call(func, args, kwargs, positions, "grad")
        out, aux = _split_aux(out, has_aux, "grad")
        out = _scalar(out, "grad")
        if out.data.dtype.kind != "f":
            raise RuntimeError(f"grad(f)(*args): f returned a {out.data.dtype} tensor; only "
                               "floating-point outputs can be differentiated")
        keep = recording and _reaches_outside([out], inputs.leaves)
        flat = _grads([out], inputs.leaves, [None], create=keep)
        grads = _unwrap(inputs.structured(flat), not isinstance(argnums, (int, np.integer)))
        value = out if keep else out.detach()
        if has_aux:
            return grads, (value, _detached(aux, keep))
        return grads, value

    return wrapper


def value_and_grad(func: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """`value_and_grad(f)(*args)` -> (f(*args), grad f(*args)), JAX's name and order. With
    `has_aux`, f returns (value, aux) and the result is ((value, aux), grad)."""
    both = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> tuple:
        g, value = both(*args, **kwargs)
        return value, g

    return wrapper


def grad(func: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """`grad(f)` is the function x -> df/dx for a scalar-valued f (a 0-d Tensor).

    The gradient has the shape of the argument (a tuple of them when `argnums` is a tuple;
    the same structure when the argument is a tuple, list or dict of Tensors). An argument
    f does not use gets zeros. With `has_aux`, f returns (value, aux) and the result is
    (grad, aux). Nest it for higher derivatives: `grad(grad(f))`.
    """
    both = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value = both(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(func: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """(f(*primals), vjp_fn): vjp_fn(v) = v^T J, the vector-Jacobian product, for a
    cotangent v shaped as f's output (a Tensor, or a tuple/list/dict of them).

    vjp_fn returns a tuple with one gradient per primal (in the primal's structure); it can
    be called many times. Reverse mode: one backward pass per call. With `has_aux`, returns
    (output, vjp_fn, aux).
    """
    positions = tuple(range(len(primals)))
    recording, inputs, out = _Inputs.call(func, primals, {}, positions, "vjp")
    out, aux = _split_aux(out, has_aux, "vjp")
    outputs, _ = _flatten(out, "vjp: the output of f")
    keep = recording and _reaches_outside(outputs, inputs.leaves)

    def vjp_fn(cotangents: Any) -> tuple:
        vs, _ = _flatten(cotangents, "vjp_fn: the cotangents")
        if len(vs) != len(outputs):
            raise ValueError(f"vjp_fn: expected {len(outputs)} cotangent(s), one per output "
                             f"of f, got {len(vs)}")
        vs = [_like(v, o, "vjp_fn") for v, o in zip(vs, outputs)]
        create = is_grad_enabled() and (keep or any(v.requires_grad for v in vs))
        flat = _grads(outputs, inputs.leaves, vs, create=create, retain=True)
        return tuple(inputs.structured(flat))

    result = _detached(out, keep)
    return (result, vjp_fn, _detached(aux, keep)) if has_aux else (result, vjp_fn)


def _as_tuple(primals: Any, who: str, what: str) -> tuple:
    if isinstance(primals, Tensor):
        return (primals,)
    if not isinstance(primals, (tuple, list)):
        raise TypeError(f"{who}: expected {what} to be a tuple of Tensors, got "
                        f"{type(primals).__name__}")
    return tuple(primals)


class _Transposed:
    """f at some primals, with the linear map u -> J^T u recorded (create_graph), so that
    tangents v can be pushed forward: J v = d<J^T u, v>/du (the double-vjp trick)."""

    def __init__(self, func: Callable, primals: tuple, who: str, **kwargs: Any):
        positions = tuple(range(len(primals)))
        self.recording, self.inputs, self.out = _Inputs.call(func, primals, kwargs, positions, who)
        self.outputs, self.rebuild = _flatten(self.out, f"{who}: the output of f")
        self.us = [zeros_like(o).requires_grad_(o.data.dtype.kind == "f") for o in self.outputs]
        self.jtu = _grads(self.outputs, self.inputs.leaves, self.us, create=True)
        self.outside = self.recording and _reaches_outside(self.outputs, self.inputs.leaves)

    def push(self, tangents: list, retain: bool = False) -> list:
        """J v for flat tangents v (one per primal leaf): one Tensor per output leaf."""
        pairs = [(g, v) for g, v in zip(self.jtu, tangents) if g.requires_grad]
        create = self.recording and (self.outside or any(v.requires_grad for v in tangents))
        with enable_grad():
            dot = _total([(g * v).sum() for g, v in pairs])
        if dot is None:  # J^T u does not depend on u: J = 0
            return [zeros_like(o) for o in self.outputs]
        return _grads([dot], self.us, [None], create=create, retain=retain)


def jvp(func: Callable, primals: Any, tangents: Any) -> tuple:
    """(f(*primals), J v): the Jacobian-vector product, forward mode, for tangents v shaped as
    the primals (tuples of Tensors, as in torch.func.jvp). J v is shaped as f's output.

    Computed by the double-vjp trick: g(u) = J^T u (a vjp, recorded) is linear in u, and its
    own vjp with v is J v. Costs one forward and two backward passes.
    """
    primals, tangents = _as_tuple(primals, "jvp", "primals"), _as_tuple(tangents, "jvp",
                                                                       "tangents")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: got {len(primals)} primals but {len(tangents)} tangents")
    lin = _Transposed(func, primals, "jvp")
    flat_t = []
    for p, t in zip(primals, tangents):
        ps, _ = _flatten(p, "jvp: primals")
        ts, _ = _flatten(t, "jvp: tangents")
        if len(ps) != len(ts):
            raise ValueError("jvp: each tangent must have the structure of its primal")
        flat_t += [_like(tt, pp, "jvp") for tt, pp in zip(ts, ps)]
    out = lin.push(flat_t)
    return _detached(lin.out, lin.outside), lin.rebuild(out)


def hvp(func: Callable, primals: Any, tangents: Any) -> tuple:
    """(f(*primals), H v): the Hessian-vector product of a scalar f, without forming H.

    H v = d<grad f(x), v>/dx (H is symmetric): reverse over reverse, two backward passes,
    as torch.autograd.functional.hvp (which it matches: H v has the primals' structure, a
    tuple when they are a tuple).
    """
    single = isinstance(primals, Tensor)
    primals, tangents = _as_tuple(primals, "hvp", "primals"), _as_tuple(tangents, "hvp",
                                                                       "tangents")
    if len(primals) != len(tangents):
        raise ValueError(f"hvp: got {len(primals)} primals but {len(tangents)} tangents")
    recording = is_grad_enabled()
    inputs = _Inputs(primals, tuple(range(len(primals))), recording, "hvp")
    vs = [_like(v, x, "hvp") for v, x in zip(_flatten(tangents, "hvp: tangents")[0],
                                             inputs.leaves)]
    with enable_grad():
        out = _scalar(func(*inputs.args), "hvp")
    keep = recording and _reaches_outside([out], inputs.leaves)
    g = _grads([out], inputs.leaves, [None], create=True)
    create = recording and (keep or any(v.requires_grad for v in vs))
    with enable_grad():
        dot = _total([(gi * v).sum() for gi, v in zip(g, vs) if gi.requires_grad])
    hv = [zeros_like(x) for x in inputs.leaves] if dot is None else _grads(
        [dot], inputs.leaves, [None], create=create)
    hv = inputs.structured(hv)
    return (out if keep else out.detach()), (hv[0] if single else tuple(hv))


# ---- Jacobians --------------------------------------------------------------------------------
def _assemble(rows: list, out_shape: tuple, x: Tensor) -> Tensor:
    """Rows d out[i] / dx (one per flat output index) as the Jacobian, out_shape + x.shape."""
    if not rows:
        return Tensor(np.zeros(out_shape + x.shape, dtype=x.data.dtype))
    return stack(rows).reshape(out_shape + x.shape)


def jacrev(func: Callable, argnums: Argnums = 0) -> Callable:
    """`jacrev(f)(*args)`: the Jacobian J[i..., j...] = d f(args)[i...] / d x[j...],
    of shape f's output shape + x's shape, by reverse mode (one backward pass per output
    element). With `argnums` a tuple, a tuple of Jacobians; when f returns a tuple of
    Tensors, a tuple (one per output) of those.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        positions = _argnums(argnums, len(args), "jacobian")
        recording, inputs, out = _Inputs.call(func, args, kwargs, positions, "jacobian")
        outputs, rebuild = _flatten(out, "jacobian: the output of f")
        keep = recording and _reaches_outside(outputs, inputs.leaves)
        per_output = []
        for o in outputs:
            rows: list = [[] for _ in inputs.leaves]
            for i in range(o.data.size):
                e = np.zeros(o.data.size, dtype=o.data.dtype)
                e[i] = 1
                row = _grads([o], inputs.leaves, [Tensor(e.reshape(o.shape))], create=keep,
                             retain=True)
                for k, r in enumerate(row):
                    rows[k].append(r)
            jac = [_assemble(r, o.shape, x) for r, x in zip(rows, inputs.leaves)]
            per = inputs.structured(jac)
            per_output.append(_unwrap(per, not isinstance(argnums, (int, np.integer))))
        return rebuild(per_output)

    return wrapper


def jacobian(func: Callable, argnums: Argnums = 0) -> Callable:
    """The Jacobian of f (JAX's `jacobian`, which is `jacrev`): see `jacrev`."""
    return jacrev(func, argnums)


def jacfwd(func: Callable, argnums: Argnums = 0) -> Callable:
    """`jacfwd(f)(*args)`: the same Jacobian as `jacrev`, by forward mode (one Jacobian-vector
    product per input element, each a backward pass through the recorded vjp). Cheaper than
    jacrev when the output has more elements than the input."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        positions = _argnums(argnums, len(args), "jacfwd")
        fixed = dict(enumerate(args))

        def of_differentiated(*diff: Any) -> Any:
            full = dict(fixed)
            full.update(zip(positions, diff))
            return func(*[full[i] for i in range(len(args))], **kwargs)

        lin = _Transposed(of_differentiated, tuple(args[i] for i in positions), "jacfwd")
        leaves = lin.inputs.leaves
        columns: list = [[[] for _ in leaves] for _ in lin.outputs]  # [output][input] -> cols
        for k, x in enumerate(leaves):
            for j in range(x.data.size):
                vs = [zeros_like(t) for t in leaves]
                e = np.zeros(x.data.size, dtype=x.data.dtype)
                e[j] = 1
                vs[k] = Tensor(e.reshape(x.shape))
                for m, col in enumerate(lin.push(vs, retain=True)):
                    columns[m][k].append(col)
        per_output = []
        for o, cols in zip(lin.outputs, columns):
            jac = []
            for x, c in zip(leaves, cols):
                if not c:
                    jac.append(Tensor(np.zeros(o.shape + x.shape, dtype=o.data.dtype)))
                    continue
                moved = stack(c).reshape((x.data.size, o.data.size)).transpose(1, 0)
                jac.append(moved.reshape(o.shape + x.shape))
            per = lin.inputs.structured(jac)
            per_output.append(_unwrap(per, not isinstance(argnums, (int, np.integer))))
        return lin.rebuild(per_output)

    return wrapper


def hessian(func: Callable, argnums: Argnums = 0) -> Callable:
    """`hessian(f)(*args)`: H[i..., j...] = d^2 f / dx[i...] dx[j...] for a scalar f, of shape
    x.shape + x.shape ((n, n) for an (n,) input): the Jacobian of the gradient, reverse over
    reverse (one backward pass through the gradient's graph per element of x). With
    `argnums` a tuple, H[a][b] = d^2 f / dx_a dx_b."""
    return jacrev(jacrev(func, argnums), argnums)
