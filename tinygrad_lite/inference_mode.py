"""`torch.inference_mode`, as a context manager and a decorator (with or without
parentheses): code inside records no graph, like `no_grad`.

    @tl.inference_mode()
    def evaluate(model, x): ...

As in PyTorch, `inference_mode(True)` switches grad mode off and `inference_mode(False)`
switches it on (also inside a `no_grad` block); both are undone on exit, and nothing changes
until the block is entered. `is_inference_mode_enabled()` says whether one is active.
PyTorch also marks the tensors made inside as "inference tensors", which later autograd use
refuses; here they are ordinary tensors that do not require grad, as under `no_grad`.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from .core.autograd import run_inside, set_grad_enabled

__all__ = ["inference_mode", "is_inference_mode_enabled"]


class _InferenceState(threading.local):
    enabled = False


_state = _InferenceState()


def is_inference_mode_enabled() -> bool:
    """True inside an `inference_mode()` block (in this thread)."""
    return _state.enabled


class inference_mode:  # noqa: N801 - PyTorch's name
    """A block (or each call of a decorated function) in inference mode when `mode` is True:
    grad mode off; with `mode=False`, grad mode on and inference mode off."""

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):  # `@inference_mode` without parentheses
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)
        self._saved: list = []

    def __enter__(self) -> None:
        self._saved.append((set_grad_enabled(not self.mode), _state.enabled))
        _state.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        grad_guard, _state.enabled = self._saved.pop()
        grad_guard.__exit__(*exc)

    def __call__(self, func: Callable) -> Callable:
        mode = self.mode
        return run_inside(lambda: inference_mode(mode), func)

    def clone(self) -> inference_mode:
        return type(self)(self.mode)
