"""fourier_filter: spectrum x response, against numpy.fft, scipy.ndimage.fourier_gaussian and convolve.

The convolution theorem ties it to the rest of the engine: for a kernel k of length K with
'same' centre c = (K - 1) // 2, the response ``H(f) = sum_m k[m] exp(-2 pi i f (m - c))`` makes
``fourier_filter(x, H)`` equal to ``convolve(x, k, 'same', boundary='wrap')``, and, with an
extension ``pad >= K`` by another rule, equal to ``convolve(x, k, 'same', boundary=rule)``.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

from _engine_ref import BOUNDARIES
from conftest import assert_close
from convlens import _backend as B
from convlens import convolve, fourier_filter


def _response_of(kernels):
    """H(f1, ..., fd) of a separable kernel (one 1-D kernel per filtered axis), 'same'-centred."""

    def H(*freqs):
        out = 1.0
        for k, f in zip(kernels, freqs):
            c = (len(k) - 1) // 2
            m = np.arange(len(k)).reshape((-1,) + (1,) * f.ndim)
            out = out * np.sum(k.reshape(m.shape) * np.exp(-2j * np.pi * f[None] * (m - c)), axis=0)
        return out

    return H


def _reference(x, response, axes, boundary="wrap", pad=0, fill_value=0):
    """numpy.fft version of the definition (extension to the engine's fast length, filter, crop)."""
    x = np.asarray(x)
    real = x.dtype.kind != "c"
    xw = x.astype(np.complex128 if not real else np.float64)
    widths = [(0, 0)] * x.ndim
    lengths = []
    for ax in axes:
        n = x.shape[ax]
        if boundary == "wrap":
            lengths.append(n)
            continue
        L = B.good_size(n + 2 * pad, real)
        lengths.append(L)
        widths[ax] = (pad, L - n - pad)
    if boundary != "wrap":
        kw = {"constant_values": fill_value} if boundary == "constant" else {}
        xw = np.pad(xw, widths, mode=boundary, **kw)
    freqs = []
    for i, (ax, n) in enumerate(zip(axes, lengths)):
        f = np.fft.rfftfreq(n) if real and i == len(axes) - 1 else np.fft.fftfreq(n)
        shape = [1] * x.ndim
        shape[ax] = f.size
        freqs.append(f.reshape(shape))
    if real:
        y = np.fft.irfftn(np.fft.rfftn(xw, axes=axes) * response(*freqs), s=lengths, axes=axes)
    else:
        y = np.fft.ifftn(np.fft.fftn(xw, axes=axes) * response(*freqs), axes=axes)
    crop = [slice(None)] * x.ndim
    for ax in axes:
        crop[ax] = slice(widths[ax][0], widths[ax][0] + x.shape[ax])
    return y[tuple(crop)]


def test_wrap_equals_numpy_fft(rng):
    def lowpass(fy, fx):
        return (np.hypot(fy, fx) < 0.2).astype(float)

    for shape in [(32, 40), (31, 27)]:
        x = rng.standard_normal(shape)
        got = fourier_filter(x, lowpass)
        assert got.shape == x.shape and got.dtype == np.float64
        assert_close(got, _reference(x, lowpass, (0, 1)))
        xc = x + 1j * rng.standard_normal(shape)
        assert_close(fourier_filter(xc, lowpass), _reference(xc, lowpass, (0, 1)))


def test_array_response_equals_callable(rng):
    x = rng.standard_normal((24, 30))
    fy = np.fft.fftfreq(24)[:, None]
    fx = np.fft.rfftfreq(30)[None, :]
    h = np.exp(-((fy**2 + fx**2) / 0.02))
    assert_close(fourier_filter(x, h), fourier_filter(x, lambda a, b: np.exp(-((a**2 + b**2) / 0.02))))
    assert_close(fourier_filter(x, h), np.fft.irfftn(np.fft.rfftn(x) * h, s=x.shape, axes=(0, 1)))


def test_gaussian_equals_scipy_fourier_gaussian(rng):
    x = rng.standard_normal((48, 50))
    sigma = 2.5

    def gauss(fy, fx):
        return np.exp(-2 * np.pi**2 * sigma**2 * (fy**2 + fx**2))

    ref = np.fft.irfftn(ndi.fourier_gaussian(np.fft.rfftn(x), sigma, n=x.shape[-1]), s=x.shape, axes=(0, 1))
    assert_close(fourier_filter(x, gauss), ref)


@pytest.mark.parametrize("K", [1, 2, 3, 4, 7])
def test_periodic_filter_equals_wrap_convolution(rng, K):
    """The convolution theorem: response of a kernel == convolve(..., 'same', boundary='wrap')."""
    k = rng.standard_normal(K)
    x = rng.standard_normal(37)
    assert_close(fourier_filter(x, _response_of([k])), convolve(x, k, "same", boundary="wrap"))
    k2 = rng.standard_normal(3)
    x2 = rng.standard_normal((20, 18))
    kk = np.outer(k, k2)
    assert_close(fourier_filter(x2, _response_of([k, k2])), convolve(x2, kk, "same", boundary="wrap"))


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_padded_filter_equals_convolution_with_that_boundary(rng, boundary):
    k = rng.standard_normal(5)
    x = rng.standard_normal(41)
    got = fourier_filter(x, _response_of([k]), boundary=boundary, pad=5, fill_value=1.5)
    assert_close(got, convolve(x, k, "same", boundary=boundary, fill_value=1.5))
    assert_close(got, _reference(x, _response_of([k]), (0,), boundary, 5, 1.5).real)
    # 2-D, per-axis pad
    k2 = rng.standard_normal(4)
    x2 = rng.standard_normal((23, 19))
    got2 = fourier_filter(x2, _response_of([k, k2]), boundary=boundary, pad=(5, 4), fill_value=-1.0)
    assert_close(got2, convolve(x2, np.outer(k, k2), "same", boundary=boundary, fill_value=-1.0))


def test_axes_subset(rng):
    k = rng.standard_normal(3)
    x = rng.standard_normal((4, 30, 5))
    for axes in (1, (1,), -2):
        got = fourier_filter(x, _response_of([k]), axes=axes, boundary="reflect", pad=3)
        assert_close(got, convolve(x, k, "same", axes=1, boundary="reflect"))
    k2 = rng.standard_normal(2)
    got = fourier_filter(x, _response_of([k, k2]), axes=(0, 2))
    assert_close(got, convolve(x, np.outer(k, k2)[:, None, :], "same", axes=(0, 2), boundary="wrap"))


@pytest.mark.parametrize(
    ("dtype", "out"),
    [
        (np.float32, np.float32),
        (np.float64, np.float64),
        (np.complex64, np.complex64),
        (np.complex128, np.complex128),
        (np.int16, np.float64),
        (np.uint8, np.float64),
        (np.bool_, np.float64),
    ],
)
def test_dtypes(rng, dtype, out):
    x = (rng.standard_normal((16, 20)) * 10).astype(dtype)
    k = np.array([0.25, 0.5, 0.25])
    y = fourier_filter(x, _response_of([k, k]), boundary="edge", pad=2)
    assert y.dtype == out
    ref = convolve(
        x.astype(np.complex128 if np.dtype(dtype).kind == "c" else np.float64), np.outer(k, k), "same", boundary="edge"
    )
    assert_close(y, ref, dtype=out)


def test_input_is_not_modified(rng):
    x = rng.standard_normal((16, 20)).astype(np.float32)
    x0 = x.copy()
    for boundary in BOUNDARIES:
        fourier_filter(x, lambda a, b: np.exp(-(a**2 + b**2)), boundary=boundary, pad=3)
        np.testing.assert_array_equal(x, x0)
    xc = x + 1j
    xc0 = xc.copy()
    fourier_filter(xc, lambda a, b: 0.5 + 0 * a * b)
    np.testing.assert_array_equal(xc, xc0)


# -- bad input -----------------------------------------------------------------------------------------------------


def test_bad_input():
    x = np.ones((8, 9))

    def h(*f):
        return 1.0 + 0 * f[0]

    with pytest.raises(
        ValueError, match=r"^x contains 1 non-finite value\(s\) \(NaN or inf\); the first is at index \(2, 3\)"
    ):
        bad = x.copy()
        bad[2, 3] = np.nan
        fourier_filter(bad, h, nan_policy="raise")
    with pytest.raises(ValueError, match=r"^nan_policy must be one of"):
        fourier_filter(x, h, nan_policy="omit")
    with pytest.raises(TypeError, match=r"^radius must be a non-negative int"):
        fourier_filter(x, h, radius=1.5)
    with pytest.raises(ValueError, match=r"^radius must be non-negative"):
        fourier_filter(x, h, radius=-1)
    with pytest.raises(TypeError, match=r"^response must be a callable or an ndarray"):
        fourier_filter(x, [1.0, 2.0])
    with pytest.raises(ValueError, match=r"^response array must broadcast to the spectrum shape \(8, 5\)"):
        fourier_filter(x, np.ones((8, 9)))
    with pytest.raises(ValueError, match=r"an array response needs pad=0"):
        fourier_filter(x, np.ones((8, 5)), boundary="reflect", pad=2)
    with pytest.raises(TypeError, match=r"^response must be numeric"):
        fourier_filter(x, lambda a, b: np.full(np.broadcast_shapes(a.shape, b.shape), "a"))
    with pytest.raises(ValueError, match=r"^pad must be non-negative"):
        fourier_filter(x, h, boundary="edge", pad=-1)
    with pytest.raises(ValueError, match=r"^pad must have one entry per filtered axis \(2\)"):
        fourier_filter(x, h, boundary="edge", pad=(1, 2, 3))
    with pytest.raises(TypeError, match=r"^pad must be a non-negative int"):
        fourier_filter(x, h, boundary="edge", pad=None)
    with pytest.raises(ValueError, match=r"^boundary must be one of"):
        fourier_filter(x, h, boundary="periodic")
    with pytest.raises(ValueError, match=r"^axes entry 2 is out of range"):
        fourier_filter(x, h, axes=2)
    with pytest.raises(TypeError, match=r"^x must have a numeric dtype"):
        fourier_filter(np.array(["a", "b"]), h)
    with pytest.raises(ValueError, match=r"^x must not be empty"):
        fourier_filter(np.ones((0, 3)), h)
    with pytest.raises(ValueError, match=r"^workers must be None or a positive integer"):
        fourier_filter(x, h, workers=0)
    with pytest.raises(TypeError, match=r"^fill_value must be a real or complex number"):
        fourier_filter(x, h, boundary="constant", pad=1, fill_value="a")


# -- non-finite values: the engine's nan_policy with the window given by radius -------------------------------------


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("policy", ["propagate", "interpolate"])
def test_nan_policy_equals_convolve_with_that_kernel(rng, boundary, policy):
    k0 = np.array([0.05, 0.2, 0.5, 0.2, 0.05])
    k1 = np.array([0.25, 0.5, 0.25])
    x = rng.standard_normal((30, 26))
    x[4, 5] = x[20, 25] = np.nan
    x[12, 3] = np.inf
    x[27, 15] = -np.inf
    x[13, 4] = -np.inf  # next to the +inf: their common windows are NaN
    got = fourier_filter(x, _response_of([k0, k1]), boundary=boundary, pad=(2, 1), radius=(2, 1), nan_policy=policy)
    ref = convolve(x, np.outer(k0, k1), "same", boundary=boundary, nan_policy=policy, method="direct")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_array_equal(got[np.isinf(ref)], ref[np.isinf(ref)])
    fin = np.isfinite(ref)
    assert_close(np.where(fin, got, 0), np.where(fin, ref, 0))


@pytest.mark.parametrize("dtype", [np.float32, np.complex128])
def test_nan_policy_keeps_dtype_and_complex_marks_nan(rng, dtype):
    x = rng.standard_normal((20, 24)).astype(dtype)
    x[3, 4] = np.inf
    got = fourier_filter(x, lambda a, b: np.exp(-(a**2 + b**2)), radius=2)
    assert got.dtype == dtype
    expect = ndi.maximum_filter(~np.isfinite(x), size=5, mode="wrap")
    if np.dtype(dtype).kind == "c":  # complex infinities have no sign to keep: NaN, as the engine's FFT paths
        np.testing.assert_array_equal(np.isnan(got), expect)
    else:
        np.testing.assert_array_equal(np.isposinf(got), expect)


def test_default_radius_is_the_whole_axis(rng):
    x = rng.standard_normal((6, 40))
    x[2, 17] = np.nan
    got = fourier_filter(x, lambda f: (np.abs(f) < 0.2).astype(float), axes=1)
    assert np.isnan(got[2]).all() and np.isfinite(np.delete(got, 2, axis=0)).all()


def test_nonfinite_fill_value_and_zero_gain(rng):
    x = rng.standard_normal(20)
    h = _response_of([np.array([0.25, 0.5, 0.25])])
    got = fourier_filter(x, h, boundary="constant", pad=1, fill_value=np.nan, radius=1)
    ref = convolve(x, [0.25, 0.5, 0.25], "same", fill_value=np.nan)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    assert np.isnan(got[[0, -1]]).all() and np.isfinite(got[1:-1]).all()
    with pytest.raises(ValueError, match=r"fill_value=nan is non-finite and nan_policy='raise'"):
        fourier_filter(x, h, boundary="constant", pad=1, fill_value=np.nan, nan_policy="raise")
    x[5] = np.nan
    with pytest.raises(ValueError, match="not zero at frequency 0"):
        fourier_filter(x, lambda f: np.sin(np.pi * f) ** 2, radius=1, nan_policy="interpolate")
    edge = fourier_filter(x, lambda f: np.sin(np.pi * f) ** 2 + 0 * f, radius=1)  # zero gain: infinities -> NaN
    assert np.isnan(edge[4:7]).all()


def test_dtype_rule(rng):
    x = rng.standard_normal((10, 12))
    h = _response_of([np.array([0.25, 0.5, 0.25])] * 2)
    ref = fourier_filter(x, h)
    assert fourier_filter(x.astype(np.float16), h).dtype == np.float16
    for dtype, out in [(">f4", np.float32), (">f8", np.float64), (">c8", np.complex64)]:
        got = fourier_filter(x.astype(dtype), h)
        assert got.dtype == out and got.dtype.isnative
        assert_close(got.real, ref, np.float32)
    with pytest.raises(TypeError, match=r"longdouble|float128"):
        fourier_filter(x.astype(np.longdouble), h)


def test_array_response_with_batch_axes_and_nan(rng):
    # a response array with fewer dimensions than x lines up with x's last axes; its gain at
    # frequency 0 (for the sign of infinities and for 'interpolate') is read per batch entry
    x = rng.standard_normal((3, 8, 10))
    x[1, 2, 3] = np.nan
    k = np.array([0.25, 0.5, 0.25])
    resp = np.fft.rfftn(np.roll(np.pad(np.outer(k, k), ((0, 5), (0, 7))), (-1, -1), (0, 1)))
    got = fourier_filter(x, resp, axes=(1, 2), radius=1, nan_policy="interpolate")
    ref = convolve(x, np.outer(k, k)[None], "same", axes=(1, 2), boundary="wrap", nan_policy="interpolate")
    assert_close(got, ref)
