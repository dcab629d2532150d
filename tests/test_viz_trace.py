"""tl.viz (DOT graphs, rendering) and tl.trace_backward (the printed backward walk)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import autograd, nn, viz
from tinygrad_lite.core import ops as core_ops
from tinygrad_lite.tools.trace import rule_of

BATCH = 4
CE_RULE = "CrossEntropy: dL/dz = (softmax(z) - onehot(t)) / N."
LINEAR_RULE = "Linear: dL/dx = g W, dL/dW = g^T x, dL/db = g summed over the batch."
RELU_RULE = "ReLU: dL/dx = g [x > 0] (0 at exactly 0, as the notebook's `Z > 0`)."


def two_layer(seed: int = 0):
    """The notebook's net, row-major: Linear(784, 10) -> ReLU -> Linear(10, 10) -> CE."""
    tl.manual_seed(seed)
    model = nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10))
    x = tl.randn(BATCH, 784)
    y = np.array([3, 1, 4, 1], dtype=np.int64)
    loss = nn.functional.cross_entropy(model(x), y)
    return model, loss, x.data


# ---- a small structural DOT check ------------------------------------------------------------

_STRING = r'"(?:[^"\\]|\\.)*"'
_ID = r"[A-Za-z_][A-Za-z0-9_]*"
_ATTRS = rf"\[\s*(?:{_ID}\s*=\s*(?:{_STRING}|[^,\]\s]+)\s*,?\s*)*\]"


def check_dot(text: str) -> tuple:
    """Assert `text` is a well-formed digraph as to_dot writes it; return (nodes, edges)."""
    assert text.startswith("digraph ") and text.rstrip().endswith("}")
    unquoted = re.sub(_STRING, '""', text)  # braces inside labels do not count
    assert unquoted.count("{") == unquoted.count("}") == 1
    body = text[text.index("{") + 1 : text.rstrip().rindex("}")]
    nodes, edges = set(), []
    for line in body.strip().splitlines():
        line = line.strip()
        if re.fullmatch(rf"(?:rankdir\s*=\s*\w+|(?:node|edge|graph)\s*{_ATTRS});", line):
            continue
        m = re.fullmatch(rf"({_ID})\s*{_ATTRS};", line)
        if m:
            assert m.group(1) not in nodes, f"node {m.group(1)} declared twice"
            nodes.add(m.group(1))
            continue
        m = re.fullmatch(rf"({_ID})\s*->\s*({_ID});", line)
        assert m, f"not a DOT statement: {line!r}"
        edges.append((m.group(1), m.group(2)))
    for a, b in edges:
        assert a in nodes and b in nodes, f"edge {a} -> {b} has an undeclared endpoint"
    return nodes, edges


def labels_of(text: str) -> dict:
    """node id -> label, unescaped (DOT's \\n back to a newline)."""
    unescape = lambda m: "\n" if m.group(1) == "n" else m.group(1)  # noqa: E731
    return {
        m.group(1): re.sub(r"\\(.)", unescape, m.group(2))
        for m in re.finditer(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"', text, re.M)
    }


# ---- to_dot ------------------------------------------------------------------------------------


def test_dot_two_layer_net_has_ops_shapes_and_parameter_paths():
    model, loss, _ = two_layer()
    text = viz.to_dot(loss, model)
    nodes, edges = check_dot(text)
    labels = set(labels_of(text).values())
    assert {"Linear\n(4, 10)", "ReLU\n(4, 10)", "CrossEntropy\n()"} <= labels
    assert {"0.weight\n(10, 784)", "0.bias\n(10,)", "2.weight\n(10, 10)", "2.bias\n(10,)"} <= labels
    # the data and the targets need no gradient: the graph holds no node for them (as torchviz)
    assert not any(label.startswith("input") for label in labels)
    assert len(nodes) == 8  # W1, b1, Linear, ReLU, W2, b2, Linear, CrossEntropy
    assert len(edges) == 7
    assert "|grad|" not in text  # no backward yet


def test_dot_params_dict_and_tensor_name_label_the_same():
    model, loss, _ = two_layer()
    assert viz.to_dot(loss, dict(model.named_parameters())) == viz.to_dot(loss, model)
    for path, p in model.named_parameters():
        p.name = path
    assert viz.to_dot(loss) == viz.to_dot(loss, model)


def test_dot_edges_follow_the_forward_pass():
    model, loss, _ = two_layer()
    text = viz.to_dot(loss, model)
    labels = labels_of(text)
    _, edges = check_dot(text)
    named = {(labels[a].split("\n")[0], labels[b].split("\n")[0]) for a, b in edges}
    assert ("0.weight", "Linear") in named and ("Linear", "ReLU") in named
    assert ("ReLU", "Linear") in named and ("Linear", "CrossEntropy") in named
    assert ("2.bias", "Linear") in named


def test_dot_shows_gradient_norms_after_backward():
    model, loss, _ = two_layer()
    hidden_loss = loss  # keep a handle on the graph
    loss.backward()
    text = viz.to_dot(hidden_loss, model)
    check_dot(text)
    labels = labels_of(text)
    for path, p in model.named_parameters():
        (label,) = [v for v in labels.values() if v.startswith(path + "\n")]
        assert label.endswith(f"|grad| = {np.linalg.norm(p.grad):.4g}")
    # intermediate tensors keep no gradient by default, so they show none
    assert not any(v.startswith(("Linear", "ReLU")) and "|grad|" in v for v in labels.values())


def test_dot_intermediate_norms_from_retain_grad_and_from_a_trace():
    tl.manual_seed(1)
    model = nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10))
    x = tl.randn(BATCH, 784)
    z1 = model[0](x).retain_grad()
    z2 = model[2](model[1](z1))
    loss = nn.functional.cross_entropy(z2, np.array([0, 1, 2, 3]))
    with tl.trace_backward(file=io.StringIO()) as tr:
        loss.backward()
    labels = labels_of(viz.to_dot(loss, model))
    assert sum("Linear" in v and "|grad|" in v for v in labels.values()) == 1  # z1 only
    z1_label = [v for v in labels.values() if v.startswith("Linear") and "|grad|" in v][0]
    assert z1_label.endswith(f"|grad| = {np.linalg.norm(z1.grad):.4g}")
    traced = labels_of(viz.to_dot(loss, model, trace=tr))
    ops_with_norm = [v.split("\n")[0] for v in traced.values() if "|grad|" in v]
    assert sorted(ops_with_norm) == sorted(
        ["0.weight", "0.bias", "2.weight", "2.bias", "Linear", "ReLU", "Linear", "CrossEntropy"]
    )
    ce = [v for v in traced.values() if v.startswith("CrossEntropy")][0]
    assert ce.endswith("|grad| = 1")


def test_dot_node_used_twice_and_escaping():
    a = tl.Tensor([1.0, 2.0], requires_grad=True)
    a.name = 'say "hi" \\ {x}'
    y = (a * a).sum()
    text = viz.to_dot(y)
    nodes, edges = check_dot(text)
    assert len(nodes) == 3 and len(edges) == 3  # a -> Mul twice, Mul -> Sum
    assert '\\"hi\\"' in text
    labels = labels_of(text)
    (mul,) = [n for n, v in labels.items() if v.startswith("Mul")]
    (leaf,) = [n for n, v in labels.items() if v == 'say "hi" \\ {x}\n(2,)']
    assert edges.count((leaf, mul)) == 2


def test_dot_named_intermediate_and_constants():
    x = tl.Tensor([[1.0, -2.0]], requires_grad=True)
    h = (x * 2.0).relu()
    h.name = "A1"
    text = viz.to_dot(h.sum())
    labels = set(labels_of(text).values())
    assert "A1 = ReLU\n(1, 2)" in labels and "leaf\n(1, 2)" in labels
    assert len(labels) == 4  # x, Mul, ReLU, Sum: the constant 2.0 is no node of the graph


def test_dot_rejects_non_tensors():
    with pytest.raises(TypeError):
        viz.to_dot(np.zeros(3))
    with pytest.raises(TypeError):
        viz.to_dot(tl.zeros(2), {"w": np.zeros(2)})


# ---- draw --------------------------------------------------------------------------------------


def test_draw_dot_file_needs_no_graphviz(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    model, loss, _ = two_layer()
    path = viz.draw(loss, tmp_path / "graph.dot", model)
    assert open(path).read() == viz.to_dot(loss, model)


def test_draw_graphviz_asked_for_but_missing_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    model, loss, _ = two_layer()
    with pytest.raises(viz.GraphvizNotFoundError) as info:
        viz.draw(loss, tmp_path / "graph.svg", model, graphviz=True)
    message = str(info.value)
    assert "\n" not in message and "apt-get install graphviz" in message
    assert not (tmp_path / "graph.svg").exists()
    assert viz.draw(loss, tmp_path / "graph.svg", model).endswith("graph.svg")  # no Graphviz
    with pytest.raises(ValueError):
        viz.draw(loss, tmp_path / "graph", model)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_dot_program_accepts_the_graph_and_draw_renders(tmp_path):
    model, loss, _ = two_layer()
    loss.backward()
    result = subprocess.run(
        ["dot", "-Tsvg"], input=viz.to_dot(loss, model).encode(), capture_output=True
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b"<svg" in result.stdout and b"0.weight" in result.stdout
    svg = viz.draw(loss, tmp_path / "graph.svg", model, graphviz=True)
    assert "<svg" in open(svg).read() and "graphviz" in open(svg).read().lower()
    png = viz.draw(loss, str(tmp_path / "graph.png"), model, graphviz=True)
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(RuntimeError, match="dot -Tnosuchformat failed"):
        viz.draw(loss, tmp_path / "graph.nosuchformat", model, graphviz=True)


# ---- trace_backward ----------------------------------------------------------------------------


def test_trace_two_layer_net_lists_ops_in_reverse_with_rules():
    model, loss, _ = two_layer()
    out = io.StringIO()
    with tl.trace_backward(file=out, params=model) as tr:
        loss.backward()
    lines = out.getvalue().splitlines()
    assert lines == tr.lines
    assert len(lines) == 4
    assert lines[0].startswith(CE_RULE) and lines[0].endswith("[(4, 10), (4,) no grad -> ()]")
    assert lines[1].startswith(LINEAR_RULE)
    assert lines[1].endswith("[(4, 10), 2.weight (10, 10), 2.bias (10,) -> (4, 10)]")
    assert lines[2] == RELU_RULE + "  [(4, 10) -> (4, 10)]"
    assert lines[3].startswith(LINEAR_RULE)
    assert lines[3].endswith("[(4, 784) no grad, 0.weight (10, 784), 0.bias (10,) -> (4, 10)]")
    # backprop order is the reverse of the forward order
    forward = [type(n).__name__ for n in autograd.topological_order(loss)
               if isinstance(n, tl.Function)]
    assert [s.op for s in tr.steps] == forward[::-1] == ["CrossEntropy", "Linear", "ReLU", "Linear"]
    assert tr.steps[3].input_shapes == ((4, 784), (10, 784), (10,))
    assert tr.steps[0].output_shape == ()


def test_trace_prints_to_current_stdout_by_default(capsys):
    _, loss, _ = two_layer()
    with tl.trace_backward(show_norms=True):
        loss.backward()
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["CrossEntropy", "Linear", "ReLU", "Linear"]
    assert lines[0].endswith("|grad_out| = 1")
    assert all("|grad_out| = " in line for line in lines)


def test_trace_norms_match_the_notebook_chain():
    """The traced gradient norms are those of dZ2, dA1, dZ1 computed by hand."""
    model, loss, x = two_layer()
    with tl.trace_backward(file=io.StringIO()) as tr:
        loss.backward()
    w1, b1 = model[0].weight.data, model[0].bias.data
    w2, b2 = model[2].weight.data, model[2].bias.data
    z1 = x @ w1.T + b1
    a1 = np.maximum(z1, 0)
    z2 = a1 @ w2.T + b2
    a2 = np.exp(z2 - z2.max(1, keepdims=True))
    a2 /= a2.sum(1, keepdims=True)
    onehot = np.eye(10)[[3, 1, 4, 1]]
    dz2 = (a2 - onehot) / BATCH
    da1 = dz2 @ w2
    dz1 = da1 * (z1 > 0)
    got = [s.grad_out_norm for s in tr.steps]
    want = [1.0, np.linalg.norm(dz2), np.linalg.norm(da1), np.linalg.norm(dz1)]
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_trace_hook_removed_on_exit_and_on_error():
    before = list(autograd.backward_hooks)
    _, loss, _ = two_layer()
    with pytest.raises(KeyError):
        with tl.trace_backward(file=io.StringIO()):
            assert len(autograd.backward_hooks) == len(before) + 1
            raise KeyError("boom")
    assert autograd.backward_hooks == before
    with tl.trace_backward(file=io.StringIO()) as outer:
        with tl.trace_backward(file=io.StringIO()) as inner:
            loss.backward()
        assert autograd.backward_hooks == [*before, outer]
    assert autograd.backward_hooks == before
    assert outer.lines == inner.lines and len(outer.lines) == 4
    _, loss, _ = two_layer()
    loss.backward()  # untraced: nothing recorded
    assert len(outer.steps) == 4


def test_trace_custom_op_shows_its_docstring_rule():
    class Cube(tl.Function):
        """y = x**3;  dy/dx = 3 x**2"""

        def forward(self, x):
            self.save_for_backward(x)
            return x**3

        def backward(self, grad):
            (x,) = self.saved_tensors
            return 3 * x**2 * grad

    class Square(tl.Function):
        """y = x * x, elementwise;  dy/dx = 2 x

        (only the first paragraph's rule is shown)"""

        def forward(self, x):
            self.save_for_backward(x)
            return x * x

        def backward(self, grad):
            (x,) = self.saved_tensors
            return 2 * x * grad

    class Bare(Square):
        __doc__ = None

    x = tl.Tensor([1.0, 2.0], requires_grad=True)
    out = io.StringIO()
    with tl.trace_backward(file=out):
        (Bare.apply(Square.apply(Cube.apply(x))).sum()).backward()
    assert out.getvalue().splitlines() == [
        "Sum: dL/dx = g copied back over the summed axes.  [(2,) -> ()]",
        "Bare: (no rule documented)  [(2,) -> (2,)]",
        "Square: dy/dx = 2 x  [(2,) -> (2,)]",
        "Cube: dy/dx = 3 x**2  [(2,) -> (2,)]",
    ]


def test_every_op_has_a_rule():
    """Every Function the package defines has a one-line rule for the trace to print."""
    found, stack = [], [tl.Function]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith("tinygrad_lite."):
                found.append(sub)
    assert {core_ops.Linear, core_ops.ReLU, core_ops.CrossEntropy} <= set(found)
    assert len(found) >= 20
    for cls in found:
        rule = rule_of(cls)
        assert rule and "\n" not in rule and rule != "(no rule documented)", cls.__name__


# ---- examples/mnist_two_layer.py --graph -------------------------------------------------------


def _example():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / "mnist_two_layer.py"
    spec = importlib.util.spec_from_file_location("mnist_two_layer_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_graph_flag_writes_dot_and_svg_without_graphviz(tmp_path, monkeypatch, capsys):
    example = _example()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    target = tmp_path / "graph.svg"
    args = ["--limit", "64", "--iterations", "1", "--no-progress", "--graph", str(target)]
    assert example.main(args) == 0
    out, err = capsys.readouterr()
    assert f"saved graph {tmp_path / 'graph.dot'}" in out
    assert f"saved graph {target}" in out and err == ""
    assert "<svg" in target.read_text() and "|grad| = " in target.read_text()
    text = (tmp_path / "graph.dot").read_text()
    nodes, _ = check_dot(text)
    labels = set(labels_of(text).values())
    assert len(nodes) == 8  # 4 parameters, 4 ops: the data and targets need no gradient
    assert any(v.startswith("0.weight\n(10, 784)\n|grad| = ") for v in labels)
    assert any(v.startswith("ReLU\n(64, 10)\n|grad| = ") for v in labels)  # from the trace
