"""compress: coefficient keeping vs numpy/scipy references, metrics vs skimage, JPEG via Pillow."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import scipy.fft

from conftest import assert_close
from convlens.compress import compare_jpeg, keep_frequencies
from convlens.data import load_image

metrics = pytest.importorskip("skimage.metrics")
PIL_Image = pytest.importorskip("PIL.Image")


@pytest.fixture(scope="module")
def camera():
    return load_image("camera")[::2, ::2]  # 256 x 256 uint8 keeps the tests fast


@pytest.mark.parametrize("transform", ["dct", "dft"])
@pytest.mark.parametrize("select", ["lowest", "largest"])
def test_keeping_everything_is_lossless(transform, select, rng):
    x = rng.random((20, 23))
    res = keep_frequencies(x, 1.0, transform=transform, select=select)
    assert_close(res.image, x)
    assert res.kept == res.total == x.size and res.ratio == 1.0
    assert res.psnr > 250 or math.isinf(res.psnr)  # round-off only
    assert res.ssim == pytest.approx(1.0)


@pytest.mark.parametrize("transform", ["dct", "dft"])
@pytest.mark.parametrize("select", ["lowest", "largest"])
def test_metrics_are_skimages(camera, transform, select):
    res = keep_frequencies(camera, 0.07, transform=transform, select=select)
    ref = camera.astype(np.float64)
    assert res.psnr == metrics.peak_signal_noise_ratio(ref, res.image, data_range=255)
    assert res.ssim == metrics.structural_similarity(ref, res.image, data_range=255)
    mse = np.mean((ref - res.image) ** 2)
    assert res.psnr == pytest.approx(10 * np.log10(255**2 / mse))  # the definition, independently


def test_dct_lowest_is_the_quarter_disc_and_reconstruction_matches_scipy(rng):
    x = rng.random((16, 12))
    res = keep_frequencies(x, 0.25, transform="dct", select="lowest")
    assert res.kept == round(0.25 * x.size) == res.mask.sum()
    fy, fx = np.meshgrid(np.arange(16) / 32, np.arange(12) / 24, indexing="ij")
    r2 = fy**2 + fx**2
    assert r2[res.mask].max() <= r2[~res.mask].min()  # every kept one is at least as low as every dropped one
    c = scipy.fft.dctn(x, norm="ortho")
    assert_close(res.image, scipy.fft.idctn(np.where(res.mask, c, 0), norm="ortho"))


def test_dft_lowest_is_the_circle_with_conjugate_pairs(rng):
    x = rng.random((18, 15))
    res = keep_frequencies(x, 0.2, transform="dft", select="lowest")
    fy, fx = np.meshgrid(np.fft.fftfreq(18), np.fft.fftfreq(15), indexing="ij")
    r2 = fy**2 + fx**2
    assert r2[res.mask].max() <= r2[~res.mask].min() + 1e-15
    # conjugate symmetry: index -k is kept whenever k is
    np.testing.assert_array_equal(res.mask, np.roll(res.mask[::-1, ::-1], (1, 1), axis=(0, 1)))
    assert round(0.2 * x.size) <= res.kept <= round(0.2 * x.size) + 4
    ref = np.fft.ifft2(np.fft.fft2(x) * res.mask)
    assert np.max(np.abs(ref.imag)) < 1e-12
    assert_close(res.image, ref.real)


def test_dct_largest_has_parseval_error_and_beats_lowest(camera):
    x = camera.astype(np.float64)
    c = scipy.fft.dctn(x, norm="ortho")
    largest = keep_frequencies(camera, 0.05, select="largest")
    lowest = keep_frequencies(camera, 0.05, select="lowest")
    # orthonormal transform: the squared error is the energy of the dropped coefficients
    assert np.sum((x - largest.image) ** 2) == pytest.approx(np.sum(c[~largest.mask] ** 2), rel=1e-9)
    assert np.abs(c[largest.mask]).min() >= np.abs(c[~largest.mask]).max()
    assert largest.psnr > lowest.psnr


def test_quality_rises_with_the_fraction(camera):
    psnrs = [keep_frequencies(camera, f).psnr for f in (0.01, 0.03, 0.1, 0.3)]
    assert np.all(np.diff(psnrs) > 0)


def test_float32_kept_and_input_untouched(rng):
    x = rng.random((32, 32)).astype(np.float32)
    before = x.copy()
    for transform in ("dct", "dft"):
        res = keep_frequencies(x, 0.3, transform=transform)
        assert res.image.dtype == np.float32
    np.testing.assert_array_equal(x, before)


def test_data_range_default_and_explicit(rng):
    x = rng.random((16, 16)) * 4 + 1
    res = keep_frequencies(x, 0.5)
    assert res.data_range == pytest.approx(x.max() - x.min())
    assert keep_frequencies(x, 0.5, data_range=10.0).psnr == pytest.approx(
        res.psnr + 20 * np.log10(10 / res.data_range)
    )


def test_jpeg_comparison_at_matched_size(camera):
    cmp = compare_jpeg(camera, 0.1)
    assert cmp.jpeg_bytes <= cmp.ours.kept
    # the quality is the largest that fits: one step up no longer does
    buf = io.BytesIO()
    PIL_Image.fromarray(camera).save(buf, format="JPEG", quality=cmp.jpeg_quality + 1)
    assert cmp.jpeg_quality == 95 or len(buf.getvalue()) > cmp.ours.kept
    ref = camera.astype(np.float64)
    dec = cmp.jpeg_image.astype(np.float64)
    assert cmp.jpeg_psnr == metrics.peak_signal_noise_ratio(ref, dec, data_range=255)
    assert cmp.jpeg_ssim == metrics.structural_similarity(ref, dec, data_range=255)
    assert cmp.jpeg_ratio == pytest.approx(camera.size / cmp.jpeg_bytes)
    # JPEG (quantized 8x8 DCT blocks plus entropy coding) beats keeping whole-image frequencies
    assert cmp.jpeg_psnr > cmp.ours.psnr


def test_jpeg_comparison_accepts_unit_float_images():
    img = load_image("astronaut")[::4, ::4]  # rgb2gray: float64 in [0, 1]
    cmp = compare_jpeg(img, 0.2)
    assert cmp.jpeg_image.dtype == np.uint8 and cmp.jpeg_image.shape == img.shape


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5, float("nan")])
def test_fraction_outside_unit_interval_raises(fraction, rng):
    with pytest.raises(ValueError, match=r"fraction must be a real number > 0 and <= 1"):
        keep_frequencies(rng.random((8, 8)), fraction)
    with pytest.raises(ValueError, match=r"fraction must be a real number > 0 and <= 1"):
        compare_jpeg(rng.random((8, 8)), fraction)


def test_colour_image_raises_with_conversion_hint():
    rgb = load_image("astronaut", gray=False)
    with pytest.raises(ValueError, match=r"image must be a 2-D grey image.*rgb2gray"):
        keep_frequencies(rgb, 0.1)
    with pytest.raises(ValueError, match=r"image must be a 2-D grey image.*rgb2gray"):
        compare_jpeg(rgb, 0.1)


def test_nan_and_bad_options_raise(rng):
    x = rng.random((8, 8))
    bad = x.copy()
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="image must be finite; got 1 NaN"):
        keep_frequencies(bad, 0.5)
    with pytest.raises(ValueError, match="transform must be one of 'dct', 'dft'"):
        keep_frequencies(x, 0.5, transform="wavelet")
    with pytest.raises(ValueError, match="select must be one of 'lowest', 'largest'"):
        keep_frequencies(x, 0.5, select="random")
    with pytest.raises(ValueError, match="data_range must be a real number > 0"):
        keep_frequencies(x, 0.5, data_range=0)
    with pytest.raises(ValueError, match=r"image must be uint8 or float in \[0, 1\].*img_as_ubyte"):
        compare_jpeg(x * 300, 0.5)


@pytest.mark.parametrize("shape", [(3, 3), (4, 9), (5, 5), (6, 6), (6, 40), (7, 7), (12, 5)])
@pytest.mark.parametrize("transform", ["dct", "dft"])
def test_small_images_get_skimages_ssim_with_the_largest_window_that_fits(shape, transform, rng):
    # skimage refuses images smaller than its 7 x 7 window; keep_frequencies uses the largest odd one that fits
    x = rng.random(shape)
    res = keep_frequencies(x, 0.5, transform=transform)
    win = min(7, min(shape) if min(shape) % 2 else min(shape) - 1)
    ref = metrics.structural_similarity(x, res.image.astype(np.float64), data_range=res.data_range, win_size=win)
    assert math.isfinite(res.ssim) and res.ssim == pytest.approx(ref, rel=1e-12, abs=1e-12)
    if min(shape) >= 7:  # skimage's default window, unchanged
        assert res.ssim == metrics.structural_similarity(x, res.image, data_range=res.data_range)
    else:
        with pytest.raises(ValueError, match="win_size exceeds image extent"):
            metrics.structural_similarity(x, res.image, data_range=res.data_range)


def test_compare_jpeg_on_a_small_image_has_finite_ssims():
    image = load_image("camera")[200:205, 200:206]  # 5 x 6, uint8
    cmp = compare_jpeg(image, 0.5)
    dec = cmp.jpeg_image.astype(np.float64)
    assert cmp.jpeg_ssim == pytest.approx(
        metrics.structural_similarity(image.astype(np.float64), dec, data_range=255, win_size=5), abs=1e-12
    )
    assert math.isfinite(cmp.ours.ssim) and math.isfinite(cmp.jpeg_ssim)


@pytest.mark.parametrize("shape", [(2, 2), (1, 9), (2, 30)])
def test_images_smaller_than_3x3_are_refused_naming_the_image(shape, rng):
    for func in (keep_frequencies, compare_jpeg):
        with pytest.raises(ValueError, match=r"image must be at least 3 x 3 pixels .* got shape"):
            func(rng.random(shape), 0.5)
