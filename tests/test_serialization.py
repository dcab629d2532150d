"""tl.save / tl.load: state dicts as .npz (never pickle), written atomically."""

import os
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn


def test_round_trip_keeps_order_dtypes_and_values(tmp_path):
    state = OrderedDict(
        [
            ("z.weight", tl.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3))),
            ("a.bias", np.array([1.5, -2.0])),
            ("m.count", np.array(7, dtype=np.int64)),
            ("flag", True),
            ("lr", 0.25),
            ("steps", 3),
            ("file", np.zeros(2, np.float16)),  # np.savez's own parameter name: still fine
            ("empty", np.zeros((0, 4), np.float32)),
        ]
    )
    path = tmp_path / "ckpt.npz"
    tl.save(state, path)
    loaded = tl.load(path)
    assert isinstance(loaded, OrderedDict)
    assert list(loaded) == list(state)
    assert loaded["z.weight"].dtype == np.float32 and loaded["z.weight"].shape == (2, 3)
    np.testing.assert_array_equal(loaded["z.weight"], state["z.weight"].data)
    np.testing.assert_array_equal(loaded["a.bias"], state["a.bias"])
    assert loaded["m.count"].dtype == np.int64 and loaded["m.count"].shape == ()
    assert loaded["flag"].dtype == np.bool_ and bool(loaded["flag"])
    assert float(loaded["lr"]) == 0.25 and int(loaded["steps"]) == 3
    assert loaded["file"].dtype == np.float16
    assert loaded["empty"].shape == (0, 4)
    assert all(isinstance(v, np.ndarray) for v in loaded.values())


def test_saved_arrays_are_snapshots(tmp_path):
    w = tl.tensor([1.0, 2.0])
    path = str(tmp_path / "w.npz")  # str paths too
    tl.save({"w": w}, path)
    w.data[0] = 100.0
    assert tl.load(path)["w"][0] == 1.0


def test_model_state_dict_round_trip(tmp_path):
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    model(tl.randn(5, 3))  # moves the batch-norm statistics
    path = tmp_path / "model.npz"
    tl.save(model.state_dict(), path)
    other = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    other.load_state_dict(tl.load(path))
    model.eval()
    other.eval()
    x = tl.randn(2, 3)
    np.testing.assert_array_equal(model(x).data, other(x).data)
    assert list(tl.load(path)) == list(model.state_dict())


def test_one_level_of_nesting_is_flattened(tmp_path):
    path = tmp_path / "nested.npz"
    tl.save({"model": {"w": np.ones(2)}, "epoch": 4}, path)
    loaded = tl.load(path)
    assert list(loaded) == ["model/w", "epoch"]


def test_no_pickle_in_the_file_and_it_is_a_plain_npz(tmp_path):
    path = tmp_path / "plain.npz"
    tl.save({"a": np.ones(3)}, path)
    with np.load(path, allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["a"], np.ones(3))
    with zipfile.ZipFile(path) as z:
        assert z.namelist() == ["a.npy"]


@pytest.mark.parametrize(
    "obj, error",
    [
        ({"a": "text"}, TypeError),
        ({"a": None}, TypeError),
        ({"a": np.array(["x", "y"])}, TypeError),
        ({"a": np.array([object()], dtype=object)}, TypeError),
        ({"a": [1.0, 2.0]}, TypeError),
        ({1: np.ones(2)}, TypeError),
        ({"": np.ones(2)}, ValueError),
        ({"a/b": np.ones(2)}, ValueError),
        ({"a": {"b": {"c": np.ones(2)}}}, TypeError),
        ([np.ones(2)], TypeError),
        ({"state": {0: {"momentum_buffer": np.ones(2)}}, "param_groups": []}, TypeError),
    ],
)
def test_unsupported_values_are_refused_before_writing(tmp_path, obj, error):
    path = tmp_path / "bad.npz"
    with pytest.raises(error, match="save"):
        tl.save(obj, path)
    assert os.listdir(tmp_path) == []  # neither the target nor a temporary file


def test_atomic_overwrite_keeps_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    tl.save({"a": np.ones(2)}, path)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(OSError, match="disk full"):
        tl.save({"a": np.zeros(2)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(tl.load(path)["a"], np.ones(2))  # the old file, intact
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # the temporary file was removed


def test_overwrite_replaces(tmp_path):
    path = tmp_path / "ckpt.npz"
    tl.save({"a": np.ones(2)}, path)
    tl.save({"b": np.zeros(3)}, path)
    assert list(tl.load(path)) == ["b"]


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        tl.load(tmp_path / "nope.npz")


def test_load_non_npz_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(ValueError, match="not an .npz"):
        tl.load(path)
    npy = tmp_path / "single.npy"
    np.save(npy, np.ones(2))
    with pytest.raises(ValueError, match="not an .npz"):
        tl.load(npy)


def test_load_refuses_pickled_object_arrays(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, a=np.array([{"x": 1}], dtype=object))  # needs pickle to read
    with pytest.raises(ValueError, match="not a valid .npz"):
        tl.load(path)


def test_load_refuses_zip_with_non_npy_members(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hi")
    with pytest.raises(ValueError, match="not a valid .npz"):
        tl.load(path)
