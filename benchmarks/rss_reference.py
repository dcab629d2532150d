"""The hand-written reference's counterpart of `examples/mnist_two_layer.py` (no flags), for the
memory case: the same data (the example's split, `examples.common.mnist.prepare_data`:
shuffled MNIST, 59,000 train images, dev and test, float32), then the notebook's gradient
descent from `examples.common.reference` in the column convention, then train/dev/test accuracy.

    python benchmarks/rss_reference.py --iterations 20
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository: examples.common

from examples.common import reference
from examples.common.mnist import prepare_data  # the example's data split

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "mnist_two_layer.py"


def load_example():
    spec = importlib.util.spec_from_file_location("mnist_two_layer", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iterations", type=int, default=2000)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    start = time.perf_counter()
    rng = np.random.RandomState(args.seed)
    data = prepare_data(None, rng, None, np.dtype(args.dtype))
    X, y = data["train"]
    # the notebook's layout: one image per column (a transposed view, no copy)
    params = reference.gradient_descent(X.T, y, args.iterations, 0.1, rng=rng)
    accs = []
    for name in ("train", "dev", "test"):
        Xs, ys = data[name]
        predictions = reference.get_predictions(reference.forward_prop(*params, Xs.T)[3])
        accs.append(f"{name} accuracy {reference.get_accuracy(predictions, ys):.4f}")
    print("  ".join(accs) + f"  wall time {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
