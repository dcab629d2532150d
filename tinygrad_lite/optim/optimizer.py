"""The `Optimizer` base class (parameter groups, per-parameter state, `zero_grad`,
`state_dict` / `load_state_dict`: PyTorch's structure and rules) and `SGD`, the notebook's
update `p -= lr * grad` that every other optimizer refines.

An optimizer holds `param_groups`, a list of dicts `{"params": [Tensor, ...], "lr": ..., ...}`;
options a group does not give are filled in from the constructor's (`optimizer.defaults`).
`optimizer.state[p]` is a dict per parameter (moment buffers, step count), created on the
first `step()` that updates `p`. Parameters are told apart by identity, never by `==`.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterator, MutableMapping
from typing import Any, Callable, Iterable, Optional

import numpy as np

from ..autograd import enable_grad
from ..core.tensor import Tensor, zero_grads
from ..signatures import init_from_signature, self_and


class _Required:
    """Marks an option a parameter group must give when the constructor has no default."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class ParamState(MutableMapping):
    """`optimizer.state`: a mapping from parameter (by identity) to its state dict.

    Like PyTorch's `defaultdict(dict)`, reading a missing parameter creates its empty dict.
    """

    def __init__(self) -> None:
        self._items: dict = {}  # id(param) -> (param, state); the param keeps its id valid

    def __getitem__(self, param: Tensor) -> dict:
        item = self._items.get(id(param))
        if item is None:
            item = self._items[id(param)] = (param, {})
        return item[1]

    def __setitem__(self, param: Tensor, value: dict) -> None:
        self._items[id(param)] = (param, value)

    def __delitem__(self, param: Tensor) -> None:
        del self._items[id(param)]

    def __contains__(self, param: object) -> bool:
        return id(param) in self._items

    def __iter__(self) -> Iterator[Tensor]:
        return (param for param, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"ParamState({len(self)} parameters)"


def _typename(x: object) -> str:
    return type(x).__module__ + "." + type(x).__qualname__


def check_lr(name: str, lr: float) -> None:
    if not lr >= 0:
        raise ValueError(f"{name}: Invalid learning rate: learning rate must be >= 0, got {lr}")


def check_nonnegative(**values: float) -> None:
    """ValueError "Invalid {name} value: {value}" (PyTorch's words; `eps` is "epsilon") for
    the first of `values`, in the order given, that is not >= 0 (NaN is not)."""
    for name, value in values.items():
        if not 0.0 <= value:
            label = "epsilon" if name == "eps" else name
            raise ValueError(f"Invalid {label} value: {value}")


def check_betas(options: dict) -> None:
    """The Adam family's betas: 0 <= b1 < 1 and 0 <= b2 < 1 (PyTorch's words)."""
    for i, beta in enumerate(options["betas"][:2]):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")


def check_implementation(options: dict) -> None:
    """PyTorch's switches between implementations of one update: `foreach` and `fused` (any
    value: one numpy implementation serves them all; both True is PyTorch's RuntimeError),
    `capturable` (CUDA graphs) and `differentiable` (a recorded update), False only."""
    if options.get("fused") and options.get("foreach"):
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if options.get("capturable"):
        raise AssertionError(
            "If capturable=True, params and state_steps must be on supported devices; "
            "tinygrad_lite runs on the CPU only"
        )
    if options.get("differentiable"):
        raise NotImplementedError("differentiable=True is not implemented: an optimizer's "
                                  "step is not recorded in the graph")


def options_init(
    positional: dict, keyword_only: dict, checks: tuple = (), **fixed: Any
) -> Callable[..., None]:
    """An optimizer's constructor, `__init__(self, params, <positional>, *, <keyword_only>)`:
    PyTorch's signature for it, stated once as the options with their defaults, in order
    (`inspect.signature` shows them). It checks the values given, in PyTorch's order and
    words (ValueError): lr >= 0 first, then each of `checks`, an option's name (it must be
    >= 0) or a function of the options; and hands them, with `fixed` (options the class sets
    itself, as AdamW its decoupled weight decay), to `Optimizer.__init__` as the defaults of
    every group. An option whose default is a tuple (betas) is kept as a tuple. PyTorch's
    implementation switches are accepted where PyTorch's signature has them
    (`check_implementation`)."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    signature = self_and(
        inspect.Parameter("params", kind),
        *(inspect.Parameter(k, kind, default=v) for k, v in positional.items()),
        *(inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v)
          for k, v in keyword_only.items()),
    )
    tuples = [k for k, v in {**positional, **keyword_only}.items() if isinstance(v, tuple)]

    def init(self: Optimizer, options: dict) -> None:
        params = options.pop("params")
        options.update({k: tuple(options[k]) for k in tuples})
        check_lr(type(self).__name__, options["lr"])
        for check in checks:
            if callable(check):
                check(options)
            else:
                check_nonnegative(**{check: options[check]})
        check_implementation(options)
        Optimizer.__init__(self, params, {**options, **fixed})

    return init_from_signature(signature, init)


class Optimizer:
    """Base class: `Optimizer(params, defaults)`; subclasses implement `step()`.

    `params` is an iterable of Tensors (one group) or of dicts (one group each, options per
    group). `optimizer.lr` reads / writes the learning rate of every group (a convenience:
    PyTorch has only `param_groups[i]["lr"]`).
    """

    def __init__(self, params: Iterable, defaults: dict):
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                "dicts, but got " + _typename(params)
            )
        self.state = ParamState()
        self._scratch: dict = {}  # id(p) -> a work array shaped like p (not saved state)
        self.param_groups: list = []
        self._constructed = False  # until the constructor's groups are in (Adagrad's state)
        param_groups = list(params)
        if not param_groups:
            raise ValueError(f"{type(self).__name__}: optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)
        self._constructed = True

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"

    # ---- groups --------------------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Add a group (a dict with "params" and optional per-group options)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            param_group["params"] = list(params)
        for p in param_group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is " + _typename(p)
                )
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required optimization "
                    f"parameter {name}"
                )
            param_group.setdefault(name, default)
        # PyTorch only warns for a duplicate inside one group; here it is an error too
        seen: set = {id(p) for group in self.param_groups for p in group["params"]}
        for p in param_group["params"]:
            if id(p) in seen:
                raise ValueError("some parameters appear in more than one parameter group")
            seen.add(id(p))
        self.param_groups.append(param_group)

    @property
    def lr(self) -> float:
        """The learning rate shared by all groups (ValueError if the groups differ)."""
        lrs = [group["lr"] for group in self.param_groups]
        if any(lr != lrs[0] for lr in lrs[1:]):
            raise ValueError(
                f"the parameter groups have different learning rates {lrs}; "
                "read optimizer.param_groups[i]['lr']"
            )
        return lrs[0]

    @lr.setter
    def lr(self, value: float) -> None:
        for group in self.param_groups:
            group["lr"] = value

    # ---- gradients and steps ---------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the accumulated gradients: set `.grad` to None (default), or with
        `set_to_none=False` fill them with zeros in place (a gradient left by
        `backward(create_graph=True)`, which has a graph, is replaced by zeros)."""
        zero_grads([p for group in self.param_groups for p in group["params"]], set_to_none)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """One update of every parameter that has a `.grad`; `closure` (optional)
        re-evaluates the model and returns the loss, which `step` returns."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group)
        return loss

    def _update_group(self, group: dict) -> None:
        raise NotImplementedError

    def _step_state(self, p: Tensor, *buffers: str, **values: float) -> tuple[dict, int]:
        """`p`'s state and its step count t, advanced by one for the step being taken. On
        `p`'s first step the state is made: "step" 0, then `values` (initial numbers), then
        each of `buffers` as zeros shaped like `p`."""
        state = self.state[p]
        if not state:
            state["step"] = 0
            state.update(values)
            for name in buffers:
                state[name] = np.zeros_like(p.data)
        state["step"] = t = state["step"] + 1
        return state, t

    def _scratch_for(self, p: Tensor) -> np.ndarray:
        """A work array shaped like `p`, kept from step to step (not saved state)."""
        tmp = self._scratch.get(id(p))
        if tmp is None or tmp.shape != p.shape or tmp.dtype != p.dtype:
            tmp = self._scratch[id(p)] = np.empty_like(p.data)
        return tmp

    # ---- saving and loading ----------------------------------------------------------------
    def state_dict(self) -> dict:
        """`{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}`,
        parameters numbered in group order (PyTorch's layout). Arrays are copies (PyTorch
        returns references to the live buffers)."""
        index: dict = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {
            index[id(p)]: {k: _copy_value(v) for k, v in s.items()}
            for p, s in ((p, self.state[p]) for p in self.state)
            if id(p) in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what `state_dict()` returned (for the same parameters, in the same
        groups): per-parameter state and every group's options."""
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(
            len(g["params"]) != len(s["params"]) for g, s in zip(self.param_groups, saved_groups)
        ):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of "
                "optimizer's group"
            )
        id_map = {
            i: p
            for s, g in zip(saved_groups, self.param_groups)
            for i, p in zip(s["params"], g["params"])
        }
        state = ParamState()
        for i, s in state_dict["state"].items():
            if i in id_map:
                p = id_map[i]
                state[p] = {k: _cast_value(v, p, k) for k, v in s.items()}
        for group, saved in zip(self.param_groups, saved_groups):
            saved["params"] = group["params"]
        self.state = state
        self.param_groups = saved_groups


def grads(group: dict) -> Iterator[tuple]:
    """(p, g) for each p of `group` that has a grad, with the group's options: g = p.grad
    (negated if "maximize") + weight_decay * p (L2). A group whose "decoupled_weight_decay"
    is true (AdamW, NAdamW) decays the parameter instead, p *= 1 - lr * weight_decay, and g
    is the gradient alone.

    g is the gradient's numpy array: the update itself is not recorded, as in PyTorch."""
    weight_decay = group["weight_decay"]
    decoupled = group.get("decoupled_weight_decay", False)
    for p in group["params"]:
        if p.grad is None:
            continue
        g = p.grad.data
        if group["maximize"]:
            g = -g
        if weight_decay != 0:
            if decoupled:
                p.data *= 1 - group["lr"] * weight_decay
            else:
                g = g + weight_decay * p.data
        yield p, g


# ---- the update every other optimizer refines: plain gradient descent ------------------------


def _check_sgd(options: dict) -> None:
    """SGD's checks after lr's, in PyTorch's order and words (a NaN momentum passes)."""
    momentum, weight_decay = options["momentum"], options["weight_decay"]
    if momentum < 0.0:
        raise ValueError(f"Invalid momentum value: {momentum}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    if options["nesterov"] and (momentum <= 0 or options["dampening"] != 0):
        raise ValueError("Nesterov momentum requires a momentum and zero dampening")


class SGD(Optimizer):
    """g = grad (negated if `maximize`) + weight_decay * p; with momentum
    buf = momentum * buf + (1 - dampening) * g (buf = g on the first step), and
    g = g + momentum * buf if `nesterov` else buf; then p -= lr * g.

    State per parameter: "momentum_buffer" (only when momentum != 0).
    """

    __init__ = options_init(
        dict(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False),
        dict(maximize=False, foreach=None, differentiable=False, fused=None),
        checks=(_check_sgd,),
    )

    def _update_group(self, group: dict) -> None:
        for p, g in grads(group):
            if group["momentum"] != 0:
                g = self._with_momentum(p, g, group)
            p.data -= group["lr"] * g
            p._bump_version()

    def _with_momentum(self, p: Tensor, g: np.ndarray, group: dict) -> np.ndarray:
        """The step's direction with momentum: buf = momentum buf + (1 - dampening) g, then
        g + momentum buf (Nesterov) or buf."""
        momentum, dampening = group["momentum"], group["dampening"]
        state = self.state[p]
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = np.array(g, dtype=p.dtype)
        else:
            buf *= momentum
            if dampening != 0:
                buf += (1 - dampening) * g
            else:
                buf += g
            flush_denormals_(buf, self._scratch_for(p))  # see flush_denormals_
        return g + momentum * buf if group["nesterov"] else buf


def lerp_(a: np.ndarray, b: np.ndarray, weight: float, tmp: np.ndarray) -> None:
    """a = a + weight (b - a) in place, as torch's `lerp_` computes it (`tmp`: scratch)."""
    np.subtract(b, a, out=tmp)
    if abs(weight) < 0.5:
        tmp *= weight
        a += tmp
    else:
        tmp *= 1 - weight
        np.subtract(b, tmp, out=a)


def add_square_(avg: np.ndarray, x: np.ndarray, decay: float, tmp: np.ndarray) -> None:
    """avg = decay avg + (1 - decay) x^2 in place (`tmp`: scratch of avg's shape): the running
    average of squares of Adam's v, RMSprop's and Adadelta's averages."""
    avg *= decay
    np.multiply(x, x, out=tmp)
    tmp *= 1 - decay
    avg += tmp


def flush_denormals_(a: np.ndarray, tmp: np.ndarray) -> None:
    """Set the entries of `a` smaller in magnitude than the dtype's smallest normal number
    (float32: 1.2e-38) to zero, in place (`tmp`: float scratch of a's shape). NaN stays NaN.

    Why: a moment that decays geometrically (Adam's m *= 0.9 while a weight's gradient is 0,
    as for the pixels a batch leaves blank and the hidden units it leaves idle) crosses the
    denormal range, and x86 arithmetic on denormal numbers is ~10x slower unless the CPU
    flushes them to zero, a switch numpy does not offer. With 3% of a 128x784 float32 moment
    denormal, `m *= 0.9` took 140 us instead of 12 (PyTorch's Adam step on that weight: 569
    us instead of 273). Training MNIST's 784-128-10 net with Adam, 2-3% of W1's m is
    denormal from the second epoch on. What is flushed is below any effect: the step of a
    momentum buffer is lr buf < 1.2e-38 lr, Adam's lr m / ((1 - b1^t)(sqrt(v_hat) + eps)) <
    1.2e-29 lr with the default eps.

    Used for the moments that decay by beta1 or the momentum, 0.9 as commonly set (Adam's m,
    the momentum buffers of SGD and RMSprop): they reach the denormal range ~800 steps after
    their gradient stops. Adam's v and RMSprop's averages decay by 0.999 and 0.99, 10-100x
    slower, and are left as they are: the flush costs two passes over the array every step.
    float16 is left alone too: numpy computes it in float32, where its denormals are normal.
    """
    if a.dtype.itemsize < 4:
        return
    np.abs(a, out=tmp)
    a[tmp < np.finfo(a.dtype).tiny] = 0


def _copy_value(v: Any) -> Any:
    return v.copy() if isinstance(v, np.ndarray) else copy.deepcopy(v)


def _cast_value(v: Any, p: Tensor, key: str) -> Any:
    """A loaded state entry as the optimizer keeps it: arrays copied, floating ones in the
    parameter's dtype (as PyTorch casts to the parameter's dtype); the step count as is."""
    if isinstance(v, np.ndarray) and key != "step":
        if np.issubdtype(v.dtype, np.floating) and np.issubdtype(p.dtype, np.floating):
            return np.array(v, dtype=p.dtype, order="K")
        return v.copy()
    return copy.deepcopy(v)
