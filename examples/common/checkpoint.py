"""Checkpoints: a model's weights plus its architecture record, in one file written by
``tl.save``, so that the file describes itself and :func:`load_model` rebuilds whichever model
it holds.

A checkpoint is ``tl.save({**model.state_dict(), "__arch__": arch})``: one array per entry of
the state dict (``"0.weight"``, ``"0.bias"``, ..., batch-norm running statistics too) and the
architecture record (:mod:`examples.common.models`: ``{"kind": "mlp", "in_features": 784,
"hidden": [10], ...}`` or ``{"kind": "cnn", "channels": [16, 32], ...}``, plus anything else
the caller records: seed, optimizer, accuracies...). It is an ordinary .npz (no pickle),
written atomically (``tinygrad_lite.io.atomic``).

Every problem (missing or unreadable file, not an .npz, no architecture, an architecture that
cannot be built, weights that do not fit it) raises :class:`CheckpointError`, a ``ValueError``
whose message is one line naming the file.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any, Dict, Tuple, Union

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.errors import OneLineError

from . import models

__all__ = ["ARCH_KEY", "CheckpointError", "load_model", "read_checkpoint", "save_checkpoint"]

ARCH_KEY = "__arch__"
PathLike = Union[str, "os.PathLike[str]"]


class CheckpointError(OneLineError):
    """A checkpoint that cannot be read or does not fit. The message is one line."""


def save_checkpoint(path: PathLike, model: nn.Module, arch: Dict[str, Any]) -> None:
    """Write `model.state_dict()` and `arch` to `path` with ``tl.save`` (atomically; the file
    is written exactly at `path`, no ".npz" is appended)."""
    state = model.state_dict()
    if ARCH_KEY in state:
        raise ValueError(f"save_checkpoint: the model has a parameter named {ARCH_KEY!r}")
    folder = Path(path).parent
    if str(folder) and not folder.is_dir():
        raise CheckpointError(f"{path}: cannot save, folder {folder} does not exist")
    tl.save({**state, ARCH_KEY: arch}, path)


def _read(path: Path) -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
    """(state dict, architecture record) of the checkpoint at `path`."""
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint not found")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a file")
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read ({e.strerror or e})") from None
    if not zipfile.is_zipfile(path):
        what = "a single .npy array" if head == b"\x93NUMPY" else "not a zip archive"
        raise CheckpointError(f"{path}: not an .npz checkpoint ({what})")
    try:
        state = tl.load(path)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{path}: not a readable .npz checkpoint "
                              f"({e.__cause__ or e})") from None
    if not isinstance(state, dict) or ARCH_KEY not in state:
        names = list(state)[:5] if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{path}: not a tinygrad_lite checkpoint (no {ARCH_KEY!r} entry; "
                              f"holds {names})")
    arch = state.pop(ARCH_KEY)
    if isinstance(arch, np.ndarray) and arch.dtype.kind == "U":  # written by np.savez: JSON
        try:
            arch = json.loads(str(arch[()]))
        except json.JSONDecodeError as e:
            raise CheckpointError(f"{path}: architecture entry is not valid JSON ({e})") from e
    if not isinstance(arch, dict):
        raise CheckpointError(f"{path}: architecture entry is not a JSON object")
    return state, arch


def read_checkpoint(path: PathLike) -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
    """(state dict, architecture record) of any checkpoint written by :func:`save_checkpoint`,
    for models that :func:`load_model` does not build (the character-level examples')."""
    return _read(Path(path))


def load_model(path: PathLike) -> Tuple[nn.Sequential, Dict[str, Any]]:
    """Build the model a checkpoint describes (an MLP or a CNN of :mod:`.models`) and load
    its weights: (model, arch). The model is in training mode, as a fresh one; call
    ``model.eval()`` before predicting with a CNN (batch norm, dropout)."""
    path = Path(path)
    state, arch = _read(path)
    try:
        model = models.from_arch(arch)
    except ValueError as e:  # ArchitectureError: malformed, or too big for this machine
        raise CheckpointError(f"{path}: {e}") from None
    try:
        model.load_state_dict(state)
    except ValueError as e:
        raise CheckpointError(
            f"{path}: weights do not fit its architecture {models.describe(arch)}: {e}"
        ) from None
    return model, arch
