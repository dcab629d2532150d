"""tinygrad_lite: a small, readable reverse-mode autograd framework on numpy.

    import tinygrad_lite as tl
    x = tl.Tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2 * x
"""

from . import autograd  # noqa: F401, I001  (first: the engine that tensor.py builds on)
from .autograd import Function, ShapeError, enable_grad, is_grad_enabled, no_grad
from .tensor import Tensor, concatenate, ones, stack, tensor, zeros
from .random import manual_seed, rand, randn
from .gradcheck import GradcheckError, gradcheck
from . import nn, optim
from . import viz
from .trace import trace_backward

__version__ = "0.1.0"

__all__ = [
    "Function",
    "GradcheckError",
    "ShapeError",
    "Tensor",
    "concatenate",
    "enable_grad",
    "gradcheck",
    "is_grad_enabled",
    "manual_seed",
    "nn",
    "no_grad",
    "ones",
    "optim",
    "rand",
    "randn",
    "stack",
    "tensor",
    "trace_backward",
    "viz",
    "zeros",
]
