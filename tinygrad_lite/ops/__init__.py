"""The op library around the core: each module adds its ops and their Tensor methods.

math: elementwise functions, reductions, indexing; methods: Tensor's PyTorch-named methods;
inplace: in-place operations and writes through views; factories: tensor, zeros, cat, ...;
activation, loss, conv: the ops of nn.functional.
"""

from . import activation, conv, factories, inplace, loss, math, methods  # noqa: F401
