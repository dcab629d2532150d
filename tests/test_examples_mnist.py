"""Smoke test of examples/mnist_two_layer.py and examples/predict.py through their command line.

Small runs on the shipped MNIST (--limit 300, a few iterations): accuracy above chance, --save
then --load / predict.py giving the same predictions, --plot writing a PNG, --check-manual at
rounding level, and bad input exiting with status 2 and one line on stderr.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lite.checkpoint import load_model
from tinygrad_lite.data import load_mnist, to_float

pytest.importorskip("tqdm")
pytest.importorskip("matplotlib")
pytest.importorskip("pandas")

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ROOT / "examples" / "mnist_two_layer.py"
PREDICT = ROOT / "examples" / "predict.py"
SMALL = ["--limit", "300", "--no-progress"]


def run(script: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(script), *map(str, args)],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )


def accuracies(stdout: str) -> dict:
    m = re.search(r"train accuracy (\S+)\s+dev accuracy (\S+)\s+test accuracy (\S+)", stdout)
    assert m, stdout
    return dict(zip(("train", "dev", "test"), (float(v) for v in m.groups())))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One small run with everything switched on: Adam on mini-batches, --check-manual,
    --save and --plot."""
    out = tmp_path_factory.mktemp("mnist")
    model, plot = out / "model.npz", out / "run.png"
    proc = run(TRAIN, *SMALL, "--hidden", "32", "--optimizer", "adam", "--batch-size", "50",
               "--epochs", "4", "--check-manual", "10", "--save", model, "--plot", plot)
    assert proc.returncode == 0, proc.stderr
    return {"dir": out, "model": model, "plot": plot, "stdout": proc.stdout}


def test_training_beats_chance_and_reports(trained):
    out = trained["stdout"]
    acc = accuracies(out)
    assert acc["test"] > 0.5 and acc["train"] > 0.5, out  # chance is 0.1
    assert "784-32-10" in out
    assert re.search(r"wall time [\d.]+ s", out)
    assert out.count("Iteration: ") == 4  # one line per epoch


def test_check_manual_is_at_rounding_level(trained):
    diffs = [float(d) for d in re.findall(r"gradient difference (\S+)", trained["stdout"])]
    assert len(diffs) == 3  # iterations 0, 10, 20 of 24
    assert max(diffs) < 1e-5  # float32; the gradients themselves are ~1e-1


def test_check_manual_float64_notebook_run():
    proc = run(TRAIN, *SMALL, "--dtype", "float64", "--iterations", "3", "--check-manual", "1")
    assert proc.returncode == 0, proc.stderr
    diffs = [float(d) for d in re.findall(r"gradient difference (\S+)", proc.stdout)]
    assert len(diffs) == 3 and max(diffs) < 1e-13
    assert "784-10-10" in proc.stdout and "notebook init" in proc.stdout
    assert "Iteration: 0  Accuracy: " in proc.stdout


def test_plot_is_a_png(trained):
    assert trained["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert trained["plot"].stat().st_size > 20_000
    assert not list(trained["dir"].glob(".*.tmp"))  # atomic writes leave no temporaries


def test_load_and_predict_reproduce_the_saved_model(trained):
    images, labels = load_mnist("test")
    model, arch = load_model(trained["model"])
    assert arch["hidden"] == [32] and arch["in_features"] == 784
    expected = model(to_float(images[:40])).data.argmax(axis=1)

    # --load, no further training: the same test accuracy as the run that saved it
    proc = run(TRAIN, *SMALL, "--load", trained["model"], "--iterations", "0")
    assert proc.returncode == 0, proc.stderr
    assert accuracies(proc.stdout)["test"] == accuracies(trained["stdout"])["test"]

    # predict.py on a Kaggle-style test.csv and on PNGs (one as it is, one large and inverted)
    from PIL import Image

    csv = trained["dir"] / "test.csv"
    header = ",".join(f"pixel{i}" for i in range(784))
    np.savetxt(csv, images[:40].reshape(40, -1), fmt="%d", delimiter=",", header=header,
               comments="")
    Image.fromarray(images[0]).save(trained["dir"] / "digit.png")
    big = np.kron(255 - images[1], np.ones((4, 4), dtype=np.uint8))
    Image.fromarray(big).save(trained["dir"] / "paper.png")
    sub = trained["dir"] / "submission.csv"
    proc = run(PREDICT, trained["model"], csv, "--out", sub)
    assert proc.returncode == 0, proc.stderr
    rows = sub.read_text().splitlines()
    assert rows[0] == "ImageId,Label"
    assert rows[1:] == [f"{i},{d}" for i, d in enumerate(expected, start=1)]

    proc = run(PREDICT, trained["model"], trained["dir"] / "digit.png",
               trained["dir"] / "paper.png")
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.splitlines()
    assert re.match(rf".*digit\.png: {expected[0]} \(probability", first)
    assert "inverted" in second and "fitted from 112x112" in second


def test_non_finite_loss_stops_with_the_iteration():
    proc = run(TRAIN, *SMALL, "--iterations", "20", "--lr", "1e30")
    assert proc.returncode == 1
    assert re.fullmatch(r".*loss became (nan|inf) at iteration \d+; training stopped.*\n",
                        proc.stderr), proc.stderr
    assert "Traceback" not in proc.stderr and "train accuracy" not in proc.stdout


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, trained):
    d = tmp_path_factory.mktemp("bad")
    text = d / "notes.txt"
    text.write_text("not data\n")
    bad_csv = d / "train.csv"
    bad_csv.write_text("label,pixel0\n1,0\n")
    other = d / "other.npz"  # a checkpoint of another architecture (784-16-10)
    proc = run(TRAIN, *SMALL, "--hidden", "16", "--iterations", "1", "--save", other)
    assert proc.returncode == 0, proc.stderr
    return {"dir": d, "text": text, "csv": bad_csv, "other": other, "model": trained["model"]}


def bad_cases(f: dict) -> list:
    d = f["dir"]
    return [
        (TRAIN, "--data", d / "missing"),
        (TRAIN, "--data", f["text"]),
        (TRAIN, "--data", f["csv"]),
        (TRAIN, "--load", f["text"]),
        (TRAIN, "--load", f["other"], "--hidden", "32"),
        (TRAIN, "--lr", "0"),
        (TRAIN, "--lr", "-0.1"),
        (TRAIN, "--lr", "nan"),
        (TRAIN, "--optimizer", "adam", "--batch-size", "0"),
        (TRAIN, "--batch-size", "64"),  # gd is full batch
        (TRAIN, "--iterations", "-3"),
        (TRAIN, "--iterations", "0"),
        (TRAIN, "--epochs", "x"),
        (TRAIN, "--hidden", "0"),
        (TRAIN, "--hidden", "8", "8", "--check-manual", "5"),
        (TRAIN, "--save", d / "no" / "such" / "dir.npz"),
        (TRAIN, "--optimizer", "rmsprop"),
        (PREDICT, d / "missing.npz", f["text"]),
        (PREDICT, f["model"], f["text"]),
        (PREDICT, f["model"], d / "missing.png"),
        (PREDICT, f["model"], f["csv"]),
        (PREDICT, f["text"], f["csv"]),
    ]


def argv(script: Path, args: tuple) -> list:
    return [*map(str, args), *(SMALL[:2] if script == TRAIN else [])]


def check_one_line_error(code, err: str, what: str) -> None:
    assert code == 2, what
    assert "Traceback" not in err, what
    assert len(err.strip().splitlines()) == 1 and "error: " in err, what


def test_bad_input_exits_2_with_one_line_subprocess(bad_files):
    """A sample through real processes (started together: each is mostly interpreter start-up)."""
    cases = [c for i, c in enumerate(bad_cases(bad_files)) if i in (0, 2, 4, 5, 18, 21)]
    procs = [
        subprocess.Popen([sys.executable, str(script), *argv(script, args)], cwd=ROOT, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for script, *args in cases
    ]
    for (script, *args), proc in zip(cases, procs):
        _, err = proc.communicate(timeout=120)
        check_one_line_error(proc.returncode, err, f"{script.name} {args}: {err!r}")


def test_bad_input_exits_2_with_one_line(bad_files, capsys, monkeypatch):
    """Every case, through the scripts' main() in this process."""
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    import mnist_two_layer
    import predict

    mains = {TRAIN: mnist_two_layer.main, PREDICT: predict.main}
    for script, *args in bad_cases(bad_files):
        capsys.readouterr()
        try:
            code = mains[script](argv(script, args))
        except SystemExit as e:
            code = e.code
        out, err = capsys.readouterr()
        check_one_line_error(code, err, f"{script.name} {args}: {err!r}")
