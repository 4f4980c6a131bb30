"""convlens.matching: accuracy per window (low contrast, offsets), weighted masks as OpenCV, locate's confidence.

Every expected value is computed independently here: a vectorized direct sum over
each window, centred on the window's own weighted mean, in float64 (``reference``).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from conftest import assert_close
from convlens.matching import Template, locate, match_template

cv2 = pytest.importorskip("cv2")
skdata = pytest.importorskip("skimage.data")

CV2 = {
    "zncc": cv2.TM_CCOEFF_NORMED,
    "ncc": cv2.TM_CCORR_NORMED,
    "ccoeff": cv2.TM_CCOEFF,
    "ccorr": cv2.TM_CCORR,
    "sqdiff": cv2.TM_SQDIFF,
    "sqdiff_normed": cv2.TM_SQDIFF_NORMED,
}
NORMALIZED = ("zncc", "ncc", "sqdiff_normed")


def reference(image, template, method="zncc", weights=None):
    """Valid-mode scores by direct float64 sums over every window (OpenCV's weighted-mask semantics).

    Products are weighted by ``w**2``, means by ``w`` (``templmatch.cpp``); for 0/1
    weights this is Padfield's masked correlation, for no mask the textbook scores.
    Returns ``(scores, scale)``: ``scale`` is each window's own magnitude for the
    method (``sqrt(vi vt)``, ``ii + tt`` or ``sqrt(ii tt)``), to judge unnormalized scores.
    """
    x = np.asarray(image, np.float64)
    t = np.asarray(template, np.float64)
    w = np.ones(t.shape) if weights is None else np.asarray(weights, np.float64)
    axes = tuple(range(-t.ndim, 0))
    win = sliding_window_view(x, t.shape)
    b = w * w
    sw = w.sum()
    ib = (win * w).sum(axis=axes) / sw
    tb = (t * w).sum() / sw
    xi = win - ib[(...,) + (None,) * t.ndim]
    vi = (b * xi * xi).sum(axis=axes)
    vt = (b * (t - tb) ** 2).sum()
    cov = (b * xi * (t - tb)).sum(axis=axes)
    ii = (b * win * win).sum(axis=axes)
    tt = (b * t * t).sum()
    cross = (b * win * t).sum(axis=axes)
    sq = (b * (win - t) ** 2).sum(axis=axes)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {
            "zncc": np.where(vi > 0, cov / np.sqrt(vi * vt), 0.0),
            "ccoeff": cov,
            "ncc": np.where(ii > 0, cross / np.sqrt(ii * tt), 0.0),
            "ccorr": cross,
            "sqdiff": sq,
            "sqdiff_normed": np.where(ii > 0, sq / np.sqrt(ii * tt), np.inf),
        }[method]
    scale = {"zncc": np.sqrt(vi * vt), "ccoeff": np.sqrt(vi * vt), "sqdiff": ii + tt}.get(method, np.sqrt(ii * tt))
    return out, scale


def assert_per_window(got, ref, scale, method, tol):
    """Normalized scores within ``tol``; unnormalized ones within ``tol`` of each window's own scale."""
    got = np.asarray(got, np.float64)
    if method in NORMALIZED:
        finite = np.isfinite(ref)
        assert np.array_equal(finite, np.isfinite(got))
        # sqdiff_normed grows without bound where the window's energy dwarfs the template's
        err = np.abs(got[finite] - ref[finite]) / np.maximum(1, np.abs(ref[finite]))
    else:
        err = np.abs(got - ref) / np.maximum(scale, np.finfo(float).tiny)
    assert err.max() <= tol, f"{method}: worst error {err.max():.3g} > {tol:g}"


# -- case 4: a window's accuracy depends on that window ------------------------------------
def test_low_contrast_window_equals_its_template_issue_case():
    rng = np.random.default_rng(0)
    img = rng.standard_normal((256, 256))
    img[:, 128:] = 1e-7 * rng.standard_normal((256, 128))
    tpl = img[100:116, 180:196]
    assert match_template(img, tpl)[100, 180] == pytest.approx(1.0, abs=1e-9)
    assert match_template(img.astype(np.float32), tpl.astype(np.float32))[100, 180] == pytest.approx(1.0, abs=1e-4)


def _two_contrasts(rng, shape, contrast, offset=0.0):
    img = rng.standard_normal(shape)
    half = tuple(slice(n // 2, None) if k == len(shape) - 1 else slice(None) for k, n in enumerate(shape))
    img[half] = offset + contrast * rng.standard_normal(img[half].shape)
    return img


@pytest.mark.parametrize(
    ("dtype", "contrast", "offset"),
    [
        (np.float64, 1e-7, 0.0),
        (np.float64, 1e-12, 0.0),
        (np.float64, 1e-3, 1e6),
        (np.float32, 1e-7, 0.0),
        (np.float32, 1e-12, 0.0),
        (np.float32, 1.0, 1e6),  # float32 resolves 0.06 at 1e6: a signal of 1 is 16 steps
    ],
)
@pytest.mark.parametrize(("shape", "tshape"), [((900,), (21,)), ((70, 64), (9, 7)), ((18, 16, 20), (4, 5, 3))])
def test_every_window_as_accurate_as_its_own_contrast(rng, dtype, contrast, offset, shape, tshape):
    # half the data at another contrast (and a large offset): every window's zncc must
    # equal the direct sum over that window, whatever the other half holds
    img = _two_contrasts(rng, shape, contrast, offset).astype(dtype)
    corner = tuple(n - m - 1 for n, m in zip(shape, tshape))  # a template from the low-contrast half
    tpl = img[tuple(slice(c, c + m) for c, m in zip(corner, tshape))].copy()
    got = match_template(img, tpl)
    ref, scale = reference(img, tpl)
    assert got.dtype == dtype
    assert_per_window(got, ref, scale, "zncc", 1e-4 if dtype == np.float32 else 1e-8)
    assert got[corner] == pytest.approx(1.0, abs=1e-4 if dtype == np.float32 else 1e-9)


@pytest.mark.parametrize("method", list(CV2))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_low_contrast_windows_every_method(rng, method, dtype):
    img = _two_contrasts(rng, (60, 72), 1e-7).astype(dtype)
    tpl = (img[20:28, 50:59] + 1e-8 * rng.standard_normal((8, 9))).astype(dtype)
    ref, scale = reference(img, tpl, method)
    got = match_template(img, tpl, method=method)
    assert_per_window(got, ref, scale, method, 1e-4 if dtype == np.float32 else 1e-8)


@pytest.mark.parametrize("method", ["zncc", "ncc", "sqdiff_normed", "ccoeff"])
def test_low_contrast_with_nan_holes_and_weights(rng, method):
    # the masked path (NaN pixels, weighted template mask) has the same per-window accuracy
    img = _two_contrasts(rng, (50, 60), 1e-9)
    tpl = img[10:17, 40:48].copy()
    w = 0.2 + rng.random(tpl.shape)
    img_nan = img.copy()
    img_nan[:3, :3] = np.nan  # far from the windows compared below
    got = match_template(img_nan, tpl, method=method, mask=w, min_overlap=0.0)
    ref, scale = reference(img, tpl, method, w)
    assert_per_window(got[5:, 5:], ref[5:, 5:], scale[5:, 5:], method, 1e-8)


def test_low_contrast_in_colour_and_in_strips(rng):
    img = _two_contrasts(rng, (700, 40), 1e-8)  # 700 rows: several overlap-save strips
    img[650:] = 1e3 * rng.standard_normal((50, 40))
    tpl = img[300:316, 25:33].copy()
    got = Template(tpl, workers=3).match(img)
    ref, scale = reference(img, tpl)
    assert_per_window(got, ref, scale, "zncc", 1e-8)
    colour = np.stack([img, 2 * img + 1], axis=-1)
    got_c = match_template(colour, colour[300:316, 25:33], channel_axis=-1)
    assert got_c[300, 25] == pytest.approx(1.0, abs=1e-9)


def test_constant_regions_stay_exact_zero(rng):
    img = np.full((80, 90), 7.25)
    img[:40] += rng.standard_normal((40, 90))
    tpl = img[5:15, 5:15].copy()
    got = match_template(img, tpl)
    assert (got[40:] == 0).all()
    assert np.isinf(match_template(np.zeros((20, 20)), tpl, method="sqdiff_normed")).all()


# -- case 5: weighted masks with OpenCV's semantics -----------------------------------------
def _photo(name):
    from skimage.color import rgb2gray

    return rgb2gray(getattr(skdata, name)()).astype(np.float32)


@pytest.mark.parametrize("method", list(CV2))
@pytest.mark.parametrize("name", ["coffee", "astronaut"])
def test_weighted_mask_equals_cv2_on_photos(rng, method, name):
    img = _photo(name)[::4, ::4].copy()
    tpl = img[50:65, 60:80].copy()
    w = rng.random(tpl.shape).astype(np.float32)
    ref = cv2.matchTemplate(img, tpl, CV2[method], mask=w)
    got = match_template(img, tpl, method=method, mask=w)
    # OpenCV accumulates masked TM_CCOEFF_NORMED in float32 (measured 5e-5 from the float64 truth)
    assert_close(got, ref, rel=1e-4 if method == "zncc" else 1e-5)
    truth, scale = reference(img, tpl, method, w)
    assert_per_window(got, truth, scale, method, 1e-5)


def test_masked_sqdiff_normed_is_not_capped_issue_case():
    img = _photo("coffee")
    tpl = img[250:290, 300:350].copy()
    mask = np.zeros(tpl.shape, bool)
    mask[5:35, 10:40] = True
    got = match_template(img, tpl, method="sqdiff_normed", mask=mask)
    ref = cv2.matchTemplate(img, tpl, cv2.TM_SQDIFF_NORMED, mask=mask.astype(np.float32))
    assert got.max() > 1  # a capped score would stop at 1
    assert_close(got, ref, rel=1e-5)
    band = slice(300, 312)  # the direct sums over a band of rows, where scores exceed 1
    truth, _ = reference(img[300 : 312 + tpl.shape[0] - 1], tpl, "sqdiff_normed", mask)
    assert truth.max() > 1
    assert_close(got[band], truth, rel=1e-5)


@pytest.mark.parametrize("method", list(CV2))
def test_weighted_mask_random_data_and_colour(rng, method):
    img = (rng.random((40, 44, 3)) * 255).astype(np.float32)
    tpl = img[10:19, 20:31].copy()
    w = rng.random((9, 11)).astype(np.float32)
    w[0, 0] = 0  # a zero weight is a masked-out pixel
    ref = cv2.matchTemplate(img, tpl, CV2[method], mask=w)
    got = match_template(img, tpl, method=method, mask=w, channel_axis=-1)
    assert_close(got, ref, rel=1e-4)


def test_boolean_mask_equals_weights_of_zero_and_one(rng):
    img = rng.standard_normal((30, 30))
    tpl = rng.standard_normal((6, 7))
    m = rng.random(tpl.shape) > 0.3
    for method in CV2:
        a = match_template(img, tpl, method=method, mask=m)
        b = match_template(img, tpl, method=method, mask=m.astype(np.float64))
        assert_close(a, b, rel=1e-12)


def test_weight_scale_changes_only_unnormalized_scores(rng):
    img, tpl = rng.standard_normal((25, 25)), rng.standard_normal((5, 5))
    w = 0.5 + rng.random(tpl.shape)
    for method in ("zncc", "ncc", "sqdiff_normed"):
        assert_close(
            match_template(img, tpl, method=method, mask=3 * w),
            match_template(img, tpl, method=method, mask=w),
            rel=1e-12,
        )
    assert_close(
        match_template(img, tpl, method="ccorr", mask=3 * w),
        9 * match_template(img, tpl, method="ccorr", mask=w),
        rel=1e-12,
    )


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"mask": -np.ones((3, 3))}, ValueError, "mask must be a boolean array or non-negative finite weights"),
        ({"mask": np.full((3, 3), np.nan)}, ValueError, "negative, NaN or inf"),
        ({"image_mask": np.full((9, 9), 0.5)}, ValueError, "image_mask must be a boolean"),
        ({"image_mask": np.full((9, 9), "x")}, TypeError, "image_mask must be a boolean"),
    ],
)
def test_bad_masks_are_refused(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        match_template(np.arange(81.0).reshape(9, 9), np.eye(3), **kwargs)


# -- case 3: locate's confidence -----------------------------------------------------------
def test_locate_repeated_music_is_not_confident_issue_case():
    rng = np.random.default_rng(0)
    a = rng.standard_normal(8000)
    rec = np.concatenate([a, rng.standard_normal(8000), a + 0.05 * rng.standard_normal(8000)])
    loc = locate(rec, rec[1000:3000], 8000)
    scores = match_template(rec, rec[1000:3000])
    r2 = scores[3000:].max()  # every start at least a clip length (2000) after the best; none before
    assert loc.sample == 1000 and loc.score == pytest.approx(1.0)
    assert scores[17000] == pytest.approx(r2)  # the repeat is the best placement elsewhere
    assert loc.confidence == pytest.approx(1 - r2 / loc.score, abs=1e-12)
    assert loc.confidence < 0.01


def test_locate_confidence_counts_every_start_outside_the_neighbourhood(rng):
    # the runner-up need not be a local maximum: a ramp right outside the peak's neighbourhood
    song = rng.standard_normal(6000)
    clip = song[1000:1400]
    rec = song.copy()
    rec[1400:1800] = np.linspace(0.2, 1, 400) * song[1000:1400]
    scores = match_template(rec, clip)
    best = int(np.argmax(scores))
    outside = np.concatenate([scores[: max(best - 399, 0)], scores[best + 400 :]])
    loc = Template(clip).locate(rec, 1000.0)
    assert loc.confidence == pytest.approx(1 - max(outside.max(), 0) / scores[best], abs=1e-12)
    within = locate(rec, clip, 1000.0, within=(0.5, 2.0))
    assert within.sample == 1000


def test_locate_unique_match_is_confident(rng):
    song = rng.standard_normal(20_000)
    loc = locate(song + 0.1 * rng.standard_normal(20_000), song[5000:6000], 1000)
    assert loc.sample == 5000 and loc.confidence > 0.8


def _weighted_loop(image, template, w, method, min_overlap):
    """Scores by a loop over placements: weights w on the pixels valid in the window (NaN = invalid)."""
    out_shape = tuple(n - m + 1 for n, m in zip(image.shape, template.shape))
    out = np.empty(out_shape)
    for pos in np.ndindex(*out_shape):
        win = image[tuple(slice(p, p + m) for p, m in zip(pos, template.shape))]
        v = np.isfinite(win)
        a = np.where(v, w, 0.0)
        if a.sum() < min_overlap * w.sum() or not (a > 0).any():
            out[pos] = np.nan if method.startswith("sqdiff") else 0.0
            continue
        i, t, b = np.where(v, win, 0.0), template, a * a
        ib, tb = (a * i).sum() / a.sum(), (a * t).sum() / a.sum()
        vi, vt = (b * (i - ib) ** 2).sum(), (b * (t - tb) ** 2).sum()
        ii, tt = (b * i * i).sum(), (b * t * t).sum()
        out[pos] = {
            "zncc": (b * (i - ib) * (t - tb)).sum() / np.sqrt(vi * vt),
            "ccoeff": (b * (i - ib) * (t - tb)).sum(),
            "ncc": (b * i * t).sum() / np.sqrt(ii * tt),
            "ccorr": (b * i * t).sum(),
            "sqdiff": (b * (i - t) ** 2).sum(),
            "sqdiff_normed": (b * (i - t) ** 2).sum() / np.sqrt(ii * tt),
        }[method]
    return out


@pytest.mark.parametrize("method", list(CV2))
def test_weights_with_nan_pixels_equal_a_loop(rng, method):
    image = rng.standard_normal((18, 21)) + 0.5
    image[rng.random(image.shape) < 0.15] = np.nan
    template = rng.standard_normal((5, 4))
    w = rng.random(template.shape) + 0.1
    got = match_template(image, template, method=method, mask=w, min_overlap=0.4)
    assert_close(got, _weighted_loop(image, template, w, method, 0.4), rel=1e-9)
