"""tinygrad_lite benchmark: the framework side by side with hand-written numpy and PyTorch.

    python benchmarks/run.py                  # all cases, default threads and 1 BLAS thread
    python benchmarks/run.py --smoke          # tiny sizes, seconds (what the test runs)
    python benchmarks/run.py --long           # also time-to-accuracy of the examples (minutes)
    python benchmarks/run.py --only step,tiny --threads 1 --repeats 9

Prints a table of medians and ratios with the issue's targets marked PASS/MISS, and (except
with --smoke, unless --output is given) writes it to BENCHMARKS.md with the machine facts.
The one-thread figures come from a child process started with OPENBLAS_NUM_THREADS=1,
OMP_NUM_THREADS=1, MKL_NUM_THREADS=1 (and torch.set_num_threads(1), threadpoolctl's limit
when it is installed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parent.parent
THREAD_VARS = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
ORDER = ["step", "epoch", "tiny", "chain", "memory", "load", "accuracy"]
CONFIG_TITLES = {"default": "default threads", "1": "BLAS limited to 1 thread"}


# ---- running the cases (in this process, or in a child for the one-thread figures) --------


def limit_threads_in_process() -> Optional[object]:
    """Belt and braces for the 1-thread child: threadpoolctl and torch, where installed."""
    limiter = None
    try:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=1)
    except ImportError:
        pass
    torch = sys.modules.get("torch")  # loaded by cases.load_torch() unless --no-torch
    if torch is not None:
        torch.set_num_threads(1)
    return limiter


def run_cases(args: argparse.Namespace, names: List[str], config: str) -> dict:
    import cases

    if args.no_torch:
        cases.TORCH_MISSING = "not used: --no-torch"
    else:
        cases.load_torch()
    if config == "1":
        _keep = limit_threads_in_process()  # noqa: F841 - the limit lasts while it lives

    sz = cases.Sizes.smoke() if args.smoke else cases.Sizes()
    if args.repeats is not None:
        sz.repeats = args.repeats
    results: Dict[str, Dict[str, float]] = {}
    notes: List[str] = []
    for name in names:
        t0 = time.perf_counter()
        times, case_notes = cases.CASES[name](sz)
        results[name] = times
        notes.extend(case_notes)
        print(
            f"  [{CONFIG_TITLES[config]}] {name}: {time.perf_counter() - t0:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    facts = machine_facts(cases.torch, cases.TORCH_MISSING)
    return {"results": results, "notes": notes, "facts": facts, "sizes": vars(sz)}


def run_config(config: str, args: argparse.Namespace, names: List[str]) -> dict:
    """Default threads run here; the 1-thread set runs in a child with the env set up front."""
    if config == "default":
        return run_cases(args, names, config)
    env = dict(os.environ, **{v: "1" for v in THREAD_VARS})
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--only",
            ",".join(names),
            "--threads",
            config,
            "--worker-json",
            str(out),
        ]
        cmd += ["--smoke"] * args.smoke + ["--no-torch"] * args.no_torch
        if args.repeats is not None:
            cmd += ["--repeats", str(args.repeats)]
        subprocess.run(cmd, env=env, check=True)
        return json.loads(out.read_text())


# ---- machine facts --------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_facts(torch: Optional[object], torch_missing: str) -> dict:
    import numpy as np

    facts: dict = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "numpy": np.__version__,
        "thread_env": {v: os.environ[v] for v in THREAD_VARS if v in os.environ},
        "loadavg": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        facts["numpy_blas"] = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except TypeError:  # numpy < 1.25 has no mode=
        facts["numpy_blas"] = "see np.show_config()"
    try:
        from threadpoolctl import threadpool_info

        facts["threadpools"] = [
            f"{p.get('internal_api')} {p.get('version') or ''} ({p.get('prefix')}): "
            f"{p.get('num_threads')} threads"
            for p in threadpool_info()
        ]
    except ImportError:
        facts["threadpools"] = ["threadpoolctl not installed"]
    if torch is None:
        facts["torch"] = f"{torch_missing} (PyTorch columns skipped)"
    else:
        facts["torch"] = f"{torch.__version__}, {torch.get_num_threads()} intra-op threads"
    return facts


# ---- the report -----------------------------------------------------------------------------

Row = Tuple[str, str, str, Optional[str]]  # (case, label, result key, key of the denominator)

ROWS: List[Row] = []
for _dt in ("float64", "float32"):
    ROWS += [
        ("step", f"notebook step {_dt}: tinygrad_lite", f"tinygrad_lite/{_dt}", f"numpy/{_dt}"),
        (
            "step",
            f"notebook step {_dt}: tinygrad_lite, x = X.T",
            f"tinygrad_lite_xT/{_dt}",
            f"numpy/{_dt}",
        ),
        ("step", f"notebook step {_dt}: hand-written numpy", f"numpy/{_dt}", f"numpy/{_dt}"),
        ("step", f"notebook step {_dt}: PyTorch", f"pytorch/{_dt}", f"numpy/{_dt}"),
        (
            "step",
            f"notebook step {_dt}: BLAS floor (5 matmuls)",
            f"blas_floor/{_dt}",
            f"numpy/{_dt}",
        ),
        (
            "step",
            f"notebook step {_dt}: BLAS floor, row layout",
            f"blas_floor_rows/{_dt}",
            f"numpy/{_dt}",
        ),
    ]
ROWS += [
    ("epoch", "784-128-10 Adam epoch: tinygrad_lite", "tinygrad_lite", "numpy"),
    ("epoch", "784-128-10 Adam epoch: hand-written numpy", "numpy", "numpy"),
    ("epoch", "784-128-10 Adam epoch: PyTorch", "pytorch", "numpy"),
    ("tiny", "tiny graph fwd+bwd: tinygrad_lite", "graph/tinygrad_lite", "graph/pytorch"),
    ("tiny", "tiny graph fwd+bwd: PyTorch", "graph/pytorch", "graph/pytorch"),
    ("tiny", "tiny graph forward: plain numpy (floor)", "graph/numpy_forward", "graph/pytorch"),
    ("tiny", "10x10 add: numpy", "add/numpy", "add/numpy"),
    ("tiny", "10x10 add: tinygrad_lite", "add/tinygrad_lite", "add/numpy"),
    ("tiny", "10x10 add: tinygrad_lite, requires_grad", "add/tinygrad_lite_grad", "add/numpy"),
    ("tiny", "10x10 add: PyTorch", "add/pytorch", "add/numpy"),
    ("tiny", "10x10 add: PyTorch, requires_grad", "add/pytorch_grad", "add/numpy"),
    ("chain", "deep chain build: tinygrad_lite", "build/tinygrad_lite", "build/pytorch"),
    ("chain", "deep chain build: PyTorch", "build/pytorch", "build/pytorch"),
    ("chain", "deep chain backward: tinygrad_lite", "backward/tinygrad_lite", "backward/pytorch"),
    ("chain", "deep chain backward: PyTorch", "backward/pytorch", "backward/pytorch"),
    ("memory", "peak RSS: mnist_two_layer.py (MiB)", "rss_mib/tinygrad_lite", "rss_mib/numpy"),
    ("memory", "peak RSS: hand-written reference (MiB)", "rss_mib/numpy", "rss_mib/numpy"),
    ("memory", "peak RSS: bare interpreter (MiB)", "rss_mib/interpreter", "rss_mib/numpy"),
    ("load", "load 70,000 images: load_mnist", "load_mnist", None),
    ("load", "load: gunzip alone (floor)", "gunzip_floor", "load_mnist"),
    ("accuracy", "--preset fast: wall", "wall/two_layer_fast", None),
    ("accuracy", "--preset fast: final test accuracy (%)", "acc/two_layer_fast", None),
    ("accuracy", "mnist_cnn.py: wall", "wall/cnn", None),
    ("accuracy", "mnist_cnn.py: final test accuracy (%)", "acc/cnn", None),
]

# (label, case, numerator key, denominator key, limit; or an absolute limit in seconds)
TARGETS = [
    (
        "(x C-order rows) notebook step f64: tinygrad_lite / numpy <= 1.10",
        "step",
        "tinygrad_lite/float64",
        "numpy/float64",
        1.10,
    ),
    (
        "(x C-order rows) notebook step f32: tinygrad_lite / numpy <= 1.10",
        "step",
        "tinygrad_lite/float32",
        "numpy/float32",
        1.10,
    ),
    (
        "(x C-order rows) notebook step f64: tinygrad_lite / BLAS floor <= 1.3",
        "step",
        "tinygrad_lite/float64",
        "blas_floor/float64",
        1.3,
    ),
    (
        "(x C-order rows) notebook step f32: tinygrad_lite / BLAS floor <= 1.3",
        "step",
        "tinygrad_lite/float32",
        "blas_floor/float32",
        1.3,
    ),
    (
        "notebook step f64 (x = X.T, numpy's array): tinygrad_lite / numpy <= 1.10",
        "step",
        "tinygrad_lite_xT/float64",
        "numpy/float64",
        1.10,
    ),
    (
        "notebook step f32 (x = X.T, numpy's array): tinygrad_lite / numpy <= 1.10",
        "step",
        "tinygrad_lite_xT/float32",
        "numpy/float32",
        1.10,
    ),
    (
        "notebook step f64 (x = X.T, numpy's array): tinygrad_lite / BLAS floor <= 1.3",
        "step",
        "tinygrad_lite_xT/float64",
        "blas_floor/float64",
        1.3,
    ),
    (
        "notebook step f32 (x = X.T, numpy's array): tinygrad_lite / BLAS floor <= 1.3",
        "step",
        "tinygrad_lite_xT/float32",
        "blas_floor/float32",
        1.3,
    ),
    ("epoch: tinygrad_lite / PyTorch <= 0.85", "epoch", "tinygrad_lite", "pytorch", 0.85),
    ("epoch: tinygrad_lite / numpy <= 1.15", "epoch", "tinygrad_lite", "numpy", 1.15),
    (
        "op overhead: tinygrad_lite / PyTorch <= 1.0",
        "tiny",
        "graph/tinygrad_lite",
        "graph/pytorch",
        1.0,
    ),
    (
        "memory: peak RSS tinygrad_lite / reference <= 1.2",
        "memory",
        "rss_mib/tinygrad_lite",
        "rss_mib/numpy",
        1.2,
    ),
    ("loading 70,000 images < 0.3 s", "load", "load_mnist", None, 0.3),
]


def fmt_value(case: str, key: str, v: float) -> str:
    if case == "memory":
        return f"{v:.0f} MiB"
    if key.startswith("acc/"):
        return f"{v:.2f} %"
    if v >= 1:
        return f"{v:.2f} s"
    if v >= 1e-3:
        return f"{v * 1e3:.2f} ms"
    return f"{v * 1e6:.2f} us"


def _lookup(run: dict, case: str, key: Optional[str]) -> Optional[float]:
    if key is None:
        return None
    return run["results"].get(case, {}).get(key)


def _cpu_ratio(run: dict, case: str, key: Optional[str], den: Optional[str]) -> str:
    v, d = _lookup(run, case, f"cpu:{key}"), _lookup(run, case, f"cpu:{den}" if den else None)
    return f"{v / d:.2f}" if v is not None and d else ""


def _heads(configs: List[str], second: str) -> str:
    cols = []
    for c in configs:
        cols += [CONFIG_TITLES[c], second] + (["CPU-time ratio"] if c == "1" else [])
    return "| " + " | ".join(cols) + " |"


def results_table(runs: Dict[str, dict]) -> List[str]:
    configs = list(runs)
    head = "| case " + _heads(configs, "ratio")
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    for case, label, key, den in ROWS:
        cells = []
        present = False
        for c in configs:
            v = _lookup(runs[c], case, key)
            d = _lookup(runs[c], case, den)
            present |= v is not None
            cells.append(fmt_value(case, key, v) if v is not None else "-")
            cells.append(f"{v / d:.2f}" if v is not None and d else "")
            if c == "1":
                cells.append(_cpu_ratio(runs[c], case, key, den))
        if present:
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def targets_table(runs: Dict[str, dict]) -> Tuple[List[str], int]:
    configs = list(runs)
    head = "| target " + _heads(configs, "verdict")
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    misses = 0
    for label, case, num, den, limit in TARGETS:
        cells = []
        for c in configs:
            v, d = _lookup(runs[c], case, num), _lookup(runs[c], case, den)
            if v is None or (den is not None and not d):
                cells += ["n/a", "skipped"]
            else:
                measured = v / d if den is not None else v
                ok = measured <= limit if den is not None else measured < limit
                misses += not ok
                unit = "" if den is not None else " s"
                cells += [f"{measured:.2f}{unit}", "PASS" if ok else "MISS"]
            if c == "1":
                cells.append(_cpu_ratio(runs[c], case, num, den) if den else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines, misses


def facts_lines(runs: Dict[str, dict]) -> List[str]:
    first = next(iter(runs.values()))["facts"]
    lines = [
        f"- CPU: {first['cpu']}; os.cpu_count() = {first['cpu_count']}, usable "
        f"{first['cpus_usable']}",
        f"- Python {first['python']} on {first['platform']}",
        f"- numpy {first['numpy']}, BLAS: {first['numpy_blas']}",
        f"- PyTorch: {first['torch']}",
    ]
    for c, run in runs.items():
        f = run["facts"]
        env = ", ".join(f"{k}={v}" for k, v in f["thread_env"].items()) or "no thread variables"
        lines.append(
            f"- {CONFIG_TITLES[c]}: {env}; thread pools: "
            + "; ".join(f["threadpools"])
            + f"; torch: {f['torch']}; load average at its end (1/5/15 min): {f['loadavg']}"
        )
    return lines


def report(runs: Dict[str, dict], args: argparse.Namespace, names: List[str]) -> Tuple[str, int]:
    first = next(iter(runs.values()))
    sizes = first["sizes"]
    notes: List[str] = []
    for run in runs.values():
        notes += [n for n in run["notes"] if n not in notes]
    targets, misses = targets_table(runs)
    cmd = "python benchmarks/run.py " + " ".join(sys.argv[1:])
    text = [
        "# Benchmarks",
        "",
        f"Written by `{cmd.strip()}` on {time.strftime('%Y-%m-%d %H:%M')}"
        + (" (SMOKE sizes: figures meaningless)" if args.smoke else "")
        + ".",
        "Each time is the median of "
        f"{sizes['repeats']} repeats after {sizes['warmup']} warm-up; within a case the "
        "implementations run interleaved. Ratios are against the row named in the targets "
        "(numpy for the notebook step and the epoch, PyTorch for the tiny graph and the deep "
        "chain, the reference for memory); they hold better than times on a shared machine. "
        "Verdicts use wall-time ratios. The 1-thread run also gives the ratio of the medians "
        "of this process's CPU time, which leaves out the time other processes held the CPU: "
        "on a busy machine it is the steadiest figure (at default threads the BLAS threads' "
        "spinning would count, so it is not shown there). With two BLAS threads on a busy "
        "2-core machine every matmul-heavy figure can stall many-fold; compare the 1-thread "
        "column.",
        "",
        "## Targets (issue 4)",
        "",
        *targets,
        "",
        "## Results",
        "",
        *results_table(runs),
        "",
        "## Notes",
        "",
        f"- cases run: {', '.join(names)}"
        + ("" if "accuracy" in names else " (time to accuracy needs --long)"),
        f"- notebook step: one full-batch GD step (lr 0.1) of 784-10-10 on the first "
        f"{sizes['step_images']:,} MNIST training images; tinygrad_lite and PyTorch: "
        "nn.Sequential(Linear, ReLU, Linear) + cross_entropy + SGD, rows are samples; numpy: "
        "tinygrad_lite/reference.py (forward_prop, backward_prop, update_params, columns are "
        "samples); BLAS floor: the step's five matmuls (Z1, Z2, dW2, dZ1, dW1) in the "
        "notebook's layout, and in the row layout for comparison. The graded step gives "
        "tinygrad_lite the very array numpy uses, as x = X.T (a view, no copy), the layout "
        "examples/mnist_two_layer.py trains on; the (x C-order rows) lines give it a C-order "
        "copy instead, where OpenBLAS's first-layer product alone is ~1.2-1.5x slower (see the "
        "'BLAS floor, row layout' line)",
        f"- mini-batch epoch: {sizes['epoch_images']:,} images, batch 128, Adam lr 1e-3, float32; "
        "numpy = benchmarks/numpy_mlp.py",
        *[f"- {n}" for n in notes],
        "",
        "## Machine",
        "",
        *facts_lines(runs),
        "",
    ]
    return "\n".join(text), misses


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--smoke", action="store_true", help="tiny sizes: runs in seconds")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats per figure")
    p.add_argument("--threads", choices=["default", "1", "both"], default="both")
    p.add_argument("--only", default=None, help=f"comma-separated cases among {','.join(ORDER)}")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch columns")
    p.add_argument(
        "--long",
        action="store_true",
        help="also run time-to-accuracy (the examples' full training runs: minutes)",
    )
    p.add_argument(
        "--output",
        default=None,
        help="where to write the markdown report (default BENCHMARKS.md; with --smoke, none)",
    )
    p.add_argument("--worker-json", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        bad = [n for n in names if n not in ORDER]
        if bad:
            p.error(f"unknown case(s) {bad}; choose from {ORDER}")
    else:
        names = [n for n in ORDER if n != "accuracy" or args.long]

    if args.worker_json:
        result = run_cases(args, names, args.threads)
        Path(args.worker_json).write_text(json.dumps(result))
        return 0

    configs = ["default", "1"] if args.threads == "both" else [args.threads]
    runs = {}
    for c in configs:
        # the examples' full training runs take minutes each: at default threads only
        cfg_names = [n for n in names if n != "accuracy" or c == configs[0]]
        runs[c] = run_config(c, args, cfg_names)
        if len(cfg_names) < len(names):
            runs[c]["notes"].append("time to accuracy: measured at default threads only")
    text, misses = report(runs, args, names)
    print(text)
    output = args.output or (None if args.smoke else str(REPO / "BENCHMARKS.md"))
    if output:
        Path(output).write_text(text)
        print(f"wrote {output}", file=sys.stderr)
    print(f"{misses} target(s) missed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
