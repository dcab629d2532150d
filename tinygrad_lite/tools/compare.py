"""`tl.compare_gradients`: check your hand-written backprop against autograd, tensor by tensor.

    def loss_fn(model):
        z1 = model[0](x)
        z2 = model[2](model[1](z1))
        return cross_entropy(z2, y), {"Z1": z1, "Z2": z2}    # name the intermediates you derived

    report = tl.compare_gradients(loss_fn, model, {"dZ2": ..., "db2": ..., "2.weight": ...})
    print(report)                     # the table, in backprop order
    report.ok                         # every gradient you gave matches
    report.first_mismatch             # the first wrong one, in the order backprop computes them

A key of `manual_grads` names a tensor: a parameter by its `named_parameters()` path
("2.bias"), or a tensor `loss_fn` returned in its dict ("Z2", or a parameter under your own
name, "b2": model[2].bias). The notebook's `d` prefix works too: "dZ2" is the gradient of "Z2".

Layouts: your array may be the transpose of autograd's (the notebook keeps one image per column,
the framework one per row) or differ by axes of size 1 ((10, 1) for a (10,) bias). Both are
compared after undoing the difference, and the row says "transposed" or "reshaped". Any other
shape difference is a mismatch, reported with both shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from ..autograd import enable_grad, node_of, topological_order
from ..core.tensor import Tensor

__all__ = ["GradientReport", "GradientRow", "compare_gradients"]

# allclose tolerances by precision: rounding differs by ~1e-16 (float64) or ~1e-7 (float32)
# between two correct programs; a wrong rule is off by far more
TOLERANCES = {"float64": (1e-5, 1e-8), "float32": (1e-3, 1e-5)}


@dataclass
class GradientRow:
    """One compared gradient: your array against autograd's, in autograd's layout."""

    name: str  # your key, e.g. "db2"
    tensor: str  # the tensor it names, e.g. "2.bias" or "Z2"
    autograd_shape: Tuple[int, ...]
    manual_shape: Tuple[int, ...]
    layout: str = ""  # "", "transposed" or "reshaped": how your array was lined up
    exact: bool = False  # every element equal
    close: bool = False  # np.allclose(yours, autograd, rtol, atol)
    max_abs_diff: float = float("nan")
    rel_error: float = float("nan")  # ||yours - autograd|| / ||autograd||, Frobenius norms
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.close

    @property
    def label(self) -> str:
        return self.name if self.name == self.tensor else f"{self.name} ({self.tensor})"

    def __str__(self) -> str:
        text = (f"{self.label}: yours {self.manual_shape}, autograd {self.autograd_shape}"
                f"{', ' + self.layout if self.layout else ''}")
        if self.max_abs_diff == self.max_abs_diff:  # not nan: the values were compared
            text += f"; max abs diff {self.max_abs_diff:.3g}, rel error {self.rel_error:.3g}"
        return text + (f"; {self.note}" if self.note else "")


@dataclass
class GradientReport:
    """What `compare_gradients` found. `str(report)` is the table."""

    rows: List[GradientRow]  # in backprop order: the order autograd computes the gradients
    not_checked: List[str]  # parameters you gave no gradient for
    rtol: float
    atol: float
    autograd: Dict[str, np.ndarray] = field(default_factory=dict)  # your key -> autograd's array

    @property
    def ok(self) -> bool:
        """Every gradient you gave matches autograd's (allclose, after lining up layouts)."""
        return all(row.ok for row in self.rows)

    @property
    def first_mismatch(self) -> Optional[GradientRow]:
        """The first row that does not match, in backprop order; None if all match."""
        return next((row for row in self.rows if not row.ok), None)

    @property
    def max_abs_diff(self) -> float:
        """Largest |yours - autograd| over all rows (inf if a shape does not match)."""
        diffs = [np.inf if row.max_abs_diff != row.max_abs_diff else row.max_abs_diff
                 for row in self.rows]
        return max(diffs, default=0.0)

    def __str__(self) -> str:
        header = ("tensor", "autograd", "yours", "exact", "allclose", "max abs diff",
                  "rel error", "note")
        table = [header]
        for row in self.rows:
            compared = row.max_abs_diff == row.max_abs_diff
            table.append((
                row.label, str(row.autograd_shape),
                str(row.manual_shape) + (" T" if row.layout == "transposed" else ""),
                _yes(row.exact) if compared else "-", _yes(row.close),
                f"{row.max_abs_diff:.3g}" if compared else "-",
                f"{row.rel_error:.3g}" if compared else "-",
                "; ".join(text for text in (row.layout, row.note) if text),
            ))
        widths = [max(len(line[k]) for line in table) for k in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip()
                 for line in table]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.append(f"(backprop order; allclose: rtol {self.rtol:g}, atol {self.atol:g}; "
                     "rel error: ||yours - autograd|| / ||autograd||, Frobenius norms)")
        if self.not_checked:
            lines.append("not checked (no gradient given): " + ", ".join(self.not_checked))
        mismatch = self.first_mismatch
        if mismatch:
            lines.append(f"first mismatch: {mismatch}")
        else:
            lines.append("the gradient matches" if len(self.rows) == 1 else
                         f"all {len(self.rows)} gradients match")
        return "\n".join(lines)

    def __repr__(self) -> str:
        first = self.first_mismatch
        return (f"<GradientReport: {len(self.rows)} gradients, ok={self.ok}"
                f"{', first mismatch ' + first.name if first else ''}>")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython shows the table
        printer.text(str(self))


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def compare_gradients(
    loss_fn: Callable[[Any], Any],
    model: Any,
    manual_grads: Union[Mapping[str, Any], Callable[[Any], Mapping[str, Any]]],
    *,
    rtol: Optional[float] = None,
    atol: Optional[float] = None,
) -> GradientReport:
    """Run autograd on `loss_fn(model)` and compare its gradients with yours.

    `loss_fn(model)` returns the scalar loss, or `(loss, {"Z1": z1, ...})` to name
    intermediate tensors (and parameters under your own names); those keep their gradient
    (`retain_grad`) for the comparison. `model`: a Module, or a {name: tensor} dict of the
    parameters. `manual_grads`: {name: array}, or a callable `manual_grads(model)` returning
    it; a name is a parameter path ("0.weight"), a name from loss_fn's dict, or either with the
    notebook's "d" prefix ("dW1"). `rtol`, `atol`: np.allclose's tolerances (default by
    precision: 1e-5, 1e-8 in float64; 1e-3, 1e-5 in float32).

    The model's `.grad` arrays are left as they were. Returns a GradientReport.
    """
    params = _named_parameters(model)
    saved = [p.grad for p in params.values()]
    for p in params.values():
        p.grad = None
    try:
        with enable_grad():
            loss, named = _loss_and_names(loss_fn(model))
        names = _tensor_names(params, named)
        for tensor in named.values():
            if not tensor.is_leaf:
                tensor.retain_grad()
        # position of each tensor in backprop order: the reverse of the forward order
        order = topological_order(loss)[::-1]  # nodes: a tensor's is node_of(tensor)
        position = {id(node): k for k, node in enumerate(order)}
        loss.backward()
        autograd = {name: _grad_of(t) for name, t in names.items()}
    finally:
        for p, g in zip(params.values(), saved):
            p.grad = g
    manual = manual_grads(model) if callable(manual_grads) else manual_grads
    if not isinstance(manual, Mapping) or not manual:
        raise ValueError("compare_gradients: manual_grads must be a non-empty dict "
                         "{name: array} (or a callable returning one)")
    rows, seen, grads = [], set(), {}
    for key, value in manual.items():
        target = _resolve(key, names)
        seen.add(id(names[target]))
        grads[key] = autograd[target]
        rows.append((position.get(id(node_of(names[target])), len(order)), len(rows),
                     (key, target, _array(key, value))))
    rows.sort(key=lambda item: item[:2])
    dtypes = {np.dtype(a.dtype).name for a in grads.values()}
    dtypes |= {np.asarray(item[2][2]).dtype.name for item in rows}
    default = TOLERANCES["float64" if dtypes <= {"float64"} else "float32"]
    rtol = default[0] if rtol is None else rtol
    atol = default[1] if atol is None else atol
    report_rows = [_compare(key, target, mine, grads[key], rtol, atol)
                   for _, _, (key, target, mine) in rows]
    not_checked = [name for name, p in params.items() if id(p) not in seen]
    return GradientReport(report_rows, not_checked, rtol, atol, grads)


def _named_parameters(model: Any) -> Dict[str, Tensor]:
    if hasattr(model, "named_parameters"):
        return dict(model.named_parameters())
    if isinstance(model, Mapping):
        return dict(model)
    raise TypeError(f"compare_gradients: model must be a Module or a {{name: tensor}} dict, "
                    f"got {type(model).__name__}")


def _loss_and_names(out: Any) -> Tuple[Tensor, Dict[str, Tensor]]:
    """loss_fn's result: a loss, or (loss, {name: tensor})."""
    named: Mapping = {}
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], Mapping):
        out, named = out
    if not isinstance(out, Tensor):
        raise TypeError(f"compare_gradients: loss_fn must return the loss Tensor, or (loss, "
                        f"{{name: tensor}}); got {type(out).__name__}")
    if out.numel() != 1:
        raise ValueError(f"compare_gradients: the loss must be a scalar, got shape {out.shape}")
    if not out.requires_grad:
        raise ValueError("compare_gradients: the loss does not require grad (no parameter "
                         "in it requires grad?)")
    for name, tensor in named.items():
        if not isinstance(tensor, Tensor):
            raise TypeError(f"compare_gradients: loss_fn's {name!r} is a "
                            f"{type(tensor).__name__}, not a Tensor")
        if not tensor.requires_grad:
            raise ValueError(f"compare_gradients: {name!r} does not require grad, so autograd "
                             "computes no gradient for it")
    return out, dict(named)


def _tensor_names(params: Dict[str, Tensor], named: Dict[str, Tensor]) -> Dict[str, Tensor]:
    names = dict(params)
    for name, tensor in named.items():
        if name in names and names[name] is not tensor:
            raise ValueError(f"compare_gradients: loss_fn names {name!r}, which is already a "
                             "parameter of the model; choose another name")
        names[name] = tensor
    return names


def _resolve(key: str, names: Dict[str, Tensor]) -> str:
    """The tensor name a key of manual_grads refers to: itself, or itself without a "d"."""
    if key in names:
        return key
    if isinstance(key, str) and key.startswith("d") and key[1:] in names:
        return key[1:]
    raise KeyError(f"compare_gradients: no tensor named {key!r}; known: "
                   f"{', '.join(names)} (name intermediates in loss_fn's dict)")


def _grad_of(tensor: Tensor) -> np.ndarray:
    """Autograd's gradient (zeros where none reached the tensor: it did not affect the loss)."""
    if tensor.grad is None:
        return np.zeros(tensor.shape, dtype=tensor.dtype)
    return np.array(tensor.grad, copy=True)


def _array(key: str, value: Any) -> np.ndarray:
    data = value.data if isinstance(value, Tensor) else value
    array = np.asarray(data)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"compare_gradients: {key!r} is not numeric ({array.dtype})")
    return array


def _compare(key: str, target: str, mine: np.ndarray, auto: np.ndarray, rtol: float,
             atol: float) -> GradientRow:
    row = GradientRow(key, target, tuple(auto.shape), tuple(mine.shape))
    lined_up = _line_up(mine, auto.shape, row)
    if lined_up is None:
        if mine.size == 1 and auto.size > 1:
            row.note = (f"one number where autograd has {auto.shape}: summed over every axis "
                        "(np.sum without axis=)?")
        else:
            row.note = f"shape {mine.shape} cannot be {auto.shape}"
        return row
    mine = lined_up.astype(np.result_type(lined_up.dtype, auto.dtype, np.float32), copy=False)
    diff = np.abs(mine - auto)
    row.exact = bool(np.array_equal(mine, auto))
    row.close = bool(np.allclose(mine, auto, rtol=rtol, atol=atol))
    row.max_abs_diff = float(diff.max(initial=0.0))
    norm = float(np.linalg.norm(auto))
    row.rel_error = float(np.linalg.norm(mine - auto)) / norm if norm else (
        0.0 if row.max_abs_diff == 0 else float("inf"))
    if not row.close:
        row.note = _hint(mine, auto, rtol, atol)
    return row


def _line_up(mine: np.ndarray, shape: Tuple[int, ...], row: GradientRow) -> Optional[np.ndarray]:
    """`mine` in autograd's shape: as it is, transposed (2-D), or without size-1 axes."""
    if mine.shape == shape:
        return mine
    if mine.ndim == 2 and len(shape) == 2 and mine.shape[::-1] == shape:
        row.layout = "transposed"
        return mine.T
    squeezed = tuple(n for n in shape if n != 1)
    if tuple(n for n in mine.shape if n != 1) == squeezed:
        row.layout = "reshaped"
        return mine.reshape(shape)
    return None


def _hint(mine: np.ndarray, auto: np.ndarray, rtol: float, atol: float) -> str:
    """Why a same-shape gradient differs, when a simple reason fits."""
    if mine.ndim == 2 and mine.shape[0] == mine.shape[1] and np.allclose(
        mine.T, auto, rtol=rtol, atol=atol
    ):
        return "equals autograd's transpose"
    square = float(np.vdot(auto, auto))
    if square > 0:
        scale = float(np.vdot(auto, mine)) / square
        if abs(scale - 1) > 1e-3 and np.allclose(mine, scale * auto, rtol=rtol, atol=atol):
            return f"= {scale:.4g} x autograd: a missing or extra factor (1/m?)"
    return "values differ"
