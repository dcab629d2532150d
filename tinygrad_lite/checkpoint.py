"""Saving and loading small models: weights plus an architecture description, in one .npz.

A checkpoint is an ordinary numpy ``.npz`` archive holding

* one array per entry of the model's ``state_dict()`` (``"0.weight"``, ``"0.bias"``, ...), and
* ``"__arch__"``: a 0-d unicode array with a JSON object describing the architecture (for the
  MLPs of the examples: ``{"kind": "mlp", "in_features": 784, "hidden": [10],
  "out_features": 10, "activation": "relu", "dtype": "float32"}``) plus anything else the
  caller wants to record (seed, optimizer, accuracies...).

It loads with ``np.load(path)`` alone (no pickle). Files are written atomically: to a temporary
file in the same folder, then ``os.replace``-d over the target, so an interrupted save never
leaves a half-written checkpoint behind.

Every problem (missing file, not an .npz, no architecture, weights that do not fit it) raises
:class:`CheckpointError`, a ``ValueError`` whose message is one line naming the file.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Dict, Sequence, Tuple, Union

import numpy as np

from . import nn

__all__ = [
    "ARCH_KEY",
    "CheckpointError",
    "atomic_write",
    "build_mlp",
    "describe",
    "load_checkpoint",
    "load_model",
    "mlp_arch",
    "save_checkpoint",
]

ARCH_KEY = "__arch__"
PathLike = Union[str, "os.PathLike[str]"]


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit. The message is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


# ---- architecture ----------------------------------------------------------------------------


def mlp_arch(
    in_features: int, hidden: Sequence[int], out_features: int, dtype: Any = np.float32
) -> Dict[str, Any]:
    """The architecture dict of an MLP in -> hidden[0] ReLU -> ... -> out."""
    return {
        "kind": "mlp",
        "in_features": int(in_features),
        "hidden": [int(h) for h in hidden],
        "out_features": int(out_features),
        "activation": "relu",
        "dtype": np.dtype(dtype).name,
    }


def describe(arch: Dict[str, Any]) -> str:
    """'784-10-10' for an MLP arch."""
    widths = [arch.get("in_features"), *arch.get("hidden", []), arch.get("out_features")]
    return "-".join(str(w) for w in widths)


def build_mlp(arch: Dict[str, Any]) -> nn.Sequential:
    """`Sequential(Linear(in, h1), ReLU(), ..., Linear(h_last, out))` for an `mlp_arch` dict.

    Parameters get `nn.Linear`'s default (PyTorch) initialisation; load or re-initialise them.
    """
    try:
        if arch.get("kind") != "mlp" or arch.get("activation") != "relu":
            raise CheckpointError(
                f"unsupported architecture kind={arch.get('kind')!r} "
                f"activation={arch.get('activation')!r} (expected an 'mlp' with 'relu')"
            )
        widths = [int(arch["in_features"]), *(int(h) for h in arch["hidden"])]
        widths.append(int(arch["out_features"]))
        dtype = np.dtype(arch.get("dtype", "float32"))
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"malformed architecture {arch!r}: {e}") from e
    if min(widths) <= 0 or dtype.kind != "f":
        raise CheckpointError(f"malformed architecture {arch!r}: widths must be positive, "
                              f"dtype a float type")
    layers: list = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        if i:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(n_in, n_out, dtype=dtype))
    return nn.Sequential(*layers)


# ---- files -----------------------------------------------------------------------------------


def atomic_write(path: PathLike, write: Callable[[Any], None]) -> None:
    """Call `write(binary_file)` on a temporary file next to `path`, then rename it to `path`.

    Readers see either the old file or the complete new one, never a partial write.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_checkpoint(path: PathLike, model: nn.Module, arch: Dict[str, Any]) -> None:
    """Write `model.state_dict()` and `arch` (JSON-serialisable) to the .npz file `path`.

    The file is written exactly at `path` (numpy's habit of appending ".npz" does not apply).
    """
    state = model.state_dict()
    if ARCH_KEY in state:
        raise ValueError(f"save_checkpoint: the model has a parameter named {ARCH_KEY!r}")
    arrays: Dict[str, np.ndarray] = dict(state)
    arrays[ARCH_KEY] = np.array(json.dumps(arch, sort_keys=True))
    folder = Path(path).parent
    if str(folder) and not folder.is_dir():
        raise CheckpointError(f"{path}: cannot save, folder {folder} does not exist")
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_checkpoint(path: PathLike) -> Tuple[OrderedDict[str, np.ndarray], Dict[str, Any]]:
    """Read a checkpoint written by `save_checkpoint`: (state dict, architecture dict)."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint not found")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a file")
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            head = f.read(6)
        what = "a single .npy array" if head == b"\x93NUMPY" else "not a zip archive"
        raise CheckpointError(f"{path}: not an .npz checkpoint ({what})")
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"{path}: not a readable .npz checkpoint ({e})") from e
    try:
        names = list(npz.files)
        if ARCH_KEY not in names:
            raise CheckpointError(
                f"{path}: not a tinygrad_lite checkpoint (no {ARCH_KEY!r} entry; "
                f"holds {names[:5]})"
            )
        arch_text = str(npz[ARCH_KEY][()])
        state = OrderedDict((k, npz[k]) for k in names if k != ARCH_KEY)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"{path}: not a readable .npz checkpoint ({e})") from e
    finally:
        npz.close()
    try:
        arch = json.loads(arch_text)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: architecture entry is not valid JSON ({e})") from e
    if not isinstance(arch, dict):
        raise CheckpointError(f"{path}: architecture entry is not a JSON object")
    return state, arch


def load_model(path: PathLike) -> Tuple[nn.Sequential, Dict[str, Any]]:
    """Build the model a checkpoint describes and load its weights: (model, arch)."""
    state, arch = load_checkpoint(path)
    try:
        model = build_mlp(arch)
    except CheckpointError as e:
        raise CheckpointError(f"{path}: {e}") from None
    try:
        model.load_state_dict(state)
    except ValueError as e:
        raise CheckpointError(
            f"{path}: weights do not fit its architecture {describe(arch)}: {e}"
        ) from None
    return model, arch
