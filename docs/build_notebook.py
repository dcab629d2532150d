"""Write docs/from_manual_to_autograd.ipynb from its source and run it, storing the outputs.

    python docs/build_notebook.py            # write and run the notebook (about a minute)
    python docs/build_notebook.py --check    # exit 1 if the notebook's cells differ from the source
    python docs/build_notebook.py --threads 2    # BLAS threads of the kernel (default 1)

The source, docs/from_manual_to_autograd.py, is a plain Python file in the "percent" format
(Jupytext's, VS Code's, Spyder's): `# %%` starts a code cell, `# %% [markdown]` a markdown cell
whose lines are comments, and `tags=["..."]` after `# %%` become the cell's tags. Lines before
the first `# %%` are not part of the notebook. Needs nbformat, nbclient and ipykernel (the
`test` extra).

The kernel runs with one BLAS thread unless told otherwise: on a shared 2-core machine two
threads made the notebook's matrix products several times slower, not faster. The outputs do
not depend on it, except in the last digits of rounding-level differences.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, List, Optional

DOCS = Path(__file__).resolve().parent
SOURCE = DOCS / "from_manual_to_autograd.py"
NOTEBOOK = DOCS / "from_manual_to_autograd.ipynb"
_MARKER = re.compile(r"^# %%(?P<markdown> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")


def cells_of(text: str) -> List[dict]:
    """[{"cell_type", "source", "tags"}] of a percent-format source, in order."""
    cells: List[dict] = []
    for line in text.splitlines():
        marker = _MARKER.match(line)
        if marker:
            tags = ast.literal_eval(marker.group("tags")) if marker.group("tags") else []
            kind = "markdown" if marker.group("markdown") else "code"
            cells.append({"cell_type": kind, "lines": [], "tags": tags})
        elif cells:
            if cells[-1]["cell_type"] == "markdown":
                line = line[2:] if line.startswith("# ") else line.lstrip("#")
            cells[-1]["lines"].append(line)
    return [{"cell_type": c["cell_type"], "source": "\n".join(c["lines"]).strip("\n"),
             "tags": c["tags"]} for c in cells]


def build(cells: List[dict]) -> Any:
    """An unexecuted notebook of these cells (ids cell-0, cell-1, ...: stable diffs)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                 "name": "python3"}
    for k, cell in enumerate(cells):
        make = nbformat.v4.new_markdown_cell if cell["cell_type"] == "markdown" else \
            nbformat.v4.new_code_cell
        new = make(cell["source"], id=f"cell-{k}")
        if cell["tags"]:
            new.metadata["tags"] = list(cell["tags"])
        nb.cells.append(new)
    return nb


def execute(nb: Any, timeout: int = 600) -> Any:
    """Run every cell in a fresh python3 kernel, in docs/; outputs are stored in `nb`."""
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(DOCS)}})
    client.execute()
    return nb


def stored_cells(path: Path = NOTEBOOK) -> List[dict]:
    """The cells of the stored notebook, as `cells_of` gives them."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return [{"cell_type": c.cell_type, "source": c.source,
             "tags": list(c.metadata.get("tags", []))} for c in nb.cells]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only compare the stored notebook's cells with the source")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads of the kernel that runs the notebook (default 1)")
    args = parser.parse_args(argv)
    cells = cells_of(SOURCE.read_text(encoding="utf-8"))
    if args.check:
        same = NOTEBOOK.exists() and stored_cells() == cells
        print(f"{NOTEBOOK.name} {'matches' if same else 'differs from'} {SOURCE.name}")
        return 0 if same else 1
    import nbformat

    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(args.threads)  # the kernel inherits them
    start = time.perf_counter()
    nb = execute(build(cells))
    nbformat.validate(nb)
    nbformat.write(nb, NOTEBOOK)
    print(f"wrote {NOTEBOOK.relative_to(DOCS.parent)}: {len(cells)} cells, run in "
          f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
