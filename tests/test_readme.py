"""Every ```python block of README.md and docs/*.md runs as written, so the documentation cannot drift.

Each block runs in a fresh namespace with a temporary directory as the working
directory. A block may be skipped only when an optional dependency is missing, and
only with an explicit marker on its first line naming that dependency::

    # doctest: +SKIP-BLOCK (needs torch)

A marker naming a dependency that *is* installed does not skip anything.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
MARKER = re.compile(r"#\s*doctest:\s*\+SKIP-BLOCK\s*\(needs ([\w.\-]+(?:\s*,\s*[\w.\-]+)*)\)")


# Blocks that do not run yet, in documents owned by others: (document, a line of the block) -> reason.
# Strict: each entry fails the suite once its block runs, so it is removed then.
KNOWN_BROKEN: dict[tuple[str, str], str] = {}


def _documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _blocks() -> list:
    params = []
    for doc in _documents():
        text = doc.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 2  # the block's first code line
            rel = doc.relative_to(ROOT).as_posix()
            code = match.group(1)
            marks = [
                pytest.mark.xfail(strict=True, reason=reason)
                for (where, snippet), reason in KNOWN_BROKEN.items()
                if where == rel and snippet in code
            ]
            params.append(pytest.param(rel, line, code, id=f"{rel}:{line}", marks=marks))
    return params


def test_the_documents_have_python_blocks():
    assert len(_blocks()) >= 5


@pytest.mark.parametrize(("doc", "line", "code"), _blocks())
def test_block_runs(doc, line, code, tmp_path, monkeypatch):
    marker = MARKER.search(code.splitlines()[0]) if code.strip() else None
    if marker:
        missing = [m.strip() for m in marker.group(1).split(",") if importlib.util.find_spec(m.strip()) is None]
        if missing:
            pytest.skip(f"{doc}:{line} needs {', '.join(missing)}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")  # a block that plots must not open a window
    namespace = {"__name__": "__readme__"}
    exec(compile(code, f"{doc}:{line}", "exec"), namespace)  # running the documentation is the test
    assert os.getcwd() == str(tmp_path)
