#!/usr/bin/env python3
"""Check convlens' import layers (docs/architecture.md): imports only go downward, and privates stay private.

Layers, bottom to top: data < policy/backend < engine < adapters < lenses < presentation.
A module may import from its own layer or a lower one. Two more rules:

* **Private modules stay inside their package.** ``convlens._engine._fft`` may be imported by
  the other ``_engine`` modules only; every other module goes through ``convlens._engine``'s
  ``__init__`` (its public names). A top-level module is a layer's entry point even when its
  name starts with an underscore (``_validation``, ``_backend``, ``_lens_common``).
* **Private names stay inside their module.** ``from .spectrum import _check_gray`` in another
  module is an error: shared helpers belong in a shared private module of the right layer
  (``_lens_common`` for the lenses).

Every top-level module must have a layer in ``LAYERS`` (a module the table does not know is an
error, so a new module cannot slip past the check). Exits non-zero and lists each offence.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "convlens"

NAMES = ["data", "policy/backend", "engine", "adapters", "lenses", "presentation"]

# Top-level module or package -> layer. Entries ending in "*" are prefixes: "_lens*" is every
# private lens helper module (_lens_common, _lens_kernels, ...).
LAYERS = {
    "data": 0,
    "io": 0,
    "_validation": 1,
    "_backend": 1,
    "_engine": 2,
    "_torch_plan": 3,
    "torch": 3,
    "spectrum": 4,
    "filters": 4,
    "compress": 4,
    "diffusion": 4,
    "stochastic": 4,
    "matching": 4,
    "timeseries": 4,
    "whiten": 4,
    "reference": 4,
    "_lens*": 4,
    # the Dask adapter wraps lenses (gaussian, match_template) as well as the engine
    "dask": 4,
    "scenes": 5,
    "plot": 5,
    "report": 5,
    "cli": 5,
    "__main__": 5,
}

# Known offences in modules whose owners are changing them now, listed so that the check stays
# green meanwhile; each entry is (importing file relative to src/, imported module) and should be
# removed when fixed. An entry that no longer matches anything is reported, so the list cannot rot.
ALLOWED: set[tuple[str, str]] = set()


def top_module(rel_parts: tuple[str, ...]) -> str:
    return rel_parts[0].removesuffix(".py")


def layer_of(top: str) -> int | None:
    if top in LAYERS:
        return LAYERS[top]
    for key, layer in LAYERS.items():
        if key.endswith("*") and top.startswith(key[:-1]):
            return layer
    return None


def _resolve(rel_parts: tuple[str, ...], node: ast.ImportFrom) -> list[str]:
    """Absolute module path (inside convlens, as parts) that an ImportFrom reads from."""
    if node.level == 0:
        parts = (node.module or "").split(".")
        return parts[1:] if parts[0] == "convlens" else []
    package = list(rel_parts[:-1])  # this module's package, relative to convlens
    if rel_parts[-1] == "__init__.py":
        package = list(rel_parts[:-1])
    up = node.level - 1
    if up > len(package):
        return []
    base = package[: len(package) - up]
    return base + (node.module.split(".") if node.module else [])


def imports_of(rel_parts: tuple[str, ...], tree: ast.AST) -> list[tuple[int, list[str], list[str]]]:
    """(line, module path inside convlens as parts, imported names) for every import of convlens code."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "convlens" and len(parts) > 1:
                    found.append((node.lineno, parts[1:], []))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and (node.module or "").split(".")[0] != "convlens":
                continue
            module = _resolve(rel_parts, node)
            names = [a.name for a in node.names]
            if module:
                found.append((node.lineno, module, names))
            else:  # "from . import spectrum, _backend": each name is a top-level module
                found.extend((node.lineno, [n], []) for n in names)
    return found


def check_source(rel_parts: tuple[str, ...], source: str) -> list[tuple[str, str]]:
    """(message, imported module) for each offence in one file of the package."""
    top = top_module(rel_parts)
    where = "/".join(("convlens", *rel_parts))
    if top == "__init__":
        return []  # the package root re-exports lazily; it sits above every layer
    mine = layer_of(top)
    if mine is None:
        return [(f"{where}: module {top!r} has no layer in tools/check_layers.py", top)]
    errors = []
    for line, module, names in imports_of(rel_parts, ast.parse(source, filename=where)):
        target = module[0]
        theirs = layer_of(target)
        dotted = ".".join(module)
        if theirs is not None and target != top and theirs > mine:
            errors.append(
                (f"{where}:{line}: {top} ({NAMES[mine]}) imports {target} ({NAMES[theirs]}), a higher layer", dotted)
            )
        if target == top:
            continue
        private = [p for p in module[1:] if p.startswith("_") and p != "__init__"]
        if private:
            errors.append(
                (
                    f"{where}:{line}: {top} imports {dotted}, a private module of {target}; "
                    f"use the names that {target}'s __init__ exports",
                    dotted,
                )
            )
        elif module == [target] or len(module) > 1:
            hidden = [n for n in names if n.startswith("_") and not (PACKAGE / target / f"{n}.py").exists()]
            if hidden:
                errors.append(
                    (
                        f"{where}:{line}: {top} imports private name(s) {', '.join(hidden)} of {dotted}; "
                        "move shared helpers into a shared private module of the right layer",
                        dotted,
                    )
                )
    return errors


def main() -> int:
    errors, used = [], set()
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).parts
        for message, module in check_source(rel, path.read_text()):
            key = ("/".join(("convlens", *rel)), module)
            if key in ALLOWED:
                used.add(key)
                continue
            errors.append(message)
    errors += [f"tools/check_layers.py: ALLOWED entry {k} matches nothing any more; remove it" for k in ALLOWED - used]
    for e in errors:
        print(e)
    if not errors:
        print("layers ok: imports only go downward, private modules and names stay inside their owner")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
