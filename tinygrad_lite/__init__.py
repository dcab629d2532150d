"""tinygrad_lite: a small, readable reverse-mode autograd framework on numpy.

    import tinygrad_lite as tl
    x = tl.Tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2 * x
"""

from . import autograd  # noqa: F401, I001  (first: the engine that tensor.py builds on)
from .autograd import (
    Function,
    ShapeError,
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from .tensor import Tensor, concatenate, ones, stack, tensor, zeros
from .tensor import (  # PyTorch-named factories and functions
    arange, cat, from_numpy, full, full_like, matmul, maximum, minimum, ones_like, where,
    zeros_like,
)
from .random import manual_seed, rand, randn
from .gradcheck import GradcheckError, gradcheck
from . import nn, optim
from . import viz
from .trace import trace_backward
import numpy as np

__version__ = "0.1.0"

# dtypes under PyTorch's names (numpy scalar types: `t.dtype == tl.float32` holds). `tl.bool`
# is np.bool_ as well; it is left out of __all__ so `from tinygrad_lite import *` cannot shadow
# the builtin.
float16, float32, float64 = np.float16, np.float32, np.float64
int8, int16, int32, int64, uint8 = np.int8, np.int16, np.int32, np.int64, np.uint8
bool_ = np.bool_
globals()["bool"] = np.bool_  # not `bool = ...`: that would shadow the builtin in this module

__all__ = [
    "Function",
    "GradcheckError",
    "ShapeError",
    "Tensor",
    "arange",
    "bool_",
    "cat",
    "concatenate",
    "enable_grad",
    "float16",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "full_like",
    "gradcheck",
    "int16",
    "int32",
    "int64",
    "int8",
    "is_grad_enabled",
    "manual_seed",
    "matmul",
    "maximum",
    "minimum",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "rand",
    "set_grad_enabled",
    "randn",
    "stack",
    "tensor",
    "trace_backward",
    "uint8",
    "viz",
    "where",
    "zeros",
    "zeros_like",
]
