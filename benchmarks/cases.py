"""The benchmark cases. Each returns `(times, notes)`: seconds per named measurement, and notes.

Within a case the implementations run interleaved (a, b, c, a, b, c, ...) after a warm-up, so
a burst of load on a shared machine hits all of them alike; the figure is the median.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.core.ops import Add
from tinygrad_lite.core.tensor import Tensor

REPO = Path(__file__).resolve().parent.parent
Times = Dict[str, float]
Result = Tuple[Times, List[str]]

torch = None  # PyTorch is optional: set by load_torch(); its columns are skipped when absent
torch_F = None


def load_torch() -> None:
    """Import PyTorch if it is installed (slow: seconds), and its optimizers' lazy imports."""
    global torch, torch_F
    try:
        import torch as _torch
        import torch.nn.functional as _functional
        import torch.optim  # noqa: F401 - first use imports torch._dynamo: keep it out of timings
    except ImportError:
        return
    torch, torch_F = _torch, _functional
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


def _reference():
    """The notebook's hand-written numpy net (examples/common/reference.py), if it exists yet."""
    try:
        from examples.common import reference
    except ImportError:
        return None
    return reference


@dataclass
class Sizes:
    """How big each case is: the full benchmark, or `--smoke` (seconds, for the test)."""

    step_images: int = 41_000  # the notebook's training set size (42,000 less 1,000 for dev)
    epoch_images: int = 60_000
    tiny_iterations: int = 2_000  # tiny-graph forward+backward passes per timing
    add_iterations: int = 20_000
    chain_ops: int = 100_000
    rss_iterations: int = 20  # `--iterations` for the memory case's training runs
    repeats: int = 5
    warmup: int = 1
    cnn_batches: int = 10  # CNN training steps (batches of 128) per timing
    thread_iterations: int = 100  # `mnist_two_layer.py --iterations` in the thread-choice check
    thread_cnn_images: int = 3_840  # `mnist_cnn.py --epochs 1 --limit` (30 batches of 128)
    thread_repeats: int = 3  # runs of each thread setting (interleaved)
    thread_limit: int = 0  # `--limit` of the thread-choice runs (0: the full training set)
    baseline_repeats: int = 7  # benchmarks/ab.py's --repeats in the baseline case (run.py)
    gpt_iters: int = 10  # char_gpt training iterations per timing (benchmarks/seq_cases.py)
    makemore_steps: int = 200  # makemore MLP steps per timing

    @classmethod
    def smoke(cls) -> Sizes:
        return cls(1_000, 1_024, 20, 200, 1_000, 1, 1, 0, 1, 2, 0, 1, 500, 1,
                   gpt_iters=1, makemore_steps=5)


TL_THREADS: Optional[int] = None  # set by run.py: tinygrad_lite's side runs on the examples'
SETTLE = 0.2  # s: with TL_THREADS, a pause before each timed call (see `interleaved`)


@contextlib.contextmanager
def threads_for(name: str) -> Iterator[None]:
    """tinygrad_lite's implementations ("tinygrad_lite...") run as the examples run them, with
    `tl.set_num_threads(TL_THREADS)` (BLAS on one thread, tinygrad_lite's products on n of their
    own); the others keep numpy's and PyTorch's own threads. Without TL_THREADS: nothing."""
    if TL_THREADS is None or not name.startswith("tinygrad_lite"):
        yield
        return
    tl.set_num_threads(TL_THREADS)
    try:
        yield
    finally:
        tl.restore_num_threads()


def interleaved(fns: Dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> Times:
    """Median seconds per call of each function, the functions run round-robin.

    Also the median CPU time of this process per call, under the key "cpu:" + name: with BLAS
    limited to one thread it leaves out the time other processes held the CPU, so its ratios
    are the steadiest on a busy machine (with several BLAS threads it counts their spinning).
    With TL_THREADS, tinygrad_lite's calls switch BLAS to one thread and back (`threads_for`),
    and every timed call starts after a pause of SETTLE seconds: OpenBLAS's idle workers
    busy-wait for about 0.1 s after a threaded product, and would take the cores from the
    next implementation's threads (in a run of the examples BLAS stays on one thread).
    """
    for _ in range(warmup):
        for name, fn in fns.items():
            with threads_for(name):
                fn()
    wall: Dict[str, list] = {name: [] for name in fns}
    cpu: Dict[str, list] = {name: [] for name in fns}
    for _ in range(max(repeats, 1)):
        for name, fn in fns.items():
            with threads_for(name):
                if TL_THREADS is not None:
                    time.sleep(SETTLE)
                c0, t0 = time.process_time(), time.perf_counter()
                fn()
                wall[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
    times = {name: statistics.median(s) for name, s in wall.items()}
    times.update({f"cpu:{name}": statistics.median(s) for name, s in cpu.items()})
    return times


def renamed(times: Times, fmt: str) -> Times:
    """Keys formatted with `fmt` ("graph/{}"), keeping the "cpu:" prefix in front."""
    out = {}
    for key, value in times.items():
        cpu, name = ("cpu:", key[4:]) if key.startswith("cpu:") else ("", key)
        out[cpu + fmt.format(name)] = value
    return out


def per_call(fn: Callable[[], object], number: int) -> Callable[[], float]:
    """A function that runs `fn` `number` times; `interleaved` then divides by `number`."""

    def run() -> None:
        for _ in range(number):
            fn()

    run.number = number  # type: ignore[attr-defined]
    return run


def interleaved_per_call(fns: Dict[str, Callable[[], object]], number: int, sz: Sizes) -> Times:
    loops = {name: per_call(fn, number) for name, fn in fns.items()}
    return {k: v / number for k, v in interleaved(loops, sz.repeats, sz.warmup).items()}


TORCH_MISSING = "not installed"  # or "--no-torch", set by run.py


def no_torch_note(case: str) -> List[str]:
    if torch is not None:
        return []
    return [f"{case}: PyTorch columns skipped (PyTorch {TORCH_MISSING})"]


# ---- data -----------------------------------------------------------------------------------

_mnist_cache: dict = {}


def mnist_train() -> Tuple[np.ndarray, np.ndarray]:
    """The shipped MNIST training split: uint8 images (60000, 28, 28) and labels (60000,)."""
    if "train" not in _mnist_cache:
        from tinygrad_lite.data import load_mnist

        _mnist_cache["train"] = load_mnist("train")
    return _mnist_cache["train"]


def _tl_mlp(sizes: Tuple[int, ...], dtype: type) -> nn.Module:
    from examples.common.models import build_mlp  # the one builder the examples use too

    return build_mlp(sizes[0], list(sizes[1:-1]), sizes[-1], dtype=dtype)


def _torch_mlp(sizes: Tuple[int, ...], dtype: type):
    layers: list = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        if i:
            layers.append(torch.nn.ReLU())
        layers.append(torch.nn.Linear(n_in, n_out))
    return torch.nn.Sequential(*layers).to(torch.float64 if dtype == np.float64 else torch.float32)


# ---- case 1: the notebook's full-batch gradient-descent step --------------------------------


def case_step(sz: Sizes) -> Result:
    """One GD step of 784-10-10 on `step_images` images, float64 and float32."""
    images, labels = mnist_train()
    n = sz.step_images
    times: Times = {}
    notes = no_torch_note("notebook step")
    ref = _reference()
    if ref is None:
        notes.append("notebook step: examples/common/reference.py not found, numpy column skipped")
    for dtype in (np.float64, np.float32):
        tag = np.dtype(dtype).name
        x_rows = np.ascontiguousarray(images[:n].reshape(n, 784), dtype=dtype) / dtype(255)
        y = labels[:n].astype(np.int64)
        x_cols = np.ascontiguousarray(x_rows.T)  # the notebook's X: (784, m), one column each
        fns: Dict[str, Callable[[], object]] = {}

        # rows (graded): x (m, 784) C-order, one image per row, what a user writes as
        # model(tl.Tensor(X)) and the example trains on; xT (ungraded): x = X.T, a view of the
        # notebook's own (784, m) array (the same memory the hand-written reference multiplies)
        fns["tinygrad_lite"] = _tl_step(x_rows, y, dtype)
        fns["tinygrad_lite_xT"] = _tl_step(x_cols.T, y, dtype)

        if ref is not None:
            fns["numpy"] = _reference_step(ref, x_cols, y, dtype)

        if torch is not None:
            tmodel = _torch_mlp((784, 10, 10), dtype)
            topt = torch.optim.SGD(tmodel.parameters(), lr=0.1)
            tx, ty = torch.from_numpy(x_rows), torch.from_numpy(y)

            def torch_step(tmodel=tmodel, topt=topt, tx=tx, ty=ty) -> None:
                topt.zero_grad()
                loss = torch_F.cross_entropy(tmodel(tx), ty)
                loss.backward()
                topt.step()

            fns["pytorch"] = torch_step

        fns["blas_floor"] = _blas_floor(x_cols, dtype, columns=True)
        fns["blas_floor_rows"] = _blas_floor(x_rows, dtype, columns=False)
        times.update(renamed(interleaved(fns, sz.repeats, sz.warmup), "{}/" + tag))
    return times, notes


def _tl_step(x: np.ndarray, y: np.ndarray, dtype: type) -> Callable[[], None]:
    """The framework's step: Sequential(Linear, ReLU, Linear), cross_entropy, SGD lr 0.1."""
    model = _tl_mlp((784, 10, 10), dtype)
    opt = tl.optim.SGD(list(model.parameters()), lr=0.1)
    xt = tl.from_numpy(x)

    def step() -> None:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(xt), y)
        loss.backward()
        opt.step()

    return step


def _reference_step(ref, x_cols: np.ndarray, y: np.ndarray, dtype: type) -> Callable[[], None]:
    """The notebook's step: forward_prop, backward_prop, update_params, params in `dtype`."""
    params = list(ref.init_params(np.random.RandomState(0), dtype=dtype))
    state = {"params": params}

    def step() -> None:
        W1, b1, W2, b2 = state["params"]
        Z1, A1, Z2, A2 = ref.forward_prop(W1, b1, W2, b2, x_cols)
        dW1, db1, dW2, db2 = ref.backward_prop(Z1, A1, Z2, A2, W1, W2, x_cols, y)
        state["params"] = ref.update_params(W1, b1, W2, b2, dW1, db1, dW2, db2, 0.1)

    return step


def _blas_floor(x: np.ndarray, dtype: type, columns: bool) -> Callable[[], None]:
    """The step's five matrix products alone: two forward, three backward (no dX).

    `columns`: the notebook's layout (X is (784, m)); otherwise rows (X is (m, 784)) as a
    framework with PyTorch's layout computes them.
    """
    rng = np.random.default_rng(0)
    m = x.shape[1] if columns else x.shape[0]
    W1 = rng.random((10, 784)).astype(dtype) - dtype(0.5)
    W2 = rng.random((10, 10)).astype(dtype) - dtype(0.5)
    G = rng.random((10, m) if columns else (m, 10)).astype(dtype)

    if columns:

        def floor() -> None:
            A1 = W1 @ x  # Z1
            W2 @ A1  # Z2
            G @ A1.T  # dW2
            dZ1 = W2.T @ G
            dZ1 @ x.T  # dW1

    else:

        def floor() -> None:
            A1 = x @ W1.T
            A1 @ W2.T
            G.T @ A1
            dZ1 = G @ W2
            dZ1.T @ x

    return floor


# ---- case 2: a mini-batch epoch of a 784-128-10 MLP with Adam --------------------------------


def case_epoch(sz: Sizes) -> Result:
    """One epoch, batch 128, Adam lr 1e-3, float32, the same shuffled batches for everyone."""
    from numpy_mlp import NumpyMLP

    from tinygrad_lite.data import DataLoader, to_float

    images, labels = mnist_train()
    n = sz.epoch_images
    x = to_float(images[:n], np.float32)
    y = labels[:n].astype(np.int64)
    notes = no_torch_note("mini-batch epoch")
    notes.append(
        "mini-batch epoch: batches from tinygrad_lite.data.DataLoader(shuffle=True, seed 0) "
        "for all three; PyTorch gets them through torch.from_numpy; all three start from "
        "tinygrad_lite's initial weights"
    )

    # the same permutation sequence for every implementation: fresh seeded loaders each epoch
    def batches():
        return DataLoader(x, y, batch_size=128, shuffle=True, rng=0)

    fns: Dict[str, Callable[[], object]] = {}
    model = _tl_mlp((784, 128, 10), np.float32)
    opt = tl.optim.Adam(list(model.parameters()), lr=1e-3)
    cross_entropy = nn.functional.cross_entropy

    def tl_epoch() -> None:
        for xb, yb in batches():
            opt.zero_grad()
            loss = cross_entropy(model(tl.from_numpy(xb)), yb)
            loss.backward()
            opt.step()

    fns["tinygrad_lite"] = tl_epoch

    # Everyone starts from tinygrad_lite's initial weights (numpy's (in, out) layout takes
    # them transposed), so all three follow the same trajectory and idle the same weights:
    # where a gradient stays 0, numpy's and PyTorch's Adam moments go denormal (2-3% of W1's
    # from the second epoch), which slows their arithmetic ~10x; tinygrad_lite flushes them
    # (optim.optimizer.flush_denormals_). With different inits the count would differ by run.
    weights = [p.data for p in model.parameters()]  # W1 (128, 784), b1, W2 (10, 128), b2
    np_model = NumpyMLP((784, 128, 10), np.float32, lr=1e-3)
    for mine, theirs in zip(np_model.params, weights):
        mine[...] = theirs.T

    def numpy_epoch() -> None:
        for xb, yb in batches():
            np_model.train_step(xb, yb)

    fns["numpy"] = numpy_epoch

    if torch is not None:
        tmodel = _torch_mlp((784, 128, 10), np.float32)
        with torch.no_grad():
            for mine, theirs in zip(tmodel.parameters(), weights):
                mine.copy_(torch.from_numpy(theirs))
        topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)

        def torch_epoch() -> None:
            for xb, yb in batches():
                topt.zero_grad()
                loss = torch_F.cross_entropy(tmodel(torch.from_numpy(xb)), torch.from_numpy(yb))
                loss.backward()
                topt.step()

        fns["pytorch"] = torch_epoch

    return interleaved(fns, sz.repeats, sz.warmup), notes


# ---- case 3: a training step of the CNN of examples/mnist_cnn.py -----------------------------

CNN_BATCH = 128


def _torch_cnn(channels: Tuple[int, ...] = (16, 32), hidden: int = 128, dropout: float = 0.25):
    """examples.common.models.build_cnn's net in torch.nn, layer for layer (206,970 parameters)."""
    T = torch.nn
    layers: list = [T.Unflatten(1, (1, 28, 28))]
    c_in, side = 1, 28
    for c_out in channels:
        layers += [T.Conv2d(c_in, c_out, 3, padding=1, bias=False), T.BatchNorm2d(c_out),
                   T.ReLU(), T.MaxPool2d(2)]
        c_in, side = c_out, side // 2
    layers += [T.Flatten(), T.Dropout(dropout), T.Linear(c_in * side * side, hidden), T.ReLU(),
               T.Dropout(dropout), T.Linear(hidden, 10)]
    return T.Sequential(*layers)


def case_cnn(sz: Sizes) -> Result:
    """`cnn_batches` AdamW steps of examples/mnist_cnn.py's net, batches of 128, float32."""
    from examples.common.models import build_cnn
    from tinygrad_lite.data import to_float

    images, labels = mnist_train()
    n = sz.cnn_batches * CNN_BATCH
    x, y = to_float(images[:n], np.float32), labels[:n].astype(np.int64)
    batches = [(x[i : i + CNN_BATCH], y[i : i + CNN_BATCH]) for i in range(0, n, CNN_BATCH)]
    notes = no_torch_note("CNN step")

    tl.manual_seed(0)
    model = build_cnn(channels=(16, 32), hidden=128, dropout=0.25)  # as mnist_cnn.py builds it
    model.train()
    opt = tl.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
    cross_entropy = nn.functional.cross_entropy

    def tl_steps() -> None:
        for xb, yb in batches:
            loss = cross_entropy(model(tl.from_numpy(xb)), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()

    fns: Dict[str, Callable[[], object]] = {"tinygrad_lite": tl_steps}
    if torch is not None:
        torch.manual_seed(0)
        tmodel = _torch_cnn((16, 32), 128, 0.25)
        tmodel.train()
        topt = torch.optim.AdamW(tmodel.parameters(), lr=3e-3, weight_decay=1e-2)
        tbatches = [(torch.from_numpy(xb), torch.from_numpy(yb)) for xb, yb in batches]
        n_tl = sum(int(np.size(p.data)) for p in model.parameters())
        n_torch = sum(p.numel() for p in tmodel.parameters())
        if n_tl != n_torch:
            raise AssertionError(f"CNN step: {n_tl} parameters here, {n_torch} in PyTorch")

        def torch_steps() -> None:
            for xb, yb in tbatches:
                loss = torch_F.cross_entropy(tmodel(xb), yb)
                topt.zero_grad()
                loss.backward()
                topt.step()

        fns["pytorch"] = torch_steps
    notes.append(
        "CNN step: one training step (forward, cross-entropy, backward, AdamW lr 3e-3 weight "
        "decay 1e-2) of examples/mnist_cnn.py's net, built by examples.common.models.build_cnn "
        "as the example builds it (conv 1->16, BN, ReLU, 2x2 max-pool, conv 16->32, BN, ReLU, "
        "max-pool, Flatten, Dropout 0.25, Linear 1568->128, ReLU, Dropout, Linear 128->10; "
        "206,970 parameters, train mode), on batches of 128 float32 MNIST images; PyTorch: the "
        f"same layers in torch.nn (nn.Unflatten first); time per step, {sz.cnn_batches} "
        "steps per timing"
    )
    times = interleaved(fns, sz.repeats, sz.warmup)
    return {k: v / len(batches) for k, v in times.items()}, notes


# ---- case 4: per-op overhead on a tiny graph ---------------------------------------------------


def _tiny_graph(a, b, c):
    """~10 ops on 10x10 inputs: the same code drives tinygrad_lite, PyTorch and numpy."""
    h = a @ b
    h = h + c
    h = relu(h)
    h = h * a
    h = h - b
    h = tanh(h)
    h = h * 0.5
    h = sigmoid(h)
    h = h * h
    return h.sum()


def relu(h):
    return np.maximum(h, 0) if isinstance(h, np.ndarray) else h.relu()


def tanh(h):
    return np.tanh(h) if isinstance(h, np.ndarray) else h.tanh()


def sigmoid(h):
    if isinstance(h, np.ndarray):
        return 1 / (1 + np.exp(-h))
    return h.sigmoid()


TINY_OPS = 10


def _core_graph(a, b):
    """The tiny graph of the targets: ((a * b + a) @ b).relu().sum()."""
    return relu((a * b + a) @ b).sum()


def _core_graph_times(sz: Sizes) -> Times:
    """Forward+backward of `_core_graph` on two 10x10 float64 leaves requiring grad."""
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((10, 10)) for _ in range(2)]
    leaves = [tl.tensor(a, requires_grad=True) for a in arrays]

    def tl_graph() -> None:
        for t in leaves:
            t.grad = None
        _core_graph(*leaves).backward()

    fns: Dict[str, Callable[[], object]] = {
        "tinygrad_lite": tl_graph,
        "numpy_forward": lambda: _core_graph(*arrays),
    }
    if torch is not None:
        tleaves = [torch.tensor(a, requires_grad=True) for a in arrays]

        def torch_graph() -> None:
            for t in tleaves:
                t.grad = None
            _core_graph(*tleaves).backward()

        fns["pytorch"] = torch_graph
    return renamed(interleaved_per_call(fns, sz.tiny_iterations, sz), "core/{}")


def case_tiny(sz: Sizes) -> Result:
    """Forward+backward of two tiny graphs (us per graph), and a lone 10x10 add."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((10, 10)).astype(np.float32) for _ in range(3)]
    notes = no_torch_note("op overhead")
    notes.append(
        "op overhead: tiny graph = `((a * b + a) @ b).relu().sum().backward()` on two 10x10 "
        f"float64 leaves requiring grad; 10-op graph = {TINY_OPS} ops on 10x10 float32 "
        "(matmul, add, relu, mul, sub, tanh, scalar mul, sigmoid, mul, sum), 3 leaves "
        "requiring grad"
    )
    leaves = [tl.Tensor(a, requires_grad=True) for a in arrays]

    def tl_graph() -> None:
        for t in leaves:
            t.grad = None
        _tiny_graph(*leaves).backward()

    fns: Dict[str, Callable[[], object]] = {
        "tinygrad_lite": tl_graph,
        "numpy_forward": lambda: _tiny_graph(*arrays),
    }
    a_np, b_np = arrays[0], arrays[1]
    ta, tb = tl.Tensor(a_np), tl.Tensor(b_np)
    ga, gb = leaves[0], leaves[1]
    adds: Dict[str, Callable[[], object]] = {
        "numpy": lambda: a_np + b_np,
        "tinygrad_lite": lambda: ta + tb,
        "tinygrad_lite_grad": lambda: ga + gb,
        # the least any op built as a Function does: make the node, run forward, wrap the
        # array (no operand checks, no dtype rule, no bookkeeping): the floor of this design
        "function_floor": lambda: Tensor._make(object.__new__(Add).forward(a_np, b_np)),
    }
    if torch is not None:
        tleaves = [torch.tensor(a, requires_grad=True) for a in arrays]

        def torch_graph() -> None:
            for t in tleaves:
                t.grad = None
            _tiny_graph(*tleaves).backward()

        fns["pytorch"] = torch_graph
        t_a, t_b = torch.from_numpy(a_np), torch.from_numpy(b_np)
        adds["pytorch"] = lambda: t_a + t_b
        adds["pytorch_grad"] = lambda: tleaves[0] + tleaves[1]
    times = _core_graph_times(sz)
    times.update(renamed(interleaved_per_call(fns, sz.tiny_iterations, sz), "graph/{}"))
    times.update(renamed(interleaved_per_call(adds, sz.add_iterations, sz), "add/{}"))
    return times, notes


# ---- case 5: a deep graph -------------------------------------------------------------------


def _chain(x, n: int):
    """n scalar ops, alternating y*c and y+c, each depending on the last."""
    y = x
    for i in range(n):
        y = y * 1.0001 if i % 2 == 0 else y + 0.0001
    return y


def case_chain(sz: Sizes) -> Result:
    """Build a chain of `chain_ops` scalar ops, then backward through it (timed apart)."""
    n = sz.chain_ops
    notes = no_torch_note("deep graph")
    notes.append(
        f"deep graph: {n:,} scalar float32 ops (alternating *c and +c); build = forward "
        "recording the graph, backward = y.backward() through it"
    )
    impls = {"tinygrad_lite": lambda: tl.Tensor(np.float32(1.0), requires_grad=True)}
    if torch is not None:
        impls["pytorch"] = lambda: torch.tensor(1.0, requires_grad=True)
    samples: Dict[str, list] = {
        f"{c}{p}/{k}": [] for k in impls for p in ("build", "backward") for c in ("", "cpu:")
    }
    for r in range(sz.warmup + max(sz.repeats, 1)):
        for name, make in impls.items():
            x = make()
            c0, t0 = time.process_time(), time.perf_counter()
            y = _chain(x, n)
            c1, t1 = time.process_time(), time.perf_counter()
            y.backward()
            c2, t2 = time.process_time(), time.perf_counter()
            g = float(x.grad) if name == "pytorch" else float(np.asarray(x.grad))
            if not np.isfinite(g):
                raise AssertionError(f"deep graph: {name} gave a non-finite gradient {g}")
            del y, x
            if r >= sz.warmup:
                samples[f"build/{name}"].append(t1 - t0)
                samples[f"backward/{name}"].append(t2 - t1)
                samples[f"cpu:build/{name}"].append(c1 - c0)
                samples[f"cpu:backward/{name}"].append(c2 - c1)
    return {k: statistics.median(v) for k, v in samples.items()}, notes


# ---- case 6: peak memory of the MNIST example vs the hand-written reference -----------------

EXAMPLE = REPO / "examples" / "mnist_two_layer.py"
CNN_EXAMPLE = REPO / "examples" / "mnist_cnn.py"


# A small middle process forks and execs the command and reports the command's own peak RSS.
# Measuring the child of this (large) process directly would not do: Linux carries the peak
# RSS of the address space a process had before execve (after fork, a copy of its parent's)
# into the new program's ru_maxrss, so every child would report this process's size.
_RSS_WRAPPER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def peak_rss(cmd: List[str], env: Optional[dict] = None) -> Tuple[float, float, str]:
    """(peak RSS in MiB, wall seconds, output) of a command run as a grandchild process."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "rss"
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", _RSS_WRAPPER, str(report), *cmd],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO,
            text=True,
        )
        wall = time.perf_counter() - t0
        maxrss, code = (int(v) for v in report.read_text().split())
    if proc.returncode or code:
        raise RuntimeError(f"{' '.join(cmd)} exited {code}:\n{proc.stdout[-2000:]}")
    # Linux reports ru_maxrss in KiB, macOS in bytes
    return maxrss / (1024 if sys.platform != "darwin" else 2**20), wall, proc.stdout


def case_memory(sz: Sizes) -> Result:
    notes: List[str] = []
    if not EXAMPLE.exists():
        return {}, ["memory: examples/mnist_two_layer.py not found, case skipped"]
    if _reference() is None:
        return {}, ["memory: examples/common/reference.py not found, case skipped"]
    its = str(sz.rss_iterations)
    example = [sys.executable, str(EXAMPLE), "--iterations", its, "--no-progress"]
    reference = [
        sys.executable,
        str(Path(__file__).parent / "rss_reference.py"),
        "--iterations",
        its,
    ]
    baseline = [sys.executable, "-c", "import numpy, tinygrad_lite"]
    times: Times = {}
    for name, cmd in (("interpreter", baseline), ("tinygrad_lite", example), ("numpy", reference)):
        rss, _, _ = peak_rss(cmd)
        times[f"rss_mib/{name}"] = rss
    notes.append(
        f"memory: peak RSS (MiB, ru_maxrss of the child) of `examples/mnist_two_layer.py "
        f"--iterations {its}` vs benchmarks/rss_reference.py (the hand-written "
        f"reference on the same data, same iterations); `interpreter` = python importing "
        f"numpy and tinygrad_lite only"
    )
    return times, notes


# ---- case 7: loading the data ----------------------------------------------------------------


def case_load(sz: Sizes) -> Result:
    """All 70,000 shipped images (and labels) through tinygrad_lite.data.load_mnist."""
    from tinygrad_lite.data import default_data_root, load_mnist

    root = default_data_root()
    files = sorted(root.glob("*.gz"))

    def load_all() -> None:
        xs, ys = load_mnist("train")
        xt, yt = load_mnist("test")
        assert len(xs) + len(xt) == 70_000 and len(ys) + len(yt) == 70_000

    def gunzip_only() -> None:
        for f in files:
            gzip.decompress(f.read_bytes())

    times = interleaved(
        {"load_mnist": load_all, "gunzip_floor": gunzip_only}, sz.repeats, sz.warmup
    )
    notes = [
        "loading: load_mnist('train') + load_mnist('test') (70,000 images and labels, from "
        ".gz); gunzip_floor = gzip.decompress of the four files alone"
    ]
    return times, notes


# ---- the "busy" machine: one other CPU-bound process -----------------------------------------

# A pure-Python busy loop. It also ends itself when its parent is gone (checked every few
# million turns) or after an hour, so a benchmark killed hard leaves nothing spinning.
_BUSY_LOOP = """
import os, time
parent, end, n = os.getppid(), time.time() + 3600, 0
while True:
    n += 1
    if n % 5_000_000 == 0 and (os.getppid() != parent or time.time() > end):
        break
"""


@contextlib.contextmanager
def busy_machine() -> Iterator[subprocess.Popen]:
    """One other CPU-bound process (a pure-Python busy loop) while the block runs."""
    proc = subprocess.Popen([sys.executable, "-c", _BUSY_LOOP])
    try:
        time.sleep(0.5)  # let it start spinning
        yield proc
    finally:
        proc.kill()
        proc.wait()


def examples_default_threads() -> Tuple[Optional[int], str]:
    """(threads, rule) the examples' default picks now (examples.common.cli), or (None, why)."""
    try:
        from examples.common.cli import THREADS_RULE, default_threads
    except ImportError as e:
        return None, f"examples.common.cli has no default_threads ({e})"
    return default_threads(), THREADS_RULE


# ---- case 8: the examples' thread choice, quiet and busy --------------------------------------

_THREADS_LINE = re.compile(r"threads: (\d+) \(")


def _example_env() -> dict:
    """The environment for the examples: no *_NUM_THREADS variables, so --threads decides."""
    thread_vars = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                   "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
    return {k: v for k, v in os.environ.items() if k not in thread_vars}


def case_threads(sz: Sizes) -> Result:
    """Wall time of short example runs with --threads 1, --threads 2 and the default, on the
    machine as it is ("quiet") and with one other CPU-bound process running ("busy")."""
    limit = ["--limit", str(sz.thread_limit)] if sz.thread_limit else []
    runs = [("two_layer", EXAMPLE, ["--iterations", str(sz.thread_iterations), *limit])]
    if sz.thread_cnn_images:
        runs.append(("cnn", CNN_EXAMPLE, ["--epochs", "1", "--limit", str(sz.thread_cnn_images)]))
    settings = {"t1": ["--threads", "1"], "t2": ["--threads", "2"], "default": []}
    env = _example_env()
    times: Times = {}
    notes: List[str] = []
    for load in ("quiet", "busy"):
        with busy_machine() if load == "busy" else contextlib.nullcontext():
            times[f"{load}/loadavg_start"] = os.getloadavg()[0]
            for name, script, extra in runs:
                if not script.exists():
                    notes.append(f"thread choice: {script.relative_to(REPO)} not found, skipped")
                    continue
                samples: Dict[str, list] = {k: [] for k in settings}
                for _ in range(max(sz.thread_repeats, 1)):
                    for key, flags in settings.items():
                        cmd = [sys.executable, str(script), *extra, "--no-progress", *flags]
                        t0 = time.perf_counter()
                        proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                                              stderr=subprocess.STDOUT, env=env, cwd=REPO,
                                              text=True)
                        samples[key].append(time.perf_counter() - t0)
                        if proc.returncode:
                            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n"
                                               f"{proc.stdout[-2000:]}")
                        if key == "default":
                            chosen = _THREADS_LINE.findall(proc.stdout)
                            if chosen:
                                times[f"{load}/{name}/chosen"] = float(chosen[-1])
                for key, walls in samples.items():
                    times[f"{load}/{name}/{key}"] = statistics.median(walls)
            times[f"{load}/loadavg_end"] = os.getloadavg()[0]
    commands = "; ".join(f"`{script.relative_to(REPO)} {' '.join(extra)} --no-progress`"
                         for _, script, extra in runs)
    notes.append(
        f"thread choice: process wall time (median of {max(sz.thread_repeats, 1)}, the three "
        f"settings interleaved) of {commands}, each with --threads 1, --threads 2 and no "
        "--threads (the default rule), run without *_NUM_THREADS variables; busy = while one "
        "pure-Python busy loop runs in another process (the rule measures the cores other "
        "programs keep busy over 0.25 s as each run starts)"
    )
    return times, notes


# ---- case 9: time to accuracy (long) ---------------------------------------------------------

_ACC = re.compile(r"test acc(?:uracy)?\W*(\d+(?:\.\d+)?)(\s*%)?", re.IGNORECASE)


def last_test_accuracy(output: str) -> Optional[float]:
    """The last 'test accuracy 0.9812' (or '98.12 %') an example printed, in percent."""
    found = _ACC.findall(output)
    if not found:
        return None
    value, percent = found[-1]
    return float(value) if percent or float(value) > 1 else 100 * float(value)


def case_accuracy(sz: Sizes) -> Result:
    """Wall time of `mnist_two_layer.py --preset fast` and `mnist_cnn.py`, with final accuracy."""
    times: Times = {}
    notes: List[str] = []
    runs = [
        ("two_layer_fast", EXAMPLE, ["--preset", "fast", "--no-progress"]),
        ("cnn", CNN_EXAMPLE, ["--no-progress"]),
    ]
    for name, script, extra in runs:
        if not script.exists():
            notes.append(f"time to accuracy: {script.relative_to(REPO)} not found, skipped")
            continue
        rss, wall, out = peak_rss([sys.executable, str(script), *extra])
        times[f"wall/{name}"] = wall
        acc = last_test_accuracy(out)
        if acc is not None:
            times[f"acc/{name}"] = acc
        notes.append(
            f"time to accuracy: {name}: `python {script.relative_to(REPO)} "
            f"{' '.join(extra)}`, wall {wall:.1f} s, peak RSS {rss:.0f} MiB, last test "
            f"accuracy printed: {f'{acc:.2f}%' if acc is not None else 'not found'}"
        )
    return times, notes


# ---- case 10: how much of the package one notebook step runs --------------------------------


def case_lines(sz: Sizes) -> Result:
    """The package lines and files one training step of the notebook's net executes (a count,
    the same at every size: benchmarks/lines.py)."""
    from lines import executed_lines

    files = executed_lines()
    per_file = ", ".join(f"{name} {len(ls)}" for name, ls in sorted(files.items()))
    times = {"lines": float(sum(len(ls) for ls in files.values())), "files": float(len(files))}
    return times, [f"package lines executed, per file: {per_file}"]


# ---- case: the fused ops of sequence models ---------------------------------------------------

SEQ_SHAPE = (32, 64, 128)  # (batch, context, width): a small transformer's activations


def case_seqops(sz: Sizes) -> Result:
    """Forward+backward of LayerNorm (with weight and bias), softmax over the last axis and
    exact GELU on one float32 (32, 64, 128) input, against PyTorch's (ms per call)."""
    from tinygrad_lite.nn import functional as F

    rng = np.random.default_rng(0)
    x = rng.standard_normal(SEQ_SHAPE).astype(np.float32)
    g = rng.standard_normal(SEQ_SHAPE).astype(np.float32)
    w, b = (rng.standard_normal(SEQ_SHAPE[-1]).astype(np.float32) for _ in range(2))
    width = SEQ_SHAPE[-1]
    ops_tl = {
        "layernorm": lambda x, w, b: F.layer_norm(x, width, w, b),
        "softmax": lambda x, w, b: F.softmax(x, -1),
        "gelu": lambda x, w, b: F.gelu(x),
    }
    notes = no_torch_note("sequence ops")
    notes.append(f"sequence ops: forward + backward (a random upstream gradient, a tensor over "
                 "one array for both: tl.from_numpy / torch.from_numpy) of one "
                 f"float32 {SEQ_SHAPE} input; LayerNorm with weight and bias, softmax(dim=-1), "
                 "exact (erf) GELU")
    leaves = [tl.Tensor(a, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)] if torch else []
    ops_torch = {} if torch is None else {
        "layernorm": lambda x, w, b: torch_F.layer_norm(x, (width,), w, b),
        "softmax": lambda x, w, b: torch_F.softmax(x, -1),
        "gelu": lambda x, w, b: torch_F.gelu(x),
    }
    # the upstream gradient, to each library as its own tensor over the same array
    g_tl, tg = tl.from_numpy(g), (torch.from_numpy(g) if torch is not None else None)
    number = max(1, sz.tiny_iterations // 20)
    times: Times = {}
    for name, op in ops_tl.items():

        def ours(op=op) -> None:
            for t in leaves:
                t.grad = None
            op(*leaves).backward(g_tl)

        fns: Dict[str, Callable[[], object]] = {"tinygrad_lite": ours}
        if torch is not None:

            def pytorch(op=ops_torch[name]) -> None:
                for t in theirs:
                    t.grad = None
                op(*theirs).backward(tg)

            fns["pytorch"] = pytorch
        times.update(renamed(interleaved_per_call(fns, number, sz), name + "/{}"))
    return times, notes


CASES = {
    "lines": case_lines,
    "step": case_step,
    "epoch": case_epoch,
    "cnn": case_cnn,
    "tiny": case_tiny,
    "chain": case_chain,
    "memory": case_memory,
    "load": case_load,
    "threads": case_threads,
    "accuracy": case_accuracy,
    "seqops": case_seqops,
}


# the sequence models' cases: benchmarks/seq_cases.py
from seq_cases import SEQ_CASES  # noqa: E402

CASES.update(SEQ_CASES)
