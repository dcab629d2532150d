"""`tl.save(obj, path)` / `tl.load(path)`: state dicts as numpy `.npz` files, never pickle.

    tl.save(model.state_dict(), "model.npz")
    model.load_state_dict(tl.load("model.npz"))

What can be saved: a mapping of str keys to Tensors, ndarrays, numpy scalars or Python
numbers (bool, int, float), and, one level down, mappings of the same kind (nested keys are
stored as "outer/inner"; load gives them back flattened, under those joined names). Object
arrays, strings, None and deeper nesting are refused with a ValueError / TypeError before
anything is written. (An optimizer's state_dict, with int keys and lists of groups, is not
such a mapping: it is refused, not silently mangled.) The file is written to a temporary file
in the same directory and then moved into place with `os.replace`, so a crash never leaves a
half-written file at `path`.
`load` reads with `allow_pickle=False` and returns an OrderedDict of ndarrays in the saved
key order.
"""

from __future__ import annotations

import os
import secrets
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Union

import numpy as np

from .core.tensor import Tensor

PathLike = Union[str, "os.PathLike[str]"]
_SEP = "/"


def _as_array(key: str, value: Any) -> np.ndarray:
    """A saveable value as an ndarray (a copy of a Tensor's data); anything else is refused."""
    if isinstance(value, Tensor):
        array = value.data
    elif isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, (bool, int, float, np.generic)):
        array = np.asarray(value)
    else:
        raise TypeError(
            f"save: unsupported value for key {key!r}: {type(value).__name__} (expected a "
            "Tensor, ndarray or number)"
        )
    if array.dtype.kind not in "biufc":
        raise TypeError(
            f"save: unsupported dtype {array.dtype} for key {key!r} (only numeric and bool "
            "arrays; object and string arrays would need pickle)"
        )
    return np.array(array, copy=True)


def _check_key(key: Any, where: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"save: keys must be str, got {type(key).__name__} {key!r}{where}")
    if not key or _SEP in key:
        raise ValueError(f"save: key {key!r}{where} must be non-empty and not contain {_SEP!r}")
    return key


def _flatten(obj: Any) -> OrderedDict[str, np.ndarray]:
    if not isinstance(obj, Mapping):
        raise TypeError(
            f"save: expected a mapping of str -> Tensor/ndarray/number (a state_dict), got "
            f"{type(obj).__name__}"
        )
    flat: OrderedDict = OrderedDict()
    for key, value in obj.items():
        key = _check_key(key, "")
        if isinstance(value, Mapping):
            for inner, v in value.items():
                inner = _check_key(inner, f" (inside {key!r})")
                if isinstance(v, Mapping):
                    raise TypeError(
                        f"save: {key!r}/{inner!r} is nested more than one level deep"
                    )
                flat[key + _SEP + inner] = _as_array(f"{key}/{inner}", v)
        else:
            flat[key] = _as_array(key, value)
    return flat


def save(obj: Mapping, path: PathLike) -> None:
    """Write a state dict to `path` as an uncompressed .npz, atomically (never pickle)."""
    flat = _flatten(obj)  # all checks before anything touches the disk
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    # a fresh name next to the target (os.replace is atomic only within one file system);
    # os.open with 0o666 lets the umask decide the mode, as for any new file
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            # written member by member (not np.savez(f, **flat)): a key may be named "file",
            # and the archive keeps the dict's order
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
                for key, array in flat.items():
                    with archive.open(key + ".npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load(path: PathLike) -> OrderedDict[str, np.ndarray]:
    """Read what `save` wrote: an OrderedDict of ndarrays, in the saved key order."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path!r}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"load: {path!r} is not an .npz file (not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            out = OrderedDict((key, archive[key]) for key in archive.files)
    except (ValueError, zipfile.BadZipFile, OSError, EOFError) as e:
        # ValueError covers object arrays, which would need pickle: refused, never unpickled
        raise ValueError(f"load: {path!r} is not a valid .npz of arrays ({e})") from None
    for key, value in out.items():
        if not isinstance(value, np.ndarray):
            raise ValueError(f"load: {path!r} is not a valid .npz of arrays ({key!r} is not "
                             ".npy data)")
    return out
