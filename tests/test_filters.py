"""filters: masks against numpy/scikit-image, mask <-> kernel, Gaussian against scipy.ndimage."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import assert_close
from convlens import convolve
from convlens.data import load_image
from convlens.filters import (
    bandpass,
    bandpass_mask,
    box_kernel,
    frequency_response,
    gaussian,
    gaussian_kernel,
    highpass,
    highpass_mask,
    laplacian_kernel,
    lowpass,
    lowpass_mask,
    mask_to_kernel,
    sobel_kernel,
)

skfilters = pytest.importorskip("skimage.filters")

# numpy.pad name -> scipy.ndimage mode with the same extension rule
NDI_MODE = {"symmetric": "reflect", "reflect": "mirror", "edge": "nearest", "wrap": "wrap", "constant": "constant"}
SHAPES = [(33,), (16, 20), (15, 9), (6, 7, 8)]


def _numpy_filter(x, mask):
    return np.fft.ifftn(np.fft.fftn(x) * mask).real


# --------------------------------------------------------------------------- masks


def test_ideal_lowpass_mask_is_the_circle():
    m = lowpass_mask((9, 9), 0.25, centered=True)
    fy, fx = np.meshgrid(np.fft.fftshift(np.fft.fftfreq(9)), np.fft.fftshift(np.fft.fftfreq(9)), indexing="ij")
    np.testing.assert_array_equal(m, (fy**2 + fx**2 <= 0.25**2).astype(float))


@pytest.mark.parametrize("kind", ["gaussian", "butterworth"])
def test_smooth_mask_gains_at_cutoff(kind):
    # 1-D grid of 40: frequency 0.25 sits on bin 10
    m = lowpass_mask(40, 0.25, kind=kind, order=3)
    expected = np.exp(-0.5) if kind == "gaussian" else 0.5
    assert m[10] == pytest.approx(expected)
    assert m[0] == 1.0
    assert np.all(np.diff(m[:21]) <= 0)  # decreasing in |f|


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", ["ideal", "gaussian", "butterworth"])
def test_lowpass_equals_numpy_fft_times_mask(shape, kind, rng):
    x = rng.standard_normal(shape)
    got = lowpass(x, 0.2, kind=kind, order=2.5)
    assert_close(got, _numpy_filter(x, lowpass_mask(shape, 0.2, kind=kind, order=2.5)))


@pytest.mark.parametrize("kind", ["ideal", "gaussian", "butterworth"])
def test_lowpass_plus_highpass_is_identity_and_bandpass_is_their_product(kind, rng):
    x = rng.standard_normal((24, 17))
    assert_close(lowpass(x, 0.15, kind=kind) + highpass(x, 0.15, kind=kind), x)
    band = bandpass(x, 0.1, 0.3, kind=kind)
    assert_close(band, highpass(lowpass(x, 0.3, kind=kind), 0.1, kind=kind))
    assert_close(band, _numpy_filter(x, bandpass_mask(x.shape, 0.1, 0.3, kind=kind)))
    assert_close(highpass_mask(x.shape, 0.15, kind=kind), 1 - lowpass_mask(x.shape, 0.15, kind=kind), rel=1e-15)


@pytest.mark.parametrize("shape", [(32, 32), (31, 20), (9, 10, 11)])
@pytest.mark.parametrize("high_pass", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_butterworth_matches_skimage(shape, high_pass, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    ref = skfilters.butterworth(x, 0.1, high_pass=high_pass, order=3.0)
    fn = highpass if high_pass else lowpass
    got = fn(x, 0.1, kind="butterworth", order=3.0)
    assert got.dtype == dtype
    assert_close(got, ref, dtype)


def test_butterworth_matches_skimage_on_a_photo():
    img = load_image("camera").astype(np.float64) / 255
    ref = skfilters.butterworth(img, 0.05, high_pass=True, order=2.0)
    assert_close(highpass(img, 0.05, kind="butterworth", order=2.0), ref)


def test_butterworth_with_edge_padding_matches_skimage_npad(rng):
    # skimage pads by npad with mode 'edge' and uses that exact FFT size; pick a size
    # whose padded length is already fast so that the grids coincide
    x = rng.standard_normal((44, 60))
    ref = skfilters.butterworth(x, 0.1, high_pass=False, order=2.0, npad=10)
    got = lowpass(x, 0.1, kind="butterworth", order=2.0, boundary="edge", pad=10)
    assert_close(got, ref)


def test_filters_keep_float32_and_do_not_modify_input(rng):
    x = rng.standard_normal((20, 20)).astype(np.float32)
    before = x.copy()
    for fn in (lambda a: lowpass(a, 0.2), lambda a: highpass(a, 0.2, kind="gaussian"), lambda a: bandpass(a, 0.1, 0.2)):
        assert fn(x).dtype == np.float32
    assert gaussian(x, 2.0).dtype == np.float32
    assert gaussian(x, 50.0, method="spectral").dtype == np.float32
    np.testing.assert_array_equal(x, before)


def test_integer_input_gives_float64(rng):
    x = rng.integers(0, 255, (16, 16)).astype(np.uint8)
    assert lowpass(x, 0.2).dtype == np.float64
    assert_close(gaussian(x, 1.5), ndi.gaussian_filter(x.astype(float), 1.5))


def test_filter_on_colour_channels_with_axes(rng):
    rgb = rng.random((16, 18, 3))
    got = lowpass(rgb, 0.2, axes=(0, 1))
    for c in range(3):
        assert_close(got[..., c], lowpass(rgb[..., c], 0.2))


# --------------------------------------------------------------------------- mask <-> kernel


@pytest.mark.parametrize("shape", [(16,), (15,), (12, 9), (8, 11)])
@pytest.mark.parametrize("kind", ["ideal", "butterworth"])
def test_mask_kernel_convolved_with_wrap_equals_filtering(shape, kind, rng):
    x = rng.standard_normal(shape)
    mask = lowpass_mask(shape, 0.2, kind=kind)
    kernel = mask_to_kernel(mask)
    assert kernel.dtype == np.float64 and kernel.shape == shape
    got = convolve(x, kernel, "same", boundary="wrap")
    assert_close(got, lowpass(x, 0.2, kind=kind))


def test_mask_to_kernel_centered_and_cropped(rng):
    mask = lowpass_mask((20, 20), 0.15, kind="gaussian")
    full = mask_to_kernel(mask)
    assert_close(mask_to_kernel(np.fft.fftshift(mask), centered=True), full)
    small = mask_to_kernel(mask, size=7)
    assert small.shape == (7, 7)
    np.testing.assert_array_equal(small, full[9 - 3 : 9 + 4, 9 - 3 : 9 + 4])  # origin (20 - 1) // 2 = 9
    # a Gaussian mask's kernel is a Gaussian of sigma 1 / (2 pi cutoff): most of it fits in 7 x 7
    assert small.sum() > 0.98


def test_mask_to_kernel_of_asymmetric_mask_is_complex(rng):
    mask = rng.random(8)
    assert np.iscomplexobj(mask_to_kernel(mask))


@pytest.mark.parametrize("klen", [3, 4, 7, 8])
def test_frequency_response_matches_freqz(klen, rng):
    k = rng.standard_normal(klen)
    n = 32
    got = frequency_response(k, n)
    f = np.fft.fftfreq(n)
    _, h = scipy.signal.freqz(k, worN=2 * np.pi * f)
    # freqz puts the origin at index 0; ours is at (klen - 1) // 2
    assert_close(got, h * np.exp(2j * np.pi * f * ((klen - 1) // 2)))


@pytest.mark.parametrize("kshape", [(3, 3), (4, 5), (2, 6)])
def test_frequency_response_is_what_wrap_convolution_multiplies_by(kshape, rng):
    x = rng.standard_normal((12, 13))
    k = rng.standard_normal(kshape)
    ref = convolve(x, k, "same", boundary="wrap")
    got = np.fft.ifft2(np.fft.fft2(x) * frequency_response(k, x.shape)).real
    assert_close(got, ref)
    # and back: the kernel of the response is the kernel, zero-padded around its origin
    back = mask_to_kernel(frequency_response(k, x.shape))
    origins = [(n - 1) // 2 for n in x.shape]
    assert_close(back[tuple(slice(o - (s - 1) // 2, o - (s - 1) // 2 + s) for o, s in zip(origins, kshape))], k)
    assert_close(np.fft.fftshift(frequency_response(k, x.shape)), frequency_response(k, x.shape, centered=True))


def test_frequency_response_of_float32_kernel_is_complex64():
    assert frequency_response(np.ones(3, np.float32), 8).dtype == np.complex64


# --------------------------------------------------------------------------- Gaussian


@pytest.mark.parametrize("boundary", list(NDI_MODE))
@pytest.mark.parametrize("method", ["spatial", "spectral"])
@pytest.mark.parametrize("shape,sigma", [((40,), 2.5), ((30, 41), 3.0), ((30, 41), (1.0, 4.0)), ((9, 10, 11), 1.2)])
def test_gaussian_matches_ndimage(boundary, method, shape, sigma, rng):
    x = rng.standard_normal(shape)
    ref = ndi.gaussian_filter(x, sigma, mode=NDI_MODE[boundary], cval=0.5)
    got = gaussian(x, sigma, boundary=boundary, fill_value=0.5, method=method)
    assert_close(got, ref)


@pytest.mark.parametrize("boundary", ["symmetric", "reflect", "edge", "constant"])
@pytest.mark.parametrize("method", ["spatial", "spectral"])
def test_gaussian_kernel_longer_than_image_matches_ndimage(boundary, method, rng):
    x = rng.standard_normal((7, 12))
    ref = ndi.gaussian_filter(x, 4.0, mode=NDI_MODE[boundary])
    assert_close(gaussian(x, 4.0, boundary=boundary, method=method), ref)


@pytest.mark.parametrize("method", ["spatial", "spectral"])
def test_gaussian_float32_matches_ndimage_on_a_photo(method):
    img = load_image("camera").astype(np.float32)
    ref = ndi.gaussian_filter(img.astype(np.float64), 20.0, mode="reflect")
    got = gaussian(img, 20.0, boundary="symmetric", method=method, workers=1)
    assert got.dtype == np.float32
    assert_close(got, ref, np.float32)
    assert np.max(np.abs(got - ref)) / np.max(np.abs(ref)) <= 1e-5  # the issue's bound


def test_gaussian_auto_uses_spectral_for_large_sigma_and_agrees(rng):
    x = rng.standard_normal((64, 64))
    ref = ndi.gaussian_filter(x, 12.0, mode="nearest")
    assert_close(gaussian(x, 12.0, boundary="edge"), ref)
    assert_close(gaussian(x, (0.0, 12.0), boundary="edge"), ndi.gaussian_filter(x, (0, 12.0), mode="nearest"))


def test_gaussian_axes_and_zero_sigma(rng):
    x = rng.standard_normal((10, 12, 3))
    ref = ndi.gaussian_filter(x, (2.0, 2.0, 0.0))
    assert_close(gaussian(x, 2.0, axes=(0, 1)), ref)
    assert_close(gaussian(x, (2.0, 2.0, 0.0)), ref)
    assert_close(gaussian(x, 0.0), x)
    assert_close(gaussian(x, 0.1), x)  # radius int(0.4 + 0.5) = 0: ndimage's identity


@settings(max_examples=25, deadline=None)
@given(
    n0=st.integers(3, 24),
    n1=st.integers(3, 24),
    sigma=st.floats(0.3, 9.0),
    truncate=st.floats(1.0, 5.0),
    boundary=st.sampled_from(list(NDI_MODE)),
    seed=st.integers(0, 2**16),
)
def test_gaussian_spatial_spectral_and_ndimage_agree(n0, n1, sigma, truncate, boundary, seed):
    x = np.random.default_rng(seed).standard_normal((n0, n1))
    ref = ndi.gaussian_filter(x, sigma, mode=NDI_MODE[boundary], truncate=truncate)
    for method in ("spatial", "spectral"):
        assert_close(gaussian(x, sigma, boundary=boundary, truncate=truncate, method=method), ref, rel=1e-10)


# --------------------------------------------------------------------------- kernel builders


def test_gaussian_kernel_is_ndimages_impulse_response():
    k = gaussian_kernel((1.5, 0.8))
    delta = np.zeros(k.shape)
    delta[tuple(s // 2 for s in k.shape)] = 1
    assert_close(k, ndi.gaussian_filter(delta, (1.5, 0.8), mode="constant"))
    assert k.sum() == pytest.approx(1.0)
    assert gaussian_kernel(2.0, ndim=3).shape == (17, 17, 17)


@pytest.mark.parametrize("boundary", ["symmetric", "reflect", "wrap", "edge"])
def test_laplacian_and_sobel_kernels_match_ndimage(boundary, rng):
    x = rng.standard_normal((13, 17))
    mode = NDI_MODE[boundary]
    assert_close(convolve(x, laplacian_kernel(), "same", boundary=boundary), ndi.laplace(x, mode=mode))
    for axis in (0, 1):
        assert_close(convolve(x, sobel_kernel(axis), "same", boundary=boundary), ndi.sobel(x, axis=axis, mode=mode))
    x3 = rng.standard_normal((6, 7, 8))
    assert_close(convolve(x3, laplacian_kernel(ndim=3), "same", boundary="edge"), ndi.laplace(x3, mode="nearest"))
    assert_close(convolve(x3, sobel_kernel(2, ndim=3), "same", boundary="edge"), ndi.sobel(x3, axis=2, mode="nearest"))


@pytest.mark.parametrize("size", [3, 5, (3, 7)])
def test_box_kernel_matches_uniform_filter(size, rng):
    x = rng.standard_normal((15, 16))
    got = convolve(x, box_kernel(size), "same", boundary="symmetric")
    assert_close(got, ndi.uniform_filter(x, size, mode="reflect"))


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("cutoff", [0, -0.1, 0.5001, 1.0, float("nan")])
def test_cutoff_outside_range_raises(cutoff, rng):
    x = rng.standard_normal(8)
    with pytest.raises(
        ValueError,
        match=r"cutoff must be a real number > 0 and <= 0.5 \(in cycles/sample; 0.5 is the Nyquist frequency\); got ",
    ):
        lowpass(x, cutoff)
    with pytest.raises(
        ValueError,
        match=r"cutoff must be a real number > 0 and <= 0.5 \(in cycles/sample; 0.5 is the Nyquist frequency\); got ",
    ):
        highpass_mask(8, cutoff)


def test_band_edges_checked(rng):
    x = rng.standard_normal(8)
    with pytest.raises(
        ValueError,
        match=r"high must be a real number > 0 and <= 0.5 \(in cycles/sample; 0.5 is the Nyquist frequency\); got ",
    ):
        bandpass(x, 0.1, 0.7)
    with pytest.raises(
        ValueError,
        match=r"low must be a real number > 0 and <= 0.5 \(in cycles/sample; 0.5 is the Nyquist frequency\); got ",
    ):
        bandpass(x, 0.0, 0.3)
    with pytest.raises(ValueError, match="low must be smaller than high"):
        bandpass(x, 0.3, 0.2)


@pytest.mark.parametrize("order", [0, -1, float("nan"), float("inf")])
def test_order_not_positive_raises(order, rng):
    with pytest.raises(ValueError, match=r"order must be a real number > 0 \(the Butterworth steepness\); got "):
        lowpass(rng.standard_normal(8), 0.2, kind="butterworth", order=order)


@pytest.mark.parametrize(
    ("kwargs", "name"), [({"cutoff": "0.2"}, "cutoff"), ({"cutoff": True}, "cutoff"), ({"order": "2"}, "order")]
)
def test_cutoff_and_order_of_the_wrong_kind_are_type_errors(kwargs, name, rng):
    args = {"cutoff": 0.2, "kind": "butterworth", **kwargs}
    with pytest.raises(TypeError, match=rf"^{name} must be a real number > 0"):
        lowpass(rng.standard_normal(8), **args)


def test_nan_input_raises_when_asked(rng):
    x = rng.standard_normal((8, 8))
    x[2, 3] = np.nan
    x[5, 1] = np.inf
    for fn in (lowpass, highpass):
        with pytest.raises(
            ValueError, match=r"x must be finite; got 2 NaN or inf value\(s\), the first at index \(2, 3\)"
        ):
            fn(x, 0.2, nan_policy="raise")
    for method in ("spatial", "spectral", "auto"):
        with pytest.raises(ValueError, match=r"image must be finite; got 2 NaN .* index \(2, 3\)"):
            gaussian(x, 1.0, nan_policy="raise", method=method)
    with pytest.raises(ValueError, match="mask must be finite"):
        mask_to_kernel(x)
    with pytest.raises(ValueError, match="kernel must be finite"):
        frequency_response(x)


def test_bad_options_raise(rng):
    x = rng.standard_normal((8, 8))
    with pytest.raises(ValueError, match="kind must be one of 'ideal', 'gaussian', 'butterworth'"):
        lowpass(x, 0.2, kind="box")
    with pytest.raises(ValueError, match="boundary must be one of"):
        gaussian(x, 1.0, boundary="mirror")
    with pytest.raises(ValueError, match="method must be one of 'auto', 'spatial', 'spectral'"):
        gaussian(x, 1.0, method="fft")
    with pytest.raises(ValueError, match="sigma must be a real number >= 0"):
        gaussian(x, -1.0)
    with pytest.raises(ValueError, match="sigma must be a number or have one entry per filtered axis"):
        gaussian(x, (1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="truncate must be a real number > 0"):
        gaussian(x, 1.0, truncate=0)
    with pytest.raises(ValueError, match="size must have 2 entries"):
        mask_to_kernel(x, size=9)
    with pytest.raises(ValueError, match="shape must have 2 entries"):
        frequency_response(x, (4, 4))
    with pytest.raises(ValueError, match="sigma must be positive for a kernel"):
        gaussian_kernel(0.0)
    with pytest.raises(ValueError, match="ndim must be an integer >= 1"):
        laplacian_kernel(ndim=0)
    with pytest.raises(ValueError, match="axis entry 2 is out of range"):
        sobel_kernel(2)


# --------------------------------------------------------------------------- non-finite data (issue 10)

BOUNDARY_NAMES = sorted(NDI_MODE)


def _spoiled(rng, shape, dtype=np.float64):
    """Random data with NaN, +inf and -inf at a few places."""
    x = rng.standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    idx = rng.choice(flat.size, 5, replace=False)
    flat[idx[:2]] = np.nan
    flat[idx[2]] = np.inf
    flat[idx[3:]] = -np.inf
    return x


@pytest.mark.parametrize("boundary", BOUNDARY_NAMES)
@pytest.mark.parametrize("policy", ["propagate", "interpolate"])
@pytest.mark.parametrize("sigma", [1.0, 12.0, 60.0])
def test_gaussian_nonfinite_equals_engine_for_every_method(rng, boundary, policy, sigma):
    # the engine with the N-d Gaussian kernel is the definition; every method gives its answer
    x = _spoiled(rng, (23, 19))
    radius = int(4 * sigma + 0.5)
    # the kernel folded by hand onto the extension is what the engine sees past a short image: compare
    # with the unfolded kernel wherever it fits in memory, which is every case here
    kernel = gaussian_kernel(sigma)
    ref = convolve(x, kernel, "same", boundary=boundary, nan_policy=policy, fill_value=0.5)
    for method in ("auto", "spatial", "spectral"):
        got = gaussian(x, sigma, boundary=boundary, fill_value=0.5, nan_policy=policy, method=method)
        assert got.dtype == np.float64
        np.testing.assert_array_equal(np.isposinf(got), np.isposinf(ref), err_msg=f"{method} +inf")
        np.testing.assert_array_equal(np.isneginf(got), np.isneginf(ref), err_msg=f"{method} -inf")
        fin = np.isfinite(ref)
        assert_close(np.where(fin, got, 0), np.where(fin, ref, 0), rel=1e-9, err_msg=method)
    if radius < 9 and policy == "propagate":  # a window that does not cover the whole image spoils locally
        assert np.isfinite(got).any() and not np.isfinite(got).all()


def test_gaussian_nan_spoils_only_its_window_and_mirror(rng):
    x = rng.standard_normal((40, 50)).astype(np.float32)
    x[20, 2] = np.nan
    for method in ("spatial", "spectral"):
        got = gaussian(x, 2.0, method=method)  # radius 8; 'symmetric' mirrors column 2 to column -3
        expect = ndi.maximum_filter(np.isnan(x), size=17, mode="reflect")
        np.testing.assert_array_equal(np.isnan(got), expect)
        assert got.dtype == np.float32


def test_gaussian_interpolate_fills_bad_pixels_on_a_photo():
    # an astronomer's case: bad pixels in a real image, smoothed with renormalized weights
    img = load_image("camera").astype(np.float64) / 255
    bad = img.copy()
    bad[100:103, 200] = np.nan
    got = gaussian(bad, 3.0, nan_policy="interpolate")
    w = np.isfinite(bad).astype(float)
    num = ndi.gaussian_filter(np.where(np.isfinite(bad), bad, 0), 3.0, mode="reflect")
    den = ndi.gaussian_filter(w, 3.0, mode="reflect")
    assert_close(got, num / den, rel=1e-10)
    assert np.isfinite(got).all()


@pytest.mark.parametrize("fn", ["lowpass", "highpass", "bandpass"])
@pytest.mark.parametrize("boundary", BOUNDARY_NAMES)
def test_masks_propagate_within_their_reach(rng, fn, boundary):
    x = rng.standard_normal((48, 40))
    x[10, 30] = np.nan
    args = {"lowpass": (0.2,), "highpass": (0.2,), "bandpass": (0.2, 0.35)}[fn]
    filt = {"lowpass": lowpass, "highpass": highpass, "bandpass": bandpass}[fn]
    got = filt(x, *args, boundary=boundary)
    reach = 5  # ceil(1 / 0.2): the documented window of a mask with cut-off 0.2
    expect = ndi.maximum_filter(np.isnan(x), size=2 * reach + 1, mode=NDI_MODE[boundary])
    np.testing.assert_array_equal(np.isnan(got), expect)
    clean = filt(np.where(np.isnan(x), 0, x), *args, boundary=boundary)
    assert_close(got[~expect], clean[~expect])


def test_lowpass_interpolate_is_normalized_convolution(rng):
    x = rng.standard_normal((32, 36))
    x[5, 7] = np.nan
    w = np.isfinite(x).astype(float)
    mask = lowpass_mask(x.shape, 0.15, kind="gaussian")
    num = _numpy_filter(np.where(w > 0, x, 0), mask)
    den = _numpy_filter(w, mask)
    assert_close(lowpass(x, 0.15, kind="gaussian", nan_policy="interpolate"), num / den)
    with pytest.raises(ValueError, match="not zero at frequency 0"):
        highpass(x, 0.15, nan_policy="interpolate")


# --------------------------------------------------------------------------- wide Gaussians (issue 11, case 9)


@pytest.mark.parametrize("boundary", BOUNDARY_NAMES)
def test_gaussian_any_sigma_matches_ndimage(rng, boundary):
    x = rng.random((50, 50))
    for sigma in (0.5, 3.0, 30.0, 100.0, 1000.0, 1e4):
        ref = ndi.gaussian_filter(x, sigma, mode=NDI_MODE[boundary], cval=0.3)
        for method in ("auto", "spatial", "spectral"):
            got = gaussian(x, sigma, boundary=boundary, fill_value=0.3, method=method)
            assert_close(got, ref, rel=1e-12, err_msg=f"sigma {sigma} {method}")
    x32 = x.astype(np.float32)
    got = gaussian(x32, 1e4, boundary=boundary)
    assert got.dtype == np.float32
    assert_close(got, ndi.gaussian_filter(x, 1e4, mode=NDI_MODE[boundary]), np.float32)


def test_gaussian_wide_sigma_on_odd_shapes_and_axes(rng):
    for shape, sigma, axes in [((1, 7), 50.0, None), ((2, 3, 5), 200.0, (1, 2)), ((9,), 3e5, None)]:
        x = rng.standard_normal(shape)
        for boundary in BOUNDARY_NAMES:
            full = [sigma if (axes is None or a in axes) else 0 for a in range(x.ndim)]
            ref = ndi.gaussian_filter(x, full, mode=NDI_MODE[boundary])
            assert_close(gaussian(x, sigma, boundary=boundary, axes=axes), ref, rel=1e-12)


def test_gaussian_huge_sigma_reaches_the_mean(rng):
    x = rng.random((50, 50))
    for boundary in ("symmetric", "wrap"):
        got = gaussian(x, 1e12, boundary=boundary)
        assert_close(got, np.full_like(x, x.mean()), rel=1e-12)


# --------------------------------------------------------------------------- dtypes and sizes (issue 10)


@pytest.mark.parametrize("sigma", [2.0, 15.0, 50.0, 1000.0])
def test_gaussian_dtype_rule_at_every_sigma(rng, sigma):
    x = rng.random((40, 30))
    ref = ndi.gaussian_filter(x, sigma)
    for dtype, out in [(np.float32, np.float32), (">f4", np.float32), (">f8", np.float64), (np.float16, np.float16)]:
        got = gaussian(x.astype(dtype), sigma)
        assert got.dtype == np.dtype(out) and got.dtype.isnative, (dtype, got.dtype)
        assert_close(got, ref, np.float16 if dtype == np.float16 else np.float32)
    assert gaussian(x.astype(np.int16), sigma).dtype == np.float64
    with pytest.raises(TypeError, match=r"longdouble|float128"):
        gaussian(x.astype(np.longdouble), sigma)


def test_filters_dtype_rule(rng):
    x = rng.random((16, 20))
    for fn in (lambda a: lowpass(a, 0.2), lambda a: highpass(a, 0.2), lambda a: bandpass(a, 0.1, 0.3)):
        assert fn(x.astype(np.float16)).dtype == np.float16
        got = fn(x.astype(">f4"))
        assert got.dtype == np.float32 and got.dtype.isnative
        assert_close(got, fn(x), np.float32)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: gaussian_kernel(1e6), "gaussian_kernel"),
        (lambda: box_kernel(100000), "box_kernel"),
        (lambda: lowpass_mask((200000, 200000), 0.1), "lowpass_mask"),
        (lambda: highpass_mask((200000, 200000), 0.1), "highpass_mask"),
        (lambda: bandpass_mask((200000, 200000), 0.1, 0.2), "bandpass_mask"),
        (lambda: laplacian_kernel(ndim=40), "laplacian_kernel"),
        (lambda: frequency_response([1.0, 2.0], 10**11), "frequency_response"),
    ],
)
def test_size_arguments_are_refused_up_front(call, name):
    from convlens import InsufficientMemoryError

    with pytest.raises(InsufficientMemoryError, match=rf"^{name}: "):
        call()


def test_box_kernel_size_must_be_an_integer():
    with pytest.raises(TypeError, match=r"size must be an integer >= 1; got 2.5"):
        box_kernel(2.5)
    with pytest.raises(TypeError, match=r"size must be a positive int or a sequence"):
        box_kernel((2, 2.5))
    with pytest.raises(ValueError, match=r"size must be an integer >= 1; got 0"):
        box_kernel(0)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 13),
    sigma=st.floats(0.3, 3e4),
    truncate=st.floats(0.5, 9.0),
    boundary=st.sampled_from(BOUNDARY_NAMES),
    seed=st.integers(0, 2**16),
)
def test_folded_kernel_gives_the_full_kernels_outputs(n, sigma, truncate, boundary, seed):
    # the fold (direct residue sums, or Euler-Maclaurin from 16 samples per period) against ndimage
    x = np.random.default_rng(seed).standard_normal(n)
    ref = ndi.gaussian_filter1d(x, sigma, mode=NDI_MODE[boundary], truncate=truncate, cval=0.7)
    got = gaussian(x, sigma, boundary=boundary, truncate=truncate, fill_value=0.7)
    assert_close(got, ref, rel=1e-12)
