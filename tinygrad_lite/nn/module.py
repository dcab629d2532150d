"""`Module` and `Parameter`: containers that find their trainable tensors, as in PyTorch.

A Module's parameters are the `Parameter` attributes it holds, and those of the Modules it
holds, in the order they were assigned (so `parameters()` is stable). No attribute magic:
an unknown attribute raises AttributeError as for any Python object. `ModuleList` and
`ModuleDict` hold their modules as attributes named "0", "1", ... or by key.

`load_state_dict` checks the whole state dict before it writes anything, then copies into the
existing arrays in place and bumps each written parameter's version (`Tensor._version`), so a
backward pass through a graph that saved an old value is detected.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional

import numpy as np

from .. import devices
from ..core.tensor import Tensor, zero_grads


class StateDictError(ValueError, RuntimeError):
    """`load_state_dict` refused a state dict (PyTorch raises RuntimeError; earlier versions
    of this package raised ValueError: both catch it)."""


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What `load_state_dict` returns: the keys the model has that the state dict lacked, and
    the keys of the state dict the model does not have."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _as_array(value: Any) -> Optional[np.ndarray]:
    """A state-dict value as an ndarray (Tensors, arrays, numbers, torch CPU tensors), or None
    when it is not array-like."""
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu()
    try:
        return np.asarray(value)
    except Exception:
        return None


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
    def _child_items(self) -> list:
        """(name, module) for every Module attribute, in assignment order, repeats included
        (a module held twice appears twice: as in PyTorch's `_modules`)."""
        return [(n, v) for n, v in vars(self).items() if isinstance(v, Module)]

    def add_module(self, name: str, module: Module) -> None:
        """Register `module` as the child `name` (what attribute assignment does), with
        PyTorch's checks on the name."""
        if not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {type(name).__name__}")
        if not name:
            raise KeyError('module name can\'t be empty string ""')
        if "." in name:
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        if hasattr(self, name) and not isinstance(vars(self).get(name), Module):
            raise KeyError(f"attribute '{name}' already exists")
        setattr(self, name, module)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for the direct children, each module once."""
        seen: set = set()
        for name, value in self._child_items():
            if id(value) not in seen:
                seen.add(id(value))
                yield name, value

    def children(self) -> Iterator[Module]:
        return (m for _, m in self.named_children())

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every module below it, depth first, each once, with dotted paths."""
        seen: set = set()
        stack = [(prefix, self)]
        while stack:
            path, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
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

    def register_buffer(self, name: str, value: Optional[np.ndarray]) -> None:
        """Non-trainable state saved in `state_dict` (e.g. BatchNorm's running statistics).

        A buffer set to None is kept out of `state_dict`, as in PyTorch."""
        names = self.__dict__.setdefault("_buffer_names", [])
        if name not in names:
            names.append(name)
        setattr(self, name, value)

    def _own_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for name in self.__dict__.get("_buffer_names", ()):
            value = getattr(self, name)
            if value is not None:
                yield name, value

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for path, module in self.named_modules():
            for name, value in module._own_buffers():
                yield (f"{path}.{name}" if path else name), value

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call `fn` on every child (recursively, children first), then on this module;
        returns self. E.g. `model.apply(init_weights)`, as in PyTorch."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients --------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch norm uses batch statistics)."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: `train(False)`."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the parameters' gradients: `.grad = None` (the default, as PyTorch), or
        with `set_to_none=False` fill them with zeros in place (a gradient that has a graph,
        from `backward(create_graph=True)`, is replaced by zeros)."""
        zero_grads(self.parameters(), set_to_none)

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Cast floating parameters (and their grads) and floating buffers (arrays or
        Tensors) to a dtype (e.g. np.float64), as PyTorch takes it: `to(dtype)`, `to('cpu')`,
        `to(device, dtype)`, `to(tensor)`. A parameter whose dtype changes gets a new array
        and a version bump; one already of that dtype is left alone. A device other than the
        CPU raises."""
        _, dtype, _ = devices.to_args(args, kwargs)
        if dtype is None:
            return self
        for p in self.parameters():
            if p.data.dtype.kind == "f" and p.data.dtype != dtype:
                p.data = p.data.astype(dtype)
                if p.grad is not None:
                    p.grad = np.asarray(p.grad).astype(dtype)  # (a create_graph Tensor too)
                p._bump_version()
        for module in self.modules():
            for name, value in list(module._own_buffers()):
                if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                    setattr(module, name, value.astype(dtype, copy=False))
                elif isinstance(value, Tensor) and value.data.dtype.kind == "f":
                    setattr(module, name, value.to(dtype))  # a buffer registered as a Tensor
        return self

    def cpu(self) -> Module:
        return self

    def cuda(self, device: Any = None) -> Module:
        devices.check("cuda")
        return self

    def float(self) -> Module:
        """Floating parameters and buffers to float32 (PyTorch's `Module.float()`)."""
        return self.to(np.float32)

    def double(self) -> Module:
        """Floating parameters and buffers to float64 (PyTorch's `Module.double()`)."""
        return self.to(np.float64)

    # ---- saving and loading -----------------------------------------------------------
    def _state_entries(self, prefix: str = "") -> Iterator[tuple[str, Module, str, bool]]:
        """(key, owner, attribute, is_parameter) for every state_dict entry, in PyTorch's
        order: a module's parameters, then its buffers, then its children's, recursively.
        A module or parameter held under two names is listed under both (as PyTorch)."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, self, name, True
        for name, _ in self._own_buffers():
            yield prefix + name, self, name, False
        for name, child in self._child_items():
            yield from child._state_entries(prefix + name + ".")

    def state_dict(self) -> OrderedDict:
        """name -> copy of the array, for every parameter and buffer."""
        state: OrderedDict = OrderedDict()
        for key, owner, name, is_param in self._state_entries():
            value = getattr(owner, name)
            state[key] = value.data.copy() if is_param else np.array(value, copy=True)
        return state

    def load_state_dict(self, state_dict: Mapping, strict: bool = True) -> IncompatibleKeys:
        """Copy the arrays of `state_dict` into the parameters and buffers, in place.

        Everything is checked before anything changes: missing and unexpected keys (errors
        when `strict`, as PyTorch; returned either way as `(missing_keys, unexpected_keys)`),
        shapes, and dtypes (numpy's same_kind casting: float64 into float32 is fine, a float
        into an integer buffer or anything non-numeric is not). On any error a
        `StateDictError` (a ValueError and a RuntimeError) names every problem and the model
        is untouched. Parameters written keep their arrays and get a version bump.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"Expected state_dict to be dict-like, got {type(state_dict).__name__}."
            )
        entries = list(self._state_entries())
        own_keys = {key for key, _, _, _ in entries}
        missing = [key for key, _, _, _ in entries if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own_keys]
        wrong_shape, wrong_type, plan = [], [], []
        for key, owner, name, is_param in entries:
            if key not in state_dict:
                continue
            current = getattr(owner, name)
            target = current.data if is_param else np.asarray(current)
            source = _as_array(state_dict[key])
            if source is None or source.dtype.kind not in "biuf" or not np.can_cast(
                source.dtype, target.dtype, casting="same_kind"
            ):
                plain = source is not None and source.dtype != object
                got = source.dtype if plain else type(state_dict[key]).__name__
                wrong_type.append(f"{key}: checkpoint {got} cannot be cast to {target.dtype}")
            elif source.shape != target.shape:
                wrong_shape.append(f"{key}: checkpoint {source.shape} vs model {target.shape}")
            else:
                plan.append((owner, name, is_param, current, source))
        parts = []
        if strict and missing:
            parts.append(f"missing keys {missing}")
        if strict and unexpected:
            parts.append(f"unexpected keys {unexpected}")
        if wrong_shape:
            parts.append(f"shape mismatch {wrong_shape}")
        if wrong_type:
            parts.append(f"dtype mismatch {wrong_type}")
        if parts:
            raise StateDictError(
                f"load_state_dict for {type(self).__name__}: " + "; ".join(parts)
            )
        # nothing below can fail: every source has the target's shape and a castable dtype
        for owner, name, is_param, current, source in plan:
            target = current.data if is_param else current
            if isinstance(target, np.ndarray) and target.flags.writeable:
                np.copyto(target, source, casting="unsafe")
            else:
                dtype = np.asarray(target).dtype
                copy = np.array(source, dtype=dtype, copy=True)
                if is_param:
                    current.data = copy
                else:
                    setattr(owner, name, copy)
            if is_param:
                current._bump_version()
        return IncompatibleKeys(missing, unexpected)

    # ---- printing ---------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        kids = self._child_items()
        if not kids:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): " + repr(m).replace("\n", "\n  ") for name, m in kids]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


def options_repr(module: Module, head: str, **defaults: Any) -> str:
    """PyTorch's extra_repr form: `head`, then ", name=value" for each option of `defaults`
    whose value on `module` is not its default (`is not` for None and bools, `!=` otherwise,
    as PyTorch's tests; a module without the attribute has the default)."""
    s = head
    for name, default in defaults.items():
        value = getattr(module, name, default)
        exact = default is None or isinstance(default, bool)
        if (value is not default) if exact else (value != default):
            s += f", {name}={value}"
    return s


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


class ModuleDict(Module):
    """Modules by name, registered as children (PyTorch's `nn.ModuleDict`).

    `ModuleDict({"enc": a, "dec": b})` or from (name, module) pairs; `d["enc"]`,
    `d["head"] = m`, `del d["dec"]`, `len`, iteration over the names, `keys()`, `values()`,
    `items()`, `update()`, `pop()`, `clear()`. Insertion order is kept; parameters are named
    `"enc.weight"` etc. A name must be a non-empty string without "." that is not already an
    attribute (e.g. "keys" or "training" are refused, as in PyTorch).
    """

    def __init__(self, modules: Any = None):
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        value = vars(self).get(key) if isinstance(key, str) else None
        if not isinstance(value, Module):
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        self[key]  # KeyError unless present
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._child_items())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and isinstance(vars(self).get(key), Module)

    def keys(self) -> list:
        return [name for name, _ in self._child_items()]

    def values(self) -> list:
        return [m for _, m in self._child_items()]

    def items(self) -> list:
        return self._child_items()

    def update(self, modules: Any) -> None:
        """Add or replace modules from a mapping or an iterable of (name, module) pairs."""
        if isinstance(modules, (Mapping, ModuleDict)):
            pairs = list(modules.items())
        else:
            pairs = []
            for i, pair in enumerate(modules):
                if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                    raise TypeError(
                        f"ModuleDict update sequence element #{i} should be a (name, module) "
                        f"pair, got {type(pair).__name__}"
                    )
                pairs.append(tuple(pair))
        for name, module in pairs:
            self[name] = module

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        for key in self.keys():
            del self[key]
