"""spectrum: spectra and profiles vs numpy/scipy references, orientation on real photos, band levels vs welch."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import assert_close
from convlens.data import find_audio, load_audio, load_image
from convlens.spectrum import angular_profile, band_levels, log_spectrum, orientation, radial_profile

transform = pytest.importorskip("skimage.transform")


def _stripes(shape, angle_deg, period=7.0):
    """Stripes running at angle_deg counter-clockwise from horizontal as displayed (rows go down)."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    t = np.radians(angle_deg)
    # the intensity varies along the normal (sin t, cos t) in (x, y-down) coordinates
    return np.sin(2 * np.pi * (xx * np.sin(t) + yy * np.cos(t)) / period)


def _angle_diff(a, b):
    """Signed difference of two stripe angles, modulo 180, in (-90, 90]."""
    return (a - b + 90.0) % 180.0 - 90.0


def _ref_power(x, window):
    """Reference power spectrum: numpy FFT of the demeaned, windowed image, / sum(w**2)."""
    a = x - x.mean()
    if window == "hann":
        w = np.outer(scipy.signal.get_window("hann", x.shape[0]), scipy.signal.get_window("hann", x.shape[1]))
    else:
        w = np.ones(x.shape)
    return np.abs(np.fft.fft2(a * w)) ** 2 / np.sum(w**2)


# --------------------------------------------------------------------------- log_spectrum


@pytest.mark.parametrize("shape,axes", [((31,), None), ((12, 17), None), ((6, 8, 5), (0, 2)), ((10, 9), 1)])
def test_log_spectrum_matches_numpy(shape, axes, rng):
    x = rng.standard_normal(shape)
    ax = tuple(range(len(shape))) if axes is None else np.atleast_1d(axes).tolist()
    ref = np.fft.fftshift(np.log1p(np.abs(np.fft.fftn(x, axes=ax))), axes=ax)
    assert_close(log_spectrum(x, axes=axes), ref)


def test_log_spectrum_hann_window_and_float32(rng):
    x = rng.standard_normal((16, 10)).astype(np.float32)
    before = x.copy()
    w = np.outer(scipy.signal.get_window("hann", 16), scipy.signal.get_window("hann", 10))
    ref = np.fft.fftshift(np.log1p(np.abs(np.fft.fft2(x.astype(np.float64) * w))))
    got = log_spectrum(x, window="hann")
    assert got.dtype == np.float32
    assert_close(got, ref, np.float32)
    np.testing.assert_array_equal(x, before)


def test_log_spectrum_of_complex_input(rng):
    z = rng.standard_normal(12) + 1j * rng.standard_normal(12)
    assert_close(log_spectrum(z), np.fft.fftshift(np.log1p(np.abs(np.fft.fft(z)))))


# --------------------------------------------------------------------------- profiles


@pytest.mark.parametrize("window", ["hann", "none"])
def test_radial_profile_matches_binned_statistic(window, rng):
    x = rng.standard_normal((40, 52)).cumsum(axis=1)  # a red spectrum, not flat
    prof = radial_profile(x, bins=10, window=window)
    p = _ref_power(x, window)
    fy, fx = np.meshgrid(np.fft.fftfreq(40), np.fft.fftfreq(52), indexing="ij")
    r = np.hypot(fy, fx)
    inside = r <= 0.5
    ref, edges, _ = scipy.stats.binned_statistic(r[inside], p[inside], "mean", bins=np.linspace(0, 0.5, 11))
    assert_close(prof.power, ref, rel=1e-10)
    assert_close(prof.frequency, (edges[:-1] + edges[1:]) / 2)
    assert prof.counts.sum() == inside.sum()


def test_radial_profile_of_white_noise_is_its_variance_and_red_noise_falls(rng):
    noise = 3.0 * rng.standard_normal((256, 256))
    for window in ("hann", "none", "radial"):
        prof = radial_profile(noise, bins=8, window=window)
        assert np.allclose(prof.power, 9.0, rtol=0.25), window
        assert np.average(prof.power, weights=prof.counts) == pytest.approx(9.0, rel=0.05)
    smooth = scipy.ndimage.gaussian_filter(rng.standard_normal((128, 128)), 1.5, mode="wrap")
    red = radial_profile(smooth, bins=8, window="none")
    # exp(-(2 pi sigma f)**2) times the noise variance
    assert np.all(np.diff(red.power) < 0)
    assert red.power[0] / red.power[4] > 100


def test_radial_profile_nd_and_float32(rng):
    x = rng.standard_normal((4, 16, 16)).astype(np.float32)
    prof = radial_profile(x, axes=(1, 2), bins=4)
    assert prof.power.dtype == np.float32
    # averaged over the 4 images along axis 0 equals the mean of their profiles
    each = np.mean([radial_profile(x[i], bins=4).power for i in range(4)], axis=0)
    assert_close(prof.power, each, np.float32)


@pytest.mark.parametrize("window", ["hann", "none"])
def test_angular_profile_matches_binned_statistic(window, rng):
    x = rng.standard_normal((30, 36)).cumsum(axis=0)
    prof = angular_profile(x, bins=12, fmin=0.05, fmax=0.45, window=window)
    p = _ref_power(x, window)
    fy, fx = np.meshgrid(np.fft.fftfreq(30), np.fft.fftfreq(36), indexing="ij")
    r = np.hypot(fy, fx)
    band = (r >= 0.05) & (r <= 0.45)
    stripe = (np.degrees(np.arctan2(-fy, fx)) + 90) % 180
    ref, _, _ = scipy.stats.binned_statistic(stripe[band], p[band], "sum", bins=np.linspace(0, 180, 13))
    assert_close(prof.power, ref / ref.sum(), rel=1e-10)
    assert prof.power.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("angle", [10.0, 45.0, 100.0, 160.0])
def test_angular_profile_peaks_at_the_stripes(angle):
    prof = angular_profile(_stripes((96, 96), angle), bins=36)
    assert abs(_angle_diff(prof.angle[np.argmax(prof.power)], angle)) <= 5.0


# --------------------------------------------------------------------------- orientation


@pytest.mark.parametrize("angle", np.arange(0.0, 180.0, 15.0))
def test_orientation_of_synthetic_stripes(angle):
    res = orientation(_stripes((128, 140), angle))
    assert abs(_angle_diff(res.angle, angle)) <= 0.5
    assert res.confidence > 0.9
    assert 0 <= res.angle < 180


def test_orientation_convention_vertical_and_horizontal():
    vertical = np.tile(np.sin(np.arange(64) * 2 * np.pi / 8), (64, 1))  # varies along columns
    assert abs(_angle_diff(orientation(vertical).angle, 90.0)) < 0.1
    assert abs(_angle_diff(orientation(vertical.T).angle, 0.0)) < 0.1


@pytest.mark.parametrize("name", ["brick", "text"])
def test_rotating_a_photo_moves_the_orientation_by_the_angle(name):
    img = load_image(name).astype(np.float64) / 255
    base = orientation(img)
    assert base.confidence > 0.5
    for theta in [*range(0, 181, 15), 37]:  # 37: the essay's example angle
        rotated = transform.rotate(img, theta)  # counter-clockwise as displayed
        got = orientation(rotated).angle
        assert abs(_angle_diff(got, base.angle + theta)) <= 3.0, (name, theta, got, base.angle)


def test_brick_is_near_vertical_and_grass_is_isotropic():
    brick = orientation(load_image("brick"))
    assert abs(_angle_diff(brick.angle, 90.0)) < 5.0
    grass = orientation(load_image("grass"))
    assert grass.confidence < 0.2 < 0.5 < brick.confidence


def test_orientation_is_the_angular_profile_mean_and_takes_float32(rng):
    img = load_image("brick").astype(np.float32)
    before = img.copy()
    res = orientation(img, workers=1)
    prof = angular_profile(img, bins=360)
    # the doubled-angle mean of the profile gives the same direction and coherence
    z = np.sum(prof.power * np.exp(2j * np.radians(prof.angle)))
    assert abs(_angle_diff(res.angle, np.degrees(np.angle(z)) / 2 % 180)) < 0.5
    assert res.confidence == pytest.approx(abs(z), abs=0.01)
    np.testing.assert_array_equal(img, before)


@settings(max_examples=20, deadline=None)
@given(angle=st.floats(0, 179.9), h=st.integers(48, 96), w=st.integers(48, 96), period=st.floats(4.0, 10.0))
def test_orientation_recovers_any_stripe_angle(angle, h, w, period):
    res = orientation(_stripes((h, w), angle, period))
    assert abs(_angle_diff(res.angle, angle)) <= 1.0
    assert 0 <= res.confidence <= 1


# --------------------------------------------------------------------------- band levels


def _welch_band_power(x, rate, edges, **kw):
    f, p = scipy.signal.welch(x, fs=rate, window="hann", **kw)
    return np.array([p[(f >= lo) & (f < hi)].sum() * (f[1] - f[0]) for lo, hi in edges])


@pytest.mark.parametrize("bands", ["octave", "third"])
def test_band_levels_average_is_welch_band_power(bands, rng):
    rate = 8000
    x = scipy.signal.lfilter([1.0], [1.0, -0.9], rng.standard_normal(rate * 4))  # a sloped spectrum
    bl = band_levels(x, rate, bands=bands, frame=1024, hop=256)
    ref = _welch_band_power(x, rate, bl.edges, nperseg=1024, noverlap=768)
    db = 10 * np.log10(bl.power.mean(axis=0)) - 10 * np.log10(ref)
    assert np.max(np.abs(db)) < 1e-6
    assert bl.levels.shape == (bl.times.size, bl.centers.size) == bl.power.shape


def test_band_levels_of_real_music_agree_with_welch():
    paths = find_audio("music")
    if not paths:
        pytest.skip("no Debian music recordings installed (apt-get install asterisk-moh-opsound-wav)")
    x, rate = load_audio(paths[0])
    x = x[: rate * 30]
    bl = band_levels(x, rate, bands="third")
    frame = 1024  # the default at 8 kHz
    same = _welch_band_power(x, rate, bl.edges, nperseg=frame, noverlap=frame // 2)
    assert np.max(np.abs(10 * np.log10(bl.power.mean(axis=0) / same))) < 0.5
    # against a welch estimate at 4x the resolution, on bands wide enough to hold 8 of our bins
    finer = _welch_band_power(x, rate, bl.edges, nperseg=4 * frame)
    wide = (bl.edges[:, 1] - bl.edges[:, 0]) >= 8 * rate / frame
    assert wide.sum() >= 5
    assert np.max(np.abs(10 * np.log10(bl.power.mean(axis=0)[wide] / finer[wide]))) < 0.5


def test_band_levels_tone_lands_in_its_band_and_thirds_add_up_to_octaves():
    rate = 16000
    t = np.arange(rate) / rate
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    octave = band_levels(tone, rate)
    k = int(np.argmax(octave.power.mean(axis=0)))
    assert octave.edges[k, 0] <= 440 < octave.edges[k, 1]
    assert octave.levels.mean(axis=0)[k] == pytest.approx(10 * np.log10(0.125), abs=0.05)  # mean square 0.5**2 / 2
    noise = np.random.default_rng(3).standard_normal(rate)
    o, th = band_levels(noise, rate), band_levels(noise, rate, bands="third")
    for c, p in zip(o.centers, o.power.T):
        parts = (
            np.isclose(th.centers, c)
            | np.isclose(th.centers, c * 2 ** (1 / 3))
            | np.isclose(th.centers, c / 2 ** (1 / 3))
        )
        if parts.sum() == 3:
            assert_close(th.power[:, parts].sum(axis=1), p, rel=1e-9)


def test_band_levels_float32_agrees_with_float64(rng):
    x = rng.standard_normal(8000)
    b64 = band_levels(x, 8000)
    b32 = band_levels(x.astype(np.float32), 8000)
    assert b32.power.dtype == np.float32 and b64.power.dtype == np.float64
    assert np.max(np.abs(b32.levels - b64.levels)) < 1e-3  # dB


def test_band_levels_times_and_defaults():
    rate = 44100
    x = np.random.default_rng(1).standard_normal(rate)
    bl = band_levels(x, rate)
    assert bl.times[0] == pytest.approx(8192 / 2 / rate)  # default frame 8192 at 44.1 kHz, hop 4096
    assert np.all(np.diff(bl.times) == pytest.approx(4096 / rate))
    assert bl.edges[-1, 1] <= rate / 2 and bl.edges[0, 0] >= 20


# --------------------------------------------------------------------------- bad input


def test_colour_image_raises_with_conversion_hint():
    rgb = load_image("astronaut", gray=False)
    for fn in (orientation, angular_profile):
        with pytest.raises(ValueError, match=r"image must be a 2-D grey image.*colour image.*rgb2gray"):
            fn(rgb)


def test_nan_raises(rng):
    img = rng.standard_normal((16, 16))
    img[3, 4] = np.nan
    with pytest.raises(ValueError, match="image must be finite; got 1 NaN"):
        orientation(img)
    with pytest.raises(ValueError, match="x must be finite"):
        log_spectrum(img)
    with pytest.raises(ValueError, match="x must be finite"):
        radial_profile(img)
    with pytest.raises(ValueError, match="signal must be finite"):
        band_levels(img.ravel(), 8000, frame=64)


@pytest.mark.parametrize("fmin,fmax", [(-0.1, 0.5), (0.2, 0.1), (0.0, 0.6), (0.3, 0.3)])
def test_bad_band_raises(fmin, fmax, rng):
    allowed = r"(fmin|fmax) must be a real number >= 0 and <= 0\.5|fmin and fmax must satisfy 0 <= fmin < fmax <= 0\.5"
    with pytest.raises(ValueError, match=allowed):
        orientation(rng.standard_normal((16, 16)), fmin=fmin, fmax=fmax)


def test_bad_options_raise(rng):
    x = rng.standard_normal((16, 16))
    with pytest.raises(ValueError, match="window must be one of 'none', 'hann', 'radial'"):
        log_spectrum(x, window="blackman")
    with pytest.raises(ValueError, match="bins must be an integer >= 1"):
        radial_profile(x, bins=0)
    with pytest.raises(ValueError, match="bins must be an integer >= 1"):
        angular_profile(x, bins=-3)
    with pytest.raises(ValueError, match="image must be a 2-D grey image; got 1 dimensions"):
        orientation(x.ravel())
    with pytest.raises(ValueError, match=r"signal must be 1-D \(mono\).*x\[:, 0\]"):
        band_levels(rng.standard_normal((1000, 2)), 8000)
    with pytest.raises(ValueError, match="signal must be at least one frame long"):
        band_levels(rng.standard_normal(100), 8000, frame=256)
    with pytest.raises(ValueError, match="rate must be a real number > 0"):
        band_levels(rng.standard_normal(1000), 0)
    with pytest.raises(ValueError, match="bands must be one of 'octave', 'third'"):
        band_levels(rng.standard_normal(1000), 8000, bands="sixth")
    with pytest.raises(ValueError, match="fmin and fmax must satisfy 0 <= fmin < fmax <= rate / 2"):
        band_levels(rng.standard_normal(4000), 8000, fmax=5000.0)
    with pytest.raises(ValueError, match="hop must be an integer >= 1"):
        band_levels(rng.standard_normal(1000), 8000, hop=0)
