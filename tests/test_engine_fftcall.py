"""The lean path of a repeated small one-shot FFT call (``_engine._fftcall``).

A repeated ``convolve``/``correlate`` with the shapes and options of an earlier call
runs its whole-array FFT without building a plan.  Checked against scipy.signal and
against a ``Convolver`` plan (the general path), for every mode and dtype, kernels
with and without batch axes, correlations, non-finite samples, threads, and the
cases that must stay on the general path.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import scipy.signal

import convlens as cl
from _engine_ref import random_array
from conftest import assert_close
from convlens._engine import _api
from convlens._engine._cost import LEAN_FFT_MAX_BYTES as LEAN_MAX_BYTES
from convlens._engine._fftcall import FFTCall

MODES = ("full", "same", "valid")
DTYPES = (np.float32, np.float64, np.complex64, np.complex128)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("xs", "ks"), [((4096,), (1001,)), ((1500,), (700,)), ((96, 80), (40, 33))])
def test_repeated_calls_match_scipy_and_the_general_path(rng, lean_calls, dtype, mode, xs, ks):
    for _ in range(3):  # a new kernel each call: the template is reused, the kernel never
        x, k = random_array(rng, xs, dtype), random_array(rng, ks, dtype)
        x0, k0 = x.copy(), k.copy()
        got = cl.convolve(x, k, mode, method="fft", workers=1)
        assert got.dtype == np.dtype(dtype)
        assert_close(got, scipy.signal.fftconvolve(x.astype(complex), k.astype(complex), mode), dtype)
        assert_close(got, cl.Convolver(k, xs, mode, method="fft", workers=1)(x), dtype)
        np.testing.assert_array_equal(x, x0)  # inputs untouched
        np.testing.assert_array_equal(k, k0)
        got_c = cl.correlate(x, k, mode, method="fft", workers=1)
        assert_close(got_c, scipy.signal.correlate(x, k, mode, method="fft"), dtype)
    assert len(lean_calls) == 6


def test_auto_takes_the_lean_path_for_small_fft_calls(rng, lean_calls):
    x, k = rng.standard_normal(4096), rng.standard_normal(1024)
    assert cl.choose_method(x.shape, k.shape, mode="same", workers=1) == "fft"
    for _ in range(2):
        assert_close(cl.convolve(x, k, "same", workers=1), scipy.signal.fftconvolve(x, k, "same"), np.float64)
    assert len(lean_calls) == 2


def test_kernels_with_and_without_batch_axes(rng, lean_calls):
    x = rng.standard_normal((6, 3000))
    one = rng.standard_normal(900)  # one kernel for every row
    per_row = rng.standard_normal((6, 900))
    got = cl.convolve(x, one, "same", axes=1, method="fft", workers=1)
    assert_close(got, scipy.signal.fftconvolve(x, one[None], "same", axes=1), np.float64)
    got = cl.convolve(x, per_row, "same", axes=1, method="fft", workers=1)
    assert_close(got, scipy.signal.fftconvolve(x, per_row, "same", axes=1), np.float64)
    assert len(lean_calls) == 2


def test_integer_and_mixed_inputs(rng, lean_calls):
    x = rng.integers(-50, 50, 3000).astype(np.int16)
    k = rng.standard_normal(800).astype(np.float32)
    got = cl.convolve(x, k, "same", method="fft", workers=1)
    assert got.dtype == np.float32
    assert_close(got, scipy.signal.fftconvolve(x.astype(np.float64), k.astype(np.float64), "same"), np.float32)
    xr, kc = rng.standard_normal(3000), random_array(rng, 800, np.complex128)
    got = cl.convolve(xr, kc, "full", method="fft", workers=1)
    assert_close(got, scipy.signal.fftconvolve(xr, kc), np.complex128)
    assert len(lean_calls) == 2


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_go_to_the_general_path(rng, lean_calls, bad):
    x, k = rng.standard_normal(4096), rng.standard_normal(1001)
    x[2000] = bad
    got = cl.convolve(x, k, "same", method="fft", workers=1)
    want = cl.Convolver(k, x.shape, "same", method="fft", workers=1)(x)
    finite = np.isfinite(want)
    np.testing.assert_array_equal(np.isfinite(got), finite)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(got[np.isinf(want)], want[np.isinf(want)])
    assert_close(got[finite], want[finite], np.float64)
    assert np.isfinite(got[:1400]).all() and np.isfinite(got[2600:]).all()  # NaN/inf stays local
    assert lean_calls == []
    big = np.full(4096, 1e308)  # finite, but its sum overflows: the general path decides too
    assert_close(cl.convolve(big, k, "same", method="fft", workers=1), np.convolve(big, k, "same"), np.float64)


def test_a_non_finite_kernel_is_refused_with_the_general_message(rng):
    x, k = rng.standard_normal(4096), rng.standard_normal(1001)
    cl.convolve(x, k, "same", method="fft", workers=1)
    k[3] = np.nan
    with pytest.raises(ValueError, match="kernel must contain only finite values"):
        cl.convolve(x, k, "same", method="fft", workers=1)


def test_results_do_not_alias_the_pooled_buffers(rng):
    x, k1, k2 = rng.standard_normal(4096), rng.standard_normal(1001), rng.standard_normal(1001)
    first = cl.convolve(x, k1, "same", method="fft", workers=1)
    keep = first.copy()
    cl.convolve(x, k2, "same", method="fft", workers=1)
    np.testing.assert_array_equal(first, keep)
    assert first.flags.writeable


@pytest.mark.parametrize(
    ("options", "xs"),
    [
        ({"boundary": "reflect"}, (4096,)),  # x is extended explicitly first
        ({"fill_value": 2.0}, (4096,)),
        ({"nan_policy": "raise"}, (4096,)),
        ({"nan_policy": "interpolate"}, (4096,)),
        ({}, (LEAN_MAX_BYTES // 8 + 1,)),  # large: the general path (tiles, threads) decides
    ],
)
def test_what_stays_on_the_general_path(rng, lean_calls, options, xs):
    x, k = rng.standard_normal(xs), rng.standard_normal(1001)
    got = cl.convolve(x, k, "same", method="fft", workers=1, **options)
    want = cl.Convolver(k, xs, "same", method="fft", workers=1, **options)(x)
    assert_close(got, want, np.float64)
    assert lean_calls == []


def test_exact_integers_stay_on_the_general_path(rng, lean_calls):
    x = rng.integers(-1000, 1000, 4096)
    k = rng.integers(-1000, 1000, 1001)
    got = cl.convolve(x, k, "same", method="fft", workers=1)
    np.testing.assert_array_equal(got, np.convolve(x, k, "same"))  # exact, as the contract says
    assert lean_calls == []


def test_threads_share_one_template(rng):
    x = rng.standard_normal(4096)
    kernels = [rng.standard_normal(1001) for _ in range(16)]
    want = [scipy.signal.fftconvolve(x, k, "same") for k in kernels]
    got = [None] * len(kernels)

    def work(i):
        for _ in range(20):
            got[i] = cl.convolve(x, kernels[i], "same", method="fft", workers=1)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(kernels))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for g, w in zip(got, want):
        assert_close(g, w, np.float64)


def test_the_template_keeps_one_lean_path_per_dtype(rng):
    x, k = rng.standard_normal(4096), rng.standard_normal(1001)
    _api._template.cache_clear()
    cl.convolve(x, k, "same", method="fft", workers=1)
    cl.convolve(x.astype(np.float32), k, "same", method="fft", workers=1)
    (tpl,) = {
        _api._template(
            x.shape, x.dtype, k.shape, k.dtype, ("same", None, "constant", 0, "fft", "propagate", 1), int, False
        )
    }
    assert isinstance(tpl._fft_for(np.dtype(np.float64)), FFTCall)
    assert tpl._fft_for(np.dtype(np.float64)) is tpl._fft_for(np.dtype(np.float64))


def test_the_cost_model_knows_lean_calls_build_no_plan():
    from convlens._engine import _cost
    from convlens._engine._geometry import make_geometry

    small = make_geometry((4096,), (1001,), (0,), "same")
    large = make_geometry((LEAN_MAX_BYTES // 8 + 1,), (1001,), (0,), "same")
    opts = dict(real=True, workers=1, itemsize=8)
    plan = _cost.COST["call_plan"]
    # one-shot small whole-array FFT: the lean path (no plan built); a plan's call never builds one either
    one_shot = _cost.fft_cost(small, explicit_pad=False, cached_kernel=False, **opts)
    cached = _cost.fft_cost(small, explicit_pad=False, cached_kernel=True, **opts)
    assert one_shot - cached < plan
    # an explicit boundary or a large input: a plan is built for the one-shot call
    for geom, pad in ((small, True), (large, False)):
        gap = _cost.fft_cost(geom, explicit_pad=pad, cached_kernel=False, **opts) - _cost.fft_cost(
            geom, explicit_pad=pad, cached_kernel=True, **opts
        )
        assert gap >= plan
    oa = dict(explicit_pad=False, block_axis=0, **opts)
    gap = _cost.overlap_add_cost(large, **oa) - _cost.overlap_add_cost(large, cached_kernel=True, **oa)
    assert gap == pytest.approx(plan)
