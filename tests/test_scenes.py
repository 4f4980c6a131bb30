"""Each scene of the essay checked against an independent reference (SciPy, scikit-image, statsmodels, ...)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from scipy import ndimage, signal, special

from convlens import scenes


def test_scenes_listed_in_essay_order_and_cited():
    names = [f.__name__ for f in scenes.SCENES]
    assert names[0] == "convolution_theorem" and names[-1] == "conv_layer_speed"
    assert names.index("padding_schemes") < names.index("aquarium_1d") < names.index("face_match")
    assert len(set(names)) == len(names) == 22
    for f in scenes.SCENES:
        assert f.__doc__ and "Examples" in f.__doc__


def test_scene_results_are_cached_and_read_only():
    a = scenes.padding_schemes()
    assert scenes.padding_schemes() is a
    with pytest.raises(ValueError, match="read-only"):
        a.image[0, 0] = 1.0
    with pytest.raises(AttributeError):
        a.kernel = None
    assert "CC0" in a.source


def test_convolution_theorem_direct_equals_fft_and_ndimage():
    s = scenes.convolution_theorem()
    ref = ndimage.convolve(s.image, s.kernel, mode="mirror")  # numpy 'reflect' is ndimage 'mirror'
    np.testing.assert_allclose(s.direct, ref, atol=1e-12)
    np.testing.assert_allclose(s.fft, ref, atol=1e-12)
    assert s.max_difference == pytest.approx(np.abs(s.direct - s.fft).max())
    assert s.direct_seconds > 0 and s.fft_seconds > 0


def test_engine_tour_nan_stays_local():
    t = scenes.engine_tour()
    hole = np.zeros(t.shape, bool)
    hole[200:210, 300:310] = True
    assert t.nan_outputs_propagate == ndimage.binary_dilation(hole, np.ones((5, 5))).sum()
    assert t.nan_outputs_interpolate == ndimage.binary_erosion(hole, np.ones((5, 5))).sum()
    assert t.methods[0] == "direct" and all(abs(m - t.mean_before) < 1e-3 for m in t.means_after)


def test_recording_spectrum_peak_and_bands():
    s = scenes.recording_spectrum()
    assert s.rate == 8000 and s.frequencies[0] == 0 and s.frequencies[-1] <= 4000
    power = np.abs(np.fft.rfft(s.samples * signal.get_window("hann", s.samples.size, fftbins=False)))
    ref_peak = np.fft.rfftfreq(s.samples.size, 1 / s.rate)[np.argmax(power)]
    assert abs(s.frequencies[np.argmax(s.log_magnitude)] - ref_peak) < 1.0
    assert s.band_levels.shape == (s.band_times.size, s.band_centers.size)
    assert np.all(s.band_centers < s.rate / 2) and np.isfinite(s.band_levels).all()


def test_image_spectra_orientations_match_known_textures():
    s = scenes.image_spectra()
    angle = dict(zip(s.names, s.angles))
    conf = dict(zip(s.names, s.confidences))
    assert abs(angle["brick"] - 89) < 4  # near-vertical bricks
    assert 0 <= angle["text"] < 180 and conf["text"] > 0.3  # lines of text: one dominant direction
    assert conf["grass"] < 0.2 < conf["brick"]
    for im, spec in zip(s.images, s.spectra):
        window = np.outer(signal.windows.hann(im.shape[0], sym=False), signal.windows.hann(im.shape[1], sym=False))
        ref = np.log1p(np.abs(np.fft.fftshift(np.fft.fft2((im - im.mean()) * window))))
        assert spec.shape == im.shape
        assert np.corrcoef(spec.ravel(), ref.ravel())[0, 1] > 0.99


def test_rotated_orientation_follows_the_rotation():
    s = scenes.rotated_orientation()
    err = (s.estimated - s.expected + 90) % 180 - 90
    assert np.abs(err).max() < 3
    assert 37.0 in s.rotations


def test_circle_lowpass_is_a_mask_and_a_kernel():
    s = scenes.circle_lowpass()
    fy, fx = np.meshgrid(np.fft.fftfreq(256), np.fft.fftfreq(256), indexing="ij")
    for cutoff, out, err in zip(s.cutoffs, s.filtered, s.kernel_errors):
        mask = np.hypot(fy, fx) <= cutoff
        ref = np.fft.ifft2(np.fft.fft2(s.image) * mask).real
        np.testing.assert_allclose(out, ref, atol=1e-12)
        assert err < 1e-10
    assert s.masks[0].sum() < s.masks[-1].sum()


def test_jpeg_comparison_sizes_and_metrics():
    import io

    from PIL import Image
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    s = scenes.jpeg_comparison()
    assert s.ours_bytes == round(0.05 * 512 * 512)
    buf = io.BytesIO()
    Image.fromarray(s.image).save(buf, format="JPEG", quality=s.jpeg_quality)
    assert len(buf.getvalue()) == s.jpeg_bytes <= s.ours_bytes
    ref = s.image.astype(float)
    assert s.ours_psnr == pytest.approx(peak_signal_noise_ratio(ref, s.ours, data_range=255), abs=0.01)
    jpeg = np.asarray(s.jpeg, dtype=float)
    assert s.jpeg_psnr == pytest.approx(peak_signal_noise_ratio(ref, jpeg, data_range=255), abs=0.01)
    assert s.jpeg_ssim == pytest.approx(structural_similarity(ref, jpeg, data_range=255), abs=0.01)
    assert s.jpeg_psnr > s.ours_psnr  # real JPEG wins at the same size


def test_padding_schemes_against_scipy():
    s = scenes.padding_schemes()
    np.testing.assert_allclose(s.zero, signal.fftconvolve(s.image, s.kernel, "same"), atol=1e-12)
    np.testing.assert_allclose(s.wrap, ndimage.convolve(s.image, s.kernel, mode="wrap"), atol=1e-12)
    np.testing.assert_allclose(s.overlap_add, s.zero, atol=1e-12)
    np.testing.assert_allclose(s.mirror, ndimage.convolve(s.image, s.kernel, mode="reflect"), atol=1e-12)
    # the wrap-around artefact sits along the borders, not in the middle
    border = np.abs(s.wrap_artefact[:5]).mean()
    middle = np.abs(s.wrap_artefact[100:150, 100:150]).mean()
    assert border > 50 * max(middle, 1e-12)


def test_aquarium_1d_equals_erfc_and_finite_differences():
    s = scenes.aquarium_1d()
    x = np.arange(s.initial.size) + 0.5
    for t, conv in zip(s.times[1:4], s.convolution[1:4]):  # early times: walls still far
        ref = 0.5 * special.erfc((x - s.initial.size / 2) / np.sqrt(4 * t))
        np.testing.assert_allclose(conv, ref, atol=2e-3)
    assert s.max_difference.max() < 5e-3
    np.testing.assert_allclose(s.mass, s.initial.sum(), rtol=1e-12)
    spread = [c.max() - c.min() for c in s.convolution]
    assert np.all(np.diff(spread) < 1e-12) and spread[-1] < spread[0] - 0.03  # the salt difference only shrinks


def test_aquarium_2d_against_finite_differences():
    s = scenes.aquarium_2d()
    assert s.max_difference.max() < 1e-2
    np.testing.assert_allclose(s.mass, s.initial.sum(), rtol=1e-12)


def test_photo_diffusion_is_gaussian_blur():
    s = scenes.photo_diffusion()
    for t, frame in zip(s.times[2:], s.frames[2:]):
        ref = ndimage.gaussian_filter(s.frames[0], np.sqrt(2 * t), mode="reflect", truncate=8)
        np.testing.assert_allclose(frame, ref, atol=3e-3)
    np.testing.assert_allclose(s.mass, s.mass[0], rtol=1e-10)
    assert np.all(np.diff(s.maximum) <= 1e-12)


def test_propagators_are_softmax_and_quiz_answered():
    s = scenes.propagators()
    np.testing.assert_allclose(s.edge_propagator, special.softmax(s.edge), rtol=1e-12)
    np.testing.assert_allclose(s.quiz_propagator, special.softmax(s.quiz), rtol=1e-12)
    assert s.edge_centre_share > 0.99 and s.quiz_spread > 0.8
    assert "Gaussian blur" in s.answer
    np.testing.assert_allclose(s.quiz_on_image, ndimage.convolve(s.image, s.quiz, mode="mirror"), atol=1e-12)


def test_monte_carlo_converges_as_inverse_sqrt():
    s = scenes.monte_carlo()
    np.testing.assert_allclose(s.exact, ndimage.convolve(s.image, s.kernel, mode="reflect"), atol=1e-12)
    assert -0.6 < s.slope < -0.4
    scaled = s.rms_error * np.sqrt(s.samples)
    assert scaled.max() / scaled.min() < 1.3
    assert abs(np.mean(s.estimates[-1] - s.exact)) < 3 * s.rms_error[-1] / 128


def test_face_match_finds_the_face_where_skimage_does():
    from skimage.feature import match_template

    s = scenes.face_match()
    assert s.peak == s.expected == (110, 115)
    ref = match_template(s.image, s.template)
    assert np.unravel_index(np.argmax(ref), ref.shape) == s.peak
    np.testing.assert_allclose(s.scores, ref, atol=1e-6)


def test_clip_location_finds_the_clip():
    s = scenes.clip_location()
    assert s.found_start == s.true_start == int(17.3 * 8000)
    assert int(np.argmax(s.scores)) == s.true_start
    m = s.clip.size
    for start in (0, 5000, s.true_start):
        r = np.corrcoef(s.recording[start : start + m], s.clip)[0, 1]
        assert s.scores[start] == pytest.approx(r, abs=1e-6)


def test_arma_kernels_against_statsmodels_and_lfilter():
    from statsmodels.tsa.arima_process import arma2ma

    s = scenes.arma_kernels()
    for ar, ma, psi, series in zip(s.ar, s.ma, s.psi, s.series):
        np.testing.assert_allclose(psi, arma2ma(ar, ma, lags=psi.size), atol=1e-12)
        np.testing.assert_allclose(series, signal.lfilter(ma, ar, s.noise), atol=1e-9)


def test_arima_forecast_equals_statsmodels():
    s = scenes.arima_forecast()
    assert np.all(np.abs(s.mean - s.statsmodels_mean) <= s.truncation_bound + 1e-6)
    np.testing.assert_allclose(s.lower, s.statsmodels_lower, atol=1e-5)
    np.testing.assert_allclose(s.upper, s.statsmodels_upper, atol=1e-5)
    assert s.future_years[0] == 2009 and s.series.size == 309


def test_white_noise_acf_against_statsmodels():
    from statsmodels.tsa.stattools import acf

    s = scenes.white_noise()
    np.testing.assert_allclose(s.autocorrelation, acf(s.samples, nlags=s.lags[-1], fft=False), atol=1e-12)


def test_decorrelation_against_sklearn_pca():
    from sklearn.decomposition import PCA

    s = scenes.decorrelation()
    np.testing.assert_allclose(np.cov(s.whitened.T), np.eye(2), atol=1e-10)
    ref = PCA(whiten=True).fit(s.points)
    np.testing.assert_allclose(np.abs(s.eigenvectors), np.abs(ref.components_), atol=1e-8)
    np.testing.assert_allclose(s.eigenvalues, ref.explained_variance_, rtol=1e-8)
    assert s.correlation_before > 0.6


def test_zca_filters_form_a_symmetric_matrix():
    s = scenes.zca_filters()
    w = s.filters.reshape(49, 49)
    np.testing.assert_allclose(w, w.T, atol=1e-8 * np.abs(w).max())  # ZCA = U diag U^T is symmetric
    np.testing.assert_array_equal(s.kernel, s.filters[24])
    ref = ndimage.correlate(s.image, s.kernel, mode="mirror")
    offset = s.whitened - ref  # the patch mean is removed first: a constant shift
    assert np.ptp(offset) < 1e-9 * np.abs(ref).max()


def test_gaussian_smoothing_is_ndimage_gaussian():
    s = scenes.gaussian_smoothing()
    for sigma, out in zip(s.sigmas, s.smoothed):
        np.testing.assert_allclose(out, ndimage.gaussian_filter1d(s.series, sigma, mode="mirror"), rtol=1e-12)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_conv_layer_speed_same_outputs():
    s = scenes.conv_layer_speed((3, 9), (1, 2, 32, 32), repeats=1)
    assert np.all(s.max_difference < 1e-3)
    assert np.all(s.conv2d_ms > 0) and np.all(s.fftconv2d_ms > 0)


# Every scene's parameters, each with bad values: (scene, keyword, value, exception, what the message must say).
# The message must name the scene's own parameter (not an internal of a lens) and what is allowed.
NAN = float("nan")
BAD_ARGUMENTS = [
    ("convolution_theorem", "kernel_size", 0, ValueError, ">= 1"),
    ("convolution_theorem", "kernel_size", 2.0, TypeError, "integer"),
    ("convolution_theorem", "kernel_size", 10_000, ValueError, "<= 256"),
    ("engine_tour", "sizes", (0,), ValueError, "odd integer >= 3 and <= 511"),
    ("engine_tour", "sizes", (4,), ValueError, "odd"),
    ("engine_tour", "sizes", (), ValueError, "non-empty"),
    ("engine_tour", "sizes", 3, TypeError, "sequence"),
    ("engine_tour", "sizes", (3.0,), TypeError, "integer"),
    ("recording_spectrum", "seconds", -1, ValueError, ">= 0.128"),
    ("recording_spectrum", "seconds", 31.0, ValueError, "<= 30"),
    ("recording_spectrum", "seconds", NAN, ValueError, "real number"),
    ("recording_spectrum", "seconds", "10", TypeError, "real number"),
    ("image_spectra", "names", "brick", TypeError, "sequence of photo names"),
    ("image_spectra", "names", ("bricks",), ValueError, "'brick'"),
    ("image_spectra", "names", (), ValueError, "non-empty"),
    ("rotated_orientation", "rotations", (NAN,), ValueError, "finite"),
    ("rotated_orientation", "rotations", ("30",), TypeError, "real number"),
    ("circle_lowpass", "cutoffs", (0.7,), ValueError, "<= 0.5"),
    ("circle_lowpass", "cutoffs", (0.0,), ValueError, "> 0"),
    ("jpeg_comparison", "fraction", 0, ValueError, "> 0 and <= 1"),
    ("jpeg_comparison", "fraction", 1.5, ValueError, "<= 1"),
    ("padding_schemes", "kernel_size", -1, ValueError, "odd integer >= 3 and <= 255"),
    ("padding_schemes", "kernel_size", 8, ValueError, "odd"),
    ("padding_schemes", "kernel_size", 9.0, TypeError, "integer"),
    ("aquarium_1d", "n", 0, ValueError, ">= 2"),
    ("aquarium_1d", "n", 20.5, TypeError, "integer"),
    ("aquarium_1d", "times", (-1.0,), ValueError, ">= 0"),
    ("aquarium_1d", "times", (1e12,), ValueError, "<= 1000000"),
    ("aquarium_1d", "times", 4.0, TypeError, "sequence"),
    ("aquarium_2d", "n", 4, ValueError, ">= 8"),
    ("aquarium_2d", "n", 10**7, MemoryError, "aquarium_2d"),
    ("aquarium_2d", "times", (NAN,), ValueError, "real number"),
    ("photo_diffusion", "times", (-1,), ValueError, ">= 0"),
    ("photo_diffusion", "times", (), ValueError, "non-empty"),
    ("monte_carlo", "samples", (0, 4), ValueError, ">= 1"),
    ("monte_carlo", "samples", (4, 4), ValueError, "two distinct"),
    ("monte_carlo", "samples", (1, 10**9), ValueError, "<= 100000"),
    ("monte_carlo", "seed", 1.5, TypeError, "integer >= 0"),
    ("monte_carlo", "seed", -1, ValueError, "integer >= 0"),
    ("face_match", "seed", -1, ValueError, "integer >= 0"),
    ("face_match", "seed", "a", TypeError, "integer >= 0"),
    ("face_match", "seed", True, TypeError, "integer >= 0"),
    ("face_match", "noise", -1.0, ValueError, ">= 0"),
    ("face_match", "noise", NAN, ValueError, ">= 0"),
    ("face_match", "shift", (1.5, 2), TypeError, "integer"),
    ("face_match", "shift", (1, 2, 3), ValueError, "2 entries"),
    ("face_match", "shift", 5, TypeError, "sequence"),
    ("clip_location", "start_seconds", 1e9, ValueError, "<= 29"),
    ("clip_location", "start_seconds", -0.5, ValueError, ">= 0"),
    ("clip_location", "noise", NAN, ValueError, ">= 0"),
    ("clip_location", "seed", 2.0, TypeError, "integer >= 0"),
    ("arma_kernels", "length", -5, ValueError, ">= 1"),
    ("arma_kernels", "n", 0, ValueError, ">= 1"),
    ("arma_kernels", "seed", -3, ValueError, ">= 0"),
    ("arima_forecast", "steps", 0, ValueError, ">= 1"),
    ("arima_forecast", "steps", 2.5, TypeError, "integer"),
    ("arima_forecast", "order", (2, 1, 1), ValueError, "(p, 0, q)"),
    ("arima_forecast", "order", (0, 0, 0), ValueError, "p + q >= 1"),
    ("arima_forecast", "order", (1, 0), ValueError, "3 entries"),
    ("arima_forecast", "order", (-1, 0, 0), ValueError, ">= 0"),
    ("white_noise", "max_lag", -1, ValueError, ">= 0 and <= 999"),
    ("white_noise", "n", 0, ValueError, ">= 2"),
    ("white_noise", "seed", "0", TypeError, "integer >= 0"),
    ("zca_filters", "size", 1, ValueError, ">= 2"),
    ("zca_filters", "size", 7.0, TypeError, "integer"),
    ("zca_filters", "epsilon", -1, ValueError, ">= 0"),
    ("zca_filters", "seed", -1, ValueError, ">= 0"),
    ("gaussian_smoothing", "sigmas", (0.0,), ValueError, "> 0"),
    ("gaussian_smoothing", "sigmas", (1e9,), ValueError, "<= 100"),
    ("conv_layer_speed", "kernel_sizes", (0,), ValueError, ">= 1"),
    ("conv_layer_speed", "kernel_sizes", (200,), ValueError, "<= 96"),
    ("conv_layer_speed", "shape", (1, 2, 32), ValueError, "4 entries"),
    ("conv_layer_speed", "shape", (1, 2, 32, 0), ValueError, ">= 1"),
    ("conv_layer_speed", "repeats", 0, ValueError, ">= 1"),
    ("conv_layer_speed", "threads", 0, ValueError, ">= 1"),
]


@pytest.mark.parametrize(("name", "keyword", "value", "error", "allowed"), BAD_ARGUMENTS)
def test_bad_arguments_name_the_scenes_parameter(name, keyword, value, error, allowed):
    with pytest.raises(error) as info:
        getattr(scenes, name)(**{keyword: value})
    message = str(info.value)
    if error is not MemoryError:  # the memory guard names the scene and the estimate instead
        assert message.startswith(f"{keyword}"), message  # the scene's own parameter, not a lens's internal
    assert allowed in message, message


def test_every_scene_parameter_has_a_bad_argument_case():
    import inspect

    covered = {(name, keyword) for name, keyword, *_ in BAD_ARGUMENTS}
    for f in scenes.SCENES:
        for keyword in inspect.signature(f).parameters:
            assert (f.__name__, keyword) in covered, f"{f.__name__}({keyword}=...) has no bad-argument case"


def test_list_and_array_arguments_are_accepted_like_tuples():
    a = scenes.face_match(shift=[40, -60])  # a list is unhashable: computed uncached, same answer
    assert a.peak == a.expected == (110, 115) and a.shift == (40, -60)
    s = scenes.white_noise(n=np.int64(50), max_lag=np.int64(49))
    assert s.lags[-1] == 49 and s.autocorrelation.size == 50
    t = scenes.gaussian_smoothing(np.array([2.0]))
    np.testing.assert_allclose(t.smoothed[0], ndimage.gaussian_filter1d(t.series, 2.0, mode="mirror"), rtol=1e-12)


def test_conv_layer_speed_even_kernels_are_quiet():
    """torch's UserWarning about its reference's 'same' padding of an even kernel stayed visible."""
    import warnings

    pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = scenes.conv_layer_speed(kernel_sizes=(2, 4), shape=(1, 2, 24, 24), repeats=1)
    assert len(r.fftconv2d_ms) == 2 and float(r.max_difference.max()) < 1e-4
