"""PyTorch's semantics where a PyTorch user's habits would otherwise give silent wrong results:
axis checks, in-place rules and version counters, comparisons and conversions, thread-local
grad mode, graphs that release their arrays, and checks on custom Functions."""

import threading
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import nn


def _leaf(shape=(2, 3), seed=0):
    return tl.Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


# ---- axes out of range are errors, never wrapped around -------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda x: x.sum(axis=2),
        lambda x: x.sum(dim=-3),
        lambda x: x.mean(2),
        lambda x: x.max(2),
        lambda x: x.min(dim=2),
        lambda x: x.amax((0, 2)),
        lambda x: x.argmax(2),
        lambda x: x.softmax(2),
        lambda x: x.log_softmax(dim=-3),
        lambda x: x.flatten(5),
        lambda x: x.flatten(0, 2),
        lambda x: x.transpose(-3, 0),
        lambda x: x.size(2),
        lambda x: tl.concatenate([x, x], axis=2),
        lambda x: tl.stack([x, x], axis=3),
    ],
)
def test_axis_out_of_range_raises_index_error_naming_axis_and_ndim(call):
    with pytest.raises(IndexError, match=r"Dimension out of range .* but got -?\d"):
        call(_leaf())


def test_bad_reshape_and_flatten_arguments_raise():
    x = _leaf()
    for shape in [(-2,), (-1, -1), (2, -3)]:
        with pytest.raises(ValueError, match="invalid shape"):
            x.reshape(shape)
    with pytest.raises(RuntimeError, match="start_dim cannot come after end_dim"):
        x.flatten(1, 0)
    with pytest.raises(IndexError, match="not a permutation"):
        x.transpose((0, 0))


def test_transpose_with_negative_axes_backpropagates_the_transposed_gradient():
    x = _leaf((2, 3))
    g = np.arange(6.0).reshape(3, 2)
    x.transpose(-1, 0).backward(g)
    np.testing.assert_array_equal(x.grad, g.T)
    y = _leaf((2, 3, 4))
    out = y.transpose(-1, 0, 1)  # numpy's full permutation (2, 0, 1)
    assert out.shape == (4, 2, 3)
    g3 = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(g3)
    np.testing.assert_array_equal(y.grad, np.transpose(g3, (1, 2, 0)))
    z = _leaf((2, 3, 4))
    swapped = z.transpose(-1, 0)  # two axes: PyTorch's swap
    assert swapped.shape == (4, 3, 2)
    g4 = np.random.default_rng(2).standard_normal(swapped.shape)
    swapped.backward(g4)
    np.testing.assert_array_equal(z.grad, np.swapaxes(g4, 0, 2))


def test_dim_and_keepdim_spellings_match_axis_and_keepdims():
    x = _leaf((3, 4))
    np.testing.assert_array_equal(x.sum(dim=1, keepdim=True).data,
                                  x.sum(axis=1, keepdims=True).data)
    np.testing.assert_array_equal(x.mean(dim=(0, 1)).data, x.mean().data)
    with pytest.raises(TypeError, match="either axis= or dim="):
        x.sum(axis=0, dim=0)
    assert x.size() == (3, 4) and x.size(-1) == 4 and x.dim() == 2 and x.numel() == 12


def test_max_and_min_with_dim_return_values_and_indices_like_pytorch():
    data = np.array([[1.0, 5.0, 5.0], [7.0, 2.0, 0.0]])
    x = tl.Tensor(data, requires_grad=True)
    values, indices = x.max(dim=1)
    np.testing.assert_array_equal(values.data, [5.0, 7.0])
    np.testing.assert_array_equal(indices.data, [1, 0])
    assert indices.dtype == np.int64 and not indices.requires_grad
    values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], [1, 0, 0]])  # to the index returned
    out = x.min(1, keepdim=True)
    assert out.values.shape == (2, 1) and out.indices.data.tolist() == [[0], [2]]
    assert float(x.max()) == 7.0 and float(x.min()) == 0.0


# ---- custom Functions: wrong results are errors naming the Function --------------------------
class _WrongShape(tl.Function):
    def forward(self, x):
        return x * 2

    def backward(self, grad):
        return np.ones((3, 2))


class _TooFew(tl.Function):
    def forward(self, a, b):
        return a * b

    def backward(self, grad):
        return grad


class _ReturnsTensor(tl.Function):
    def forward(self, x):
        return tl.Tensor(x)


def test_custom_function_wrong_gradient_shape_names_function_input_and_shapes():
    x = _leaf((2, 3))
    with pytest.raises(ValueError, match=r"_WrongShape.*\(3, 2\).*input 0.*\(2, 3\)"):
        _WrongShape.apply(x).sum().backward()


def test_custom_function_wrong_gradient_count_raises():
    a, b = _leaf((2,)), _leaf((2,), 1)
    with pytest.raises(RuntimeError, match=r"_TooFew.backward returned 1 gradient\(s\).*2 input"):
        _TooFew.apply(a, b).sum().backward()


def test_custom_function_forward_returning_a_tensor_raises():
    with pytest.raises(TypeError, match="_ReturnsTensor.forward must return a numpy array"):
        _ReturnsTensor.apply(_leaf())


def test_a_broadcast_gradient_is_still_summed_back():
    class Broadcasting(tl.Function):
        def forward(self, x):
            return x.copy()

        def backward(self, grad):
            return np.ones((4,) + grad.shape)  # as if x had been broadcast over 4 copies

    x = _leaf((2, 3))
    Broadcasting.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 4.0))


# ---- in-place operations ------------------------------------------------------------------
def test_notebook_update_written_the_pytorch_way_trains():
    """The notebook's update_params as a PyTorch user writes it: `p -= lr * p.grad`."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 8))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(8, 10, dtype=np.float64), nn.ReLU(),
                          nn.Linear(10, 2, dtype=np.float64))
    first = None
    for _ in range(100):
        for p in model.parameters():
            p.grad = None
        loss = nn.functional.cross_entropy(model(tl.Tensor(X)), y)
        loss.backward()
        first = float(loss) if first is None else first
        before = [p.data.copy() for p in model.parameters()]
        with tl.no_grad():
            for p in model.parameters():
                p -= 0.5 * p.grad
        for b, p in zip(before, model.parameters()):
            np.testing.assert_array_equal(p.data, b - 0.5 * p.grad)  # the same array, updated
            assert p.is_leaf and p.requires_grad
    assert float(loss) < 0.5 * first
    accuracy = np.mean(model(tl.Tensor(X)).argmax(1) == y)
    assert accuracy > 0.9


@pytest.mark.parametrize("method", ["add_", "sub_", "mul_", "div_", "copy_", "fill_"])
def test_in_place_on_a_leaf_requiring_grad_raises_outside_no_grad(method):
    w = _leaf((3,))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        getattr(w, method)(2.0)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w += 1
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.zero_()
    with tl.no_grad():
        getattr(w, method)(2.0)
    assert w.is_leaf and w._version == 1


def test_in_place_methods_mutate_the_same_memory_and_bump_the_version():
    base = np.array([1.0, -2.0, 3.0])
    t = tl.from_numpy(base)  # shares base's memory (tl.tensor and tl.Tensor copy)
    view = t[1:]
    assert t.add_(1) is t and t.sub_(2, alpha=0.5) is t
    t *= 2
    t /= 4
    np.testing.assert_allclose(base, ((np.array([1.0, -2.0, 3.0]) + 1 - 1) * 2) / 4)
    assert t._version == 4 and view._version == 4  # a view shares the counter
    view.fill_(7)
    assert t._version == 5 and base.tolist()[1:] == [7.0, 7.0]
    t.clamp_(max=3.0)
    assert base.max() == 3.0
    t.zero_()
    t.copy_(tl.Tensor([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(base, [1.0, 2.0, 3.0])
    t[0] = 10.0
    assert base[0] == 10.0 and t._version == 9
    d = t.detach()
    d.add_(1)
    assert t._version == 10 and base[0] == 11.0


def test_in_place_errors_for_shape_and_dtype_like_pytorch():
    t = tl.Tensor(np.zeros(3))
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast"):
        t += np.ones((2, 3))
    i = tl.Tensor(np.zeros(3, dtype=np.int64))
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type int64"):
        i += 1.5
    i += 2
    assert i.data.tolist() == [2, 2, 2]


def test_in_place_inside_the_graph_gives_pytorch_gradients():
    x = _leaf((2, 3))
    h = x * 2
    h.mul_(3)  # h = 6x
    h.add_(x)  # h = 7x
    h.backward(np.ones((2, 3)))
    np.testing.assert_allclose(x.grad, np.full((2, 3), 7.0))
    assert h.grad_fn is not None and h._version == 2

    x.grad = None
    h = x * 2
    h.mul_(h)  # Mul saved h, which the write then changed: PyTorch refuses too
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        h.backward(np.ones((2, 3)))

    x.grad = None
    h = x * 1
    h[0] = 0.0
    h[1, 1:] *= 3  # through a view: written into h, as PyTorch's CopySlices
    h.sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 0, 0], [1, 3, 3]])
    np.testing.assert_allclose(h.data[1], x.data[1] * [1, 3, 3])


def test_in_place_through_views_of_graph_tensors():
    x = _leaf((2, 3))
    h = x * 1
    row = h[0]
    row.mul_(2)  # h[0] doubles
    np.testing.assert_allclose(h.data[0], 2 * x.data[0])
    (h.sum() + row.sum()).backward()
    np.testing.assert_allclose(x.grad, [[4, 4, 4], [1, 1, 1]])
    x.grad = None
    h = x * 1
    h.reshape(3, 2).mul_(2)  # any view writes through to its base
    h.sum().backward()
    np.testing.assert_allclose(x.grad, np.full((2, 3), 2.0))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0].mul_(2)


def test_setitem_gradient_goes_to_the_value_and_the_rest():
    x = _leaf((3, 4))
    v = _leaf((4,), 1)
    buf = x * 1
    buf[1] = v
    weights = np.arange(12.0).reshape(3, 4)
    (buf * tl.Tensor(weights)).sum().backward()
    expected = weights.copy()
    expected[1] = 0
    np.testing.assert_array_equal(x.grad, expected)
    np.testing.assert_array_equal(v.grad, weights[1])


# ---- version counters: state changed behind the graph ------------------------------------
def test_optimizer_step_between_backward_calls_raises():
    model = nn.Linear(3, 2)
    opt = tl.optim.SGD(model.parameters(), lr=0.1)
    loss = model(tl.ones(4, 3)).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation: input 1 of "
                                           r"<LinearBackward> \(shape \(2, 3\)\) is at version"):
        loss.backward()


def test_in_place_change_of_a_saved_input_or_output_raises():
    x = _leaf((3,))
    y = x * 1
    z = y * y  # Mul saved y
    with tl.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match="input 0 of <MulBackward>"):
        z.sum().backward()
    e = (x * 1).exp()  # Exp saved its output
    with tl.no_grad():
        e[0] = 5.0
    with pytest.raises(RuntimeError, match="the output of <ExpBackward> is at version 1"):
        e.sum().backward()


def test_versions_are_compared_with_those_at_record_time():
    """An input already changed in place before the op was recorded (version 2) is fine while
    it stays at 2, and refused once it moves on (the op notes versions only when one is not 0;
    PyTorch's message names the version it expected)."""
    w = _leaf((3,))
    with tl.no_grad():
        w.mul_(2)
        w.add_(1)
    y = (w * w).sum()
    y.backward(retain_graph=True)
    np.testing.assert_allclose(w.grad, 2 * w.data)
    with tl.no_grad():
        w.add_(1)
    with pytest.raises(RuntimeError, match=r"input 0 of <MulBackward> .* is at version 3; "
                                           r"expected version 2"):
        y.backward()


def test_load_state_dict_bumps_versions():
    model = nn.Linear(3, 2)
    loss = model(tl.ones(1, 3)).sum()
    model.load_state_dict(model.state_dict())
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


# ---- comparisons and conversions ------------------------------------------------------------
def test_comparisons_are_elementwise_bool_tensors_without_grad():
    a, b = _leaf((4,)), tl.Tensor(np.zeros(4))
    for result, expected in [
        (a == b, a.data == 0), (a != b, a.data != 0), (a < 0, a.data < 0),
        (a <= 0, a.data <= 0), (a > 0, a.data > 0), (a >= b, a.data >= 0),
        (0 < a, a.data > 0), (np.zeros(4) == a, a.data == 0),
    ]:
        assert isinstance(result, tl.Tensor) and result.dtype == np.bool_
        assert not result.requires_grad
        np.testing.assert_array_equal(result.data, expected)
    assert len({a, b, a}) == 2  # hashing stays by identity
    labels = np.array([1, 0, 2])
    logits = tl.Tensor(np.eye(3)[[1, 0, 0]])
    assert np.mean(logits.argmax(1) == labels) == pytest.approx(2 / 3)
    assert float((logits.argmax(1) == tl.Tensor(labels)).sum()) == 2


def test_truth_length_iteration_and_numbers_like_pytorch():
    assert not bool(tl.Tensor([0.0])) and bool(tl.Tensor(2.0))
    with pytest.raises(RuntimeError, match="more than one value is ambiguous"):
        bool(tl.Tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="0-d tensor"):
        len(tl.Tensor(5.0))
    with pytest.raises(TypeError, match="0-d tensor"):
        list(tl.Tensor(5.0))
    x = _leaf((3, 2))
    rows = list(x)
    assert len(rows) == len(x) == 3 and rows[1].shape == (2,)
    sum(r.sum() for r in rows).backward()
    np.testing.assert_array_equal(x.grad, np.ones((3, 2)))
    assert float(tl.Tensor(2.5)) == 2.5 and int(tl.Tensor([7])) == 7
    assert [10, 20, 30][tl.Tensor(np.int64(1))] == 20
    arr = np.array(x)
    assert arr.dtype == np.float64 and arr.shape == (3, 2)
    np.testing.assert_array_equal(arr, x.data)


def test_dtype_conversions():
    x = _leaf((3,))
    assert x.float().dtype == np.float32 and x.double() is x
    for method, dtype in [("long", np.int64), ("int", np.int32), ("bool", np.bool_)]:
        out = getattr(x, method)()
        assert out.dtype == dtype and not out.requires_grad
    x.float().sum().backward()
    assert x.grad.dtype == np.float64


# ---- grad mode is per thread ---------------------------------------------------------------
def test_no_grad_in_another_thread_does_not_break_training():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = tl.optim.SGD(model.parameters(), lr=0.05)
    X = tl.Tensor(rng.standard_normal((32, 4)).astype(np.float32))
    y = rng.integers(0, 3, 32)
    stop = threading.Event()
    seen = []

    def evaluator():
        while not stop.is_set():
            with tl.no_grad():
                seen.append(tl.is_grad_enabled())
                model(X)

    thread = threading.Thread(target=evaluator)
    thread.start()
    try:
        for _ in range(300):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(X), y)
            assert loss.requires_grad and tl.is_grad_enabled()
            loss.backward()
            assert all(p.grad is not None for p in model.parameters())
            opt.step()
    finally:
        stop.set()
        thread.join()
    assert seen and not any(seen)


def test_new_threads_start_with_grad_on_and_set_grad_enabled():
    results = []
    with tl.no_grad():
        t = threading.Thread(target=lambda: results.append(tl.is_grad_enabled()))
        t.start()
        t.join()
        assert not tl.is_grad_enabled()
    assert results == [True]
    tl.set_grad_enabled(False)
    try:
        assert not tl.is_grad_enabled()
    finally:
        tl.set_grad_enabled(True)
    with tl.set_grad_enabled(False):
        assert not tl.is_grad_enabled()
    assert tl.is_grad_enabled()


# ---- graphs release their arrays -----------------------------------------------------------
def test_memory_stays_flat_while_the_losses_are_kept():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = tl.optim.SGD(model.parameters(), lr=0.01)
    X = rng.standard_normal((256, 64)).astype(np.float32)
    y = rng.integers(0, 10, 256)
    losses = []

    def step():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(tl.Tensor(X)), y)
        loss.backward()
        opt.step()
        losses.append(loss)  # the habit that used to keep every step's activations

    for _ in range(5):
        step()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(100):
            step()
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    activations = 256 * (64 + 128 + 128 + 10) * 4  # bytes one step's graph used to hold
    assert grown / 100 < activations / 20, f"{grown / 100:.0f} bytes kept per step"


def test_released_graph_keeps_its_structure_and_refuses_a_second_backward():
    x = _leaf((20, 30))
    h = (x * 2).relu()
    loss = h.sum()
    loss.backward()
    (relu, _), = loss.grad_fn.next_functions
    assert relu is h.grad_fn and relu._saved is None  # its saved arrays are gone
    (mul, _), = relu.next_functions
    assert mul.next_functions[0][0].variable is x and mul.next_functions[1] == (None, 0)
    assert h.data.strides != (0, 0) and h.shape == (20, 30)  # the user's tensor is untouched
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


# ---- random in-place programs: the gradient equals the out-of-place program's ----------------
@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["add", "sub", "mul", "div", "setrow", "clamp"]), max_size=6),
       st.integers(0, 2**31 - 1))
def test_in_place_programs_match_their_out_of_place_twins(steps, seed):
    rng = np.random.default_rng(seed)
    x_data = rng.uniform(0.5, 2.0, (3, 4))
    c = rng.uniform(0.5, 2.0, (3, 4))

    in_place = {
        "add": lambda h, o: h.add_(o), "sub": lambda h, o: h.sub_(o),
        "mul": lambda h, o: h.mul_(o), "div": lambda h, o: h.div_(o),
        "setrow": lambda h, o: h.__setitem__(1, o[0]), "clamp": lambda h, o: h.clamp_(-1.0, 3.0),
    }
    out_of_place = {
        "add": lambda h, o: h + o, "sub": lambda h, o: h - o, "mul": lambda h, o: h * o,
        "div": lambda h, o: h / o, "setrow": lambda h, o: tl.concatenate([h[:1], o[:1], h[2:]]),
        "clamp": lambda h, o: h.clamp(-1.0, 3.0),
    }

    def run(mutating):
        x = tl.Tensor(x_data, requires_grad=True)
        h = x * 1
        for op in steps:
            other = tl.Tensor(c) * x if op in ("mul", "div") else tl.Tensor(c)
            if mutating:
                in_place[op](h, other)
            else:
                h = out_of_place[op](h, other)
        (h * tl.Tensor(c)).sum().backward()
        return h.data, x.grad

    (value_a, grad_a), (value_b, grad_b) = run(True), run(False)
    np.testing.assert_allclose(value_a, value_b, rtol=1e-12)
    np.testing.assert_allclose(grad_a, grad_b, rtol=1e-10, atol=1e-12)


# ---- gradients never alias one another ------------------------------------------------------
def test_leaf_gradients_are_their_own_arrays():
    a, b = _leaf((2, 3)), _leaf((2, 3), 1)
    c = _leaf((3, 2), 2)
    upstream = np.ones((2, 3))
    (a + b + c.T).backward(upstream)  # Add hands one array to both inputs; .T a view of it
    a.grad *= 2  # in place, as gradient clipping does
    np.testing.assert_array_equal(b.grad, np.ones((2, 3)))
    np.testing.assert_array_equal(c.grad, np.ones((3, 2)))
    np.testing.assert_array_equal(upstream, np.ones((2, 3)))
    upstream[...] = 5  # the caller's array is not kept either
    assert np.all(a.grad == 2) and np.all(b.grad == 1)


def test_autograd_imports_tensor_for_annotations_only():
    """tensor.py builds on autograd.py; the reverse import is for type annotations only."""
    import ast
    import inspect

    from tinygrad_lite import autograd

    tree = ast.parse(inspect.getsource(autograd))
    top_level = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert all(getattr(node, "module", None) != "tensor" for node in top_level)


def test_join_functions_take_dim_or_axis():
    a = tl.ones(2, 3)
    assert tl.stack([a, a], dim=1).shape == tl.stack([a, a], axis=1).shape == (2, 2, 3)
    assert tl.cat([a, a], dim=-1).shape == tl.concatenate([a, a], axis=1).shape == (2, 6)
    assert tl.concatenate is tl.cat


def test_zero_dim_cases_match_pytorch():
    """Found by the random-program parity suite."""
    a = tl.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    h = a * 1
    h[1, 2].mul_(10)  # t[i, j] is a 0-d view, as in PyTorch: the update reaches h
    h.sum().backward()
    assert h.data[1, 2] == 50 and a.grad[1, 2] == 10
    x = tl.Tensor(np.array(1.5), requires_grad=True)
    assert x.transpose(0, -1).shape == () and x.max(dim=0, keepdim=True).values.shape == ()
    assert x.argmax(dim=0, keepdim=True).shape == ()
    s = tl.Tensor(np.array(0.5), requires_grad=True)
    g = s * 1
    g[()] = 2.0
    (g + g).backward()  # the two 0-d gradients sum to an array, not a numpy scalar
    assert s.grad == 0.0
    y = tl.Tensor(np.arange(4.0).reshape(2, 2))
    assert tl.cat([y.transpose(0, 1)] * 2).view(8).shape == (8,)  # cat is C-ordered
    v = tl.Tensor(np.arange(3.0))
    assert v.flatten(-1, -1) is v
