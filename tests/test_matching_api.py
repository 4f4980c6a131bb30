"""convlens.matching as a component: pickling, threads, the dtype rule, the memory guard, argument kinds."""

from __future__ import annotations

import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import convlens
from convlens import InsufficientMemoryError
from convlens.matching import METHODS, Template, find_peaks, locate, match_template

cv2 = pytest.importorskip("cv2")
skfeature = pytest.importorskip("skimage.feature")


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"method": "sqdiff_normed"}, {"method": "ccoeff", "mask": "weights"}, {"method": "zncc", "mask": "bool"}],
)
def test_template_pickles_and_gives_identical_scores(rng, kwargs):
    kwargs = dict(kwargs)
    t = rng.standard_normal((7, 6))
    if kwargs.get("mask") == "weights":
        kwargs["mask"] = rng.random(t.shape)
    elif kwargs.get("mask") == "bool":
        kwargs["mask"] = rng.random(t.shape) > 0.3
    tpl = Template(t, workers=1, **kwargs)
    image = rng.standard_normal((300, 40))
    before = tpl.match(image)  # plans cached: the copy must not carry them (nor their locks)
    copy = pickle.loads(pickle.dumps(tpl))
    assert np.array_equal(copy.match(image), before)
    assert np.array_equal(pickle.loads(pickle.dumps(Template(t, workers=1, **kwargs))).match(image), before)
    assert repr(copy) == repr(tpl)


def test_locate_template_pickles(rng):
    song = rng.standard_normal(5000)
    finder = Template(song[1200:1700])
    assert pickle.loads(pickle.dumps(finder)).locate(song, 100.0) == finder.locate(song, 100.0)


@pytest.mark.parametrize("workers", [1, 2])
def test_one_template_hammered_from_eight_threads(rng, workers):
    tpl = Template(rng.standard_normal((9, 8)), workers=workers)
    images = [
        rng.standard_normal((260 + 7 * (i % 3), 50)).astype(np.float32 if i % 2 else np.float64) for i in range(16)
    ]
    for im in images[::4]:  # low-contrast halves: the refinement runs on several threads too
        im[:, 25:] *= 1e-7
    serial = [Template(tpl._t64[0], workers=1).match(im) for im in images]
    with ThreadPoolExecutor(8) as pool:
        for _ in range(3):
            got = list(pool.map(tpl.match, images))
            for g, s in zip(got, serial):
                assert g.dtype == s.dtype
                np.testing.assert_allclose(g, s, rtol=0, atol=1e-6 if g.dtype == np.float32 else 1e-12)


def test_broadcast_image_is_refused_up_front_naming_the_caller():
    huge = np.broadcast_to(np.float32(1.0), (200_000, 200_000))
    template = np.eye(8, dtype=np.float32)
    with pytest.raises(InsufficientMemoryError, match=r"^match_template: .*\(199993, 199993\)"):
        match_template(huge, template)
    with pytest.raises(InsufficientMemoryError, match=r"^Template.match: "):
        Template(template).match(huge)
    with pytest.raises(InsufficientMemoryError, match=r"^locate: "):
        locate(np.broadcast_to(np.float32(1.0), (10**12,)), np.arange(5.0), 8000)


def test_workers_minus_one_is_all_cores(rng):
    image, t = rng.standard_normal((120, 90)), rng.standard_normal((8, 8))
    assert Template(t, workers=-1).workers == convlens._validation.default_workers()
    np.testing.assert_allclose(match_template(image, t, workers=-1), match_template(image, t, workers=1), atol=1e-12)
    with pytest.raises(ValueError, match="workers must be"):
        match_template(image, t, workers=0)
    with pytest.raises(TypeError, match="workers must be"):
        match_template(image, t, workers=1.5)


@pytest.mark.parametrize(("dtype", "expected"), [(">f4", np.float32), (">f8", np.float64), ("<f2", np.float16)])
def test_byte_order_never_leaks(rng, dtype, expected):
    image = rng.standard_normal((30, 30)).astype(dtype)
    got = match_template(image, image[4:10, 5:12])
    assert got.dtype == np.dtype(expected) and got.dtype.isnative
    native = match_template(image.astype(expected), image[4:10, 5:12].astype(expected))
    assert np.array_equal(got, native)


@pytest.mark.parametrize("what", ["image", "template"])
def test_longdouble_is_refused_not_narrowed(rng, what):
    image, t = rng.standard_normal((20, 20)), rng.standard_normal((4, 4))
    if what == "image":
        image = image.astype(np.longdouble)
    else:
        t = t.astype(np.longdouble)
    if np.dtype(np.longdouble).itemsize <= 8:
        pytest.skip("longdouble is float64 on this platform")
    with pytest.raises(TypeError, match=f"{what} has dtype float128"):
        match_template(image, t)


def test_find_peaks_refuses_longdouble_scores():
    if np.dtype(np.longdouble).itemsize <= 8:
        pytest.skip("longdouble is float64 on this platform")
    with pytest.raises(TypeError, match="scores has dtype float128"):
        find_peaks(np.zeros(5, np.longdouble))


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: find_peaks(np.zeros(5), n=1.5), TypeError, "n must be an integer"),
        (lambda: find_peaks(np.zeros(5), n=True), TypeError, "n must be an integer"),
        (lambda: find_peaks(np.zeros(5), min_distance=1.5), TypeError, "min_distance"),
        (lambda: match_template(np.zeros(9), np.arange(3.0), max_lag=1.5), TypeError, "max_lag must be an integer"),
        (lambda: match_template(np.zeros(9), np.arange(3.0), min_overlap="a"), TypeError, "min_overlap must be"),
        (lambda: locate(np.zeros(9), np.arange(3.0), "8000"), TypeError, "sample_rate must be"),
    ],
)
def test_wrong_kinds_are_type_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_package_keeps_its_public_names():
    import convlens.matching as m

    assert m.METHODS == METHODS == ("zncc", "ncc", "ccoeff", "ccorr", "sqdiff", "sqdiff_normed")
    for name in ("match_template", "find_peaks", "locate", "Template", "Peaks", "Location"):
        assert getattr(m, name) is getattr(convlens, name, getattr(m, name))


# -- strips: the engine's blocks; scratch reuse --------------------------------------------
@pytest.mark.parametrize(
    ("ext0", "m0", "L"), [(2048, 64, 400), (600, 20, 216), (100, 1, 16), (37, 37, 37), (50, 7, 50)]
)
def test_strips_are_the_engines_valid_output_blocks(ext0, m0, L):
    from convlens._engine import axis_geometry, output_blocks
    from convlens.matching._strips import strips

    got = strips(ext0, m0, L)
    blocks = output_blocks(axis_geometry(ext0, m0, "valid"), L - m0 + 1)
    assert [s.out for s in got] == [b.out for b in blocks]
    # every strip has L rows inside the input and reads every row its outputs need
    for s, b in zip(got, blocks):
        assert s.start >= 0 and s.start + L <= ext0
        assert s.start <= b.lo and b.hi <= s.start + L
        assert s.skip == b.out.start - s.start
    assert [s.start for s in got[:-1]] == [b.lo for b in blocks[:-1]]
    covered = np.concatenate([np.arange(s.out.start, s.out.stop) for s in got])
    assert np.array_equal(covered, np.arange(ext0 - m0 + 1))


def test_scratch_reused_across_shapes_threads_and_searches(rng):
    # the integral images live in scratch kept between searches (main thread): searches of
    # other shapes in between, and threads searching at once, must not see each other's
    images = [rng.standard_normal(s).astype(np.float32) for s in [(700, 300), (90, 450), (700, 300), (300, 700)]]
    template = rng.standard_normal((24, 17)).astype(np.float32)
    refs = [cv2.matchTemplate(im, template, cv2.TM_CCOEFF_NORMED) for im in images]
    for im, ref in zip(images, refs):  # one after the other on this thread
        np.testing.assert_allclose(match_template(im, template, workers=1), ref, atol=1e-5)
    with ThreadPoolExecutor(4) as pool:
        for got, ref in zip(pool.map(lambda im: match_template(im, template, workers=2), images * 2), refs * 2):
            np.testing.assert_allclose(got, ref, atol=1e-5)


@pytest.mark.parametrize("scale", [1e-30, 1e-20, 1e18, 1e19, 1e33])
def test_float32_extreme_scales_keep_zncc(rng, scale):
    # float32 scores use a float32 variance only where every window fits float32's range, and
    # sums that could overflow float32 (1e33) go to the float64 path
    base = rng.standard_normal((300, 260))
    image = (base * scale).astype(np.float32)
    template = image[40:80, 100:130].copy()
    got = match_template(image, template)
    ref = cv2.matchTemplate(base.astype(np.float32), (base[40:80, 100:130]).astype(np.float32), cv2.TM_CCOEFF_NORMED)
    assert got.dtype == np.float32 and np.isfinite(got).all()
    np.testing.assert_allclose(got, ref, atol=1e-5)
    assert got[40, 100] == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("offset", [0.0, 0.02, 0.04, 1.0, 1e3])
def test_strip_centring_decision_keeps_float32_accuracy(rng, offset):
    # below mean**2 <= var / 1024 (offset 0.03 for unit noise) the strip is used as it is
    image = (rng.standard_normal((520, 300)) + offset).astype(np.float32)
    template = image[300:332, 120:150] + np.float32(0.5) * rng.standard_normal((32, 30)).astype(np.float32)
    truth = skfeature.match_template(image.astype(np.float64), template.astype(np.float64))
    got = match_template(image, template)
    assert np.abs(got - truth).max() <= 1e-6


def test_only_the_main_thread_keeps_scratch(rng):
    # Dask's pool and strip threads must not each keep a strip's window sums (or integral images) alive
    from convlens.matching import _window_stats

    image, template = rng.standard_normal((300, 200)), rng.standard_normal((16, 16))

    def search_and_look():
        match_template(image, template, workers=1)
        return getattr(_window_stats._scratch, "box" if _window_stats.HAVE_BOXSUMS else "integrals", None)

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(search_and_look).result() is None
    assert search_and_look() is not None  # this (main) thread keeps them for its next search


@pytest.mark.parametrize("lags", [([1.5], [0]), ([True], [0]), (["a"], [0]), ([1.0, 2.0], [0])])
def test_non_integer_lags_are_type_errors(lags):
    with pytest.raises(TypeError, match="lags must hold integers"):
        match_template(np.zeros((9, 9)), np.eye(3), lags=lags)


def test_empty_lags_are_value_errors():
    with pytest.raises(ValueError, match="non-empty 1-D sequence"):
        match_template(np.zeros((9, 9)), np.eye(3), lags=([], [0]))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(300, 200), (40,), (12, 14, 10)])
@pytest.mark.parametrize("method", ["zncc", "sqdiff"])
def test_non_finite_images_quietly_equal_the_masked_search(dtype, shape, method):
    """+inf and -inf together (NaN in the running sums, the mean, the strip's shift) raised RuntimeWarnings,
    errors under -W error; float16 images with NaN crashed in OpenCV's integral (unsupported format)."""
    import warnings

    rng = np.random.default_rng(0)
    image = rng.standard_normal(shape).astype(dtype)
    image[(5,) * len(shape)] = np.inf  # before any NaN: inf - inf in the running sums
    image[(-3,) * len(shape)] = -np.inf
    image[(-2,) * len(shape)] = np.nan
    image[(-1,) + (1,) * (len(shape) - 1)] = np.nan
    template = image[tuple(slice(6, 11) for _ in shape)].copy()  # finite
    valid = np.isfinite(image)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = match_template(image, template, method=method)
        for kw in ({"mode": "same", "boundary": "reflect"}, {"mask": rng.random(template.shape) > 0.3}):
            match_template(image, template, method=method, **kw)
    ref = match_template(
        np.where(valid, image, 0).astype(np.float64), template.astype(np.float64), method=method, image_mask=valid
    )
    assert got.dtype == dtype
    tol = {np.float16: 5e-3, np.float32: 1e-5, np.float64: 1e-10}[dtype] * max(1.0, float(np.nanmax(np.abs(ref))))
    np.testing.assert_allclose(got.astype(np.float64), ref, atol=tol, rtol=0)


@pytest.mark.parametrize("method", ["zncc", "sqdiff", "ccorr"])
def test_float16_image_with_nan_is_searched_in_float32(method):
    """A float16 2-D image holding NaN reached OpenCV's integral in float16 (cv2.error: unsupported format)."""
    rng = np.random.default_rng(0)
    image = rng.standard_normal((300, 200)).astype(np.float16)
    image[5, 1] = np.nan
    template = image[15:22, 15:22].copy()
    got = match_template(image, template, method=method)
    ref = match_template(image.astype(np.float32), template.astype(np.float32), method=method)
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.astype(np.float32), ref, atol=5e-3 * float(np.nanmax(np.abs(ref))), rtol=0)


def test_template_pickles_under_the_public_package():
    import pickletools

    t = Template(np.random.default_rng(0).random((4, 5)))
    blob = pickle.dumps(t)
    names = [a for _, a, _ in pickletools.genops(blob) if isinstance(a, str) and a.startswith("convlens")]
    assert names and all(n == "convlens.matching" for n in names)
    x = np.random.default_rng(1).random((20, 21))
    np.testing.assert_array_equal(pickle.loads(blob).match(x), t.match(x))
