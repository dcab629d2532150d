"""tinygrad_lite.checkpoint: .npz weights + architecture JSON, atomic writes, one-line errors."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.checkpoint import (
    ARCH_KEY,
    CheckpointError,
    atomic_write,
    build_mlp,
    describe,
    load_checkpoint,
    load_model,
    mlp_arch,
    save_checkpoint,
)


def test_round_trip_gives_the_same_model_and_outputs(tmp_path):
    arch = mlp_arch(12, [7, 5], 3, np.float64)
    assert describe(arch) == "12-7-5-3"
    tl.manual_seed(0)
    model = build_mlp(arch)
    arch["trained"] = {"seed": 0, "note": "extra keys are kept"}
    path = tmp_path / "m.npz"
    save_checkpoint(path, model, arch)
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]  # exactly that name, no temporaries

    state, arch2 = load_checkpoint(path)
    assert arch2 == arch
    assert list(state) == list(model.state_dict())
    loaded, _ = load_model(path)
    x = np.random.default_rng(1).random((4, 12))
    np.testing.assert_array_equal(loaded(tl.Tensor(x)).data, model(tl.Tensor(x)).data)
    assert loaded[0].weight.dtype == np.float64
    with np.load(path, allow_pickle=False) as npz:  # plain numpy reads it, no pickle
        assert json.loads(str(npz[ARCH_KEY][()]))["hidden"] == [7, 5]


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
    np.savez(bad_json, **{ARCH_KEY: np.array("{nope")})
    one_line_error(bad_json, "not valid JSON")
    bad_arch = tmp_path / "k.npz"
    np.savez(bad_arch, **{ARCH_KEY: np.array(json.dumps({"kind": "cnn"}))})
    one_line_error(bad_arch, "unsupported architecture")


def test_weights_that_do_not_fit_the_architecture(tmp_path):
    model = build_mlp(mlp_arch(6, [4], 3))
    path = tmp_path / "m.npz"
    save_checkpoint(path, model, mlp_arch(6, [5], 3))  # arch says 5 hidden units, weights 4
    one_line_error(path, "do not fit its architecture 6-5-3")


def test_save_into_a_missing_folder_is_an_error(tmp_path):
    model = build_mlp(mlp_arch(2, [2], 2))
    with pytest.raises(CheckpointError, match="does not exist"):
        save_checkpoint(tmp_path / "no" / "m.npz", model, mlp_arch(2, [2], 2))


def test_build_mlp_layers():
    model = build_mlp(mlp_arch(784, [10], 10))
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]
    assert model[0].weight.shape == (10, 784) and model[0].weight.dtype == np.float32
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    with pytest.raises(CheckpointError, match="malformed"):
        build_mlp({"kind": "mlp", "activation": "relu", "in_features": 3, "hidden": [0],
                   "out_features": 2})
