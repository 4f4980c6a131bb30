"""The FFT entry point (``convlens._backend``) against ``scipy.fft``, with ducc0 and with the fallback."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft as sfft

from convlens import _backend as B

SHAPES = [(7,), (16,), (5, 12), (3, 4, 9)]
TOL = {np.float32: 2e-5, np.float64: 1e-12, np.complex64: 2e-5, np.complex128: 1e-12}


@pytest.fixture(params=["ducc0", "scipy"])
def backend(request, monkeypatch):
    """Run each test with ducc0 (when installed) and with the scipy.fft fallback."""
    if request.param == "ducc0" and not B.HAVE_DUCC:
        pytest.skip("ducc0 not installed")
    if request.param == "scipy":
        monkeypatch.setattr(B, "HAVE_DUCC", False)
    return request.param


def _rand(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def _close(got, want, dtype):
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype] * np.abs(want).max())


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm", B.NORMS)
def test_real_pair_matches_scipy(backend, shape, dtype, norm):
    a = _rand(shape, dtype)
    axes = list(range(a.ndim))
    spec = B.rfftn(a, axes, 1, norm=norm)
    assert spec.dtype == B.complex_of(dtype)
    _close(spec, sfft.rfftn(a, axes=axes, norm=norm), dtype)
    back = B.irfftn(spec.copy(), axes, shape[-1], 2, norm=norm)
    assert back.dtype == dtype
    _close(back, a, dtype)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("norm", B.NORMS)
def test_complex_pair_matches_scipy(backend, shape, dtype, norm):
    a = _rand(shape, dtype)
    axes = [a.ndim - 1] if a.ndim > 1 else None
    spec = B.fftn(a, axes, 2, norm=norm)
    _close(spec, sfft.fftn(a, axes=axes, norm=norm), dtype)
    _close(B.ifftn(spec, axes, 1, norm=norm), a, dtype)


def test_odd_last_length_and_out_buffer(backend):
    a = _rand((6, 9), np.float64)
    spec = np.empty((6, 5), np.complex128)
    got = B.rfftn(a, (0, 1), 1, out=spec)
    assert got is spec
    _close(spec, sfft.rfftn(a), np.float64)
    out = np.empty((6, 9))
    assert B.irfftn(spec, (0, 1), 9, 1, out=out) is out
    _close(out, a, np.float64)


def test_integer_and_float16_inputs_are_transformed_in_float(backend):
    a = np.arange(10, dtype=np.int16)
    _close(B.rfftn(a, None), sfft.rfft(a.astype(np.float64)), np.float64)
    h = np.arange(8, dtype=np.float16)
    assert B.rfftn(h, None).dtype == np.complex64
    assert B.fftn(np.arange(4), None).dtype == np.complex128


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
@pytest.mark.parametrize("norm", B.NORMS)
@pytest.mark.parametrize("kind", [2, 3])
def test_dct_matches_scipy_and_inverts(backend, shape, dtype, norm, kind):
    a = _rand(shape, dtype)
    axes = tuple(range(a.ndim))
    c = B.dctn(a, axes, 2, type=kind, norm=norm)
    _close(c, sfft.dctn(a, type=kind, axes=axes, norm=norm), dtype)
    _close(B.idctn(c, axes, 1, type=kind, norm=norm), a, dtype)
    _close(B.idctn(a, axes, type=kind, norm=norm), sfft.idctn(a, type=kind, axes=axes, norm=norm), dtype)


def test_dct_defaults_to_orthonormal_over_all_axes(backend):
    a = _rand((8, 6), np.float64)
    c = B.dctn(a)
    _close(c, sfft.dctn(a, norm="ortho"), np.float64)
    assert np.isclose(np.sum(c**2), np.sum(a**2))  # orthonormal: energy kept


@pytest.mark.parametrize("bad", [{"norm": "unitary"}, {"type": 4}])
def test_bad_options_name_the_argument(backend, bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        B.dctn(np.ones(4), **bad)


def test_convolve_axis_is_circular_convolution(backend):
    rng = np.random.default_rng(1)
    seg = rng.standard_normal((3, 16))
    k = np.zeros(16)
    k[:4] = rng.standard_normal(4)
    out = np.empty_like(seg)
    B.convolve_axis(seg, out, 1, k, 1)
    want = np.real(np.fft.ifft(np.fft.fft(seg, axis=1) * np.fft.fft(k), axis=1))
    np.testing.assert_allclose(out, want, atol=1e-12)


def test_good_sizes_are_fast_and_long_enough():
    for n in (17, 100, 1000, 4127, 10007):
        m = B.good_size(n)
        assert m >= n
        f = m
        for p in (2, 3, 5):
            while f % p == 0:
                f //= p
        assert f == 1
        assert B.fast_length(n) >= n
