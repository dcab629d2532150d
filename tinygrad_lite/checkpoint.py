"""Saving and loading small models: weights plus an architecture record, in one .npz.

A checkpoint is an ordinary numpy ``.npz`` archive holding

* one array per entry of the model's ``state_dict()`` (``"0.weight"``, ``"0.bias"``, ...,
  batch-norm running statistics too), and
* ``"__arch__"``: a 0-d unicode array with a JSON object, the model's architecture record
  (:mod:`tinygrad_lite.models`: ``{"kind": "mlp", "in_features": 784, "hidden": [10], ...}``
  or ``{"kind": "cnn", "channels": [16, 32], ...}``) plus anything else the caller wants to
  record (seed, optimizer, accuracies...).

So a checkpoint describes itself: :func:`load_model` rebuilds whichever model it holds. It
loads with ``np.load(path)`` alone (no pickle).

Files are written by :func:`atomic_write`: to a temporary file in the same folder, then
``os.replace``-d over the target, so a reader sees the old file or the whole new one, never
part of one. The rules for what is on disk afterwards:

* a file that is overwritten keeps its permission bits; a new file gets ``0o666 & ~umask``,
  as ``open(path, "w")`` would create it (not the 0600 of a bare temporary file);
* a symbolic link at the path is replaced by the new file; the file it pointed to is left as
  it was (the link is not written through);
* no temporary file is left behind when the write fails, is interrupted by Ctrl-C, or the
  process gets SIGTERM while writing (the signal then goes on to its previous handler, so the
  process still terminates as it would have).

Every problem (missing or unreadable file, not an .npz, no architecture, an architecture that
cannot be built, weights that do not fit it) raises :class:`CheckpointError`, a ``ValueError``
whose message is one line naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import stat
import tempfile
import threading
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional, Tuple, Union

import numpy as np

from . import models, nn

__all__ = [
    "ARCH_KEY",
    "CheckpointError",
    "atomic_write",
    "load_checkpoint",
    "load_model",
    "save_checkpoint",
]

ARCH_KEY = "__arch__"
PathLike = Union[str, "os.PathLike[str]"]


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit. The message is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


# ---- files -----------------------------------------------------------------------------------


def _umask() -> int:
    mask = os.umask(0)  # the only portable way to read it: set, then put it back at once
    os.umask(mask)
    return mask


def _new_file_mode(path: Path) -> int:
    """The mode the file at `path` should get: that of the file there now (through a
    symlink), else what open() would create, 0o666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~_umask()


class _Terminated(BaseException):
    """SIGTERM arrived during an atomic write (internal: turned back into the signal)."""


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While the block runs, SIGTERM raises inside it (so `finally` clauses clean up); then
    the signal is sent again to whatever handled it before (by default: the process ends)."""
    previous = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is not threading.main_thread() or previous == signal.SIG_IGN:
        yield  # signal handlers can only be set from the main thread
        return

    def unwind(signum: int, frame: Any) -> None:
        raise _Terminated()

    signal.signal(signal.SIGTERM, unwind)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, previous)
        os.kill(os.getpid(), signal.SIGTERM)  # the previous handler (or the default) runs now
        raise InterruptedError(errno.EINTR, "write interrupted by SIGTERM") from None
    finally:
        if signal.getsignal(signal.SIGTERM) is unwind:
            signal.signal(signal.SIGTERM, previous)


def atomic_write(path: PathLike, write: Callable[[Any], None]) -> None:
    """Call `write(binary_file)` on a temporary file next to `path`, then rename it to `path`.

    Readers see either the old file or the complete new one, never a partial write. The new
    file keeps the mode of the file it replaces, or gets ``0o666 & ~umask``; a symlink at
    `path` is replaced, not written through; the temporary file never outlives the call (an
    exception, Ctrl-C or SIGTERM removes it).
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    mode = _new_file_mode(path)
    with _sigterm_unwinds():
        tmp: Optional[str] = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
            with os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), mode)
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            tmp = None
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


def save_checkpoint(path: PathLike, model: nn.Module, arch: Dict[str, Any]) -> None:
    """Write `model.state_dict()` and `arch` (JSON-serialisable) to the .npz file `path`,
    atomically (see the module's rules on permissions, symlinks and signals).

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
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read ({e.strerror or e})") from None
    if not zipfile.is_zipfile(path):
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
    """Build the model a checkpoint describes (an MLP or a CNN of :mod:`tinygrad_lite.models`)
    and load its weights: (model, arch). The model is in training mode, as a fresh one;
    call ``model.eval()`` before predicting with a CNN (batch norm, dropout)."""
    state, arch = load_checkpoint(path)
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
