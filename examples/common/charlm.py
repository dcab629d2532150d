"""What the character-level language-model examples (``makemore.py``, ``char_gpt.py``) share on
the command line, kept out of the scripts so that they read like the lectures they follow:
their flags, the shipped text files, checkpoints that say which model they hold, and timing.

The promises of :mod:`examples.common.cli` hold: bad input (``--iters 0``, a missing or
unreadable data file, a character outside the vocabulary, a checkpoint of another model or
another vocabulary) is one line on stderr and exit status 2; a diverging loss is status 1.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any, Dict, Iterable, Optional

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.data import DataError, load_text

from . import cli
from .checkpoint import CheckpointError, read_checkpoint, save_checkpoint

__all__ = [
    "NAMES",
    "SHAKESPEARE",
    "Stopwatch",
    "load_checkpoint",
    "read_data",
    "save",
]

REPO = Path(__file__).resolve().parent.parent.parent
NAMES = REPO / "data" / "names" / "names.txt"
SHAKESPEARE = REPO / "data" / "tinyshakespeare" / "input.txt"


def read_data(path: Path) -> str:
    """The text of the data file; a missing, unreadable, undecodable or empty file is a
    one-line DataError (exit status 2)."""
    text = load_text(path)
    if not text.strip():
        raise DataError(f"{path}: the file is empty")
    return text


def check_long_enough(path: Path, split: Any, name: str, block_size: int) -> None:
    """A split must hold one window of block_size + 1 characters (an input and its targets)."""
    if len(split) < block_size + 1:
        raise DataError(f"{path}: too short: its {name} split has {len(split)} characters, "
                        f"fewer than the context of {block_size} + 1")


def save(path: Optional[str], model: nn.Module, arch: Dict[str, Any]) -> None:
    """Write the model's weights and `arch` (what it is: kind, sizes, vocabulary) to `path`."""
    if path is None:
        return
    save_checkpoint(path, model, arch)
    cli.note_saved(path)
    print(f"saved {path}")


def load_checkpoint(path: str, model: nn.Module, expect: Dict[str, Any]) -> Dict[str, Any]:
    """Load the weights saved at `path` into `model`, after checking that its architecture
    record has every entry of `expect` (the model kind, its sizes, the vocabulary): a
    checkpoint of another model is a one-line CheckpointError (exit status 2). Returns the
    record."""
    state, arch = read_checkpoint(path)
    for key, want in expect.items():
        have = arch.get(key)
        if have != want:
            what = f"{have!r}" if not isinstance(have, str) or len(have) < 40 else "another"
            raise CheckpointError(f"{path}: holds a model with {key} {what}, not {want!r} "
                                  f"(saved by another model or on other data)")
    try:
        model.load_state_dict(state)
    except ValueError as e:
        raise CheckpointError(f"{path}: weights do not fit the model: {e}") from None
    return arch


class Stopwatch:
    """Wall time since it was made (or since `reset`)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def reset(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start


def add_common_flags(p: argparse.ArgumentParser, data: Path, iters_help: str,
                     seed_default: int) -> None:
    p.add_argument("--data", type=Path, default=data, metavar="PATH",
                   help=f"the text file (default: the shipped {data.relative_to(REPO)})")
    p.add_argument("--iters", type=cli.positive(int), default=None, metavar="N",
                   help=iters_help)
    p.add_argument("--seed", type=cli.seed, default=seed_default,
                   help=f"seed of the split, the init, the batches and the samples "
                        f"({seed_default})")
    p.add_argument("--save", metavar="PATH", help="write the trained model here (.npz)")
    p.add_argument("--load", metavar="PATH", help="start from a model saved by --save")
    cli.add_threads_flag(p)


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse, before any work, a --save (or --export-onnx) that would overwrite --data or
    --load or cannot be written; --export-onnx also needs the onnx package."""
    export = getattr(args, "export_onnx", None)
    if export:
        try:
            tl.onnx.require_onnx()
        except ImportError as e:
            raise cli.UsageError(f"--export-onnx: {e}") from None
    inputs: Dict[str, Iterable[Optional[str]]] = {"--data": [args.data], "--load": [args.load]}
    cli.check_paths(inputs=inputs, outputs={"--save": [args.save], "--export-onnx": [export]})


def generator(seed: int) -> Any:
    """A ``tl.Generator`` seeded with `seed`: the batches and the samples draw from it."""
    return tl.Generator().manual_seed(seed)
