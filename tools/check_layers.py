#!/usr/bin/env python3
"""Check the layer rule of DESIGN.md: a convlens module imports only from its own layer or below.

Layers, bottom to top: data < backend < engine < adapters < lenses < presentation.
Exits non-zero and lists each offending import.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "convlens"

LAYERS = {
    "data": 0,
    "_io": 0,
    "io": 0,
    "sample_data": 0,
    "_validation": 1,
    "_backend": 1,
    "_engine": 2,
    "torch": 3,
    "dask": 3,
    "_torch": 3,
    "spectrum": 4,
    "filters": 4,
    "compress": 4,
    "diffusion": 4,
    "stochastic": 4,
    "matching": 4,
    "timeseries": 4,
    "whiten": 4,
    "_lens": 4,
    "reference": 4,
    "scenes": 5,
    "plot": 5,
    "report": 5,
    "cli": 5,
    "__main__": 5,
}
NAMES = ["data", "backend", "engine", "adapters", "lenses", "presentation"]


def top_module(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def layer_of(top: str) -> int | None:
    if top in LAYERS:
        return LAYERS[top]
    for prefix, layer in LAYERS.items():
        if prefix.startswith("_") and top.startswith(prefix):
            return layer
    return None


def imported_tops(path: Path, tree: ast.AST) -> list[tuple[int, str]]:
    """(line, top-level convlens submodule) for every import of convlens code in the file."""
    rel_parts = path.relative_to(PACKAGE).parts
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "convlens" and len(parts) > 1:
                    found.append((node.lineno, parts[1]))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                parts = (node.module or "").split(".")
                if parts[0] != "convlens":
                    continue
                targets = parts[1:2] or [a.name for a in node.names]
            else:
                base = list(rel_parts[:-1])  # package path of this module
                up = node.level - 1
                if up > len(base):
                    continue
                base = base[: len(base) - up] if up else base
                mod = (node.module or "").split(".") if node.module else []
                full = base + mod
                targets = full[:1] if full else [a.name for a in node.names]
            found.extend((node.lineno, t) for t in targets)
    return found


def main() -> int:
    errors = []
    for path in sorted(PACKAGE.rglob("*.py")):
        top = top_module(path)
        if top == "__init__":
            continue  # the package root re-exports lazily; it sits above every layer
        mine = layer_of(top)
        if mine is None:
            errors.append(f"{path.relative_to(PACKAGE.parent)}: module {top!r} has no layer in tools/check_layers.py")
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for line, target in imported_tops(path, tree):
            theirs = layer_of(target)
            if theirs is None or target == top:
                continue
            if theirs > mine:
                errors.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line}: {top} ({NAMES[mine]}) imports {target} "
                    f"({NAMES[theirs]}), a higher layer"
                )
    for e in errors:
        print(e)
    if not errors:
        print("layers ok: imports only go downward")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
