"""The graph holds Function nodes, not Tensors (PyTorch's design): intermediate tensors die with
the user's last reference, a long graph keeps a few objects per op for the cyclic garbage
collector to scan, `grad_fn.next_functions` has PyTorch's structure, and version checks still
catch a saved array changed in place after the user dropped its tensor."""

import gc
import weakref

import numpy as np
import pytest

import tinygrad_lite as tl


def _chain(x, n):
    y, refs = x, []
    for i in range(n):
        y = y * 1.0001 if i % 2 == 0 else y + 0.0001
        refs.append(weakref.ref(y))
    return y, refs


def test_intermediate_tensors_die_with_the_last_reference_while_the_graph_lives():
    collecting = gc.isenabled()
    gc.disable()  # freed by reference counting alone, not by the cycle collector
    try:
        x = tl.Tensor(np.float32(1.0), requires_grad=True)
        y, refs = _chain(x, 200)
        assert refs[-1]() is y
        assert all(ref() is None for ref in refs[:-1])  # the graph holds none of them
        first = y.grad_fn
        while isinstance(first.next[0], tl.Function):
            first = first.next[0]
        assert first.next[0].variable is x  # the leaf's AccumulateGrad, where its gradient ends
        last, first = weakref.ref(y.grad_fn), weakref.ref(first)
        y.backward()
        assert x.grad == pytest.approx(1.0001 ** 100, rel=1e-5)
        del y
        assert last() is None and first() is None  # no reference cycle keeps the nodes
    finally:
        if collecting:
            gc.enable()


def test_a_saved_intermediate_lives_until_backward_frees_the_graph_as_in_pytorch():
    torch = pytest.importorskip("torch")
    refs = {}
    for lib in (tl, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        h = x * 2
        h.retain_grad()
        ref = weakref.ref(h)
        loss = (h * h).sum()  # Mul saved h
        del h
        alive = ref() is not None
        loss.backward()
        refs[lib.__name__] = (alive, ref() is None)
        np.testing.assert_allclose(np.asarray(x.grad), 8 * np.asarray(x.detach()))
    assert refs["tinygrad_lite"] == refs["torch"] == (True, True)


@pytest.mark.parametrize("saving", [False, True])
def test_a_long_graph_keeps_two_tracked_objects_per_op(saving):
    """Per op: its node and the tuple of its inputs' nodes, also when the op saved a tensor
    (its version counter is an array, no object the cyclic GC tracks). Before: also the output
    Tensor, the tuple of parent Tensors and a Tensor for each Python number."""
    x = tl.Tensor(np.float32(1.0), requires_grad=True)
    gc.collect()
    before = len(gc.get_objects())
    if saving:  # Tanh saves its output
        y = x
        for _ in range(2000):
            y = y.tanh()
    else:
        y, refs = _chain(x, 2000)
        del refs
    gc.collect()  # also untracks the tuples that hold only numbers and arrays (in two passes
    gc.collect()  # when they are nested)
    per_op = (len(gc.get_objects()) - before) / 2000
    assert per_op < 2.1, per_op
    del y


def test_next_functions_have_pytorchs_structure():
    def structure(node, leaf):
        if node is None:
            return None
        if not node.next_functions:
            return ("leaf", node.variable is leaf)
        name = type(node).__name__.replace("Backward0", "Backward").replace("Backward", "")
        return (name, tuple(structure(n, leaf) for n, k in node.next_functions))

    try:
        import torch
    except ImportError:  # without the parity extra, only the literal below checks the structure
        torch = None
    shapes = []
    for lib in (tl, torch) if torch is not None else (tl,):
        w = lib.ones(3, requires_grad=True)
        x = lib.ones(3)
        y = ((w * x + 2.0).exp() * w).sum()
        shapes.append(structure(y.grad_fn, w))
        assert all(k == 0 for _, k in y.grad_fn.next_functions)
    assert shapes[0] == shapes[-1]
    assert shapes[0] == ("Sum", (("Mul", (("Exp", (("Add", (("Mul", (("leaf", True), None)),
                                                               None)),)), ("leaf", True))),))
    w = tl.ones(3, requires_grad=True)
    y = w * w
    (a, _), (b, _) = y.grad_fn.next_functions
    assert a is b and a.variable is w  # one AccumulateGrad per leaf, as PyTorch's


def test_version_error_for_a_saved_input_dropped_by_the_user_and_changed_through_a_view():
    x = tl.Tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    a = x * 1
    view = a[:2]  # shares a's memory and version counter
    y = (a * a).sum()  # Mul saved a
    del a  # the graph does not hold it: the node holds its array and its version counter
    with tl.no_grad():
        view.mul_(2)
    with pytest.raises(RuntimeError, match=r"input 0 of <MulBackward> .* is at version 1"):
        y.backward()


def test_version_error_for_a_saved_view_dropped_by_the_user_and_changed_through_its_base():
    x = tl.Tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    base = x * 1
    e = base[1:3].exp()  # Exp saved its output, a view's result; then the view is dropped
    v = base[1:3]
    z = (v * v).sum()  # Mul saved the view v
    del v
    base[1:2] = 0.0  # recorded, through the base: the views' shared counter moves
    with pytest.raises(RuntimeError, match=r"input 0 of <MulBackward> .* is at version 1"):
        z.backward()
    e.sum().backward()  # Exp's output is its own array: not a view of base, still valid
    np.testing.assert_allclose(x.grad, [0.0, np.exp(2.0), np.exp(3.0), 0.0])


def test_a_saved_leaf_changed_under_no_grad_is_refused():
    w = tl.Tensor([1.0, 2.0], requires_grad=True)
    y = (w.exp() * w).sum()
    with tl.no_grad():
        w.add_(1)
    with pytest.raises(RuntimeError, match=r"input 1 of <MulBackward> .* is at version 1"):
        y.backward()
