"""Shared test helpers: dtype-keyed tolerances, seeded generators, reference convolutions."""

from __future__ import annotations

import numpy as np
import pytest

# Relative tolerance (max |error| / max |reference|) by working precision.
TOL = {
    np.dtype(np.float16): 5e-3,
    np.dtype(np.float32): 2e-5,
    np.dtype(np.complex64): 2e-5,
    np.dtype(np.float64): 1e-11,
    np.dtype(np.complex128): 1e-11,
}


def tol_for(dtype) -> float:
    dtype = np.dtype(dtype)
    return TOL.get(dtype, 0.0 if dtype.kind in "biu" else 1e-11)


def assert_close(got, ref, dtype=None, *, rel=None, err_msg: str = "") -> None:
    """Assert max|got - ref| <= tol * max(1, max|ref|) with the dtype's tolerance."""
    got, ref = np.asarray(got), np.asarray(ref)
    assert got.shape == ref.shape, f"shape {got.shape} != reference {ref.shape} {err_msg}"
    tol = rel if rel is not None else tol_for(dtype if dtype is not None else got.dtype)
    both_nan = np.isnan(got) & np.isnan(ref) if got.dtype.kind in "fc" else np.zeros(got.shape, bool)
    if ref.dtype.kind in "fc":
        assert np.array_equal(np.isnan(got), np.isnan(ref)), f"NaN positions differ {err_msg}"
    g = np.where(both_nan, 0, got)
    r = np.where(both_nan, 0, ref)
    scale = max(1.0, float(np.max(np.abs(r)))) if r.size else 1.0
    err = float(np.max(np.abs(g.astype(np.complex128) - r.astype(np.complex128)))) if r.size else 0.0
    assert err <= tol * scale, f"max error {err:.3g} > {tol:g} * {scale:.3g} {err_msg}"


@pytest.fixture
def rng():
    """A fresh seeded generator for each test."""
    return np.random.default_rng(20261126)


@pytest.fixture(autouse=True)
def _doctest_printing(doctest_namespace):
    np.set_printoptions(precision=4, suppress=True, legacy=False)
    doctest_namespace["np"] = np
    yield


@pytest.fixture
def lean_calls(monkeypatch):
    """The calls the lean one-shot FFT path (``_engine._fftcall``) answered, not those it handed back with None."""
    from convlens._engine._fftcall import FFTCall

    answered = []
    original = FFTCall.__call__

    def spy(self, x, kernel):
        res = original(self, x, kernel)
        if res is not None:
            answered.append(self)
        return res

    monkeypatch.setattr(FFTCall, "__call__", spy)
    return answered


def _clear_route_caches() -> None:
    # every cache of the modules that decide or remember a route (lru_cache'd functions)
    from convlens._engine import _api, _cost, _direct, _recipe

    for module in (_direct, _recipe, _cost, _api):
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()
    _api._RECENT.clear()


@pytest.fixture
def without_native(monkeypatch):
    """The direct path of an install built without a C compiler: no compiled sum, NumPy and OpenCV back ends.

    Every cache that holds a routing decision is emptied before and after, so no route leaks
    into or out of the test.
    """
    from convlens._engine import _direct

    monkeypatch.setattr(_direct, "HAVE_NATIVE", False)
    _clear_route_caches()
    yield
    monkeypatch.undo()
    _clear_route_caches()
