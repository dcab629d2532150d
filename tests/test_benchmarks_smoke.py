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
    # --threads all: default threads here, the child that limits BLAS to one thread, the busy
    # child (a busy loop running) and the thread-choice check (tiny example runs); --no-torch
    # keeps it to seconds (importing PyTorch alone takes longer than the smoke run)
    proc = subprocess.run(
        [sys.executable, str(RUN), "--smoke", "--no-torch", "--threads", "all",
         "--output", str(out)],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout, out.read_text()


def test_smoke_run_prints_the_ratio_table(smoke_report: tuple) -> None:
    stdout, _ = smoke_report
    assert "## Targets" in stdout and "## Results" in stdout and "(issue 10)" in stdout
    assert "| case | default threads | ratio | BLAS limited to 1 thread | ratio |" in stdout
    assert "| busy machine, " in stdout
    for row in ("notebook step float64: tinygrad_lite", "784-128-10 Adam epoch: tinygrad_lite",
                "CNN training step: tinygrad_lite", "tiny graph fwd+bwd: tinygrad_lite",
                "deep chain backward: tinygrad_lite", "load 70,000 images: load_mnist",
                "notebook step f64, x C-order rows: tinygrad_lite / numpy <= 1.05",
                "CNN step: tinygrad_lite / PyTorch"):
        assert row in stdout, row
    assert "PASS" in stdout or "MISS" in stdout
    assert "PyTorch columns skipped" in stdout


def test_smoke_run_checks_the_examples_thread_choice(smoke_report: tuple) -> None:
    stdout, _ = smoke_report
    assert "## Thread choice (issue 10)" in stdout
    assert "How the examples' default chooses" in stdout
    for load in ("| mnist_two_layer.py | quiet", "| mnist_two_layer.py | busy"):
        assert load in stdout, load


def test_smoke_run_writes_the_report_with_machine_facts(smoke_report: tuple) -> None:
    stdout, written = smoke_report
    assert written.strip() == stdout.strip()
    assert "## Machine" in written and "numpy" in written and "threads" in written
    assert "OPENBLAS_NUM_THREADS=1" in written
    assert "one busy-loop process running" in written


def test_smoke_run_reports_the_host_speed(smoke_report: tuple) -> None:
    """The load average misses other guests slowing the host; the speed probe shows them."""
    import re

    _, written = smoke_report
    found = re.search(r"Host speed: numpy's exp over 1M float32 values took ([\d.]+)-([\d.]+) ms",
                      written)
    assert found, "no host-speed line"
    low, high = float(found.group(1)), float(found.group(2))
    assert 0 < low <= high
    busy = re.search(r"Other programs kept ([\d.]+)-([\d.]+) cores busy", written)
    assert busy and float(busy.group(1)) <= float(busy.group(2))
