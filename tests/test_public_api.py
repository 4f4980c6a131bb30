"""The public namespace: every exported name resolves, and ``import convlens`` stays light."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import convlens

_spec = importlib.util.spec_from_file_location(
    "check_layers", Path(__file__).resolve().parents[1] / "tools" / "check_layers.py"
)
check_layers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_layers)


def test_every_name_in_all_resolves():
    for name in convlens.__all__:
        assert getattr(convlens, name) is not None, name


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        convlens.nope


@pytest.mark.parametrize("module", sorted(convlens._LENSES))
def test_lens_modules_import_and_export_their_names(module):
    mod = importlib.import_module(f"convlens.{module}")
    for name in convlens._LENSES[module]:
        assert hasattr(mod, name), f"convlens.{module} lacks {name}"
        assert getattr(convlens, name) is getattr(mod, name)


def test_public_modules_are_listed():
    """A module without a leading underscore is public: it must be declared in the package's tables."""
    allowed = set(convlens._LENSES) | convlens._LAZY_MODULES
    for info in pkgutil.iter_modules(convlens.__path__):
        if not info.name.startswith("_"):
            assert info.name in allowed, f"public module convlens.{info.name} is not declared"


# Modules that the package's tables and the layer check name before they are written.
PLANNED = {"report", "plot"}


def _exists(name: str) -> bool:
    root = Path(convlens.__file__).parent
    return (root / f"{name}.py").exists() or (root / name / "__init__.py").exists()


def test_declared_modules_exist():
    """__init__ and tools/check_layers.py name only modules that exist (or are planned and listed above)."""
    declared = set(convlens._LENSES) | convlens._LAZY_MODULES | {k for k in check_layers.LAYERS if not k.endswith("*")}
    missing = sorted(n for n in declared if not _exists(n) and n not in PLANNED)
    assert not missing, f"declared but absent: {missing}"


def test_every_module_has_a_layer():
    root = Path(convlens.__file__).parent
    for path in root.rglob("*.py"):
        top = path.relative_to(root).parts[0].removesuffix(".py")
        assert top == "__init__" or check_layers.layer_of(top) is not None, top


def test_layer_check_passes_on_the_package():
    assert check_layers.main() == 0


@pytest.mark.parametrize(
    ("where", "source", "offence"),
    [
        (("_torch_plan.py",), "from ._engine._fft import overlap_add_length", "a private module of _engine"),
        (("compress.py",), "from .spectrum import _check_gray", "private name(s) _check_gray of spectrum"),
        (("_engine", "_api.py"), "from ..filters import gaussian", "a higher layer"),
        (("data.py",), "import convlens.spectrum", "a higher layer"),
        (("matching", "_strips.py"), "from .._engine._fft import x", "a private module of _engine"),
        (("brand_new.py",), "x = 1", "has no layer"),
    ],
)
def test_layer_check_catches(where, source, offence):
    messages = [m for m, _ in check_layers.check_source(where, source)]
    assert any(offence in m for m in messages), messages


@pytest.mark.parametrize(
    ("where", "source"),
    [
        (
            ("spectrum.py",),
            "from . import _backend as B\nfrom ._engine import convolve\nfrom ._lens_common import check_gray",
        ),
        (("_engine", "_api.py"), "from ._convolver import _result_dtypes\nfrom .._validation import check_array"),
        (("cli", "__init__.py"), "from .demo import run\nfrom ..scenes import photo"),
    ],
)
def test_layer_check_allows(where, source):
    assert check_layers.check_source(where, source) == []


def test_import_convlens_does_not_import_heavy_optional_libraries():
    code = (
        "import sys, convlens, numpy as np\n"
        "convlens.convolve(np.ones(8), np.ones(3))\n"
        "heavy = [m for m in ('torch', 'matplotlib', 'skimage', 'sklearn', 'statsmodels', 'astropy') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"import convlens pulled in: {out}"


def test_engine_refuses_torch_tensors_with_a_pointer_to_the_adapter():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"x is a torch tensor.*convlens\.torch"):
        convlens.convolve(torch.ones(5), [1.0, 2.0])


@pytest.mark.parametrize(
    "modname",
    ["convlens", "convlens.matching", "convlens.timeseries", "convlens.whiten", "convlens.spectrum", "convlens.io"],
)
def test_public_classes_pickle_under_a_public_module(modname):
    # a pickle (e.g. a plan shipped to a Dask worker) must not name a private module that may move
    import inspect

    mod = importlib.import_module(modname)
    for name in mod.__all__:
        obj = getattr(mod, name)
        if inspect.isclass(obj):
            assert not any(part.startswith("_") for part in obj.__module__.split(".")), (name, obj.__module__)
            assert getattr(importlib.import_module(obj.__module__), obj.__qualname__) is obj
