"""convlens.matching as a component: pickling, threads, the dtype rule, the memory guard, argument kinds."""

from __future__ import annotations

import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import convlens
from convlens import InsufficientMemoryError
from convlens.matching import METHODS, Template, find_peaks, locate, match_template


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
