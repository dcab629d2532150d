"""The models the examples and benchmarks train, built in one place.

    build_mlp(784, [10], 10)   # the notebook: Sequential(Linear(784, 10), ReLU(), Linear(10, 10))
    build_mlp(2, [16, 16], 2, activation="tanh")
    build_cnn(channels=(16, 32), hidden=128)

Each model also has an *architecture record*, a small JSON-able dict that checkpoints store
(:mod:`examples.common.checkpoint`) so that a saved file describes itself:

    {"kind": "mlp", "in_features": 784, "hidden": [10], "out_features": 10,
     "activation": "relu", "dtype": "float32"}
    {"kind": "cnn", "image_shape": [28, 28], "channels": [16, 32], "kernel_size": 3,
     "hidden": 128, "dropout": 0.25, "out_features": 10, "dtype": "float32"}

:func:`from_arch` builds the model a record describes, after checking every field (a record
read from a file is untrusted: ``hidden: [NaN]``, ``[2**40]`` or ``kernel_size: 0`` raise
:class:`ArchitectureError`, a one-line ``ValueError``, before anything is allocated). The same
size check guards models built from command-line widths: a model whose parameters, gradients
and optimizer state would not fit in this machine's memory is refused by name.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from tinygrad_lite import nn
from tinygrad_lite.errors import OneLineError

__all__ = [
    "ACTIVATIONS",
    "ArchitectureError",
    "arch_of",
    "build_cnn",
    "build_mlp",
    "check_size",
    "cnn_arch",
    "count_parameters",
    "describe",
    "from_arch",
    "mlp_arch",
]

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}

# A model needs its parameters, their gradients and up to two optimizer buffers (Adam's moments)
COPIES_IN_TRAINING = 4


class ArchitectureError(OneLineError):
    """An architecture that cannot be built. The message is one line."""


# ---- builders --------------------------------------------------------------------------------


def build_mlp(*args: Any, **kwargs: Any) -> nn.Sequential:
    """The MLP :func:`mlp_arch` (same arguments) describes: `Sequential(Linear(in, h1), act,
    ..., Linear(h_last, out))`, PyTorch's default init.

    `build_mlp(784, [10], 10)` is the notebook's net,
    `nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10))`.
    """
    return from_arch(mlp_arch(*args, **kwargs))


def build_cnn(*args: Any, **kwargs: Any) -> nn.Sequential:
    """The CNN :func:`cnn_arch` (same arguments) describes: pixel rows -> images (Unflatten)
    -> one conv-BN-ReLU-2x2-max-pool block per entry of `channels` -> Flatten -> Dropout ->
    Linear(., hidden) -> ReLU -> Dropout -> Linear(hidden, out).

    The convolutions have no bias: the batch norm after each one shifts anyway.
    """
    return from_arch(cnn_arch(*args, **kwargs))


def _mlp(arch: Dict[str, Any]) -> nn.Sequential:
    widths = [arch["in_features"], *arch["hidden"], arch["out_features"]]
    layers: List[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        if i:
            layers.append(ACTIVATIONS[arch["activation"]]())
        layers.append(nn.Linear(n_in, n_out, dtype=np.dtype(arch["dtype"])))
    return nn.Sequential(*layers)


def _cnn(arch: Dict[str, Any]) -> nn.Sequential:
    height, width = arch["image_shape"]
    k, dropout = arch["kernel_size"], arch["dropout"]
    layers: List[nn.Module] = [nn.Unflatten(1, (1, height, width))]
    c_in = 1
    for c_out in arch["channels"]:
        layers += [nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False), nn.BatchNorm2d(c_out),
                   nn.ReLU(), nn.MaxPool2d(2)]
        c_in, height, width = c_out, height // 2, width // 2
    layers += [nn.Flatten(), nn.Dropout(dropout), nn.Linear(c_in * height * width, arch["hidden"]),
               nn.ReLU(), nn.Dropout(dropout), nn.Linear(arch["hidden"], arch["out_features"])]
    model = nn.Sequential(*layers)
    return model.to(arch["dtype"]) if np.dtype(arch["dtype"]) != np.float32 else model


# ---- architecture records ----------------------------------------------------------------------


def _int(value: Any, what: str, low: int = 1) -> int:
    """`value` as an int >= low; JSON floats, bools, NaN and strings are refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ArchitectureError(f"{what} must be an integer, got {value!r}")
    if value < low:
        raise ArchitectureError(f"{what} must be >= {low}, got {value}")
    return int(value)


def _dtype(value: Any) -> str:
    try:
        dtype = np.dtype(value)
    except TypeError:
        raise ArchitectureError(f"dtype {value!r} is not a numpy dtype") from None
    if dtype not in (np.float32, np.float64):
        raise ArchitectureError(f"dtype must be float32 or float64, got {dtype.name}")
    return dtype.name


def mlp_arch(
    in_features: int,
    hidden: Sequence[int],
    out_features: int,
    *,
    activation: str = "relu",
    dtype: Any = np.float32,
) -> Dict[str, Any]:
    """The record of `build_mlp(in_features, hidden, out_features, ...)`, checked."""
    if activation not in ACTIVATIONS:
        raise ArchitectureError(f"activation must be one of {sorted(ACTIVATIONS)}, "
                                f"got {activation!r}")
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, (list, tuple)):
        raise ArchitectureError(f"hidden must be a list of widths, got {hidden!r}")
    return {
        "kind": "mlp",
        "in_features": _int(in_features, "in_features"),
        "hidden": [_int(h, "hidden width") for h in hidden],
        "out_features": _int(out_features, "out_features"),
        "activation": activation,
        "dtype": _dtype(dtype),
    }


def cnn_arch(
    image_shape: Sequence[int] = (28, 28),
    channels: Sequence[int] = (16, 32),
    hidden: int = 128,
    out_features: int = 10,
    *,
    kernel_size: int = 3,
    dropout: float = 0.25,
    dtype: Any = np.float32,
) -> Dict[str, Any]:
    """The record of `build_cnn(...)`, checked: odd kernel no larger than the image, each
    block's 2x2 pooling leaving at least one pixel, dropout in [0, 1)."""
    if not isinstance(image_shape, (list, tuple)) or len(image_shape) != 2:
        raise ArchitectureError(f"image_shape must be [height, width], got {image_shape!r}")
    if not isinstance(channels, (list, tuple)) or not channels:
        raise ArchitectureError(f"channels must be a non-empty list, got {channels!r}")
    height, width = (_int(s, "image side") for s in image_shape)
    chans = [_int(c, "channels") for c in channels]
    k = _int(kernel_size, "kernel_size")
    if k % 2 == 0 or k > min(height, width):
        raise ArchitectureError(f"kernel_size must be odd and at most the image side "
                                f"{min(height, width)}, got {k}")
    if min(height, width) >> len(chans) < 1:
        raise ArchitectureError(f"{len(chans)} pooling blocks leave no pixel of a "
                                f"{height}x{width} image")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or \
            not 0 <= dropout < 1:
        raise ArchitectureError(f"dropout must be a number in [0, 1), got {dropout!r}")
    return {
        "kind": "cnn",
        "image_shape": [height, width],
        "channels": chans,
        "kernel_size": k,
        "hidden": _int(hidden, "hidden"),
        "dropout": float(dropout),
        "out_features": _int(out_features, "out_features"),
        "dtype": _dtype(dtype),
    }


def _checked(arch: Any) -> Dict[str, Any]:
    """`arch` rebuilt through mlp_arch / cnn_arch (so every field is checked), extra keys
    such as "trained" kept."""
    if not isinstance(arch, dict):
        raise ArchitectureError(f"architecture must be a JSON object, got {type(arch).__name__}")
    kind = arch.get("kind")
    try:
        if kind == "mlp":
            clean = mlp_arch(arch["in_features"], arch["hidden"], arch["out_features"],
                             activation=arch.get("activation", "relu"),
                             dtype=arch.get("dtype", "float32"))
        elif kind == "cnn":
            clean = cnn_arch(arch["image_shape"], arch["channels"], arch["hidden"],
                             arch["out_features"], kernel_size=arch["kernel_size"],
                             dropout=arch["dropout"], dtype=arch.get("dtype", "float32"))
        else:
            raise ArchitectureError(f"unsupported architecture kind {kind!r} "
                                    f"(expected 'mlp' or 'cnn')")
    except KeyError as e:
        raise ArchitectureError(f"{kind} architecture without the field {e}") from None
    return {**arch, **clean}


def count_parameters(arch: Dict[str, Any]) -> int:
    """Number of parameters (and batch-norm buffers) of the model `arch` describes, computed
    from the record alone (nothing is allocated)."""
    if arch["kind"] == "mlp":
        widths = [arch["in_features"], *arch["hidden"], arch["out_features"]]
        return sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
    height, width = arch["image_shape"]
    k, c_in, total = arch["kernel_size"], 1, 0
    for c_out in arch["channels"]:
        total += c_in * c_out * k * k + 4 * c_out + 1  # weight; BN weight, bias, stats, count
        c_in, height, width = c_out, height // 2, width // 2
    flat = c_in * height * width
    return total + flat * arch["hidden"] + arch["hidden"] + \
        arch["hidden"] * arch["out_features"] + arch["out_features"]


def _memory_bytes() -> Optional[int]:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_size(arch: Dict[str, Any], memory: Optional[int] = None) -> None:
    """Refuse a model whose parameters, gradients and optimizer state (4 copies) would not
    fit in `memory` bytes (default: this machine's physical memory)."""
    arch = _checked(arch)
    memory = _memory_bytes() if memory is None else memory
    n = count_parameters(arch)
    need = n * np.dtype(arch["dtype"]).itemsize * COPIES_IN_TRAINING
    if memory is not None and need > memory:
        raise ArchitectureError(
            f"{describe(arch)} has {n:,} parameters: {need / 2**30:,.1f} GiB to train "
            f"(weights, gradients, optimizer state), more than this machine's "
            f"{memory / 2**30:,.1f} GiB of memory"
        )


def from_arch(arch: Any) -> nn.Sequential:
    """The model an architecture record describes (PyTorch's default init; load weights or
    re-initialise). Raises ArchitectureError for a record that is malformed or too big."""
    arch = _checked(arch)
    check_size(arch)
    return _mlp(arch) if arch["kind"] == "mlp" else _cnn(arch)


def arch_of(model: nn.Sequential) -> Dict[str, Any]:
    """The record of a model built by :func:`build_mlp` or :func:`build_cnn`, or spelled out
    the same way (``nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10))``)."""
    layers = list(model)
    dtype = next(iter(model.parameters())).dtype
    linears = [m for m in layers if isinstance(m, nn.Linear)]
    if layers and isinstance(layers[0], nn.Unflatten):
        convs = [m for m in layers if isinstance(m, nn.Conv2d)]
        dropout = next((m.p for m in layers if isinstance(m, nn.Dropout)), 0.0)
        return cnn_arch(list(layers[0].unflattened_size[1:]), [c.out_channels for c in convs],
                        linears[0].out_features, linears[-1].out_features,
                        kernel_size=convs[0].kernel_size[0], dropout=dropout, dtype=dtype)
    activation = next((name for m in layers for name, cls in ACTIVATIONS.items()
                       if type(m) is cls), "relu")
    return mlp_arch(linears[0].in_features, [m.out_features for m in linears[:-1]],
                    linears[-1].out_features, activation=activation, dtype=dtype)


def describe(arch: Dict[str, Any]) -> str:
    """'784-10-10 MLP', or 'CNN conv 16-32 (3x3, batch norm, 2x2 max pool), head 128-10'."""
    if arch.get("kind") == "cnn":
        convs = "-".join(str(c) for c in arch.get("channels", []))
        k = arch.get("kernel_size")
        return (f"CNN conv {convs} ({k}x{k}, batch norm, 2x2 max pool), head "
                f"{arch.get('hidden')}-{arch.get('out_features')}, dropout {arch.get('dropout')}")
    widths = [arch.get("in_features"), *arch.get("hidden", []), arch.get("out_features")]
    act = arch.get("activation", "relu")
    return "-".join(str(w) for w in widths) + (" MLP" if act == "relu" else f" {act} MLP")
