"""Attacks on the lean path of repeated small one-shot FFT calls (``_engine._fftcall``).

Complements ``test_engine_fftcall.py`` with the layouts and inputs it does not
try: axes subsets given out of order or negative, kernels with fewer dimensions
than x, size-1 and length-1 axes, mixed dtype kinds (float16, bool, unsigned and
signed integers with float or complex kernels, big-endian arrays), strided,
Fortran-ordered, reversed, read-only and broadcast inputs and kernels, correlations
of complex data, results that must not share memory with the pool or each other,
non-finite samples arriving after the template was made, and many threads mixing
lean calls with the general path on the same shapes.  Each repeated call (the lean
path) must equal scipy.signal and the general path (a ``Convolver`` plan or the
direct method) -- values, dtype and shape -- and must leave its inputs untouched.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
import scipy.signal

import convlens as cl
from conftest import assert_close

MODES = ("full", "same", "valid")


def _data(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) > 0.5
    if dtype.kind in "iu":
        return rng.integers(0, 40, shape).astype(dtype)
    a = rng.standard_normal(shape)
    if dtype.kind == "c":
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def _tol_dtype(got):
    if got.dtype == np.float16:  # rounded to half precision: ~2**-11 of the largest value
        return np.float16
    return np.float32 if got.dtype in (np.float32, np.complex64) else np.float64


def _scipy(x, k, mode, axes, correlate):
    x, k = x.astype(np.complex128), k.astype(np.complex128)
    if correlate:  # correlate(x, k) = convolve(x, conj(k) reversed along the axes)
        axes_ = range(x.ndim) if axes is None else [a % x.ndim for a in axes]
        k = np.conj(k)
        if k.ndim < x.ndim:
            k = k.reshape((1,) * (x.ndim - k.ndim) + k.shape)
        k = np.flip(k, axis=tuple(axes_))
    return scipy.signal.fftconvolve(x, k, mode, axes=axes)


@pytest.mark.parametrize("correlate", [False, True])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("xs", "ks", "axes"),
    [
        ((20, 30), (3, 5), (1, 0)),  # axes out of order: the half axis is the last one named
        ((6, 20, 30), (3, 20, 4), (2, 0)),
        ((6, 20, 30), (3, 1, 4), (-1, -3)),
        ((20, 30), (7, 1), (0,)),  # non-last axis
        ((20, 30), (20, 9), (-1,)),  # one kernel per row
        ((6, 20, 30), (1, 5, 7), (1, 2)),  # one kernel for every batch row
        ((4, 1, 50), (1, 1, 9), (-1,)),
        ((1, 50), (1, 9), None),  # size-1 axes
        ((50, 1), (9, 1), None),
        ((12, 10, 9), (3, 4, 5), None),
    ],
)
def test_axes_and_batch_layouts_match_scipy_and_the_plan(rng, lean_calls, correlate, mode, xs, ks, axes):
    f = cl.correlate if correlate else cl.convolve
    for _ in range(3):  # the first call makes the template, the next two take the lean path
        x, k = _data(rng, xs, np.float64), _data(rng, ks, np.float64)
        got = f(x, k, mode, axes=axes, method="fft", workers=1)
        plan = cl.Convolver(k, xs, mode, axes=axes, method="fft", workers=1, _correlate=correlate)(x)
        assert_close(got, plan, np.float64)
        assert_close(got, _scipy(x, k, mode, axes, correlate).real, np.float64)
    assert len(lean_calls) >= 2


@pytest.mark.parametrize("correlate", [False, True])
@pytest.mark.parametrize(
    ("xs", "ks", "axes"), [((20, 30), (7,), (0,)), ((6, 20, 30), (7,), (1,)), ((20, 30), (7,), (-1,))]
)
def test_a_kernel_with_fewer_dimensions_follows_the_named_axes(rng, lean_calls, correlate, xs, ks, axes):
    f = cl.correlate if correlate else cl.convolve
    for _ in range(3):
        x, k = _data(rng, xs, np.float64), _data(rng, ks, np.float64)
        got = f(x, k, "same", axes=axes, method="fft", workers=1)
        assert_close(got, f(x, k, "same", axes=axes, method="direct"), np.float64)
    assert len(lean_calls) >= 2


MIXED = [
    (np.float16, np.float16),
    (np.float16, np.float32),
    (np.float16, np.complex64),
    (np.int8, np.float32),
    (np.int8, np.complex64),
    (np.uint16, np.float64),
    (np.uint8, np.float64),
    (bool, np.float64),
    (bool, np.complex128),
    (np.complex64, np.int16),
    (np.float32, np.complex128),
    (np.complex128, np.float64),
    (">f8", np.float64),  # big-endian x
    (np.float64, ">f4"),  # big-endian kernel
]


@pytest.mark.parametrize("correlate", [False, True])
@pytest.mark.parametrize(("xd", "kd"), MIXED)
def test_mixed_dtypes_keep_the_general_paths_dtype_and_values(rng, lean_calls, correlate, xd, kd):
    f = cl.correlate if correlate else cl.convolve
    for mode in MODES:
        for _ in range(3):
            x, k = _data(rng, (40, 30), xd), _data(rng, (5, 4), kd)
            got = f(x, k, mode, method="fft", workers=1)
            ref = f(x, k, mode, method="direct")
            assert got.dtype == ref.dtype
            assert_close(got, ref, _tol_dtype(got))
            assert_close(got, _scipy(x, k, mode, None, correlate), _tol_dtype(got))
    assert len(lean_calls) >= 6


def _layouts(rng):
    base = _data(rng, (80, 64), np.float64)
    yield "fortran", np.asfortranarray(base[:40, :30])
    yield "strided", base[::2, ::2][:40, :30]
    yield "reversed", base[::-1, ::-1][:40, :30]
    ro = base[:40, :30].copy()
    ro.setflags(write=False)
    yield "read-only", ro
    yield "broadcast", np.broadcast_to(base[0, :30], (40, 30))


@pytest.mark.parametrize("correlate", [False, True])
def test_strided_and_read_only_inputs_are_read_right_and_never_written(rng, lean_calls, correlate):
    f = cl.correlate if correlate else cl.convolve
    for name, x in _layouts(rng):
        kbase = _data(rng, (20, 20), np.float64)
        for k in (kbase[2:9:2, ::-3], np.asfortranarray(kbase[:4, :7]), np.broadcast_to(kbase[0, :7], (4, 7))):
            x0, k0 = x.copy(), k.copy()
            for _ in range(3):
                got = f(x, k, "same", method="fft", workers=1)
                assert_close(got, _scipy(x, k, "same", None, correlate).real, np.float64, err_msg=name)
            assert np.array_equal(x, x0) and np.array_equal(k, k0), name
    assert len(lean_calls) >= 20


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_results_are_fresh_writeable_arrays(rng, dtype):
    x = _data(rng, (300,), dtype)
    k1, k2 = _data(rng, (20,), dtype), _data(rng, (20,), dtype)
    cl.convolve(x, k1, method="fft")  # the template
    r1 = cl.convolve(x, k1, method="fft")
    kept = r1.copy()
    r2 = cl.convolve(x, k2, method="fft")
    assert not np.shares_memory(r1, r2)
    assert r1.flags.writeable and r2.flags.writeable
    r2[...] = 7  # scribbling on a result must not reach a pooled buffer
    r1[...] = -7
    again = cl.convolve(x, k1, method="fft")
    assert_close(again, kept, dtype)
    assert_close(cl.convolve(x, k2, method="fft"), scipy.signal.fftconvolve(x, k2), dtype)


@pytest.mark.parametrize("mode", MODES)
def test_correlating_complex_data_conjugates_the_template(rng, lean_calls, mode):
    for xd, kd in [(np.complex128, np.complex128), (np.float64, np.complex128), (np.complex64, np.float32)]:
        for _ in range(3):
            x, k = _data(rng, (64, 9), xd), _data(rng, (9, 4), kd)
            got = cl.correlate(x, k, mode, method="fft")
            assert_close(got, scipy.signal.correlate(x, k, mode, method="direct"), _tol_dtype(got))
    assert len(lean_calls) >= 6


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_after_the_template_match_the_plan_without_warnings(rng, dtype, bad):
    x, k = _data(rng, (40, 30), dtype), _data(rng, (5, 4), dtype)
    cl.convolve(x, k, "same", method="fft")  # the template, made on finite data
    x[3, 4] = bad
    x[20, 0] = bad
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = cl.convolve(x, k, "same", method="fft")
    ref = cl.Convolver(k, x.shape, "same", method="fft")(x)
    assert np.array_equal(np.isnan(got), np.isnan(ref))
    assert np.array_equal(np.isinf(got), np.isinf(ref))
    fin = np.isfinite(ref)
    assert fin.any() and not fin.all()
    assert_close(got[fin], ref[fin], dtype)


def test_a_non_finite_kernel_after_the_template_raises_before_any_work(rng):
    x = _data(rng, (100,), np.float64)
    cl.correlate(x, np.ones(3), method="fft")
    for k in (np.array([1.0, np.nan, 2.0]), np.array([1.0, -np.inf, 2.0])):
        with pytest.raises(ValueError, match="kernel must contain only finite values"):
            cl.correlate(x, k, method="fft")
    with pytest.raises(ValueError, match=r"(template|kernel) must"):
        cl.Convolver(np.array([1.0, np.nan, 2.0]), x.shape, method="fft", _correlate=True)


def test_threads_mixing_lean_and_general_calls_on_one_template(rng):
    xs = _data(rng, (8, 64, 48), np.float64)
    ks = _data(rng, (8, 7, 5), np.float64)
    with_nan = xs.copy()
    with_nan[::3, 10, 10] = np.nan  # these rows go back to the general path
    refs = {}
    for i in range(8):
        for nan, xx in ((0, xs[i]), (1, with_nan[i])):
            for c in (0, 1):
                refs[i, nan, c] = cl.Convolver(ks[i], xx.shape, "same", method="fft", _correlate=bool(c))(xx)
    errors = []

    def work(t):
        for j in range(120):
            i, nan, c = (t + j) % 8, j % 2, (j // 2) % 2
            xx = (with_nan if nan else xs)[i]
            got = (cl.correlate if c else cl.convolve)(xx, ks[i], "same", method="fft")
            if not np.allclose(got, refs[i, nan, c], equal_nan=True, rtol=1e-9, atol=1e-9):
                errors.append((t, j))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.parametrize(
    ("xs", "ks", "mode"),
    [((1,), (1,), "full"), ((1,), (5,), "same"), ((5,), (1,), "valid"), ((8,), (20,), "same"), ((2,), (2,), "valid")],
)
def test_tiny_and_degenerate_lengths(rng, xs, ks, mode):
    for _ in range(3):
        for f in (cl.convolve, cl.correlate):
            x, k = _data(rng, xs, np.float64), _data(rng, ks, np.complex128)
            got = f(x, k, mode, method="fft")
            assert_close(got, _scipy(x, k, mode, None, f is cl.correlate), np.float64)


def test_errors_are_the_same_on_a_repeated_call(rng):
    x = _data(rng, (10, 20), np.float64)
    for k, mode, axes in [
        (_data(rng, (15, 3), np.float64), "valid", None),
        (_data(rng, (2, 3, 4), np.float64), "full", None),
    ]:
        messages = []
        for _ in range(3):
            with pytest.raises(ValueError) as err:
                cl.convolve(x, k, mode, axes=axes, method="fft")
            messages.append(str(err.value))
        assert len(set(messages)) == 1


def test_the_memory_guard_still_refuses_huge_shapes():
    x = np.broadcast_to(np.float64(1.0), (10**6, 10**6))
    for _ in range(2):
        with pytest.raises(cl.InsufficientMemoryError):
            cl.convolve(x, np.ones((3, 3)), method="fft")
