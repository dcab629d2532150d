#!/usr/bin/env python
"""A/B: the first-order cases at an earlier commit and in the working tree, side by
side in one process.

    python benchmarks/ab.py                    # against HEAD~1
    python benchmarks/ab.py cd406f7 --cases step32,tiny --repeats 9
    python benchmarks/ab.py cd406f7 --threads default --tl-threads 2 --json ab.json

`git archive` puts the earlier commit's `tinygrad_lite/` in a temporary folder as package
`tl_base`; the working tree's is copied beside it as `tl_head`. Both are imported into this
process (their imports are relative, so the two never mix), and every case runs them in
turn, alternating which goes first, so a noisy machine slows both alike. Times are medians over
the repeats; the ratio head/base is what a change costs (1.05 = 5% slower).

--threads 1 (the default): one BLAS thread (the *_NUM_THREADS variables are set before numpy
loads, unless already set), and the times are CPU time (`time.process_time`), which leaves out
the time other processes held the CPU. --threads default: BLAS keeps its own thread count and
the times are wall-clock (`time.perf_counter`), each timed call after a pause of SETTLE seconds
(OpenBLAS's idle workers busy-wait for about 0.1 s after a threaded product); with
--tl-threads N each engine's calls run as the examples run them, inside its own
`tl.set_num_threads(N)` (BLAS on one thread, the engine's products on N threads).

--json PATH also writes the medians of both clocks for each case, machine-readable:
{"base", "threads", "tl_threads", "clock", "repeats", "cases": {case: {"base": {"wall", "cpu"},
"head": {"wall", "cpu"}, "ratio"}}}, seconds; "clock" names the one the ratio and the table use.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, List, Optional

if TYPE_CHECKING:
    import numpy as np  # imported in main(), after the thread variables are set

REPO = Path(__file__).resolve().parents[1]
CASES = ("step64", "step32", "epoch", "cnn", "tiny", "chain_build", "chain_back")
THREADS = ("1", "default")
SETTLE = 0.2  # s: with --threads default, the pause before each timed call


def packages(base: str, folder: Path) -> dict:
    """{'tl_base': module at commit `base`, 'tl_head': module of the working tree}."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", base, "tinygrad_lite"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    (folder / "tinygrad_lite").rename(folder / "tl_base")
    shutil.copytree(REPO / "tinygrad_lite", folder / "tl_head",
                    ignore=shutil.ignore_patterns("__pycache__"))
    sys.path.insert(0, str(folder))
    return {name: importlib.import_module(name) for name in ("tl_base", "tl_head")}


def model_zoo(tl):
    """The examples' model builders on the package `tl`: its own `models` module (commits from
    before the zoo moved to examples/common), else examples/common/models.py run with `tl` as
    its tinygrad_lite."""
    try:
        return importlib.import_module(tl.__name__ + ".models")
    except ModuleNotFoundError:
        pass
    spec = importlib.util.spec_from_file_location(f"{tl.__name__}_models",
                                                  REPO / "examples" / "common" / "models.py")
    module = importlib.util.module_from_spec(spec)
    installed = sys.modules.get("tinygrad_lite")
    sys.modules["tinygrad_lite"] = tl
    try:
        spec.loader.exec_module(module)
    finally:
        if installed is None:
            del sys.modules["tinygrad_lite"]
        else:
            sys.modules["tinygrad_lite"] = installed
    return module


def setup(tl, case: str, images: np.ndarray, labels: np.ndarray):
    """The case's work as a callable (and an untimed `prepare`, for chain_back)."""
    import numpy as np

    models = model_zoo(tl)
    F = tl.nn.functional
    if case in ("step64", "step32"):  # the notebook's full-batch GD step, 784-10-10
        dtype = np.float64 if case == "step64" else np.float32
        x = tl.Tensor((images[:41000].reshape(41000, 784) / 255).astype(dtype))
        y = labels[:41000].astype(np.int64)
        tl.manual_seed(0)
        model = models.build_mlp(784, [10], 10, dtype=dtype)
        opt = tl.optim.SGD(list(model.parameters()), lr=0.1)

        def run() -> None:
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        return run, None
    if case in ("epoch", "cnn"):  # 100 Adam steps of 784-128-10, or 5 AdamW steps of the CNN
        n, batch = (12800, 128) if case == "epoch" else (640, 128)
        x = (images[:n].reshape(n, 784) / 255).astype(np.float32)
        y = labels[:n].astype(np.int64)
        tl.manual_seed(0)
        if case == "epoch":
            model = models.build_mlp(784, [128], 10)
            opt = tl.optim.Adam(list(model.parameters()), lr=1e-3)
        else:
            model = models.build_cnn()
            opt = tl.optim.AdamW(list(model.parameters()), lr=3e-3, weight_decay=1e-2)

        def run() -> None:
            for i in range(0, n, batch):
                opt.zero_grad()
                F.cross_entropy(model(tl.from_numpy(x[i:i + batch])), y[i:i + batch]).backward()
                opt.step()
        return run, None
    if case == "tiny":  # 200 graphs of 10 ops on 10x10 float32, forward and backward
        rng = np.random.default_rng(0)
        a, b, c = (tl.Tensor(rng.random((10, 10), dtype=np.float32), requires_grad=True)
                   for _ in range(3))

        def run() -> None:
            for _ in range(200):
                h = ((a @ b + c).relu() * a - b).tanh() * 0.5
                h = h.sigmoid()
                (h * h).sum().backward()
        return run, None

    def chain():  # 100,000 scalar ops, alternating * and +
        y = x0 = tl.Tensor(np.float32(1.0), requires_grad=True)
        for i in range(100_000):
            y = y * 1.0001 if i % 2 == 0 else y + 0.5
        return x0, y
    if case == "chain_build":
        return chain, None
    held: dict = {}

    def prepare() -> None:
        held["y"] = chain()[1]

    def run() -> None:
        held.pop("y").backward()
    return run, prepare


@contextlib.contextmanager
def engine_threads(tl, n: Optional[int]) -> Iterator[None]:
    """The block runs with `tl.set_num_threads(n)` (nothing when n is None)."""
    if n is None:
        yield
        return
    tl.set_num_threads(n)
    try:
        yield
    finally:
        tl.restore_num_threads()


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("base", nargs="?", default="HEAD~1", help="commit to compare with")
    p.add_argument("--cases", default=",".join(CASES), help=f"comma-separated: {CASES}")
    p.add_argument("--repeats", type=int, default=11)
    p.add_argument("--threads", choices=THREADS, default="1",
                   help="1: one BLAS thread, CPU time (the default); "
                        "default: BLAS's own threads, wall-clock time")
    p.add_argument("--tl-threads", type=int, default=None, metavar="N",
                   help="with --threads default: each engine's calls inside its "
                        "tl.set_num_threads(N)")
    p.add_argument("--json", default=None, metavar="PATH",
                   help="also write the medians (both clocks) and ratios as JSON")
    args = p.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]
    unknown = set(cases) - set(CASES)
    if unknown:
        p.error(f"unknown case(s) {sorted(unknown)}; choose from {CASES}")
    if args.tl_threads is not None and (args.threads != "default" or args.tl_threads < 1):
        p.error("--tl-threads takes a positive count, with --threads default")
    if args.threads == "1":
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads OpenBLAS
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    clock = "cpu" if args.threads == "1" else "wall"
    found: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        mods = packages(args.base, Path(tmp))
        data = importlib.import_module("tl_base.data")
        images, labels = data.load_mnist("train", root=REPO / "data" / "mnist")
        unit = "ms" if clock == "cpu" else "ms, wall"
        print(f"| case | {args.base} ({unit}) | working tree ({unit}) "
              f"| working tree / {args.base} |")
        print("| --- | --- | --- | --- |")
        for case in cases:
            fns = {name: setup(tl, case, images, labels) for name, tl in mods.items()}
            times: dict = {name: {"wall": [], "cpu": []} for name in fns}
            for rep in range(args.repeats + 1):  # the first round warms up, untimed
                order = list(fns.items()) if rep % 2 else list(fns.items())[::-1]
                for name, (run, prepare) in order:
                    with engine_threads(mods[name], args.tl_threads):
                        if prepare:
                            prepare()
                        if clock == "wall":
                            time.sleep(SETTLE)
                        c0, t0 = time.process_time(), time.perf_counter()
                        run()
                        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                    if rep:
                        times[name]["wall"].append(wall)
                        times[name]["cpu"].append(cpu)
            med = {name: {k: statistics.median(v) for k, v in t.items()}
                   for name, t in times.items()}
            base, head = med["tl_base"][clock], med["tl_head"][clock]
            found[case] = {"base": med["tl_base"], "head": med["tl_head"], "ratio": head / base}
            print(f"| {case} | {base * 1e3:.1f} | {head * 1e3:.1f} | {head / base:.3f} |",
                  flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "base": args.base, "threads": args.threads, "tl_threads": args.tl_threads,
            "clock": clock, "repeats": args.repeats, "cases": found}, indent=1))


if __name__ == "__main__":
    main()
