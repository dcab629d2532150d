"""The op library around the core: each module adds its ops and their Tensor methods.

math: elementwise functions, reductions, indexing; methods: Tensor's PyTorch-named methods;
inplace: in-place operations and writes through views; factories: tensor, zeros, cat, ...;
activation, loss, conv: the ops of nn.functional; shape, einsum and tensor_ops: tril, flip,
sort, cumsum, einsum, ... and their methods.
"""

from . import (  # noqa: F401
    activation,
    conv,
    einsum,
    factories,
    inplace,
    loss,
    math,
    memory_layout,
    methods,
    roll,
    shape,
    tensor_ops,
)
