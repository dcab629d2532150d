"""docs/from_manual_to_autograd.ipynb: in step with its source, stored with its outputs, and
it runs (in a Jupyter kernel, through nbclient, with fewer iterations and rows to be quick)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

DOCS = Path(__file__).resolve().parent.parent / "docs"


def builder():
    spec = importlib.util.spec_from_file_location("build_notebook", DOCS / "build_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def text_of(nb) -> str:
    """Everything the notebook printed or displayed as text, in order."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type == "error":
                parts.append(f"ERROR {out.ename}: {out.evalue}")
            elif "text/plain" in out.get("data", {}):
                parts.append(out.data["text/plain"])
    return "".join(parts)


def check_outputs(nb) -> str:
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    errors = [out for cell in code for out in cell.outputs if out.output_type == "error"]
    assert errors == [], errors
    text = text_of(nb)
    assert "first mismatch: db2 (b2): yours (), autograd (10,)" in text  # the Kaggle bug
    assert text.count("all 6 gradients match") == 1 and text.count("all 4 gradients match") == 3
    assert "CrossEntropy: dL/dz = (softmax(z) - onehot(t)) / N." in text  # the backward trace
    svgs = [out.data["image/svg+xml"] for cell in code for out in cell.outputs
            if "image/svg+xml" in out.get("data", {})]
    assert len(svgs) == 1 and "0.weight" in svgs[0] and "Frobenius" in svgs[0]  # the graph
    return text


def graph_boxes(nb) -> int:
    """The number of boxes (graph nodes) in the notebook's one drawing of the graph."""
    (svg,) = [out.data["image/svg+xml"] for cell in nb.cells if cell.cell_type == "code"
              for out in cell.outputs if "image/svg+xml" in out.get("data", {})]
    return svg.count('<g class="node"')


def test_percent_format_parser():
    source = ('# header\n# %% [markdown]\n# # Title\n#\n# text\n\n# %% tags=["parameters"]\n'
              "N = 3\n\n# %%\nprint(N)\n")
    assert builder().cells_of(source) == [
        {"cell_type": "markdown", "source": "# Title\n\ntext", "tags": []},
        {"cell_type": "code", "source": "N = 3", "tags": ["parameters"]},
        {"cell_type": "code", "source": "print(N)", "tags": []},
    ]


def test_stored_notebook_matches_its_source_and_has_its_outputs():
    build = builder()
    assert build.stored_cells() == build.cells_of(build.SOURCE.read_text(encoding="utf-8")), (
        "docs/from_manual_to_autograd.ipynb is out of date: run python docs/build_notebook.py")
    nb = nbformat.read(build.NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    text = check_outputs(nb)
    assert "this notebook ran in" in text
    assert "/work/" not in text and "/home/" not in text  # no machine's paths in the outputs


def test_notebook_runs_in_a_kernel():
    """The stored notebook, with its parameters cell set to 2 iterations on 3,000 rows."""
    build = builder()
    cells = build.cells_of(build.SOURCE.read_text(encoding="utf-8"))
    (parameters,) = [cell for cell in cells if "parameters" in cell["tags"]]
    parameters["source"] = "ITERATIONS = 2\nROWS = 3_000"
    nb = build.execute(build.build(cells), timeout=300)
    text = check_outputs(nb)
    assert "this notebook ran in" in text and "(2 iterations, 3,000 rows)" in text
    stored = nbformat.read(build.NOTEBOOK, as_version=4)
    assert graph_boxes(nb) == graph_boxes(stored) > 0  # the stored drawing is the code's
