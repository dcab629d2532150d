"""`Tensor`, a numpy array that remembers how it was computed, and `Function`, one recorded op.

A Tensor holds `data` (an ndarray), `requires_grad`, `grad` (a Tensor, filled by backward)
and `grad_fn`: the `Function` node that computed it, None for a leaf. The Tensor only
orchestrates; every operation is a `Function` (core/ops.py, ops/) with its forward pass and
its gradient rule side by side.

Views and in-place changes follow PyTorch's model. Tensors that share memory (a view and its
base, a tensor and its `detach()`) share one version counter, which every in-place change
bumps. A node checks the versions of the arrays it saved before its rule runs, so a gradient
is never computed from overwritten values. A view remembers how it was made from its base,
and when the base has changed in place since, it is made again the next time it is used: its
grad_fn then sees the base's new history.
"""

from __future__ import annotations

import weakref
from typing import Any, Optional

import numpy as np

from .autograd import AccumulateGrad, grad_mode, sequence
from .autograd import backward as backpropagate


class ShapeError(ValueError):
    """An operation was given inputs whose shapes it cannot combine."""


def to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """A copy of `data` as an ndarray: Python floats become float32 (PyTorch's default)."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None or isinstance(data, (np.ndarray, np.generic)):
        return np.array(data, dtype=dtype)
    array = np.array(data)
    if array.dtype == np.float64 and not _holds_float64(data):
        array = array.astype(np.float32)  # Python floats; numpy float64 scalars stay float64
    return array


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    """`data` as a tensor, sharing its memory when it is an ndarray (or a Tensor) of the
    dtype asked for, as `torch.as_tensor`; anything else is copied (or converted)."""
    if isinstance(data, Tensor):
        return data if dtype is None or np.dtype(dtype) == data.dtype else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype):
        return Tensor._make(data)
    return Tensor(data, dtype=dtype)


def _holds_float64(data: Any) -> bool:
    if isinstance(data, (list, tuple)):
        return any(_holds_float64(x) for x in data)
    return isinstance(data, np.floating)


class Tensor:
    """An n-dimensional array with reverse-mode autodiff.

    `Tensor(data, requires_grad=False, dtype=None)` copies `data` (an array, a number or a
    nested list; Python floats become float32), as `tl.tensor` does; `tl.from_numpy(a)` and
    `tl.as_tensor(a)` share an ndarray's memory instead. Only floating point tensors can
    require gradients.
    """

    __slots__ = ("data", "_grad", "requires_grad", "_ctx", "_counter", "_view", "__dict__",
                 "__weakref__")
    __array_ufunc__ = None  # `ndarray * Tensor` calls Tensor.__rmul__ instead of broadcasting
    __hash__ = object.__hash__  # by identity, as in PyTorch (== is elementwise)
    _name: Optional[str] = None  # a label for drawings (tools/viz.py)
    _accumulator: Optional[AccumulateGrad] = None  # a leaf's node, made on first use

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data = to_array(data, dtype)
        self._grad = self._ctx = self._counter = self._view = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_()

    @staticmethod
    def _make(data: np.ndarray, requires_grad: bool = False, ctx: Any = None) -> Tensor:
        """A Tensor around `data` itself (no copy, no checks): what ops return."""
        t = object.__new__(Tensor)
        t.data, t.requires_grad, t._ctx = data, requires_grad, ctx
        t._grad = t._counter = t._view = None
        return t

    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    is_leaf = property(lambda self: self._ctx is None, doc="Not computed by a recorded op.")

    @property
    def grad(self) -> Optional[Tensor]:
        """dL/dself after `backward()`: a Tensor of this tensor's shape, or None."""
        return self._grad

    @grad.setter
    def grad(self, value: Any) -> None:
        self._grad = value if value is None else self._checked_grad(value)

    def _checked_grad(self, value: Any) -> Tensor:
        """An assigned gradient: a Tensor (an array is wrapped) of this tensor's shape."""
        value = value if isinstance(value, Tensor) else Tensor._make(to_array(value, self.dtype))
        if value.shape != self.shape:
            raise RuntimeError(f"assigned grad has shape {value.shape}, but the tensor has "
                               f"shape {self.shape}")
        return value

    @property
    def grad_fn(self) -> Optional[Function]:
        """The `Function` that computed this tensor (None for a leaf, or under no_grad)."""
        if self._view is not None:
            self._refresh()
        return self._ctx

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's memory has had (shared with its views)."""
        return 0 if self._counter is None else int(self._counter[0])

    def _shared_counter(self) -> np.ndarray:
        """The version counter, made on first use and shared with views: a one-element int64
        array (a list would be one more object for the cyclic garbage collector to track)."""
        if self._counter is None:
            self._counter = np.zeros(1, np.int64)
        return self._counter

    def _bump_version(self) -> None:
        """Count an in-place change of `.data` (call it after writing into the array)."""
        self._shared_counter()[0] += 1

    def _grad_node(self) -> Any:
        """The node this tensor's gradient goes to: its grad_fn, or a leaf's AccumulateGrad."""
        if self._ctx is not None:
            return self._ctx
        if self._accumulator is None:
            self._accumulator = AccumulateGrad(self)
        return self._accumulator

    def _refresh(self) -> None:
        """A view whose base changed in place since its grad_fn was made: make it again from
        the base, as PyTorch does, so its gradient sees the base's new history."""
        base, make, version = self._view
        current = base._version
        if version != current and grad_mode.enabled and base.requires_grad:
            self._ctx = make(base)._ctx
            self.requires_grad = True
            self._view = (base, make, current)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if self._ctx is not None and not requires_grad:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if requires_grad and self.data.dtype.kind not in "fc":
            raise RuntimeError("only Tensors of floating point and complex dtype can require "
                               f"gradients; got {self.data.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self) -> Tensor:
        """The same memory (and version counter), cut from the graph."""
        t = Tensor._make(self.data)
        t._counter = self._shared_counter()
        return t

    def retain_grad(self) -> Tensor:
        """Keep `.grad` on this non-leaf tensor after backward (leaves always keep it). Its
        node delivers it through a weak reference: the graph keeps the tensor alive no longer."""
        if self._ctx is not None:
            self._ctx._retained = weakref.ref(self)
        return self

    # ---- backward ------------------------------------------------------------------------
    def backward(self, gradient: Any = None, retain_graph: Optional[bool] = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Add d(self)/d(leaf) into `.grad` of every leaf that requires grad (of `inputs`
        alone when given). `gradient` is dL/dself; it may be omitted for a single value.
        The graph's saved arrays are freed unless `retain_graph`; `create_graph` records
        the backward pass too, so the gradients can be differentiated again."""
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have "
                               "a grad_fn")
        seed = self._seed(gradient, "backward()", create_graph)
        if inputs is None:
            order = backpropagate([self._grad_node()], [seed], accumulate, create_graph)
        else:
            wanted = {t._grad_node(): t for t in ([inputs] if isinstance(inputs, Tensor)
                                                 else inputs)}
            order = backpropagate([self._grad_node()], [seed],
                                  lambda node, g, cg: wanted[node]._accumulate(g, cg),
                                  create_graph, set(wanted))
        if not (create_graph if retain_graph is None else retain_graph):
            release(order)

    def _seed(self, gradient: Any, who: str, create_graph: bool) -> Any:
        """dL/dself to start from: ones for a single value; an array, a Tensor to record."""
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(f"{who}: grad can be implicitly created only for a scalar "
                                   f"output; this tensor has shape {self.shape}. Pass the "
                                   "gradient of that shape.")
            ones = np.ones(self.shape, self.dtype)
            return Tensor._make(ones) if create_graph else ones
        if not isinstance(gradient, Tensor):
            gradient = to_array(gradient, self.dtype)
        if gradient.shape != self.shape:
            raise RuntimeError(f"{who}: grad has shape {gradient.shape} but the tensor has "
                               f"shape {self.shape}")
        if create_graph:
            return gradient if isinstance(gradient, Tensor) else Tensor._make(gradient)
        return gradient.data if isinstance(gradient, Tensor) else gradient

    def _accumulate(self, g: Any, create_graph: bool) -> None:
        """self.grad += g, as PyTorch: in place into a gradient of its own; out of place (a
        Tensor with a graph) when the gradient is to be differentiated again."""
        if create_graph:
            self._grad = g if self._grad is None else self._grad + g
        elif self._grad is None:
            self._grad = Tensor._make(np.array(g, dtype=self.dtype))
        elif self._grad._ctx is not None:  # left by a create_graph backward
            self._grad = Tensor._make(self._grad.data + g)
        else:
            self._grad.data += g

    # ---- the basics every op and user needs ------------------------------------------------
    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> Any:
        if self.data.size != 1:
            raise RuntimeError(f"a Tensor with {self.data.size} elements cannot be converted "
                               "to a Python scalar")
        return self.data.item()

    def __repr__(self) -> str:
        extra = (f", grad_fn={self._ctx!r}" if self._ctx is not None
                 else ", requires_grad=True" if self.requires_grad else "")
        body = np.array2string(self.data, precision=4, threshold=20, separator=", ")
        body = body.replace("\n", "\n       ")
        return f"Tensor({body}, shape={self.shape}, dtype={self.dtype}{extra})"


def accumulate(node: Any, g: Any, create_graph: bool) -> None:
    """Where backward delivers a gradient: into `.grad` of a leaf, or of a tensor that
    called retain_grad() (if it is still alive)."""
    t = node.variable if type(node) is AccumulateGrad else node._retained()
    if t is not None:
        t._accumulate(g, create_graph)


def zero_grads(tensors: Any, set_to_none: bool = True) -> None:
    """Forget the tensors' gradients: `.grad = None`, or with `set_to_none=False` zeros in
    place (a gradient with a graph, from `backward(create_graph=True)`, becomes new zeros).
    What `Module.zero_grad` and `Optimizer.zero_grad` do."""
    for t in tensors:
        if t._grad is None or set_to_none:
            t.grad = None
        elif t._grad._ctx is not None:
            t.grad = np.zeros_like(t.data)
        else:
            t._grad.data[...] = 0


def release(order: list) -> None:
    """Free the arrays the nodes of a backpropagated graph saved, as PyTorch does: a second
    backward through a node that saved any raises (nodes that saved nothing stay usable)."""
    for node in order:
        if node._saved:
            node._saved = None


class Function:
    """One differentiable operation: `forward` and its gradient rule `backward`, side by side.

        class Cube(tl.Function):
            '''y = x**3;  dL/dx = 3 x**2 g'''
            def forward(self, x):          # numpy arrays in, a numpy array out
                self.save_for_backward(x)
                return x ** 3
            def backward(self, g):         # g = dL/dy
                (x,) = self.saved_tensors
                return 3 * x**2 * g

        y = Cube.apply(t)

    `backward` is written once, with what numpy arrays and Tensors share (operators, `.T`,
    `.sum(axis, keepdims=)`, `.reshape`, comparisons, indexing), and runs two ways: on
    numpy arrays in an ordinary backward, at numpy speed; on Tensors, recorded, with
    `create_graph=True`, so its gradients can be differentiated again. Then `saved_tensors`
    gives an input's array back as that input, the output's as the output, and any other
    array as a constant.

    It returns one gradient per input (alone when there is one), None where
    `needs_input_grad` is False, of the input's shape or one it broadcast to (the engine
    sums it back). Keyword arguments of `apply` go to `forward`. A view op (`is_view`)
    returns a view of its first input's memory; any other op's output has memory of its own.
    """

    __slots__ = ("next", "needs_input_grad", "_saved", "_versions", "_seq", "_shape", "_dtype",
                 "__dict__", "__weakref__")
    is_view = False
    _retained: Any = None  # a weak reference to the output, once it called retain_grad()
    _name: Optional[str] = None  # the output's name, for drawings

    def forward(self, *arrays: Any, **options: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, g: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.backward is not implemented")

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep what `backward` needs; freed after backward unless `retain_graph=True`."""
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple:
        """What forward saved: arrays in an ordinary backward, Tensors while recording. An
        input's array is read from that input now, so a leaf's `.data` assigned since is
        seen, as in PyTorch; a tensor changed in place since it was saved is an error."""
        if self._saved is None:
            raise RuntimeError(f"{self!r}: trying to backward through the graph a second "
                               "time; its saved arrays were freed. Pass retain_graph=True to "
                               "the first backward().")
        for counter, version, k, i in self._versions:
            if counter is not None and counter[0] != version:
                what = (f"input {k} of {self!r} (shape {self._saved[i].shape})" if k >= 0
                        else f"the output of {self!r}")
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: {what} is at version {counter[0]}; expected "
                    f"version {version} instead. Do the in-place update after backward(), or "
                    "use an out-of-place op.")
        if grad_mode.enabled:
            return self._saved_as_tensors()
        return tuple([a.data if isinstance(a, Tensor) else a for a in self._saved])

    def _saved_as_tensors(self) -> tuple:
        """The saved values for a backward being recorded (create_graph): an input as itself,
        the output as a tensor whose grad_fn is this node, any other array as a constant
        (anything else, None say, as it is)."""
        saved = [Tensor._make(a) if type(a) is np.ndarray else a for a in self._saved]
        for counter, _, k, i in self._versions:
            if k < 0:
                saved[i] = Tensor._make(self._saved[i], True, self)
                saved[i]._counter = counter
        return tuple(saved)

    @property
    def next_functions(self) -> tuple:
        """PyTorch's view of `next`: `(node, 0)` per input."""
        return tuple([(n, 0) for n in self.next])

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"

    @classmethod
    def apply(cls, *inputs: Any, **options: Any) -> Tensor:
        """Run `forward` on the inputs' arrays; when an input requires grad (and grad mode is
        on) record the op as the output's grad_fn, noting the version of every array it
        saved. Inputs that are not Tensors are constants: the graph keeps no node for them."""
        ctx = object.__new__(cls)
        enabled, record = grad_mode.enabled, False
        arrays, needs, nodes = [], [], []
        for x in inputs:
            if isinstance(x, Tensor):
                if x._view is not None:
                    x._refresh()  # a view of a base changed in place since: a current grad_fn
                arrays.append(x.data)
                if x.requires_grad and enabled:
                    record = True
                    needs.append(True)
                    nodes.append(x._ctx if x._ctx is not None else x._grad_node())
                    continue
            else:
                arrays.append(x)
            needs.append(False)
            nodes.append(None)
        ctx.needs_input_grad = tuple(needs)
        ctx._saved = ctx._versions = ()
        try:
            data = ctx.forward(*arrays, **options)
        except ValueError as e:
            shapes = ", ".join(str(np.shape(a)) for a in arrays)
            raise ShapeError(f"{cls.__name__}: {e} (input shapes {shapes})") from None
        if type(data) is not np.ndarray:  # numpy made a 0-d result a scalar
            scalar, data = data, _output_array(cls, data)
            if ctx._saved:
                ctx._saved = tuple([data if a is scalar else a for a in ctx._saved])
        out = Tensor._make(data, record, ctx if record else None)
        if data.base is not None and arrays and isinstance(inputs[0], Tensor):
            _mark_view(cls, out, inputs[0], options)
        if record:
            ctx.next = tuple(nodes)
            ctx._seq = next(sequence)
            ctx._shape, ctx._dtype = data.shape, data.dtype
            if ctx._saved:
                ctx._saved, ctx._versions = _remember(ctx._saved, inputs, arrays, out)
        return out

    def gradients(self, g: Any) -> tuple:
        """`backward(g)` checked: one gradient per input, None or of the input's shape
        (summed back over broadcast axes); arrays, or Tensors while recording."""
        grads = self.backward(g)
        if type(grads) is not tuple:
            grads = tuple(grads) if isinstance(grads, list) else (grads,)
        if len(grads) != len(self.next):
            raise RuntimeError(f"{type(self).__name__}.backward returned {len(grads)} "
                               f"gradient(s) for {len(self.next)} input(s)")
        kind = Tensor if grad_mode.enabled else np.ndarray
        for g, n in zip(grads, self.next):
            if n is not None and g is not None and (type(g) is not kind or g.shape != n._shape):
                return tuple([None if n is None or g is None else
                              _fit(type(self).__name__, i, g, n._shape, kind)
                              for i, (g, n) in enumerate(zip(grads, self.next))])
        return grads


def sum_to(g: Any, shape: tuple) -> Any:
    """Sum `g` over the axes along which a tensor of `shape` was broadcast to g's shape:
    the adjoint of broadcasting. Works on arrays and on Tensors alike."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    return (g.sum(axis=axes, keepdims=True) if axes else g).reshape(shape)


def _fit(name: str, i: int, g: Any, shape: tuple, kind: type) -> Any:
    """A gradient from `name.backward` for input i made an array (or Tensor) of `shape`."""
    if isinstance(g, Tensor) and kind is np.ndarray:
        g = g.data  # a rule that computed with Tensors: an ordinary backward needs numbers
    elif isinstance(g, (np.ndarray, np.generic, int, float)) and kind is Tensor:
        raise RuntimeError(f"{name}.backward returned a numpy array for input {i}, so its "
                           "gradient cannot be differentiated (create_graph=True): write it "
                           "with Tensor operations, or mark it @once_differentiable")
    elif not isinstance(g, (Tensor, np.ndarray, np.generic, int, float)):
        raise TypeError(f"{name}.backward returned a {type(g).__name__} as the gradient of "
                        f"input {i}; it must return arrays or Tensors")
    if kind is np.ndarray:
        g = np.asarray(g)
    lead = g.ndim - len(shape)
    if lead < 0 or any(n != 1 and n != m for n, m in zip(shape, g.shape[lead:])):
        raise ShapeError(f"{name}.backward returned a gradient of shape {g.shape} for input "
                         f"{i}, which has shape {shape}")
    return sum_to(g, shape)


def _output_array(cls: type, data: Any) -> np.ndarray:
    """numpy made a 0-d result a scalar: an array again; anything else is a bug in forward."""
    if not isinstance(data, (np.generic, int, float, bool)):
        raise TypeError(f"{cls.__name__}.forward must return a numpy array; it returned a "
                        f"{type(data).__name__}")
    return np.asarray(data)


def _mark_view(cls: type, out: Tensor, first: Tensor, options: dict) -> None:
    """The output shares memory with the first input. A view op's output is a view: one
    version counter, and the recipe to make it again from the base. Any other op's output
    gets memory of its own (writing into it must never change its input)."""
    if not np.may_share_memory(out.data, first.data):
        return
    if not cls.is_view:
        out.data = out.data.copy()
        return
    out._counter = first._shared_counter()
    if first._view is None:
        base, parent = first, None
    else:
        base, parent, _ = first._view

    def make(b: Tensor) -> Tensor:  # the view, from its base
        return cls.apply(b if parent is None else parent(b), **options)

    out._view = (base, make, base._version)


def _remember(saved: tuple, inputs: tuple, arrays: list, out: Tensor) -> tuple:
    """(what backward reads, the versions it checks) for the arrays forward saved: an input
    Tensor's array becomes that input; the output's array (or the array the output is a view
    of, as Max returns it) stays, with the output's version counter; any other array is a
    constant. Versions: (counter, version now, input k or -1 for the output, index saved);
    a constant input's has no counter (nothing changes it) and is noted for tools/trace.py."""
    entries, versions = list(saved), []
    for i, a in enumerate(saved):
        for k, array in enumerate(arrays):
            if array is a:  # (the first, if passed twice)
                x = inputs[k]
                break
        else:  # not an input's: the output's, or a constant
            k, x = -1, (out if a is not None and (a is out.data or a is out.data.base) else None)
        if isinstance(x, Tensor):
            entries[i] = x if k >= 0 else a
            counter = x._shared_counter()
            versions.append((counter, int(counter[0]), k, i))
        elif k >= 0:
            versions.append((None, None, k, i))
    return tuple(entries), tuple(versions)
