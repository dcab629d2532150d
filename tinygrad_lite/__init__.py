"""tinygrad_lite: a small, readable reverse-mode autograd framework on numpy.

    import tinygrad_lite as tl
    x = tl.Tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2 * x
"""

import numpy as np

from . import (
    autograd,
    func,
    functions,
    nn,
    ops,  # noqa: F401 - the op library around the core: adds its Tensor methods
    optim,
    utils,
)
from .autograd import once_differentiable
from .core.autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .core.tensor import Function, ShapeError, Tensor
from .devices import accelerator, backends, cuda, device
from .inference_mode import inference_mode, is_inference_mode_enabled
from .io import (
    interop,  # imports torch when a function needs it
    load,
    save,
)
from .io import onnx as onnx  # imports onnx when needed; not in __all__ (it would shadow onnx)
from .ops.factories import (
    arange,
    as_tensor,
    cat,
    concatenate,
    from_numpy,
    full,
    full_like,
    matmul,
    maximum,
    minimum,
    ones,
    ones_like,
    stack,
    tensor,
    where,
    zeros,
    zeros_like,
)
from .random import (
    Generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    multinomial,
    rand,
    randint,
    randn,
    randperm,
    seed,
    set_rng_state,
)
from .threads import get_num_threads, restore_num_threads, set_num_threads
from .tools import viz
from .tools.compare import compare_gradients
from .tools.gradcheck import GradcheckError, gradcheck, gradgradcheck
from .tools.trace import trace_backward
from .version import __version__ as __version__

# dtypes under PyTorch's names (numpy scalar types: `t.dtype == tl.float32` holds). `tl.bool`
# is np.bool_ as well; it is left out of __all__ so `from tinygrad_lite import *` cannot shadow
# the builtin.
float16, float32, float64 = np.float16, np.float32, np.float64
int8, int16, int32, int64, uint8 = np.int8, np.int16, np.int32, np.int64, np.uint8
bool_ = np.bool_
globals()["bool"] = np.bool_  # not `bool = ...`: that would shadow the builtin in this module
long, double, half, short = np.int64, np.float64, np.float16, np.int16  # PyTorch's aliases
globals().update({"float": np.float32, "int": np.int32})  # (builtin names: as `bool`)
# `tl.onnx` (the exporter) is left out of __all__ as well: `from tinygrad_lite import *` would
# otherwise shadow the onnx package itself

# PyTorch's module-level functions: tl.exp(x), tl.softmax(x, dim), tl.tril(x), ... (functions.py).
# Those named like builtins (sum, max, min, abs, pow) stay out of __all__, as `bool` does.
globals().update({name: getattr(functions, name) for name in functions.__all__})
_BUILTIN_NAMES = {"abs", "sum", "max", "min", "pow"}

__all__ = [
    "Function",
    "GradcheckError",
    "ShapeError",
    "Tensor",
    "arange",
    "as_tensor",
    "autograd",
    "bool_",
    "cat",
    "compare_gradients",
    "concatenate",
    "enable_grad",
    "float16",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "full_like",
    "func",
    "gradcheck",
    "get_num_threads",
    "gradgradcheck",
    "int16",
    "int32",
    "int64",
    "int8",
    "interop",
    "is_grad_enabled",
    "load",
    "manual_seed",
    "matmul",
    "maximum",
    "minimum",
    "nn",
    "no_grad",
    "once_differentiable",
    "ones",
    "ones_like",
    "optim",
    "utils",
    "rand",
    "set_grad_enabled",
    "set_num_threads",
    "randn",
    "restore_num_threads",
    "save",
    "stack",
    "tensor",
    "trace_backward",
    "uint8",
    "viz",
    "where",
    "zeros",
    "zeros_like",
    "Generator",
    "accelerator",
    "double",
    "half",
    "long",
    "short",
    "backends",
    "cuda",
    "device",
    "get_rng_state",
    "inference_mode",
    "initial_seed",
    "is_inference_mode_enabled",
    "multinomial",
    "randint",
    "randperm",
    "seed",
    "set_rng_state",
] + [name for name in functions.__all__ if name not in _BUILTIN_NAMES]
