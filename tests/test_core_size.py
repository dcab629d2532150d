"""The core stays small: one training step of the notebook's net runs few package lines.

The count (benchmarks/lines.py) is deterministic: the distinct (file, line) pairs of the
package that a second step of the 784-10-10 float32 MLP executes. The target is at most 200
lines in at most 8 files; benchmarks/run.py reports it against that target. This test holds
the count where it is (8 files: core/autograd, core/tensor, core/ops, the speed module
core/blas, which the step's products need, nn/functional, nn/layers, nn/module and
optim/optimizer), so it cannot grow unnoticed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

LINES = Path(__file__).resolve().parent.parent / "benchmarks" / "lines.py"
MAX_FILES = 8  # guards against growth; the target, 200 lines in 8 files, is a row of
MAX_LINES = 250  # benchmarks/run.py


def _lines_module():
    spec = importlib.util.spec_from_file_location("_bench_lines", LINES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_notebook_step_runs_few_package_lines() -> None:
    lines = _lines_module()
    files = lines.executed_lines()
    total = sum(len(ls) for ls in files.values())
    report = lines.breakdown(files)
    assert files, "no package line was traced"
    assert len(files) <= MAX_FILES, report
    assert total <= MAX_LINES, report
