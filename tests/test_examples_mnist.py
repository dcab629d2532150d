"""Smoke test of examples/mnist_two_layer.py and examples/predict.py through their command line.

Small runs on the shipped MNIST (--limit 300, a few iterations): accuracy above chance, --save
then --load / predict.py giving the same predictions, --plot writing a PNG, --check-manual at
rounding level, a clean log, and bad input exiting with status 2 and one line on stderr --
including every case of "the command lines never lose work".
"""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fake_files import png_header_only

import tinygrad_lite as tl
from examples.common.checkpoint import load_model, save_checkpoint
from examples.common.models import build_cnn, build_mlp, cnn_arch, mlp_arch
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


def test_same_seed_same_run_with_the_default_init():
    """--hidden 16 uses nn.Linear's (kaiming) init: --seed must fix it too, so two runs with
    the same seed print the same accuracies (a different seed, different ones)."""
    args = [*SMALL, "--hidden", "16", "--iterations", "3", "--threads", "1"]
    runs = [run(TRAIN, *args, "--seed", seed) for seed in ("3", "3", "4")]
    assert all(proc.returncode == 0 for proc in runs), [proc.stderr for proc in runs]
    first, again, other = (accuracies(proc.stdout) for proc in runs)
    assert first == again
    assert first != other


def test_check_manual_is_at_rounding_level(trained):
    diffs = [float(d) for d in re.findall(r"gradient difference (\S+)", trained["stdout"])]
    assert len(diffs) == 3  # iterations 0, 10, 20 of 24
    assert max(diffs) < 1e-5  # float32; the gradients themselves are ~1e-1


def test_check_manual_float64_notebook_run_and_a_clean_log():
    """Progress bar on (no --no-progress) but stderr is a pipe: no bar is drawn, and the
    --check-manual lines come without blank lines around them."""
    proc = run(TRAIN, "--limit", "300", "--dtype", "float64", "--iterations", "3",
               "--check-manual", "1", "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no bar updates in a log
    lines = proc.stdout.splitlines()
    assert all(line.strip() for line in lines), proc.stdout
    diffs = [float(d) for d in re.findall(r"gradient difference (\S+)", proc.stdout)]
    assert len(diffs) == 3 and max(diffs) < 1e-13
    assert "784-10-10" in proc.stdout and "notebook init" in proc.stdout
    assert "Iteration: 0  Accuracy: " in proc.stdout
    assert "threads: 1 (--threads; BLAS on 1" in proc.stdout


def test_every_flag_stays():
    """The flags mnist_two_layer.py had before it moved its machinery to examples/common."""
    proc = run(TRAIN, "--help")
    flags = set(re.findall(r"(--[a-z-]+)", proc.stdout))
    before = {"--preset", "--data", "--hidden", "--init", "--optimizer", "--lr", "--schedule",
              "--iterations", "--epochs", "--batch-size", "--limit", "--seed", "--dtype",
              "--log-every", "--check-manual", "--save", "--load", "--plot", "--graph",
              "--no-progress", "--help"}
    assert before | {"--threads"} <= flags, before - flags
    assert "load average" in proc.stdout  # the rule for the default number of threads


def test_the_example_reads_like_the_notebook():
    """The notebook's steps, in order, in the first screenful; the file well under 200 lines."""
    text = TRAIN.read_text()
    assert len(text.splitlines()) < 120
    screen = "\n".join(text.splitlines()[:80])
    steps = ["rng.permutation(len(images))", "images[:n_dev]",
             "model = nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10))",
             "nn.init.notebook_uniform_(p, rng)", "for i in log.range():", "logits = model(x)",
             "loss.backward()", "optimizer.step()", "if i % log.every == 0:"]
    body = screen[screen.index("def train("):]
    at = 0
    for step in steps:  # each after the one before
        at = body.find(step, at)
        assert at >= 0, f"{step!r} missing or out of order"
    assert "argparse" not in text and "order=\"F\"" not in text


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


@pytest.mark.parametrize("lr", ["1e9", "1e30"])
def test_a_diverging_loss_stops_the_run(lr, tmp_path):
    """--lr 1e9 kept losses of 1e14 finite and exited 0 with weights of 3e15; now it stops, as a
    loss that is not finite does: status 1, one line naming the iteration, nothing saved."""
    proc = run(TRAIN, *SMALL, "--iterations", "20", "--lr", lr, "--save", tmp_path / "m.npz")
    assert proc.returncode == 1
    assert re.fullmatch(r".*loss became \S+ at iteration \d+.*training stopped.*\n",
                        proc.stderr), proc.stderr
    assert "Traceback" not in proc.stderr and "train accuracy" not in proc.stdout
    assert not (tmp_path / "m.npz").exists()


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
    files = {"dir": d, "text": text, "csv": bad_csv, "other": other, "model": trained["model"]}

    cnn = d / "cnn.npz"  # a CNN checkpoint, for mnist_two_layer.py --load
    save_checkpoint(cnn, build_cnn(channels=[2, 4], hidden=8), cnn_arch((28, 28), [2, 4], 8))
    mlp = build_mlp(784, [10], 10)
    for name, arch in (("nan", {**mlp_arch(784, [10], 10), "hidden": [float("nan")]}),
                       ("huge", {**mlp_arch(784, [10], 10), "hidden": [2**40]}),
                       ("kernel0", {**cnn_arch(), "kernel_size": 0})):
        save_checkpoint(d / f"{name}.npz", mlp, arch)
        files[name] = d / f"{name}.npz"
    images, labels = load_mnist("test")
    header = "label," + ",".join(f"pixel{i}" for i in range(784))
    rows = np.concatenate([labels[:5, None], images[:5].reshape(5, -1)], axis=1)
    np.savetxt(d / "five.csv", rows, fmt="%d", delimiter=",", header=header, comments="")
    test_csv = d / "test.csv"  # a well-formed Kaggle test.csv
    np.savetxt(test_csv, images[:5].reshape(5, -1), fmt="%d", delimiter=",", header=header[6:],
               comments="")
    bomb = d / "bomb"  # an IDX folder whose images declare (10**7, 28, 28): 7.8 GB
    bomb.mkdir()
    huge = bytes([0, 0, 8, 3]) + np.asarray([10**7, 28, 28], ">u4").tobytes()
    (bomb / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(huge + bytes(10_000)))
    (bomb / "train-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 1, 0]))
    png_header_only(d / "huge.png", 20000, 20000)
    return {**files, "cnn": cnn, "five": d / "five.csv", "test_csv": test_csv, "bomb": bomb,
            "huge_png": d / "huge.png"}


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
        # once tracebacks, where the promise is exit 2 and one line
        (TRAIN, "--load", f["cnn"]),
        (TRAIN, "--data", f["five"]),  # 2-9 rows: no dev set
        (TRAIN, "--seed", "-1"),
        (TRAIN, "--graph", d / "graph"),  # no suffix
        (TRAIN, "--load", f["nan"]),
        (TRAIN, "--load", f["huge"]),
        (PREDICT, f["kernel0"], f["test_csv"]),
        (PREDICT, f["nan"], f["test_csv"]),
        (PREDICT, f["model"], f["test_csv"], "--out", d),  # a directory
        (PREDICT, f["model"], f["huge_png"]),  # 20000x20000: Pillow's DecompressionBombError
        (TRAIN, "--data", f["bomb"]),  # IDX gzip declaring gigabytes
        (TRAIN, "--hidden", "100000000"),
        # outputs that overwrite inputs or each other
        (PREDICT, f["model"], f["test_csv"], "--out", f["model"]),
        (PREDICT, f["model"], f["test_csv"], "--out", f["test_csv"]),
        (TRAIN, "--save", d / "m.npz", "--plot", d / "m.npz"),
        (TRAIN, "--load", f["other"], "--save", f["other"]),
        (TRAIN, "--graph", d / "g.svg", "--save", d / "g.dot"),
        (TRAIN, "--data", f["five"], "--plot", f["five"]),
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
    before = {p: p.read_bytes() for p in bad_files["dir"].iterdir() if p.is_file()}
    for script, *args in bad_cases(bad_files):
        capsys.readouterr()
        try:
            code = mains[script](argv(script, args))
        except SystemExit as e:
            code = e.code
        out, err = capsys.readouterr()
        check_one_line_error(code, err, f"{script.name} {args}: {err!r}")
        assert "model:" not in out and "wrote" not in out, (args, out)  # refused before work
    after = {p: p.read_bytes() for p in bad_files["dir"].iterdir() if p.is_file()}
    assert after == before  # nothing overwritten, nothing left behind


@pytest.fixture
def mains(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    import mnist_two_layer
    import predict

    def call(script: Path, *args) -> int:
        main = {TRAIN: mnist_two_layer.main, PREDICT: predict.main}[script]
        try:
            return main([*map(str, args)])
        except SystemExit as e:
            return e.code

    return call


def test_the_model_is_saved_before_the_final_evaluation(mains, tmp_path, capsys, monkeypatch):
    """An evaluation that runs out of memory used to crash before the save: now the model is on
    disk first, kept, and the one-line error says so."""
    from examples.common import mnist

    def out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 30.0 GiB")

    monkeypatch.setattr(mnist, "accuracy", out_of_memory)
    model = tmp_path / "m.npz"
    code = mains(TRAIN, *SMALL, "--iterations", "3", "--save", model)
    out, err = capsys.readouterr()
    check_one_line_error(code, err, err)
    assert "out of memory" in err and f"saved first: {model}" in err
    assert load_model(model)[1]["trained"]["iterations"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_an_unwritable_output_is_found_before_training(mains, tmp_path, capsys, monkeypatch):
    """Root may write anywhere, so the folder's refusal is simulated: atomic_write needs a new
    file next to the output, and the check tries exactly that before any work."""
    from examples.common import cli

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cli.tempfile, "mkstemp", refuse)
    code = mains(TRAIN, *SMALL, "--save", tmp_path / "m.npz")
    out, err = capsys.readouterr()
    check_one_line_error(code, err, err)
    assert "cannot write in" in err and "Permission denied" in err and "model:" not in out


def test_unreadable_inputs_are_one_line_errors(mains, trained, tmp_path, capsys, monkeypatch):
    """PermissionError on --data, --load and predict's inputs (simulated: tests run as root)."""
    from PIL import Image

    images, labels = load_mnist("test")
    csv = tmp_path / "train.csv"
    header = "label," + ",".join(f"pixel{i}" for i in range(784))
    rows = np.concatenate([labels[:20, None], images[:20].reshape(20, -1)], axis=1)
    np.savetxt(csv, rows, fmt="%d", delimiter=",", header=header, comments="")
    png = tmp_path / "d.png"
    Image.fromarray(images[0]).save(png)
    locked = {str(csv), str(trained["model"]), str(png)}
    real_open = open

    def refusing_open(file, *args, **kwargs):
        if str(file) in locked:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refusing_open)
    for script, *args in ((TRAIN, "--data", csv), (TRAIN, "--load", trained["model"]),
                          (PREDICT, trained["model"], png)):
        capsys.readouterr()
        code = mains(script, *args)
        out, err = capsys.readouterr()
        check_one_line_error(code, err, f"{args}: {err}")
        assert "cannot read (Permission denied)" in err, err


def test_predict_reads_16_bit_pngs_centres_28x28_digits_and_takes_cnns(trained, tmp_path):
    from PIL import Image

    images, _ = load_mnist("test")
    seven = images[0]
    model, _ = load_model(trained["model"])
    expected = int(model(to_float(seven[None])).data.argmax())
    Image.fromarray(seven.astype(np.uint16) * 257).save(tmp_path / "d16.png")
    corner = np.zeros((28, 28), np.uint8)  # the same 7, drawn small in the top-left corner
    corner[:14, :14] = np.asarray(Image.fromarray(seven[4:24, 4:24]).resize((14, 14)))
    Image.fromarray(corner).save(tmp_path / "corner.png")
    proc = run(PREDICT, trained["model"], tmp_path / "d16.png", tmp_path / "corner.png")
    assert proc.returncode == 0, proc.stderr
    sixteen, moved = proc.stdout.splitlines()
    assert re.match(rf".*d16\.png: {expected} \(probability \S+\)$", sixteen), sixteen
    assert re.match(rf".*corner\.png: {expected} .*re-centred", moved), moved

    # a CNN checkpoint: its architecture record says what to build (batch norm, eval mode)
    tl.manual_seed(0)
    cnn = build_cnn(channels=[2, 4], hidden=8)
    save_checkpoint(tmp_path / "cnn.npz", cnn, cnn_arch((28, 28), [2, 4], 8))
    cnn.eval()
    digit = int(cnn(to_float(seven[None])).data.argmax())
    proc = run(PREDICT, tmp_path / "cnn.npz", tmp_path / "d16.png")
    assert proc.returncode == 0, proc.stderr
    assert re.match(rf".*d16\.png: {digit} \(probability", proc.stdout), proc.stdout
