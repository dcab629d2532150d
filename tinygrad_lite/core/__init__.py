"""The core: Tensor, Function, the backward walk and the ops the notebook's net is made of.

It imports nothing else from the package; everything else is layered around it.
"""

from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .ops import CrossEntropy, Linear, ReLU
from .tensor import Function, ShapeError, Tensor

__all__ = ["CrossEntropy", "Function", "Linear", "ReLU", "ShapeError", "Tensor", "enable_grad",
           "is_grad_enabled", "no_grad", "set_grad_enabled"]
