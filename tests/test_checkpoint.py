"""examples.common.checkpoint and examples.common.models: .npz weights + architecture JSON, the
one model builder, atomic writes (permissions, symlinks, SIGTERM), one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import tinygrad_lite as tl
from examples.common.checkpoint import (
    ARCH_KEY,
    CheckpointError,
    load_model,
    save_checkpoint,
)
from examples.common.models import (
    ArchitectureError,
    arch_of,
    build_cnn,
    build_mlp,
    check_size,
    cnn_arch,
    count_parameters,
    describe,
    from_arch,
    mlp_arch,
)
from tinygrad_lite import nn
from tinygrad_lite.io.atomic import atomic_write


def test_round_trip_gives_the_same_model_and_outputs(tmp_path):
    arch = mlp_arch(12, [7, 5], 3, dtype=np.float64)
    assert describe(arch) == "12-7-5-3 MLP"
    tl.manual_seed(0)
    model = from_arch(arch)
    arch["trained"] = {"seed": 0, "note": "extra keys are kept"}
    path = tmp_path / "m.npz"
    save_checkpoint(path, model, arch)
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]  # exactly that name, no temporaries

    saved = tl.load(path)  # a checkpoint is tl.save's file: the state dict and the record
    assert saved.pop(ARCH_KEY) == arch
    assert list(saved) == list(model.state_dict())
    loaded, arch2 = load_model(path)
    assert arch2 == arch
    x = np.random.default_rng(1).random((4, 12))
    np.testing.assert_array_equal(loaded(tl.Tensor(x)).data, model(tl.Tensor(x)).data)
    assert loaded[0].weight.dtype == np.float64
    with np.load(path, allow_pickle=False) as npz:  # plain numpy reads it, no pickle
        np.testing.assert_array_equal(npz["0.weight"], model.state_dict()["0.weight"])


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")

    def fail(f):
        f.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, fail)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]
    atomic_write(path, lambda f: f.write(b"new"))
    assert path.read_bytes() == b"new"


def one_line_error(path, match):
    with pytest.raises(CheckpointError, match=match) as info:
        load_model(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_errors_name_the_file(tmp_path):
    one_line_error(tmp_path / "missing.npz", "not found")
    text = tmp_path / "t.npz"
    text.write_text("hello")
    one_line_error(text, "not a zip")
    npy = tmp_path / "a.npy"
    np.save(npy, np.zeros(3))
    one_line_error(npy, "single .npy")
    plain = tmp_path / "plain.npz"
    np.savez(plain, w=np.zeros(3))
    one_line_error(plain, "not a tinygrad_lite checkpoint")
    bad_json = tmp_path / "j.npz"
    np.savez(bad_json, **{ARCH_KEY: np.array("{nope")})  # an older checkpoint: JSON in an array
    one_line_error(bad_json, "not valid JSON")
    not_a_record = tmp_path / "r.npz"
    tl.save({ARCH_KEY: [1, 2]}, not_a_record)
    one_line_error(not_a_record, "architecture entry is not a JSON object")
    bad_arch = tmp_path / "k.npz"
    tl.save({ARCH_KEY: {"kind": "rnn"}}, bad_arch)
    one_line_error(bad_arch, "unsupported architecture kind 'rnn'")
    no_field = tmp_path / "f.npz"
    tl.save({ARCH_KEY: {"kind": "cnn"}}, no_field)
    one_line_error(no_field, "without the field")


def test_a_checkpoint_written_by_np_savez_still_loads(tmp_path):
    """Checkpoints from before tl.save kept structure: arrays and the record as JSON."""
    model = build_mlp(3, [4], 2)
    path = tmp_path / "old.npz"
    np.savez(path, **model.state_dict(), **{ARCH_KEY: np.array(json.dumps(arch_of(model)))})
    loaded, arch = load_model(path)
    assert arch["hidden"] == [4]
    np.testing.assert_array_equal(loaded[0].weight.data, model[0].weight.data)


def test_unreadable_checkpoint_is_a_one_line_error(tmp_path, monkeypatch):
    """Tests run as root, for whom chmod 000 changes nothing: make open() refuse instead."""
    path = tmp_path / "m.npz"
    save_checkpoint(path, build_mlp(2, [2], 2), mlp_arch(2, [2], 2))
    real_open = open

    def refusing_open(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refusing_open)
    one_line_error(path, "cannot read \\(Permission denied\\)")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"hidden": [float("nan")]}, "hidden width must be an integer, got nan"),
        ({"hidden": [2**40]}, "more than this machine's"),
        ({"hidden": [10.0]}, "must be an integer"),
        ({"hidden": [True]}, "must be an integer"),
        ({"hidden": "10"}, "list of widths"),
        ({"in_features": -1}, "in_features must be >= 1"),
        ({"activation": "gelu"}, "activation must be one of"),
        ({"dtype": "int8"}, "float32 or float64"),
    ],
)
def test_malformed_mlp_architectures_are_refused_before_allocating(tmp_path, change, message):
    path = tmp_path / "m.npz"
    save_checkpoint(path, build_mlp(784, [10], 10), {**mlp_arch(784, [10], 10), **change})
    one_line_error(path, message)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"kernel_size": 0}, "kernel_size must be >= 1"),
        ({"kernel_size": 2}, "kernel_size must be odd"),
        ({"kernel_size": 31}, "at most the image side 28"),
        ({"channels": [8] * 6}, "leave no pixel"),
        ({"channels": []}, "non-empty"),
        ({"dropout": 1.0}, "dropout must be a number in"),
        ({"dropout": float("nan")}, "dropout must be a number in"),
        ({"image_shape": [28]}, "image_shape"),
        ({"hidden": 2**40}, "more than this machine's"),
    ],
)
def test_malformed_cnn_architectures_are_refused(tmp_path, change, message):
    path = tmp_path / "c.npz"
    save_checkpoint(path, build_cnn(channels=[2, 4], hidden=8), {**cnn_arch(), **change})
    one_line_error(path, message)


def test_cnn_checkpoints_describe_themselves(tmp_path):
    tl.manual_seed(0)
    model = build_cnn(channels=[2, 4], hidden=8)
    arch = arch_of(model)
    assert arch == cnn_arch((28, 28), [2, 4], 8)
    assert count_parameters(arch) == sum(p.numel() for p in model.parameters()) + sum(
        b.size for _, b in model.named_buffers())
    x = np.random.default_rng(0).random((3, 784)).astype(np.float32)
    with tl.no_grad():
        model(tl.Tensor(x))  # training mode: moves the batch-norm running statistics
    save_checkpoint(tmp_path / "c.npz", model, arch)
    loaded, arch2 = load_model(tmp_path / "c.npz")
    assert arch2 == arch and describe(arch).startswith("CNN conv 2-4 (3x3")
    model.eval(), loaded.eval()
    np.testing.assert_array_equal(loaded(tl.Tensor(x)).data, model(tl.Tensor(x)).data)


def test_weights_that_do_not_fit_the_architecture(tmp_path):
    model = build_mlp(6, [4], 3)
    path = tmp_path / "m.npz"
    save_checkpoint(path, model, mlp_arch(6, [5], 3))  # arch says 5 hidden units, weights 4
    one_line_error(path, "do not fit its architecture 6-5-3")


def test_save_into_a_missing_folder_is_an_error(tmp_path):
    model = build_mlp(2, [2], 2)
    with pytest.raises(CheckpointError, match="does not exist"):
        save_checkpoint(tmp_path / "no" / "m.npz", model, mlp_arch(2, [2], 2))


def test_build_mlp_is_the_notebook_net_and_the_only_builder():
    model = build_mlp(784, [10], 10)
    spelled_out = nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10))
    assert repr(model) == repr(spelled_out)
    assert arch_of(spelled_out) == mlp_arch(784, [10], 10)
    assert model[0].weight.shape == (10, 784) and model[0].weight.dtype == np.float32
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    moons = build_mlp(2, [16, 16], 2, activation="tanh", dtype=np.float64)
    assert [type(m).__name__ for m in moons] == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    assert arch_of(moons)["activation"] == "tanh" and moons[0].weight.dtype == np.float64
    with pytest.raises(ArchitectureError, match="hidden width must be >= 1"):
        build_mlp(3, [0], 2)


def test_size_check_counts_training_memory():
    arch = mlp_arch(784, [1000], 10)
    need = count_parameters(arch) * 4 * 4  # float32; weights, grads, two Adam buffers
    check_size(arch, memory=need)
    with pytest.raises(ArchitectureError, match="784-1000-10 MLP has 795,010 parameters"):
        check_size(arch, memory=need - 1)


# ---- files on disk ---------------------------------------------------------------------------


def test_new_files_follow_the_umask_and_overwritten_ones_keep_their_mode(tmp_path):
    old = os.umask(0o027)
    try:
        new = tmp_path / "new.bin"
        atomic_write(new, lambda f: f.write(b"x"))
        assert new.stat().st_mode & 0o777 == 0o640  # 0o666 & ~0o027, not mkstemp's 0o600
        kept = tmp_path / "kept.bin"
        kept.write_bytes(b"old")
        kept.chmod(0o604)
        atomic_write(kept, lambda f: f.write(b"new"))
        assert kept.read_bytes() == b"new" and kept.stat().st_mode & 0o777 == 0o604
    finally:
        os.umask(old)


def test_a_symlink_is_replaced_not_written_through(tmp_path):
    target = tmp_path / "target.npz"
    target.write_bytes(b"precious")
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    save_checkpoint(link, build_mlp(2, [2], 2), mlp_arch(2, [2], 2))
    assert target.read_bytes() == b"precious"
    assert not link.is_symlink() and load_model(link)[1]["hidden"] == [2]


def test_sigterm_during_a_write_leaves_no_temporary_file(tmp_path):
    """A child process is killed while atomic_write is writing: the old file stays, no .tmp
    remains, and the process still ends by SIGTERM."""
    target = tmp_path / "model.npz"
    target.write_bytes(b"old")
    ready = tmp_path / "ready"
    code = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from tinygrad_lite.io.atomic import atomic_write

        def write(f):
            f.write(b"partial")
            Path({str(ready)!r}).touch()
            time.sleep(60)

        atomic_write({str(target)!r}, write)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == -signal.SIGTERM
    finally:
        proc.kill()
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz", "ready"]


def test_sigterm_during_a_write_goes_on_to_the_previous_handler(tmp_path):
    """Under a handler of its own (the examples' cli.run turns SIGTERM into an exception),
    the temporary file is removed first, then that handler runs."""

    class Stop(BaseException):
        pass

    def handler(signum, frame):
        raise Stop()

    def write(f):
        f.write(b"partial")
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # Python runs the handler at the next bytecode
            pass

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        with pytest.raises(Stop):
            atomic_write(tmp_path / "m.npz", write)
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert list(tmp_path.iterdir()) == []
