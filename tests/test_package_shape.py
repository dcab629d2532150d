"""The package is the framework: `import tinygrad_lite` loads no optional dependency and no
example code, every module of the package imports on its own, and the package's modules do
not import each other in a cycle."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

import pytest

import tinygrad_lite

PACKAGE = Path(tinygrad_lite.__file__).resolve().parent
ROOT = PACKAGE.parent
OPTIONAL = ("onnx", "onnxruntime", "torch", "pandas", "matplotlib", "tqdm", "examples")


def test_import_loads_no_optional_dependency_and_no_example_code():
    code = (
        "import json, sys; import tinygrad_lite as tl; "
        "tl.Tensor([1.0]); tl.onnx; tl.interop; tl.save; tl.load; tl.gradcheck; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120, check=True).stdout
    loaded = json.loads(out)
    assert "tinygrad_lite" in loaded
    bad = [m for m in loaded if m.split(".")[0] in OPTIONAL]
    assert bad == [], f"import tinygrad_lite loaded {bad}"


def package_modules() -> List[str]:
    return ["tinygrad_lite"] + sorted(
        m.name for m in pkgutil.walk_packages([str(PACKAGE)], "tinygrad_lite.")
    )


@pytest.mark.parametrize("name", package_modules())
def test_every_module_imports_cleanly(name):
    code = f"import importlib; importlib.import_module({name!r})"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_the_public_names_stay():
    import tinygrad_lite as tl

    for name in ("gradcheck", "gradgradcheck", "compare_gradients", "trace_backward", "save",
                 "load", "viz", "nn", "optim", "func", "interop", "onnx"):
        assert hasattr(tl, name), name
    assert callable(tl.onnx.export) and callable(tl.interop.to_torch)


# ---- the import graph ------------------------------------------------------------------------


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: Set[str]) -> Set[str]:
    """The package's modules that `path` imports anywhere in it: at module level, inside
    functions, under `if TYPE_CHECKING:`; relative imports resolved. `from . import x` counts
    as importing the module x when it is one, else the package."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: Set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [f"{source}.{alias.name}" for alias in node.names]
            targets = [t if t in modules else source for t in targets]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import a.b.c`: the longest module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> Dict[str, Set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imports_of(path, set(files)) for name, path in files.items()}


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_reader_finds_a_cycle_and_resolves_relative_imports(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    graph = import_graph()
    assert "tinygrad_lite.core.tensor" in graph["tinygrad_lite.random"]  # from .core.tensor ...
    assert "tinygrad_lite.tools.viz" in graph["tinygrad_lite.tools.trace"]  # from .viz ...
    assert "tinygrad_lite.nn" in graph["tinygrad_lite.io.onnx"]  # from .. import nn


def test_the_package_has_no_import_cycle():
    found = cycles(import_graph())
    for component in found:
        print("import cycle:", " <-> ".join(component))
    assert found == []


@pytest.mark.parametrize("script", ["mnist_two_layer.py", "mnist_cnn.py", "predict.py", "moons.py"])
def test_examples_run_from_any_directory(script, tmp_path):
    """The scripts find examples.common (and this tinygrad_lite) from wherever they are run."""
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / script), "--help"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0 and "usage:" in proc.stdout, proc.stderr
