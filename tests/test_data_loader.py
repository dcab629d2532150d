"""`tinygrad_lite.utils.data`: Dataset, TensorDataset, samplers, default_collate and PyTorch's
form of DataLoader, against torch.utils.data where torch is installed (same batches, same
dtypes, same lengths, same errors), and the shared DataLoader's array form still serving."""

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.utils.data as tud
from tinygrad_lite.utils.data import DataLoader, Dataset, TensorDataset


def _np(x):
    return x.data if isinstance(x, tl.Tensor) else x.numpy()


class Squares(Dataset):
    """A map-style dataset whose samples mix types: (array, int, float, str)."""

    def __init__(self, n, lib=np):
        self.n = n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return np.array([i, i * i], dtype=np.float32), i, i / 2, f"s{i}"

    def __len__(self):
        return self.n


def test_both_import_paths_name_one_class():
    import tinygrad_lite.data as tdata

    assert tl.utils.data.DataLoader is DataLoader is tdata.DataLoader
    assert tl.utils.data.TensorDataset is tdata.TensorDataset


@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (3, False), (3, True), (7, False)])
def test_in_order_batches_match_torch(batch_size, drop_last):
    torch = pytest.importorskip("torch")
    x = np.arange(14, dtype=np.float64).reshape(7, 2)
    y = np.arange(7) % 3
    ours = DataLoader(
        TensorDataset(tl.tensor(x), tl.tensor(y)), batch_size=batch_size, drop_last=drop_last
    )
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)),
        batch_size=batch_size,
        drop_last=drop_last,
    )
    assert len(ours) == len(theirs)
    assert len(ours.dataset) == len(theirs.dataset) == 7
    got, want = list(ours), list(theirs)
    assert len(got) == len(want)
    for (xb, yb), (txb, tyb) in zip(got, want):
        assert isinstance(xb, tl.Tensor) and isinstance(yb, tl.Tensor)
        np.testing.assert_array_equal(xb.data, txb.numpy())
        np.testing.assert_array_equal(yb.data, tyb.numpy())
        assert xb.dtype == np.float64 and yb.dtype == np.int64


def test_default_collate_of_mixed_samples_matches_torch():
    torch = pytest.importorskip("torch")
    ours = list(DataLoader(Squares(5), batch_size=2))
    theirs = list(torch.utils.data.DataLoader(Squares(5), batch_size=2))
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs):
        assert type(a) is type(b) is list
        for fa, fb in zip(a[:3], b[:3]):
            np.testing.assert_array_equal(_np(fa), fb.numpy())
            assert np.dtype(fa.dtype) == np.dtype(str(fb.dtype).replace("torch.", ""))
        assert a[3] == b[3]


def test_default_collate_of_dicts_and_named_tuples_and_arrays():
    from collections import namedtuple

    Pair = namedtuple("Pair", "a b")
    batch = tud.default_collate(
        [{"x": np.ones(2), "n": Pair(1, 2.0)}, {"x": np.zeros(2), "n": Pair(3, 4.0)}]
    )
    assert set(batch) == {"x", "n"}
    np.testing.assert_array_equal(batch["x"].data, [[1, 1], [0, 0]])
    assert isinstance(batch["n"], Pair)
    np.testing.assert_array_equal(batch["n"].a.data, [1, 3])
    assert batch["n"].a.dtype == np.int64 and batch["n"].b.dtype == np.float64
    assert tud.default_collate([True, False]).dtype == np.bool_
    with pytest.raises(RuntimeError):
        tud.default_collate([[1, 2], [3]])
    with pytest.raises(TypeError):
        tud.default_collate([object(), object()])


def test_shuffle_with_a_generator_is_a_reproducible_permutation_each_epoch():
    ds = TensorDataset(tl.tensor(np.arange(23)))

    def epochs(seed):
        loader = DataLoader(ds, batch_size=5, shuffle=True, generator=np.random.default_rng(seed))
        return [np.concatenate([b[0].data for b in loader]) for _ in range(3)]

    a, b, c = epochs(0), epochs(0), epochs(1)
    for ea, eb in zip(a, b):
        np.testing.assert_array_equal(ea, eb)
    for e in a:
        assert sorted(e.tolist()) == list(range(23))
    assert not np.array_equal(a[0], a[1])
    assert not np.array_equal(a[0], c[0])


def test_shuffle_without_a_generator_follows_manual_seed():
    ds = TensorDataset(tl.tensor(np.arange(30)))

    def epoch():
        return np.concatenate([b[0].data for b in DataLoader(ds, batch_size=4, shuffle=True)])

    tl.manual_seed(7)
    first = epoch()
    tl.manual_seed(7)
    np.testing.assert_array_equal(epoch(), first)
    assert sorted(first.tolist()) == list(range(30))


def test_samplers_and_batch_sampler():
    torch = pytest.importorskip("torch")
    data = list(range(10))
    ours = DataLoader(data, sampler=tud.SequentialSampler(data), batch_size=4, drop_last=True)
    theirs = torch.utils.data.DataLoader(
        data, sampler=torch.utils.data.SequentialSampler(data), batch_size=4, drop_last=True
    )
    assert len(ours) == len(theirs) == 2
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.data, b.numpy())
    # a plain list of indices is a sampler too
    got = [b.data.tolist() for b in DataLoader(data, sampler=[9, 0, 4], batch_size=2)]
    assert got == [[9, 0], [4]]
    bs = tud.BatchSampler(tud.SequentialSampler(range(7)), 3, False)
    assert list(bs) == [[0, 1, 2], [3, 4, 5], [6]] and len(bs) == 3
    loader = DataLoader(data, batch_sampler=[[1, 2], [5]])
    assert [b.data.tolist() for b in loader] == [[1, 2], [5]]
    sub = tud.SubsetRandomSampler([3, 5, 8], generator=np.random.default_rng(0))
    assert sorted(sub) == [3, 5, 8] and len(sub) == 3
    rs = tud.RandomSampler(data, replacement=True, num_samples=25, generator=1)
    drawn = list(rs)
    assert len(drawn) == 25 and set(drawn) <= set(data)
    assert sorted(tud.RandomSampler(data, num_samples=13, generator=2)) != data


def test_batch_size_none_converts_each_sample():
    loader = DataLoader(Squares(3), batch_size=None)
    samples = list(loader)
    assert len(loader) == 3 and len(samples) == 3
    arr, i, half, name = samples[2]
    assert isinstance(arr, tl.Tensor) and i == 2 and half == 1.0 and name == "s2"


def test_tensor_dataset_subset_concat_and_random_split():
    x = tl.tensor(np.arange(12.0).reshape(6, 2))
    ds = TensorDataset(x, np.arange(6))
    assert len(ds) == 6
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi.data, [8.0, 9.0])
    assert yi == 4
    with pytest.raises(AssertionError):
        TensorDataset(x, np.arange(5))
    both = ds + TensorDataset(x[:2], np.arange(2))
    assert len(both) == 8 and both[7][1] == 1 and both[-1][1] == 1
    parts = tud.random_split(ds, [4, 2], generator=np.random.default_rng(0))
    assert [len(p) for p in parts] == [4, 2]
    seen = sorted(int(p[i][1]) for p in parts for i in range(len(p)))
    assert seen == list(range(6))
    assert [len(p) for p in tud.random_split(range(10), [0.5, 0.3, 0.2], generator=0)] == [5, 3, 2]
    with pytest.raises(ValueError):
        tud.random_split(ds, [4, 4])


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(num_workers=-1),
        dict(timeout=-1),
        dict(prefetch_factor=2),
        dict(persistent_workers=True),
        dict(shuffle=True, sampler=[0, 1]),
        dict(batch_sampler=[[0]], batch_size=2),
        dict(batch_sampler=[[0]], drop_last=True),
        dict(batch_size=None, drop_last=True),
        dict(batch_size=0),
    ],
)
def test_bad_options_raise_value_error_as_torch(kwargs):
    torch = pytest.importorskip("torch")
    data = list(range(4))
    with pytest.raises(ValueError):
        torch.utils.data.DataLoader(data, **kwargs)
    with pytest.raises(ValueError):
        DataLoader(data, **kwargs)


def test_positional_batch_size_and_a_training_loop():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3))
    w_true = np.array([[1.0], [-2.0], [0.5]])
    ds = TensorDataset(tl.tensor(x), tl.tensor(x @ w_true))
    loader = DataLoader(ds, 8, True, generator=np.random.default_rng(1))
    assert loader.batch_size == 8 and len(loader) == 5
    model = tl.nn.Linear(3, 1).double()
    opt = tl.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(30):
        for xb, yb in loader:
            opt.zero_grad()
            loss = ((model(xb) - yb) ** 2).mean()
            loss.backward()
            opt.step()
    assert loss.item() < 1e-3


def test_array_form_still_serves():
    X, y = np.arange(10), np.arange(10) * 2
    loader = DataLoader(X, y, batch_size=4)
    assert len(loader) == 3 and len(loader.dataset) == 10
    assert all(isinstance(xb, np.ndarray) for xb, _ in loader)
    assert [len(xb) for xb in DataLoader(X, batch_size=3)] == [3, 3, 3, 1]
    shuffled = np.concatenate([xb for xb, _ in DataLoader(X, y, batch_size=4, shuffle=True, rng=0)])
    assert sorted(shuffled.tolist()) == X.tolist()
    with pytest.raises(TypeError):
        DataLoader(X, y, generator=0)
