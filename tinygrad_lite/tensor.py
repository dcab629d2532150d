"""`Tensor`, a numpy array that remembers how it was computed, and `Function`, one recorded op.

The Tensor only orchestrates: every operator below calls a `Function` from `ops.py`, where
the forward computation and its gradient rule sit side by side.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any, Callable, Iterator, NamedTuple, Optional, Sequence, Union

import numpy as np

from . import autograd, dtypes
from .autograd import ShapeError, grad_state

Axis = Union[None, int, Sequence[int]]


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """ndarrays keep their dtype; Python floats (and lists of them) become float32."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        return data if dtype is None else data.astype(dtype, copy=False)
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    array = np.asarray(data)
    if array.dtype == np.float64 and not _holds_float64(data):
        array = array.astype(np.float32)  # Python floats: float32 by default, as in PyTorch
    return array


def _holds_float64(data: Any) -> bool:
    """Whether numpy float64 scalars are among `data`'s numbers (then PyTorch keeps float64)."""
    if isinstance(data, (list, tuple)):
        return any(_holds_float64(x) for x in data)
    return isinstance(data, np.floating)


def _pick_axis(axis: Any, dim: Any, name: str = "dim") -> Any:
    """PyTorch's `dim=` and numpy's `axis=` are one argument: take whichever was given."""
    if dim is not None and axis is not None:
        raise TypeError(f"give either axis= or {name}=, not both")
    return dim if dim is not None else axis


def _pick_keep(keepdims: bool, keepdim: Optional[bool], out: Any = None) -> bool:
    """numpy's keepdims= or PyTorch's keepdim= (numpy's `out=` is not supported)."""
    if out is not None:
        raise TypeError("out= is not supported; use the returned tensor")
    return bool(keepdims if keepdim is None else keepdim)


class ValuesIndices(NamedTuple):
    """What `max(dim)` / `min(dim)` return, as PyTorch's `torch.return_types.max`."""

    values: Tensor
    indices: Tensor


class Tensor:
    """An n-dimensional array with reverse-mode autodiff.

    `Tensor(data, requires_grad=False, dtype=None)`: `data` is an ndarray (its dtype is kept),
    a Python number or a nested list (floats become float32, integers int64). Only floating
    point tensors can require gradients.
    """

    __slots__ = (
        "data", "grad", "requires_grad", "_ctx", "_retains_grad", "_name",
        "_version_counter", "_base", "_index", "__weakref__",
    )
    __array_ufunc__ = None  # `ndarray * Tensor` calls Tensor.__rmul__ instead of broadcasting
    __hash__ = object.__hash__  # by identity, as in PyTorch (== is elementwise)

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None):
        self.data = _to_array(data, dtype)
        if requires_grad and not np.issubdtype(self.data.dtype, np.floating):
            raise TypeError(
                f"only floating-point tensors can require gradients; got dtype {self.data.dtype}"
            )
        self.grad: Optional[np.ndarray] = None
        self.requires_grad = bool(requires_grad)
        self._ctx: Optional[Function] = None
        self._retains_grad = False
        self._name: Optional[str] = None
        self._version_counter: Optional[np.ndarray] = None  # [n], shared with views; None: 0
        self._base: Optional[Tensor] = None  # the tensor this one is a view of
        self._index: Any = None  # for a view `base[index]`: the index (in-place writes through)

    @classmethod
    def _make(cls, data: np.ndarray, requires_grad: bool, ctx: Any) -> Tensor:
        """Fast constructor for op outputs (no conversion or checks)."""
        t = object.__new__(Tensor)
        t.data = data
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = ctx
        t._retains_grad = False
        t._name = None
        t._version_counter = None
        t._base = t._index = None
        return t

    # ---- properties -------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def size(self, dim: Optional[int] = None) -> Any:
        """The shape (PyTorch's `size()`), or the length of axis `dim`."""
        return self.shape if dim is None else self.shape[ops.normalize_axis(dim, self.ndim)]

    def dim(self) -> int:
        """The number of axes (PyTorch's name for ndim)."""
        return self.data.ndim

    def numel(self) -> int:
        """The number of elements."""
        return self.data.size

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor (or a view sharing its memory) has had."""
        counter = self._version_counter
        return 0 if counter is None else int(counter[0])

    def _bump_version(self) -> None:
        """Record an in-place change of `.data` (call it after writing into the array)."""
        self.shared_version_counter()[0] += 1

    def shared_version_counter(self) -> np.ndarray:
        """The one-element array that counts this tensor's in-place changes, made on first use
        (most tensors are never changed, and need none) and shared by its views. An int64
        array rather than a list: graph nodes keep the counters of what they saved, and an
        array is no object for the cyclic garbage collector to track."""
        if self._version_counter is None:
            self._version_counter = _NO_CHANGES.copy()
        return self._version_counter

    @property
    def grad_fn(self) -> Optional[Function]:
        """The `Function` that produced this tensor (None for leaves and under no_grad)."""
        return self._ctx

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def name(self) -> Optional[str]:
        """A label for drawings and traces (`tl.viz`); its grad_fn carries it too, so a drawing
        of the graph, which holds nodes and not tensors, can show it."""
        return self._name

    @name.setter
    def name(self, name: Optional[str]) -> None:
        self._name = name
        if self._ctx is not None:
            self._ctx._name = name

    # As a node of the graph (a leaf that requires grad), a tensor answers as a Function does:
    _shape, _dtype = shape, dtype

    # ---- Python protocols, as for a PyTorch tensor ----------------------------------------
    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        """Iterate over the first axis (each item is a differentiable slice)."""
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with more than one value is ambiguous ({self.shape})"
                if self.data.size else "Boolean value of Tensor with no values is ambiguous"
            )
        return bool(self.data.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iub" or self.data.size != 1:
            raise TypeError(
                "only integer tensors of a single element can be converted to an index"
            )
        return int(self.data.item())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """`np.asarray(t)` gives the numbers (the array itself, not a copy, when it can)."""
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def __repr__(self) -> str:
        extra = ""
        if self._ctx is not None:
            extra = f", grad_fn={self._ctx!r}"
        elif self.requires_grad:
            extra = ", requires_grad=True"
        body = np.array2string(self.data, precision=4, threshold=20, separator=", ")
        body = body.replace("\n", "\n       ")
        return f"Tensor({body}, shape={self.shape}, dtype={self.dtype}{extra})"

    # ---- conversion ---------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> Any:
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element; got shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """The same data (shared memory and version counter), cut from the graph."""
        t = Tensor._make(self.data, False, None)
        t._version_counter = self.shared_version_counter()
        return t

    def retain_grad(self) -> Tensor:
        """Keep `.grad` on this non-leaf tensor after backward (leaves always keep it). Its
        grad_fn delivers the gradient through a weak reference: the graph does not keep the
        tensor alive."""
        self._retains_grad = True
        if self._ctx is not None:
            self._ctx._retained = weakref.ref(self)
        return self

    def _rebind(self, ctx: Function) -> None:
        """An in-place op made this tensor the output of `ctx`: its grad_fn from now on, which
        takes over its name and its retain_grad (the gradient is that of the new value)."""
        previous, self._ctx, self.requires_grad = self._ctx, ctx, True
        if self._name is not None:
            ctx._name = self._name
        if self._retains_grad:
            ctx._retained = weakref.ref(self)
            if previous is not None:
                previous._retained = None

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if self._ctx is not None and not requires_grad:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if requires_grad and not np.issubdtype(self.data.dtype, np.floating):
            raise TypeError(
                f"only floating-point tensors can require gradients; got dtype {self.data.dtype}"
            )
        self.requires_grad = requires_grad
        return self

    # ---- autodiff -----------------------------------------------------------------------
    def backward(
        self, gradient: Any = None, retain_graph: Optional[bool] = None,
        create_graph: bool = False, inputs: Any = None,
    ) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires grad, adding it into `.grad`.

        `gradient` is the upstream gradient dL/dself; it may be omitted only for a scalar
        output. `create_graph=True` records the backward pass too, so the gradients (then
        Tensors in `.grad`) can be differentiated again; `inputs` limits which tensors
        receive a `.grad`.
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad and has no grad_fn")
        if inputs is not None:
            inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        retain = create_graph if retain_graph is None else retain_graph
        autograd.backward(self, self._seed_grad(gradient, "backward()"), retain, create_graph,
                          inputs)

    def _seed_grad(self, grad: Any, who: str) -> Tensor:
        """The upstream gradient as a Tensor of this tensor's shape (ones for a scalar)."""
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"{who}: grad can be implicitly created only for a scalar output; "
                    f"this tensor has shape {self.shape}. Pass the gradient of that shape."
                )
            return Tensor._make(np.ones(self.data.shape, dtype=self.data.dtype), False, None)
        if not isinstance(grad, Tensor):
            grad = Tensor._make(_to_array(grad, self.dtype), False, None)
        if grad.shape != self.shape:
            raise ValueError(
                f"{who}: grad has shape {grad.shape} but the tensor has shape {self.shape}"
            )
        return grad

    def sum_to_size(self, *size: Any) -> Tensor:
        """Sum over the axes this tensor was broadcast along, to `size` (PyTorch's name).

        The adjoint of broadcasting: the engine uses it to give each input of a binary op a
        gradient of its own shape."""
        shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
        return ops.SumToSize.apply(self, shape=tuple(shape))

    # ---- arithmetic: operands promote to PyTorch's result dtype (`dtypes.result_type`) --------
    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(*_promoted(self, other))

    def __radd__(self, other: Any) -> Tensor:
        return ops.Add.apply(*_promoted(other, self))

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(*_promoted(self, other))

    def __rsub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(*_promoted(other, self))

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(*_promoted(self, other))

    def __rmul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(*_promoted(other, self))

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(*_promoted(self, other, dtypes.division_type))

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(*_promoted(other, self, dtypes.division_type))

    def __floordiv__(self, other: Any) -> Tensor:
        return ops.FloorDivide.apply(*_promoted(self, other))

    def __rfloordiv__(self, other: Any) -> Tensor:
        return ops.FloorDivide.apply(*_promoted(other, self))

    def __mod__(self, other: Any) -> Tensor:
        return ops.Remainder.apply(*_promoted(self, other))

    def __rmod__(self, other: Any) -> Tensor:
        return ops.Remainder.apply(*_promoted(other, self))

    def floor_divide(self, other: Any) -> Tensor:
        """`self // other`: rounded toward -inf, in PyTorch's result dtype (int // int is int);
        not differentiable (backward raises, as in PyTorch)."""
        return self // other

    def remainder(self, other: Any) -> Tensor:
        """`self % other`: the remainder with the sign of `other` (Python's %, PyTorch's
        remainder); an integer division by zero raises RuntimeError, as in PyTorch."""
        return self % other

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, Tensor) or np.ndim(exponent) != 0:
            raise TypeError("Tensor ** c supports a scalar exponent c only")
        base = self.to(dtypes.result_type(self, exponent))  # int ** 2 stays int, ** 0.5 floats
        exponent = exponent.item() if isinstance(exponent, np.generic) else exponent
        return ops.Pow.apply(base, exponent=exponent)

    def __rpow__(self, base: Any) -> Tensor:
        """`c ** t` for a number c: in PyTorch's result dtype (2 ** int tensor stays int);
        the gradient is ln(c) * c**t."""
        if isinstance(base, Tensor) or np.ndim(base) != 0:
            raise TypeError("c ** Tensor supports a scalar base c only")
        base = base.item() if isinstance(base, np.generic) else base
        return ops.ScalarPow.apply(self.to(dtypes.result_type(base, self)), base=base)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(*_same_dtype("matmul", self, other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(*_same_dtype("matmul", other, self))

    # ---- comparisons: elementwise, bool tensors, no gradient -------------------------------
    def _compare(self, other: Any, ufunc: Callable) -> Any:
        if other is None:
            return ufunc is np.not_equal  # `t == None` is False, as in PyTorch
        a = self.data
        if isinstance(other, Tensor):
            other = other.data
        elif isinstance(other, np.generic):
            other = other.item()  # a number, as PyTorch takes it (numpy: in a's dtype)
        elif not isinstance(other, (np.ndarray, int, float, bool, list, tuple)):
            return NotImplemented  # let the other object answer (e.g. pytest.approx)
        if type(other) is float:  # in PyTorch's dtype: float32 0 != 1e-165 is False there
            dtype = dtypes.result_type(a, other)
            with np.errstate(over="ignore"):
                a, other = a.astype(dtype, copy=False), dtype.type(other)
        elif isinstance(other, np.ndarray) and other.dtype != a.dtype:
            # compared in PyTorch's result dtype (float32 vs a 0-d float64: in float32)
            dtype = dtypes.result_type(a, other)
            a, other = a.astype(dtype, copy=False), other.astype(dtype, copy=False)
        return Tensor._make(np.asarray(ufunc(a, other)), False, None)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal)

    # ---- in-place operations ------------------------------------------------------------
    def _inplace(self, op: Callable[..., Tensor], *args: Any) -> Tensor:
        """Compute `op(self, *args)` and write the result into this tensor's memory.

        PyTorch's rules: the version counter goes up (so a graph that used the old values
        refuses to backpropagate through them); a leaf that requires grad may only be
        updated under `no_grad()`; when the graph is being recorded, the tensor becomes the
        output of `op` applied to a copy of its old value (its `grad_fn` is the op).
        """
        recording = autograd.is_grad_enabled() and (
            self.requires_grad or any(isinstance(a, Tensor) and a.requires_grad for a in args)
        )
        if not recording:
            with autograd.no_grad():
                result = op(self, *args)
            self._write(result)
            return self
        if self._ctx is None and self.requires_grad:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation. "
                "(Update parameters inside `with tl.no_grad():`.)"
            )
        if self._base is not None:
            return self._inplace_through_base(op, *args)
        old = Tensor._make(self.data.copy(), self.requires_grad, self._ctx)
        result = op(old, *[_of_old(a, self, old) for a in args])
        self._write(result)
        self._rebind(result._ctx)
        return self

    def _inplace_through_base(self, op: Callable[..., Tensor], *args: Any) -> Tensor:
        """An in-place op on a view `v = base[index]` while recording, as PyTorch does it:
        the base becomes `base[index] = op(base[index])` and `v` is base[index] again."""
        base, index = self._base, self._index
        if index is None:
            raise RuntimeError(
                "an in-place operation on this view while the graph is recorded is not "
                "supported (only views made by indexing a tensor are); use an out-of-place op"
            )

        def write_through(old_base: Tensor, *args: Any) -> Tensor:
            view = old_base[index]
            result = op(view, *[view if a is self else a for a in args])
            self._check_result(result)
            return ops.SetItem.apply(old_base, result, index=index)

        base._inplace(write_through, *args)
        self._rebind(ops.GetItem.apply(base, index=index)._ctx)
        self._ctx.wrote_through = True  # for `base[index] op= v`: see __setitem__
        return self

    def _check_result(self, result: Tensor) -> None:
        if result.shape != self.shape:
            raise RuntimeError(
                f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                f"{list(result.shape)}"
            )
        if not np.can_cast(result.dtype, self.dtype, "same_kind"):
            raise RuntimeError(
                f"result type {result.dtype} can't be cast to the desired output type {self.dtype}"
            )

    def _write(self, result: Tensor) -> None:
        """Copy an op's result into this tensor's memory and count the change."""
        self._check_result(result)
        self.data[...] = result.data
        self._bump_version()

    def add_(self, other: Any, alpha: Any = 1) -> Tensor:
        """self += alpha * other, in place."""
        return self._inplace(lambda t, o: t + (o if alpha == 1 else alpha * o), other)

    def sub_(self, other: Any, alpha: Any = 1) -> Tensor:
        """self -= alpha * other, in place."""
        return self._inplace(lambda t, o: t - (o if alpha == 1 else alpha * o), other)

    def mul_(self, other: Any) -> Tensor:
        return self._inplace(Tensor.__mul__, other)

    def div_(self, other: Any) -> Tensor:
        return self._inplace(Tensor.__truediv__, other)

    def fill_(self, value: Any) -> Tensor:
        """Every element becomes `value` (its gradient to the old values is 0)."""
        return self.copy_(value)

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def copy_(self, src: Any) -> Tensor:
        """Copy `src` (broadcast to this shape) into this tensor; the gradient flows to src."""
        everywhere = np.ones((), dtype=bool)
        return self._inplace(lambda t, s: where(everywhere, s, t).to(t.dtype), src)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - PyTorch's names
        return self._inplace(lambda t: t.clamp(min, max))

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    def __setitem__(self, index: Any, value: Any) -> None:
        """`t[index] = value` writes in place (same rules as the in-place methods)."""
        index = _plain_index(index)
        split = None if ops.is_basic_index(index) else _ints_first(index)
        if split is not None:  # t[0, :, [0, 1]] = v: into the view t[0, :, :], as PyTorch
            self[split[0]][split[1]] = value
            return
        if isinstance(value, Tensor) and getattr(value._ctx, "wrote_through", False) and (
            value._base is self and value._index is index
        ):
            value._ctx.wrote_through = False
            return  # `t[i] += v` already wrote t[i] through the view; Python re-assigns it
        self._inplace(lambda t, v: ops.SetItem.apply(t, v, index=index), value)

    def __getitem__(self, index: Any) -> Tensor:
        index = _plain_index(index)
        if not ops.is_basic_index(index):
            split = _ints_first(index)
            if split is not None:  # t[0, :, [0, 1]]: (t[0, :, :])[:, [0, 1]], as PyTorch
                return self[split[0]][split[1]]
        elif not _has_ellipsis(index):
            index = (index if isinstance(index, tuple) else (index,)) + (Ellipsis,)  # t[1, 2]:
        out = ops.GetItem.apply(self, index=index)  # a 0-d view, as PyTorch's, not a copy
        if out._base is self:
            out._index = index  # a view of this tensor: in-place ops on it can write through
        return out

    # ---- shape ------------------------------------------------------------------------
    @property
    def T(self) -> Tensor:  # noqa: N802 - numpy/PyTorch name
        """Reverse the axes (a plain transpose for a matrix)."""
        return ops.Transpose.apply(self, axes=None)

    @property
    def mT(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """Swap the last two axes (a batch of matrices transposed)."""
        if self.ndim == 1:
            raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                               "Got 1-D tensor.")
        return self.transpose(-2, -1) if self.ndim else ops.Transpose.apply(self, axes=None)

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        """Swap two axes (PyTorch's and numpy's name; `transpose(d0, d1)` does the same)."""
        return self.transpose(axis0, axis1)

    def transpose(self, *axes: int) -> Tensor:
        """`t.transpose(d0, d1)` swaps two axes (PyTorch); `t.transpose(p)` with a full
        permutation `p` (a tuple, or ndim integers) permutes them (numpy); none reverses them."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        elif len(axes) == 2:
            d0, d1 = (ops.normalize_axis(a, self.ndim) for a in axes)
            perm = list(range(self.ndim))
            if self.ndim:  # a 0-d tensor accepts axes 0 and -1, and stays as it is
                perm[d0], perm[d1] = perm[d1], perm[d0]
            axes = tuple(perm)
        return ops.Transpose.apply(self, axes=axes if axes or not self.ndim else None)

    def reshape(self, *shape: Any) -> Tensor:
        """The same elements in a new shape; one entry may be -1 (inferred)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.Reshape.apply(self, shape=shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge axes start_dim..end_dim into one (PyTorch's flatten)."""
        if self.ndim == 0:
            ops.normalize_axis(start_dim, 0), ops.normalize_axis(end_dim, 0)
            return self.reshape(1)
        start = ops.normalize_axis(start_dim, self.ndim)
        end = ops.normalize_axis(end_dim, self.ndim)
        if start > end:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        if start == end:
            return self  # nothing to merge: the tensor itself, as in PyTorch
        shape = self.shape[:start] + (-1,) + self.shape[end + 1 :]
        return self.reshape(shape)

    # ---- reductions: numpy's axis=/keepdims= and PyTorch's dim=/keepdim= are both accepted ---
    def sum(
        self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
        keepdim: Optional[bool] = None, dtype: Any = None, out: None = None,
    ) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        if x.dtype.kind == "b" or (x.dtype.kind in "iu" and x.dtype.itemsize < 8):
            x = x.to(np.int64)  # bools and integers sum to int64, as in PyTorch (numpy: uint64)
        axis, keepdims = _pick_axis(axis, dim), _pick_keep(keepdims, keepdim, out)
        return ops.Sum.apply(x, axis=axis, keepdims=keepdims)

    def mean(
        self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
        keepdim: Optional[bool] = None, dtype: Any = None, out: None = None,
    ) -> Tensor:
        """The mean; integer and bool tensors are averaged as float32 (PyTorch refuses them)."""
        x = self if dtype is None else self.to(dtype)
        if x.dtype.kind not in "fc":
            x = x.to(np.float32)
        axis, keepdims = _pick_axis(axis, dim), _pick_keep(keepdims, keepdim, out)
        return ops.Mean.apply(x, axis=axis, keepdims=keepdims)

    def prod(self, axis: Optional[int] = None, keepdims: bool = False, *,
             dim: Optional[int] = None, keepdim: Optional[bool] = None,
             dtype: Any = None) -> Tensor:
        """The product over `dim` (all elements by default); integers and bools give int64, as
        in PyTorch. The gradient is the product of the other elements, zeros included."""
        x = self if dtype is None else self.to(dtype)
        if x.dtype.kind == "b" or (x.dtype.kind in "iu" and x.dtype.itemsize < 8):
            x = x.to(np.int64)
        axis, keepdims = _pick_axis(axis, dim), _pick_keep(keepdims, keepdim)
        return ops.Prod.apply(x, axis=axis, keepdims=keepdims)

    def logsumexp(self, dim: Axis, keepdim: bool = False) -> Tensor:
        """log(sum(exp(x))) over `dim`, without overflow: m + log(sum(exp(x - m))), m the
        slice's maximum held constant (0 where it is +-inf, as PyTorch: a slice of -inf, or an
        empty one, gives -inf). Integer tensors as float32. The gradient is softmax(x) over
        the slice."""
        x = _floating(self)
        m = x.data.max(axis=ops._axes(dim, x.ndim), keepdims=True, initial=-np.inf)
        m = Tensor._make(np.where(np.isinf(m), 0, m).astype(x.dtype, copy=False), False, None)
        with np.errstate(divide="ignore"):  # log(0) = -inf: a slice of -inf, silently
            out = (x - m).exp().sum(dim, keepdim=keepdim).log()
        return out + m.reshape(out.shape)

    def amax(self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
             keepdim: Optional[bool] = None) -> Tensor:
        """The maximum over one or more axes; tied maxima share the gradient equally."""
        axis, keepdims = _pick_axis(axis, dim), _pick_keep(keepdims, keepdim)
        return ops.Max.apply(self, axis=axis, keepdims=keepdims)

    def amin(self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
             keepdim: Optional[bool] = None) -> Tensor:
        """The minimum over one or more axes; tied minima share the gradient equally."""
        axis, keepdims = _pick_axis(axis, dim), _pick_keep(keepdims, keepdim)
        return ops.Min.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: Optional[bool] = None) -> Any:
        """`t.max()`: the largest element. `t.max(dim)`: (values, indices) along `dim`, as in
        PyTorch (the gradient goes to the index returned). `t.max(other)`: `maximum`."""
        axis, keepdims = _pick_axis(axis, dim), _pick_keep(keepdims, keepdim)
        if isinstance(axis, Tensor):
            return self.maximum(axis)
        if axis is None:
            return ops.Max.apply(self, axis=None, keepdims=False)
        return self._select_along(np.argmax, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: Optional[bool] = None) -> Any:
        """As `max`, for the smallest: `t.min()`, `t.min(dim)` -> (values, indices), or minimum."""
        axis, keepdims = _pick_axis(axis, dim), _pick_keep(keepdims, keepdim)
        if isinstance(axis, Tensor):
            return self.minimum(axis)
        if axis is None:
            return ops.Min.apply(self, axis=None, keepdims=False)
        return self._select_along(np.argmin, axis, keepdims)

    def _select_along(self, arg: Callable, axis: Any, keepdims: bool) -> ValuesIndices:
        if not isinstance(axis, (int, np.integer)):
            raise TypeError(f"max/min take one integer dim, got {axis!r}; amax/amin take several")
        axis = ops.normalize_axis(axis, self.ndim)
        data = self.data.reshape(1) if self.ndim == 0 else self.data
        index = arg(data, axis=axis, keepdims=True)
        grid = list(np.ogrid[tuple(slice(n) for n in index.shape)])
        grid[axis] = index
        values = (self.reshape(1) if self.ndim == 0 else self)[tuple(grid)]
        if not keepdims or self.ndim == 0:  # a 0-d tensor stays 0-d, as in PyTorch
            reduced = self.shape[:axis] + self.shape[axis + 1 :]
            values, index = values.reshape(reduced), index.reshape(reduced)
        return ValuesIndices(values, Tensor._make(index, False, None))

    def argmax(self, axis: Optional[int] = None, keepdims: bool = False, *,
               dim: Optional[int] = None, keepdim: Optional[bool] = None) -> Tensor:
        """Indices of the maxima (int64, not differentiable); with no axis, in the flat array."""
        return self._arg(np.argmax, _pick_axis(axis, dim), _pick_keep(keepdims, keepdim))

    def argmin(self, axis: Optional[int] = None, keepdims: bool = False, *,
               dim: Optional[int] = None, keepdim: Optional[bool] = None) -> Tensor:
        """Indices of the minima (an int64 tensor; not differentiable)."""
        return self._arg(np.argmin, _pick_axis(axis, dim), _pick_keep(keepdims, keepdim))

    def _arg(self, arg: Callable, axis: Optional[int], keepdims: bool) -> Tensor:
        if axis is None:
            index = np.asarray(arg(self.data))
            if keepdims:
                index = index.reshape((1,) * self.ndim)
        else:
            axis = ops.normalize_axis(axis, self.ndim)
            index = arg(self.data.reshape(1) if self.ndim == 0 else self.data, axis=axis,
                        keepdims=keepdims and self.ndim > 0)
        return Tensor._make(np.asarray(index, dtype=np.int64), False, None)

    # ---- elementwise --------------------------------------------------------------------
    def exp(self) -> Tensor:
        return ops.Exp.apply(_floating(self))

    def log(self) -> Tensor:
        return ops.Log.apply(_floating(self))

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(_floating(self))

    def relu(self) -> Tensor:
        return ops.ReLU.apply(self)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(_floating(self))

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(_floating(self))

    def softmax(self, axis: Optional[int] = None, *, dim: Optional[int] = None) -> Tensor:
        axis = _pick_axis(axis, dim)
        return ops.Softmax.apply(self, axis=-1 if axis is None else axis)

    def log_softmax(self, axis: Optional[int] = None, *, dim: Optional[int] = None) -> Tensor:
        axis = _pick_axis(axis, dim)
        return ops.LogSoftmax.apply(self, axis=-1 if axis is None else axis)

    # ---- dtype conversions --------------------------------------------------------------
    def to(self, dtype: Any) -> Tensor:
        """Cast to another dtype. To a floating dtype it is differentiable (the gradient is
        cast back); to an integer or bool dtype the result is cut from the graph."""
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        if dtype.kind != "f":
            return Tensor._make(self.data.astype(dtype), False, None)
        return ops.Cast.apply(self, dtype=dtype)

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def int(self) -> Tensor:
        return self.to(np.int32)

    def bool(self) -> Tensor:
        return self.to(np.bool_)

    # ---- PyTorch-named ops ----
    def view(self, *shape: Any) -> Tensor:
        """The same memory in a new shape; a layout that needs a copy is an error, as PyTorch."""
        out = self.reshape(*shape)
        if out.data.size > 1 and not np.shares_memory(out.data, self.data):
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            )
        return out

    def unsqueeze(self, dim: Optional[int] = None, *, axis: Optional[int] = None) -> Tensor:
        """A new size-1 axis at position `dim`, which may be in [-ndim-1, ndim]."""
        dim = _pick_axis(axis, dim)
        if dim is None:
            raise TypeError("unsqueeze() missing 1 required positional argument: 'dim'")
        n = self.ndim + 1
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"unsqueeze(): dim must be an integer, got {dim!r}")
        if not -n <= dim < n:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got "
                f"{dim})"
            )
        d = int(dim) % n
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def squeeze(self, dim: Axis = None, *, axis: Axis = None) -> Tensor:
        """Drop size-1 axes: all of them, or those among `dim` (an int or a tuple); naming an
        axis whose size is not 1 leaves it in place, as in PyTorch."""
        dim = _pick_axis(axis, dim)
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        normal = [ops.normalize_axis(d, self.ndim) for d in dims]
        for i, d in enumerate(normal):
            if d in normal[:i]:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if n != 1 or i not in normal))

    def permute(self, *dims: Any) -> Tensor:
        """Reorder the axes: `t.permute(2, 0, 1)` or `t.permute((2, 0, 1))` (a permutation)."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if len(dims) != self.ndim:
            raise RuntimeError(
                "permute(sparse_coo): number of dimensions in the tensor input does not match the "
                "length of the desired ordering of dimensions i.e. input.dim() = "
                f"{self.ndim} is not equal to len(dims) = {len(dims)}"
            )
        normal = tuple(ops.normalize_axis(d, self.ndim) for d in dims)
        if len(set(normal)) != len(normal):
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        return ops.Transpose.apply(self, axes=normal or None)

    def t(self) -> Tensor:
        """The transpose of a matrix; 0-d and 1-d tensors come back as they are (PyTorch)."""
        if self.ndim > 2:
            raise RuntimeError(
                f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D"
            )
        return ops.Transpose.apply(self, axes=None)

    def expand(self, *sizes: Any) -> Tensor:
        """Broadcast to `sizes` without copying (a read-only view); -1 keeps an axis's size.
        New axes go in front; only size-1 axes can grow. The gradient sums over the copies."""
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        if len(sizes) < self.ndim:
            raise RuntimeError(
                f"expand(Tensor{{{list(self.shape)}}}, size={list(sizes)}): the number of sizes "
                f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in "
                f"the tensor ({self.ndim})"
            )
        lead = len(sizes) - self.ndim
        shape = []
        for i, n in enumerate(sizes):
            if i < lead:
                if n < 0:
                    raise RuntimeError(
                        f"The expanded size of the tensor ({n}) isn't allowed in a leading, "
                        f"non-existing dimension {i}"
                    )
            else:
                old = self.shape[i - lead]
                n = old if n == -1 else n
                if old != 1 and n != old:
                    raise RuntimeError(
                        f"The expanded size of the tensor ({n}) must match the existing size "
                        f"({old}) at non-singleton dimension {i}.  Target sizes: {list(sizes)}.  "
                        f"Tensor sizes: {list(self.shape)}"
                    )
            shape.append(int(n))
        return ops.Expand.apply(self, shape=tuple(shape))

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def clone(self) -> Tensor:
        """A copy with its own memory that stays in the graph (gradient: identity)."""
        return ops.Clone.apply(self)

    def matmul(self, other: Any) -> Tensor:
        return self @ other

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    __abs__ = abs

    def sin(self) -> Tensor:
        return ops.Sin.apply(_floating(self))

    def cos(self) -> Tensor:
        return ops.Cos.apply(_floating(self))

    def log1p(self) -> Tensor:
        return ops.Log1p.apply(_floating(self))

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - PyTorch's names
        """Limit the values to [min, max] (numbers; either may be None). The gradient passes
        where min <= x <= max, boundaries included, as in PyTorch."""
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        for bound in (min, max):
            if bound is not None and (isinstance(bound, Tensor) or np.ndim(bound) != 0):
                raise TypeError("clamp: min and max must be numbers (tensor bounds: use "
                                "maximum/minimum)")
        x = self.to(dtypes.result_type(self, *[b for b in (min, max) if b is not None]))
        return ops.Clamp.apply(x, low=min, high=max)  # int.clamp(0.5) is float32, as PyTorch

    clip = clamp

    def maximum(self, other: Any) -> Tensor:
        """Elementwise max (broadcasting); at ties each input gets half the gradient."""
        return ops.Maximum.apply(*_promoted(self, other))

    def minimum(self, other: Any) -> Tensor:
        """Elementwise min (broadcasting); at ties each input gets half the gradient."""
        return ops.Minimum.apply(*_promoted(self, other))

    def where(self, condition: Any, other: Any) -> Tensor:
        """`x.where(cond, y)` is `tl.where(cond, x, y)`."""
        return where(condition, self, other)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """`value` where the bool `mask` is True, else self (the gradient flows where not)."""
        mask = _to_array(mask)
        if mask.dtype != np.bool_:
            raise RuntimeError(
                f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}"
            )
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise RuntimeError(
                    "masked_fill_ only supports a 0-dimensional value tensor, but got tensor "
                    f"with {value.ndim} dimension(s)."
                )
            value = value.to(self.dtype)
        else:
            value = Tensor._make(np.asarray(value, dtype=self.dtype), False, None)
        return ops.Where.apply(Tensor._make(mask, False, None), value, self)

    def var(
        self, dim: Axis = None, unbiased: Optional[bool] = None, keepdim: Optional[bool] = None,
        *, correction: Any = None, axis: Axis = None, keepdims: bool = False,
    ) -> Tensor:
        """Variance over `dim` (all axes by default) with Bessel's `correction` (default 1:
        divide by n - 1), PyTorch 2.x; `unbiased=False` means correction=0."""
        return self._moment(ops.Var, dim, unbiased, keepdim, correction, axis, keepdims)

    def std(
        self, dim: Axis = None, unbiased: Optional[bool] = None, keepdim: Optional[bool] = None,
        *, correction: Any = None, axis: Axis = None, keepdims: bool = False,
    ) -> Tensor:
        """sqrt(var) with the same arguments; the gradient is 0 where std is 0 (PyTorch)."""
        return self._moment(ops.Std, dim, unbiased, keepdim, correction, axis, keepdims)

    def _moment(self, op: Any, dim: Any, unbiased: Any, keepdim: Any, correction: Any,
                axis: Any, keepdims: bool) -> Tensor:
        if isinstance(dim, bool) and unbiased is None:  # PyTorch's var(unbiased) overload
            dim, unbiased = None, dim
        if unbiased is not None and correction is not None:
            name = op.__name__.lower()
            raise TypeError(f"{name}(): give either unbiased= or correction=, not both")
        if correction is None:
            correction = 0 if unbiased is not None and not unbiased else 1
        if self.dtype.kind not in "fc":
            raise RuntimeError("std and var only support floating point and complex dtypes")
        axis = _pick_axis(axis, dim)
        if isinstance(axis, (tuple, list)) and len(axis) == 0:
            axis = None  # PyTorch: an empty dim list reduces over every axis
        return op.apply(self, axis=axis, correction=correction,
                        keepdims=_pick_keep(keepdims, keepdim))


class Function:
    """One differentiable operation: `forward` and its local gradient rule `backward`.

    Subclass it to add an op::

        class Cube(tl.Function):
            '''y = x**3;  dy/dx = 3 x**2'''
            def forward(self, x):          # numpy arrays in, a numpy array out
                self.save_for_backward(x)
                return x ** 3
            def backward(self, grad):      # arrays, or Tensors with create_graph
                (x,) = self.saved_tensors
                return 3 * x ** 2 * grad

        y = Cube.apply(t)

    `forward` computes with numpy. `backward` is the chain rule, written once, with
    operators (`+ - * / ** @`), `.sum(axis=, keepdims=)`, `.reshape`, `.swapaxes`, indexing,
    and other ops called as `Op.run(...)`: code that means the same on numpy arrays and on
    Tensors. The engine runs it two ways:

    * first order (`backward()`): on numpy arrays, at numpy speed;
    * `create_graph=True`: on Tensors, recorded like any computation, so the gradients it
      returns can be differentiated again (the backward pass is itself a program).

    In the second case `saved_tensors` gives back what `forward` saved as Tensors: an input's
    array as that input, the output's array as the output (so second derivatives flow through
    them), any other array as a constant (save only constants that are: masks, indices). A
    backward that calls numpy functions is marked `@tl.once_differentiable`: it always gets
    arrays, and differentiating its result again raises an error naming the op.

    `backward` returns one gradient per input (a bare one when there is one input), of the
    input's shape or any shape it was broadcast to (the engine sums it back), None for inputs
    whose `needs_input_grad` is False. Keyword arguments of `apply` go to `forward`.

    A recorded op is a node of the graph (its output's `grad_fn`). It holds no Tensors:
    `next` names, per input, the node that input's gradient goes to (the input's `grad_fn`;
    the input itself for a leaf that requires grad; None for an input that needs no
    gradient), so an intermediate Tensor dies with the user's last reference to it, as in
    PyTorch. `next_functions` is PyTorch's view of the same.
    """

    # Slots, not a per-node dict: fewer objects for the cyclic garbage collector to scan as a
    # graph grows. `_saved`: what forward saved (None once backward released it); `_versions`:
    # per saved array, (k, version counter, version at save) when it is input k's array (k =
    # -1: the output's; no counter for a constant), else None, or () when no saved array is
    # either; `_shape`, `_dtype`: the output's, which its gradient must have.
    __slots__ = ("next", "needs_input_grad", "_saved", "_versions", "_shape", "_dtype",
                 "__dict__", "__weakref__")

    # Class-level defaults, replaced per node only when needed (most nodes need none):
    _name: Optional[str] = None  # the output tensor's name, for drawings
    _retained: Any = None  # a weak reference to the output, once it asked to `retain_grad()`
    _numpy_backward = False  # True while a once_differentiable backward runs

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep what `backward` needs; released after backward unless `retain_graph=True`."""
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple:
        """What forward saved: the arrays themselves in a first-order backward (grad mode
        off); while recording (create_graph), Tensors: inputs and the output as themselves
        (at their place in the graph, so a second derivative reaches what they were computed
        from), anything else as a constant."""
        saved = self._saved
        if saved is None:
            raise RuntimeError(f"{self!r}: its saved arrays were freed by an earlier backward()")
        if self._numpy_backward or not autograd.grad_state.enabled:
            return saved
        versions = self._versions or (None,) * len(saved)
        return tuple([self._saved_as_tensor(a, v) for a, v in zip(saved, versions)])

    def _saved_as_tensor(self, a: Any, version: Optional[tuple]) -> Any:
        if version is None:  # neither an input's array nor the output's
            return Tensor._make(a, False, None) if isinstance(a, np.ndarray) else a
        k, counter, _ = version
        t = Tensor._make(a, True, self) if k < 0 else self._input_tensor(k, a)
        if t._ctx is not None:
            t._version_counter = counter  # as the tensor it stands for
        return t

    def _input_tensor(self, k: int, data: np.ndarray) -> Tensor:
        """Input k as a Tensor holding `data`, at the input's place in the graph: a leaf that
        requires grad is itself; a computed input is a tensor whose grad_fn is its node."""
        node = self.next[k]
        if isinstance(node, Tensor):
            return node
        return Tensor._make(data, node is not None, node)

    def _input_shape(self, k: int) -> Optional[tuple]:
        """Input k's shape, when the graph knows it: that of the node its gradient goes to,
        or for an input that needs none, that of its array if forward saved it; else None."""
        node = self.next[k]
        if node is not None:
            return node._shape
        for saved, version in zip(self._saved or (), self._versions):
            if version is not None and version[0] == k:
                return saved.shape
        return None

    @property
    def next_functions(self) -> tuple:
        """PyTorch's view of `next`: per input, `(node, 0)`: the input's grad_fn, an
        `AccumulateGrad` (whose `variable` is the leaf) for a leaf that requires grad, or None
        for an input that needs no gradient."""
        return tuple([(AccumulateGrad.of(n) if isinstance(n, Tensor) else n, 0)
                      for n in self.next])

    def forward(self, *arrays: np.ndarray, **options: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, grad: Tensor) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.backward is not implemented")

    @classmethod
    def apply(cls, *inputs: Any, **options: Any) -> Tensor:
        """Run the op on its inputs and, when one requires grad (and grad mode is on), record
        it as the output's grad_fn. Inputs that are not Tensors (numbers, arrays) are
        constants: forward gets them as arrays, the graph keeps no node for them.

        For each input or output array that forward saved, the node notes its version
        counter and version: if it is later changed in place, `backward` refuses to use this
        node (its gradient would be computed from stale data). An output that is a view of
        the first input's memory shares that input's version counter, so an in-place change
        through either is seen by both.
        """
        arrays, nodes, needs, record = [], [], [], False
        for x in inputs:
            if isinstance(x, Tensor):
                arrays.append(x.data)
                if x.requires_grad:
                    record = True
                    nodes.append(x if x._ctx is None else x._ctx)
                    needs.append(True)
                    continue
            else:
                arrays.append(x if isinstance(x, np.ndarray) else _to_array(x))  # a constant
            nodes.append(None)
            needs.append(False)
        record = record and grad_state.enabled  # recorded: an input needs grad, grad mode on
        ctx = object.__new__(cls)
        ctx.needs_input_grad = tuple(needs) if record else (False,) * len(nodes)
        ctx._saved = ()
        try:
            data = ctx.forward(*arrays, **options)
        except ValueError as e:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ShapeError(f"{cls.__name__}: {e} (input shapes {shapes})") from None
        if type(data) is not np.ndarray:  # numpy turns 0-d results into scalars
            scalar, data = data, _as_output_array(cls, data)
            ctx._saved = tuple([data if a is scalar else a for a in ctx._saved])
        out = Tensor._make(data, record, ctx if record else None)
        first = inputs[0] if inputs else None
        if data.base is not None and isinstance(first, Tensor) and np.may_share_memory(
            data, first.data
        ):
            out._version_counter = first.shared_version_counter()  # a view: one counter
            out._base = first if first._base is None else first._base
        if record:
            ctx.next = tuple(nodes)
            ctx._shape, ctx._dtype = data.shape, data.dtype
            ctx._versions = _saved_versions(ctx._saved, arrays, inputs, out) if ctx._saved else ()
        return out

    @classmethod
    def run(cls, *inputs: Any, **options: Any) -> Any:
        """The op inside a backward rule: recorded (`apply`) when an input is a Tensor (with
        create_graph); on plain numpy arrays (first order), only its forward computation."""
        for x in inputs:
            if isinstance(x, Tensor):
                return cls.apply(*inputs, **options)
        ctx = cls.__new__(cls)
        ctx.needs_input_grad, ctx._saved = (True,) * len(inputs), ()
        return ctx.forward(*inputs, **options)

    def run_backward(self, grad: Any, create_graph: bool) -> tuple:
        """`backward(grad)`, checked: one gradient (or None) per input, each of its input's
        shape: numpy arrays in first order, Tensors with create_graph. A gradient of a shape
        the input was broadcast to is summed back. A numpy array where a Tensor is due (a
        backward that is not once_differentiable) is an error: it would silently cut the
        graph of the gradient."""
        grads = self.backward(grad)
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        nodes = self.next
        kind = Tensor if create_graph else np.ndarray
        if len(grads) == len(nodes) and all(
            [g is None or n is None or (type(g) is kind and g.shape == n._shape)
             for g, n in zip(grads, nodes)]
        ):
            return grads  # the common case: nothing to fix
        name = type(self).__name__
        if len(grads) != len(nodes):
            raise RuntimeError(
                f"{name}.backward returned {len(grads)} gradient(s), but the op has "
                f"{len(nodes)} input(s): return one per input (None where none is needed)"
            )
        return tuple([
            _checked_grad(name, i, g, n._shape, create_graph)
            if g is not None and n is not None else None
            for i, (g, n) in enumerate(zip(grads, nodes))
        ])

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


class AccumulateGrad:
    """The node where a leaf's gradient ends (PyTorch's name), as `next_functions` shows it:
    `variable` is the leaf. One per leaf while anyone holds it."""

    __slots__ = ("variable", "__weakref__")
    next_functions = ()
    _of: Any = weakref.WeakValueDictionary()  # id(leaf) -> its AccumulateGrad

    @classmethod
    def of(cls, leaf: Tensor) -> AccumulateGrad:
        node = cls._of.get(id(leaf))
        if node is None:
            node = cls._of[id(leaf)] = object.__new__(cls)
            node.variable = leaf
        return node

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


def _saved_versions(saved: tuple, arrays: list, inputs: tuple, out: Tensor) -> tuple:
    """Per saved array: (k, counter, version) when it is input k's array (k = -1: the
    output's; counter and version None for a constant, which nothing changes), else None; ()
    when none is (see `Function.__slots__`)."""
    versions, found = [], False
    for i, a in enumerate(saved):
        if a is out.data:
            k, x = -1, out
        else:
            k = i if i < len(arrays) and a is arrays[i] else _position(a, arrays)  # usually i
            if k is None:
                versions.append(None)
                continue
            x = inputs[k]
        found = True
        if isinstance(x, Tensor):
            counter = x.shared_version_counter()
            versions.append((k, counter, counter[0]))
        else:
            versions.append((k, None, None))
    return tuple(versions) if found else ()


def _position(a: Any, arrays: list) -> Optional[int]:
    """k where `arrays[k] is a`, else None."""
    for k, array in enumerate(arrays):
        if array is a:
            return k
    return None


def _checked_grad(name: str, i: int, g: Any, shape: tuple, create_graph: bool) -> Any:
    """One gradient from `name.backward` for input `i`, of the input's `shape`: an array in
    first order, a Tensor with create_graph."""
    if isinstance(g, Tensor):
        if not create_graph:
            g = g.data  # a backward that built Tensors itself: first order needs the numbers
    elif not isinstance(g, (np.ndarray, np.generic, int, float)):
        raise TypeError(
            f"{name}.backward returned a {type(g).__name__} as the gradient of input {i}; "
            "it must return arrays or Tensors"
        )
    elif create_graph:
        raise RuntimeError(
            f"{name}.backward returned a numpy array for input {i}, so its gradient cannot be "
            "differentiated (create_graph=True): write the backward with Tensor operators and "
            "Op.run(...), or mark it @tl.once_differentiable"
        )
    else:
        g = np.asarray(g)
    if g.shape != shape:
        try:
            autograd.unbroadcast_check(g.shape, shape)
        except ShapeError:
            raise ShapeError(
                f"{name}.backward returned a gradient of shape {g.shape} for input {i}, "
                f"which has shape {shape}"
            ) from None
        g = g.sum_to_size(shape) if create_graph else autograd.unbroadcast(g, shape)
    return g


def once_differentiable(backward: Callable) -> Callable:
    """Mark a `backward` written with numpy (PyTorch's decorator of the same name).

    Inside it, `grad` and `saved_tensors` are numpy arrays and it returns arrays. First-order
    gradients work as usual; with `create_graph=True` the gradients it returns raise an error
    naming the op if anything tries to differentiate through them.
    """

    @functools.wraps(backward)
    def wrapper(ctx: Function, grad: Any) -> Any:
        if not isinstance(grad, Tensor):  # first order: arrays already
            return backward(ctx, grad)
        ctx._numpy_backward = True
        try:
            grads = backward(ctx, grad.data)
        finally:
            ctx._numpy_backward = False
        single = not isinstance(grads, (tuple, list))
        # each depends on the upstream gradient and on the op's inputs: if anything asks for
        # its derivative through either, that raises
        inputs = [ctx._input_tensor(k, np.zeros(n._shape, n._dtype))
                  for k, n in enumerate(ctx.next) if n is not None]
        wrapped = []
        for g, n in zip((grads,) if single else grads, ctx.next):
            if g is None or n is None:
                wrapped.append(None)
                continue
            t = Tensor._make(np.asarray(g, dtype=n._dtype), False, None)
            wrapped.append(_DifferentiatedOnce.apply(grad, t, *inputs, op=type(ctx).__name__))
        return wrapped[0] if single else tuple(wrapped)

    return wrapper


class _DifferentiatedOnce(Function):
    """The gradient a once_differentiable backward returned: differentiating it raises."""

    def forward(self, upstream, g, *inputs, op):
        self.op = op
        return g

    def backward(self, grad):
        raise RuntimeError(
            f"{self.op}.backward is marked @once_differentiable: it cannot be differentiated "
            "again (a second derivative through it is not available)"
        )


def _as_output_array(cls: type, data: Any) -> np.ndarray:
    """`forward` returned a numpy scalar or a Python number: make it an array; else refuse."""
    if not isinstance(data, (np.generic, int, float, bool)):
        raise TypeError(
            f"{cls.__name__}.forward must return a numpy array (it works on the inputs' arrays, "
            f"not on Tensors); it returned a {type(data).__name__}"
        )
    return np.asarray(data)


_NO_CHANGES = np.zeros(1, np.int64)  # a version counter's start


def _promoted(a: Any, b: Any, rule: Callable = dtypes.result_type) -> tuple:
    """Both operands in the dtype PyTorch gives `a op b` (see dtypes.py): tensors as Tensors,
    numbers as constant arrays (an op keeps no graph node for them, as PyTorch records a
    number as an argument)."""
    if isinstance(a, Tensor):  # the common cases first: nothing to decide
        kind = a.data.dtype.kind
        if isinstance(b, Tensor) and a.data.dtype == b.data.dtype and (
            kind == "f" or rule is dtypes.result_type
        ):
            return a, b
        if type(b) is float and kind == "f":
            return a, np.array(b, a.data.dtype)
    a, b = (x if isinstance(x, Tensor) or type(x) in (bool, int, float)
            else x.item() if isinstance(x, np.generic)  # a number, as PyTorch takes it
            else Tensor(x) for x in (a, b))
    dtype = rule(a, b)
    return tuple(
        x.to(dtype) if isinstance(x, Tensor) else np.array(x, dtype) for x in (a, b)
    )


def _floating(t: Tensor) -> Tensor:
    """`t`, or for an integer or bool tensor `t` as float32: what PyTorch's exp, log, sin, ...
    compute in (numpy would give float64, or float16 for small integers)."""
    return t if t.data.dtype.kind == "f" else t.to(dtypes.DEFAULT_FLOAT)


def _same_dtype(name: str, a: Any, b: Any) -> tuple:
    """Matrix products do not promote, as in PyTorch: both operands must share a dtype."""
    a = a if isinstance(a, Tensor) else Tensor(a)
    b = b if isinstance(b, Tensor) else Tensor(b)
    if a.data.dtype != b.data.dtype:
        raise RuntimeError(
            f"{name}: expected both operands to have the same dtype, but got {a.dtype} and "
            f"{b.dtype} (convert one with .to(dtype))"
        )
    return a, b


def _of_old(arg: Any, tensor: Tensor, old: Tensor) -> Any:
    """An argument of an in-place op on `tensor`, re-expressed on its old value `old` when it is
    `tensor` itself or a view of it by indexing (`x.mul_(x)`, `y[0] = y[1]`): their memory is
    about to be overwritten. (Anything else computed from `tensor` holds its own values, and
    its graph reaches `tensor`'s node from before the op.)"""
    if arg is tensor:
        return old
    if isinstance(arg, Tensor) and arg._base is tensor and arg._index is not None:
        return old[arg._index]  # a view: always the current values
    return arg


def _has_ellipsis(index: Any) -> bool:
    return any(i is Ellipsis for i in (index if isinstance(index, tuple) else (index,)))


def _ints_first(index: tuple) -> Optional[tuple]:
    """PyTorch's order for an index mixing integers with integer arrays or masks: the
    integers select first (a basic index, a view), then the arrays index what is left.
    numpy treats the integers as arrays too, so `t[0, :, [0, 1]]` on (2, 3, 4) is (2, 3)
    there and (3, 2) in PyTorch. Returns (first, rest), or None when there is nothing to
    split (no integer, no array, or a bool scalar, where numpy and PyTorch agree)."""
    if not isinstance(index, tuple):
        return None
    first: list = []
    rest: list = []
    ints = arrays = False
    for p in index:
        if isinstance(p, np.ndarray) and p.ndim == 0 and p.dtype.kind in "iu":
            p = int(p)  # a 0-d integer tensor indexes as an integer, as in PyTorch
        if isinstance(p, (bool, np.bool_)):
            return None
        if isinstance(p, (int, np.integer)):
            first.append(p)
            ints = True
        elif p is None or isinstance(p, slice):
            first.append(p)
            rest.append(slice(None))  # the axis it made (None) or kept (slice)
        elif p is Ellipsis:
            first.append(p)
            rest.append(p)
        else:
            a = np.asarray(p)
            first.extend([slice(None)] * (a.ndim if a.dtype == np.bool_ else 1))
            rest.append(p)
            arrays = True
    return (tuple(first), tuple(rest)) if ints and arrays else None


def _plain_index(index: Any) -> Any:
    """An index with Tensors replaced by their arrays (bool tensors are masks, as in numpy)."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple) and any(isinstance(i, Tensor) for i in index):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """`tl.tensor(data)`, PyTorch's factory spelling of `Tensor(data)`."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape: Any, requires_grad: bool = False, dtype: Any = np.float32) -> Tensor:
    """`tl.zeros(2, 3)`, `tl.zeros((2, 3))` or `tl.zeros([2, 3])`; float32 unless `dtype`."""
    shape, dtype = _size(shape, "zeros"), np.float32 if dtype is None else dtype
    return Tensor(np.zeros(shape, dtype=dtype), requires_grad=requires_grad)


def ones(*shape: Any, requires_grad: bool = False, dtype: Any = np.float32) -> Tensor:
    """`tl.ones(2, 3)`, `tl.ones((2, 3))` or `tl.ones([2, 3])`; float32 unless `dtype`."""
    shape, dtype = _size(shape, "ones"), np.float32 if dtype is None else dtype
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad)


def stack(
    tensors: Sequence[Any], dim: Optional[int] = None, *, axis: Optional[int] = None
) -> Tensor:
    """Join tensors along a new axis `dim` (default 0)."""
    dim = _pick_axis(axis, dim)
    return ops.Stack.apply(*tensors, axis=0 if dim is None else dim)


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
         requires_grad: bool = False) -> Tensor:
    """A tensor of shape `size` (a tuple or list) filled with `fill_value`. Without `dtype`
    the value decides it, as in PyTorch: bool -> bool, int -> int64, float -> float32."""
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full(): size must be a tuple or list of ints, got {type(size).__name__}")
    if dtype is None:
        dtype = _to_array(fill_value).dtype
    return Tensor(np.full(_size((size,), "full"), fill_value, dtype=dtype),
                  requires_grad=requires_grad)


def _like(input: Any, dtype: Any) -> tuple:
    data = input.data if isinstance(input, Tensor) else np.asarray(input)
    return data.shape, data.dtype if dtype is None else dtype


def zeros_like(input: Any, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros of `input`'s shape and dtype (or `dtype`)."""
    shape, dtype = _like(input, dtype)
    return Tensor(np.zeros(shape, dtype=dtype), requires_grad=requires_grad)


def ones_like(input: Any, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones of `input`'s shape and dtype (or `dtype`)."""
    shape, dtype = _like(input, dtype)
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad)


def full_like(input: Any, fill_value: Any, *, dtype: Any = None,
              requires_grad: bool = False) -> Tensor:
    """`fill_value` in `input`'s shape and dtype (or `dtype`)."""
    shape, dtype = _like(input, dtype)
    return Tensor(np.full(shape, fill_value, dtype=dtype), requires_grad=requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """start, start + step, ... up to (not including) end; `arange(n)` is 0..n-1.

    As PyTorch: all-integer arguments give int64, any float gives float32 (computed in float64
    as start + i * step, then cast); ceil((end - start) / step) elements.
    """
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
    return Tensor(array)


def cat(tensors: Sequence[Any], dim: Optional[int] = None, *, axis: Optional[int] = None) -> Tensor:
    """Join tensors along an existing axis `dim` (PyTorch's cat; `concatenate` with dim=)."""
    dim = _pick_axis(axis, dim)
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if np.ndim(t.data if isinstance(t, Tensor) else t) == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    ndim = np.ndim(tensors[0].data if isinstance(tensors[0], Tensor) else tensors[0])
    return ops.Concatenate.apply(*tensors, axis=ops.normalize_axis(0 if dim is None else dim, ndim))


concatenate = cat  # numpy's name


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """`input` where the bool `condition` is True, else `other` (all three broadcast).

    The gradient goes to `input` where the condition holds and to `other` elsewhere; either
    may be a number (it takes the other operand's dtype, as in PyTorch).
    """
    cond = _to_array(condition)
    if cond.dtype != np.bool_:
        raise RuntimeError(
            f"where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{cond.dtype}"
        )
    x, y = _promoted(input, other)
    return ops.Where.apply(Tensor._make(cond, False, None), x, y)


def maximum(input: Any, other: Any) -> Tensor:
    """Elementwise max of two tensors (broadcasting); ties split the gradient half/half."""
    return (input if isinstance(input, Tensor) else Tensor(input)).maximum(other)


def minimum(input: Any, other: Any) -> Tensor:
    """Elementwise min of two tensors (broadcasting); ties split the gradient half/half."""
    return (input if isinstance(input, Tensor) else Tensor(input)).minimum(other)


def matmul(input: Any, other: Any) -> Tensor:
    """Matrix product with numpy/PyTorch broadcasting rules (1-D operands as vectors)."""
    return ops.MatMul.apply(*_same_dtype("matmul", input, other))


from . import ops  # noqa: E402  (ops build on Tensor; imported last)
