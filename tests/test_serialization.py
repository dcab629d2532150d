"""tl.save / tl.load: tensors, arrays and their structures as .npz (never pickle), written
atomically; everything round-trips as it was saved."""

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
    assert loaded["flag"] is True  # Python values come back as Python values
    assert type(loaded["lr"]) is float and loaded["lr"] == 0.25
    assert type(loaded["steps"]) is int and loaded["steps"] == 3
    assert loaded["file"].dtype == np.float16
    assert loaded["empty"].shape == (0, 4)


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


def round_trip(obj, tmp_path, name="f.npz"):
    path = tmp_path / name
    tl.save(obj, path)
    return tl.load(path)


def assert_same(loaded, saved):
    """Equal values and the same types, all the way down (Tensors load as ndarrays)."""
    if isinstance(saved, tl.Tensor):
        saved = saved.data
    if isinstance(saved, (np.ndarray, np.generic)):
        assert type(loaded) is type(saved) and loaded.dtype == saved.dtype
        np.testing.assert_array_equal(loaded, saved)
        return
    assert type(loaded) is type(saved), (loaded, saved)
    if isinstance(saved, dict):
        assert list(loaded) == list(saved)
        for key in saved:
            assert_same(loaded[key], saved[key])
    elif isinstance(saved, (list, tuple)):
        assert len(loaded) == len(saved)
        for a, b in zip(loaded, saved):
            assert_same(a, b)
    elif isinstance(saved, float) and np.isnan(saved):
        assert np.isnan(loaded)
    else:
        assert loaded == saved


@pytest.mark.parametrize(
    "keys",
    [
        ["foo", "foo.npy"],  # npz looks members up by raw name first: must not mix them up
        ["foo.npy", "foo"],
        ["a\0b", "a", "a\0"],  # NUL
        ["a/b", "a", "b", "/", "//", "a/"],  # the separator of nested names
        ["", " ", ".", "..", "__0", "__1", "__tinygrad_lite__"],  # odd and reserved-looking
        ["ключ", "鍵", "🔑", "e\u0301", "\udc80"],  # unicode, a lone surrogate too
        ["file", "allow_pickle", "args", "kwds"],  # np.savez's parameter names
    ],
)
def test_any_str_key_round_trips(tmp_path, keys):
    state = {key: np.full(2, i, dtype=np.int32) for i, key in enumerate(keys)}
    assert_same(round_trip(state, tmp_path), state)


def test_nested_dicts_lists_and_tuples_round_trip_with_their_types(tmp_path):
    obj = {
        "model": OrderedDict([("0.weight", tl.tensor([[1.0, 2.0]])), ("0.bias", np.zeros(1))]),
        "nested": {"a": {"b": {"c": np.arange(3)}}, "empty": {}},
        "list": [np.ones(2), [np.zeros(1), ()], (np.float32(2.5), np.int64(3))],
        "tuple": (1, 2.5, True, None, "text", [], {}),
        "python": [0, -(2**70), 1e-300, float("inf"), float("nan"), False, None, "", "ü\0"],
        3: "an int key",
        "3": "a str key",
    }
    loaded = round_trip(obj, tmp_path)
    assert type(loaded) is dict and type(loaded["model"]) is OrderedDict
    expected = {**obj, "model": OrderedDict((k, v.data if isinstance(v, tl.Tensor) else v)
                                            for k, v in obj["model"].items())}
    assert_same(loaded, expected)
    assert type(loaded["list"][2][0]) is np.float32  # numpy scalars stay scalars


@pytest.mark.parametrize("top", [np.arange(4.0), [np.ones(2), 3], (1, "x"), 7, None, "s"])
def test_any_storable_value_at_the_top(tmp_path, top):
    assert_same(round_trip(top, tmp_path), top)


@pytest.mark.parametrize("make", [
    lambda params: tl.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True),
    lambda params: tl.optim.Adam(params, lr=1e-3, amsgrad=True),
    lambda params: tl.optim.Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.5}]),
])
def test_an_optimizer_state_dict_round_trips_into_a_fresh_optimizer(tmp_path, make):
    def model_and_optimizer():
        tl.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
        return model, make(list(model.parameters()))

    def train(model, opt, steps):
        for i in range(steps):
            x = tl.Tensor(np.random.default_rng(i).random((5, 3)).astype(np.float32))
            loss = (model(x) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

    model, opt = model_and_optimizer()
    train(model, opt, 3)
    state = opt.state_dict()
    loaded = round_trip({"model": model.state_dict(), "optimizer": state}, tmp_path)
    assert_same(loaded["optimizer"], state)

    model2, opt2 = model_and_optimizer()
    model2.load_state_dict(loaded["model"])
    opt2.load_state_dict(loaded["optimizer"])
    train(model, opt, 2)
    train(model2, opt2, 2)
    for a, b in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_the_file_is_a_plain_npz_without_pickle(tmp_path):
    path = tmp_path / "plain.npz"
    tl.save({"a": np.ones(3), "b": {"c": np.zeros(2)}, "n": 3}, path)
    with np.load(path, allow_pickle=False) as archive:  # numpy alone reads every member
        np.testing.assert_array_equal(archive["a"], np.ones(3))
        np.testing.assert_array_equal(archive["b/c"], np.zeros(2))
    with zipfile.ZipFile(path) as z:
        assert all(name.endswith(".npy") for name in z.namelist())


def test_a_plain_npz_of_arrays_loads_by_member_name(tmp_path):
    path = tmp_path / "np.npz"
    np.savez(path, w=np.ones(2), b=np.zeros(3))
    loaded = tl.load(path)
    assert type(loaded) is OrderedDict and list(loaded) == ["w", "b"]


class Thing:
    pass


cyclic: list = []
cyclic.append(cyclic)


@pytest.mark.parametrize(
    "obj, error, where",
    [
        ({"a": {1, 2}}, TypeError, "obj['a'] is a set"),
        ({"a": [1, Thing()]}, TypeError, "obj['a'][1] is a Thing"),
        ({"a": np.array(["x", "y"])}, TypeError, "obj['a'] is an array of dtype <U1"),
        ({"a": np.array([object()], dtype=object)}, TypeError, "obj['a'] is an array of dtype"),
        ({"s": {0: {(1, 2): np.ones(2)}}}, TypeError, "obj['s'][0] has a key (1, 2) of type tuple"),
        ({1.5: np.ones(2)}, TypeError, "has a key 1.5 of type float"),
        ({True: np.ones(2)}, TypeError, "has a key True of type bool"),
        ({"a": 1 + 2j}, TypeError, "obj['a'] is a complex"),
        ({"a": b"bytes"}, TypeError, "obj['a'] is a bytes"),
        ({"t": tl.tensor([1.0]).data.astype("datetime64[s]")}, TypeError, "datetime64"),
        ({"c": cyclic}, ValueError, "obj['c'][0] contains itself"),
    ],
)
def test_unsupported_values_are_refused_before_writing(tmp_path, obj, error, where):
    path = tmp_path / "bad.npz"
    with pytest.raises(error, match="save") as info:
        tl.save(obj, path)
    assert where in str(info.value) and "\n" not in str(info.value)
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
