"""The lean path of repeated direct calls and the one-row OpenCV back end.

Checked against ``numpy.convolve`` / ``scipy.signal.convolve`` (and a literal direct sum
for non-finite values): every mode, boundary, dtype and route through the lean path gives
the general path's result, a repeated call reuses its template, recipe and lean path, and
the zero-tap guard keeps ``0 * nan`` local on OpenCV.
"""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest
import scipy.signal

import convlens as cl
from _engine_ref import BOUNDARIES, MODES, direct_sum, ref_convolve
from convlens._engine import _api
from convlens._engine._direct import (
    CV2_DIRECT_TAPS,
    CV2_ROW_LONG,
    CV2_ROW_MAX,
    CV2_ROW_MIN_TAPS,
    CV2_ROW_MIN_TAPS_LONG,
    NPCONV_SPLIT_TAPS,
    NPCONV_SPLIT_WORK,
    ROW_STRIP,
    direct_route,
    npconvolve_pieces,
)
from convlens._engine._recipe import make_recipe

cv2 = pytest.importorskip("cv2")

TOL = {np.dtype(np.float32): 2e-4, np.dtype(np.float64): 1e-11}


def _close(got, want, dtype):
    dtype = np.dtype(dtype)
    tol = TOL.get(dtype, 1e-11)
    scale = max(1.0, float(np.nanmax(np.abs(want))) if np.isfinite(want).any() else 1.0)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)


def _template_of(x, k, *, mode="same", boundary="constant", fill_value=0, nan_policy="propagate", correlate=False):
    options = (mode, None, boundary, fill_value, "direct", nan_policy, None)
    return _api._template(x.shape, x.dtype, k.shape, k.dtype, options, type(fill_value), correlate)


# -- the one-row OpenCV back end -------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", MODES)
def test_row_backend_matches_numpy_and_scipy(dtype, mode, without_native):
    rng = np.random.default_rng(11)
    for _ in range(6):
        k = int(rng.integers(CV2_ROW_MIN_TAPS, CV2_DIRECT_TAPS[np.dtype(dtype)]))
        n = int(rng.integers(k, 5000))
        x = rng.standard_normal(n).astype(dtype)
        kern = rng.standard_normal(k).astype(dtype)
        r = make_recipe(
            cl.Convolver(kern, x.shape, mode, method="direct").geometry,
            np.dtype(dtype),
            np.dtype(dtype),
            False,
            explicit_pad=False,
            method="direct",
            workers=1,
            cached_kernel=False,
        )
        assert r.cv2_direct, (n, k)  # the case under test really runs on OpenCV
        got = cl.convolve(x, kern, mode, method="direct", workers=1)
        assert got.dtype == dtype
        _close(got, np.convolve(x.astype(np.float64), kern.astype(np.float64), mode), dtype)
        _close(got, scipy.signal.convolve(x, kern, mode, method="direct"), dtype)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy-opencv"])
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("mode", MODES)
def test_row_backend_every_boundary(boundary, mode, compiled, request):
    if not compiled:
        request.getfixturevalue("without_native")
    rng = np.random.default_rng(12)
    x = rng.standard_normal(700)
    kern = rng.standard_normal(31)
    for fill in (0, 2.5) if boundary == "constant" else (0,):
        want = ref_convolve(x, kern, mode, boundary=boundary, fill_value=fill)
        for method in ("direct", "auto"):
            for _ in range(2):  # the first call builds the template, the second runs the lean path
                got = cl.convolve(x, kern, mode, boundary=boundary, fill_value=fill, method=method)
                _close(got, want, np.float64)


def test_row_backend_limits(without_native):
    geom = cl.Convolver(np.ones(31), (CV2_ROW_MAX + 1,), "same").geometry
    assert direct_route(geom, "constant", True, np.dtype(np.float32), False).backend == "cv2rows"
    geom = cl.Convolver(np.ones(CV2_ROW_MIN_TAPS - 1), (4096,), "same").geometry
    assert direct_route(geom, "constant", True, np.dtype(np.float32), False).backend == "npconv"
    geom = cl.Convolver(np.ones(31), (4096,), "same").geometry
    assert direct_route(geom, "constant", True, np.dtype(np.float32), False).backend == "cv2"
    # fewer taps on long signals only (numpy.convolve has a fast path up to 11 taps)
    geom = cl.Convolver(np.ones(CV2_ROW_MIN_TAPS_LONG), (CV2_ROW_LONG,), "same").geometry
    assert direct_route(geom, "constant", True, np.dtype(np.float32), False).backend == "cv2"
    geom = cl.Convolver(np.ones(CV2_ROW_MIN_TAPS_LONG), (CV2_ROW_LONG // 2,), "same").geometry
    assert direct_route(geom, "constant", True, np.dtype(np.float32), False).backend == "npconv"
    assert direct_route(geom, "constant", True, np.dtype(np.complex64), False).backend == "npconv"  # never OpenCV
    # OpenCV switches to a DFT from 50 taps in float64: never used there
    geom = cl.Convolver(np.ones(60), (4096,), "same").geometry
    assert direct_route(geom, "constant", True, np.dtype(np.float64), False).backend == "npconv"


def test_auto_takes_the_row_backend_for_mid_kernels(without_native):
    assert cl.choose_method((4096,), (31,), mode="same", dtype="float32", workers=1) == "direct"


# -- the lean path: same results as the general path -----------------------------------------


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.complex64, np.complex128, np.int16])
@pytest.mark.parametrize("ksize", [3, 31])
def test_lean_path_dtypes_match_scipy(dtype, ksize):
    rng = np.random.default_rng(13)
    x = (rng.standard_normal(3000) * 10).astype(dtype)
    kern = rng.standard_normal(ksize).astype(np.float32 if np.dtype(dtype).kind != "c" else dtype)
    first = cl.convolve(x, kern, "same", method="direct")
    again = cl.convolve(x, kern, "same", method="direct")
    want = scipy.signal.convolve(x.astype(np.complex128 if x.dtype.kind == "c" else np.float64), kern, "same")
    assert again.dtype == first.dtype == cl.convolve(x, kern, "same", method="fft").dtype
    np.testing.assert_array_equal(first, again)
    tol = 2e-2 if dtype == np.float16 else 1e-3
    np.testing.assert_allclose(again.astype(want.dtype), want, rtol=tol, atol=tol * np.abs(want).max())


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,kshape", [((40, 50), (3, 5)), ((3, 30, 20), (1, 5, 3)), ((30, 4), (7, 1))])
def test_lean_path_planes_every_boundary_and_mode(boundary, mode, shape, kshape):
    rng = np.random.default_rng(14)
    x = rng.standard_normal(shape).astype(np.float32)
    kern = rng.standard_normal(kshape).astype(np.float32)
    want = ref_convolve(x.astype(np.float64), kern.astype(np.float64), mode, boundary=boundary)
    for _ in range(3):
        got = cl.convolve(x, kern, mode, boundary=boundary, method="direct")
        assert got.dtype == np.float32
        _close(got, want, np.float32)


@pytest.mark.parametrize("shape,kshape", [((500,), (3,)), ((500,), (40,)), ((60, 70), (5, 4)), ((50,), (9,))])
def test_lean_correlate_matches_scipy(shape, kshape):
    rng = np.random.default_rng(15)
    for dtype in (np.float64, np.complex128):
        x = rng.standard_normal(shape).astype(dtype)
        t = rng.standard_normal(kshape).astype(dtype)
        if dtype == np.complex128:
            x = x + 1j * rng.standard_normal(shape)
            t = t + 1j * rng.standard_normal(kshape)
        want = scipy.signal.correlate(x, t, "same", method="direct")
        for _ in range(2):
            np.testing.assert_allclose(cl.correlate(x, t, "same", method="direct"), want, rtol=1e-10, atol=1e-10)


def test_convolver_lean_path_matches_convolve_and_pickles():
    rng = np.random.default_rng(16)
    kern = rng.standard_normal((5, 5))
    plan = cl.Convolver(kern, (64, 64), "same", boundary="reflect", method="direct")
    xs = [rng.standard_normal((64, 64)) for _ in range(3)]
    for x in xs:
        np.testing.assert_array_equal(plan(x), cl.convolve(x, kern, "same", boundary="reflect", method="direct"))
    fast, prepared = plan._direct[np.dtype(np.float64)]
    assert fast.route.backend == "native" and prepared is not None  # the plan's calls took the lean path
    kern[:] = 0  # the plan holds a private copy
    clone = pickle.loads(pickle.dumps(plan))
    assert clone._direct == {}
    np.testing.assert_array_equal(clone(xs[0]), plan(xs[0]))
    assert np.abs(plan(xs[0])).max() > 0


# -- non-finite values, the zero-tap guard, the kernel's checks ------------------------------


@pytest.mark.parametrize(
    "shape,kshape",
    [((300,), (3,)), ((300,), (31,)), ((40, 40), (3, 3)), ((2, 30, 30), (1, 3, 3))],
)
@pytest.mark.parametrize("boundary", ["constant", "reflect"])
def test_nonfinite_stay_local_with_zero_taps(shape, kshape, boundary):
    rng = np.random.default_rng(17)
    kern = rng.standard_normal(kshape)
    kern.reshape(-1)[::2] = 0.0  # zero taps: OpenCV would skip them and lose 0 * nan
    for _ in range(2):
        x = rng.standard_normal(shape)
        flat = x.reshape(-1)
        flat[rng.choice(flat.size, 3, replace=False)] = [np.nan, np.inf, -np.inf]
        axes = (1, 2) if x.ndim == 3 else None  # a stack of planes: OpenCV plane by plane
        want = direct_sum(x, kern, "same", axes=axes, boundary=boundary)
        for dtype in (np.float32, np.float64):
            got = cl.convolve(
                x.astype(dtype), kern.astype(dtype), "same", axes=axes, boundary=boundary, method="direct"
            )
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
            np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
            np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))
            fin = np.isfinite(want)
            _close(got[fin], want[fin], dtype)


def test_nonfinite_without_zero_taps_on_the_lean_path():
    x = np.ones(500, np.float32)
    x[100] = np.nan
    kern = np.arange(1, 32, dtype=np.float32)
    for _ in range(2):
        y = cl.convolve(x, kern, "same", method="direct")
        assert np.flatnonzero(np.isnan(y)).tolist() == list(range(85, 116))


def test_lean_path_raise_and_bad_kernel():
    x = np.ones(100)
    cl.convolve(x, np.ones(3), "same", nan_policy="raise", method="direct")  # builds the template
    bad = x.copy()
    bad[7] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        cl.convolve(bad, np.ones(3), "same", nan_policy="raise", method="direct")
    with pytest.raises(ValueError, match="kernel must contain only finite values"):
        cl.convolve(x, np.array([1.0, np.nan, 1.0]), "same", method="direct")


def test_lean_path_keeps_integers_exact_and_inputs_untouched():
    x = np.array([2**53 + 1, 3, 5, 7] * 10, np.int64)
    kern = np.array([1, 0, 2], np.int64)
    xc, kc = x.copy(), kern.copy()
    for _ in range(2):
        y = cl.convolve(x, kern, "same", method="direct")
        assert y.dtype == np.int64 and y[1] == (2**53 + 1) * 2 + 5
    np.testing.assert_array_equal(x, xc)
    np.testing.assert_array_equal(kern, kc)


# -- reuse and threads -----------------------------------------------------------------------


def test_repeated_call_reuses_template_recipe_and_lean_path():
    rng = np.random.default_rng(18)
    x = rng.standard_normal(777).astype(np.float32)
    k1, k2 = rng.standard_normal(31).astype(np.float32), rng.standard_normal(31).astype(np.float32)
    cl.convolve(x, k1, "same", method="direct")
    tpl = _template_of(x, k1)
    fast = tpl._direct[x.dtype][0]
    assert fast is not None and fast.route.backend == "native"
    templates, recipes = _api._template.cache_info().misses, make_recipe.cache_info().misses
    y = cl.convolve(x, k2, "same", method="direct")
    assert _api._template.cache_info().misses == templates
    assert make_recipe.cache_info().misses == recipes
    assert tpl._direct[x.dtype][0] is fast
    np.testing.assert_allclose(y, np.convolve(x, k2, "same"), rtol=1e-4, atol=1e-4)


def test_no_lean_path_where_the_general_path_is_needed():
    x = np.ones(50)
    for kwargs in ({"nan_policy": "interpolate"}, {"fill_value": np.nan}):
        cl.convolve(x, np.ones(3), "same", method="direct", **kwargs)
        fill = kwargs.get("fill_value", 0)
        tpl = _template_of(x, np.ones(3), fill_value=fill, nan_policy=kwargs.get("nan_policy", "propagate"))
        assert tpl._direct[x.dtype][0] is None
    xi = np.arange(50)
    cl.convolve(xi, np.arange(3), "same", method="direct")
    assert _template_of(xi, np.arange(3))._direct[xi.dtype][0] is None  # exact integers


def test_concurrent_calls_with_different_workers_restore_opencv_threads():
    rng = np.random.default_rng(19)
    xs = [rng.standard_normal((80, 80)).astype(np.float32) for _ in range(8)]
    kern = rng.standard_normal((3, 3)).astype(np.float32)
    want = [ref_convolve(x.astype(np.float64), kern.astype(np.float64), "same") for x in xs]
    before = cv2.getNumThreads()
    results = [None] * len(xs)

    def work(i):
        for _ in range(20):
            results[i] = cl.convolve(xs[i], kern, "same", method="direct", workers=1 + i % 2)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cv2.getNumThreads() == before
    for got, w in zip(results, want):
        _close(got, w, np.float32)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ksize", [NPCONV_SPLIT_TAPS, 11])
def test_long_signal_in_pieces_per_thread_matches_numpy(mode, ksize):
    rng = np.random.default_rng(20)
    base = NPCONV_SPLIT_WORK // ksize
    for n in (base + 5, 3 * base // 2 + 1):
        x = rng.standard_normal(n) + 1j * rng.standard_normal(n)  # complex: numpy.convolve's route
        kern = rng.standard_normal(ksize)
        want = np.convolve(x, kern, mode)
        for workers in (2, 3):
            got = cl.convolve(x, kern, mode, method="direct", workers=workers)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    x[1000] = np.nan  # each piece is a direct sum: NaN stays local
    got = cl.convolve(x, np.ones(9), "same", method="direct", workers=2)
    assert np.flatnonzero(np.isnan(got)).tolist() == list(range(996, 1005))


def test_small_kernels_stay_one_numpy_call():
    # numpy's small-kernel loop is bound by memory: two threads do not pay (see _direct)
    from convlens._engine._direct import npconv_threads

    assert npconv_threads(1 << 23, 3, 2) == 1
    assert npconv_threads(1 << 23, NPCONV_SPLIT_TAPS - 1, 4) == 1
    assert npconv_threads(NPCONV_SPLIT_WORK // NPCONV_SPLIT_TAPS, NPCONV_SPLIT_TAPS, 2) == 2


def test_pieces_per_thread_direct_helper_bounds():
    rng = np.random.default_rng(21)
    a = rng.standard_normal((1 << 19) + 10).astype(np.float32)
    kern = rng.standard_normal(5).astype(np.float32)
    full = np.convolve(a, kern)
    for crop in (slice(0, full.size), slice(4, a.size), slice(2, a.size + 2)):
        for workers in (2, 4):
            np.testing.assert_array_equal(npconvolve_pieces(a, kern, crop, workers), full[crop])


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_long_signal_in_strips_every_mode_and_boundary(boundary):
    rng = np.random.default_rng(22)
    n = CV2_ROW_MAX + 2 * ROW_STRIP // 3  # strips of ROW_STRIP outputs, the last one partial
    x = rng.standard_normal(n)
    for k in (8, 31):
        kern = rng.standard_normal(k)
        for mode in MODES:
            fills = (0, -1.5) if boundary == "constant" else (0,)
            for fill in fills:
                want = ref_convolve(x, kern, mode, boundary=boundary, fill_value=fill)
                for workers in (1, 2, 3):
                    got = cl.convolve(
                        x, kern, mode, boundary=boundary, fill_value=fill, method="direct", workers=workers
                    )
                    _close(got, want, np.float64)
        got = cl.correlate(x.astype(np.float32), kern.astype(np.float32), "same", boundary=boundary, method="direct")
        want = ref_convolve(x, kern[::-1], "same", boundary=boundary)
        _close(got, want, np.float32)


def test_long_signal_in_strips_keeps_nonfinite_local():
    rng = np.random.default_rng(23)
    x = rng.standard_normal(CV2_ROW_MAX + 5000)
    where = [10, ROW_STRIP - 3, ROW_STRIP + 1, x.size - 2]  # at the ends and across a strip boundary
    x[where] = [np.nan, np.inf, -np.inf, np.nan]
    kern = rng.standard_normal(31)
    kern[::3] = 0.0  # zero taps: OpenCV skips them, the general path restores 0 * nan
    want = direct_sum(x, kern, "same")
    for workers in (1, 2):
        got = cl.convolve(x, kern, "same", method="direct", workers=workers)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
        np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))
        fin = np.isfinite(want)
        _close(got[fin], want[fin], np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
@pytest.mark.parametrize("mode", MODES)
def test_windowed_product_result_is_writable(dtype, mode):
    # a 64x64 image under a 9x9 kernel takes the one-windowed-product sum (81 taps: past
    # OpenCV's direct limit in float64); it returned a read-only broadcast view
    rng = np.random.default_rng(11)
    x = (rng.standard_normal((64, 64)) * 10).astype(dtype)
    k = rng.standard_normal((9, 9))
    want = ref_convolve(x, k, mode)
    for res in (cl.convolve(x, k, mode, method="direct"), cl.Convolver(k, x.shape, mode, method="direct")(x)):
        assert res.flags.writeable
        np.testing.assert_allclose(res, want, rtol=1e-10, atol=1e-9)
        res += 1.0  # in place, as with scipy's result
        np.testing.assert_allclose(res, want + 1.0, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("shape, axis", [((37, 1, 1), 0), ((40, 1, 1, 1), 0), ((1, 37, 1), 1), ((1, 1, 37), 2)])
@pytest.mark.parametrize("boundary", ["constant", "wrap", "reflect"])
@pytest.mark.parametrize("mode", MODES)
def test_one_line_on_a_leading_axis(shape, axis, boundary, mode):
    # one signal along an axis before the last two: the one-row OpenCV route cropped the
    # wrong axis (ValueError from NumPy's broadcasting, or IndexError) for 12+ taps
    rng = np.random.default_rng(12)
    x = rng.standard_normal(shape)
    kshape = [1] * len(shape)
    kshape[axis] = 13
    k = rng.standard_normal(kshape)
    want = ref_convolve(x, k, mode, axes=axis, boundary=boundary)
    for _ in range(2):  # the template's lean path, then again
        got = cl.convolve(x, k, mode, axes=axis, boundary=boundary, method="direct")
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    got = cl.Convolver(k, shape, mode, axes=axis, boundary=boundary, method="direct")(x.astype(np.float32))
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4)
