"""`tl.save(obj, path)` / `tl.load(path)`: tensors, arrays and the structures around them as
numpy `.npz` files, never pickle.

    tl.save(model.state_dict(), "model.npz")
    model.load_state_dict(tl.load("model.npz"))
    tl.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, "run.npz")

What can be saved: Tensors, ndarrays (numbers and bools) and numpy scalars; Python ``None``,
``bool``, ``int``, ``float`` and ``str``; and dicts (str or int keys), lists and tuples of
these, nested to any depth. Everything loads back as it was saved -- the same keys in the same
order, lists as lists, tuples as tuples, an ``OrderedDict`` as an ``OrderedDict`` -- except
that a Tensor loads as an ndarray (of its data). So an optimizer's ``state_dict()`` round-trips
and loads into a fresh optimizer.

Anything else (a set, an object or string array, a cycle, a dict key that is neither str nor
int) raises a one-line TypeError or ValueError naming where it is (``obj['state'][0]``) before
anything is written. The file is written by :func:`tinygrad_lite.io.atomic.atomic_write`: a
crash never leaves a half-written file at `path`.

The file is an ordinary uncompressed ``.npz``: one ``.npy`` member per array, named after
its place when that name is plain (``"0.weight.npy"``, ``"state/0/exp_avg.npy"``) and
``"__<n>.npy"`` otherwise, plus one member ``"__tinygrad_lite__.npy"``, a 0-d string array
holding the structure as JSON (which member each array is). ``np.load(path)`` reads it
without pickle. `load` also reads plain ``.npz`` files of arrays (``np.savez``'s), as an
OrderedDict of arrays by member name.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Dict, List, Tuple, Union

import numpy as np

from ..core.tensor import Tensor
from .atomic import atomic_write

__all__ = ["load", "save"]

PathLike = Union[str, "os.PathLike[str]"]
_TREE = "__tinygrad_lite__"  # the member holding the structure (JSON)
_FORMAT = 1


# ---- save ------------------------------------------------------------------------------------


def _where(path: Tuple[Any, ...]) -> str:
    return "obj" + "".join(f"[{p!r}]" for p in path)


def _plain(part: Any) -> bool:
    """Whether a key or index can be part of a member's name as it is."""
    text = str(part)
    return bool(text) and text.isprintable() and "/" not in text and text not in (".", "..")


class _Encoder:
    """Walks `obj`, checking every value, and collects the arrays to write with the JSON
    structure that places them."""

    def __init__(self) -> None:
        self.arrays: Dict[str, np.ndarray] = {}  # member name (without .npy) -> array
        self.used = {_TREE}
        self.open: List[int] = []  # ids of the containers being walked (cycle check)

    def member(self, path: Tuple[Any, ...]) -> str:
        name = "/".join(map(str, path))
        if not path or not all(map(_plain, path)) or name in self.used:
            n = len(self.arrays)
            while f"__{n}" in self.used:
                n += 1
            name = f"__{n}"
        self.used.add(name)
        return name

    def array(self, value: Any, path: Tuple[Any, ...]) -> Dict[str, Any]:
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
        if array.dtype.kind not in "biufc":
            raise TypeError(f"save: {_where(path)} is an array of dtype {array.dtype}: only "
                            "numbers and bools can be stored (others would need pickle)")
        name = self.member(path)
        self.arrays[name] = array
        node: Dict[str, Any] = {"array": name}
        if isinstance(value, np.generic):
            node["scalar"] = True
        return node

    def encode(self, value: Any, path: Tuple[Any, ...] = ()) -> Any:
        if value is None or type(value) in (bool, int, float, str):
            return value
        if isinstance(value, (Tensor, np.ndarray, np.generic)):
            return self.array(value, path)
        if not isinstance(value, (Mapping, list, tuple)):
            raise TypeError(f"save: {_where(path)} is a {type(value).__name__}, which cannot be "
                            "stored (Tensors, arrays, None, bool, int, float, str, and dicts, "
                            "lists and tuples of them can)")
        if id(value) in self.open:
            raise ValueError(f"save: {_where(path)} contains itself")
        self.open.append(id(value))
        try:
            if isinstance(value, Mapping):
                items = []
                for key, item in value.items():
                    if type(key) not in (str, int):
                        raise TypeError(f"save: {_where(path)} has a key {key!r} of type "
                                        f"{type(key).__name__}; keys must be str or int")
                    items.append([key, self.encode(item, (*path, key))])
                return {"dict": items, "ordered": isinstance(value, OrderedDict)}
            kind = "list" if isinstance(value, list) else "tuple"
            if type(value) not in (list, tuple):  # a namedtuple or a list subclass
                raise TypeError(f"save: {_where(path)} is a {type(value).__name__}, which "
                                "cannot be stored (only plain lists and tuples)")
            return {kind: [self.encode(v, (*path, i)) for i, v in enumerate(value)]}
        finally:
            self.open.pop()


def save(obj: Any, path: PathLike) -> None:
    """Write `obj` (see the module's docstring for what it may hold) to `path` as an
    uncompressed .npz, atomically, without pickle. Every value is checked before anything is
    written."""
    encoder = _Encoder()
    tree = json.dumps({"format": _FORMAT, "tree": encoder.encode(obj)}, ensure_ascii=True)
    members = [(name + ".npy", array) for name, array in encoder.arrays.items()]
    members.append((_TREE + ".npy", np.array(tree)))

    def write(f: Any) -> None:
        # member by member, not np.savez(f, **arrays): a key may be named "file"
        with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            for name, array in members:
                with archive.open(name, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)

    atomic_write(path, write)


# ---- load ------------------------------------------------------------------------------------


class _Decoder:
    def __init__(self, archive: zipfile.ZipFile, path: str) -> None:
        self.archive, self.path = archive, path

    def read(self, member: str) -> np.ndarray:
        try:
            with self.archive.open(member) as f:
                return np.lib.format.read_array(f, allow_pickle=False)
        except KeyError:
            raise ValueError(f"load: {self.path!r} is not a valid .npz of arrays (no member "
                             f"{member!r})") from None

    def decode(self, node: Any) -> Any:
        if not isinstance(node, dict):
            return node  # None, bool, int, float, str
        if "array" in node:
            array = self.read(node["array"] + ".npy")
            return array[()] if node.get("scalar") else array
        if "dict" in node:
            items = ((key, self.decode(value)) for key, value in node["dict"])
            return OrderedDict(items) if node["ordered"] else dict(items)
        if "list" in node:
            return [self.decode(v) for v in node["list"]]
        return tuple(self.decode(v) for v in node["tuple"])


def load(path: PathLike) -> Any:
    """Read what `save` wrote, as it was saved (Tensors as ndarrays). A plain .npz of arrays
    (``np.savez``) loads as an OrderedDict of its arrays."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path!r}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"load: {path!r} is not an .npz file (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as archive:
            decoder = _Decoder(archive, path)
            names = archive.namelist()
            if _TREE + ".npy" not in names:
                return OrderedDict((name[:-4] if name.endswith(".npy") else name,
                                    decoder.read(name)) for name in names)
            saved = json.loads(str(decoder.read(_TREE + ".npy")[()]))
            return decoder.decode(saved["tree"])
    except (ValueError, zipfile.BadZipFile, OSError, EOFError, KeyError, TypeError) as e:
        if isinstance(e, ValueError) and str(e).startswith("load: "):
            raise
        # ValueError covers object arrays, which would need pickle: refused, never unpickled
        raise ValueError(f"load: {path!r} is not a valid .npz of arrays "
                         f"({' '.join(str(e).split())})") from e
