"""Tests for convlens.matching: template matching against scikit-image, OpenCV, SciPy and brute force."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import assert_close
from convlens.data import find_audio, load_audio
from convlens.matching import Location, Peaks, Template, find_peaks, locate, match_template
from convlens.matching._region import region as _region

cv2 = pytest.importorskip("cv2")
skfeature = pytest.importorskip("skimage.feature")

CV2_METHODS = {
    "zncc": cv2.TM_CCOEFF_NORMED,
    "ncc": cv2.TM_CCORR_NORMED,
    "ccoeff": cv2.TM_CCOEFF,
    "ccorr": cv2.TM_CCORR,
    "sqdiff": cv2.TM_SQDIFF,
    "sqdiff_normed": cv2.TM_SQDIFF_NORMED,
}
# Tolerance of the issue: scores equal the references within 1e-5 (relative to the largest score).
REF_TOL = 1e-5


def brute_force(image, template, method="zncc", tmask=None, imask=None, min_overlap=0.0):
    """Valid-mode scores by an explicit loop over placements, restricted to common valid pixels."""
    image, template = np.asarray(image, float), np.asarray(template, float)
    tmask = np.ones(template.shape, bool) if tmask is None else np.asarray(tmask, bool)
    imask = np.ones(image.shape, bool) if imask is None else np.asarray(imask, bool)
    imask = imask & np.isfinite(image)
    out_shape = tuple(n - m + 1 for n, m in zip(image.shape, template.shape))
    out = np.zeros(out_shape)
    for pos in np.ndindex(*out_shape):
        win = tuple(slice(p, p + m) for p, m in zip(pos, template.shape))
        ok = tmask & imask[win]
        i, t = image[win][ok], template[ok]
        if ok.sum() < max(min_overlap * tmask.sum(), 1) - 0.5:
            out[pos] = np.nan if method.startswith("sqdiff") else 0.0
            continue
        if method == "zncc":
            a, b = i - i.mean(), t - t.mean()
            den = np.sqrt((a * a).sum() * (b * b).sum())
            out[pos] = 0.0 if den < 1e-9 else (a * b).sum() / den
        elif method == "ccoeff":
            out[pos] = ((i - i.mean()) * (t - t.mean())).sum()
        elif method == "ccorr":
            out[pos] = (i * t).sum()
        elif method == "ncc":
            den = np.sqrt((i * i).sum() * (t * t).sum())
            out[pos] = 0.0 if den < 1e-9 else (i * t).sum() / den
        elif method == "sqdiff":
            out[pos] = ((i - t) ** 2).sum()
        else:  # not capped at 1 (OpenCV caps it only without a mask); no window energy: +inf
            den = np.sqrt((i * i).sum() * (t * t).sum())
            out[pos] = np.inf if not (i != 0).any() else ((i - t) ** 2).sum() / den
    return out


def cv2_unmasked(method, scores):
    """OpenCV's unmasked TM_SQDIFF_NORMED clips at 1 (templmatch.cpp); the other methods are unchanged."""
    return np.minimum(scores, 1) if method == "sqdiff_normed" else scores


# -- agreement with the references ----------------------------------------------------------
@pytest.mark.parametrize(
    ("image_shape", "template_shape"),
    [((40, 52), (7, 9)), ((33, 31), (8, 8)), ((25, 30), (25, 1)), ((18, 20, 22), (5, 6, 4)), ((12, 9, 10), (3, 9, 2))],
)
@pytest.mark.parametrize("mode", ["valid", "same"])
def test_zncc_equals_skimage_match_template(rng, image_shape, template_shape, mode):
    image = rng.standard_normal(image_shape) + 2.0
    corner = tuple(rng.integers(0, n - m + 1) for n, m in zip(image_shape, template_shape))
    template = image[tuple(slice(c, c + m) for c, m in zip(corner, template_shape))].copy()
    ref = skfeature.match_template(image, template, pad_input=(mode == "same"))
    got = match_template(image, template, mode=mode)
    assert got.dtype == np.float64
    assert_close(got, ref, rel=REF_TOL)
    if mode == "valid":
        assert np.unravel_index(got.argmax(), got.shape) == corner


@pytest.mark.parametrize("boundary", ["reflect", "symmetric", "edge", "wrap"])
def test_same_mode_boundary_equals_skimage_pad_mode(rng, boundary):
    image = rng.standard_normal((30, 27))
    template = rng.standard_normal((6, 5))
    ref = skfeature.match_template(image, template, pad_input=True, mode=boundary)
    assert_close(match_template(image, template, mode="same", boundary=boundary), ref, rel=REF_TOL)


def test_same_mode_fill_value_equals_skimage_constant_values(rng):
    image = rng.standard_normal((21, 26))
    template = rng.standard_normal((7, 4))
    ref = skfeature.match_template(image, template, pad_input=True, constant_values=0.7)
    assert_close(match_template(image, template, mode="same", fill_value=0.7), ref, rel=REF_TOL)


@pytest.mark.parametrize("method", list(CV2_METHODS))
def test_methods_equal_cv2_matchtemplate(rng, method):
    image = rng.standard_normal((64, 71)).astype(np.float32)
    template = (image[20:31, 9:24] + 0.3 * rng.standard_normal((11, 15))).astype(np.float32)
    ref = cv2.matchTemplate(image, template, CV2_METHODS[method])
    got = match_template(image, template, method=method)
    assert got.dtype == np.float32
    assert_close(cv2_unmasked(method, got), ref, rel=REF_TOL)


@pytest.mark.parametrize("method", list(CV2_METHODS))
def test_template_mask_equals_cv2_mask(rng, method):
    image = rng.random((48, 50)).astype(np.float32)
    template = image[5:17, 30:39].copy()
    mask = rng.random(template.shape) > 0.35
    ref = cv2.matchTemplate(image, template, CV2_METHODS[method], mask=mask.astype(np.float32))
    got = match_template(image, template, method=method, mask=mask)
    assert_close(got, ref, rel=REF_TOL)


@pytest.mark.parametrize("method", list(CV2_METHODS))
def test_colour_channels_equal_cv2(rng, method):
    image = rng.random((40, 45, 3)).astype(np.float32)
    template = image[12:21, 3:16].copy()
    ref = cv2.matchTemplate(image, template, CV2_METHODS[method])
    got = match_template(image, template, method=method, channel_axis=-1)
    assert_close(cv2_unmasked(method, got), ref, rel=REF_TOL)
    best = got.argmin() if method.startswith("sqdiff") else got.argmax()
    assert np.unravel_index(best, got.shape) == (12, 3)


@pytest.mark.parametrize("method", list(CV2_METHODS))
def test_uint8_every_method_equals_cv2(rng, method):
    image = rng.integers(0, 256, (50, 60), dtype=np.uint8)
    template = image[10:22, 30:45].copy()
    got = match_template(image, template, method=method)
    ref = cv2.matchTemplate(image, template, CV2_METHODS[method])
    assert_close(cv2_unmasked(method, got), ref, rel=REF_TOL)


@pytest.mark.parametrize("offset", [0.0, 5.0, 100.0])
def test_float32_scores_within_tolerance_of_float64_truth(rng, offset):
    # float32 references drift with an offset (measured: skimage 5e-2, cv2 5e-3 at offset 100);
    # subtracting the image mean before the float32 correlation keeps convlens within 1e-5.
    image = (rng.standard_normal((150, 160)) + offset).astype(np.float32)
    template = image[30:62, 40:72].copy()
    truth = skfeature.match_template(image.astype(np.float64), template.astype(np.float64))
    assert_close(match_template(image, template), truth, rel=REF_TOL)
    if offset == 0:  # centred data: the float32 references agree too
        assert_close(
            match_template(image, template), cv2.matchTemplate(image, template, cv2.TM_CCOEFF_NORMED), rel=REF_TOL
        )
        assert_close(match_template(image, template), skfeature.match_template(image, template), rel=REF_TOL)


def test_one_dimensional_scores_equal_brute_force(rng):
    signal = rng.standard_normal(300)
    clip = signal[120:160] * 3 - 1
    for method in CV2_METHODS:
        assert_close(match_template(signal, clip, method=method), brute_force(signal, clip, method), rel=1e-9)
    assert match_template(signal, clip).argmax() == 120


@pytest.mark.parametrize("method", ["zncc", "ccorr", "sqdiff_normed"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_strips_and_threads_give_the_reference_scores(rng, method, dtype):
    # 600 rows with a 20-row template are searched in overlapping strips of 216 rows
    image = rng.standard_normal((600, 333)).astype(dtype)
    template = image[100:120, 50:65] + 0.1 * rng.standard_normal((20, 15)).astype(dtype)
    ref = cv2.matchTemplate(image.astype(np.float32), template.astype(np.float32), CV2_METHODS[method])
    for workers in (1, 2, 3):
        got = Template(template, method=method, workers=workers).match(image)
        assert got.dtype == dtype
        assert_close(cv2_unmasked(method, got), ref, rel=REF_TOL, err_msg=f"workers={workers}")


def test_one_dimensional_strips_equal_scipy(rng):
    signal = rng.standard_normal(3000)
    clip = rng.standard_normal(40)
    ref = scipy.signal.correlate(signal, clip, mode="valid", method="direct")
    assert_close(match_template(signal, clip, method="ccorr", workers=2), ref, rel=1e-12)


# -- masks and NaN --------------------------------------------------------------------------
@pytest.mark.parametrize("method", list(CV2_METHODS))
def test_image_mask_and_nan_equal_brute_force(rng, method):
    image = rng.standard_normal((22, 25))
    image[3:6, 4:9] = np.nan
    image[15, 2] = np.inf
    imask = rng.random(image.shape) > 0.2
    template = rng.standard_normal((5, 6))
    tmask = rng.random(template.shape) > 0.25
    got = match_template(image, template, method=method, mask=tmask, image_mask=imask, min_overlap=0.3)
    ref = brute_force(image, template, method, tmask, imask, min_overlap=0.3)
    assert_close(got, ref, rel=1e-9)


@pytest.mark.parametrize("workers", [1, 2])
def test_masked_search_in_strips_equals_brute_force(rng, workers):
    # 400 rows with a 12-row template: masked scores are computed in 50-row strips
    image = rng.standard_normal((400, 30))
    image[rng.random(image.shape) < 0.05] = np.nan
    template = np.nan_to_num(image[200:212, 10:20]) + 0.2 * rng.standard_normal((12, 10))
    tmask = rng.random(template.shape) > 0.2
    got = match_template(image, template, mask=tmask, workers=workers)
    assert_close(got, brute_force(image, template, "zncc", tmask, min_overlap=0.5), rel=1e-9)


def test_nan_pixels_are_the_same_as_masked_pixels(rng):
    image = rng.standard_normal((30, 30))
    holes = rng.random(image.shape) < 0.1
    template = image[8:16, 10:20].copy()
    with_nan = np.where(holes, np.nan, image)
    a = match_template(with_nan, template)
    b = match_template(image, template, image_mask=~holes)
    assert_close(a, b, rel=1e-12)
    assert np.isfinite(a).all()
    assert np.unravel_index(a.argmax(), a.shape) == (8, 10)


def test_fill_value_nan_excludes_outside_pixels(rng):
    image = rng.standard_normal((20, 24))
    template = image[0:6, 17:24].copy()  # touches the top and right edges
    got = match_template(image, template[1:, :5], mode="full", fill_value=np.nan, min_overlap=0.0)
    assert np.isfinite(got).all() and np.abs(got).max() <= 1
    # a placement half outside the image matches perfectly on its inside part
    partial = match_template(image, template, mode="same", fill_value=np.nan)
    assert partial[3, 20] == pytest.approx(1.0, abs=1e-12)


def test_min_overlap_scores_short_overlaps_zero(rng):
    image = rng.standard_normal(40)
    image[10:30] = np.nan
    template = rng.standard_normal(8)
    got = match_template(image, template, min_overlap=0.75)
    ref = brute_force(image, template, "zncc", min_overlap=0.75)
    assert_close(got, ref, rel=1e-9)
    assert (got[5:28] == 0).all()


# -- range and flat windows -----------------------------------------------------------------
def test_scores_stay_in_range_and_flat_windows_score_zero(rng):
    # scikit-image issue #1712: rounding pushes scores past 1 and flat windows give NaN/noise
    image = np.full((60, 60), 1000.0, dtype=np.float32)
    image[10:30, 10:30] += rng.standard_normal((20, 20)).astype(np.float32)
    template = image[12:20, 12:22].copy()
    got = match_template(image, template)
    assert np.isfinite(got).all()
    assert np.abs(got).max() <= 1.0
    assert got[12, 12] == pytest.approx(1.0, abs=1e-5)
    assert (got[35:, :] == 0).all() and (got[:, 35:] == 0).all()  # windows of constant 1000


def test_constant_image_scores_zero_for_every_method_without_nan():
    image = np.full((20, 20), 3.0)
    template = np.arange(12.0).reshape(3, 4)
    for method in CV2_METHODS:
        got = match_template(image, template, method=method)
        assert np.isfinite(got).all(), method
    assert (match_template(image, template) == 0).all()


@pytest.mark.parametrize("method", list(CV2_METHODS))
def test_zero_and_flat_windows_score_like_cv2(rng, method):
    image = rng.random((40, 40)).astype(np.float32)
    image[:20, :20] = 0  # all-zero windows
    image[25:, 25:] = 0.5  # constant windows
    template = rng.random((6, 5)).astype(np.float32)
    got = match_template(image, template, method=method)
    assert_close(cv2_unmasked(method, got), cv2.matchTemplate(image, template, CV2_METHODS[method]), rel=REF_TOL)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(5, 40),
    m=st.integers(2, 5),
    scale=st.floats(1e-3, 1e3),
    offset=st.floats(-1e3, 1e3),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_property_zncc_bounded_and_matches_brute_force(n, m, scale, offset, seed, dtype):
    r = np.random.default_rng(seed)
    image = (offset + scale * r.standard_normal((n, n + 3))).astype(dtype)
    template = r.standard_normal((m, m + 1))
    if np.ptp(template) == 0:
        template[0, 0] += 1
    got = match_template(image, template)
    assert got.dtype == dtype
    assert np.isfinite(got).all() and np.abs(got).max() <= 1
    ref = brute_force(image.astype(np.float64), template)
    assert_close(got, ref, rel=1e-3 if dtype == np.float32 and abs(offset) > 1e2 * scale else 2e-4)


# -- lags -----------------------------------------------------------------------------------
@pytest.mark.parametrize("lags", [[-36, -5, 0, 3, 463, 499], list(range(-20, 21)), list(range(400, 500)), [250]])
def test_lags_equal_scipy_correlate_and_correlation_lags(rng, lags):
    x, t = rng.standard_normal(500), rng.standard_normal(37)
    full = scipy.signal.correlate(x, t, mode="full", method="direct")
    labels = scipy.signal.correlation_lags(x.size, t.size, mode="full")
    got = match_template(x, t, method="ccorr", lags=lags)
    assert_close(got, full[np.searchsorted(labels, lags)], rel=1e-12)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_modes_follow_scipy_correlate_lags(rng, mode):
    x, t = rng.standard_normal((23, 19)), rng.standard_normal((6, 5))
    ref = scipy.signal.correlate(x, t, mode=mode, method="direct")
    assert_close(match_template(x, t, method="ccorr", mode=mode), ref, rel=1e-12)


def test_max_lag_2d_equals_slice_of_full_correlation(rng):
    x, t = rng.standard_normal((40, 50)), rng.standard_normal((40, 50))
    full = scipy.signal.correlate(x, t, mode="full", method="fft")
    l0 = scipy.signal.correlation_lags(40, 40)
    l1 = scipy.signal.correlation_lags(50, 50)
    got = match_template(x, t, method="ccorr", max_lag=(3, 5))
    ref = full[np.ix_(np.searchsorted(l0, range(-3, 4)), np.searchsorted(l1, range(-5, 6)))]
    assert_close(got, ref, rel=1e-12)


def test_lag_range_transforms_only_that_range(rng):
    x = rng.standard_normal(200_000)
    t = x[100_000:100_500].copy()
    tpl = Template(t)
    scores = tpl.match(x, lags=(np.arange(99_990, 100_011),))
    assert scores.shape == (21,) and scores.argmax() == 10
    shapes = [key[1] for key in tpl._plans]
    assert shapes and all(s == (520,) for s in shapes)  # 21 lags + 499 samples, not 200 000


def test_region_equals_numpy_pad():
    # the search's region reads the engine's index map: any extension width, every boundary
    @settings(max_examples=80, deadline=None)
    @given(
        n=st.integers(1, 9),
        before=st.integers(0, 30),
        after=st.integers(0, 30),
        boundary=st.sampled_from(["constant", "wrap", "reflect", "symmetric", "edge"]),
    )
    def check(n, before, after, boundary):
        x = np.arange(1, n + 1) * 10.0
        kw = {"constant_values": -7.0} if boundary == "constant" else {}
        ref = np.pad(x, (before, after), mode=boundary, **kw)
        got = _region(x[None], [-before], [n + before + after], boundary, -7.0)[0]
        assert np.array_equal(got, ref)

    check()


# -- peaks ----------------------------------------------------------------------------------
def test_find_peaks_hand_case_and_subpixel():
    s = np.array([0.0, 0.2, 0.9, 0.5, 0.1, 0.3, 0.8, 0.8, 0.2])
    peaks = find_peaks(s, 5)
    assert isinstance(peaks, Peaks)
    assert peaks.indices.ravel().tolist() == [2, 6, 7, 5][: len(peaks.indices)] or peaks.indices[0, 0] == 2
    assert peaks.scores[0] == 0.9
    # parabola through (1, .2), (2, .9), (3, .5): vertex at 2 + 0.5 * (0.2 - 0.5) / (0.2 - 1.8 + 0.5)
    assert peaks.positions[0, 0] == pytest.approx(2 + 0.5 * (0.2 - 0.5) / (0.2 - 1.8 + 0.5))


def test_find_peaks_subpixel_recovers_quadratic_vertex():
    yy, xx = np.mgrid[0:20, 0:30]
    s = -((yy - 7.3) ** 2) - 2 * (xx - 12.8) ** 2
    peaks = find_peaks(s)
    assert peaks.indices.tolist() == [[7, 13]]
    assert peaks.positions[0] == pytest.approx([7.3, 12.8], abs=1e-9)


def test_find_peaks_non_overlapping_threshold_and_nan(rng):
    s = rng.random((50, 60)) * 0.1
    true = [(10, 10), (12, 14), (30, 40), (45, 5)]
    for k, (i, j) in enumerate(true):
        s[i, j] = 1.0 - 0.1 * k
    s[0, 0] = np.nan
    peaks = find_peaks(s, 10, min_distance=(5, 5), threshold=0.5)
    # (12, 14) overlaps the better (10, 10) within 5x5: suppressed
    assert [tuple(p) for p in peaks.indices] == [(10, 10), (30, 40), (45, 5)]
    assert np.all(np.diff(peaks.scores) <= 0)
    assert len(find_peaks(s, 10, min_distance=1, threshold=0.5).indices) == 4
    assert find_peaks(np.full(5, np.nan)).indices.shape == (0, 1)


def test_face_found_in_astronaut_after_shift_and_noise(rng):
    data = pytest.importorskip("skimage.data")
    from skimage.color import rgb2gray

    image = rgb2gray(data.astronaut())
    face = image[70:163, 175:268]  # the face box of skimage's LBP cascade
    moved = np.roll(image, (40, -60), axis=(0, 1)) + rng.normal(0, 0.05, image.shape)
    scores = match_template(moved, face)
    assert_close(scores, skfeature.match_template(moved, face), rel=REF_TOL)
    peaks = find_peaks(scores, 2, min_distance=face.shape)
    assert peaks.indices[0].tolist() == [110, 115]
    assert peaks.scores[0] > 0.9 > 0.6 > peaks.scores[1]
    assert np.abs(peaks.positions[0] - [110, 115]).max() < 0.5


# -- audio ----------------------------------------------------------------------------------
def _recordings(kind):
    paths = find_audio(kind)
    if not paths:
        pytest.skip(f"no {kind} recordings installed (Debian asterisk sound packages)")
    return paths


@pytest.mark.parametrize("kind", ["music", "speech"])
def test_clip_located_to_the_exact_sample_in_real_recording(rng, kind):
    paths = _recordings(kind)
    path = max(paths, key=lambda p: p.stat().st_size) if kind == "speech" else paths[0]
    y, rate = load_audio(path)
    y = y[: 40 * rate]  # 40 s keeps the test fast
    start = int(0.55 * y.size)
    clip = y[start : start + rate]
    noisy = 0.4 * y + 0.05 * y.std() * rng.standard_normal(y.size)  # gain change and noise
    loc = locate(noisy, clip, rate)
    assert isinstance(loc, Location)
    assert loc.sample == start
    assert loc.offset == pytest.approx(start / rate)
    assert loc.score > 0.95 and 0 < loc.confidence <= 1


def test_template_prepared_once_searched_in_many_recordings(rng):
    paths = _recordings("speech")
    clips_from = [load_audio(p)[0] for p in paths[:40]]
    recs = [y for y in clips_from if y.size > 12_000][:3]
    if len(recs) < 3:
        pytest.skip("not enough long speech prompts installed")
    clip = recs[0][3000:7000]
    finder = Template(clip)
    loc = finder.locate(recs[0] + 0.01 * rng.standard_normal(recs[0].size), 8000)
    assert loc.sample == 3000 and loc.confidence > 0.5
    for other in recs[1:]:
        assert finder.locate(other, 8000).score < 0.9


def test_locate_synthetic_gain_noise_within_and_template_reuse(rng):
    song = rng.standard_normal(20_000)
    clip = song[7_000:8_000].copy()
    finder = Template(clip)
    for gain in (0.1, 1.0, 7.0):
        rec = gain * song + 0.3 * gain * rng.standard_normal(song.size)
        loc = finder.locate(rec, 1000.0)
        assert (loc.sample, loc.offset) == (7_000, 7.0)
        assert loc.confidence > 0.8
    near = finder.locate(song, 1000.0, within=(6.5, 7.5))
    assert near.sample == 7_000 and near.score == pytest.approx(1.0)
    elsewhere = finder.locate(song, 1000.0, within=(0.0, 5.0))
    assert elsewhere.sample <= 5_000 and elsewhere.score < 0.3
    assert len(finder._plans) >= 1


def test_locate_ignores_nan_dropouts(rng):
    song = rng.standard_normal(5_000)
    rec = song.copy()
    rec[2_100:2_150] = np.nan
    loc = locate(rec, song[2_000:2_600], 8000)
    assert loc.sample == 2_000 and loc.score == pytest.approx(1.0)


# -- API behaviour --------------------------------------------------------------------------
def test_template_object_equals_function_and_is_reusable(rng):
    template = rng.standard_normal((6, 7))
    tpl = Template(template, workers=1)
    for _ in range(3):
        image = rng.standard_normal((30, 34)).astype(np.float32)
        assert np.array_equal(tpl.match(image), match_template(image, template, workers=1))
    assert "Template(shape=(6, 7)" in repr(tpl)


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        (np.float32, np.float32),
        (np.float16, np.float16),
        (np.dtype(">f4"), np.float32),
        (np.dtype(">f8"), np.float64),
        (np.bool_, np.float64),
        (np.float64, np.float64),
        (np.uint8, np.float64),
        (np.int32, np.float64),
    ],
)
def test_output_dtype(rng, dtype, expected):
    # the policy layer's dtype rule (convlens._validation.DTYPE_TABLE); byte order never leaks
    image = (rng.random((20, 20)) > 0.5) if dtype is np.bool_ else (rng.random((20, 20)) * 100).astype(dtype)
    template = image[3:8, 4:9].copy()
    got = match_template(image, template)
    assert got.dtype == expected and got.dtype.isnative
    assert np.unravel_index(got.argmax(), got.shape) == (3, 4)


def test_uint8_equals_cv2(rng):
    image = rng.integers(0, 256, (50, 60), dtype=np.uint8)
    template = image[10:22, 30:45].copy()
    assert_close(match_template(image, template), cv2.matchTemplate(image, template, cv2.TM_CCOEFF_NORMED), rel=REF_TOL)


def test_inputs_are_not_modified(rng):
    image = rng.standard_normal((25, 25))
    image[3, 3] = np.nan
    template = rng.standard_normal((4, 4))
    mask = rng.random((4, 4)) > 0.2
    imask = rng.random((25, 25)) > 0.1
    copies = [a.copy() for a in (image, template, mask, imask)]
    for method in CV2_METHODS:
        match_template(image, template, method=method, mask=mask, image_mask=imask, mode="same")
    for a, c in zip((image, template, mask, imask), copies):
        assert np.array_equal(a, c, equal_nan=True)


# -- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (
            {"image": np.zeros((5, 5)), "template": np.eye(6)[:, :2]},
            ValueError,
            "template is larger than image along axis 0",
        ),
        (
            {"image": np.zeros((5, 5)), "template": np.arange(3.0)},
            ValueError,
            "image must have as many dimensions as the template",
        ),
        (
            {"image": np.zeros((9, 9, 4)), "template": np.eye(3)[:, :, None] * [1, 2, 3], "channel_axis": -1},
            ValueError,
            "channels",
        ),
        ({"image": np.zeros((9, 9)), "template": np.ones((0, 3))}, ValueError, "template must not be empty"),
        ({"image": np.zeros((9, 9)), "template": np.ones((3, 3))}, ValueError, "template is constant"),
        (
            {"image": np.zeros((9, 9)), "template": np.zeros((3, 3)), "method": "ncc"},
            ValueError,
            "template is all zeros",
        ),
        (
            {"image": np.zeros((9, 9)), "template": np.eye(3), "mask": np.ones((3, 4))},
            ValueError,
            "mask must have the shape",
        ),
        (
            {"image": np.zeros((9, 9)), "template": np.eye(3), "mask": np.zeros((3, 3))},
            ValueError,
            "mask must mark at least one",
        ),
        (
            {"image": np.zeros((9, 9)), "template": np.eye(3), "image_mask": np.ones((9, 8))},
            ValueError,
            "image_mask must have the shape",
        ),
        (
            {"image": np.zeros((9, 9)), "template": np.eye(3), "image_mask": np.zeros((9, 9), bool)},
            ValueError,
            "image_mask must mark",
        ),
        ({"image": np.full((9, 9), np.nan), "template": np.eye(3)}, ValueError, "image has no valid pixel"),
        ({"image": np.zeros((9, 9)), "template": np.full((3, 3), np.nan)}, ValueError, "template has no finite value"),
        ({"image": np.zeros((9, 9)), "template": np.eye(3), "method": "sad"}, ValueError, "method must be one of"),
        ({"image": np.zeros((9, 9)), "template": np.eye(3), "mode": "middle"}, ValueError, "mode must be one of"),
        (
            {"image": np.zeros((9, 9)), "template": np.eye(3), "boundary": "mirror"},
            ValueError,
            "boundary must be one of",
        ),
        (
            {"image": np.zeros((9, 9)), "template": np.eye(3), "lags": [1, 2], "max_lag": 2},
            ValueError,
            "lags or max_lag",
        ),
        (
            {"image": np.zeros((9, 9)), "template": np.eye(3), "lags": [1, 2]},
            ValueError,
            "one sequence of integer lags per axis",
        ),
        ({"image": np.zeros(9), "template": np.arange(3.0), "lags": [0.5]}, TypeError, "lags must hold integers"),
        (
            {"image": np.zeros(9), "template": np.arange(3.0), "max_lag": -1},
            ValueError,
            "max_lag must be an integer >= 0",
        ),
        ({"image": np.zeros(9), "template": np.arange(3.0), "min_overlap": 2}, ValueError, "min_overlap must be"),
        ({"image": np.zeros(9), "template": np.arange(3.0), "fill_value": "x"}, TypeError, "fill_value must be a real"),
        ({"image": np.zeros(9, complex), "template": np.arange(3.0)}, TypeError, "image must have a numeric dtype"),
        ({"image": np.zeros(9), "template": ["a", "b"]}, TypeError, "template must have a numeric dtype"),
        (
            {"image": np.zeros((9, 9)), "template": np.eye(3), "channel_axis": 2},
            ValueError,
            "channel_axis=2 is out of range",
        ),
        (
            {"image": np.zeros((9, 9)), "template": np.eye(3), "channel_axis": 1.0},
            TypeError,
            "channel_axis must be None or an int",
        ),
        (
            {"image": np.zeros((9, 9)), "template": np.eye(3), "mask": np.full((3, 3), "y")},
            TypeError,
            "mask must be a boolean",
        ),
    ],
)
def test_bad_input_raises_naming_the_argument(kwargs, exc, match):
    kwargs = dict(kwargs)
    image, template = kwargs.pop("image"), kwargs.pop("template")
    with pytest.raises(exc, match=match):
        match_template(image, template, **kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "match"),
    [
        ((np.zeros((10, 2)), np.arange(3.0), 8000), {}, ValueError, "recording must be 1-D"),
        ((np.zeros(10), np.arange(12.0), 8000), {}, ValueError, "clip is longer than the recording"),
        ((np.zeros(10), np.arange(3.0), 0), {}, ValueError, "sample_rate must be a real number > 0"),
        ((np.zeros(10), np.arange(3.0), 10), {"within": (5.0, 6.0)}, ValueError, "within=.* leaves no start"),
        ((np.zeros(10), np.arange(3.0), 10), {"within": 5.0}, ValueError, "within must be a pair"),
        ((np.zeros(10), np.eye(3), 10), {}, ValueError, "locate needs a 1-D clip"),
    ],
)
def test_locate_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        locate(*args, **kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "match"),
    [
        ((np.zeros(5), 0), {}, ValueError, "n must be an integer >= 1"),
        ((np.zeros(5), 1.5), {}, TypeError, "n must be an integer >= 1; got 1.5"),
        ((np.zeros(5),), {"min_distance": 2.0}, TypeError, "min_distance must be a positive int"),
        ((np.zeros(5),), {"min_distance": 0}, ValueError, "min_distance must be a positive int"),
        ((np.zeros((5, 5)),), {"min_distance": (1, 2, 3)}, ValueError, "min_distance must be a positive int or 2"),
        ((np.zeros(5),), {"threshold": "high"}, TypeError, "threshold must be a real number"),
        ((np.zeros(0),), {}, ValueError, "scores must not be empty"),
    ],
)
def test_find_peaks_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        find_peaks(*args, **kwargs)


def test_locate_with_non_zncc_template_is_refused():
    with pytest.raises(ValueError, match="locate scores with method='zncc'"):
        Template(np.arange(5.0), method="ccorr").locate(np.arange(50.0), 10)


def _greedy_reference(s, n, min_distance):
    """Greedy non-overlapping local maxima by a full sort (the definition find_peaks implements)."""
    import scipy.ndimage as ndi

    v = np.where(np.isnan(s), -np.inf, s)
    local = (v >= ndi.maximum_filter(v, size=3, mode="constant", cval=-np.inf)) & (v > -np.inf)
    cand = np.flatnonzero(local)
    chosen = []
    for idx in cand[np.argsort(-v.ravel()[cand], kind="stable")]:
        c = np.array(np.unravel_index(idx, s.shape))
        if all((np.abs(c - p) >= min_distance).any() for p in chosen):
            chosen.append(c)
            if len(chosen) == n:
                break
    return np.array(chosen).reshape(-1, s.ndim)


@pytest.mark.parametrize("n", [1, 2, 5, 9, 40])
@pytest.mark.parametrize(("shape", "d", "cluster"), [((5000,), 25, 30), ((60, 70), 7, 30), ((40_000,), 3000, 2500)])
def test_find_peaks_equals_full_greedy_selection(rng, n, shape, d, cluster):
    s = rng.random(shape)
    # a dense cluster of high local maxima (about 800 in the last case, more than the
    # first batch of candidates find_peaks sorts): suppression must look past them
    s[tuple(slice(0, cluster) for _ in shape)] += 2
    got = find_peaks(s, n, min_distance=d, subpixel=False)
    ref = _greedy_reference(s, n, d)
    assert np.array_equal(got.indices, ref)
    assert np.array_equal(got.scores, s[tuple(ref.T)])
