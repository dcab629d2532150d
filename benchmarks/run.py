"""tinygrad_lite benchmark: the framework side by side with hand-written numpy and PyTorch.

    python benchmarks/run.py                  # everything (--threads all): about 10 minutes
    python benchmarks/run.py --threads both   # default threads and 1 BLAS thread only
    python benchmarks/run.py --smoke          # tiny sizes, seconds (what the test runs)
    python benchmarks/run.py --long           # also time-to-accuracy of the examples (minutes)
    python benchmarks/run.py --only step,tiny --threads 1 --repeats 9
    python benchmarks/run.py --only char_gpt,makemore --threads both   # the sequence models

Prints a table of medians and ratios with the targets marked PASS/MISS, and (except
with --smoke, unless --output is given) writes it to BENCHMARKS.md with the machine facts.

--threads picks the configurations, each measured in one run:
  default  this process: numpy and PyTorch with their own thread counts (OpenBLAS: one thread
           per core); tinygrad_lite as the examples run it, tl.set_num_threads(n) with the n of
           their default rule (BLAS on one thread, tinygrad_lite's products on n threads)
  1        a child process started with OPENBLAS_NUM_THREADS=1, OMP_NUM_THREADS=1,
           MKL_NUM_THREADS=1 (and torch.set_num_threads(1), threadpoolctl's limit)
  busy     a child process, while one other CPU-bound process (a busy loop) runs, with the
           threads the examples' default rule picks (examples.common.cli.default_threads: BLAS
           and PyTorch on n, tinygrad_lite with tl.set_num_threads(n));
           the cases step, epoch and cnn; plus the thread-choice check ("threads": short
           example runs with --threads 1, --threads 2 and the default, quiet and busy)
  both     default and 1;  all (the default): default, 1 and busy

The "baseline" case (default and 1 thread) runs benchmarks/ab.py: the notebook step, the Adam
epoch and the CNN step with tinygrad_lite at commit BASELINE (the engine before the core
rebuild) and the working tree's, side by side in one process; the "now / at BASELINE" targets
hold the working tree to no more than 1.05x. Without git or that commit, its rows say
"not measured".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # examples.common, which the cases import
THREAD_VARS = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
ORDER = ["lines", "step", "epoch", "cnn", "tiny", "chain", "baseline", "memory", "load",
         "threads", "accuracy", "seqops", "char_gpt", "makemore"]
BUSY_CASES = ["step", "epoch", "cnn"]  # what the busy configuration measures
CONFIGS = {"default": ["default"], "1": ["1"], "busy": ["busy"], "both": ["default", "1"],
           "all": ["default", "1", "busy"]}
CONFIG_TITLES = {
    "default": "default threads",
    "1": "BLAS limited to 1 thread",
    "busy": "busy machine",
}
THREAD_CHOICE_LIMIT = 1.2  # default <= 1.2x the better of 1 and 2 threads
# The engine before the core rebuild: the "no slower than now" targets hold the working tree's
# tinygrad_lite to its speed at this commit, both measured side by side (benchmarks/ab.py).
BASELINE = "c254296"
AB = Path(__file__).resolve().parent / "ab.py"
# benchmarks/ab.py's cases that the baseline case runs: (ab.py's name, the report's name)
BASELINE_CASES = [("step64", "notebook step f64"), ("step32", "notebook step f32"),
                  ("epoch", "Adam epoch"), ("cnn", "CNN step")]
SMOKE_BASELINE_CASES = ["step64", "step32"]  # --smoke: the cheap ones (ab.py has no sizes)
NOW_LIMIT = 1.05  # now / at BASELINE: 5% for noise


def config_title(config: str, run: Optional[dict] = None) -> str:
    if config != "busy" or run is None:
        return CONFIG_TITLES[config]
    n = run.get("threads_used")
    return f"busy machine, {n if n is not None else '?'} BLAS thread{'s' * (n != 1)}"


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


def sizes(args: argparse.Namespace):
    import cases

    sz = cases.Sizes.smoke() if args.smoke else cases.Sizes()
    if args.repeats is not None:
        sz.repeats = sz.baseline_repeats = args.repeats
    return sz


def busy_threads(extra: dict) -> Optional[object]:
    """In the busy child: the BLAS threads the examples' default rule picks now (the busy loop
    already running), set as the examples set them (threadpoolctl, BLAS only); PyTorch gets
    as many intra-op threads."""
    import cases

    n, rule = cases.examples_default_threads()
    extra["threads_used"], extra["threads_rule"] = n, rule
    extra["loadavg_at_choice"] = os.getloadavg()[0]
    try:
        from examples.common.cli import busy_cores

        extra["busy_at_choice"] = busy_cores()
    except ImportError:
        pass
    if n is None:
        return None
    limiter = None
    try:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=n, user_api="blas")
    except ImportError:
        extra["threads_used"] = None
        extra["threads_rule"] = "threadpoolctl not installed: numpy's default threads"
    if cases.torch is not None and extra["threads_used"] is not None:
        cases.torch.set_num_threads(n)
    return limiter


def run_cases(args: argparse.Namespace, names: List[str], config: str) -> dict:
    import contextlib

    import cases

    if args.no_torch:
        cases.TORCH_MISSING = "not used: --no-torch"
    else:
        cases.load_torch()
    from examples.common.cli import busy_cores

    load_start = " ".join(f"{x:.1f}" for x in os.getloadavg())
    others_start = busy_cores()  # other programs' cores, before any busy loop of ours starts
    probe_start = speed_probe()
    extra: dict = {}
    with contextlib.ExitStack() as stack:
        if config == "1":
            _keep = limit_threads_in_process()  # noqa: F841 - the limit lasts while it lives
        elif config == "busy":
            stack.enter_context(cases.busy_machine())
            _keep = busy_threads(extra)  # noqa: F841
            cases.TL_THREADS = extra["threads_used"]
        else:
            cases.TL_THREADS, _ = cases.examples_default_threads()
            extra["tl_threads"] = cases.TL_THREADS

        sz = sizes(args)
        results: Dict[str, Dict[str, float]] = {}
        notes: List[str] = []
        unmeasured: Dict[str, str] = {}  # case: why it has no figures
        for name in names:
            t0 = time.perf_counter()
            if name == "baseline":
                ab_cases = SMOKE_BASELINE_CASES if args.smoke else [c for c, _ in BASELINE_CASES]
                times, case_notes, why = run_baseline(config, sz.baseline_repeats, ab_cases,
                                                      cases.TL_THREADS)
                if why:
                    unmeasured[name] = why
                    case_notes = [f"tinygrad_lite now / at {BASELINE}: not measured: {why}"]
            else:
                times, case_notes = cases.CASES[name](sz)
            results[name] = times
            notes.extend(case_notes)
            print(
                f"  [{config_title(config, extra)}] {name}: {time.perf_counter() - t0:.1f} s",
                file=sys.stderr,
                flush=True,
            )
        facts = machine_facts(cases.torch, cases.TORCH_MISSING)
    facts["loadavg_start"] = load_start
    facts["probe_ms"] = [probe_start, speed_probe()]
    facts["others_busy"] = [others_start, busy_cores()]  # our busy loop has ended
    return {"results": results, "notes": notes, "facts": facts, "sizes": vars(sz),
            "unmeasured": unmeasured, **extra}


def run_baseline(
    config: str, repeats: int, ab_cases: List[str], tl_threads: Optional[int],
    base: str = BASELINE,
) -> Tuple[Dict[str, float], List[str], Optional[str]]:
    """benchmarks/ab.py's `ab_cases` at commit `base` and in the working tree, in a child
    process: (times, notes, why not measured or None). Times are medians in seconds under
    "base/<case>" and "now/<case>", wall-clock; in the 1-thread configuration also CPU time
    under "cpu:" + key. At default threads each engine runs with tl.set_num_threads(tl_threads)
    (as the examples run it) when tl_threads is set."""
    try:
        found = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet",
                                f"{base}^{{commit}}"], capture_output=True, text=True)
    except OSError as e:
        return {}, [], f"git is not available ({e.strerror or e})"
    if found.returncode != 0:
        return {}, [], (f"commit {base} is not in this checkout (not a git clone, or a shallow "
                        "one)")
    mode = "1" if config == "1" else "default"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ab.json"
        cmd = [sys.executable, str(AB), base, "--cases", ",".join(ab_cases), "--repeats",
               str(max(repeats, 1)), "--threads", mode, "--json", str(out)]
        if mode == "default" and tl_threads is not None:
            cmd += ["--tl-threads", str(tl_threads)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        except subprocess.TimeoutExpired:
            return {}, [], "benchmarks/ab.py ran past 30 minutes"
        if proc.returncode != 0 or not out.exists():
            last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
            return {}, [], f"benchmarks/ab.py failed (exit {proc.returncode}: {last})"
        ab = json.loads(out.read_text())
    times: Dict[str, float] = {}
    for case, r in ab["cases"].items():
        for key, side in (("base", "base"), ("now", "head")):
            times[f"{key}/{case}"] = r[side]["wall"]
            if mode == "1":
                times[f"cpu:{key}/{case}"] = r[side]["cpu"]
    threads = ("1 BLAS thread" if mode == "1" else
               f"tl.set_num_threads({tl_threads}) on both" if tl_threads is not None else
               "numpy's own BLAS threads")
    note = (f"tinygrad_lite now / at {base}: benchmarks/ab.py {base} --cases "
            f"{','.join(ab_cases)} --repeats {max(repeats, 1)} --threads {mode}: the package at "
            f"{base} (the engine before the core rebuild) and the working tree's, in one process, "
            f"run in turn (alternating which goes first), after a warm-up round; medians; "
            f"{threads}")
    return times, [note], None


def speed_probe() -> float:
    """Milliseconds numpy takes for exp over 1M float32 values (median of 21; one thread
    always): how fast the host runs at that moment. Under a virtual machine, other guests
    slow it without showing in this machine's load average."""
    import numpy as np

    a = np.linspace(-1, 1, 1_000_000, dtype=np.float32)
    out = np.empty_like(a)
    times = []
    for _ in range(21):
        t0 = time.perf_counter()
        np.exp(a, out=out)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def run_thread_check(args: argparse.Namespace) -> dict:
    """The examples' thread choice, quiet and busy (its subprocesses set their own threads)."""
    import cases

    t0 = time.perf_counter()
    times, notes = cases.case_threads(sizes(args))
    print(f"  [thread choice] threads: {time.perf_counter() - t0:.1f} s", file=sys.stderr,
          flush=True)
    n, rule = cases.examples_default_threads()
    return {"results": times, "notes": notes, "rule": rule, "cores": _usable_cores()}


def _usable_cores() -> Optional[int]:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def run_config(config: str, args: argparse.Namespace, names: List[str]) -> dict:
    """Default threads run here; the 1-thread set runs in a child with the env set up front,
    the busy set in a child that starts the busy loop and sets the examples' threads."""
    if config == "default":
        return run_cases(args, names, config)
    env = dict(os.environ, **{v: "1" for v in THREAD_VARS}) if config == "1" else None
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

ROWS: List[Row] = [
    ("lines", "one notebook step: package lines executed", "lines", None),
    ("lines", "one notebook step: package files executed", "files", None),
]
for _dt in ("float64", "float32"):
    ROWS += [
        ("step", f"notebook step {_dt}: tinygrad_lite", f"tinygrad_lite/{_dt}", f"numpy/{_dt}"),
        (
            "step",
            f"notebook step {_dt}: tinygrad_lite, x = X.T (ungraded)",
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
    ("cnn", "CNN training step: tinygrad_lite", "tinygrad_lite", "pytorch"),
    ("cnn", "CNN training step: PyTorch", "pytorch", "pytorch"),
    ("tiny", "tiny graph fwd+bwd: tinygrad_lite", "core/tinygrad_lite", "core/pytorch"),
    ("tiny", "tiny graph fwd+bwd: PyTorch", "core/pytorch", "core/pytorch"),
    ("tiny", "tiny graph forward: plain numpy (floor)", "core/numpy_forward", "core/pytorch"),
    ("tiny", "10-op graph fwd+bwd: tinygrad_lite", "graph/tinygrad_lite", "graph/pytorch"),
    ("tiny", "10-op graph fwd+bwd: PyTorch", "graph/pytorch", "graph/pytorch"),
    ("tiny", "10-op graph forward: plain numpy (floor)", "graph/numpy_forward", "graph/pytorch"),
    ("tiny", "10x10 add: numpy", "add/numpy", "add/pytorch"),
    ("tiny", "10x10 add: tinygrad_lite", "add/tinygrad_lite", "add/pytorch"),
    ("tiny", "10x10 add: tinygrad_lite, requires_grad", "add/tinygrad_lite_grad", "add/pytorch"),
    ("tiny", "10x10 add: a Function's least work (node, forward, wrap; floor)",
     "add/function_floor", "add/pytorch"),
    ("tiny", "10x10 add: PyTorch", "add/pytorch", "add/pytorch"),
    ("tiny", "10x10 add: PyTorch, requires_grad", "add/pytorch_grad", "add/pytorch"),
    ("chain", "deep chain build: tinygrad_lite", "build/tinygrad_lite", "build/pytorch"),
    ("chain", "deep chain build: PyTorch", "build/pytorch", "build/pytorch"),
    ("chain", "deep chain backward: tinygrad_lite", "backward/tinygrad_lite", "backward/pytorch"),
    ("chain", "deep chain backward: PyTorch", "backward/pytorch", "backward/pytorch"),
]
ROWS += [
    row
    for case, title in BASELINE_CASES
    for row in (
        ("baseline", f"{title}: tinygrad_lite at {BASELINE}", f"base/{case}", f"base/{case}"),
        ("baseline", f"{title}: tinygrad_lite now", f"now/{case}", f"base/{case}"),
    )
]
ROWS += [
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

# the fused ops of sequence models, forward + backward on (32, 64, 128) float32
ROWS += [
    ("seqops", f"{label} (32, 64, 128) fwd+bwd: {who}", f"{key}/{impl}", f"{key}/pytorch")
    for key, label in (("layernorm", "LayerNorm"), ("softmax", "softmax(dim=-1)"),
                       ("gelu", "exact GELU"))
    for impl, who in (("tinygrad_lite", "tinygrad_lite"), ("pytorch", "PyTorch"))
]

# (label, case, numerator key, denominator key, limit). The limit is a ratio, or a count when
# there is no denominator; a dict gives it per configuration ("default", "1", and optionally
# "busy"; without "busy" the busy run is held to the limit of the thread count it ran with).
Limit = Union[float, Dict[str, float]]

TARGETS: List[Tuple[str, str, str, Optional[str], Limit]] = [
    ("tiny graph fwd+bwd: tinygrad_lite / PyTorch", "tiny", "core/tinygrad_lite",
     "core/pytorch", 0.85),
    ("10x10 add without grad: tinygrad_lite / PyTorch", "tiny", "add/tinygrad_lite",
     "add/pytorch", 1.0),
    *[(f"{title}: tinygrad_lite now / at {BASELINE}", "baseline", f"now/{case}",
       f"base/{case}", NOW_LIMIT) for case, title in BASELINE_CASES],
    # measured floors: CPython's cyclic GC walks the graph's nodes as the chain is built
    ("100k-op chain build: tinygrad_lite / PyTorch", "chain", "build/tinygrad_lite",
     "build/pytorch", 2.0),
    ("CNN step: tinygrad_lite / PyTorch", "cnn", "tinygrad_lite", "pytorch",
     {"default": 2.0, "1": 1.35}),
    ("peak RSS: tinygrad_lite / reference", "memory", "rss_mib/tinygrad_lite", "rss_mib/numpy",
     1.2),
    ("one notebook step: package lines executed", "lines", "lines", None, 200),
    ("one notebook step: package files executed", "lines", "files", None, 8),
    ("LayerNorm (32, 64, 128) fwd+bwd: tinygrad_lite / PyTorch", "seqops",
     "layernorm/tinygrad_lite", "layernorm/pytorch", 2.0),
    ("softmax(dim=-1) (32, 64, 128) fwd+bwd: tinygrad_lite / PyTorch", "seqops",
     "softmax/tinygrad_lite", "softmax/pytorch", 2.0),
    ("exact GELU (32, 64, 128) fwd+bwd: tinygrad_lite / PyTorch", "seqops",
     "gelu/tinygrad_lite", "gelu/pytorch", 2.0),
]

# ---- sequence models (benchmarks/seq_cases.py): examples/char_gpt.py and examples/makemore.py
ROWS += [
    ("char_gpt", "char_gpt iteration: tinygrad_lite", "tinygrad_lite", "pytorch"),
    ("char_gpt", "char_gpt iteration: PyTorch (nanoGPT's architecture)", "pytorch", "pytorch"),
    ("makemore", "makemore MLP step: tinygrad_lite", "tinygrad_lite", "pytorch"),
    ("makemore", "makemore MLP step: PyTorch", "pytorch", "pytorch"),
]
TARGETS += [
    ("char_gpt iteration: tinygrad_lite / PyTorch", "char_gpt", "tinygrad_lite", "pytorch", 1.5),
    ("makemore MLP step: tinygrad_lite / PyTorch", "makemore", "tinygrad_lite", "pytorch", 1.0),
]


def limit_for(limit: Limit, config: str, run: dict) -> float:
    if not isinstance(limit, dict):
        return limit
    if config == "busy":
        if "busy" in limit:
            return limit["busy"]
        config = "1" if run.get("threads_used") == 1 else "default"
    return limit[config]


def fmt_value(case: str, key: str, v: float) -> str:
    if case == "lines":
        return f"{v:.0f} {key}"  # a count: "lines" or "files"
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


def _has_cpu(config: str, run: dict) -> bool:
    """Whether a configuration shows the CPU-time ratio: when BLAS has one thread (with more,
    their spinning would count)."""
    return config == "1" or (config == "busy" and run.get("threads_used") == 1)


def _heads(runs: Dict[str, dict], second: str) -> str:
    cols = []
    for c, run in runs.items():
        cols += [config_title(c, run), second] + (["CPU-time ratio"] if _has_cpu(c, run) else [])
    return "| " + " | ".join(cols) + " |"


def results_table(runs: Dict[str, dict]) -> List[str]:
    head = "| case " + _heads(runs, "ratio")
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    for case, label, key, den in ROWS:
        cells = []
        present = False
        for c, run in runs.items():
            v = _lookup(run, case, key)
            d = _lookup(run, case, den)
            present |= v is not None
            cells.append(fmt_value(case, key, v) if v is not None else "-")
            cells.append(f"{v / d:.2f}" if v is not None and d else "")
            if _has_cpu(c, run):
                cells.append(_cpu_ratio(run, case, key, den))
        if present:
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def targets_table(runs: Dict[str, dict]) -> Tuple[List[str], int]:
    head = "| target " + _heads(runs, "verdict")
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    misses = 0
    for label, case, num, den, limit in TARGETS:
        cells = []
        for c, run in runs.items():
            v, d = _lookup(run, case, num), _lookup(run, case, den)
            if c == "busy" and case not in run["results"]:
                cells += ["-", "not run busy"] + [""] * _has_cpu(c, run)
                continue
            if v is None or (den is not None and not d):
                cells += ["n/a", "not measured" if case in run.get("unmeasured", {}) else "skipped"]
            else:
                lim = limit_for(limit, c, run)
                ok = (v / d if den is not None else v) <= lim
                misses += not ok
                shown = f"{v / d:.2f}" if den is not None else fmt_value(case, num, v)
                cells += [f"{shown} (<= {lim:g})", "PASS" if ok else "MISS"]
            if _has_cpu(c, run):
                cells.append(_cpu_ratio(run, case, num, den) if den else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines, misses


def thread_choice_section(check: dict) -> Tuple[List[str], int]:
    """The examples' default against --threads 1 and 2, quiet and busy."""
    r = check["results"]
    lines = [
        "## Thread choice",
        "",
        f"How the examples' default chooses (examples.common.cli.THREADS_RULE): {check['rule']}. "
        f"This machine has {check['cores']} usable cores.",
        "",
        f"| example run | machine | --threads 1 | --threads 2 | default (threads it chose) "
        f"| default / best of 1 and 2 <= {THREAD_CHOICE_LIMIT} | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    misses = 0
    names = {"two_layer": "mnist_two_layer.py", "cnn": "mnist_cnn.py"}
    for name, title in names.items():
        for load in ("quiet", "busy"):
            t1, t2 = r.get(f"{load}/{name}/t1"), r.get(f"{load}/{name}/t2")
            dflt = r.get(f"{load}/{name}/default")
            if None in (t1, t2, dflt):
                continue
            chosen = r.get(f"{load}/{name}/chosen")
            ratio = dflt / min(t1, t2)
            ok = ratio <= THREAD_CHOICE_LIMIT
            misses += not ok
            machine = (f"{load} (load average {r[f'{load}/loadavg_start']:.1f} at start, "
                       f"{r[f'{load}/loadavg_end']:.1f} at end)")
            lines.append(
                f"| {title} | {machine} | {t1:.2f} s | {t2:.2f} s | {dflt:.2f} s "
                f"({'?' if chosen is None else int(chosen)}) | {ratio:.2f} | "
                f"{'PASS' if ok else 'MISS'} |"
            )
    lines += ["", *[f"- {n}" for n in check["notes"]], ""]
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
        busy = ""
        if c == "busy":
            busy = (f"one busy-loop process running; threads by the examples' rule: "
                    f"{run.get('threads_used')} (other programs kept "
                    f"{run.get('busy_at_choice', float('nan')):.2f} cores busy, 1-min load "
                    f"average {run.get('loadavg_at_choice', float('nan')):.1f}, when chosen); ")
        elif c == "default":
            busy = (f"tinygrad_lite on {run.get('tl_threads')} threads by the examples' rule "
                    f"(tl.set_num_threads); ")
        lines.append(
            f"- {config_title(c, run)}: {busy}{env}; thread pools: "
            + "; ".join(f["threadpools"])
            + f"; torch: {f['torch']}; load average (1/5/15 min) at its start: "
            f"{f.get('loadavg_start', '?')}, at its end: {f['loadavg']}"
        )
    return lines


def load_line(runs: Dict[str, dict], thread_check: Optional[dict]) -> List[str]:
    """The 1-minute load averages seen during the run, and whether other jobs shared the machine:
    this benchmark accounts for about 1 (2 while its busy loop runs)."""
    quiet: List[float] = []
    busy: List[float] = []
    for c, run in runs.items():
        f = run["facts"]
        seen = [float(x.split()[0]) for x in (f.get("loadavg_start"), f["loadavg"]) if x]
        (busy if c == "busy" else quiet).extend(seen)
    if thread_check is not None:
        r = thread_check["results"]
        quiet += [r[k] for k in ("quiet/loadavg_start", "quiet/loadavg_end") if k in r]
        busy += [r[k] for k in ("busy/loadavg_start", "busy/loadavg_end") if k in r]
    seen = quiet + busy
    if not seen:
        return []
    cores = _usable_cores()
    others = [x for run in runs.values() for x in run["facts"].get("others_busy", [])]
    if others:  # measured: other programs' CPU time, as the examples' thread rule reads it
        shared = max(others) > 0.5
    else:  # the load average lags: it still counts this benchmark's own last configuration
        shared = any(x > 1.5 for x in quiet) or any(x > 2.5 for x in busy)
    line = (
        f"Load: the 1-minute load average, read at the start and end of each configuration, "
        f"ranged {min(seen):.1f}-{max(seen):.1f} on {cores} usable cores (quiet parts "
        f"{min(quiet, default=0):.1f}-{max(quiet, default=0):.1f}, busy parts "
        f"{min(busy, default=0):.1f}-{max(busy, default=0):.1f}); this benchmark accounts for "
        "about 1, 2 while its busy loop runs. "
    )
    if others:
        line += (
            f"Other programs kept {min(others):.2f}-{max(others):.2f} cores busy (their CPU "
            "time over 0.25 s from /proc/stat, at the start and end of each configuration). "
        )
    if shared:
        line += (
            "**The machine was shared**: other jobs were running, so the quiet configurations "
            "were not quiet and their times (less so their ratios) are inflated and noisy; "
            "the 1-thread CPU-time ratios are the steadiest figures."
        )
    else:
        line += "No other job was seen then." if others else (
            "No other job showed in the load average.")
    probes = [ms for run in runs.values() for ms in run["facts"].get("probe_ms", [])]
    if probes:
        line += (
            f" Host speed: numpy's exp over 1M float32 values took {min(probes):.2f}-"
            f"{max(probes):.2f} ms (median of 21, at the start and end of each configuration); "
            "a spread beyond ~20% means other guests of the host slowed parts of the run."
        )
    return [line, ""]


def revision() -> str:
    """' at commit abc1234' (and whether the package had uncommitted changes), or ''."""
    try:
        git = ["git", "-C", str(REPO)]
        head = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(git + ["status", "--porcelain", "--", "tinygrad_lite"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return f" at commit {head}" + (" with uncommitted changes to the package" if dirty else "")


def report(
    runs: Dict[str, dict],
    args: argparse.Namespace,
    names: List[str],
    thread_check: Optional[dict] = None,
) -> Tuple[str, int]:
    first = next(iter(runs.values())) if runs else None
    sizes_used = first["sizes"] if first else {}
    notes: List[str] = []
    for run in runs.values():
        notes += [n for n in run["notes"] if n not in notes]
    targets, misses = targets_table(runs) if runs else ([], 0)
    thread_lines: List[str] = []
    if thread_check is not None:
        thread_lines, thread_misses = thread_choice_section(thread_check)
        misses += thread_misses
    cmd = "python benchmarks/run.py " + " ".join(sys.argv[1:])
    text = [
        "# Benchmarks",
        "",
        f"Written by `{cmd.strip()}`{revision()}"
        + (" (SMOKE sizes: figures meaningless)" if args.smoke else "")
        + ".",
    ]
    if first:
        step_n = sizes_used.get("step_images", 0)
        text += [
            "Each time is the median of "
            f"{sizes_used['repeats']} repeats after {sizes_used['warmup']} warm-up; within a "
            "case the implementations run interleaved. Ratios are against the row named in the "
            "targets (numpy for the notebook step and the epoch, PyTorch for the CNN step, the "
            "tiny graph, the 10x10 add and the deep chain, the reference for memory, tinygrad_lite "
            f"at commit {BASELINE} for the \"now\" rows); they hold "
            "better than times on a shared machine. Verdicts use wall-time ratios; each figure "
            "shows its limit beside it. The "
            "configurations: *default threads* = numpy's and PyTorch's own (OpenBLAS: one "
            "thread per core), and for tinygrad_lite what the examples set, "
            "`tl.set_num_threads(n)` with their default rule's n (BLAS on one thread, "
            "tinygrad_lite's products on n threads of their own), switched around each of its "
            "calls, each timed call after a 0.2 s pause (OpenBLAS's idle workers spin for "
            "~0.1 s after a threaded product); *BLAS limited to 1 thread* = a child process with "
            "OPENBLAS_NUM_THREADS=1 etc., *busy machine* = a child process measuring the "
            "notebook step, the epoch and the CNN step while one other CPU-bound process (a "
            "pure-Python busy loop) runs, with the BLAS threads (and as many PyTorch threads) "
            "that the examples' default rule picks (see the thread-choice section); its "
            "verdicts use a target's busy limit where it has one, else the limit of that thread "
            "count. The 1-thread run also gives the "
            "ratio of the medians of this process's CPU time, which leaves out the time other "
            "processes held the CPU: on a busy machine it is the steadiest figure (the busy "
            "run shows it too when it ran with one BLAS thread).",
            "",
            *load_line(runs, thread_check),
            "## Targets",
            "",
            *targets,
            "",
            "## Results",
            "",
            *results_table(runs),
            "",
        ]
    text += thread_lines
    if first:
        text += [
            "## Notes",
            "",
            f"- cases run: {', '.join(names)}"
            + ("" if "accuracy" in names else " (time to accuracy needs --long)"),
            f"- notebook step: one full-batch GD step (lr 0.1) of 784-10-10 on the first "
            f"{step_n:,} MNIST training images; tinygrad_lite and PyTorch: "
            "nn.Sequential(Linear, ReLU, Linear) + cross_entropy + SGD, rows are samples; "
            "numpy: examples/common/reference.py (forward_prop, backward_prop, update_params, "
            "columns are samples); BLAS floor: the step's five matmuls (Z1, Z2, dW2, dZ1, dW1) "
            "in the notebook's layout, and in the row layout for comparison. The graded step "
            "gives tinygrad_lite a C-order (m, 784) array, one image per row, as a user writes "
            "it, `model(tl.Tensor(X))`, and as examples/mnist_two_layer.py trains; the "
            "ungraded x = X.T line gives it a view of the notebook's own (784, m) array "
            "instead (the layout the example used to train on)",
            f"- mini-batch epoch: {sizes_used['epoch_images']:,} images, batch 128, Adam lr "
            "1e-3, float32; numpy = benchmarks/numpy_mlp.py",
            "- 10x10 add: `a + b` of two 10x10 float32 arrays/tensors; the graded one is "
            "without grad (no operand requires grad)",
            "- package lines executed: benchmarks/lines.py; the distinct (file, line) pairs "
            "under the tinygrad_lite package directory that `sys.settrace` sees (\"call\" and "
            "\"line\" events) in one training step of the notebook's net (784-10-10 float32 "
            "MLP, batch 64, SGD lr 0.1: zero_grad, forward, cross_entropy, backward, step), "
            "the second after a warm-up step; a count, not a time (target: <= 200 lines in "
            "<= 8 files)",
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
    p.add_argument(
        "--threads",
        choices=list(CONFIGS),
        default="all",
        help="configurations: default, 1, busy, both (default and 1), all (default, 1, busy)",
    )
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
    configs = CONFIGS[args.threads]

    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        bad = [n for n in names if n not in ORDER]
        if bad:
            p.error(f"unknown case(s) {bad}; choose from {ORDER}")
    else:
        names = [
            n
            for n in ORDER
            if (n != "accuracy" or args.long) and (n != "threads" or "busy" in configs)
        ]

    if args.worker_json:
        result = run_cases(args, names, args.threads)
        Path(args.worker_json).write_text(json.dumps(result))
        return 0

    per_config = [n for n in names if n != "threads"]
    runs = {}
    for c in configs:
        # the examples' full training runs take minutes each: in the first configuration only
        cfg_names = [n for n in per_config if n != "accuracy" or c == configs[0]]
        if c == "busy":
            cfg_names = [n for n in cfg_names if n in BUSY_CASES]
        if not cfg_names:
            continue
        runs[c] = run_config(c, args, cfg_names)
        if "accuracy" in per_config and "accuracy" not in cfg_names and c != "busy":
            runs[c]["notes"].append("time to accuracy: measured in the first configuration only")
    thread_check = run_thread_check(args) if "threads" in names else None
    text, misses = report(runs, args, names, thread_check)
    print(text)
    output = args.output or (None if args.smoke else str(REPO / "BENCHMARKS.md"))
    if output:
        Path(output).write_text(text)
        print(f"wrote {output}", file=sys.stderr)
    print(f"{misses} target(s) missed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
