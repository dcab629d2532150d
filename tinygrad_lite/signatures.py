"""Constructors whose arguments are stated once, as data: an `inspect.Signature` (PyTorch's
names, order, kinds and defaults) and the function that takes them as a dict of options.

The optimizers make theirs from a table of options and defaults (`optim.optimizer.
options_init`), the pooling layers from their functional's signature (`nn.pooling`).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable


def init_from_signature(signature: inspect.Signature, init: Callable[[Any, dict], Any]) -> Callable:
    """An `__init__(self, ...)` taking the arguments `signature` describes (its first
    parameter is self; `inspect.signature` shows the rest): it binds them, defaults filled
    in, and calls `init(self, options)` with `{name: value}` in the signature's order. A
    missing or unknown argument is the TypeError Python raises for a written-out __init__."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{type(self).__name__}.__init__() {e}") from None
        bound.apply_defaults()
        _, *options = bound.arguments.items()
        init(self, dict(options))

    __init__.__signature__ = signature  # type: ignore[attr-defined]
    return __init__


def self_and(*parameters: inspect.Parameter) -> inspect.Signature:
    """The signature `(self, *parameters)`."""
    first = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return inspect.Signature([first, *parameters])


__all__ = ["init_from_signature", "self_and"]
