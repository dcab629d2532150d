"""The benchmark runs end to end in its smoke size, so it cannot rot. No timing assertions.

Marked `benchmark`, so the default `pytest` run leaves it out; run it with
`pytest -m benchmark`. The checks read the report's tables against the script's own row and
target lists (benchmarks/run.py's ROWS and TARGETS): every case that ran has rows with
numbers, every ratio is the quotient of the figures it names, and every verdict follows from
its figure and limit. They do not check the prose around the tables. benchmarks/ab.py, which
the report's "now / at the baseline commit" rows come from, is run once on its own too.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

import pytest

pytestmark = pytest.mark.benchmark

REPO = Path(__file__).resolve().parent.parent
RUN = REPO / "benchmarks" / "run.py"
AB = REPO / "benchmarks" / "ab.py"

UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "MiB": 1.0, "%": 1.0, "lines": 1.0, "files": 1.0}
VALUE = re.compile(r"^(\d+(?:\.\d+)?) (s|ms|us|MiB|%|lines|files)$")
NUMBER = re.compile(r"^\d+\.\d+$")
VERDICTS = ("PASS", "MISS")
NO_VERDICT = {"skipped": "n/a", "not measured": "n/a", "not run busy": "-"}  # and its figure


def _load_run_module():
    spec = importlib.util.spec_from_file_location("_bench_run", RUN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _tables(text: str) -> List[List[List[str]]]:
    """Every markdown table in the text: a list of rows (header first, separator dropped)."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= {"-"} and c for c in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def _seconds(cell: str) -> Optional[float]:
    m = VALUE.match(cell)
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


@pytest.fixture(scope="module")
def run_module():
    return _load_run_module()


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    out = tmp_path_factory.mktemp("bench") / "BENCHMARKS.md"
    # --threads all: default threads, the child limiting BLAS to one thread, the busy child and
    # the thread-choice check; --no-torch keeps it to seconds
    proc = subprocess.run(
        [sys.executable, str(RUN), "--smoke", "--no-torch", "--threads", "all",
         "--output", str(out)],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout, out.read_text()


def _table_with(tables, labels) -> List[List[str]]:
    """The table whose first column holds the most of these labels."""
    best = max(tables, key=lambda t: sum(r[0] in labels for r in t[1:]))
    assert any(r[0] in labels for r in best[1:]), "no table holds any of the expected rows"
    return best


def test_the_report_written_is_the_report_printed(smoke_report: tuple) -> None:
    stdout, written = smoke_report
    assert written.strip() == stdout.strip()


def test_results_have_a_row_per_case_with_consistent_ratios(smoke_report, run_module) -> None:
    _, written = smoke_report
    rows_by_label = {label: (case, key, den) for case, label, key, den in run_module.ROWS}
    table = _table_with(_tables(written), rows_by_label)
    header, rows = table[0], table[1:]
    titles = tuple(run_module.CONFIG_TITLES.values())
    value_cols = [i for i, h in enumerate(header) if h.startswith(titles)]
    assert len(value_cols) == 3, header  # --threads all: three configurations
    for i in value_cols:
        assert i + 1 < len(header)

    shown: Dict[str, List[str]] = {}
    for row in rows:
        assert len(row) == len(header), row
        assert row[0] in rows_by_label, f"row not in run.py's ROWS: {row[0]}"
        shown[row[0]] = row
        for j, cell in enumerate(row[1:], start=1):
            ok = cell in ("", "-") or VALUE.match(cell) or NUMBER.match(cell)
            assert ok, f"{row[0]}: column {header[j]!r} holds {cell!r}"
        assert any(_seconds(row[i]) is not None for i in value_cols), row

    ran = [c for c in run_module.ORDER if c not in ("accuracy", "threads")]
    if "| not measured |" in written:  # no git, or the baseline commit is not in this clone
        ran.remove("baseline")
    for case in ran:
        assert any(rows_by_label[label][0] == case for label in shown), f"no row for {case}"

    key_to_label = {(case, key): label for label, (case, key, _) in rows_by_label.items()}
    checked = 0
    for label, row in shown.items():
        case, _, den = rows_by_label[label]
        for i in value_cols:
            value, ratio = _seconds(row[i]), row[i + 1]
            den_row = shown.get(key_to_label.get((case, den)))
            den_value = _seconds(den_row[i]) if den_row else None
            if not ratio:
                assert value is None or den_value is None, (label, header[i])
                continue
            assert NUMBER.match(ratio) and value is not None and den_value, (label, header[i])
            expected = value / den_value
            assert float(ratio) == pytest.approx(expected, rel=0.02, abs=0.011), (label, header[i])
            checked += 1
    assert checked > 0


def test_targets_verdicts_follow_their_figures_and_limits(smoke_report, run_module) -> None:
    _, written = smoke_report
    targets = {label: (den, limit) for label, _case, _num, den, limit in run_module.TARGETS}
    table = _table_with(_tables(written), targets)
    rows = {r[0]: r for r in table[1:]}
    assert set(rows) == set(targets)
    # a ratio ("0.93"), or a value with its unit where there is no denominator ("275 lines"),
    # then the limit it was judged against ("(<= 1.35)")
    figure = re.compile(r"^(\d+(?:\.\d+)?)( [A-Za-z%]+)? \(<= (\d+(?:\.\d+)?)\)$")
    judged = 0
    for label, row in rows.items():
        den, limit = targets[label]
        verdict_cols = [j for j, c in enumerate(row) if c in VERDICTS + tuple(NO_VERDICT)]
        assert len(verdict_cols) == 3, row  # one verdict per configuration
        for j in verdict_cols:
            verdict, cell = row[j], row[j - 1]
            if verdict in NO_VERDICT:
                assert cell == NO_VERDICT[verdict], row
                continue
            m = figure.match(cell)
            assert m, f"{label}: figure {cell!r}"
            measured = _seconds(cell.rsplit(" (", 1)[0]) if m.group(2) else float(m.group(1))
            lim = float(m.group(3))
            if isinstance(limit, dict):
                assert lim in limit.values(), f"{label}: limit {lim} is none of {limit}"
            else:
                assert lim == pytest.approx(limit), f"{label}: limit {lim}, not {limit}"
            assert (m.group(2) is None) == (den is not None), row  # a unit only without den
            if abs(measured - lim) > 0.006:  # a ratio is rounded to 2 decimals
                assert verdict == ("PASS" if measured <= lim else "MISS"), row
            judged += 1
    assert judged > 0


def test_thread_choice_rows_follow_their_limit(smoke_report, run_module) -> None:
    _, written = smoke_report
    results_labels = {label for _, label, _, _ in run_module.ROWS}
    target_labels = {t[0] for t in run_module.TARGETS}
    choice_rows = [
        row
        for table in _tables(written)
        if not any(r[0] in results_labels | target_labels for r in table[1:])
        for row in table[1:]
        if len(row) == 7 and row[-1] in VERDICTS
    ]
    assert len(choice_rows) >= 2, "no thread-choice rows (quiet and busy)"
    cores = os.cpu_count() or 1
    for row in choice_rows:
        t1, t2 = _seconds(row[2]), _seconds(row[3])
        m = re.match(r"^(\d+\.\d+ s) \((\d+)\)$", row[4])
        assert t1 and t2 and m, row
        assert 1 <= int(m.group(2)) <= cores, row
        ratio = float(row[5])
        assert ratio > 0, row
        if abs(ratio - run_module.THREAD_CHOICE_LIMIT) > 0.006:
            assert row[6] == ("PASS" if ratio <= run_module.THREAD_CHOICE_LIMIT else "MISS"), row


def test_baseline_rows_say_not_measured_without_the_commit(run_module) -> None:
    times, notes, why = run_module.run_baseline("1", 1, ["step32"], None, base="0000000")
    assert times == {} and notes == [] and "0000000" in why
    run = {"results": {"baseline": times}, "unmeasured": {"baseline": why}, "notes": []}
    lines, misses = run_module.targets_table({"default": run, "1": run})
    rows = [r for r in _tables("\n".join(lines))[0][1:] if " now / at " in r[0]]
    assert len(rows) == len(run_module.BASELINE_CASES) and misses == 0
    for row in rows:
        assert row[1:5] == ["n/a", "not measured", "n/a", "not measured"], row


def test_ab_default_threads_writes_json(tmp_path: Path) -> None:
    """ab.py --threads default (wall-clock) --json: both clocks per side, the ratio of the
    wall-clock medians. HEAD against the working tree, one repeat of the cheapest case."""
    out = tmp_path / "ab.json"
    proc = subprocess.run(
        [sys.executable, str(AB), "HEAD", "--cases", "step32", "--repeats", "1",
         "--threads", "default", "--json", str(out)],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "| step32 |" in proc.stdout and "wall" in proc.stdout
    found = json.loads(out.read_text())
    assert (found["base"], found["threads"], found["clock"]) == ("HEAD", "default", "wall")
    case = found["cases"]["step32"]
    for side in ("base", "head"):
        assert case[side]["wall"] > 0 and case[side]["cpu"] >= 0
    assert case["ratio"] == pytest.approx(case["head"]["wall"] / case["base"]["wall"])
    refused = subprocess.run([sys.executable, str(AB), "--tl-threads", "2"],
                             capture_output=True, text=True, cwd=REPO, timeout=60)
    assert refused.returncode == 2 and "--tl-threads" in refused.stderr
