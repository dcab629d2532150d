"""How much of the package one training step of the notebook's net runs.

    python benchmarks/lines.py        # lines per file, then the total

The step: a 784-10-10 float32 MLP, nn.Sequential(nn.Linear(784, 10), nn.ReLU(),
nn.Linear(10, 10)), on a batch of 64, `optim.SGD(lr=0.1)`: zero_grad, forward,
`tinygrad_lite.nn.functional.cross_entropy`, backward, step. After one warm-up step, a second
step runs under `sys.settrace`; every "call" and "line" event in a file under the
tinygrad_lite package directory counts its (file, line) once.
"""

from __future__ import annotations

import os
import sys
from typing import Dict, Set

import numpy as np


def executed_lines() -> Dict[str, Set[int]]:
    """{file relative to the package directory: the line numbers one step executed}."""
    import tinygrad_lite as tl
    from tinygrad_lite import nn, optim
    from tinygrad_lite.nn.functional import cross_entropy

    package = os.path.dirname(os.path.abspath(tl.__file__)) + os.sep
    model = nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10))
    opt = optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    x = tl.tensor(rng.random((64, 784), dtype=np.float32))
    y = tl.tensor(rng.integers(0, 10, 64))

    def step() -> None:
        opt.zero_grad()
        loss = cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    step()  # warm-up: first-call caches and lazy imports stay out of the count
    seen: Set[tuple] = set()

    def tracer(frame, event, arg):
        filename = frame.f_code.co_filename
        if not filename.startswith(package):
            return None  # no line events for this frame; calls from it still reach tracer
        seen.add((filename, frame.f_lineno))
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        step()
    finally:
        sys.settrace(previous)
    files: Dict[str, Set[int]] = {}
    for filename, line in seen:
        files.setdefault(os.path.relpath(filename, package), set()).add(line)
    return files


def breakdown(files: Dict[str, Set[int]]) -> str:
    """One line per file (count, path), then the total."""
    rows = [f"{len(lines):4d} {name}" for name, lines in sorted(files.items())]
    total = sum(len(lines) for lines in files.values())
    return "\n".join(rows + [f"{total} lines in {len(files)} files"])


if __name__ == "__main__":
    # this checkout's package, as benchmarks/run.py uses it
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    print(breakdown(executed_lines()))
