"""Views and in-place updates follow PyTorch's model, checked against PyTorch in float64.

A view shares its base's memory and version counter; after an in-place change through the
base or through any view, every other view is made again from the base when it is next used,
so its gradient sees the base's new history; a node refuses to backpropagate through an array
that changed after it saved it. The fuzz at the end takes views *before* in-place changes and
uses them *after*, the case a fuzz that avoids aliasing never meets.
"""

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

import tinygrad_lite as tl

torch = pytest.importorskip("torch")
TOL = 1e-10


def both(program):
    """Run `program(lib, leaf)` with tinygrad_lite and with PyTorch; return both results."""
    results = []
    for lib in (tl, torch):
        def leaf(values, lib=lib):
            return lib.tensor(np.array(values, dtype=np.float64), requires_grad=True)
        results.append(program(lib, leaf))
    return results


def same(ours, theirs):
    np.testing.assert_allclose(np.asarray(ours.detach().numpy() if hasattr(ours, "detach")
                                          else ours), theirs.detach().numpy(), rtol=TOL, atol=TOL)


# ---- a view taken before an in-place change sees the change ------------------------------------
@pytest.mark.parametrize("view", ["row", "transpose", "reshape", "column"])
def test_a_view_taken_before_an_in_place_change_gets_the_new_history(view):
    take = {"row": lambda h: h[1], "transpose": lambda h: h.T,
            "reshape": lambda h: h.reshape(-1), "column": lambda h: h[:, 0]}[view]

    def program(lib, leaf):
        x = leaf([[1.0, 2.0], [3.0, 4.0]])
        h = x * 1
        r = take(h)
        h.mul_(2)
        (r * r).sum().backward()
        return x.grad

    ours, theirs = both(program)
    same(ours, theirs)


def test_writing_a_leaf_into_a_base_reaches_its_earlier_view():
    def program(lib, leaf):
        x, w = leaf([[1.0, 2.0], [3.0, 4.0]]), leaf([5.0, 6.0])
        h = x * 1
        r = h[0]
        h[0] = w
        (r * r * 3).sum().backward()
        return x.grad, w.grad

    (xg, wg), (xt, wt) = both(program)
    same(xg, xt)
    same(wg, wt)
    assert float(abs(wg).sum()) > 0


def test_a_view_of_a_tensor_without_grad_joins_the_graph_of_an_in_place_add():
    def program(lib, leaf):
        w = leaf([1.0, 2.0, 3.0, 4.0])
        z = lib.tensor(np.arange(4.0).reshape(2, 2))
        v = z.reshape(-1)
        z.add_(w.reshape(2, 2))
        (v * v).sum().backward()
        return v, w.grad

    (v, wg), (vt, wt) = both(program)
    same(v, vt)
    same(wg, wt)
    assert v.requires_grad


def test_in_place_through_one_view_reaches_another():
    def program(lib, leaf):
        x = leaf(np.arange(6.0).reshape(2, 3) + 1)
        h = x * 1
        a, b = h[0], h[:, 1]
        a.mul_(3)  # changes h[0, 1], which b shares
        (b * b).sum().backward()
        return x.grad

    ours, theirs = both(program)
    same(ours, theirs)


# ---- saved arrays are checked by version -------------------------------------------------------
@pytest.mark.parametrize("case", ["amax_sub_", "amax_iadd_used_in_div", "exp_add_", "mul_self"])
def test_changing_a_saved_output_raises_as_in_pytorch(case):
    def program(lib, leaf):
        x = leaf([[1.0, -5.0, 3.0], [2.0, 0.5, -4.0]])
        if case == "amax_sub_":
            m = x.amax(1)
            m.sub_(2)
            m.sum().backward()
        elif case == "amax_iadd_used_in_div":
            s = x.abs().amax(1)
            s += 1e-8
            (x / s.reshape(2, 1)).sum().backward()
        elif case == "exp_add_":
            y = x.exp()
            y.add_(1)
            y.sum().backward()
        else:
            h = x * 2
            h.mul_(h)
            h.sum().backward()

    for lib in (tl, torch):
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            program(lib, lambda v, lib=lib: lib.tensor(np.array(v), requires_grad=True))


def test_sum_to_size_to_the_same_shape_is_new_memory():
    x = tl.tensor(np.ones((2, 3)), requires_grad=True)
    h = x * 1
    s = h.sum_to_size(2, 3)
    s.add_(1)
    assert h.data.sum() == 6 and s.data.sum() == 12
    assert not np.shares_memory(s.data, h.data)


def test_data_assigned_before_backward_is_what_backward_uses():
    def program(lib, leaf):
        w, x = leaf([1.0, 1.0, 1.0]), leaf([1.0, 2.0, 3.0])
        y = (w * x).sum()
        w.data = lib.tensor(np.array([5.0, 6.0, 7.0]))
        y.backward()
        return x.grad

    ours, theirs = both(program)
    same(ours, theirs)
    np.testing.assert_array_equal(ours.numpy(), [5.0, 6.0, 7.0])


def test_copy_into_an_integer_tensor_takes_values_not_gradients():
    for lib in (tl, torch):
        i = lib.tensor([1, 2, 3])
        w = lib.tensor(np.array([4.5, 5.5, 6.5]), requires_grad=True)
        i.copy_(w)
        assert not i.requires_grad and i.grad_fn is None
        assert list(np.asarray(i.numpy())) == [4, 5, 6]


# ---- writes PyTorch refuses ----------------------------------------------------------------------
def test_in_place_on_a_view_of_a_leaf_and_on_an_expanded_view_raise():
    for lib in (tl, torch):
        x = lib.tensor(np.ones((2, 2)), requires_grad=True)
        with pytest.raises(RuntimeError, match="view of a leaf Variable"):
            x[0].add_(1)
        e = lib.tensor(np.ones(3)).expand(2, 3)
        with pytest.raises(RuntimeError, match="more than one element of the written-to"):
            e.add_(1)


# ---- construction: copies and shares as PyTorch does ---------------------------------------------
def test_tensor_copies_and_from_numpy_shares():
    a = np.array([1.0, 2.0, 3.0])
    x = tl.tensor(a, requires_grad=True)
    y = (x * x).sum()
    a[:] = 10
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0, 3.0])
    t = tl.Tensor(a)
    t += 1
    assert a[0] == 10 and t.numpy()[0] == 11
    s = tl.from_numpy(a)
    s += 1
    assert a[0] == 11
    assert tl.as_tensor(a).numpy() is a and tl.as_tensor(a, dtype=np.float32).numpy() is not a


# ---- .grad is a Tensor ------------------------------------------------------------------------
def test_grad_is_a_tensor_with_the_tensor_methods():
    def program(lib, leaf):
        w = leaf([3.0, 4.0])
        (w * w).sum().backward()
        norm = float(w.grad.norm())
        data = w.grad.data.sum()
        w.grad.zero_()
        return norm, float(data), float(w.grad.sum())

    ours, theirs = both(program)
    assert ours == pytest.approx(theirs)


# ---- the fuzz: views taken before in-place changes, used after -----------------------------------
VIEWS = {
    "row0": lambda h: h[0],
    "row1": lambda h: h[1],
    "col1": lambda h: h[:, 1],
    "T": lambda h: h.T,
    "flat": lambda h: h.reshape(-1),
    "tail": lambda h: h[1:, 1:],
    "elem": lambda h: h[1, 2],
}
CHANGES = ["mul_c", "add_w", "setitem_w", "mul_self", "copy_w", "zero_", "div_c", "sub_x"]


@st.composite
def alias_programs(draw):
    steps = draw(st.lists(st.tuples(st.sampled_from(["view", "change"]),
                                    st.sampled_from(sorted(VIEWS)),
                                    st.sampled_from(CHANGES), st.sampled_from([None, *VIEWS])),
                          min_size=2, max_size=7))
    weights = draw(st.lists(st.floats(-2, 2, allow_nan=False), min_size=16, max_size=16))
    return steps, weights


def _run(lib, steps, weights):
    """The program on one library: (values and grads), or the RuntimeError it raised."""
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.uniform(1, 2, (2, 3)), requires_grad=True)
    w = lib.tensor(rng.uniform(1, 2, (2, 3)), requires_grad=True)
    h = x * 1.5
    views = {}
    try:
        for kind, name, change, target in steps:
            if kind == "view":
                views[name] = VIEWS[name](h)
                continue
            t = h if target is None or target not in views else views[target]
            wv = VIEWS[target](w) if target in views else w
            if change == "mul_c":
                t.mul_(1.25)
            elif change == "add_w":
                t.add_(wv * 0.5)
            elif change == "setitem_w":
                t[...] = wv * 2
            elif change == "mul_self":
                t.mul_(t)
            elif change == "copy_w":
                t.copy_(wv)
            elif change == "zero_":
                t.zero_()
            elif change == "div_c":
                t.div_(4.0)
            else:
                t.sub_(VIEWS[target](x) if target in views else x)
        outs = [h] + [views[k] for k in sorted(views)]
        loss = sum((o * weights[i]).sum() for i, o in enumerate(outs))
        loss = loss + (outs[-1] * outs[-1]).sum()
        loss.backward()
        return ([np.array(o.detach().numpy()) for o in outs],
                [None if g is None else np.array(g.numpy()) for g in (x.grad, w.grad)])
    except RuntimeError as e:
        return e


@settings(max_examples=300, deadline=None)
@given(alias_programs())
def test_aliasing_programs_match_torch(program):
    steps, weights = program
    note(f"steps: {steps}")
    ours, theirs = _run(tl, steps, weights), _run(torch, steps, weights)
    if isinstance(theirs, RuntimeError) or isinstance(ours, RuntimeError):
        assert isinstance(ours, RuntimeError) and isinstance(theirs, RuntimeError), (ours, theirs)
        return
    for a, b in zip(ours[0], theirs[0]):
        np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)
    for a, b in zip(ours[1], theirs[1]):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)


# ---- shapes and implicit dims ------------------------------------------------------------------
@pytest.mark.parametrize("name", ["max", "min"])
def test_a_whole_tensor_max_keeps_its_dims_when_asked(name):
    x = np.arange(6.0).reshape(2, 3)
    ours = getattr(tl.tensor(x), name)(axis=None, keepdims=True)
    assert ours.shape == (1, 1) == tuple(getattr(torch, "a" + name)(torch.tensor(x), dim=None,
                                                                     keepdim=True).shape)
    assert float(ours.item()) == getattr(x, name)()
