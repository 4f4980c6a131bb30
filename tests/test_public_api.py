"""The public namespace: every exported name resolves, and ``import convlens`` stays light."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import convlens


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
    """A module without a leading underscore is public: it must be a lens, an adapter or the CLI."""
    allowed = set(convlens._LENSES) | {"torch", "cli"}
    for info in pkgutil.iter_modules(convlens.__path__):
        if not info.name.startswith("_"):
            assert info.name in allowed, f"public module convlens.{info.name} is not declared"


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
