"""The benchmark runs end to end in its smoke size, so it cannot rot. No timing assertions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RUN = REPO / "benchmarks" / "run.py"


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    out = tmp_path_factory.mktemp("bench") / "BENCHMARKS.md"
    # --threads 1 goes through the child process that limits BLAS to one thread; --no-torch
    # keeps it to seconds (importing PyTorch alone takes longer than the smoke run)
    proc = subprocess.run(
        [sys.executable, str(RUN), "--smoke", "--no-torch", "--threads", "1",
         "--output", str(out)],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout, out.read_text()


def test_smoke_run_prints_the_ratio_table(smoke_report: tuple) -> None:
    stdout, _ = smoke_report
    assert "## Targets (issue 4)" in stdout and "## Results" in stdout
    assert "| case | BLAS limited to 1 thread | ratio |" in stdout
    for row in ("notebook step float64: tinygrad_lite", "784-128-10 Adam epoch: tinygrad_lite",
                "tiny graph fwd+bwd: tinygrad_lite", "deep chain backward: tinygrad_lite",
                "load 70,000 images: load_mnist"):
        assert row in stdout, row
    assert "PASS" in stdout or "MISS" in stdout
    assert "PyTorch columns skipped" in stdout


def test_smoke_run_writes_the_report_with_machine_facts(smoke_report: tuple) -> None:
    stdout, written = smoke_report
    assert written.strip() == stdout.strip()
    assert "## Machine" in written and "numpy" in written and "threads" in written
    assert "OPENBLAS_NUM_THREADS=1" in written
