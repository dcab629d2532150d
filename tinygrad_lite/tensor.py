"""`Tensor`: a numpy array that remembers how it was computed.

The Tensor only orchestrates: every operator below calls a `Function` from `ops.py`, where
the forward computation and its gradient rule sit side by side.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from . import autograd

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
    if array.dtype == np.float64 and not isinstance(data, np.floating):
        array = array.astype(np.float32)  # Python floats: float32 by default, as in PyTorch
    return array


class Tensor:
    """An n-dimensional array with reverse-mode autodiff.

    `Tensor(data, requires_grad=False, dtype=None)`: `data` is an ndarray (its dtype is kept),
    a Python number or a nested list (floats become float32, integers int64). Only floating
    point tensors can require gradients.
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_retains_grad", "name", "__weakref__")
    __array_ufunc__ = None  # `ndarray * Tensor` calls Tensor.__rmul__ instead of broadcasting

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None):
        self.data = _to_array(data, dtype)
        if requires_grad and not np.issubdtype(self.data.dtype, np.floating):
            raise TypeError(
                f"only floating-point tensors can require gradients; got dtype {self.data.dtype}"
            )
        self.grad: Optional[np.ndarray] = None
        self.requires_grad = bool(requires_grad)
        self._ctx: Optional[autograd.Function] = None
        self._retains_grad = False
        self.name: Optional[str] = None

    @classmethod
    def _make(cls, data: np.ndarray, requires_grad: bool, ctx: Any) -> Tensor:
        """Fast constructor for op outputs (no conversion or checks)."""
        t = object.__new__(Tensor)
        t.data = data
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = ctx
        t._retains_grad = False
        t.name = None
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

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def grad_fn(self) -> Optional[autograd.Function]:
        """The `Function` that produced this tensor (None for leaves and under no_grad)."""
        return self._ctx

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def __len__(self) -> int:
        return len(self.data)

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
        """The same data, cut from the graph."""
        return Tensor._make(self.data, False, None)

    def retain_grad(self) -> Tensor:
        """Keep `.grad` on this non-leaf tensor after backward (leaves always keep it)."""
        self._retains_grad = True
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and not np.issubdtype(self.data.dtype, np.floating):
            raise TypeError(
                f"only floating-point tensors can require gradients; got dtype {self.data.dtype}"
            )
        self.requires_grad = requires_grad
        return self

    # ---- autodiff -----------------------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires grad, adding it into `.grad`.

        `grad` is the upstream gradient dL/dself; it may be omitted only for a scalar output.
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad and has no grad_fn")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward(): grad can be implicitly created only for a scalar output; "
                    f"this tensor has shape {self.shape}. Pass grad= of that shape."
                )
            grad = np.ones(self.data.shape, dtype=self.data.dtype)
        else:
            grad = _to_array(grad, self.dtype)
            if grad.shape != self.shape:
                raise ValueError(
                    f"backward(): grad has shape {grad.shape} but the tensor has shape {self.shape}"
                )
        autograd.backward(self, grad, retain_graph)

    # ---- arithmetic -------------------------------------------------------------------
    def _operand(self, other: Any) -> Tensor:
        """Wrap a scalar in this tensor's dtype (so `2 * t` keeps float32); arrays keep theirs."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, np.ndarray):
            return Tensor._make(other, False, None)
        dtype = self.data.dtype if self.data.dtype.kind == "f" else None
        return Tensor._make(_to_array(other, dtype), False, None)

    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(self, self._operand(other))

    def __radd__(self, other: Any) -> Tensor:
        return ops.Add.apply(self._operand(other), self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self, self._operand(other))

    def __rsub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self._operand(other), self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self, self._operand(other))

    def __rmul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self._operand(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self, self._operand(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self._operand(other), self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, Tensor) or np.ndim(exponent) != 0:
            raise TypeError("Tensor ** c supports a scalar exponent c only")
        return ops.Pow.apply(self, exponent=float(exponent))

    def __matmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(self, self._operand(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(self._operand(other), self)

    def __getitem__(self, index: Any) -> Tensor:
        if isinstance(index, Tensor):
            index = index.data
        elif isinstance(index, tuple):
            index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
        return ops.GetItem.apply(self, index=index)

    # ---- shape ------------------------------------------------------------------------
    @property
    def T(self) -> Tensor:  # noqa: N802 - numpy/PyTorch name
        """Reverse the axes (a plain transpose for a matrix)."""
        return ops.Transpose.apply(self, axes=None)

    def transpose(self, *axes: int) -> Tensor:
        """Permute the axes: `t.transpose(1, 0)` or `t.transpose((1, 0))`; none reverses them."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.Transpose.apply(self, axes=axes or None)

    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.Reshape.apply(self, shape=shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge axes start_dim..end_dim into one (PyTorch's flatten)."""
        if self.ndim == 0:
            return self.reshape(1)
        start, end = start_dim % self.ndim, end_dim % self.ndim
        shape = self.shape[:start] + (-1,) + self.shape[end + 1 :]
        return self.reshape(shape)

    # ---- reductions -------------------------------------------------------------------
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.Max.apply(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis: Optional[int] = None) -> Tensor:
        """Indices of the maxima (an integer tensor; not differentiable)."""
        return Tensor._make(np.argmax(self.data, axis=axis), False, None)

    # ---- elementwise --------------------------------------------------------------------
    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self)

    def relu(self) -> Tensor:
        return ops.ReLU.apply(self)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def softmax(self, axis: int = -1) -> Tensor:
        return ops.Softmax.apply(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return ops.LogSoftmax.apply(self, axis=axis)

    def to(self, dtype: Any) -> Tensor:
        """Cast to another dtype (differentiable: the gradient is cast back)."""
        return ops.Cast.apply(self, dtype=np.dtype(dtype))

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """`tl.tensor(data)`, PyTorch's factory spelling of `Tensor(data)`."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape: int, requires_grad: bool = False, dtype: Any = np.float32) -> Tensor:
    return Tensor(np.zeros(shape, dtype=dtype), requires_grad=requires_grad)


def ones(*shape: int, requires_grad: bool = False, dtype: Any = np.float32) -> Tensor:
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad)


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (numpy's concatenate, PyTorch's cat)."""
    return ops.Concatenate.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    return ops.Stack.apply(*tensors, axis=axis)


from . import ops  # noqa: E402  (ops build on Tensor; imported last)
