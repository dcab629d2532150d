"""`Module` and `Parameter`: containers that find their trainable tensors, as in PyTorch.

A Module's parameters are the `Parameter` attributes it holds, and those of the Modules it
holds, in the order they were assigned (so `parameters()` is stable). No attribute magic:
an unknown attribute raises AttributeError as for any Python object.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterable, Iterator

import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that is a module's trainable state: requires grad by default."""

    def __init__(self, data: Any, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)


class Module:
    """Base class of layers and models: assign layers in `__init__`, write `forward`."""

    training: bool = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ---- traversal --------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self) -> Iterator[Module]:
        return (m for _, m in self.named_children())

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every module below it, depth first, with dotted paths."""
        stack = [(prefix, self)]
        while stack:
            path, module = stack.pop()
            yield path, module
            kids = [(f"{path}.{n}" if path else n, m) for n, m in module.named_children()]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator[Module]:
        return (m for _, m in self.named_modules())

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """(dotted path, parameter) for every parameter, each once, in assignment order."""
        seen: set = set()
        for path, module in self.named_modules():
            for name, value in vars(module).items():
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{path}.{name}" if path else name), value

    def parameters(self) -> Iterator[Parameter]:
        return (p for _, p in self.named_parameters())

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """Non-trainable state saved in `state_dict` (e.g. BatchNorm's running statistics)."""
        names = self.__dict__.setdefault("_buffer_names", [])
        if name not in names:
            names.append(name)
        setattr(self, name, value)

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for path, module in self.named_modules():
            for name in module.__dict__.get("_buffer_names", ()):
                yield (f"{path}.{name}" if path else name), getattr(module, name)

    # ---- modes and gradients --------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch norm uses batch statistics)."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: `train(False)`."""
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def to(self, dtype: Any) -> Module:
        """Cast parameters and floating buffers to `dtype` in place (e.g. np.float64)."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = None
        for module in self.modules():
            for name in module.__dict__.get("_buffer_names", ()):
                value = getattr(module, name)
                if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                    setattr(module, name, value.astype(dtype))
        return self

    # ---- saving and loading -----------------------------------------------------------
    def state_dict(self) -> OrderedDict:
        """name -> copy of the array, for every parameter and buffer."""
        state: OrderedDict = OrderedDict()
        for name, p in self.named_parameters():
            state[name] = p.data.copy()
        for name, b in self.named_buffers():
            state[name] = np.array(b, copy=True)
        return state

    def load_state_dict(self, state: dict) -> None:
        """Copy arrays into the parameters and buffers; mismatched keys or shapes are an error."""
        own = dict(self.named_parameters())
        shapes = {k: p.shape for k, p in own.items()}
        shapes.update((k, np.shape(b)) for k, b in self.named_buffers())
        missing = [k for k in shapes if k not in state]
        unexpected = [k for k in state if k not in shapes]
        wrong = [
            f"{k}: checkpoint {np.shape(state[k])} vs model {shape}"
            for k, shape in shapes.items()
            if k in state and np.shape(state[k]) != shape
        ]
        if missing or unexpected or wrong:
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            if wrong:
                parts.append(f"shape mismatch {wrong}")
            raise ValueError(f"load_state_dict for {type(self).__name__}: " + "; ".join(parts))
        for k, p in own.items():
            p.data[...] = state[k]
        for path, module in self.named_modules():
            for name in module.__dict__.get("_buffer_names", ()):
                key = f"{path}.{name}" if path else name
                setattr(module, name, np.array(state[key], copy=True))

    # ---- printing ---------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        kids = list(self.named_children())
        if not kids:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): " + repr(m).replace("\n", "\n  ") for name, m in kids]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


class ModuleList(Module):
    """A list of modules whose parameters are registered (named "0", "1", ...)."""

    def __init__(self, modules: Iterable[Module] = ()):
        self._count = 0
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> ModuleList:
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__} holds Modules, got {type(module).__name__}")
        setattr(self, str(self._count), module)
        self._count += 1
        return self

    def __getitem__(self, index: int) -> Module:
        if not -self._count <= index < self._count:
            raise IndexError(f"index {index} out of range for {self._count} modules")
        return getattr(self, str(index % self._count))

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Module]:
        return (getattr(self, str(i)) for i in range(self._count))
