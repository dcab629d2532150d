"""examples.common.cli: the command-line conventions the examples share -- exit codes, BLAS threads,
output-path checks, the progress bar and the divergence check."""

from __future__ import annotations

import io
import os
import signal
import sys
import time
import warnings

import numpy as np
import pytest

import tinygrad_lite as tl
from examples.common import cli
from examples.common.checkpoint import CheckpointError
from examples.common.models import ArchitectureError
from tinygrad_lite.data import DataError

# ---- exit codes ------------------------------------------------------------------------------


def run_body(body, capsys, *argv: str):
    parser = cli.OneLineParser(prog="prog")
    parser.add_argument("--x", type=cli.positive(int))
    cli.add_threads_flag(parser)
    code = cli.run(parser, body, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def raising(exc):
    def body(args):
        raise exc

    return body


@pytest.mark.parametrize(
    "exc, code, text",
    [
        (cli.UsageError("--x is odd"), 2, "prog: error: --x is odd (see --help)"),
        (DataError("f.csv: line 3: bad"), 2, "prog: error: f.csv: line 3: bad"),
        (CheckpointError("m.npz: not a zip"), 2, "prog: error: m.npz: not a zip"),
        (ArchitectureError("too big"), 2, "prog: error: too big"),
        (MemoryError("Unable to allocate 1.2 TiB"), 2, "prog: error: out of memory (Unable"),
        (PermissionError(13, "Permission denied", "x.npz"), 2,
         "prog: error: x.npz: Permission denied"),
        (cli.TrainingDiverged("loss became nan at iteration 3"), 1, "prog: loss became nan"),
        (KeyboardInterrupt(), 130, "prog: interrupted"),
    ],
)
def test_exit_codes_and_one_line(capsys, exc, code, text):
    got, out, err = run_body(raising(exc), capsys)
    assert got == code
    assert err.startswith(text) and err.count("\n") == 1, err


def test_argparse_errors_are_one_line_with_status_2(capsys):
    with pytest.raises(SystemExit) as e:
        run_body(lambda args: 0, capsys, "--x", "-1")
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err == "prog: error: argument --x: must be positive and finite, got -1 (see --help)\n"


def test_sigterm_ends_the_run_with_143(capsys):
    def body(args):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # the handler runs at the next bytecode
            pass
        raise AssertionError("SIGTERM did not interrupt")

    previous = signal.getsignal(signal.SIGTERM)
    code, out, err = run_body(body, capsys)
    assert code == 143 and err == "prog: terminated (SIGTERM)\n"
    assert signal.getsignal(signal.SIGTERM) == previous  # put back


def test_a_failure_after_a_save_says_the_model_is_kept(capsys):
    def body(args):
        cli.note_saved("model.npz")
        raise MemoryError()

    code, out, err = run_body(body, capsys)
    assert code == 2
    assert err.startswith("prog: error: out of memory;")
    assert "(the trained model was saved first: model.npz)" in err and err.count("\n") == 1
    assert run_body(lambda args: 0, capsys)[0] == 0  # the note does not outlive the run


def test_seed_must_fit_numpy():
    assert cli.seed("0") == 0 and cli.seed(str(2**32 - 1)) == 2**32 - 1
    for bad in ("-1", str(2**32), "x"):
        with pytest.raises(Exception, match="must be|expected"):
            cli.seed(bad)


# ---- BLAS threads ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cores, load, threads",
    [(1, 0.0, 1), (2, 0.0, 2), (2, 0.4, 2), (2, 1.0, 1), (2, 5.0, 1), (4, 0.6, 3), (4, 2.0, 2),
     (8, 3.9, 4), (8, 9.0, 1)],
)
def test_default_threads_rule(cores, load, threads):
    assert cli.default_threads(cores, load) == threads


def test_the_rule_sees_a_busy_core_now():
    """Another CPU-bound program counts as soon as it runs (the 1-minute load average would
    take a minute to see it, and a minute to forget it)."""
    import subprocess

    loop = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        busy = cli.busy_cores()
    finally:
        loop.kill()
        loop.wait()
    assert 0.6 <= busy <= os.cpu_count() + 0.5


def test_threads_are_set_at_run_time_and_put_back(capsys, monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return [p["num_threads"] for p in threadpoolctl.threadpool_info()
                if p["user_api"] == "blas"]

    before, tl_before = blas_threads(), tl.get_num_threads()
    if not before:
        pytest.skip("numpy's BLAS is not visible to threadpoolctl")
    seen = {}

    def body(args):
        seen["threads"], seen["text"] = blas_threads(), args.threads_text
        seen["tl"] = tl.get_num_threads()

    code, _, _ = run_body(body, capsys, "--threads", "3")
    assert code == 0 and set(seen["threads"]) == {1} and seen["tl"] == 3  # BLAS on 1, ours on 3
    assert "3" in seen["text"]
    assert blas_threads() == before and tl.get_num_threads() == tl_before
    # the default rule reads the busy cores as the run starts: that reading is fixed here (the
    # live one changes between two reads on a shared machine)
    cores = cli.default_threads(load=0.0)  # no core busy: all usable cores
    reads = []
    for busy in (0.0, cores - 1.0):
        monkeypatch.setattr(cli, "busy_cores", lambda *a, b=busy: reads.append(b) or b)
        run_body(body, capsys)
        expected = cli.default_threads(cores, busy)
        assert reads[-1:] == [busy] and set(seen["threads"]) == {1} and seen["tl"] == expected
        assert str(expected) in seen["text"]
        assert blas_threads() == before and tl.get_num_threads() == tl_before
    assert reads == [0.0, cores - 1.0]  # read once per run, as it starts


def test_the_rule_is_in_help(capsys):
    parser = cli.OneLineParser(prog="prog")
    cli.add_threads_flag(parser)
    assert "load average" in " ".join(parser.format_help().split())


# ---- output paths ----------------------------------------------------------------------------


def refused(inputs, outputs, match):
    with pytest.raises(cli.UsageError, match=match):
        cli.check_paths(inputs, outputs)


def test_an_output_may_not_be_an_input_or_another_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = tmp_path / "model.npz"
    model.write_bytes(b"weights")
    (tmp_path / "sub").mkdir()
    cli.check_paths({"MODEL": [model]}, {"--out": [tmp_path / "out.csv"], "--plot": [None]})
    refused({"MODEL": [model]}, {"--out": ["model.npz"]}, "would overwrite the input MODEL")
    refused({"MODEL": [model]}, {"--out": ["sub/../model.npz"]}, "would overwrite")
    link = tmp_path / "link.npz"  # an output through a symlink to an input
    link.symlink_to(model)
    refused({"MODEL": [model]}, {"--out": [link]}, "would overwrite")
    refused({"MODEL": [link]}, {"--out": [model]}, "would overwrite")
    hard = tmp_path / "hard.npz"  # the same file under another name
    os.link(model, hard)
    refused({"MODEL": [model]}, {"--out": [hard]}, "would overwrite")
    refused({}, {"--save": ["m.npz"], "--plot": [tmp_path / "m.npz"]},
            "--plot .*m.npz is also the output of --save m.npz")


def test_outputs_must_be_writable_files_in_existing_folders(tmp_path, monkeypatch):
    refused({}, {"--save": [tmp_path]}, "is a folder")
    refused({}, {"--save": [tmp_path / "no" / "m.npz"]}, "does not exist")
    (tmp_path / "file").write_text("")
    refused({}, {"--save": [tmp_path / "file" / "m.npz"]}, "does not exist")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cli.tempfile, "mkstemp", refuse)  # as a read-only folder would
    refused({}, {"--save": [tmp_path / "m.npz"]}, "cannot write in .*Permission denied")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # the probe left nothing


# ---- divergence ------------------------------------------------------------------------------


def test_loss_watch():
    watch = cli.LossWatch()
    for i, loss in enumerate([2.3, 40.0, 2.0, 22_000.0]):  # spikes below the bound are allowed
        watch.check(i, loss)
    with pytest.raises(cli.TrainingDiverged, match=r"loss became 2.4e\+04 at iteration 4"):
        watch.check(4, 24_000.0)  # > 10,000 x 2.3
    with pytest.raises(cli.TrainingDiverged, match="loss became nan at iteration 5"):
        watch.check(5, float("nan"))
    small = cli.LossWatch()  # a loaded, trained model starts near 0: the bound is 10,000 x 1
    small.check(0, 0.01)
    small.check(1, 9_999.0)
    with pytest.raises(cli.TrainingDiverged):
        small.check(2, 10_001.0)
    with pytest.raises(cli.TrainingDiverged, match="inf"):
        cli.LossWatch().check(0, float("inf"))


# ---- progress bar and messages ---------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_progress_bar_when_stderr_is_not_a_terminal(capsys):
    items = list(cli.progress(range(5), desc="x"))
    cli.say("a line")
    out, err = capsys.readouterr()
    assert items == list(range(5)) and err == "" and out == "a line\n"


def test_progress_bar_on_a_terminal_keeps_printed_lines_whole(monkeypatch, capsys):
    pytest.importorskip("tqdm")
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    for i in cli.progress(range(3), desc="training"):
        cli.say(f"check-manual iteration {i}")
    out = capsys.readouterr().out
    assert out.splitlines() == [f"check-manual iteration {i}" for i in range(3)]
    assert "training" in terminal.getvalue()
    assert list(cli.progress(range(3), enabled=False)) == [0, 1, 2]  # --no-progress


def test_numpy_overflow_warnings_are_left_to_the_loss_watch(capsys):
    seen = {}

    def body(args):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a RuntimeWarning would raise here
            seen["product"] = np.float32(1e38) * np.float32(10)

    assert run_body(body, capsys)[0] == 0 and np.isinf(seen["product"])


def test_a_failure_closes_the_progress_bar_before_its_message(monkeypatch, capsys):
    pytest.importorskip("tqdm")
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    def body(args):
        for i in cli.progress(range(10), desc="training"):
            if i == 3:
                raise cli.TrainingDiverged("loss became nan at iteration 3")

    code, _, _ = run_body(body, capsys)
    assert code == 1
    text = terminal.getvalue()
    assert text.rstrip("\n").endswith("prog: loss became nan at iteration 3")
    assert "training" in text.split("prog:")[0]
