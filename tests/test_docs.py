"""The documents' code runs: the docs cannot rot.

Every ```python block of a document is executed, in order, in one namespace. When the next
fenced block after a python block is a ```text block, it must be exactly what that python
block printed.
"""

from __future__ import annotations

import contextlib
import io
import re
import traceback
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [
    "docs/autograd_vs_manual.md", "docs/higher_order.md", "docs/differences.md", "README.md"
]

_FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


def fenced_blocks(text: str) -> list:
    """(language, first line number, source) of every fenced block, in order."""
    return [
        (m.group(1), text.count("\n", 0, m.start(2)) + 1, m.group(2)) for m in _FENCE.finditer(text)
    ]


def test_block_extraction():
    text = "intro\n```python\na = 1\n```\n```text\nno\n```\n```python\nb = a + 1\n```\n"
    assert fenced_blocks(text) == [
        ("python", 3, "a = 1\n"),
        ("text", 6, "no\n"),
        ("python", 9, "b = a + 1\n"),
    ]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_document_code_blocks_run(name, tmp_path, monkeypatch):
    path = ROOT / name
    blocks = fenced_blocks(path.read_text(encoding="utf-8"))
    assert any(lang == "python" for lang, _, _ in blocks), f"{name} has no ```python blocks"
    monkeypatch.chdir(tmp_path)  # blocks may write files (graphs, hypothesis's database)
    namespace: dict = {"__name__": f"docs_{path.stem}"}
    for i, (lang, line, source) in enumerate(blocks):
        if lang != "python":
            continue
        code = compile("\n" * (line - 1) + source, str(path), "exec")  # real line numbers
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(code, namespace)
        except Exception:
            pytest.fail(f"{name}, block at line {line} failed:\n{traceback.format_exc()}")
        if i + 1 < len(blocks) and blocks[i + 1][0] == "text":
            shown, text_line = blocks[i + 1][2], blocks[i + 1][1]
            assert out.getvalue().strip() == shown.strip(), (
                f"{name}: the ```text block at line {text_line} is not what the block at "
                f"line {line} prints:\n{out.getvalue()}"
            )
